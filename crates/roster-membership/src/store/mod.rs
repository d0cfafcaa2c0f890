//! Membership's SQL. Functions take any client (pool connection or transaction); the
//! domain decides transaction boundaries and locks.
mod access;
mod holds;
mod members;
pub(crate) mod records;
mod removals;

pub(crate) use access::*;
pub(crate) use holds::*;
pub(crate) use members::*;
pub(crate) use removals::*;

use chrono::{DateTime, Utc};
use roster_kit::db::GenericClient;
use roster_kit::error::from_db_error;
use roster_kit::sql::{Columns, QueryBuilder};
use roster_kit::{Error, Result};
use roster_proto::membership as pb;
use roster_proto::types::ErrorReason;
use serde_json::Value;
use tokio_postgres::Row;
use tracing::instrument;
use uuid::Uuid;

use self::records::{
    AccountRecord, BuiltIn, CustomFieldRecord, InvitationScope, RoleRecord, Settings,
    WorkspaceRecord,
};

/// The columns a [`WorkspaceRecord`] is read from.
const WORKSPACE_COLUMNS: &str = "account_id, workspace_id, name, seat_limit, seats_used, default_role_id, created_at, updated_at, version";

/// The columns a [`RoleRecord`] is read from.
const ROLE_COLUMNS: &str =
    "account_id, role_id, name, description, permissions, built_in, created_at, updated_at";

/// The columns a [`CustomFieldRecord`] is read from.
const CUSTOM_FIELD_COLUMNS: &str =
    "account_id, key, label, type, options, target, required, created_at";

const ACCOUNT_SELECT: &str = "SELECT a.account_id, a.name, a.invitation_lifetime_secs, a.allowed_email_domains,
                                 a.impersonation_window_secs, a.restore_window_secs, a.self_service_password_reset,
                                 a.invitation_scope, a.custom_field_values, a.seat_allowance, a.created_at,
                                 a.updated_at, a.version,
                                 ARRAY(SELECT user_id FROM account_administrators d
                                 WHERE d.account_id = a.account_id ORDER BY d.created_at, d.user_id) AS administrators,
                                 -- Counted only where there is an allowance to count against.
                                 CASE WHEN a.seat_allowance > 0 THEN
                                     (SELECT count(DISTINCT m.user_id)::integer FROM members m
                                       WHERE m.account_id = a.account_id AND m.status <> 'removed')
                                 ELSE 0 END AS seats_held
                          FROM accounts a";

fn account_from_row(row: &Row) -> Result<AccountRecord> {
    Ok(AccountRecord {
        id: row.column("account_id")?,
        name: row.column("name")?,
        settings: Settings {
            invitation_lifetime_secs: row.column("invitation_lifetime_secs")?,
            allowed_email_domains: row.column("allowed_email_domains")?,
            impersonation_window_secs: row.column("impersonation_window_secs")?,
            restore_window_secs: row.column("restore_window_secs")?,
            self_service_password_reset: row.column("self_service_password_reset")?,
            invitation_scope: InvitationScope::from_db(row.column("invitation_scope")?),
        },
        custom_field_values: row.column("custom_field_values")?,
        administrators: row.column("administrators")?,
        seat_allowance: row.column("seat_allowance")?,
        seats_held: row.column("seats_held")?,
        created_at: row.column("created_at")?,
        updated_at: row.column("updated_at")?,
        version: row.column("version")?,
    })
}

/// Inserts an account (without administrators).
#[instrument(skip_all, name = "membership.store.insert_account")]
pub(crate) async fn insert_account(
    db: &impl GenericClient,
    id: Uuid,
    name: &str,
    settings: &Settings,
    seat_allowance: i32,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "INSERT INTO accounts (account_id, name, invitation_lifetime_secs, allowed_email_domains,
                               impersonation_window_secs, restore_window_secs,
                               self_service_password_reset, created_at, updated_at,
                               invitation_scope, seat_allowance)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)",
        &[
            &id,
            &name,
            &settings.invitation_lifetime_secs,
            &settings.allowed_email_domains,
            &settings.impersonation_window_secs,
            &settings.restore_window_secs,
            &settings.self_service_password_reset,
            &now,
            &settings.invitation_scope.as_db(),
            &seat_allowance,
        ],
    )
    .await?;
    Ok(())
}

