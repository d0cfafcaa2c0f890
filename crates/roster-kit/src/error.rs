//! The one error type of Roster's services and its mapping to `tonic::Status`.
//!
//! Refusals a caller may handle carry `google.rpc.ErrorInfo { reason, domain: "roster" }`;
//! bad input carries `google.rpc.BadRequest` field violations. Internal failures are logged
//! here with their cause and reach the client as a bare `INTERNAL`, never with SQL text.
//! Each reason travels with one gRPC code, decided once in [`code_of`].
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
    /// A refusal with a reason clients can switch on; its gRPC code is [`code_of`] the reason.
    #[error("{message}")]
    Refused {
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

    /// A refusal with a reason (its code is [`code_of`] the reason).
    pub fn refused(reason: ErrorReason, message: impl Into<String>) -> Self {
        Self::Refused {
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
        Self::refused(ErrorReason::NotFound, format!("{kind} {id} not found"))
            .with_metadata("resource_type", kind)
            .with_metadata("resource_id", id.to_string())
    }

    /// `PERMISSION_DENIED` with a sentence saying why.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::refused(ErrorReason::PermissionDenied, message)
    }

    /// `UNAUTHENTICATED` with a sentence saying why.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::refused(ErrorReason::Unauthenticated, message)
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

    /// The gRPC code this error reaches the client with.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::Refused { reason, .. } => code_of(*reason),
            Self::Internal(_) => Code::Internal,
        }
    }
}

/// The one gRPC code each reason travels with, wherever it is refused (SpiceDB's
/// `rewriteError` is the model). `proto/roster/type/v1/error_reason.proto` states the same
/// code beside each value, and a test holds the two together.
pub fn code_of(reason: ErrorReason) -> Code {
    use ErrorReason as R;
    match reason {
        R::Unspecified => Code::Unknown,
        R::Unauthenticated | R::InvalidCredentials | R::ImpersonationEnded => Code::Unauthenticated,
        R::PermissionDenied
        | R::UserDisabled
        | R::UserLocked
        | R::EmailMismatch
        | R::ImpersonationForbidden => Code::PermissionDenied,
        R::NotFound | R::TokenInvalid => Code::NotFound,
        R::WeakPassword | R::InvalidEmail => Code::InvalidArgument,
        R::EmailTaken
        | R::AlreadyExists
        | R::AlreadyMember
        | R::AlreadyInvited
        | R::RequestAlreadyProcessed => Code::AlreadyExists,
        R::ServiceAccountLogin
        | R::PasswordChangeRequired
        | R::SelfActionForbidden
        | R::InvalidState
        | R::WrongUserKind
        | R::LastAdmin
        | R::RecentlyRemoved
        | R::RoleInUse
        | R::RestoreWindowEnded
        | R::BuiltInRole
        | R::DomainNotAllowed
        | R::InvitationExpired
        | R::InvitationRevoked
        | R::InvitationAlreadyAccepted => Code::FailedPrecondition,
        R::EtagMismatch | R::ConcurrentModification => Code::Aborted,
        R::Overloaded | R::SeatLimitReached | R::RateLimited => Code::ResourceExhausted,
        R::Unavailable => Code::Unavailable,
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
                reason,
                message,
                metadata,
            } => {
                let metadata = metadata
                    .into_iter()
                    .map(|(key, value)| (key, clip(&value, MAX_TEXT_SENT)))
                    .collect::<HashMap<_, _>>();
                Status::with_error_details(
                    code_of(reason),
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
                    ErrorReason::ConcurrentModification,
                    "a concurrent change conflicted with this request; retry it",
                )
            }
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => {
                Self::refused(ErrorReason::AlreadyExists, "the resource already exists")
            }
            Some(code) if *code == SqlState::FOREIGN_KEY_VIOLATION => Self::refused(
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
            // Connection exceptions (08), insufficient resources (53) and an operator's
            // shutdown or restart (57P01-57P03) pass; so does an error with no SQLSTATE
            // at all, which never reached a server (refused, reset, lost connections).
            Some(code)
                if code.code().starts_with("08")
                    || code.code().starts_with("53")
                    || matches!(code.code(), "57P01" | "57P02" | "57P03") =>
            {
                Self::database_unavailable(&error)
            }
            None => Self::database_unavailable(&error),
            _ => Self::internal("database", format!("{error:?}")),
        }
    }
}

/// A database error as an [`Error`], with a unique violation decided by the name of the
/// constraint (or unique index) it violated: `refusal` is a store's table from its
/// schema's constraint names to the refusal each means (`None`: the generic
/// `ALREADY_EXISTS`). Anything else converts as [`From`] does.
pub fn from_db_error(
    error: tokio_postgres::Error,
    refusal: impl FnOnce(&str) -> Option<Error>,
) -> Error {
    if error.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
        && let Some(found) = error
            .as_db_error()
            .and_then(|db| db.constraint())
            .and_then(refusal)
    {
        return found;
    }
    error.into()
}

