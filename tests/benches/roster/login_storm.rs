//! A login storm beside the hot path: `CheckPermission` (cache hits, Roster's service
//! credential, 64 callers over 8 connections) measured alone, then while 200 people log
//! in at once, each from a source of their own, in the same run. Each storm caller logs in
//! again as soon as it is answered, or after the `retry_after_seconds` a shed answer
//! gives. Prints the table (served and shed logins as rows of their own) and two ratios:
//! the p99 of shed answers (the target is at most 50 ms) and `CheckPermission`'s p99
//! during the storm against before it (the target is at most 2x).
//!
//! Run with `cargo bench -p roster-tests --bench roster -- login_storm`; it serves with
//! identity's production settings (`ROSTER_PASSWORD_HASH_*`, `ROSTER_DB_POOL_SIZE`) and
//! needs Postgres as the tests do. `ROSTER_BENCH_SECONDS` sets how long each phase is
//! measured (default 5, after a 1 s warm-up).
use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_identity::IdentityConfig;
use roster_proto::identity as id;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::membership as pb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use roster_tests::load::{self, Call, Concurrency, Outcome, Table};
use roster_tests::{TestEnv, as_user, reason};
use tonic::transport::Channel;
use tonic::{Request, Status};
use tonic_types::StatusExt as _;

/// The hot path's callers, as in the `authenticate` and `membership` benches.
const CHECKS: Concurrency = Concurrency {
    callers: 64,
    connections: 8,
};

/// The storm: people logging in at once, over connections of their own.
const STORM: Concurrency = Concurrency {
    callers: 200,
    connections: 8,
};

const PASSWORD: &str = "correct horse battery staple";
const PERMISSION: &str = "roster.members.read";

fn check_permission(token: String, request: pb::CheckPermissionRequest) -> Call {
    let token = Arc::new(token);
    load::call(move |channel| {
        let (token, request) = (token.clone(), request.clone());
        async move {
            let answer = MembershipServiceClient::new(channel)
                .check_permission(as_user(&token, request))
                .await?
                .into_inner();
            if answer.allowed {
                Ok(())
            } else {
                Err(Status::permission_denied(format!("denied: {answer:?}")))
            }
        }
    })
}

/// What the storm's logins got.
struct Storm {
    served: Outcome,
    shed: Outcome,
}

