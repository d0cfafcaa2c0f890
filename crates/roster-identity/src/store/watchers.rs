//! The watchers of the user change feed and their leases (README, "Revocation and caches").
use std::time::Duration;

use roster_kit::db::GenericClient;
use roster_kit::sql::Columns;
use roster_kit::{Result, locks};
use tracing::instrument;
use uuid::Uuid;

/// Where writers waiting for watchers hear of acknowledgements.
pub(crate) const ACKS_CHANNEL: &str = "roster_identity_user_change_acks";

/// Where the feed's streams hear of new changes (sent by a trigger on `users`).
pub(crate) const CHANGES_CHANNEL: &str = "roster_identity_user_changes";

/// The last committed feed position (0 for an empty feed).
#[instrument(skip_all, name = "identity.store.head_sequence")]
pub(crate) async fn head_sequence(db: &impl GenericClient) -> Result<i64> {
    let statement = db
        .prepare_cached("SELECT COALESCE(max(change_seq), 0) AS head FROM users")
        .await?;
    db.query_one(&statement, &[]).await?.column("head")
}

/// Gives `user_id` a new feed position, so watchers drop what they cached about them (their
/// session or API key ended). Locks the user's row before the feed, as every writer of a
/// user does, so the two never wait on each other in opposite orders.
#[instrument(skip_all, name = "identity.store.touch_user")]
pub(crate) async fn touch_user(db: &impl GenericClient, user_id: Uuid) -> Result<()> {
    db.execute(
        "SELECT 1 FROM users WHERE user_id = $1 FOR UPDATE",
        &[&user_id],
    )
    .await?;
    locks::hold_until_commit(db, locks::USER_CHANGES).await?;
    db.execute(
        "UPDATE users SET change_seq = nextval('user_change_seq') WHERE user_id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// What an acknowledgement found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Acknowledged {
    pub(crate) lease_granted: bool,
    pub(crate) head: i64,
}

/// Records that watcher `watcher_id` applied the feed up to `applied`, granting it a lease of
/// `lease` if that is every committed change. Runs under the feed lock in shared mode: no
/// change can commit between reading the head and granting, so a writer that does not see
/// this lease sees a head this watcher has applied.
#[instrument(skip_all, name = "identity.store.acknowledge")]
pub(crate) async fn acknowledge(
    db: &mut roster_kit::db::Connection,
    watcher_id: Uuid,
    name: &str,
    applied: i64,
    lease: Duration,
) -> Result<Acknowledged> {
    let tx = db.transaction().await?;
    let lock = tx
        .prepare_cached("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))")
        .await?;
    tx.execute(&lock, &[&locks::USER_CHANGES]).await?;
    let head = head_sequence(&tx).await?;
    let lease_granted = applied >= head;
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let upsert = tx
        .prepare_cached(
            "INSERT INTO user_change_watchers AS w (watcher_id, name, applied_seq, lease_until, acknowledged_at)
             VALUES ($1, $2, $3,
                     CASE WHEN $4 THEN clock_timestamp() + make_interval(secs => $5::bigint / 1000.0)
                          ELSE '-infinity'::timestamptz END,
                     clock_timestamp())
             ON CONFLICT (watcher_id) DO UPDATE
             SET name = EXCLUDED.name, applied_seq = EXCLUDED.applied_seq,
                 acknowledged_at = EXCLUDED.acknowledged_at,
                 -- A watcher behind the head keeps what is left of its lease, no more.
                 lease_until = CASE WHEN $4 THEN EXCLUDED.lease_until ELSE w.lease_until END",
        )
        .await?;
    tx.execute(
        &upsert,
        &[&watcher_id, &name, &applied, &lease_granted, &lease_ms],
    )
    .await?;
    notify_acknowledged(&tx).await?;
    tx.commit().await?;
    Ok(Acknowledged {
        lease_granted,
        head,
    })
}

async fn notify_acknowledged(db: &impl GenericClient) -> Result<()> {
    let statement = db.prepare_cached("SELECT pg_notify($1, '')").await?;
    db.execute(&statement, &[&ACKS_CHANNEL]).await?;
    Ok(())
}

/// Forgets a watcher that stopped: nobody waits for it.
#[instrument(skip_all, name = "identity.store.remove_watcher")]
pub(crate) async fn remove_watcher(db: &impl GenericClient, watcher_id: Uuid) -> Result<()> {
    db.execute(
        "DELETE FROM user_change_watchers WHERE watcher_id = $1",
        &[&watcher_id],
    )
    .await?;
    Ok(())
}

/// How many watchers holding a lease have not applied the feed up to `head`.
#[instrument(skip_all, name = "identity.store.watchers_behind")]
pub(crate) async fn watchers_behind(db: &impl GenericClient, head: i64) -> Result<i64> {
    let statement = db
        .prepare_cached(
            "SELECT count(*) AS behind FROM user_change_watchers
             WHERE lease_until > clock_timestamp() AND applied_seq < $1",
        )
        .await?;
    db.query_one(&statement, &[&head]).await?.column("behind")
}
