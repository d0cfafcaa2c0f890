//! The invitation service's rules: who may invite whom where, what each invitation costs
//! in seats, and the acceptance that spans identity, membership and this service. Every
//! mutation runs in one transaction with its audit event and, for sends, its outbox row.
mod accept;
mod invite;
mod manage;
pub(crate) mod model;

pub(crate) use accept::Invitee;
pub(crate) use invite::InviteRequest;
pub(crate) use manage::{Change, ListRequest};

use chrono::{DateTime, Utc};
use roster_kit::audit::{self, AuditListing};
use roster_kit::auth::{Caller, Principal, ServiceToken};
use roster_kit::clock::SharedClock;
use roster_kit::db::Pool;
use roster_kit::remote::{Authenticator, Intercepted, Outgoing, answer, from_status};
use roster_kit::{Error, Result};
use roster_proto::identity as identity_pb;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::invitation as pb;
use roster_proto::membership as membership_pb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use tonic::Code;
use tracing::instrument;
use uuid::Uuid;

use crate::InvitationConfig;
use crate::store;
pub(crate) use crate::store::InvitationQuery;

/// Lets a caller read a workspace's invitations.
const READ: &str = "roster.members.read";
/// Lets a caller send and change a workspace's invitations.
const INVITE: &str = "roster.members.invite";
/// BatchCheckPermission takes up to 100 checks: two per workspace.
const WORKSPACES_PER_CHECK: usize = 50;

/// What a caller needs in every workspace of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// roster.members.read or roster.members.invite.
    Read,
    /// roster.members.invite.
    Invite,
}

/// What a caller who may not see the workspaces is told is missing.
#[derive(Debug, Clone, Copy)]
enum Hidden {
    Account(Uuid),
    /// The workspace the caller may not see.
    Workspace,
    Invitation(Uuid),
}

impl Hidden {
    fn not_found(self, workspace_id: Uuid) -> Error {
        match self {
            Self::Account(id) => Error::not_found("account", id),
            Self::Workspace => Error::not_found("workspace", workspace_id),
            Self::Invitation(id) => Error::not_found("invitation", id),
        }
    }
}

/// The invitation service's domain.
#[derive(Debug)]
pub struct Invitations {
    pool: Pool,
    clock: SharedClock,
    config: InvitationConfig,
    identity: IdentityServiceClient<Intercepted>,
    membership: MembershipServiceClient<Intercepted>,
    authenticator: Authenticator,
}

impl Invitations {
    /// The domain over `pool`, calling identity and membership over their channels with
    /// `service_token`, and resolving an invitee's own session with `authenticator`.
    pub fn new(
        pool: Pool,
        clock: SharedClock,
        config: InvitationConfig,
        identity: tonic::transport::Channel,
        membership: tonic::transport::Channel,
        service_token: &ServiceToken,
        authenticator: Authenticator,
    ) -> Self {
        Self {
            pool,
            clock,
            config,
            authenticator,
            identity: roster_kit::client!(
                IdentityServiceClient,
                identity,
                Outgoing::as_service(service_token)
            ),
            membership: roster_kit::client!(
                MembershipServiceClient,
                membership,
                Outgoing::as_service(service_token)
            ),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// What membership knows of the account, the workspaces and the emails.
    async fn check_invitees(
        &self,
        account_id: Uuid,
        workspace_ids: &[Uuid],
        all_workspaces: bool,
        role_ids: &[Uuid],
        emails: &[String],
    ) -> Result<membership_pb::CheckInviteesResponse> {
        let request = membership_pb::CheckInviteesRequest {
            account_id: account_id.to_string(),
            workspace_ids: if all_workspaces {
                Vec::new()
            } else {
                workspace_ids.iter().map(Uuid::to_string).collect()
            },
            all_workspaces,
            role_ids: role_ids.iter().map(Uuid::to_string).collect(),
            emails: emails.to_vec(),
        };
        answer(
            "membership",
            self.membership.clone().check_invitees(request),
        )
        .await
    }

    /// The workspaces an invitation joins now: its own, or every workspace of the
    /// account for an account-wide one.
    async fn current_workspaces(&self, account_id: Uuid) -> Result<Vec<Uuid>> {
        self.check_invitees(account_id, &[], true, &[], &[])
            .await?
            .workspaces
            .iter()
            .map(|w| roster_kit::auth::parse_id("workspace_id", &w.workspace_id))
            .collect::<Result<_>>()
            .map_err(|e| Error::internal("membership answered a malformed workspace", e))
    }

    /// A user's display name, for emails and the accept page ("" if unknown).
    async fn display_name(&self, user_id: Uuid) -> Result<String> {
        let request = identity_pb::GetUserRequest {
            user_id: user_id.to_string(),
        };
        match self.identity.clone().get_user(request).await {
            Ok(answer) => Ok(answer
                .into_inner()
                .user
                .map(|user| user.display_name)
                .unwrap_or_default()),
            Err(status) if status.code() == Code::NotFound => Ok(String::new()),
            Err(status) => Err(from_status("identity", &status)),
        }
    }

    /// Operators, and callers whose roles grant `need` in every one of `workspace_ids`.
    /// Someone who may not even read them learns nothing: `hidden` is reported missing.
    async fn require<'c>(
        &self,
        caller: &'c Caller,
        workspace_ids: &[Uuid],
        need: Need,
        hidden: Hidden,
    ) -> Result<&'c Principal> {
        let principal = caller.principal()?;
        if principal.is_operator {
            return Ok(principal);
        }
        if principal.is_roster_service || workspace_ids.is_empty() {
            return Err(hidden.not_found(workspace_ids.first().copied().unwrap_or_default()));
        }
        let mut invite_everywhere = true;
        for chunk in workspace_ids.chunks(WORKSPACES_PER_CHECK) {
            let checks = chunk
                .iter()
                .flat_map(|workspace_id| {
                    [READ, INVITE].map(|permission| membership_pb::CheckPermissionRequest {
                        user_id: principal.user_id.to_string(),
                        workspace_id: workspace_id.to_string(),
                        permission: permission.to_owned(),
                    })
                })
                .collect();
            let answer = self
                .membership
                .clone()
                .batch_check_permission(membership_pb::BatchCheckPermissionRequest { checks })
                .await
                .map_err(|status| match status.code() {
                    Code::NotFound | Code::InvalidArgument => hidden.not_found(chunk[0]),
                    _ => from_status("membership", &status),
                })?
                .into_inner();
            if answer.results.len() != 2 * chunk.len() {
                return Err(Error::internal(
                    "membership answered a short batch",
                    answer.results.len(),
                ));
            }
            for (workspace_id, pair) in chunk.iter().zip(answer.results.chunks(2)) {
                let (read, invite) = (&pair[0], &pair[1]);
                if !(read.allowed || invite.allowed) {
                    return Err(hidden.not_found(*workspace_id));
                }
                invite_everywhere &= invite.allowed;
            }
        }
        if need == Need::Invite && !invite_everywhere {
            return Err(Error::permission_denied(format!(
                "this needs {INVITE} in every workspace of the invitation"
            ))
            .with_metadata("permission", INVITE));
        }
        Ok(principal)
    }

