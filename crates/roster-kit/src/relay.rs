//! The outbox relay: hands a service's committed outbox rows to the notification service.
//!
//! Rows are claimed with `FOR UPDATE SKIP LOCKED`, so replicas share the work without
//! sending a row twice, and each row's id is its idempotency key, so a row handed over
//! twice (a crash between the call and the commit) still makes one message. A row is
//! marked dispatched only after `Enqueue` succeeded: while the notification service is
//! down, rows wait and the relay backs off.
use std::time::Duration;

use roster_proto::notification as pb;
use roster_proto::notification::notification_service_client::NotificationServiceClient;
use serde_json::Value;
use tonic::Code;
use tonic::transport::Channel;
use tracing::{Instrument as _, info, warn};
use uuid::Uuid;

use crate::auth::ServiceToken;
use crate::clock::SharedClock;
use crate::config::duration_or;
use crate::db::{GenericClient, Pool};
use crate::error::{Error, Result};
use crate::protobuf::json_to_struct;
use crate::remote::{Intercepted, Outgoing, from_status};
use crate::sql::Columns;
use crate::telemetry::continuing;

/// The longest the relay waits between attempts while the notification service fails.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The wait before the next pass: `poll` after a pass that worked; after a failed one,
/// twice the last wait, up to [`MAX_BACKOFF`] (or `poll`, if longer), so an outage is not
/// hammered.
fn next_wait(last: Duration, failed: bool, poll: Duration) -> Duration {
    if failed {
        last.saturating_mul(2).min(MAX_BACKOFF).max(poll)
    } else {
        poll
    }
}

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// How often it looks for new rows (`ROSTER_OUTBOX_POLL`, default 200ms).
    pub poll: Duration,
    /// Rows handed over per transaction (default 50).
    pub batch: i64,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(200),
            batch: 50,
        }
    }
}

impl RelayConfig {
    /// From the environment, over the defaults.
    pub fn from_env() -> Result<Self> {
        let defaults = Self::default();
        Ok(Self {
            poll: duration_or("ROSTER_OUTBOX_POLL", defaults.poll)?,
            ..defaults
        })
    }
}

/// One service's outbox relay.
#[derive(Debug, Clone)]
pub struct Relay {
    service: &'static str,
    pool: Pool,
    clock: SharedClock,
    notification: NotificationServiceClient<Intercepted>,
    config: RelayConfig,
}

/// What one batch did.
struct Batch {
    relayed: u64,
    /// The error that stopped the batch early, if any: the service is failing.
    stopped: Option<Error>,
}

impl Relay {
    /// The relay of `service`'s outbox in `pool`, calling the notification service at
    /// `notification`.
    pub fn new(
        service: &'static str,
        pool: Pool,
        clock: SharedClock,
        notification: Channel,
        service_token: ServiceToken,
        config: RelayConfig,
    ) -> Self {
        Self {
            service,
            pool,
            clock,
            notification: crate::client!(
                NotificationServiceClient,
                notification,
                Outgoing::as_service(&service_token)
            ),
            config,
        }
    }

    /// Relays rows until `shutdown` completes.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut wait = self.config.poll;
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
            let mut failed = false;
            loop {
                match self.relay_batch().await {
                    Ok(Batch {
                        relayed,
                        stopped: None,
                    }) => {
                        if relayed > 0 {
                            info!(service = self.service, relayed, "outbox relayed");
                        }
                        if relayed < self.batch_len() {
                            break;
                        }
                    }
                    Ok(Batch {
                        stopped: Some(error),
                        ..
                    })
                    | Err(error) => {
                        warn!(service = self.service, error = %error, "outbox relay waits");
                        failed = true;
                        break;
                    }
                }
            }
            wait = next_wait(wait, failed, self.config.poll);
        }
    }

    fn batch_len(&self) -> u64 {
        u64::try_from(self.config.batch).unwrap_or(0)
    }

    /// Hands over one batch of rows in one transaction.
    async fn relay_batch(&self) -> Result<Batch> {
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let claim = tx
            .prepare_cached(
                "SELECT outbox_id, template, recipient, locale, variables, secret_variables, traceparent
                 FROM outbox WHERE dispatched_at IS NULL
                 ORDER BY created_at, outbox_id LIMIT $1 FOR UPDATE SKIP LOCKED",
            )
            .await?;
        let rows = tx.query(&claim, &[&self.config.batch]).await?;
        let mut batch = Batch {
            relayed: 0,
            stopped: None,
        };
        for row in &rows {
            let id: Uuid = row.column("outbox_id")?;
            let request = pb::EnqueueRequest {
                template: row.column("template")?,
                recipient: row.column("recipient")?,
                locale: row.column("locale")?,
                variables: Some(json_to_struct(row.column::<Value>("variables")?)),
                secret_variables: row
                    .column::<Option<Value>>("secret_variables")?
                    .map(json_to_struct),
                idempotency_key: id.to_string(),
            };
            // The hand-over belongs to the trace of the request that wrote the row.
            let span = continuing(
                tracing::info_span!("outbox.relay", service = self.service, outbox_id = %id),
                row.column::<Option<String>>("traceparent")?.as_deref(),
            );
            match self
                .notification
                .clone()
                .enqueue(request)
                .instrument(span)
                .await
            {
                Ok(_) => {
                    self.mark(&tx, id, None).await?;
                    batch.relayed += 1;
                }
                // The notification service refuses the message itself (an unknown
                // template, a bad address): retrying cannot help, so it is set aside.
                Err(status) if status.code() == Code::InvalidArgument => {
                    warn!(service = self.service, outbox_id = %id, error = %status, "outbox row refused");
                    self.mark(&tx, id, Some(status.message())).await?;
                }
                Err(status) => {
                    self.record_failure(&tx, id, status.message()).await?;
                    batch.stopped = Some(from_status("notification", &status));
                    break;
                }
            }
        }
        tx.commit().await?;
        Ok(batch)
    }

    /// Marks a row dispatched (with the refusal, if it was set aside) and wipes its
    /// secrets: the notification service holds them now.
    async fn mark(&self, db: &impl GenericClient, id: Uuid, refusal: Option<&str>) -> Result<()> {
        let statement = db
            .prepare_cached(
                "UPDATE outbox SET dispatched_at = $2, secret_variables = NULL, attempts = attempts + 1,
                                   last_error = $3
                 WHERE outbox_id = $1",
            )
            .await?;
        db.execute(&statement, &[&id, &self.clock.now(), &refusal])
            .await?;
        Ok(())
    }

    async fn record_failure(&self, db: &impl GenericClient, id: Uuid, error: &str) -> Result<()> {
        let statement = db
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE outbox_id = $1",
            )
            .await?;
        db.execute(&statement, &[&id, &error]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_to_the_maximum_and_a_pass_that_works_resets_the_wait() {
        let poll = Duration::from_millis(200);
        let mut wait = poll;
        let mut waits = Vec::new();
        for _ in 0..8 {
            wait = next_wait(wait, true, poll);
            waits.push(wait.as_millis());
        }
        assert_eq!(waits, [400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]);
        assert_eq!(next_wait(wait, false, poll), poll);
    }
}
