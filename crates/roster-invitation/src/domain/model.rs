//! Invitation records and how they read as protos.
use chrono::{DateTime, Utc};
use roster_kit::clock::to_timestamp;
use roster_proto::invitation as pb;
use uuid::Uuid;

pub(crate) use crate::store::records::{InvitationRecord, Stored};

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
