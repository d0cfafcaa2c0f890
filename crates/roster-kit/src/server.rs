//! Serving gRPC: health, reflection, the request edge (deadlines, size limit, field bounds),
//! a concurrency limit, tracing and graceful shutdown (in-flight calls finish; health turns
//! NOT_SERVING first).
//!
//! Health answers readiness for the overall service ("") and each service name: NOT_SERVING
//! while a database of the process cannot be reached, or once shutdown began. The service
//! name [`LIVENESS`] answers SERVING for as long as the process serves at all, so a
//! liveness probe does not restart a process that only waits for its database.
use std::future::Future;
use std::time::Duration;

use deadpool_postgres::Pool;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tower::limit::GlobalConcurrencyLimitLayer;
use tracing::info;

use crate::config::ServerConfig;
use crate::edge::{Edge, EdgeLayer};
use crate::error::{Error, Result};
use crate::telemetry::request_span;

/// The health service name that answers liveness rather than readiness.
pub const LIVENESS: &str = "liveness";

/// How often readiness asks each database, and how long one ask may take.
const READINESS_PROBE: Duration = Duration::from_secs(1);

/// Whether `pool`'s database answers now. A pool whose every connection is busy counts as
/// reachable: readiness is about the database, not about load.
async fn database_reachable(pool: &Pool) -> bool {
    match tokio::time::timeout(READINESS_PROBE, pool.get()).await {
        Ok(Ok(client)) => tokio::time::timeout(READINESS_PROBE, client.simple_query("SELECT 1"))
            .await
            .is_ok_and(|answer| answer.is_ok()),
        Ok(Err(_)) => false,
        Err(_) => {
            let status = pool.status();
            status.available == 0 && status.size >= status.max_size
        }
    }
}

/// Sets every readiness name to `status`.
async fn set_readiness(
    health: &tonic_health::server::HealthReporter,
    names: &[String],
    status: ServingStatus,
) {
    for name in names.iter().map(String::as_str).chain(std::iter::once("")) {
        health.set_service_status(name, status).await;
    }
}

/// Serves `routes` (whose gRPC names are `service_names`) on `listener` until `shutdown`
/// completes, then waits for in-flight calls. Readiness follows `databases`.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    service_names: &[&str],
    databases: Vec<Pool>,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
    let names: Vec<String> = service_names.iter().map(|s| (*s).to_owned()).collect();
    set_readiness(&health, &names, ServingStatus::Serving).await;
    health
        .set_service_status(LIVENESS, ServingStatus::Serving)
        .await;
    let probe = {
        let (health, names) = (health.clone(), names.clone());
        tokio::spawn(async move {
            let mut ready = true;
            loop {
                tokio::time::sleep(READINESS_PROBE).await;
                let mut now_ready = true;
                for pool in &databases {
                    if !database_reachable(pool).await {
                        now_ready = false;
                        break;
                    }
                }
                if now_ready != ready {
                    ready = now_ready;
                    if ready {
                        info!("databases reachable again: ready");
                    } else {
                        tracing::warn!("a database is unreachable: not ready");
                    }
                    let status = if ready {
                        ServingStatus::Serving
                    } else {
                        ServingStatus::NotServing
                    };
                    set_readiness(&health, &names, status).await;
                }
            }
        })
    };
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(roster_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| Error::internal("building reflection", e))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(roster_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| Error::internal("building reflection", e))?;
    let routes = routes
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    let address = listener
        .local_addr()
        .map_err(|e| Error::internal("reading the listen address", e))?;
    info!(%address, services = ?service_names, "serving");
    let draining = async move {
        shutdown.await;
        info!("shutting down: finishing in-flight calls");
        probe.abort();
        set_readiness(&health, &names, ServingStatus::NotServing).await;
    };
    let edge = Edge::new(config.max_request_bytes, config.request_timeout)?;
    Server::builder()
        .layer(EdgeLayer::new(edge))
        .layer(GlobalConcurrencyLimitLayer::new(
            config.max_concurrent_requests,
        ))
        .trace_fn(request_span)
        .add_routes(routes)
        // Without TCP_NODELAY a response's trailers wait ~40 ms for the client's ACK.
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            draining,
        )
        .await
        .map_err(|e| Error::internal("serving", e))
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
