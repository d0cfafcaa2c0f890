//! The domain against Postgres: each test migrates a database of its own and drops it.
use std::sync::Arc;

use roster_kit::auth::{Caller, Principal, ServiceToken};
use roster_kit::clock::{Clock as _, ShiftedClock};
use roster_kit::config::PoolConfig;
use serde_json::json;
use tonic::Code;

use super::model::{NewNotification, Template};
use super::*;
use crate::{MIGRATIONS, SCHEMA};

/// The server test databases are created on (`ROSTER_TEST_DATABASE_URL`), as in the
/// workspace's test harness.
fn admin_url() -> String {
    std::env::var("ROSTER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that is dropped with this value, even when the test fails.
struct TestDatabase {
    name: String,
}

impl TestDatabase {
    async fn create() -> (Self, Pool) {
        let name = format!("roster_notification_{:016x}", rand::random::<u64>());
        let admin = admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let config = PoolConfig {
            max_size: 4,
            timeout: std::time::Duration::from_secs(10),
        };
        let pool = roster_kit::db::connect(&format!("{base}/{name}"), SCHEMA, &config)
            .await
            .expect("database");
        roster_kit::db::migrate(&pool, SCHEMA, MIGRATIONS)
            .await
            .expect("migrations");
        (Self { name }, pool)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop cannot await; a runtime on its own thread drops the database.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let (client, connection) =
                    tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}

struct Fixture {
    notifications: Notifications,
    clock: Arc<ShiftedClock>,
    pool: Pool,
    _database: TestDatabase,
}

async fn fixture() -> Fixture {
    let (database, pool) = TestDatabase::create().await;
    let clock = Arc::new(ShiftedClock::default());
    let config = NotificationConfig {
        max_attempts: 2,
        ..NotificationConfig::default()
    };
    let notifications =
        Notifications::new(pool.clone(), clock.clone(), config).expect("notifications");
    Fixture {
        notifications,
        clock,
        pool,
        _database: database,
    }
}

fn service() -> Caller {
    Caller {
        principal: Some(ServiceToken::principal()),
        request_id: String::new(),
    }
}

fn person(is_operator: bool) -> Caller {
    Caller {
        principal: Some(Principal {
            user_id: Uuid::now_v7(),
            is_service: false,
            is_operator,
            impersonator_id: None,
            email: "someone@example.com".to_owned(),
            session_id: None,
            api_key_id: None,
            is_roster_service: false,
        }),
        request_id: String::new(),
    }
}

fn reset(key: &str, recipient: &str, token: Option<&str>) -> NewNotification {
    NewNotification {
        template: Template::PasswordReset,
        recipient: recipient.to_owned(),
        locale: "en".to_owned(),
        variables: json!({ "display_name": "Joe", "expire_time": "2030-03-05T14:00:00Z" }),
        secret_variables: token.map(|token| json!({ "token": token })),
        idempotency_key: key.to_owned(),
    }
}

/// The secret variables as stored (the API never shows them).
async fn stored_secrets(pool: &Pool, id: &str) -> Option<serde_json::Value> {
    let id = Uuid::parse_str(id).expect("uuid");
    pool.get()
        .await
        .expect("connection")
        .query_one(
            "SELECT secret_variables FROM notifications WHERE notification_id = $1",
            &[&id],
        )
        .await
        .expect("row")
        .get(0)
}

fn code(error: &Error) -> Code {
    match error {
        Error::InvalidArgument(_) => Code::InvalidArgument,
        Error::Refused { code, .. } => *code,
        Error::Internal(_) => Code::Internal,
    }
}

#[tokio::test]
async fn only_roster_services_enqueue_and_a_key_makes_one_message() {
    let f = fixture().await;
    for caller in [person(false), person(true)] {
        let refused = f
            .notifications
            .enqueue(&caller, reset("k1", "joe@example.com", Some("rrt_a")))
            .await
            .expect_err("not a service");
        assert_eq!(code(&refused), Code::PermissionDenied);
    }
    let first = f
        .notifications
        .enqueue(&service(), reset("k1", "joe@example.com", Some("rrt_a")))
        .await
        .expect("queued");
    assert_eq!(first.state(), pb::NotificationState::Queued);
    assert!(first.next_attempt_time.is_some());
    let again = f
        .notifications
        .enqueue(&service(), reset("k1", "other@example.com", Some("rrt_b")))
        .await
        .expect("repeat");
    assert_eq!(again.notification_id, first.notification_id);
    assert_eq!(again.recipient, "joe@example.com");
    assert_eq!(
        stored_secrets(&f.pool, &first.notification_id).await,
        Some(json!({ "token": "rrt_a" }))
    );
}

#[tokio::test]
async fn the_log_transport_keeps_the_message_and_wipes_the_secrets() {
    let f = fixture().await;
    let queued = f
        .notifications
        .enqueue(
            &service(),
            reset("k1", "joe@example.com", Some("rrt_token")),
        )
        .await
        .expect("queued");
    assert_eq!(f.notifications.deliver_due().await.expect("batch"), 1);
    assert_eq!(f.notifications.deliver_due().await.expect("batch"), 0);
    let id = Uuid::parse_str(&queued.notification_id).expect("uuid");
    let sent = f
        .notifications
        .get(&person(true), id)
        .await
        .expect("operator reads");
    assert_eq!(sent.state(), pb::NotificationState::Sent);
    assert_eq!(sent.attempts, 1);
    assert!(sent.send_time.is_some());
    assert!(sent.next_attempt_time.is_none());
    let rendered = sent.rendered.expect("kept by the log transport");
    assert!(
        rendered
            .text_body
            .contains("http://localhost:8080/reset-password?token=rrt_token")
    );
    assert_eq!(rendered.subject, "Reset your Roster password");
    assert_eq!(stored_secrets(&f.pool, &queued.notification_id).await, None);
    // Variables are shown; secrets never were.
    let variables = sent.variables.expect("variables");
    assert!(variables.fields.contains_key("display_name"));
    assert!(!variables.fields.contains_key("token"));
}

#[tokio::test]
async fn failures_are_retried_later_then_given_up() {
    let f = fixture().await;
    let queued = f
        .notifications
        .enqueue(&service(), reset("k1", "joe@example.com", None))
        .await
        .expect("queued");
    let id = Uuid::parse_str(&queued.notification_id).expect("uuid");
    let operator = person(true);

    assert_eq!(f.notifications.deliver_due().await.expect("batch"), 1);
    let retrying = f.notifications.get(&operator, id).await.expect("read");
    assert_eq!(retrying.state(), pb::NotificationState::Queued);
    assert_eq!(retrying.attempts, 1);
    assert!(retrying.last_error.contains("rendering password_reset"));
    assert!(retrying.rendered.is_none());

    // The retry is due within retry_base of the failure, never before it.
    let failed_at = f.clock.now();
    let next = retrying.next_attempt_time.expect("next attempt");
    assert!(next.seconds >= failed_at.timestamp() - 1);
    assert!(next.seconds <= failed_at.timestamp() + 2);

    f.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(f.notifications.deliver_due().await.expect("batch"), 1);
    let failed = f.notifications.get(&operator, id).await.expect("read");
    assert_eq!(failed.state(), pb::NotificationState::Failed);
    assert_eq!(failed.attempts, 2);
    assert!(failed.next_attempt_time.is_none());
    f.clock.advance(chrono::Duration::hours(1));
    assert_eq!(f.notifications.deliver_due().await.expect("batch"), 0);
}

#[tokio::test]
async fn operators_list_newest_first_a_page_at_a_time() {
    let f = fixture().await;
    for i in 0..5 {
        let recipient = if i % 2 == 0 {
            "joe@example.com"
        } else {
            "ann@example.com"
        };
        f.notifications
            .enqueue(&service(), reset(&format!("k{i}"), recipient, Some("rrt")))
            .await
            .expect("queued");
    }
    let list = |query: NotificationQuery, page_token: String| ListRequest {
        query,
        page_size: 2,
        page_token,
    };
    let operator = person(true);
    let refused = f
        .notifications
        .list(
            &person(false),
            list(NotificationQuery::default(), String::new()),
        )
        .await
        .expect_err("not an operator");
    assert_eq!(code(&refused), Code::PermissionDenied);

    let mut keys = Vec::new();
    let mut token = String::new();
    let mut first_token = None;
    loop {
        let page = f
            .notifications
            .list(&operator, list(NotificationQuery::default(), token))
            .await
            .expect("page");
        keys.extend(page.notifications.iter().map(|n| n.idempotency_key.clone()));
        token = page.next_page_token;
        first_token.get_or_insert_with(|| token.clone());
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(keys, ["k4", "k3", "k2", "k1", "k0"]);

    let joe = NotificationQuery {
        recipient: Some("joe@example.com".to_owned()),
        ..NotificationQuery::default()
    };
    let page = f
        .notifications
        .list(&operator, list(joe.clone(), String::new()))
        .await
        .expect("page");
    assert_eq!(page.notifications.len(), 2);
    assert!(
        page.notifications
            .iter()
            .all(|n| n.recipient == "joe@example.com")
    );
    let sent = NotificationQuery {
        state: Some(model::State::Sent),
        ..NotificationQuery::default()
    };
    let page = f
        .notifications
        .list(&operator, list(sent, String::new()))
        .await
        .expect("page");
    assert!(page.notifications.is_empty());

    // A token belongs to its query.
    let foreign = first_token.expect("a second page");
    for token in [foreign, "not a token".to_owned()] {
        let refused = f
            .notifications
            .list(&operator, list(joe.clone(), token))
            .await
            .expect_err("malformed");
        assert_eq!(code(&refused), Code::InvalidArgument);
    }
}

#[tokio::test]
async fn a_missing_notification_is_not_found() {
    let f = fixture().await;
    let missing = f
        .notifications
        .get(&person(true), Uuid::now_v7())
        .await
        .expect_err("missing");
    assert_eq!(code(&missing), Code::NotFound);
    let refused = f
        .notifications
        .get(&person(false), Uuid::now_v7())
        .await
        .expect_err("not an operator");
    assert_eq!(code(&refused), Code::PermissionDenied);
}

#[tokio::test]
async fn replicas_never_send_a_message_twice() {
    let f = fixture().await;
    let config = NotificationConfig {
        batch_size: 7,
        ..NotificationConfig::default()
    };
    let replicas: Vec<Notifications> = (0..3)
        .map(|_| Notifications::new(f.pool.clone(), f.clock.clone(), config.clone()))
        .collect::<Result<_>>()
        .expect("replicas");
    for i in 0..60 {
        f.notifications
            .enqueue(
                &service(),
                reset(&format!("k{i}"), "joe@example.com", Some("rrt")),
            )
            .await
            .expect("queued");
    }
    let drains = replicas.iter().map(|replica| async move {
        let mut attempted = 0;
        loop {
            match replica.deliver_due().await.expect("batch") {
                0 => return attempted,
                n => attempted += n,
            }
        }
    });
    let attempted: u64 = futures::future::join_all(drains).await.into_iter().sum();
    assert_eq!(attempted, 60);
    let row = f
        .pool
        .get()
        .await
        .expect("connection")
        .query_one(
            "SELECT count(*) FILTER (WHERE state = 'sent' AND attempts = 1), count(*) FROM notifications",
            &[],
        )
        .await
        .expect("counts");
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (60, 60));
}
