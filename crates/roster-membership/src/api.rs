//! The tonic adapter: authenticates, parses and shape-checks requests, calls the domain.
use std::sync::Arc;

use roster_kit::auth::{Caller, parse_id};
use roster_kit::clock::to_timestamp;
use roster_kit::input::{ids, optional_id, workspace_choice};
use roster_kit::paging::parse_order_by;
use roster_kit::remote::Authenticator;
use roster_kit::{Error, Result};
use roster_proto::membership as pb;
use roster_proto::membership::membership_service_server::{
    MembershipService, MembershipServiceServer,
};
use tonic::{Request, Response, Status};

use crate::domain::accounts::AccountPatch;
use crate::domain::custodians::CustodianPatch;
use crate::domain::model::{InvitationScope, MemberStatus};
use crate::domain::roles::RolePatch;
use crate::domain::workspaces::WorkspacePatch;
use crate::domain::{MemberChange, MemberOrder, MemberQuery, Membership, PERMISSIONS, SeatHold};

/// Membership's gRPC service.
#[derive(Debug, Clone)]
pub struct MembershipApi {
    membership: Arc<Membership>,
    authenticator: Authenticator,
}

type Answer<T> = std::result::Result<Response<T>, Status>;

impl MembershipApi {
    /// Serves `membership`, resolving callers with `authenticator`.
    pub fn new(membership: Arc<Membership>, authenticator: Authenticator) -> Self {
        Self {
            membership,
            authenticator,
        }
    }

    /// The tonic server of this service.
    pub fn into_server(self) -> MembershipServiceServer<Self> {
        MembershipServiceServer::new(self)
    }

    async fn caller<T>(&self, request: &Request<T>, request_id: &str) -> Result<Caller> {
        self.authenticator
            .caller(request.metadata(), request_id)
            .await
    }

    async fn change_member(
        &self,
        request: Request<impl MemberRequest>,
        change: MemberChange,
    ) -> Result<pb::RemoveMemberResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, message.request_id()).await?;
        let workspace_id = parse_id("workspace_id", message.workspace_id())?;
        let user_id = parse_id("user_id", message.user_id())?;
        self.membership
            .change_member(&caller, workspace_id, user_id, change)
            .await
    }
}

/// The fields every member status request has.
trait MemberRequest {
    fn workspace_id(&self) -> &str;
    fn user_id(&self) -> &str;
    fn request_id(&self) -> &str;
}

macro_rules! member_request {
    ($($request:ty),*) => {$(
        impl MemberRequest for $request {
            fn workspace_id(&self) -> &str { &self.workspace_id }
            fn user_id(&self) -> &str { &self.user_id }
            fn request_id(&self) -> &str { &self.request_id }
        }
    )*};
}
member_request!(
    pb::SuspendMemberRequest,
    pb::ResumeMemberRequest,
    pb::RemoveMemberRequest,
    pb::RestoreMemberRequest,
    pb::PurgeMemberRequest
);

fn mask_paths(mask: Option<prost_types::FieldMask>, allowed: &str) -> Result<Vec<String>> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        return Err(Error::invalid(
            "update_mask",
            format!("name at least one of {allowed}"),
        ));
    }
    Ok(paths)
}

fn unknown_path(path: &str) -> Error {
    Error::invalid("update_mask", format!("{path:?} cannot be updated here"))
}

/// A settings duration in whole seconds: at least a minute, at most 10 years.
fn seconds(field: &str, duration: Option<&prost_types::Duration>) -> Result<i64> {
    let secs = duration.map_or(0, |d| d.seconds);
    if !(60..=10 * 365 * 24 * 3600).contains(&secs) {
        return Err(Error::invalid(
            field,
            "must be between 1 minute and 10 years",
        ));
    }
    Ok(secs)
}

/// How long a seat hold lasts: 1 second to 1 hour.
fn hold_ttl(ttl: Option<&prost_types::Duration>) -> Result<chrono::Duration> {
    let secs = ttl.map_or(0, |d| d.seconds);
    if !(1..=3600).contains(&secs) {
        return Err(Error::invalid("ttl", "must be between 1 second and 1 hour"));
    }
    Ok(chrono::Duration::seconds(secs))
}

