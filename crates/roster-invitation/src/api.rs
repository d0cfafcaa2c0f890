//! The tonic adapter: authenticates, parses and shape-checks requests, calls the domain.
use std::sync::Arc;

use roster_kit::auth::{Caller, parse_id};
use roster_kit::error::Violations;
use roster_kit::input::{ids, optional_id, required, workspace_choice};
use roster_kit::remote::Authenticator;
use roster_kit::{Error, Result};
use roster_proto::invitation as pb;
use roster_proto::invitation::invitation_service_server::{
    InvitationService, InvitationServiceServer,
};
use tonic::{Request, Response, Status};

use crate::domain::{Change, InvitationQuery, Invitations, InviteRequest, Invitee, ListRequest};

/// The invitation service's gRPC service.
#[derive(Debug, Clone)]
pub struct InvitationApi {
    invitations: Arc<Invitations>,
    authenticator: Authenticator,
}

type Answer<T> = std::result::Result<Response<T>, Status>;

impl InvitationApi {
    /// Serves `invitations`, resolving callers with `authenticator`.
    pub fn new(invitations: Arc<Invitations>, authenticator: Authenticator) -> Self {
        Self {
            invitations,
            authenticator,
        }
    }

    /// The tonic server of this service.
    pub fn into_server(self) -> InvitationServiceServer<Self> {
        InvitationServiceServer::new(self)
    }

    async fn caller<T>(&self, request: &Request<T>, request_id: &str) -> Result<Caller> {
        self.authenticator
            .caller(request.metadata(), request_id)
            .await
    }
}

fn invite_request(message: pb::InviteUsersRequest) -> Result<InviteRequest> {
    let mut violations = Violations::new();
    let account_id = violations.check(parse_id("account_id", &message.account_id));
    let workspace_ids = violations.check(workspace_choice(
        &message.workspace_ids,
        message.all_workspaces,
    ));
    let role_ids = violations.check(ids("role_ids", &message.role_ids));
    if message.emails.iter().all(|e| e.trim().is_empty()) {
        violations.add("emails", "name at least one address");
    }
    let note = message.message.trim();
    violations.finish()?;
    let emails = message
        .emails
        .into_iter()
        .filter(|e| !e.trim().is_empty())
        .collect();
    match (account_id, workspace_ids, role_ids) {
        (Some(account_id), Some(workspace_ids), Some(role_ids)) => Ok(InviteRequest {
            account_id,
            workspace_ids: workspace_ids.unwrap_or_default(),
            all_workspaces: message.all_workspaces,
            emails,
            role_ids,
            message: note.to_owned(),
        }),
        _ => Err(Error::internal("invite request", "violations not reported")),
    }
}

fn invitee(invitee: Option<pb::accept_invitation_request::Invitee>) -> Result<Invitee> {
    use pb::accept_invitation_request::Invitee as Proto;
    match invitee {
        Some(Proto::NewUser(user)) => {
            let mut violations = Violations::new();
            violations.check(required("new_user.display_name", &user.display_name));
            violations.check(required("new_user.password", &user.password));
            violations.finish()?;
            Ok(Invitee::NewUser {
                display_name: user.display_name,
                password: user.password,
            })
        }
        Some(Proto::SessionToken(token)) => {
            required("session_token", &token)?;
            Ok(Invitee::Session(token))
        }
        None => Err(Error::invalid(
            "invitee",
            "set new_user (a new person) or session_token (an existing one)",
        )),
    }
}

