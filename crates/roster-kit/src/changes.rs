//! Watching identity's user change feed, pushed as it commits (`WatchUserChanges`), and the
//! lease that lets a process answer from its caches (`AcknowledgeUserChanges`).
//!
//! One [`UserWatch`] per process applies every pushed change to its sinks (membership's
//! copy of users, the process's Authenticate cache) and only then acknowledges it. Identity
//! grants a lease only to a watcher that has applied every committed change, and a change
//! that narrows access is answered only once every watcher holding a lease has applied it
//! (or its lease ran out). So while [`UserWatch::is_current`] holds, nothing the caches say
//! is older than the last answered disable, lock or revocation; when it does not (the
//! stream is cut, behind, or identity unreachable), callers go to the source instead.
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use roster_proto::identity as identity_pb;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use sha2::{Digest as _, Sha256};
use tonic::transport::Channel;
use tracing::{info, warn};
use uuid::Uuid;

use crate::auth::{Principal, ServiceToken};
use crate::cache::GroupCache;
use crate::clock::{SharedClock, from_timestamp};
use crate::error::{Error, Result};
use crate::remote::{Intercepted, Outgoing, answer};

/// A future a [`ChangeSink`] returns.
pub type SinkFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Something kept true by the user change feed.
pub trait ChangeSink: Send + Sync {
    /// Forgets what it cached: pushes may have been missed while the stream was broken.
    fn reset(&self);
    /// The position this sink resumes after, when it keeps state across breaks of the
    /// stream (`None`: it starts empty each time).
    fn resume_after(&self) -> SinkFuture<'_, Option<i64>>;
    /// Applies pushed changes up to `last_sequence`; they are acknowledged only once every
    /// sink applied them.
    fn apply<'a>(
        &'a self,
        changes: &'a [identity_pb::UserChange],
        last_sequence: i64,
    ) -> SinkFuture<'a, ()>;
}

/// An Authenticate answer as cached.
#[derive(Debug, Clone)]
pub struct CachedPrincipal {
    /// Who the token stands for.
    pub principal: Principal,
    /// When the session or API key expires (`None`: never).
    pub expire_time: Option<prost_types::Timestamp>,
}

/// Authenticate answers by token digest, each dropped when its user changes and never kept
/// past its credential's expiry.
pub type PrincipalCache = GroupCache<[u8; 32], CachedPrincipal>;

/// The cache key of a bearer token.
pub fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Settings of a [`UserWatch`].
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// What this process is, for operators reading identity's watcher list.
    pub name: String,
    /// Cached principals kept at most this long (`ROSTER_AUTH_CACHE_TTL`, default 5m; 0
    /// turns the cache off).
    pub principal_ttl: Duration,
    /// At most this many cached principals (`ROSTER_AUTH_CACHE_CAPACITY`, default 100,000).
    pub principal_capacity: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            name: std::process::id().to_string(),
            principal_ttl: Duration::from_secs(300),
            principal_capacity: 100_000,
        }
    }
}

impl WatchConfig {
    /// From the environment, over the defaults.
    pub fn from_env() -> Result<Self> {
        let defaults = Self::default();
        Ok(Self {
            principal_ttl: crate::config::duration_or(
                "ROSTER_AUTH_CACHE_TTL",
                defaults.principal_ttl,
            )?,
            principal_capacity: crate::config::var_or(
                "ROSTER_AUTH_CACHE_CAPACITY",
                defaults.principal_capacity,
            )?,
            ..defaults
        })
    }
}

/// A share of the lease below what identity granted: the lease is counted here from before
/// the acknowledgement was sent, and this keeps clocks that run at slightly different rates
/// on the safe side.
const LEASE_MARGIN: f64 = 0.9;

/// The longest a watcher waits before retrying a broken stream.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How far a [`UserWatch`] is behind identity's feed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FeedLag {
    /// Since the last push (changes or heartbeat) was applied; since the watch started,
    /// before the first.
    pub(crate) since_push: Duration,
    /// Committed changes not applied, at the last acknowledgement (`None`: none yet).
    pub(crate) changes_behind: Option<i64>,
    /// Whether the watch holds a lease.
    pub(crate) current: bool,
}

