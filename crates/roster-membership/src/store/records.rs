//! Membership's rows, as the store reads and writes them.
use chrono::{DateTime, Utc};
use roster_proto::membership as pb;
use serde_json::Value;
use uuid::Uuid;

/// A row of `accounts`, with its administrators.
#[derive(Debug, Clone)]
pub(crate) struct AccountRecord {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) settings: Settings,
    pub(crate) custom_field_values: Value,
    pub(crate) administrators: Vec<Uuid>,
    /// The most distinct users holding a seat at once; 0 means no allowance.
    pub(crate) seat_allowance: i32,
    /// The distinct users holding a seat now (active or suspended somewhere); 0 when there
    /// is no allowance.
    pub(crate) seats_held: i32,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) version: i64,
}

/// Which workspaces an account's invitations join.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum InvitationScope {
    /// The workspaces each invitation names (seeds 002-004): the default.
    #[default]
    Workspaces,
    /// Every workspace of the account (seed 000).
    Account,
}

impl InvitationScope {
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            Self::Workspaces => "workspaces",
            Self::Account => "account",
        }
    }

    pub(crate) fn from_db(value: &str) -> Self {
        if value == "account" {
            Self::Account
        } else {
            Self::Workspaces
        }
    }
}

/// An account's settings (durations in whole seconds, as stored).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Settings {
    pub(crate) invitation_lifetime_secs: i64,
    pub(crate) allowed_email_domains: Vec<String>,
    pub(crate) impersonation_window_secs: i64,
    pub(crate) restore_window_secs: i64,
    pub(crate) self_service_password_reset: bool,
    pub(crate) invitation_scope: InvitationScope,
}

const DAY: i64 = 24 * 3600;

impl Default for Settings {
    fn default() -> Self {
        Self {
            invitation_lifetime_secs: 7 * DAY,
            allowed_email_domains: Vec::new(),
            impersonation_window_secs: 7 * DAY,
            restore_window_secs: 14 * DAY,
            self_service_password_reset: true,
            invitation_scope: InvitationScope::Workspaces,
        }
    }
}

/// A row of `workspaces`.
#[derive(Debug, Clone)]
pub(crate) struct WorkspaceRecord {
    pub(crate) account_id: Uuid,
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) seat_limit: i32,
    pub(crate) seats_used: i32,
    pub(crate) default_role_id: Uuid,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) version: i64,
}

/// Which built-in role a role is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuiltIn {
    Admin,
    Member,
}

impl BuiltIn {
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    pub(crate) fn from_db(value: Option<&str>) -> Option<Self> {
        match value {
            Some("admin") => Some(Self::Admin),
            Some("member") => Some(Self::Member),
            _ => None,
        }
    }
}

/// A row of `roles`.
#[derive(Debug, Clone)]
pub(crate) struct RoleRecord {
    pub(crate) account_id: Uuid,
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) permissions: Vec<String>,
    pub(crate) built_in: Option<BuiltIn>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

/// A member's status in one workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) enum MemberStatus {
    Active,
    Suspended,
    Removed,
}

impl MemberStatus {
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Removed => "removed",
        }
    }

    pub(crate) fn from_db(value: &str) -> Self {
        match value {
            "suspended" => Self::Suspended,
            "removed" => Self::Removed,
            _ => Self::Active,
        }
    }
}

/// A row of `members` with its user's identity status and custom field values.
#[derive(Debug, Clone)]
pub(crate) struct MemberRecord {
    pub(crate) account_id: Uuid,
    pub(crate) workspace_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) status: MemberStatus,
    pub(crate) status_before_removal: Option<MemberStatus>,
    pub(crate) role_ids: Vec<Uuid>,
    pub(crate) kind: String,
    pub(crate) email: String,
    pub(crate) display_name: String,
    pub(crate) identity_status: String,
    pub(crate) locked_until: Option<DateTime<Utc>>,
    /// When identity says the user's email was proven.
    pub(crate) email_verified_at: Option<DateTime<Utc>>,
    pub(crate) joined_at: DateTime<Utc>,
    pub(crate) suspended_at: Option<DateTime<Utc>>,
    pub(crate) removed_at: Option<DateTime<Utc>>,
    pub(crate) purge_after: Option<DateTime<Utc>>,
    pub(crate) transfer_to_user_id: Option<Uuid>,
    pub(crate) custom_field_values: Value,
    pub(crate) updated_at: DateTime<Utc>,
}

/// A row of `custom_fields`.
#[derive(Debug, Clone)]
pub(crate) struct CustomFieldRecord {
    pub(crate) account_id: Uuid,
    pub(crate) key: String,
    pub(crate) label: String,
    pub(crate) field_type: pb::CustomFieldType,
    pub(crate) options: Vec<String>,
    pub(crate) target: pb::CustomFieldTarget,
    pub(crate) required: bool,
    pub(crate) created_at: DateTime<Utc>,
}

