//! Removal, the restore window, restoring, purging now and the purge worker.
use roster_proto::membership as pb;
use roster_tests::{TestEnv, assert_refused};
use tonic::Code;

use super::{mask, sorted, to_micros};

#[tokio::test]
async fn a_removed_member_is_restored_with_their_roles_and_status_while_a_seat_is_free() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 3).await;
    let workspace_id = company.workspace_id();
    let ann = env.add_admin(&company, "ann@example.com").await;
    let builder = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Builder",
            &["flows.create"],
        )
        .await
        .unwrap();
    let joe = env.create_person("joe@example.com").await;
    env.add_member(
        &company,
        joe.id(),
        &[&company.member_role_id, &builder.role_id],
    )
    .await;
    let sue = env.add_plain_member(&company, "sue@example.com").await;
    env.suspend_member(&ann.session, workspace_id, sue.id())
        .await
        .unwrap();
    assert_eq!(env.seat_usage(workspace_id).await.used, 3);

    let removed = env
        .remove_member(&ann.session, workspace_id, joe.id(), ann.id())
        .await
        .unwrap();
    assert_eq!(removed.status, pb::MemberStatus::Removed as i32);
    assert_eq!(removed.transfer_to_user_id, ann.id());
    let remove_time = removed.remove_time.expect("remove_time");
    let purge_time = removed.purge_time.expect("purge_time");
    assert!(
        (purge_time.seconds - remove_time.seconds - 14 * 86_400).abs() <= 1,
        "purged 14 days after removal: {remove_time:?} {purge_time:?}"
    );
    assert_eq!(
        to_micros(&env.get_member(workspace_id, joe.id()).await),
        to_micros(&removed)
    );
    assert_eq!(
        env.seat_usage(workspace_id).await.used,
        2,
        "the seat is freed"
    );
    assert_refused(
        env.remove_member(&ann.session, workspace_id, joe.id(), "")
            .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    // Adding them again inside the window is refused with the reason.
    assert_refused(
        env.try_add_member(company.account_id(), &[workspace_id], joe.id(), &[])
            .await,
        Code::FailedPrecondition,
        "RECENTLY_REMOVED",
    );
    let check = env
        .check(joe.id(), workspace_id, "roster.members.read")
        .await;
    assert!(!check.allowed);
    assert_eq!(check.reason, pb::AccessReason::NotAMember as i32);

    // Someone takes the free seat: restoring needs a seat.
    let newcomer = env.create_plain_user("new@example.com", "New").await;
    env.add_member(&company, &newcomer.user_id, &[]).await;
    assert_refused(
        env.restore_member(&ann.session, workspace_id, joe.id())
            .await,
        Code::ResourceExhausted,
        "SEAT_LIMIT_REACHED",
    );
    assert_eq!(
        env.get_member(workspace_id, joe.id()).await.status,
        pb::MemberStatus::Removed as i32
    );

    // Sue leaves (suspended): now Joe comes back, active, with both roles.
    env.remove_member(&ann.session, workspace_id, sue.id(), "")
        .await
        .unwrap();
    let restored = env
        .restore_member(&ann.session, workspace_id, joe.id())
        .await
        .unwrap();
    assert_eq!(restored.status, pb::MemberStatus::Active as i32);
    assert_eq!(
        sorted(&restored.role_ids),
        sorted(&[&company.member_role_id, &builder.role_id])
    );
    assert!(restored.remove_time.is_none() && restored.purge_time.is_none());
    assert_eq!(
        to_micros(&restored).join_time,
        to_micros(&removed).join_time
    );
    assert_eq!(
        to_micros(&env.get_member(workspace_id, joe.id()).await),
        to_micros(&restored)
    );
    assert_eq!(env.seat_usage(workspace_id).await.used, 3);
    let check = env.check(joe.id(), workspace_id, "flows.create").await;
    assert_eq!(check.reason, pb::AccessReason::GrantedByRole as i32);
    assert_refused(
        env.restore_member(&ann.session, workspace_id, joe.id())
            .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );

    // Sue comes back suspended, as she left, once the operator adds a seat.
    assert_refused(
        env.restore_member(&ann.session, workspace_id, sue.id())
            .await,
        Code::ResourceExhausted,
        "SEAT_LIMIT_REACHED",
    );
    env.membership()
        .update_workspace(roster_tests::as_user(
            &env.operator_token,
            pb::UpdateWorkspaceRequest {
                workspace: Some(pb::Workspace {
                    workspace_id: workspace_id.into(),
                    seat_limit: 4,
                    ..Default::default()
                }),
                update_mask: mask(&["seat_limit"]),
                request_id: roster_tests::membership::request_id(),
            },
        ))
        .await
        .unwrap();
    let sue_back = env
        .restore_member(&ann.session, workspace_id, sue.id())
        .await
        .unwrap();
    assert_eq!(sue_back.status, pb::MemberStatus::Suspended as i32);
    assert_eq!(sue_back.role_ids, [company.member_role_id.as_str()]);
    assert_eq!(env.seat_usage(workspace_id).await.used, 4);
}

