//! The invitation schema's rows, as the store reads and writes them.
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What was done to an invitation, as stored; "expired" is derived from the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    Pending,
    Revoked,
    Accepted,
}

impl Stored {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Revoked => "revoked",
            Self::Accepted => "accepted",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "revoked" => Self::Revoked,
            "accepted" => Self::Accepted,
            _ => Self::Pending,
        }
    }
}

/// A row of `invitations` (without its token hash, which never leaves the store).
#[derive(Debug, Clone)]
pub(crate) struct InvitationRecord {
    pub(crate) account_id: Uuid,
    pub(crate) id: Uuid,
    pub(crate) workspace_ids: Vec<Uuid>,
    pub(crate) all_workspaces: bool,
    pub(crate) email: String,
    pub(crate) role_ids: Vec<Uuid>,
    pub(crate) message: String,
    pub(crate) stored: Stored,
    pub(crate) inviter_user_id: Uuid,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) last_sent_at: DateTime<Utc>,
    pub(crate) send_count: i32,
    pub(crate) accepted_user_id: Option<Uuid>,
    pub(crate) accepted_at: Option<DateTime<Utc>>,
    pub(crate) revoked_at: Option<DateTime<Utc>>,
    /// Until when an acceptance in progress holds the invitation.
    pub(crate) claim_until: Option<DateTime<Utc>>,
    /// Whether the accepter registered through this invitation.
    pub(crate) accepted_new_user: Option<bool>,
}
