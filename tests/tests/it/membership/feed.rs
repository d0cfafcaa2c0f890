//! Identity's user feed into membership: no row can stall it, and a replica that cannot
//! apply it answers access checks from identity rather than trust a stale copy.
use std::time::{Duration, Instant};

use prost::Message as _;
use prost_types::FieldMask;
use roster_proto::identity as id;
use roster_proto::membership as pb;
use roster_tests::membership::eventually;
use roster_tests::{TestEnv, as_user, violated_fields};
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
    let check = env
        .check(joe.id(), workspace_id, "roster.members.read")
        .await;
    assert_eq!(check.reason, pb::AccessReason::UserDisabled as i32);
    eprintln!("DisableUser answered after {:?}", started.elapsed());
}

#[tokio::test]
async fn checks_ask_identity_while_the_copy_of_users_cannot_be_applied() {
    let env = TestEnv::start().await;
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

    // Membership's copy of users refuses every change: pushes cannot be applied, so the
    // process holds no lease and the disable is answered once that lease ran out.
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
    let check = env
        .check(joe.id(), workspace_id, "roster.members.read")
        .await;
    assert_eq!(check.reason, pb::AccessReason::UserDisabled as i32);
    let stale: (String,) = {
        let row = sql
            .query_one(
                "SELECT status FROM membership.users WHERE user_id = $1::text::uuid",
                &[&joe.id()],
            )
            .await
            .expect("copy");
        (row.get(0),)
    };
    assert_eq!(stale.0, "active", "the copy is behind, the answer is not");
    // What does not depend on identity is still answered.
    let check = env
        .check(&stranger.user_id, workspace_id, "roster.members.read")
        .await;
    assert_eq!(check.reason, pb::AccessReason::NotAMember as i32);

    sql.batch_execute("DROP TRIGGER refuse ON membership.users")
        .await
        .expect("drop trigger");
    eventually(Duration::from_secs(5), "the copy catching up", || async {
        let row = sql
            .query_one(
                "SELECT status FROM membership.users WHERE user_id = $1::text::uuid",
                &[&joe.id()],
            )
            .await
            .ok()?;
        (row.get::<_, String>(0) == "disabled").then_some(())
    })
    .await;
    let check = env
        .check(joe.id(), workspace_id, "roster.members.read")
        .await;
    assert_eq!(check.reason, pb::AccessReason::UserDisabled as i32);
}
