//! Prometheus metrics: scraped over HTTP from `ROSTER_METRICS_LISTEN`, they move with the
//! calls, the outboxes, the delivery worker and the user feed.
use std::net::SocketAddr;
use std::time::Duration;

use roster_proto::membership as membership_pb;
use roster_proto::notification as pb;
use roster_proto::notification::notification_service_client::NotificationServiceClient;
use roster_tests::invitation::invite_request;
use roster_tests::membership::eventually;
use roster_tests::{TestEnv, as_user};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;

/// One series of a scrape: `name{labels} value`.
struct Series {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// One scrape: its HTTP status line, content type and series.
struct Scrape {
    status: String,
    content_type: String,
    body: String,
    series: Vec<Series>,
}

impl Scrape {
    /// The values of the series `name` whose labels include `labels`.
    fn matching(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.series
            .iter()
            .filter(|series| {
                series.name == name
                    && labels.iter().all(|(key, value)| {
                        series.labels.iter().any(|(k, v)| k == key && v == value)
                    })
            })
            .map(|series| series.value)
            .collect()
    }

    /// The value of the one series `name` whose labels include `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found = self.matching(name, labels);
        assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
        found.first().copied()
    }

    /// As [`Self::value`], 0 when the series is absent (a counter not moved yet).
    fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }

    /// The sum over every series `name` whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).iter().sum()
    }
}

/// Parses `key="value",...` (values escape `\`, `"` and newlines).
fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, escaped)) => value.push(escaped),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.push((key.trim_start_matches(',').to_owned(), value));
        rest = &after[end..];
    }
    labels
}

/// GETs `path` from the metrics server at `address`, over plain HTTP/1.1.
async fn get(address: SocketAddr, path: &str) -> Scrape {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect to the metrics server");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("send the request");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .expect("read the answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("headers end");
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_owned();
    let content_type = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    let series = body
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a series and its value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, parse_labels(labels.trim_end_matches('}'))),
                None => (series, Vec::new()),
            };
            Series {
                name: name.to_owned(),
                labels,
                value,
            }
        })
        .collect();
    Scrape {
        status,
        content_type,
        body: body.to_owned(),
        series,
    }
}

async fn scrape(address: SocketAddr) -> Scrape {
    let scrape = get(address, "/metrics").await;
    assert!(scrape.status.contains(" 200 "), "{}", scrape.status);
    scrape
}

const CREATE_ACCOUNT: &str = "/roster.membership.v1.MembershipService/CreateAccount";
const GET_ACCOUNT: &str = "/roster.membership.v1.MembershipService/GetAccount";
const ENQUEUE: &str = "/roster.notification.v1.NotificationService/Enqueue";
const REQUESTS: &str = "roster_rpc_requests_total";
const SERVICES: [&str; 4] = ["identity", "membership", "invitation", "notification"];

