//! The last-admin and self-action rules, including the race between two admins.
use roster_proto::membership as pb;
use roster_tests::{TestEnv, as_user, assert_refused, reason};
use tonic::Code;

use super::sorted;

/// The members of a workspace holding the built-in admin role, active or not.
async fn admins_of(env: &TestEnv, workspace_id: &str, admin_role_id: &str) -> Vec<pb::Member> {
    env.list_all_members(
        &env.operator_token,
        pb::ListMembersRequest {
            workspace_id: workspace_id.into(),
            role_id: admin_role_id.into(),
            ..Default::default()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_demoting_each_other_at_once_leave_exactly_one() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    // Both also hold a role granting roster.members.manage, so whichever request runs
    // second is still authorized and only the last-admin rule can refuse it.
    let manager = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Manager",
            &["roster.members.manage", "roster.members.read"],
        )
        .await
        .unwrap();
    let ann = env.create_person("ann@example.com").await;
    let bob = env.create_person("bob@example.com").await;

    for round in 0..5 {
        let workspace = env
            .create_workspace(company.account_id(), &format!("Round {round}"), 0)
            .await;
        let workspace_id = workspace.workspace_id.clone();
        for person in [&ann, &bob] {
            env.try_add_member(
                company.account_id(),
                &[&workspace_id],
                person.id(),
                &[&company.admin_role_id, &manager.role_id],
            )
            .await
            .unwrap();
        }
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let demote = |actor: &roster_tests::membership::Person,
                      target: &roster_tests::membership::Person| {
            let mut client = env.membership();
            let barrier = barrier.clone();
            let request = as_user(
                &actor.session,
                pb::UpdateMemberRolesRequest {
                    workspace_id: workspace_id.clone(),
                    user_id: target.id().into(),
                    role_ids: vec![manager.role_id.clone()],
                    request_id: roster_tests::membership::request_id(),
                },
            );
            tokio::spawn(async move {
                barrier.wait().await;
                client.update_member_roles(request).await
            })
        };
        let ann_demotes_bob = demote(&ann, &bob);
        let bob_demotes_ann = demote(&bob, &ann);
        let outcomes = [
            ann_demotes_bob.await.unwrap(),
            bob_demotes_ann.await.unwrap(),
        ];
        let succeeded: Vec<_> = outcomes.iter().map(Result::is_ok).collect();
        assert_eq!(
            succeeded.iter().filter(|ok| **ok).count(),
            1,
            "round {round}: {outcomes:?}"
        );
        for outcome in &outcomes {
            if let Err(status) = outcome {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                assert_eq!(reason(status), "LAST_ADMIN", "{status:?}");
            }
        }
        // The winner is the one admin left.
        let winner = if succeeded[0] { &ann } else { &bob };
        let admins = admins_of(&env, &workspace_id, &company.admin_role_id).await;
        let ids: Vec<_> = admins.iter().map(|m| m.user_id.as_str()).collect();
        assert_eq!(ids, [winner.id()], "round {round}");
        assert_eq!(admins[0].status, pb::MemberStatus::Active as i32);
        let stored: i64 = env
            .sql()
            .await
            .query_one(
                "SELECT count(*) FROM membership.members \
                  WHERE workspace_id = $1::text::uuid AND status = 'active' \
                    AND $2::text::uuid = ANY(role_ids)",
                &[&workspace_id, &company.admin_role_id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(stored, 1, "round {round}: active admins stored");
    }
}

#[tokio::test]
async fn nobody_suspends_removes_or_changes_the_roles_of_themself() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let ann = env.add_admin(&company, "ann@example.com").await;
    let bob = env.add_admin(&company, "bob@example.com").await;
    let workspace_id = company.workspace_id();

    assert_refused(
        env.suspend_member(&ann.session, workspace_id, ann.id())
            .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    assert_refused(
        env.remove_member(&ann.session, workspace_id, ann.id(), bob.id())
            .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    assert_refused(
        env.update_member_roles(
            &ann.session,
            workspace_id,
            ann.id(),
            &[&company.member_role_id],
        )
        .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    // Even a change that keeps admin is a change of one's own roles.
    let builder = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Builder",
            &["flows.create"],
        )
        .await
        .unwrap();
    assert_refused(
        env.update_member_roles(
            &ann.session,
            workspace_id,
            ann.id(),
            &[&company.admin_role_id, &builder.role_id],
        )
        .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    let ann_now = env.get_member(workspace_id, ann.id()).await;
    assert_eq!(ann_now.status, pb::MemberStatus::Active as i32);
    assert_eq!(ann_now.role_ids, [company.admin_role_id.as_str()]);

    // Operators too, when they are members themselves.
    env.add_member(&company, &env.operator_id, &[&company.admin_role_id])
        .await;
    let operator = env.operator_token.clone();
    assert_refused(
        env.suspend_member(&operator, workspace_id, &env.operator_id)
            .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    assert_refused(
        env.remove_member(&operator, workspace_id, &env.operator_id, "")
            .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    assert_refused(
        env.update_member_roles(
            &operator,
            workspace_id,
            &env.operator_id,
            &[&company.member_role_id],
        )
        .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );

    // Acting on someone else is fine.
    env.suspend_member(&ann.session, workspace_id, bob.id())
        .await
        .unwrap();
    assert_eq!(
        env.get_member(workspace_id, &env.operator_id).await.status,
        pb::MemberStatus::Active as i32
    );
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_suspended_or_removed() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let operator = env.operator_token.clone();
    let ann = env.add_admin(&company, "ann@example.com").await;
    env.add_plain_member(&company, "joe@example.com").await;
    let workspace_id = company.workspace_id();

    assert_refused(
        env.update_member_roles(
            &operator,
            workspace_id,
            ann.id(),
            &[&company.member_role_id],
        )
        .await,
        Code::FailedPrecondition,
        "LAST_ADMIN",
    );
    assert_refused(
        env.suspend_member(&operator, workspace_id, ann.id()).await,
        Code::FailedPrecondition,
        "LAST_ADMIN",
    );
    assert_refused(
        env.remove_member(&operator, workspace_id, ann.id(), "")
            .await,
        Code::FailedPrecondition,
        "LAST_ADMIN",
    );
    let ann_now = env.get_member(workspace_id, ann.id()).await;
    assert_eq!(ann_now.status, pb::MemberStatus::Active as i32);
    assert_eq!(ann_now.role_ids, [company.admin_role_id.as_str()]);

    // A suspended admin does not count: with Bob suspended, Ann is still the last.
    let bob = env.add_admin(&company, "bob@example.com").await;
    env.suspend_member(&operator, workspace_id, bob.id())
        .await
        .unwrap();
    assert_refused(
        env.update_member_roles(
            &operator,
            workspace_id,
            ann.id(),
            &[&company.member_role_id],
        )
        .await,
        Code::FailedPrecondition,
        "LAST_ADMIN",
    );
    assert_refused(
        env.remove_member(&operator, workspace_id, ann.id(), "")
            .await,
        Code::FailedPrecondition,
        "LAST_ADMIN",
    );

    // With Bob back, Ann may go; then Bob is the last.
    env.resume_member(&ann.session, workspace_id, bob.id())
        .await
        .unwrap();
    let demoted = env
        .update_member_roles(
            &bob.session,
            workspace_id,
            ann.id(),
            &[&company.member_role_id],
        )
        .await
        .unwrap();
    assert_eq!(demoted.role_ids, [company.member_role_id.as_str()]);
    for refused in [
        env.suspend_member(&operator, workspace_id, bob.id()).await,
        env.remove_member(&operator, workspace_id, bob.id(), "")
            .await,
    ] {
        assert_refused(refused, Code::FailedPrecondition, "LAST_ADMIN");
    }
    let admins = admins_of(&env, workspace_id, &company.admin_role_id).await;
    let ids: Vec<_> = admins.iter().map(|m| m.user_id.as_str()).collect();
    assert_eq!(ids, [bob.id()]);
    assert_eq!(
        sorted(&admins[0].role_ids),
        sorted(&[&company.admin_role_id])
    );
}

#[tokio::test]
async fn a_plain_member_manages_nobody() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let mary = env.add_plain_member(&company, "mary@example.com").await;
    let removed = env.add_plain_member(&company, "gone@example.com").await;
    let workspace_id = company.workspace_id();
    env.remove_member(&env.operator_token, workspace_id, removed.id(), "")
        .await
        .unwrap();

    let session = joe.session.clone();
    assert_refused(
        env.update_member_roles(&session, workspace_id, mary.id(), &[&company.admin_role_id])
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_refused(
        env.suspend_member(&session, workspace_id, mary.id()).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_refused(
        env.remove_member(&session, workspace_id, mary.id(), "")
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_refused(
        env.restore_member(&session, workspace_id, removed.id())
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_refused(
        env.purge_member(&session, workspace_id, removed.id()).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    // Nor may they promote themself (whichever rule refuses it first).
    let promote = env
        .update_member_roles(&session, workspace_id, joe.id(), &[&company.admin_role_id])
        .await
        .unwrap_err();
    assert!(
        matches!(
            (promote.code(), reason(&promote).as_str()),
            (Code::PermissionDenied, "PERMISSION_DENIED")
                | (Code::FailedPrecondition, "SELF_ACTION_FORBIDDEN")
        ),
        "{promote:?}"
    );
    assert_eq!(
        env.get_member(workspace_id, joe.id()).await.role_ids,
        [company.member_role_id.as_str()]
    );
    let mary_now = env.get_member(workspace_id, mary.id()).await;
    assert_eq!(mary_now.status, pb::MemberStatus::Active as i32);
    assert_eq!(mary_now.role_ids, [company.member_role_id.as_str()]);
    assert_eq!(
        env.get_member(workspace_id, removed.id()).await.status,
        pb::MemberStatus::Removed as i32
    );

    // Unauthenticated calls are refused before anything else.
    let anonymous = env
        .membership()
        .suspend_member(pb::SuspendMemberRequest {
            workspace_id: workspace_id.into(),
            user_id: mary.id().into(),
            ..Default::default()
        })
        .await;
    assert_refused(anonymous, Code::Unauthenticated, "UNAUTHENTICATED");
}
