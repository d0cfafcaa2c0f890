-- Emails to send. One row per message; the delivery worker claims due rows with
-- FOR UPDATE SKIP LOCKED, so replicas share the work and never send a message twice at once.
--
-- secret_variables (link tokens) are kept only until the message is sent or given up on.
-- rendered_* are kept only by the log transport, so a developer can copy a link without a
-- mail server; with SMTP they stay NULL.
CREATE TABLE notifications (
    notification_id  uuid PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE,
    template         text NOT NULL,
    recipient        text NOT NULL,
    locale           text NOT NULL DEFAULT 'en',
    variables        jsonb NOT NULL DEFAULT '{}',
    secret_variables jsonb,
    state            text NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    rendered_subject text,
    rendered_text    text,
    rendered_html    text
);
-- The delivery worker's queue: only queued rows, by due time.
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE state = 'queued';
-- ListNotifications, newest first, unfiltered or by template or state.
CREATE INDEX notifications_by_time ON notifications (created_at DESC, notification_id DESC);
-- ListNotifications by recipient.
CREATE INDEX notifications_by_recipient ON notifications (recipient, created_at DESC, notification_id DESC);