    /// The invitation, if the caller may act on it with `need`; one who may not even see
    /// it is told it does not exist.
    async fn visible<'c>(
        &self,
        db: &impl roster_kit::db::GenericClient,
        caller: &'c Caller,
        invitation_id: Uuid,
        need: Need,
    ) -> Result<(model::InvitationRecord, &'c Principal)> {
        let hidden = Hidden::Invitation(invitation_id);
        let invitation = store::get_invitation(db, store::Key::Id(invitation_id), false)
            .await?
            .ok_or_else(|| hidden.not_found(invitation_id))?;
        let principal = self
            .require(caller, &invitation.workspace_ids, need, hidden)
            .await?;
        Ok((invitation, principal))
    }

    /// `need` in every workspace of the account (there must be one), for account-wide
    /// lists.
    async fn require_account(&self, caller: &Caller, account_id: Uuid, need: Need) -> Result<()> {
        if caller.is_operator() {
            return Ok(());
        }
        caller.principal()?;
        let workspaces = match self.current_workspaces(account_id).await {
            Err(e) if e.reason() == Some(roster_proto::types::ErrorReason::NotFound) => {
                return Err(Error::not_found("account", account_id));
            }
            other => other?,
        };
        self.require(caller, &workspaces, need, Hidden::Account(account_id))
            .await
            .map(|_| ())
    }

    /// Lists audit events: operators, or callers who may invite in every workspace of the
    /// account.
    #[instrument(skip_all, name = "invitation.domain.list_audit_events")]
    pub(crate) async fn list_audit_events(
        &self,
        caller: &Caller,
        listing: &AuditListing,
    ) -> Result<pb::ListAuditEventsResponse> {
        let db = self.pool.get().await?;
        let (audit_events, next_page_token) =
            audit::list_for_account(&db, caller, listing, async |account_id| {
                self.require_account(caller, account_id, Need::Invite)
                    .await
                    .map(drop)
            })
            .await?;
        Ok(pb::ListAuditEventsResponse {
            audit_events,
            next_page_token,
        })
    }

    /// How many pending invitations will take a seat in each of `workspace_ids` (Roster
    /// services only: membership's GetSeatUsage).
    #[instrument(skip(self, caller), name = "invitation.domain.count_pending")]
    pub(crate) async fn count_pending(
        &self,
        caller: &Caller,
        account_id: Uuid,
        workspace_ids: &[Uuid],
    ) -> Result<pb::CountPendingInvitationsResponse> {
        if !caller.principal()?.is_roster_service {
            return Err(Error::permission_denied(
                "only Roster's services may ask this",
            ));
        }
        let overlap = store::Overlap {
            account_id,
            workspace_ids,
            all_workspaces: false,
            except: None,
            now: self.now(),
        };
        let counts = store::pending_seats(&self.pool.get().await?, &overlap, workspace_ids).await?;
        Ok(pb::CountPendingInvitationsResponse {
            counts: workspace_ids
                .iter()
                .map(|id| pb::PendingInvitationCount {
                    workspace_id: id.to_string(),
                    pending: counts
                        .get(id)
                        .map_or(0, |n| i32::try_from(*n).unwrap_or(i32::MAX)),
                })
                .collect(),
        })
    }

    /// Deletes invitations that ended more than the retention period ago.
    #[instrument(skip(self), name = "invitation.domain.cleanup")]
    async fn delete_old(&self) -> Result<u64> {
        let retention =
            chrono::Duration::from_std(self.config.retention).unwrap_or(chrono::Duration::MAX);
        let cutoff = self
            .now()
            .checked_sub_signed(retention)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        store::delete_ended(&self.pool.get().await?, cutoff, 1000).await
    }

    /// Deletes old invitations every `cleanup_interval` until `shutdown` completes.
    pub async fn run_cleanup(&self, shutdown: impl std::future::Future<Output = ()>) {
        roster_kit::worker::every(
            self.config.cleanup_interval,
            shutdown,
            "delete old invitations",
            || self.delete_old(),
        )
        .await;
    }
}
