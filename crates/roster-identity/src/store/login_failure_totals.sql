-- Failures still remembered ($3 = start of the failure window) from one source across
-- emails, with its latest attempt, and for one email across sources.
SELECT
    (SELECT COALESCE(sum(failures), 0) FROM login_attempts
     WHERE source = $2 AND last_attempt_at > $3) AS source_failures,
    (SELECT max(last_attempt_at) FROM login_attempts
     WHERE source = $2 AND last_attempt_at > $3) AS source_last_attempt_at,
    (SELECT COALESCE(sum(failures), 0) FROM login_attempts
     WHERE email = $1 AND last_attempt_at > $3) AS account_failures
