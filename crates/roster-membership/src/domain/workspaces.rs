//! Workspaces, their seat limits and default roles.
use roster_kit::audit::{AuditRecord, Changes};
use roster_kit::auth::Caller;
use roster_kit::db::GenericClient;
use roster_kit::paging::PageSize;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, audit, paging, requests};
use roster_proto::membership as pb;
use uuid::Uuid;

use super::model::WorkspaceRecord;
use super::{Membership, etag_mismatch, held_in, required_name};
use crate::domain::access::ANY_ROLE;
use crate::domain::model::BuiltIn;
use crate::store;
use tracing::instrument;

/// Which of a workspace's fields an update names.
#[derive(Debug, Default, Clone)]
pub(crate) struct WorkspacePatch {
    pub(crate) name: Option<String>,
    pub(crate) seat_limit: Option<i32>,
    pub(crate) default_role_id: Option<Uuid>,
}

fn workspace_audit<'a>(
    action: &'a str,
    workspace: &WorkspaceRecord,
    changes: Changes,
) -> AuditRecord<'a> {
    AuditRecord {
        action,
        target_type: "workspace",
        target_id: workspace.id.to_string(),
        account_id: Some(workspace.account_id),
        changes,
    }
}

fn check_seat_limit(field: &str, seat_limit: i32) -> Result<()> {
    if seat_limit < 0 {
        return Err(Error::invalid(
            field,
            "must not be negative (0 means no limit)",
        ));
    }
    Ok(())
}

/// Where the account has a seat allowance, its administrators may create only workspaces
/// whose seat limit is set and within it (operators may create any).
fn check_within_allowance(seat_limit: i32, allowance: i32) -> Result<()> {
    if allowance > 0 && !(1..=allowance).contains(&seat_limit) {
        return Err(Error::permission_denied(format!(
            "the account's seat allowance is {allowance}: give the workspace a seat limit from 1 to {allowance}, or ask a platform operator"
        ))
        .with_metadata("seat_allowance", allowance.to_string()));
    }
    Ok(())
}

impl Membership {
    /// A role of the account to give by default: `requested`, or the built-in member role.
    async fn default_role(
        &self,
        db: &impl GenericClient,
        account_id: Uuid,
        requested: Option<Uuid>,
        field: &str,
    ) -> Result<Uuid> {
        match requested {
            Some(role_id) => match store::get_role(db, role_id, false).await? {
                Some(role) if role.account_id == account_id => Ok(role.id),
                _ => Err(Error::invalid(
                    field,
                    format!("no role {role_id} in this account"),
                )),
            },
            None => store::built_in_role(db, account_id, BuiltIn::Member)
                .await?
                .map(|role| role.id)
                .ok_or_else(|| {
                    Error::internal("default role", "the built-in member role is missing")
                }),
        }
    }

