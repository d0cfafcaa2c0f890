//! Roster's notification service: the other services enqueue emails (through their outbox
//! relays), a worker renders them from embedded templates and delivers them over SMTP (or
//! to the log in development) with retries, and operators read what was sent.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod api;
mod domain;
mod store;

use std::time::Duration;

use roster_kit::config::{duration_or, optional, redact_url, var_or};
use roster_kit::db::Migration;

pub use api::NotificationApi;
pub use domain::Notifications;
// The renderer on its own, for the template fuzz target (`fuzz/`).
pub use domain::model::Template;
pub use domain::render::Renderer;
pub use store::records::Rendered;

/// The Postgres schema the notification service owns.
pub const SCHEMA: &str = "notification";

/// The notification service's migrations, applied in order by `roster_kit::db::migrate`.
pub const MIGRATIONS: &[Migration] = &[
    roster_kit::SHARED_TABLES,
    Migration {
        version: 2,
        name: "notification",
        sql: include_str!("../migrations/0002_notification.sql"),
    },
    roster_kit::audit_append_only(3),
    Migration {
        version: 4,
        name: "traceparent",
        sql: include_str!("../migrations/0004_traceparent.sql"),
    },
];

/// The gRPC service name, for health and logs.
pub const SERVICE_NAME: &str = "roster.notification.v1.NotificationService";

/// The notification service's settings.
#[derive(Clone)]
pub struct NotificationConfig {
    /// The SMTP server, as `smtp://`, `smtps://` or `smtp://...?tls=required`, with
    /// `user:password@` when it needs a login (`ROSTER_SMTP_URL`; unset means the log
    /// transport, which sends nothing and keeps the rendered message for operators).
    pub smtp_url: Option<String>,
    /// The From of every email (`ROSTER_SMTP_FROM`, default `Roster <no-reply@localhost>`).
    pub from: String,
    /// The product's name in emails (`ROSTER_PRODUCT_NAME`, default `Roster`).
    pub product_name: String,
    /// Base of the links in emails, without a trailing slash (`ROSTER_PUBLIC_URL`, default
    /// `http://localhost:8080`).
    pub public_url: String,
    /// How often the delivery worker looks for due messages (`ROSTER_NOTIFICATION_POLL`,
    /// default 200ms).
    pub poll_interval: Duration,
    /// Attempts before a message is given up on (`ROSTER_NOTIFICATION_MAX_ATTEMPTS`,
    /// default 8).
    pub max_attempts: u32,
    /// The first retry waits up to this long (default 1s); each later one up to twice as
    /// long as the one before...
    pub retry_base: Duration,
    /// ...but never more than this (default 10m).
    pub retry_max: Duration,
    /// Messages the worker claims at once (default 32).
    pub batch_size: i64,
    /// How long a claimed message is held for its attempt, which is bounded by half of it;
    /// after a crash the message is tried again once it has passed
    /// (`ROSTER_NOTIFICATION_LEASE`, default 2m).
    pub lease: Duration,
}

impl Default for NotificationConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "Roster <no-reply@localhost>".to_owned(),
            product_name: "Roster".to_owned(),
            public_url: "http://localhost:8080".to_owned(),
            poll_interval: Duration::from_millis(200),
            max_attempts: 8,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(10 * 60),
            batch_size: 32,
            lease: Duration::from_secs(120),
        }
    }
}

impl NotificationConfig {
    /// From the environment, over the defaults.
    pub fn from_env() -> roster_kit::Result<Self> {
        let defaults = Self::default();
        Ok(Self {
            smtp_url: optional("ROSTER_SMTP_URL").map(|url| url.trim().to_owned()),
            from: var_or("ROSTER_SMTP_FROM", defaults.from)?,
            product_name: var_or("ROSTER_PRODUCT_NAME", defaults.product_name)?,
            public_url: var_or("ROSTER_PUBLIC_URL", defaults.public_url)?
                .trim_end_matches('/')
                .to_owned(),
            poll_interval: duration_or("ROSTER_NOTIFICATION_POLL", defaults.poll_interval)?,
            max_attempts: var_or("ROSTER_NOTIFICATION_MAX_ATTEMPTS", defaults.max_attempts)?,
            lease: duration_or("ROSTER_NOTIFICATION_LEASE", defaults.lease)?,
            ..defaults
        })
    }
}

// By hand rather than derived: the SMTP URL may hold a password, and the effective
// configuration is logged at start.
impl std::fmt::Debug for NotificationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationConfig")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("from", &self.from)
            .field("product_name", &self.product_name)
            .field("public_url", &self.public_url)
            .field("poll_interval", &self.poll_interval)
            .field("max_attempts", &self.max_attempts)
            .field("retry_base", &self.retry_base)
            .field("retry_max", &self.retry_max)
            .field("batch_size", &self.batch_size)
            .field("lease", &self.lease)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_smtp_password() {
        let config = NotificationConfig {
            smtp_url: Some("smtps://mailer:hunter2@smtp.example.com:465".to_owned()),
            ..NotificationConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("smtps://mailer:***@smtp.example.com:465"));
    }

    #[test]
    fn defaults_log_instead_of_sending() {
        let config = NotificationConfig::default();
        assert_eq!(config.smtp_url, None);
        assert_eq!(config.public_url, "http://localhost:8080");
        assert_eq!(config.max_attempts, 8);
    }
}
