//! Roles: the built-in admin and member, and each account's custom roles.
use roster_kit::audit::{AuditRecord, Changes};
use roster_kit::auth::Caller;
use roster_kit::db::GenericClient;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, audit, requests};
use roster_proto::membership as pb;
use roster_proto::types::ErrorReason;
use uuid::Uuid;

use super::access::{ROLES_MANAGE, grants};
use super::{Membership, required_name};
use crate::domain::access::is_permission;
use crate::domain::model::{BuiltIn, RoleRecord};
use crate::store::{self, notify_access_changed};
use tracing::instrument;

/// Which of a role's fields an update names.
#[derive(Debug, Default, Clone)]
pub(crate) struct RolePatch {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) permissions: Option<Vec<String>>,
}

/// Trims, checks and de-duplicates permission strings, keeping their order.
fn clean_permissions(field: &str, raw: &[String]) -> Result<Vec<String>> {
    let mut violations = roster_kit::error::Violations::new();
    let mut permissions: Vec<String> = Vec::new();
    for (i, permission) in raw.iter().enumerate() {
        let permission = permission.trim();
        if !is_permission(permission) {
            violations.add(
                format!("{field}[{i}]"),
                format!("{permission:?} is not a permission: use dotted lower-case names such as \"flows.create\""),
            );
        } else if !permissions.iter().any(|p| p == permission) {
            permissions.push(permission.to_owned());
        }
    }
    violations.finish()?;
    Ok(permissions)
}

fn built_in_role(message: &str) -> Error {
    Error::refused(ErrorReason::BuiltInRole, message)
}

fn role_audit<'a>(action: &'a str, role: &RoleRecord, changes: Changes) -> AuditRecord<'a> {
    AuditRecord {
        action,
        target_type: "role",
        target_id: role.id.to_string(),
        account_id: Some(role.account_id),
        changes,
    }
}

impl Membership {
    /// Operators, account administrators, and active members whose roles grant
    /// roster.roles.manage somewhere in the account.
    async fn require_role_manager(
        &self,
        db: &impl GenericClient,
        caller: &Caller,
        account_id: Uuid,
    ) -> Result<()> {
        let principal = caller.principal()?;
        if principal.is_operator {
            return Ok(());
        }
        let held = store::account_permissions(db, account_id, principal.user_id).await?;
        if grants(&held, ROLES_MANAGE) {
            return Ok(());
        }
        self.require_account_admin(db, caller, account_id)
            .await
            .map(drop)
    }

    /// Creates a custom role.
    #[instrument(skip_all, name = "membership.domain.create_role")]
    pub(crate) async fn create_role(
        &self,
        caller: &Caller,
        account_id: Uuid,
        name: &str,
        description: &str,
        permissions: &[String],
    ) -> Result<pb::Role> {
        let name = required_name("name", name)?;
        let permissions = clean_permissions("permissions", permissions)?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        self.require_role_manager(&tx, caller, account_id).await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::Role>(&tx, caller, "CreateRole", now).await?
        {
            return Ok(previous);
        }
        let role = RoleRecord {
            account_id,
            id: Uuid::now_v7(),
            name: name.clone(),
            description: description.trim().to_owned(),
            permissions,
            built_in: None,
            created_at: now,
            updated_at: now,
        };
        store::insert_role(&tx, &role).await?;
        let changes = Changes::new()
            .field("name", None::<String>, &role.name)
            .field("permissions", None::<String>, &role.permissions);
        audit::record(
            &tx,
            caller,
            now,
            role_audit("membership.role.create", &role, changes),
        )
        .await?;
        let answer = role.to_proto();
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    async fn role_for_change(
        &self,
        db: &impl GenericClient,
        caller: &Caller,
        role_id: Uuid,
    ) -> Result<RoleRecord> {
        let role = store::get_role(db, role_id, true)
            .await?
            .ok_or_else(|| Error::not_found("role", role_id))?;
        self.require_role_manager(db, caller, role.account_id)
            .await?;
        Ok(role)
    }

    /// Updates a role's name, description and permissions.
    #[instrument(skip_all, name = "membership.domain.update_role")]
    pub(crate) async fn update_role(
        &self,
        caller: &Caller,
        role_id: Uuid,
        patch: RolePatch,
    ) -> Result<pb::Role> {
        let name = patch
            .name
            .as_deref()
            .map(|n| required_name("role.name", n))
            .transpose()?;
        let permissions = patch
            .permissions
            .as_deref()
            .map(|p| clean_permissions("role.permissions", p))
            .transpose()?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::Role>(&tx, caller, "UpdateRole", now).await?
        {
            return Ok(previous);
        }
        let before = self.role_for_change(&tx, caller, role_id).await?;
        if before.built_in.is_some() && name.as_ref().is_some_and(|n| *n != before.name) {
            return Err(built_in_role("built-in roles cannot be renamed"));
        }
        if before.built_in == Some(BuiltIn::Admin) && permissions.is_some() {
            return Err(built_in_role(
                "the admin role always holds every permission",
            ));
        }
        let mut after = before.clone();
        if let Some(name) = name {
            after.name = name;
        }
        if let Some(description) = patch.description {
            after.description = description.trim().to_owned();
        }
        if let Some(permissions) = permissions {
            after.permissions = permissions;
        }
        store::update_role(&tx, &after, now).await?;
        let changes = Changes::new()
            .field("name", &before.name, &after.name)
            .field("description", &before.description, &after.description)
            .field("permissions", &before.permissions, &after.permissions);
        audit::record(
            &tx,
            caller,
            now,
            role_audit("membership.role.update", &after, changes),
        )
        .await?;
        notify_access_changed(&tx, after.account_id).await?;
        after.updated_at = now;
        let answer = after.to_proto();
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        self.access_changed(after.account_id);
        Ok(answer)
    }

    /// Deletes a custom role nobody holds and no workspace gives by default.
    #[instrument(skip_all, name = "membership.domain.delete_role")]
    pub(crate) async fn delete_role(&self, caller: &Caller, role_id: Uuid) -> Result<()> {
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(_) =
            requests::begin::<pb::DeleteRoleResponse>(&tx, caller, "DeleteRole", now).await?
        {
            return Ok(());
        }
        let role = self.role_for_change(&tx, caller, role_id).await?;
        if role.built_in.is_some() {
            return Err(built_in_role("built-in roles cannot be deleted"));
        }
        if store::role_in_use(&tx, role.account_id, role.id).await? {
            return Err(Error::refused(
                ErrorReason::RoleInUse,
                "members hold this role or a workspace gives it by default: reassign them first",
            )
            .with_metadata("role_id", role.id.to_string()));
        }
        store::delete_role(&tx, role.account_id, role.id).await?;
        let changes = Changes::new().field("name", &role.name, None::<String>);
        audit::record(
            &tx,
            caller,
            now,
            role_audit("membership.role.delete", &role, changes),
        )
        .await?;
        requests::finish(&tx, caller, Some(&pb::DeleteRoleResponse {})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lists an account's roles (operators, administrators and members).
    #[instrument(skip_all, name = "membership.domain.list_roles")]
    pub(crate) async fn list_roles(
        &self,
        caller: &Caller,
        account_id: Uuid,
    ) -> Result<Vec<pb::Role>> {
        let db = self.pool.get().await?;
        self.require_account_reader(&db, caller, account_id).await?;
        Ok(store::list_roles(&db, account_id)
            .await?
            .iter()
            .map(RoleRecord::to_proto)
            .collect())
    }
}
