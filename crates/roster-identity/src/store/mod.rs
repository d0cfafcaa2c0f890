//! Identity's SQL. Functions take any client (pool connection or transaction); the
//! domain decides transaction boundaries.
use chrono::{DateTime, Utc};
use roster_kit::db::GenericClient;
use roster_kit::error::from_db_error;
use roster_kit::sql::{Columns, KeysetOrder, QueryBuilder, contains_pattern};
use roster_kit::{Error, Result, locks};
use roster_proto::types::ErrorReason;
use tokio_postgres::Row;
use uuid::Uuid;

mod impersonation;
mod login_attempts;
pub(crate) mod records;
pub(crate) mod watchers;

pub(crate) use self::impersonation::{
    GrantQuery, ImpersonationQuery, NewGrant, decide_grant, get_grant, grant_pending,
    has_automatic_impersonation, insert_grant, insert_impersonation_session, list_grants,
    list_impersonation_sessions, revoke_grant, set_automatic_impersonation,
};
pub(crate) use self::login_attempts::{
    claim_failed_login_notice, count_login_attempt, forget_login_attempts,
    forget_stale_login_attempts, lock_login_attempts, login_failure_totals,
};

use self::records::{
    ApiKeyRecord, GrantState, ImpersonationFacts, Kind, Status, TokenOwner, UserRecord,
};
use tracing::instrument;

/// The columns a [`UserRecord`] is read from.
const USER_COLUMNS: &str =
    "user_id, kind, email, display_name, phone, description, platform_role, status, locked_until,
     password_hash, password_change_required, pending_email, invitation_id,
     email_verified_at, created_at, updated_at, version, change_seq";

fn user_from_row(row: &Row) -> Result<UserRecord> {
    Ok(UserRecord {
        id: row.column("user_id")?,
        kind: Kind::from_db(row.column("kind")?),
        email: row.column("email")?,
        display_name: row.column("display_name")?,
        phone: row.column("phone")?,
        description: row.column("description")?,
        is_operator: row.column::<&str>("platform_role")? == "operator",
        status: Status::from_db(row.column("status")?),
        locked_until: row.column("locked_until")?,
        password_hash: row.column("password_hash")?,
        password_change_required: row.column("password_change_required")?,
        pending_email: row.column("pending_email")?,
        invitation_id: row.column("invitation_id")?,
        email_verified_at: row.column("email_verified_at")?,
        created_at: row.column("created_at")?,
        updated_at: row.column("updated_at")?,
        version: row.column("version")?,
        change_seq: row.column("change_seq")?,
    })
}

/// The refusal for an email another user already has.
pub(crate) fn email_taken(email: &str) -> Error {
    Error::refused(
        ErrorReason::EmailTaken,
        "another user already has this email",
    )
    .with_metadata("email", email)
}

/// The refusal for an invitation that created a user who has another email by now.
pub(crate) fn invitation_taken() -> Error {
    Error::refused(
        ErrorReason::AlreadyExists,
        "this invitation was already accepted by a user who no longer has this email",
    )
}

/// What a unique violation on identity's tables means, decided by the violated
/// constraint's name (migrations `0003_identity.sql`, `0004_invited_users.sql`); `email`
/// is the address the statement wrote.
fn unique_violation(email: &str) -> impl FnOnce(tokio_postgres::Error) -> Error + '_ {
    move |error| {
        from_db_error(error, |constraint| match constraint {
            "users_email_unique" => Some(email_taken(email)),
            // The email was checked first (its index is older), so it is free.
            "users_invitation_id_key" => Some(invitation_taken()),
            _ => None,
        })
    }
}

/// Orders feed positions by commit order: held until the transaction ends.
async fn lock_feed(db: &impl GenericClient) -> Result<()> {
    locks::hold_until_commit(db, locks::USER_CHANGES).await
}

