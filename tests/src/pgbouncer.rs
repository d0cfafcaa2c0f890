//! A PgBouncer of the test's own, in transaction mode, in front of one test database: one
//! pooler database per service, named after its schema, whose `connect_query` puts its
//! server connections in that schema, as an operator configures one for Roster.
//!
//! Set `ROSTER_TEST_POOLER=pgbouncer` and every [`crate::TestEnv`] serves through one.
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use roster::Service;

use crate::process::{Reaped, free_port};

/// Where Debian's package puts it.
const PGBOUNCER: &str = "/usr/sbin/pgbouncer";

/// A running PgBouncer, killed and its directory removed when dropped.
pub struct PgBouncer {
    dir: PathBuf,
    port: u16,
    _process: Reaped,
}

/// Whether tests should serve through PgBouncer (`ROSTER_TEST_POOLER=pgbouncer`).
pub fn wanted() -> bool {
    match std::env::var("ROSTER_TEST_POOLER").as_deref() {
        Ok("pgbouncer") => true,
        Ok("") | Err(_) => false,
        Ok(other) => panic!("ROSTER_TEST_POOLER={other}: the one pooler known is pgbouncer"),
    }
}

impl PgBouncer {
    /// In front of `database` on the server at `server_url`, one pooler database for each
    /// of `services`.
    pub fn start(server_url: &str, database: &str, services: &[Service]) -> Self {
        assert!(
            std::path::Path::new(PGBOUNCER).exists(),
            "{PGBOUNCER} is missing: apt-get install pgbouncer"
        );
        let server: tokio_postgres::Config = server_url.parse().expect("server url");
        let host = match server.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            other => panic!("PgBouncer needs a TCP server, not {other:?}"),
        };
        let server_port = server.get_ports().first().copied().unwrap_or(5432);
        let dir = std::env::temp_dir().join(format!(
            "roster-pgbouncer-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir(&dir).expect("create the pooler directory");
        let port = free_port();
        let databases: String = services
            .iter()
            .map(|service| {
                let schema = service.schema();
                format!(
                    "{schema} = host={host} port={server_port} dbname={database} user=postgres \
                     connect_query='SET search_path TO {schema}, public'\n"
                )
            })
            .collect();
        // PgBouncer refuses to run as root; `user` makes it drop to postgres itself.
        let user = if crate::postgres::running_as_root() {
            "user = postgres\n"
        } else {
            ""
        };
        let config = format!(
            "[databases]\n{databases}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
             unix_socket_dir =\nauth_type = trust\nauth_file = {dir}/users.txt\n\
             pool_mode = transaction\nmax_client_conn = 400\ndefault_pool_size = 8\n\
             logfile = {dir}/pgbouncer.log\n{user}",
            dir = dir.display()
        );
        std::fs::write(dir.join("pgbouncer.ini"), config).expect("write pgbouncer.ini");
        std::fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n").expect("write users.txt");
        if crate::postgres::running_as_root() {
            let chowned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(chowned.success(), "chown the pooler directory");
        }
        let process = Reaped(
            Command::new(PGBOUNCER)
                .arg(dir.join("pgbouncer.ini"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start pgbouncer"),
        );
        let pooler = Self {
            dir,
            port,
            _process: process,
        };
        pooler.wait_until_listening();
        pooler
    }

    fn wait_until_listening(&self) {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "pgbouncer did not listen within 10 s: {}",
                std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The URL of `service`'s pooler database.
    pub fn url(&self, service: Service) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            self.port,
            service.schema()
        )
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // The process is killed just after, when its field drops; the files it holds
        // open stay readable to it until then.
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not remove {}: {error}", self.dir.display());
        }
    }
}
