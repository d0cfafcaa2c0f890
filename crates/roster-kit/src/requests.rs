//! Safe retries of mutating RPCs: the answer to `(caller, request_id)` is kept, so a retry
//! returns it instead of acting twice.
//!
//! `begin` inserts the key first: a concurrent duplicate blocks on that row until the
//! first transaction ends, then sees its answer (or, if it rolled back, goes ahead).
use chrono::{DateTime, Utc};
use prost::Message;
use roster_proto::types::ErrorReason;
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::GenericClient;
use crate::error::{Error, Result};
use crate::sql::Columns;

/// What to do with a request.
#[derive(Debug)]
pub enum Replay<M> {
    /// First time (or no `request_id`): do the work, then call [`finish`].
    Fresh,
    /// Done before: return this answer.
    Done(M),
}

/// Claims `caller.request_id` for `rpc`, or returns the earlier answer.
pub async fn begin<M: Message + Default>(
    db: &impl GenericClient,
    caller: &Caller,
    rpc: &str,
    now: DateTime<Utc>,
) -> Result<Replay<M>> {
    if caller.request_id.is_empty() {
        return Ok(Replay::Fresh);
    }
    let actor = caller.actor_id().unwrap_or(Uuid::nil());
    let statement = db.prepare_cached("INSERT INTO request_log (actor_user_id, request_id, rpc, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING").await?;
    let inserted = db
        .execute(&statement, &[&actor, &caller.request_id, &rpc, &now])
        .await?;
    if inserted == 1 {
        return Ok(Replay::Fresh);
    }
    let statement = db
        .prepare_cached(
            "SELECT rpc, response FROM request_log WHERE actor_user_id = $1 AND request_id = $2",
        )
        .await?;
    let row = db
        .query_one(&statement, &[&actor, &caller.request_id])
        .await?;
    let earlier_rpc: String = row.column("rpc")?;
    if earlier_rpc != rpc {
        return Err(Error::invalid(
            "request_id",
            format!("was already used for {earlier_rpc}"),
        ));
    }
    match row.column::<Option<Vec<u8>>>("response")? {
        Some(bytes) => M::decode(bytes.as_slice())
            .map(Replay::Done)
            .map_err(|e| Error::internal("decoding a stored answer", e)),
        None => Err(Error::refused(
            ErrorReason::RequestAlreadyProcessed,
            "this request_id was already processed and its answer held a secret that is shown only once",
        )),
    }
}

/// Stores the answer of a fresh request; `None` for answers holding a secret.
pub async fn finish(
    db: &impl GenericClient,
    caller: &Caller,
    response: Option<&impl Message>,
) -> Result<()> {
    if caller.request_id.is_empty() {
        return Ok(());
    }
    let statement = db
        .prepare_cached(
            "UPDATE request_log SET response = $3 WHERE actor_user_id = $1 AND request_id = $2",
        )
        .await?;
    db.execute(
        &statement,
        &[
            &caller.actor_id().unwrap_or(Uuid::nil()),
            &caller.request_id,
            &response.map(Message::encode_to_vec),
        ],
    )
    .await?;
    Ok(())
}

/// The stored answer of `caller.request_id` for `rpc`, without claiming it: for RPCs that
/// must recognise a retry before doing work a retry would fail (checking a password that
/// has changed since, authenticating a session that has ended since). `None` when there is
/// no request_id or no finished answer; a request_id used for another RPC is refused as
/// [`begin`] refuses it.
pub async fn answered<M: Message + Default>(
    db: &impl GenericClient,
    caller: &Caller,
    rpc: &str,
) -> Result<Option<M>> {
    if caller.request_id.is_empty() {
        return Ok(None);
    }
    let actor = caller.actor_id().unwrap_or(Uuid::nil());
    let statement = db
        .prepare_cached(
            "SELECT rpc, response FROM request_log WHERE actor_user_id = $1 AND request_id = $2",
        )
        .await?;
    let Some(row) = db
        .query_opt(&statement, &[&actor, &caller.request_id])
        .await?
    else {
        return Ok(None);
    };
    let earlier_rpc: String = row.column("rpc")?;
    if earlier_rpc != rpc {
        return Err(Error::invalid(
            "request_id",
            format!("was already used for {earlier_rpc}"),
        ));
    }
    row.column::<Option<Vec<u8>>>("response")?
        .map(|bytes| M::decode(bytes.as_slice()))
        .transpose()
        .map_err(|e| Error::internal("decoding a stored answer", e))
}
