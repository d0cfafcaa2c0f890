//! Reading and changing invitations: the Invites tab, revoke, and role changes.
use chrono::{DateTime, Utc};
use roster_kit::audit::{self, AuditRecord, Changes};
use roster_kit::auth::Caller;
use roster_kit::paging::{self, PageSize};
use roster_kit::requests::{self, Replay};
use roster_kit::{Error, Result};
use roster_proto::invitation as pb;
use roster_proto::types::ErrorReason;
use tracing::instrument;
use uuid::Uuid;

use super::model::{InvitationRecord, Stored};
use super::{Hidden, Invitations, Need};
use crate::store::{self, InvitationQuery, Key};

/// Refuses invitations that were accepted or revoked and, with `live`, expired ones.
pub(crate) fn require_open(
    invitation: &InvitationRecord,
    now: DateTime<Utc>,
    live: bool,
) -> Result<()> {
    match invitation.state(now) {
        pb::InvitationState::Accepted => Err(Error::refused(
            ErrorReason::InvitationAlreadyAccepted,
            "this invitation has been accepted already",
        )),
        pb::InvitationState::Revoked => Err(Error::refused(
            ErrorReason::InvitationRevoked,
            "this invitation was revoked",
        )),
        pb::InvitationState::Expired if live => Err(Error::refused(
            ErrorReason::InvitationExpired,
            "this invitation has expired; it can be resent",
        )
        .with_metadata("expire_time", invitation.expires_at.to_rfc3339())),
        _ => Ok(()),
    }
}

/// The refusal for a use of an invitation while an acceptance holds it, until `until` at
/// the latest.
pub(crate) fn being_accepted(until: DateTime<Utc>, now: DateTime<Utc>) -> Error {
    let wait = (until - now).num_seconds().max(1);
    Error::refused(
        ErrorReason::ConcurrentModification,
        "this invitation is being accepted right now; try again in a moment",
    )
    .with_metadata("retry_after_seconds", wait.to_string())
}

/// Refuses changes to an invitation an acceptance holds at `now`: the acceptance goes on
/// with what it read when it claimed the invitation.
pub(crate) fn require_unclaimed(invitation: &InvitationRecord, now: DateTime<Utc>) -> Result<()> {
    match invitation.claim_until {
        Some(until) if until > now => Err(being_accepted(until, now)),
        _ => Ok(()),
    }
}

/// A list request, shape-checked.
#[derive(Debug, Clone)]
pub(crate) struct ListRequest {
    pub(crate) query: InvitationQuery,
    pub(crate) page_size: i32,
    pub(crate) page_token: String,
}

/// A change an administrator makes to one invitation.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Revoke,
    SetRoles(Vec<Uuid>),
}

impl Invitations {
    /// Reads an invitation (roster.members.read in its workspaces).
    #[instrument(skip_all, name = "invitation.domain.get")]
    pub(crate) async fn get(&self, caller: &Caller, invitation_id: Uuid) -> Result<pb::Invitation> {
        let db = self.pool.get().await?;
        let (invitation, _) = self.visible(&db, caller, invitation_id, Need::Read).await?;
        Ok(invitation.to_proto(self.now()))
    }

    /// A page of an account's or a workspace's invitations.
    #[instrument(skip_all, name = "invitation.domain.list")]
    pub(crate) async fn list(
        &self,
        caller: &Caller,
        request: ListRequest,
    ) -> Result<pb::ListInvitationsResponse> {
        let query = &request.query;
        match query.workspace_id {
            Some(workspace_id) => {
                self.require(caller, &[workspace_id], Need::Read, Hidden::Workspace)
                    .await?;
            }
            None => {
                self.require_account(caller, query.account_id, Need::Read)
                    .await?;
            }
        }
        let limit = PageSize::LIST.resolve(request.page_size)?;
        let after: Option<Uuid> = paging::decode(query, &request.page_token)?;
        let now = self.now();
        let rows = store::list_invitations(
            &self.pool.get().await?,
            query,
            now,
            after,
            i64::from(limit) + 1,
        )
        .await?;
        let (rows, next_page_token) = paging::finish_page(rows, limit, query, |i| i.id);
        Ok(pb::ListInvitationsResponse {
            invitations: rows.iter().map(|i| i.to_proto(now)).collect(),
            next_page_token,
        })
    }

    /// Revokes an invitation or changes its roles (roster.members.invite).
    #[instrument(skip(self, caller), name = "invitation.domain.change")]
    pub(crate) async fn change(
        &self,
        caller: &Caller,
        invitation_id: Uuid,
        change: Change,
    ) -> Result<pb::Invitation> {
        let hidden = Hidden::Invitation(invitation_id);
        let mut db = self.pool.get().await?;
        let (found, _) = self
            .visible(&db, caller, invitation_id, Need::Invite)
            .await?;
        if let Change::SetRoles(role_ids) = &change {
            // Membership says whether the roles belong to the account.
            self.check_invitees(found.account_id, &found.workspace_ids, false, role_ids, &[])
                .await?;
        }
        let now = self.now();
        let rpc = match change {
            Change::Revoke => "RevokeInvitation",
            Change::SetRoles(_) => "UpdateInvitation",
        };
        let tx = db.transaction().await?;
        if let Replay::Done(answer) =
            requests::begin::<pb::UpdateInvitationResponse>(&tx, caller, rpc, now).await?
        {
            return answer
                .invitation
                .ok_or_else(|| hidden.not_found(invitation_id));
        }
        let mut invitation = store::get_invitation(&tx, Key::Id(invitation_id), true)
            .await?
            .ok_or_else(|| hidden.not_found(invitation_id))?;
        require_unclaimed(&invitation, now)?;
        let (action, changes) = match change {
            Change::Revoke => {
                require_open(&invitation, now, true)?;
                invitation.stored = Stored::Revoked;
                invitation.revoked_at = Some(now);
                (
                    "invitation.invitation.revoke",
                    Changes::new().field("state", "pending", "revoked"),
                )
            }
            Change::SetRoles(role_ids) => {
                require_open(&invitation, now, false)?;
                let before = std::mem::replace(&mut invitation.role_ids, role_ids);
                (
                    "invitation.invitation.update",
                    Changes::new().field("role_ids", before, &invitation.role_ids),
                )
            }
        };
        store::update_invitation(&tx, &invitation).await?;
        audit::record(
            &tx,
            caller,
            now,
            AuditRecord {
                action,
                target_type: "invitation",
                target_id: invitation.id.to_string(),
                account_id: Some(invitation.account_id),
                changes,
            },
        )
        .await?;
        let proto = invitation.to_proto(now);
        // Revoke and update answer the same shape: the invitation.
        let answer = pb::UpdateInvitationResponse {
            invitation: Some(proto.clone()),
        };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(proto)
    }
}
