//! The account setting "self-service password reset": off in every account of a person,
//! RequestPasswordReset sends them nothing (and answers as always); administrators set a
//! temporary password instead.
use std::time::{Duration, Instant};

use roster::Service;
use roster_proto::identity as pb;
use roster_proto::membership as mpb;
use roster_tests::membership::{Company, request_id};
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

async fn set_self_service_reset(env: &TestEnv, company: &Company, on: bool) {
    let request = mpb::UpdateAccountRequest {
        account: Some(mpb::Account {
            account_id: company.account_id().to_owned(),
            settings: Some(mpb::AccountSettings {
                self_service_password_reset: on,
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["settings.self_service_password_reset".into()],
        }),
        request_id: request_id(),
    };
    let account = env
        .membership()
        .update_account(as_user(&env.operator_token, request))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(account.settings.unwrap().self_service_password_reset, on);
}

async fn request_reset(env: &TestEnv, email: &str) {
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

/// Reset emails written for `email` (the outbox row is written before the answer).
async fn resets_queued(env: &TestEnv, email: &str) -> i64 {
    env.sql()
        .await
        .query_one(
            "SELECT count(*) FROM identity.outbox WHERE template = 'password_reset' AND recipient = $1",
            &[&email],
        )
        .await
        .unwrap()
        .get(0)
}

async fn resets_delivered(env: &TestEnv, email: &str) -> i64 {
    env.sql()
        .await
        .query_one(
            "SELECT count(*) FROM notification.notifications WHERE template = 'password_reset' AND recipient = $1",
            &[&email],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn off_in_every_account_no_email_on_in_any_account_an_email() {
    let env = TestEnv::start().await;
    let acme = env.create_company("Acme", 0).await;
    let globex = env.create_company("Globex", 0).await;
    let joe = env.add_plain_member(&acme, "joe@example.com").await;
    set_self_service_reset(&env, &acme, false).await;

    request_reset(&env, "joe@example.com").await;
    assert_eq!(resets_queued(&env, "joe@example.com").await, 0);

    // The administrators' way: a temporary password.
    let temporary = env
        .identity()
        .set_temporary_password(as_user(
            &env.operator_token,
            pb::SetTemporaryPasswordRequest {
                user_id: joe.id().to_owned(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .temporary_password;
    assert!(
        env.try_login("joe@example.com", &temporary)
            .await
            .unwrap()
            .password_change_required
    );

    // Joe joins a second account, which keeps the default (on): the link is sent.
    env.add_member(&globex, joe.id(), &[&globex.member_role_id])
        .await;
    request_reset(&env, "joe@example.com").await;
    let token = env
        .emailed_token("identity", "password_reset", "joe@example.com")
        .await;
    assert!(token.starts_with("rpr_"));
    assert_eq!(resets_delivered(&env, "joe@example.com").await, 1);

    // Off there too: nothing more, even after the one-a-minute throttle.
    set_self_service_reset(&env, &globex, false).await;
    env.clock.advance(chrono::Duration::seconds(61));
    request_reset(&env, "joe@example.com").await;
    assert_eq!(resets_queued(&env, "joe@example.com").await, 1);
}

#[tokio::test]
async fn a_person_in_no_account_may_always_reset() {
    let env = TestEnv::start().await;
    let acme = env.create_company("Acme", 0).await;
    set_self_service_reset(&env, &acme, false).await;
    env.create_person("loner@example.com").await;
    request_reset(&env, "loner@example.com").await;
    env.emailed_token("identity", "password_reset", "loner@example.com")
        .await;
    assert_eq!(resets_delivered(&env, "loner@example.com").await, 1);
}

#[tokio::test]
async fn the_answer_and_its_timing_do_not_tell_whether_an_email_was_sent() {
    let env = TestEnv::start_with(|options| {
        options.identity.reset_response_floor = Duration::from_millis(300);
    })
    .await;
    let acme = env.create_company("Acme", 0).await;
    env.add_plain_member(&acme, "joe@example.com").await;
    set_self_service_reset(&env, &acme, false).await;
    for email in ["joe@example.com", "nobody@example.com"] {
        let started = Instant::now();
        request_reset(&env, email).await;
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
    assert_eq!(resets_queued(&env, "joe@example.com").await, 0);
}

#[tokio::test]
async fn only_roster_services_may_ask_membership() {
    let env = TestEnv::start().await;
    let joe = env.create_person("joe@example.com").await;
    let request = || mpb::CheckSelfServicePasswordResetRequest {
        user_id: joe.id().to_owned(),
    };
    let by_user = env
        .membership()
        .check_self_service_password_reset(as_user(&joe.session, request()))
        .await;
    assert_refused(by_user, Code::PermissionDenied, "PERMISSION_DENIED");
    let by_service = env
        .membership()
        .check_self_service_password_reset(as_user(&env.service_token, request()))
        .await
        .unwrap()
        .into_inner();
    assert!(by_service.allowed);
    let malformed = env
        .membership()
        .check_self_service_password_reset(as_user(
            &env.service_token,
            mpb::CheckSelfServicePasswordResetRequest {
                user_id: "not-a-uuid".into(),
            },
        ))
        .await;
    assert_eq!(malformed.unwrap_err().code(), Code::InvalidArgument);
}

#[tokio::test]
async fn while_membership_is_unreachable_nothing_is_sent() {
    // Identity alone, pointed at a membership that is not there.
    let env = TestEnv::start_with(|options| {
        options.services = vec![Service::Identity];
        options.membership_url = Some("http://127.0.0.1:1".into());
    })
    .await;
    env.create_user("joe@example.com", super::PASSWORD).await;
    request_reset(&env, "joe@example.com").await;
    assert_eq!(resets_queued(&env, "joe@example.com").await, 0);
}
