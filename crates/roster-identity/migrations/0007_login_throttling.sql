-- Login throttling (README, "Login throttling"): failures are counted per email and
-- source, in Postgres so that every replica slows the same attacker. Failed logins no
-- longer lock a user, so the per-user counters go; a user is told of failing sign-ins
-- at most once per failure window.
CREATE TABLE login_attempts (
    -- Normalized, known or not: an unknown email is throttled exactly like a known one.
    email           text NOT NULL,
    source          inet NOT NULL,
    -- Password checks since the last success; each counts before it is made, so
    -- concurrent guesses cannot all pass as free ones.
    failures        integer NOT NULL,
    -- The next check waits from here, longer the more failures (LoginThrottleConfig).
    last_attempt_at timestamptz NOT NULL,
    PRIMARY KEY (email, source)
);
CREATE INDEX login_attempts_by_source ON login_attempts (source, last_attempt_at);
CREATE INDEX login_attempts_by_age ON login_attempts (last_attempt_at);

ALTER TABLE users
    DROP COLUMN failed_logins,
    DROP COLUMN failed_login_window_start,
    ADD COLUMN failed_login_notice_at timestamptz;