#[tokio::test]
async fn the_transfer_target_must_be_an_active_member_and_needs_assets_transfer() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    let ann = env.add_admin(&company, "ann@example.com").await;
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let sue = env.add_plain_member(&company, "sue@example.com").await;
    env.suspend_member(&ann.session, workspace_id, sue.id())
        .await
        .unwrap();
    let stranger = env.create_plain_user("stranger@example.com", "S").await;

    for target in [sue.id(), stranger.user_id.as_str(), "not-a-uuid"] {
        let status = env
            .remove_member(&ann.session, workspace_id, joe.id(), target)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{target}: {status:?}");
    }
    assert_eq!(
        env.get_member(workspace_id, joe.id()).await.status,
        pb::MemberStatus::Active as i32
    );

    // roster.members.manage removes; naming a transfer target also needs
    // roster.assets.transfer.
    let manager = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Manager",
            &["roster.members.manage", "roster.members.read"],
        )
        .await
        .unwrap();
    let max = env.create_person("max@example.com").await;
    env.add_member(&company, max.id(), &[&manager.role_id])
        .await;
    assert_refused(
        env.remove_member(&max.session, workspace_id, joe.id(), ann.id())
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let removed = env
        .remove_member(&max.session, workspace_id, joe.id(), "")
        .await
        .unwrap();
    assert!(removed.transfer_to_user_id.is_empty());
    env.restore_member(&max.session, workspace_id, joe.id())
        .await
        .unwrap();

    let mover = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Mover",
            &["roster.members.manage", "roster.assets.transfer"],
        )
        .await
        .unwrap();
    env.update_member_roles(&ann.session, workspace_id, max.id(), &[&mover.role_id])
        .await
        .unwrap();
    let removed = env
        .remove_member(&max.session, workspace_id, joe.id(), ann.id())
        .await
        .unwrap();
    assert_eq!(removed.transfer_to_user_id, ann.id());
    assert_eq!(
        env.get_member(workspace_id, joe.id())
            .await
            .transfer_to_user_id,
        ann.id()
    );
}

