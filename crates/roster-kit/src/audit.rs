//! Audit events, written in the same transaction as the mutation they describe.
use chrono::{DateTime, Utc};
use roster_proto::types::AuditEvent;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::auth::{Caller, parse_id};
use crate::clock::{from_timestamp, to_timestamp};
use crate::db::GenericClient;
use crate::error::{Error, Result};
use crate::paging::{self, PageSize};
use crate::protobuf::json_to_struct;
use crate::sql::{Columns, QueryBuilder};

/// The changed fields of a mutation: `{"field": {"before": .., "after": ..}}`.
#[derive(Debug, Default, Clone)]
pub struct Changes(Map<String, Value>);

impl Changes {
    /// No changes recorded yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `field` going from `before` to `after` (skipped when equal).
    #[must_use]
    pub fn field(mut self, field: &str, before: impl Serialize, after: impl Serialize) -> Self {
        let (before, after) = (json!(before), json!(after));
        if before != after {
            self.0.insert(
                field.to_owned(),
                json!({ "before": before, "after": after }),
            );
        }
        self
    }
}

/// What one mutation did.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    /// `<service>.<resource>.<verb>`, e.g. `identity.user.disable`.
    pub action: &'a str,
    /// The resource kind, e.g. `user`.
    pub target_type: &'a str,
    /// The resource id.
    pub target_id: String,
    /// The account the resource belongs to, for tenant-scoped resources.
    pub account_id: Option<Uuid>,
    /// What changed.
    pub changes: Changes,
}

/// Writes `record` as done by `caller` at `now`, inside the caller's transaction.
pub async fn record(
    db: &impl GenericClient,
    caller: &Caller,
    now: DateTime<Utc>,
    record: AuditRecord<'_>,
) -> Result<()> {
    let statement = db.prepare_cached("INSERT INTO audit_events (audit_event_id, account_id, occurred_at, actor_user_id, impersonator_user_id,
                                   action, target_type, target_id, changes, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)").await?;
    db.execute(
        &statement,
        &[
            &Uuid::now_v7(),
            &record.account_id,
            &now,
            &caller.actor_id(),
            &caller.impersonator_id(),
            &record.action,
            &record.target_type,
            &record.target_id,
            &Value::Object(record.changes.0),
            &caller.request_id,
        ],
    )
    .await?;
    Ok(())
}

/// Filters of `ListAuditEvents`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditQuery {
    /// Only this account's events.
    pub account_id: Option<Uuid>,
    /// Only this resource.
    pub target_id: Option<String>,
    /// Only this actor.
    pub actor_user_id: Option<Uuid>,
    /// At or after.
    pub start: Option<DateTime<Utc>>,
    /// Before.
    pub end: Option<DateTime<Utc>>,
}

impl AuditQuery {
    /// The filters of a `ListAuditEvents` request (empty fields filter nothing).
    pub fn parse(
        account_id: Option<Uuid>,
        target_id: &str,
        actor_user_id: &str,
        start: Option<&prost_types::Timestamp>,
        end: Option<&prost_types::Timestamp>,
    ) -> Result<Self> {
        let target_id = target_id.trim();
        Ok(Self {
            account_id,
            target_id: (!target_id.is_empty()).then(|| target_id.to_owned()),
            actor_user_id: if actor_user_id.is_empty() {
                None
            } else {
                Some(parse_id("actor_user_id", actor_user_id)?)
            },
            start: start.map(|t| from_timestamp("start_time", t)).transpose()?,
            end: end.map(|t| from_timestamp("end_time", t)).transpose()?,
        })
    }
}

/// One page of `ListAuditEvents` as asked: the filters, the page size and the token.
#[derive(Debug, Clone, Default)]
pub struct AuditListing {
    /// The filters.
    pub query: AuditQuery,
    /// `page_size` as sent (0 for the default).
    pub page_size: i32,
    /// `page_token` as sent.
    pub page_token: String,
}

/// The [`AuditListing`] of a service's `ListAuditEventsRequest` (every service's message has
/// the same filter and page fields), with the account id given apart: membership's and
/// invitation's messages have one, identity's has none.
#[macro_export]
macro_rules! audit_listing {
    ($message:expr, $account_id:expr) => {{
        let message = $message;
        $crate::audit::AuditQuery::parse(
            $account_id,
            &message.target_id,
            &message.actor_user_id,
            message.start_time.as_ref(),
            message.end_time.as_ref(),
        )
        .map(|query| $crate::audit::AuditListing {
            query,
            page_size: message.page_size,
            page_token: message.page_token.clone(),
        })
    }};
}

