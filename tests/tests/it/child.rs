//! `roster` as a child process (the `roster-child` binary of the test package: the same
//! command line), for the tests that SIGKILL, SIGTERM or starve it.
use std::process::{Child, Command, Stdio};

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

/// A port nothing listens on now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A child process, SIGKILLed and reaped when dropped: a failing test leaves no server
/// behind holding its database.
pub(crate) struct Reaped(pub(crate) Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Reaped {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}
