-- Invitations. Tenant-scoped rows lead their primary key with account_id so the schema can
-- be distributed by account. Only a SHA-256 hash of each link's token is stored.

-- One row per account that was ever invited to: InviteUsers and ResendInvitation lock it,
-- so seat counts and "already invited" are decided one request at a time per account.
CREATE TABLE accounts (
    account_id uuid PRIMARY KEY
);

-- state is what was done to the invitation; "expired" is derived (pending past expires_at).
CREATE TABLE invitations (
    account_id       uuid NOT NULL REFERENCES accounts,
    invitation_id    uuid NOT NULL,
    workspace_ids    uuid[] NOT NULL,
    all_workspaces   boolean NOT NULL,
    email            text NOT NULL,
    role_ids         uuid[] NOT NULL,
    message          text NOT NULL DEFAULT '',
    state            text NOT NULL CHECK (state IN ('pending', 'revoked', 'accepted')),
    token_hash       bytea NOT NULL,
    inviter_user_id  uuid NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    last_sent_at     timestamptz NOT NULL,
    send_count       integer NOT NULL,
    accepted_user_id uuid,
    accepted_at      timestamptz,
    revoked_at       timestamptz,
    PRIMARY KEY (account_id, invitation_id)
);
CREATE UNIQUE INDEX invitations_by_id ON invitations (invitation_id);
CREATE UNIQUE INDEX invitations_by_token ON invitations (token_hash);
-- "Already invited" and seat counts look only at pending invitations.
CREATE INDEX invitations_pending ON invitations (account_id, email) WHERE state = 'pending';
-- The Invites tab of a workspace.
CREATE INDEX invitations_by_workspace ON invitations USING gin (workspace_ids);
-- The retention worker.
CREATE INDEX invitations_by_expiry ON invitations (expires_at);
