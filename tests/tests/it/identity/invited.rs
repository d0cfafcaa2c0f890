//! ProvisionInvitedUser: the person an invitation is accepted for, created once per
//! invitation and given a session, for Roster's services only.
use std::time::Duration;

use roster_proto::identity as pb;
use roster_tests::{TestEnv, as_user, assert_refused, violated_fields};
use tonic::{Code, Status};

use super::PASSWORD;

/// ProvisionInvitedUser as `token`.
async fn provision(
    env: &TestEnv,
    token: &str,
    invitation_id: &str,
    email: &str,
    password: &str,
) -> Result<pb::ProvisionInvitedUserResponse, Status> {
    let request = pb::ProvisionInvitedUserRequest {
        invitation_id: invitation_id.to_owned(),
        email: email.to_owned(),
        display_name: " Joe Smith ".to_owned(),
        password: password.to_owned(),
    };
    Ok(env
        .identity()
        .provision_invited_user(as_user(token, request))
        .await?
        .into_inner())
}

fn invitation() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// How many users hold `email`.
async fn users_with_email(env: &TestEnv, email: &str) -> i64 {
    env.sql()
        .await
        .query_one(
            "SELECT count(*) FROM identity.users WHERE email = $1",
            &[&email],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn the_first_call_creates_an_active_person_bound_to_the_invitation_with_a_session() {
    let env = TestEnv::start().await;
    let invitation_id = invitation();
    let answer = provision(
        &env,
        &env.service_token,
        &invitation_id,
        "  Joe@Example.com ",
        PASSWORD,
    )
    .await
    .unwrap();
    let user = answer.user.expect("user");
    assert_eq!(user.email, "joe@example.com");
    assert_eq!(user.display_name, "Joe Smith");
    assert_eq!(user.kind, pb::UserKind::Human as i32);
    assert_eq!(user.status, pb::UserStatus::Active as i32);
    assert_eq!(user.platform_role, pb::PlatformRole::User as i32);
    assert!(user.has_password);

    // The session works, for this user, for the usual session lifetime.
    let principal = env.authenticate(&answer.session_token).await.unwrap();
    assert_eq!(principal.user_id, user.user_id);
    assert_eq!(principal.email, "joe@example.com");
    let expire = answer.session_expire_time.expect("session_expire_time");
    let created = user.create_time.expect("create_time");
    assert!(
        (expire.seconds - created.seconds - 12 * 3600).abs() <= 1,
        "a 12h session: {created:?} {expire:?}"
    );
    // The person logs in with the password they chose.
    env.login("joe@example.com", PASSWORD).await;

    let db = env.sql().await;
    let row = db
        .query_one(
            "SELECT invitation_id::text, change_seq FROM identity.users WHERE user_id = $1::text::uuid",
            &[&user.user_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), invitation_id);
    assert!(row.get::<_, i64>(1) > 0, "the user has a feed position");
    let audit = db
        .query_one(
            "SELECT actor_user_id::text, changes->'invitation_id'->>'after' FROM identity.audit_events
             WHERE action = 'identity.user.create' AND target_id = $1",
            &[&user.user_id],
        )
        .await
        .unwrap();
    assert_eq!(
        audit.get::<_, String>(0),
        uuid::Uuid::nil().to_string(),
        "created by the calling service"
    );
    assert_eq!(audit.get::<_, String>(1), invitation_id);

    // The change feed carries the new user (membership copies users from it).
    let changes = env
        .identity()
        .list_user_changes(as_user(
            &env.service_token,
            pb::ListUserChangesRequest {
                after_sequence: 0,
                page_size: 1000,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert!(
        changes
            .iter()
            .any(|c| c.user.as_ref().is_some_and(|u| u.user_id == user.user_id)),
        "{changes:?}"
    );
}

#[tokio::test]
async fn a_retry_for_the_same_invitation_needs_the_same_password_and_opens_a_new_session() {
    let env = TestEnv::start().await;
    let invitation_id = invitation();
    let first = provision(
        &env,
        &env.service_token,
        &invitation_id,
        "joe@example.com",
        PASSWORD,
    )
    .await
    .unwrap();
    let again = provision(
        &env,
        &env.service_token,
        &invitation_id,
        "JOE@example.com",
        PASSWORD,
    )
    .await
    .unwrap();
    let user_id = first.user.expect("user").user_id;
    assert_eq!(again.user.expect("user").user_id, user_id);
    assert_ne!(again.session_token, first.session_token);
    for session in [&first.session_token, &again.session_token] {
        assert_eq!(env.authenticate(session).await.unwrap().user_id, user_id);
    }

    assert_refused(
        provision(
            &env,
            &env.service_token,
            &invitation_id,
            "joe@example.com",
            "another long password",
        )
        .await,
        Code::Unauthenticated,
        "INVALID_CREDENTIALS",
    );
    assert_eq!(users_with_email(&env, "joe@example.com").await, 1);
}

#[tokio::test]
async fn an_email_that_already_has_an_account_is_email_taken() {
    let env = TestEnv::start().await;
    // Someone created by an operator accepts with their session instead.
    env.create_user("mary@example.com", PASSWORD).await;
    let status = assert_refused(
        provision(
            &env,
            &env.service_token,
            &invitation(),
            "mary@example.com",
            PASSWORD,
        )
        .await,
        Code::AlreadyExists,
        "EMAIL_TAKEN",
    );
    assert!(status.message().contains("sign in"), "{status:?}");

    // Someone another invitation created, likewise.
    provision(
        &env,
        &env.service_token,
        &invitation(),
        "joe@example.com",
        PASSWORD,
    )
    .await
    .unwrap();
    assert_refused(
        provision(
            &env,
            &env.service_token,
            &invitation(),
            "joe@example.com",
            PASSWORD,
        )
        .await,
        Code::AlreadyExists,
        "EMAIL_TAKEN",
    );
    assert_eq!(users_with_email(&env, "mary@example.com").await, 1);
    assert_eq!(users_with_email(&env, "joe@example.com").await, 1);
}

#[tokio::test]
async fn bad_input_and_weak_passwords_make_no_user() {
    let env = TestEnv::start().await;
    assert_refused(
        provision(
            &env,
            &env.service_token,
            &invitation(),
            "joe@example.com",
            "short",
        )
        .await,
        Code::InvalidArgument,
        "WEAK_PASSWORD",
    );
    assert_eq!(users_with_email(&env, "joe@example.com").await, 0);

    let status = provision(
        &env,
        &env.service_token,
        "not-a-uuid",
        "joe@example.com",
        PASSWORD,
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["invitation_id"]);

    let request = pb::ProvisionInvitedUserRequest {
        invitation_id: invitation(),
        email: "not-an-email".into(),
        display_name: "  ".into(),
        password: PASSWORD.into(),
    };
    let status = env
        .identity()
        .provision_invited_user(as_user(&env.service_token, request))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["email", "display_name"]);
    assert_eq!(users_with_email(&env, "joe@example.com").await, 0);
}

#[tokio::test]
async fn only_roster_services_may_provision() {
    let env = TestEnv::start().await;
    let operator = env
        .identity()
        .create_user(as_user(
            &env.operator_token,
            pb::CreateUserRequest {
                email: "ops@example.com".into(),
                display_name: "Ops".into(),
                password: PASSWORD.into(),
                platform_role: pb::PlatformRole::Operator as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        operator.into_inner().user.unwrap().platform_role,
        pb::PlatformRole::Operator as i32
    );
    let session = env.login("ops@example.com", PASSWORD).await;
    for token in [&session, &env.operator_token] {
        assert_refused(
            provision(&env, token, &invitation(), "joe@example.com", PASSWORD).await,
            Code::PermissionDenied,
            "PERMISSION_DENIED",
        );
    }
    let anonymous = env
        .identity()
        .provision_invited_user(pb::ProvisionInvitedUserRequest {
            invitation_id: invitation(),
            email: "joe@example.com".into(),
            display_name: "Joe".into(),
            password: PASSWORD.into(),
        })
        .await;
    assert_refused(anonymous, Code::Unauthenticated, "UNAUTHENTICATED");
    assert_eq!(users_with_email(&env, "joe@example.com").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_calls_for_one_invitation_make_one_user() {
    // Every call hashes or verifies a password: give each one time for its turn.
    let env = TestEnv::start_with(|options| {
        options.identity.password_hash_wait = Duration::from_secs(60);
    })
    .await;
    let invitation_id = invitation();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(10));
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let mut client = env.identity();
            let request = as_user(
                &env.service_token,
                pb::ProvisionInvitedUserRequest {
                    invitation_id: invitation_id.clone(),
                    email: "joe@example.com".into(),
                    display_name: "Joe".into(),
                    password: PASSWORD.into(),
                },
            );
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                client
                    .provision_invited_user(request)
                    .await
                    .map(|r| r.into_inner())
            })
        })
        .collect();
    let mut user_ids = Vec::new();
    for call in calls {
        let answer = call.await.unwrap().expect("every call succeeds");
        env.authenticate(&answer.session_token).await.unwrap();
        user_ids.push(answer.user.expect("user").user_id);
    }
    user_ids.dedup();
    assert_eq!(user_ids.len(), 1, "one user for all: {user_ids:?}");
    assert_eq!(users_with_email(&env, "joe@example.com").await, 1);
    let sessions: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM identity.sessions WHERE user_id = $1::text::uuid",
            &[&user_ids[0]],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 10, "a session per call");
}

#[tokio::test]
async fn a_disabled_person_gets_no_session_on_retry() {
    let env = TestEnv::start().await;
    let invitation_id = invitation();
    let first = provision(
        &env,
        &env.service_token,
        &invitation_id,
        "joe@example.com",
        PASSWORD,
    )
    .await
    .unwrap();
    env.identity()
        .disable_user(as_user(
            &env.operator_token,
            pb::DisableUserRequest {
                user_id: first.user.expect("user").user_id,
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_refused(
        provision(
            &env,
            &env.service_token,
            &invitation_id,
            "joe@example.com",
            PASSWORD,
        )
        .await,
        Code::PermissionDenied,
        "USER_DISABLED",
    );
}
