//! Logs, traces and W3C trace context.
//!
//! Logs are human-readable or JSON (`ROSTER_LOG_FORMAT`), filtered by `ROSTER_LOG`
//! (`RUST_LOG` syntax). Spans at info and above are OpenTelemetry spans, exported over OTLP
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, whatever `ROSTER_LOG` keeps of the logs.
//! Incoming `traceparent` metadata becomes the parent of the request's span; outgoing calls
//! carry the current span's context, and so do outbox rows ([`current_traceparent`]), so
//! an email's hand-over to the notification service continues the trace that wrote it.
use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tonic::codegen::http;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::{
    EnvFilter, Layer as _, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

use crate::config;
use crate::error::{Error, Result};

/// Keeps the trace exporter alive; flushes it when dropped.
#[derive(Debug)]
pub struct TelemetryGuard(SdkTracerProvider);

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.0.shutdown();
    }
}

/// Installs the global logger and tracer for `service_name`.
pub fn init(service_name: &str) -> Result<TelemetryGuard> {
    let mut provider = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name(service_name.to_owned())
            .build(),
    );
    if config::optional("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| Error::internal("building the OTLP exporter", e))?;
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();
    // Each layer filters on its own: quieter logs must not cut the spans of a trace.
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("roster"))
        .with_filter(LevelFilter::INFO);
    let filter = || {
        EnvFilter::try_new(config::optional("ROSTER_LOG").unwrap_or_else(|| "info".to_owned()))
            .map_err(|e| Error::internal("ROSTER_LOG", e))
    };
    let json =
        config::optional("ROSTER_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(otel_layer);
    let installed = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_filter(filter()?),
            )
            .try_init()
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_filter(filter()?))
            .try_init()
    };
    installed.map_err(|e| Error::internal("installing the logger", e))?;
    Ok(TelemetryGuard(provider))
}

/// The span of one incoming gRPC request, child of the caller's `traceparent` if sent.
pub fn request_span(request: &http::Request<()>) -> Span {
    let span = tracing::info_span!("grpc.request", rpc.method = %request.uri().path());
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(request.headers()));
    // Fails only when no OpenTelemetry layer is installed (as in some tests): nothing to join.
    let _ = span.set_parent(parent);
    span
}

/// Puts the current span's trace context on an outgoing request's metadata.
pub fn inject_trace_context(metadata: &mut MetadataMap) {
    let context = Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut MetadataInjector(metadata));
}

/// The W3C `traceparent` of the current span, when it belongs to a trace.
pub fn current_traceparent() -> Option<String> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&Span::current().context(), &mut carrier);
    carrier.remove("traceparent")
}

/// `span`, made a child of the span `traceparent` names (kept from an earlier request);
/// without one, it starts a trace of its own.
pub fn continuing(span: Span, traceparent: Option<&str>) -> Span {
    if let Some(traceparent) = traceparent {
        let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
        // Fails only when no OpenTelemetry layer is installed: nothing to join.
        let _ = span.set_parent(TraceContextPropagator::new().extract(&carrier));
    }
    span
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_trace_context_reaches_outgoing_calls() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            let request = http::Request::builder()
                .uri("/roster.identity.v1.IdentityService/GetUser")
                .header("traceparent", incoming)
                .body(())
                .expect("request");
            let span = request_span(&request);
            let _entered = span.enter();
            let mut outgoing = MetadataMap::new();
            inject_trace_context(&mut outgoing);
            let traceparent = outgoing
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            assert!(
                traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{traceparent}"
            );
            assert!(
                !traceparent.contains("00f067aa0ba902b7"),
                "outgoing calls are children of this span"
            );
        });
    }

    #[test]
    fn a_kept_traceparent_is_continued_later() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let kept = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            let span = continuing(tracing::info_span!("later"), Some(kept));
            let _entered = span.enter();
            let now = current_traceparent().unwrap_or_default();
            assert!(
                now.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{now}"
            );
            assert!(
                !now.contains("00f067aa0ba902b7"),
                "a child, not the kept span"
            );
        });
        assert_eq!(current_traceparent(), None, "outside any trace");
    }
}
