//! Load generation for Roster's benchmarks (`tests/benches`): a number of callers call one
//! target back to back over shared HTTP/2 connections, first for a warm-up and then for
//! the measured period; the outcome is requests/s and latency percentiles, printed as a
//! table. A bare tonic server (health check only) measured the same way in the same run
//! shows what this machine and tonic alone can do, so the other rows can be read against
//! it.
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tonic::Status;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// Lets connections, pools and caches settle before measuring.
pub const WARM_UP: Duration = Duration::from_secs(1);

/// What one call of a target returns: `Ok` when it succeeded.
pub type CallFuture = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// One call of a target over the given connection.
pub type Call = Arc<dyn Fn(Channel) -> CallFuture + Send + Sync>;

/// A [`Call`] from an async closure.
pub fn call<F, Fut>(call: F) -> Call
where
    F: Fn(Channel) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send + 'static,
{
    Arc::new(move |channel| Box::pin(call(channel)))
}

/// How many callers call at once, and over how many HTTP/2 connections.
#[derive(Debug, Clone, Copy)]
pub struct Concurrency {
    /// Concurrent callers, each calling back to back.
    pub callers: usize,
    /// Connections the callers share, evenly.
    pub connections: usize,
}

impl std::fmt::Display for Concurrency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} callers over {} HTTP/2 connections",
            self.callers, self.connections
        )
    }
}

/// What one measured run produced.
#[derive(Debug)]
pub struct Outcome {
    /// Latencies of the successful calls, sorted.
    pub latencies: Vec<Duration>,
    /// Failed calls by code and message.
    pub errors: BTreeMap<String, u64>,
    /// From the start until the last caller finished.
    pub elapsed: Duration,
}

impl Outcome {
    /// How many calls failed.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Successful calls per second of the run.
    pub fn requests_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The nearest-rank percentile (`q` in 0..=1), in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1].as_secs_f64() * 1000.0
    }

    /// This outcome with the failures of `earlier` (a warm-up) added: every call must
    /// succeed, measured or not.
    pub fn with_errors_of(mut self, earlier: Outcome) -> Self {
        for (error, count) in earlier.errors {
            *self.errors.entry(error).or_default() += count;
        }
        self
    }
}

/// How long each target is measured: `ROSTER_BENCH_SECONDS`, default 5.
pub fn measured_duration() -> Duration {
    match std::env::var("ROSTER_BENCH_SECONDS") {
        Ok(value) => {
            let seconds: f64 = value
                .trim()
                .parse()
                .expect("ROSTER_BENCH_SECONDS is a number of seconds");
            assert!(seconds > 0.0, "ROSTER_BENCH_SECONDS must be positive");
            Duration::from_secs_f64(seconds)
        }
        Err(_) => Duration::from_secs(5),
    }
}

/// `count` separate connections to `address`, connected now so that connection setup is
/// not measured.
pub async fn connections(address: SocketAddr, count: usize) -> Vec<Channel> {
    let mut channels = Vec::new();
    for _ in 0..count {
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        channels.push(channel);
    }
    channels
}

/// `callers` tasks call `call` back to back until `duration` has passed, spread evenly
/// over `channels` (callers 0..k on the first connection, and so on).
pub async fn run(channels: &[Channel], callers: usize, call: &Call, duration: Duration) -> Outcome {
    assert!(!channels.is_empty(), "at least one connection");
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..callers)
        .map(|i| {
            let channel = channels[i * channels.len() / callers].clone();
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = BTreeMap::<String, u64>::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match call(channel.clone()).await {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(status) => {
                            *errors
                                .entry(format!("{:?}: {}", status.code(), status.message()))
                                .or_default() += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut outcome = Outcome {
        latencies: Vec::new(),
        errors: BTreeMap::new(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (latencies, errors) = task.await.expect("caller task");
        outcome.latencies.extend(latencies);
        for (error, count) in errors {
            *outcome.errors.entry(error).or_default() += count;
        }
    }
    outcome.elapsed = start.elapsed();
    outcome.latencies.sort_unstable();
    outcome
}

/// Warms up for [`WARM_UP`], then measures for `duration`. Failures of the warm-up count
/// too: every call must succeed.
pub async fn measure(
    channels: &[Channel],
    callers: usize,
    call: &Call,
    duration: Duration,
) -> Outcome {
    let warm_up = run(channels, callers, call, WARM_UP).await;
    run(channels, callers, call, duration)
        .await
        .with_errors_of(warm_up)
}

/// A tonic server with only the health service and no layers, on an ephemeral port: the
/// baseline.
pub async fn bare_tonic_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    // The reporter starts with the server ("") SERVING, which is all Check needs.
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        // Accepted the same way as `roster::serve` (a plain listener, TCP_NODELAY on).
        if let Err(error) = Server::builder()
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true)))
            .await
        {
            eprintln!("baseline server failed: {error}");
        }
    });
    address
}

