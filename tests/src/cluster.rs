//! A Postgres failover cluster of the test's own: `deploy/local-cluster.sh` (one etcd and
//! two Patroni-managed nodes with synchronous replication, on loopback) in a temporary
//! directory on free ports, stopped and removed when dropped, also when the test fails.
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The cluster's nodes, as the script names them (their data directories in `dir`).
const NODES: [&str; 2] = ["node1", "node2"];

/// How long `start` may take: installing the packages when missing, then the script's own
/// bounded waits (etcd 30 s, a primary with a synchronous standby 90 s).
const START_LIMIT: Duration = Duration::from_secs(600);

/// How long `stop` may take (Patroni's own shutdown, then kills).
const STOP_LIMIT: Duration = Duration::from_secs(90);

/// A running cluster; see the module documentation.
pub struct Cluster {
    dir: PathBuf,
    base_port: u16,
    url: String,
}

impl Cluster {
    /// Starts the cluster and waits until it has a primary and a synchronous standby.
    /// Blocks for seconds: call it from `spawn_blocking` in async tests.
    ///
    /// # Panics
    /// When the script fails (it cannot install Patroni, etcd or PostgreSQL 15, or no
    /// primary comes up in time), with its output.
    pub fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("roster-cluster-{}", uuid::Uuid::now_v7().simple()));
        let base_port = free_base_port();
        // From here on, Drop stops whatever the script started and removes `dir`.
        let mut cluster = Self {
            dir,
            base_port,
            url: String::new(),
        };
        let output = script(
            &[
                "start",
                &cluster.dir.to_string_lossy(),
                &base_port.to_string(),
            ],
            START_LIMIT,
        );
        assert!(
            output.status.success(),
            "deploy/local-cluster.sh start failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.url = String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .filter(|line| line.starts_with("postgres://"))
            .unwrap_or_else(|| {
                panic!(
                    "deploy/local-cluster.sh printed no URL: {}",
                    String::from_utf8_lossy(&output.stdout)
                )
            })
            .to_owned();
        cluster
    }

    /// The multi-host URL of `database` on the cluster: every node, read-write sessions
    /// only, so a client connects to whichever node is the primary now.
    pub fn url(&self, database: &str) -> String {
        let (base, params) = self.url.split_once('?').unwrap_or((&self.url, ""));
        let (hosts, _) = base.rsplit_once('/').unwrap_or((base, ""));
        format!("{hosts}/{database}?{params}")
    }

    /// Where the cluster keeps its data, configuration and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The node that is the primary now (its Patroni answers `GET /primary` with 200).
    pub fn primary(&self) -> Option<&'static str> {
        self.node_answering("/primary")
    }

    /// The first node whose Patroni answers `GET path` with 200.
    fn node_answering(&self, path: &str) -> Option<&'static str> {
        NODES.iter().enumerate().find_map(|(i, node)| {
            let port = self.base_port + 4 + u16::try_from(i).expect("two nodes");
            (http_status(port, path) == Some(200)).then_some(*node)
        })
    }

    /// The node that is the synchronous standby now (`GET /sync` answers 200): the one
    /// that has every acknowledged commit, and the only one Patroni promotes.
    pub fn sync_standby(&self) -> Option<&'static str> {
        self.node_answering("/sync")
    }

    /// The postmaster's pid of the primary now.
    pub fn primary_pid(&self) -> Option<u32> {
        let node = self.primary()?;
        postmaster_pid(&self.dir.join(node))
    }

    /// SIGKILLs the primary's postmaster (its Patroni keeps running, as when Postgres
    /// alone crashes): which node it was, and when (just before the signal was sent).
    ///
    /// # Panics
    /// When there is no primary or the kill fails.
    pub fn kill_primary(&self) -> (&'static str, Instant) {
        let node = self.primary().expect("a primary to kill");
        let pid = postmaster_pid(&self.dir.join(node))
            .unwrap_or_else(|| panic!("no postmaster.pid for the primary {node}"));
        let at = Instant::now();
        let killed = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(killed.success(), "kill -9 {pid} ({node}): {killed}");
        (node, at)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.dir.exists() {
            let output = script(&["stop", &self.dir.to_string_lossy()], STOP_LIMIT);
            if !output.status.success() {
                eprintln!(
                    "could not stop the cluster in {}: {}",
                    self.dir.display(),
                    String::from_utf8_lossy(&output.stderr)
                );
                // Its data is all that tells why: keep it.
                return;
            }
        }
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not remove {}: {error}", self.dir.display());
        }
    }
}

/// `deploy/local-cluster.sh <args>`, killed if it runs past `limit`.
fn script(args: &[&str], limit: Duration) -> Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/local-cluster.sh");
    let mut child = Command::new("bash")
        .arg(&path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Read both pipes on threads, so a chatty script never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the script") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break child.wait().expect("reap the script");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// A base port with its five successors free on loopback (etcd, two Postgres, two
/// Patroni APIs), below Linux's ephemeral range so outgoing connections do not take them.
fn free_base_port() -> u16 {
    for _ in 0..100 {
        let base = rand::random_range(15_000..32_000u16);
        if (base..base + 6).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()) {
            return base;
        }
    }
    panic!("no six free consecutive ports on 127.0.0.1");
}

/// The first line of `data/postmaster.pid`, while that process lives.
fn postmaster_pid(data: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let pid: u32 = text.lines().next()?.trim().parse().ok()?;
    Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
}

/// The status code of `GET path` on a Patroni REST API at `port` (plain HTTP/1.0).
fn http_status(port: u16, path: &str) -> Option<u16> {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    // "HTTP/1.0 200"
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
