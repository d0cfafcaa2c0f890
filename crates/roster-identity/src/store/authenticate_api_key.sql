SELECT u.user_id, u.kind, u.email, u.platform_role, u.status, u.locked_until,
       k.api_key_id, k.expires_at
FROM api_keys k
JOIN users u USING (user_id)
WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)
