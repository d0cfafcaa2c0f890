//! Throughput of `roster.invitation.v1.InvitationService`, in two tables:
//!
//! - Sending: invitations/s when 500 addresses go in one `InviteUsers` call, versus 500
//!   calls of one address each (one caller back to back, and 8 callers at once). Each
//!   invitation is a row, an outbox email and an audit event; a call also asks identity
//!   for the inviter's name and membership for seats and existing members.
//! - Accepting: `AcceptInvitation` by new people at 16 concurrent callers, each call
//!   creating the user in identity (an Argon2id hash), opening a session, adding the
//!   member in membership and marking the invitation accepted.
//!
//! Run with `cargo bench -p roster-tests --bench roster -- invitation`. It needs
//! Postgres as the tests do (`ROSTER_TEST_DATABASE_URL`). `ROSTER_BENCH_SECONDS` sets how
//! long the accept row is measured (default 5, after a 1 s warm-up). The server runs with
//! the production pool and identity settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use roster_proto::invitation as pb;
use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_tests::invitation::{invite_request, link_token, new_user};
use roster_tests::load::{self, Concurrency, Outcome};
use roster_tests::membership::{Company, request_id};
use roster_tests::{TestEnv, as_user};
use tonic::transport::Channel;

/// Addresses per bulk call, the figure.
const BULK: usize = 500;
/// Bulk calls measured (each with fresh addresses).
const BULK_ROUNDS: usize = 3;
/// Callers of the concurrent single-address row.
const SINGLE_CALLERS: usize = 8;
/// AcceptInvitation: 16 callers over 4 connections.
const ACCEPT_CONCURRENCY: Concurrency = Concurrency {
    callers: 16,
    connections: 4,
};
/// Invitations prepared for the accept row (more than it can use).
const ACCEPT_TOKENS: usize = 4 * BULK;

fn addresses(prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("{prefix}{i:05}@bench.test"))
        .collect()
}

async fn invite(
    client: &mut InvitationServiceClient<Channel>,
    token: &str,
    company: &Company,
    emails: Vec<String>,
) -> Vec<pb::InviteResult> {
    let mut request = invite_request(company, &[]);
    request.emails = emails;
    request.request_id = request_id();
    let results = client
        .invite_users(as_user(token, request))
        .await
        .expect("invite")
        .into_inner()
        .results;
    assert!(
        results.iter().all(|r| r.invitation.is_some()),
        "every address is invited"
    );
    results
}

/// Prints a sending row: `count` invitations in `elapsed`.
fn sending_row(name: &str, count: usize, elapsed: Duration, calls: usize) {
    println!(
        "{name:<44}  {:>14.0}  {:>12.1}",
        count as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / calls as f64,
    );
}

async fn sending(env: &TestEnv, company: &Company, channel: &Channel) {
    let token = &env.operator_token;
    let mut client = InvitationServiceClient::new(channel.clone());
    // Warm-up: connections, pools and prepared statements.
    invite(&mut client, token, company, addresses("warm", 20)).await;
    println!(
        "{:<44}  {:>14}  {:>12}",
        "target", "invitations/s", "ms per call"
    );
    for round in 0..BULK_ROUNDS {
        let started = Instant::now();
        invite(
            &mut client,
            token,
            company,
            addresses(&format!("bulk{round}-"), BULK),
        )
        .await;
        sending_row(
            &format!("1 InviteUsers of {BULK} addresses (round {})", round + 1),
            BULK,
            started.elapsed(),
            1,
        );
    }
    let started = Instant::now();
    for email in addresses("single", BULK) {
        invite(&mut client, token, company, vec![email]).await;
    }
    sending_row(
        &format!("{BULK} InviteUsers of 1 address, 1 caller"),
        BULK,
        started.elapsed(),
        BULK,
    );
    let next = Arc::new(AtomicUsize::new(0));
    let emails = Arc::new(addresses("parallel", BULK));
    let started = Instant::now();
    let callers: Vec<_> = (0..SINGLE_CALLERS)
        .map(|_| {
            let (next, emails, company) = (Arc::clone(&next), Arc::clone(&emails), company.clone());
            let (mut client, token) = (client.clone(), token.clone());
            tokio::spawn(async move {
                while let Some(email) = emails.get(next.fetch_add(1, Ordering::Relaxed)) {
                    invite(&mut client, &token, &company, vec![email.clone()]).await;
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.expect("caller");
    }
    sending_row(
        &format!("{BULK} InviteUsers of 1 address, {SINGLE_CALLERS} callers"),
        BULK,
        started.elapsed(),
        BULK / SINGLE_CALLERS,
    );
}

async fn accepting(env: &TestEnv, company: &Company, duration: Duration) -> Outcome {
    let mut client = env.invitation();
    for round in 0..ACCEPT_TOKENS / BULK {
        invite(
            &mut client,
            &env.operator_token,
            company,
            addresses(&format!("accept{round}-"), BULK),
        )
        .await;
    }
    // The tokens reach people by email: read them from the delivered messages (the log
    // transport keeps their text).
    let tokens: Arc<Vec<String>> = Arc::new(loop {
        let texts: Vec<String> = env
            .sql()
            .await
            .query(
                "SELECT rendered_text FROM notification.notifications
                 WHERE recipient LIKE 'accept%' AND state = 'sent' ORDER BY notification_id",
                &[],
            )
            .await
            .expect("tokens")
            .iter()
            .map(|row| row.get(0))
            .collect();
        if texts.len() == ACCEPT_TOKENS {
            break texts.iter().map(|text| link_token(text)).collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    });
    let next = Arc::new(AtomicUsize::new(0));
    let channels = load::connections(env.address, ACCEPT_CONCURRENCY.connections).await;
    let call = load::call(move |channel| {
        let (tokens, next) = (Arc::clone(&tokens), Arc::clone(&next));
        async move {
            let token = tokens
                .get(next.fetch_add(1, Ordering::Relaxed))
                .cloned()
                .ok_or_else(|| {
                    tonic::Status::resource_exhausted("the bench ran out of invitations")
                })?;
            InvitationServiceClient::new(channel)
                .accept_invitation(pb::AcceptInvitationRequest {
                    token,
                    invitee: Some(new_user("Bench Person")),
                    request_id: String::new(),
                })
                .await
                .map(|_| ())
        }
    });
    load::measure(&channels, ACCEPT_CONCURRENCY.callers, &call, duration).await
}

pub(crate) async fn bench() -> Vec<String> {
    let duration = load::measured_duration();
    let pool = roster_kit::config::PoolConfig::from_env().expect("pool config");
    let pool_size = pool.max_size;
    let identity = roster_identity::IdentityConfig::from_env().expect("identity config");
    let env = TestEnv::start_with(|options| {
        options.pool = pool;
        options.identity = identity;
    })
    .await;
    let company = env.create_company("Bench", 0).await;
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!("InviteUsers (cores: {cores}, database pool: {pool_size})");
    sending(&env, &company, &env.channel()).await;
    println!();

    println!("AcceptInvitation by new people");
    println!(
        "{}",
        load::setup_line(ACCEPT_CONCURRENCY, pool_size, duration)
    );
    let outcome = accepting(&env, &company, duration).await;
    let mut table = load::Table::new(["accept (new user)"]);
    table.row("accept (new user)", &outcome);
    table.into_failures()
}
