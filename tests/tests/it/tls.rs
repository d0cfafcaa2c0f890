//! Postgres over TLS: a private Postgres that accepts only TLS, with a self-signed
//! certificate made here, and Roster connecting to it by `sslmode`.
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use roster::Databases;
use roster_tests::TestEnv;
use tokio_postgres::error::SqlState;

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

/// A Postgres of its own (temporary directory, free port, TLS only), stopped and
/// removed when dropped, also when the test fails.
struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// initdb, a self-signed certificate, `hostssl` only, start (each step bounded).
    fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("roster-tls-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir(&dir).expect("create the instance directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        // From here on, Drop cleans up whatever the next steps leave behind.
        let postgres = Self {
            dir,
            bin: postgres_bin(),
            port,
        };
        let dir = &postgres.dir;
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
            .arg(postgres.certificate()));
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("key permissions");
        if running_as_root() {
            // initdb refuses root; the instance runs as the postgres OS user.
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir));
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
        let config = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{dir}'\n\
             ssl = on\nssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\n\
             fsync = off\nshared_buffers = 16MB\nmax_connections = 100\n",
            dir = dir.display()
        );
        append(&postgres.data().join("postgresql.conf"), &config);
        std::fs::write(
            postgres.data().join("pg_hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
        .expect("write pg_hba.conf");
        let started = postgres
            .command("pg_ctl")
            .args(["-w", "-t", "30", "-D"])
            .arg(postgres.data())
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
        postgres
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn certificate(&self) -> PathBuf {
        self.dir.join("server.crt")
    }

    /// A URL of database `roster` on this instance with `params` (`sslmode=...`).
    fn url(&self, host: &str, params: &str) -> String {
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

fn running_as_root() -> bool {
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

/// Connects as the services do (the kit's URL parsing and TLS), runs one query.
async fn connect(url: &str) -> Result<bool, tokio_postgres::Error> {
    let (config, tls) = roster_kit::db::pg_config(url).await.expect("valid url");
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

#[tokio::test]
async fn roster_connects_to_a_tls_only_postgres_by_sslmode() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let postgres = tokio::task::spawn_blocking(PrivatePostgres::start)
            .await
            .expect("start the private postgres");
        let certificate = postgres.certificate();
        let root = format!("sslrootcert={}", certificate.display());

        // Every service, its migrations, pools and membership's LISTEN, over TLS
        // without verification (libpq's require). Dropped before the instance stops.
        let env = TestEnv::start_with(|options| {
            options.databases = Databases::Single(postgres.url("127.0.0.1", "sslmode=require"));
        })
        .await;
        let user = env
            .create_user("tls@roster.test", "a long enough password")
            .await;
        assert_eq!(env.get_user(&user.user_id).await.email, "tls@roster.test");

        let admin = postgres.url("localhost", &format!("sslmode=verify-full&{root}"));
        let (config, tls) = roster_kit::db::pg_config(&admin).await.expect("valid url");
        let (sql, connection) = config.connect(tls).await.expect("verify-full connects");
        tokio::spawn(connection);
        let stored: i64 = sql
            .query_one(
                "SELECT count(*) FROM identity.users WHERE email = 'tls@roster.test'",
                &[],
            )
            .await
            .expect("count the user")
            .get(0);
        assert_eq!(stored, 1);
        // Membership listens for access changes on its own connection, over TLS too.
        let mut listening = 0;
        for _ in 0..50 {
            listening = sql
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                     WHERE a.query LIKE 'LISTEN%' AND s.ssl",
                    &[],
                )
                .await
                .expect("count listeners")
                .get::<_, i64>(0);
            if listening > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(listening > 0, "membership's LISTEN connection over TLS");
        let plain: i64 = sql
            .query_one(
                "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.datname = 'roster' AND NOT s.ssl",
                &[],
            )
            .await
            .expect("count plain connections")
            .get(0);
        assert_eq!(plain, 0);
        drop(env);

        // The server accepts no plain connection.
        let refused = connect(&postgres.url("127.0.0.1", "sslmode=disable"))
            .await
            .expect_err("sslmode=disable is refused");
        assert_eq!(
            refused.code(),
            Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION),
            "{refused}"
        );

        // require and prefer encrypt; verify-full checks the chain and the name.
        for params in ["sslmode=require", "sslmode=prefer"] {
            let ssl = connect(&postgres.url("127.0.0.1", params)).await;
            assert!(ssl.expect(params), "{params} is encrypted");
        }
        let verified = connect(&postgres.url("localhost", &format!("sslmode=verify-full&{root}")))
            .await
            .expect("verify-full with the certificate as root");
        assert!(verified);
        let unknown = connect(&postgres.url("localhost", "sslmode=verify-full"))
            .await
            .expect_err("verify-full without the root");
        assert!(
            format!("{unknown:?}").contains("UnknownIssuer"),
            "{unknown:?}"
        );
        // verify-ca checks the chain only; the certificate names localhost, not 127.0.0.1.
        let wrong_name =
            connect(&postgres.url("127.0.0.1", &format!("sslmode=verify-full&{root}")))
                .await
                .expect_err("verify-full with a host the certificate does not name");
        assert!(
            format!("{wrong_name:?}").contains("NotValidForName"),
            "{wrong_name:?}"
        );
        let chain_only = connect(&postgres.url("127.0.0.1", &format!("sslmode=verify-ca&{root}")))
            .await
            .expect("verify-ca with the certificate as root");
        assert!(chain_only);
        let unknown_ca = connect(&postgres.url("127.0.0.1", "sslmode=verify-ca"))
            .await
            .expect_err("verify-ca without the root");
        assert!(
            format!("{unknown_ca:?}").contains("UnknownIssuer"),
            "{unknown_ca:?}"
        );
        // require with a root verifies the chain, as libpq does.
        let require_with_root =
            connect(&postgres.url("127.0.0.1", &format!("sslmode=require&{root}")))
                .await
                .expect("require with the certificate as root");
        assert!(require_with_root);
    })
    .await
    .expect("the TLS test finishes within two minutes");
}
