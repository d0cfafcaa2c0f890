//! Members: adding, listing, roles, suspension, removal, restore and purge.
//!
//! Every change to a workspace's members first row-locks the workspace: that lock is
//! what keeps the seat limit and the last-admin rule exact under concurrency.
use roster_kit::outbox::{self, OutboxMessage};
use serde_json::json;

use chrono::{DateTime, Utc};
use roster_kit::audit::{AuditRecord, Changes};
use roster_kit::auth::Caller;
use roster_kit::db::GenericClient;
use roster_kit::paging::PageSize;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, audit, paging, requests};
use roster_proto::membership as pb;
use roster_proto::types::ErrorReason;
use tracing::{info, instrument};
use uuid::Uuid;

use super::model::WorkspaceRecord;
use super::{Membership, chrono_secs, held_in, invalid_state, seat_limit_reached};
use crate::domain::model::{BuiltIn, MemberRecord, MemberStatus, RemovalRecord, RemovalState};
use crate::store::notify_access_changed;
use crate::store::{self, MemberQuery, user_memberships};

/// A status change asked of [`Membership::change_member`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum MemberChange {
    Suspend,
    Resume,
    Remove { transfer_to: Option<Uuid> },
    Restore,
    Purge,
}

impl MemberChange {
    /// The RPC (for the request log) and the verb (for messages and the audit action).
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Suspend => ("SuspendMember", "suspend"),
            Self::Resume => ("ResumeMember", "resume"),
            Self::Remove { .. } => ("RemoveMember", "remove"),
            Self::Restore => ("RestoreMember", "restore"),
            Self::Purge => ("PurgeMember", "purge"),
        }
    }
}

fn member_audit<'a>(action: &'a str, member: &MemberRecord, changes: Changes) -> AuditRecord<'a> {
    AuditRecord {
        action,
        target_type: "member",
        target_id: member.user_id.to_string(),
        account_id: Some(member.account_id),
        changes: changes.field("workspace_id", None::<Uuid>, member.workspace_id),
    }
}

fn last_admin(workspace: &WorkspaceRecord) -> Error {
    Error::refused(
        ErrorReason::LastAdmin,
        format!(
            "this is the last active admin of workspace {}: make someone else admin first",
            workspace.name
        ),
    )
    .with_metadata("workspace_id", workspace.id.to_string())
}

fn not_a_member(workspace_id: Uuid, user_id: Uuid) -> Error {
    Error::not_found("member", format!("{user_id} in workspace {workspace_id}"))
}

impl Membership {
    async fn admin_role_id(&self, db: &impl GenericClient, account_id: Uuid) -> Result<Uuid> {
        store::built_in_role(db, account_id, BuiltIn::Admin)
            .await?
            .map(|role| role.id)
            .ok_or_else(|| Error::internal("admin role", "the built-in admin role is missing"))
    }

    /// Refuses a change that takes `before` (an active admin) out of the workspace's
    /// active admins when nobody else is one. The caller holds the workspace row lock.
    async fn keep_an_admin(
        &self,
        db: &impl GenericClient,
        workspace: &WorkspaceRecord,
        before: &MemberRecord,
        still_admin_after: bool,
    ) -> Result<()> {
        let admin_role = self.admin_role_id(db, workspace.account_id).await?;
        let was_admin =
            before.status == MemberStatus::Active && before.role_ids.contains(&admin_role);
        if was_admin
            && !still_admin_after
            && store::count_active_holders(db, workspace.account_id, workspace.id, admin_role)
                .await?
                <= 1
        {
            return Err(last_admin(workspace));
        }
        Ok(())
    }

    /// The first of `role_ids` that is not a role of the account, if any.
    pub(super) async fn foreign_role(
        &self,
        db: &impl GenericClient,
        account_id: Uuid,
        role_ids: &[Uuid],
    ) -> Result<Option<Uuid>> {
        let found = store::roles_in_account(db, account_id, role_ids).await?;
        Ok(role_ids.iter().find(|id| !found.contains(id)).copied())
    }

