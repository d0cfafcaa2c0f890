//! Login throttling's counters: failed password checks per email and source.
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use roster_kit::Result;
use roster_kit::db::GenericClient;
use roster_kit::sql::Columns;
use tracing::instrument;
use uuid::Uuid;

use super::records::{LoginAttempts, LoginFailureTotals};

/// Rows forgotten per login attempt: each attempt adds at most one row, so the table
/// holds little more than the failure window's rows, with no job of its own.
const STALE_ROWS_PER_ATTEMPT: i64 = 8;

/// Deletes a few rows whose last attempt is older than `cutoff`.
#[instrument(skip_all, name = "identity.store.forget_stale_login_attempts")]
pub(crate) async fn forget_stale_login_attempts(
    db: &impl GenericClient,
    cutoff: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        include_str!("forget_stale_login_attempts.sql"),
        &[&cutoff, &STALE_ROWS_PER_ATTEMPT],
    )
    .await?;
    Ok(())
}

/// The counter of `email` from `source`, locked until the transaction ends so that
/// concurrent attempts count one after the other. A missing one is created as already
/// forgotten: no failures, last attempted at `cutoff` (the failure window's start), so it
/// adds nothing to the totals.
#[instrument(skip_all, name = "identity.store.lock_login_attempts")]
pub(crate) async fn lock_login_attempts(
    db: &impl GenericClient,
    email: &str,
    source: IpAddr,
    cutoff: DateTime<Utc>,
) -> Result<LoginAttempts> {
    let row = db
        .query_one(
            include_str!("lock_login_attempts.sql"),
            &[&email, &source, &cutoff],
        )
        .await?;
    Ok(LoginAttempts {
        failures: row.column("failures")?,
        last_attempt_at: row.column("last_attempt_at")?,
    })
}

/// Failures counted since `cutoff` from `source` (any email) and for `email` (any
/// source).
#[instrument(skip_all, name = "identity.store.login_failure_totals")]
pub(crate) async fn login_failure_totals(
    db: &impl GenericClient,
    email: &str,
    source: IpAddr,
    cutoff: DateTime<Utc>,
) -> Result<LoginFailureTotals> {
    let row = db
        .query_one(
            include_str!("login_failure_totals.sql"),
            &[&email, &source, &cutoff],
        )
        .await?;
    Ok(LoginFailureTotals {
        source_failures: row.column("source_failures")?,
        source_last_attempt_at: row.column("source_last_attempt_at")?,
        account_failures: row.column("account_failures")?,
    })
}

/// Records an attempt of `email` from `source` at `now`, `failures` counted in all.
#[instrument(skip_all, name = "identity.store.count_login_attempt")]
pub(crate) async fn count_login_attempt(
    db: &impl GenericClient,
    email: &str,
    source: IpAddr,
    failures: i32,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "UPDATE login_attempts SET failures = $3, last_attempt_at = $4
         WHERE email = $1 AND source = $2",
        &[&email, &source, &failures, &now],
    )
    .await?;
    Ok(())
}

/// Forgets the failures of `email` from `source` (its password was right).
#[instrument(skip_all, name = "identity.store.forget_login_attempts")]
pub(crate) async fn forget_login_attempts(
    db: &impl GenericClient,
    email: &str,
    source: IpAddr,
) -> Result<()> {
    db.execute(
        "DELETE FROM login_attempts WHERE email = $1 AND source = $2",
        &[&email, &source],
    )
    .await?;
    Ok(())
}

/// Takes the user's failed-login notice for `now` unless one was taken after `cutoff`;
/// whether it was taken (so exactly one of concurrent callers sends it).
#[instrument(skip_all, name = "identity.store.claim_failed_login_notice")]
pub(crate) async fn claim_failed_login_notice(
    db: &impl GenericClient,
    user_id: Uuid,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) -> Result<bool> {
    let claimed = db
        .execute(
            "UPDATE users SET failed_login_notice_at = $2
             WHERE user_id = $1 AND (failed_login_notice_at IS NULL OR failed_login_notice_at <= $3)",
            &[&user_id, &now, &cutoff],
        )
        .await?;
    Ok(claimed == 1)
}
