-- The counter of one email from one source, created forgotten if missing ($3 = the
-- failure window's start); the no-op update locks an existing row (and returns it) in the
-- same statement.
INSERT INTO login_attempts AS attempts (email, source, failures, last_attempt_at)
VALUES ($1, $2, 0, $3)
ON CONFLICT (email, source) DO UPDATE SET failures = attempts.failures
RETURNING failures, last_attempt_at
