//! Postgres down under load: `roster serve` (a child process) on a private Postgres that the
//! test stops for 30 s while callers keep asking. Every answer meanwhile is `UNAVAILABLE`
//! with a retry hint, readiness turns `NOT_SERVING` and back, liveness stays `SERVING`, and
//! the same process serves again once Postgres is back.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use roster_proto::identity as id;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::membership as pb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use roster_tests::postgres::PrivatePostgres;
use roster_tests::{as_user, reason};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt as _;

use crate::child::{Reaped, bootstrap, free_port, loopback, roster};

const OUTAGE: Duration = Duration::from_secs(30);
const CALLERS: usize = 8;

/// One answer: when it came (since the start), its code, whether it was `UNAVAILABLE` with
/// a retry hint, and which RPC (0 CheckPermission, 1 GetMember, 2 GetUser).
type Answer = (Duration, Code, bool, usize);

/// One health probe: when, readiness ("") and liveness.
type Probe = (Duration, Option<i32>, Option<i32>);

async fn health(channel: &Channel, service: &str) -> Option<i32> {
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let answer = tokio::time::timeout(
        Duration::from_secs(1),
        HealthClient::new(channel.clone()).check(request),
    )
    .await
    .ok()?
    .ok()?;
    Some(answer.into_inner().status)
}

/// `roster serve` (a child process) on a private Postgres, with an operator API key and an
/// account whose workspace has one member: what the callers ask about.
struct Deployment {
    postgres: PrivatePostgres,
    child: Reaped,
    channel: Channel,
    key: String,
    workspace_id: String,
    user_id: String,
}

