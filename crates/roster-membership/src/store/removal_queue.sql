-- The removal saga's queue, for metrics: the unfinished steps of open removals by state
-- (counted up to $1 steps, so a huge queue costs a bounded scan), and when the step that
-- has been due the longest came due (read along removal_steps_due, stopping at the first).
WITH unfinished AS (
    SELECT s.state
    FROM removal_steps s
    JOIN removals r ON r.account_id = s.account_id AND r.removal_id = s.removal_id
    WHERE s.state IN ('pending', 'running', 'failed', 'needs_action')
      AND r.state IN ('removed', 'purging')
    LIMIT $1
)
SELECT
    (SELECT count(*) FROM unfinished WHERE state = 'pending') AS pending,
    (SELECT count(*) FROM unfinished WHERE state = 'running') AS running,
    (SELECT count(*) FROM unfinished WHERE state = 'failed') AS failed,
    (SELECT count(*) FROM unfinished WHERE state = 'needs_action') AS needs_action,
    (SELECT s.next_attempt_at
     FROM removal_steps s
     JOIN removals r ON r.account_id = s.account_id AND r.removal_id = s.removal_id
     WHERE s.state IN ('pending', 'running', 'failed') AND r.state IN ('removed', 'purging')
     ORDER BY s.next_attempt_at
     LIMIT 1) AS first_due
