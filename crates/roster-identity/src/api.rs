//! The tonic adapter: authenticates, parses and shape-checks requests, calls the domain.
use std::sync::Arc;

use roster_kit::auth::{Caller, ServiceToken, bearer_token, parse_id};
use roster_kit::clock::from_timestamp;
use roster_kit::input::{ids, optional_id, required};
use roster_kit::paging::parse_order_by;
use roster_kit::{Error, Result};
use roster_proto::identity as pb;
use roster_proto::identity::identity_service_server::{IdentityService, IdentityServiceServer};
use tonic::{Request, Response, Status};

use crate::domain::model::{Kind, Status as UserStatus};
use crate::domain::{
    Identity, StatusChange, UserOrder, UserQuery, impersonation_forbidden, password_change_required,
};
use crate::store::{GrantQuery, ImpersonationQuery};

/// Identity's gRPC service.
#[derive(Debug, Clone)]
pub struct IdentityApi {
    identity: Arc<Identity>,
    service_token: ServiceToken,
}

type Answer<T> = std::result::Result<Response<T>, Status>;

/// Whether a session opened with a temporary password may make the call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Restricted {
    Allowed,
    Refused,
}

impl IdentityApi {
    /// Serves `identity`; `service_token` is how Roster's other services call it.
    pub fn new(identity: Arc<Identity>, service_token: ServiceToken) -> Self {
        Self {
            identity,
            service_token,
        }
    }

    /// The tonic server of this service.
    pub fn into_server(self) -> IdentityServiceServer<Self> {
        IdentityServiceServer::new(self)
    }

    async fn caller<T>(
        &self,
        request: &Request<T>,
        request_id: &str,
        restricted: Restricted,
    ) -> Result<Caller> {
        let token = bearer_token(request.metadata())?;
        if let Some(service) = self.service_token.principal_of(token) {
            return Ok(Caller {
                principal: Some(service),
                request_id: request_id.to_owned(),
            });
        }
        let authenticated = self.identity.authenticate(token).await?;
        if authenticated.password_change_only && restricted == Restricted::Refused {
            return Err(password_change_required());
        }
        Ok(Caller {
            principal: Some(authenticated.principal),
            request_id: request_id.to_owned(),
        })
    }

    /// The caller of an RPC only a person acting as themself may make: under an
    /// impersonation, the subject's credentials, email, API keys, sessions and consent are
    /// not the impersonator's to touch, and impersonations do not nest.
    async fn personal_caller<T>(
        &self,
        request: &Request<T>,
        request_id: &str,
        restricted: Restricted,
    ) -> Result<Caller> {
        let caller = self.caller(request, request_id, restricted).await?;
        if caller.impersonator_id().is_some() {
            return Err(impersonation_forbidden(
                "not while impersonating: end the impersonation and act as yourself",
            ));
        }
        Ok(caller)
    }

    async fn answer_impersonation<T>(
        &self,
        request: &Request<T>,
        grant_id: &str,
        request_id: &str,
        approve: bool,
    ) -> Result<pb::ImpersonationGrant> {
        let caller = self
            .personal_caller(request, request_id, Restricted::Refused)
            .await?;
        let grant_id = parse_id("grant_id", grant_id)?;
        self.identity
            .answer_impersonation(&caller, grant_id, approve)
            .await
    }

    async fn set_status(
        &self,
        request: Request<impl StatusRequest>,
        change: StatusChange,
    ) -> Result<pb::User> {
        let caller = self
            .caller(
                &request,
                request.get_ref().request_id(),
                Restricted::Refused,
            )
            .await?;
        let user_id = parse_id("user_id", request.get_ref().user_id())?;
        self.identity.set_status(&caller, user_id, change).await
    }
}

/// How long an impersonation grant is asked for: whole seconds (the window is checked
/// against the user's accounts).
fn grant_duration(duration: Option<&prost_types::Duration>) -> Result<std::time::Duration> {
    let seconds = duration.map_or(0, |d| d.seconds);
    u64::try_from(seconds)
        .ok()
        .filter(|s| *s > 0)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| {
            Error::invalid(
                "duration",
                "required: how long the grant lasts once approved",
            )
        })
}

