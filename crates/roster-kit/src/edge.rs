//! The edge of every Roster server: what a request must satisfy before any handler runs.
//!
//! - its deadline (the caller's `grpc-timeout` or the server's request timeout, whichever
//!   is sooner) ends it with `DEADLINE_EXCEEDED`;
//! - a request message over the size limit is `RESOURCE_EXHAUSTED`;
//! - every string, list and map of a request is held to the bounds its proto declares
//!   (`roster.type.v1.max_length`, `max_items`, `multiline`): a value over its bound, or a
//!   string with NUL or another control character, is `INVALID_ARGUMENT` with a
//!   `BadRequest` violation naming the field and the limit.
//!
//! The checks read the request against the descriptor set, so a new RPC or field is held to
//! its bounds without code of its own. Every call, refused here or served, is counted by
//! method and status code and timed ([`crate::metrics`]).
//!
//! At the outside edge, [`Admission`] also bounds what is served at once: calls over the
//! process's limit, and costly calls that cannot get a turn within half their remaining
//! deadline, are refused at once with `RESOURCE_EXHAUSTED` and a retry hint, so a burst is
//! shed at the door instead of timing out half-done inside. Calls between Roster's services
//! in one process come through an edge without admission: they serve calls already admitted.
//!
//! The deadline of the call being served is known to its task ([`deadline`]), and every call
//! a Roster service makes to another carries what is left of it.
use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use bytes::{Buf as _, Bytes};
use http_body_util::BodyExt as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, MapKey, MessageDescriptor, Value,
};
use tonic::body::Body;
use tonic::{Code, Status};

use crate::db::replica;
use crate::error::{Error, Violations, quote};
use crate::metrics::RpcMetrics;
use roster_proto::types::ErrorReason;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// The deadline of the call this task serves, if it serves one.
pub fn deadline() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok()
}

/// How much sooner than the caller's `grpc-timeout` the edge ends a call. tonic's own timer
/// for that header starts first and answers `CANCELLED`; ending a timer tick earlier makes
/// the caller read `DEADLINE_EXCEEDED`.
const TIMER_MARGIN: Duration = Duration::from_millis(1);

/// How many calls the outside edge serves at once, and which calls are costly enough to
/// queue for a turn of their own.
#[derive(Debug)]
pub struct Admission {
    in_flight: Arc<Semaphore>,
    costly: HashSet<String>,
    turns: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
    queue_limit: usize,
}

/// What an admitted call holds while it is served.
#[derive(Debug)]
struct Admitted {
    _in_flight: OwnedSemaphorePermit,
    _turn: Option<OwnedSemaphorePermit>,
}

/// One place in the queue of costly calls, given back however the wait ends.
struct Queued(Arc<AtomicUsize>);

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn shed(message: &str) -> Status {
    Error::refused(ErrorReason::Overloaded, message)
        .with_metadata("retry_after_seconds", "1")
        .into()
}

impl Admission {
    /// At most `max_in_flight` calls at once; the `costly` methods (gRPC paths) at most
    /// `concurrency` at once, with at most `queue_limit` waiting.
    pub fn new(
        max_in_flight: usize,
        costly: &[&str],
        concurrency: usize,
        queue_limit: usize,
    ) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
            costly: costly.iter().map(|path| (*path).to_owned()).collect(),
            turns: Arc::new(Semaphore::new(concurrency.max(1))),
            queued: Arc::new(AtomicUsize::new(0)),
            queue_limit,
        }
    }

    /// Admits a call to `path` that must end by `deadline`, or sheds it.
    async fn enter(&self, path: &str, deadline: Instant) -> Result<Admitted, Status> {
        let in_flight = Arc::clone(&self.in_flight)
            .try_acquire_owned()
            .map_err(|_| shed("this server is serving as many calls as it can; retry shortly"))?;
        if !self.costly.contains(path) {
            return Ok(Admitted {
                _in_flight: in_flight,
                _turn: None,
            });
        }
        let busy = || shed("too many costly calls are waiting; retry shortly");
        let turn = match Arc::clone(&self.turns).try_acquire_owned() {
            Ok(turn) => turn,
            Err(_) => {
                if self.queued.fetch_add(1, Ordering::AcqRel) >= self.queue_limit {
                    self.queued.fetch_sub(1, Ordering::AcqRel);
                    return Err(busy());
                }
                let _queued = Queued(Arc::clone(&self.queued));
                // Half the time left for waiting, half for the work: a call that would only
                // start near its deadline is refused now instead of timing out inside.
                let patience = deadline.saturating_duration_since(Instant::now()) / 2;
                tokio::time::timeout(patience, Arc::clone(&self.turns).acquire_owned())
                    .await
                    .map_err(|_| busy())?
                    .map_err(|_| busy())?
            }
        };
        Ok(Admitted {
            _in_flight: in_flight,
            _turn: Some(turn),
        })
    }
}

