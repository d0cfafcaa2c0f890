//! `roster` as a child process (the `roster-child` binary of the test package: the same
//! command line), for the tests that SIGKILL, SIGTERM or starve it.
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_proto::invitation::{AcceptInvitationRequest, AcceptInvitationResponse};
use roster_proto::membership as mpb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use roster_tests::as_user;
use roster_tests::invitation::new_user;
use roster_tests::membership::{eventually, request_id};
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

pub(crate) use roster_tests::process::{Reaped, free_port};

/// `roster <arguments>` on `database_url` with the service credential `service_token`,
/// quiet, with the removal worker's timings and the acceptance lease short enough for
/// tests, and small pools (tests run side by side on one Postgres).
pub(crate) fn roster(database_url: &str, service_token: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster-child"));
    command
        .env("DATABASE_URL", database_url)
        .env("ROSTER_SERVICE_TOKEN", service_token)
        .env("ROSTER_CUSTODIAN_TOKEN", roster_tests::CUSTODIAN_TOKEN)
        .env("ROSTER_REMOVAL_POLL", "50ms")
        .env("ROSTER_REMOVAL_RETRY_BASE", "100ms")
        .env("ROSTER_REMOVAL_RETRY_MAX", "1s")
        .env("ROSTER_CUSTODIAN_TIMEOUT", "1s")
        .env("ROSTER_INVITATION_ACCEPT_LEASE", "5s")
        .env("ROSTER_DB_POOL_SIZE", "6")
        .env("ROSTER_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// The operator `roster bootstrap` makes on the database at `url` as `email`: their user id
/// and API key.
pub(crate) fn bootstrap(url: &str, service_token: &str, email: &str) -> (String, String) {
    let bootstrap = roster(url, service_token)
        .args(["bootstrap", "--operator-email", email])
        .stdout(Stdio::piped())
        .output()
        .expect("bootstrap");
    let printed = String::from_utf8_lossy(&bootstrap.stdout);
    let line = |prefix: &str| {
        printed
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} from bootstrap: {bootstrap:?}"))
            .to_owned()
    };
    let user_id = line(&format!("operator {email} ("))
        .trim_end_matches(')')
        .to_owned();
    (user_id, line("api key (shown once): "))
}

/// An account named `name` and its workspace "Main" of `seat_limit` seats (0: unlimited),
/// made through `channel` as the holder of `token`.
pub(crate) async fn account_with_workspace(
    channel: &Channel,
    token: &str,
    name: &str,
    seat_limit: i32,
) -> (mpb::Account, mpb::Workspace) {
    let mut membership = MembershipServiceClient::new(channel.clone());
    let account = membership
        .create_account(as_user(
            token,
            mpb::CreateAccountRequest {
                name: name.to_owned(),
                request_id: request_id(),
                ..Default::default()
            },
        ))
        .await
        .expect("create account")
        .into_inner()
        .account
        .expect("account");
    let workspace = membership
        .create_workspace(as_user(
            token,
            mpb::CreateWorkspaceRequest {
                account_id: account.account_id.clone(),
                name: "Main".to_owned(),
                seat_limit,
                request_id: request_id(),
                ..Default::default()
            },
        ))
        .await
        .expect("create workspace")
        .into_inner()
        .workspace
        .expect("workspace");
    (account, workspace)
}

/// A channel to a server of this test's own on the loopback `port`, connecting when first
/// used.
pub(crate) fn loopback(port: u16) -> Channel {
    Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("url")
        .connect_lazy()
}

/// Waits (at most 30 s) until the `roster serve` behind `channel` answers health checks.
pub(crate) async fn serving(channel: &Channel) {
    eventually(Duration::from_secs(30), "roster serve", || async {
        HealthClient::new(channel.clone())
            .check(HealthCheckRequest::default())
            .await
            .ok()
    })
    .await;
}

/// Calls `call` as a well-behaved client does, for at most a minute: again after
/// `UNAVAILABLE` (the process is down or restarting), a broken connection (`UNKNOWN`: killed
/// mid-call) or `RESOURCE_EXHAUSTED` (shed: the retry hint says when).
pub(crate) async fn until_up<T, F, Fut>(mut call: F) -> (Result<T, tonic::Status>, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let started = Instant::now();
    let mut retries = 0;
    loop {
        match call().await {
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::Unavailable
                        | tonic::Code::Unknown
                        | tonic::Code::ResourceExhausted
                ) && started.elapsed() < Duration::from_secs(60) =>
            {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            answer => return (answer, retries),
        }
    }
}

/// One task per token, each accepting as a new person ("Person <i>") through `channel`
/// under its own `request_id`, again and again while the server is down ([`until_up`]).
pub(crate) fn accept_all(
    channel: &Channel,
    tokens: Vec<String>,
) -> Vec<JoinHandle<(Result<AcceptInvitationResponse, tonic::Status>, u32)>> {
    tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let channel = channel.clone();
            tokio::spawn(async move {
                let request = AcceptInvitationRequest {
                    token,
                    invitee: Some(new_user(&format!("Person {i}"))),
                    request_id: request_id(),
                };
                until_up(|| {
                    let mut invitation = InvitationServiceClient::new(channel.clone());
                    let request = request.clone();
                    async move {
                        invitation
                            .accept_invitation(request)
                            .await
                            .map(tonic::Response::into_inner)
                    }
                })
                .await
            })
        })
        .collect()
}
