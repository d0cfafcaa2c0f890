use prost_types::FieldMask;
use roster_proto::identity as pb;
use roster_tests::{TestEnv, as_user, assert_refused, violated_fields};
use tonic::Code;

use super::PASSWORD;

#[tokio::test]
async fn operator_creates_and_reads_a_person() {
    let env = TestEnv::start().await;
    let user = env.create_user("  Joe.Smith@Example.com ", PASSWORD).await;
    assert_eq!(
        user.email, "joe.smith@example.com",
        "email is trimmed and lower-cased"
    );
    assert_eq!(user.kind, pb::UserKind::Human as i32);
    assert_eq!(user.status, pb::UserStatus::Active as i32);
    assert!(user.has_password);

    let read = env.get_user(&user.user_id).await;
    assert_eq!(read, user);

    let db = env.sql().await;
    let row = db
        .query_one(
            "SELECT email, display_name FROM identity.users WHERE user_id = $1::text::uuid",
            &[&user.user_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "joe.smith@example.com");
}

#[tokio::test]
async fn emails_are_unique_case_insensitively() {
    let env = TestEnv::start().await;
    env.create_user("mary@example.com", PASSWORD).await;
    let request = pb::CreateUserRequest {
        email: "MARY@example.com".into(),
        display_name: "Mary".into(),
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .create_user(as_user(&env.operator_token, request))
            .await,
        Code::AlreadyExists,
        "EMAIL_TAKEN",
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_every_field_named() {
    let env = TestEnv::start().await;
    let request = pb::CreateUserRequest {
        email: "not-an-email".into(),
        display_name: " ".into(),
        ..Default::default()
    };
    let status = env
        .identity()
        .create_user(as_user(&env.operator_token, request))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["email", "display_name"]);

    let weak = pb::CreateUserRequest {
        email: "a@example.com".into(),
        display_name: "A".into(),
        password: "short".into(),
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .create_user(as_user(&env.operator_token, weak))
            .await,
        Code::InvalidArgument,
        "WEAK_PASSWORD",
    );

    let bad_id = env
        .identity()
        .get_user(as_user(
            &env.operator_token,
            pb::GetUserRequest {
                user_id: "nope".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad_id), ["user_id"]);
    let missing = pb::GetUserRequest {
        user_id: uuid::Uuid::now_v7().to_string(),
    };
    assert_refused(
        env.identity()
            .get_user(as_user(&env.operator_token, missing))
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn a_retried_create_returns_the_first_answer() {
    let env = TestEnv::start().await;
    let request = pb::CreateUserRequest {
        email: "retry@example.com".into(),
        display_name: "Retry".into(),
        request_id: "create-retry-1".into(),
        ..Default::default()
    };
    let first = env
        .identity()
        .create_user(as_user(&env.operator_token, request.clone()))
        .await
        .unwrap()
        .into_inner();
    let second = env
        .identity()
        .create_user(as_user(&env.operator_token, request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, second);
    let count: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM identity.users WHERE email = 'retry@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}

#[tokio::test]
async fn users_read_and_update_themselves_but_nobody_else() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let mary = env.create_user("mary@example.com", PASSWORD).await;
    let token = env.login("joe@example.com", PASSWORD).await;

    let own = env
        .identity()
        .get_user(as_user(
            &token,
            pb::GetUserRequest {
                user_id: joe.user_id.clone(),
            },
        ))
        .await;
    assert!(own.is_ok());
    let other = env
        .identity()
        .get_user(as_user(
            &token,
            pb::GetUserRequest {
                user_id: mary.user_id.clone(),
            },
        ))
        .await;
    assert_refused(other, Code::PermissionDenied, "PERMISSION_DENIED");
    let list = env
        .identity()
        .list_users(as_user(&token, pb::ListUsersRequest::default()))
        .await;
    assert_refused(list, Code::PermissionDenied, "PERMISSION_DENIED");
    let create = pb::CreateUserRequest {
        email: "x@example.com".into(),
        display_name: "X".into(),
        ..Default::default()
    };
    assert_refused(
        env.identity().create_user(as_user(&token, create)).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let anonymous = env
        .identity()
        .get_user(pb::GetUserRequest {
            user_id: joe.user_id.clone(),
        })
        .await;
    assert_refused(anonymous, Code::Unauthenticated, "UNAUTHENTICATED");

    let update = |paths: &[&str]| pb::UpdateUserRequest {
        user: Some(pb::User {
            user_id: joe.user_id.clone(),
            display_name: "Joseph".into(),
            phone: "+1 555 0100".into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        ..Default::default()
    };
    // Only operators edit a user's name (or email); a user keeps their phone current.
    assert_refused(
        env.identity()
            .update_user(as_user(&token, update(&["display_name", "phone"])))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let change_email = pb::ChangeEmailRequest {
        user_id: joe.user_id.clone(),
        new_email: "joseph@example.com".into(),
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .change_email(as_user(&token, change_email))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let updated = env
        .identity()
        .update_user(as_user(&token, update(&["phone"])))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(
        (updated.display_name.as_str(), updated.phone.as_str()),
        ("joe", "+1 555 0100")
    );
    assert_ne!(updated.etag, joe.etag);
}

#[tokio::test]
async fn update_honours_the_mask_and_the_etag() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let update = |etag: &str, paths: &[&str]| pb::UpdateUserRequest {
        user: Some(pb::User {
            user_id: joe.user_id.clone(),
            display_name: "Renamed".into(),
            phone: "123".into(),
            etag: etag.into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        ..Default::default()
    };
    let renamed = env
        .identity()
        .update_user(as_user(
            &env.operator_token,
            update(&joe.etag, &["display_name"]),
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(renamed.display_name, "Renamed");
    assert_eq!(renamed.phone, "", "phone is not in the mask");

    let stale = env
        .identity()
        .update_user(as_user(&env.operator_token, update(&joe.etag, &["phone"])))
        .await;
    assert_refused(stale, Code::Aborted, "ETAG_MISMATCH");
    let email = env
        .identity()
        .update_user(as_user(&env.operator_token, update("", &["email"])))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&email), ["update_mask"]);
    let empty = env
        .identity()
        .update_user(as_user(&env.operator_token, update("", &[])))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn batch_get_returns_found_users_in_order_and_names_the_missing() {
    let env = TestEnv::start().await;
    let a = env.create_user("a@example.com", PASSWORD).await;
    let b = env.create_user("b@example.com", PASSWORD).await;
    let missing = uuid::Uuid::now_v7().to_string();
    let request = pb::BatchGetUsersRequest {
        user_ids: vec![b.user_id.clone(), missing.clone(), a.user_id.clone()],
    };
    let response = env
        .identity()
        .batch_get_users(as_user(&env.operator_token, request))
        .await
        .unwrap()
        .into_inner();
    let emails: Vec<_> = response.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["b@example.com", "a@example.com"]);
    assert_eq!(response.missing_user_ids, [missing]);
}

#[tokio::test]
async fn list_users_filters_searches_orders_and_pages() {
    let env = TestEnv::start().await;
    for name in ["dave", "carol", "bob", "alice", "erin"] {
        env.create_user(&format!("{name}@example.com"), PASSWORD)
            .await;
    }
    let service = pb::CreateServiceAccountRequest {
        display_name: "Connector".into(),
        ..Default::default()
    };
    env.identity()
        .create_service_account(as_user(&env.operator_token, service))
        .await
        .unwrap();
    let list = |request: pb::ListUsersRequest| {
        let mut client = env.identity();
        let token = env.operator_token.clone();
        async move {
            client
                .list_users(as_user(&token, request))
                .await
                .map(tonic::Response::into_inner)
        }
    };

    // Keyset paging by email, two at a time, visits every person once in order.
    let mut emails = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = list(pb::ListUsersRequest {
            page_size: 2,
            page_token: page_token.clone(),
            kind: pb::UserKind::Human as i32,
            order_by: "email".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        emails.extend(page.users.into_iter().map(|u| u.email));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        emails,
        [
            "alice@example.com",
            "bob@example.com",
            "carol@example.com",
            "dave@example.com",
            "erin@example.com",
            "operator@roster.test"
        ]
    );

    let descending = list(pb::ListUsersRequest {
        order_by: "display_name desc".into(),
        kind: pb::UserKind::Human as i32,
        page_size: 2,
        ..Default::default()
    })
    .await
    .unwrap();
    let names: Vec<_> = descending
        .users
        .iter()
        .map(|u| u.display_name.as_str())
        .collect();
    assert_eq!(names, ["Test Operator", "erin"]);

    let services = list(pb::ListUsersRequest {
        kind: pb::UserKind::Service as i32,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(services.users.len(), 1);
    assert_eq!(services.users[0].display_name, "Connector");

    let search = list(pb::ListUsersRequest {
        query: "AR".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let found: Vec<_> = search.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(
        found,
        ["carol@example.com"],
        "case-insensitive substring of email or name"
    );
    let wildcard = list(pb::ListUsersRequest {
        query: "%".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(
        wildcard.users.is_empty(),
        "LIKE wildcards in the search are literal"
    );

    let foreign = list(pb::ListUsersRequest {
        page_token: page_token.clone(),
        order_by: "create_time".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(violated_fields(&foreign.unwrap_err()), ["page_token"]);
    let bad_order = list(pb::ListUsersRequest {
        order_by: "password".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(violated_fields(&bad_order.unwrap_err()), ["order_by"]);
}

#[tokio::test]
async fn service_accounts_are_listed_apart_and_cannot_log_in() {
    let env = TestEnv::start().await;
    let request = pb::CreateServiceAccountRequest {
        display_name: "Billing connector".into(),
        description: "syncs invoices".into(),
        email: "billing-bot@example.com".into(),
        ..Default::default()
    };
    let account = env
        .identity()
        .create_service_account(as_user(&env.operator_token, request))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(account.kind, pb::UserKind::Service as i32);
    assert_eq!(account.description, "syncs invoices");
    assert!(!account.has_password);

    let login = env.try_login("billing-bot@example.com", PASSWORD).await;
    // Refused as an unknown email is (identity/credentials.rs checks the answers match).
    assert_refused(login, Code::Unauthenticated, "INVALID_CREDENTIALS");
    let temporary = pb::SetTemporaryPasswordRequest {
        user_id: account.user_id.clone(),
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .set_temporary_password(as_user(&env.operator_token, temporary))
            .await,
        Code::FailedPrecondition,
        "WRONG_USER_KIND",
    );

    // Its way in is an API key.
    let key = env.create_api_key(&account.user_id).await;
    let principal = env.authenticate(&key.secret).await.unwrap();
    assert_eq!(principal.user_id, account.user_id);
    assert_eq!(principal.kind, pb::UserKind::Service as i32);
}
