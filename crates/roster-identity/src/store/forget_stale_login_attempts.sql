-- A few counters whose last attempt is older than the failure window ($1), skipping rows
-- another attempt holds.
DELETE FROM login_attempts AS attempts
USING (
    SELECT email, source FROM login_attempts
    WHERE last_attempt_at < $1
    ORDER BY last_attempt_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
) AS stale
WHERE attempts.email = stale.email AND attempts.source = stale.source
