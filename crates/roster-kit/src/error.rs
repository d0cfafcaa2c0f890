//! The one error type of Roster's services and its mapping to `tonic::Status`.
//!
//! Refusals a caller may handle carry `google.rpc.ErrorInfo { reason, domain: "roster" }`;
//! bad input carries `google.rpc.BadRequest` field violations. Internal failures are logged
//! here with their cause and reach the client as a bare `INTERNAL`, never with SQL text.
use std::collections::HashMap;

use roster_proto::types::ErrorReason;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The `ErrorInfo.domain` of every Roster error.
pub const ERROR_DOMAIN: &str = "roster";

/// A failed request, as the service layer sees it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed: one entry per offending field.
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<Violation>),
    /// A refusal with a reason clients can switch on.
    #[error("{message}")]
    Refused {
        /// The gRPC code.
        code: Code,
        /// The machine-readable reason.
        reason: ErrorReason,
        /// A sentence for people.
        message: String,
        /// `ErrorInfo.metadata`.
        metadata: HashMap<String, String>,
    },
    /// Something broke inside; the text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field path, as in the proto (`user.display_name`).
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Violations a status carries at most, and the longest field path and description, so
/// that an error's details stay under 1 KiB whatever the input.
const MAX_VIOLATIONS_SENT: usize = 4;
const MAX_FIELD_SENT: usize = 64;
const MAX_DESCRIPTION_SENT: usize = 100;
/// The longest message or metadata value a status carries.
const MAX_TEXT_SENT: usize = 300;

/// Characters of a caller's value that an error quotes.
const QUOTED_PREFIX: usize = 32;

/// A short, quoted prefix of a caller's value for an error message: never the whole input.
pub fn quote(value: &str) -> String {
    let prefix: String = value.chars().take(QUOTED_PREFIX).collect();
    if prefix.len() == value.len() {
        format!("{prefix:?}")
    } else {
        format!("{prefix:?}...")
    }
}

