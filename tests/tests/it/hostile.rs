//! Hostile input for every RPC, generated from the descriptor set: a new RPC or field is
//! covered without a case of its own. Every answer must carry a documented code (never
//! `INTERNAL` or `UNKNOWN`) and details under 1 KiB, bound violations must name their
//! field, and the server must stay healthy.
use std::time::Duration;

use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    Value,
};
use roster_tests::TestEnv;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic_types::StatusExt as _;

/// Encodes dynamic requests; reads answers as bytes (only their status matters here).
#[derive(Debug, Clone, Copy, Default)]
struct DynamicCodec;

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = Vec<u8>;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self {
        Self
    }

    fn decoder(&mut self) -> Self {
        Self
    }
}

impl Encoder for DynamicCodec {
    type Item = DynamicMessage;
    type Error = tonic::Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

impl Decoder for DynamicCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Self::Error> {
        use bytes::Buf as _;
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// The bounds a field declares, as the servers read them.
fn declared(field: &FieldDescriptor, name: &str) -> Option<u32> {
    let pool = field.parent_pool();
    let extension = pool.get_extension_by_name(&format!("roster.type.v1.{name}"))?;
    let options = field.options();
    options
        .has_extension(&extension)
        .then(|| options.get_extension(&extension).as_u32())
        .flatten()
}

fn roster_methods() -> Vec<MethodDescriptor> {
    let pool = DescriptorPool::decode(roster_proto::FILE_DESCRIPTOR_SET).expect("descriptor set");
    pool.services()
        .filter(|service| service.full_name().starts_with("roster."))
        .flat_map(|service| service.methods().collect::<Vec<_>>())
        .collect()
}

/// One hostile request: what it holds and what the answer must be.
struct Case {
    what: String,
    request: DynamicMessage,
    /// A bound violation the edge must name (`INVALID_ARGUMENT`).
    violated: Option<String>,
    expected: Option<Code>,
    timeout: Option<Duration>,
}

/// Strings and lists of `message` (and of its nested messages, `depth` deep), each with the
/// path a violation names and a setter on a copy of the request.
fn text_fields(message: &MessageDescriptor, depth: usize) -> Vec<(Vec<FieldDescriptor>, String)> {
    let mut found = Vec::new();
    for field in message.fields() {
        if field.is_map() {
            continue;
        }
        match field.kind() {
            Kind::String => found.push((vec![field.clone()], field.name().to_owned())),
            Kind::Message(nested)
                if depth > 0 && !nested.full_name().starts_with("google.") && !field.is_list() =>
            {
                for (mut chain, path) in text_fields(&nested, depth - 1) {
                    chain.insert(0, field.clone());
                    found.push((chain, format!("{}.{path}", field.name())));
                }
            }
            _ => {}
        }
    }
    found
}

/// `message` with the field at the end of `chain` set to `value`.
fn with_value(message: &DynamicMessage, chain: &[FieldDescriptor], value: Value) -> DynamicMessage {
    let mut copy = message.clone();
    set_path(&mut copy, chain, value);
    copy
}

fn set_path(message: &mut DynamicMessage, chain: &[FieldDescriptor], value: Value) {
    match chain {
        [] => {}
        [last] => message.set_field(last, value),
        [first, rest @ ..] => {
            let nested = message.get_field_mut(first);
            if let Value::Message(nested) = nested {
                set_path(nested, rest, value);
            }
        }
    }
}

fn cases(method: &MethodDescriptor) -> Vec<Case> {
    let input = method.input();
    let empty = DynamicMessage::new(input.clone());
    let mut cases = Vec::new();
    let mut case = |what: String, request, violated, expected| {
        cases.push(Case {
            what,
            request,
            violated,
            expected,
            timeout: None,
        });
    };
    for (chain, path) in text_fields(&input, 2) {
        let field = chain.last().expect("a field");
        let wrap = |text: String| {
            if field.is_list() {
                Value::List(vec![Value::String(text)])
            } else {
                Value::String(text)
            }
        };
        let entry = if field.is_list() {
            format!("{path}[0]")
        } else {
            path.clone()
        };
        for (name, text) in [("NUL", "a\0b"), ("control character", "a\u{1b}[2Jb")] {
            case(
                format!("{path}: {name}"),
                with_value(&empty, &chain, wrap(text.to_owned())),
                Some(entry.clone()),
                Some(Code::InvalidArgument),
            );
        }
        if let Some(max) = declared(field, "max_length") {
            case(
                format!("{path}: {} characters", max + 1),
                with_value(&empty, &chain, wrap("é".repeat(max as usize + 1))),
                Some(entry.clone()),
                Some(Code::InvalidArgument),
            );
        }
        if field.is_list()
            && let Some(max) = declared(field, "max_items")
        {
            let items = vec![Value::String("x".to_owned()); max as usize + 1];
            case(
                format!("{path}: {} entries", max + 1),
                with_value(&empty, &chain, Value::List(items)),
                Some(path.clone()),
                Some(Code::InvalidArgument),
            );
        }
        if field.is_list() {
            continue;
        }
        // Within bounds, but not what the field expects: the handler must refuse it
        // with a documented code.
        let malformed = if path.ends_with("page_token") {
            vec![
                "eyJxIjoiQUFBQSIsImsiOlsiMjAyNC0xMy0wMSIsIngiXX0",
                "%%%not-base64%%%",
            ]
        } else if path.ends_with("_id") {
            vec!["not-a-uuid", "00000000-0000-0000-0000-000000000000"]
        } else {
            vec!["  ", "x"]
        };
        for value in malformed {
            case(
                format!("{path}: {value:?}"),
                with_value(&empty, &chain, Value::String(value.to_owned())),
                None,
                None,
            );
        }
    }
    for field in input.fields() {
        if let Kind::Message(mask) = field.kind()
            && mask.full_name() == "google.protobuf.FieldMask"
        {
            let mut value = DynamicMessage::new(mask.clone());
            let paths = mask.get_field_by_name("paths").expect("paths");
            value.set_field(
                &paths,
                Value::List(vec![Value::String("no_such_field".to_owned())]),
            );
            let mut request = empty.clone();
            request.set_field(&field, Value::Message(value));
            case(
                format!("{}: unknown path", field.name()),
                request,
                None,
                None,
            );
        }
    }
    if let Some((chain, _)) = text_fields(&input, 0).into_iter().next() {
        let field = chain.last().expect("a field");
        let huge = "x".repeat(2 << 20);
        let value = if field.is_list() {
            Value::List(vec![Value::String(huge)])
        } else {
            Value::String(huge)
        };
        case(
            "a 2 MiB message".to_owned(),
            with_value(&empty, &chain, value),
            None,
            Some(Code::ResourceExhausted),
        );
    }
    cases.push(Case {
        what: "a 1 ms deadline".to_owned(),
        request: empty,
        violated: None,
        expected: None,
        timeout: Some(Duration::from_millis(1)),
    });
    cases
}

async fn send(
    channel: &Channel,
    token: &str,
    method: &MethodDescriptor,
    case: &Case,
) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("channel ready");
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    let mut request = roster_tests::as_user(token, case.request.clone());
    if let Some(timeout) = case.timeout {
        request.set_timeout(timeout);
    }
    grpc.unary(request, path.parse().expect("path"), DynamicCodec)
        .await
        .map(drop)
}

#[tokio::test]
async fn hostile_input_gets_documented_refusals_for_every_rpc() {
    let env = TestEnv::start().await;
    let channel = env.channel();
    let mut failures = Vec::new();
    let mut sent = 0;
    for method in roster_methods() {
        for case in cases(&method) {
            sent += 1;
            let name = format!(
                "{}.{} ({})",
                method.parent_service().name(),
                method.name(),
                case.what
            );
            let Err(status) = send(&channel, &env.operator_token, &method, &case).await else {
                if case.violated.is_some() || case.expected.is_some() {
                    failures.push(format!("{name}: accepted"));
                }
                continue;
            };
            if matches!(status.code(), Code::Internal | Code::Unknown) {
                failures.push(format!("{name}: {:?} {}", status.code(), status.message()));
            }
            if status.details().len() >= 1024 || status.message().len() >= 1024 {
                failures.push(format!(
                    "{name}: {} bytes of details",
                    status.details().len()
                ));
            }
            if let Some(expected) = case.expected
                && status.code() != expected
            {
                failures.push(format!(
                    "{name}: {:?} instead of {expected:?}",
                    status.code()
                ));
            }
            if let Some(field) = &case.violated
                && !status
                    .get_details_bad_request()
                    .is_some_and(|bad| bad.field_violations.iter().any(|v| &v.field == field))
            {
                failures.push(format!("{name}: no violation of {field} in {status:?}"));
            }
        }
    }
    eprintln!("{sent} hostile cases sent");
    assert!(sent > 1000, "only {sent} cases");
    assert!(
        failures.is_empty(),
        "{} of {sent} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health after the hostile cases");
    assert_eq!(
        answer.into_inner().status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
}

/// A page token whose sort key was altered (its query fingerprint left intact) is the
/// caller's mistake: `INVALID_ARGUMENT`, never a database fault.
#[tokio::test]
async fn an_altered_page_token_is_invalid_argument() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use roster_proto::identity as id;

    let env = TestEnv::start().await;
    for name in ["Ann", "Ben", "Cat"] {
        env.create_user(
            &format!("{}@example.com", name.to_lowercase()),
            "correct horse battery",
        )
        .await;
    }
    let list = |page_token: String| {
        let mut identity = env.identity();
        let token = env.operator_token.clone();
        async move {
            identity
                .list_users(roster_tests::as_user(
                    &token,
                    id::ListUsersRequest {
                        page_size: 1,
                        page_token,
                        order_by: "display_name".into(),
                        ..Default::default()
                    },
                ))
                .await
        }
    };
    let token = list(String::new())
        .await
        .expect("first page")
        .into_inner()
        .next_page_token;
    let mut envelope: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&token).expect("base64")).expect("json");
    for key in [
        serde_json::json!(["a\u{0}b", uuid::Uuid::now_v7()]),
        serde_json::json!(["ann", "not-a-uuid"]),
        serde_json::json!([17, 4]),
        serde_json::json!("x".repeat(5000)),
    ] {
        envelope["k"] = key.clone();
        let altered = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&envelope).expect("json"));
        let status = list(altered).await.expect_err("an altered token");
        assert_eq!(status.code(), Code::InvalidArgument, "{key}: {status:?}");
    }
}

