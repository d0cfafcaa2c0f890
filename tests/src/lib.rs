//! Test harness: each test gets a fresh database, the services running in-process on an
//! ephemeral port (through the same `roster::serve` as production), typed clients and a
//! platform operator's token. The database is dropped when the environment is.
pub mod clients;
pub mod cluster;
pub mod custodian;
pub mod emailed;
pub mod invitation;
pub mod membership;
pub mod otlp;
pub mod pgbouncer;
pub mod postgres;
pub mod process;
pub mod smtp;

use std::sync::Arc;

use roster::{Databases, Options, Service};
use roster_identity::IdentityConfig;
use roster_invitation::InvitationConfig;
use roster_kit::clock::ShiftedClock;
use roster_kit::config::{PoolConfig, ServerConfig};
use roster_kit::relay::RelayConfig;
use roster_membership::MembershipConfig;
use roster_notification::NotificationConfig;
use roster_proto::identity as pb;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt as _;

pub mod load;

/// The server test databases are created on (`ROSTER_TEST_DATABASE_URL`).
fn admin_url() -> String {
    std::env::var("ROSTER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn url_for(database: &str) -> String {
    let admin = admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{database}")
}

/// A PgBouncer in transaction mode in front of `database`, and the [`Databases`] that
/// reach every service through it (and the database itself directly).
pub fn through_pgbouncer(database: &str) -> (pgbouncer::PgBouncer, Databases) {
    let pooler = pgbouncer::PgBouncer::start(&admin_url(), database, Service::ALL);
    let databases = Databases::Pooled {
        pooled: Service::ALL
            .iter()
            .map(|service| (*service, pooler.url(*service)))
            .collect(),
        direct: url_for(database),
    };
    (pooler, databases)
}

/// The credential Roster presents to the test custodians (`ROSTER_CUSTODIAN_TOKEN`).
pub const CUSTODIAN_TOKEN: &str = "test-custodian-credential";

/// A running Roster with its own database.
pub struct TestEnv {
    /// Moves the services' time forward.
    pub clock: Arc<ShiftedClock>,
    /// An API key of the bootstrapped platform operator.
    pub operator_token: String,
    /// The operator's user id.
    pub operator_id: String,
    /// The credential Roster's services call each other with.
    pub service_token: String,
    /// Where the services listen.
    pub address: std::net::SocketAddr,
    /// Where metrics are served, when `server.metrics_listen` was set (port 0: any).
    pub metrics_address: Option<std::net::SocketAddr>,
    channel: Channel,
    database: String,
    /// Identity's own database, when it is not `database`.
    identity_database: Option<String>,
    /// The transaction-mode pooler the services go through (`ROSTER_TEST_POOLER`).
    _pooler: Option<pgbouncer::PgBouncer>,
    shutdown: Option<oneshot::Sender<()>>,
    options: Options,
    replicas: Vec<oneshot::Sender<()>>,
}

/// A server [`spawn_server_at`] started: where it listens (and serves metrics, if it
/// does), a channel to it, and what stops it.
type Spawned = (
    std::net::SocketAddr,
    Channel,
    oneshot::Sender<()>,
    Option<std::net::SocketAddr>,
);

/// Serves `options` on an ephemeral port until the returned sender fires (or drops).
async fn spawn_server(options: Options) -> Spawned {
    spawn_server_at(([127, 0, 0, 1], 0).into(), options).await
}

/// Serves `options` at `address` until the returned sender fires (or drops); metrics at
/// `options.server.metrics_listen`, when set, bound here so port 0 reports its port.
async fn spawn_server_at(address: std::net::SocketAddr, options: Options) -> Spawned {
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
    let address = listener.local_addr().expect("address");
    let metrics = match options.server.metrics_listen {
        Some(at) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .expect("bind metrics"),
        ),
        None => None,
    };
    let metrics_address = metrics
        .as_ref()
        .map(|listener| listener.local_addr().expect("metrics address"));
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(error) = roster::serve_with_metrics(listener, metrics, options, async {
            let _ = stopped.await;
        })
        .await
        {
            eprintln!("test server failed: {error}");
        }
    });
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect_lazy();
    (address, channel, shutdown, metrics_address)
}

impl TestEnv {
    /// All services with default settings.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// All services, identity on a database of its own and the others on another.
    pub async fn start_split() -> Self {
        Self::start_on(true, |_| {}).await
    }

    /// All services, after `configure` adjusts their options.
    pub async fn start_with(configure: impl FnOnce(&mut Options)) -> Self {
        Self::start_on(false, configure).await
    }