/// `grpc.health.v1.Health/Check` of the whole server: the baseline's call.
pub fn health_check() -> Call {
    call(|channel| async move {
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|_| ())
    })
}

/// The baseline row's name.
pub const BASELINE: &str = "bare tonic (grpc.health.v1 Check, no middleware, no database)";

/// One row of a table: what is called, over which connections.
pub struct Target {
    /// The row's name.
    pub name: String,
    /// The connections the callers share.
    pub channels: Vec<Channel>,
    /// One call.
    pub call: Call,
}

impl Target {
    /// A row named `name`.
    pub fn new(name: impl Into<String>, channels: &[Channel], call: Call) -> Self {
        Self {
            name: name.into(),
            channels: channels.to_vec(),
            call,
        }
    }
}

/// The line that says how a table was measured.
pub fn setup_line(concurrency: Concurrency, pool_size: usize, duration: Duration) -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    format!(
        "cores: {cores}, concurrency: {concurrency}, database pool: {pool_size} \
         (ROSTER_DB_POOL_SIZE), {:.1} s per target after {:.1} s warm-up",
        duration.as_secs_f64(),
        WARM_UP.as_secs_f64(),
    )
}

/// A table of targets as it is printed: a header, then a row per target (requests/s,
/// p50 and p99 latency, errors) as soon as it is measured.
pub struct Table {
    width: usize,
    failures: Vec<String>,
}

impl Table {
    /// Prints the header of a table whose rows are `names`.
    pub fn new<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        let width = names
            .into_iter()
            .map(|name| name.as_ref().len())
            .max()
            .unwrap_or(0);
        println!(
            "{:<width$}  {:>12}  {:>10}  {:>10}  {:>8}",
            "target", "requests/s", "p50 (ms)", "p99 (ms)", "errors"
        );
        Self {
            width,
            failures: Vec::new(),
        }
    }

    /// Prints the row of `name` and keeps its failures.
    pub fn row(&mut self, name: &str, outcome: &Outcome) {
        let width = self.width;
        println!(
            "{name:<width$}  {:>12.0}  {:>10.3}  {:>10.3}  {:>8}",
            outcome.requests_per_second(),
            outcome.percentile_ms(0.50),
            outcome.percentile_ms(0.99),
            outcome.error_count(),
        );
        self.failures.extend(
            outcome
                .errors
                .iter()
                .map(|(error, count)| format!("{name}: {count} x {error}")),
        );
    }

    /// The failures of every row, one line per target and error ("name: count x code:
    /// message").
    pub fn into_failures(self) -> Vec<String> {
        self.failures
    }
}

/// Measures each target in turn with `callers` callers ([`measure`]), printing a
/// [`Table`]. Returns its failures.
pub async fn measure_table(targets: &[Target], callers: usize, duration: Duration) -> Vec<String> {
    let mut table = Table::new(targets.iter().map(|target| &target.name));
    for target in targets {
        let outcome = measure(&target.channels, callers, &target.call, duration).await;
        table.row(&target.name, &outcome);
    }
    table.into_failures()
}

/// Runs a benchmark on a multi-threaded runtime; prints its failures and exits non-zero
/// if there were any.
pub fn main<F>(bench: impl FnOnce() -> F)
where
    F: Future<Output = Vec<String>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let failures = runtime.block_on(bench());
    for failure in &failures {
        eprintln!("error: {failure}");
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
}
