//! A custodian that is down: the others complete, its step retries with backoff and
//! completes when it is back, and the purge waits for it.
use std::time::Duration;

use roster_proto::membership as pb;
use roster_tests::assert_refused;
use tonic::Code;

use super::{
    Team, all_steps, check_asset_access, preview, removal, removal_when, remove, retry, step, team,
};
use pb::{RemovalStepState as State, RemovalStepVerb as Verb};

#[tokio::test]
async fn one_custodian_down_the_other_completes_and_the_purge_waits_for_it() {
    let Team {
        env,
        company,
        ann,
        joe,
        mary,
    } = team().await;
    let (account, workspace) = (company.account_id(), company.workspace_id());
    let flows = env.start_custodian("flows", &["flow"], 100).await;
    let mut datasets = env.start_custodian("datasets", &["dataset"], 100).await;
    flows
        .seed(account, workspace, joe.id(), "flow", 10, true)
        .await;
    datasets
        .seed(account, workspace, joe.id(), "dataset", 10, true)
        .await;
    // Joe also keeps one flow only he may hold, which the purge must delete.
    flows
        .seed(account, workspace, joe.id(), "flow", 1, false)
        .await;

    datasets.stop().await;
    // The preview answers what it can: flows counts, datasets cannot be asked.
    let holdings = preview(&env, &ann.session, workspace, joe.id(), mary.id()).await;
    let asked: Vec<_> = holdings
        .iter()
        .map(|h| {
            (
                h.custodian_name.as_str(),
                h.assets.len(),
                h.error.is_empty(),
            )
        })
        .collect();
    assert_eq!(asked, [("datasets", 0, false), ("flows", 1, true)]);
    let removed = remove(&env, &ann.session, workspace, joe.id(), mary.id())
        .await
        .unwrap();
    let removal_id = removed.removal.expect("removal").removal_id;
    let waiting = removal_when(&env, &removal_id, "datasets to fail twice", |r| {
        let datasets = step(r, &datasets, Verb::Transfer);
        datasets.state == State::Failed as i32 && datasets.attempts >= 2
    })
    .await;
    let down = step(&waiting, &datasets, Verb::Transfer);
    assert!(down.last_error.contains("Unavailable"), "{down:?}");
    assert!(down.next_attempt_time.is_some(), "a retry is planned");
    assert_eq!(
        flows.owned(workspace, mary.id()).await,
        10,
        "flows did not wait"
    );
    assert_eq!(
        step(&waiting, &flows, Verb::Transfer).state,
        State::NeedsAction as i32
    );

    datasets.start().await;
    removal_when(&env, &removal_id, "datasets once back", |r| {
        step(r, &datasets, Verb::Transfer).state == State::Succeeded as i32
    })
    .await;
    assert_eq!(datasets.owned(workspace, mary.id()).await, 10);

    // The purge: flows is down now, so Joe stays removed (and cannot be added back)
    // until it confirms.
    let mut flows = flows;
    flows.stop().await;
    env.purge_member(&ann.session, workspace, joe.id())
        .await
        .unwrap();
    let purging = removal_when(&env, &removal_id, "the flows deletion to fail", |r| {
        r.state == pb::RemovalState::Purging as i32
            && step(r, &flows, Verb::Delete).state == State::Failed as i32
            && step(r, &datasets, Verb::Delete).state == State::Succeeded as i32
    })
    .await;
    assert!(purging.finish_time.is_none());
    // The purge ended Joe's restore window: nobody acts on his assets any more.
    let access = check_asset_access(&env, workspace, joe.id(), ann.id()).await;
    assert_eq!(
        (access.allowed, access.reason()),
        (false, pb::AssetAccessReason::OwnerPurged)
    );
    assert_eq!(
        env.get_member(workspace, joe.id()).await.status,
        pb::MemberStatus::Removed as i32
    );
    assert_refused(
        env.try_add_member(account, &[workspace], joe.id(), &[])
            .await,
        Code::FailedPrecondition,
        "RECENTLY_REMOVED",
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        removal(&env, &removal_id).await.state,
        pb::RemovalState::Purging as i32,
        "never finished while a custodian has not confirmed"
    );

    flows.start().await;
    let purged = removal_when(&env, &removal_id, "the purge", |r| {
        r.state == pb::RemovalState::Purged as i32
    })
    .await;
    assert!(all_steps(&purged, Verb::Delete, State::Succeeded));
    assert_eq!(
        flows.owned(workspace, joe.id()).await,
        0,
        "the flow only Joe held is deleted"
    );
    assert_eq!(
        flows.owned(workspace, mary.id()).await,
        10,
        "what moved stays"
    );
    env.wait_until_purged(workspace, joe.id()).await;
    env.try_add_member(account, &[workspace], joe.id(), &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_step_that_needs_action_runs_again_under_a_new_operation_after_retry_removal() {
    let Team {
        env,
        company,
        joe,
        mary,
        ..
    } = team().await;
    let (account, workspace) = (company.account_id(), company.workspace_id());
    let flows = env.start_custodian("flows", &["flow"], 100).await;
    flows
        .seed(account, workspace, joe.id(), "flow", 1, false)
        .await;
    let removed = remove(&env, &env.operator_token, workspace, joe.id(), mary.id())
        .await
        .unwrap();
    let removal_id = removed.removal.expect("removal").removal_id;
    let stopped = removal_when(&env, &removal_id, "needs action", |r| r.needs_action).await;
    let first = step(&stopped, &flows, Verb::Transfer).operation_id.clone();

    // The owner-only flow is made transferable (the cause fixed), then the step is retried.
    flows
        .sql()
        .await
        .execute("UPDATE assets SET transferable = true", &[])
        .await
        .unwrap();
    let retried = retry(&env, &removal_id).await.unwrap();
    let again = step(&retried, &flows, Verb::Transfer);
    assert_ne!(again.operation_id, first, "a new operation id");
    removal_when(&env, &removal_id, "the retried transfer", |r| {
        all_steps(r, Verb::Transfer, State::Succeeded)
    })
    .await;
    assert_eq!(flows.owned(workspace, mary.id()).await, 1);
    // Nothing needs action any more: a second retry is refused.
    assert_refused(
        retry(&env, &removal_id).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
}