    async fn start_on(split: bool, configure: impl FnOnce(&mut Options)) -> Self {
        let database = format!("roster_test_{}", uuid::Uuid::now_v7().simple());
        let identity_database = split.then(|| format!("{database}_identity"));
        let pooled = (!split && pgbouncer::wanted()).then(|| through_pgbouncer(&database));
        let clock = Arc::new(ShiftedClock::default());
        let service_token = roster_kit::token::mint("rsv").secret;
        let identity = IdentityConfig {
            reset_response_floor: std::time::Duration::from_millis(50),
            // Unoptimized Argon2 is slow and tests share the cores: only a full hashing
            // queue sheds here, unless a test bounds the wait itself.
            password_hash_wait: std::time::Duration::from_secs(60),
            ..IdentityConfig::default()
        };
        let mut options = Options {
            services: Service::ALL.to_vec(),
            server: ServerConfig {
                listen: ([127, 0, 0, 1], 0).into(),
                ..ServerConfig::from_env().expect("server config")
            },
            databases: match (&identity_database, &pooled) {
                (Some(identity), _) => Databases::Split {
                    identity: url_for(identity),
                    others: url_for(&database),
                },
                (None, Some((_, databases))) => databases.clone(),
                (None, None) => Databases::Single(url_for(&database)),
            },
            pool: PoolConfig {
                max_size: 8,
                timeout: std::time::Duration::from_secs(5),
            },
            identity,
            membership: MembershipConfig {
                removal_poll: std::time::Duration::from_millis(100),
                removal_retry_base: std::time::Duration::from_millis(200),
                removal_retry_max: std::time::Duration::from_secs(2),
                custodian_timeout: std::time::Duration::from_secs(5),
                custodian_token: Some(roster_kit::auth::ServiceToken::new(CUSTODIAN_TOKEN)),
                ..MembershipConfig::default()
            },
            invitation: InvitationConfig {
                cleanup_interval: std::time::Duration::from_millis(100),
                ..InvitationConfig::default()
            },
            // The log transport (no SMTP server) unless a test sets one; both the relays
            // and the delivery worker look for work often, so emails follow in moments.
            notification: NotificationConfig {
                poll_interval: std::time::Duration::from_millis(20),
                ..NotificationConfig::default()
            },
            relay: RelayConfig {
                poll: std::time::Duration::from_millis(20),
                ..RelayConfig::default()
            },
            watch: roster_kit::changes::WatchConfig::default(),
            identity_url: None,
            membership_url: None,
            invitation_url: None,
            notification_url: None,
            clock: clock.clone(),
            service_token: roster_kit::auth::ServiceToken::new(&service_token),
            audit_retention: None,
            audit_retention_interval: std::time::Duration::from_millis(100),
        };
        configure(&mut options);
        // Schemas are migrated before serving, so the server is up as soon as it starts.
        roster::migrate(&options).await.expect("migrations");
        let (user, operator_token) = roster::open_identity(&options, None)
            .await
            .expect("identity starts")
            .bootstrap_operator("operator@roster.test", "Test Operator")
            .await
            .expect("bootstrap operator");
        let (address, channel, shutdown, metrics_address) = spawn_server(options.clone()).await;
        Self {
            clock,
            operator_token,
            operator_id: user.user_id,
            service_token,
            address,
            metrics_address,
            channel,
            database,
            identity_database,
            _pooler: pooled.map(|(pooler, _)| pooler),
            shutdown: Some(shutdown),
            options,
            replicas: Vec::new(),
        }
    }

    /// Starts another process's worth of the same services on the same database (a
    /// replica, with its own caches and workers) and returns a channel to it.
    pub async fn start_replica(&mut self) -> Channel {
        let (_, channel, shutdown, _) = spawn_server(self.options.clone()).await;
        self.replicas.push(shutdown);
        channel
    }

    /// Starts another process's worth of services at `address` (port 0: any) on the same
    /// database, token and clock, as `configure` adjusts this environment's options (for
    /// example other services, or a peer's URL); returns where it listens and what stops
    /// it. It stops too when the environment is dropped, if not before.
    pub async fn serve_at(
        &mut self,
        address: std::net::SocketAddr,
        configure: impl FnOnce(&mut Options),
    ) -> (std::net::SocketAddr, Channel) {
        let mut options = self.options.clone();
        configure(&mut options);
        let (address, channel, shutdown, _) = spawn_server_at(address, options).await;
        self.replicas.push(shutdown);
        (address, channel)
    }

    /// As [`Self::serve_at`], and what stops this one process (sent or dropped).
    pub async fn serve_stoppable_at(
        &mut self,
        address: std::net::SocketAddr,
        configure: impl FnOnce(&mut Options),
    ) -> (std::net::SocketAddr, Channel, oneshot::Sender<()>) {
        let mut options = self.options.clone();
        configure(&mut options);
        let (address, channel, shutdown, _) = spawn_server_at(address, options).await;
        (address, channel, shutdown)
    }

