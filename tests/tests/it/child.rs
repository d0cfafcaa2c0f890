//! `roster` as a child process (the `roster-child` binary of the test package: the same
//! command line), for the tests that SIGKILL, SIGTERM or starve it.
use std::process::{Command, Stdio};
use std::time::Duration;

use roster_tests::membership::eventually;
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
