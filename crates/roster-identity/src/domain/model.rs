//! Identity's records and how they read as protos.
use chrono::{DateTime, Utc};
use roster_kit::clock::to_timestamp;
use roster_proto::identity as pb;

use crate::store::records::ApiKeyRecord;
pub(crate) use crate::store::records::{Kind, Status, UserRecord};

impl Kind {
    pub(crate) fn to_proto(self) -> pb::UserKind {
        match self {
            Self::Human => pb::UserKind::Human,
            Self::Service => pb::UserKind::Service,
        }
    }
}

impl Status {
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

impl ApiKeyRecord {
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
