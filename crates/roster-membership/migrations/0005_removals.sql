-- Removal with reassignment: the registered asset custodians, and one durable removal per
-- removed member with a step per custodian and verb that the removal worker drives.

CREATE TABLE custodians (
    custodian_id uuid PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    url          text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- A member has at most one open removal (removed or purging); restored and purged ones are
-- history.
CREATE TABLE removals (
    account_id         uuid NOT NULL,
    removal_id         uuid NOT NULL,
    workspace_id       uuid NOT NULL,
    user_id            uuid NOT NULL,
    receiver_user_id   uuid,
    removed_by_user_id uuid,
    state              text NOT NULL CHECK (state IN ('removed', 'restored', 'purging', 'purged')),
    purge_after        timestamptz NOT NULL,
    -- Set once the summary of the current phase (the transfers, then the purge) has been
    -- sent to the administrator who removed the member and to the receiver.
    summary_sent boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL,
    finished_at        timestamptz,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (account_id, removal_id)
);
CREATE UNIQUE INDEX removals_by_id ON removals (removal_id);
CREATE UNIQUE INDEX removals_open_per_member ON removals (workspace_id, user_id)
    WHERE state IN ('removed', 'purging');
CREATE INDEX removals_by_account ON removals (account_id, created_at DESC, removal_id DESC);
CREATE INDEX removals_to_purge ON removals (purge_after) WHERE state = 'removed';

-- lease_token and next_attempt_at make a claim: a worker sets both in a short transaction
-- (FOR UPDATE SKIP LOCKED), calls the custodian, and writes the answer only while the
-- token is still its own, so two replicas never run one step at once.
CREATE TABLE removal_steps (
    account_id      uuid NOT NULL,
    removal_id      uuid NOT NULL,
    custodian_id    uuid NOT NULL,
    custodian_name  text NOT NULL,
    verb            text NOT NULL CHECK (verb IN ('transfer', 'delete')),
    state           text NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'needs_action', 'cancelled')),
    operation_id    uuid NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    next_attempt_at timestamptz NOT NULL,
    lease_token     uuid,
    done            bigint NOT NULL DEFAULT 0,
    total           bigint NOT NULL DEFAULT 0,
    completed       jsonb NOT NULL DEFAULT '[]',
    failures        jsonb NOT NULL DEFAULT '[]',
    failed_count    bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (account_id, removal_id, custodian_id, verb),
    FOREIGN KEY (account_id, removal_id) REFERENCES removals (account_id, removal_id) ON DELETE CASCADE
);
CREATE INDEX removal_steps_due ON removal_steps (next_attempt_at)
    WHERE state IN ('pending', 'running', 'failed');
CREATE INDEX removal_steps_by_custodian ON removal_steps (custodian_id)
    WHERE state IN ('pending', 'running', 'failed', 'needs_action');

-- Members removed before removals existed get theirs, so the purge worker finds them.
INSERT INTO removals (account_id, removal_id, workspace_id, user_id, receiver_user_id,
                      state, purge_after, created_at, updated_at)
SELECT account_id, gen_random_uuid(), workspace_id, user_id, transfer_to_user_id,
       'removed', coalesce(purge_after, now()), coalesce(removed_at, now()), now()
FROM members WHERE status = 'removed';
