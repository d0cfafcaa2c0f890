//! Custodians, removals and their steps. Steps are claimed with a lease (`lease_token`,
//! `next_attempt_at`) in a short transaction, so no transaction spans a custodian call.
use chrono::{DateTime, Utc};
use roster_kit::db::GenericClient;
use roster_kit::error::from_db_error;
use roster_kit::sql::Columns;
use roster_kit::{Error, Result};
use roster_proto::types::ErrorReason;
use tokio_postgres::Row;
use tracing::instrument;
use uuid::Uuid;

use super::records::{
    ClaimedStep, CustodianRecord, RemovalQueueRecord, RemovalRecord, RemovalState, StepRecord,
    StepState, StepVerb,
};

const CUSTODIAN_COLUMNS: &str = "custodian_id, name, url, description, created_at, updated_at";

const REMOVAL_COLUMNS: &str =
    "r.account_id, r.removal_id, r.workspace_id, r.user_id, r.receiver_user_id,
     r.removed_by_user_id, r.state, r.purge_after, r.summary_sent, r.created_at,
     r.finished_at, r.updated_at";

const STEP_COLUMNS: &str = "s.account_id, s.removal_id, s.custodian_id, s.custodian_name, s.verb, s.state,
     s.operation_id, s.attempts, s.last_error, s.next_attempt_at, s.lease_token, s.done, s.total, s.completed,
     s.failures, s.failed_count, s.updated_at";

fn custodian_name_taken(constraint: &str) -> Option<Error> {
    (constraint == "custodians_name_key").then(|| {
        Error::refused(
            ErrorReason::AlreadyExists,
            "a custodian with this name is registered already",
        )
    })
}

fn custodian_from_row(row: &Row) -> Result<CustodianRecord> {
    Ok(CustodianRecord {
        id: row.column("custodian_id")?,
        name: row.column("name")?,
        url: row.column("url")?,
        description: row.column("description")?,
        created_at: row.column("created_at")?,
        updated_at: row.column("updated_at")?,
    })
}

fn removal_from_row(row: &Row) -> Result<RemovalRecord> {
    Ok(RemovalRecord {
        account_id: row.column("account_id")?,
        id: row.column("removal_id")?,
        workspace_id: row.column("workspace_id")?,
        user_id: row.column("user_id")?,
        receiver_user_id: row.column("receiver_user_id")?,
        removed_by_user_id: row.column("removed_by_user_id")?,
        state: RemovalState::from_db(row.column("state")?),
        purge_after: row.column("purge_after")?,
        summary_sent: row.column("summary_sent")?,
        created_at: row.column("created_at")?,
        finished_at: row.column("finished_at")?,
        updated_at: row.column("updated_at")?,
        steps: Vec::new(),
    })
}

fn json_column<T: serde::de::DeserializeOwned>(row: &Row, name: &str) -> Result<T> {
    let value: serde_json::Value = row.column(name)?;
    serde_json::from_value(value).map_err(|e| Error::internal(format!("column {name}"), e))
}

fn step_from_row(row: &Row) -> Result<StepRecord> {
    Ok(StepRecord {
        account_id: row.column("account_id")?,
        removal_id: row.column("removal_id")?,
        custodian_id: row.column("custodian_id")?,
        custodian_name: row.column("custodian_name")?,
        verb: StepVerb::from_db(row.column("verb")?),
        state: StepState::from_db(row.column("state")?),
        operation_id: row.column("operation_id")?,
        attempts: row.column("attempts")?,
        last_error: row.column("last_error")?,
        next_attempt_at: row.column("next_attempt_at")?,
        lease_token: row.column("lease_token")?,
        done: row.column("done")?,
        total: row.column("total")?,
        completed: json_column(row, "completed")?,
        failures: json_column(row, "failures")?,
        failed_count: row.column("failed_count")?,
        updated_at: row.column("updated_at")?,
    })
}

fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::internal("step json", e))
}

