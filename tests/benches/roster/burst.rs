//! A burst of acceptances: 500 people accept at once into a workspace of 100 seats, each
//! as a well-behaved client (a shed answer is retried after its `retry_after_seconds`).
//! Printed: the first answers by code, how many answers were `UNAVAILABLE` (an internal
//! call that timed out, or the database pool running dry — there must be none), the accept
//! latency from first try to final answer (p50, p99) beside the bare tonic baseline's p99
//! at the same 500 callers, and the outcome (exactly 100 members, 100 new users).
//!
//! Run with `cargo bench -p roster-tests --bench roster -- burst`. It needs Postgres as the
//! tests do. The server runs with the production pool, admission and identity settings.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use roster_proto::invitation as pb;
use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_tests::invitation::{invite_request, new_user};
use roster_tests::load;
use roster_tests::{TestEnv, as_user};
use tonic::Code;
use tonic::transport::Channel;

const PEOPLE: usize = 500;
const SEATS: i32 = 100;
const CONNECTIONS: usize = 8;

/// What one person's acceptance went through: the first answer's code, every answer's
/// codes, and the time from the first try to the final answer.
struct Accepted {
    first: Code,
    codes: Vec<Code>,
    took: Duration,
    seated: bool,
}

fn retry_after(status: &tonic::Status) -> Duration {
    use tonic_types::StatusExt as _;
    status
        .get_details_error_info()
        .and_then(|info| {
            info.metadata
                .get("retry_after_seconds")?
                .parse::<f64>()
                .ok()
        })
        .map_or(Duration::from_millis(200), Duration::from_secs_f64)
}

async fn accept(channel: Channel, token: String, i: usize) -> Accepted {
    let started = Instant::now();
    let mut codes = Vec::new();
    loop {
        let answer = InvitationServiceClient::new(channel.clone())
            .accept_invitation(pb::AcceptInvitationRequest {
                token: token.clone(),
                invitee: Some(new_user(&format!("Burst {i}"))),
                request_id: String::new(),
            })
            .await;
        let code = answer
            .as_ref()
            .map_or_else(tonic::Status::code, |_| Code::Ok);
        codes.push(code);
        match answer {
            Err(status)
                if matches!(
                    status.code(),
                    Code::ResourceExhausted | Code::Aborted | Code::Unavailable
                ) && roster_tests::reason(&status) != "SEAT_LIMIT_REACHED" =>
            {
                // Jittered, so the shed callers do not all come back at once.
                let wait = retry_after(&status).mul_f64(0.5 + rand::random::<f64>());
                tokio::time::sleep(wait).await;
            }
            answer => {
                return Accepted {
                    first: codes[0],
                    codes,
                    took: started.elapsed(),
                    seated: answer.is_ok(),
                };
            }
        }
    }
}

fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

pub(crate) async fn bench() -> Vec<String> {
    let pool = roster_kit::config::PoolConfig::from_env().expect("pool config");
    let pool_size = pool.max_size;
    let identity = roster_identity::IdentityConfig::from_env().expect("identity config");
    let server = roster_kit::config::ServerConfig::from_env().expect("server config");
    let env = TestEnv::start_with(|options| {
        options.pool = pool;
        options.identity = identity;
        options.server.admission_concurrency = server.admission_concurrency;
        options.server.admission_queue = server.admission_queue;
    })
    .await;
    // Invited while the workspace has room for all (pending invitations hold seats), then
    // narrowed to SEATS: more people accept than can join.
    let company = env.create_company("Burst", 0).await;
    let emails: Vec<String> = (0..PEOPLE)
        .map(|i| format!("burst{i:03}@bench.test"))
        .collect();
    let addresses: Vec<&str> = emails.iter().map(String::as_str).collect();
    let invited = env
        .invitation()
        .invite_users(as_user(
            &env.operator_token,
            invite_request(&company, &addresses),
        ))
        .await
        .expect("invite")
        .into_inner()
        .results;
    let mut tokens = Vec::new();
    for result in &invited {
        let invitation = result.invitation.as_ref().expect("invited");
        tokens.push(env.invitation_token(&invitation.invitation_id).await);
    }
    let narrowed = roster_proto::membership::UpdateWorkspaceRequest {
        workspace: Some(roster_proto::membership::Workspace {
            workspace_id: company.workspace_id().to_owned(),
            seat_limit: SEATS,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["seat_limit".to_owned()],
        }),
        request_id: roster_tests::membership::request_id(),
    };
    env.membership()
        .update_workspace(as_user(&env.operator_token, narrowed))
        .await
        .expect("narrow the seat limit");
    let channels = load::connections(env.address, CONNECTIONS).await;

    let baseline = {
        let address = load::bare_tonic_server().await;
        let channels = load::connections(address, CONNECTIONS).await;
        load::measure(
            &channels,
            PEOPLE,
            &load::health_check(),
            Duration::from_secs(2),
        )
        .await
    };

    let started = Instant::now();
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| tokio::spawn(accept(channels[i % CONNECTIONS].clone(), token, i)))
        .collect();
    let mut accepted = Vec::new();
    for task in tasks {
        accepted.push(task.await.expect("accept task"));
    }
    let wall = started.elapsed();

    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    for a in &accepted {
        *first.entry(format!("{:?}", a.first)).or_default() += 1;
    }
    let attempts: usize = accepted.iter().map(|a| a.codes.len()).sum();
    let unavailable = accepted
        .iter()
        .flat_map(|a| &a.codes)
        .filter(|c| **c == Code::Unavailable)
        .count();
    let mut took: Vec<Duration> = accepted.iter().map(|a| a.took).collect();
    took.sort_unstable();
    let seated = accepted.iter().filter(|a| a.seated).count();
    let count = |sql: &'static str| {
        let env = &env;
        async move {
            env.sql()
                .await
                .query_one(sql, &[])
                .await
                .expect(sql)
                .get::<_, i64>(0)
        }
    };
    let members = count("SELECT count(*) FROM membership.members").await;
    let users = count("SELECT count(*) FROM identity.users WHERE email LIKE 'burst%'").await;
    let (p50, p99) = (percentile_ms(&took, 0.5), percentile_ms(&took, 0.99));
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "{PEOPLE} concurrent AcceptInvitation into {SEATS} seats (cores: {cores}, database pool: {pool_size}, \
         admission: {} at once, {} queued)",
        server.admission_concurrency, server.admission_queue
    );
    println!(
        "first answers: {first:?}; {attempts} calls in all, {unavailable} answered UNAVAILABLE"
    );
    println!(
        "accept, first try to final answer: p50 {p50:.0} ms, p99 {p99:.0} ms ({:.1}x the bare tonic p99 of {:.1} ms at {PEOPLE} callers); all answered in {:.1} s",
        p99 / baseline.percentile_ms(0.99),
        baseline.percentile_ms(0.99),
        wall.as_secs_f64()
    );
    println!(
        "outcome: {seated} accepted, {members} members (the operator's company had none), {users} new users"
    );
    let mut failures = Vec::new();
    if unavailable > 0 {
        failures.push(format!("burst: {unavailable} answers UNAVAILABLE"));
    }
    if seated != SEATS as usize || users != i64::from(SEATS) {
        failures.push(format!(
            "burst: {seated} accepted and {users} users for {SEATS} seats"
        ));
    }
    failures
}
