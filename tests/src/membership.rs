//! Membership helpers: an account with a workspace and its built-in roles, members added
//! as the operator, people with sessions, and polling for what follows identity's feed.
use std::future::Future;
use std::time::Duration;

use roster_proto::identity as id;
use roster_proto::membership as pb;
use tonic::{Code, Status};

use crate::{TestEnv, as_user};

/// The password of every person created by [`TestEnv::create_person`].
pub const PERSON_PASSWORD: &str = "correct horse battery";

/// An account with one workspace, as the operator created them.
#[derive(Debug, Clone)]
pub struct Company {
    /// The account.
    pub account: pb::Account,
    /// Its first workspace.
    pub workspace: pb::Workspace,
    /// The built-in admin role of the account.
    pub admin_role_id: String,
    /// The built-in member role of the account.
    pub member_role_id: String,
}

impl Company {
    /// The account's id.
    pub fn account_id(&self) -> &str {
        &self.account.account_id
    }

    /// The first workspace's id.
    pub fn workspace_id(&self) -> &str {
        &self.workspace.workspace_id
    }
}

/// A person who can log in, with an open session.
#[derive(Debug, Clone)]
pub struct Person {
    /// The identity user.
    pub user: id::User,
    /// A session token.
    pub session: String,
}

impl Person {
    /// The user's id.
    pub fn id(&self) -> &str {
        &self.user.user_id
    }
}