/// Reads an account; `for_update` row-locks it until the transaction ends.
#[instrument(skip_all, name = "membership.store.get_account")]
pub(crate) async fn get_account(
    db: &impl GenericClient,
    id: Uuid,
    for_update: bool,
) -> Result<Option<AccountRecord>> {
    let lock = if for_update { " FOR UPDATE OF a" } else { "" };
    let statement = db
        .prepare_cached(&format!("{ACCOUNT_SELECT} WHERE a.account_id = $1{lock}"))
        .await?;
    db.query_opt(&statement, &[&id])
        .await?
        .as_ref()
        .map(account_from_row)
        .transpose()
}

/// One page of accounts by name after `after` (lowered name, id); only those `user`
/// administers or belongs to, when given.
#[instrument(skip_all, name = "membership.store.list_accounts")]
pub(crate) async fn list_accounts(
    db: &impl GenericClient,
    user: Option<Uuid>,
    query: Option<&str>,
    after: Option<&(String, Uuid)>,
    limit: i64,
) -> Result<Vec<AccountRecord>> {
    let mut sql = QueryBuilder::new(&format!("{ACCOUNT_SELECT} WHERE true"));
    if let Some(user) = &user {
        sql.push(
            " AND (EXISTS (SELECT 1 FROM account_administrators d WHERE d.account_id = a.account_id AND d.user_id = {})
                OR EXISTS (SELECT 1 FROM members m WHERE m.user_id = {} AND m.account_id = a.account_id AND m.status <> 'removed'))",
            &[user, user],
        );
    }
    let pattern = query.map(roster_kit::sql::contains_pattern);
    if let Some(pattern) = &pattern {
        sql.push(" AND lower(a.name) LIKE {}", &[pattern]);
    }
    if let Some((name, id)) = after {
        sql.push(" AND (lower(a.name), a.account_id) > ({}, {})", &[name, id]);
    }
    sql.push(" ORDER BY lower(a.name), a.account_id LIMIT {}", &[&limit]);
    db.query(sql.sql(), sql.params())
        .await?
        .iter()
        .map(account_from_row)
        .collect()
}

/// Writes an account's name, settings and seat allowance; bumps its version.
#[instrument(skip_all, name = "membership.store.update_account")]
pub(crate) async fn update_account(
    db: &impl GenericClient,
    id: Uuid,
    name: &str,
    settings: &Settings,
    seat_allowance: i32,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "UPDATE accounts SET name = $2, invitation_lifetime_secs = $3, allowed_email_domains = $4,
                impersonation_window_secs = $5, restore_window_secs = $6,
                self_service_password_reset = $7, updated_at = $8, version = version + 1,
                invitation_scope = $9, seat_allowance = $10
         WHERE account_id = $1",
        &[
            &id,
            &name,
            &settings.invitation_lifetime_secs,
            &settings.allowed_email_domains,
            &settings.impersonation_window_secs,
            &settings.restore_window_secs,
            &settings.self_service_password_reset,
            &now,
            &settings.invitation_scope.as_db(),
            &seat_allowance,
        ],
    )
    .await?;
    Ok(())
}

/// Makes `user` an administrator of the account; false when they already were.
#[instrument(skip_all, name = "membership.store.add_administrator")]
pub(crate) async fn add_administrator(
    db: &impl GenericClient,
    account_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(db
        .execute(
            "INSERT INTO account_administrators (account_id, user_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&account_id, &user_id, &now],
        )
        .await?
        == 1)
}