/// Follows identity's user change feed for one process (see the module's documentation).
pub struct UserWatch {
    identity: IdentityServiceClient<Intercepted>,
    id: Uuid,
    config: WatchConfig,
    started: Instant,
    /// Milliseconds after `started` until which caches may answer (0: not current).
    current_until: AtomicU64,
    /// Milliseconds after `started` when the last push was applied (0: none yet).
    last_push: AtomicU64,
    /// Committed changes not applied at the last acknowledgement (-1: none yet).
    behind: AtomicI64,
    principals: PrincipalCache,
    /// Credentials expire by this clock (the one identity decides by).
    clock: SharedClock,
    sinks: RwLock<Vec<Arc<dyn ChangeSink>>>,
}

impl std::fmt::Debug for UserWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserWatch")
            .field("id", &self.id)
            .field("name", &self.config.name)
            .field("current", &self.is_current())
            .finish_non_exhaustive()
    }
}

impl UserWatch {
    /// A watch of the identity service at `identity`, calling it with `service_token`.
    pub fn new(
        identity: Channel,
        service_token: &ServiceToken,
        config: WatchConfig,
        clock: SharedClock,
    ) -> Arc<Self> {
        Arc::new(Self {
            identity: crate::client!(
                IdentityServiceClient,
                identity,
                Outgoing::as_service(service_token)
            ),
            id: Uuid::now_v7(),
            principals: PrincipalCache::new(config.principal_ttl, config.principal_capacity),
            config,
            started: Instant::now(),
            current_until: AtomicU64::new(0),
            last_push: AtomicU64::new(0),
            behind: AtomicI64::new(-1),
            clock,
            sinks: RwLock::new(Vec::new()),
        })
    }

    /// Keeps `sink` true from the next (re)connection on.
    pub fn add_sink(&self, sink: Arc<dyn ChangeSink>) {
        self.sinks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(sink);
    }