/// The bounds a field declares, read once from the descriptor set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bounds {
    /// The longest string, in characters (`max_length`).
    pub max_length: Option<u32>,
    /// The most entries of a list or map (`max_items`).
    pub max_items: Option<u32>,
    /// Whether newlines and tabs are allowed (`multiline`).
    pub multiline: bool,
}

/// Bounds for fields that cannot carry options (well-known types such as `FieldMask` and
/// `Struct`): generous, but finite.
const UNDECLARED: Bounds = Bounds {
    max_length: Some(2_000),
    max_items: Some(100),
    multiline: true,
};

/// The request schemas and limits every server applies.
#[derive(Debug)]
pub struct Edge {
    methods: HashMap<String, MessageDescriptor>,
    bounds: HashMap<String, Bounds>,
    max_request_bytes: usize,
    request_timeout: Duration,
    admission: Option<Admission>,
    rpc: Option<RpcMetrics>,
    writers: replica::Writers,
}

impl Edge {
    /// The edge for Roster's protos, with the given request size limit and timeout.
    pub fn new(max_request_bytes: usize, request_timeout: Duration) -> Result<Self, Error> {
        let pool = DescriptorPool::decode(roster_proto::FILE_DESCRIPTOR_SET)
            .map_err(|e| Error::internal("reading the descriptor set", e))?;
        let methods = pool
            .services()
            .flat_map(|service| service.methods().collect::<Vec<_>>())
            .filter(|method| !method.is_client_streaming())
            .map(|method| {
                (
                    format!("/{}/{}", method.parent_service().full_name(), method.name()),
                    method.input(),
                )
            })
            .collect();
        Ok(Self {
            bounds: declared_bounds(&pool),
            methods,
            max_request_bytes,
            request_timeout,
            admission: None,
            rpc: None,
            writers: replica::Writers::default(),
        })
    }

    /// This edge, bounding what it serves at once by `admission`.
    #[must_use]
    pub fn admitting(mut self, admission: Admission) -> Self {
        self.admission = Some(admission);
        self
    }

    /// This edge, recording every call's method, code and latency into `rpc`; refusals at
    /// the edge included, and the wait for admission counts toward latency.
    #[must_use]
    pub fn measured(mut self, rpc: RpcMetrics) -> Self {
        self.rpc = Some(rpc);
        self
    }

    /// The bounds a field declares.
    pub fn bounds(&self, field: &FieldDescriptor) -> Bounds {
        self.bounds
            .get(field.full_name())
            .copied()
            .unwrap_or(UNDECLARED)
    }

    /// Decodes a request message of type `input` as tonic will (see [`crate::wire`]) and
    /// checks it against its fields' bounds.
    pub fn decode_message(
        &self,
        input: &MessageDescriptor,
        bytes: &[u8],
    ) -> Result<DynamicMessage, Error> {
        let message = DynamicMessage::decode(input.clone(), bytes)
            .ok()
            .filter(|_| crate::wire::maps_are_length_delimited(input, bytes))
            .ok_or_else(|| Error::invalid("", "the request is not a valid protobuf message"))?;
        self.check_message(&message)?;
        Ok(message)
    }

    /// Checks one request message against its fields' bounds.
    pub fn check_message(&self, message: &DynamicMessage) -> Result<(), Error> {
        let mut violations = Violations::new();
        self.check_fields(message, "", &mut violations);
        violations.finish()
    }