#[tokio::test]
async fn a_scrape_shows_calls_pools_outboxes_deliveries_and_the_feed_moving() {
    let env = TestEnv::start_with(|options| {
        options.server.metrics_listen = Some(([127, 0, 0, 1], 0).into());
        // Nothing listens there: the relays keep every outbox row, so a backlog shows.
        options.notification_url = Some("http://127.0.0.1:1".to_owned());
    })
    .await;
    let address = env.metrics_address.expect("a metrics address");

    let before = scrape(address).await;
    assert!(
        before
            .content_type
            .starts_with("application/openmetrics-text"),
        "{}",
        before.content_type
    );
    assert!(before.body.ends_with("# EOF\n"));
    assert_eq!(before.count(REQUESTS, &[("method", CREATE_ACCOUNT)]), 0.0);
    for cause in [
        "wait_timeout",
        "create_timeout",
        "recycle_timeout",
        "connect",
        "closed",
    ] {
        assert!(
            before
                .value(
                    "roster_db_pool_checkout_failures_total",
                    &[("cause", cause)]
                )
                .is_some(),
            "{cause}"
        );
    }
    assert_eq!(
        before.value(
            "roster_notification_delivery_attempts_total",
            &[("outcome", "sent")]
        ),
        Some(0.0)
    );
    for service in SERVICES {
        assert_eq!(
            before.value("roster_db_pool_max_connections", &[("service", service)]),
            Some(8.0),
            "the harness's pool size, for {service}"
        );
        for gauge in [
            "roster_db_pool_connections",
            "roster_db_pool_idle_connections",
            "roster_db_pool_waiting",
        ] {
            assert!(
                before.value(gauge, &[("service", service)]).is_some(),
                "{gauge} {service}"
            );
        }
    }
    for state in ["pending", "running", "failed", "needs_action"] {
        assert_eq!(
            before.value(
                "roster_saga_queue_depth",
                &[("saga", "member_removal"), ("state", state)]
            ),
            Some(0.0)
        );
    }
    assert_eq!(
        before.value(
            "roster_saga_oldest_step_age_seconds",
            &[("saga", "member_removal")]
        ),
        Some(0.0)
    );

    // One call served, one refused.
    let company = env.create_company("Metrics Inc", 0).await;
    let refused = env
        .membership()
        .get_account(membership_pb::GetAccountRequest {
            account_id: company.account_id().to_owned(),
        })
        .await
        .expect_err("no credentials");
    assert_eq!(refused.code(), Code::Unauthenticated);
    // An invitation writes an outbox row that waits (no notification reachable).
    env.try_invite(
        &env.operator_token,
        invite_request(&company, &["invited@metrics.test"]),
    )
    .await
    .expect("invite");
    env.clock.advance(chrono::Duration::seconds(120));
    // A removal with a step due in an hour and one waiting for an administrator: the
    // worker leaves both be.
    env.sql()
        .await
        .batch_execute(
            "WITH removal AS (
                 INSERT INTO membership.removals (account_id, removal_id, workspace_id, user_id,
                                                  state, purge_after, created_at, updated_at)
                 VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
                         gen_random_uuid(), 'removed', now() + interval '30 days', now(), now())
                 RETURNING account_id, removal_id
             )
             INSERT INTO membership.removal_steps (account_id, removal_id, custodian_id,
                                                   custodian_name, verb, state, operation_id,
                                                   next_attempt_at, updated_at)
             SELECT account_id, removal_id, gen_random_uuid(), name, 'transfer', state,
                    gen_random_uuid(), now() + interval '1 hour', now()
             FROM removal, (VALUES ('files', 'pending'), ('mail', 'needs_action')) AS s(name, state)",
        )
        .await
        .expect("a removal in progress");
    // A message enqueued here directly: the delivery worker sends it (log transport).
    NotificationServiceClient::new(env.channel())
        .enqueue(as_user(
            &env.service_token,
            pb::EnqueueRequest {
                template: "password_reset".to_owned(),
                recipient: "joe@metrics.test".to_owned(),
                variables: Some(roster_kit::protobuf::json_to_struct(json!({
                    "display_name": "Joe",
                    "expire_time": "2030-01-01T00:00:00Z",
                }))),
                secret_variables: Some(roster_kit::protobuf::json_to_struct(
                    json!({ "token": "rst_metrics" }),
                )),
                idempotency_key: "metrics-test".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("enqueue");

    let after = eventually(Duration::from_secs(10), "the delivery counted", || async {
        let scrape = scrape(address).await;
        let sent = scrape.count(
            "roster_notification_delivery_attempts_total",
            &[("outcome", "sent")],
        );
        (sent >= 1.0).then_some(scrape)
    })
    .await;
    let outside = |method: &'static str, code: &'static str| {
        after.count(
            REQUESTS,
            &[("server", "outside"), ("method", method), ("code", code)],
        )
    };
    assert_eq!(outside(CREATE_ACCOUNT, "OK"), 1.0);
    assert_eq!(outside(GET_ACCOUNT, "UNAUTHENTICATED"), 1.0);
    assert_eq!(outside(ENQUEUE, "OK"), 1.0);
    assert_eq!(
        after.count(
            "roster_rpc_duration_seconds_count",
            &[("server", "outside"), ("method", CREATE_ACCOUNT)]
        ),
        1.0
    );
    assert!(
        after.count(
            "roster_rpc_duration_seconds_sum",
            &[("server", "outside"), ("method", CREATE_ACCOUNT)]
        ) > 0.0
    );
    // Inviting asks membership and identity, in this process.
    assert!(after.sum(REQUESTS, &[("server", "in_process")]) > 0.0);
    assert_eq!(
        after.count(
            "roster_notification_delivery_attempts_total",
            &[("outcome", "sent")]
        ),
        1.0
    );

    // The invitation's row waits, two (shifted) minutes old; the other outboxes are read too.
    assert_eq!(
        after.value("roster_outbox_backlog", &[("service", "invitation")]),
        Some(1.0)
    );
    let age = after
        .value(
            "roster_outbox_oldest_age_seconds",
            &[("service", "invitation")],
        )
        .expect("the invitation outbox's age");
    assert!((120.0..600.0).contains(&age), "{age}");
    for service in ["identity", "membership"] {
        assert!(
            after
                .value("roster_outbox_backlog", &[("service", service)])
                .is_some()
        );
    }
    assert!(
        after
            .value("roster_db_pool_connections", &[("service", "membership")])
            .is_some_and(|open| open >= 1.0)
    );
    let saga = |state: &'static str| {
        after.value(
            "roster_saga_queue_depth",
            &[("saga", "member_removal"), ("state", state)],
        )
    };
    assert_eq!(saga("pending"), Some(1.0));
    assert_eq!(saga("needs_action"), Some(1.0));
    assert_eq!(saga("running"), Some(0.0));
    assert_eq!(
        after.value(
            "roster_saga_oldest_step_age_seconds",
            &[("saga", "member_removal")]
        ),
        Some(0.0),
        "nothing is due yet"
    );

    // The process follows identity's feed closely once it holds a lease.
    let feed = eventually(Duration::from_secs(10), "a lease", || async {
        let scrape = scrape(address).await;
        (scrape.value("roster_user_feed_current", &[]) == Some(1.0)).then_some(scrape)
    })
    .await;
    let lag = feed
        .value("roster_user_feed_lag_seconds", &[])
        .expect("feed lag");
    assert!(lag < 5.0, "{lag}");
    assert_eq!(
        feed.value("roster_user_feed_changes_behind", &[]),
        Some(0.0)
    );

    let elsewhere = get(address, "/").await;
    assert!(elsewhere.status.contains(" 404 "), "{}", elsewhere.status);
}
