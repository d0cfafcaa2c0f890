SELECT u.user_id, u.kind, u.email, u.platform_role, u.status, u.locked_until,
       s.session_id, s.impersonator_user_id, s.password_change_only
FROM sessions s
JOIN users u USING (user_id)
WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