/// One person logging in over and over from `source` until `deadline`: answered logins
/// and shed ones (`OVERLOADED`) are timed apart; anything else is an error.
async fn log_in_repeatedly(
    channel: Channel,
    email: String,
    source: String,
    deadline: Instant,
) -> (Vec<Duration>, Vec<Duration>, Vec<String>) {
    let (mut served, mut shed, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    while Instant::now() < deadline {
        let mut request = Request::new(id::LoginRequest {
            email: email.clone(),
            password: PASSWORD.to_owned(),
        });
        let forwarded = source.parse().expect("ascii address");
        request.metadata_mut().insert("x-forwarded-for", forwarded);
        let sent = Instant::now();
        match IdentityServiceClient::new(channel.clone())
            .login(request)
            .await
        {
            Ok(_) => served.push(sent.elapsed()),
            Err(status) if reason(&status) == "OVERLOADED" => {
                shed.push(sent.elapsed());
                let retry_after = status
                    .get_details_error_info()
                    .and_then(|info| info.metadata.get("retry_after_seconds")?.parse().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(retry_after)).await;
            }
            Err(status) => errors.push(format!("{:?}: {}", status.code(), status.message())),
        }
    }
    (served, shed, errors)
}

async fn storm(channels: &[Channel], emails: &[String], duration: Duration) -> Storm {
    let started = Instant::now();
    let deadline = started + duration;
    let callers: Vec<_> = emails
        .iter()
        .enumerate()
        .map(|(i, email)| {
            let channel = channels[i * channels.len() / emails.len()].clone();
            let source = format!("10.{}.{}.{}", i / 65_536, i / 256 % 256, i % 256);
            tokio::spawn(log_in_repeatedly(channel, email.clone(), source, deadline))
        })
        .collect();
    let mut storm = Storm {
        served: Outcome {
            latencies: Vec::new(),
            errors: Default::default(),
            elapsed: Duration::ZERO,
        },
        shed: Outcome {
            latencies: Vec::new(),
            errors: Default::default(),
            elapsed: Duration::ZERO,
        },
    };
    for caller in callers {
        let (served, shed, errors) = caller.await.expect("storm caller");
        storm.served.latencies.extend(served);
        storm.shed.latencies.extend(shed);
        for error in errors {
            *storm.served.errors.entry(error).or_default() += 1;
        }
    }
    for outcome in [&mut storm.served, &mut storm.shed] {
        outcome.elapsed = started.elapsed();
        outcome.latencies.sort_unstable();
    }
    storm
}

/// Runs the benchmark and prints its table; the failures.
pub(crate) async fn bench() -> Vec<String> {
    let duration = load::measured_duration();
    let pool = roster_kit::config::PoolConfig::from_env().expect("pool config");
    let pool_size = pool.max_size;
    // Identity as in production (hashing threads, queue and wait), behind a proxy on
    // loopback so that each person of the storm logs in from a source of their own.
    let identity = IdentityConfig {
        trusted_proxies: "127.0.0.1".parse().expect("loopback"),
        ..IdentityConfig::from_env().expect("identity config")
    };
    let env = TestEnv::start_with(|options| {
        options.pool = pool;
        options.identity = identity;
    })
    .await;
    let company = env.create_company("Storm", 0).await;
    let member = env.add_plain_member(&company, "member@storm.test").await;
    let emails: Vec<String> = (0..STORM.callers)
        .map(|i| format!("person{i}@storm.test"))
        .collect();
    for email in &emails {
        env.create_user(email, PASSWORD).await;
    }
    let request = pb::CheckPermissionRequest {
        user_id: member.id().to_owned(),
        workspace_id: company.workspace_id().to_owned(),
        permission: PERMISSION.to_owned(),
    };
    let checks = check_permission(env.service_token.clone(), request);
    let check_channels = load::connections(env.address, CHECKS.connections).await;
    let storm_channels = load::connections(env.address, STORM.connections).await;

    let names = [
        "CheckPermission, before the storm",
        "CheckPermission, during the storm",
        "Login during the storm, answered",
        "Login during the storm, shed (OVERLOADED)",
    ];
    println!(
        "{}; storm: {STORM}, each from its own x-forwarded-for source",
        load::setup_line(CHECKS, pool_size, duration)
    );
    let mut table = Table::new(names);
    let before = load::measure(&check_channels, CHECKS.callers, &checks, duration).await;
    table.row(names[0], &before);
    let warm_up = load::run(&check_channels, CHECKS.callers, &checks, load::WARM_UP);
    let (during, storm) = tokio::join!(
        async {
            // The checks start measuring once the storm has built up.
            let warm_up = warm_up.await;
            load::run(&check_channels, CHECKS.callers, &checks, duration)
                .await
                .with_errors_of(warm_up)
        },
        storm(&storm_channels, &emails, load::WARM_UP + duration),
    );
    table.row(names[1], &during);
    table.row(names[2], &storm.served);
    table.row(names[3], &storm.shed);

    let (p99_before, p99_during) = (before.percentile_ms(0.99), during.percentile_ms(0.99));
    let shed_p99 = storm.shed.percentile_ms(0.99);
    println!(
        "\nshed answers: {} of {} logins, p99 {shed_p99:.1} ms (target: at most 50 ms)",
        storm.shed.latencies.len(),
        storm.shed.latencies.len() + storm.served.latencies.len(),
    );
    println!(
        "CheckPermission p99 during the storm / before: {p99_during:.2} ms / {p99_before:.2} ms \
         = {:.2}x (target: at most 2x)",
        p99_during / p99_before
    );
    table.into_failures()
}
