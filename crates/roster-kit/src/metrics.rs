//! Prometheus metrics, served in the OpenMetrics text format at `/metrics` on an address of
//! their own (`ROSTER_METRICS_LISTEN`). Unset, no metrics server runs: the counters are
//! still kept (a few atomics), nothing listens.
//!
//! Values reach a scrape three ways:
//! - counters and histograms moved as things happen: calls by method and code, recorded
//!   at the edge ([`RpcMetrics`]); the notification worker's delivery attempts
//!   ([`DeliveryOutcomes`]); failed database checkouts;
//! - gauges read from memory when scraped ([`Collector`]s): each pool's connections and
//!   waiters, the lag of the process's user feed watch;
//! - gauges sampled from the database when scraped: each outbox's backlog and the removal
//!   saga's queue. A sample is one bounded query (a capped count, at most
//!   [`SAMPLE_TIMEOUT`]); one that fails or runs late is left out of that scrape rather
//!   than shown stale, so a dead database neither hangs the scrape nor hides behind an
//!   old value (`absent()` alerts on it).
use std::collections::HashSet;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{BoxFuture, join_all};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tonic::Code;
use tonic::body::Body;
use tracing::{debug, info, warn};

use crate::changes::UserWatch;
use crate::clock::SharedClock;
use crate::db::{GenericClient as _, Pool};
use crate::error::{Error, Result};
use crate::sql::Columns as _;

/// The longest a scrape waits for one database sample.
pub const SAMPLE_TIMEOUT: Duration = Duration::from_secs(1);

/// Backlog counts stop here: counting further costs a scan and alerts nothing new.
const COUNT_CAP: i64 = 100_000;

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Call latency buckets, in seconds: from a cached check to a slow password hash.
const RPC_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The method label of a path that names no known RPC, so stray paths cannot add series.
const OTHER_METHOD: &str = "other";

/// gRPC status codes by number, as the protocol spells them.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

fn code_name(code: Code) -> &'static str {
    usize::try_from(code as i32)
        .ok()
        .and_then(|index| CODE_NAMES.get(index))
        .copied()
        .unwrap_or("UNKNOWN")
}

/// The code a `grpc-status` header or trailer carries, if there is one.
fn status_of(headers: &http::HeaderMap) -> Option<&'static str> {
    headers
        .get("grpc-status")
        .map(|value| code_name(Code::from_bytes(value.as_bytes())))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    server: &'static str,
    method: String,
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    server: &'static str,
    method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SagaLabels {
    saga: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SagaStateLabels {
    saga: &'static str,
    state: &'static str,
}

fn rpc_histogram() -> Histogram {
    Histogram::new(RPC_BUCKETS)
}

/// Failed database checkouts, by cause. Process-wide: every pool's checkout errors become
/// an [`Error`] in one place, which knows no pool (`From<PoolError>`).
static CHECKOUT_FAILURES: LazyLock<Family<CauseLabels, Counter>> = LazyLock::new(Family::default);

/// Every cause [`checkout_failed`] counts, shown from the start at zero so rates work.
const CHECKOUT_CAUSES: [&str; 5] = [
    "wait_timeout",
    "create_timeout",
    "recycle_timeout",
    "connect",
    "closed",
];

/// Counts a failed checkout from a database pool.
pub(crate) fn checkout_failed(error: &deadpool_postgres::PoolError) {
    use deadpool_postgres::{PoolError, TimeoutType};
    let cause = match error {
        PoolError::Timeout(TimeoutType::Wait) => "wait_timeout",
        PoolError::Timeout(TimeoutType::Create) => "create_timeout",
        PoolError::Timeout(TimeoutType::Recycle) => "recycle_timeout",
        PoolError::Backend(_) | PoolError::PostCreateHook(_) => "connect",
        PoolError::Closed | PoolError::NoRuntimeSpecified => "closed",
    };
    CHECKOUT_FAILURES
        .get_or_create(&CauseLabels { cause })
        .inc();
}

/// A process's metrics: what its parts record into, and what a scrape reads.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    registry: Mutex<Registry>,
    clock: SharedClock,
    known_methods: Arc<HashSet<String>>,
    calls: Family<CallLabels, Counter>,
    durations: Family<MethodLabels, Histogram, fn() -> Histogram>,
    deliveries: DeliveryOutcomes,
    pools: Arc<Pools>,
    samplers: Mutex<Vec<Sampler>>,
}

