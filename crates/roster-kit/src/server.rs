//! Serving gRPC: health, reflection, the request edge (deadlines, size limit, field bounds,
//! admission), tracing, gRPC-Web for browsers and graceful shutdown.
//!
//! The outside port speaks gRPC over HTTP/2 and gRPC-Web over HTTP/1.1 or HTTP/2, so a web
//! console calls Roster without a proxy; CORS answers for the origins configured
//! ([`CorsOrigins`]), and lets pages read the status trailers that carry errors.
//!
//! Shutdown drains in order: health turns NOT_SERVING, the outside server stops taking calls
//! and lets those in flight finish (at most the drain timeout), and only then does the
//! in-process server stop — the one through which this process's services call each other
//! ([`internal`]), so a call in flight can still make the calls it needs.
//!
//! Health answers readiness for the overall service ("") and each service name: NOT_SERVING
//! while a database of the process cannot be reached, or once shutdown began. The service
//! name [`LIVENESS`] answers SERVING for as long as the process serves at all, so a
//! liveness probe does not restart a process that only waits for its database.
use std::future::Future;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::io::DuplexStream;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::StreamExt as _;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::ServingStatus;
use tonic_web::GrpcWebLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::{info, warn};

use crate::config::{CorsOrigins, ServerConfig};
use crate::db::{GenericClient as _, Pool};
use crate::edge::{Admission, Edge, EdgeLayer};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::telemetry::request_span;

/// The health service name that answers liveness rather than readiness.
pub const LIVENESS: &str = "liveness";

/// How often readiness asks each database, and how long one ask may take.
const READINESS_PROBE: Duration = Duration::from_secs(1);

/// Whether `pool`'s database answers now. A pool whose every connection is busy counts as
/// reachable: readiness is about the database, not about load.
async fn database_reachable(pool: &Pool) -> bool {
    match tokio::time::timeout(READINESS_PROBE, pool.get()).await {
        Ok(Ok(client)) => tokio::time::timeout(READINESS_PROBE, client.batch_execute("SELECT 1"))
            .await
            .is_ok_and(|answer| answer.is_ok()),
        Ok(Err(_)) => false,
        Err(_) => {
            let status = pool.status();
            status.available == 0 && status.size >= status.max_size
        }
    }
}

/// How long a browser may reuse a CORS preflight's answer.
const CORS_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The CORS answer for `origins`: gRPC-Web's POSTs with the headers a gRPC-Web client and
/// Roster's callers send, and the trailers a page must read to see a call's status.
fn cors(origins: &CorsOrigins) -> Result<CorsLayer> {
    let allow_origin = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(origins) => AllowOrigin::list(
            origins
                .iter()
                .map(|origin| http::HeaderValue::from_str(origin))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::invalid("ROSTER_CORS_ALLOWED_ORIGINS", e.to_string()))?,
        ),
    };
    let header = http::HeaderName::from_static;
    Ok(CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([http::Method::POST])
        .allow_headers([
            header("content-type"),
            header("authorization"),
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
            header("traceparent"),
            header("tracestate"),
            header(crate::db::replica::HEADER),
        ])
        .expose_headers([
            header("grpc-status"),
            header("grpc-message"),
            header("grpc-status-details-bin"),
            header(crate::db::replica::HEADER),
        ])
        .max_age(CORS_MAX_AGE))
}

/// Each direction's buffer of an in-process connection.
const IN_PROCESS_BUFFER: usize = 256 << 10;

/// The in-process server's side of [`internal`]: the connections its channels open.
#[derive(Debug)]
pub struct Internal {
    connections: mpsc::UnboundedReceiver<DuplexStream>,
}

/// Opens connections to this process's in-process server.
#[derive(Debug, Clone)]
pub struct InternalLink {
    connections: mpsc::UnboundedSender<DuplexStream>,
}