/// A deadline that passes while the server works answers `DEADLINE_EXCEEDED` (the code
/// gRPC documents), not `CANCELLED`.
#[tokio::test]
async fn a_deadline_passing_on_the_server_is_deadline_exceeded() {
    use roster_proto::identity as id;
    use roster_proto::identity::identity_service_client::IdentityServiceClient;

    let env = TestEnv::start().await;
    env.create_user("ann@example.com", "correct horse battery")
        .await;
    // A bare HTTP/2 client: tonic's own channel enforces `grpc-timeout` on the client side
    // (answering CANCELLED itself) and would hide the server's answer.
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<tonic::body::Body>();
    let origin: http::Uri = format!("http://{}", env.address).parse().expect("uri");
    let mut identity = IdentityServiceClient::with_origin(http, origin);
    // An Argon2id verify takes far longer than these; 1 ms is what tonic's own server
    // timer raced the edge's for.
    let mut cancelled = 0;
    for round in 0..50 {
        let mut request = tonic::Request::new(id::LoginRequest {
            email: "ann@example.com".into(),
            password: "correct horse battery".into(),
        });
        request.set_timeout(Duration::from_millis(1 + round % 2));
        let status = identity.login(request).await.expect_err("too slow");
        if status.code() != Code::DeadlineExceeded {
            cancelled += 1;
            eprintln!("{status:?}");
        }
    }
    println!("50 Logins with 1-2 ms deadlines: {cancelled} answered other than DEADLINE_EXCEEDED");
    assert_eq!(cancelled, 0);
}

/// A gRPC-Web body that is not one (bad base64, a frame shorter than it says) answers
/// `INVALID_ARGUMENT`, as its gRPC twin does, not `CANCELLED` or `INTERNAL`.
#[tokio::test]
async fn a_malformed_grpc_web_body_is_invalid_argument() {
    let env = TestEnv::start().await;
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<tonic::body::Body>();
    let login = format!(
        "http://{}/roster.identity.v1.IdentityService/Login",
        env.address
    );
    for (content_type, body) in [
        ("application/grpc-web-text", "!!! not base64"),
        ("application/grpc-web+proto", "\0\0\0\0\x10ab"),
        ("application/grpc-web+proto", ""),
    ] {
        let request = http::Request::post(&login)
            .header("content-type", content_type)
            .header("x-grpc-web", "1")
            .body(tonic::body::Body::new(body.to_owned()))
            .expect("request");
        let answer = http.request(request).await.expect("an answer");
        let status = answer
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(
            status.as_deref(),
            Some("3"),
            "{content_type} {body:?}: {:?}",
            answer.headers()
        );
    }
}
