//! The invitee's side: what the accept page shows, and the acceptance that gets or
//! creates the user in identity, adds the member in membership and marks the invitation
//! accepted — each step idempotent on the invitation id, so a retry after any failure
//! completes the same acceptance.
use roster_kit::audit::{self, AuditRecord, Changes};
use roster_kit::auth::{Caller, Principal, parse_id};
use roster_kit::clock::to_timestamp;
use roster_kit::remote::answer;
use roster_kit::requests::{self, Replay};
use roster_kit::{Error, Result, token};
use roster_proto::identity as identity_pb;
use roster_proto::invitation as pb;
use roster_proto::membership as membership_pb;
use roster_proto::types::ErrorReason;
use tracing::instrument;

use super::Invitations;
use super::manage::require_open;
use super::model::{InvitationRecord, Stored};
use crate::store::{self, Key};

/// Who accepts an invitation.
#[derive(Debug, Clone)]
pub(crate) enum Invitee {
    /// A person new to Roster, registering with the invited email.
    NewUser {
        display_name: String,
        password: String,
    },
    /// An existing person, proving it with their session.
    Session(String),
}

/// The user an acceptance is for, with the session the answer carries.
struct Accepted {
    principal: Principal,
    session_token: String,
    session_expire_time: Option<prost_types::Timestamp>,
}

fn token_invalid() -> Error {
    Error::refused(
        ErrorReason::TokenInvalid,
        "this invitation link is not valid: it may have been replaced by a newer email",
    )
}

/// The kept answer of an earlier acceptance: an existing person gets back the session
/// they accept with; a new person's session was shown once, so they log in.
fn replayed(
    mut previous: pb::AcceptInvitationResponse,
    invitee: &Invitee,
) -> pb::AcceptInvitationResponse {
    if let Invitee::Session(session_token) = invitee {
        previous.session_token.clone_from(session_token);
    }
    previous
}

impl Invitations {
    /// The invitation behind a link's token, if the link still works.
    async fn by_token(
        &self,
        db: &impl deadpool_postgres::GenericClient,
        secret: &str,
        lock: bool,
    ) -> Result<InvitationRecord> {
        let invitation = store::get_invitation(db, Key::TokenHash(&token::hash(secret)), lock)
            .await?
            .ok_or_else(token_invalid)?;
        require_open(&invitation, self.now(), true)?;
        Ok(invitation)
    }

    /// What the accept page shows.
    #[instrument(skip_all, name = "invitation.domain.preview")]
    pub(crate) async fn preview(&self, secret: &str) -> Result<pb::PreviewInvitationResponse> {
        let invitation = self
            .by_token(&self.pool.get().await?, secret, false)
            .await?;
        let context = self
            .check_invitees(
                invitation.account_id,
                &invitation.workspace_ids,
                invitation.all_workspaces,
                &[],
                &[],
            )
            .await?;
        Ok(pb::PreviewInvitationResponse {
            invitation_id: invitation.id.to_string(),
            account_name: context.account_name,
            workspace_names: context.workspaces.into_iter().map(|w| w.name).collect(),
            all_workspaces: invitation.all_workspaces,
            inviter_display_name: self.display_name(invitation.inviter_user_id).await?,
            email: invitation.email,
            message: invitation.message,
            expire_time: Some(to_timestamp(invitation.expires_at)),
        })
    }

