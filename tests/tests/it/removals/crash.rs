//! Crash safety of the removal saga: `roster serve` as a child process, SIGKILLed after
//! each step of a removal in turn (right after a custodian call began, or right after the
//! answer was recorded) and started again, until the removal is done; then two replicas at
//! once. Every custodian's effects must be applied exactly once.
use std::time::Duration;

use roster_proto::membership as pb;
use roster_tests::TestEnv;
use roster_tests::custodian::TestCustodian;

use super::{all_steps, removal_when, remove, step};
use crate::child::{Reaped, free_port};
use pb::{RemovalStepState as State, RemovalStepVerb as Verb};

/// `roster serve` in a child process on the environment's database, listening at `port`.
fn spawn_roster(env: &TestEnv, port: u16) -> Reaped {
    Reaped(
        crate::child::roster(&env.database_url(), &env.service_token)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .spawn()
            .expect("start roster serve"),
    )
}

/// What the saga has recorded so far: a number that grows with every attempt, and whether
/// every attempt begun has its answer recorded (no step holds a lease). A claimed step is
/// not yet progress: a kill right after each claim would never let an answer be recorded.
async fn recorded_progress(env: &TestEnv, removal_id: &str) -> (i64, bool) {
    let removal_id = uuid::Uuid::parse_str(removal_id).expect("uuid");
    let row = env
        .sql()
        .await
        .query_one(
            "SELECT coalesce(sum(done + attempts), 0)::bigint, bool_and(lease_token IS NULL)
             FROM membership.removal_steps WHERE removal_id = $1",
            &[&removal_id],
        )
        .await
        .expect("progress");
    (row.get(0), row.get::<_, Option<bool>>(1).unwrap_or(true))
}

/// Runs the removal worker in a child process, killing it after each saga step until
/// `finished`; how many times it was killed.
async fn kill_after_each_step(
    env: &TestEnv,
    custodians: &[&TestCustodian],
    removal_id: &str,
    finished: impl Fn(&pb::Removal) -> bool,
) -> u32 {
    let port = free_port();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let calls = || custodians.iter().map(|c| c.calls()).sum::<u64>();
    let mut kills = 0;
    loop {
        let mut child = spawn_roster(env, port);
        let (calls_before, (progress_before, _)) =
            (calls(), recorded_progress(env, removal_id).await);
        // Alternately: kill as soon as a custodian call has started, or as soon as the
        // saga has recorded an answer.
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the saga did not finish"
            );
            if finished(&super::removal(env, removal_id).await) {
                child.kill().expect("kill");
                child.wait().expect("reap");
                return kills;
            }
            let stepped = if kills % 2 == 0 {
                calls() > calls_before
            } else {
                let (progress, answered) = recorded_progress(env, removal_id).await;
                progress > progress_before && answered
            };
            if stepped {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().expect("SIGKILL roster serve");
        child.wait().expect("reap");
        kills += 1;
    }
}

