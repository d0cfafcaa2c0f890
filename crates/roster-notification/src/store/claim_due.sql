-- The oldest due messages, row-locked until the worker's transaction ends. SKIP LOCKED
-- passes over rows another replica's worker holds, so replicas share the queue and never
-- send one message at the same time.
SELECT notification_id, template, recipient, variables, secret_variables, attempts
FROM notifications
WHERE state = 'queued' AND next_attempt_at <= $1
ORDER BY next_attempt_at
LIMIT $2
FOR UPDATE SKIP LOCKED
