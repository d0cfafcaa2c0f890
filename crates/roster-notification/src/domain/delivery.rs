//! The delivery worker: claims due messages, renders and sends them, and records each
//! outcome, retrying failures with exponential backoff and full jitter.
//!
//! A batch is claimed with a lease (the messages are not due until it ends), so another
//! replica skips them; each message's outcome is recorded as soon as its attempt ends. A
//! crash between a mail server's acceptance and that record sends the message again once
//! the lease has passed: delivery is at least once, the repeat carries the same
//! `Message-ID`, and only the messages caught in that instant repeat. A record the
//! database refuses because it is unavailable (a failover, a restart) is tried again for as
//! long as the lease leaves, so a database outage alone sends nothing twice.
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use rand::Rng as _;
use roster_kit::Result;
use roster_kit::clock::to_chrono;
use roster_kit::metrics::DeliveryOutcome;
use roster_kit::telemetry::continuing;
use roster_proto::types::ErrorReason;
use tracing::{Instrument as _, info, info_span, instrument, warn};

use super::Notifications;
use super::model::{Attempt, Due, Rendered, State, Template};
use super::transport::Email;
use crate::NotificationConfig;
use crate::store;

impl Notifications {
    /// Delivers due messages every `poll_interval` until `shutdown` completes, batch after
    /// batch while messages are due.
    pub async fn run_delivery(&self, shutdown: impl std::future::Future<Output = ()>) {
        roster_kit::worker::every(
            self.config.poll_interval,
            shutdown,
            "deliver notifications",
            || self.deliver_due(),
        )
        .await;
    }

    /// One batch: claims, sends and records up to `batch_size` due messages; returns how
    /// many were attempted.
    #[instrument(skip_all, name = "notification.domain.deliver_due")]
    pub(super) async fn deliver_due(&self) -> Result<u64> {
        // Before the claim: the lease ends no sooner than a full lease from here.
        let record_by = tokio::time::Instant::now() + self.config.lease.mul_f64(0.9);
        let now = self.now();
        let held_until = now + to_chrono(self.config.lease);
        let due = store::claim_due(
            &self.pool.get().await?,
            now,
            self.config.batch_size,
            held_until,
        )
        .await?;
        let recorded = join_all(due.iter().map(|message| async move {
            let span = continuing(
                info_span!("notification.deliver", notification_id = %message.id, template = %message.template, attempt = message.attempts + 1),
                message.traceparent.as_deref(),
            );
            // Bounded well inside the lease, so no other worker takes the message meanwhile.
            let outcome =
                tokio::time::timeout(self.config.lease / 2, self.attempt(message).instrument(span))
                    .await
                .unwrap_or_else(|_| Err("the attempt timed out".to_owned()));
            let attempt = self.outcome(message, &outcome, self.now());
            self.deliveries.record(match attempt.state {
                State::Sent => DeliveryOutcome::Sent,
                State::Failed => DeliveryOutcome::Failed,
                State::Queued => DeliveryOutcome::Retry,
            });
            self.record(message, &attempt, record_by).await
        }))
        .await;
        recorded.into_iter().collect::<Result<Vec<()>>>()?;
        Ok(due.len() as u64)
    }

