//! Pushing the user change feed to its watchers as it commits (`WatchUserChanges`), their
//! leases (`AcknowledgeUserChanges`), and answering a change that narrows access only once
//! every watcher holding a lease has applied it ([`Identity::settle`]). The protocol is
//! the kit's `changes` module's; README, "Revocation and caches", states its guarantee.
use std::sync::Arc;
use std::time::Duration;

use roster_kit::auth::Caller;
use roster_kit::{Error, Result};
use roster_proto::identity as pb;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{info, instrument, warn};

use super::Identity;
use crate::store::watchers::{self, ACKS_CHANNEL, CHANGES_CHANNEL};

/// Changes per pushed page.
const PUSH_PAGE: i64 = 500;

/// How often a waiting writer looks again when no acknowledgement notice wakes it (the
/// notices' listener may be reconnecting).
const ACK_POLL: Duration = Duration::from_millis(10);

/// What wakes the feed's streams and the writers waiting for watchers.
#[derive(Debug)]
pub(crate) struct Push {
    /// Bumped on every change notice (and whenever one may have been missed).
    changes: watch::Sender<u64>,
    /// Bumped on every acknowledgement notice.
    acks: watch::Sender<u64>,
    /// Set when the server shuts down: streams end so the drain does not wait for them.
    closing: watch::Sender<bool>,
}

impl Default for Push {
    fn default() -> Self {
        Self {
            changes: watch::Sender::new(0),
            acks: watch::Sender::new(0),
            closing: watch::Sender::new(false),
        }
    }
}

/// One push of the stream.
pub(crate) type Pushed = std::result::Result<pb::WatchUserChangesResponse, tonic::Status>;

