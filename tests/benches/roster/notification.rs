//! How fast the notification service delivers email to a local SMTP server (Python's
//! aiosmtpd, writing a Maildir): 2,000 messages enqueued by 16 callers through `Enqueue`
//! (as the outbox relays do), then delivered by the worker (claims with `FOR UPDATE SKIP
//! LOCKED`, renders the templates, sends over pooled SMTP connections). It prints the
//! enqueue rate and the delivery rate (from the first enqueue until the last message is
//! marked sent), with one notification process and then with two on the same database.
//!
//! Run with `cargo bench -p roster-tests --bench roster -- notification`. It needs
//! Postgres as the tests do (`ROSTER_TEST_DATABASE_URL`) and Python with aiosmtpd (the test harness
//! installs it into a virtual environment if `python3` lacks it, or set
//! `ROSTER_TEST_PYTHON`). The server runs with the production pool and notification
//! settings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use roster::Service;
use roster_proto::notification as pb;
use roster_proto::notification::notification_service_client::NotificationServiceClient;
use roster_tests::smtp::SmtpServer;
use roster_tests::{TestEnv, as_user};
use serde_json::json;
use tonic::transport::Channel;

/// Messages per row.
const MESSAGES: usize = 2000;
/// Concurrent `Enqueue` callers.
const CALLERS: usize = 16;

fn request(run: usize, i: usize) -> pb::EnqueueRequest {
    pb::EnqueueRequest {
        template: "invitation".to_owned(),
        recipient: format!("person{i:05}@bench.test"),
        variables: Some(roster_kit::protobuf::json_to_struct(json!({
            "invitation_id": format!("bench-{run}-{i}"),
            "account_name": "Bench Inc",
            "workspace_names": ["Data team"],
            "all_workspaces": false,
            "inviter_name": "Bench Admin",
            "inviter_email": "admin@bench.test",
            "email": format!("person{i:05}@bench.test"),
            "message": "",
            "expire_time": "2030-01-01T00:00:00Z",
            "send_count": 1,
        }))),
        secret_variables: Some(roster_kit::protobuf::json_to_struct(
            json!({ "token": format!("inv_bench{run}x{i}") }),
        )),
        idempotency_key: format!("bench-{run}-{i}"),
        ..Default::default()
    }
}

async fn sent(env: &TestEnv) -> i64 {
    env.sql()
        .await
        .query_one(
            "SELECT count(*) FROM notification.notifications WHERE state = 'sent'",
            &[],
        )
        .await
        .expect("count")
        .get(0)
}

/// Enqueues a run's messages over `channels` and waits until all are sent; prints a row.
async fn run(env: &TestEnv, smtp: &SmtpServer, run: usize, channels: Vec<Channel>, name: &str) {
    let before = sent(env).await;
    let received = smtp.emails().len();
    let started = Instant::now();
    let channels = Arc::new(channels);
    let token = Arc::new(env.service_token.clone());
    let callers: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let (channels, token) = (Arc::clone(&channels), Arc::clone(&token));
            tokio::spawn(async move {
                for i in (caller..MESSAGES).step_by(CALLERS) {
                    let channel = channels[i % channels.len()].clone();
                    NotificationServiceClient::new(channel)
                        .enqueue(as_user(&token, request(run, i)))
                        .await
                        .expect("enqueue");
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.expect("caller");
    }
    let enqueued = started.elapsed();
    while sent(env).await < before + MESSAGES as i64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = started.elapsed();
    let arrived = smtp.emails().len() - received;
    println!(
        "{name:<36}  {:>12.0}  {:>14.0}  {:>8}",
        MESSAGES as f64 / enqueued.as_secs_f64(),
        MESSAGES as f64 / delivered.as_secs_f64(),
        arrived,
    );
    assert_eq!(arrived, MESSAGES, "every message arrives once");
}

pub(crate) async fn bench() -> Vec<String> {
    let smtp = SmtpServer::start().await;
    let pool = roster_kit::config::PoolConfig::from_env().expect("pool config");
    let pool_size = pool.max_size;
    let mut notification =
        roster_notification::NotificationConfig::from_env().expect("notification config");
    notification.smtp_url = Some(smtp.url());
    let mut env = TestEnv::start_with(|options| {
        options.services = vec![Service::Identity, Service::Notification];
        options.pool = pool;
        options.notification = notification;
    })
    .await;
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "Notification delivery to aiosmtpd (cores: {cores}, database pool: {pool_size}, {MESSAGES} messages, {CALLERS} enqueue callers)"
    );
    println!(
        "{:<36}  {:>12}  {:>14}  {:>8}",
        "processes", "enqueued/s", "delivered/s", "received"
    );
    run(
        &env,
        &smtp,
        1,
        vec![env.channel()],
        "1 notification process",
    )
    .await;
    let identity = format!("http://{}", env.address);
    let smtp_url = smtp.url();
    let (_, second) = env
        .serve_at(([127, 0, 0, 1], 0).into(), |options| {
            options.services = vec![Service::Notification];
            options.identity_url = Some(identity);
            options.notification.smtp_url = Some(smtp_url);
        })
        .await;
    run(
        &env,
        &smtp,
        2,
        vec![env.channel(), second],
        "2 notification processes",
    )
    .await;
    Vec::new()
}
