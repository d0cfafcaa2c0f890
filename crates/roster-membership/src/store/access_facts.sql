-- Everything CheckPermission needs about ($2 user) in ($1 workspace): NULL member or user
-- columns mean "not a member" / "not known to identity's feed yet".
SELECT w.account_id,
       EXISTS (SELECT 1 FROM account_administrators d
               WHERE d.account_id = w.account_id AND d.user_id = $2) AS is_account_administrator,
       u.status AS identity_status,
       u.locked_until,
       u.is_operator,
       m.status AS member_status,
       ARRAY(SELECT DISTINCT p
             FROM roles r, unnest(r.permissions) AS p
             WHERE r.account_id = w.account_id AND r.role_id = ANY (m.role_ids)) AS permissions
FROM workspaces w
LEFT JOIN users u ON u.user_id = $2
LEFT JOIN members m ON m.account_id = w.account_id AND m.workspace_id = w.workspace_id AND m.user_id = $2
WHERE w.workspace_id = $1