impl Metrics {
    /// A registry with Roster's metrics; `clock` dates the ages it reports, as it dates
    /// the rows they are measured from.
    pub fn new(clock: SharedClock) -> Result<Self> {
        let mut known_methods = HashSet::new();
        for set in [
            roster_proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ] {
            let pool = prost_reflect::DescriptorPool::decode(set)
                .map_err(|e| Error::internal("reading a descriptor set", e))?;
            for service in pool.services() {
                for method in service.methods() {
                    known_methods.insert(format!("/{}/{}", service.full_name(), method.name()));
                }
            }
        }
        let calls = Family::<CallLabels, Counter>::default();
        let durations = Family::<MethodLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            rpc_histogram,
        );
        let deliveries = DeliveryOutcomes::default();
        // Series known in advance start at zero, so a rate sees their first increase.
        for outcome in DeliveryOutcome::ALL {
            drop(deliveries.0.get_or_create(&OutcomeLabels {
                outcome: outcome.label(),
            }));
        }
        for cause in CHECKOUT_CAUSES {
            drop(CHECKOUT_FAILURES.get_or_create(&CauseLabels { cause }));
        }
        let pools = Arc::new(Pools::default());
        let mut registry = Registry::default();
        registry.register(
            "roster_rpc_requests",
            "Calls served, by server (outside: the gRPC port; in_process: calls between the \
             services of this process), gRPC method and status code",
            calls.clone(),
        );
        registry.register_with_unit(
            "roster_rpc_duration",
            "How long calls took, from arrival to status (a stream: its whole life), by \
             server and gRPC method",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register(
            "roster_notification_delivery_attempts",
            "Notification delivery attempts, by outcome: sent, retry (failed, tried again \
             later) or failed (given up)",
            deliveries.0.clone(),
        );
        registry.register(
            "roster_db_pool_checkout_failures",
            "Database connections this process could not get from its pools, by cause",
            CHECKOUT_FAILURES.clone(),
        );
        registry.register_collector(Box::new(Arc::clone(&pools)));
        Ok(Self(Arc::new(Shared {
            registry: Mutex::new(registry),
            clock,
            known_methods: Arc::new(known_methods),
            calls,
            durations,
            deliveries,
            pools,
            samplers: Mutex::new(Vec::new()),
        })))
    }

    /// What the edge of `server` (`outside` or `in_process`) records calls into.
    pub fn rpc(&self, server: &'static str) -> RpcMetrics {
        RpcMetrics {
            server,
            known_methods: Arc::clone(&self.0.known_methods),
            calls: self.0.calls.clone(),
            durations: self.0.durations.clone(),
        }
    }

    /// What the notification delivery worker counts its attempts into.
    pub fn deliveries(&self) -> DeliveryOutcomes {
        self.0.deliveries.clone()
    }

    /// Reports `service`'s pool: its connections and the tasks waiting for one.
    pub fn watch_pool(&self, service: &'static str, pool: Pool) {
        lock(&self.0.pools.0).push((service, pool));
    }

    /// Samples `service`'s outbox (in `pool`) at each scrape: its backlog and the age of
    /// its oldest row.
    pub fn watch_outbox(&self, service: &'static str, pool: Pool) {
        lock(&self.0.samplers).push(Sampler::Outbox { service, pool });
    }

    /// Samples `saga`'s queue at each scrape with `sample`.
    pub fn watch_saga(
        &self,
        saga: &'static str,
        sample: impl Fn() -> BoxFuture<'static, Result<SagaQueue>> + Send + Sync + 'static,
    ) {
        lock(&self.0.samplers).push(Sampler::Saga {
            saga,
            sample: Arc::new(sample),
        });
    }

