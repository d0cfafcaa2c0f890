-- Counts a failed login inside the sliding window ($3 = window start); the row lock
-- serializes concurrent failures so exactly one of them reaches the threshold, and
-- failures against a user already locked or disabled count for nothing.
UPDATE users SET
    failed_logins = CASE WHEN failed_login_window_start IS NULL OR failed_login_window_start <= $3
                         THEN 1 ELSE failed_logins + 1 END,
    failed_login_window_start = CASE WHEN failed_login_window_start IS NULL OR failed_login_window_start <= $3
                                     THEN $2 ELSE failed_login_window_start END
WHERE user_id = $1 AND (status = 'active' OR (status = 'locked' AND locked_until <= $2))
RETURNING failed_logins