    fn sinks(&self) -> Vec<Arc<dyn ChangeSink>> {
        self.sinks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn millis_since_start(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether this process holds a lease: its caches reflect every change that narrowed
    /// access and has been answered.
    pub fn is_current(&self) -> bool {
        self.millis_since_start(Instant::now()) < self.current_until.load(Ordering::Acquire)
    }

    /// How far this watch is behind identity's feed, for metrics.
    pub(crate) fn lag(&self) -> FeedLag {
        let last_push =
            self.started + Duration::from_millis(self.last_push.load(Ordering::Acquire));
        FeedLag {
            since_push: last_push.elapsed(),
            changes_behind: Some(self.behind.load(Ordering::Acquire)).filter(|b| *b >= 0),
            current: self.is_current(),
        }
    }

    fn lose_lease(&self) {
        self.current_until.store(0, Ordering::Release);
    }

    /// The cached Authenticate answer for the token with `key`, while this process holds a
    /// lease and the credential has not expired.
    pub fn cached_principal(&self, key: &[u8; 32]) -> Option<CachedPrincipal> {
        if !self.is_current() {
            return None;
        }
        let cached = self.principals.get(key)?;
        let now = self.clock.now();
        let live = cached
            .expire_time
            .as_ref()
            .is_none_or(|at| from_timestamp("expire_time", at).is_ok_and(|at| at > now));
        live.then_some(cached)
    }

    /// Taken before asking identity, for [`Self::cache_principal`]; `None` while answers
    /// may not be cached.
    pub fn principal_ticket(&self) -> Option<u64> {
        self.is_current().then(|| self.principals.ticket())
    }

    /// Caches identity's answer for the token with `key`, unless it is an impersonation:
    /// those are decided afresh on every call (their grant may end at any time).
    pub fn cache_principal(&self, key: [u8; 32], cached: CachedPrincipal, ticket: u64) {
        if cached.principal.impersonator_id.is_some() {
            return;
        }
        let user_id = cached.principal.user_id;
        self.principals.put(key, cached, user_id, ticket, None);
    }

    /// Follows the feed until `shutdown`, reconnecting after failures, and tells identity
    /// it left.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut failures = 0_u32;
        loop {
            let outcome = tokio::select! {
                () = &mut shutdown => break,
                outcome = self.follow() => outcome,
            };
            self.lose_lease();
            match outcome {
                Ok(()) => failures = 0,
                Err(error) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        warn!(error = %error, failures, "the user change stream broke: caches are bypassed until it is back");
                    }
                }
            }
            let backoff = (Duration::from_millis(50) * 2_u32.pow(failures.min(6))).min(MAX_BACKOFF);
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(backoff) => {}
            }
        }
        self.lose_lease();
        let leaving = identity_pb::AcknowledgeUserChangesRequest {
            watcher_id: self.id.to_string(),
            name: self.config.name.clone(),
            applied_sequence: -1,
            leaving: true,
        };
        let left = tokio::time::timeout(
            Duration::from_secs(1),
            self.identity.clone().acknowledge_user_changes(leaving),
        )
        .await;
        if !matches!(left, Ok(Ok(_))) {
            warn!(
                "could not tell identity this watcher left: writers wait for its lease to run out"
            );
        }
    }

    /// One connection: flushes the caches, then applies and acknowledges every push until
    /// the stream ends or fails.
    async fn follow(&self) -> Result<()> {
        self.principals.clear();
        let sinks = self.sinks();
        let mut after = -1_i64;
        for sink in &sinks {
            sink.reset();
            if let Some(position) = sink.resume_after().await? {
                after = if after < 0 {
                    position
                } else {
                    after.min(position)
                };
            }
        }
        let mut stream = answer(
            "identity",
            self.identity
                .clone()
                .watch_user_changes(identity_pb::WatchUserChangesRequest {
                    after_sequence: after,
                }),
        )
        .await?;
        let mut silence = Duration::from_secs(2);
        let mut lease = Duration::ZERO;
        let mut granted_at: Option<Instant> = None;
        let mut connected = false;
        loop {
            let push = tokio::time::timeout(silence, stream.message())
                .await
                .map_err(|_| {
                    Error::refused(
                        roster_proto::types::ErrorReason::Unavailable,
                        "the user change stream went silent",
                    )
                })?
                .map_err(|status| crate::remote::from_status("identity", &status))?;
            let Some(push) = push else {
                return Ok(());
            };
            if let Some(interval) = push
                .heartbeat_interval
                .and_then(|d| Duration::try_from(d).ok())
            {
                // A few heartbeats may be late under load before the stream counts as lost.
                silence = (interval * 4).max(Duration::from_millis(500));
            }
            if !push.changes.is_empty() {
                for sink in &sinks {
                    sink.apply(&push.changes, push.last_sequence).await?;
                }
                for change in &push.changes {
                    if let Some(user_id) = change
                        .user
                        .as_ref()
                        .and_then(|user| Uuid::parse_str(&user.user_id).ok())
                    {
                        self.principals.invalidate_group(user_id);
                    }
                }
            }
            self.last_push
                .store(self.millis_since_start(Instant::now()), Ordering::Release);
            let renewal_due = granted_at.is_none_or(|at| at.elapsed() >= lease / 4);
            if push.changes.is_empty() && !renewal_due {
                continue;
            }
            let sent = Instant::now();
            let acknowledged = answer(
                "identity",
                self.identity.clone().acknowledge_user_changes(
                    identity_pb::AcknowledgeUserChangesRequest {
                        watcher_id: self.id.to_string(),
                        name: self.config.name.clone(),
                        applied_sequence: push.last_sequence,
                        leaving: false,
                    },
                ),
            )
            .await?;
            self.behind.store(
                (acknowledged.head_sequence - push.last_sequence).max(0),
                Ordering::Release,
            );
            lease = acknowledged
                .lease_duration
                .and_then(|d| Duration::try_from(d).ok())
                .unwrap_or_default();
            if acknowledged.lease_granted && !lease.is_zero() {
                granted_at = Some(sent);
                let until = sent + lease.mul_f64(LEASE_MARGIN);
                self.current_until
                    .store(self.millis_since_start(until), Ordering::Release);
                if !connected {
                    connected = true;
                    info!(
                        sequence = push.last_sequence,
                        "following the user change stream: caches in use"
                    );
                }
            } else {
                // Behind what has committed: the rest is on its way.
                granted_at = None;
                self.lose_lease();
            }
        }
    }
}