    /// Records `attempt` of `message`, again while the database is unavailable, until
    /// `record_by`: until the claim's lease ends, no other worker sends the message, so an
    /// outcome recorded by then is never sent twice.
    async fn record(
        &self,
        message: &Due,
        attempt: &Attempt<'_>,
        record_by: tokio::time::Instant,
    ) -> Result<()> {
        let mut wait = Duration::from_millis(100);
        loop {
            let recorded = match self.pool.get().await {
                Ok(db) => store::record_attempt(&db, message.id, attempt).await,
                Err(error) => Err(error.into()),
            };
            match recorded {
                Err(error)
                    if error.reason() == Some(ErrorReason::Unavailable)
                        && tokio::time::Instant::now() + wait < record_by =>
                {
                    warn!(notification_id = %message.id, error = %error, "recording a delivery: the database is unavailable; trying again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }

    /// Renders and sends one message: the rendered copy to keep (log transport), or why
    /// it failed.
    async fn attempt(&self, message: &Due) -> std::result::Result<Option<Rendered>, String> {
        let template = Template::parse("template", &message.template).map_err(|e| e.to_string())?;
        let rendered = self
            .renderer
            .render(
                template,
                &message.variables,
                message.secret_variables.as_ref(),
            )
            .map_err(|e| format!("rendering {}: {e}", message.template))?;
        let email = Email {
            notification_id: message.id,
            template: &message.template,
            recipient: &message.recipient,
            rendered: &rendered,
            date: self.now(),
        };
        self.mailer.send(&email).await?;
        Ok(self.mailer.keeps_rendered().then_some(rendered))
    }

    /// What to store after an attempt that ended at `finished`.
    fn outcome<'a>(
        &self,
        message: &Due,
        outcome: &'a std::result::Result<Option<Rendered>, String>,
        finished: DateTime<Utc>,
    ) -> Attempt<'a> {
        let attempts = u32::try_from(message.attempts)
            .unwrap_or(0)
            .saturating_add(1);
        let id = message.id;
        let template = message.template.as_str();
        match outcome {
            Ok(rendered) => {
                info!(notification_id = %id, template, attempts, "notification sent");
                Attempt {
                    state: State::Sent,
                    error: None,
                    next_attempt_at: None,
                    sent_at: Some(finished),
                    rendered: rendered.as_ref(),
                }
            }
            Err(error) if attempts >= self.config.max_attempts => {
                warn!(notification_id = %id, template, attempts, error = %error, "notification given up");
                Attempt {
                    state: State::Failed,
                    error: Some(error),
                    next_attempt_at: None,
                    sent_at: None,
                    rendered: None,
                }
            }
            Err(error) => {
                let delay = retry_delay(&self.config, attempts);
                let next = chrono::Duration::from_std(delay)
                    .ok()
                    .and_then(|delay| finished.checked_add_signed(delay))
                    .unwrap_or(finished);
                warn!(
                    notification_id = %id,
                    template,
                    attempts,
                    error = %error,
                    retry_time = %next,
                    "notification delivery failed"
                );
                Attempt {
                    state: State::Queued,
                    error: Some(error),
                    next_attempt_at: Some(next),
                    sent_at: None,
                    rendered: None,
                }
            }
        }
    }
}

/// The longest wait after the `attempts`-th failed attempt: `retry_base`, doubled for
/// each attempt after the first, capped at `retry_max`.
fn retry_ceiling(config: &NotificationConfig, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(31);
    config
        .retry_base
        .saturating_mul(1 << doublings)
        .min(config.retry_max)
}

/// The wait after the `attempts`-th failed attempt: anywhere up to the ceiling ("full
/// jitter"), so messages that failed together, say while the mail server was down, do
/// not all come back at once.
fn retry_delay(config: &NotificationConfig, attempts: u32) -> Duration {
    rand::rng().random_range(Duration::ZERO..=retry_ceiling(config, attempts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_ceiling_doubles_up_to_the_maximum() {
        let config = NotificationConfig::default();
        let ceilings: Vec<u64> = (1..=12)
            .map(|attempts| retry_ceiling(&config, attempts).as_secs())
            .collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(retry_ceiling(&config, u32::MAX), config.retry_max);
        assert_eq!(retry_ceiling(&config, 0), config.retry_base);
    }

    #[test]
    fn jittered_delays_stay_under_the_ceiling() {
        let config = NotificationConfig::default();
        for attempts in 1..=40 {
            let ceiling = retry_ceiling(&config, attempts);
            for _ in 0..50 {
                let delay = retry_delay(&config, attempts);
                assert!(delay <= ceiling && delay <= config.retry_max);
            }
        }
    }

    #[test]
    fn jitter_spreads_delays() {
        let config = NotificationConfig::default();
        let delays: std::collections::HashSet<Duration> =
            (0..20).map(|_| retry_delay(&config, 10)).collect();
        assert!(delays.len() > 1);
    }
}
