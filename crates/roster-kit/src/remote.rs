//! Calling other Roster services over gRPC: channels, the bearer-token check every
//! service makes through identity's `Authenticate`, and refusals read back as [`Error`].
use std::sync::Arc;
use std::time::Duration;

use roster_proto::identity as identity_pb;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::types::ErrorReason;
use tonic::Code;
use tonic::metadata::{Ascii, MetadataMap, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt as _;

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

/// A channel to `url` that connects on first use (and reconnects after failures), so
/// services in one process can reach each other before the server is listening.
pub fn channel(url: &str, timeout: Duration) -> Result<Channel> {
    Ok(Endpoint::from_shared(url.to_owned())
        .map_err(|e| Error::internal(format!("service url {url:?}"), e))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .connect_lazy())
}

/// The answer of a call to `service`; a refusal or failure as this service's error.
pub async fn answer<T>(
    service: &str,
    call: impl Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T> {
    call.await
        .map(tonic::Response::into_inner)
        .map_err(|status| from_status(service, &status))
}

/// A refusal or failure answered by another Roster service, as this service's error:
/// Roster refusals keep their reason and metadata (their code follows from the reason);
/// an unreachable service is `UNAVAILABLE`; anything else is internal.
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
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            tracing::warn!(service, error = %status, "service unavailable");
            Error::refused(
                ErrorReason::Unavailable,
                format!("the {service} service is unavailable; retry later"),
            )
        }
        _ => Error::internal(format!("calling {service}"), status),
    }
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
