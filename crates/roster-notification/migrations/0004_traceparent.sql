-- The W3C traceparent of the Enqueue that stored each message: its delivery attempts are
-- spans of that trace, under the request whose outbox row caused the email.
ALTER TABLE notifications ADD COLUMN traceparent text;
