-- Identity: users, credentials, sessions and one-time tokens. Users are platform-wide
-- (not tenant-scoped), so their keys do not lead with account_id.

-- Feed positions of ListUserChanges. Taken under a transaction-level advisory lock so
-- positions commit in order and a reader never skips one.
CREATE SEQUENCE user_change_seq;

CREATE TABLE users (
    user_id                   uuid PRIMARY KEY,
    kind                      text NOT NULL CHECK (kind IN ('human', 'service')),
    email                     text NOT NULL DEFAULT '',
    display_name              text NOT NULL,
    phone                     text NOT NULL DEFAULT '',
    description               text NOT NULL DEFAULT '',
    platform_role             text NOT NULL DEFAULT 'user' CHECK (platform_role IN ('user', 'operator')),
    status                    text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'locked')),
    -- NULL with status 'locked' means until an administrator unlocks.
    locked_until              timestamptz,
    lock_reason               text NOT NULL DEFAULT '',
    password_hash             text,
    password_change_required  boolean NOT NULL DEFAULT false,
    failed_logins             integer NOT NULL DEFAULT 0,
    failed_login_window_start timestamptz,
    pending_email             text,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL,
    version                   bigint NOT NULL DEFAULT 1,
    change_seq                bigint NOT NULL
);
CREATE UNIQUE INDEX users_email_unique ON users (email) WHERE email <> '';
CREATE INDEX users_by_email ON users (email, user_id);
CREATE INDEX users_by_name ON users (lower(display_name), user_id);
CREATE INDEX users_by_created ON users (created_at, user_id);
CREATE UNIQUE INDEX users_by_change ON users (change_seq);
CREATE INDEX users_email_search ON users USING gin (email gin_trgm_ops);
CREATE INDEX users_name_search ON users USING gin (lower(display_name) gin_trgm_ops);

CREATE TABLE sessions (
    session_id           uuid PRIMARY KEY,
    user_id              uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    token_hash           bytea NOT NULL UNIQUE,
    created_at           timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    revoked_at           timestamptz,
    impersonator_user_id uuid,
    -- Opened with a temporary password: only ChangePassword is allowed.
    password_change_only boolean NOT NULL DEFAULT false
);
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE api_keys (
    api_key_id    uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    display_name  text NOT NULL DEFAULT '',
    secret_prefix text NOT NULL,
    token_hash    bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at DESC, api_key_id DESC);

CREATE TABLE one_time_tokens (
    token_id   uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('password_reset', 'email_change')),
    token_hash bytea NOT NULL UNIQUE,
    new_email  text,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX one_time_tokens_open_by_user ON one_time_tokens (user_id, purpose) WHERE used_at IS NULL;
CREATE INDEX one_time_tokens_by_expiry ON one_time_tokens (expires_at);
