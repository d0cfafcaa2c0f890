//! Identity's rows, as the store reads and writes them.
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Person or machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Kind {
    Human,
    Service,
}

impl Kind {
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Service => "service",
        }
    }

    pub(crate) fn from_db(value: &str) -> Self {
        if value == "service" {
            Self::Service
        } else {
            Self::Human
        }
    }
}

/// Stored status (a timed lock that ended is still stored as `Locked`; see `domain::model::effective_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Status {
    Active,
    Disabled,
    Locked,
}

impl Status {
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Locked => "locked",
        }
    }

    pub(crate) fn from_db(value: &str) -> Self {
        match value {
            "disabled" => Self::Disabled,
            "locked" => Self::Locked,
            _ => Self::Active,
        }
    }
}

/// A row of `users`.
#[derive(Debug, Clone)]
pub(crate) struct UserRecord {
    pub(crate) id: uuid::Uuid,
    pub(crate) kind: Kind,
    pub(crate) email: String,
    pub(crate) display_name: String,
    pub(crate) phone: String,
    pub(crate) description: String,
    pub(crate) is_operator: bool,
    pub(crate) status: Status,
    pub(crate) locked_until: Option<DateTime<Utc>>,
    pub(crate) password_hash: Option<String>,
    pub(crate) password_change_required: bool,
    pub(crate) pending_email: Option<String>,
    /// Set on people created for an invitation (ProvisionInvitedUser).
    pub(crate) invitation_id: Option<uuid::Uuid>,
    /// When the current email was proven to reach the user; `None` while unproven.
    pub(crate) email_verified_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) version: i64,
    pub(crate) change_seq: i64,
}

/// What a live token resolves to.
#[derive(Debug)]
pub(crate) struct TokenOwner {
    pub(crate) user_id: Uuid,
    pub(crate) kind: Kind,
    pub(crate) email: String,
    pub(crate) is_operator: bool,
    pub(crate) status: Status,
    pub(crate) locked_until: Option<DateTime<Utc>>,
    pub(crate) session_id: Option<Uuid>,
    pub(crate) api_key_id: Option<Uuid>,
    /// When the session or API key expires (`None`: an API key that never does).
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) impersonator_id: Option<Uuid>,
    pub(crate) password_change_only: bool,
    /// Set for an impersonation session.
    pub(crate) impersonation: Option<ImpersonationFacts>,
}

/// What decides, at each call, whether an impersonation session may still act.
#[derive(Debug)]
pub(crate) struct ImpersonationFacts {
    pub(crate) grant_id: Uuid,
    pub(crate) grant_state: GrantState,
    pub(crate) grant_expires_at: Option<DateTime<Utc>>,
    pub(crate) grant_automatic: bool,
    pub(crate) impersonator_id: Uuid,
    pub(crate) impersonator_is_operator: bool,
    pub(crate) impersonator_status: Status,
    pub(crate) impersonator_locked_until: Option<DateTime<Utc>>,
    pub(crate) impersonator_has_automatic: bool,
}

/// Stored state of an impersonation grant (lapsing and expiring are read off the clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantState {
    Pending,
    Approved,
    Denied,
    Revoked,
}

impl GrantState {
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Revoked => "revoked",
        }
    }

    pub(crate) fn from_db(value: &str) -> Self {
        match value {
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "revoked" => Self::Revoked,
            _ => Self::Pending,
        }
    }
}

/// A row of `impersonation_grants`.
#[derive(Debug, Clone)]
pub(crate) struct GrantRecord {
    pub(crate) id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) requester_id: Uuid,
    pub(crate) reason: String,
    pub(crate) duration_secs: i64,
    pub(crate) automatic: bool,
    pub(crate) state: GrantState,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) answer_deadline: DateTime<Utc>,
    pub(crate) decided_at: Option<DateTime<Utc>>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) revoked_at: Option<DateTime<Utc>>,
    pub(crate) revoker_id: Option<Uuid>,
}

/// A session opened under an impersonation grant.
#[derive(Debug, Clone)]
pub(crate) struct ImpersonationSessionRecord {
    pub(crate) id: Uuid,
    pub(crate) grant_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) impersonator_id: Uuid,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) revoked_at: Option<DateTime<Utc>>,
}

/// An API key row.
#[derive(Debug)]
pub(crate) struct ApiKeyRecord {
    pub(crate) id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) display_name: String,
    pub(crate) secret_prefix: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) revoked_at: Option<DateTime<Utc>>,
}

/// The failed password checks of one email from one source.
#[derive(Debug)]
pub(crate) struct LoginAttempts {
    pub(crate) failures: i32,
    pub(crate) last_attempt_at: DateTime<Utc>,
}

/// Failures remembered from one source and for one email, across the others.
#[derive(Debug)]
pub(crate) struct LoginFailureTotals {
    pub(crate) source_failures: i64,
    pub(crate) source_last_attempt_at: Option<DateTime<Utc>>,
    pub(crate) account_failures: i64,
}