fn email_domains(field: &str, domains: &[String]) -> Result<Vec<String>> {
    let mut clean: Vec<String> = Vec::new();
    for (i, raw) in domains.iter().enumerate() {
        let domain = raw.trim().trim_start_matches('@').to_lowercase();
        if roster_kit::email::normalize("", &format!("x@{domain}")).is_err() {
            return Err(Error::invalid(
                format!("{field}[{i}]"),
                format!("{raw:?} is not an email domain"),
            ));
        }
        if !clean.contains(&domain) {
            clean.push(domain);
        }
    }
    Ok(clean)
}

/// The settings of a create (unset fields keep defaults) or of an update's mask paths.
fn account_patch(
    settings: Option<&pb::AccountSettings>,
    paths: Option<&[String]>,
) -> Result<AccountPatch> {
    let mut patch = AccountPatch::default();
    let Some(settings) = settings else {
        return Ok(patch);
    };
    let named = |path: &str| {
        paths.is_none_or(|paths| {
            paths
                .iter()
                .any(|p| p == path || p == "settings" || p == &format!("settings.{path}"))
        })
    };
    // On create, a duration left unset keeps its default.
    let given = |d: &Option<prost_types::Duration>| paths.is_some() || d.is_some();
    if named("invitation_lifetime") && given(&settings.invitation_lifetime) {
        patch.invitation_lifetime_secs = Some(seconds(
            "settings.invitation_lifetime",
            settings.invitation_lifetime.as_ref(),
        )?);
    }
    if named("impersonation_window") && given(&settings.impersonation_window) {
        patch.impersonation_window_secs = Some(seconds(
            "settings.impersonation_window",
            settings.impersonation_window.as_ref(),
        )?);
    }
    if named("restore_window") && given(&settings.restore_window) {
        patch.restore_window_secs = Some(seconds(
            "settings.restore_window",
            settings.restore_window.as_ref(),
        )?);
    }
    if named("allowed_email_domains") {
        patch.allowed_email_domains = Some(email_domains(
            "settings.allowed_email_domains",
            &settings.allowed_email_domains,
        )?);
    }
    if paths.is_some() && named("self_service_password_reset") {
        patch.self_service_password_reset = Some(settings.self_service_password_reset);
    }
    if named("invitation_scope") && (paths.is_some() || settings.invitation_scope != 0) {
        let scope = pb::InvitationScope::try_from(settings.invitation_scope).map_err(|_| {
            Error::invalid("settings.invitation_scope", "is not an invitation scope")
        })?;
        patch.invitation_scope = Some(InvitationScope::from_proto(scope));
    }
    Ok(patch)
}