    async fn check_roles(
        &self,
        db: &impl GenericClient,
        account_id: Uuid,
        role_ids: &[Uuid],
    ) -> Result<()> {
        if self.foreign_role(db, account_id, role_ids).await?.is_some() {
            return Err(Error::invalid(
                "role_ids",
                "names a role that is not in this account",
            ));
        }
        Ok(())
    }

    /// Adds a user to workspaces of an account, all or nothing (operators and Roster
    /// services).
    #[instrument(skip(self, caller, role_ids), name = "membership.domain.add_member")]
    pub(crate) async fn add_member(
        &self,
        caller: &Caller,
        account_id: Uuid,
        workspace_ids: Option<Vec<Uuid>>,
        user_id: Uuid,
        mut role_ids: Vec<Uuid>,
    ) -> Result<Vec<pb::Member>> {
        let principal = caller.principal()?;
        if !(principal.is_operator || principal.is_roster_service) {
            return Err(Error::permission_denied(
                "members join by invitation; only operators and Roster services add them directly",
            ));
        }
        role_ids.sort_unstable();
        role_ids.dedup();
        self.ensure_user(user_id).await?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::AddMemberResponse>(&tx, caller, "AddMember", now).await?
        {
            return Ok(previous.members);
        }
        if principal.is_roster_service
            && let Ok(hold_id) = Uuid::parse_str(&caller.request_id)
        {
            // The invitation's seat hold becomes this member: with it gone, the seats are
            // counted as for anyone, and its own seats are free for it.
            store::delete_seat_hold(&tx, hold_id).await?;
        }
        let account = self.account(&tx, account_id, false).await?;
        self.check_roles(&tx, account_id, &role_ids).await?;
        // Before any workspace lock: the account's lock comes first.
        let mut allowance_refusal = self.allowance_refusal(&tx, &account, Some(user_id)).await?;
        let workspaces = self
            .lock_joined_workspaces(&tx, account_id, workspace_ids.as_deref())
            .await?;
        let held = store::held_seats(&tx, account_id, now).await?;
        let mut members = Vec::new();
        for workspace in &workspaces {
            if let Some(existing) =
                store::get_member(&tx, account_id, workspace.id, user_id, true).await?
            {
                match existing.status {
                    MemberStatus::Removed if existing.purge_after.is_some_and(|t| t > now) => {
                        return Err(Error::refused(
                            ErrorReason::RecentlyRemoved,
                            "the user was removed from this workspace recently: restore them, or purge them to start afresh",
                        )
                        .with_metadata("workspace_id", workspace.id.to_string())
                        .with_metadata("purge_time", existing.purge_after.map(|t| t.to_rfc3339()).unwrap_or_default()));
                    }
                    // The window has ended but the purge has not finished: the member's
                    // assets are still being deleted, and must not reach the newcomer.
                    MemberStatus::Removed => {
                        return Err(Error::refused(
                            ErrorReason::RecentlyRemoved,
                            "the user's removal from this workspace is being purged: try again once it has finished",
                        )
                        .with_metadata("workspace_id", workspace.id.to_string()));
                    }
                    MemberStatus::Active | MemberStatus::Suspended => {
                        return Err(Error::refused(
                            ErrorReason::AlreadyMember,
                            format!(
                                "the user is already a member of workspace {}",
                                workspace.name
                            ),
                        )
                        .with_metadata("workspace_id", workspace.id.to_string()));
                    }
                }
            }
            if !workspace.has_free_seat(held_in(&held, workspace.id)) {
                return Err(seat_limit_reached(workspace));
            }
            // Refused after the reasons that concern one workspace, so those come first.
            if let Some(refusal) = allowance_refusal.take() {
                return Err(refusal);
            }
            let roles = if role_ids.is_empty() {
                vec![workspace.default_role_id]
            } else {
                role_ids.clone()
            };
            let member =
                store::insert_member(&tx, account_id, workspace.id, user_id, &roles, now).await?;
            store::add_seats(&tx, account_id, workspace.id, 1).await?;
            let changes = Changes::new()
                .field("status", None::<String>, "active")
                .field("role_ids", None::<String>, &member.role_ids);
            audit::record(
                &tx,
                caller,
                now,
                member_audit("membership.member.add", &member, changes),
            )
            .await?;
            members.push(member.to_proto(now));
        }
        notify_access_changed(&tx, account.id).await?;
        let answer = pb::AddMemberResponse { members };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        self.access_changed(account.id);
        info!(user_id = %user_id, account_id = %account_id, workspaces = answer.members.len(), "member added");
        Ok(answer.members)
    }

