//! Invitation helpers: inviting as someone, reading the link's token the way the
//! notification service will (from the outbox row written with the invitation), and
//! accepting as a new person.
use roster_proto::invitation as pb;
use roster_proto::types::ErrorReason;
use tonic::Status;

pub use crate::emailed::link_token;
use crate::membership::{Company, request_id};
use crate::{TestEnv, as_user};

/// The password new people register with in these tests.
pub const NEW_PASSWORD: &str = "a new person's passphrase";

/// `InviteUsers` of `emails` to the company's workspace, as `token`.
pub fn invite_request(company: &Company, emails: &[&str]) -> pb::InviteUsersRequest {
    pb::InviteUsersRequest {
        account_id: company.account_id().to_owned(),
        workspace_ids: vec![company.workspace_id().to_owned()],
        emails: emails.iter().map(|e| (*e).to_owned()).collect(),
        request_id: request_id(),
        ..Default::default()
    }
}

/// A refusal reason's name as InviteResult carries it ("" when invited).
pub fn refusal(result: &pb::InviteResult) -> &'static str {
    match result.refusal_reason() {
        ErrorReason::Unspecified => "",
        reason => roster_kit::error::reason_name(reason),
    }
}

/// A new person's profile.
pub fn new_user(display_name: &str) -> pb::accept_invitation_request::Invitee {
    new_user_with_password(display_name, NEW_PASSWORD)
}

/// A new person's profile with `password`.
pub fn new_user_with_password(
    display_name: &str,
    password: &str,
) -> pb::accept_invitation_request::Invitee {
    pb::accept_invitation_request::Invitee::NewUser(pb::NewUser {
        display_name: display_name.to_owned(),
        password: password.to_owned(),
    })
}

impl TestEnv {
    /// Sends `request` as `token`.
    pub async fn try_invite(
        &self,
        token: &str,
        request: pb::InviteUsersRequest,
    ) -> Result<Vec<pb::InviteResult>, Status> {
        self.invitation()
            .invite_users(as_user(token, request))
            .await
            .map(|r| r.into_inner().results)
    }

    /// Invites one address to the company's workspace as the operator; its invitation.
    pub async fn invite(&self, company: &Company, email: &str) -> pb::Invitation {
        let results = self
            .try_invite(&self.operator_token, invite_request(company, &[email]))
            .await
            .expect("invite");
        let result = results.into_iter().next().expect("one result");
        result
            .invitation
            .unwrap_or_else(|| panic!("{email} was refused: {}", result.refusal_message))
    }

    /// The link token of the invitation's latest email, once it was delivered.
    pub async fn invitation_token(&self, invitation_id: &str) -> String {
        let email: String = self
            .sql()
            .await
            .query_one(
                "SELECT email FROM invitation.invitations WHERE invitation_id::text = $1",
                &[&invitation_id],
            )
            .await
            .expect("the invitation")
            .get(0);
        self.emailed_token("invitation", "invitation", &email).await
    }

    /// Accepts with `token` as `invitee`.
    pub async fn try_accept(
        &self,
        token: &str,
        invitee: pb::accept_invitation_request::Invitee,
    ) -> Result<pb::AcceptInvitationResponse, Status> {
        self.try_accept_with(token, invitee, "").await
    }

    /// Accepts with `token` as `invitee`, under `request_id` ("" for none).
    pub async fn try_accept_with(
        &self,
        token: &str,
        invitee: pb::accept_invitation_request::Invitee,
        request_id: &str,
    ) -> Result<pb::AcceptInvitationResponse, Status> {
        self.invitation()
            .accept_invitation(pb::AcceptInvitationRequest {
                token: token.to_owned(),
                invitee: Some(invitee),
                request_id: request_id.to_owned(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Reads an invitation as `token`.
    pub async fn try_get_invitation(
        &self,
        token: &str,
        invitation_id: &str,
    ) -> Result<pb::Invitation, Status> {
        self.invitation()
            .get_invitation(as_user(
                token,
                pb::GetInvitationRequest {
                    invitation_id: invitation_id.to_owned(),
                },
            ))
            .await
            .map(|r| r.into_inner().invitation.expect("invitation"))
    }

    /// Resends an invitation as `token`.
    pub async fn try_resend(
        &self,
        token: &str,
        invitation_id: &str,
    ) -> Result<pb::Invitation, Status> {
        self.invitation()
            .resend_invitation(as_user(
                token,
                pb::ResendInvitationRequest {
                    invitation_id: invitation_id.to_owned(),
                    request_id: request_id(),
                },
            ))
            .await
            .map(|r| r.into_inner().invitation.expect("invitation"))
    }

    /// Revokes an invitation as `token`.
    pub async fn try_revoke(
        &self,
        token: &str,
        invitation_id: &str,
    ) -> Result<pb::Invitation, Status> {
        self.invitation()
            .revoke_invitation(as_user(
                token,
                pb::RevokeInvitationRequest {
                    invitation_id: invitation_id.to_owned(),
                    request_id: request_id(),
                },
            ))
            .await
            .map(|r| r.into_inner().invitation.expect("invitation"))
    }

    /// Lists invitations as `token`.
    pub async fn list_invitations(
        &self,
        token: &str,
        request: pb::ListInvitationsRequest,
    ) -> Result<pb::ListInvitationsResponse, Status> {
        self.invitation()
            .list_invitations(as_user(token, request))
            .await
            .map(tonic::Response::into_inner)
    }
}