/// Takes `user`'s administration away; false when they were not one.
#[instrument(skip_all, name = "membership.store.remove_administrator")]
pub(crate) async fn remove_administrator(
    db: &impl GenericClient,
    account_id: Uuid,
    user_id: Uuid,
) -> Result<bool> {
    Ok(db
        .execute(
            "DELETE FROM account_administrators WHERE account_id = $1 AND user_id = $2",
            &[&account_id, &user_id],
        )
        .await?
        == 1)
}

/// Row-locks the account and then counts the distinct users holding a seat in it (in a
/// statement of its own, so the count sees everything committed before the lock was
/// granted): `(seat_allowance, seats_held)`, or `None` when there is no such account.
/// Seats held are the distinct seated users plus the seat holds live at `now` of people
/// not seated yet. Every seat taken in an account with an allowance is taken under this
/// lock.
#[instrument(skip_all, name = "membership.store.lock_account_seats")]
pub(crate) async fn lock_account_seats(
    db: &impl GenericClient,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(i32, i32)>> {
    let statement = db
        .prepare_cached("SELECT seat_allowance FROM accounts WHERE account_id = $1 FOR UPDATE")
        .await?;
    let Some(row) = db.query_opt(&statement, &[&account_id]).await? else {
        return Ok(None);
    };
    let allowance: i32 = row.at(0)?;
    let statement = db
        .prepare_cached(
            "SELECT ((SELECT count(DISTINCT user_id) FROM members
                       WHERE account_id = $1 AND status <> 'removed')
                   + (SELECT count(*) FROM seat_holds h
                       WHERE h.account_id = $1 AND h.expires_at > $2
                         AND NOT EXISTS (SELECT 1 FROM members m
                                          WHERE m.account_id = $1 AND m.user_id = h.user_id
                                            AND m.status <> 'removed')))::integer",
        )
        .await?;
    let held: i32 = db
        .query_one(&statement, &[&account_id, &now])
        .await?
        .at(0)?;
    Ok(Some((allowance, held)))
}

/// Whether `user_id` holds a seat (is active or suspended) in some workspace of the account.
#[instrument(skip_all, name = "membership.store.holds_account_seat")]
pub(crate) async fn holds_account_seat(
    db: &impl GenericClient,
    account_id: Uuid,
    user_id: Uuid,
) -> Result<bool> {
    let statement = db
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM members
                             WHERE account_id = $1 AND user_id = $2 AND status <> 'removed')",
        )
        .await?;
    db.query_one(&statement, &[&account_id, &user_id])
        .await?
        .at(0)
}

/// Those of `emails` whose users hold a seat in some workspace of the account.
#[instrument(skip_all, name = "membership.store.seated_emails")]
pub(crate) async fn seated_emails(
    db: &impl GenericClient,
    account_id: Uuid,
    emails: &[String],
) -> Result<Vec<String>> {
    let statement = db
        .prepare_cached(
            "SELECT DISTINCT email FROM members
              WHERE account_id = $1 AND email = ANY($2) AND status <> 'removed'",
        )
        .await?;
    db.query(&statement, &[&account_id, &emails])
        .await?
        .iter()
        .map(|row| row.at(0))
        .collect()
}

/// Replaces the account's own custom field values.
#[instrument(skip_all, name = "membership.store.set_account_field_values")]
pub(crate) async fn set_account_field_values(
    db: &impl GenericClient,
    account_id: Uuid,
    values: &Value,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "UPDATE accounts SET custom_field_values = $2, updated_at = $3, version = version + 1
         WHERE account_id = $1",
        &[&account_id, values, &now],
    )
    .await?;
    Ok(())
}

fn workspace_from_row(row: &Row) -> Result<WorkspaceRecord> {
    Ok(WorkspaceRecord {
        account_id: row.column("account_id")?,
        id: row.column("workspace_id")?,
        name: row.column("name")?,
        seat_limit: row.column("seat_limit")?,
        seats_used: row.column("seats_used")?,
        default_role_id: row.column("default_role_id")?,
        created_at: row.column("created_at")?,
        updated_at: row.column("updated_at")?,
        version: row.column("version")?,
    })
}

