//! What the invitation service checks before inviting people: the account, the
//! workspaces with their seats, and who among the invitees is already there.
use roster_kit::auth::Caller;
use roster_kit::{Error, Result};
use roster_proto::membership as pb;
use roster_proto::types::ErrorReason;
use tracing::instrument;
use uuid::Uuid;

use super::Membership;
use crate::domain::model::MemberStatus;
use crate::store;

impl Membership {
    /// Describes the account and the workspaces invited to (`None`: all of them, by
    /// name), and every (email, workspace) pair an invitation cannot go to (Roster
    /// services).
    #[instrument(
        skip(self, caller, role_ids, emails),
        name = "membership.domain.check_invitees"
    )]
    pub(crate) async fn check_invitees(
        &self,
        caller: &Caller,
        account_id: Uuid,
        workspace_ids: Option<Vec<Uuid>>,
        role_ids: Vec<Uuid>,
        emails: &[String],
    ) -> Result<pb::CheckInviteesResponse> {
        if !caller.principal()?.is_roster_service {
            return Err(Error::permission_denied(
                "only Roster's services may ask this",
            ));
        }
        let db = self.pool.get().await?;
        let account = self.account(&db, account_id, false).await?;
        let workspaces =
            store::workspaces_by_name(&db, account_id, workspace_ids.as_deref()).await?;
        if let Some(missing) = workspace_ids
            .iter()
            .flatten()
            .find(|id| !workspaces.iter().any(|w| w.id == **id))
        {
            return Err(Error::not_found("workspace", missing));
        }
        if let Some(foreign) = self.foreign_role(&db, account_id, &role_ids).await? {
            return Err(Error::not_found("role", foreign));
        }
        let (holders, seated_emails) = if emails.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let ids: Vec<Uuid> = workspaces.iter().map(|w| w.id).collect();
            // One conflict per (email, workspace), however often an email is sent.
            let mut emails = emails.to_vec();
            emails.sort_unstable();
            emails.dedup();
            let holders = store::email_holders(&db, account_id, &ids, &emails).await?;
            let seated = if account.seat_allowance > 0 {
                store::seated_emails(&db, account_id, &emails).await?
            } else {
                Vec::new()
            };
            (holders, seated)
        };
        Ok(pb::CheckInviteesResponse {
            account_name: account.name,
            settings: Some(account.settings.to_proto()),
            workspaces: workspaces
                .iter()
                .map(|w| pb::InviteeWorkspace {
                    workspace_id: w.id.to_string(),
                    name: w.name.clone(),
                    seat_usage: Some(w.seat_usage()),
                })
                .collect(),
            conflicts: holders
                .into_iter()
                .map(|holder| pb::InviteeConflict {
                    reason: if holder.status == MemberStatus::Removed {
                        ErrorReason::RecentlyRemoved
                    } else {
                        ErrorReason::AlreadyMember
                    }
                    .into(),
                    email: holder.email,
                    workspace_id: holder.workspace_id.to_string(),
                    user_id: holder.user_id.to_string(),
                })
                .collect(),
            seat_allowance: account.seat_allowance,
            seat_allowance_used: account.seats_held,
            seated_emails,
        })
    }
}
