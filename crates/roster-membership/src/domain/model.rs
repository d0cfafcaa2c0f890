//! Membership's records and how they read as protos.
use chrono::{DateTime, Utc};
use roster_kit::clock::to_timestamp;
use roster_kit::protobuf::json_to_map;
use roster_proto::membership as pb;
use uuid::Uuid;

pub(crate) use crate::store::records::{
    AccountRecord, AssetTally, BuiltIn, ClaimedStep, CustodianRecord, CustomFieldRecord,
    InvitationScope, ItemFailureRecord, MemberRecord, MemberStatus, RemovalRecord, RemovalState,
    RoleRecord, Settings, StepRecord, StepState, StepVerb, WorkspaceRecord,
};
use roster_proto::custodian as custodian_pb;

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

    /// Whether one more member fits beside `held` seats held for others.
    pub(crate) fn has_free_seat(&self, held: i32) -> bool {
        self.seat_limit == 0 || self.seats_used + held < self.seat_limit
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
            held: 0,
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

impl CustodianRecord {
    pub(crate) fn to_proto(&self) -> pb::Custodian {
        pb::Custodian {
            custodian_id: self.id.to_string(),
            name: self.name.clone(),
            url: self.url.clone(),
            description: self.description.clone(),
            create_time: Some(to_timestamp(self.created_at)),
            update_time: Some(to_timestamp(self.updated_at)),
        }
    }
}

/// What Roster keeps of a custodian's words: custodians are other teams' services, so
/// everything they answer is bounded before it is stored or shown.
pub(crate) const MAX_KINDS: usize = 100;
const MAX_KIND_CHARS: usize = 64;
const MAX_ASSET_ID_CHARS: usize = 128;
/// Also the longest error text kept on a step.
pub(crate) const MAX_MESSAGE_CHARS: usize = 500;

/// `text`'s first `chars` characters.
pub(crate) fn clipped(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

impl AssetTally {
    pub(crate) fn from_proto(count: &custodian_pb::AssetCount) -> Self {
        Self {
            kind: clipped(&count.kind, MAX_KIND_CHARS),
            count: count.count,
        }
    }

    fn to_proto(&self) -> custodian_pb::AssetCount {
        custodian_pb::AssetCount {
            kind: self.kind.clone(),
            count: self.count,
        }
    }
}

impl ItemFailureRecord {
    pub(crate) fn from_proto(failure: &custodian_pb::ItemFailure) -> Self {
        Self {
            kind: clipped(&failure.kind, MAX_KIND_CHARS),
            asset_id: clipped(&failure.asset_id, MAX_ASSET_ID_CHARS),
            message: clipped(&failure.message, MAX_MESSAGE_CHARS),
        }
    }

    fn to_proto(&self) -> custodian_pb::ItemFailure {
        custodian_pb::ItemFailure {
            kind: self.kind.clone(),
            asset_id: self.asset_id.clone(),
            message: self.message.clone(),
        }
    }
}

/// A custodian's `DescribeAssets` answer, bounded as what a step keeps.
pub(crate) fn bounded_description(
    described: custodian_pb::DescribeAssetsResponse,
) -> (Vec<custodian_pb::AssetCount>, Vec<custodian_pb::Blocker>) {
    let assets = described
        .assets
        .iter()
        .take(MAX_KINDS)
        .map(|count| AssetTally::from_proto(count).to_proto())
        .collect();
    let blockers = described
        .blockers
        .into_iter()
        .take(MAX_KINDS)
        .map(|blocker| custodian_pb::Blocker {
            kind: clipped(&blocker.kind, MAX_KIND_CHARS),
            code: clipped(&blocker.code, MAX_KIND_CHARS),
            message: clipped(&blocker.message, MAX_MESSAGE_CHARS),
            count: blocker.count,
        })
        .collect();
    (assets, blockers)
}

impl StepVerb {
    fn to_proto(self) -> pb::RemovalStepVerb {
        match self {
            Self::Transfer => pb::RemovalStepVerb::Transfer,
            Self::Delete => pb::RemovalStepVerb::Delete,
        }
    }
}

impl StepState {
    fn to_proto(self) -> pb::RemovalStepState {
        match self {
            Self::Pending => pb::RemovalStepState::Pending,
            Self::Running => pb::RemovalStepState::Running,
            Self::Succeeded => pb::RemovalStepState::Succeeded,
            Self::Failed => pb::RemovalStepState::Failed,
            Self::NeedsAction => pb::RemovalStepState::NeedsAction,
            Self::Cancelled => pb::RemovalStepState::Cancelled,
        }
    }

    /// Whether the worker is done with it (until an administrator retries it).
    pub(crate) fn is_final(self) -> bool {
        !self.is_due_kind()
    }
}

impl StepRecord {
    fn to_proto(&self) -> pb::RemovalStep {
        pb::RemovalStep {
            custodian_id: self.custodian_id.to_string(),
            custodian_name: self.custodian_name.clone(),
            verb: self.verb.to_proto().into(),
            state: self.state.to_proto().into(),
            operation_id: self.operation_id.to_string(),
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            next_attempt_time: self
                .state
                .is_due_kind()
                .then(|| to_timestamp(self.next_attempt_at)),
            done: self.done,
            total: self.total,
            completed: self.completed.iter().map(AssetTally::to_proto).collect(),
            failures: self
                .failures
                .iter()
                .map(ItemFailureRecord::to_proto)
                .collect(),
            failed_count: self.failed_count,
            update_time: Some(to_timestamp(self.updated_at)),
        }
    }
}

impl RemovalState {
    fn to_proto(self) -> pb::RemovalState {
        match self {
            Self::Removed => pb::RemovalState::Removed,
            Self::Restored => pb::RemovalState::Restored,
            Self::Purging => pb::RemovalState::Purging,
            Self::Purged => pb::RemovalState::Purged,
        }
    }
}

impl RemovalRecord {
    /// Whether a step waits for an administrator.
    pub(crate) fn needs_action(&self) -> bool {
        self.steps.iter().any(|s| s.state == StepState::NeedsAction)
    }

    /// Whether every step of `verb` is one the worker is done with.
    pub(crate) fn settled(&self, verb: StepVerb) -> bool {
        self.steps
            .iter()
            .filter(|s| s.verb == verb)
            .all(|s| s.state.is_final())
    }

    pub(crate) fn to_proto(&self) -> pb::Removal {
        pb::Removal {
            removal_id: self.id.to_string(),
            account_id: self.account_id.to_string(),
            workspace_id: self.workspace_id.to_string(),
            user_id: self.user_id.to_string(),
            receiver_user_id: self
                .receiver_user_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            removed_by_user_id: self
                .removed_by_user_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            state: self.state.to_proto().into(),
            needs_action: self.needs_action(),
            steps: self.steps.iter().map(StepRecord::to_proto).collect(),
            create_time: Some(to_timestamp(self.created_at)),
            purge_time: Some(to_timestamp(self.purge_after)),
            finish_time: self.finished_at.map(to_timestamp),
        }
    }
}