/// Inserts a workspace; a taken name fails with SQLSTATE 23505.
#[instrument(skip_all, name = "membership.store.insert_workspace")]
pub(crate) async fn insert_workspace(
    db: &impl GenericClient,
    workspace: &WorkspaceRecord,
) -> Result<()> {
    db.execute(
        "INSERT INTO workspaces (account_id, workspace_id, name, seat_limit, default_role_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
        &[
            &workspace.account_id,
            &workspace.id,
            &workspace.name,
            &workspace.seat_limit,
            &workspace.default_role_id,
            &workspace.created_at,
        ],
    )
    .await
    .map_err(unique_violation(&workspace.name))?;
    Ok(())
}

/// Reads a workspace; `for_update` row-locks it, which serializes every change to its
/// seats and admins.
/// The statement of [`get_workspace`].
pub(crate) fn workspace_by_id_sql(for_update: bool) -> String {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE workspace_id = $1{lock}")
}

#[instrument(skip_all, name = "membership.store.get_workspace")]
pub(crate) async fn get_workspace(
    db: &impl GenericClient,
    id: Uuid,
    for_update: bool,
) -> Result<Option<WorkspaceRecord>> {
    let statement = db.prepare_cached(&workspace_by_id_sql(for_update)).await?;
    db.query_opt(&statement, &[&id])
        .await?
        .as_ref()
        .map(workspace_from_row)
        .transpose()
}

/// Every workspace of an account, row-locked in id order (so concurrent callers never
/// deadlock).
#[instrument(skip_all, name = "membership.store.lock_workspaces_of")]
pub(crate) async fn lock_workspaces_of(
    db: &impl GenericClient,
    account_id: Uuid,
) -> Result<Vec<WorkspaceRecord>> {
    db.query(
        &format!(
            "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE account_id = $1
                 ORDER BY workspace_id FOR UPDATE"
        ),
        &[&account_id],
    )
    .await?
    .iter()
    .map(workspace_from_row)
    .collect()
}

/// Row-locks the given workspaces in id order.
#[instrument(skip_all, name = "membership.store.lock_workspaces")]
pub(crate) async fn lock_workspaces(
    db: &impl GenericClient,
    ids: &[Uuid],
) -> Result<Vec<WorkspaceRecord>> {
    db.query(
        &format!(
            "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE workspace_id = ANY($1)
                 ORDER BY workspace_id FOR UPDATE"
        ),
        &[&ids],
    )
    .await?
    .iter()
    .map(workspace_from_row)
    .collect()
}

/// One page of an account's workspaces by name; only those `member` belongs to, when given.
#[instrument(skip_all, name = "membership.store.list_workspaces")]
pub(crate) async fn list_workspaces(
    db: &impl GenericClient,
    account_id: Uuid,
    member: Option<Uuid>,
    after: Option<&(String, Uuid)>,
    limit: i64,
) -> Result<Vec<WorkspaceRecord>> {
    let mut sql = QueryBuilder::new(&format!(
        "SELECT {WORKSPACE_COLUMNS} FROM workspaces w WHERE true"
    ));
    sql.push(" AND w.account_id = {}", &[&account_id]);
    if let Some(member) = &member {
        sql.push(
            " AND EXISTS (SELECT 1 FROM members m WHERE m.account_id = w.account_id
                 AND m.workspace_id = w.workspace_id AND m.user_id = {} AND m.status <> 'removed')",
            &[member],
        );
    }
    if let Some((name, id)) = after {
        sql.push(
            " AND (lower(w.name), w.workspace_id) > ({}, {})",
            &[name, id],
        );
    }
    sql.push(
        " ORDER BY lower(w.name), w.workspace_id LIMIT {}",
        &[&limit],
    );
    db.query(sql.sql(), sql.params())
        .await?
        .iter()
        .map(workspace_from_row)
        .collect()
}