/// `text` cut to `max` characters at most.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// The result type of Roster's services.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// One bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![Violation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// A refusal with a reason.
    pub fn refused(code: Code, reason: ErrorReason, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            reason,
            message: message.into(),
            metadata: HashMap::new(),
        }
    }

    /// Adds an `ErrorInfo.metadata` entry to a refusal (no effect on other variants).
    #[must_use]
    pub fn with_metadata(mut self, key: &str, value: impl Into<String>) -> Self {
        if let Self::Refused { metadata, .. } = &mut self {
            metadata.insert(key.to_owned(), value.into());
        }
        self
    }

    /// `NOT_FOUND` for a resource kind and id.
    pub fn not_found(kind: &str, id: impl std::fmt::Display) -> Self {
        Self::refused(
            Code::NotFound,
            ErrorReason::NotFound,
            format!("{kind} {id} not found"),
        )
        .with_metadata("resource_type", kind)
        .with_metadata("resource_id", id.to_string())
    }

    /// `PERMISSION_DENIED` with a sentence saying why.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::refused(
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            message,
        )
    }

    /// `UNAUTHENTICATED` with a sentence saying why.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::refused(Code::Unauthenticated, ErrorReason::Unauthenticated, message)
    }

    /// An internal failure; `context` says what was being done.
    pub fn internal(context: impl std::fmt::Display, cause: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{context}: {cause}"))
    }

    /// The reason, for refusals.
    pub fn reason(&self) -> Option<ErrorReason> {
        match self {
            Self::Refused { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

/// The `ErrorInfo.reason` string of a reason: its enum name without `ERROR_REASON_`.
pub fn reason_name(reason: ErrorReason) -> &'static str {
    let name = reason.as_str_name();
    name.strip_prefix("ERROR_REASON_").unwrap_or(name)
}

/// Collects field violations while validating a request, then fails once with all of them.
#[derive(Debug, Default)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// Starts an empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records the violation of a `Result`, keeping its value.
    pub fn check<T>(&mut self, result: Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(Error::InvalidArgument(found)) => {
                self.0.extend(found);
                None
            }
            Err(other) => {
                self.0.push(Violation {
                    field: String::new(),
                    description: other.to_string(),
                });
                None
            }
        }
    }

    /// `Ok` when nothing was recorded, else `INVALID_ARGUMENT` with every violation.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(violations) => {
                let message = match violations.as_slice() {
                    [only] => clip(&describe(std::slice::from_ref(only)), MAX_TEXT_SENT / 2),
                    _ => {
                        let fields: Vec<&str> =
                            violations.iter().map(|v| v.field.as_str()).collect();
                        clip(
                            &format!("invalid fields: {}", fields.join(", ")),
                            MAX_TEXT_SENT / 2,
                        )
                    }
                };
                let violations: Vec<FieldViolation> = violations
                    .iter()
                    .take(MAX_VIOLATIONS_SENT)
                    .map(|v| {
                        FieldViolation::new(
                            clip(&v.field, MAX_FIELD_SENT),
                            clip(&v.description, MAX_DESCRIPTION_SENT),
                        )
                    })
                    .collect();
                Status::with_error_details(
                    Code::InvalidArgument,
                    message,
                    ErrorDetails::with_bad_request(violations),
                )
            }
            Error::Refused {
                code,
                reason,
                message,
                metadata,
            } => {
                let metadata = metadata
                    .into_iter()
                    .map(|(key, value)| (key, clip(&value, MAX_TEXT_SENT)))
                    .collect::<HashMap<_, _>>();
                Status::with_error_details(
                    code,
                    clip(&message, MAX_TEXT_SENT),
                    ErrorDetails::with_error_info(reason_name(reason), ERROR_DOMAIN, metadata),
                )
            }
            Error::Internal(text) => {
                tracing::error!(error = %text, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(error: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        match error.code() {
            Some(code)
                if *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                Self::refused(
                    Code::Aborted,
                    ErrorReason::ConcurrentModification,
                    "a concurrent change conflicted with this request; retry it",
                )
            }
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => Self::refused(
                Code::AlreadyExists,
                ErrorReason::AlreadyExists,
                "the resource already exists",
            ),
            Some(code) if *code == SqlState::FOREIGN_KEY_VIOLATION => Self::refused(
                Code::FailedPrecondition,
                ErrorReason::NotFound,
                "a referenced resource does not exist",
            ),
            // Data exceptions (class 22: a NUL byte, a malformed date, a value out of range)
            // and values too large to index (54000) are the caller's input, never a fault.
            Some(code) if code.code().starts_with("22") => {
                tracing::info!(error = %error, "database refused a value");
                Self::invalid("", "a value of this request is malformed or out of range")
            }
            Some(code) if *code == SqlState::PROGRAM_LIMIT_EXCEEDED => {
                tracing::info!(error = %error, "database refused a value");
                Self::invalid("", "a value of this request is too large")
            }
            _ if error.is_closed() => Self::refused(
                Code::Unavailable,
                ErrorReason::Unavailable,
                "the database connection was lost; retry",
            ),
            _ => Self::internal("database", format!("{error:?}")),
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(inner) => inner.into(),
            other => {
                tracing::warn!(error = %other, "database pool unavailable");
                Self::refused(
                    Code::Unavailable,
                    ErrorReason::Unavailable,
                    "the database is unavailable; retry later",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_carries_error_info() {
        let status: Status = Error::refused(
            Code::FailedPrecondition,
            ErrorReason::LastAdmin,
            "last admin",
        )
        .with_metadata("workspace_id", "w1")
        .into();
        assert_eq!(status.code(), Code::FailedPrecondition);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "LAST_ADMIN");
        assert_eq!(info.domain, "roster");
        assert_eq!(
            info.metadata.get("workspace_id").map(String::as_str),
            Some("w1")
        );
    }

    #[test]
    fn violations_become_bad_request() {
        let mut violations = Violations::new();
        violations.add("email", "is empty");
        violations.add("page_size", "must not be negative");
        let status: Status = violations.finish().expect_err("violations").into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad = status.get_details_bad_request().expect("bad request");
        assert_eq!(bad.field_violations.len(), 2);
        assert_eq!(bad.field_violations[0].field, "email");
    }

    #[test]
    fn details_stay_small_whatever_the_input() {
        let huge = "x".repeat(1 << 20);
        let mut violations = Violations::new();
        for _ in 0..500 {
            violations.add(huge.clone(), huge.clone());
        }
        let status: Status = violations.finish().expect_err("violations").into();
        assert!(
            status.details().len() < 1024,
            "{} bytes",
            status.details().len()
        );
        assert!(status.message().len() < 1024);
        let status: Status = Error::refused(Code::NotFound, ErrorReason::NotFound, huge.clone())
            .with_metadata("resource_id", huge)
            .into();
        assert!(status.details().len() < 1024);
        assert!(status.message().len() < 1024);
    }

    #[test]
    fn quotes_only_a_prefix() {
        assert_eq!(quote("abc"), "\"abc\"");
        assert_eq!(quote(&"é".repeat(100)), format!("{:?}...", "é".repeat(32)));
    }

    #[test]
    fn internal_errors_hide_their_text() {
        let status: Status =
            Error::internal("insert user", "syntax error at or near SELECT").into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("SELECT"));
    }
}
