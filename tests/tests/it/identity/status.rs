use roster_kit::clock::Clock as _;
use roster_proto::identity as pb;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

use super::PASSWORD;

#[tokio::test]
async fn a_disabled_users_live_session_and_keys_fail_on_the_next_call() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    let key = env.create_api_key(&joe.user_id).await.secret;
    env.authenticate(&session).await.unwrap();

    let disabled = env
        .identity()
        .disable_user(as_user(
            &env.operator_token,
            pb::DisableUserRequest {
                user_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(disabled.status, pb::UserStatus::Disabled as i32);
    assert_refused(
        env.authenticate(&session).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    assert_refused(
        env.authenticate(&key).await,
        Code::PermissionDenied,
        "USER_DISABLED",
    );
    let login = env.try_login("joe@example.com", PASSWORD).await;
    assert_refused(login, Code::PermissionDenied, "USER_DISABLED");

    // Enabling restores access: the key works again and the person can log in.
    env.identity()
        .enable_user(as_user(
            &env.operator_token,
            pb::EnableUserRequest {
                user_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    env.authenticate(&key).await.unwrap();
    env.login("joe@example.com", PASSWORD).await;
}

#[tokio::test]
async fn nobody_disables_or_locks_themself() {
    let env = TestEnv::start().await;
    let disable = pb::DisableUserRequest {
        user_id: env.operator_id.clone(),
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .disable_user(as_user(&env.operator_token, disable))
            .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    let lock = pb::LockUserRequest {
        user_id: env.operator_id.clone(),
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .lock_user(as_user(&env.operator_token, lock))
            .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );

    // Non-operators may not change anyone's status, themselves included.
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    let disable_self = pb::DisableUserRequest {
        user_id: joe.user_id,
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .disable_user(as_user(&session, disable_self))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
}

#[tokio::test]
async fn an_administrator_lock_holds_until_unlocked_and_ends_sessions() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    let lock = pb::LockUserRequest {
        user_id: joe.user_id.clone(),
        reason: "left the company".into(),
        ..Default::default()
    };
    let locked = env
        .identity()
        .lock_user(as_user(&env.operator_token, lock))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(locked.status, pb::UserStatus::Locked as i32);
    assert!(locked.lock_expire_time.is_none());
    assert_refused(
        env.authenticate(&session).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );

    env.clock.advance(chrono::Duration::days(30));
    let login = env.try_login("joe@example.com", PASSWORD).await;
    assert_refused(login, Code::PermissionDenied, "USER_LOCKED");
    let enable = pb::EnableUserRequest {
        user_id: joe.user_id.clone(),
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .enable_user(as_user(&env.operator_token, enable))
            .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );

    let unlock = pb::UnlockUserRequest {
        user_id: joe.user_id.clone(),
        ..Default::default()
    };
    let unlocked = env
        .identity()
        .unlock_user(as_user(&env.operator_token, unlock))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(unlocked.status, pb::UserStatus::Active as i32);
    env.login("joe@example.com", PASSWORD).await;

    let notices: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM identity.outbox WHERE template = 'account_locked'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(notices, 1, "the lock notice is queued for delivery");
}

#[tokio::test]
async fn a_timed_lock_ends_by_itself_and_its_owner_gets_back_in() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    let until = roster_kit::clock::to_timestamp(env.clock.now() + chrono::Duration::minutes(15));
    let lock = pb::LockUserRequest {
        user_id: joe.user_id.clone(),
        reason: "suspicious activity".into(),
        lock_expire_time: Some(until),
        ..Default::default()
    };
    env.identity()
        .lock_user(as_user(&env.operator_token, lock))
        .await
        .unwrap();
    let locked = assert_refused(
        env.try_login("joe@example.com", PASSWORD).await,
        Code::PermissionDenied,
        "USER_LOCKED",
    );
    // The refusal says when the lock ends by itself.
    let info = tonic_types::StatusExt::get_details_error_info(&locked).unwrap();
    assert!(info.metadata.contains_key("lock_expire_time"), "{info:?}");
    assert_refused(
        env.authenticate(&session).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );

    env.clock.advance(chrono::Duration::minutes(14));
    assert_refused(
        env.try_login("joe@example.com", PASSWORD).await,
        Code::PermissionDenied,
        "USER_LOCKED",
    );
    env.clock.advance(chrono::Duration::minutes(2));
    env.login("joe@example.com", PASSWORD).await;
    let user = env.get_user(&joe.user_id).await;
    assert_eq!(user.status, pb::UserStatus::Active as i32);
}

#[tokio::test]
async fn the_status_filter_reads_the_status_in_force() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let mary = env.create_user("mary@example.com", PASSWORD).await;
    let until = roster_kit::clock::to_timestamp(chrono::Utc::now() + chrono::Duration::minutes(10));
    let lock = pb::LockUserRequest {
        user_id: joe.user_id.clone(),
        lock_expire_time: Some(until),
        ..Default::default()
    };
    env.identity()
        .lock_user(as_user(&env.operator_token, lock))
        .await
        .unwrap();
    let disable = pb::DisableUserRequest {
        user_id: mary.user_id.clone(),
        ..Default::default()
    };
    env.identity()
        .disable_user(as_user(&env.operator_token, disable))
        .await
        .unwrap();

    let emails_with = |status: pb::UserStatus| {
        let mut client = env.identity();
        let request = as_user(
            &env.operator_token,
            pb::ListUsersRequest {
                status: status as i32,
                order_by: "email".into(),
                ..Default::default()
            },
        );
        async move {
            let users = client.list_users(request).await.unwrap().into_inner().users;
            users.into_iter().map(|u| u.email).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        emails_with(pb::UserStatus::Locked).await,
        ["joe@example.com"]
    );
    assert_eq!(
        emails_with(pb::UserStatus::Disabled).await,
        ["mary@example.com"]
    );
    assert_eq!(
        emails_with(pb::UserStatus::Active).await,
        ["operator@roster.test"]
    );

    env.clock.advance(chrono::Duration::minutes(11));
    assert!(emails_with(pb::UserStatus::Locked).await.is_empty());
    assert_eq!(
        emails_with(pb::UserStatus::Active).await,
        ["joe@example.com", "operator@roster.test"]
    );
}