#[tokio::test]
async fn a_removal_killed_after_every_step_completes_with_each_effect_applied_once() {
    // The in-process services serve the RPCs; only the child processes drive removals.
    let env = TestEnv::start_with(|options| {
        options.membership.removal_poll = Duration::from_secs(3600);
    })
    .await;
    let company = env.create_company("Acme", 0).await;
    let (account, workspace) = (company.account_id(), company.workspace_id());
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let mary = env.add_plain_member(&company, "mary@example.com").await;
    let flows = env.start_custodian("flows", &["flow"], 100).await;
    let datasets = env.start_custodian("datasets", &["dataset"], 100).await;
    flows
        .seed(account, workspace, joe.id(), "flow", 300, true)
        .await;
    flows
        .seed(account, workspace, joe.id(), "flow", 150, false)
        .await;
    datasets
        .seed(account, workspace, joe.id(), "dataset", 200, true)
        .await;

    let removal_id = remove(&env, &env.operator_token, workspace, joe.id(), mary.id())
        .await
        .unwrap()
        .removal
        .unwrap()
        .removal_id;
    let kills = kill_after_each_step(&env, &[&flows, &datasets], &removal_id, |r| {
        r.steps
            .iter()
            .all(|s| s.state == State::Succeeded as i32 || s.state == State::NeedsAction as i32)
    })
    .await;
    assert!(kills >= 4, "killed {kills} times");
    let transferred = super::removal(&env, &removal_id).await;
    let moved = step(&transferred, &flows, Verb::Transfer);
    assert_eq!((moved.done, moved.failed_count), (300, 150), "{moved:?}");
    assert_eq!(
        moved.completed[0].count, 300,
        "replays counted nothing twice"
    );
    assert_eq!(step(&transferred, &datasets, Verb::Transfer).done, 200);
    assert_eq!(flows.owned(workspace, mary.id()).await, 300);
    assert_eq!(flows.owned(workspace, joe.id()).await, 150);
    assert_eq!(datasets.owned(workspace, mary.id()).await, 200);

    env.purge_member(&env.operator_token, workspace, joe.id())
        .await
        .unwrap();
    let kills = kill_after_each_step(&env, &[&flows, &datasets], &removal_id, |r| {
        r.state == pb::RemovalState::Purged as i32
    })
    .await;
    // The purge is two short delete steps: the kill at its first custodian call always
    // lands, and a loaded machine may poll too late to kill between the two.
    assert!(kills >= 1, "killed {kills} times");
    let purged = super::removal(&env, &removal_id).await;
    assert!(
        all_steps(&purged, Verb::Delete, State::Succeeded),
        "{purged:?}"
    );
    assert_eq!(step(&purged, &flows, Verb::Delete).done, 150);
    assert_eq!(flows.owned(workspace, joe.id()).await, 0);
    assert_eq!(
        flows.owned(workspace, mary.id()).await,
        300,
        "what moved stays"
    );
    assert_eq!(datasets.owned(workspace, mary.id()).await, 200);

    // Each custodian ran one operation per step; the admins' summaries went out once per
    // phase; the purge happened once.
    for custodian in [&flows, &datasets] {
        let operations: i64 = custodian
            .sql()
            .await
            .query_one("SELECT count(*) FROM operations", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            operations, 2,
            "{}: one transfer, one delete",
            custodian.name
        );
    }
    let sql = env.sql().await;
    let count = |query: &'static str| {
        let sql = &sql;
        async move { sql.query_one(query, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        count("SELECT count(*) FROM membership.outbox WHERE template = 'removal_summary'").await,
        4,
        "operator and Mary, after the transfer and after the purge"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM membership.audit_events WHERE action = 'membership.member.purge'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn two_replicas_never_run_one_step_at_once() {
    let env = TestEnv::start_with(|options| {
        options.membership.removal_poll = Duration::from_secs(3600);
    })
    .await;
    let company = env.create_company("Acme", 0).await;
    let (account, workspace) = (company.account_id(), company.workspace_id());
    let mary = env.add_plain_member(&company, "mary@example.com").await;
    // Small batches make many calls per step: many chances for two replicas to collide.
    let flows = env.start_custodian("flows", &["flow"], 10).await;
    let datasets = env.start_custodian("datasets", &["dataset"], 10).await;
    let mut removals = Vec::new();
    for name in ["joe", "bob", "eve"] {
        let person = env
            .add_plain_member(&company, &format!("{name}@example.com"))
            .await;
        flows
            .seed(account, workspace, person.id(), "flow", 120, true)
            .await;
        datasets
            .seed(account, workspace, person.id(), "dataset", 80, true)
            .await;
        let removal = remove(&env, &env.operator_token, workspace, person.id(), mary.id())
            .await
            .unwrap()
            .removal
            .unwrap();
        removals.push(removal.removal_id);
    }
    let mut replicas = [
        spawn_roster(&env, free_port()),
        spawn_roster(&env, free_port()),
    ];
    for removal_id in &removals {
        removal_when(&env, removal_id, "the transfers", |r| {
            all_steps(r, Verb::Transfer, State::Succeeded)
        })
        .await;
    }
    for replica in &mut replicas {
        replica.kill().expect("kill");
        replica.wait().expect("reap");
    }
    assert_eq!(flows.owned(workspace, mary.id()).await, 360);
    assert_eq!(datasets.owned(workspace, mary.id()).await, 240);
    assert_eq!(flows.concurrent_calls() + datasets.concurrent_calls(), 0);
    // 12 batches and a last, empty one per flows step; 8 and one per datasets step.
    assert_eq!(flows.calls(), 3 * 13, "no call was made twice");
    assert_eq!(datasets.calls(), 3 * 9);
}