/// An account's workspaces by name: the given ones (those of the account among them),
/// or every one.
#[instrument(skip_all, name = "membership.store.workspaces_by_name")]
pub(crate) async fn workspaces_by_name(
    db: &impl GenericClient,
    account_id: Uuid,
    ids: Option<&[Uuid]>,
) -> Result<Vec<WorkspaceRecord>> {
    let mut sql = QueryBuilder::new(&format!(
        "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE true"
    ));
    sql.push(" AND account_id = {}", &[&account_id]);
    if let Some(ids) = &ids {
        sql.push(" AND workspace_id = ANY({})", &[ids]);
    }
    sql.push(" ORDER BY lower(name), workspace_id", &[]);
    db.query(sql.sql(), sql.params())
        .await?
        .iter()
        .map(workspace_from_row)
        .collect()
}

/// Writes a workspace's name, seat limit and default role; bumps its version.
#[instrument(skip_all, name = "membership.store.update_workspace")]
pub(crate) async fn update_workspace(
    db: &impl GenericClient,
    workspace: &WorkspaceRecord,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "UPDATE workspaces SET name = $3, seat_limit = $4, default_role_id = $5, updated_at = $6,
                version = version + 1
         WHERE account_id = $1 AND workspace_id = $2",
        &[
            &workspace.account_id,
            &workspace.id,
            &workspace.name,
            &workspace.seat_limit,
            &workspace.default_role_id,
            &now,
        ],
    )
    .await
    .map_err(unique_violation(&workspace.name))?;
    Ok(())
}

/// Adds `delta` to a workspace's used seats (the caller holds the row lock).
#[instrument(skip_all, name = "membership.store.add_seats")]
pub(crate) async fn add_seats(
    db: &impl GenericClient,
    account_id: Uuid,
    workspace_id: Uuid,
    delta: i32,
) -> Result<()> {
    db.execute(
        "UPDATE workspaces SET seats_used = seats_used + $3 WHERE account_id = $1 AND workspace_id = $2",
        &[&account_id, &workspace_id, &delta],
    )
    .await?;
    Ok(())
}

/// The refusal for a name the account already gives another workspace or role.
fn name_taken(what: &str, name: &str) -> Error {
    Error::refused(
        ErrorReason::AlreadyExists,
        format!("the account already has a {what} named {name:?}"),
    )
    .with_metadata("name", name)
}

/// What a unique violation on membership's tables means, decided by the violated
/// constraint's name (migration `0002_membership.sql`); `name` is the workspace or role
/// name the statement wrote.
fn unique_violation(name: &str) -> impl FnOnce(tokio_postgres::Error) -> Error + '_ {
    move |error| {
        from_db_error(error, |constraint| match constraint {
            "workspaces_unique_name" => Some(name_taken("workspace", name)),
            "roles_unique_name" => Some(name_taken("role", name)),
            _ => None,
        })
    }
}

fn role_from_row(row: &Row) -> Result<RoleRecord> {
    Ok(RoleRecord {
        account_id: row.column("account_id")?,
        id: row.column("role_id")?,
        name: row.column("name")?,
        description: row.column("description")?,
        permissions: row.column("permissions")?,
        built_in: BuiltIn::from_db(row.column("built_in")?),
        created_at: row.column("created_at")?,
        updated_at: row.column("updated_at")?,
    })
}

/// Inserts a role; a taken name fails with SQLSTATE 23505.
#[instrument(skip_all, name = "membership.store.insert_role")]
pub(crate) async fn insert_role(db: &impl GenericClient, role: &RoleRecord) -> Result<()> {
    db.execute(
        "INSERT INTO roles (account_id, role_id, name, description, permissions, built_in, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        &[
            &role.account_id,
            &role.id,
            &role.name,
            &role.description,
            &role.permissions,
            &role.built_in.map(BuiltIn::as_db),
            &role.created_at,
        ],
    )
    .await
    .map_err(unique_violation(&role.name))?;
    Ok(())
}

