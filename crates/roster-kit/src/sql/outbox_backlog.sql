-- The outbox rows not yet handed to the notification service, counted up to $1 so a huge
-- backlog costs a bounded scan, and when the oldest of them was written. Both read the
-- partial index outbox_pending.
SELECT
    (SELECT count(*) FROM (SELECT 1 FROM outbox WHERE dispatched_at IS NULL LIMIT $1) AS capped)
        AS backlog,
    (SELECT min(created_at) FROM outbox WHERE dispatched_at IS NULL) AS oldest