/// A page of an account's audit events for a caller `authorize_account` lets see them,
/// or of every account's for operators; without an account, anyone else is told the
/// account is required.
pub async fn list_for_account(
    db: &impl GenericClient,
    caller: &Caller,
    listing: &AuditListing,
    authorize_account: impl AsyncFnOnce(Uuid) -> Result<()>,
) -> Result<(Vec<AuditEvent>, String)> {
    match listing.query.account_id {
        Some(account_id) => authorize_account(account_id).await?,
        None => {
            caller.operator().map_err(|_| {
                Error::invalid("account_id", "is required unless you are an operator")
            })?;
        }
    }
    list(db, listing).await
}

/// Lists audit events newest first, a page at a time.
pub async fn list(
    db: &impl GenericClient,
    listing: &AuditListing,
) -> Result<(Vec<AuditEvent>, String)> {
    let AuditListing {
        query,
        page_size,
        page_token,
    } = listing;
    let limit = PageSize::LIST.resolve(*page_size)?;
    let after: Option<(DateTime<Utc>, Uuid)> = paging::decode(query, page_token)?;
    let mut sql = QueryBuilder::new(
        "SELECT audit_event_id, occurred_at, actor_user_id, impersonator_user_id, action, target_type,
                target_id, changes, request_id
         FROM audit_events WHERE true",
    );
    // Filters are added only when present, so each query can use its own index.
    if let Some(account) = &query.account_id {
        sql.push(" AND account_id = {}", &[account]);
    }
    if let Some(target) = &query.target_id {
        sql.push(" AND target_id = {}", &[target]);
    }
    if let Some(actor) = &query.actor_user_id {
        sql.push(" AND actor_user_id = {}", &[actor]);
    }
    if let Some(start) = &query.start {
        sql.push(" AND occurred_at >= {}", &[start]);
    }
    if let Some(end) = &query.end {
        sql.push(" AND occurred_at < {}", &[end]);
    }
    if let Some((time, id)) = &after {
        sql.push(" AND (occurred_at, audit_event_id) < ({}, {})", &[time, id]);
    }
    let fetch = i64::from(limit) + 1;
    sql.push(
        " ORDER BY occurred_at DESC, audit_event_id DESC LIMIT {}",
        &[&fetch],
    );
    let statement = db.prepare_cached(sql.sql()).await?;
    let rows = db.query(&statement, sql.params()).await?;
    let events = rows
        .iter()
        .map(event_from_row)
        .collect::<Result<Vec<_>>>()?;
    let (events, next) = paging::finish_page(events, limit, query, |(_, key)| *key);
    Ok((events.into_iter().map(|(event, _)| event).collect(), next))
}

/// An audit event and its page key (occurred_at, audit_event_id).
fn event_from_row(row: &Row) -> Result<(AuditEvent, (DateTime<Utc>, Uuid))> {
    let id_text = |column: &str| -> Result<String> {
        Ok(row
            .column::<Option<Uuid>>(column)?
            .map(|id| id.to_string())
            .unwrap_or_default())
    };
    let occurred_at: DateTime<Utc> = row.column("occurred_at")?;
    let id: Uuid = row.column("audit_event_id")?;
    let event = AuditEvent {
        audit_event_id: id.to_string(),
        occur_time: Some(to_timestamp(occurred_at)),
        actor_user_id: id_text("actor_user_id")?,
        impersonator_user_id: id_text("impersonator_user_id")?,
        action: row.column("action")?,
        target_type: row.column("target_type")?,
        target_id: row.column("target_id")?,
        changes: Some(json_to_struct(row.column("changes")?)),
        request_id: row.column("request_id")?,
    };
    Ok((event, (occurred_at, id)))
}

/// Deletes up to 10,000 audit events that occurred before `cutoff`: the one way audit
/// rows leave (the schema's trigger refuses every other UPDATE, DELETE and TRUNCATE). How
/// many went.
#[tracing::instrument(skip_all, name = "kit.audit.delete_expired")]
pub async fn delete_expired(pool: &crate::db::Pool, cutoff: DateTime<Utc>) -> Result<u64> {
    let mut db = pool.get().await?;
    let tx = db.transaction().await?;
    tx.batch_execute("SET LOCAL roster.audit_retention = 'on'")
        .await?;
    let statement = tx
        .prepare_cached(
            "DELETE FROM audit_events WHERE audit_event_id IN (
                 SELECT audit_event_id FROM audit_events WHERE occurred_at < $1 LIMIT 10000)",
        )
        .await?;
    let deleted = tx.execute(&statement, &[&cutoff]).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// Every `interval` until `shutdown`, deletes the audit events of `pool`'s schema older
/// than `keep` (`ROSTER_AUDIT_RETENTION`).
pub async fn run_retention(
    pool: crate::db::Pool,
    clock: crate::clock::SharedClock,
    keep: std::time::Duration,
    interval: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
    crate::worker::every(interval, shutdown, "audit retention", || async {
        let cutoff = clock
            .now()
            .checked_sub_signed(keep)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        delete_expired(&pool, cutoff).await
    })
    .await;
}