/// Registers a custodian.
#[instrument(skip_all, name = "membership.store.insert_custodian")]
pub(crate) async fn insert_custodian(
    db: &impl GenericClient,
    custodian: &CustodianRecord,
) -> Result<()> {
    db.execute(
        "INSERT INTO custodians (custodian_id, name, url, description, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &custodian.id,
            &custodian.name,
            &custodian.url,
            &custodian.description,
            &custodian.created_at,
            &custodian.updated_at,
        ],
    )
    .await
    .map_err(|e| from_db_error(e, custodian_name_taken))?;
    Ok(())
}

/// Writes a custodian's name, URL and description.
#[instrument(skip_all, name = "membership.store.save_custodian")]
pub(crate) async fn save_custodian(
    db: &impl GenericClient,
    custodian: &CustodianRecord,
) -> Result<()> {
    db.execute(
        "UPDATE custodians SET name = $2, url = $3, description = $4, updated_at = $5
         WHERE custodian_id = $1",
        &[
            &custodian.id,
            &custodian.name,
            &custodian.url,
            &custodian.description,
            &custodian.updated_at,
        ],
    )
    .await
    .map_err(|e| from_db_error(e, custodian_name_taken))?;
    Ok(())
}

/// Every custodian, by name.
#[instrument(skip_all, name = "membership.store.list_custodians")]
pub(crate) async fn list_custodians(db: &impl GenericClient) -> Result<Vec<CustodianRecord>> {
    db.query(
        &format!("SELECT {CUSTODIAN_COLUMNS} FROM custodians ORDER BY name"),
        &[],
    )
    .await?
    .iter()
    .map(custodian_from_row)
    .collect()
}

/// One custodian, row-locked when `lock`.
#[instrument(skip_all, name = "membership.store.get_custodian")]
pub(crate) async fn get_custodian(
    db: &impl GenericClient,
    custodian_id: Uuid,
    lock: bool,
) -> Result<Option<CustodianRecord>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    db.query_opt(
        &format!("SELECT {CUSTODIAN_COLUMNS} FROM custodians WHERE custodian_id = $1{lock}"),
        &[&custodian_id],
    )
    .await?
    .as_ref()
    .map(custodian_from_row)
    .transpose()
}

/// Unregisters a custodian; its unfinished steps are cancelled first (the caller decided).
#[instrument(skip_all, name = "membership.store.delete_custodian")]
pub(crate) async fn delete_custodian(
    db: &impl GenericClient,
    custodian_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "UPDATE removal_steps SET state = 'cancelled', lease_token = NULL,
                last_error = 'the custodian was unregistered', updated_at = $2
         WHERE custodian_id = $1 AND state IN ('pending', 'running', 'failed', 'needs_action')",
        &[&custodian_id, &now],
    )
    .await?;
    db.execute(
        "DELETE FROM custodians WHERE custodian_id = $1",
        &[&custodian_id],
    )
    .await?;
    Ok(())
}

/// How many unfinished steps call a custodian.
#[instrument(skip_all, name = "membership.store.count_open_steps_of")]
pub(crate) async fn count_open_steps_of(
    db: &impl GenericClient,
    custodian_id: Uuid,
) -> Result<i64> {
    db.query_one(
        "SELECT count(*) FROM removal_steps
         WHERE custodian_id = $1 AND state IN ('pending', 'running', 'failed', 'needs_action')",
        &[&custodian_id],
    )
    .await?
    .at(0)
}

/// Records a removal (without steps).
#[instrument(skip_all, name = "membership.store.insert_removal")]
pub(crate) async fn insert_removal(db: &impl GenericClient, removal: &RemovalRecord) -> Result<()> {
    db.execute(
        "INSERT INTO removals (account_id, removal_id, workspace_id, user_id, receiver_user_id,
                               removed_by_user_id, state, purge_after, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        &[
            &removal.account_id,
            &removal.id,
            &removal.workspace_id,
            &removal.user_id,
            &removal.receiver_user_id,
            &removal.removed_by_user_id,
            &removal.state.as_db(),
            &removal.purge_after,
            &removal.created_at,
        ],
    )
    .await?;
    Ok(())
}

