//! Serving gRPC: health, reflection, the request edge (deadlines, size limit, field bounds),
//! a concurrency limit, tracing and graceful shutdown (in-flight calls finish; health turns
//! NOT_SERVING first).
use std::future::Future;

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

/// Serves `routes` (whose gRPC names are `service_names`) on `listener` until `shutdown`
/// completes, then waits for in-flight calls.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    service_names: &[&str],
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in service_names.iter().chain(std::iter::once(&"")) {
        health
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
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
    let names: Vec<String> = service_names.iter().map(|s| (*s).to_owned()).collect();
    let draining = async move {
        shutdown.await;
        info!("shutting down: finishing in-flight calls");
        for name in names.iter().map(String::as_str).chain(std::iter::once("")) {
            health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
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
