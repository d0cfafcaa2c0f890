//! Public RPCs answer strangers the same whether or not an address exists, and whatever
//! kind of user holds it.
use std::time::Duration;

use roster_proto::identity as pb;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::{Code, Status};

use super::PASSWORD;

async fn service_account(env: &TestEnv, email: &str) -> pb::User {
    let request = pb::CreateServiceAccountRequest {
        display_name: "Billing connector".into(),
        email: email.into(),
        ..Default::default()
    };
    env.identity()
        .create_service_account(as_user(&env.operator_token, request))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
}

/// Code, message and the encoded details of a refusal.
fn answer(status: &Status) -> (Code, String, Vec<u8>) {
    (
        status.code(),
        status.message().to_owned(),
        status.details().to_vec(),
    )
}

#[tokio::test]
async fn a_service_accounts_email_logs_in_like_an_unknown_email_and_a_wrong_password() {
    let env = TestEnv::start().await;
    env.create_user("joe@example.com", PASSWORD).await;
    let bot = service_account(&env, "billing-bot@example.com").await;

    let service = env.try_login("billing-bot@example.com", PASSWORD).await;
    let unknown = env.try_login("nobody@example.com", PASSWORD).await;
    let wrong = env.try_login("joe@example.com", "not the password").await;
    let service = assert_refused(service, Code::Unauthenticated, "INVALID_CREDENTIALS");
    let unknown = assert_refused(unknown, Code::Unauthenticated, "INVALID_CREDENTIALS");
    let wrong = assert_refused(wrong, Code::Unauthenticated, "INVALID_CREDENTIALS");
    assert_eq!(answer(&service), answer(&unknown));
    assert_eq!(answer(&service), answer(&wrong));

    // However often it is tried, the service account is not locked: its keys keep working.
    // (Each try waits out the throttling's longest delay, as a patient stranger would.)
    let key = env.create_api_key(&bot.user_id).await;
    for _ in 0..6 {
        env.clock.advance(chrono::Duration::minutes(16));
        let again = env.try_login("billing-bot@example.com", PASSWORD).await;
        assert_eq!(answer(&again.unwrap_err()), answer(&unknown));
    }
    env.authenticate(&key.secret).await.unwrap();
    let failures: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM identity.audit_events
             WHERE action = 'identity.session.login_failed' AND target_id = $1",
            &[&bot.user_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(failures, 0);
}

#[tokio::test]
async fn a_service_accounts_email_login_does_the_same_hashing_work() {
    let env = TestEnv::start().await;
    env.create_user("joe@example.com", PASSWORD).await;
    service_account(&env, "billing-bot@example.com").await;
    // The fastest of a few interleaved tries each: load elsewhere only ever adds time.
    let logins = [
        ("billing-bot@example.com", PASSWORD),
        ("nobody@example.com", PASSWORD),
        ("joe@example.com", "not the password"),
    ];
    let mut fastest = [Duration::MAX; 3];
    for _ in 0..4 {
        for (i, (email, password)) in logins.iter().enumerate() {
            let started = std::time::Instant::now();
            let _ = env.try_login(email, password).await;
            fastest[i] = fastest[i].min(started.elapsed());
        }
    }
    // A wrong password costs an Argon2 verification; a service account's email and an
    // unknown one cost one too (against a decoy), instead of answering at once.
    let [service, unknown, wrong] = fastest;
    assert!(service * 4 >= wrong, "{fastest:?}");
    assert!(unknown * 4 >= wrong, "{fastest:?}");
}

#[tokio::test]
async fn a_reset_for_a_service_accounts_email_answers_as_for_anyone_and_sends_nothing() {
    let env = TestEnv::start().await;
    env.create_user("joe@example.com", PASSWORD).await;
    service_account(&env, "billing-bot@example.com").await;
    for email in [
        "billing-bot@example.com",
        "nobody@example.com",
        "joe@example.com",
    ] {
        let answer = env
            .identity()
            .request_password_reset(pb::RequestPasswordResetRequest {
                email: email.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(answer.into_inner(), pb::RequestPasswordResetResponse {});
    }
    let recipients: Vec<String> = env
        .sql()
        .await
        .query("SELECT recipient FROM identity.outbox", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(recipients, ["joe@example.com"]);
}
