//! Composes Roster's services into one process: `roster serve --services ...`.
//!
//! Services never call each other's Rust code; this crate only wires each service's
//! pool, migrations, gRPC server and background workers.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cli;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use roster_identity::{AdministrationCheck, Identity, IdentityApi, IdentityConfig};
use roster_invitation::{InvitationApi, InvitationConfig, Invitations};
use roster_kit::auth::ServiceToken;
use roster_kit::changes::{UserWatch, WatchConfig};
use roster_kit::clock::SharedClock;
use roster_kit::config::{
    PoolConfig, ServerConfig, database_url, direct_database_url, read_database_url, redact_url,
};
use roster_kit::db::Pool;
use roster_kit::metrics::Metrics;
use roster_kit::relay::{Relay, RelayConfig};
use roster_kit::remote::Authenticator;
use roster_kit::server::InternalLink;
use roster_kit::{Error, Result};
use roster_membership::{Membership, MembershipApi, MembershipConfig};
use roster_notification::{NotificationApi, NotificationConfig, Notifications};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::service::Routes;
use tracing::{info, warn};

/// A service `roster serve` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Users, credentials, sessions.
    Identity,
    /// Accounts, workspaces, roles, members, access checks.
    Membership,
    /// Invitations: invite, resend, revoke, accept.
    Invitation,
    /// Email delivery: templates, transports, retries.
    Notification,
}

impl Service {
    /// Every service, in start order.
    pub const ALL: &[Self] = &[
        Self::Identity,
        Self::Membership,
        Self::Invitation,
        Self::Notification,
    ];

    /// The name used in `--services`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Membership => "membership",
            Self::Invitation => "invitation",
            Self::Notification => "notification",
        }
    }

    /// The database schema it owns.
    pub fn schema(self) -> &'static str {
        match self {
            Self::Identity => roster_identity::SCHEMA,
            Self::Membership => roster_membership::SCHEMA,
            Self::Invitation => roster_invitation::SCHEMA,
            Self::Notification => roster_notification::SCHEMA,
        }
    }

    /// Parses `all` or a comma-separated list of names.
    pub fn parse_list(spec: &str) -> Result<Vec<Self>> {
        if spec.trim() == "all" {
            return Ok(Self::ALL.to_vec());
        }
        let mut services = Vec::new();
        for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let service = Self::ALL
                .iter()
                .copied()
                .find(|s| s.name() == name)
                .ok_or_else(|| {
                    let known: Vec<_> = Self::ALL.iter().map(|s| s.name()).collect();
                    Error::invalid(
                        "services",
                        format!("unknown service {name:?}; known: all, {}", known.join(", ")),
                    )
                })?;
            if !services.contains(&service) {
                services.push(service);
            }
        }
        if services.is_empty() {
            return Err(Error::invalid("services", "name at least one service"));
        }
        Ok(services)
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which services to run.
    pub services: Vec<Service>,
    /// Server limits (the listen address is used by the binary, not by `serve`).
    pub server: ServerConfig,
    /// Database URLs.
    pub databases: Databases,
    /// Database pool limits.
    pub pool: PoolConfig,
    /// Identity's settings.
    pub identity: IdentityConfig,
    /// Membership's settings.
    pub membership: MembershipConfig,
    /// The invitation service's settings.
    pub invitation: InvitationConfig,
    /// The notification service's settings.
    pub notification: NotificationConfig,
    /// The Authenticate cache and the watch of identity's feed that keeps it true.
    pub watch: WatchConfig,
    /// How identity, membership and invitation hand their outbox to notification.
    pub relay: RelayConfig,
    /// Where identity is served when it is not in this process (`ROSTER_IDENTITY_URL`);
    /// `None` means this process serves it.
    pub identity_url: Option<String>,
    /// Where membership is served when it is not in this process (`ROSTER_MEMBERSHIP_URL`).
    pub membership_url: Option<String>,
    /// Where the invitation service is served when it is not in this process
    /// (`ROSTER_INVITATION_URL`); membership asks it for pending invitations. Without it
    /// and without invitation here, GetSeatUsage reports none.
    pub invitation_url: Option<String>,
    /// Where notification is served when it is not in this process
    /// (`ROSTER_NOTIFICATION_URL`); without it and without notification here, emails
    /// wait in the outboxes.
    pub notification_url: Option<String>,
    /// Where time comes from.
    pub clock: SharedClock,
    /// How Roster's services authenticate to each other (`ROSTER_SERVICE_TOKEN`).
    pub service_token: ServiceToken,
    /// How long audit events are kept (`ROSTER_AUDIT_RETENTION`; unset or 0 keeps them
    /// for ever: `None`).
    pub audit_retention: Option<Duration>,
    /// How often expired audit events are deleted (`ROSTER_AUDIT_RETENTION_INTERVAL`,
    /// default 1h).
    pub audit_retention_interval: Duration,
}

