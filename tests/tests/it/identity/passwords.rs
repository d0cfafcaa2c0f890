use std::time::{Duration, Instant};

use roster_proto::identity as pb;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

use super::PASSWORD;

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn reset_token_for(env: &TestEnv, email: &str) -> String {
    env.emailed_token("identity", "password_reset", email).await
}

#[tokio::test]
async fn changing_the_password_needs_the_old_one_and_ends_other_sessions() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let current = env.login("joe@example.com", PASSWORD).await;
    let other = env.login("joe@example.com", PASSWORD).await;
    let change = |old: &str, new: &str| pb::ChangePasswordRequest {
        user_id: joe.user_id.clone(),
        old_password: old.into(),
        new_password: new.into(),
        ..Default::default()
    };
    let wrong = env
        .identity()
        .change_password(as_user(&current, change("not my password", NEW_PASSWORD)))
        .await;
    assert_refused(wrong, Code::Unauthenticated, "INVALID_CREDENTIALS");
    let weak = env
        .identity()
        .change_password(as_user(&current, change(PASSWORD, "joe@example.com")))
        .await;
    assert_refused(weak, Code::InvalidArgument, "WEAK_PASSWORD");

    env.identity()
        .change_password(as_user(&current, change(PASSWORD, NEW_PASSWORD)))
        .await
        .unwrap();
    env.authenticate(&current).await.unwrap();
    assert_refused(
        env.authenticate(&other).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    let old = env.try_login("joe@example.com", PASSWORD).await;
    assert_refused(old, Code::Unauthenticated, "INVALID_CREDENTIALS");
    env.login("joe@example.com", NEW_PASSWORD).await;

    // An operator cannot change someone else's password this way.
    let by_operator = env
        .identity()
        .change_password(as_user(&env.operator_token, change(NEW_PASSWORD, PASSWORD)))
        .await;
    assert_refused(by_operator, Code::PermissionDenied, "PERMISSION_DENIED");
}

