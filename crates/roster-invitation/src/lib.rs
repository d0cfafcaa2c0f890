//! Roster's invitation service: invites people by email to workspaces of an account (up to
//! 500 at a time), resends and revokes invitations, and accepts them through the emailed
//! link by getting or creating the user in identity and adding the member in membership.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod api;
mod domain;
mod store;

use std::time::Duration;

use roster_kit::config::duration_or;
use roster_kit::db::Migration;

pub use api::InvitationApi;
pub use domain::Invitations;

/// The Postgres schema the invitation service owns.
pub const SCHEMA: &str = "invitation";

/// The invitation service's migrations, applied in order by `roster_kit::db::migrate`.
pub const MIGRATIONS: &[Migration] = &[
    roster_kit::SHARED_TABLES,
    Migration {
        version: 2,
        name: "invitation",
        sql: include_str!("../migrations/0002_invitation.sql"),
    },
    roster_kit::audit_append_only(3),
    Migration {
        version: 4,
        name: "accept_claims",
        sql: include_str!("../migrations/0004_accept_claims.sql"),
    },
    roster_kit::outbox_traceparent(5),
];

/// The gRPC service name, for health and logs.
pub const SERVICE_NAME: &str = "roster.invitation.v1.InvitationService";

/// The calls that span services (and hash a new person's password): they queue for
/// admission at the edge.
pub const COSTLY_METHODS: &[&str] = &[
    "/roster.invitation.v1.InvitationService/AcceptInvitation",
    "/roster.invitation.v1.InvitationService/InviteUsers",
];

/// The invitation service's settings.
#[derive(Debug, Clone)]
pub struct InvitationConfig {
    /// How long ended invitations (expired, revoked, accepted) stay listable before the
    /// cleanup worker deletes them (`ROSTER_INVITATION_RETENTION`, default 90 days).
    pub retention: Duration,
    /// How often the cleanup worker runs (`ROSTER_INVITATION_CLEANUP_INTERVAL`, default 1h).
    pub cleanup_interval: Duration,
    /// The shortest time between two sends of one invitation (default 1 minute).
    pub resend_interval: Duration,
    /// How long an acceptance in progress keeps its claim on the invitation and its seat
    /// hold before another attempt may take over (`ROSTER_INVITATION_ACCEPT_LEASE`,
    /// default 30s): longer than an acceptance takes, hashing included.
    pub accept_lease: Duration,
}

impl Default for InvitationConfig {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(90 * 24 * 3600),
            cleanup_interval: Duration::from_secs(3600),
            resend_interval: Duration::from_secs(60),
            accept_lease: Duration::from_secs(30),
        }
    }
}

impl InvitationConfig {
    /// From the environment, over the defaults.
    pub fn from_env() -> roster_kit::Result<Self> {
        let defaults = Self::default();
        Ok(Self {
            retention: duration_or("ROSTER_INVITATION_RETENTION", defaults.retention)?,
            cleanup_interval: duration_or(
                "ROSTER_INVITATION_CLEANUP_INTERVAL",
                defaults.cleanup_interval,
            )?,
            accept_lease: duration_or("ROSTER_INVITATION_ACCEPT_LEASE", defaults.accept_lease)?,
            ..defaults
        })
    }
}
