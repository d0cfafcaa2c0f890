use roster_proto::identity as pb;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

use super::PASSWORD;

#[tokio::test]
async fn an_email_change_applies_only_once_the_new_address_confirms() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let change = pb::ChangeEmailRequest {
        user_id: joe.user_id.clone(),
        new_email: "Joe@New.example.com".into(),
        ..Default::default()
    };
    let pending = env
        .identity()
        .change_email(as_user(&env.operator_token, change))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(pending.email, "joe@example.com");
    assert_eq!(pending.pending_email, "joe@new.example.com");
    assert!(
        !pending.email_verified,
        "a pending change proves nothing yet"
    );
    // The old email keeps working until the change is confirmed.
    env.login("joe@example.com", PASSWORD).await;

    let token = env
        .emailed_token(
            "identity",
            "email_change_verification",
            "joe@new.example.com",
        )
        .await;
    let confirmed = env
        .identity()
        .confirm_email_change(pb::ConfirmEmailChangeRequest {
            token: token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(confirmed.email, "joe@new.example.com");
    assert_eq!(confirmed.pending_email, "");
    // The link reached the new address: that proves it.
    assert!(confirmed.email_verified);
    assert!(confirmed.email_verify_time.is_some());
    assert_eq!(env.get_user(&joe.user_id).await, confirmed);
    env.login("joe@new.example.com", PASSWORD).await;
    let old = env.try_login("joe@example.com", PASSWORD).await;
    assert_refused(old, Code::Unauthenticated, "INVALID_CREDENTIALS");
    let again = env
        .identity()
        .confirm_email_change(pb::ConfirmEmailChangeRequest {
            token,
            ..Default::default()
        })
        .await;
    assert_refused(again, Code::NotFound, "TOKEN_INVALID");
}

#[tokio::test]
async fn an_email_change_to_a_taken_address_is_refused() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    env.create_user("mary@example.com", PASSWORD).await;
    let change = pb::ChangeEmailRequest {
        user_id: joe.user_id.clone(),
        new_email: "mary@example.com".into(),
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .change_email(as_user(&env.operator_token, change))
            .await,
        Code::AlreadyExists,
        "EMAIL_TAKEN",
    );
    let invalid = pb::ChangeEmailRequest {
        user_id: joe.user_id,
        new_email: "mary".into(),
        ..Default::default()
    };
    let status = env
        .identity()
        .change_email(as_user(&env.operator_token, invalid))
        .await
        .unwrap_err();
    assert_eq!(roster_tests::violated_fields(&status), ["new_email"]);
}

#[tokio::test]
async fn the_address_taken_meanwhile_fails_confirmation() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let change = pb::ChangeEmailRequest {
        user_id: joe.user_id,
        new_email: "new@example.com".into(),
        ..Default::default()
    };
    env.identity()
        .change_email(as_user(&env.operator_token, change))
        .await
        .unwrap();
    env.create_user("new@example.com", PASSWORD).await;
    let token = env
        .emailed_token("identity", "email_change_verification", "new@example.com")
        .await;
    let taken = env
        .identity()
        .confirm_email_change(pb::ConfirmEmailChangeRequest {
            token,
            ..Default::default()
        })
        .await;
    assert_refused(taken, Code::AlreadyExists, "EMAIL_TAKEN");
}
