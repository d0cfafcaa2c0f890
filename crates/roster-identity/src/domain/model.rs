//! Identity's records and how they read as protos.
use chrono::{DateTime, Utc};
use roster_kit::clock::to_timestamp;
use roster_proto::identity as pb;

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

    pub(crate) fn to_proto(self) -> pb::UserKind {
        match self {
            Self::Human => pb::UserKind::Human,
            Self::Service => pb::UserKind::Service,
        }
    }
}

/// Stored status (an expired automatic lock is still stored as `Locked`; see [`effective_status`]).
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

    fn to_proto(self) -> pb::UserStatus {
        match self {
            Self::Active => pb::UserStatus::Active,
            Self::Disabled => pb::UserStatus::Disabled,
            Self::Locked => pb::UserStatus::Locked,
        }
    }
}

/// The status in force at `now`: a lock whose period ended no longer holds.
pub(crate) fn effective_status(
    status: Status,
    locked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Status {
    match (status, locked_until) {
        (Status::Locked, Some(until)) if until <= now => Status::Active,
        (status, _) => status,
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
    pub(crate) failed_logins: i32,
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

impl UserRecord {
    pub(crate) fn status_at(&self, now: DateTime<Utc>) -> Status {
        effective_status(self.status, self.locked_until, now)
    }

    pub(crate) fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }

    pub(crate) fn to_proto(&self, now: DateTime<Utc>) -> pb::User {
        let status = self.status_at(now);
        pb::User {
            user_id: self.id.to_string(),
            kind: self.kind.to_proto().into(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            phone: self.phone.clone(),
            description: self.description.clone(),
            platform_role: if self.is_operator {
                pb::PlatformRole::Operator
            } else {
                pb::PlatformRole::User
            }
            .into(),
            status: status.to_proto().into(),
            lock_expire_time: if status == Status::Locked {
                self.locked_until.map(to_timestamp)
            } else {
                None
            },
            has_password: self.password_hash.is_some(),
            password_change_required: self.password_change_required,
            pending_email: self.pending_email.clone().unwrap_or_default(),
            create_time: Some(to_timestamp(self.created_at)),
            update_time: Some(to_timestamp(self.updated_at)),
            etag: self.etag(),
            email_verified: self.email_verified_at.is_some(),
            email_verify_time: self.email_verified_at.map(to_timestamp),
        }
    }
}

impl crate::store::ApiKeyRecord {
    pub(crate) fn to_proto(&self) -> pb::ApiKey {
        pb::ApiKey {
            api_key_id: self.id.to_string(),
            user_id: self.user_id.to_string(),
            display_name: self.display_name.clone(),
            secret_prefix: self.secret_prefix.clone(),
            create_time: Some(to_timestamp(self.created_at)),
            expire_time: self.expires_at.map(to_timestamp),
            revoke_time: self.revoked_at.map(to_timestamp),
        }
    }
}
