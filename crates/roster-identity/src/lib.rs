//! Roster's identity service: users and service accounts, API keys, sessions, disable
//! and lock, passwords (change, reset, temporary), audit and the user change feed.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod api;
mod domain;
mod sources;
mod store;

use std::time::Duration;

use roster_kit::config::{duration_or, var_or};
use roster_kit::db::Migration;

pub use api::IdentityApi;
pub use domain::{AdministrationCheck, Identity};
pub use sources::TrustedProxies;

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
    Migration {
        version: 7,
        name: "login_throttling",
        sql: include_str!("../migrations/0007_login_throttling.sql"),
    },
    Migration {
        version: 8,
        name: "impersonation",
        sql: include_str!("../migrations/0008_impersonation.sql"),
    },
    Migration {
        version: 9,
        name: "user_change_push",
        sql: include_str!("../migrations/0009_user_change_push.sql"),
    },
    roster_kit::outbox_traceparent(10),
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

/// How failed logins slow down further attempts (README, "Login throttling"). A wait
/// doubles with every failure past the free ones: `delay_base`, then twice that, up to
/// `delay_max`.
#[derive(Debug, Clone)]
pub struct LoginThrottleConfig {
    /// Failures for one email from one source before its attempts wait
    /// (`ROSTER_LOGIN_FREE_FAILURES`, default 5).
    pub free_failures: u32,
    /// Failures from one source across all emails before its attempts wait
    /// (`ROSTER_LOGIN_SOURCE_FREE_FAILURES`, default 100).
    pub source_free_failures: u32,
    /// Failures for one email across all sources past which a source that failed for it
    /// has no free attempts left (`ROSTER_LOGIN_ACCOUNT_FREE_FAILURES`, default 100);
    /// sources that never failed for it are not slowed.
    pub account_free_failures: u32,
    /// The first wait (`ROSTER_LOGIN_DELAY_BASE`, default 1s)...
    pub delay_base: Duration,
    /// ...and the longest (`ROSTER_LOGIN_DELAY_MAX`, default 15m).
    pub delay_max: Duration,
    /// Failures are forgotten this long after a source's last attempt for an email
    /// (`ROSTER_LOGIN_FAILURE_WINDOW`, default 1h); a login with the right password
    /// forgets them at once.
    pub failure_window: Duration,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        Self {
            free_failures: 5,
            source_free_failures: 100,
            account_free_failures: 100,
            delay_base: Duration::from_secs(1),
            delay_max: Duration::from_secs(15 * 60),
            failure_window: Duration::from_secs(3600),
        }
    }
}

impl LoginThrottleConfig {
    fn from_env() -> roster_kit::Result<Self> {
        let defaults = Self::default();
        Ok(Self {
            free_failures: var_or("ROSTER_LOGIN_FREE_FAILURES", defaults.free_failures)?,
            source_free_failures: var_or(
                "ROSTER_LOGIN_SOURCE_FREE_FAILURES",
                defaults.source_free_failures,
            )?,
            account_free_failures: var_or(
                "ROSTER_LOGIN_ACCOUNT_FREE_FAILURES",
                defaults.account_free_failures,
            )?,
            delay_base: duration_or("ROSTER_LOGIN_DELAY_BASE", defaults.delay_base)?,
            delay_max: duration_or("ROSTER_LOGIN_DELAY_MAX", defaults.delay_max)?,
            failure_window: duration_or("ROSTER_LOGIN_FAILURE_WINDOW", defaults.failure_window)?,
        })
    }
}

/// Identity's settings.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Session lifetime (`ROSTER_SESSION_TTL`, default 12h).
    pub session_ttl: Duration,
    /// Impersonation session lifetime, never past its grant
    /// (`ROSTER_IMPERSONATION_SESSION_TTL`, default 1h).
    pub impersonation_session_ttl: Duration,
    /// How failed logins slow down the next ones.
    pub login_throttle: LoginThrottleConfig,
    /// Proxies whose `x-forwarded-for` names a login's source (`ROSTER_TRUSTED_PROXIES`,
    /// addresses and CIDRs, comma-separated; default none).
    pub trusted_proxies: TrustedProxies,
    /// Password hashing threads (`ROSTER_PASSWORD_HASH_THREADS`, default one less than the
    /// cores, at least 1).
    pub password_hash_threads: usize,
    /// Hashes that may wait for a thread (`ROSTER_PASSWORD_HASH_QUEUE`, default 64)...
    pub password_hash_queue: usize,
    /// ...and the longest expected wait for one (`ROSTER_PASSWORD_HASH_WAIT`, default 2s);
    /// past either, a call is refused at once with `RESOURCE_EXHAUSTED`.
    pub password_hash_wait: Duration,
    /// Password reset link lifetime (1 hour).
    pub reset_token_ttl: Duration,
    /// Email change link lifetime (`ROSTER_EMAIL_CHANGE_TTL`, default 24h).
    pub email_change_ttl: Duration,
    /// Every password reset request answers after at least this long, known email or not.
    pub reset_response_floor: Duration,
    /// How long a watcher of the user change feed may answer from its caches after it
    /// acknowledged the feed (`ROSTER_WATCH_LEASE`, default 2s): the longest a change that
    /// narrows access waits for a watcher that stopped acknowledging.
    pub watch_lease: Duration,
    /// The longest silence on a WatchUserChanges stream (`ROSTER_WATCH_HEARTBEAT`, default
    /// 250ms).
    pub watch_heartbeat: Duration,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        let cores = roster_kit::config::cores();
        Self {
            session_ttl: Duration::from_secs(12 * 3600),
            impersonation_session_ttl: Duration::from_secs(3600),
            login_throttle: LoginThrottleConfig::default(),
            trusted_proxies: TrustedProxies::default(),
            password_hash_threads: cores.saturating_sub(1).max(1),
            password_hash_queue: 64,
            password_hash_wait: Duration::from_secs(2),
            reset_token_ttl: Duration::from_secs(3600),
            email_change_ttl: Duration::from_secs(24 * 3600),
            reset_response_floor: Duration::from_millis(250),
            watch_lease: Duration::from_secs(2),
            watch_heartbeat: Duration::from_millis(250),
        }
    }
}

impl IdentityConfig {
    /// From the environment, over the defaults.
    pub fn from_env() -> roster_kit::Result<Self> {
        let defaults = Self::default();
        Ok(Self {
            session_ttl: duration_or("ROSTER_SESSION_TTL", defaults.session_ttl)?,
            impersonation_session_ttl: duration_or(
                "ROSTER_IMPERSONATION_SESSION_TTL",
                defaults.impersonation_session_ttl,
            )?,
            login_throttle: LoginThrottleConfig::from_env()?,
            trusted_proxies: var_or("ROSTER_TRUSTED_PROXIES", defaults.trusted_proxies)?,
            password_hash_threads: var_or(
                "ROSTER_PASSWORD_HASH_THREADS",
                defaults.password_hash_threads,
            )?,
            password_hash_queue: var_or(
                "ROSTER_PASSWORD_HASH_QUEUE",
                defaults.password_hash_queue,
            )?,
            password_hash_wait: duration_or(
                "ROSTER_PASSWORD_HASH_WAIT",
                defaults.password_hash_wait,
            )?,
            email_change_ttl: duration_or("ROSTER_EMAIL_CHANGE_TTL", defaults.email_change_ttl)?,
            watch_lease: duration_or("ROSTER_WATCH_LEASE", defaults.watch_lease)?,
            watch_heartbeat: duration_or("ROSTER_WATCH_HEARTBEAT", defaults.watch_heartbeat)?,
            ..defaults
        })
    }
}
