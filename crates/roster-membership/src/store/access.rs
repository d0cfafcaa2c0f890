//! Access checks' SQL: the notices that keep every replica's access cache true, and what
//! a caller holds in an account.
use roster_kit::Result;
use roster_kit::db::GenericClient;
use roster_kit::sql::Columns;
use tracing::instrument;
use uuid::Uuid;

/// The channel of access-change notices; the payload is an account id.
const ACCESS_CHANNEL: &str = "roster_membership_access";

/// Tells every replica's access cache that answers about `account_id` changed; sent when
/// the transaction commits, never if it rolls back.
#[instrument(skip_all, name = "membership.store.notify_access_changed")]
pub(crate) async fn notify_access_changed(db: &impl GenericClient, account_id: Uuid) -> Result<()> {
    db.execute(
        "SELECT pg_notify($1, $2)",
        &[&ACCESS_CHANNEL, &account_id.to_string()],
    )
    .await?;
    Ok(())
}

/// Listens for access-change notices on a connection of its own to `database_url`:
/// `listening` once subscribed, then `notice` with each payload, until the connection ends
/// (`Ok`) or fails.
#[instrument(skip_all, name = "membership.store.listen_access_changes")]
pub(crate) async fn listen_access_changes(
    database_url: &str,
    listening: impl FnOnce(),
    mut notice: impl FnMut(&str),
) -> Result<()> {
    roster_kit::db::listen(database_url, &[ACCESS_CHANNEL], listening, |_, payload| {
        notice(payload);
    })
    .await
}

/// Whether `user_id` administers the account, and whether they are an active member of
/// one of its workspaces.
#[instrument(skip_all, name = "membership.store.standing")]
pub(crate) async fn standing(
    db: &impl GenericClient,
    account_id: Uuid,
    user_id: Uuid,
) -> Result<(bool, bool)> {
    let statement = db
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM account_administrators WHERE account_id = $1 AND user_id = $2) AS administrator,
                    EXISTS (SELECT 1 FROM members WHERE account_id = $1 AND user_id = $2 AND status = 'active') AS member",
        )
        .await?;
    let row = db.query_one(&statement, &[&account_id, &user_id]).await?;
    Ok((row.column("administrator")?, row.column("member")?))
}

/// The permissions the roles of `user_id`'s active memberships in the account grant.
#[instrument(skip_all, name = "membership.store.account_permissions")]
pub(crate) async fn account_permissions(
    db: &impl GenericClient,
    account_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<String>> {
    db.query_one(
        "SELECT ARRAY(SELECT DISTINCT p FROM members m JOIN roles r
                        ON r.account_id = m.account_id AND r.role_id = ANY (m.role_ids),
                      unnest(r.permissions) AS p
                      WHERE m.account_id = $1 AND m.user_id = $2 AND m.status = 'active') AS permissions",
        &[&account_id, &user_id],
    )
    .await?
    .column("permissions")
}
