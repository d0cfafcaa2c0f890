//! Throughput and latency of `roster.identity.v1.IdentityService/Authenticate` (with a
//! session token and with an API key) at 64 concurrent callers, beside a bare tonic
//! baseline (`grpc.health.v1.Health/Check` on a server with no middleware and no
//! database) measured the same way in the same run, so the numbers can be read against
//! what this machine and tonic alone can do.
//!
//! Run with `cargo bench -p roster-tests --bench authenticate`. It needs Postgres as the
//! tests do (`ROSTER_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`).
//! `ROSTER_BENCH_SECONDS` sets how long each target is measured (default 5, after a 1 s
//! warm-up).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_proto::identity::AuthenticateRequest;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_tests::TestEnv;
use tonic::Status;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// Concurrent callers per target.
const CALLERS: usize = 64;
/// Callers sharing one HTTP/2 connection (so 8 connections in all).
const CALLERS_PER_CONNECTION: usize = 8;
/// Lets connections, pools and caches settle before measuring.
const WARM_UP: Duration = Duration::from_secs(1);

type CallFuture = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;
/// One call of a target over the given connection.
type Call = Arc<dyn Fn(Channel) -> CallFuture + Send + Sync>;

/// What one measured run produced.
struct Outcome {
    /// Latencies of the successful calls, sorted.
    latencies: Vec<Duration>,
    /// Failed calls by code and message.
    errors: BTreeMap<String, u64>,
    /// From the start until the last caller finished.
    elapsed: Duration,
}

impl Outcome {
    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn requests_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The nearest-rank percentile (`q` in 0..=1), in milliseconds.
    fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1].as_secs_f64() * 1000.0
    }
}

fn measured_duration() -> Duration {
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

/// `CALLERS / CALLERS_PER_CONNECTION` separate connections to `address`, connected now
/// so that connection setup is not measured.
async fn connections(address: std::net::SocketAddr) -> Vec<Channel> {
    let mut channels = Vec::new();
    for _ in 0..CALLERS.div_ceil(CALLERS_PER_CONNECTION) {
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        channels.push(channel);
    }
    channels
}

/// `CALLERS` tasks call `call` back to back until `duration` has passed.
async fn run(channels: &[Channel], call: &Call, duration: Duration) -> Outcome {
    let start = Instant::now();
    let deadline = start + duration;
    let callers: Vec<_> = (0..CALLERS)
        .map(|i| {
            let channel = channels[i / CALLERS_PER_CONNECTION].clone();
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
    for caller in callers {
        let (latencies, errors) = caller.await.expect("caller task");
        outcome.latencies.extend(latencies);
        for (error, count) in errors {
            *outcome.errors.entry(error).or_default() += count;
        }
    }
    outcome.elapsed = start.elapsed();
    outcome.latencies.sort_unstable();
    outcome
}

/// Warms up, then measures.
async fn measure(channels: &[Channel], call: &Call, duration: Duration) -> Outcome {
    let warm_up = run(channels, call, WARM_UP).await;
    let measured = run(channels, call, duration).await;
    // Warm-up failures count too: every call must succeed.
    let mut errors = warm_up.errors;
    for (error, count) in measured.errors {
        *errors.entry(error).or_default() += count;
    }
    Outcome { errors, ..measured }
}

/// A tonic server with only the health service and no layers, on an ephemeral port.
async fn bare_tonic_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    // The reporter starts with the server ("") SERVING, which is all Check needs.
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        // Accepted the same way as `roster::serve` (a plain listener, default socket options).
        if let Err(error) = Server::builder()
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
        {
            eprintln!("baseline server failed: {error}");
        }
    });
    address
}

fn health_check() -> Call {
    Arc::new(|channel| {
        Box::pin(async move {
            HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map(|_| ())
        })
    })
}

fn authenticate(token: String) -> Call {
    Arc::new(move |channel| {
        let request = AuthenticateRequest {
            token: token.clone(),
        };
        Box::pin(async move {
            IdentityServiceClient::new(channel)
                .authenticate(request)
                .await
                .map(|_| ())
        })
    })
}

/// Runs every target and prints the table; whether every call succeeded.
async fn bench() -> bool {
    let duration = measured_duration();

    // Serve with the production pool settings (`ROSTER_DB_POOL_SIZE`, default 16), not the
    // harness's small test pool.
    let pool = roster_kit::config::PoolConfig::from_env().expect("pool config");
    let pool_size = pool.max_size;
    let env = TestEnv::start_with(|options| options.pool = pool).await;
    let email = "bench@roster.test";
    let password = "correct horse battery staple";
    let user = env.create_user(email, password).await;
    let session_token = env.login(email, password).await;
    let api_key = env.create_api_key(&user.user_id).await.secret;
    // Both tokens must resolve to the user, or the run would measure refusals.
    for token in [&session_token, &api_key] {
        let principal = env.authenticate(token).await.expect("token authenticates");
        assert_eq!(
            principal.user_id, user.user_id,
            "principal of the bench token"
        );
    }

    let baseline = connections(bare_tonic_server().await).await;
    let roster = connections(env.address).await;
    let targets: [(&str, &[Channel], Call); 3] = [
        (
            "bare tonic (grpc.health.v1 Check, no middleware, no database)",
            &baseline,
            health_check(),
        ),
        (
            "Authenticate (session token)",
            &roster,
            authenticate(session_token),
        ),
        ("Authenticate (API key)", &roster, authenticate(api_key)),
    ];

    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "cores: {cores}, concurrency: {CALLERS} callers over {} HTTP/2 connections, database pool: {pool_size} \
         (ROSTER_DB_POOL_SIZE), {:.1} s per target after {:.1} s warm-up",
        roster.len(),
        duration.as_secs_f64(),
        WARM_UP.as_secs_f64(),
    );
    let width = targets
        .iter()
        .map(|(name, _, _)| name.len())
        .max()
        .unwrap_or(0);
    println!(
        "{:<width$}  {:>12}  {:>10}  {:>10}  {:>8}",
        "target", "requests/s", "p50 (ms)", "p99 (ms)", "errors"
    );
    let mut failures = Vec::new();
    for (name, channels, call) in &targets {
        let outcome = measure(channels, call, duration).await;
        println!(
            "{name:<width$}  {:>12.0}  {:>10.3}  {:>10.3}  {:>8}",
            outcome.requests_per_second(),
            outcome.percentile_ms(0.50),
            outcome.percentile_ms(0.99),
            outcome.error_count(),
        );
        failures.extend(
            outcome
                .errors
                .into_iter()
                .map(|(error, count)| format!("{name}: {count} x {error}")),
        );
    }
    for failure in &failures {
        eprintln!("error: {failure}");
    }
    failures.is_empty()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let all_succeeded = runtime.block_on(bench());
    if !all_succeeded {
        std::process::exit(1);
    }
}