/// One of a user's workspace memberships, or an account they administer without being a
/// member of it (then without workspace, status and roles).
#[derive(Debug, Clone)]
pub(crate) struct UserMembershipRecord {
    pub(crate) account_id: Uuid,
    pub(crate) account_name: String,
    pub(crate) workspace_id: Option<Uuid>,
    pub(crate) workspace_name: Option<String>,
    pub(crate) status: Option<MemberStatus>,
    pub(crate) role_ids: Vec<Uuid>,
    pub(crate) account_administrator: bool,
}

/// A row of `custodians`.
#[derive(Debug, Clone)]
pub(crate) struct CustodianRecord {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) description: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

/// Where a removal stands (`removals.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RemovalState {
    Removed,
    Restored,
    Purging,
    Purged,
}

impl RemovalState {
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            Self::Removed => "removed",
            Self::Restored => "restored",
            Self::Purging => "purging",
            Self::Purged => "purged",
        }
    }

    pub(crate) fn from_db(value: &str) -> Self {
        match value {
            "restored" => Self::Restored,
            "purging" => Self::Purging,
            "purged" => Self::Purged,
            _ => Self::Removed,
        }
    }
}

/// A row of `removals`, with its steps.
#[derive(Debug, Clone)]
pub(crate) struct RemovalRecord {
    pub(crate) account_id: Uuid,
    pub(crate) id: Uuid,
    pub(crate) workspace_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) receiver_user_id: Option<Uuid>,
    pub(crate) removed_by_user_id: Option<Uuid>,
    pub(crate) state: RemovalState,
    pub(crate) purge_after: DateTime<Utc>,
    pub(crate) summary_sent: bool,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) steps: Vec<StepRecord>,
}

/// What a removal step asks of its custodian (`removal_steps.verb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepVerb {
    Transfer,
    Delete,
}

impl StepVerb {
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
            Self::Delete => "delete",
        }
    }

    pub(crate) fn from_db(value: &str) -> Self {
        if value == "delete" {
            Self::Delete
        } else {
            Self::Transfer
        }
    }
}

/// The removal saga's queue at one moment: unfinished steps of open removals by state, and
/// when the one due the longest came due.
#[derive(Debug, Clone)]
pub(crate) struct RemovalQueueRecord {
    pub(crate) steps: Vec<(StepState, i64)>,
    pub(crate) first_due: Option<DateTime<Utc>>,
}

/// Where a removal step stands (`removal_steps.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepState {
    Pending,
    Running,
    Succeeded,
    Failed,
    NeedsAction,
    Cancelled,
}

impl StepState {
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::NeedsAction => "needs_action",
            Self::Cancelled => "cancelled",
        }
    }

    pub(crate) fn from_db(value: &str) -> Self {
        match value {
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "needs_action" => Self::NeedsAction,
            "cancelled" => Self::Cancelled,
            _ => Self::Pending,
        }
    }

    /// Whether the worker still calls the custodian for it.
    pub(crate) fn is_due_kind(self) -> bool {
        matches!(self, Self::Pending | Self::Running | Self::Failed)
    }
}

/// How many assets of a kind (`removal_steps.completed` entries).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AssetTally {
    pub(crate) kind: String,
    pub(crate) count: i64,
}

/// An asset a custodian could not move or delete (`removal_steps.failures` entries).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ItemFailureRecord {
    pub(crate) kind: String,
    pub(crate) asset_id: String,
    pub(crate) message: String,
}

/// A row of `removal_steps`.
#[derive(Debug, Clone)]
pub(crate) struct StepRecord {
    pub(crate) account_id: Uuid,
    pub(crate) removal_id: Uuid,
    pub(crate) custodian_id: Uuid,
    pub(crate) custodian_name: String,
    pub(crate) verb: StepVerb,
    pub(crate) state: StepState,
    pub(crate) operation_id: Uuid,
    pub(crate) attempts: i32,
    pub(crate) last_error: String,
    pub(crate) next_attempt_at: DateTime<Utc>,
    /// Set while a worker holds the step (until next_attempt_at).
    pub(crate) lease_token: Option<Uuid>,
    pub(crate) done: i64,
    pub(crate) total: i64,
    pub(crate) completed: Vec<AssetTally>,
    pub(crate) failures: Vec<ItemFailureRecord>,
    pub(crate) failed_count: i64,
    pub(crate) updated_at: DateTime<Utc>,
}

/// A step a worker claimed, with what its call needs.
#[derive(Debug, Clone)]
pub(crate) struct ClaimedStep {
    pub(crate) step: StepRecord,
    pub(crate) workspace_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) receiver_user_id: Option<Uuid>,
    /// The custodian's URL now (it may have changed since the step was made).
    pub(crate) url: String,
}
