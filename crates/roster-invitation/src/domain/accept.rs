//! The invitee's side: what the accept page shows, and the acceptance that spans
//! membership, identity and this service without holding a transaction across their
//! calls. A short transaction claims the invitation for one attempt (a lease); then the
//! remote steps run, each idempotent on the invitation id: hold the seats in membership,
//! get or create the person in identity, turn the hold into the member; another short
//! transaction records the acceptance. A refused step ends the claim and frees the hold,
//! so a refusal for seats leaves no account behind; a crashed attempt's claim and hold
//! expire, and a retry completes the same acceptance. Once accepted, a retry by the
//! accepter answers the same acceptance with a session.
use std::time::Duration;

use chrono::{DateTime, Utc};
use prost::Message;
use roster_kit::audit::{self, AuditRecord, Changes};
use roster_kit::auth::{Caller, Principal, parse_id};
use roster_kit::clock::to_timestamp;
use roster_kit::remote::answer;
use roster_kit::{Error, Result, token};
use roster_proto::identity as identity_pb;
use roster_proto::invitation as pb;
use roster_proto::membership as membership_pb;
use roster_proto::types::ErrorReason;
use tonic::Code;
use tracing::{instrument, warn};
use uuid::Uuid;

use super::Invitations;
use super::manage::{being_accepted, require_open};
use super::model::{InvitationRecord, Stored};
use crate::store::{self, Key};

/// How often a use of a link that another attempt holds looks again...
const CLAIM_POLL: Duration = Duration::from_millis(50);
/// ...and for how long, before it answers CONCURRENT_MODIFICATION (retry).
const CLAIM_WAIT: Duration = Duration::from_secs(5);

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

/// What claiming an invitation found.
enum Claim {
    /// This attempt holds the invitation until its lease ends.
    Taken {
        invitation: InvitationRecord,
        claim_id: Uuid,
    },
    /// The invitation was accepted already: a retry, or someone else.
    Accepted(InvitationRecord),
    /// Another attempt holds it, until this time at the latest.
    Busy(DateTime<Utc>),
}

fn token_invalid() -> Error {
    Error::refused(
        ErrorReason::TokenInvalid,
        "this invitation link is not valid: it may have been replaced by a newer email",
    )
}

fn already_accepted() -> Error {
    Error::refused(
        ErrorReason::InvitationAlreadyAccepted,
        "this invitation has been accepted already",
    )
}

/// Whether `error` says nothing about who the invitee is: a retry may still succeed.
fn transient(error: &Error) -> bool {
    matches!(
        error.code(),
        Code::Unavailable | Code::ResourceExhausted | Code::Internal | Code::Aborted
    )
}

impl Invitations {
    /// What the accept page shows.
    #[instrument(skip_all, name = "invitation.domain.preview")]
    pub(crate) async fn preview(&self, secret: &str) -> Result<pb::PreviewInvitationResponse> {
        let invitation = store::get_invitation(
            &self.pool.get().await?,
            Key::TokenHash(&token::hash(secret)),
            false,
        )
        .await?
        .ok_or_else(token_invalid)?;
        require_open(&invitation, self.now(), true)?;
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

    /// Accepts the invitation behind `secret` for `invitee`; once accepted, answers the
    /// accepter's retries with the same acceptance.
    #[instrument(skip_all, name = "invitation.domain.accept")]
    pub(crate) async fn accept(
        &self,
        secret: &str,
        invitee: Invitee,
    ) -> Result<pb::AcceptInvitationResponse> {
        let give_up = tokio::time::Instant::now() + CLAIM_WAIT;
        let (invitation, claim_id) = loop {
            match self.claim(secret).await? {
                Claim::Taken {
                    invitation,
                    claim_id,
                } => break (invitation, claim_id),
                Claim::Accepted(invitation) => return self.replay(&invitation, invitee).await,
                Claim::Busy(_) if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(CLAIM_POLL).await;
                }
                Claim::Busy(until) => return Err(being_accepted(until, self.now())),
            }
        };
        let new_user = matches!(invitee, Invitee::NewUser { .. });
        match self.take_steps(&invitation, invitee).await {
            Ok((accepted, members)) => {
                self.record_acceptance(invitation, accepted, members, new_user)
                    .await
            }
            Err(refusal) => {
                self.release_claim(&invitation, claim_id).await;
                Err(refusal)
            }
        }
    }

