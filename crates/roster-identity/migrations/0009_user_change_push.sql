-- Pushing the user change feed as it commits, and the watchers that must have applied a
-- change before the call that made it answers (README, "Revocation and caches").

-- Wakes the feed's watchers when a transaction that took new feed positions commits (a
-- notice is sent at commit, never for a rollback).
CREATE FUNCTION notify_user_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('roster_identity_user_changes', '');
    RETURN NULL;
END $$;

CREATE TRIGGER users_notify_changes
    AFTER INSERT OR UPDATE OF change_seq ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_user_changes();

-- One row per process that caches what the feed can invalidate.
CREATE TABLE user_change_watchers (
    watcher_id      uuid PRIMARY KEY,
    name            text NOT NULL,
    applied_seq     bigint NOT NULL,
    -- Writers wait for this watcher only while its lease runs.
    lease_until     timestamptz NOT NULL,
    acknowledged_at timestamptz NOT NULL
);