/// Writes a removal's state, summary flag and end.
#[instrument(skip_all, name = "membership.store.save_removal")]
pub(crate) async fn save_removal(db: &impl GenericClient, removal: &RemovalRecord) -> Result<()> {
    db.execute(
        "UPDATE removals SET state = $3, purge_after = $4, summary_sent = $5,
                finished_at = $6, updated_at = $7
         WHERE account_id = $1 AND removal_id = $2",
        &[
            &removal.account_id,
            &removal.id,
            &removal.state.as_db(),
            &removal.purge_after,
            &removal.summary_sent,
            &removal.finished_at,
            &removal.updated_at,
        ],
    )
    .await?;
    Ok(())
}

/// Adds one pending step per custodian for `verb`, due at `now`.
#[instrument(skip_all, name = "membership.store.insert_steps")]
pub(crate) async fn insert_steps(
    db: &impl GenericClient,
    removal: &RemovalRecord,
    verb: StepVerb,
    custodians: &[CustodianRecord],
    now: DateTime<Utc>,
) -> Result<()> {
    let ids: Vec<Uuid> = custodians.iter().map(|c| c.id).collect();
    let names: Vec<&str> = custodians.iter().map(|c| c.name.as_str()).collect();
    let operations: Vec<Uuid> = custodians.iter().map(|_| Uuid::now_v7()).collect();
    db.execute(
        "INSERT INTO removal_steps (account_id, removal_id, custodian_id, custodian_name, verb,
                                    state, operation_id, next_attempt_at, updated_at)
         SELECT $1, $2, c.id, c.name, $3, 'pending', c.operation_id, $7, $7
         FROM unnest($4::uuid[], $5::text[], $6::uuid[]) AS c(id, name, operation_id)",
        &[
            &removal.account_id,
            &removal.id,
            &verb.as_db(),
            &ids,
            &names,
            &operations,
            &now,
        ],
    )
    .await?;
    Ok(())
}

/// The steps of the removals `removal_ids` (of one account), by custodian name then verb.
async fn steps_of(
    db: &impl GenericClient,
    account_id: Uuid,
    removal_ids: &[Uuid],
) -> Result<Vec<StepRecord>> {
    db.query(
        &format!(
            "SELECT {STEP_COLUMNS} FROM removal_steps s
             WHERE s.account_id = $1 AND s.removal_id = ANY($2)
             ORDER BY s.custodian_name, s.verb DESC"
        ),
        &[&account_id, &removal_ids],
    )
    .await?
    .iter()
    .map(step_from_row)
    .collect()
}

/// Removals read from `rows` (of one account), each with its steps.
async fn with_steps(db: &impl GenericClient, rows: &[Row]) -> Result<Vec<RemovalRecord>> {
    let mut removals = rows
        .iter()
        .map(removal_from_row)
        .collect::<Result<Vec<_>>>()?;
    let Some(account_id) = removals.first().map(|r| r.account_id) else {
        return Ok(removals);
    };
    let ids: Vec<Uuid> = removals.iter().map(|r| r.id).collect();
    for step in steps_of(db, account_id, &ids).await? {
        if let Some(removal) = removals.iter_mut().find(|r| r.id == step.removal_id) {
            removal.steps.push(step);
        }
    }
    Ok(removals)
}

/// A removal with its steps, row-locked when `lock`.
#[instrument(skip_all, name = "membership.store.get_removal")]
pub(crate) async fn get_removal(
    db: &impl GenericClient,
    removal_id: Uuid,
    lock: bool,
) -> Result<Option<RemovalRecord>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let rows = db
        .query(
            &format!("SELECT {REMOVAL_COLUMNS} FROM removals r WHERE r.removal_id = $1{lock}"),
            &[&removal_id],
        )
        .await?;
    Ok(with_steps(db, &rows).await?.pop())
}

/// A member's open removal (removed or purging), row-locked when `lock`.
#[instrument(skip_all, name = "membership.store.open_removal")]
pub(crate) async fn open_removal(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
    lock: bool,
) -> Result<Option<RemovalRecord>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let rows = db
        .query(
            &format!(
                "SELECT {REMOVAL_COLUMNS} FROM removals r
                 WHERE r.workspace_id = $1 AND r.user_id = $2 AND r.state IN ('removed', 'purging'){lock}"
            ),
            &[&workspace_id, &user_id],
        )
        .await?;
    Ok(with_steps(db, &rows).await?.pop())
}

