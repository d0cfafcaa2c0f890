//! Roster's identity service: users and service accounts, API keys, sessions, disable
//! and lock, passwords (change, reset, temporary), audit and the user change feed.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod api;
mod domain;
mod store;

use std::time::Duration;

use roster_kit::config::{duration_or, var_or};
use roster_kit::db::Migration;

pub use api::IdentityApi;
pub use domain::{AdministrationCheck, Identity};

/// The Postgres schema identity owns.
pub const SCHEMA: &str = "identity";

/// Identity's migrations, applied in order by `roster_kit::db::migrate`.
pub const MIGRATIONS: &[Migration] = &[
    roster_kit::SHARED_TABLES,
    Migration {
        version: 2,
        name: "extensions",
        sql: include_str!("../migrations/0002_extensions.sql"),
    },
    Migration {
        version: 3,
        name: "identity",
        sql: include_str!("../migrations/0003_identity.sql"),
    },
    Migration {
        version: 4,
        name: "invited_users",
        sql: include_str!("../migrations/0004_invited_users.sql"),
    },
    Migration {
        version: 5,
        name: "email_verified",
        sql: include_str!("../migrations/0005_email_verified.sql"),
    },
    roster_kit::audit_append_only(6),
];

/// The gRPC service name, for health and logs.
pub const SERVICE_NAME: &str = "roster.identity.v1.IdentityService";

/// The calls that check or hash a password: they queue for admission at the edge.
pub const COSTLY_METHODS: &[&str] = &[
    "/roster.identity.v1.IdentityService/Login",
    "/roster.identity.v1.IdentityService/ChangePassword",
    "/roster.identity.v1.IdentityService/ResetPassword",
    "/roster.identity.v1.IdentityService/SetTemporaryPassword",
    "/roster.identity.v1.IdentityService/CreateUser",
];

/// Identity's settings.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Session lifetime (`ROSTER_SESSION_TTL`, default 12h).
    pub session_ttl: Duration,
    /// Failed logins that lock a user (`ROSTER_LOGIN_MAX_FAILURES`, default 5)...
    pub max_failed_logins: u32,
    /// ...within this window (`ROSTER_LOGIN_FAILURE_WINDOW`, default 15m)...
    pub failed_login_window: Duration,
    /// ...for this long (`ROSTER_LOGIN_LOCKOUT`, default 15m).
    pub lockout: Duration,
    /// Password hashes in flight at once (`ROSTER_PASSWORD_HASH_CONCURRENCY`, default 2 per core).
    pub password_hash_concurrency: usize,
    /// Longest wait for a hashing turn before `RESOURCE_EXHAUSTED` (`ROSTER_PASSWORD_HASH_WAIT`, default 2s).
    pub password_hash_wait: Duration,
    /// Password reset link lifetime (1 hour).
    pub reset_token_ttl: Duration,
    /// Email change link lifetime (`ROSTER_EMAIL_CHANGE_TTL`, default 24h).
    pub email_change_ttl: Duration,
    /// Every password reset request answers after at least this long, known email or not.
    pub reset_response_floor: Duration,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            session_ttl: Duration::from_secs(12 * 3600),
            max_failed_logins: 5,
            failed_login_window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
            password_hash_concurrency: 2 * cores,
            password_hash_wait: Duration::from_secs(2),
            reset_token_ttl: Duration::from_secs(3600),
            email_change_ttl: Duration::from_secs(24 * 3600),
            reset_response_floor: Duration::from_millis(250),
        }
    }
}

impl IdentityConfig {
    /// From the environment, over the defaults.
    pub fn from_env() -> roster_kit::Result<Self> {
        let defaults = Self::default();
        Ok(Self {
            session_ttl: duration_or("ROSTER_SESSION_TTL", defaults.session_ttl)?,
            max_failed_logins: var_or("ROSTER_LOGIN_MAX_FAILURES", defaults.max_failed_logins)?,
            failed_login_window: duration_or(
                "ROSTER_LOGIN_FAILURE_WINDOW",
                defaults.failed_login_window,
            )?,
            lockout: duration_or("ROSTER_LOGIN_LOCKOUT", defaults.lockout)?,
            password_hash_concurrency: var_or(
                "ROSTER_PASSWORD_HASH_CONCURRENCY",
                defaults.password_hash_concurrency,
            )?,
            password_hash_wait: duration_or(
                "ROSTER_PASSWORD_HASH_WAIT",
                defaults.password_hash_wait,
            )?,
            email_change_ttl: duration_or("ROSTER_EMAIL_CHANGE_TTL", defaults.email_change_ttl)?,
            ..defaults
        })
    }
}