    fn check_fields(&self, message: &DynamicMessage, prefix: &str, violations: &mut Violations) {
        for (field, value) in message.fields() {
            let path = if prefix.is_empty() {
                field.name().to_owned()
            } else {
                format!("{prefix}.{}", field.name())
            };
            let bounds = self.bounds(&field);
            match value {
                Value::List(items) => {
                    check_count(&path, items.len(), bounds, violations);
                    for (i, item) in items.iter().enumerate() {
                        self.check_value(&format!("{path}[{i}]"), item, bounds, violations);
                    }
                }
                Value::Map(entries) => {
                    check_count(&path, entries.len(), bounds, violations);
                    for (key, item) in entries {
                        let entry = match key {
                            MapKey::String(key) => {
                                check_text(&format!("{path} key"), key, bounds, violations);
                                format!("{path}[{}]", quote(key))
                            }
                            other => format!("{path}[{other:?}]"),
                        };
                        self.check_value(&entry, item, bounds, violations);
                    }
                }
                single => self.check_value(&path, single, bounds, violations),
            }
        }
    }

    fn check_value(&self, path: &str, value: &Value, bounds: Bounds, violations: &mut Violations) {
        match value {
            Value::String(text) => check_text(path, text, bounds, violations),
            Value::Message(message) => self.check_fields(message, path, violations),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.check_value(&format!("{path}[{i}]"), item, bounds, violations);
                }
            }
            _ => {}
        }
    }

    /// The deadline of a request: the caller's `grpc-timeout` (less [`TIMER_MARGIN`]),
    /// capped by the server's.
    fn deadline(&self, headers: &http::HeaderMap) -> Instant {
        let allowed = headers
            .get("grpc-timeout")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_grpc_timeout)
            .map_or(self.request_timeout, |asked| {
                asked.saturating_sub(TIMER_MARGIN).min(self.request_timeout)
            });
        Instant::now() + allowed
    }

    /// Reads, checks and puts back a unary request's message.
    async fn admit(&self, request: http::Request<Body>) -> Result<http::Request<Body>, Status> {
        let Some(input) = self.methods.get(request.uri().path()) else {
            return Ok(request);
        };
        let (parts, body) = request.into_parts();
        // The frame header (5 bytes) comes on top of the message.
        let limited = http_body_util::Limited::new(body, self.max_request_bytes + 5);
        let bytes = match limited.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                return Err(self.too_large());
            }
            // gRPC-Web's translation fails a body that is not what it says (bad base64).
            Err(error) if error.is::<Status>() => {
                return Err(
                    Error::invalid("", "the request body is not a gRPC-Web message").into(),
                );
            }
            Err(error) => return Err(Status::cancelled(format!("reading the request: {error}"))),
        };
        let message = self.unframe(bytes.clone())?;
        self.decode_message(input, &message).map_err(Status::from)?;
        Ok(http::Request::from_parts(
            parts,
            Body::new(http_body_util::Full::new(bytes)),
        ))
    }

    /// The message of a unary request's one gRPC frame.
    fn unframe(&self, mut bytes: Bytes) -> Result<Bytes, Status> {
        if bytes.len() < 5 {
            return Err(Error::invalid("", "the request carries no message").into());
        }
        let compressed = bytes.get_u8();
        let length = bytes.get_u32() as usize;
        if compressed != 0 {
            return Err(Status::unimplemented(
                "compressed requests are not accepted",
            ));
        }
        if length > self.max_request_bytes {
            return Err(self.too_large());
        }
        if length != bytes.len() {
            return Err(Error::invalid("", "a unary request carries exactly one message").into());
        }
        Ok(bytes)
    }

    fn too_large(&self) -> Status {
        Status::resource_exhausted(format!(
            "the request is larger than the {} bytes this server accepts",
            self.max_request_bytes
        ))
    }
}

fn check_count(path: &str, count: usize, bounds: Bounds, violations: &mut Violations) {
    if let Some(max) = bounds.max_items
        && count > max as usize
    {
        violations.add(path, format!("has more than {max} entries"));
    }
}

