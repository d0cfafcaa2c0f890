//! Invitation records and how they read as protos.
use chrono::{DateTime, Utc};
use roster_kit::clock::to_timestamp;
use roster_proto::invitation as pb;
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
}

impl InvitationRecord {
    /// Its state at `now`.
    pub(crate) fn state(&self, now: DateTime<Utc>) -> pb::InvitationState {
        match self.stored {
            Stored::Accepted => pb::InvitationState::Accepted,
            Stored::Revoked => pb::InvitationState::Revoked,
            Stored::Pending if self.expires_at <= now => pb::InvitationState::Expired,
            Stored::Pending => pb::InvitationState::Pending,
        }
    }

    pub(crate) fn to_proto(&self, now: DateTime<Utc>) -> pb::Invitation {
        pb::Invitation {
            invitation_id: self.id.to_string(),
            account_id: self.account_id.to_string(),
            workspace_ids: self.workspace_ids.iter().map(Uuid::to_string).collect(),
            all_workspaces: self.all_workspaces,
            email: self.email.clone(),
            role_ids: self.role_ids.iter().map(Uuid::to_string).collect(),
            message: self.message.clone(),
            state: self.state(now).into(),
            inviter_user_id: self.inviter_user_id.to_string(),
            create_time: Some(to_timestamp(self.created_at)),
            expire_time: Some(to_timestamp(self.expires_at)),
            last_send_time: Some(to_timestamp(self.last_sent_at)),
            send_count: self.send_count,
            accepted_user_id: self
                .accepted_user_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            accept_time: self.accepted_at.map(to_timestamp),
            revoke_time: self.revoked_at.map(to_timestamp),
        }
    }
}