    /// Ends this attempt's claim, so the next one need not wait; a claim that cannot be
    /// ended now ends with its lease.
    async fn release_claim(&self, invitation: &InvitationRecord, claim_id: Uuid) {
        let released = match self.pool.get().await {
            Ok(db) => store::release_claim(&db, invitation, claim_id).await,
            Err(error) => Err(error.into()),
        };
        if let Err(error) = released {
            warn!(invitation_id = %invitation.id, %error, "invitation claim not released");
        }
    }

    /// Short transaction 1: row-locks the invitation behind `secret` and, if it is open
    /// and no other attempt holds it, claims it for this one.
    async fn claim(&self, secret: &str) -> Result<Claim> {
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let invitation = store::get_invitation(&tx, Key::TokenHash(&token::hash(secret)), true)
            .await?
            .ok_or_else(token_invalid)?;
        if invitation.stored == Stored::Accepted {
            return Ok(Claim::Accepted(invitation));
        }
        require_open(&invitation, now, true)?;
        if let Some(until) = invitation.claim_until.filter(|until| *until > now) {
            return Ok(Claim::Busy(until));
        }
        let claim_id = Uuid::now_v7();
        store::claim_invitation(&tx, &invitation, claim_id, now + self.accept_lease()).await?;
        tx.commit().await?;
        Ok(Claim::Taken {
            invitation,
            claim_id,
        })
    }

