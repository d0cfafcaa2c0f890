-- The W3C traceparent of the request that wrote each row: the relay's hand-over to the
-- notification service continues that request's trace.
ALTER TABLE outbox ADD COLUMN traceparent text;