/// Serializes bootstraps: held until the transaction ends.
#[instrument(skip_all, name = "identity.store.lock_bootstrap")]
pub(crate) async fn lock_bootstrap(db: &impl GenericClient) -> Result<()> {
    locks::hold_until_commit(db, locks::BOOTSTRAP).await
}

/// A user to insert.
#[derive(Debug)]
pub(crate) struct NewUser<'a> {
    pub(crate) kind: Kind,
    pub(crate) email: &'a str,
    pub(crate) display_name: &'a str,
    pub(crate) phone: &'a str,
    pub(crate) description: &'a str,
    pub(crate) is_operator: bool,
    pub(crate) password_hash: Option<&'a str>,
    /// The invitation the person accepted, for users ProvisionInvitedUser creates.
    pub(crate) invitation_id: Option<Uuid>,
    /// When the email was proven (accepting an invitation proves it at creation).
    pub(crate) email_verified_at: Option<DateTime<Utc>>,
}

/// Inserts a user; a taken email is `EMAIL_TAKEN`, a taken invitation `ALREADY_EXISTS`.
#[instrument(skip_all, name = "identity.store.insert_user")]
pub(crate) async fn insert_user(
    db: &impl GenericClient,
    user: &NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<UserRecord> {
    lock_feed(db).await?;
    let role = if user.is_operator { "operator" } else { "user" };
    let row = db
        .query_one(
            &format!("INSERT INTO users (user_id, kind, email, display_name, phone, description, platform_role,
                                password_hash, invitation_id, email_verified_at, created_at, updated_at,
                                change_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $10, $10, nextval('user_change_seq'))
             RETURNING {USER_COLUMNS}"),
            &[
                &Uuid::now_v7(),
                &user.kind.as_db(),
                &user.email,
                &user.display_name,
                &user.phone,
                &user.description,
                &role,
                &user.password_hash,
                &user.invitation_id,
                &now,
                &user.email_verified_at,
            ],
        )
        .await
        .map_err(unique_violation(user.email))?;
    user_from_row(&row)
}

/// Reads a user.
#[instrument(skip_all, name = "identity.store.get_user")]
pub(crate) async fn get_user(db: &impl GenericClient, id: Uuid) -> Result<Option<UserRecord>> {
    db.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE user_id = $1"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(user_from_row)
    .transpose()
}

/// Reads and row-locks a user until the transaction ends.
#[instrument(skip_all, name = "identity.store.lock_user")]
pub(crate) async fn lock_user(db: &impl GenericClient, id: Uuid) -> Result<Option<UserRecord>> {
    db.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE user_id = $1 FOR UPDATE"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(user_from_row)
    .transpose()
}

/// Reads a user by (normalized) email.
#[instrument(skip_all, name = "identity.store.find_by_email")]
pub(crate) async fn find_by_email(
    db: &impl GenericClient,
    email: &str,
) -> Result<Option<UserRecord>> {
    db.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1 AND email <> ''"),
        &[&email],
    )
    .await?
    .as_ref()
    .map(user_from_row)
    .transpose()
}

/// Reads many users.
#[instrument(skip_all, name = "identity.store.get_users")]
pub(crate) async fn get_users(db: &impl GenericClient, ids: &[Uuid]) -> Result<Vec<UserRecord>> {
    db.query(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE user_id = ANY($1)"),
        &[&ids],
    )
    .await?
    .iter()
    .map(user_from_row)
    .collect()
}

/// Whether any platform operator exists.
#[instrument(skip_all, name = "identity.store.operator_exists")]
pub(crate) async fn operator_exists(db: &impl GenericClient) -> Result<bool> {
    db.query_one(
        "SELECT EXISTS (SELECT 1 FROM users WHERE platform_role = 'operator') AS found",
        &[],
    )
    .await?
    .column("found")
}