#[tokio::test]
async fn purging_now_lets_the_same_person_join_afresh() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    let ann = env.add_admin(&company, "ann@example.com").await;
    let builder = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Builder",
            &["flows.create"],
        )
        .await
        .unwrap();
    let joe = env.create_plain_user("joe@example.com", "Joe").await;
    env.add_member(&company, &joe.user_id, &[&builder.role_id])
        .await;

    assert_refused(
        env.purge_member(&ann.session, workspace_id, &joe.user_id)
            .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    let stranger = env.create_plain_user("stranger@example.com", "S").await;
    assert_refused(
        env.purge_member(&ann.session, workspace_id, &stranger.user_id)
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );

    env.remove_member(&ann.session, workspace_id, &joe.user_id, "")
        .await
        .unwrap();
    env.purge_member(&ann.session, workspace_id, &joe.user_id)
        .await
        .unwrap();
    assert_refused(
        env.try_get_member(workspace_id, &joe.user_id).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_refused(
        env.restore_member(&ann.session, workspace_id, &joe.user_id)
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );

    // A fresh start: the default role, not the old ones.
    let again = env.add_member(&company, &joe.user_id, &[]).await;
    assert_eq!(again.status, pb::MemberStatus::Active as i32);
    assert_eq!(again.role_ids, [company.member_role_id.as_str()]);
    assert_eq!(env.seat_usage(workspace_id).await.used, 2);
}

#[tokio::test]
async fn the_purge_worker_finishes_removals_after_the_window() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    let joe = env.create_plain_user("joe@example.com", "Joe").await;
    let mary = env.create_plain_user("mary@example.com", "Mary").await;
    let stays = env.create_plain_user("stays@example.com", "Stays").await;
    for user in [&joe, &mary, &stays] {
        env.add_member(&company, &user.user_id, &[]).await;
    }
    let operator = env.operator_token.clone();
    env.remove_member(&operator, workspace_id, &joe.user_id, "")
        .await
        .unwrap();

    // Still restorable just inside the window, and not purged meanwhile.
    env.clock.advance(chrono::Duration::days(13));
    env.remove_member(&operator, workspace_id, &mary.user_id, "")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        env.get_member(workspace_id, &joe.user_id).await.status,
        pb::MemberStatus::Removed as i32
    );

    // Past Joe's window (but not Mary's): the worker purges Joe only.
    env.clock.advance(chrono::Duration::days(2));
    env.wait_until_purged(workspace_id, &joe.user_id).await;
    assert_eq!(
        env.get_member(workspace_id, &mary.user_id).await.status,
        pb::MemberStatus::Removed as i32
    );
    assert_eq!(
        env.get_member(workspace_id, &stays.user_id).await.status,
        pb::MemberStatus::Active as i32
    );
    // Joe may join afresh; Mary is still only restorable.
    env.add_member(&company, &joe.user_id, &[]).await;
    assert_refused(
        env.try_add_member(company.account_id(), &[workspace_id], &mary.user_id, &[])
            .await,
        Code::FailedPrecondition,
        "RECENTLY_REMOVED",
    );

    env.clock.advance(chrono::Duration::days(15));
    env.wait_until_purged(workspace_id, &mary.user_id).await;
    let left: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM membership.members \
              WHERE workspace_id = $1::text::uuid AND status = 'removed'",
            &[&workspace_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "no removed member is left behind");
    assert_eq!(env.seat_usage(workspace_id).await.used, 2);
}

#[tokio::test]
async fn after_the_window_a_member_can_only_be_purged() {
    // The removal worker waits an hour here, so a member whose window has ended stays
    // until purged by hand.
    let env = TestEnv::start_with(|options| {
        options.membership.removal_poll = std::time::Duration::from_secs(3600);
    })
    .await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    // Sessions do not last two weeks; the operator's API key does.
    let ann = env.operator_token.clone();
    let joe = env.create_plain_user("joe@example.com", "Joe").await;
    let mary = env.create_plain_user("mary@example.com", "Mary").await;
    for user in [&joe, &mary] {
        env.add_member(&company, &user.user_id, &[]).await;
        env.remove_member(&ann, workspace_id, &user.user_id, "")
            .await
            .unwrap();
    }

    // A minute before the window ends, Mary is restored.
    env.clock
        .advance(chrono::Duration::days(14) - chrono::Duration::minutes(1));
    let mary_back = env
        .restore_member(&ann, workspace_id, &mary.user_id)
        .await
        .unwrap();
    assert_eq!(mary_back.status, pb::MemberStatus::Active as i32);

    // Two minutes later Joe's window has ended.
    env.clock.advance(chrono::Duration::minutes(2));
    assert_refused(
        env.restore_member(&ann, workspace_id, &joe.user_id).await,
        Code::FailedPrecondition,
        "RESTORE_WINDOW_ENDED",
    );
    let joe_now = env.get_member(workspace_id, &joe.user_id).await;
    assert_eq!(joe_now.status, pb::MemberStatus::Removed as i32);
    assert_eq!(
        env.seat_usage(workspace_id).await.used,
        1,
        "only Mary holds a seat"
    );

    env.purge_member(&ann, workspace_id, &joe.user_id)
        .await
        .unwrap();
    assert_refused(
        env.try_get_member(workspace_id, &joe.user_id).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    let again = env.add_member(&company, &joe.user_id, &[]).await;
    assert_eq!(again.status, pb::MemberStatus::Active as i32);
    let events = env
        .membership_audit(company.account_id(), &joe.user_id)
        .await;
    assert!(
        events.iter().any(|e| e.action.contains("purge")),
        "the purge is audited: {events:?}"
    );
}