/// The fields every status-change request has.
trait StatusRequest {
    fn user_id(&self) -> &str;
    fn request_id(&self) -> &str;
}

macro_rules! status_request {
    ($($request:ty),*) => {$(
        impl StatusRequest for $request {
            fn user_id(&self) -> &str { &self.user_id }
            fn request_id(&self) -> &str { &self.request_id }
        }
    )*};
}
status_request!(
    pb::DisableUserRequest,
    pb::EnableUserRequest,
    pb::LockUserRequest,
    pb::UnlockUserRequest
);

fn enum_filter<T>(field: &str, value: i32, map: impl Fn(i32) -> Option<T>) -> Result<Option<T>> {
    if value == 0 {
        Ok(None)
    } else {
        map(value)
            .map(Some)
            .ok_or_else(|| Error::invalid(field, format!("unknown value {value}")))
    }
}

fn user_query(request: &pb::ListUsersRequest) -> Result<UserQuery> {
    let kind = enum_filter("kind", request.kind, |v| {
        match pb::UserKind::try_from(v).ok()? {
            pb::UserKind::Human => Some(Kind::Human),
            pb::UserKind::Service => Some(Kind::Service),
            pb::UserKind::Unspecified => None,
        }
    })?;
    let status = enum_filter(
        "status",
        request.status,
        |v| match pb::UserStatus::try_from(v).ok()? {
            pb::UserStatus::Active => Some(UserStatus::Active),
            pb::UserStatus::Disabled => Some(UserStatus::Disabled),
            pb::UserStatus::Locked => Some(UserStatus::Locked),
            pb::UserStatus::Unspecified => None,
        },
    )?;
    let (order, descending) = parse_order_by(
        &request.order_by,
        &[
            ("create_time", UserOrder::CreateTime),
            ("email", UserOrder::Email),
            ("display_name", UserOrder::DisplayName),
        ],
    )?;
    let query = request.query.trim();
    Ok(UserQuery {
        kind,
        status,
        query: (!query.is_empty()).then(|| query.to_owned()),
        order,
        descending,
    })
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Answer<pb::CreateUserResponse> {
        let caller = self
            .caller(&request, &request.get_ref().request_id, Restricted::Refused)
            .await?;
        let user = self
            .identity
            .create_user(&caller, request.into_inner())
            .await?;
        Ok(Response::new(pb::CreateUserResponse { user: Some(user) }))
    }

    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Answer<pb::GetUserResponse> {
        let caller = self.caller(&request, "", Restricted::Refused).await?;
        let user_id = parse_id("user_id", &request.get_ref().user_id)?;
        let user = self.identity.get_user(&caller, user_id).await?;
        Ok(Response::new(pb::GetUserResponse { user: Some(user) }))
    }

    async fn batch_get_users(
        &self,
        request: Request<pb::BatchGetUsersRequest>,
    ) -> Answer<pb::BatchGetUsersResponse> {
        let caller = self.caller(&request, "", Restricted::Refused).await?;
        let user_ids = ids("user_ids", &request.get_ref().user_ids)?;
        Ok(Response::new(
            self.identity.batch_get_users(&caller, user_ids).await?,
        ))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Answer<pb::ListUsersResponse> {
        let caller = self.caller(&request, "", Restricted::Refused).await?;
        let message = request.get_ref();
        let query = user_query(message)?;
        Ok(Response::new(
            self.identity
                .list_users(&caller, query, message.page_size, &message.page_token)
                .await?,
        ))
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Answer<pb::UpdateUserResponse> {
        let caller = self
            .caller(&request, &request.get_ref().request_id, Restricted::Refused)
            .await?;
        let message = request.into_inner();
        let user = message
            .user
            .ok_or_else(|| Error::invalid("user", "is required"))?;
        let user_id = parse_id("user.user_id", &user.user_id)?;
        let paths = message
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        if paths.is_empty() {
            return Err(
                Error::invalid("update_mask", "name at least one of display_name, phone").into(),
            );
        }
        let (mut display_name, mut phone) = (None, None);
        for path in &paths {
            match path.as_str() {
                "display_name" => display_name = Some(user.display_name.clone()),
                "phone" => phone = Some(user.phone.clone()),
                "email" => {
                    return Err(Error::invalid(
                        "update_mask",
                        "email changes go through ChangeEmail (verified by a link)",
                    )
                    .into());
                }
                other => {
                    return Err(Error::invalid(
                        "update_mask",
                        format!("{other:?} cannot be updated here"),
                    )
                    .into());
                }
            }
        }
        let user = self
            .identity
            .update_user(&caller, user_id, display_name, phone, &user.etag)
            .await?;
        self.identity.settle().await;
        Ok(Response::new(pb::UpdateUserResponse { user: Some(user) }))
    }

    async fn change_email(
        &self,
        request: Request<pb::ChangeEmailRequest>,
    ) -> Answer<pb::ChangeEmailResponse> {
        let caller = self
            .personal_caller(&request, &request.get_ref().request_id, Restricted::Refused)
            .await?;
        let user_id = parse_id("user_id", &request.get_ref().user_id)?;
        let user = self
            .identity
            .change_email(&caller, user_id, &request.get_ref().new_email)
            .await?;
        Ok(Response::new(pb::ChangeEmailResponse { user: Some(user) }))
    }

    async fn confirm_email_change(
        &self,
        request: Request<pb::ConfirmEmailChangeRequest>,
    ) -> Answer<pb::ConfirmEmailChangeResponse> {
        let message = request.get_ref();
        let token = required("token", &message.token)?;
        let user = self
            .identity
            .confirm_email_change(token, &message.request_id)
            .await?;
        self.identity.settle().await;
        Ok(Response::new(pb::ConfirmEmailChangeResponse {
            user: Some(user),
        }))
    }

    async fn create_service_account(
        &self,
        request: Request<pb::CreateServiceAccountRequest>,
    ) -> Answer<pb::CreateServiceAccountResponse> {
        let caller = self
            .caller(&request, &request.get_ref().request_id, Restricted::Refused)
            .await?;
        let user = self
            .identity
            .create_service_account(&caller, request.into_inner())
            .await?;
        Ok(Response::new(pb::CreateServiceAccountResponse {
            user: Some(user),
        }))
    }

    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Answer<pb::CreateApiKeyResponse> {
        let caller = self
            .personal_caller(&request, &request.get_ref().request_id, Restricted::Refused)
            .await?;
        let message = request.get_ref();
        let user_id = parse_id("user_id", &message.user_id)?;
        let expires_at = message
            .expire_time
            .as_ref()
            .map(|t| from_timestamp("expire_time", t))
            .transpose()?;
        Ok(Response::new(
            self.identity
                .create_api_key(&caller, user_id, &message.display_name, expires_at)
                .await?,
        ))
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Answer<pb::ListApiKeysResponse> {
        let caller = self
            .personal_caller(&request, "", Restricted::Refused)
            .await?;
        let message = request.get_ref();
        let user_id = parse_id("user_id", &message.user_id)?;
        let page = self.identity.list_api_keys(
            &caller,
            user_id,
            message.show_all,
            message.page_size,
            &message.page_token,
        );
        Ok(Response::new(page.await?))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Answer<pb::RevokeApiKeyResponse> {
        let caller = self
            .personal_caller(&request, &request.get_ref().request_id, Restricted::Refused)
            .await?;
        let api_key_id = parse_id("api_key_id", &request.get_ref().api_key_id)?;
        let api_key = self.identity.revoke_api_key(&caller, api_key_id).await?;
        self.identity.settle().await;
        Ok(Response::new(pb::RevokeApiKeyResponse {
            api_key: Some(api_key),
        }))
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Answer<pb::LoginResponse> {
        let source = self.identity.trusted_proxies().source(
            request.remote_addr(),
            request
                .metadata()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|value| value.to_str().ok()),
        );
        let message = request.get_ref();
        let password = required("password", &message.password)?;
        Ok(Response::new(
            self.identity
                .login(&message.email, password, source)
                .await?,
        ))
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Answer<pb::LogoutResponse> {
        let request_id = &request.get_ref().request_id;
        let caller = match self.caller(&request, request_id, Restricted::Allowed).await {
            Ok(caller) => caller,
            Err(refused) => {
                // The retry of a logout that went through presents the session it ended.
                let token = bearer_token(request.metadata())?;
                if self.identity.logout_answered(token, request_id).await? {
                    return Ok(Response::new(pb::LogoutResponse {}));
                }
                return Err(refused.into());
            }
        };
        self.identity.logout(&caller).await?;
        self.identity.settle().await;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Answer<pb::AuthenticateResponse> {
        let token = required("token", &request.get_ref().token)?;
        let principal = self.identity.authenticate_for_service(token).await?;
        Ok(Response::new(pb::AuthenticateResponse {
            principal: Some(principal),
        }))
    }

    async fn revoke_sessions(
        &self,
        request: Request<pb::RevokeSessionsRequest>,
    ) -> Answer<pb::RevokeSessionsResponse> {
        let caller = self
            .personal_caller(&request, &request.get_ref().request_id, Restricted::Refused)
            .await?;
        let user_id = parse_id("user_id", &request.get_ref().user_id)?;
        let revoked = self.identity.revoke_sessions(&caller, user_id).await?;
        self.identity.settle().await;
        Ok(Response::new(revoked))
    }

    async fn disable_user(
        &self,
        request: Request<pb::DisableUserRequest>,
    ) -> Answer<pb::DisableUserResponse> {
        let user = self.set_status(request, StatusChange::Disable).await?;
        self.identity.settle().await;
        Ok(Response::new(pb::DisableUserResponse { user: Some(user) }))
    }

    async fn enable_user(
        &self,
        request: Request<pb::EnableUserRequest>,
    ) -> Answer<pb::EnableUserResponse> {
        let user = self.set_status(request, StatusChange::Enable).await?;
        self.identity.settle().await;
        Ok(Response::new(pb::EnableUserResponse { user: Some(user) }))
    }

    async fn lock_user(
        &self,
        request: Request<pb::LockUserRequest>,
    ) -> Answer<pb::LockUserResponse> {
        let message = request.get_ref();
        let until = message
            .lock_expire_time
            .as_ref()
            .map(|t| from_timestamp("lock_expire_time", t))
            .transpose()?;
        let change = StatusChange::Lock {
            until,
            reason: message.reason.trim().to_owned(),
        };
        let user = self.set_status(request, change).await?;
        self.identity.settle().await;
        Ok(Response::new(pb::LockUserResponse { user: Some(user) }))
    }

    async fn unlock_user(
        &self,
        request: Request<pb::UnlockUserRequest>,
    ) -> Answer<pb::UnlockUserResponse> {
        let user = self.set_status(request, StatusChange::Unlock).await?;
        self.identity.settle().await;
        Ok(Response::new(pb::UnlockUserResponse { user: Some(user) }))
    }

    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Answer<pb::ChangePasswordResponse> {
        let caller = self
            .personal_caller(&request, &request.get_ref().request_id, Restricted::Allowed)
            .await?;
        let message = request.get_ref();
        let user_id = parse_id("user_id", &message.user_id)?;
        let old = required("old_password", &message.old_password)?;
        self.identity
            .change_password(&caller, user_id, old, &message.new_password)
            .await?;
        self.identity.settle().await;
        Ok(Response::new(pb::ChangePasswordResponse {}))
    }

    async fn request_password_reset(
        &self,
        request: Request<pb::RequestPasswordResetRequest>,
    ) -> Answer<pb::RequestPasswordResetResponse> {
        let message = request.get_ref();
        self.identity
            .request_password_reset(&message.email, &message.request_id)
            .await?;
        Ok(Response::new(pb::RequestPasswordResetResponse {}))
    }

    async fn reset_password(
        &self,
        request: Request<pb::ResetPasswordRequest>,
    ) -> Answer<pb::ResetPasswordResponse> {
        let message = request.get_ref();
        let token = required("token", &message.token)?;
        self.identity
            .reset_password(token, &message.new_password, &message.request_id)
            .await?;
        self.identity.settle().await;
        Ok(Response::new(pb::ResetPasswordResponse {}))
    }

    async fn set_temporary_password(
        &self,
        request: Request<pb::SetTemporaryPasswordRequest>,
    ) -> Answer<pb::SetTemporaryPasswordResponse> {
        let caller = self
            .caller(&request, &request.get_ref().request_id, Restricted::Refused)
            .await?;
        let user_id = parse_id("user_id", &request.get_ref().user_id)?;
        let temporary_password = self
            .identity
            .set_temporary_password(&caller, user_id)
            .await?;
        self.identity.settle().await;
        Ok(Response::new(pb::SetTemporaryPasswordResponse {
            temporary_password,
        }))
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Answer<pb::ListAuditEventsResponse> {
        let caller = self.caller(&request, "", Restricted::Refused).await?;
        let listing = roster_kit::audit_listing!(request.get_ref(), None)?;
        Ok(Response::new(
            self.identity.list_audit_events(&caller, &listing).await?,
        ))
    }

    async fn list_user_changes(
        &self,
        request: Request<pb::ListUserChangesRequest>,
    ) -> Answer<pb::ListUserChangesResponse> {
        let caller = self.caller(&request, "", Restricted::Refused).await?;
        let message = request.get_ref();
        Ok(Response::new(
            self.identity
                .list_user_changes(&caller, message.after_sequence, message.page_size)
                .await?,
        ))
    }

    type WatchUserChangesStream = tokio_stream::wrappers::ReceiverStream<crate::domain::Pushed>;

    async fn watch_user_changes(
        &self,
        request: Request<pb::WatchUserChangesRequest>,
    ) -> Answer<Self::WatchUserChangesStream> {
        let caller = self.caller(&request, "", Restricted::Refused).await?;
        let pushes = Arc::clone(&self.identity)
            .watch_user_changes(&caller, request.get_ref().after_sequence)
            .await?;
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            pushes,
        )))
    }

    async fn acknowledge_user_changes(
        &self,
        request: Request<pb::AcknowledgeUserChangesRequest>,
    ) -> Answer<pb::AcknowledgeUserChangesResponse> {
        let caller = self.caller(&request, "", Restricted::Refused).await?;
        Ok(Response::new(
            self.identity
                .acknowledge_user_changes(&caller, request.get_ref())
                .await?,
        ))
    }

    async fn provision_invited_user(
        &self,
        request: Request<pb::ProvisionInvitedUserRequest>,
    ) -> Answer<pb::ProvisionInvitedUserResponse> {
        let caller = self.caller(&request, "", Restricted::Refused).await?;
        let message = request.get_ref();
        let invitation_id = parse_id("invitation_id", &message.invitation_id)?;
        Ok(Response::new(
            self.identity
                .provision_invited_user(&caller, invitation_id, message)
                .await?,
        ))
    }

    async fn verify_invited_email(
        &self,
        request: Request<pb::VerifyInvitedEmailRequest>,
    ) -> Answer<pb::VerifyInvitedEmailResponse> {
        let caller = self.caller(&request, "", Restricted::Refused).await?;
        let message = request.get_ref();
        let user_id = parse_id("user_id", &message.user_id)?;
        let invitation_id = parse_id("invitation_id", &message.invitation_id)?;
        let email = roster_kit::email::normalize("email", &message.email)?;
        let user = self
            .identity
            .verify_invited_email(&caller, user_id, &email, invitation_id)
            .await?;
        Ok(Response::new(pb::VerifyInvitedEmailResponse {
            user: Some(user),
        }))
    }

    async fn request_impersonation(
        &self,
        request: Request<pb::RequestImpersonationRequest>,
    ) -> Answer<pb::RequestImpersonationResponse> {
        let message = request.get_ref();
        let caller = self
            .personal_caller(&request, &message.request_id, Restricted::Refused)
            .await?;
        let user_id = parse_id("user_id", &message.user_id)?;
        let reason = required("reason", message.reason.trim())?;
        let duration = grant_duration(message.duration.as_ref())?;
        let grant = self
            .identity
            .request_impersonation(&caller, user_id, reason, duration)
            .await?;
        Ok(Response::new(pb::RequestImpersonationResponse {
            grant: Some(grant),
        }))
    }

    async fn list_impersonation_grants(
        &self,
        request: Request<pb::ListImpersonationGrantsRequest>,
    ) -> Answer<pb::ListImpersonationGrantsResponse> {
        let caller = self
            .personal_caller(&request, "", Restricted::Refused)
            .await?;
        let message = request.get_ref();
        let query = GrantQuery {
            user_id: optional_id("user_id", &message.user_id)?,
            requester_id: optional_id("requester_user_id", &message.requester_user_id)?,
            open_only: message.open_only,
        };
        let page = self.identity.list_impersonation_grants(
            &caller,
            query,
            message.page_size,
            &message.page_token,
        );
        Ok(Response::new(page.await?))
    }

    async fn approve_impersonation(
        &self,
        request: Request<pb::ApproveImpersonationRequest>,
    ) -> Answer<pb::ApproveImpersonationResponse> {
        let message = request.get_ref();
        let grant = self
            .answer_impersonation(&request, &message.grant_id, &message.request_id, true)
            .await?;
        Ok(Response::new(pb::ApproveImpersonationResponse {
            grant: Some(grant),
        }))
    }

    async fn deny_impersonation(
        &self,
        request: Request<pb::DenyImpersonationRequest>,
    ) -> Answer<pb::DenyImpersonationResponse> {
        let message = request.get_ref();
        let grant = self
            .answer_impersonation(&request, &message.grant_id, &message.request_id, false)
            .await?;
        Ok(Response::new(pb::DenyImpersonationResponse {
            grant: Some(grant),
        }))
    }

    async fn revoke_impersonation(
        &self,
        request: Request<pb::RevokeImpersonationRequest>,
    ) -> Answer<pb::RevokeImpersonationResponse> {
        let message = request.get_ref();
        let caller = self
            .personal_caller(&request, &message.request_id, Restricted::Refused)
            .await?;
        let grant_id = parse_id("grant_id", &message.grant_id)?;
        let grant = self
            .identity
            .revoke_impersonation(&caller, grant_id)
            .await?;
        Ok(Response::new(pb::RevokeImpersonationResponse {
            grant: Some(grant),
        }))
    }

    async fn start_impersonation(
        &self,
        request: Request<pb::StartImpersonationRequest>,
    ) -> Answer<pb::StartImpersonationResponse> {
        let message = request.get_ref();
        let caller = self
            .personal_caller(&request, &message.request_id, Restricted::Refused)
            .await?;
        let grant_id = parse_id("grant_id", &message.grant_id)?;
        Ok(Response::new(
            self.identity.start_impersonation(&caller, grant_id).await?,
        ))
    }

    async fn end_impersonation(
        &self,
        request: Request<pb::EndImpersonationRequest>,
    ) -> Answer<pb::EndImpersonationResponse> {
        let caller = self
            .caller(&request, &request.get_ref().request_id, Restricted::Refused)
            .await?;
        self.identity.end_impersonation(&caller).await?;
        Ok(Response::new(pb::EndImpersonationResponse {}))
    }

    async fn list_impersonation_sessions(
        &self,
        request: Request<pb::ListImpersonationSessionsRequest>,
    ) -> Answer<pb::ListImpersonationSessionsResponse> {
        let caller = self
            .personal_caller(&request, "", Restricted::Refused)
            .await?;
        let message = request.get_ref();
        let query = ImpersonationQuery {
            user_id: optional_id("user_id", &message.user_id)?,
            impersonator_id: optional_id("impersonator_user_id", &message.impersonator_user_id)?,
            active_only: message.active_only,
        };
        let page = self.identity.list_impersonation_sessions(
            &caller,
            query,
            message.page_size,
            &message.page_token,
        );
        Ok(Response::new(page.await?))
    }

    async fn set_automatic_impersonation(
        &self,
        request: Request<pb::SetAutomaticImpersonationRequest>,
    ) -> Answer<pb::SetAutomaticImpersonationResponse> {
        let message = request.get_ref();
        let caller = self
            .personal_caller(&request, &message.request_id, Restricted::Refused)
            .await?;
        let user_id = parse_id("user_id", &message.user_id)?;
        Ok(Response::new(
            self.identity
                .set_automatic_impersonation(&caller, user_id, message.allowed)
                .await?,
        ))
    }
}
