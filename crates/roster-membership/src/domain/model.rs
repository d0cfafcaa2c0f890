//! Membership's records and how they read as protos.
use chrono::{DateTime, Utc};
use roster_kit::clock::to_timestamp;
use roster_kit::protobuf::json_to_map;
use roster_proto::membership as pb;
use uuid::Uuid;

pub(crate) use crate::store::records::{
    AccountRecord, BuiltIn, CustomFieldRecord, InvitationScope, MemberRecord, MemberStatus,
    RoleRecord, Settings, WorkspaceRecord,
};

impl InvitationScope {
    /// Unspecified means the default.
    pub(crate) fn from_proto(value: pb::InvitationScope) -> Self {
        match value {
            pb::InvitationScope::Account => Self::Account,
            pb::InvitationScope::Workspaces | pb::InvitationScope::Unspecified => Self::Workspaces,
        }
    }

    fn to_proto(self) -> pb::InvitationScope {
        match self {
            Self::Workspaces => pb::InvitationScope::Workspaces,
            Self::Account => pb::InvitationScope::Account,
        }
    }
}

impl Settings {
    pub(crate) fn to_proto(&self) -> pb::AccountSettings {
        pb::AccountSettings {
            invitation_lifetime: Some(duration(self.invitation_lifetime_secs)),
            allowed_email_domains: self.allowed_email_domains.clone(),
            impersonation_window: Some(duration(self.impersonation_window_secs)),
            restore_window: Some(duration(self.restore_window_secs)),
            self_service_password_reset: self.self_service_password_reset,
            invitation_scope: self.invitation_scope.to_proto().into(),
        }
    }
}

fn duration(secs: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: secs,
        nanos: 0,
    }
}

fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

impl AccountRecord {
    pub(crate) fn etag(&self) -> String {
        etag(self.version)
    }

    pub(crate) fn to_proto(&self) -> pb::Account {
        pb::Account {
            account_id: self.id.to_string(),
            name: self.name.clone(),
            settings: Some(self.settings.to_proto()),
            administrator_user_ids: self.administrators.iter().map(Uuid::to_string).collect(),
            custom_field_values: json_to_map(self.custom_field_values.clone()),
            create_time: Some(to_timestamp(self.created_at)),
            update_time: Some(to_timestamp(self.updated_at)),
            etag: self.etag(),
            seat_allowance: self.seat_allowance,
            seat_allowance_used: self.seats_held,
        }
    }
}

impl WorkspaceRecord {
    pub(crate) fn etag(&self) -> String {
        etag(self.version)
    }

    /// Whether one more member fits.
    pub(crate) fn has_free_seat(&self) -> bool {
        self.seat_limit == 0 || self.seats_used < self.seat_limit
    }

    pub(crate) fn to_proto(&self) -> pb::Workspace {
        pb::Workspace {
            workspace_id: self.id.to_string(),
            account_id: self.account_id.to_string(),
            name: self.name.clone(),
            seat_limit: self.seat_limit,
            default_role_id: self.default_role_id.to_string(),
            create_time: Some(to_timestamp(self.created_at)),
            update_time: Some(to_timestamp(self.updated_at)),
            etag: self.etag(),
        }
    }

    pub(crate) fn seat_usage(&self) -> pb::SeatUsage {
        pb::SeatUsage {
            workspace_id: self.id.to_string(),
            used: self.seats_used,
            limit: self.seat_limit,
            available: if self.seat_limit == 0 {
                -1
            } else {
                (self.seat_limit - self.seats_used).max(0)
            },
            pending_invitations: 0,
            invitable: 0,
        }
    }
}

impl RoleRecord {
    pub(crate) fn to_proto(&self) -> pb::Role {
        pb::Role {
            role_id: self.id.to_string(),
            account_id: self.account_id.to_string(),
            name: self.name.clone(),
            description: self.description.clone(),
            permissions: self.permissions.clone(),
            built_in: self.built_in.is_some(),
            create_time: Some(to_timestamp(self.created_at)),
            update_time: Some(to_timestamp(self.updated_at)),
        }
    }
}

impl MemberStatus {
    pub(crate) fn from_proto(value: pb::MemberStatus) -> Option<Self> {
        match value {
            pb::MemberStatus::Active => Some(Self::Active),
            pb::MemberStatus::Suspended => Some(Self::Suspended),
            pb::MemberStatus::Removed => Some(Self::Removed),
            pb::MemberStatus::Unspecified => None,
        }
    }

    pub(crate) fn to_proto(self) -> pb::MemberStatus {
        match self {
            Self::Active => pb::MemberStatus::Active,
            Self::Suspended => pb::MemberStatus::Suspended,
            Self::Removed => pb::MemberStatus::Removed,
        }
    }
}

/// A user's platform-wide status as identity's feed reported it, in force at a time.
pub(crate) fn identity_status(
    status: &str,
    locked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> pb::IdentityStatus {
    match status {
        "disabled" => pb::IdentityStatus::Disabled,
        "locked" if locked_until.is_none_or(|until| until > now) => pb::IdentityStatus::Locked,
        _ => pb::IdentityStatus::Active,
    }
}

impl MemberRecord {
    pub(crate) fn to_proto(&self, now: DateTime<Utc>) -> pb::Member {
        pb::Member {
            workspace_id: self.workspace_id.to_string(),
            account_id: self.account_id.to_string(),
            user_id: self.user_id.to_string(),
            kind: if self.kind == "service" {
                pb::MemberKind::Service
            } else {
                pb::MemberKind::Human
            }
            .into(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            identity_status: identity_status(&self.identity_status, self.locked_until, now).into(),
            status: self.status.to_proto().into(),
            role_ids: self.role_ids.iter().map(Uuid::to_string).collect(),
            join_time: Some(to_timestamp(self.joined_at)),
            suspend_time: self.suspended_at.map(to_timestamp),
            remove_time: self.removed_at.map(to_timestamp),
            purge_time: self.purge_after.map(to_timestamp),
            transfer_to_user_id: self
                .transfer_to_user_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            custom_field_values: json_to_map(self.custom_field_values.clone()),
            update_time: Some(to_timestamp(self.updated_at)),
            email_verified: self.email_verified_at.is_some(),
            email_verify_time: self.email_verified_at.map(to_timestamp),
        }
    }
}

impl CustomFieldRecord {
    pub(crate) fn to_proto(&self) -> pb::CustomField {
        pb::CustomField {
            account_id: self.account_id.to_string(),
            key: self.key.clone(),
            label: self.label.clone(),
            r#type: self.field_type.into(),
            options: self.options.clone(),
            target: self.target.into(),
            required: self.required,
            create_time: Some(to_timestamp(self.created_at)),
        }
    }
}
