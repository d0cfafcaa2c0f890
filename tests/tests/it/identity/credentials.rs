use roster_proto::identity as pb;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

use super::PASSWORD;

#[tokio::test]
async fn login_opens_a_session_that_authenticates_until_logout() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let response = env.try_login("JOE@example.com ", PASSWORD).await.unwrap();
    assert!(response.session_token.starts_with("rss_"));
    assert!(response.expire_time.is_some());
    assert!(!response.password_change_required);

    let principal = env.authenticate(&response.session_token).await.unwrap();
    assert_eq!(principal.user_id, joe.user_id);
    assert_eq!(principal.email, "joe@example.com");
    assert_eq!(principal.kind, pb::UserKind::Human as i32);
    assert_eq!(principal.platform_role, pb::PlatformRole::User as i32);
    assert!(!principal.session_id.is_empty());

    env.identity()
        .logout(as_user(
            &response.session_token,
            pb::LogoutRequest {
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_refused(
        env.authenticate(&response.session_token).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn login_failures_do_not_tell_whether_the_email_exists() {
    let env = TestEnv::start().await;
    env.create_user("joe@example.com", PASSWORD).await;
    let wrong_password = env.try_login("joe@example.com", "not the password").await;
    let unknown_email = env
        .try_login("nobody@example.com", "not the password")
        .await;
    let a = assert_refused(wrong_password, Code::Unauthenticated, "INVALID_CREDENTIALS");
    let b = assert_refused(unknown_email, Code::Unauthenticated, "INVALID_CREDENTIALS");
    assert_eq!(a.message(), b.message());
}

#[tokio::test]
async fn sessions_expire() {
    let env = TestEnv::start().await;
    env.create_user("joe@example.com", PASSWORD).await;
    let token = env.login("joe@example.com", PASSWORD).await;
    env.clock
        .advance(chrono::Duration::hours(12) + chrono::Duration::seconds(1));
    assert_refused(
        env.authenticate(&token).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_unauthenticated() {
    let env = TestEnv::start().await;
    for token in ["rss_doesnotexist", "rak_doesnotexist", "garbage"] {
        assert_refused(
            env.authenticate(token).await,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
        );
    }
    let missing = env
        .identity()
        .authenticate(pb::AuthenticateRequest::default())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
    let mut request = tonic::Request::new(pb::GetUserRequest {
        user_id: env.operator_id.clone(),
    });
    request
        .metadata_mut()
        .insert("authorization", "Basic abc".parse().unwrap());
    assert_refused(
        env.identity().get_user(request).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn revoke_sessions_ends_every_session_of_a_user() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let first = env.login("joe@example.com", PASSWORD).await;
    let second = env.login("joe@example.com", PASSWORD).await;
    let response = env
        .identity()
        .revoke_sessions(as_user(
            &env.operator_token,
            pb::RevokeSessionsRequest {
                user_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.revoked_count, 2);
    for token in [first, second] {
        assert_refused(
            env.authenticate(&token).await,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
        );
    }
}

#[tokio::test]
async fn api_keys_are_shown_once_listed_without_secret_and_revocable() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    let create =
        |name: &str, expire_time: Option<prost_types::Timestamp>| pb::CreateApiKeyRequest {
            user_id: joe.user_id.clone(),
            display_name: name.into(),
            expire_time,
            ..Default::default()
        };
    // A user may create keys for themself.
    let created = env
        .identity()
        .create_api_key(as_user(&session, create("laptop", None)))
        .await
        .unwrap()
        .into_inner();
    assert!(created.secret.starts_with("rak_"));
    let key = created.api_key.unwrap();
    assert!(created.secret.starts_with(&key.secret_prefix));
    let principal = env.authenticate(&created.secret).await.unwrap();
    assert_eq!(principal.api_key_id, key.api_key_id);
    assert!(principal.session_id.is_empty());

    let soon = roster_kit::clock::to_timestamp(chrono::Utc::now() + chrono::Duration::hours(1));
    let expiring = env
        .identity()
        .create_api_key(as_user(&session, create("ci", Some(soon))))
        .await
        .unwrap()
        .into_inner();
    let past = roster_kit::clock::to_timestamp(chrono::Utc::now() - chrono::Duration::hours(1));
    let refused = env
        .identity()
        .create_api_key(as_user(&session, create("old", Some(past))))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);

    let listed = env
        .identity()
        .list_api_keys(as_user(
            &session,
            pb::ListApiKeysRequest {
                user_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = listed
        .api_keys
        .iter()
        .map(|k| k.display_name.as_str())
        .collect();
    assert_eq!(names, ["ci", "laptop"], "newest first");

    // Expiry is enforced, and an expired key leaves the default list.
    env.clock.advance(chrono::Duration::hours(2));
    assert_refused(
        env.authenticate(&expiring.secret).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );

    let revoked = env
        .identity()
        .revoke_api_key(as_user(
            &session,
            pb::RevokeApiKeyRequest {
                api_key_id: key.api_key_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .api_key
        .unwrap();
    assert!(revoked.revoke_time.is_some());
    assert_refused(
        env.authenticate(&created.secret).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    let session = env.login("joe@example.com", PASSWORD).await;
    let live = env
        .identity()
        .list_api_keys(as_user(
            &session,
            pb::ListApiKeysRequest {
                user_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(live.api_keys.is_empty());
    let all = env
        .identity()
        .list_api_keys(as_user(
            &session,
            pb::ListApiKeysRequest {
                user_id: joe.user_id.clone(),
                show_all: true,
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.api_keys.len(), 1);
    assert!(!all.next_page_token.is_empty());
}

#[tokio::test]
async fn api_key_secrets_are_never_shown_twice() {
    let env = TestEnv::start().await;
    let request = pb::CreateApiKeyRequest {
        user_id: env.operator_id.clone(),
        request_id: "key-1".into(),
        ..Default::default()
    };
    env.identity()
        .create_api_key(as_user(&env.operator_token, request.clone()))
        .await
        .unwrap();
    let replay = env
        .identity()
        .create_api_key(as_user(&env.operator_token, request))
        .await;
    assert_refused(replay, Code::AlreadyExists, "REQUEST_ALREADY_PROCESSED");
}

#[tokio::test]
async fn other_users_keys_read_as_missing() {
    let env = TestEnv::start().await;
    env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    let operator_key = env.create_api_key(&env.operator_id).await.api_key.unwrap();
    let revoke = pb::RevokeApiKeyRequest {
        api_key_id: operator_key.api_key_id,
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .revoke_api_key(as_user(&session, revoke))
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn no_token_key_or_password_is_stored_in_plain_text() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    let key = env.create_api_key(&joe.user_id).await.secret;
    env.identity()
        .request_password_reset(pb::RequestPasswordResetRequest {
            email: "joe@example.com".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let db = env.sql().await;
    // Every credential table, as text: no secret appears anywhere in it.
    let mut dump = String::new();
    for table in [
        "users",
        "sessions",
        "api_keys",
        "one_time_tokens",
        "audit_events",
        "request_log",
    ] {
        for row in db
            .query(&format!("SELECT t::text FROM identity.{table} t"), &[])
            .await
            .unwrap()
        {
            dump.push_str(row.get::<_, &str>(0));
        }
    }
    for secret in [PASSWORD, session.as_str(), key.as_str()] {
        assert!(!dump.contains(secret), "a secret is stored in plain text");
    }
    let hash: String = db
        .query_one(
            "SELECT password_hash FROM identity.users WHERE email = 'joe@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let token_hash: Vec<u8> = db
        .query_one("SELECT token_hash FROM identity.sessions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(token_hash, roster_kit::token::hash(&session));
    let reset_token = env
        .emailed_token("identity", "password_reset", "joe@example.com")
        .await;
    let stored: i64 = db
        .query_one(
            "SELECT count(*) FROM identity.one_time_tokens WHERE token_hash = $1",
            &[&roster_kit::token::hash(&reset_token)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stored, 1,
        "the reset token is stored as its hash; only the outbox carries the link until relayed"
    );
}
