//! The `roster` command line: serve any set of Roster's services, run migrations, bootstrap
//! an operator. The `roster` binary is this; so is the test harness's child process.
use crate::{Options, Service};
use clap::{Parser, Subcommand};
use roster_kit::config::{ServerConfig, redact_url};
use tokio::net::TcpListener;
use tracing::info;

/// Roster: workspace user management over gRPC.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the named services on one port (migrating their schemas first).
    Serve {
        /// `all`, or a comma-separated list such as `identity`.
        #[arg(long, default_value = "all")]
        services: String,
        /// Address to listen on [env: ROSTER_LISTEN; default 127.0.0.1:50051].
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Runs the named services' migrations and exits.
    Migrate {
        /// `all`, or a comma-separated list.
        #[arg(long, default_value = "all")]
        services: String,
    },
    /// Creates the first platform operator and prints a one-time API key.
    Bootstrap {
        /// The operator's email.
        #[arg(long)]
        operator_email: String,
        /// The operator's display name.
        #[arg(long, default_value = "Operator")]
        display_name: String,
    },
}

/// Runs the command line given to this process.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(main_async(cli)),
        Err(error) => {
            eprintln!("roster: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn main_async(cli: Cli) -> std::process::ExitCode {
    let _telemetry = match roster_kit::telemetry::init("roster") {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("roster: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match run(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "roster failed");
            eprintln!("roster: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> roster_kit::Result<()> {
    match command {
        Command::Serve { services, listen } => {
            let mut options = Options::from_env(Service::parse_list(&services)?)?;
            if let Some(listen) = listen {
                options.server.listen = listen;
            }
            log_configuration(&options);
            let listener = TcpListener::bind(options.server.listen)
                .await
                .map_err(|e| {
                    roster_kit::Error::internal(
                        format!("listening on {}", options.server.listen),
                        e,
                    )
                })?;
            crate::serve(listener, options, roster_kit::server::shutdown_signal()).await
        }
        Command::Migrate { services } => {
            let options = Options::from_env(Service::parse_list(&services)?)?;
            crate::migrate(&options).await?;
            info!("migrations done");
            Ok(())
        }
        Command::Bootstrap {
            operator_email,
            display_name,
        } => {
            let options = Options::from_env(vec![Service::Identity])?;
            let identity = crate::open_identity(&options, None).await?;
            let (user, api_key) = identity
                .bootstrap_operator(&operator_email, &display_name)
                .await?;
            println!("operator {} ({})", user.email, user.user_id);
            println!("api key (shown once): {api_key}");
            Ok(())
        }
    }
}

fn log_configuration(options: &Options) {
    let ServerConfig {
        listen,
        request_timeout,
        max_concurrent_requests,
        max_request_bytes,
        admission_concurrency,
        admission_queue,
        drain_timeout,
        cors_allowed_origins,
        metrics_listen,
    } = &options.server;
    let services: Vec<_> = options.services.iter().map(|s| s.name()).collect();
    let databases: Vec<_> = options
        .services
        .iter()
        .map(|s| redact_url(&options.databases.url(*s)))
        .collect();
    info!(
        %listen, ?request_timeout, max_concurrent_requests, max_request_bytes, admission_concurrency, admission_queue, ?drain_timeout, ?cors_allowed_origins, ?metrics_listen, ?services, ?databases,
        pool_size = options.pool.max_size, db_timeout = ?options.pool.timeout,
        identity = ?options.identity, membership = ?options.membership, invitation = ?options.invitation, notification = ?options.notification, relay = ?options.relay,
        identity_url = ?options.identity_url, membership_url = ?options.membership_url, invitation_url = ?options.invitation_url, notification_url = ?options.notification_url, service_token = ?options.service_token, audit_retention = ?options.audit_retention,
        "configuration"
    );
}