fn member_query(request: &pb::ListMembersRequest) -> Result<MemberQuery> {
    let kind = match request.kind() {
        pb::MemberKind::Unspecified => None,
        pb::MemberKind::Human => Some("human"),
        pb::MemberKind::Service => Some("service"),
    };
    let mut statuses = Vec::new();
    for (i, value) in request.statuses.iter().enumerate() {
        let status = pb::MemberStatus::try_from(*value)
            .ok()
            .and_then(MemberStatus::from_proto)
            .ok_or_else(|| Error::invalid(format!("statuses[{i}]"), "is not a member status"))?;
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    if statuses.is_empty() {
        statuses = vec![MemberStatus::Active, MemberStatus::Suspended];
    }
    let (order, descending) = parse_order_by(
        &request.order_by,
        &[
            ("display_name", MemberOrder::DisplayName),
            ("email", MemberOrder::Email),
            ("join_time", MemberOrder::JoinTime),
        ],
    )?;
    let query = request.query.trim();
    Ok(MemberQuery {
        workspace_id: parse_id("workspace_id", &request.workspace_id)?,
        kind,
        statuses,
        role_id: optional_id("role_id", &request.role_id)?,
        query: (!query.is_empty()).then(|| query.to_owned()),
        order,
        descending,
    })
}

#[tonic::async_trait]
impl MembershipService for MembershipApi {
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Answer<pb::CreateAccountResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let message = request.get_ref();
        let patch = account_patch(message.settings.as_ref(), None)?;
        let account = self
            .membership
            .create_account(&caller, &message.name, patch)
            .await?;
        Ok(Response::new(pb::CreateAccountResponse {
            account: Some(account),
        }))
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Answer<pb::GetAccountResponse> {
        let caller = self.caller(&request, "").await?;
        let account_id = parse_id("account_id", &request.get_ref().account_id)?;
        let account = self.membership.get_account(&caller, account_id).await?;
        Ok(Response::new(pb::GetAccountResponse {
            account: Some(account),
        }))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Answer<pb::ListAccountsResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let query = Some(message.query.trim().to_owned()).filter(|q| !q.is_empty());
        Ok(Response::new(
            self.membership
                .list_accounts(&caller, query, message.page_size, &message.page_token)
                .await?,
        ))
    }

    async fn update_account(
        &self,
        request: Request<pb::UpdateAccountRequest>,
    ) -> Answer<pb::UpdateAccountResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let message = request.into_inner();
        let account = message
            .account
            .ok_or_else(|| Error::invalid("account", "is required"))?;
        let account_id = parse_id("account.account_id", &account.account_id)?;
        let paths = mask_paths(message.update_mask, "name, settings.*, seat_allowance")?;
        for path in &paths {
            let known = path == "name"
                || path == "seat_allowance"
                || path == "settings"
                || [
                    "invitation_lifetime",
                    "allowed_email_domains",
                    "impersonation_window",
                    "restore_window",
                    "self_service_password_reset",
                    "invitation_scope",
                ]
                .iter()
                .any(|field| *path == format!("settings.{field}"));
            if !known {
                return Err(unknown_path(path).into());
            }
        }
        let default_settings = pb::AccountSettings::default();
        let mut patch = account_patch(
            Some(account.settings.as_ref().unwrap_or(&default_settings)),
            Some(&paths),
        )?;
        if paths.iter().any(|p| p == "name") {
            patch.name = Some(account.name.clone());
        }
        if paths.iter().any(|p| p == "seat_allowance") {
            if account.seat_allowance < 0 {
                return Err(Error::invalid(
                    "account.seat_allowance",
                    "must not be negative (0 means no allowance)",
                )
                .into());
            }
            patch.seat_allowance = Some(account.seat_allowance);
        }
        let account = self
            .membership
            .update_account(&caller, account_id, patch, &account.etag)
            .await?;
        Ok(Response::new(pb::UpdateAccountResponse {
            account: Some(account),
        }))
    }

    async fn add_account_administrator(
        &self,
        request: Request<pb::AddAccountAdministratorRequest>,
    ) -> Answer<pb::AddAccountAdministratorResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, &message.request_id).await?;
        let account_id = parse_id("account_id", &message.account_id)?;
        let user_id = parse_id("user_id", &message.user_id)?;
        let account = self
            .membership
            .set_administrator(&caller, account_id, user_id, true)
            .await?;
        Ok(Response::new(pb::AddAccountAdministratorResponse {
            account: Some(account),
        }))
    }

    async fn remove_account_administrator(
        &self,
        request: Request<pb::RemoveAccountAdministratorRequest>,
    ) -> Answer<pb::RemoveAccountAdministratorResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, &message.request_id).await?;
        let account_id = parse_id("account_id", &message.account_id)?;
        let user_id = parse_id("user_id", &message.user_id)?;
        let account = self
            .membership
            .set_administrator(&caller, account_id, user_id, false)
            .await?;
        Ok(Response::new(pb::RemoveAccountAdministratorResponse {
            account: Some(account),
        }))
    }

    async fn create_workspace(
        &self,
        request: Request<pb::CreateWorkspaceRequest>,
    ) -> Answer<pb::CreateWorkspaceResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, &message.request_id).await?;
        let account_id = parse_id("account_id", &message.account_id)?;
        let default_role_id = optional_id("default_role_id", &message.default_role_id)?;
        let workspace = self
            .membership
            .create_workspace(
                &caller,
                account_id,
                &message.name,
                message.seat_limit,
                default_role_id,
            )
            .await?;
        Ok(Response::new(pb::CreateWorkspaceResponse {
            workspace: Some(workspace),
        }))
    }

    async fn get_workspace(
        &self,
        request: Request<pb::GetWorkspaceRequest>,
    ) -> Answer<pb::GetWorkspaceResponse> {
        let caller = self.caller(&request, "").await?;
        let workspace_id = parse_id("workspace_id", &request.get_ref().workspace_id)?;
        let workspace = self.membership.get_workspace(&caller, workspace_id).await?;
        Ok(Response::new(pb::GetWorkspaceResponse {
            workspace: Some(workspace),
        }))
    }

    async fn list_workspaces(
        &self,
        request: Request<pb::ListWorkspacesRequest>,
    ) -> Answer<pb::ListWorkspacesResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let account_id = parse_id("account_id", &message.account_id)?;
        Ok(Response::new(
            self.membership
                .list_workspaces(&caller, account_id, message.page_size, &message.page_token)
                .await?,
        ))
    }

    async fn update_workspace(
        &self,
        request: Request<pb::UpdateWorkspaceRequest>,
    ) -> Answer<pb::UpdateWorkspaceResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let message = request.into_inner();
        let workspace = message
            .workspace
            .ok_or_else(|| Error::invalid("workspace", "is required"))?;
        let workspace_id = parse_id("workspace.workspace_id", &workspace.workspace_id)?;
        let mut patch = WorkspacePatch::default();
        for path in mask_paths(message.update_mask, "name, seat_limit, default_role_id")? {
            match path.as_str() {
                "name" => patch.name = Some(workspace.name.clone()),
                "seat_limit" => patch.seat_limit = Some(workspace.seat_limit),
                "default_role_id" => {
                    patch.default_role_id = Some(parse_id(
                        "workspace.default_role_id",
                        &workspace.default_role_id,
                    )?);
                }
                other => return Err(unknown_path(other).into()),
            }
        }
        let workspace = self
            .membership
            .update_workspace(&caller, workspace_id, patch, &workspace.etag)
            .await?;
        Ok(Response::new(pb::UpdateWorkspaceResponse {
            workspace: Some(workspace),
        }))
    }

    async fn get_seat_usage(
        &self,
        request: Request<pb::GetSeatUsageRequest>,
    ) -> Answer<pb::GetSeatUsageResponse> {
        let caller = self.caller(&request, "").await?;
        let workspace_id = parse_id("workspace_id", &request.get_ref().workspace_id)?;
        let seat_usage = self
            .membership
            .get_seat_usage(&caller, workspace_id)
            .await?;
        Ok(Response::new(pb::GetSeatUsageResponse {
            seat_usage: Some(seat_usage),
        }))
    }

    async fn create_role(
        &self,
        request: Request<pb::CreateRoleRequest>,
    ) -> Answer<pb::CreateRoleResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, &message.request_id).await?;
        let account_id = parse_id("account_id", &message.account_id)?;
        let role = self
            .membership
            .create_role(
                &caller,
                account_id,
                &message.name,
                &message.description,
                &message.permissions,
            )
            .await?;
        Ok(Response::new(pb::CreateRoleResponse { role: Some(role) }))
    }

    async fn update_role(
        &self,
        request: Request<pb::UpdateRoleRequest>,
    ) -> Answer<pb::UpdateRoleResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let message = request.into_inner();
        let role = message
            .role
            .ok_or_else(|| Error::invalid("role", "is required"))?;
        let role_id = parse_id("role.role_id", &role.role_id)?;
        let mut patch = RolePatch::default();
        for path in mask_paths(message.update_mask, "name, description, permissions")? {
            match path.as_str() {
                "name" => patch.name = Some(role.name.clone()),
                "description" => patch.description = Some(role.description.clone()),
                "permissions" => patch.permissions = Some(role.permissions.clone()),
                other => return Err(unknown_path(other).into()),
            }
        }
        let role = self.membership.update_role(&caller, role_id, patch).await?;
        Ok(Response::new(pb::UpdateRoleResponse { role: Some(role) }))
    }

    async fn delete_role(
        &self,
        request: Request<pb::DeleteRoleRequest>,
    ) -> Answer<pb::DeleteRoleResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let role_id = parse_id("role_id", &request.get_ref().role_id)?;
        self.membership.delete_role(&caller, role_id).await?;
        Ok(Response::new(pb::DeleteRoleResponse {}))
    }

    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Answer<pb::ListRolesResponse> {
        let caller = self.caller(&request, "").await?;
        let account_id = parse_id("account_id", &request.get_ref().account_id)?;
        let roles = self.membership.list_roles(&caller, account_id).await?;
        Ok(Response::new(pb::ListRolesResponse { roles }))
    }

    async fn list_permissions(
        &self,
        request: Request<pb::ListPermissionsRequest>,
    ) -> Answer<pb::ListPermissionsResponse> {
        self.caller(&request, "").await?;
        let permissions = PERMISSIONS
            .iter()
            .map(|(name, description)| pb::Permission {
                name: (*name).to_owned(),
                description: (*description).to_owned(),
            })
            .collect();
        Ok(Response::new(pb::ListPermissionsResponse { permissions }))
    }

    async fn add_member(
        &self,
        request: Request<pb::AddMemberRequest>,
    ) -> Answer<pb::AddMemberResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, &message.request_id).await?;
        let account_id = parse_id("account_id", &message.account_id)?;
        let workspace_ids = workspace_choice(&message.workspace_ids, message.all_workspaces)?;
        let user_id = parse_id("user_id", &message.user_id)?;
        let role_ids = ids("role_ids", &message.role_ids)?;
        let members = self
            .membership
            .add_member(&caller, account_id, workspace_ids, user_id, role_ids)
            .await?;
        Ok(Response::new(pb::AddMemberResponse { members }))
    }

    async fn hold_seats(
        &self,
        request: Request<pb::HoldSeatsRequest>,
    ) -> Answer<pb::HoldSeatsResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let hold = SeatHold {
            id: parse_id("hold_id", &message.hold_id)?,
            account_id: parse_id("account_id", &message.account_id)?,
            workspace_ids: workspace_choice(&message.workspace_ids, message.all_workspaces)?,
            user_id: optional_id("user_id", &message.user_id)?,
            ttl: hold_ttl(message.ttl.as_ref())?,
        };
        let expires_at = self.membership.hold_seats(&caller, hold).await?;
        Ok(Response::new(pb::HoldSeatsResponse {
            expire_time: expires_at.map(to_timestamp),
        }))
    }

    async fn release_seats(
        &self,
        request: Request<pb::ReleaseSeatsRequest>,
    ) -> Answer<pb::ReleaseSeatsResponse> {
        let caller = self.caller(&request, "").await?;
        let hold_id = parse_id("hold_id", &request.get_ref().hold_id)?;
        self.membership.release_seats(&caller, hold_id).await?;
        Ok(Response::new(pb::ReleaseSeatsResponse {}))
    }

    async fn get_member(
        &self,
        request: Request<pb::GetMemberRequest>,
    ) -> Answer<pb::GetMemberResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let workspace_id = parse_id("workspace_id", &message.workspace_id)?;
        let user_id = parse_id("user_id", &message.user_id)?;
        let member = self
            .membership
            .get_member(&caller, workspace_id, user_id)
            .await?;
        Ok(Response::new(pb::GetMemberResponse {
            member: Some(member),
        }))
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Answer<pb::ListMembersResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let query = member_query(message)?;
        Ok(Response::new(
            self.membership
                .list_members(&caller, query, message.page_size, &message.page_token)
                .await?,
        ))
    }

    async fn update_member_roles(
        &self,
        request: Request<pb::UpdateMemberRolesRequest>,
    ) -> Answer<pb::UpdateMemberRolesResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, &message.request_id).await?;
        let workspace_id = parse_id("workspace_id", &message.workspace_id)?;
        let user_id = parse_id("user_id", &message.user_id)?;
        let role_ids = ids("role_ids", &message.role_ids)?;
        let member = self
            .membership
            .update_member_roles(&caller, workspace_id, user_id, role_ids)
            .await?;
        Ok(Response::new(pb::UpdateMemberRolesResponse {
            member: Some(member),
        }))
    }

    async fn suspend_member(
        &self,
        request: Request<pb::SuspendMemberRequest>,
    ) -> Answer<pb::SuspendMemberResponse> {
        let changed = self.change_member(request, MemberChange::Suspend).await?;
        Ok(Response::new(pb::SuspendMemberResponse {
            member: changed.member,
        }))
    }

    async fn resume_member(
        &self,
        request: Request<pb::ResumeMemberRequest>,
    ) -> Answer<pb::ResumeMemberResponse> {
        let changed = self.change_member(request, MemberChange::Resume).await?;
        Ok(Response::new(pb::ResumeMemberResponse {
            member: changed.member,
        }))
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Answer<pb::RemoveMemberResponse> {
        let transfer_to = optional_id(
            "transfer_to_user_id",
            &request.get_ref().transfer_to_user_id,
        )?;
        let removed = self
            .change_member(request, MemberChange::Remove { transfer_to })
            .await?;
        Ok(Response::new(removed))
    }

    async fn restore_member(
        &self,
        request: Request<pb::RestoreMemberRequest>,
    ) -> Answer<pb::RestoreMemberResponse> {
        let restored = self.change_member(request, MemberChange::Restore).await?;
        Ok(Response::new(pb::RestoreMemberResponse {
            member: restored.member,
            removal: restored.removal,
        }))
    }

    async fn remove_account_member(
        &self,
        request: Request<pb::RemoveAccountMemberRequest>,
    ) -> Answer<pb::RemoveAccountMemberResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let message = request.get_ref();
        let account_id = parse_id("account_id", &message.account_id)?;
        let user_id = parse_id("user_id", &message.user_id)?;
        let transfer_to = optional_id("transfer_to_user_id", &message.transfer_to_user_id)?;
        let removed = self
            .membership
            .remove_account_member(&caller, account_id, user_id, transfer_to)
            .await?;
        Ok(Response::new(removed))
    }

    async fn preview_removal(
        &self,
        request: Request<pb::PreviewRemovalRequest>,
    ) -> Answer<pb::PreviewRemovalResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let workspace_id = parse_id("workspace_id", &message.workspace_id)?;
        let user_id = parse_id("user_id", &message.user_id)?;
        let transfer_to = optional_id("transfer_to_user_id", &message.transfer_to_user_id)?;
        let custodians = self
            .membership
            .preview_removal(&caller, workspace_id, user_id, transfer_to)
            .await?;
        Ok(Response::new(pb::PreviewRemovalResponse { custodians }))
    }

    async fn get_removal(
        &self,
        request: Request<pb::GetRemovalRequest>,
    ) -> Answer<pb::GetRemovalResponse> {
        let caller = self.caller(&request, "").await?;
        let removal_id = parse_id("removal_id", &request.get_ref().removal_id)?;
        let removal = self.membership.get_removal(&caller, removal_id).await?;
        Ok(Response::new(pb::GetRemovalResponse {
            removal: Some(removal),
        }))
    }

    async fn list_removals(
        &self,
        request: Request<pb::ListRemovalsRequest>,
    ) -> Answer<pb::ListRemovalsResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let account_id = parse_id("account_id", &message.account_id)?;
        let workspace_id = optional_id("workspace_id", &message.workspace_id)?;
        let user_id = optional_id("user_id", &message.user_id)?;
        let page = self
            .membership
            .list_removals(
                &caller,
                account_id,
                workspace_id,
                user_id,
                message.page_size,
                &message.page_token,
            )
            .await?;
        Ok(Response::new(page))
    }

    async fn retry_removal(
        &self,
        request: Request<pb::RetryRemovalRequest>,
    ) -> Answer<pb::RetryRemovalResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let removal_id = parse_id("removal_id", &request.get_ref().removal_id)?;
        let removal = self.membership.retry_removal(&caller, removal_id).await?;
        Ok(Response::new(pb::RetryRemovalResponse {
            removal: Some(removal),
        }))
    }

    async fn purge_member(
        &self,
        request: Request<pb::PurgeMemberRequest>,
    ) -> Answer<pb::PurgeMemberResponse> {
        self.change_member(request, MemberChange::Purge).await?;
        Ok(Response::new(pb::PurgeMemberResponse {}))
    }

    async fn list_user_memberships(
        &self,
        request: Request<pb::ListUserMembershipsRequest>,
    ) -> Answer<pb::ListUserMembershipsResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let user_id = parse_id("user_id", &message.user_id)?;
        let memberships = self
            .membership
            .list_user_memberships(&caller, user_id, message.show_removed)
            .await?;
        Ok(Response::new(pb::ListUserMembershipsResponse {
            memberships,
        }))
    }

    async fn check_permission(
        &self,
        request: Request<pb::CheckPermissionRequest>,
    ) -> Answer<pb::CheckPermissionResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let user_id = parse_id("user_id", &message.user_id)?;
        let workspace_id = parse_id("workspace_id", &message.workspace_id)?;
        Ok(Response::new(
            self.membership
                .check_permission(&caller, user_id, workspace_id, message.permission.trim())
                .await?,
        ))
    }

    async fn batch_check_permission(
        &self,
        request: Request<pb::BatchCheckPermissionRequest>,
    ) -> Answer<pb::BatchCheckPermissionResponse> {
        let caller = self.caller(&request, "").await?;
        let checks = &request.get_ref().checks;
        let mut parsed = Vec::with_capacity(checks.len());
        for (i, check) in checks.iter().enumerate() {
            parsed.push((
                parse_id(&format!("checks[{i}].user_id"), &check.user_id)?,
                parse_id(&format!("checks[{i}].workspace_id"), &check.workspace_id)?,
                check.permission.trim(),
            ));
        }
        let answers = parsed
            .into_iter()
            .map(|(user_id, workspace_id, permission)| {
                self.membership
                    .check_permission(&caller, user_id, workspace_id, permission)
            });
        let results = futures::future::try_join_all(answers).await?;
        Ok(Response::new(pb::BatchCheckPermissionResponse { results }))
    }

    async fn define_custom_field(
        &self,
        request: Request<pb::DefineCustomFieldRequest>,
    ) -> Answer<pb::DefineCustomFieldResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let field = request
            .into_inner()
            .field
            .ok_or_else(|| Error::invalid("field", "is required"))?;
        let account_id = parse_id("field.account_id", &field.account_id)?;
        let field = self
            .membership
            .define_custom_field(&caller, account_id, field)
            .await?;
        Ok(Response::new(pb::DefineCustomFieldResponse {
            field: Some(field),
        }))
    }

    async fn list_custom_fields(
        &self,
        request: Request<pb::ListCustomFieldsRequest>,
    ) -> Answer<pb::ListCustomFieldsResponse> {
        let caller = self.caller(&request, "").await?;
        let account_id = parse_id("account_id", &request.get_ref().account_id)?;
        let fields = self
            .membership
            .list_custom_fields(&caller, account_id)
            .await?;
        Ok(Response::new(pb::ListCustomFieldsResponse { fields }))
    }

    async fn set_custom_field_values(
        &self,
        request: Request<pb::SetCustomFieldValuesRequest>,
    ) -> Answer<pb::SetCustomFieldValuesResponse> {
        let message = request.get_ref();
        let caller = self.caller(&request, &message.request_id).await?;
        let account_id = parse_id("account_id", &message.account_id)?;
        let user_id = optional_id("user_id", &message.user_id)?;
        Ok(Response::new(
            self.membership
                .set_custom_field_values(&caller, account_id, user_id, &message.values)
                .await?,
        ))
    }

    async fn check_user_administration(
        &self,
        request: Request<pb::CheckUserAdministrationRequest>,
    ) -> Answer<pb::CheckUserAdministrationResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let administrator_id = parse_id("administrator_user_id", &message.administrator_user_id)?;
        let user_id = parse_id("user_id", &message.user_id)?;
        let administration = self
            .membership
            .check_user_administration(&caller, administrator_id, user_id)
            .await?;
        Ok(Response::new(pb::CheckUserAdministrationResponse {
            allowed: administration.allowed,
            impersonation_window: Some(prost_types::Duration {
                seconds: administration.impersonation_window_secs,
                nanos: 0,
            }),
        }))
    }

    async fn check_self_service_password_reset(
        &self,
        request: Request<pb::CheckSelfServicePasswordResetRequest>,
    ) -> Answer<pb::CheckSelfServicePasswordResetResponse> {
        let caller = self.caller(&request, "").await?;
        let user_id = parse_id("user_id", &request.get_ref().user_id)?;
        let allowed = self
            .membership
            .check_self_service_password_reset(&caller, user_id)
            .await?;
        Ok(Response::new(pb::CheckSelfServicePasswordResetResponse {
            allowed,
        }))
    }

    async fn check_invitees(
        &self,
        request: Request<pb::CheckInviteesRequest>,
    ) -> Answer<pb::CheckInviteesResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let account_id = parse_id("account_id", &message.account_id)?;
        let workspace_ids = workspace_choice(&message.workspace_ids, message.all_workspaces)?;
        let role_ids = ids("role_ids", &message.role_ids)?;
        let answer = self
            .membership
            .check_invitees(
                &caller,
                account_id,
                workspace_ids,
                role_ids,
                &message.emails,
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn check_asset_access(
        &self,
        request: Request<pb::CheckAssetAccessRequest>,
    ) -> Answer<pb::CheckAssetAccessResponse> {
        let caller = self.caller(&request, "").await?;
        let message = request.get_ref();
        let workspace_id = parse_id("workspace_id", &message.workspace_id)?;
        let owner_id = parse_id("owner_user_id", &message.owner_user_id)?;
        let actor_id = parse_id("actor_user_id", &message.actor_user_id)?;
        let answer = self
            .membership
            .check_asset_access(&caller, workspace_id, owner_id, actor_id)
            .await?;
        Ok(Response::new(answer))
    }

    async fn create_custodian(
        &self,
        request: Request<pb::CreateCustodianRequest>,
    ) -> Answer<pb::CreateCustodianResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let custodian = request
            .into_inner()
            .custodian
            .ok_or_else(|| Error::invalid("custodian", "is required"))?;
        let custodian = self
            .membership
            .create_custodian(
                &caller,
                &custodian.name,
                &custodian.url,
                &custodian.description,
            )
            .await?;
        Ok(Response::new(pb::CreateCustodianResponse {
            custodian: Some(custodian),
        }))
    }

    async fn list_custodians(
        &self,
        request: Request<pb::ListCustodiansRequest>,
    ) -> Answer<pb::ListCustodiansResponse> {
        let caller = self.caller(&request, "").await?;
        let custodians = self.membership.list_custodians(&caller).await?;
        Ok(Response::new(pb::ListCustodiansResponse { custodians }))
    }

    async fn update_custodian(
        &self,
        request: Request<pb::UpdateCustodianRequest>,
    ) -> Answer<pb::UpdateCustodianResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let message = request.into_inner();
        let custodian = message
            .custodian
            .ok_or_else(|| Error::invalid("custodian", "is required"))?;
        let custodian_id = parse_id("custodian.custodian_id", &custodian.custodian_id)?;
        let mut patch = CustodianPatch::default();
        for path in mask_paths(message.update_mask, "name, url, description")? {
            match path.as_str() {
                "name" => patch.name = Some(custodian.name.clone()),
                "url" => patch.url = Some(custodian.url.clone()),
                "description" => patch.description = Some(custodian.description.clone()),
                other => return Err(unknown_path(other).into()),
            }
        }
        let custodian = self
            .membership
            .update_custodian(&caller, custodian_id, patch)
            .await?;
        Ok(Response::new(pb::UpdateCustodianResponse {
            custodian: Some(custodian),
        }))
    }

    async fn delete_custodian(
        &self,
        request: Request<pb::DeleteCustodianRequest>,
    ) -> Answer<pb::DeleteCustodianResponse> {
        let caller = self.caller(&request, &request.get_ref().request_id).await?;
        let message = request.get_ref();
        let custodian_id = parse_id("custodian_id", &message.custodian_id)?;
        self.membership
            .delete_custodian(&caller, custodian_id, message.force)
            .await?;
        Ok(Response::new(pb::DeleteCustodianResponse {}))
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
            self.membership.list_audit_events(&caller, &listing).await?,
        ))
    }
}
