-- One delivery attempt's outcome. Secrets are wiped once the message leaves the queue
-- (sent or given up on); the last error stays after a later success, for operators.
UPDATE notifications SET
    state = $2,
    attempts = attempts + 1,
    last_error = COALESCE($3, last_error),
    next_attempt_at = COALESCE($4, next_attempt_at),
    sent_at = $5,
    secret_variables = CASE WHEN $2 = 'queued' THEN secret_variables END,
    rendered_subject = $6,
    rendered_text = $7,
    rendered_html = $8
WHERE notification_id = $1