    /// Reads a member (roster.members.read, or the member themself).
    #[instrument(skip_all, name = "membership.domain.get_member")]
    pub(crate) async fn get_member(
        &self,
        caller: &Caller,
        workspace_id: Uuid,
        user_id: Uuid,
    ) -> Result<pb::Member> {
        let db = self.pool.read().await?;
        let workspace = self.workspace(&db, workspace_id, false).await?;
        if caller.principal()?.user_id != user_id {
            self.require_permission(caller, &workspace, "roster.members.read")
                .await?;
        }
        store::get_member(&db, workspace.account_id, workspace_id, user_id, false)
            .await?
            .map(|m| m.to_proto(self.now()))
            .ok_or_else(|| not_a_member(workspace_id, user_id))
    }

    /// Lists a workspace's members (roster.members.read).
    #[instrument(skip_all, name = "membership.domain.list_members")]
    pub(crate) async fn list_members(
        &self,
        caller: &Caller,
        query: MemberQuery,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListMembersResponse> {
        let limit = PageSize::LIST.resolve(page_size)?;
        let after: Option<(String, Uuid)> = paging::decode(&query, page_token)?;
        let db = self.pool.read().await?;
        let workspace = self.workspace(&db, query.workspace_id, false).await?;
        self.require_permission(caller, &workspace, "roster.members.read")
            .await?;
        let members =
            store::list_members(&db, &query, after.as_ref(), i64::from(limit) + 1).await?;
        let (members, next_page_token) = paging::finish_page(members, limit, &query, |m| {
            (query.order.key_of(m), m.user_id)
        });
        let now = self.now();
        Ok(pb::ListMembersResponse {
            members: members.iter().map(|m| m.to_proto(now)).collect(),
            next_page_token,
        })
    }

    /// Loads what a member change needs: the workspace, authorized and row-locked, and
    /// the member, row-locked.
    async fn lock_member(
        &self,
        tx: &impl GenericClient,
        workspace_id: Uuid,
        user_id: Uuid,
    ) -> Result<(WorkspaceRecord, MemberRecord)> {
        let workspace = self.workspace(tx, workspace_id, true).await?;
        let member = store::get_member(tx, workspace.account_id, workspace_id, user_id, true)
            .await?
            .ok_or_else(|| not_a_member(workspace_id, user_id))?;
        Ok((workspace, member))
    }

    /// Replaces a member's roles (roster.members.manage; never one's own).
    #[instrument(skip_all, name = "membership.domain.update_member_roles")]
    pub(crate) async fn update_member_roles(
        &self,
        caller: &Caller,
        workspace_id: Uuid,
        user_id: Uuid,
        mut role_ids: Vec<Uuid>,
    ) -> Result<pb::Member> {
        role_ids.sort_unstable();
        role_ids.dedup();
        if role_ids.is_empty() {
            return Err(Error::invalid("role_ids", "name at least one role"));
        }
        let workspace = self
            .workspace(&self.pool.get().await?, workspace_id, false)
            .await?;
        let principal = self
            .require_permission(caller, &workspace, "roster.members.manage")
            .await?;
        principal.forbid_self(user_id, "change the roles of")?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::Member>(&tx, caller, "UpdateMemberRoles", now).await?
        {
            return Ok(previous);
        }
        self.check_roles(&tx, workspace.account_id, &role_ids)
            .await?;
        let (workspace, before) = self.lock_member(&tx, workspace_id, user_id).await?;
        if before.status == MemberStatus::Removed {
            return Err(invalid_state("the member is removed: restore them first"));
        }
        let admin_role = self.admin_role_id(&tx, workspace.account_id).await?;
        self.keep_an_admin(&tx, &workspace, &before, role_ids.contains(&admin_role))
            .await?;
        let mut after = before.clone();
        after.role_ids = role_ids;
        after.updated_at = now;
        store::save_member(&tx, &after, now).await?;
        let changes = Changes::new().field("role_ids", &before.role_ids, &after.role_ids);
        audit::record(
            &tx,
            caller,
            now,
            member_audit("membership.member.update_roles", &after, changes),
        )
        .await?;
        notify_access_changed(&tx, workspace.account_id).await?;
        let answer = after.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        self.access_changed(workspace.account_id);
        Ok(answer)
    }

    /// Suspends, resumes, removes, restores or purges a member (roster.members.manage;
    /// never oneself). The answer carries the member (none once purged) and, for a
    /// removal, a restore or a purge, the removal.
    #[instrument(skip(self, caller), name = "membership.domain.change_member")]
    pub(crate) async fn change_member(
        &self,
        caller: &Caller,
        workspace_id: Uuid,
        user_id: Uuid,
        change: MemberChange,
    ) -> Result<pb::RemoveMemberResponse> {
        let (rpc, verb) = change.names();
        let workspace = self
            .workspace(&self.pool.get().await?, workspace_id, false)
            .await?;
        let principal = self
            .require_permission(caller, &workspace, "roster.members.manage")
            .await?;
        if let MemberChange::Remove {
            transfer_to: Some(_),
        } = change
        {
            self.require_permission(caller, &workspace, "roster.assets.transfer")
                .await?;
        }
        principal.forbid_self(user_id, verb)?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::RemoveMemberResponse>(&tx, caller, rpc, now).await?
        {
            return Ok(previous);
        }
        let allowance_refusal = if matches!(change, MemberChange::Restore) {
            // The account's lock before the workspace's, as AddMember takes them.
            let account = self.account(&tx, workspace.account_id, false).await?;
            self.allowance_refusal(&tx, &account, Some(user_id)).await?
        } else {
            None
        };
        let (workspace, before) = self.lock_member(&tx, workspace_id, user_id).await?;
        let mut after = before.clone();
        after.updated_at = now;
        let mut removal = None;
        let mut purged = false;
        match (change, before.status) {
            (MemberChange::Suspend, MemberStatus::Active) => {
                self.keep_an_admin(&tx, &workspace, &before, false).await?;
                after.status = MemberStatus::Suspended;
                after.suspended_at = Some(now);
            }
            (MemberChange::Resume, MemberStatus::Suspended) => {
                after.status = MemberStatus::Active;
                after.suspended_at = None;
            }
            (
                MemberChange::Remove { transfer_to },
                MemberStatus::Active | MemberStatus::Suspended,
            ) => {
                let (removed, started) = self
                    .remove_locked(&tx, caller, &workspace, &before, transfer_to, now)
                    .await?;
                after = removed;
                removal = Some(started);
            }
            (MemberChange::Restore, MemberStatus::Removed) => {
                if before.purge_after.is_none_or(|t| t <= now) {
                    return Err(Error::refused(
                        ErrorReason::RestoreWindowEnded,
                        "the restore window has ended; the member can only be purged",
                    ));
                }
                let held = store::held_seats(&tx, workspace.account_id, now).await?;
                if !workspace.has_free_seat(held_in(&held, workspace.id)) {
                    return Err(seat_limit_reached(&workspace));
                }
                if let Some(refusal) = allowance_refusal {
                    return Err(refusal);
                }
                removal = self
                    .restore_removal(&tx, workspace_id, user_id, now)
                    .await?;
                after.status = before.status_before_removal.unwrap_or(MemberStatus::Active);
                after.status_before_removal = None;
                after.removed_at = None;
                after.purge_after = None;
                after.transfer_to_user_id = None;
                store::add_seats(&tx, workspace.account_id, workspace.id, 1).await?;
            }
            (MemberChange::Purge, MemberStatus::Removed) => {
                let open = store::open_removal(&tx, workspace_id, user_id, true)
                    .await?
                    .filter(|r| r.state == RemovalState::Removed)
                    .ok_or_else(|| invalid_state("the member is being purged already"))?;
                let removal_id = open.id;
                purged = self.start_purge(&tx, caller, open, now).await?;
                removal = store::get_removal(&tx, removal_id, false).await?;
            }
            (_, status) => {
                return Err(invalid_state(format!(
                    "the member is {}; {rpc} does not apply",
                    status.as_db()
                )));
            }
        }
        if !matches!(change, MemberChange::Remove { .. } | MemberChange::Purge) {
            self.record_member_change(&tx, caller, &before, &after, verb, now)
                .await?;
        }
        notify_access_changed(&tx, workspace.account_id).await?;
        let answer = pb::RemoveMemberResponse {
            member: (!purged).then(|| after.to_proto(now)),
            removal: removal.as_ref().map(RemovalRecord::to_proto),
        };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        self.access_changed(workspace.account_id);
        info!(user_id = %user_id, workspace_id = %workspace_id, change = verb, "member changed");
        Ok(answer)
    }

    /// Saves a member's new status with its audit event.
    async fn record_member_change(
        &self,
        tx: &impl GenericClient,
        caller: &Caller,
        before: &MemberRecord,
        after: &MemberRecord,
        verb: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        store::save_member(tx, after, now).await?;
        let changes = Changes::new()
            .field("status", before.status.as_db(), after.status.as_db())
            .field(
                "transfer_to_user_id",
                before.transfer_to_user_id,
                after.transfer_to_user_id,
            );
        let action = format!("membership.member.{verb}");
        audit::record(tx, caller, now, member_audit(&action, after, changes)).await
    }

    /// Removes `before` (active or suspended) from `workspace`, whose row the caller's
    /// transaction holds locked: the seat is freed, the member told, and a removal
    /// started that transfers their assets to `transfer_to` when one is named.
    async fn remove_locked(
        &self,
        tx: &impl GenericClient,
        caller: &Caller,
        workspace: &WorkspaceRecord,
        before: &MemberRecord,
        transfer_to: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<(MemberRecord, RemovalRecord)> {
        self.keep_an_admin(tx, workspace, before, false).await?;
        if let Some(heir) = transfer_to {
            self.check_heir(tx, workspace, before.user_id, heir).await?;
        }
        let account = self.account(tx, workspace.account_id, false).await?;
        let mut after = before.clone();
        after.status = MemberStatus::Removed;
        after.status_before_removal = Some(before.status);
        after.removed_at = Some(now);
        after.purge_after = Some(now + chrono_secs(account.settings.restore_window_secs));
        after.transfer_to_user_id = transfer_to;
        after.updated_at = now;
        store::add_seats(tx, workspace.account_id, workspace.id, -1).await?;
        self.enqueue_removal_notice(tx, now, workspace, &after)
            .await?;
        self.record_member_change(tx, caller, before, &after, "remove", now)
            .await?;
        let removal = self.start_removal(tx, caller, &after, now).await?;
        Ok((after, removal))
    }

    /// Removes a user from every workspace of an account they are an active or suspended
    /// member of, all or nothing (roster.members.manage in each, and
    /// roster.assets.transfer with a receiver).
    #[instrument(skip(self, caller), name = "membership.domain.remove_account_member")]
    pub(crate) async fn remove_account_member(
        &self,
        caller: &Caller,
        account_id: Uuid,
        user_id: Uuid,
        transfer_to: Option<Uuid>,
    ) -> Result<pb::RemoveAccountMemberResponse> {
        caller.principal()?.forbid_self(user_id, "remove")?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) = requests::begin::<pb::RemoveAccountMemberResponse>(
            &tx,
            caller,
            "RemoveAccountMember",
            now,
        )
        .await?
        {
            return Ok(previous);
        }
        self.account(&tx, account_id, false).await?;
        let workspaces = store::lock_workspaces_of(&tx, account_id).await?;
        let mut answer = pb::RemoveAccountMemberResponse::default();
        for workspace in &workspaces {
            let Some(before) =
                store::get_member(&tx, account_id, workspace.id, user_id, true).await?
            else {
                continue;
            };
            if before.status == MemberStatus::Removed {
                continue;
            }
            self.require_permission(caller, workspace, "roster.members.manage")
                .await?;
            if transfer_to.is_some() {
                self.require_permission(caller, workspace, "roster.assets.transfer")
                    .await?;
            }
            let (after, removal) = self
                .remove_locked(&tx, caller, workspace, &before, transfer_to, now)
                .await?;
            answer.members.push(after.to_proto(now));
            answer.removals.push(removal.to_proto());
        }
        if answer.members.is_empty() {
            return Err(invalid_state(
                "the user is not an active or suspended member of any workspace of the account",
            ));
        }
        notify_access_changed(&tx, account_id).await?;
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        self.access_changed(account_id);
        info!(user_id = %user_id, account_id = %account_id, workspaces = answer.members.len(), "removed from the account");
        Ok(answer)
    }

    /// The receiver of a removed member's assets must be another active member.
    pub(super) async fn check_heir(
        &self,
        db: &impl GenericClient,
        workspace: &WorkspaceRecord,
        user_id: Uuid,
        heir: Uuid,
    ) -> Result<()> {
        let active = store::get_member(db, workspace.account_id, workspace.id, heir, false)
            .await?
            .is_some_and(|m| m.status == MemberStatus::Active);
        if heir == user_id || !active {
            return Err(Error::invalid(
                "transfer_to_user_id",
                format!(
                    "must be another active member of workspace {}",
                    workspace.name
                ),
            ));
        }
        Ok(())
    }

    async fn enqueue_removal_notice(
        &self,
        db: &impl GenericClient,
        now: DateTime<Utc>,
        workspace: &WorkspaceRecord,
        member: &MemberRecord,
    ) -> Result<()> {
        if member.email.is_empty() {
            return Ok(());
        }
        let message = OutboxMessage {
            template: "member_removed",
            recipient: &member.email,
            variables: json!({
                "display_name": member.display_name,
                "workspace_name": workspace.name,
                "purge_time": member.purge_after,
            }),
            secret_variables: None,
        };
        outbox::enqueue(db, now, message).await.map(drop)
    }

    /// Every workspace and account of a user (operators, Roster services, themself).
    #[instrument(skip_all, name = "membership.domain.list_user_memberships")]
    pub(crate) async fn list_user_memberships(
        &self,
        caller: &Caller,
        user_id: Uuid,
        show_removed: bool,
    ) -> Result<Vec<pb::UserMembership>> {
        let principal = caller.principal()?;
        if !(principal.is_operator || principal.is_roster_service || principal.user_id == user_id) {
            return Err(Error::permission_denied(
                "only operators and the user themself may list a user's memberships",
            ));
        }
        let db = self.pool.get().await?;
        let rows = user_memberships(&db, user_id, show_removed).await?;
        Ok(rows
            .into_iter()
            .map(|row| pb::UserMembership {
                account_id: row.account_id.to_string(),
                account_name: row.account_name,
                workspace_id: row
                    .workspace_id
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                workspace_name: row.workspace_name.unwrap_or_default(),
                status: row
                    .status
                    .map_or(pb::MemberStatus::Unspecified, MemberStatus::to_proto)
                    .into(),
                role_ids: row.role_ids.iter().map(Uuid::to_string).collect(),
                account_administrator: row.account_administrator,
            })
            .collect())
    }

    /// Whether `administrator_id` administers every account of `user_id`, and how long an
    /// impersonation of `user_id` may be granted for (Roster services).
    #[instrument(skip_all, name = "membership.domain.check_user_administration")]
    pub(crate) async fn check_user_administration(
        &self,
        caller: &Caller,
        administrator_id: Uuid,
        user_id: Uuid,
    ) -> Result<store::UserAdministration> {
        if !caller.principal()?.is_roster_service {
            return Err(Error::permission_denied(
                "only Roster's services may ask this",
            ));
        }
        store::administers_every_account_of(&self.pool.get().await?, administrator_id, user_id)
            .await
    }

    /// Whether `user_id` may reset their own password by email (Roster services): in no
    /// account, or in at least one that allows self-service reset.
    #[instrument(skip_all, name = "membership.domain.check_self_service_password_reset")]
    pub(crate) async fn check_self_service_password_reset(
        &self,
        caller: &Caller,
        user_id: Uuid,
    ) -> Result<bool> {
        if !caller.principal()?.is_roster_service {
            return Err(Error::permission_denied(
                "only Roster's services may ask this",
            ));
        }
        store::self_service_reset_allowed(&self.pool.get().await?, user_id).await
    }
}
