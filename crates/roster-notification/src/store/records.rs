//! The notification schema's rows, as the store reads and writes them.
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// Where a message is in its delivery, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) enum State {
    Queued,
    Sent,
    Failed,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            _ => Self::Queued,
        }
    }
}

/// A message as the recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject, on one line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// A message to store, checked.
#[derive(Debug, Clone)]
pub(crate) struct NewNotification {
    /// A template name (`Template::name`).
    pub(crate) template: &'static str,
    pub(crate) recipient: String,
    pub(crate) locale: String,
    /// A JSON object.
    pub(crate) variables: Value,
    /// A JSON object, or `None` when there are no secrets.
    pub(crate) secret_variables: Option<Value>,
    pub(crate) idempotency_key: String,
}

/// A queued message claimed for an attempt, with what rendering it needs. Not `Debug`:
/// it holds the secret variables, which are never logged.
pub(crate) struct Due {
    pub(crate) id: Uuid,
    pub(crate) template: String,
    pub(crate) recipient: String,
    pub(crate) variables: Value,
    pub(crate) secret_variables: Option<Value>,
    /// Attempts made before this one.
    pub(crate) attempts: i32,
    /// The trace of the Enqueue that stored it, which each attempt continues.
    pub(crate) traceparent: Option<String>,
}

/// What one attempt left behind, to store.
#[derive(Debug, Clone)]
pub(crate) struct Attempt<'a> {
    /// Sent, queued for another attempt, or failed for good.
    pub(crate) state: State,
    pub(crate) error: Option<&'a str>,
    /// When queued again.
    pub(crate) next_attempt_at: Option<DateTime<Utc>>,
    pub(crate) sent_at: Option<DateTime<Utc>>,
    /// The message as sent, kept by the log transport.
    pub(crate) rendered: Option<&'a Rendered>,
}

/// A row of `notifications`, without its secret variables (which only the delivery worker
/// reads).
#[derive(Debug, Clone)]
pub(crate) struct NotificationRecord {
    pub(crate) id: Uuid,
    pub(crate) idempotency_key: String,
    pub(crate) template: String,
    pub(crate) recipient: String,
    pub(crate) locale: String,
    pub(crate) variables: Value,
    pub(crate) state: State,
    pub(crate) attempts: i32,
    pub(crate) next_attempt_at: DateTime<Utc>,
    pub(crate) last_error: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) sent_at: Option<DateTime<Utc>>,
    /// Kept by the log transport only.
    pub(crate) rendered: Option<Rendered>,
}
