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
                let message = describe(&violations);
                let violations: Vec<FieldViolation> = violations
                    .into_iter()
                    .map(|v| FieldViolation::new(v.field, v.description))
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
            } => Status::with_error_details(
                code,
                message,
                ErrorDetails::with_error_info(reason_name(reason), ERROR_DOMAIN, metadata),
            ),
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
    fn internal_errors_hide_their_text() {
        let status: Status =
            Error::internal("insert user", "syntax error at or near SELECT").into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("SELECT"));
    }
}