/// An account's removals, newest first, after the keyset `after` (created_at, id).
#[instrument(skip_all, name = "membership.store.list_removals")]
pub(crate) async fn list_removals(
    db: &impl GenericClient,
    account_id: Uuid,
    workspace_id: Option<Uuid>,
    user_id: Option<Uuid>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<RemovalRecord>> {
    let (after_time, after_id) = after.unzip();
    let rows = db
        .query(
            &format!(
                "SELECT {REMOVAL_COLUMNS} FROM removals r
                 WHERE r.account_id = $1
                   AND ($2::uuid IS NULL OR r.workspace_id = $2)
                   AND ($3::uuid IS NULL OR r.user_id = $3)
                   AND ($4::timestamptz IS NULL OR (r.created_at, r.removal_id) < ($4, $5))
                 ORDER BY r.created_at DESC, r.removal_id DESC LIMIT $6"
            ),
            &[
                &account_id,
                &workspace_id,
                &user_id,
                &after_time,
                &after_id,
                &limit,
            ],
        )
        .await?;
    with_steps(db, &rows).await
}

/// Cancels a removal's unfinished steps of `verb` (a restore).
#[instrument(skip_all, name = "membership.store.cancel_steps")]
pub(crate) async fn cancel_steps(
    db: &impl GenericClient,
    removal: &RemovalRecord,
    verb: StepVerb,
    why: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(db
        .execute(
            "UPDATE removal_steps SET state = 'cancelled', lease_token = NULL, last_error = $4,
                    updated_at = $5
             WHERE account_id = $1 AND removal_id = $2 AND verb = $3
               AND state IN ('pending', 'running', 'failed', 'needs_action')",
            &[&removal.account_id, &removal.id, &verb.as_db(), &why, &now],
        )
        .await?)
}

/// Puts a removal's steps that need action back to pending, each with a new operation id.
#[instrument(skip_all, name = "membership.store.retry_steps")]
pub(crate) async fn retry_steps(
    db: &impl GenericClient,
    removal: &RemovalRecord,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(db
        .execute(
            "UPDATE removal_steps SET state = 'pending', operation_id = gen_random_uuid(),
                    attempts = 0, last_error = '', next_attempt_at = $3, lease_token = NULL,
                    done = 0, total = 0, completed = '[]', failures = '[]', failed_count = 0,
                    updated_at = $3
             WHERE account_id = $1 AND removal_id = $2 AND state = 'needs_action'",
            &[&removal.account_id, &removal.id, &now],
        )
        .await?)
}

/// Claims up to `limit` due steps of open removals for `lease`: each gets a fresh lease
/// token, one more attempt and its next attempt pushed past the lease, so no other worker
/// picks it up while this one calls the custodian.
#[instrument(skip_all, name = "membership.store.claim_due_steps")]
pub(crate) async fn claim_due_steps(
    db: &impl GenericClient,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ClaimedStep>> {
    db.query(
        &format!(
            "WITH due AS (
                 SELECT s.account_id, s.removal_id, s.custodian_id, s.verb
                 FROM removal_steps s
                 JOIN removals r ON r.account_id = s.account_id AND r.removal_id = s.removal_id
                 WHERE s.state IN ('pending', 'running', 'failed') AND s.next_attempt_at <= $1
                   AND r.state IN ('removed', 'purging')
                 ORDER BY s.next_attempt_at
                 LIMIT $3
                 FOR UPDATE OF s SKIP LOCKED
             ), claimed AS (
                 UPDATE removal_steps s
                 SET lease_token = gen_random_uuid(), next_attempt_at = $2,
                     attempts = s.attempts + 1, updated_at = $1
                 FROM due
                 WHERE s.account_id = due.account_id AND s.removal_id = due.removal_id
                   AND s.custodian_id = due.custodian_id AND s.verb = due.verb
                 RETURNING s.*
             )
             SELECT {STEP_COLUMNS}, r.workspace_id, r.user_id, r.receiver_user_id, c.url
             FROM claimed s
             JOIN removals r ON r.account_id = s.account_id AND r.removal_id = s.removal_id
             JOIN custodians c ON c.custodian_id = s.custodian_id"
        ),
        &[&now, &lease_until, &limit],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(ClaimedStep {
            step: step_from_row(row)?,
            workspace_id: row.column("workspace_id")?,
            user_id: row.column("user_id")?,
            receiver_user_id: row.column("receiver_user_id")?,
            url: row.column("url")?,
        })
    })
    .collect()
}

