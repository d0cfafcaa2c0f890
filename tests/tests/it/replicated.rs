//! Every service replicated: eight `roster serve` processes on one database, each service in
//! two, calling each other through balanced channels (`ROSTER_<SERVICE>_URL` lists both
//! replicas), as the split Kubernetes layout runs them. Invitations and acceptances, and
//! removals whose assets move through two custodians, go through both replicas of each
//! service, under a steady stream of access checks, while one invitation replica and one
//! membership replica are SIGKILLed (the membership one is started again, as an
//! orchestrator would). Then every acknowledged acceptance made one user and one member,
//! every invitation was emailed once, every removal's saga ran each custodian's operation
//! once and moved every asset once, no access check failed for good, and a suspension made
//! through one membership replica is enforced by the other.
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_proto::membership as mpb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use roster_tests::invitation::invite_request;
use roster_tests::membership::{eventually, request_id};
use roster_tests::{TestEnv, as_user};
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use crate::child::{Reaped, accept_all, free_port, loopback, roster, serving, until_up};

const SERVICES: [&str; 4] = ["identity", "membership", "invitation", "notification"];
const PEOPLE: usize = 24;
/// Members removed, each with assets at both custodians.
const LEAVING: usize = 6;
/// Each leaving member's flows and datasets (the custodians move 10 a call).
const FLOWS: i64 = 60;
const DATASETS: i64 = 40;

/// The two replicas' ports of each service.
type Ports = HashMap<&'static str, [u16; 2]>;

