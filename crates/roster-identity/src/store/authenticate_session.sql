-- A live session with its user and, for an impersonation, the grant and the impersonator
-- as they are now: every call decides afresh whether the impersonation still stands.
SELECT u.user_id, u.kind, u.email, u.platform_role, u.status, u.locked_until,
       s.session_id, s.expires_at, s.impersonator_user_id, s.password_change_only, s.impersonation_grant_id,
       g.state AS grant_state, g.expires_at AS grant_expires_at, g.automatic AS grant_automatic,
       r.platform_role AS impersonator_platform_role, r.status AS impersonator_status,
       r.locked_until AS impersonator_locked_until,
       (a.user_id IS NOT NULL) AS impersonator_has_automatic
FROM sessions s
JOIN users u USING (user_id)
LEFT JOIN impersonation_grants g ON g.grant_id = s.impersonation_grant_id
LEFT JOIN users r ON r.user_id = s.impersonator_user_id
LEFT JOIN automatic_impersonation a ON a.user_id = s.impersonator_user_id
WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
