//! Calling other Roster services over gRPC: channels, the bearer-token check every
//! service makes through identity's `Authenticate`, and refusals read back as [`Error`].
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use roster_proto::identity as identity_pb;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::types::ErrorReason;
use tonic::Code;
use tonic::metadata::{Ascii, MetadataMap, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt as _;
use tracing::warn;

use crate::auth::{Caller, Principal, ServiceToken, bearer_token, parse_id};
use crate::changes::{CachedPrincipal, UserWatch, token_key};
use crate::error::{ERROR_DOMAIN, Error, Result};
use crate::input::optional_id;
use crate::telemetry::inject_trace_context;

/// The interceptor of every call a Roster service makes to another: the current trace
/// context, what is left of the deadline of the call being served, and, when calling as a
/// service, Roster's service token. No call site attaches a credential by hand.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    credential: Option<MetadataValue<Ascii>>,
}

impl Outgoing {
    /// Calls that carry no credential of their own (identity's `Authenticate`).
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Calls made as a Roster service, with `token`.
    pub fn as_service(token: &ServiceToken) -> Self {
        Self {
            credential: token.bearer(),
        }
    }
}

impl tonic::service::Interceptor for Outgoing {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> std::result::Result<tonic::Request<()>, tonic::Status> {
        inject_trace_context(request.metadata_mut());
        if let Some(deadline) = crate::edge::deadline() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(tonic::Status::deadline_exceeded(
                    "the deadline passed before the call finished",
                ));
            }
            request.set_timeout(left);
        }
        if let Some(credential) = &self.credential {
            request
                .metadata_mut()
                .insert("authorization", credential.clone());
        }
        Ok(request)
    }
}

/// A channel to another Roster service behind [`Outgoing`].
pub type Intercepted = InterceptedService<Channel, Outgoing>;

/// The largest answer a Roster client reads from another Roster service. Feed pages are
/// bounded by bytes well below it (and every field by its declared bound), so no single
/// row can make a page unreadable.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// The largest request a Roster client sends to another Roster service: what the server
/// side accepts by default (`ROSTER_MAX_REQUEST_SIZE`).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// A generated client over `channel` with Roster's setup: the [`Outgoing`] interceptor
/// `outgoing` and explicit message limits both ways.
#[macro_export]
macro_rules! client {
    ($client:ident, $channel:expr, $outgoing:expr) => {
        $client::with_interceptor($channel, $outgoing)
            .max_decoding_message_size($crate::remote::MAX_RESPONSE_BYTES)
            .max_encoding_message_size($crate::remote::MAX_REQUEST_BYTES)
    };
}

/// How often a `dns:///` target is looked up again, so the replicas of a service that come
/// and go (a headless Service's pods) are followed.
const RESOLVE_EVERY: Duration = Duration::from_secs(5);

/// A channel to `url` that connects on first use (and reconnects after failures), so
/// services in one process can reach each other before the server is listening.
///
/// `url` names one server (`http://identity:50051`); or several, comma-separated, each
/// call going to the less loaded of two picked at random; or `dns:///host:port`: every
/// address the name resolves to, looked up again every [`RESOLVE_EVERY`], balanced alike.
pub fn channel(url: &str, timeout: Duration) -> Result<Channel> {
    let endpoint = move |url: &str| -> Result<Endpoint> {
        Ok(Endpoint::from_shared(url.to_owned())
            .map_err(|e| Error::invalid("service url", format!("{url:?}: {e}")))?
            .connect_timeout(timeout)
            .timeout(timeout))
    };
    if let Some(target) = url.strip_prefix("dns:///") {
        return resolved(target, endpoint);
    }
    let urls: Vec<&str> = url
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect();
    match urls.as_slice() {
        [] => Err(Error::invalid("service url", "name at least one server")),
        [one] => Ok(endpoint(one)?.connect_lazy()),
        many => Ok(Channel::balance_list(
            many.iter()
                .map(|url| endpoint(url))
                .collect::<Result<Vec<_>>>()?
                .into_iter(),
        )),
    }
}