async fn deploy() -> Deployment {
    let postgres = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .expect("start the private postgres");
    let url = postgres.url("127.0.0.1", "sslmode=disable");
    let service_token = roster_kit::token::mint("rsv").secret;
    let (_, key) = bootstrap(&url, &service_token, "ops@outage.test");
    let port = free_port();
    let child = Reaped(
        roster(&url, &service_token)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .spawn()
            .expect("roster serve"),
    );
    let channel = loopback(port);
    roster_tests::membership::eventually(Duration::from_secs(30), "roster serve", || async {
        (health(&channel, "").await == Some(ServingStatus::Serving as i32)).then_some(())
    })
    .await;

    // An account with a workspace and a member: what the callers ask about.
    let membership = MembershipServiceClient::new(channel.clone());
    let account = membership
        .clone()
        .create_account(as_user(
            &key,
            pb::CreateAccountRequest {
                name: "Outage Inc".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    let workspace = membership
        .clone()
        .create_workspace(as_user(
            &key,
            pb::CreateWorkspaceRequest {
                account_id: account.account_id.clone(),
                name: "Main".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .workspace
        .unwrap();
    let user = IdentityServiceClient::new(channel.clone())
        .create_user(as_user(
            &key,
            id::CreateUserRequest {
                email: "joe@outage.test".to_owned(),
                display_name: "Joe".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    membership
        .clone()
        .add_member(as_user(
            &key,
            pb::AddMemberRequest {
                account_id: account.account_id.clone(),
                workspace_ids: vec![workspace.workspace_id.clone()],
                user_id: user.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    Deployment {
        postgres,
        child,
        channel,
        key,
        workspace_id: workspace.workspace_id,
        user_id: user.user_id,
    }
}

#[tokio::test]
async fn postgres_down_for_30_s_answers_unavailable_and_readiness_follows() {
    let Deployment {
        postgres,
        mut child,
        channel,
        key,
        workspace_id,
        user_id,
    } = deploy().await;
    let started = Instant::now();
    let answers: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let readiness: Arc<Mutex<Vec<Probe>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for caller in 0..CALLERS {
        let (channel, key, answers, stop) = (
            channel.clone(),
            key.clone(),
            Arc::clone(&answers),
            Arc::clone(&stop),
        );
        let (workspace_id, user_id) = (workspace_id.clone(), user_id.clone());
        tasks.push(tokio::spawn(async move {
            let membership = MembershipServiceClient::new(channel.clone());
            let identity = IdentityServiceClient::new(channel);
            let mut round = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                round += 1;
                let outcome = match (caller + round) % 3 {
                    0 => membership
                        .clone()
                        .check_permission(as_user(
                            &key,
                            pb::CheckPermissionRequest {
                                user_id: user_id.clone(),
                                workspace_id: workspace_id.clone(),
                                permission: "roster.members.read".to_owned(),
                            },
                        ))
                        .await
                        .map(drop),
                    1 => membership
                        .clone()
                        .get_member(as_user(
                            &key,
                            pb::GetMemberRequest {
                                workspace_id: workspace_id.clone(),
                                user_id: user_id.clone(),
                            },
                        ))
                        .await
                        .map(drop),
                    _ => identity
                        .clone()
                        .get_user(as_user(
                            &key,
                            id::GetUserRequest {
                                user_id: user_id.clone(),
                            },
                        ))
                        .await
                        .map(drop),
                };
                let (code, hinted) = match &outcome {
                    Ok(()) => (Code::Ok, false),
                    Err(status) => (
                        status.code(),
                        reason(status) == "UNAVAILABLE"
                            && status.get_details_error_info().is_some_and(|info| {
                                info.metadata.contains_key("retry_after_seconds")
                            }),
                    ),
                };
                answers.lock().unwrap().push((
                    started.elapsed(),
                    code,
                    hinted,
                    (caller + round) % 3,
                ));
                if code != Code::Ok {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    {
        let (channel, readiness, stop) =
            (channel.clone(), Arc::clone(&readiness), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let ready = health(&channel, "").await;
                let live = health(&channel, roster_kit::server::LIVENESS).await;
                readiness
                    .lock()
                    .unwrap()
                    .push((started.elapsed(), ready, live));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    let postgres = Arc::new(postgres);
    let stopping = Arc::clone(&postgres);
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    let down = started.elapsed();
    tokio::time::sleep(OUTAGE).await;
    // Answers count as "while down" until Postgres starts again (it accepts before pg_ctl
    // returns).
    let restarting = started.elapsed();
    let starting = Arc::clone(&postgres);
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap();
    let up = started.elapsed();
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "roster serve never restarted"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let answers = answers.lock().unwrap().clone();
    let during: Vec<_> = answers
        .iter()
        .filter(|(at, _, _, _)| *at > down + Duration::from_secs(1) && *at < restarting)
        .collect();
    let unavailable = during
        .iter()
        .filter(|(_, code, hinted, _)| *code == Code::Unavailable && *hinted)
        .count();
    let others: Vec<_> = answers
        .iter()
        .filter(|(_, code, _, _)| !matches!(code, Code::Ok | Code::Unavailable))
        .collect();
    let after: Vec<_> = answers
        .iter()
        .filter(|(at, _, _, _)| *at > up + Duration::from_secs(2))
        .collect();
    let after_ok = after
        .iter()
        .filter(|(_, code, _, _)| *code == Code::Ok)
        .count();
    let readiness = readiness.lock().unwrap().clone();
    let not_ready = readiness
        .iter()
        .find(|(at, ready, _)| *at > down && *ready == Some(ServingStatus::NotServing as i32))
        .map(|(at, _, _)| *at - down);
    let ready_again = readiness
        .iter()
        .find(|(at, ready, _)| *at > up && *ready == Some(ServingStatus::Serving as i32))
        .map(|(at, _, _)| *at - up);
    let liveness_kept = readiness
        .iter()
        .all(|(_, _, live)| *live == Some(ServingStatus::Serving as i32));
    println!(
        "outage {OUTAGE:?}: {} answers while down, {unavailable} UNAVAILABLE with a retry hint; \
         readiness NOT_SERVING after {not_ready:?}, SERVING again {ready_again:?} after recovery; \
         {after_ok}/{} ok from 2 s after recovery",
        during.len(),
        after.len()
    );
    let tally = |answers: &[&Answer]| {
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for (_, code, hinted, rpc) in answers {
            let rpc = ["CheckPermission", "GetMember", "GetUser"][*rpc];
            let hint = if *hinted { " with a retry hint" } else { "" };
            *counts.entry(format!("{rpc} {code:?}{hint}")).or_default() += 1;
        }
        counts
    };
    println!(
        "while down: {:?}; after: {:?}",
        tally(&during),
        tally(&after)
    );
    assert!(!during.is_empty());
    assert_eq!(unavailable, during.len(), "every answer while down");
    assert!(
        others.is_empty(),
        "no other code: {:?}",
        &others[..others.len().min(5)]
    );
    assert!(
        not_ready.is_some_and(|d| d <= Duration::from_secs(2)),
        "{not_ready:?}"
    );
    assert!(
        ready_again.is_some_and(|d| d <= Duration::from_secs(2)),
        "{ready_again:?}"
    );
    assert!(liveness_kept, "liveness stays SERVING");
    assert!(
        after_ok * 100 >= after.len() * 99,
        "{after_ok} of {}",
        after.len()
    );
}

/// `rounds` rounds of GetMember and ListMembers by each of [`CALLERS`] callers at once:
/// the calls that failed.
async fn read_rounds(deployment: &Deployment, rounds: usize) -> (usize, Vec<tonic::Status>) {
    let callers = (0..CALLERS).map(|_| async {
        let membership = MembershipServiceClient::new(deployment.channel.clone());
        let mut failed = Vec::new();
        for _ in 0..rounds {
            let member = membership
                .clone()
                .get_member(as_user(
                    &deployment.key,
                    pb::GetMemberRequest {
                        workspace_id: deployment.workspace_id.clone(),
                        user_id: deployment.user_id.clone(),
                    },
                ))
                .await;
            let listed = membership
                .clone()
                .list_members(as_user(
                    &deployment.key,
                    pb::ListMembersRequest {
                        workspace_id: deployment.workspace_id.clone(),
                        ..Default::default()
                    },
                ))
                .await;
            failed.extend(member.err());
            failed.extend(listed.err());
        }
        failed
    });
    let failed: Vec<_> = futures::future::join_all(callers)
        .await
        .into_iter()
        .flatten()
        .collect();
    (CALLERS * rounds * 2, failed)
}

/// Postgres restarts while every pooled connection is idle, connected to the server that
/// went away: once it accepts connections again, no request fails (a connection found
/// dead is replaced within the request that found it).
#[tokio::test]
async fn once_postgres_is_back_from_a_restart_no_request_fails() {
    let deployment = deploy().await;
    // Every pooled connection in use at once, then idle.
    let (_, failed) = read_rounds(&deployment, 10).await;
    assert!(failed.is_empty(), "before the restart: {failed:?}");

    // Nothing else runs on this test's thread meanwhile: blocking it is fine.
    deployment.postgres.stop();
    deployment.postgres.start_again();
    let (calls, failed) = read_rounds(&deployment, 10).await;
    println!("after a restart: {} of {calls} calls failed", failed.len());
    assert!(
        failed.is_empty(),
        "{} of {calls} failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
}
