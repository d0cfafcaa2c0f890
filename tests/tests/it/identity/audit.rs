use prost_types::FieldMask;
use roster_proto::identity as pb;
use roster_tests::{TestEnv, as_user, assert_refused, violated_fields};
use tonic::Code;

use super::PASSWORD;

fn rename(user_id: &str, name: &str) -> pb::UpdateUserRequest {
    pb::UpdateUserRequest {
        user: Some(pb::User {
            user_id: user_id.into(),
            display_name: name.into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["display_name".into()],
        }),
        request_id: String::new(),
    }
}

/// A user may change their own phone (not their name).
fn new_phone(user_id: &str, phone: &str) -> pb::UpdateUserRequest {
    pb::UpdateUserRequest {
        user: Some(pb::User {
            user_id: user_id.into(),
            phone: phone.into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["phone".into()],
        }),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn every_mutation_is_audited_with_actor_changes_and_request_id() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let mut update = rename(&joe.user_id, "Joseph");
    update.request_id = "rename-42".into();
    env.identity()
        .update_user(as_user(&env.operator_token, update))
        .await
        .unwrap();
    env.identity()
        .disable_user(as_user(
            &env.operator_token,
            pb::DisableUserRequest {
                user_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    let events = env
        .identity()
        .list_audit_events(as_user(
            &env.operator_token,
            pb::ListAuditEventsRequest {
                target_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .audit_events;
    let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "identity.user.disable",
            "identity.user.update",
            "identity.user.create"
        ],
        "newest first"
    );
    let update = &events[1];
    assert_eq!(update.actor_user_id, env.operator_id);
    assert_eq!(update.request_id, "rename-42");
    let changes = update.changes.as_ref().unwrap();
    let display_name = changes
        .fields
        .get("display_name")
        .expect("display_name changed");
    let prost_types::value::Kind::StructValue(change) = display_name.kind.as_ref().unwrap() else {
        panic!("a before/after struct")
    };
    let after = change.fields.get("after").and_then(|v| v.kind.clone());
    assert_eq!(
        after,
        Some(prost_types::value::Kind::StringValue("Joseph".into()))
    );
}

#[tokio::test]
async fn audit_events_filter_by_actor_and_time_and_page() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    let session = env.login("joe@example.com", PASSWORD).await;
    for phone in ["1", "2", "3"] {
        env.identity()
            .update_user(as_user(&session, new_phone(&joe.user_id, phone)))
            .await
            .unwrap();
    }
    let list = |request: pb::ListAuditEventsRequest| {
        let mut client = env.identity();
        let token = env.operator_token.clone();
        async move {
            client
                .list_audit_events(as_user(&token, request))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let by_joe = pb::ListAuditEventsRequest {
        actor_user_id: joe.user_id.clone(),
        page_size: 2,
        ..Default::default()
    };
    let first = list(by_joe.clone()).await.unwrap();
    assert_eq!(first.audit_events.len(), 2);
    let second = list(pb::ListAuditEventsRequest {
        page_token: first.next_page_token.clone(),
        ..by_joe.clone()
    })
    .await
    .unwrap();
    // Joe's login and three renames.
    assert_eq!(second.audit_events.len(), 2);
    assert!(second.next_page_token.is_empty());
    assert!(
        first
            .audit_events
            .iter()
            .chain(&second.audit_events)
            .all(|e| e.actor_user_id == joe.user_id)
    );

    let future = roster_kit::clock::to_timestamp(chrono::Utc::now() + chrono::Duration::hours(1));
    let none = list(pb::ListAuditEventsRequest {
        start_time: Some(future),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(none.audit_events.is_empty());
    let foreign = list(pb::ListAuditEventsRequest {
        page_token: first.next_page_token,
        ..Default::default()
    })
    .await;
    assert_eq!(violated_fields(&foreign.unwrap_err()), ["page_token"]);

    let denied = env
        .identity()
        .list_audit_events(as_user(&session, pb::ListAuditEventsRequest::default()))
        .await;
    assert_refused(denied, Code::PermissionDenied, "PERMISSION_DENIED");
}

#[tokio::test]
async fn the_change_feed_carries_profile_and_status_changes_in_order() {
    let env = TestEnv::start().await;
    let list = |after: i64| {
        let mut client = env.identity();
        let token = env.operator_token.clone();
        async move {
            client
                .list_user_changes(as_user(
                    &token,
                    pb::ListUserChangesRequest {
                        after_sequence: after,
                        page_size: 0,
                    },
                ))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let start = list(0).await;
    assert_eq!(start.changes.len(), 1, "the bootstrapped operator");
    let cursor = start.last_sequence;

    let joe = env.create_user("joe@example.com", PASSWORD).await;
    env.identity()
        .update_user(as_user(&env.operator_token, rename(&joe.user_id, "Joseph")))
        .await
        .unwrap();
    env.identity()
        .lock_user(as_user(
            &env.operator_token,
            pb::LockUserRequest {
                user_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let changes = list(cursor).await;
    // Compacted: Joe appears once, in his latest state.
    assert_eq!(changes.changes.len(), 1);
    let latest = changes.changes[0].user.as_ref().unwrap();
    assert_eq!(
        (latest.display_name.as_str(), latest.status),
        ("Joseph", pb::UserStatus::Locked as i32)
    );
    assert!(changes.last_sequence > cursor);
    assert_eq!(
        list(changes.last_sequence).await.last_sequence,
        changes.last_sequence,
        "nothing new"
    );
}

#[tokio::test]
async fn concurrent_changes_never_skip_a_feed_position() {
    let env = TestEnv::start().await;
    let creates = (0..20).map(|i| {
        let env = &env;
        async move { env.create_user(&format!("user{i}@example.com"), "").await }
    });
    let created = futures::future::join_all(creates).await;
    let changes = env
        .identity()
        .list_user_changes(as_user(
            &env.operator_token,
            pb::ListUserChangesRequest {
                after_sequence: 0,
                page_size: 1000,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert_eq!(changes.len(), created.len() + 1);
    let sequences: Vec<i64> = changes.iter().map(|c| c.sequence).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
}
