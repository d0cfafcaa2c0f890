//! The notification schema's SQL.
use chrono::{DateTime, Utc};
use roster_kit::Result;
use roster_kit::db::GenericClient;
use roster_kit::sql::{Columns, QueryBuilder};
use roster_kit::telemetry::current_traceparent;
use tokio_postgres::Row;
use tracing::instrument;
use uuid::Uuid;

pub(crate) mod records;

use self::records::{Attempt, Due, NewNotification, NotificationRecord, Rendered, State};

/// Every column but `secret_variables`, which only the delivery worker reads.
const COLUMNS: &str =
    "notification_id, idempotency_key, template, recipient, locale, variables, state,
     attempts, next_attempt_at, last_error, created_at, sent_at, rendered_subject, rendered_text,
     rendered_html";

fn record_from_row(row: &Row) -> Result<NotificationRecord> {
    let subject: Option<String> = row.column("rendered_subject")?;
    let rendered = match subject {
        Some(subject) => Some(Rendered {
            subject,
            text: row
                .column::<Option<String>>("rendered_text")?
                .unwrap_or_default(),
            html: row
                .column::<Option<String>>("rendered_html")?
                .unwrap_or_default(),
        }),
        None => None,
    };
    Ok(NotificationRecord {
        id: row.column("notification_id")?,
        idempotency_key: row.column("idempotency_key")?,
        template: row.column("template")?,
        recipient: row.column("recipient")?,
        locale: row.column("locale")?,
        variables: row.column("variables")?,
        state: State::parse(row.column("state")?),
        attempts: row.column("attempts")?,
        next_attempt_at: row.column("next_attempt_at")?,
        last_error: row.column("last_error")?,
        created_at: row.column("created_at")?,
        sent_at: row.column("sent_at")?,
        rendered,
    })
}

/// Stores a new message, due at once; `None` when its idempotency key is taken.
#[instrument(skip_all, name = "notification.store.insert")]
pub(crate) async fn insert(
    db: &impl GenericClient,
    id: Uuid,
    new: &NewNotification,
    now: DateTime<Utc>,
) -> Result<Option<NotificationRecord>> {
    let statement = db
        .prepare_cached(&format!(
            "INSERT INTO notifications (notification_id, idempotency_key, template, recipient, locale,
                                        variables, secret_variables, state, attempts, next_attempt_at,
                                        created_at, traceparent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $8, $9)
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING {COLUMNS}"
        ))
        .await?;
    let row = db
        .query_opt(
            &statement,
            &[
                &id,
                &new.idempotency_key,
                &new.template,
                &new.recipient,
                &new.locale,
                &new.variables,
                &new.secret_variables,
                &now,
                &current_traceparent(),
            ],
        )
        .await?;
    row.as_ref().map(record_from_row).transpose()
}

/// Which message to read.
pub(crate) enum Key<'a> {
    Id(Uuid),
    IdempotencyKey(&'a str),
}

/// Reads a message.
#[instrument(skip_all, name = "notification.store.get")]
pub(crate) async fn get(
    db: &impl GenericClient,
    key: Key<'_>,
) -> Result<Option<NotificationRecord>> {
    let (column, value): (&str, &(dyn tokio_postgres::types::ToSql + Sync)) = match &key {
        Key::Id(id) => ("notification_id", id),
        Key::IdempotencyKey(key) => ("idempotency_key", key),
    };
    let statement = db
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM notifications WHERE {column} = $1"
        ))
        .await?;
    let row = db.query_opt(&statement, &[value]).await?;
    row.as_ref().map(record_from_row).transpose()
}

/// The filters of ListNotifications.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct NotificationQuery {
    /// Lower-cased, as recipients are stored.
    pub(crate) recipient: Option<String>,
    pub(crate) template: Option<String>,
    pub(crate) state: Option<State>,
    /// At or after.
    pub(crate) start: Option<DateTime<Utc>>,
    /// Before.
    pub(crate) end: Option<DateTime<Utc>>,
}

/// A page of messages, newest first, after the (created_at, id) of the previous page's
/// last row.
#[instrument(skip_all, name = "notification.store.list")]
pub(crate) async fn list(
    db: &impl GenericClient,
    query: &NotificationQuery,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<NotificationRecord>> {
    let state = query.state.map(State::as_str);
    let mut sql = QueryBuilder::new(&format!("SELECT {COLUMNS} FROM notifications WHERE true"));
    if let Some(recipient) = &query.recipient {
        sql.push(" AND recipient = {}", &[recipient]);
    }
    if let Some(template) = &query.template {
        sql.push(" AND template = {}", &[template]);
    }
    if let Some(state) = &state {
        sql.push(" AND state = {}", &[state]);
    }
    if let Some(start) = &query.start {
        sql.push(" AND created_at >= {}", &[start]);
    }
    if let Some(end) = &query.end {
        sql.push(" AND created_at < {}", &[end]);
    }
    if let Some((time, id)) = after {
        sql.push(" AND (created_at, notification_id) < ({}, {})", &[time, id]);
    }
    sql.push(
        " ORDER BY created_at DESC, notification_id DESC LIMIT {}",
        &[&limit],
    );
    let statement = db.prepare_cached(sql.sql()).await?;
    db.query(&statement, sql.params())
        .await?
        .iter()
        .map(record_from_row)
        .collect()
}

/// Claims up to `limit` messages due at `now`, locked until the transaction ends.
#[instrument(skip_all, name = "notification.store.claim_due")]
pub(crate) async fn claim_due(
    db: &impl GenericClient,
    now: DateTime<Utc>,
    limit: i64,
    held_until: DateTime<Utc>,
) -> Result<Vec<Due>> {
    let statement = db.prepare_cached(include_str!("claim_due.sql")).await?;
    db.query(&statement, &[&now, &limit, &held_until])
        .await?
        .iter()
        .map(|row| {
            Ok(Due {
                id: row.column("notification_id")?,
                template: row.column("template")?,
                recipient: row.column("recipient")?,
                variables: row.column("variables")?,
                secret_variables: row.column("secret_variables")?,
                attempts: row.column("attempts")?,
                traceparent: row.column("traceparent")?,
            })
        })
        .collect()
}

/// Stores the outcome of one attempt at message `id`.
#[instrument(skip_all, name = "notification.store.record_attempt")]
pub(crate) async fn record_attempt(
    db: &impl GenericClient,
    id: Uuid,
    attempt: &Attempt<'_>,
) -> Result<()> {
    let statement = db
        .prepare_cached(include_str!("record_attempt.sql"))
        .await?;
    let rendered = attempt.rendered;
    db.execute(
        &statement,
        &[
            &id,
            &attempt.state.as_str(),
            &attempt.error,
            &attempt.next_attempt_at,
            &attempt.sent_at,
            &rendered.map(|r| r.subject.as_str()),
            &rendered.map(|r| r.text.as_str()),
            &rendered.map(|r| r.html.as_str()),
        ],
    )
    .await?;
    Ok(())
}