/// Changes to apply to a user; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub(crate) struct UserPatch {
    pub(crate) display_name: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) email: Option<String>,
    /// `Some(None)` clears the pending email.
    pub(crate) pending_email: Option<Option<String>>,
    /// New status with its lock end and reason.
    pub(crate) status: Option<(Status, Option<DateTime<Utc>>, String)>,
    pub(crate) password_hash: Option<String>,
    pub(crate) password_change_required: Option<bool>,
    /// The email was proven at this time: recorded unless an earlier proof of the same
    /// email stands. With `email` set, it is the new email's proof (`None`: unproven).
    pub(crate) email_verified_at: Option<DateTime<Utc>>,
}

/// Applies `patch` to a user, taking a new feed position; a taken email is `EMAIL_TAKEN`.
#[instrument(skip_all, name = "identity.store.update_user")]
pub(crate) async fn update_user(
    db: &impl GenericClient,
    id: Uuid,
    patch: UserPatch,
    now: DateTime<Utc>,
) -> Result<UserRecord> {
    lock_feed(db).await?;
    let (status, locked_until, lock_reason) = match patch.status {
        Some((status, until, reason)) => (Some(status.as_db()), until, Some(reason)),
        None => (None, None, None),
    };
    let row = db
        .query_one(
            include_str!("update_user.sql"),
            &[
                &id,
                &patch.display_name,
                &patch.phone,
                &patch.email,
                &patch.pending_email.is_some(),
                &patch.pending_email.flatten(),
                &status,
                &locked_until,
                &lock_reason,
                &patch.password_hash,
                &patch.password_change_required,
                &now,
                &patch.email_verified_at,
            ],
        )
        .await
        .map_err(unique_violation(patch.email.as_deref().unwrap_or_default()))?;
    user_from_row(&row)
}

/// Filters and order of `ListUsers`.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct UserQuery {
    pub(crate) kind: Option<Kind>,
    pub(crate) status: Option<Status>,
    pub(crate) query: Option<String>,
    pub(crate) order: UserOrder,
    pub(crate) descending: bool,
}

/// Sort keys of `ListUsers`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) enum UserOrder {
    Email,
    DisplayName,
    CreateTime,
}

impl UserOrder {
    /// The indexed sort expression, and how its page-token value is turned back into it.
    fn expression(self) -> (&'static str, &'static str) {
        match self {
            Self::Email => ("email", "{}::text"),
            Self::DisplayName => ("lower(display_name)", "{}::text"),
            Self::CreateTime => ("created_at", "CAST({}::text AS timestamptz)"),
        }
    }

    /// The sort value of a user, as kept in page tokens.
    pub(crate) fn key_of(self, user: &UserRecord) -> String {
        match self {
            Self::Email => user.email.clone(),
            Self::DisplayName => user.display_name.to_lowercase(),
            Self::CreateTime => user.created_at.to_rfc3339(),
        }
    }
}