    fn accept_lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.accept_lease).unwrap_or(chrono::Duration::MAX)
    }

    /// The remote steps, in order: hold the seats, get or create the person, turn the
    /// hold into the member. Before a person exists, a refusal frees the hold at once;
    /// after a new one was created, their seat stays held until the lease ends, for the
    /// retry that completes the acceptance.
    async fn take_steps(
        &self,
        invitation: &InvitationRecord,
        invitee: Invitee,
    ) -> Result<(Accepted, Vec<membership_pb::Member>)> {
        match invitee {
            Invitee::NewUser {
                display_name,
                password,
            } => {
                self.hold_seats(invitation, None).await?;
                let accepted = match self.provision(invitation, display_name, password).await {
                    Ok(accepted) => accepted,
                    Err(refusal) => return Err(self.release_seats(invitation, refusal).await),
                };
                let members = self.join(invitation, accepted.principal.user_id).await?;
                Ok((accepted, members))
            }
            Invitee::Session(session_token) => {
                let principal = self.own_session(invitation, &session_token).await?;
                self.hold_seats(invitation, Some(principal.user_id)).await?;
                let joined = async {
                    self.verify_email(invitation, principal.user_id).await?;
                    self.join(invitation, principal.user_id).await
                };
                match joined.await {
                    Ok(members) => Ok((
                        Accepted {
                            principal,
                            session_token,
                            session_expire_time: None,
                        },
                        members,
                    )),
                    Err(refusal) => Err(self.release_seats(invitation, refusal).await),
                }
            }
        }
    }

    /// Short transaction 2: marks the invitation accepted, with its audit event and the
    /// answer kept (without the session) for the accepter's retries.
    async fn record_acceptance(
        &self,
        claimed: InvitationRecord,
        accepted: Accepted,
        members: Vec<membership_pb::Member>,
        new_user: bool,
    ) -> Result<pb::AcceptInvitationResponse> {
        let now = self.now();
        let user_id = accepted.principal.user_id;
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let mut invitation = store::get_invitation(&tx, Key::Id(claimed.id), true)
            .await?
            .ok_or_else(token_invalid)?;
        let first = invitation.stored != Stored::Accepted;
        if first {
            invitation.stored = Stored::Accepted;
            invitation.accepted_user_id = Some(user_id);
            invitation.accepted_at = Some(now);
            invitation.accepted_new_user = Some(new_user);
            invitation.claim_until = None;
        }
        let mut answer = pb::AcceptInvitationResponse {
            user_id: user_id.to_string(),
            members,
            session_token: String::new(),
            session_expire_time: None,
            invitation: Some(invitation.to_proto(now)),
        };
        if first {
            // Kept without the session: a token is never stored in the clear.
            store::record_acceptance(&tx, &invitation, &answer.encode_to_vec()).await?;
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
            tx.commit().await?;
        }
        answer.session_token = accepted.session_token;
        answer.session_expire_time = accepted.session_expire_time;
        Ok(answer)
    }

    /// A use of an accepted invitation: the accepter (the same password for a person who
    /// registered through it, their own session otherwise) gets the kept answer with a
    /// session; anyone else is told it was accepted.
    async fn replay(
        &self,
        invitation: &InvitationRecord,
        invitee: Invitee,
    ) -> Result<pb::AcceptInvitationResponse> {
        let kept = store::kept_accept_answer(&self.pool.get().await?, invitation.id).await?;
        let Some(kept) = kept else {
            return Err(already_accepted());
        };
        let proof = match invitee {
            Invitee::NewUser {
                display_name,
                password,
            } if invitation.accepted_new_user == Some(true) => {
                self.provision(invitation, display_name, password).await
            }
            Invitee::NewUser { .. } => return Err(already_accepted()),
            Invitee::Session(session_token) => self
                .own_session(invitation, &session_token)
                .await
                .map(|principal| Accepted {
                    principal,
                    session_token,
                    session_expire_time: None,
                }),
        };
        let accepted = match proof {
            Ok(accepted) if invitation.accepted_user_id == Some(accepted.principal.user_id) => {
                accepted
            }
            Err(error) if transient(&error) => return Err(error),
            _ => return Err(already_accepted()),
        };
        let mut answer: pb::AcceptInvitationResponse = Message::decode(kept.as_slice())
            .map_err(|e| Error::internal("decoding a kept acceptance", e))?;
        answer.session_token = accepted.session_token;
        answer.session_expire_time = accepted.session_expire_time;
        Ok(answer)
    }

    /// Holds a seat in every workspace of the invitation (and a place of the account's
    /// seat allowance) for as long as the claim lasts.
    async fn hold_seats(&self, invitation: &InvitationRecord, user_id: Option<Uuid>) -> Result<()> {
        let ttl = prost_types::Duration::try_from(self.config.accept_lease)
            .map_err(|e| Error::internal("the acceptance lease", e))?;
        let request = membership_pb::HoldSeatsRequest {
            hold_id: invitation.id.to_string(),
            account_id: invitation.account_id.to_string(),
            workspace_ids: self.joined_workspace_ids(invitation),
            all_workspaces: invitation.all_workspaces,
            user_id: user_id.map(|id| id.to_string()).unwrap_or_default(),
            ttl: Some(ttl),
        };
        answer("membership", self.membership.clone().hold_seats(request)).await?;
        Ok(())
    }

    /// Frees the invitation's seat hold after `refusal`, which it answers; a hold that
    /// cannot be freed now ends with its lease.
    async fn release_seats(&self, invitation: &InvitationRecord, refusal: Error) -> Error {
        let request = membership_pb::ReleaseSeatsRequest {
            hold_id: invitation.id.to_string(),
        };
        if let Err(error) =
            answer("membership", self.membership.clone().release_seats(request)).await
        {
            warn!(invitation_id = %invitation.id, %error, "seat hold not released");
        }
        refusal
    }

    /// The workspaces AddMember and HoldSeats name: none for an account-wide invitation.
    fn joined_workspace_ids(&self, invitation: &InvitationRecord) -> Vec<String> {
        if invitation.all_workspaces {
            Vec::new()
        } else {
            invitation
                .workspace_ids
                .iter()
                .map(ToString::to_string)
                .collect()
        }
    }

    /// Gets or creates the invited person in identity, with a new session; idempotent on
    /// the invitation, so a retry needs the same password.
    async fn provision(
        &self,
        invitation: &InvitationRecord,
        display_name: String,
        password: String,
    ) -> Result<Accepted> {
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

    /// The existing person behind `session_token`, who must be the invitee themself.
    async fn own_session(
        &self,
        invitation: &InvitationRecord,
        session_token: &str,
    ) -> Result<Principal> {
        let principal = self.authenticator.principal(session_token).await?;
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
        Ok(principal)
    }

    /// Records in identity that the link reached the existing person's address: that
    /// proves it, as for a new person.
    async fn verify_email(&self, invitation: &InvitationRecord, user_id: Uuid) -> Result<()> {
        let request = identity_pb::VerifyInvitedEmailRequest {
            user_id: user_id.to_string(),
            email: invitation.email.clone(),
            invitation_id: invitation.id.to_string(),
        };
        answer(
            "identity",
            self.identity.clone().verify_invited_email(request),
        )
        .await?;
        Ok(())
    }

    /// Adds the member in membership, taking the seat hold; the invitation id makes a
    /// retry answer the same members instead of adding twice.
    async fn join(
        &self,
        invitation: &InvitationRecord,
        user_id: uuid::Uuid,
    ) -> Result<Vec<membership_pb::Member>> {
        let request = membership_pb::AddMemberRequest {
            account_id: invitation.account_id.to_string(),
            workspace_ids: self.joined_workspace_ids(invitation),
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
