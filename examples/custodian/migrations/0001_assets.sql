-- The reference custodian's data: assets, and the operations Roster asked for, keyed by
-- Roster's operation id so a repeated call finds the operation instead of starting another.
CREATE TABLE IF NOT EXISTS assets (
    asset_id      uuid PRIMARY KEY,
    account_id    uuid NOT NULL,
    workspace_id  uuid NOT NULL,
    owner_user_id uuid NOT NULL,
    kind          text NOT NULL,
    name          text NOT NULL,
    transferable  boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS assets_by_owner ON assets (workspace_id, owner_user_id, kind);

CREATE TABLE IF NOT EXISTS operations (
    operation_id     text PRIMARY KEY,
    verb             text NOT NULL CHECK (verb IN ('transfer', 'delete')),
    workspace_id     uuid NOT NULL,
    owner_user_id    uuid NOT NULL,
    receiver_user_id uuid,
    state            text NOT NULL CHECK (state IN ('running', 'succeeded')),
    done             bigint NOT NULL DEFAULT 0,
    total            bigint NOT NULL,
    -- Done so far by kind: {"flow": 12, "dataset": 3}.
    completed        jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