impl Identity {
    /// Listens for change and acknowledgement notices on identity's database at
    /// `database_url` until `shutdown`, reconnecting after failures. Meanwhile streams and
    /// waiting writers poll, so a lost listener slows pushes, never loses one.
    pub async fn run_change_listener(
        &self,
        database_url: &str,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let bump = |sender: &watch::Sender<u64>| sender.send_modify(|n| *n = n.wrapping_add(1));
        let mut backoff = Duration::from_millis(100);
        loop {
            let listened = roster_kit::db::listen(
                database_url,
                &[CHANGES_CHANNEL, ACKS_CHANNEL],
                || {
                    info!("listening for user changes");
                    // Anything may have happened while not listening.
                    bump(&self.push.changes);
                    bump(&self.push.acks);
                },
                |channel, _| {
                    bump(if channel == CHANGES_CHANNEL {
                        &self.push.changes
                    } else {
                        &self.push.acks
                    });
                },
            );
            tokio::select! {
                () = &mut shutdown => return,
                outcome = listened => if let Err(error) = outcome {
                    warn!(error = %error, "the user change listener lost its connection");
                },
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// Ends every WatchUserChanges stream, now and from now on (the server shuts down).
    pub fn close_watches(&self) {
        self.push.closing.send_replace(true);
    }

    /// `WatchUserChanges` (Roster's services): the pushes of a stream from `after`.
    #[instrument(skip_all, name = "identity.domain.watch_user_changes")]
    pub(crate) async fn watch_user_changes(
        self: Arc<Self>,
        caller: &Caller,
        after: i64,
    ) -> Result<mpsc::Receiver<Pushed>> {
        if !caller.principal()?.is_roster_service {
            return Err(Error::permission_denied(
                "only Roster's services watch the user change feed",
            ));
        }
        if after < -1 {
            return Err(Error::invalid("after_sequence", "must be -1 or more"));
        }
        let position = if after == -1 {
            watchers::head_sequence(&self.pool.get().await?).await?
        } else {
            after
        };
        let (sender, receiver) = mpsc::channel(4);
        tokio::spawn(async move { self.push_changes(position, sender).await });
        Ok(receiver)
    }

    /// Pushes every change after `position` and then each new one, with a heartbeat while
    /// nothing is new, until the watcher goes away or the server shuts down.
    async fn push_changes(&self, mut position: i64, sender: mpsc::Sender<Pushed>) {
        let heartbeat = self.config.watch_heartbeat;
        let interval = prost_types::Duration::try_from(heartbeat).ok();
        let mut changes = self.push.changes.subscribe();
        let mut closing = self.push.closing.subscribe();
        loop {
            changes.borrow_and_update();
            let mut pushed = false;
            loop {
                let page = match self.feed_page(position, PUSH_PAGE).await {
                    Ok(page) => page,
                    Err(error) => {
                        let _ = sender.send(Err(error.into())).await;
                        return;
                    }
                };
                if page.changes.is_empty() {
                    break;
                }
                position = page.last_sequence;
                pushed = true;
                let push = pb::WatchUserChangesResponse {
                    changes: page.changes,
                    last_sequence: position,
                    heartbeat_interval: interval,
                };
                if sender.send(Ok(push)).await.is_err() {
                    return;
                }
            }
            if !pushed {
                let beat = pb::WatchUserChangesResponse {
                    changes: Vec::new(),
                    last_sequence: position,
                    heartbeat_interval: interval,
                };
                if sender.send(Ok(beat)).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = changes.changed() => {}
                () = tokio::time::sleep(heartbeat) => {}
                _ = closing.wait_for(|closing| *closing) => return,
                () = sender.closed() => return,
            }
        }
    }

    /// `AcknowledgeUserChanges` (Roster's services).
    #[instrument(skip_all, name = "identity.domain.acknowledge_user_changes")]
    pub(crate) async fn acknowledge_user_changes(
        &self,
        caller: &Caller,
        request: &pb::AcknowledgeUserChangesRequest,
    ) -> Result<pb::AcknowledgeUserChangesResponse> {
        if !caller.principal()?.is_roster_service {
            return Err(Error::permission_denied(
                "only Roster's services acknowledge the user change feed",
            ));
        }
        let watcher_id = roster_kit::auth::parse_id("watcher_id", &request.watcher_id)?;
        if request.applied_sequence < -1 {
            return Err(Error::invalid("applied_sequence", "must be -1 or more"));
        }
        let lease = self.config.watch_lease;
        let mut db = self.pool.get().await?;
        if request.leaving {
            watchers::remove_watcher(&db, watcher_id).await?;
            return Ok(pb::AcknowledgeUserChangesResponse {
                lease_granted: false,
                lease_duration: None,
                head_sequence: watchers::head_sequence(&db).await?,
            });
        }
        let acknowledged = watchers::acknowledge(
            &mut db,
            watcher_id,
            &request.name,
            request.applied_sequence,
            lease,
        )
        .await?;
        Ok(pb::AcknowledgeUserChangesResponse {
            lease_granted: acknowledged.lease_granted,
            lease_duration: prost_types::Duration::try_from(lease).ok(),
            head_sequence: acknowledged.head,
        })
    }

    /// Waits until every watcher holding a lease has applied the feed as it stands now, or
    /// until every such lease has run out: called once a change of a user's standing has
    /// committed, before it is answered, so no replica answers the next call from before it
    /// (DESIGN: status changes take effect on the next request).
    /// Bounded by the lease; when the database cannot be asked, it waits out the lease.
    #[instrument(skip_all, name = "identity.domain.settle")]
    pub(crate) async fn settle(&self) {
        let deadline = Instant::now() + self.config.watch_lease + Duration::from_millis(50);
        let mut acks = self.push.acks.subscribe();
        let waited = async {
            let head = watchers::head_sequence(&self.pool.get().await?).await?;
            loop {
                acks.borrow_and_update();
                if watchers::watchers_behind(&self.pool.get().await?, head).await? == 0 {
                    return Ok(true);
                }
                if Instant::now() >= deadline {
                    return Ok(false);
                }
                tokio::select! {
                    _ = acks.changed() => {}
                    () = tokio::time::sleep(ACK_POLL) => {}
                    () = tokio::time::sleep_until(deadline) => {}
                }
            }
        };
        let outcome: Result<bool> = waited.await;
        match outcome {
            Ok(true) => {}
            Ok(false) => {
                warn!("a watcher of the user feed did not apply a change within its lease");
            }
            Err(error) => {
                warn!(error = %error, "cannot see the watchers' acknowledgements: waiting out their leases");
                tokio::time::sleep_until(deadline).await;
            }
        }
    }
}