impl Options {
    /// From the environment, for `services`.
    pub fn from_env(services: Vec<Service>) -> Result<Self> {
        Ok(Self {
            services,
            server: ServerConfig::from_env()?,
            databases: Databases::FromEnv,
            pool: PoolConfig::from_env()?,
            identity: IdentityConfig::from_env()?,
            membership: MembershipConfig::from_env()?,
            invitation: InvitationConfig::from_env()?,
            notification: NotificationConfig::from_env()?,
            watch: WatchConfig::from_env()?,
            relay: RelayConfig::from_env()?,
            identity_url: roster_kit::config::optional("ROSTER_IDENTITY_URL"),
            membership_url: roster_kit::config::optional("ROSTER_MEMBERSHIP_URL"),
            invitation_url: roster_kit::config::optional("ROSTER_INVITATION_URL"),
            notification_url: roster_kit::config::optional("ROSTER_NOTIFICATION_URL"),
            clock: Arc::new(roster_kit::clock::SystemClock),
            service_token: roster_kit::config::optional("ROSTER_SERVICE_TOKEN")
                .map_or_else(ServiceToken::generate, |token| ServiceToken::new(&token)),
            audit_retention: Some(roster_kit::config::duration_or(
                "ROSTER_AUDIT_RETENTION",
                Duration::ZERO,
            )?)
            .filter(|keep| !keep.is_zero()),
            audit_retention_interval: roster_kit::config::duration_or(
                "ROSTER_AUDIT_RETENTION_INTERVAL",
                Duration::from_secs(3600),
            )?,
        })
    }
}

/// Where each service's database is.
#[derive(Debug, Clone)]
pub enum Databases {
    /// `ROSTER_<SERVICE>_DATABASE_URL`, else `DATABASE_URL`, else the local default.
    FromEnv,
    /// One database for every service (tests).
    Single(String),
    /// Identity on one database, the other services on another (tests).
    Split {
        /// Identity's database.
        identity: String,
        /// Every other service's database.
        others: String,
    },
    /// Every service through a transaction-mode pooler at a URL of its own, the database
    /// itself at `direct` (tests).
    Pooled {
        /// Each service's pooler URL.
        pooled: Vec<(Service, String)>,
        /// The database, not through the pooler.
        direct: String,
    },
}

impl Databases {
    /// The URL for `service`.
    pub fn url(&self, service: Service) -> String {
        match self {
            Self::FromEnv => database_url(service.name()),
            Self::Single(url) => url.clone(),
            Self::Split { identity, .. } if service == Service::Identity => identity.clone(),
            Self::Split { others, .. } => others.clone(),
            Self::Pooled { pooled, direct } => pooled
                .iter()
                .find(|(pooled, _)| *pooled == service)
                .map_or_else(|| direct.clone(), |(_, url)| url.clone()),
        }
    }

    /// A streaming replica of `service`'s database for reads that may lag (from the
    /// environment only).
    pub fn read_url(&self, service: Service) -> Option<String> {
        match self {
            Self::FromEnv => read_database_url(service.name()),
            Self::Single(_) | Self::Split { .. } | Self::Pooled { .. } => None,
        }
    }

    /// The database itself when [`Self::url`] is a transaction-mode pooler in front of it.
    pub fn direct_url(&self, service: Service) -> Option<String> {
        match self {
            Self::FromEnv => direct_database_url(service.name()),
            Self::Pooled { direct, .. } => Some(direct.clone()),
            Self::Single(_) | Self::Split { .. } => None,
        }
    }
}

/// Opens identity's pool, brings its schema up to date and builds its domain; with
/// `administration`, account administrators may act on their users.
pub async fn open_identity(
    options: &Options,
    administration: Option<AdministrationCheck>,
) -> Result<Arc<Identity>> {
    Ok(Arc::new(
        identity_with_pool(options, administration).await?.0,
    ))
}

async fn identity_with_pool(
    options: &Options,
    administration: Option<AdministrationCheck>,
) -> Result<(Identity, Pool)> {
    let pool = migrated_pool(
        options,
        Service::Identity,
        roster_identity::SCHEMA,
        roster_identity::MIGRATIONS,
    )
    .await?;
    let identity = Identity::new(
        pool.clone(),
        Arc::clone(&options.clock),
        options.identity.clone(),
        administration,
    )?;
    Ok((identity, pool))
}

