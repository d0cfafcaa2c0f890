//! Traces as an operator's collector sees them: `roster serve` (a child process) exports
//! over OTLP/gRPC to a real receiver. One caller's trace (an invitation, then its
//! acceptance) holds the spans of all four services, each under the span that called it,
//! the email's hand-over and delivery included; and no attribute anywhere holds a secret.
use std::collections::HashMap;
use std::time::Duration;

use roster_proto::invitation as pb;
use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_tests::invitation::{NEW_PASSWORD, invite_request, new_user};
use roster_tests::membership::{eventually, request_id};
use roster_tests::otlp::{ReceivedSpan, Receiver};
use roster_tests::{TestEnv, as_user};

use crate::child::{Reaped, free_port, loopback, roster, serving};

const INVITE: &str = "/roster.invitation.v1.InvitationService/InviteUsers";
const ACCEPT: &str = "/roster.invitation.v1.InvitationService/AcceptInvitation";
const HOLD_SEATS: &str = "/roster.membership.v1.MembershipService/HoldSeats";
const PROVISION: &str = "/roster.identity.v1.IdentityService/ProvisionInvitedUser";
const ADD_MEMBER: &str = "/roster.membership.v1.MembershipService/AddMember";
const ENQUEUE: &str = "/roster.notification.v1.NotificationService/Enqueue";

/// `request` as a traced caller sends it: a child of the caller's span `traceparent`.
fn traced<T>(mut request: tonic::Request<T>, traceparent: &str) -> tonic::Request<T> {
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().expect("ascii"));
    request
}

/// The server span of `method` in `spans`.
fn server_span<'a>(spans: &'a [ReceivedSpan], method: &str) -> Option<&'a ReceivedSpan> {
    spans
        .iter()
        .find(|s| s.name == "grpc.request" && s.attribute("rpc.method") == Some(method))
}

/// The names (or methods) of `span`'s ancestors, nearest first, up to the first parent not
/// among `spans`, and that parent's id.
fn ancestry(spans: &[ReceivedSpan], span: &ReceivedSpan) -> (Vec<String>, String) {
    let by_id: HashMap<&str, &ReceivedSpan> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut names = Vec::new();
    let mut parent = span.parent_span_id.as_str();
    while let Some(next) = by_id.get(parent) {
        names.push(
            next.attribute("rpc.method")
                .unwrap_or(&next.name)
                .to_owned(),
        );
        parent = next.parent_span_id.as_str();
    }
    (names, parent.to_owned())
}

#[tokio::test]
async fn one_callers_trace_crosses_all_four_services_under_its_callers_and_holds_no_secret() {
    let receiver = Receiver::start().await;
    let mut env = TestEnv::start().await;
    let company = env.create_company("Traced Inc", 0).await;
    // The child alone serves from here on, its relay included.
    env.stop_serving();
    let port = free_port();
    let _child = Reaped(
        roster(&env.database_url(), &env.service_token)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("ROSTER_OUTBOX_POLL", "50ms")
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .spawn()
            .expect("roster serve"),
    );
    let channel = loopback(port);
    serving(&channel).await;

    let trace_id = format!("{:032x}", rand::random::<u128>());
    let caller_span = format!("{:016x}", rand::random::<u64>());
    let traceparent = format!("00-{trace_id}-{caller_span}-01");
    let mut invitation = InvitationServiceClient::new(channel.clone());
    let email = "traced.person@example.com";
    let invited = invitation
        .invite_users(traced(
            as_user(&env.operator_token, invite_request(&company, &[email])),
            &traceparent,
        ))
        .await
        .expect("invite")
        .into_inner();
    assert!(invited.results[0].invitation.is_some(), "{invited:?}");
    let token = env.emailed_token("invitation", "invitation", email).await;
    let accepted = invitation
        .accept_invitation(traced(
            tonic::Request::new(pb::AcceptInvitationRequest {
                token: token.clone(),
                invitee: Some(new_user("Traced Person")),
                request_id: request_id(),
            }),
            &traceparent,
        ))
        .await
        .expect("accept")
        .into_inner();

    let expected = [INVITE, ENQUEUE, ACCEPT, HOLD_SEATS, PROVISION, ADD_MEMBER];
    let trace = eventually(Duration::from_secs(30), "the trace's spans", || async {
        let trace: Vec<_> = receiver
            .spans()
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect();
        let delivered = trace.iter().any(|s| s.name == "notification.deliver");
        (delivered
            && expected
                .iter()
                .all(|method| server_span(&trace, method).is_some()))
        .then_some(trace)
    })
    .await;

    // The caller's two calls are children of its span; every other span's parent is a span
    // of the trace.
    for method in [INVITE, ACCEPT] {
        let span = server_span(&trace, method).expect("span");
        assert_eq!(span.parent_span_id, caller_span, "{method}");
    }
    for span in &trace {
        let (_, root) = ancestry(&trace, span);
        assert_eq!(
            root, caller_span,
            "{span:?} hangs from a span the trace lacks"
        );
    }
    // Identity and membership answer under the acceptance that called them ...
    for method in [HOLD_SEATS, PROVISION, ADD_MEMBER] {
        let (ancestors, _) = ancestry(&trace, server_span(&trace, method).expect("span"));
        assert!(
            ancestors.iter().any(|a| a == ACCEPT),
            "{method}: {ancestors:?}"
        );
    }
    // ... and notification takes the email under the invitation that wrote it, through the
    // outbox's hand-over.
    let (ancestors, _) = ancestry(&trace, server_span(&trace, ENQUEUE).expect("span"));
    assert!(
        ancestors.iter().any(|a| a == "outbox.relay") && ancestors.iter().any(|a| a == INVITE),
        "Enqueue: {ancestors:?}"
    );
    // Its delivery, later and from the worker, is a span of the same trace under Enqueue.
    let delivery = trace
        .iter()
        .find(|s| s.name == "notification.deliver")
        .expect("the delivery's span");
    let (ancestors, _) = ancestry(&trace, delivery);
    assert!(
        ancestors.iter().any(|a| a == ENQUEUE),
        "delivery: {ancestors:?}"
    );

    // No secret in any span: the link's token, the passwords, keys and the session.
    let session = accepted.session_token;
    let secrets = [
        token.as_str(),
        NEW_PASSWORD,
        env.operator_token.as_str(),
        env.service_token.as_str(),
        session.as_str(),
        "token=",
    ];
    let everything = receiver.spans();
    for span in &everything {
        for (key, value) in &span.attributes {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                assert!(
                    !value.contains(secret) && !key.contains(secret),
                    "{}: {key}={value} holds a secret",
                    span.name
                );
            }
        }
    }
}