#[tokio::test]
async fn a_temporary_password_forces_a_change() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let before = env.login("joe@example.com", PASSWORD).await;
    let temporary = env
        .identity()
        .set_temporary_password(as_user(
            &env.operator_token,
            pb::SetTemporaryPasswordRequest {
                user_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .temporary_password;
    assert_eq!(temporary.len(), 20);
    assert_refused(
        env.authenticate(&before).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );

    let login = env.try_login("joe@example.com", &temporary).await.unwrap();
    assert!(login.password_change_required);
    let restricted = login.session_token;
    // The session can do nothing but change the password.
    assert_refused(
        env.authenticate(&restricted).await,
        Code::FailedPrecondition,
        "PASSWORD_CHANGE_REQUIRED",
    );
    let read = env
        .identity()
        .get_user(as_user(
            &restricted,
            pb::GetUserRequest {
                user_id: joe.user_id.clone(),
            },
        ))
        .await;
    assert_refused(read, Code::FailedPrecondition, "PASSWORD_CHANGE_REQUIRED");

    let change = pb::ChangePasswordRequest {
        user_id: joe.user_id.clone(),
        old_password: temporary,
        new_password: NEW_PASSWORD.into(),
        ..Default::default()
    };
    env.identity()
        .change_password(as_user(&restricted, change))
        .await
        .unwrap();
    env.authenticate(&restricted).await.unwrap();
    let fresh = env
        .try_login("joe@example.com", NEW_PASSWORD)
        .await
        .unwrap();
    assert!(!fresh.password_change_required);

    let db = env.sql().await;
    let notice: String = db
        .query_one(
            "SELECT variables::text FROM identity.outbox WHERE template = 'temporary_password_set'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!notice.contains(NEW_PASSWORD));
}

#[tokio::test]
async fn a_reset_token_works_once() {
    let env = TestEnv::start().await;
    env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    env.identity()
        .request_password_reset(pb::RequestPasswordResetRequest {
            email: "Joe@Example.com".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let token = reset_token_for(&env, "joe@example.com").await;
    assert!(token.starts_with("rpr_"));

    let weak = env
        .identity()
        .reset_password(pb::ResetPasswordRequest {
            token: token.clone(),
            new_password: "short".into(),
            ..Default::default()
        })
        .await;
    assert_refused(weak, Code::InvalidArgument, "WEAK_PASSWORD");
    // A refused password does not use the token up.
    env.identity()
        .reset_password(pb::ResetPasswordRequest {
            token: token.clone(),
            new_password: NEW_PASSWORD.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_refused(
        env.authenticate(&session).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    env.login("joe@example.com", NEW_PASSWORD).await;

    let again = env
        .identity()
        .reset_password(pb::ResetPasswordRequest {
            token,
            new_password: PASSWORD.into(),
            ..Default::default()
        })
        .await;
    assert_refused(again, Code::NotFound, "TOKEN_INVALID");
}

#[tokio::test]
async fn a_reset_token_expires_after_an_hour_and_a_newer_one_replaces_it() {
    let env = TestEnv::start().await;
    env.create_user("joe@example.com", PASSWORD).await;
    let request = || pb::RequestPasswordResetRequest {
        email: "joe@example.com".into(),
        ..Default::default()
    };
    env.identity()
        .request_password_reset(request())
        .await
        .unwrap();
    let first = reset_token_for(&env, "joe@example.com").await;
    // Within a minute a second request sends nothing.
    env.identity()
        .request_password_reset(request())
        .await
        .unwrap();
    assert_eq!(reset_token_for(&env, "joe@example.com").await, first);
    env.clock.advance(chrono::Duration::seconds(61));
    env.identity()
        .request_password_reset(request())
        .await
        .unwrap();
    let second = reset_token_for(&env, "joe@example.com").await;
    assert_ne!(first, second);
    let replaced = env
        .identity()
        .reset_password(pb::ResetPasswordRequest {
            token: first,
            new_password: NEW_PASSWORD.into(),
            ..Default::default()
        })
        .await;
    assert_refused(replaced, Code::NotFound, "TOKEN_INVALID");

    env.clock.advance(chrono::Duration::minutes(61));
    let expired = env
        .identity()
        .reset_password(pb::ResetPasswordRequest {
            token: second,
            new_password: NEW_PASSWORD.into(),
            ..Default::default()
        })
        .await;
    assert_refused(expired, Code::NotFound, "TOKEN_INVALID");
}

#[tokio::test]
async fn a_reset_for_an_unknown_email_answers_the_same_and_sends_nothing() {
    let env = TestEnv::start_with(|options| {
        options.identity.reset_response_floor = Duration::from_millis(300)
    })
    .await;
    env.create_user("joe@example.com", PASSWORD).await;
    let mut timings = Vec::new();
    for email in ["joe@example.com", "nobody@example.com"] {
        let started = Instant::now();
        let answer = env
            .identity()
            .request_password_reset(pb::RequestPasswordResetRequest {
                email: email.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        timings.push(started.elapsed());
        assert_eq!(answer.into_inner(), pb::RequestPasswordResetResponse {});
    }
    // Both answer no sooner than the floor; the database work hides under it.
    assert!(
        timings.iter().all(|t| *t >= Duration::from_millis(300)),
        "{timings:?}"
    );
    let db = env.sql().await;
    let rows: Vec<String> = db
        .query("SELECT recipient FROM identity.outbox", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rows, ["joe@example.com"]);
}

#[tokio::test]
async fn of_sixteen_concurrent_resets_with_one_token_exactly_one_succeeds() {
    let env = TestEnv::start().await;
    env.create_user("joe@example.com", PASSWORD).await;
    env.identity()
        .request_password_reset(pb::RequestPasswordResetRequest {
            email: "joe@example.com".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let token = reset_token_for(&env, "joe@example.com").await;
    let attempts = (0..16).map(|i| {
        let mut client = env.identity();
        let request = pb::ResetPasswordRequest {
            token: token.clone(),
            new_password: format!("new passphrase number {i}"),
            ..Default::default()
        };
        tokio::spawn(async move { client.reset_password(request).await })
    });
    let mut winners = Vec::new();
    for (i, outcome) in futures::future::join_all(attempts)
        .await
        .into_iter()
        .enumerate()
    {
        match outcome.unwrap() {
            Ok(_) => winners.push(i),
            Err(status) => assert_eq!(roster_tests::reason(&status), "TOKEN_INVALID", "{status:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one reset wins: {winners:?}");
    env.login(
        "joe@example.com",
        &format!("new passphrase number {}", winners[0]),
    )
    .await;
}

#[tokio::test]
async fn a_login_storm_is_shed_instead_of_exhausting_memory() {
    let env = TestEnv::start_with(|options| {
        // One hashing thread and two places in its queue: the rest is shed at once.
        options.identity.password_hash_threads = 1;
        options.identity.password_hash_queue = 2;
    })
    .await;
    env.create_user("joe@example.com", PASSWORD).await;
    let attempts = (0..24).map(|_| {
        let mut client = env.identity();
        tokio::spawn(async move {
            client
                .login(pb::LoginRequest {
                    email: "joe@example.com".into(),
                    password: PASSWORD.into(),
                })
                .await
        })
    });
    let outcomes = futures::future::join_all(attempts).await;
    let shed = outcomes
        .iter()
        .filter(|o| matches!(o.as_ref().unwrap(), Err(s) if s.code() == Code::ResourceExhausted && roster_tests::reason(s) == "OVERLOADED"))
        .count();
    let served = outcomes
        .iter()
        .filter(|o| o.as_ref().unwrap().is_ok())
        .count();
    assert!(shed > 0, "some logins are shed");
    assert!(served > 0, "some logins get through");
    assert_eq!(shed + served, 24);
}
