//! Membership's rules: who may do what in which account and workspace, and what each
//! action changes. Every mutation runs in one transaction with its audit event; those
//! that change what access checks answer also notify every replica's cache.
mod access;
pub(crate) mod accounts;
pub(crate) mod custodians;
mod feed;
mod fields;
mod holds;
mod invitees;
mod members;
pub(crate) mod model;
mod removals;
pub(crate) mod roles;
pub(crate) mod workspaces;

pub(crate) use access::{Decision, PERMISSIONS};
pub(crate) use holds::SeatHold;
pub(crate) use members::MemberChange;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use roster_kit::audit::{self};
use roster_kit::auth::{Caller, Principal, ServiceToken};
use roster_kit::changes::UserWatch;
use roster_kit::clock::SharedClock;
use roster_kit::db::{GenericClient, Pool};
use roster_kit::remote::{Intercepted, Outgoing, answer, from_status};
use roster_kit::{Error, Result};
use roster_proto::identity as identity_pb;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::invitation as invitation_pb;
use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_proto::membership as pb;
use roster_proto::types::ErrorReason;
use tonic::Code;
use uuid::Uuid;

use self::access::AccessCache;
use self::model::{AccountRecord, WorkspaceRecord};
use crate::MembershipConfig;
use crate::store::{self};
pub(crate) use crate::store::{MemberOrder, MemberQuery};
use tracing::instrument;

/// The membership service's domain.
#[derive(Debug)]
pub struct Membership {
    pool: Pool,
    clock: SharedClock,
    config: MembershipConfig,
    identity: IdentityServiceClient<Intercepted>,
    /// The invitation service, for the pending invitations GetSeatUsage shows; `None`
    /// where the deployment runs none.
    invitation: Option<InvitationServiceClient<Intercepted>>,
    service_token: ServiceToken,
    cache: AccessCache,
    /// The process's watch of identity's feed: while it holds a lease, the copy of users
    /// and the cache may answer.
    watch: Arc<UserWatch>,
    channels: removals::CustodianChannels,
    /// Where the change listener connects (the pool's database).
    database_url: String,
}

fn chrono_secs(secs: i64) -> chrono::Duration {
    chrono::Duration::try_seconds(secs).unwrap_or(chrono::Duration::MAX)
}

fn etag_mismatch(current: String) -> Error {
    Error::refused(
        ErrorReason::EtagMismatch,
        "the resource changed since it was read; re-read it",
    )
    .with_metadata("etag", current)
}

fn invalid_state(message: impl Into<String>) -> Error {
    Error::refused(ErrorReason::InvalidState, message)
}

fn seat_limit_reached(workspace: &WorkspaceRecord) -> Error {
    Error::refused(
        ErrorReason::SeatLimitReached,
        format!(
            "workspace {} uses all {} of its seats",
            workspace.name, workspace.seat_limit
        ),
    )
    .with_metadata("scope", "workspace")
    .with_metadata("workspace_id", workspace.id.to_string())
    .with_metadata("seat_limit", workspace.seat_limit.to_string())
}

fn seat_allowance_reached(account_id: Uuid, allowance: i32) -> Error {
    Error::refused(
        ErrorReason::SeatLimitReached,
        format!(
            "the account's seat allowance of {allowance} users is taken: nobody new may join until someone leaves or an operator raises it"
        ),
    )
    .with_metadata("scope", "account")
    .with_metadata("account_id", account_id.to_string())
    .with_metadata("seat_allowance", allowance.to_string())
}

/// The seats held for others in `workspace_id`, of what [`store::held_seats`] counted.
fn held_in(held: &HashMap<Uuid, i32>, workspace_id: Uuid) -> i32 {
    held.get(&workspace_id).copied().unwrap_or(0)
}

/// A required name: trimmed, 1 to 200 characters.
fn required_name(field: &str, raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if name.chars().count() > 200 {
        return Err(Error::invalid(field, "is longer than 200 characters"));
    }
    Ok(name.to_owned())
}

/// How a caller stands in an account.
#[derive(Debug, Clone, Copy)]
struct Standing {
    administrator: bool,
    member: bool,
}