/// One page of users after `after` (sort value, user id).
#[instrument(skip_all, name = "identity.store.list_users")]
pub(crate) async fn list_users(
    db: &impl GenericClient,
    query: &UserQuery,
    after: Option<&(String, Uuid)>,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<UserRecord>> {
    let mut sql = QueryBuilder::new(&format!("SELECT {USER_COLUMNS} FROM users WHERE true"));
    let kind = query.kind.map(Kind::as_db);
    if let Some(kind) = &kind {
        sql.push(" AND kind = {}", &[kind]);
    }
    match query.status {
        Some(Status::Active) => sql.push(
            " AND (status = 'active' OR (status = 'locked' AND locked_until <= {}))",
            &[&now],
        ),
        Some(Status::Locked) => sql.push(
            " AND status = 'locked' AND (locked_until IS NULL OR locked_until > {})",
            &[&now],
        ),
        Some(Status::Disabled) => sql.push(" AND status = 'disabled'", &[]),
        None => &mut sql,
    };
    let pattern = query.query.as_deref().map(contains_pattern);
    if let Some(pattern) = &pattern {
        sql.push(
            " AND (email LIKE {} OR lower(display_name) LIKE {})",
            &[pattern, pattern],
        );
    }
    let (column, cast) = query.order.expression();
    let order = KeysetOrder {
        column,
        cast,
        id_column: "user_id",
        descending: query.descending,
    };
    sql.push_keyset(&order, after, &limit);
    db.query(sql.sql(), sql.params())
        .await?
        .iter()
        .map(user_from_row)
        .collect()
}

/// Users changed after feed position `after`, oldest change first.
#[instrument(skip_all, name = "identity.store.list_changes")]
pub(crate) async fn list_changes(
    db: &impl GenericClient,
    after: i64,
    limit: i64,
) -> Result<Vec<UserRecord>> {
    db.query(
        &format!(
            "SELECT {USER_COLUMNS} FROM users WHERE change_seq > $1 ORDER BY change_seq LIMIT $2"
        ),
        &[&after, &limit],
    )
    .await?
    .iter()
    .map(user_from_row)
    .collect()
}

fn owner_from_row(row: &Row, session: bool) -> Result<TokenOwner> {
    Ok(TokenOwner {
        user_id: row.column("user_id")?,
        kind: Kind::from_db(row.column("kind")?),
        email: row.column("email")?,
        is_operator: row.column::<&str>("platform_role")? == "operator",
        status: Status::from_db(row.column("status")?),
        locked_until: row.column("locked_until")?,
        session_id: if session {
            row.column("session_id")?
        } else {
            None
        },
        api_key_id: if session {
            None
        } else {
            row.column("api_key_id")?
        },
        expires_at: row.column("expires_at")?,
        impersonator_id: if session {
            row.column("impersonator_user_id")?
        } else {
            None
        },
        password_change_only: session && row.column::<bool>("password_change_only")?,
        impersonation: if session {
            impersonation_from_row(row)?
        } else {
            None
        },
    })
}

fn impersonation_from_row(row: &Row) -> Result<Option<ImpersonationFacts>> {
    let Some(grant_id) = row.column("impersonation_grant_id")? else {
        return Ok(None);
    };
    Ok(Some(ImpersonationFacts {
        grant_id,
        grant_state: GrantState::from_db(row.column("grant_state")?),
        grant_expires_at: row.column("grant_expires_at")?,
        grant_automatic: row.column("grant_automatic")?,
        impersonator_id: row.column("impersonator_user_id")?,
        impersonator_is_operator: row.column::<&str>("impersonator_platform_role")? == "operator",
        impersonator_status: Status::from_db(row.column("impersonator_status")?),
        impersonator_locked_until: row.column("impersonator_locked_until")?,
        impersonator_has_automatic: row.column("impersonator_has_automatic")?,
    }))
}

/// Resolves a live session by token hash.
#[instrument(skip_all, name = "identity.store.session_owner")]
pub(crate) async fn session_owner(
    db: &impl GenericClient,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<TokenOwner>> {
    let statement = db
        .prepare_cached(include_str!("authenticate_session.sql"))
        .await?;
    db.query_opt(&statement, &[&hash, &now])
        .await?
        .map(|row| owner_from_row(&row, true))
        .transpose()
}

/// Resolves a live API key by token hash.
#[instrument(skip_all, name = "identity.store.api_key_owner")]
pub(crate) async fn api_key_owner(
    db: &impl GenericClient,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<TokenOwner>> {
    let statement = db
        .prepare_cached(include_str!("authenticate_api_key.sql"))
        .await?;
    db.query_opt(&statement, &[&hash, &now])
        .await?
        .map(|row| owner_from_row(&row, false))
        .transpose()
}

/// The user of the session with this token hash, live, ended or expired.
#[instrument(skip_all, name = "identity.store.session_user")]
pub(crate) async fn session_user(db: &impl GenericClient, hash: &[u8]) -> Result<Option<Uuid>> {
    db.query_opt(
        "SELECT user_id FROM sessions WHERE token_hash = $1",
        &[&hash],
    )
    .await?
    .map(|row| row.column("user_id"))
    .transpose()
}

/// Stores a session.
#[instrument(skip_all, name = "identity.store.insert_session")]
pub(crate) async fn insert_session(
    db: &impl GenericClient,
    user_id: Uuid,
    hash: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    password_change_only: bool,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    db.execute(
        "INSERT INTO sessions (session_id, user_id, token_hash, created_at, expires_at, password_change_only)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&id, &user_id, &hash, &now, &expires_at, &password_change_only],
    )
    .await?;
    Ok(id)
}

/// Ends a user's live sessions, except `keep`; returns how many ended.
#[instrument(skip_all, name = "identity.store.revoke_sessions")]
pub(crate) async fn revoke_sessions(
    db: &impl GenericClient,
    user_id: Uuid,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(db
        .execute(
            "UPDATE sessions SET revoked_at = $2
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
               AND session_id IS DISTINCT FROM $3",
            &[&user_id, &now, &keep],
        )
        .await?)
}

/// Ends one session.
#[instrument(skip_all, name = "identity.store.revoke_session")]
pub(crate) async fn revoke_session(
    db: &impl GenericClient,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL",
        &[&session_id, &now],
    )
    .await?;
    Ok(())
}

/// Lets a session opened with a temporary password do everything again.
#[instrument(skip_all, name = "identity.store.lift_session_restriction")]
pub(crate) async fn lift_session_restriction(
    db: &impl GenericClient,
    session_id: Uuid,
) -> Result<()> {
    db.execute(
        "UPDATE sessions SET password_change_only = false WHERE session_id = $1",
        &[&session_id],
    )
    .await?;
    Ok(())
}

fn api_key_from_row(row: &Row) -> Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: row.column("api_key_id")?,
        user_id: row.column("user_id")?,
        display_name: row.column("display_name")?,
        secret_prefix: row.column("secret_prefix")?,
        created_at: row.column("created_at")?,
        expires_at: row.column("expires_at")?,
        revoked_at: row.column("revoked_at")?,
    })
}

