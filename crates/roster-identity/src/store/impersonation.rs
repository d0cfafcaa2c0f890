//! Impersonation grants, the sessions opened under them, and automatic permission.
use chrono::{DateTime, Utc};
use roster_kit::Result;
use roster_kit::db::GenericClient;
use roster_kit::sql::{Columns, QueryBuilder};
use tokio_postgres::Row;
use tracing::instrument;
use uuid::Uuid;

use super::records::{GrantRecord, GrantState, ImpersonationSessionRecord};

const GRANT_COLUMNS: &str =
    "grant_id, user_id, requester_user_id, reason, duration_secs, automatic,
     state, created_at, answer_deadline, decided_at, expires_at, revoked_at, revoker_user_id";

fn grant_from_row(row: &Row) -> Result<GrantRecord> {
    Ok(GrantRecord {
        id: row.column("grant_id")?,
        user_id: row.column("user_id")?,
        requester_id: row.column("requester_user_id")?,
        reason: row.column("reason")?,
        duration_secs: row.column("duration_secs")?,
        automatic: row.column("automatic")?,
        state: GrantState::from_db(row.column("state")?),
        created_at: row.column("created_at")?,
        answer_deadline: row.column("answer_deadline")?,
        decided_at: row.column("decided_at")?,
        expires_at: row.column("expires_at")?,
        revoked_at: row.column("revoked_at")?,
        revoker_id: row.column("revoker_user_id")?,
    })
}

/// A grant about to be stored.
pub(crate) struct NewGrant<'a> {
    pub(crate) user_id: Uuid,
    pub(crate) requester_id: Uuid,
    pub(crate) reason: &'a str,
    pub(crate) duration_secs: i64,
    /// Approved at once, expiring at `now + duration`.
    pub(crate) automatic: bool,
    pub(crate) answer_deadline: DateTime<Utc>,
}

/// Stores a grant: pending, or approved when automatic.
#[instrument(skip_all, name = "identity.store.insert_grant")]
pub(crate) async fn insert_grant(
    db: &impl GenericClient,
    grant: &NewGrant<'_>,
    now: DateTime<Utc>,
) -> Result<GrantRecord> {
    let (state, decided_at, expires_at) = if grant.automatic {
        let expires_at = now + chrono::Duration::seconds(grant.duration_secs);
        (GrantState::Approved, Some(now), Some(expires_at))
    } else {
        (GrantState::Pending, None, None)
    };
    let row = db
        .query_one(
            &format!(
                "INSERT INTO impersonation_grants (grant_id, user_id, requester_user_id, reason,
                     duration_secs, automatic, state, created_at, answer_deadline, decided_at,
                     expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 RETURNING {GRANT_COLUMNS}"
            ),
            &[
                &Uuid::now_v7(),
                &grant.user_id,
                &grant.requester_id,
                &grant.reason,
                &grant.duration_secs,
                &grant.automatic,
                &state.as_db(),
                &now,
                &grant.answer_deadline,
                &decided_at,
                &expires_at,
            ],
        )
        .await?;
    grant_from_row(&row)
}

/// A grant; with `for_update`, locked until the transaction ends so that answering,
/// revoking and starting an impersonation happen one after the other.
#[instrument(skip_all, name = "identity.store.get_grant")]
pub(crate) async fn get_grant(
    db: &impl GenericClient,
    id: Uuid,
    for_update: bool,
) -> Result<Option<GrantRecord>> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    db.query_opt(
        &format!("SELECT {GRANT_COLUMNS} FROM impersonation_grants WHERE grant_id = $1{lock}"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(grant_from_row)
    .transpose()
}

/// Whether `requester_id` has a request for `user_id` waiting for its answer at `now`.
#[instrument(skip_all, name = "identity.store.grant_pending")]
pub(crate) async fn grant_pending(
    db: &impl GenericClient,
    user_id: Uuid,
    requester_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let row = db
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM impersonation_grants
                 WHERE user_id = $1 AND requester_user_id = $2 AND state = 'pending'
                   AND answer_deadline > $3)",
            &[&user_id, &requester_id, &now],
        )
        .await?;
    row.at(0)
}

/// Records the user's answer: approved (lasting its duration from `now`) or denied.
#[instrument(skip_all, name = "identity.store.decide_grant")]
pub(crate) async fn decide_grant(
    db: &impl GenericClient,
    id: Uuid,
    approved: bool,
    now: DateTime<Utc>,
) -> Result<GrantRecord> {
    let row = db
        .query_one(
            &format!(
                "UPDATE impersonation_grants
                 SET state = CASE WHEN $2 THEN 'approved' ELSE 'denied' END, decided_at = $3::timestamptz,
                     expires_at = CASE WHEN $2 THEN $3::timestamptz + make_interval(secs => duration_secs) END
                 WHERE grant_id = $1
                 RETURNING {GRANT_COLUMNS}"
            ),
            &[&id, &approved, &now],
        )
        .await?;
    grant_from_row(&row)
}

/// Revokes a grant and ends every session opened under it.
#[instrument(skip_all, name = "identity.store.revoke_grant")]
pub(crate) async fn revoke_grant(
    db: &impl GenericClient,
    id: Uuid,
    revoker_id: Uuid,
    now: DateTime<Utc>,
) -> Result<GrantRecord> {
    db.execute(
        "UPDATE sessions SET revoked_at = $2
         WHERE impersonation_grant_id = $1 AND revoked_at IS NULL",
        &[&id, &now],
    )
    .await?;
    let row = db
        .query_one(
            &format!(
                "UPDATE impersonation_grants SET state = 'revoked', revoked_at = $2, revoker_user_id = $3
                 WHERE grant_id = $1
                 RETURNING {GRANT_COLUMNS}"
            ),
            &[&id, &now, &revoker_id],
        )
        .await?;
    grant_from_row(&row)
}

