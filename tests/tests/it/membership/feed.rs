//! Identity's user feed into membership: no row can stall it, and a follower that cannot
//! apply it makes access checks refuse to allow rather than trust a stale copy.
use std::time::{Duration, Instant};

use prost::Message as _;
use prost_types::FieldMask;
use roster_proto::identity as id;
use roster_proto::membership as pb;
use roster_tests::membership::eventually;
use roster_tests::{TestEnv, as_user, reason, violated_fields};
use tonic::Code;

fn update_user(user: id::User, paths: &[&str]) -> id::UpdateUserRequest {
    id::UpdateUserRequest {
        user: Some(user),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        ..Default::default()
    }
}

async fn disable(env: &TestEnv, user_id: &str) {
    env.identity()
        .disable_user(as_user(
            &env.operator_token,
            id::DisableUserRequest {
                user_id: user_id.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("disable");
}

#[tokio::test]
async fn the_largest_rows_leave_the_feed_flowing_and_a_disable_right_after_is_seen() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    let joe = env.add_plain_member(&company, "joe@example.com").await;

    // A person cannot give themself a phone that would swamp the feed.
    let phone = |phone: String| id::User {
        user_id: joe.id().to_owned(),
        phone,
        ..Default::default()
    };
    let huge = env
        .identity()
        .update_user(as_user(
            &joe.session,
            update_user(phone("1".repeat(4 << 20)), &["phone"]),
        ))
        .await
        .expect_err("a 4 MB phone");
    assert_eq!(huge.code(), Code::ResourceExhausted, "{huge:?}");
    let long = env
        .identity()
        .update_user(as_user(
            &joe.session,
            update_user(phone("1".repeat(33)), &["phone"]),
        ))
        .await
        .expect_err("a 33-character phone");
    assert_eq!(long.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&long), ["user.phone"]);

    // The largest rows allowed, 4-byte characters throughout: over 1 MiB of changes.
    let wide = |n: usize| "𝔘".repeat(n);
    for i in 0..140 {
        let user = env
            .create_plain_user(&format!("wide{i}@example.com"), &wide(200))
            .await;
        env.identity()
            .update_user(as_user(
                &env.operator_token,
                update_user(
                    id::User {
                        user_id: user.user_id,
                        phone: "+".repeat(32),
                        ..Default::default()
                    },
                    &["phone"],
                ),
            ))
            .await
            .expect("largest allowed phone");
        env.identity()
            .create_service_account(as_user(
                &env.operator_token,
                id::CreateServiceAccountRequest {
                    display_name: wide(200),
                    description: wide(2000),
                    email: format!("robot{i}@example.com"),
                    ..Default::default()
                },
            ))
            .await
            .expect("largest allowed service account");
    }
    // Feed pages stay within their byte bound however many rows are asked for.
    let page = env
        .identity()
        .list_user_changes(as_user(
            &env.operator_token,
            id::ListUserChangesRequest {
                after_sequence: 0,
                page_size: 1000,
            },
        ))
        .await
        .expect("feed page")
        .into_inner();
    assert!(
        page.encoded_len() <= (1 << 20) + 20_000,
        "{} bytes",
        page.encoded_len()
    );
    assert!(
        page.changes.len() < 280,
        "{} changes in one page",
        page.changes.len()
    );

    let started = Instant::now();
    disable(&env, joe.id()).await;
    eventually(Duration::from_secs(5), "the disable in checks", || async {
        let check = env
            .check(joe.id(), workspace_id, "roster.members.read")
            .await;
        (check.reason == pb::AccessReason::UserDisabled as i32).then_some(())
    })
    .await;
    eprintln!(
        "disable seen by CheckPermission after {:?} (feed poll 100 ms)",
        started.elapsed()
    );
}

#[tokio::test]
async fn checks_refuse_to_allow_while_the_feed_cannot_be_applied() {
    let env = TestEnv::start_with(|options| {
        options.membership.user_feed_max_lag = Duration::from_secs(1);
    })
    .await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let stranger = env
        .create_plain_user("stranger@example.com", "Stranger")
        .await;
    assert!(
        env.check(joe.id(), workspace_id, "roster.members.read")
            .await
            .allowed
    );

    // Membership's copy of users refuses every change: the follower is stuck.
    let sql = env.sql().await;
    sql.batch_execute(
        "CREATE FUNCTION membership.refuse() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'copy refused'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON membership.users
           FOR EACH ROW EXECUTE FUNCTION membership.refuse();",
    )
    .await
    .expect("trigger");
    disable(&env, joe.id()).await;

    let refusal = eventually(Duration::from_secs(5), "checks failing closed", || async {
        env.try_check(
            &env.operator_token,
            joe.id(),
            workspace_id,
            "roster.members.read",
        )
        .await
        .err()
    })
    .await;
    assert_eq!(refusal.code(), Code::Unavailable, "{refusal:?}");
    assert_eq!(reason(&refusal), "UNAVAILABLE");
    // What does not depend on identity is still answered.
    let check = env
        .check(&stranger.user_id, workspace_id, "roster.members.read")
        .await;
    assert_eq!(check.reason, pb::AccessReason::NotAMember as i32);

    sql.batch_execute("DROP TRIGGER refuse ON membership.users")
        .await
        .expect("drop trigger");
    eventually(
        Duration::from_secs(5),
        "the disable after catching up",
        || async {
            let check = env
                .try_check(
                    &env.operator_token,
                    joe.id(),
                    workspace_id,
                    "roster.members.read",
                )
                .await
                .ok()?;
            (check.reason == pb::AccessReason::UserDisabled as i32).then_some(())
        },
    )
    .await;
}