    /// Reports how far `watch`, the process's one watch of identity's user feed, is behind.
    pub fn watch_feed(&self, watch: Arc<UserWatch>) {
        lock(&self.0.registry).register_collector(Box::new(Feed(watch)));
    }

    /// The exposition a scrape answers: the database samples first (concurrently, each
    /// bounded), then every metric.
    pub async fn render(&self) -> Result<String> {
        let samplers = lock(&self.0.samplers).clone();
        let samples = join_all(samplers.iter().map(|sampler| self.sample(sampler))).await;
        let mut sampled = Registry::default();
        sampled.register_collector(Box::new(Samples(samples.into_iter().flatten().collect())));
        let mut text = String::new();
        let encoded = {
            let registry = lock(&self.0.registry);
            prometheus_client::encoding::text::encode_registry(&mut text, &registry)
        };
        encoded
            .and_then(|()| prometheus_client::encoding::text::encode_registry(&mut text, &sampled))
            .and_then(|()| prometheus_client::encoding::text::encode_eof(&mut text))
            .map_err(|e| Error::internal("encoding metrics", e))?;
        Ok(text)
    }

    async fn sample(&self, sampler: &Sampler) -> Option<Sample> {
        let sampled = match sampler {
            Sampler::Outbox { service, pool } => {
                tokio::time::timeout(SAMPLE_TIMEOUT, self.outbox(pool))
                    .await
                    .map(|backlog| backlog.map(|backlog| Sample::Outbox(service, backlog)))
            }
            Sampler::Saga { saga, sample } => tokio::time::timeout(SAMPLE_TIMEOUT, sample())
                .await
                .map(|queue| queue.map(|queue| Sample::Saga(saga, queue))),
        };
        match sampled {
            Ok(Ok(sample)) => Some(sample),
            // Readiness already warns about an unreachable database, every second.
            Ok(Err(error)) => {
                debug!(sample = sampler.name(), error = %error, "metrics sample failed");
                None
            }
            Err(_) => {
                debug!(sample = sampler.name(), "metrics sample timed out");
                None
            }
        }
    }

    async fn outbox(&self, pool: &Pool) -> Result<OutboxBacklog> {
        let db = pool.get().await?;
        let statement = db
            .prepare_cached(include_str!("sql/outbox_backlog.sql"))
            .await?;
        let row = db.query_one(&statement, &[&COUNT_CAP]).await?;
        let oldest: Option<chrono::DateTime<chrono::Utc>> = row.column("oldest")?;
        Ok(OutboxBacklog {
            rows: row.column("backlog")?,
            oldest_age: oldest.map_or(Duration::ZERO, |oldest| {
                (self.0.clock.now() - oldest).to_std().unwrap_or_default()
            }),
        })
    }

    /// Serves `GET /metrics` on `listener` until [`MetricsServer::stop`].
    pub fn serve(&self, listener: TcpListener) -> MetricsServer {
        let (stop, stopped) = watch::channel(false);
        if let Ok(address) = listener.local_addr() {
            info!(%address, "serving metrics");
        }
        let served = tokio::spawn(accept(self.clone(), listener, stopped));
        MetricsServer { stop, served }
    }