fn check_text(path: &str, text: &str, bounds: Bounds, violations: &mut Violations) {
    if let Some(max) = bounds.max_length
        && text.len() > max as usize
        && text.chars().count() > max as usize
    {
        violations.add(path, format!("is longer than {max} characters"));
        return;
    }
    let allowed = |c: char| bounds.multiline && matches!(c, '\n' | '\t' | '\r');
    if let Some((at, c)) = text
        .chars()
        .enumerate()
        .find(|&(_, c)| c.is_control() && !allowed(c))
    {
        violations.add(
            path,
            format!(
                "holds a control character (U+{:04X}) at character {at}",
                u32::from(c)
            ),
        );
    }
}

/// Every field's declared bounds, by full name.
fn declared_bounds(pool: &DescriptorPool) -> HashMap<String, Bounds> {
    let extension = |name: &str| pool.get_extension_by_name(&format!("roster.type.v1.{name}"));
    let (Some(max_length), Some(max_items), Some(multiline)) = (
        extension("max_length"),
        extension("max_items"),
        extension("multiline"),
    ) else {
        return HashMap::new();
    };
    let mut bounds = HashMap::new();
    for message in pool.all_messages() {
        for field in message.fields() {
            let options = field.options();
            let number = |ext| {
                options
                    .has_extension(ext)
                    .then(|| options.get_extension(ext).as_u32())
                    .flatten()
            };
            let declared = Bounds {
                max_length: number(&max_length),
                max_items: number(&max_items),
                multiline: options.get_extension(&multiline).as_bool().unwrap_or(false),
            };
            if declared != Bounds::default() {
                bounds.insert(field.full_name().to_owned(), declared);
            }
        }
    }
    bounds
}

/// Parses a `grpc-timeout` header value (`100m`, `5S`, ...).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// A tower layer putting [`Edge`] in front of a server's routes.
#[derive(Debug, Clone)]
pub struct EdgeLayer(Arc<Edge>);

impl EdgeLayer {
    /// The layer for `edge`.
    pub fn new(edge: Edge) -> Self {
        Self(Arc::new(edge))
    }
}

impl<S> tower::Layer<S> for EdgeLayer {
    type Service = EdgeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EdgeService {
            edge: Arc::clone(&self.0),
            inner,
        }
    }
}