/// Writes what a custodian answered for a claimed step, if the claim is still this
/// worker's (a restore or a forced unregistration may have cancelled it meanwhile).
#[instrument(skip_all, name = "membership.store.finish_step")]
pub(crate) async fn finish_step(
    db: &impl GenericClient,
    step: &StepRecord,
    lease_token: Option<Uuid>,
) -> Result<bool> {
    let completed = to_json(&step.completed)?;
    let failures = to_json(&step.failures)?;
    let updated = db
        .execute(
            "UPDATE removal_steps SET state = $6, last_error = $7, next_attempt_at = $8,
                    lease_token = NULL, done = $9, total = $10, completed = $11, failures = $12,
                    failed_count = $13, updated_at = $14
             WHERE account_id = $1 AND removal_id = $2 AND custodian_id = $3 AND verb = $4
               AND lease_token = $5",
            &[
                &step.account_id,
                &step.removal_id,
                &step.custodian_id,
                &step.verb.as_db(),
                &lease_token,
                &step.state.as_db(),
                &step.last_error,
                &step.next_attempt_at,
                &step.done,
                &step.total,
                &completed,
                &failures,
                &step.failed_count,
                &step.updated_at,
            ],
        )
        .await?;
    Ok(updated == 1)
}

/// Removals whose restore window ended by `now`, row-locked (skipping those another
/// worker holds).
#[instrument(skip_all, name = "membership.store.claim_expired_removals")]
pub(crate) async fn claim_expired_removals(
    db: &impl GenericClient,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Uuid>> {
    db.query(
        "SELECT removal_id FROM removals WHERE state = 'removed' AND purge_after <= $1
         ORDER BY purge_after LIMIT $2 FOR UPDATE SKIP LOCKED",
        &[&now, &limit],
    )
    .await?
    .iter()
    .map(|row| row.column("removal_id"))
    .collect()
}

/// A user's email and display name, as the feed last told them.
#[instrument(skip_all, name = "membership.store.user_contact")]
pub(crate) async fn user_contact(
    db: &impl GenericClient,
    user_id: Uuid,
) -> Result<Option<(String, String)>> {
    db.query_opt(
        "SELECT email, display_name FROM users WHERE user_id = $1",
        &[&user_id],
    )
    .await?
    .map(|row| Ok((row.column("email")?, row.column("display_name")?)))
    .transpose()
}

/// When the next unfinished step of an open removal is due.
#[instrument(skip_all, name = "membership.store.next_step_due")]
pub(crate) async fn next_step_due(db: &impl GenericClient) -> Result<Option<DateTime<Utc>>> {
    db.query_one(
        "SELECT min(next_attempt_at) FROM removal_steps
         WHERE state IN ('pending', 'running', 'failed')",
        &[],
    )
    .await?
    .at(0)
}

/// The removal saga's queue (see `removal_queue.sql`), counting at most `cap` steps.
#[instrument(skip_all, name = "membership.store.removal_queue")]
pub(crate) async fn removal_queue(db: &impl GenericClient, cap: i64) -> Result<RemovalQueueRecord> {
    let statement = db.prepare_cached(include_str!("removal_queue.sql")).await?;
    let row = db.query_one(&statement, &[&cap]).await?;
    let mut steps = Vec::new();
    for state in [
        StepState::Pending,
        StepState::Running,
        StepState::Failed,
        StepState::NeedsAction,
    ] {
        steps.push((state, row.column(state.as_db())?));
    }
    Ok(RemovalQueueRecord {
        steps,
        first_due: row.column("first_due")?,
    })
}
