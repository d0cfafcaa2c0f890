-- Tables every service schema has: audit events, the transactional outbox and the
-- request log that makes mutating RPCs safe to retry.

CREATE TABLE audit_events (
    audit_event_id       uuid PRIMARY KEY,
    account_id           uuid,
    occurred_at          timestamptz NOT NULL,
    actor_user_id        uuid,
    impersonator_user_id uuid,
    action               text NOT NULL,
    target_type          text NOT NULL,
    target_id            text NOT NULL,
    changes              jsonb NOT NULL DEFAULT '{}',
    request_id           text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_by_time ON audit_events (occurred_at DESC, audit_event_id DESC);
CREATE INDEX audit_events_by_target ON audit_events (target_id, occurred_at DESC, audit_event_id DESC);
CREATE INDEX audit_events_by_actor ON audit_events (actor_user_id, occurred_at DESC, audit_event_id DESC);

-- Messages to send, written in the transaction that caused them; a relay hands them to
-- the notification service. secret_variables (links with one-time tokens) are wiped
-- once the message is handed over.
CREATE TABLE outbox (
    outbox_id        uuid PRIMARY KEY,
    created_at       timestamptz NOT NULL,
    template         text NOT NULL,
    recipient        text NOT NULL,
    locale           text NOT NULL DEFAULT 'en',
    variables        jsonb NOT NULL DEFAULT '{}',
    secret_variables jsonb,
    dispatched_at    timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text
);
CREATE INDEX outbox_pending ON outbox (created_at) WHERE dispatched_at IS NULL;

-- Answers to mutating requests by (caller, request_id), so a retry gets the first answer.
-- response is NULL for answers that carried a secret shown only once.
CREATE TABLE request_log (
    actor_user_id uuid NOT NULL,
    request_id    text NOT NULL,
    rpc           text NOT NULL,
    response      bytea,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (actor_user_id, request_id)
);
CREATE INDEX request_log_by_age ON request_log (created_at);
