-- Claims the oldest due messages: each is held (not due) until $3, the end of its lease,
-- so another replica's worker passes over it, and a worker that dies holding it leaves it
-- to be tried again once the lease has passed. SKIP LOCKED lets replicas claim at once.
UPDATE notifications SET next_attempt_at = $3
WHERE notification_id IN (
    SELECT notification_id
    FROM notifications
    WHERE state = 'queued' AND next_attempt_at <= $1
    ORDER BY next_attempt_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
RETURNING notification_id, template, recipient, variables, secret_variables, attempts, traceparent
