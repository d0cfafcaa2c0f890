//! `example-custodian`: the reference asset custodian, configured from the environment.
use std::process::ExitCode;

use roster_example_custodian::{Config, Custodian};

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let listen = var("CUSTODIAN_LISTEN", "127.0.0.1:50061");
    let config = Config {
        database_url: var(
            "CUSTODIAN_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        roster_url: var("ROSTER_URL", "http://127.0.0.1:50051"),
        roster_api_key: var("ROSTER_API_KEY", ""),
        custodian_token: var("CUSTODIAN_TOKEN", ""),
        kinds: var("CUSTODIAN_KINDS", "flow,dataset")
            .split(',')
            .map(|kind| kind.trim().to_owned())
            .filter(|kind| !kind.is_empty())
            .collect(),
        batch_size: var("CUSTODIAN_BATCH_SIZE", "500").parse().unwrap_or(500),
    };
    if config.custodian_token.is_empty() || config.roster_api_key.is_empty() {
        eprintln!("example-custodian: set CUSTODIAN_TOKEN and ROSTER_API_KEY");
        return ExitCode::FAILURE;
    }
    let started = async {
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        tracing::info!(%listen, kinds = ?config.kinds, "custodian listening");
        let custodian = Custodian::start(config).await?;
        custodian
            .serve(listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    };
    match started.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("example-custodian: {error}");
            ExitCode::FAILURE
        }
    }
}