/// A fresh request id.
pub fn request_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Polls `probe` every 50 ms until it answers `Some`, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestEnv {
    /// Creates an account as the operator (who becomes its first administrator).
    pub async fn create_account(&self, name: &str) -> pb::Account {
        let request = pb::CreateAccountRequest {
            name: name.to_owned(),
            request_id: request_id(),
            ..Default::default()
        };
        self.membership()
            .create_account(as_user(&self.operator_token, request))
            .await
            .expect("create account")
            .into_inner()
            .account
            .expect("account")
    }

    /// The account's roles, built-in first (as the operator).
    pub async fn list_roles(&self, account_id: &str) -> Vec<pb::Role> {
        let request = pb::ListRolesRequest {
            account_id: account_id.to_owned(),
        };
        self.membership()
            .list_roles(as_user(&self.operator_token, request))
            .await
            .expect("list roles")
            .into_inner()
            .roles
    }

    /// Creates a workspace as the operator.
    pub async fn create_workspace(
        &self,
        account_id: &str,
        name: &str,
        seat_limit: i32,
    ) -> pb::Workspace {
        self.try_create_workspace(&self.operator_token, account_id, name, seat_limit)
            .await
            .expect("create workspace")
    }

    /// Creates a workspace as the holder of `token` (`seat_limit` 0 = unlimited).
    pub async fn try_create_workspace(
        &self,
        token: &str,
        account_id: &str,
        name: &str,
        seat_limit: i32,
    ) -> Result<pb::Workspace, Status> {
        let request = pb::CreateWorkspaceRequest {
            account_id: account_id.to_owned(),
            name: name.to_owned(),
            seat_limit,
            request_id: request_id(),
            ..Default::default()
        };
        Ok(self
            .membership()
            .create_workspace(as_user(token, request))
            .await?
            .into_inner()
            .workspace
            .expect("workspace"))
    }

    /// An account named `name` with one workspace "Main" (`seat_limit` 0 = unlimited).
    pub async fn create_company(&self, name: &str, seat_limit: i32) -> Company {
        let account = self.create_account(name).await;
        let workspace = self
            .create_workspace(&account.account_id, "Main", seat_limit)
            .await;
        let roles = self.list_roles(&account.account_id).await;
        let role = |name: &str| {
            roles
                .iter()
                .find(|r| r.name == name && r.built_in)
                .unwrap_or_else(|| panic!("built-in role {name} in {roles:?}"))
                .role_id
                .clone()
        };
        Company {
            admin_role_id: role("admin"),
            member_role_id: role("member"),
            account,
            workspace,
        }
    }

    /// Creates a person without a password (cheap: nothing to hash); they cannot log in.
    pub async fn create_plain_user(&self, email: &str, display_name: &str) -> id::User {
        let request = id::CreateUserRequest {
            email: email.to_owned(),
            display_name: display_name.to_owned(),
            ..Default::default()
        };
        self.identity()
            .create_user(as_user(&self.operator_token, request))
            .await
            .expect("create user")
            .into_inner()
            .user
            .expect("user")
    }

    /// Creates a person with [`PERSON_PASSWORD`] and logs them in.
    pub async fn create_person(&self, email: &str) -> Person {
        let user = self.create_user(email, PERSON_PASSWORD).await;
        let session = self.login(email, PERSON_PASSWORD).await;
        Person { user, session }
    }

    /// Creates a service account.
    pub async fn create_service_account(&self, display_name: &str) -> id::User {
        let request = id::CreateServiceAccountRequest {
            display_name: display_name.to_owned(),
            request_id: request_id(),
            ..Default::default()
        };
        self.identity()
            .create_service_account(as_user(&self.operator_token, request))
            .await
            .expect("create service account")
            .into_inner()
            .user
            .expect("user")
    }

    /// AddMember as the operator, into the given workspaces with the given roles.
    pub async fn try_add_member(
        &self,
        account_id: &str,
        workspace_ids: &[&str],
        user_id: &str,
        role_ids: &[&str],
    ) -> Result<Vec<pb::Member>, Status> {
        let request = pb::AddMemberRequest {
            account_id: account_id.to_owned(),
            workspace_ids: workspace_ids.iter().map(|w| (*w).to_owned()).collect(),
            user_id: user_id.to_owned(),
            role_ids: role_ids.iter().map(|r| (*r).to_owned()).collect(),
            request_id: request_id(),
            ..Default::default()
        };
        Ok(self
            .membership()
            .add_member(as_user(&self.operator_token, request))
            .await?
            .into_inner()
            .members)
    }

    /// Adds a user to the company's workspace with the given roles (empty = default role).
    pub async fn add_member(
        &self,
        company: &Company,
        user_id: &str,
        role_ids: &[&str],
    ) -> pb::Member {
        let mut members = self
            .try_add_member(
                company.account_id(),
                &[company.workspace_id()],
                user_id,
                role_ids,
            )
            .await
            .expect("add member");
        assert_eq!(members.len(), 1, "one member per workspace");
        members.remove(0)
    }

    /// A new person with a session who is an admin member of the company's workspace.
    pub async fn add_admin(&self, company: &Company, email: &str) -> Person {
        let person = self.create_person(email).await;
        self.add_member(company, person.id(), &[&company.admin_role_id])
            .await;
        person
    }

    /// A new person with a session who holds the built-in member role.
    pub async fn add_plain_member(&self, company: &Company, email: &str) -> Person {
        let person = self.create_person(email).await;
        self.add_member(company, person.id(), &[&company.member_role_id])
            .await;
        person
    }

    /// GetMember as the operator.
    pub async fn try_get_member(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<pb::Member, Status> {
        let request = pb::GetMemberRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
        };
        Ok(self
            .membership()
            .get_member(as_user(&self.operator_token, request))
            .await?
            .into_inner()
            .member
            .expect("member"))
    }

    /// GetMember as the operator, expecting the member to exist.
    pub async fn get_member(&self, workspace_id: &str, user_id: &str) -> pb::Member {
        self.try_get_member(workspace_id, user_id)
            .await
            .expect("get member")
    }

    /// Waits (up to 5 s) until GetMember answers NOT_FOUND.
    pub async fn wait_until_purged(&self, workspace_id: &str, user_id: &str) {
        eventually(
            Duration::from_secs(5),
            "the member to be purged",
            || async {
                match self.try_get_member(workspace_id, user_id).await {
                    Err(status) if status.code() == Code::NotFound => Some(()),
                    Err(status) => panic!("unexpected {status:?}"),
                    Ok(_) => None,
                }
            },
        )
        .await;
    }

    /// How many `membership.members` rows a user has, in any workspace and status.
    pub async fn member_rows(&self, user_id: &str) -> i64 {
        self.sql()
            .await
            .query_one(
                "SELECT count(*) FROM membership.members WHERE user_id = $1::text::uuid",
                &[&user_id],
            )
            .await
            .expect("count member rows")
            .get(0)
    }

    /// GetSeatUsage as the operator.
    pub async fn seat_usage(&self, workspace_id: &str) -> pb::SeatUsage {
        let request = pb::GetSeatUsageRequest {
            workspace_id: workspace_id.to_owned(),
        };
        self.membership()
            .get_seat_usage(as_user(&self.operator_token, request))
            .await
            .expect("seat usage")
            .into_inner()
            .seat_usage
            .expect("seat usage")
    }

    /// Every member of a workspace matching `request` (its page token is overwritten),
    /// following next_page_token to the end, as `token`.
    pub async fn list_all_members(
        &self,
        token: &str,
        mut request: pb::ListMembersRequest,
    ) -> Vec<pb::Member> {
        let mut members = Vec::new();
        request.page_token = String::new();
        for _ in 0..1000 {
            let page = self
                .membership()
                .list_members(as_user(token, request.clone()))
                .await
                .expect("list members")
                .into_inner();
            if request.page_size > 0 {
                assert!(
                    page.members.len() <= usize::try_from(request.page_size).unwrap_or(0),
                    "a page holds at most page_size members"
                );
            }
            members.extend(page.members);
            if page.next_page_token.is_empty() {
                return members;
            }
            request.page_token = page.next_page_token;
        }
        panic!("paging did not end");
    }

    /// CheckPermission as the operator.
    pub async fn check(
        &self,
        user_id: &str,
        workspace_id: &str,
        permission: &str,
    ) -> pb::CheckPermissionResponse {
        self.try_check(&self.operator_token, user_id, workspace_id, permission)
            .await
            .expect("check permission")
    }

    /// CheckPermission as `token`.
    pub async fn try_check(
        &self,
        token: &str,
        user_id: &str,
        workspace_id: &str,
        permission: &str,
    ) -> Result<pb::CheckPermissionResponse, Status> {
        let request = pb::CheckPermissionRequest {
            user_id: user_id.to_owned(),
            workspace_id: workspace_id.to_owned(),
            permission: permission.to_owned(),
        };
        Ok(self
            .membership()
            .check_permission(as_user(token, request))
            .await?
            .into_inner())
    }

    /// Membership's audit events of an account (newest first), as the operator.
    pub async fn membership_audit(
        &self,
        account_id: &str,
        target_id: &str,
    ) -> Vec<roster_proto::types::AuditEvent> {
        let request = pb::ListAuditEventsRequest {
            account_id: account_id.to_owned(),
            target_id: target_id.to_owned(),
            page_size: 1000,
            ..Default::default()
        };
        self.membership()
            .list_audit_events(as_user(&self.operator_token, request))
            .await
            .expect("list audit events")
            .into_inner()
            .audit_events
    }
    /// UpdateMemberRoles as `token`.
    pub async fn update_member_roles(
        &self,
        token: &str,
        workspace_id: &str,
        user_id: &str,
        role_ids: &[&str],
    ) -> Result<pb::Member, Status> {
        let request = pb::UpdateMemberRolesRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
            role_ids: role_ids.iter().map(|r| (*r).to_owned()).collect(),
            request_id: request_id(),
        };
        Ok(self
            .membership()
            .update_member_roles(as_user(token, request))
            .await?
            .into_inner()
            .member
            .expect("member"))
    }

    /// SuspendMember as `token`.
    pub async fn suspend_member(
        &self,
        token: &str,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<pb::Member, Status> {
        let request = pb::SuspendMemberRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
            request_id: request_id(),
        };
        Ok(self
            .membership()
            .suspend_member(as_user(token, request))
            .await?
            .into_inner()
            .member
            .expect("member"))
    }

    /// ResumeMember as `token`.
    pub async fn resume_member(
        &self,
        token: &str,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<pb::Member, Status> {
        let request = pb::ResumeMemberRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
            request_id: request_id(),
        };
        Ok(self
            .membership()
            .resume_member(as_user(token, request))
            .await?
            .into_inner()
            .member
            .expect("member"))
    }

    /// RemoveMember as `token` (`transfer_to_user_id` may be empty).
    pub async fn remove_member(
        &self,
        token: &str,
        workspace_id: &str,
        user_id: &str,
        transfer_to_user_id: &str,
    ) -> Result<pb::Member, Status> {
        let request = pb::RemoveMemberRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
            transfer_to_user_id: transfer_to_user_id.to_owned(),
            request_id: request_id(),
        };
        Ok(self
            .membership()
            .remove_member(as_user(token, request))
            .await?
            .into_inner()
            .member
            .expect("member"))
    }

    /// RestoreMember as `token`.
    pub async fn restore_member(
        &self,
        token: &str,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<pb::Member, Status> {
        let request = pb::RestoreMemberRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
            request_id: request_id(),
        };
        Ok(self
            .membership()
            .restore_member(as_user(token, request))
            .await?
            .into_inner()
            .member
            .expect("member"))
    }

    /// PurgeMember as `token`.
    pub async fn purge_member(
        &self,
        token: &str,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<(), Status> {
        let request = pb::PurgeMemberRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
            request_id: request_id(),
        };
        self.membership()
            .purge_member(as_user(token, request))
            .await?;
        Ok(())
    }

    /// CreateRole as `token`.
    pub async fn create_role(
        &self,
        token: &str,
        account_id: &str,
        name: &str,
        permissions: &[&str],
    ) -> Result<pb::Role, Status> {
        let request = pb::CreateRoleRequest {
            account_id: account_id.to_owned(),
            name: name.to_owned(),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            request_id: request_id(),
            ..Default::default()
        };
        Ok(self
            .membership()
            .create_role(as_user(token, request))
            .await?
            .into_inner()
            .role
            .expect("role"))
    }
}
