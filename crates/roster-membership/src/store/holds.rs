//! Seat holds: seats reserved for invitations being accepted.
use std::collections::HashMap;

use super::*;

/// Seats held in each workspace of the account by holds live at `now` (a workspace with
/// none is absent). Exact while the caller holds the workspaces' row locks: holds are
/// taken only under them.
#[instrument(skip_all, name = "membership.store.held_seats")]
pub(crate) async fn held_seats(
    db: &impl GenericClient,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, i32>> {
    let statement = db
        .prepare_cached(
            "SELECT w.workspace_id, count(*)::integer AS held
               FROM seat_holds h, unnest(h.workspace_ids) AS w(workspace_id)
              WHERE h.account_id = $1 AND h.expires_at > $2
              GROUP BY w.workspace_id",
        )
        .await?;
    db.query(&statement, &[&account_id, &now])
        .await?
        .iter()
        .map(|row| Ok((row.column("workspace_id")?, row.column("held")?)))
        .collect()
}

/// A seat hold to store.
pub(crate) struct NewSeatHold<'a> {
    pub(crate) account_id: Uuid,
    pub(crate) hold_id: Uuid,
    pub(crate) workspace_ids: &'a [Uuid],
    pub(crate) user_id: Option<Uuid>,
    pub(crate) expires_at: DateTime<Utc>,
}

/// Stores a seat hold (the caller holds the workspaces' row locks and deleted any
/// earlier hold of the same id).
#[instrument(skip_all, name = "membership.store.insert_seat_hold")]
pub(crate) async fn insert_seat_hold(
    db: &impl GenericClient,
    hold: &NewSeatHold<'_>,
) -> Result<()> {
    db.execute(
        "INSERT INTO seat_holds (account_id, hold_id, workspace_ids, user_id, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &hold.account_id,
            &hold.hold_id,
            &hold.workspace_ids,
            &hold.user_id,
            &hold.expires_at,
        ],
    )
    .await?;
    Ok(())
}

/// Deletes the seat hold `hold_id`, if any.
#[instrument(skip_all, name = "membership.store.delete_seat_hold")]
pub(crate) async fn delete_seat_hold(db: &impl GenericClient, hold_id: Uuid) -> Result<()> {
    let statement = db
        .prepare_cached("DELETE FROM seat_holds WHERE hold_id = $1")
        .await?;
    db.execute(&statement, &[&hold_id]).await?;
    Ok(())
}

/// Deletes the account's seat holds that ended before `now`.
#[instrument(skip_all, name = "membership.store.delete_expired_seat_holds")]
pub(crate) async fn delete_expired_seat_holds(
    db: &impl GenericClient,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let statement = db
        .prepare_cached("DELETE FROM seat_holds WHERE account_id = $1 AND expires_at <= $2")
        .await?;
    db.execute(&statement, &[&account_id, &now]).await?;
    Ok(())
}
