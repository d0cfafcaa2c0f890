//! The removal flows end to end, counted in the custodians' databases.
use std::time::Duration;

use roster_proto::membership as pb;
use roster_tests::membership::{eventually, request_id};
use roster_tests::{TestEnv, as_user, assert_refused, violated_fields};
use tonic::Code;

use super::{
    Team, all_steps, check_asset_access, list_assets, preview, removal, removal_when, remove, step,
    summaries, team,
};
use pb::{RemovalStepState as State, RemovalStepVerb as Verb};

#[tokio::test]
async fn a_removal_with_a_receiver_moves_every_asset_and_tells_both_admins() {
    let Team {
        env,
        company,
        ann,
        joe,
        mary,
    } = team().await;
    let (account, workspace) = (company.account_id(), company.workspace_id());
    let flows = env.start_custodian("flows", &["flow"], 7).await;
    let datasets = env.start_custodian("datasets", &["dataset"], 100).await;
    flows
        .seed(account, workspace, joe.id(), "flow", 30, true)
        .await;
    datasets
        .seed(account, workspace, joe.id(), "dataset", 12, true)
        .await;

    // The preview says what Joe holds before anything changes.
    let preview = preview(&env, &ann.session, workspace, joe.id(), mary.id()).await;
    let held: Vec<_> = preview
        .iter()
        .map(|c| {
            (
                c.custodian_name.as_str(),
                c.assets[0].kind.as_str(),
                c.assets[0].count,
                c.blockers.len(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [("datasets", "dataset", 12, 0), ("flows", "flow", 30, 0)]
    );

    let removed = remove(&env, &ann.session, workspace, joe.id(), mary.id())
        .await
        .unwrap();
    let started = removed.removal.expect("removal");
    assert_eq!(started.state, pb::RemovalState::Removed as i32);
    assert_eq!(started.receiver_user_id, mary.id());
    assert_eq!(started.removed_by_user_id, ann.id());
    assert_eq!(
        started.steps.len(),
        2,
        "one transfer per custodian: {started:?}"
    );

    let done = removal_when(&env, &started.removal_id, "both transfers", |r| {
        all_steps(r, Verb::Transfer, State::Succeeded)
    })
    .await;
    assert_eq!(flows.owned(workspace, joe.id()).await, 0);
    assert_eq!(flows.owned(workspace, mary.id()).await, 30);
    assert_eq!(datasets.owned(workspace, joe.id()).await, 0);
    assert_eq!(datasets.owned(workspace, mary.id()).await, 12);
    let moved = step(&done, &flows, Verb::Transfer);
    assert_eq!(
        (moved.done, moved.total, moved.completed[0].count),
        (30, 30, 30)
    );
    assert!(moved.attempts >= 5, "30 flows in batches of 7: {moved:?}");
    assert!(!done.needs_action);

    // Ann (who removed Joe) and Mary (who received) each get the summary.
    for recipient in ["ann@example.com", "mary@example.com"] {
        let text = eventually(Duration::from_secs(10), "the summary", || async {
            summaries(&env, recipient).await.pop()
        })
        .await;
        assert!(text.contains("- flows: succeeded; 30 flow.\n"), "{text}");
        assert!(
            text.contains("- datasets: succeeded; 12 dataset.\n"),
            "{text}"
        );
    }
    // Every step is audited.
    let steps: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM membership.audit_events
             WHERE action = 'membership.removal.step' AND target_id = $1",
            &[&started.removal_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(steps >= 2, "{steps} step events");
}

#[tokio::test]
async fn without_a_receiver_assets_stay_for_admins_until_the_window_ends_then_are_deleted() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let (account, workspace) = (company.account_id(), company.workspace_id());
    let ann = env.add_admin(&company, "ann@example.com").await;
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let sue = env.add_plain_member(&company, "sue@example.com").await;
    let flows = env
        .start_custodian("flows", &["flow", "dataset"], 100)
        .await;
    flows
        .seed(account, workspace, joe.id(), "flow", 5, true)
        .await;
    flows
        .seed(account, workspace, sue.id(), "dataset", 3, true)
        .await;

    // Suspended: Sue's datasets stay hers, but only an administrator may act on them.
    env.suspend_member(&ann.session, workspace, sue.id())
        .await
        .unwrap();
    assert_eq!(
        list_assets(&flows, &ann.session, workspace, sue.id())
            .await
            .unwrap()
            .len(),
        3
    );
    let refused = list_assets(&flows, &sue.session, workspace, sue.id()).await;
    assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied);
    let access = check_asset_access(&env, workspace, sue.id(), sue.id()).await;
    assert_eq!(
        (access.allowed, access.reason()),
        (false, pb::AssetAccessReason::OwnerSuspended)
    );

    // Removed without a receiver: nothing moves; administrators may act, Joe may not.
    let removed = remove(&env, &ann.session, workspace, joe.id(), "")
        .await
        .unwrap();
    let removal_id = removed.removal.expect("removal").removal_id;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(flows.owned(workspace, joe.id()).await, 5);
    assert_eq!(flows.calls(), 0, "nothing to transfer");
    assert_eq!(
        list_assets(&flows, &ann.session, workspace, joe.id())
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        list_assets(&flows, &joe.session, workspace, joe.id())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let access = check_asset_access(&env, workspace, joe.id(), ann.id()).await;
    assert_eq!(
        (access.allowed, access.reason()),
        (true, pb::AssetAccessReason::AdministratorOfRemovedOwner)
    );
    let access = check_asset_access(&env, workspace, joe.id(), sue.id()).await;
    assert!(!access.allowed, "a suspended member administers nothing");

    // The window ends: the purge deletes Joe's assets, then Joe.
    env.clock.advance(chrono::Duration::days(15));
    let purged = removal_when(&env, &removal_id, "the purge", |r| {
        r.state == pb::RemovalState::Purged as i32
    })
    .await;
    assert_eq!(flows.owned(workspace, joe.id()).await, 0);
    assert_eq!(
        flows.owned(workspace, sue.id()).await,
        3,
        "only Joe's assets go"
    );
    assert_eq!(step(&purged, &flows, Verb::Delete).done, 5);
    env.wait_until_purged(workspace, joe.id()).await;
    let access = check_asset_access(&env, workspace, joe.id(), ann.id()).await;
    assert_eq!(access.reason(), pb::AssetAccessReason::OwnerNotAMember);
}

#[tokio::test]
async fn a_restore_inside_the_window_brings_the_member_back_with_what_was_not_transferred() {
    let Team {
        env,
        company,
        ann,
        joe,
        mary,
    } = team().await;
    let (account, workspace) = (company.account_id(), company.workspace_id());
    let flows = env.start_custodian("flows", &["flow"], 100).await;
    flows
        .seed(account, workspace, joe.id(), "flow", 8, true)
        .await;
    // Two flows only Joe may hold: the preview reports them, the transfer leaves them.
    flows
        .seed(account, workspace, joe.id(), "flow", 2, false)
        .await;

    let preview = preview(&env, &ann.session, workspace, joe.id(), mary.id()).await;
    let blocker = &preview[0].blockers[0];
    assert_eq!((blocker.code.as_str(), blocker.count), ("OWNER_ONLY", 2));

    let removed = remove(&env, &ann.session, workspace, joe.id(), mary.id())
        .await
        .unwrap();
    let removal_id = removed.removal.expect("removal").removal_id;
    let stopped = removal_when(&env, &removal_id, "the transfer to need action", |r| {
        r.needs_action
    })
    .await;
    let moved = step(&stopped, &flows, Verb::Transfer);
    assert_eq!(moved.state, State::NeedsAction as i32);
    assert_eq!(
        (moved.done, moved.failed_count, moved.failures.len()),
        (8, 2, 2)
    );
    assert_eq!(flows.owned(workspace, mary.id()).await, 8);
    let text = eventually(Duration::from_secs(10), "the summary", || async {
        summaries(&env, "ann@example.com").await.pop()
    })
    .await;
    assert!(text.contains("2 failed"), "{text}");

    // Restored: the two flows are Joe's again to use; the eight stay with Mary.
    let restored = env
        .membership()
        .restore_member(as_user(
            &ann.session,
            pb::RestoreMemberRequest {
                workspace_id: workspace.to_owned(),
                user_id: joe.id().to_owned(),
                request_id: request_id(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        restored.member.unwrap().status,
        pb::MemberStatus::Active as i32
    );
    let closed = restored.removal.expect("the restore answers the removal");
    assert_eq!(closed.state, pb::RemovalState::Restored as i32);
    assert_eq!(
        step(&closed, &flows, Verb::Transfer).done,
        8,
        "the answer says what moved"
    );
    assert_eq!(flows.owned(workspace, joe.id()).await, 2);
    assert_eq!(
        list_assets(&flows, &joe.session, workspace, joe.id())
            .await
            .unwrap()
            .len(),
        2
    );
    // The restored removal is history: nothing runs or is purged for it later.
    env.clock.advance(chrono::Duration::days(15));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(flows.owned(workspace, joe.id()).await, 2);
    assert_eq!(
        removal(&env, &removal_id).await.state,
        pb::RemovalState::Restored as i32
    );
}

#[tokio::test]
async fn an_invalid_receiver_is_refused_before_anything_changes() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace = company.workspace_id();
    let ann = env.add_admin(&company, "ann@example.com").await;
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let sue = env.add_plain_member(&company, "sue@example.com").await;
    env.suspend_member(&ann.session, workspace, sue.id())
        .await
        .unwrap();
    let stranger = env
        .create_plain_user("stranger@example.com", "Stranger")
        .await;
    let flows = env.start_custodian("flows", &["flow"], 100).await;
    flows
        .seed(company.account_id(), workspace, joe.id(), "flow", 3, true)
        .await;
    let used = env.seat_usage(workspace).await.used;

    for receiver in [joe.id(), sue.id(), stranger.user_id.as_str()] {
        let refused = assert_refused(
            remove(&env, &ann.session, workspace, joe.id(), receiver).await,
            Code::InvalidArgument,
            "",
        );
        assert_eq!(violated_fields(&refused), ["transfer_to_user_id"]);
    }
    assert_eq!(
        env.get_member(workspace, joe.id()).await.status,
        pb::MemberStatus::Active as i32
    );
    assert_eq!(env.seat_usage(workspace).await.used, used);
    let removals: i64 = env
        .sql()
        .await
        .query_one("SELECT count(*) FROM membership.removals", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(removals, 0);
    assert_eq!(flows.owned(workspace, joe.id()).await, 3);
}

#[tokio::test]
async fn an_account_wide_removal_covers_every_workspace() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let account = company.account_id();
    let design = env.create_workspace(account, "Design", 0).await;
    let (main, design) = (company.workspace_id(), design.workspace_id.as_str());
    let joe = env.create_person("joe@example.com").await;
    let mary = env.create_person("mary@example.com").await;
    let bob = env.create_person("bob@example.com").await;
    env.try_add_member(account, &[main, design], joe.id(), &[])
        .await
        .unwrap();
    env.try_add_member(account, &[main], mary.id(), &[])
        .await
        .unwrap();
    env.try_add_member(account, &[main, design], bob.id(), &[])
        .await
        .unwrap();
    let flows = env.start_custodian("flows", &["flow"], 100).await;
    flows.seed(account, main, joe.id(), "flow", 4, true).await;
    flows.seed(account, design, joe.id(), "flow", 6, true).await;

    let remove_all = |receiver: &str| pb::RemoveAccountMemberRequest {
        account_id: account.to_owned(),
        user_id: joe.id().to_owned(),
        transfer_to_user_id: receiver.to_owned(),
        request_id: request_id(),
    };
    // Mary is not in Design: refused, and Joe stays in both.
    let refused = assert_refused(
        env.membership()
            .remove_account_member(as_user(&env.operator_token, remove_all(mary.id())))
            .await,
        Code::InvalidArgument,
        "",
    );
    assert_eq!(violated_fields(&refused), ["transfer_to_user_id"]);
    for workspace in [main, design] {
        assert_eq!(
            env.get_member(workspace, joe.id()).await.status,
            pb::MemberStatus::Active as i32
        );
    }

    let removed = env
        .membership()
        .remove_account_member(as_user(&env.operator_token, remove_all(bob.id())))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(removed.members.len(), 2);
    for removal in &removed.removals {
        removal_when(&env, &removal.removal_id, "the transfer", |r| {
            all_steps(r, Verb::Transfer, State::Succeeded)
        })
        .await;
    }
    assert_eq!(flows.owned(main, bob.id()).await, 4);
    assert_eq!(flows.owned(design, bob.id()).await, 6);
    assert_eq!(
        flows.owned(main, joe.id()).await + flows.owned(design, joe.id()).await,
        0
    );
    for workspace in [main, design] {
        assert_eq!(
            env.get_member(workspace, joe.id()).await.status,
            pb::MemberStatus::Removed as i32
        );
    }

    // ListRemovals shows both to the account's administrators.
    let listed = env
        .membership()
        .list_removals(as_user(
            &env.operator_token,
            pb::ListRemovalsRequest {
                account_id: account.to_owned(),
                user_id: joe.id().to_owned(),
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.removals.len(), 1);
    let rest = env
        .membership()
        .list_removals(as_user(
            &env.operator_token,
            pb::ListRemovalsRequest {
                account_id: account.to_owned(),
                user_id: joe.id().to_owned(),
                page_size: 1,
                page_token: listed.next_page_token,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.removals.len(), 1);
    assert_ne!(rest.removals[0].removal_id, listed.removals[0].removal_id);
    assert!(rest.next_page_token.is_empty());
}