impl Membership {
    /// The domain over `pool` (on `database_url`), calling identity at `identity`.
    pub fn new(
        pool: Pool,
        database_url: String,
        clock: SharedClock,
        config: MembershipConfig,
        identity: tonic::transport::Channel,
        service_token: ServiceToken,
        watch: Arc<UserWatch>,
    ) -> Self {
        let cache = AccessCache::new(config.access_cache_ttl, config.access_cache_capacity);
        Self {
            pool,
            clock,
            config,
            identity: roster_kit::client!(
                IdentityServiceClient,
                identity,
                Outgoing::as_service(&service_token)
            ),
            invitation: None,
            service_token,
            cache,
            watch,
            channels: removals::CustodianChannels::default(),
            database_url,
        }
    }

    /// Keeps the copy of users by the process's watch of identity's feed, from the next
    /// (re)connection of the watch on.
    pub fn keep_user_copy(self: &Arc<Self>) {
        self.watch
            .add_sink(Arc::new(feed::UserCopySink(Arc::clone(self))));
    }

    /// Asks the invitation service at `invitation` for pending invitations (GetSeatUsage).
    #[must_use]
    pub fn with_invitation(mut self, invitation: tonic::transport::Channel) -> Self {
        self.invitation = Some(roster_kit::client!(
            InvitationServiceClient,
            invitation,
            Outgoing::as_service(&self.service_token)
        ));
        self
    }