    /// Accepts the invitation behind `secret` for `invitee`; with a `request_id`, a retry
    /// after success answers the same acceptance.
    #[instrument(skip_all, name = "invitation.domain.accept")]
    pub(crate) async fn accept(
        &self,
        secret: &str,
        invitee: Invitee,
        request_id: &str,
    ) -> Result<pb::AcceptInvitationResponse> {
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let log = if request_id.is_empty() {
            None
        } else {
            // The caller is anonymous: the request log keys the request by the invitation,
            // so one invitee's request ids never meet another's.
            let found = store::get_invitation(&tx, Key::TokenHash(&token::hash(secret)), false)
                .await?
                .ok_or_else(token_invalid)?;
            let log = Caller {
                principal: None,
                request_id: format!("accept/{}/{request_id}", found.id),
            };
            if let Replay::Done(previous) = requests::begin::<pb::AcceptInvitationResponse>(
                &tx,
                &log,
                "AcceptInvitation",
                self.now(),
            )
            .await?
            {
                return Ok(replayed(previous, &invitee));
            }
            Some(log)
        };
        // The row lock makes concurrent uses of one link wait: the first completes, the
        // others then see it accepted.
        let mut invitation = self.by_token(&tx, secret, true).await?;
        let accepted = self.identify(&invitation, invitee).await?;
        let user_id = accepted.principal.user_id;
        let members = self.join(&invitation, user_id).await?;
        let now = self.now();
        invitation.stored = Stored::Accepted;
        invitation.accepted_user_id = Some(user_id);
        invitation.accepted_at = Some(now);
        store::update_invitation(&tx, &invitation).await?;
        let caller = Caller {
            principal: Some(accepted.principal),
            request_id: String::new(),
        };
        audit::record(
            &tx,
            &caller,
            now,
            AuditRecord {
                action: "invitation.invitation.accept",
                target_type: "invitation",
                target_id: invitation.id.to_string(),
                account_id: Some(invitation.account_id),
                changes: Changes::new().field("state", "pending", "accepted").field(
                    "accepted_user_id",
                    (),
                    user_id.to_string(),
                ),
            },
        )
        .await?;
        let answer = pb::AcceptInvitationResponse {
            user_id: user_id.to_string(),
            members,
            session_token: accepted.session_token,
            session_expire_time: accepted.session_expire_time,
            invitation: Some(invitation.to_proto(now)),
        };
        if let Some(log) = &log {
            // Kept without the session: a token is never stored in the clear.
            let kept = pb::AcceptInvitationResponse {
                session_token: String::new(),
                session_expire_time: None,
                ..answer.clone()
            };
            requests::finish(&tx, log, Some(&kept)).await?;
        }
        tx.commit().await?;
        Ok(answer)
    }

    /// Gets or creates the invitee in identity.
    async fn identify(&self, invitation: &InvitationRecord, invitee: Invitee) -> Result<Accepted> {
        match invitee {
            Invitee::NewUser {
                display_name,
                password,
            } => {
                let request = identity_pb::ProvisionInvitedUserRequest {
                    invitation_id: invitation.id.to_string(),
                    email: invitation.email.clone(),
                    display_name,
                    password,
                };
                let provisioned = answer(
                    "identity",
                    self.identity.clone().provision_invited_user(request),
                )
                .await?;
                let user = provisioned.user.unwrap_or_default();
                let malformed = |e| Error::internal("identity answered a malformed user", e);
                Ok(Accepted {
                    principal: Principal {
                        user_id: parse_id("user_id", &user.user_id).map_err(malformed)?,
                        is_service: false,
                        is_operator: false,
                        impersonator_id: None,
                        email: user.email,
                        session_id: None,
                        api_key_id: None,
                        is_roster_service: false,
                    },
                    session_token: provisioned.session_token,
                    session_expire_time: provisioned.session_expire_time,
                })
            }
            Invitee::Session(session_token) => {
                let principal = self.authenticator.principal(&session_token).await?;
                if principal.session_id.is_none() || principal.impersonator_id.is_some() {
                    return Err(Error::unauthenticated(
                        "accepting needs the invitee's own session token",
                    ));
                }
                if principal.email != invitation.email {
                    return Err(Error::refused(
                        ErrorReason::EmailMismatch,
                        format!(
                            "this invitation is for {}; sign in with that email to accept it",
                            invitation.email
                        ),
                    ));
                }
                // The link reached this address: that proves it, as for a new person.
                let request = identity_pb::VerifyInvitedEmailRequest {
                    user_id: principal.user_id.to_string(),
                    email: invitation.email.clone(),
                    invitation_id: invitation.id.to_string(),
                };
                answer(
                    "identity",
                    self.identity.clone().verify_invited_email(request),
                )
                .await?;
                Ok(Accepted {
                    principal,
                    session_token,
                    session_expire_time: None,
                })
            }
        }
    }

    /// Adds the member in membership; the invitation id makes a retry answer the same
    /// members instead of adding twice.
    async fn join(
        &self,
        invitation: &InvitationRecord,
        user_id: uuid::Uuid,
    ) -> Result<Vec<membership_pb::Member>> {
        let request = membership_pb::AddMemberRequest {
            account_id: invitation.account_id.to_string(),
            workspace_ids: if invitation.all_workspaces {
                Vec::new()
            } else {
                invitation
                    .workspace_ids
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            },
            all_workspaces: invitation.all_workspaces,
            user_id: user_id.to_string(),
            role_ids: invitation
                .role_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
            request_id: invitation.id.to_string(),
        };
        Ok(
            answer("membership", self.membership.clone().add_member(request))
                .await?
                .members,
        )
    }
}