/// The in-process server for calls between services of one process, and its link.
pub fn internal() -> (InternalLink, Internal) {
    let (sender, connections) = mpsc::unbounded_channel();
    (
        InternalLink {
            connections: sender,
        },
        Internal { connections },
    )
}

impl InternalLink {
    /// A channel to the in-process server, each call bounded by `timeout` (and by the
    /// deadline of the call that makes it).
    pub fn channel(&self, timeout: Duration) -> Channel {
        let connections = self.connections.clone();
        Endpoint::from_static("http://in-process")
            .connect_timeout(timeout)
            .timeout(timeout)
            .connect_with_connector_lazy(tower::service_fn(move |_: http::Uri| {
                let (client, server) = tokio::io::duplex(IN_PROCESS_BUFFER);
                let sent = connections.send(server).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::BrokenPipe,
                        "the in-process server has stopped",
                    )
                });
                async move { sent.map(|()| TokioIo::new(client)) }
            }))
    }
}

/// The in-process server, running until [`RunningInternal::stop`].
#[derive(Debug)]
pub struct RunningInternal {
    stop: oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::result::Result<(), tonic::transport::Error>>,
}

impl Internal {
    /// Serves `routes` to this process's own services: the edge's deadlines and bounds,
    /// without admission (its calls serve calls already admitted outside), its calls
    /// measured into `metrics` as `in_process`.
    pub fn serve(
        self,
        routes: Routes,
        config: &ServerConfig,
        metrics: &Metrics,
    ) -> Result<RunningInternal> {
        let edge = Edge::new(config.max_request_bytes, config.request_timeout)?
            .measured(metrics.rpc("in_process"));
        let (stop, stopped) = oneshot::channel::<()>();
        let incoming = tokio_stream::wrappers::UnboundedReceiverStream::new(self.connections)
            .map(Ok::<_, std::io::Error>);
        let served = tokio::spawn(
            Server::builder()
                .layer(EdgeLayer::new(edge))
                .trace_fn(request_span)
                .add_routes(routes)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                }),
        );
        Ok(RunningInternal { stop, served })
    }
}

impl RunningInternal {
    /// Stops taking calls, lets those in flight finish, and returns.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.served
            .await
            .map_err(|e| Error::internal("the in-process server", e))?
            .map_err(|e| Error::internal("serving in process", e))
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
/// completes, then lets in-flight calls finish, for at most the drain timeout. Readiness
/// follows `databases`; the `costly` methods (gRPC paths) queue for admission. Calls are
/// measured into `metrics` as `outside`.
// Each argument is one thing the outside server takes from its process; a struct would
// only name them twice.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    service_names: &[&str],
    databases: Vec<Pool>,
    costly: &[&str],
    config: &ServerConfig,
    metrics: &Metrics,
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
    let (drain_started, draining_since) = oneshot::channel::<()>();
    let draining = async move {
        shutdown.await;
        info!("shutting down: finishing in-flight calls");
        probe.abort();
        set_readiness(&health, &names, ServingStatus::NotServing).await;
        let _ = drain_started.send(());
    };
    let edge = Edge::new(config.max_request_bytes, config.request_timeout)?
        .admitting(Admission::new(
            config.max_concurrent_requests,
            costly,
            config.admission_concurrency,
            config.admission_queue,
        ))
        .measured(metrics.rpc("outside"));
    let served = Server::builder()
        .accept_http1(true)
        .layer(cors(&config.cors_allowed_origins)?)
        .layer(GrpcWebLayer::new())
        .layer(EdgeLayer::new(edge))
        .trace_fn(request_span)
        .add_routes(routes)
        // Without TCP_NODELAY a response's trailers wait ~40 ms for the client's ACK.
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            draining,
        );
    let drain_timeout = async {
        if draining_since.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(config.drain_timeout).await;
    };
    tokio::select! {
        served = served => served.map_err(|e| Error::internal("serving", e)),
        () = drain_timeout => {
            warn!(timeout = ?config.drain_timeout, "calls still in flight at the drain timeout are cut");
            Ok(())
        }
    }
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