/// `http://` URLs of both replicas of `service`, comma-separated: a balanced channel's list.
fn replicas_url(ports: &Ports, service: &str) -> String {
    ports[service]
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Replica `index` of `service`, finding every other service at both of its replicas.
fn spawn_replica(env: &TestEnv, ports: &Ports, service: &str, index: usize) -> Reaped {
    let mut command = roster(&env.database_url(), &env.service_token);
    for peer in SERVICES.iter().filter(|peer| **peer != service) {
        command.env(
            format!("ROSTER_{}_URL", peer.to_uppercase()),
            replicas_url(ports, peer),
        );
    }
    Reaped(
        command
            // Eight processes share the test server's connections with the other tests.
            .env("ROSTER_DB_POOL_SIZE", "3")
            .env("ROSTER_OUTBOX_POLL", "50ms")
            .env("ROSTER_NOTIFICATION_POLL", "50ms")
            .env("ROSTER_ADMISSION_QUEUE", "1000")
            .env("ROSTER_PASSWORD_HASH_QUEUE", "1000")
            .env("ROSTER_PASSWORD_HASH_WAIT", "60s")
            .args([
                "serve",
                "--services",
                service,
                "--listen",
                &format!("127.0.0.1:{}", ports[service][index]),
            ])
            .spawn()
            .expect("roster serve"),
    )
}

/// The count `sql` selects for the id `$1`.
async fn count(env: &TestEnv, sql: &str, id: &str) -> i64 {
    env.sql()
        .await
        .query_one(sql, &[&id])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

async fn check(
    channel: Channel,
    token: &str,
    user_id: &str,
    workspace_id: &str,
) -> mpb::CheckPermissionResponse {
    MembershipServiceClient::new(channel)
        .check_permission(as_user(
            token,
            mpb::CheckPermissionRequest {
                user_id: user_id.to_owned(),
                workspace_id: workspace_id.to_owned(),
                permission: "roster.members.read".to_owned(),
            },
        ))
        .await
        .expect("check")
        .into_inner()
}

/// RemoveMember of each of `leaving` through `channel`, their assets to `receiver`, each
/// again after `UNAVAILABLE` under the same `request_id` ([`until_up`]).
fn remove_all(
    channel: &Channel,
    token: &str,
    workspace_id: &str,
    leaving: &[String],
    receiver: &str,
) -> Vec<JoinHandle<(Result<mpb::RemoveMemberResponse, tonic::Status>, u32)>> {
    leaving
        .iter()
        .map(|user_id| {
            let (channel, token) = (channel.clone(), token.to_owned());
            let request = mpb::RemoveMemberRequest {
                workspace_id: workspace_id.to_owned(),
                user_id: user_id.clone(),
                transfer_to_user_id: receiver.to_owned(),
                request_id: request_id(),
            };
            tokio::spawn(async move {
                until_up(|| {
                    let mut membership = MembershipServiceClient::new(channel.clone());
                    let request = as_user(&token, request.clone());
                    async move {
                        membership
                            .remove_member(request)
                            .await
                            .map(tonic::Response::into_inner)
                    }
                })
                .await
            })
        })
        .collect()
}

/// Access checks through `channel` until `stop`, each again after `UNAVAILABLE` (a replica
/// killed mid-call); how many were answered, and the errors that stayed errors.
fn check_until(
    channel: &Channel,
    token: &str,
    user_id: &str,
    workspace_id: &str,
    stop: tokio::sync::watch::Receiver<bool>,
) -> JoinHandle<(usize, Vec<tonic::Status>)> {
    let (channel, token) = (channel.clone(), token.to_owned());
    let request = mpb::CheckPermissionRequest {
        user_id: user_id.to_owned(),
        workspace_id: workspace_id.to_owned(),
        permission: "roster.members.read".to_owned(),
    };
    tokio::spawn(async move {
        let (mut answered, mut failed) = (0, Vec::new());
        while !*stop.borrow() {
            let (answer, _) = until_up(|| {
                let mut membership = MembershipServiceClient::new(channel.clone());
                let request = as_user(&token, request.clone());
                async move { membership.check_permission(request).await }
            })
            .await;
            match answer {
                Ok(_) => answered += 1,
                Err(status) => failed.push(status),
            }
        }
        (answered, failed)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_in_two_processes_loses_nothing_and_does_nothing_twice() {
    let mut env = TestEnv::start().await;
    let company = env.create_company("Eight Inc", 0).await;
    let workspace = company.workspace_id().to_owned();
    let (account, mary) = (
        company.account_id().to_owned(),
        env.add_plain_member(&company, "mary@leaving.test").await,
    );
    // Small batches make many custodian calls per step: many chances to run one twice.
    let flows = env.start_custodian("flows", &["flow"], 10).await;
    let datasets = env.start_custodian("datasets", &["dataset"], 10).await;
    let mut leaving = Vec::new();
    for i in 0..LEAVING {
        let person = env
            .add_plain_member(&company, &format!("leaving{i}@leaving.test"))
            .await;
        flows
            .seed(&account, &workspace, person.id(), "flow", FLOWS, true)
            .await;
        datasets
            .seed(&account, &workspace, person.id(), "dataset", DATASETS, true)
            .await;
        leaving.push(person.id().to_owned());
    }
    // From here on the eight processes alone serve, and run every worker.
    env.stop_serving();
    let ports: Ports = SERVICES
        .iter()
        .map(|service| (*service, [free_port(), free_port()]))
        .collect();
    let mut replicas: HashMap<(&str, usize), Reaped> = HashMap::new();
    for service in SERVICES {
        for index in 0..2 {
            replicas.insert(
                (service, index),
                spawn_replica(&env, &ports, service, index),
            );
        }
    }
    for service in SERVICES {
        for port in ports[service] {
            serving(&loopback(port)).await;
        }
    }

    // Callers balance over both invitation replicas, as the services balance over each other.
    let invitations =
        roster_kit::remote::channel(&replicas_url(&ports, "invitation"), Duration::from_secs(30))
            .expect("balanced channel");
    let emails: Vec<String> = (0..PEOPLE)
        .map(|i| format!("person{i:02}@eight.test"))
        .collect();
    for batch in emails.chunks(PEOPLE / 3) {
        let addresses: Vec<&str> = batch.iter().map(String::as_str).collect();
        let request = invite_request(&company, &addresses);
        let (answer, _) = until_up(|| {
            let mut client = InvitationServiceClient::new(invitations.clone());
            let request = as_user(&env.operator_token, request.clone());
            async move { client.invite_users(request).await }
        })
        .await;
        let results = answer.expect("invite").into_inner().results;
        assert!(
            results.iter().all(|r| r.invitation.is_some()),
            "{results:?}"
        );
    }
    let mut tokens = Vec::new();
    for email in &emails {
        tokens.push(
            env.emailed_token_within(Duration::from_secs(60), "invitation", "invitation", email)
                .await,
        );
    }
    let members_before = count(
        &env,
        "SELECT count(*) FROM membership.members WHERE workspace_id::text = $1",
        &workspace,
    )
    .await;

    let memberships =
        roster_kit::remote::channel(&replicas_url(&ports, "membership"), Duration::from_secs(30))
            .expect("balanced channel");
    let accepts = accept_all(&invitations, tokens);
    let removals = remove_all(
        &memberships,
        &env.operator_token,
        &workspace,
        &leaving,
        mary.id(),
    );
    let (stop_checks, checking) = tokio::sync::watch::channel(false);
    let checks = check_until(
        &memberships,
        &env.operator_token,
        mary.id(),
        &workspace,
        checking,
    );
    let accepted_sql = "SELECT count(*) FROM invitation.invitations
                        WHERE state = 'accepted' AND workspace_ids[1]::text = $1";
    eventually(Duration::from_secs(60), "a few acceptances", || async {
        (count(&env, accepted_sql, &workspace).await >= 3).then_some(())
    })
    .await;
    let mut killed = replicas
        .remove(&("invitation", 1))
        .expect("the second invitation replica");
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reap");
    // A membership replica dies while the removals' sagas call the custodians, and comes
    // back, as an orchestrator restarts it.
    eventually(Duration::from_secs(60), "custodian calls", || async {
        (flows.calls() + datasets.calls() >= 4).then_some(())
    })
    .await;
    let mut killed = replicas
        .remove(&("membership", 1))
        .expect("the second membership replica");
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reap");
    replicas.insert(
        ("membership", 1),
        spawn_replica(&env, &ports, "membership", 1),
    );
    serving(&loopback(ports["membership"][1])).await;

    let (mut people, mut retries) = (HashSet::new(), 0);
    for accept in accepts {
        let (answer, retried) = accept.await.expect("accept task");
        retries += retried;
        let accepted = answer.expect("every acceptance is acknowledged in the end");
        assert!(people.insert(accepted.user_id.clone()), "{accepted:?}");
    }
    println!("{PEOPLE} acceptances across a SIGKILLed replica: {retries} retries");
    assert_eq!(people.len(), PEOPLE);
    assert_eq!(
        count(&env, accepted_sql, &workspace).await,
        i64::try_from(PEOPLE).expect("few")
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM membership.members WHERE workspace_id::text = $1",
            &workspace
        )
        .await
            - members_before,
        i64::try_from(PEOPLE).expect("few"),
        "one member per acceptance"
    );
    let emailed_twice = env
        .sql()
        .await
        .query(
            "SELECT recipient, count(*) FROM notification.notifications
             WHERE template = 'invitation' AND recipient LIKE '%@eight.test'
             GROUP BY recipient HAVING count(*) <> 1 OR bool_or(state <> 'sent')",
            &[],
        )
        .await
        .expect("notifications");
    assert!(emailed_twice.is_empty(), "{emailed_twice:?}");

    for removal in removals {
        let (answer, _) = removal.await.expect("removal task");
        answer.expect("every removal is acknowledged in the end");
    }
    let moved = (
        i64::try_from(LEAVING).expect("few") * FLOWS,
        i64::try_from(LEAVING).expect("few") * DATASETS,
    );
    eventually(Duration::from_secs(120), "every asset moved", || async {
        (flows.owned(&workspace, mary.id()).await == moved.0
            && datasets.owned(&workspace, mary.id()).await == moved.1)
            .then_some(())
    })
    .await;
    let unfinished = count(
        &env,
        "SELECT count(*) FROM membership.removal_steps
         WHERE verb = 'transfer' AND state <> 'succeeded' AND account_id::text = $1",
        &account,
    )
    .await;
    assert_eq!(unfinished, 0, "every transfer step succeeded");
    let counted = count(
        &env,
        "SELECT sum(done)::bigint FROM membership.removal_steps
         WHERE verb = 'transfer' AND account_id::text = $1",
        &account,
    )
    .await;
    assert_eq!(
        counted,
        moved.0 + moved.1,
        "the saga counted every asset once"
    );
    for (custodian, assets) in [(&flows, FLOWS), (&datasets, DATASETS)] {
        let operations = custodian
            .sql()
            .await
            .query_one(
                "SELECT count(*), coalesce(sum(done), 0)::bigint FROM operations
                 WHERE verb = 'transfer'",
                &[],
            )
            .await
            .expect("operations");
        assert_eq!(
            (operations.get::<_, i64>(0), operations.get::<_, i64>(1)),
            (
                i64::try_from(LEAVING).expect("few"),
                i64::try_from(LEAVING).expect("few") * assets
            ),
            "{}: one operation per removal, each asset moved once",
            custodian.name
        );
        assert_eq!(custodian.concurrent_calls(), 0, "{}", custodian.name);
    }
    stop_checks.send(true).expect("checks running");
    let (answered, failed) = checks.await.expect("checks task");
    println!(
        "{LEAVING} removals through 2 custodians, {} custodian calls; {answered} access checks meanwhile",
        flows.calls() + datasets.calls()
    );
    assert!(
        failed.is_empty(),
        "access checks that failed for good: {failed:?}"
    );
    assert!(answered > 0);

    // A suspension through one membership replica is enforced at once by the other, whose
    // cache held the answer from before.
    let person = people.iter().next().expect("a person").clone();
    let [first, second] = ports["membership"];
    for port in [first, second] {
        let before = check(loopback(port), &env.operator_token, &person, &workspace).await;
        assert!(before.allowed, "{before:?}");
    }
    MembershipServiceClient::new(loopback(first))
        .suspend_member(as_user(
            &env.operator_token,
            mpb::SuspendMemberRequest {
                workspace_id: workspace.clone(),
                user_id: person.clone(),
                request_id: request_id(),
            },
        ))
        .await
        .expect("suspend");
    let after = check(loopback(second), &env.operator_token, &person, &workspace).await;
    assert!(!after.allowed, "{after:?}");
    assert_eq!(after.reason(), mpb::AccessReason::MemberSuspended);
}
