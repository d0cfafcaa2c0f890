//! Roster's membership service: accounts and their settings, workspaces and seat limits,
//! roles and permissions, members (suspend, remove, restore, purge), custom fields, and
//! the access check every other backend service asks.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod api;
mod domain;
mod store;

use std::time::Duration;

use roster_kit::auth::ServiceToken;
use roster_kit::config::duration_or;
use roster_kit::db::Migration;

pub use api::MembershipApi;
pub use domain::Membership;

/// The Postgres schema membership owns.
pub const SCHEMA: &str = "membership";

/// Membership's migrations, applied in order by `roster_kit::db::migrate`.
pub const MIGRATIONS: &[Migration] = &[
    roster_kit::SHARED_TABLES,
    Migration {
        version: 2,
        name: "membership",
        sql: include_str!("../migrations/0002_membership.sql"),
    },
    Migration {
        version: 3,
        name: "user_email_verified",
        sql: include_str!("../migrations/0003_user_email_verified.sql"),
    },
    Migration {
        version: 4,
        name: "seat_allowance_invitation_scope",
        sql: include_str!("../migrations/0004_seat_allowance_invitation_scope.sql"),
    },
    Migration {
        version: 5,
        name: "removals",
        sql: include_str!("../migrations/0005_removals.sql"),
    },
    roster_kit::audit_append_only(6),
    Migration {
        version: 7,
        name: "seat_holds",
        sql: include_str!("../migrations/0007_seat_holds.sql"),
    },
    Migration {
        version: 8,
        name: "member_search",
        sql: include_str!("../migrations/0008_member_search.sql"),
    },
    roster_kit::outbox_traceparent(9),
];

/// The statements one `GetMember` call runs, in order, as it prepares them (`$1`…
/// placeholders): the workspace by id, then the member by account, workspace and user id.
/// The benchmarks run them in `pgbench` beside the RPC.
pub fn get_member_statements() -> [String; 2] {
    [
        store::workspace_by_id_sql(false),
        store::member_by_id_sql(false),
    ]
}

/// The gRPC service name, for health and logs.
pub const SERVICE_NAME: &str = "roster.membership.v1.MembershipService";

/// Membership's settings.
#[derive(Debug, Clone)]
pub struct MembershipConfig {
    /// Longest an access-check answer is reused if no change notice arrives
    /// (`ROSTER_ACCESS_CACHE_TTL`, default 60s; 0 turns the cache off).
    pub access_cache_ttl: Duration,
    /// Access-check answers kept per process (default 100,000).
    pub access_cache_capacity: usize,
    /// The longest the removal worker waits before looking for new removals and for removed
    /// members whose restore window ended (`ROSTER_REMOVAL_POLL`, default 1s); it wakes
    /// sooner when a step it knows of is due.
    pub removal_poll: Duration,
    /// The first retry delay of a failed custodian call, doubled on each failure
    /// (`ROSTER_REMOVAL_RETRY_BASE`, default 2s) up to `removal_retry_max`
    /// (`ROSTER_REMOVAL_RETRY_MAX`, default 10m).
    pub removal_retry_base: Duration,
    /// The longest retry delay of a failed custodian call.
    pub removal_retry_max: Duration,
    /// How long one custodian call may take (`ROSTER_CUSTODIAN_TIMEOUT`, default 30s). A
    /// claimed step is leased for twice as long, so no other replica calls it meanwhile.
    pub custodian_timeout: Duration,
    /// The credential Roster presents to custodians (`ROSTER_CUSTODIAN_TOKEN`); without it
    /// calls carry none.
    pub custodian_token: Option<ServiceToken>,
}

impl Default for MembershipConfig {
    fn default() -> Self {
        Self {
            access_cache_ttl: Duration::from_secs(60),
            access_cache_capacity: 100_000,
            removal_poll: Duration::from_secs(1),
            removal_retry_base: Duration::from_secs(2),
            removal_retry_max: Duration::from_secs(600),
            custodian_timeout: Duration::from_secs(30),
            custodian_token: None,
        }
    }
}

impl MembershipConfig {
    /// From the environment, over the defaults.
    pub fn from_env() -> roster_kit::Result<Self> {
        let defaults = Self::default();
        Ok(Self {
            access_cache_ttl: duration_or("ROSTER_ACCESS_CACHE_TTL", defaults.access_cache_ttl)?,
            removal_poll: duration_or("ROSTER_REMOVAL_POLL", defaults.removal_poll)?,
            removal_retry_base: duration_or(
                "ROSTER_REMOVAL_RETRY_BASE",
                defaults.removal_retry_base,
            )?,
            removal_retry_max: duration_or("ROSTER_REMOVAL_RETRY_MAX", defaults.removal_retry_max)?,
            custodian_timeout: duration_or("ROSTER_CUSTODIAN_TIMEOUT", defaults.custodian_timeout)?,
            custodian_token: roster_kit::config::optional("ROSTER_CUSTODIAN_TOKEN")
                .map(|token| ServiceToken::new(&token)),
            ..defaults
        })
    }
}