    /// Pending invitations that will take a seat in `workspace`, as the invitation service
    /// counts them (0 without one). An unreachable invitation service is `UNAVAILABLE`.
    async fn pending_invitations(&self, workspace: &WorkspaceRecord) -> Result<i32> {
        let Some(invitation) = &self.invitation else {
            return Ok(0);
        };
        let request = invitation_pb::CountPendingInvitationsRequest {
            account_id: workspace.account_id.to_string(),
            workspace_ids: vec![workspace.id.to_string()],
        };
        let answer = answer(
            "invitation",
            invitation.clone().count_pending_invitations(request),
        )
        .await
        .map_err(|error| {
            if error.reason() == Some(ErrorReason::Unavailable) {
                error.with_metadata("retry_after_seconds", "1")
            } else {
                error
            }
        })?;
        let id = workspace.id.to_string();
        Ok(answer
            .counts
            .iter()
            .find(|count| count.workspace_id == id)
            .map_or(0, |count| count.pending))
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn account(
        &self,
        db: &impl GenericClient,
        id: Uuid,
        lock: bool,
    ) -> Result<AccountRecord> {
        store::get_account(db, id, lock)
            .await?
            .ok_or_else(|| Error::not_found("account", id))
    }

    /// The refusal, if `user_id` (`None`: a person yet to be created) may not take a seat
    /// in the account: never without an allowance; with one, unless they already hold a
    /// seat there or a place of the allowance is free (seat holds take places too). Takes
    /// the account's row lock when it has an allowance, so concurrent joins are counted
    /// one at a time; call it before locking any workspace of the account.
    async fn allowance_refusal(
        &self,
        db: &impl GenericClient,
        account: &AccountRecord,
        user_id: Option<Uuid>,
    ) -> Result<Option<Error>> {
        if account.seat_allowance == 0 {
            return Ok(None);
        }
        let (allowance, held) = store::lock_account_seats(db, account.id, self.now())
            .await?
            .ok_or_else(|| Error::not_found("account", account.id))?;
        let seated = match user_id {
            Some(user_id) => store::holds_account_seat(db, account.id, user_id).await?,
            None => false,
        };
        if allowance > 0 && held >= allowance && !seated {
            return Ok(Some(seat_allowance_reached(account.id, allowance)));
        }
        Ok(None)
    }

    /// Row-locks, in id order, the workspaces of the account a join names (`None`: every
    /// one). A workspace outside the account is NOT_FOUND, and no workspace at all is
    /// INVALID_STATE.
    async fn lock_joined_workspaces(
        &self,
        tx: &impl GenericClient,
        account_id: Uuid,
        workspace_ids: Option<&[Uuid]>,
    ) -> Result<Vec<WorkspaceRecord>> {
        let workspaces = match workspace_ids {
            None => store::lock_workspaces_of(tx, account_id).await?,
            Some(ids) => {
                let locked = store::lock_workspaces(tx, ids).await?;
                if let Some(missing) = ids.iter().find(|id| {
                    !locked
                        .iter()
                        .any(|w| w.id == **id && w.account_id == account_id)
                }) {
                    return Err(Error::not_found("workspace", missing));
                }
                locked
            }
        };
        if workspaces.is_empty() {
            return Err(invalid_state("the account has no workspace to join"));
        }
        Ok(workspaces)
    }

    async fn workspace(
        &self,
        db: &impl GenericClient,
        id: Uuid,
        lock: bool,
    ) -> Result<WorkspaceRecord> {
        store::get_workspace(db, id, lock)
            .await?
            .ok_or_else(|| Error::not_found("workspace", id))
    }

    async fn standing(
        &self,
        db: &impl GenericClient,
        account_id: Uuid,
        user_id: Uuid,
    ) -> Result<Standing> {
        let (administrator, member) = store::standing(db, account_id, user_id).await?;
        Ok(Standing {
            administrator,
            member,
        })
    }

    /// Operators and the account's administrators; a stranger learns nothing.
    async fn require_account_admin<'c>(
        &self,
        db: &impl GenericClient,
        caller: &'c Caller,
        account_id: Uuid,
    ) -> Result<&'c Principal> {
        let principal = caller.principal()?;
        if principal.is_operator {
            return Ok(principal);
        }
        let standing = self.standing(db, account_id, principal.user_id).await?;
        if standing.administrator {
            Ok(principal)
        } else if standing.member {
            Err(Error::permission_denied(
                "only account administrators may do this",
            ))
        } else {
            Err(Error::not_found("account", account_id))
        }
    }

    /// Operators, the account's administrators and its active members.
    async fn require_account_reader<'c>(
        &self,
        db: &impl GenericClient,
        caller: &'c Caller,
        account_id: Uuid,
    ) -> Result<(&'c Principal, Standing)> {
        let principal = caller.principal()?;
        if principal.is_operator {
            let everything = Standing {
                administrator: true,
                member: true,
            };
            return Ok((principal, everything));
        }
        let standing = self.standing(db, account_id, principal.user_id).await?;
        if standing.administrator || standing.member {
            Ok((principal, standing))
        } else {
            Err(Error::not_found("account", account_id))
        }
    }

    /// Operators, account administrators, and members whose roles grant `permission` in
    /// the workspace. Someone who is not in the workspace learns nothing of it.
    async fn require_permission<'c>(
        &self,
        caller: &'c Caller,
        workspace: &WorkspaceRecord,
        permission: &str,
    ) -> Result<&'c Principal> {
        let principal = caller.principal()?;
        if principal.is_operator {
            return Ok(principal);
        }
        match self
            .decide(workspace.id, principal.user_id, permission)
            .await?
        {
            Some(decision) if decision.allowed() => Ok(principal),
            Some(Decision::NotAMember) | None => Err(Error::not_found("workspace", workspace.id)),
            Some(Decision::MemberSuspended) => Err(Error::permission_denied(format!(
                "you are suspended in workspace {}",
                workspace.name
            ))),
            Some(_) => Err(Error::permission_denied(format!(
                "this needs {permission} in workspace {}",
                workspace.name
            ))
            .with_metadata("permission", permission)),
        }
    }

    /// Makes sure the local copy knows `user_id`, asking identity when the feed has not
    /// brought it yet. A user identity does not know is `NOT_FOUND`.
    async fn ensure_user(&self, user_id: Uuid) -> Result<()> {
        if store::user_known(&self.pool.get().await?, user_id).await? {
            return Ok(());
        }
        let request = identity_pb::GetUserRequest {
            user_id: user_id.to_string(),
        };
        let user = match self.identity.clone().get_user(request).await {
            Ok(answer) => answer.into_inner().user.unwrap_or_default(),
            Err(status) if status.code() == Code::NotFound => {
                return Err(Error::not_found("user", user_id));
            }
            Err(status) => return Err(from_status("identity", &status)),
        };
        // Sequence 0: whatever the feed brings later is newer.
        let copy = feed::user_copy(&user, 0)?;
        store::upsert_user(&self.pool.get().await?, &copy).await?;
        Ok(())
    }

    /// Lists audit events (operators; account administrators for their account).
    #[instrument(skip_all, name = "membership.domain.list_audit_events")]
    pub(crate) async fn list_audit_events(
        &self,
        caller: &Caller,
        listing: &audit::AuditListing,
    ) -> Result<pb::ListAuditEventsResponse> {
        // Who may read is decided on the primary; what they read may lag a little.
        let db = self.pool.read().await?;
        let (audit_events, next_page_token) =
            audit::list_for_account(&db, caller, listing, async |account_id| {
                self.require_account_admin(&self.pool.get().await?, caller, account_id)
                    .await
                    .map(drop)
            })
            .await?;
        Ok(pb::ListAuditEventsResponse {
            audit_events,
            next_page_token,
        })
    }
}