impl Error {
    /// The database cannot answer now: `UNAVAILABLE`, with a retry hint.
    fn database_unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "database unavailable");
        Self::refused(
            ErrorReason::Unavailable,
            "the database is unavailable; retry later",
        )
        .with_metadata("retry_after_seconds", "1")
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        crate::metrics::checkout_failed(&error);
        match error {
            deadpool_postgres::PoolError::Backend(inner) => inner.into(),
            other => Self::database_unavailable(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_that_refuses_connections_is_unavailable() {
        // Port 1 on loopback: nothing listens, the connect is refused at once.
        let refused = tokio_postgres::connect(
            "host=127.0.0.1 port=1 user=postgres connect_timeout=2",
            tokio_postgres::NoTls,
        )
        .await
        .err()
        .expect("nothing listens on port 1");
        let status: Status = Error::from(refused).into();
        assert_eq!(status.code(), Code::Unavailable);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "UNAVAILABLE");
        assert_eq!(
            info.metadata.get("retry_after_seconds").map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn refusal_carries_error_info() {
        let status: Status = Error::refused(ErrorReason::LastAdmin, "last admin")
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

    /// Every value of the proto enum, from its numbers up to the first unknown one.
    fn all_reasons() -> Vec<ErrorReason> {
        (0..).map_while(|n| ErrorReason::try_from(n).ok()).collect()
    }

    #[test]
    fn every_reason_has_one_code() {
        let reasons = all_reasons();
        assert!(reasons.len() > 30, "{} reasons", reasons.len());
        // No gaps: nothing is numbered past the first unknown number.
        let next = i32::try_from(reasons.len()).expect("few reasons");
        assert!((next..next + 1000).all(|n| ErrorReason::try_from(n).is_err()));
        for reason in reasons {
            let status: Status = Error::refused(reason, "refused").into();
            assert_eq!(status.code(), code_of(reason), "{reason:?}");
            assert_eq!(Error::refused(reason, "").code(), code_of(reason));
            let info = status.get_details_error_info().expect("error info");
            assert_eq!(info.reason, reason_name(reason));
        }
    }

    /// `(value name, number, code named by its "// Code: X." comment)` of each value of
    /// `enum ErrorReason` in the proto; a value without exactly one such comment fails.
    fn proto_codes(proto: &str) -> Vec<(String, i32, String)> {
        let mut found = Vec::new();
        let mut comment_codes: Vec<String> = Vec::new();
        for line in proto.lines().map(str::trim) {
            if let Some(comment) = line.strip_prefix("//") {
                if let Some(code) = comment.trim().strip_prefix("Code:") {
                    let code = code
                        .trim()
                        .strip_suffix('.')
                        .expect("Code: X. ends with a dot");
                    comment_codes.push(code.trim().to_owned());
                }
                continue;
            }
            if let Some(value) = line.strip_prefix("ERROR_REASON_") {
                let (name, number) = value
                    .strip_suffix(';')
                    .and_then(|v| v.split_once('='))
                    .expect("ERROR_REASON_X = n;");
                assert_eq!(
                    comment_codes.len(),
                    1,
                    "ERROR_REASON_{} needs one `// Code: X.` line, has {comment_codes:?}",
                    name.trim()
                );
                found.push((
                    format!("ERROR_REASON_{}", name.trim()),
                    number.trim().parse().expect("a number"),
                    comment_codes.remove(0),
                ));
            }
            comment_codes.clear();
        }
        found
    }

    /// The proto spelling of a code (`FAILED_PRECONDITION`).
    fn proto_name(code: Code) -> String {
        let mut name = String::new();
        for (i, c) in format!("{code:?}").chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_uppercase());
        }
        name
    }

    #[test]
    fn proto_documents_each_reasons_code() {
        let proto = include_str!("../../../proto/roster/type/v1/error_reason.proto");
        let documented = proto_codes(proto);
        let reasons = all_reasons();
        assert_eq!(documented.len(), reasons.len(), "{documented:?}");
        for (name, number, code) in documented {
            let reason = ErrorReason::try_from(number).expect("a known number");
            assert_eq!(reason.as_str_name(), name);
            assert_eq!(code, proto_name(code_of(reason)), "{name}");
        }
    }

    #[test]
    fn proto_names_of_codes() {
        assert_eq!(proto_name(Code::FailedPrecondition), "FAILED_PRECONDITION");
        assert_eq!(proto_name(Code::NotFound), "NOT_FOUND");
        assert_eq!(proto_name(Code::Unknown), "UNKNOWN");
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
        let status: Status = Error::refused(ErrorReason::NotFound, huge.clone())
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
