-- Trigram indexes back the case-insensitive substring search of ListMembers.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

-- Membership: accounts, workspaces, roles, members, custom fields and the local copy of
-- identity's users. Tenant-scoped rows lead their primary key with account_id so the
-- schema can be distributed by account.

CREATE TABLE accounts (
    account_id                  uuid PRIMARY KEY,
    name                        text NOT NULL,
    invitation_lifetime_secs    bigint NOT NULL,
    allowed_email_domains       text[] NOT NULL DEFAULT '{}',
    impersonation_window_secs   bigint NOT NULL,
    restore_window_secs         bigint NOT NULL,
    self_service_password_reset boolean NOT NULL DEFAULT true,
    custom_field_values         jsonb NOT NULL DEFAULT '{}',
    created_at                  timestamptz NOT NULL,
    updated_at                  timestamptz NOT NULL,
    version                     bigint NOT NULL DEFAULT 1
);
CREATE INDEX accounts_by_name ON accounts (lower(name), account_id);

CREATE TABLE account_administrators (
    account_id uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX account_administrators_by_user ON account_administrators (user_id);

CREATE TABLE roles (
    account_id  uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
    role_id     uuid NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    permissions text[] NOT NULL DEFAULT '{}',
    -- 'admin' or 'member' for the built-in roles, NULL for custom ones.
    built_in    text CHECK (built_in IN ('admin', 'member')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (account_id, role_id)
);
CREATE UNIQUE INDEX roles_by_id ON roles (role_id);
CREATE UNIQUE INDEX roles_unique_name ON roles (account_id, lower(name));
CREATE UNIQUE INDEX roles_unique_built_in ON roles (account_id, built_in) WHERE built_in IS NOT NULL;

-- seats_used counts active and suspended members. It is changed only under the
-- workspace row's lock, which is what keeps the seat limit and the last-admin rule
-- exact under concurrency.
CREATE TABLE workspaces (
    account_id      uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
    workspace_id    uuid NOT NULL,
    name            text NOT NULL,
    seat_limit      integer NOT NULL DEFAULT 0 CHECK (seat_limit >= 0),
    seats_used      integer NOT NULL DEFAULT 0 CHECK (seats_used >= 0),
    default_role_id uuid NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, workspace_id),
    FOREIGN KEY (account_id, default_role_id) REFERENCES roles (account_id, role_id)
);
CREATE UNIQUE INDEX workspaces_by_id ON workspaces (workspace_id);
CREATE UNIQUE INDEX workspaces_unique_name ON workspaces (account_id, lower(name));

-- Identity's users as its change feed last told us: names and statuses for member lists
-- and access checks without a call to identity.
CREATE TABLE users (
    user_id       uuid PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('human', 'service')),
    email         text NOT NULL,
    display_name  text NOT NULL,
    status        text NOT NULL CHECK (status IN ('active', 'disabled', 'locked')),
    locked_until  timestamptz,
    is_operator   boolean NOT NULL DEFAULT false,
    change_seq    bigint NOT NULL
);

-- Where the follower of identity's change feed has got to.
CREATE TABLE feed_cursors (
    feed     text PRIMARY KEY,
    position bigint NOT NULL
);

-- email and display_name are copied from users (and kept current by the feed follower)
-- so that member lists sort and search on indexes of this one table.
CREATE TABLE members (
    account_id           uuid NOT NULL,
    workspace_id         uuid NOT NULL,
    user_id              uuid NOT NULL REFERENCES users,
    status               text NOT NULL CHECK (status IN ('active', 'suspended', 'removed')),
    -- The status a removed member returns to when restored.
    status_before_removal text CHECK (status_before_removal IN ('active', 'suspended')),
    role_ids             uuid[] NOT NULL,
    kind                 text NOT NULL,
    email                text NOT NULL,
    display_name         text NOT NULL,
    joined_at            timestamptz NOT NULL,
    suspended_at         timestamptz,
    removed_at           timestamptz,
    purge_after          timestamptz,
    transfer_to_user_id  uuid,
    updated_at           timestamptz NOT NULL,
    PRIMARY KEY (account_id, workspace_id, user_id),
    FOREIGN KEY (account_id, workspace_id) REFERENCES workspaces (account_id, workspace_id) ON DELETE CASCADE
);
CREATE INDEX members_by_user ON members (user_id);
CREATE INDEX members_by_name ON members (workspace_id, lower(display_name), user_id);
CREATE INDEX members_by_email ON members (workspace_id, email, user_id);
CREATE INDEX members_by_join ON members (workspace_id, joined_at, user_id);
CREATE INDEX members_by_role ON members USING gin (role_ids);
CREATE INDEX members_name_search ON members USING gin (lower(display_name) gin_trgm_ops);
CREATE INDEX members_email_search ON members USING gin (email gin_trgm_ops);
CREATE INDEX members_to_purge ON members (purge_after) WHERE status = 'removed';

CREATE TABLE custom_fields (
    account_id uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
    key        text NOT NULL,
    label      text NOT NULL,
    type       text NOT NULL CHECK (type IN ('string', 'number', 'boolean', 'one_of')),
    options    text[] NOT NULL DEFAULT '{}',
    target     text NOT NULL CHECK (target IN ('member', 'account')),
    required   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- Member custom field values are per person in the account, shared by its workspaces.
CREATE TABLE member_field_values (
    account_id uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    field_values jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (account_id, user_id)
);

CREATE INDEX audit_events_by_account ON audit_events (account_id, occurred_at DESC, audit_event_id DESC);
