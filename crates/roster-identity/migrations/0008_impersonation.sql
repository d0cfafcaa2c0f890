-- Impersonation with the user's consent (README, "Impersonation"). A grant is a request
-- for leave to act as a user; the user answers it; an approved grant lets its requester
-- open impersonation sessions (sessions of the user naming the impersonator) until it
-- expires or is revoked. Whether a session may still act is decided at every call, from
-- the grant and both people as they are then.
CREATE TABLE impersonation_grants (
    grant_id          uuid PRIMARY KEY,
    -- Who would be impersonated.
    user_id           uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    requester_user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    reason            text NOT NULL,
    duration_secs     bigint NOT NULL CHECK (duration_secs > 0),
    -- Approved without a request: the requester had automatic permission, and their
    -- sessions under it last only while they keep it.
    automatic         boolean NOT NULL,
    -- Lapsed and expired grants keep the state they had ('pending', 'approved'): the
    -- clock, not a job, ends them.
    state             text NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'revoked')),
    created_at        timestamptz NOT NULL,
    -- A pending request lapses unanswered here.
    answer_deadline   timestamptz NOT NULL,
    decided_at        timestamptz,
    -- decided_at + duration for an approved grant.
    expires_at        timestamptz,
    revoked_at        timestamptz,
    revoker_user_id   uuid,
    CHECK ((state = 'approved') = (expires_at IS NOT NULL) OR state = 'revoked')
);
CREATE INDEX impersonation_grants_by_user ON impersonation_grants (user_id, created_at DESC, grant_id DESC);
CREATE INDEX impersonation_grants_by_requester ON impersonation_grants (requester_user_id, created_at DESC, grant_id DESC);
CREATE INDEX impersonation_grants_open ON impersonation_grants (created_at DESC, grant_id DESC)
    WHERE state IN ('pending', 'approved');

-- An impersonation session is a session of the subject opened under a grant; its
-- impersonator_user_id is the grant's requester.
ALTER TABLE sessions
    ADD COLUMN impersonation_grant_id uuid REFERENCES impersonation_grants ON DELETE CASCADE,
    ADD CHECK ((impersonation_grant_id IS NULL) = (impersonator_user_id IS NULL));
CREATE INDEX sessions_by_impersonation_grant ON sessions (impersonation_grant_id)
    WHERE impersonation_grant_id IS NOT NULL;
CREATE INDEX sessions_impersonations_by_time ON sessions (created_at DESC, session_id DESC)
    WHERE impersonation_grant_id IS NOT NULL;

-- Operators who may impersonate without a request (still audited, the user still told).
CREATE TABLE automatic_impersonation (
    user_id    uuid PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    granted_by uuid NOT NULL,
    granted_at timestamptz NOT NULL
);
