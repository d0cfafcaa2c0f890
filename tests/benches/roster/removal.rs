//! How long a removal with transfer takes for a member owning 10,000 assets across two
//! reference custodians (5,000 flows, 5,000 datasets), from `RemoveMember` until both
//! transfer steps succeeded, and how many custodian calls it took; at two custodian batch
//! sizes. The baseline, measured in the same run, is the custodian's own work done by hand:
//! one SQL `UPDATE` moving the same 10,000 rows in each custodian's database.
//!
//! Run with `cargo bench -p roster-tests --bench roster -- removal`. It needs Postgres as
//! the tests do. The removal worker looks for due steps every 100 ms
//! (`ROSTER_REMOVAL_POLL`, default 1 s), and custodians ask to be polled again after
//! 100 ms while an operation runs.

use std::time::{Duration, Instant};

use roster_proto::membership as pb;
use roster_tests::custodian::TestCustodian;
use roster_tests::membership::{eventually, request_id};
use roster_tests::{TestEnv, as_user};

/// Assets per custodian.
const ASSETS: i64 = 5_000;

struct Row {
    name: String,
    seconds: f64,
    calls: u64,
}

/// Removes a fresh member owning `ASSETS` in each custodian (batch `batch_size`) with a
/// receiver, and waits for both transfers.
async fn transfer(env: &TestEnv, batch_size: i64) -> Row {
    let company = env.create_company(&format!("Bench {batch_size}"), 0).await;
    let (account, workspace) = (company.account_id(), company.workspace_id());
    let owner = env
        .create_plain_user(&format!("owner{batch_size}@bench.test"), "Owner")
        .await;
    let receiver = env
        .create_plain_user(&format!("receiver{batch_size}@bench.test"), "Receiver")
        .await;
    env.add_member(&company, &owner.user_id, &[]).await;
    env.add_member(&company, &receiver.user_id, &[]).await;
    let flows = env
        .start_custodian(&format!("flows-{batch_size}"), &["flow"], batch_size)
        .await;
    let datasets = env
        .start_custodian(&format!("datasets-{batch_size}"), &["dataset"], batch_size)
        .await;
    flows
        .seed(account, workspace, &owner.user_id, "flow", ASSETS, true)
        .await;
    datasets
        .seed(account, workspace, &owner.user_id, "dataset", ASSETS, true)
        .await;

    let started = Instant::now();
    let request = pb::RemoveMemberRequest {
        workspace_id: workspace.to_owned(),
        user_id: owner.user_id.clone(),
        transfer_to_user_id: receiver.user_id.clone(),
        request_id: request_id(),
    };
    let removal_id = env
        .membership()
        .remove_member(as_user(&env.operator_token, request))
        .await
        .expect("remove member")
        .into_inner()
        .removal
        .expect("removal")
        .removal_id;
    eventually(Duration::from_secs(600), "the transfers", || async {
        let request = pb::GetRemovalRequest {
            removal_id: removal_id.clone(),
        };
        let removal = env
            .membership()
            .get_removal(as_user(&env.operator_token, request))
            .await
            .ok()?
            .into_inner()
            .removal?;
        removal
            .steps
            .iter()
            .all(|s| s.state == pb::RemovalStepState::Succeeded as i32)
            .then_some(())
    })
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let moved = flows.owned(workspace, &receiver.user_id).await
        + datasets.owned(workspace, &receiver.user_id).await;
    assert_eq!(moved, 2 * ASSETS, "every asset moved");
    let calls = flows.calls() + datasets.calls();
    unregister(env, &[flows, datasets]).await;
    Row {
        name: format!("removal with transfer, batches of {batch_size}"),
        seconds,
        calls,
    }
}

/// Unregisters a row's custodians, so the removals measured next do not call them.
async fn unregister(env: &TestEnv, custodians: &[TestCustodian]) {
    for custodian in custodians {
        let request = pb::DeleteCustodianRequest {
            custodian_id: custodian.custodian_id.clone(),
            force: true,
            request_id: request_id(),
        };
        env.membership()
            .delete_custodian(as_user(&env.operator_token, request))
            .await
            .expect("unregister");
    }
}

/// The same 10,000 rows moved by one `UPDATE` per custodian database.
async fn by_hand(env: &TestEnv) -> Row {
    let company = env.create_company("Bench by hand", 0).await;
    let (account, workspace) = (company.account_id(), company.workspace_id());
    let owner = uuid::Uuid::now_v7();
    let receiver = uuid::Uuid::now_v7();
    let custodians: Vec<TestCustodian> = vec![
        env.start_custodian("flows-by-hand", &["flow"], 1).await,
        env.start_custodian("datasets-by-hand", &["dataset"], 1)
            .await,
    ];
    for custodian in &custodians {
        custodian
            .seed(account, workspace, &owner.to_string(), "flow", ASSETS, true)
            .await;
    }
    let started = Instant::now();
    for custodian in &custodians {
        custodian
            .sql()
            .await
            .execute(
                "UPDATE assets SET owner_user_id = $2 WHERE owner_user_id = $1",
                &[&owner, &receiver],
            )
            .await
            .expect("update");
    }
    let seconds = started.elapsed().as_secs_f64();
    unregister(env, &custodians).await;
    Row {
        name: "baseline: one UPDATE per custodian database".to_owned(),
        seconds,
        calls: 0,
    }
}

/// Prints the table; no failures (every row asserts its own outcome).
pub(crate) async fn bench() -> Vec<String> {
    let env = TestEnv::start().await;
    let baseline = by_hand(&env).await;
    let rows = [transfer(&env, 1_000).await, transfer(&env, 100).await];
    println!("10,000 assets (5,000 per custodian, two custodians), removal worker poll 100 ms\n");
    println!("| what | seconds | custodian calls | × baseline |");
    println!("| --- | ---: | ---: | ---: |");
    for row in rows.iter().chain(std::iter::once(&baseline)) {
        println!(
            "| {} | {:.2} | {} | {:.1} |",
            row.name,
            row.seconds,
            row.calls,
            row.seconds / baseline.seconds
        );
    }
    Vec::new()
}
