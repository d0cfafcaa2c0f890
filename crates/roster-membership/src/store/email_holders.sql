-- Members of the workspaces ($2) whose email is one of $3, compared exactly (emails are
-- stored normalized): active and suspended ones, and removed ones (until their purge has
-- finished, which deletes the row).
--
-- One members_by_email (workspace_id, email, user_id) probe per (workspace, email) pair.
-- OFFSET 0 keeps the planner from flattening the lateral probe into a join: flattened,
-- or written as `email = ANY($3)`, it reads every member of a large workspace, or asks
-- the trigram index (members_email_search) once per email, which takes seconds.
SELECT m.email, m.workspace_id, m.user_id, m.status
FROM unnest($2::uuid[]) AS w(workspace_id)
CROSS JOIN unnest($3::text[]) AS e(email)
CROSS JOIN LATERAL (
    SELECT email, workspace_id, user_id, status
    FROM members
    WHERE account_id = $1 AND workspace_id = w.workspace_id AND email = e.email
    OFFSET 0
) AS m
ORDER BY m.email, m.workspace_id
