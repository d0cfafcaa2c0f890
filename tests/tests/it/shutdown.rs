//! Shutdown under load: `roster serve` (a child process) gets SIGTERM with 50
//! `AcceptInvitation` and 50 `Login` calls in flight. Every one completes — the acceptances'
//! calls from invitation to identity and membership included, which go through the
//! in-process server that stops last — the process exits within its drain timeout, and calls
//! made after SIGTERM are refused with `UNAVAILABLE`.
use std::time::{Duration, Instant};

use roster_proto::identity as id;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::invitation as pb;
use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_tests::TestEnv;
use roster_tests::invitation::new_user;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::child::{Reaped, free_port, loopback, roster};

const CALLS: usize = 50;
const PASSWORD: &str = "correct horse battery";
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn sigterm_lets_the_calls_in_flight_finish_and_refuses_new_ones() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let mut tokens = Vec::new();
    for i in 0..CALLS {
        let invitation = env.invite(&company, &format!("new{i}@example.com")).await;
        tokens.push(env.invitation_token(&invitation.invitation_id).await);
    }
    for i in 0..CALLS {
        env.create_user(&format!("old{i}@example.com"), PASSWORD)
            .await;
    }

    let port = free_port();
    let mut child = Reaped(
        roster(&env.database_url(), &env.service_token)
            .env(
                "ROSTER_DRAIN_TIMEOUT",
                format!("{}s", DRAIN_TIMEOUT.as_secs()),
            )
            // Every call of the test served at once: this is about shutdown, not shedding.
            .env("ROSTER_ADMISSION_CONCURRENCY", "1000")
            .env("ROSTER_PASSWORD_HASH_THREADS", "2")
            .env("ROSTER_PASSWORD_HASH_QUEUE", "1000")
            .env("ROSTER_PASSWORD_HASH_WAIT", "120s")
            .env("ROSTER_DB_POOL_SIZE", "16")
            .env("ROSTER_REQUEST_TIMEOUT", "120s")
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .spawn()
            .expect("roster serve"),
    );
    let channel = loopback(port);
    roster_tests::membership::eventually(Duration::from_secs(30), "roster serve", || async {
        HealthClient::new(channel.clone())
            .check(HealthCheckRequest::default())
            .await
            .ok()
    })
    .await;

    let mut calls = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let mut invitation = InvitationServiceClient::new(channel.clone());
        calls.push(tokio::spawn(async move {
            invitation
                .accept_invitation(pb::AcceptInvitationRequest {
                    token,
                    invitee: Some(new_user(&format!("New {i}"))),
                    request_id: String::new(),
                })
                .await
                .map(drop)
        }));
    }
    for i in 0..CALLS {
        let mut identity = IdentityServiceClient::new(channel.clone());
        calls.push(tokio::spawn(async move {
            identity
                .login(id::LoginRequest {
                    email: format!("old{i}@example.com"),
                    password: PASSWORD.to_owned(),
                })
                .await
                .map(drop)
        }));
    }
    // A hundred Argon2id checks on two cores take seconds: all are in flight by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(sent.success());

    // A call after SIGTERM, on a new connection, is refused.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let late = IdentityServiceClient::new(self::loopback(port))
        .login(id::LoginRequest {
            email: "old0@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .expect_err("a call after SIGTERM");
    assert_eq!(late.code(), Code::Unavailable, "{late:?}");

    let mut completed = 0;
    for call in calls {
        match call.await.expect("call task") {
            Ok(()) => completed += 1,
            Err(status) => eprintln!("cut: {status:?}"),
        }
    }
    let exited = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            signalled.elapsed() < DRAIN_TIMEOUT + Duration::from_secs(5),
            "roster serve did not exit within its drain timeout"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = signalled.elapsed();
    println!(
        "SIGTERM with {} calls in flight: {completed} completed; exited {exited} {:.2} s after the signal",
        2 * CALLS,
        took.as_secs_f64()
    );
    assert_eq!(completed, 2 * CALLS);
    assert!(exited.success(), "{exited}");
    let members = env.sql().await.query_one(
        "SELECT count(*) FROM membership.members WHERE status = 'active' AND user_id IN (SELECT user_id FROM identity.users WHERE email LIKE 'new%@example.com')",
        &[],
    ).await.expect("members").get::<_, i64>(0);
    assert_eq!(members, CALLS as i64);
}