/// Opens `service`'s pool and brings its schema up to date.
async fn migrated_pool(
    options: &Options,
    service: Service,
    schema: &str,
    migrations: &[roster_kit::db::Migration],
) -> Result<Pool> {
    let url = options.databases.url(service);
    let direct = options.databases.direct_url(service);
    let replica = options.databases.read_url(service);
    info!(service = service.name(), database = %redact_url(&url), "connecting");
    let pool = roster_kit::db::connect(
        &url,
        direct.as_deref(),
        replica.as_deref(),
        schema,
        &options.pool,
    )
    .await?;
    roster_kit::db::migrate(&pool, schema, migrations).await?;
    Ok(pool)
}

async fn migrated_membership_pool(options: &Options) -> Result<Pool> {
    migrated_pool(
        options,
        Service::Membership,
        roster_membership::SCHEMA,
        roster_membership::MIGRATIONS,
    )
    .await
}

async fn migrated_invitation_pool(options: &Options) -> Result<Pool> {
    let pool = migrated_pool(
        options,
        Service::Invitation,
        roster_invitation::SCHEMA,
        roster_invitation::MIGRATIONS,
    )
    .await?;
    Ok(pool)
}

async fn migrated_notification_pool(options: &Options) -> Result<Pool> {
    let pool = migrated_pool(
        options,
        Service::Notification,
        roster_notification::SCHEMA,
        roster_notification::MIGRATIONS,
    )
    .await?;
    Ok(pool)
}

/// Opens membership (migrated) and builds its domain, calling identity over `identity`
/// and, when there is one, the invitation service over `invitation`.
async fn open_membership(
    options: &Options,
    identity: tonic::transport::Channel,
    invitation: Option<tonic::transport::Channel>,
    watch: Arc<UserWatch>,
) -> Result<(Arc<Membership>, Pool)> {
    let pool = migrated_membership_pool(options).await?;
    let mut membership = Membership::new(
        pool.clone(),
        pool.listen_url().to_owned(),
        Arc::clone(&options.clock),
        options.membership.clone(),
        identity,
        options.service_token.clone(),
        watch,
    );
    if let Some(invitation) = invitation {
        membership = membership.with_invitation(invitation);
    }
    Ok((Arc::new(membership), pool))
}

/// Opens the invitation service's pool (migrated) and builds its domain, calling identity
/// and membership over their channels.
async fn open_invitation(
    options: &Options,
    identity: tonic::transport::Channel,
    membership: tonic::transport::Channel,
    watch: Arc<UserWatch>,
) -> Result<(Arc<Invitations>, Pool)> {
    let pool = migrated_invitation_pool(options).await?;
    let invitations = Invitations::new(
        pool.clone(),
        Arc::clone(&options.clock),
        options.invitation.clone(),
        identity.clone(),
        membership,
        &options.service_token,
        Authenticator::new(identity, options.service_token.clone()).cached_by(watch),
    );
    Ok((Arc::new(invitations), pool))
}

/// A channel to `service`: `url` when set, else this process's in-process server when it
/// serves it, else `None`. A call on it is bounded by the request timeout, and sooner by
/// what is left of the deadline of the call that makes it.
fn peer_channel(
    options: &Options,
    service: Service,
    url: Option<&String>,
    local: &InternalLink,
) -> Result<Option<tonic::transport::Channel>> {
    match url {
        Some(url) => roster_kit::remote::channel(url, options.server.request_timeout).map(Some),
        None if options.services.contains(&service) => {
            Ok(Some(local.channel(options.server.request_timeout)))
        }
        None => Ok(None),
    }
}

/// A channel to `service`, which this process serves or whose URL is configured.
fn required_peer(
    options: &Options,
    service: Service,
    local: &InternalLink,
) -> Result<tonic::transport::Channel> {
    let (url, variable) = match service {
        Service::Identity => (options.identity_url.as_ref(), "ROSTER_IDENTITY_URL"),
        Service::Membership => (options.membership_url.as_ref(), "ROSTER_MEMBERSHIP_URL"),
        Service::Invitation => (options.invitation_url.as_ref(), "ROSTER_INVITATION_URL"),
        Service::Notification => (options.notification_url.as_ref(), "ROSTER_NOTIFICATION_URL"),
    };
    peer_channel(options, service, url, local)?.ok_or_else(|| {
        Error::invalid(
            variable,
            format!(
                "is required when {} is not served by this process",
                service.name()
            ),
        )
    })
}

