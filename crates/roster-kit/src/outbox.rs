//! The transactional outbox: messages written in the transaction that caused them.
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::db::GenericClient;
use crate::error::Result;
use crate::telemetry::current_traceparent;

/// A message for the notification service.
#[derive(Debug, Clone)]
pub struct OutboxMessage<'a> {
    /// Template name, e.g. `password_reset`.
    pub template: &'a str,
    /// Email address.
    pub recipient: &'a str,
    /// Template variables that may be kept (names, expiry).
    pub variables: Value,
    /// Variables holding one-time secrets (links with tokens); wiped once handed over.
    pub secret_variables: Option<Value>,
}

/// Stores `message` in the caller's transaction; nothing is sent if it rolls back. The row
/// keeps the current trace context, which its hand-over continues.
pub async fn enqueue(
    db: &impl GenericClient,
    now: DateTime<Utc>,
    message: OutboxMessage<'_>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let statement = db.prepare_cached("INSERT INTO outbox (outbox_id, created_at, template, recipient, variables, secret_variables, traceparent)
         VALUES ($1, $2, $3, $4, $5, $6, $7)").await?;
    db.execute(
        &statement,
        &[
            &id,
            &now,
            &message.template,
            &message.recipient,
            &message.variables,
            &message.secret_variables,
            &current_traceparent(),
        ],
    )
    .await?;
    Ok(id)
}