/// The service [`EdgeLayer`] makes.
#[derive(Debug, Clone)]
pub struct EdgeService<S> {
    edge: Arc<Edge>,
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> tower::Service<http::Request<Body>> for EdgeService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone that was driven to readiness serves this call.
        let mut inner = self.inner.clone();
        std::mem::swap(&mut self.inner, &mut inner);
        let edge = Arc::clone(&self.edge);
        let deadline = edge.deadline(request.headers());
        let call = edge.rpc.as_ref().map(|rpc| rpc.start(request.uri().path()));
        // Only a process reading from replicas tracks what each call must read after.
        let caller = replica::in_use()
            .then(|| edge.writers.caller(request.headers()))
            .flatten();
        let tracked = match replica::in_use().then(|| edge.writers.call(request.headers(), caller))
        {
            Some(Ok(consistency)) => Some(Arc::new(consistency)),
            Some(Err(refused)) => {
                let refused = Status::from(refused).into_http();
                return Box::pin(async move { Ok(refused) });
            }
            None => None,
        };
        let writers = Arc::clone(&edge);
        let answered = DEADLINE.scope(deadline, async move {
            let served = async {
                let _admitted = match &edge.admission {
                    Some(admission) => {
                        match admission.enter(request.uri().path(), deadline).await {
                            Ok(admitted) => Some(admitted),
                            Err(status) => return Ok(status.into_http()),
                        }
                    }
                    None => None,
                };
                match edge.admit(request).await {
                    Ok(request) => inner.call(request).await,
                    Err(status) => Ok(status.into_http()),
                }
            };
            let answer = tokio::select! {
                biased;
                answer = served => answer,
                () = tokio::time::sleep_until(deadline) => Ok(Status::new(
                    Code::DeadlineExceeded,
                    "the deadline passed before the call finished",
                )
                .into_http()),
            };
            match call {
                Some(call) => answer.map(|response| call.answered(response)),
                None => answer,
            }
        });
        Box::pin(async move {
            let Some(consistency) = tracked else {
                return answered.await;
            };
            let mut answer = Arc::clone(&consistency).scope(answered).await;
            if let (Some(lsn), Ok(response)) = (consistency.written(), &mut answer) {
                if let Some(caller) = caller {
                    writers.writers.wrote(caller, lsn);
                }
                if lsn != replica::UNKNOWN
                    && let Ok(value) = http::HeaderValue::from_str(&replica::format_lsn(lsn))
                {
                    response.headers_mut().insert(replica::HEADER, value);
                }
            }
            answer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn admission_queues_costly_calls_for_half_their_deadline_and_sheds_the_rest_at_once() {
        let admission = Arc::new(Admission::new(2, &["/costly"], 1, 1));
        let deadline = Instant::now() + Duration::from_millis(400);
        let first = admission.enter("/costly", deadline).await.expect("a turn");
        let queued = {
            let admission = Arc::clone(&admission);
            tokio::spawn(async move {
                let started = Instant::now();
                let answer = admission.enter("/costly", deadline).await.map(drop);
                (answer, started.elapsed())
            })
        };
        while admission.queued.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        // The queue is full, and so is the process (two calls in flight): both shed at once.
        let started = Instant::now();
        let full = admission
            .enter("/costly", deadline)
            .await
            .expect_err("queue full");
        let busy = admission
            .enter("/cheap", deadline)
            .await
            .expect_err("in flight full");
        assert!(started.elapsed() < Duration::from_millis(50));
        for status in [full, busy] {
            assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        }
        let (answer, waited) = queued.await.expect("queued call");
        assert_eq!(
            answer.expect_err("no turn in time").code(),
            Code::ResourceExhausted
        );
        assert!(
            (Duration::from_millis(150)..Duration::from_millis(300)).contains(&waited),
            "waited {waited:?}: half the 400 ms left"
        );
        drop(first);
        admission
            .enter("/costly", Instant::now() + Duration::from_millis(400))
            .await
            .expect("a turn once the first call ended");
    }

    #[test]
    fn grpc_timeouts_parse() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("m"), None);
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("5x"), None);
    }

    /// Every string, list and map a request can carry (through its nested messages)
    /// declares its bound, so none is left to the generous default by accident.
    #[test]
    fn every_request_field_declares_its_bound() {
        let edge = Edge::new(1 << 20, Duration::from_secs(1)).expect("edge");
        let mut seen = std::collections::HashSet::new();
        let mut pending: Vec<MessageDescriptor> = edge.methods.values().cloned().collect();
        let mut undeclared = Vec::new();
        while let Some(message) = pending.pop() {
            if message.full_name().starts_with("google.")
                || !seen.insert(message.full_name().to_owned())
            {
                continue;
            }
            for field in message.fields() {
                let declared = edge
                    .bounds
                    .get(field.full_name())
                    .copied()
                    .unwrap_or_default();
                let needs_length = matches!(field.kind(), prost_reflect::Kind::String)
                    || field.is_map()
                        && field.kind().as_message().is_some_and(|entry| {
                            matches!(
                                entry.map_entry_value_field().kind(),
                                prost_reflect::Kind::String
                            )
                        });
                if needs_length && declared.max_length.is_none()
                    || (field.is_list() || field.is_map()) && declared.max_items.is_none()
                {
                    undeclared.push(field.full_name().to_owned());
                }
                if let Some(nested) = field.kind().as_message()
                    && !field.is_map()
                {
                    pending.push(nested.clone());
                }
            }
        }
        undeclared.sort();
        assert!(
            undeclared.is_empty(),
            "fields without bounds: {undeclared:#?}"
        );
    }

    #[test]
    fn strings_are_held_to_their_bounds() {
        let mut violations = Violations::new();
        let name = Bounds {
            max_length: Some(5),
            ..Bounds::default()
        };
        let text = Bounds {
            max_length: Some(20),
            multiline: true,
            ..Bounds::default()
        };
        check_text("a", "héllo", name, &mut violations);
        check_text("b", "line\nbreak", text, &mut violations);
        assert!(violations.finish().is_ok());
        for (value, bounds) in [
            ("toolong", name),
            ("a\0b", name),
            ("a\nb", name),
            ("a\u{7}b", text),
            ("a\0b", text),
        ] {
            let mut violations = Violations::new();
            check_text("f", value, bounds, &mut violations);
            assert!(violations.finish().is_err(), "{value:?} passed");
        }
    }
}
