//! The memory of `roster serve` (a child process, all services, production settings) once
//! its `Authenticate` cache holds 100,000 principals: resident set size after start, after
//! every principal was authenticated once (each a cache miss, then cached) and the peak,
//! read from `/proc`. A second pass over the same tokens shows they were cached: it
//! costs about no database transactions.
//!
//! Run with `cargo bench -p roster-tests --bench roster -- memory`. It needs Postgres as
//! the tests do (`ROSTER_TEST_DATABASE_URL`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use roster_proto::identity::AuthenticateRequest;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_tests::TestEnv;
use roster_tests::process::{Reaped, free_port};
use tonic::transport::Channel;
use uuid::Uuid;

/// Principals cached: one API key each, the default cache capacity.
const PRINCIPALS: usize = 100_000;
/// Users owning them (each API key is a principal of its own).
const USERS: usize = 1_000;
/// Concurrent Authenticate callers.
const CALLERS: usize = 64;

/// Resident and peak resident set size of process `pid`, in KiB.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// USERS users and PRINCIPALS API keys, inserted with SQL; the keys' secrets.
async fn seed(env: &TestEnv) -> Vec<String> {
    let sql = env.sql().await;
    let user_ids: Vec<Uuid> = (0..USERS).map(|_| Uuid::now_v7()).collect();
    let emails: Vec<String> = (0..USERS)
        .map(|i| format!("principal-{i}@memory.test"))
        .collect();
    sql.execute(
        "INSERT INTO identity.users (user_id, kind, email, display_name, created_at, updated_at, change_seq)
         SELECT id, 'human', email, 'Principal ' || n, now(), now(), nextval('identity.user_change_seq')
         FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS t(id, email, n)",
        &[&user_ids, &emails],
    )
    .await
    .expect("insert users");
    let keys: Vec<roster_kit::token::MintedToken> = (0..PRINCIPALS)
        .map(|_| roster_kit::token::mint("rak"))
        .collect();
    let owners: Vec<Uuid> = (0..PRINCIPALS).map(|i| user_ids[i % USERS]).collect();
    let key_ids: Vec<Uuid> = (0..PRINCIPALS).map(|_| Uuid::now_v7()).collect();
    let prefixes: Vec<String> = keys.iter().map(|k| k.secret[..12].to_owned()).collect();
    let hashes: Vec<&[u8]> = keys.iter().map(|k| k.hash.as_slice()).collect();
    sql.execute(
        "INSERT INTO identity.api_keys (api_key_id, user_id, display_name, secret_prefix, token_hash, created_at)
         SELECT id, owner, 'memory bench', prefix, hash, now()
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bytea[]) AS t(id, owner, prefix, hash)",
        &[&key_ids, &owners, &prefixes, &hashes],
    )
    .await
    .expect("insert api keys");
    keys.into_iter().map(|k| k.secret).collect()
}

/// Authenticates every token once, CALLERS at a time; the failures.
async fn authenticate_all(channel: &Channel, tokens: &[String]) -> usize {
    futures::stream::iter(tokens.iter().cloned())
        .map(|token| {
            let mut client = IdentityServiceClient::new(channel.clone());
            async move {
                client
                    .authenticate(AuthenticateRequest { token })
                    .await
                    .is_err()
            }
        })
        .buffer_unordered(CALLERS)
        .filter(|failed| std::future::ready(*failed))
        .count()
        .await
}

/// Transactions the database has committed or rolled back, once its backends have
/// reported them (at most once a second).
async fn transactions(sql: &tokio_postgres::Client) -> i64 {
    tokio::time::sleep(Duration::from_millis(1200)).await;
    sql.query_one(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()",
        &[],
    )
    .await
    .expect("database statistics")
    .get(0)
}

/// Waits until the server at `address` answers health checks.
async fn connect(address: &str) -> Channel {
    let started = Instant::now();
    loop {
        if let Ok(channel) = Channel::from_shared(format!("http://{address}"))
            .expect("an address")
            .connect()
            .await
        {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
            let ready = health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .is_ok_and(|answer| answer.into_inner().status == 1);
            if ready {
                return channel;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "roster serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seeds, starts `roster serve`, fills its cache and prints its memory; the failures.
pub(crate) async fn bench() -> Vec<String> {
    let env = TestEnv::start().await;
    let tokens = seed(&env).await;
    let address = format!("127.0.0.1:{}", free_port());
    let server = Reaped(
        Command::new(env!("CARGO_BIN_EXE_roster-child"))
            .args(["serve", "--listen", &address])
            .env("DATABASE_URL", env.database_url())
            .env("ROSTER_SERVICE_TOKEN", &env.service_token)
            .env("ROSTER_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn roster serve"),
    );
    let pid = server.id();
    let channel = connect(&address).await;
    // Lets the process's feed watcher take its lease: without it nothing is cached.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (started_rss, _) = memory_of(pid);

    let sql = env.sql().await;
    let mut failures = Vec::new();
    let mut passes = Vec::new();
    for pass in ["first (misses)", "second"] {
        let before = transactions(&sql).await;
        let started = Instant::now();
        let failed = authenticate_all(&channel, &tokens).await;
        let took = started.elapsed();
        let after = transactions(&sql).await;
        if failed > 0 {
            failures.push(format!(
                "{failed} of {PRINCIPALS} Authenticate calls failed"
            ));
        }
        passes.push((pass, took, (after - before) as f64 / PRINCIPALS as f64));
    }
    let (rss, peak) = memory_of(pid);

    println!(
        "roster serve (all services, production settings) after Authenticate with each of \
         {PRINCIPALS} API keys of {USERS} users, {CALLERS} callers:"
    );
    for (pass, took, cost) in passes {
        println!(
            "  {pass} pass: {:.0} calls/s, {cost:.2} database transactions per call",
            PRINCIPALS as f64 / took.as_secs_f64()
        );
    }
    println!(
        "  resident set: {:.1} MiB after start, {:.1} MiB with {PRINCIPALS} principals cached \
         ({:.2}x; {:.0} bytes per principal), peak {:.1} MiB",
        mib(started_rss),
        mib(rss),
        rss as f64 / started_rss as f64,
        (rss.saturating_sub(started_rss) * 1024) as f64 / PRINCIPALS as f64,
        mib(peak)
    );
    failures
}