const API_KEY_COLUMNS: &str =
    "api_key_id, user_id, display_name, secret_prefix, created_at, expires_at, revoked_at";

/// Stores an API key.
#[instrument(skip_all, name = "identity.store.insert_api_key")]
pub(crate) async fn insert_api_key(
    db: &impl GenericClient,
    user_id: Uuid,
    display_name: &str,
    secret_prefix: &str,
    hash: &[u8],
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<ApiKeyRecord> {
    let row = db
        .query_one(
            &format!(
                "INSERT INTO api_keys (api_key_id, user_id, display_name, secret_prefix, token_hash, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {API_KEY_COLUMNS}"
            ),
            &[&Uuid::now_v7(), &user_id, &display_name, &secret_prefix, &hash, &now, &expires_at],
        )
        .await?;
    api_key_from_row(&row)
}

/// Reads an API key.
#[instrument(skip_all, name = "identity.store.get_api_key")]
pub(crate) async fn get_api_key(db: &impl GenericClient, id: Uuid) -> Result<Option<ApiKeyRecord>> {
    db.query_opt(
        &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE api_key_id = $1"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(api_key_from_row)
    .transpose()
}

/// Revokes an API key (keeping the first revocation time).
#[instrument(skip_all, name = "identity.store.revoke_api_key")]
pub(crate) async fn revoke_api_key(
    db: &impl GenericClient,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<ApiKeyRecord>> {
    db
        .query_opt(
            &format!(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE api_key_id = $1 RETURNING {API_KEY_COLUMNS}"
            ),
            &[&id, &now],
        )
        .await?
        .as_ref()
        .map(api_key_from_row)
        .transpose()
}

/// A user's API keys, newest first, after `after` (created, id).
#[instrument(skip_all, name = "identity.store.list_api_keys")]
pub(crate) async fn list_api_keys(
    db: &impl GenericClient,
    user_id: Uuid,
    live_only: bool,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<ApiKeyRecord>> {
    let mut sql = QueryBuilder::new(&format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE true"
    ));
    sql.push(" AND user_id = {}", &[&user_id]);
    if live_only {
        sql.push(
            " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > {})",
            &[&now],
        );
    }
    if let Some((created, id)) = after {
        sql.push(" AND (created_at, api_key_id) < ({}, {})", &[created, id]);
    }
    sql.push(
        " ORDER BY created_at DESC, api_key_id DESC LIMIT {}",
        &[&limit],
    );
    db.query(sql.sql(), sql.params())
        .await?
        .iter()
        .map(api_key_from_row)
        .collect()
}

/// One-time token purposes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    PasswordReset,
    EmailChange,
}

impl Purpose {
    fn as_db(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
        }
    }
}

/// Stores a one-time token, voiding the user's earlier open ones of the same purpose so
/// only the newest link works.
#[instrument(skip_all, name = "identity.store.replace_one_time_token")]
pub(crate) async fn replace_one_time_token(
    db: &impl GenericClient,
    user_id: Uuid,
    purpose: Purpose,
    hash: &[u8],
    new_email: Option<&str>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "UPDATE one_time_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        &[&user_id, &purpose.as_db(), &now],
    )
    .await?;
    db.execute(
        "INSERT INTO one_time_tokens (token_id, user_id, purpose, token_hash, new_email, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&Uuid::now_v7(), &user_id, &purpose.as_db(), &hash, &new_email, &now, &expires_at],
    )
    .await?;
    Ok(())
}