/// Filters of `ListImpersonationGrants`.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct GrantQuery {
    pub(crate) user_id: Option<Uuid>,
    pub(crate) requester_id: Option<Uuid>,
    /// Pending and approved grants that have not lapsed or expired.
    pub(crate) open_only: bool,
}

/// Grants newest first, after `after` (created, id).
#[instrument(skip_all, name = "identity.store.list_grants")]
pub(crate) async fn list_grants(
    db: &impl GenericClient,
    query: &GrantQuery,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<GrantRecord>> {
    let mut sql = QueryBuilder::new(&format!(
        "SELECT {GRANT_COLUMNS} FROM impersonation_grants WHERE true"
    ));
    if let Some(user_id) = &query.user_id {
        sql.push(" AND user_id = {}", &[user_id]);
    }
    if let Some(requester_id) = &query.requester_id {
        sql.push(" AND requester_user_id = {}", &[requester_id]);
    }
    if query.open_only {
        sql.push(
            " AND state IN ('pending', 'approved')
              AND ((state = 'pending' AND answer_deadline > {})
                   OR (state = 'approved' AND expires_at > {}))",
            &[&now, &now],
        );
    }
    if let Some((created, id)) = after {
        sql.push(" AND (created_at, grant_id) < ({}, {})", &[created, id]);
    }
    sql.push(
        " ORDER BY created_at DESC, grant_id DESC LIMIT {}",
        &[&limit],
    );
    db.query(sql.sql(), sql.params())
        .await?
        .iter()
        .map(grant_from_row)
        .collect()
}

const SESSION_COLUMNS: &str = "session_id, impersonation_grant_id, user_id, impersonator_user_id,
     created_at, expires_at, revoked_at";

fn session_from_row(row: &Row) -> Result<ImpersonationSessionRecord> {
    Ok(ImpersonationSessionRecord {
        id: row.column("session_id")?,
        grant_id: row.column("impersonation_grant_id")?,
        user_id: row.column("user_id")?,
        impersonator_id: row.column("impersonator_user_id")?,
        created_at: row.column("created_at")?,
        expires_at: row.column("expires_at")?,
        revoked_at: row.column("revoked_at")?,
    })
}

/// Stores a session of the grant's user for its requester.
#[instrument(skip_all, name = "identity.store.insert_impersonation_session")]
pub(crate) async fn insert_impersonation_session(
    db: &impl GenericClient,
    grant: &GrantRecord,
    hash: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<ImpersonationSessionRecord> {
    let row = db
        .query_one(
            &format!(
                "INSERT INTO sessions (session_id, user_id, token_hash, created_at, expires_at,
                     impersonator_user_id, impersonation_grant_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 RETURNING {SESSION_COLUMNS}"
            ),
            &[
                &Uuid::now_v7(),
                &grant.user_id,
                &hash,
                &now,
                &expires_at,
                &grant.requester_id,
                &grant.id,
            ],
        )
        .await?;
    session_from_row(&row)
}

/// Filters of `ListImpersonationSessions`.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ImpersonationQuery {
    pub(crate) user_id: Option<Uuid>,
    pub(crate) impersonator_id: Option<Uuid>,
    pub(crate) active_only: bool,
}

/// Impersonation sessions newest first, after `after` (created, id).
#[instrument(skip_all, name = "identity.store.list_impersonation_sessions")]
pub(crate) async fn list_impersonation_sessions(
    db: &impl GenericClient,
    query: &ImpersonationQuery,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<ImpersonationSessionRecord>> {
    let mut sql = QueryBuilder::new(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE impersonation_grant_id IS NOT NULL"
    ));
    if let Some(user_id) = &query.user_id {
        sql.push(" AND user_id = {}", &[user_id]);
    }
    if let Some(impersonator_id) = &query.impersonator_id {
        sql.push(" AND impersonator_user_id = {}", &[impersonator_id]);
    }
    if query.active_only {
        sql.push(" AND revoked_at IS NULL AND expires_at > {}", &[&now]);
    }
    if let Some((created, id)) = after {
        sql.push(" AND (created_at, session_id) < ({}, {})", &[created, id]);
    }
    sql.push(
        " ORDER BY created_at DESC, session_id DESC LIMIT {}",
        &[&limit],
    );
    db.query(sql.sql(), sql.params())
        .await?
        .iter()
        .map(session_from_row)
        .collect()
}

/// Gives `user_id` automatic permission, or takes it back; whether anything changed.
#[instrument(skip_all, name = "identity.store.set_automatic_impersonation")]
pub(crate) async fn set_automatic_impersonation(
    db: &impl GenericClient,
    user_id: Uuid,
    allowed: bool,
    granted_by: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let changed = if allowed {
        db.execute(
            "INSERT INTO automatic_impersonation (user_id, granted_by, granted_at)
             VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING",
            &[&user_id, &granted_by, &now],
        )
        .await?
    } else {
        db.execute(
            "DELETE FROM automatic_impersonation WHERE user_id = $1",
            &[&user_id],
        )
        .await?
    };
    Ok(changed == 1)
}

/// Whether `user_id` may impersonate without a request.
#[instrument(skip_all, name = "identity.store.has_automatic_impersonation")]
pub(crate) async fn has_automatic_impersonation(
    db: &impl GenericClient,
    user_id: Uuid,
) -> Result<bool> {
    let row = db
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM automatic_impersonation WHERE user_id = $1)",
            &[&user_id],
        )
        .await?;
    row.at(0)
}