/// Reads a role; `for_update` row-locks it.
#[instrument(skip_all, name = "membership.store.get_role")]
pub(crate) async fn get_role(
    db: &impl GenericClient,
    id: Uuid,
    for_update: bool,
) -> Result<Option<RoleRecord>> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    db.query_opt(
        &format!("SELECT {ROLE_COLUMNS} FROM roles WHERE role_id = $1{lock}"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(role_from_row)
    .transpose()
}

/// An account's built-in role.
#[instrument(skip_all, name = "membership.store.built_in_role")]
pub(crate) async fn built_in_role(
    db: &impl GenericClient,
    account_id: Uuid,
    which: BuiltIn,
) -> Result<Option<RoleRecord>> {
    let statement = db
        .prepare_cached(&format!(
            "SELECT {ROLE_COLUMNS} FROM roles WHERE account_id = $1 AND built_in = $2"
        ))
        .await?;
    db.query_opt(&statement, &[&account_id, &which.as_db()])
        .await?
        .as_ref()
        .map(role_from_row)
        .transpose()
}

/// An account's roles: built-in first, then by name.
#[instrument(skip_all, name = "membership.store.list_roles")]
pub(crate) async fn list_roles(
    db: &impl GenericClient,
    account_id: Uuid,
) -> Result<Vec<RoleRecord>> {
    db.query(
        &format!(
            "SELECT {ROLE_COLUMNS} FROM roles WHERE account_id = $1
                 ORDER BY built_in IS NULL, lower(name), role_id"
        ),
        &[&account_id],
    )
    .await?
    .iter()
    .map(role_from_row)
    .collect()
}

/// Writes a role's name, description and permissions.
#[instrument(skip_all, name = "membership.store.update_role")]
pub(crate) async fn update_role(
    db: &impl GenericClient,
    role: &RoleRecord,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "UPDATE roles SET name = $3, description = $4, permissions = $5, updated_at = $6
         WHERE account_id = $1 AND role_id = $2",
        &[
            &role.account_id,
            &role.id,
            &role.name,
            &role.description,
            &role.permissions,
            &now,
        ],
    )
    .await
    .map_err(unique_violation(&role.name))?;
    Ok(())
}

/// Whether any member (removed ones included: restoring brings their roles back) holds
/// the role, or any workspace gives it by default.
#[instrument(skip_all, name = "membership.store.role_in_use")]
pub(crate) async fn role_in_use(
    db: &impl GenericClient,
    account_id: Uuid,
    role_id: Uuid,
) -> Result<bool> {
    db
    .query_one(
        "SELECT EXISTS (SELECT 1 FROM members WHERE account_id = $1 AND role_ids @> ARRAY[$2::uuid])
             OR EXISTS (SELECT 1 FROM workspaces WHERE account_id = $1 AND default_role_id = $2)",
        &[&account_id, &role_id],
    )
    .await?
    .at(0)
}

/// Deletes a role.
#[instrument(skip_all, name = "membership.store.delete_role")]
pub(crate) async fn delete_role(
    db: &impl GenericClient,
    account_id: Uuid,
    role_id: Uuid,
) -> Result<()> {
    db.execute(
        "DELETE FROM roles WHERE account_id = $1 AND role_id = $2",
        &[&account_id, &role_id],
    )
    .await?;
    Ok(())
}

/// Which of `ids` are roles of the account.
#[instrument(skip_all, name = "membership.store.roles_in_account")]
pub(crate) async fn roles_in_account(
    db: &impl GenericClient,
    account_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    db.query(
        "SELECT role_id FROM roles WHERE account_id = $1 AND role_id = ANY($2)",
        &[&account_id, &ids],
    )
    .await?
    .iter()
    .map(|row| row.at(0))
    .collect()
}