#[tonic::async_trait]
impl InvitationService for InvitationApi {
    async fn invite_users(
        &self,
        request: Request<pb::InviteUsersRequest>,
    ) -> Answer<pb::InviteUsersResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let invite = invite_request(request.into_inner())?;
        Ok(Response::new(
            self.invitations.invite_users(&caller, invite).await?,
        ))
    }

    async fn get_invitation(
        &self,
        request: Request<pb::GetInvitationRequest>,
    ) -> Answer<pb::GetInvitationResponse> {
        let caller = self.caller(&request, "").await?;
        let invitation_id = parse_id("invitation_id", &request.get_ref().invitation_id)?;
        let invitation = self.invitations.get(&caller, invitation_id).await?;
        Ok(Response::new(pb::GetInvitationResponse {
            invitation: Some(invitation),
        }))
    }

    async fn list_invitations(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Answer<pb::ListInvitationsResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.into_inner();
        let mut states = message.states;
        states.sort_unstable();
        states.dedup();
        if states.is_empty() && !message.show_all {
            states.push(pb::InvitationState::Pending.into());
        }
        let query = message.query.trim();
        let list = ListRequest {
            query: InvitationQuery {
                account_id: parse_id("account_id", &message.account_id)?,
                workspace_id: optional_id("workspace_id", &message.workspace_id)?,
                states,
                query: (!query.is_empty()).then(|| query.to_owned()),
            },
            page_size: message.page_size,
            page_token: message.page_token,
        };
        Ok(Response::new(self.invitations.list(&caller, list).await?))
    }

    async fn resend_invitation(
        &self,
        request: Request<pb::ResendInvitationRequest>,
    ) -> Answer<pb::ResendInvitationResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, &message.request_id).await?;
        let invitation_id = parse_id("invitation_id", &message.invitation_id)?;
        let invitation = self.invitations.resend(&caller, invitation_id).await?;
        Ok(Response::new(pb::ResendInvitationResponse {
            invitation: Some(invitation),
        }))
    }

    async fn revoke_invitation(
        &self,
        request: Request<pb::RevokeInvitationRequest>,
    ) -> Answer<pb::RevokeInvitationResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, &message.request_id).await?;
        let invitation_id = parse_id("invitation_id", &message.invitation_id)?;
        let invitation = self
            .invitations
            .change(&caller, invitation_id, Change::Revoke)
            .await?;
        Ok(Response::new(pb::RevokeInvitationResponse {
            invitation: Some(invitation),
        }))
    }

    async fn update_invitation(
        &self,
        request: Request<pb::UpdateInvitationRequest>,
    ) -> Answer<pb::UpdateInvitationResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, &message.request_id).await?;
        let invitation = message.invitation.clone().unwrap_or_default();
        let invitation_id = parse_id("invitation.invitation_id", &invitation.invitation_id)?;
        let paths = message
            .update_mask
            .as_ref()
            .map(|m| m.paths.clone())
            .unwrap_or_default();
        if paths.is_empty() {
            return Err(Error::invalid("update_mask", "name \"role_ids\"").into());
        }
        for path in &paths {
            match path.as_str() {
                "role_ids" => {}
                "email" => {
                    return Err(Error::invalid(
                        "update_mask",
                        "an invitation's email cannot be changed (its link is bound to it): revoke it and invite the new address",
                    )
                    .into());
                }
                other => {
                    return Err(Error::invalid(
                        "update_mask",
                        format!("{other:?} cannot be updated; only \"role_ids\" can"),
                    )
                    .into());
                }
            }
        }
        let role_ids = ids("invitation.role_ids", &invitation.role_ids)?;
        let invitation = self
            .invitations
            .change(&caller, invitation_id, Change::SetRoles(role_ids))
            .await?;
        Ok(Response::new(pb::UpdateInvitationResponse {
            invitation: Some(invitation),
        }))
    }

    async fn preview_invitation(
        &self,
        request: Request<pb::PreviewInvitationRequest>,
    ) -> Answer<pb::PreviewInvitationResponse> {
        let token = required("token", &request.get_ref().token)?;
        Ok(Response::new(self.invitations.preview(token).await?))
    }

    async fn accept_invitation(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Answer<pb::AcceptInvitationResponse> {
        let message = request.into_inner();
        required("token", &message.token)?;
        let invitee = invitee(message.invitee)?;
        Ok(Response::new(
            self.invitations.accept(&message.token, invitee).await?,
        ))
    }

    async fn count_pending_invitations(
        &self,
        request: Request<pb::CountPendingInvitationsRequest>,
    ) -> Answer<pb::CountPendingInvitationsResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let account_id = parse_id("account_id", &message.account_id)?;
        if message.workspace_ids.is_empty() {
            return Err(Error::invalid("workspace_ids", "name at least one workspace").into());
        }
        let workspace_ids = ids("workspace_ids", &message.workspace_ids)?;
        Ok(Response::new(
            self.invitations
                .count_pending(&caller, account_id, &workspace_ids)
                .await?,
        ))
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Answer<pb::ListAuditEventsResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let listing =
            roster_kit::audit_listing!(message, optional_id("account_id", &message.account_id)?)?;
        Ok(Response::new(
            self.invitations
                .list_audit_events(&caller, &listing)
                .await?,
        ))
    }
}