/// Whether the user was sent a token of this purpose at or after `since`.
#[instrument(skip_all, name = "identity.store.token_sent_since")]
pub(crate) async fn token_sent_since(
    db: &impl GenericClient,
    user_id: Uuid,
    purpose: Purpose,
    since: DateTime<Utc>,
) -> Result<bool> {
    let row = db
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM one_time_tokens WHERE user_id = $1 AND purpose = $2 AND created_at >= $3) AS sent",
            &[&user_id, &purpose.as_db(), &since],
        )
        .await?;
    row.column("sent")
}

/// Consumes a one-time token: of any number of concurrent calls, exactly one gets the
/// row (the `used_at IS NULL` guard is re-checked after the row lock).
#[instrument(skip_all, name = "identity.store.consume_one_time_token")]
pub(crate) async fn consume_one_time_token(
    db: &impl GenericClient,
    purpose: Purpose,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<(Uuid, Option<String>)>> {
    db.query_opt(
        "UPDATE one_time_tokens SET used_at = $3
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
             RETURNING user_id, new_email",
        &[&hash, &purpose.as_db(), &now],
    )
    .await?
    .map(|row| Ok((row.column("user_id")?, row.column("new_email")?)))
    .transpose()
}

/// Deletes what no longer serves: long-expired sessions and tokens, old request answers,
/// watchers gone for an hour.
#[instrument(skip_all, name = "identity.store.delete_stale")]
pub(crate) async fn delete_stale(
    db: &impl GenericClient,
    keep_after: DateTime<Utc>,
) -> Result<u64> {
    let sessions = db
        .execute("DELETE FROM sessions WHERE expires_at < $1", &[&keep_after])
        .await?;
    let tokens = db
        .execute(
            "DELETE FROM one_time_tokens WHERE expires_at < $1",
            &[&keep_after],
        )
        .await?;
    let requests = db
        .execute(
            "DELETE FROM request_log WHERE created_at < $1",
            &[&keep_after],
        )
        .await?;
    // Watchers that stopped without saying so, by the database's clock: a live watcher
    // acknowledges every few hundred milliseconds.
    let watchers = db
        .execute(
            "DELETE FROM user_change_watchers WHERE acknowledged_at < clock_timestamp() - interval '1 hour'",
            &[],
        )
        .await?;
    Ok(sessions + tokens + requests + watchers)
}
