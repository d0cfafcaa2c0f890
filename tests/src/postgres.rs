//! A Postgres of the test's own (initdb as the `postgres` OS user, its own directory and
//! port) for the tests that stop, restart or reconfigure it: never the shared one.
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The certificate names `localhost` only, so `verify-full` to `127.0.0.1` fails on the
/// name while `verify-ca` to the same address passes.
const OPENSSL_CONFIG: &str = "\
[req]
distinguished_name = dn
x509_extensions = leaf
prompt = no
[dn]
CN = localhost
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
";

/// A Postgres of its own (temporary directory, free port), stopped and removed when
/// dropped, also when the test fails.
pub struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// initdb and start, accepting plain TCP from loopback (each step bounded).
    pub fn start() -> Self {
        Self::create(false)
    }

    /// initdb, a self-signed certificate for `localhost`, `hostssl` only, start.
    pub fn start_tls_only() -> Self {
        Self::create(true)
    }

    /// A directory and a free port for an instance, owned by the postgres OS user when we
    /// are root (initdb refuses root); Drop cleans up whatever the next steps leave.
    fn empty() -> Self {
        let dir =
            std::env::temp_dir().join(format!("roster-postgres-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir(&dir).expect("create the instance directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let postgres = Self {
            dir,
            bin: postgres_bin(),
            port,
        };
        postgres.chown();
        postgres
    }

    fn chown(&self) {
        if running_as_root() {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.dir));
        }
    }

    fn create(tls: bool) -> Self {
        let postgres = Self::empty();
        let dir = &postgres.dir;
        if tls {
            postgres.make_certificate();
            postgres.chown();
        }
        run(postgres
            .command("initdb")
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(postgres.data()));
        let mut config = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{dir}'\n\
             fsync = off\nshared_buffers = 16MB\nmax_connections = 100\n",
            dir = dir.display(),
            port = postgres.port,
        );
        let mut hba = "local all all trust\n".to_owned();
        if tls {
            config.push_str(&format!(
                "ssl = on\nssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\n",
                dir = dir.display()
            ));
            hba.push_str(
                "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
            );
        } else {
            hba.push_str(
                "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
            );
        }
        append(&postgres.data().join("postgresql.conf"), &config);
        std::fs::write(postgres.data().join("pg_hba.conf"), hba).expect("write pg_hba.conf");
        postgres.start_again();
        postgres
    }

    fn make_certificate(&self) {
        let dir = &self.dir;
        std::fs::write(dir.join("openssl.cnf"), OPENSSL_CONFIG).expect("write openssl.cnf");
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .arg("-config")
            .arg(dir.join("openssl.cnf"))
            .arg("-keyout")
            .arg(dir.join("server.key"))
            .arg("-out")
            .arg(self.certificate()));
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("key permissions");
    }

    /// A hot standby of `primary`, streaming from it (pg_basebackup, then started with
    /// `primary_conninfo` as `-R` writes it).
    pub fn start_standby_of(primary: &Self) -> Self {
        let standby = Self::empty();
        run(standby
            .command("pg_basebackup")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-X",
                "stream",
                "-R",
                "--no-sync",
            ])
            .args(["-p", &primary.port.to_string(), "-D"])
            .arg(standby.data()));
        // The copied settings name the primary's port and socket directory: these win.
        append(
            &standby.data().join("postgresql.conf"),
            &format!(
                "\nport = {}\nunix_socket_directories = '{}'\n",
                standby.port,
                standby.dir.display()
            ),
        );
        standby.start_again();
        standby
    }

    /// Starts the instance (again, after [`Self::stop`]).
    pub fn start_again(&self) {
        let dir = &self.dir;
        let started = self
            .command("pg_ctl")
            .args(["-w", "-t", "30", "-D"])
            .arg(self.data())
            .arg("-l")
            .arg(dir.join("postgres.log"))
            .arg("start")
            .output()
            .expect("run pg_ctl start");
        assert!(
            started.status.success(),
            "pg_ctl start: {}\n{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default()
        );
    }

    /// Stops the instance at once (`pg_ctl stop -m immediate`), as a crash or an outage.
    pub fn stop(&self) {
        run(self
            .command("pg_ctl")
            .args(["-w", "-t", "10", "-m", "immediate", "-D"])
            .arg(self.data())
            .arg("stop"));
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The instance's self-signed certificate (TLS instances).
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("server.crt")
    }

    /// A URL of database `roster` on this instance with `params` (`sslmode=...`).
    pub fn url(&self, host: &str, params: &str) -> String {
        format!("postgres://postgres@{host}:{}/roster?{params}", self.port)
    }

    /// `program` of the Postgres installation, as the postgres OS user when we are root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let stopped = self
                .command("pg_ctl")
                .args(["-w", "-t", "10", "-m", "immediate", "-D"])
                .arg(self.data())
                .arg("stop")
                .output();
            if !matches!(&stopped, Ok(output) if output.status.success()) {
                eprintln!("could not stop the private postgres: {stopped:?}");
            }
        }
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not remove {}: {error}", self.dir.display());
        }
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian), else whatever is on PATH.
fn postgres_bin() -> PathBuf {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max();
    newest.map(|(_, bin)| bin).unwrap_or_default()
}

pub(crate) fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

#[track_caller]
fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn append(path: &Path, text: &str) {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .expect("append to postgresql.conf");
}
