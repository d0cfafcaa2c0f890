//! Retries: a mutating RPC retried with the same request_id answers as the first call
//! did and acts once (DESIGN §6), including the ones whose first call used up what the
//! retry presents (a session ended by Logout, a token used by ResetPassword).
use roster_proto::identity as pb;
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

use super::PASSWORD;

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Audit events of `action` on `target_id`: how many times the action happened.
async fn times(env: &TestEnv, action: &str, target_id: &str) -> i64 {
    env.sql()
        .await
        .query_one(
            "SELECT count(*) FROM identity.audit_events WHERE action = $1 AND target_id = $2",
            &[&action, &target_id],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_retried_logout_answers_the_same_and_ends_the_session_once() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    let id = request_id();
    let logout = |request_id: &str| {
        as_user(
            &session,
            pb::LogoutRequest {
                request_id: request_id.to_owned(),
            },
        )
    };
    let first = env.identity().logout(logout(&id)).await.unwrap();
    let retry = env.identity().logout(logout(&id)).await.unwrap();
    assert_eq!(first.into_inner(), retry.into_inner());
    assert_eq!(
        times(&env, "identity.session.revoke", &joe.user_id).await,
        1
    );
    assert_refused(
        env.authenticate(&session).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    // Another request_id (or none) on the ended session is refused as before.
    assert_refused(
        env.identity().logout(logout(&request_id())).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    assert_refused(
        env.identity().logout(logout("")).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn a_retried_password_change_answers_the_same_and_changes_once() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    let other = env.login("joe@example.com", PASSWORD).await;
    let id = request_id();
    let change = |request_id: &str| {
        as_user(
            &session,
            pb::ChangePasswordRequest {
                user_id: joe.user_id.clone(),
                old_password: PASSWORD.into(),
                new_password: NEW_PASSWORD.into(),
                request_id: request_id.to_owned(),
            },
        )
    };
    let first = env.identity().change_password(change(&id)).await.unwrap();
    // The old password is no longer right, but the retry is recognised first.
    let retry = env.identity().change_password(change(&id)).await.unwrap();
    assert_eq!(first.into_inner(), retry.into_inner());
    assert_eq!(
        times(&env, "identity.password.change", &joe.user_id).await,
        1
    );
    assert_refused(
        env.authenticate(&other).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    env.login("joe@example.com", NEW_PASSWORD).await;
    // A new request_id is a new change, checked against the current password.
    let fresh = env.identity().change_password(change(&request_id())).await;
    assert_refused(fresh, Code::Unauthenticated, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn a_retried_reset_answers_the_same_and_resets_once() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    env.identity()
        .request_password_reset(pb::RequestPasswordResetRequest {
            email: "joe@example.com".into(),
            request_id: request_id(),
        })
        .await
        .unwrap();
    let token = env
        .emailed_token("identity", "password_reset", "joe@example.com")
        .await;
    let id = request_id();
    let reset = |token: &str, request_id: &str| pb::ResetPasswordRequest {
        token: token.to_owned(),
        new_password: NEW_PASSWORD.into(),
        request_id: request_id.to_owned(),
    };
    let first = env
        .identity()
        .reset_password(reset(&token, &id))
        .await
        .unwrap();
    let retry = env
        .identity()
        .reset_password(reset(&token, &id))
        .await
        .unwrap();
    assert_eq!(first.into_inner(), retry.into_inner());
    assert_eq!(
        times(&env, "identity.password.reset", &joe.user_id).await,
        1
    );
    env.login("joe@example.com", NEW_PASSWORD).await;
    // The token is used up for anyone else: another request_id, or another token with
    // the same request_id.
    let other_id = env
        .identity()
        .reset_password(reset(&token, &request_id()))
        .await;
    assert_refused(other_id, Code::NotFound, "TOKEN_INVALID");
    let other_token = env
        .identity()
        .reset_password(reset("rpr_not-the-token", &id))
        .await;
    assert_refused(other_token, Code::NotFound, "TOKEN_INVALID");
}

#[tokio::test]
async fn a_retried_email_confirmation_answers_the_same_user() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let change = pb::ChangeEmailRequest {
        user_id: joe.user_id.clone(),
        new_email: "joe@new.example.com".into(),
        request_id: request_id(),
    };
    env.identity()
        .change_email(as_user(&env.operator_token, change))
        .await
        .unwrap();
    let token = env
        .emailed_token(
            "identity",
            "email_change_verification",
            "joe@new.example.com",
        )
        .await;
    let id = request_id();
    let confirm = || pb::ConfirmEmailChangeRequest {
        token: token.clone(),
        request_id: id.clone(),
    };
    let first = env
        .identity()
        .confirm_email_change(confirm())
        .await
        .unwrap();
    env.clock.advance(chrono::Duration::seconds(5));
    let retry = env
        .identity()
        .confirm_email_change(confirm())
        .await
        .unwrap();
    assert_eq!(first.into_inner(), retry.into_inner());
    assert_eq!(
        times(&env, "identity.user.email_change", &joe.user_id).await,
        1
    );
    let again = env
        .identity()
        .confirm_email_change(pb::ConfirmEmailChangeRequest {
            token: token.clone(),
            request_id: request_id(),
        })
        .await;
    assert_refused(again, Code::NotFound, "TOKEN_INVALID");
}

#[tokio::test]
async fn a_retried_reset_request_sends_one_email() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let id = request_id();
    for _ in 0..2 {
        env.identity()
            .request_password_reset(pb::RequestPasswordResetRequest {
                email: "joe@example.com".into(),
                request_id: id.clone(),
            })
            .await
            .unwrap();
        // Past the one-a-minute throttle: only the request log holds the retry back.
        env.clock.advance(chrono::Duration::seconds(61));
    }
    assert_eq!(
        times(&env, "identity.password.reset_request", &joe.user_id).await,
        1
    );
}

#[tokio::test]
async fn a_retried_session_revocation_answers_the_same_count() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    env.login("joe@example.com", PASSWORD).await;
    env.login("joe@example.com", PASSWORD).await;
    let request = pb::RevokeSessionsRequest {
        user_id: joe.user_id.clone(),
        request_id: request_id(),
    };
    let revoke = || {
        let mut client = env.identity();
        let request = as_user(&env.operator_token, request.clone());
        async move { client.revoke_sessions(request).await }
    };
    let first = revoke().await.unwrap().into_inner();
    let retry = revoke().await.unwrap().into_inner();
    assert_eq!(first.revoked_count, 2);
    assert_eq!(retry, first);
    assert_eq!(
        times(&env, "identity.session.revoke_all", &joe.user_id).await,
        1
    );
}

#[tokio::test]
async fn a_request_id_answers_only_the_rpc_it_was_used_for() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    let id = request_id();
    env.identity()
        .change_password(as_user(
            &session,
            pb::ChangePasswordRequest {
                user_id: joe.user_id.clone(),
                old_password: PASSWORD.into(),
                new_password: NEW_PASSWORD.into(),
                request_id: id.clone(),
            },
        ))
        .await
        .unwrap();
    let logout = env
        .identity()
        .logout(as_user(&session, pb::LogoutRequest { request_id: id }))
        .await
        .unwrap_err();
    assert_eq!(logout.code(), Code::InvalidArgument);
    env.authenticate(&session).await.unwrap();
}