fn field_type_from_db(value: &str) -> pb::CustomFieldType {
    match value {
        "number" => pb::CustomFieldType::Number,
        "boolean" => pb::CustomFieldType::Boolean,
        "one_of" => pb::CustomFieldType::OneOf,
        _ => pb::CustomFieldType::String,
    }
}

/// The stored name of a field type.
pub(crate) fn field_type_as_db(value: pb::CustomFieldType) -> &'static str {
    match value {
        pb::CustomFieldType::Number => "number",
        pb::CustomFieldType::Boolean => "boolean",
        pb::CustomFieldType::OneOf => "one_of",
        pb::CustomFieldType::String | pb::CustomFieldType::Unspecified => "string",
    }
}

fn custom_field_from_row(row: &Row) -> Result<CustomFieldRecord> {
    Ok(CustomFieldRecord {
        account_id: row.column("account_id")?,
        key: row.column("key")?,
        label: row.column("label")?,
        field_type: field_type_from_db(row.column("type")?),
        options: row.column("options")?,
        target: if row.column::<&str>("target")? == "account" {
            pb::CustomFieldTarget::Account
        } else {
            pb::CustomFieldTarget::Member
        },
        required: row.column("required")?,
        created_at: row.column("created_at")?,
    })
}

/// Inserts or replaces a custom field definition (keeping its creation time).
#[instrument(skip_all, name = "membership.store.upsert_custom_field")]
pub(crate) async fn upsert_custom_field(
    db: &impl GenericClient,
    field: &CustomFieldRecord,
) -> Result<CustomFieldRecord> {
    let target = if field.target == pb::CustomFieldTarget::Account {
        "account"
    } else {
        "member"
    };
    let row = db
        .query_one(
            &format!("INSERT INTO custom_fields (account_id, key, label, type, options, target, required, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (account_id, key) DO UPDATE
                 SET label = EXCLUDED.label, type = EXCLUDED.type, options = EXCLUDED.options,
                     target = EXCLUDED.target, required = EXCLUDED.required
             RETURNING {CUSTOM_FIELD_COLUMNS}"),
            &[
                &field.account_id,
                &field.key,
                &field.label,
                &field_type_as_db(field.field_type),
                &field.options,
                &target,
                &field.required,
                &field.created_at,
            ],
        )
        .await?;
    custom_field_from_row(&row)
}

/// An account's custom field definitions by key.
#[instrument(skip_all, name = "membership.store.list_custom_fields")]
pub(crate) async fn list_custom_fields(
    db: &impl GenericClient,
    account_id: Uuid,
) -> Result<Vec<CustomFieldRecord>> {
    db.query(
        &format!(
            "SELECT {CUSTOM_FIELD_COLUMNS} FROM custom_fields WHERE account_id = $1 ORDER BY key"
        ),
        &[&account_id],
    )
    .await?
    .iter()
    .map(custom_field_from_row)
    .collect()
}

/// A member's custom field values in an account (row-locked), or `{}`.
#[instrument(skip_all, name = "membership.store.lock_member_field_values")]
pub(crate) async fn lock_member_field_values(
    db: &impl GenericClient,
    account_id: Uuid,
    user_id: Uuid,
) -> Result<Value> {
    db.execute(
        "INSERT INTO member_field_values (account_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&account_id, &user_id],
    )
    .await?;
    db
    .query_one(
        "SELECT field_values FROM member_field_values WHERE account_id = $1 AND user_id = $2 FOR UPDATE",
        &[&account_id, &user_id],
    )
    .await?
    .at(0)
}

/// Replaces a member's custom field values in an account.
#[instrument(skip_all, name = "membership.store.set_member_field_values")]
pub(crate) async fn set_member_field_values(
    db: &impl GenericClient,
    account_id: Uuid,
    user_id: Uuid,
    values: &Value,
) -> Result<()> {
    db.execute(
        "UPDATE member_field_values SET field_values = $3 WHERE account_id = $1 AND user_id = $2",
        &[&account_id, &user_id, values],
    )
    .await?;
    Ok(())
}