    /// Stops every process started with [`Self::serve_at`] or [`Self::start_replica`].
    pub fn stop_replicas(&mut self) {
        for replica in self.replicas.drain(..) {
            let _ = replica.send(());
        }
    }

    /// Signals the services to shut down, as SIGTERM does; in-flight calls may finish.
    pub fn stop_serving(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.stop_replicas();
    }

    /// A client of the identity service.
    pub fn identity(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::new(self.channel.clone())
    }

    /// A client of the membership service.
    pub fn membership(&self) -> MembershipServiceClient<Channel> {
        MembershipServiceClient::new(self.channel.clone())
    }

    /// A client of the invitation service.
    pub fn invitation(&self) -> InvitationServiceClient<Channel> {
        InvitationServiceClient::new(self.channel.clone())
    }

    /// The URL of this environment's database, for processes started beside it.
    pub fn database_url(&self) -> String {
        url_for(&self.database)
    }

    /// The raw channel, for other clients (health, reflection).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A direct connection to the test database, to read what the services stored.
    pub async fn sql(&self) -> tokio_postgres::Client {
        self.sql_on(&self.database).await
    }

    /// A direct connection to `database` (this environment's, or its identity's).
    pub async fn sql_on(&self, database: &str) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&url_for(database), tokio_postgres::NoTls)
                .await
                .expect("connect to test database");
        tokio::spawn(connection);
        client
    }

    /// The test database's name.
    pub fn database_name(&self) -> String {
        self.database.clone()
    }

    /// The name of identity's database: its own when started with [`Self::start_split`].
    pub fn identity_database_name(&self) -> String {
        self.identity_database
            .clone()
            .unwrap_or_else(|| self.database.clone())
    }

    /// Creates a person with a password (as the operator).
    pub async fn create_user(&self, email: &str, password: &str) -> pb::User {
        let request = pb::CreateUserRequest {
            email: email.to_owned(),
            display_name: email.split('@').next().unwrap_or(email).to_owned(),
            password: password.to_owned(),
            ..Default::default()
        };
        self.identity()
            .create_user(as_user(&self.operator_token, request))
            .await
            .expect("create user")
            .into_inner()
            .user
            .expect("user")
    }

    /// Reads a user (as the operator).
    pub async fn get_user(&self, user_id: &str) -> pb::User {
        let request = pb::GetUserRequest {
            user_id: user_id.to_owned(),
        };
        self.identity()
            .get_user(as_user(&self.operator_token, request))
            .await
            .expect("get user")
            .into_inner()
            .user
            .expect("user")
    }

    /// Creates an API key for a user (as the operator).
    pub async fn create_api_key(&self, user_id: &str) -> pb::CreateApiKeyResponse {
        let request = pb::CreateApiKeyRequest {
            user_id: user_id.to_owned(),
            ..Default::default()
        };
        self.identity()
            .create_api_key(as_user(&self.operator_token, request))
            .await
            .expect("create api key")
            .into_inner()
    }

    /// Tries to log in.
    pub async fn try_login(
        &self,
        email: &str,
        password: &str,
    ) -> Result<pb::LoginResponse, Status> {
        let request = pb::LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        Ok(self.identity().login(request).await?.into_inner())
    }

    /// Logs in and returns the session token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        self.try_login(email, password)
            .await
            .expect("login")
            .session_token
    }

    /// Whether `token` authenticates now.
    pub async fn authenticate(&self, token: &str) -> Result<pb::Principal, Status> {
        let response = self
            .identity()
            .authenticate(pb::AuthenticateRequest {
                token: token.to_owned(),
            })
            .await?;
        Ok(response.into_inner().principal.expect("principal"))
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.stop_serving();
        drop_database(&self.database);
        if let Some(identity) = &self.identity_database {
            drop_database(identity);
        }
    }
}

/// Drops a test database, from Drop (which cannot await): a short-lived runtime on its own
/// thread does it.
fn drop_database(database: &str) {
    let database = database.to_owned();
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let (client, connection) =
                tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                .await
        })
    })
    .join();
    if let Ok(Err(error)) = dropped {
        eprintln!("could not drop test database: {error}");
    }
}

/// `message` with `authorization: Bearer <token>`.
pub fn as_user<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request
}

/// The `ErrorInfo.reason` of a refusal ("" when absent).
pub fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// Asserts a call failed with `code` and `ErrorInfo.reason`.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    expected_reason: &str,
) -> Status {
    let status = result.expect_err("the call should have been refused");
    assert_eq!(status.code(), code, "code of {status:?}");
    assert_eq!(reason(&status), expected_reason, "reason of {status:?}");
    status
}

/// The field names of a `BadRequest`'s violations.
pub fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