    async fn answer(
        &self,
        request: &http::Request<hyper::body::Incoming>,
    ) -> http::Response<Full<Bytes>> {
        let status = |status: http::StatusCode| {
            let mut response = http::Response::new(Full::new(Bytes::new()));
            *response.status_mut() = status;
            response
        };
        if request.uri().path() != "/metrics" {
            return status(http::StatusCode::NOT_FOUND);
        }
        if !matches!(*request.method(), http::Method::GET | http::Method::HEAD) {
            return status(http::StatusCode::METHOD_NOT_ALLOWED);
        }
        match self.render().await {
            Ok(text) => {
                let mut response = http::Response::new(Full::new(Bytes::from(text)));
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(OPENMETRICS),
                );
                response
            }
            Err(error) => {
                warn!(error = %error, "metrics scrape failed");
                status(http::StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long a scraper may take to send its request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts scrapers until `stopped`, then lets the scrapes in flight finish.
async fn accept(metrics: Metrics, listener: TcpListener, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            () = until_stopped(&mut stopped) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin.
                    warn!(error = %error, "accepting a metrics connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (metrics, mut stopped) = (metrics.clone(), stopped.clone());
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(metrics.answer(&request).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = until_stopped(&mut stopped) => {
                    // Scrapers keep connections open between scrapes; end them cleanly.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    while connections.join_next().await.is_some() {}
}

async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    // A dropped sender stops the server as well.
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The metrics server, running until [`MetricsServer::stop`].
#[derive(Debug)]
pub struct MetricsServer {
    stop: watch::Sender<bool>,
    served: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// Stops taking scrapes, lets those in flight finish, and returns.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        self.served
            .await
            .map_err(|e| Error::internal("the metrics server", e))
    }
}

/// Records calls into the per-method counters and latency histogram of one server.
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    server: &'static str,
    known_methods: Arc<HashSet<String>>,
    calls: Family<CallLabels, Counter>,
    durations: Family<MethodLabels, Histogram, fn() -> Histogram>,
}

impl RpcMetrics {
    /// Starts measuring a call to `path`.
    pub(crate) fn start(&self, path: &str) -> RpcCall {
        let method = if self.known_methods.contains(path) {
            path.to_owned()
        } else {
            OTHER_METHOD.to_owned()
        };
        RpcCall {
            metrics: self.clone(),
            method,
            started: Instant::now(),
            recorded: false,
        }
    }
}

/// One call being measured; recorded once, when its status is known. A call dropped
/// before that (the caller went away) counts as `CANCELLED`.
#[derive(Debug)]
pub(crate) struct RpcCall {
    metrics: RpcMetrics,
    method: String,
    started: Instant,
    recorded: bool,
}

impl RpcCall {
    fn record(&mut self, code: &'static str) {
        if std::mem::replace(&mut self.recorded, true) {
            return;
        }
        let server = self.metrics.server;
        self.metrics
            .durations
            .get_or_create(&MethodLabels {
                server,
                method: self.method.clone(),
            })
            .observe(self.started.elapsed().as_secs_f64());
        self.metrics
            .calls
            .get_or_create(&CallLabels {
                server,
                method: std::mem::take(&mut self.method),
                code,
            })
            .inc();
    }

    /// Records the call when `response` carries its status in its headers (a
    /// trailers-only answer), else when its body's trailers pass.
    pub(crate) fn answered(mut self, response: http::Response<Body>) -> http::Response<Body> {
        if let Some(code) = status_of(response.headers()) {
            self.record(code);
            return response;
        }
        response.map(|body| Body::new(Measured { body, call: self }))
    }
}

impl Drop for RpcCall {
    fn drop(&mut self) {
        self.record("CANCELLED");
    }
}

/// A response body that records its call when the status trailers pass.
struct Measured {
    body: Body,
    call: RpcCall,
}

impl http_body::Body for Measured {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, tonic::Status>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_of) {
                    self.call.record(code);
                }
            }
            Poll::Ready(Some(Err(status))) => self.call.record(code_name(status.code())),
            // A gRPC answer without a status: the caller reads it as an error.
            Poll::Ready(None) => self.call.record("UNKNOWN"),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// How a notification delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The message was sent.
    Sent,
    /// The attempt failed; the message is tried again later.
    Retry,
    /// The attempt failed and was the last: the message is given up.
    Failed,
}

/// Counts notification delivery attempts by outcome.
#[derive(Debug, Clone, Default)]
pub struct DeliveryOutcomes(Family<OutcomeLabels, Counter>);

impl DeliveryOutcome {
    const ALL: [Self; 3] = [Self::Sent, Self::Retry, Self::Failed];

    fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retry => "retry",
            Self::Failed => "failed",
        }
    }
}

impl DeliveryOutcomes {
    /// Counts one attempt that ended with `outcome`.
    pub fn record(&self, outcome: DeliveryOutcome) {
        self.0
            .get_or_create(&OutcomeLabels {
                outcome: outcome.label(),
            })
            .inc();
    }
}

/// One number of a pool's status.
type PoolGauge = fn(&deadpool_postgres::Status) -> usize;

/// The pools of the services a process serves, read at each scrape.
#[derive(Debug, Default)]
struct Pools(Mutex<Vec<(&'static str, Pool)>>);

impl Collector for Pools {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let statuses: Vec<(&'static str, deadpool_postgres::Status)> = lock(&self.0)
            .iter()
            .map(|(service, pool)| (*service, pool.status()))
            .collect();
        let gauges: [(&str, &str, PoolGauge); 4] = [
            (
                "roster_db_pool_connections",
                "Open connections in the service's pool.",
                |status| status.size,
            ),
            (
                "roster_db_pool_max_connections",
                "The most connections the service's pool opens.",
                |status| status.max_size,
            ),
            (
                "roster_db_pool_idle_connections",
                "Open connections of the service's pool that no task holds.",
                |status| status.available,
            ),
            (
                "roster_db_pool_waiting",
                "Tasks waiting for a connection from the service's pool.",
                |status| status.waiting,
            ),
        ];
        for (name, help, value) in gauges {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (service, status) in &statuses {
                ConstGauge::new(value(status))
                    .encode(family.encode_family(&ServiceLabels { service })?)?;
            }
        }
        Ok(())
    }
}

/// The process's watch of identity's user feed, read at each scrape.
#[derive(Debug)]
struct Feed(Arc<UserWatch>);

impl Collector for Feed {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let lag = self.0.lag();
        ConstGauge::new(lag.since_push.as_secs_f64()).encode(encoder.encode_descriptor(
            "roster_user_feed_lag",
            "Time since this process last applied a push of identity's user change feed \
             (changes or a heartbeat; since the watch started, before the first): grows \
             while the stream is down.",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?)?;
        if let Some(behind) = lag.changes_behind {
            ConstGauge::new(behind).encode(encoder.encode_descriptor(
                "roster_user_feed_changes_behind",
                "Committed user changes this process had not applied, at its last \
                 acknowledgement to identity.",
                None,
                MetricType::Gauge,
            )?)?;
        }
        ConstGauge::new(i64::from(lag.current)).encode(encoder.encode_descriptor(
            "roster_user_feed_current",
            "1 while this process holds identity's lease (its caches answer), else 0.",
            None,
            MetricType::Gauge,
        )?)?;
        Ok(())
    }
}

/// A saga's queue at one moment, as its service samples it for a scrape.
#[derive(Debug, Clone)]
pub struct SagaQueue {
    /// Unfinished steps by state (every state the saga has, zero included).
    pub steps: Vec<(&'static str, i64)>,
    /// How long the step due the longest has waited since it came due (zero: none is).
    pub oldest_due: Duration,
}

type SagaSample = Arc<dyn Fn() -> BoxFuture<'static, Result<SagaQueue>> + Send + Sync>;

/// A value sampled from the database at each scrape.
#[derive(Clone)]
enum Sampler {
    Outbox {
        service: &'static str,
        pool: Pool,
    },
    Saga {
        saga: &'static str,
        sample: SagaSample,
    },
}

impl Sampler {
    fn name(&self) -> &'static str {
        match self {
            Self::Outbox { service, .. } => service,
            Self::Saga { saga, .. } => saga,
        }
    }
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Outbox { service, .. } => f.debug_tuple("Outbox").field(service).finish(),
            Self::Saga { saga, .. } => f.debug_tuple("Saga").field(saga).finish(),
        }
    }
}

#[derive(Debug)]
struct OutboxBacklog {
    rows: i64,
    oldest_age: Duration,
}

#[derive(Debug)]
enum Sample {
    Outbox(&'static str, OutboxBacklog),
    Saga(&'static str, SagaQueue),
}

/// One scrape's database samples.
#[derive(Debug)]
struct Samples(Vec<Sample>);

impl Collector for Samples {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let outboxes: Vec<_> = self
            .0
            .iter()
            .filter_map(|sample| match sample {
                Sample::Outbox(service, backlog) => Some((*service, backlog)),
                Sample::Saga(..) => None,
            })
            .collect();
        let sagas: Vec<_> = self
            .0
            .iter()
            .filter_map(|sample| match sample {
                Sample::Saga(saga, queue) => Some((*saga, queue)),
                Sample::Outbox(..) => None,
            })
            .collect();
        let mut family = encoder.encode_descriptor(
            "roster_outbox_backlog",
            "Outbox rows not yet handed to the notification service (counted up to 100000).",
            None,
            MetricType::Gauge,
        )?;
        for (service, backlog) in &outboxes {
            ConstGauge::new(backlog.rows)
                .encode(family.encode_family(&ServiceLabels { service })?)?;
        }
        let mut family = encoder.encode_descriptor(
            "roster_outbox_oldest_age",
            "Age of the oldest outbox row not yet handed to the notification service (0: none).",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        for (service, backlog) in &outboxes {
            ConstGauge::new(backlog.oldest_age.as_secs_f64())
                .encode(family.encode_family(&ServiceLabels { service })?)?;
        }
        let mut family = encoder.encode_descriptor(
            "roster_saga_queue_depth",
            "Unfinished saga steps, by saga and state.",
            None,
            MetricType::Gauge,
        )?;
        for (saga, queue) in &sagas {
            for (state, steps) in &queue.steps {
                ConstGauge::new(*steps)
                    .encode(family.encode_family(&SagaStateLabels { saga, state })?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "roster_saga_oldest_step_age",
            "How long the saga step due the longest has waited since it came due (0: none is).",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        for (saga, queue) in &sagas {
            ConstGauge::new(queue.oldest_due.as_secs_f64())
                .encode(family.encode_family(&SagaLabels { saga })?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new(Arc::new(crate::clock::SystemClock)).expect("metrics")
    }

    #[tokio::test]
    async fn calls_are_counted_by_known_method_and_code() {
        let metrics = metrics();
        let rpc = metrics.rpc("outside");
        let trailers_only = tonic::Status::not_found("gone").into_http::<Body>();
        rpc.start("/grpc.health.v1.Health/Check")
            .answered(trailers_only);
        drop(rpc.start("/no.such.Service/Method"));
        let text = metrics.render().await.expect("render");
        assert!(
            text.contains(
                "roster_rpc_requests_total{server=\"outside\",method=\"/grpc.health.v1.Health/Check\",code=\"NOT_FOUND\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "roster_rpc_requests_total{server=\"outside\",method=\"other\",code=\"CANCELLED\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "roster_rpc_duration_seconds_count{server=\"outside\",method=\"other\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[tokio::test]
    async fn a_streamed_answer_counts_by_its_trailers() {
        let metrics = metrics();
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("14"));
        let body = http_body_util::StreamBody::new(futures::stream::iter([
            Ok::<_, tonic::Status>(http_body::Frame::data(Bytes::from_static(b"x"))),
            Ok(http_body::Frame::trailers(trailers)),
        ]));
        let response = metrics
            .rpc("in_process")
            .start("/grpc.health.v1.Health/Watch")
            .answered(http::Response::new(Body::new(body)));
        let collected = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body");
        assert!(collected.trailers().is_some());
        let text = metrics.render().await.expect("render");
        assert!(
            text.contains(
                "roster_rpc_requests_total{server=\"in_process\",method=\"/grpc.health.v1.Health/Watch\",code=\"UNAVAILABLE\"} 1\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn status_codes_have_their_protocol_names() {
        assert_eq!(code_name(Code::Ok), "OK");
        assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::Unauthenticated), "UNAUTHENTICATED");
        assert_eq!(code_name(Code::from_i32(99)), "UNKNOWN");
    }
}