    /// Creates a workspace (operators and account administrators).
    #[instrument(skip_all, name = "membership.domain.create_workspace")]
    pub(crate) async fn create_workspace(
        &self,
        caller: &Caller,
        account_id: Uuid,
        name: &str,
        seat_limit: i32,
        default_role_id: Option<Uuid>,
    ) -> Result<pb::Workspace> {
        let name = required_name("name", name)?;
        check_seat_limit("seat_limit", seat_limit)?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let principal = self.require_account_admin(&tx, caller, account_id).await?;
        if !principal.is_operator {
            let allowance = self.account(&tx, account_id, false).await?.seat_allowance;
            check_within_allowance(seat_limit, allowance)?;
        }
        if let Replay::Done(previous) =
            requests::begin::<pb::Workspace>(&tx, caller, "CreateWorkspace", now).await?
        {
            return Ok(previous);
        }
        let workspace = WorkspaceRecord {
            account_id,
            id: Uuid::now_v7(),
            name: name.clone(),
            seat_limit,
            seats_used: 0,
            default_role_id: self
                .default_role(&tx, account_id, default_role_id, "default_role_id")
                .await?,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        store::insert_workspace(&tx, &workspace).await?;
        let changes = Changes::new()
            .field("name", None::<String>, &name)
            .field("seat_limit", None::<i32>, seat_limit)
            .field("default_role_id", None::<Uuid>, workspace.default_role_id);
        audit::record(
            &tx,
            caller,
            now,
            workspace_audit("membership.workspace.create", &workspace, changes),
        )
        .await?;
        let answer = workspace.to_proto();
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Reads a workspace (operators, account administrators, its active members).
    #[instrument(skip_all, name = "membership.domain.get_workspace")]
    pub(crate) async fn get_workspace(
        &self,
        caller: &Caller,
        workspace_id: Uuid,
    ) -> Result<pb::Workspace> {
        let workspace = self
            .workspace(&self.pool.read().await?, workspace_id, false)
            .await?;
        self.require_permission(caller, &workspace, ANY_ROLE)
            .await?;
        Ok(workspace.to_proto())
    }

    /// Seats used and left (needs roster.members.read).
    #[instrument(skip_all, name = "membership.domain.get_seat_usage")]
    pub(crate) async fn get_seat_usage(
        &self,
        caller: &Caller,
        workspace_id: Uuid,
    ) -> Result<pb::SeatUsage> {
        let db = self.pool.read().await?;
        let workspace = self.workspace(&db, workspace_id, false).await?;
        self.require_permission(caller, &workspace, "roster.members.read")
            .await?;
        let held = store::held_seats(&db, workspace.account_id, self.now()).await?;
        drop(db);
        let mut usage = workspace.seat_usage();
        usage.held = held_in(&held, workspace.id);
        if usage.limit > 0 {
            usage.available = (usage.available - usage.held).max(0);
        }
        usage.pending_invitations = self.pending_invitations(&workspace).await?;
        usage.invitable = if usage.limit == 0 {
            -1
        } else {
            (usage.limit - usage.used - usage.pending_invitations).max(0)
        };
        Ok(usage)
    }

    /// Lists an account's workspaces by name: all of them for operators and
    /// administrators, the caller's own for members.
    #[instrument(skip_all, name = "membership.domain.list_workspaces")]
    pub(crate) async fn list_workspaces(
        &self,
        caller: &Caller,
        account_id: Uuid,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListWorkspacesResponse> {
        let db = self.pool.get().await?;
        let (principal, standing) = self.require_account_reader(&db, caller, account_id).await?;
        let member_of = (!standing.administrator).then_some(principal.user_id);
        let limit = PageSize::LIST.resolve(page_size)?;
        let fingerprint = (account_id, member_of);
        let after: Option<(String, Uuid)> = paging::decode(&fingerprint, page_token)?;
        let workspaces = store::list_workspaces(
            &db,
            account_id,
            member_of,
            after.as_ref(),
            i64::from(limit) + 1,
        )
        .await?;
        let (workspaces, next_page_token) =
            paging::finish_page(workspaces, limit, &fingerprint, |w| {
                (w.name.to_lowercase(), w.id)
            });
        Ok(pb::ListWorkspacesResponse {
            workspaces: workspaces.iter().map(WorkspaceRecord::to_proto).collect(),
            next_page_token,
        })
    }

    /// Updates a workspace: its seat limit by operators, its name and default role also by
    /// account administrators and members with roster.workspaces.manage.
    #[instrument(skip_all, name = "membership.domain.update_workspace")]
    pub(crate) async fn update_workspace(
        &self,
        caller: &Caller,
        workspace_id: Uuid,
        patch: WorkspacePatch,
        etag: &str,
    ) -> Result<pb::Workspace> {
        let name = patch
            .name
            .as_deref()
            .map(|n| required_name("workspace.name", n))
            .transpose()?;
        if let Some(limit) = patch.seat_limit {
            check_seat_limit("workspace.seat_limit", limit)?;
        }
        let current = self
            .workspace(&self.pool.get().await?, workspace_id, false)
            .await?;
        self.require_permission(caller, &current, "roster.workspaces.manage")
            .await?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if patch.seat_limit.is_some() {
            // Seats are what the account pays for: its administrators cannot raise them.
            caller.operator().map_err(|_| {
                Error::permission_denied("only platform operators may change a seat limit")
            })?;
        }
        if let Replay::Done(previous) =
            requests::begin::<pb::Workspace>(&tx, caller, "UpdateWorkspace", now).await?
        {
            return Ok(previous);
        }
        let before = self.workspace(&tx, workspace_id, true).await?;
        if !etag.is_empty() && etag != before.etag() {
            return Err(etag_mismatch(before.etag()));
        }
        let mut after = before.clone();
        if let Some(name) = &name {
            after.name.clone_from(name);
        }
        if let Some(limit) = patch.seat_limit {
            after.seat_limit = limit;
        }
        if patch.default_role_id.is_some() {
            after.default_role_id = self
                .default_role(
                    &tx,
                    before.account_id,
                    patch.default_role_id,
                    "workspace.default_role_id",
                )
                .await?;
        }
        store::update_workspace(&tx, &after, now).await?;
        let changes = Changes::new()
            .field("name", &before.name, &after.name)
            .field("seat_limit", before.seat_limit, after.seat_limit)
            .field(
                "default_role_id",
                before.default_role_id,
                after.default_role_id,
            );
        audit::record(
            &tx,
            caller,
            now,
            workspace_audit("membership.workspace.update", &after, changes),
        )
        .await?;
        let answer = self.workspace(&tx, workspace_id, false).await?.to_proto();
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }
}