/// `identity,membership`: the services of a process, for its watcher's name.
fn names_of(services: &[Service]) -> String {
    services
        .iter()
        .map(|service| service.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs migrations of `services` and returns.
pub async fn migrate(options: &Options) -> Result<()> {
    for service in &options.services {
        match service {
            Service::Identity => drop(open_identity(options, None).await?),
            Service::Membership => drop(migrated_membership_pool(options).await?),
            Service::Invitation => drop(migrated_invitation_pool(options).await?),
            Service::Notification => drop(migrated_notification_pool(options).await?),
        }
    }
    Ok(())
}

/// Serves `options.services` on `listener`, with their background workers, until
/// `shutdown` completes; then lets the calls in flight finish (their calls between this
/// process's services included), stops the workers, and returns. Metrics are served where
/// `options.server.metrics_listen` says, if it says.
pub async fn serve(
    listener: TcpListener,
    options: Options,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let metrics = match options.server.metrics_listen {
        Some(address) => Some(
            TcpListener::bind(address)
                .await
                .map_err(|e| Error::internal(format!("listening for metrics on {address}"), e))?,
        ),
        None => None,
    };
    serve_with_metrics(listener, metrics, options, shutdown).await
}

/// As [`serve`], with metrics served on `metrics` when given (and nowhere else).
pub async fn serve_with_metrics(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    options: Options,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let metrics = Metrics::new(Arc::clone(&options.clock))?;
    let mut routes = Routes::default();
    let mut names = Vec::new();
    let (stop_workers, workers_stopped) = watch::channel(false);
    let mut workers = Vec::new();
    let (local, internal) = roster_kit::server::internal();
    let mut costly: Vec<&str> = Vec::new();
    let stopped = || {
        let mut stopped = workers_stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    // The outboxes of the services served here, for the relays.
    let mut outboxes: Vec<(&'static str, Pool)> = Vec::new();
    // Every schema served here, for the audit retention job and readiness.
    let mut databases: Vec<Pool> = Vec::new();
    // One watch of identity's feed per process: its lease lets every service here answer
    // from caches.
    let watch = UserWatch::new(
        required_peer(&options, Service::Identity, &local)?,
        &options.service_token,
        WatchConfig {
            name: format!("{}@{}", names_of(&options.services), options.watch.name),
            ..options.watch.clone()
        },
        Arc::clone(&options.clock),
    );
    metrics.watch_feed(Arc::clone(&watch));
    let authenticator = |identity: tonic::transport::Channel| {
        Authenticator::new(identity, options.service_token.clone()).cached_by(Arc::clone(&watch))
    };
    // Identity's streams end when shutdown begins, so the drain does not wait for them.
    let mut watched: Vec<Arc<Identity>> = Vec::new();
    for service in &options.services {
        match service {
            Service::Identity => {
                let membership = peer_channel(
                    &options,
                    Service::Membership,
                    options.membership_url.as_ref(),
                    &local,
                )?;
                let administration = membership.map(|channel| {
                    AdministrationCheck::new(channel, options.service_token.clone())
                });
                let (identity, pool) = identity_with_pool(&options, administration).await?;
                let identity = Arc::new(identity.cached_by(Arc::clone(&watch)));
                watched.push(Arc::clone(&identity));
                metrics.watch_pool("identity", pool.clone());
                let listen_url = pool.listen_url().to_owned();
                outboxes.push(("identity", pool));
                routes = routes.add_service(
                    IdentityApi::new(Arc::clone(&identity), options.service_token.clone())
                        .into_server(),
                );
                names.push(roster_identity::SERVICE_NAME);
                costly.extend(roster_identity::COSTLY_METHODS);
                let (janitor, stop) = (Arc::clone(&identity), stopped());
                workers.push(tokio::spawn(async move {
                    janitor.run_janitor(Duration::from_secs(600), stop).await;
                }));
                let stop = stopped();
                workers.push(tokio::spawn(async move {
                    identity.run_change_listener(&listen_url, stop).await;
                }));
            }
            Service::Membership => {
                let identity = required_peer(&options, Service::Identity, &local)?;
                let invitation = peer_channel(
                    &options,
                    Service::Invitation,
                    options.invitation_url.as_ref(),
                    &local,
                )?;
                let (membership, pool) =
                    open_membership(&options, identity.clone(), invitation, Arc::clone(&watch))
                        .await?;
                membership.keep_user_copy();
                metrics.watch_pool("membership", pool.clone());
                let sampled = Arc::clone(&membership);
                metrics.watch_saga("member_removal", move || {
                    let membership = Arc::clone(&sampled);
                    Box::pin(async move { membership.removal_queue().await })
                });
                outboxes.push(("membership", pool));
                routes = routes.add_service(
                    MembershipApi::new(Arc::clone(&membership), authenticator(identity))
                        .into_server(),
                );
                names.push(roster_membership::SERVICE_NAME);
                let (remover, listener) = (Arc::clone(&membership), membership);
                let (stop_remover, stop_listener) = (stopped(), stopped());
                workers.push(tokio::spawn(async move {
                    remover.run_removal_worker(stop_remover).await;
                }));
                workers.push(tokio::spawn(async move {
                    listener.run_change_listener(stop_listener).await;
                }));
            }
            Service::Invitation => {
                let identity = required_peer(&options, Service::Identity, &local)?;
                let membership = required_peer(&options, Service::Membership, &local)?;
                let (invitations, pool) =
                    open_invitation(&options, identity.clone(), membership, Arc::clone(&watch))
                        .await?;
                metrics.watch_pool("invitation", pool.clone());
                outboxes.push(("invitation", pool));
                routes = routes.add_service(
                    InvitationApi::new(Arc::clone(&invitations), authenticator(identity))
                        .into_server(),
                );
                names.push(roster_invitation::SERVICE_NAME);
                costly.extend(roster_invitation::COSTLY_METHODS);
                let stop = stopped();
                workers.push(tokio::spawn(async move {
                    invitations.run_cleanup(stop).await;
                }));
            }
            Service::Notification => {
                let identity = required_peer(&options, Service::Identity, &local)?;
                let pool = migrated_notification_pool(&options).await?;
                databases.push(pool.clone());
                metrics.watch_pool("notification", pool.clone());
                let notifications = Arc::new(
                    Notifications::new(
                        pool,
                        Arc::clone(&options.clock),
                        options.notification.clone(),
                    )?
                    .counting(metrics.deliveries()),
                );
                routes = routes.add_service(
                    NotificationApi::new(Arc::clone(&notifications), authenticator(identity))
                        .into_server(),
                );
                names.push(roster_notification::SERVICE_NAME);
                let stop = stopped();
                workers.push(tokio::spawn(async move {
                    notifications.run_delivery(stop).await;
                }));
            }
        }
    }
    databases.extend(outboxes.iter().map(|(_, pool)| pool.clone()));
    for (service, pool) in &outboxes {
        metrics.watch_outbox(service, pool.clone());
    }
    if let Some(keep) = options.audit_retention {
        for pool in databases.clone() {
            let (clock, interval, stop) = (
                Arc::clone(&options.clock),
                options.audit_retention_interval,
                stopped(),
            );
            workers.push(tokio::spawn(roster_kit::audit::run_retention(
                pool, clock, keep, interval, stop,
            )));
        }
    }
    let notification = peer_channel(
        &options,
        Service::Notification,
        options.notification_url.as_ref(),
        &local,
    )?;
    match notification {
        Some(channel) => {
            for (service, pool) in outboxes {
                let relay = Relay::new(
                    service,
                    pool,
                    Arc::clone(&options.clock),
                    channel.clone(),
                    options.service_token.clone(),
                    options.relay.clone(),
                );
                let stop = stopped();
                workers.push(tokio::spawn(async move { relay.run(stop).await }));
            }
        }
        None if !outboxes.is_empty() => {
            warn!("no notification service (ROSTER_NOTIFICATION_URL): emails wait in the outboxes")
        }
        None => {}
    }
    let (follower, stop) = (Arc::clone(&watch), stopped());
    workers.push(tokio::spawn(async move { follower.run(stop).await }));
    let internal = internal.serve(routes.clone(), &options.server, &metrics)?;
    // Up for the drain too: how it goes is worth watching.
    let metrics_server = metrics_listener.map(|listener| metrics.serve(listener));
    let shutdown = async move {
        shutdown.await;
        for identity in &watched {
            identity.close_watches();
        }
    };
    let served = roster_kit::server::serve(
        listener,
        routes,
        &names,
        databases,
        &costly,
        &options.server,
        &metrics,
        shutdown,
    )
    .await;
    let _ = stop_workers.send(true);
    for worker in workers {
        worker
            .await
            .map_err(|e| Error::internal("background worker", e))?;
    }
    // Last: the workers' own calls between services go through it.
    internal.stop().await?;
    if let Some(metrics_server) = metrics_server {
        metrics_server.stop().await?;
    }
    served
}