/// A channel balanced over the addresses `target` (`host:port`) resolves to, kept current
/// by a task that ends with the channel.
fn resolved(
    target: &str,
    endpoint: impl Fn(&str) -> Result<Endpoint> + Send + 'static,
) -> Result<Channel> {
    if target
        .rsplit_once(':')
        .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
    {
        return Err(Error::invalid(
            "service url",
            format!("dns:///{target} names no host:port, as dns:///roster-identity:50051 does"),
        ));
    }
    let (channel, changes) = Channel::balance_channel::<String>(RESOLVED_CHANGES);
    let target = target.to_owned();
    tokio::spawn(async move {
        let mut known = HashSet::new();
        loop {
            let found: HashSet<String> = match tokio::net::lookup_host(target.as_str()).await {
                Ok(found) => found.map(|address| address.to_string()).collect(),
                // The addresses found last keep serving until a lookup works again. Before
                // any, the name itself stands in: calls fail at once, UNAVAILABLE, instead
                // of waiting for an address.
                Err(error) => {
                    warn!(%target, %error, "looking up a service's addresses");
                    if known.is_empty() {
                        HashSet::from([target.clone()])
                    } else {
                        known.clone()
                    }
                }
            };
            for gone in known.difference(&found) {
                if changes.send(Change::Remove(gone.clone())).await.is_err() {
                    return;
                }
            }
            for new in found.difference(&known) {
                let Ok(endpoint) = endpoint(&format!("http://{new}")) else {
                    continue;
                };
                if changes
                    .send(Change::Insert(new.clone(), endpoint))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            known = found;
            tokio::select! {
                () = tokio::time::sleep(RESOLVE_EVERY) => {}
                () = changes.closed() => return,
            }
        }
    });
    Ok(channel)
}

/// Address changes of a `dns:///` channel that may wait for its balancer.
const RESOLVED_CHANGES: usize = 64;

/// The answer of a call to `service`; a refusal or failure as this service's error. What
/// the call wrote is what the current call wrote too, for its caller's later reads from
/// replicas.
pub async fn answer<T>(
    service: &str,
    call: impl Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T> {
    let response = call.await.map_err(|status| from_status(service, &status))?;
    if let Ok(Some(lsn)) = crate::db::replica::requested(response.metadata().as_ref()) {
        crate::db::replica::wrote(lsn);
    }
    Ok(response.into_inner())
}

/// A refusal or failure answered by another Roster service, as this service's error:
/// Roster refusals keep their reason and metadata (their code follows from the reason);
/// an unreachable service, or a call the connection broke (the replica died mid-call), is
/// `UNAVAILABLE`; anything else is internal.
pub fn from_status(service: &str, status: &tonic::Status) -> Error {
    if let Some(info) = status.get_details_error_info()
        && info.domain == ERROR_DOMAIN
        && let Some(reason) = ErrorReason::from_str_name(&format!("ERROR_REASON_{}", info.reason))
    {
        return Error::Refused {
            reason,
            message: status.message().to_owned(),
            metadata: info.metadata,
        };
    }
    // A status with a source was made here by the transport (a reset stream, a connection
    // gone), whatever its code: the peer never answered it, and a retry may reach another.
    let broken = std::error::Error::source(status).is_some();
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {}
        _ if broken => {}
        _ => return Error::internal(format!("calling {service}"), status),
    }
    tracing::warn!(service, error = %status, "service unavailable");
    Error::refused(
        ErrorReason::Unavailable,
        format!("the {service} service is unavailable; retry later"),
    )
}

/// Resolves the bearer token of incoming calls: Roster's service token locally, anything
/// else through identity's `Authenticate`, answered from the process's cache while its
/// [`UserWatch`] holds a lease (so a disabled user's next call fails all the same).
#[derive(Debug, Clone)]
pub struct Authenticator {
    identity: IdentityServiceClient<Intercepted>,
    service_token: ServiceToken,
    watch: Option<Arc<UserWatch>>,
}

impl Authenticator {
    /// Authenticates through identity at `identity`, never from a cache.
    pub fn new(identity: Channel, service_token: ServiceToken) -> Self {
        Self {
            identity: crate::client!(IdentityServiceClient, identity, Outgoing::anonymous()),
            service_token,
            watch: None,
        }
    }

    /// Answers from `watch`'s cache of principals while it is current.
    #[must_use]
    pub fn cached_by(mut self, watch: Arc<UserWatch>) -> Self {
        self.watch = Some(watch);
        self
    }

    /// The caller of a request with these `metadata` and `request_id`.
    pub async fn caller(&self, metadata: &MetadataMap, request_id: &str) -> Result<Caller> {
        let principal = self.principal(bearer_token(metadata)?).await?;
        Ok(Caller {
            principal: Some(principal),
            request_id: request_id.to_owned(),
        })
    }

    /// Who `token` (a session token, an API key or the service token) stands for.
    pub async fn principal(&self, token: &str) -> Result<Principal> {
        if let Some(service) = self.service_token.principal_of(token) {
            return Ok(service);
        }
        let key = token_key(token);
        if let Some(cached) = self.watch.as_ref().and_then(|w| w.cached_principal(&key)) {
            return Ok(cached.principal);
        }
        let ticket = self.watch.as_ref().and_then(|w| w.principal_ticket());
        let answer = answer(
            "identity",
            self.identity
                .clone()
                .authenticate(identity_pb::AuthenticateRequest {
                    token: token.to_owned(),
                }),
        )
        .await?;
        let answered = answer.principal.unwrap_or_default();
        let expire_time = answered.expire_time;
        let principal = principal_from_proto(answered)?;
        if let (Some(watch), Some(ticket)) = (&self.watch, ticket) {
            let cached = CachedPrincipal {
                principal: principal.clone(),
                expire_time,
            };
            watch.cache_principal(key, cached, ticket);
        }
        Ok(principal)
    }
}

fn principal_from_proto(principal: identity_pb::Principal) -> Result<Principal> {
    let malformed = |e: Error| Error::internal("identity answered a malformed principal", e);
    Ok(Principal {
        user_id: parse_id("user_id", &principal.user_id).map_err(malformed)?,
        is_service: principal.kind() == identity_pb::UserKind::Service,
        is_operator: principal.platform_role() == identity_pb::PlatformRole::Operator,
        impersonator_id: optional_id("impersonator_user_id", &principal.impersonator_user_id)
            .map_err(malformed)?,
        email: principal.email,
        session_id: optional_id("session_id", &principal.session_id).map_err(malformed)?,
        api_key_id: optional_id("api_key_id", &principal.api_key_id).map_err(malformed)?,
        is_roster_service: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_health::ServingStatus;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    #[test]
    fn a_call_the_connection_broke_is_unavailable_and_a_peers_internal_error_is_not() {
        // What the transport makes of a stream reset mid-call: a status with a source.
        let broken = tonic::Status::from_error(Box::new(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "connection reset mid-call",
        )));
        assert_ne!(broken.code(), Code::Unavailable, "{broken:?}");
        assert_eq!(
            from_status("membership", &broken).reason(),
            Some(ErrorReason::Unavailable)
        );
        let answered = tonic::Status::internal("internal error");
        assert_eq!(from_status("membership", &answered).reason(), None);
        assert_eq!(from_status("membership", &answered).code(), Code::Internal);
    }

    /// A health server on a loopback port that answers `status`.
    async fn health_server(status: ServingStatus) -> u16 {
        let (reporter, service) = tonic_health::server::health_reporter();
        reporter.set_service_status("", status).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        port
    }

    async fn statuses(channel: Channel, calls: usize) -> HashSet<i32> {
        let mut seen = HashSet::new();
        for _ in 0..calls {
            let answer = HealthClient::new(channel.clone())
                .check(HealthCheckRequest::default())
                .await
                .expect("health");
            seen.insert(answer.into_inner().status);
        }
        seen
    }

    #[tokio::test]
    async fn a_list_of_servers_shares_the_calls_between_them() {
        let serving = health_server(ServingStatus::Serving).await;
        let not_serving = health_server(ServingStatus::NotServing).await;
        let url = format!("http://127.0.0.1:{serving}, http://127.0.0.1:{not_serving}");
        let channel = channel(&url, Duration::from_secs(5)).expect("channel");
        let seen = statuses(channel, 40).await;
        assert_eq!(
            seen,
            HashSet::from([
                ServingStatus::Serving as i32,
                ServingStatus::NotServing as i32
            ])
        );
    }

    #[tokio::test]
    async fn a_dns_target_reaches_the_addresses_its_name_resolves_to() {
        let port = health_server(ServingStatus::Serving).await;
        let channel =
            channel(&format!("dns:///localhost:{port}"), Duration::from_secs(5)).expect("channel");
        let seen = statuses(channel, 3).await;
        assert_eq!(seen, HashSet::from([ServingStatus::Serving as i32]));
    }

    #[tokio::test]
    async fn replicas_that_cannot_be_reached_are_unavailable_at_once() {
        let dead = [free_port(), free_port()];
        // A name that resolves to nothing fails once its lookup has (a resolver may retry).
        for (url, bound) in [
            (
                format!("http://127.0.0.1:{},http://127.0.0.1:{}", dead[0], dead[1]),
                Duration::from_secs(3),
            ),
            (
                "dns:///roster-nowhere.invalid:50051".to_owned(),
                Duration::from_secs(20),
            ),
        ] {
            let channel = channel(&url, Duration::from_secs(5)).expect("channel");
            let started = tokio::time::Instant::now();
            let status = HealthClient::new(channel)
                .check(HealthCheckRequest::default())
                .await
                .expect_err("nothing listens");
            assert_eq!(status.code(), Code::Unavailable, "{url}: {status:?}");
            assert!(started.elapsed() < bound, "{url}: waited");
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port()
    }

    #[tokio::test]
    async fn a_service_url_that_names_no_server_is_refused() {
        for url in [
            "",
            " , ",
            "dns:///roster-identity",
            "dns:///:50051",
            "dns:///a:port",
        ] {
            let refused = channel(url, Duration::from_secs(1)).expect_err(url);
            assert_eq!(
                tonic::Status::from(refused).code(),
                Code::InvalidArgument,
                "{url}"
            );
        }
    }

    #[test]
    fn roster_refusals_come_back_with_their_reason() {
        let sent: tonic::Status = Error::refused(ErrorReason::UserLocked, "this user is locked")
            .with_metadata("lock_expire_time", "2030-01-01T00:00:00Z")
            .into();
        let read = from_status("identity", &sent);
        assert_eq!(read.reason(), Some(ErrorReason::UserLocked));
        let back: tonic::Status = read.into();
        assert_eq!(back.code(), Code::PermissionDenied);
        let info = back.get_details_error_info().expect("error info");
        assert_eq!(
            info.metadata.get("lock_expire_time").map(String::as_str),
            Some("2030-01-01T00:00:00Z")
        );
    }

    #[test]
    fn service_calls_carry_the_service_token_and_others_none() {
        use tonic::service::Interceptor as _;
        let token = ServiceToken::new("rsv_secret");
        let sent = Outgoing::as_service(&token)
            .call(tonic::Request::new(()))
            .expect("intercepted");
        assert_eq!(bearer_token(sent.metadata()).ok(), Some("rsv_secret"));
        let sent = Outgoing::anonymous()
            .call(tonic::Request::new(()))
            .expect("intercepted");
        assert!(sent.metadata().get("authorization").is_none());
    }

    #[test]
    fn an_unreachable_service_is_unavailable() {
        let read = from_status(
            "identity",
            &tonic::Status::unavailable("connection refused"),
        );
        assert_eq!(read.reason(), Some(ErrorReason::Unavailable));
    }
}
