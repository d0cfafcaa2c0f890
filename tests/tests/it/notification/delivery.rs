//! The notification service on its own: idempotent enqueue, what operators read, retries,
//! two replicas sharing one queue, and a service outage that loses nothing.
use std::sync::Arc;
use std::time::Duration;

use roster::Service;
use roster_proto::notification as pb;
use roster_proto::notification::notification_service_client::NotificationServiceClient;
use roster_tests::invitation::invite_request;
use roster_tests::membership::eventually;
use roster_tests::smtp::SmtpServer;
use roster_tests::{TestEnv, as_user, assert_refused};
use serde_json::json;
use tonic::Code;
use tonic::transport::Channel;

fn enqueue_request(key: &str, recipient: &str) -> pb::EnqueueRequest {
    pb::EnqueueRequest {
        template: "password_reset".to_owned(),
        recipient: recipient.to_owned(),
        variables: Some(roster_kit::protobuf::json_to_struct(json!({
            "display_name": "Joe",
            "expire_time": "2030-01-01T00:00:00Z",
        }))),
        secret_variables: Some(roster_kit::protobuf::json_to_struct(
            json!({ "token": format!("rst_{key}") }),
        )),
        idempotency_key: key.to_owned(),
        ..Default::default()
    }
}

async fn enqueue(
    channel: Channel,
    token: &str,
    request: pb::EnqueueRequest,
) -> Result<pb::Notification, tonic::Status> {
    NotificationServiceClient::new(channel)
        .enqueue(as_user(token, request))
        .await
        .map(|r| r.into_inner().notification.expect("notification"))
}

async fn get(env: &TestEnv, id: &str) -> pb::Notification {
    NotificationServiceClient::new(env.channel())
        .get_notification(as_user(
            &env.operator_token,
            pb::GetNotificationRequest {
                notification_id: id.to_owned(),
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .notification
        .expect("notification")
}

#[tokio::test]
async fn enqueue_is_idempotent_and_operators_read_what_the_log_transport_sent() {
    let env = TestEnv::start().await;
    let first = enqueue(
        env.channel(),
        &env.service_token,
        enqueue_request("k1", "Joe@Example.test"),
    )
    .await
    .expect("enqueue");
    let again = enqueue(
        env.channel(),
        &env.service_token,
        enqueue_request("k1", "joe@example.test"),
    )
    .await
    .expect("enqueue again");
    assert_eq!(first.notification_id, again.notification_id);
    assert_eq!(first.recipient, "joe@example.test");

    let sent = eventually(Duration::from_secs(5), "delivery", || async {
        let notification = get(&env, &first.notification_id).await;
        (notification.state() == pb::NotificationState::Sent).then_some(notification)
    })
    .await;
    let rendered = sent.rendered.expect("the log transport keeps the message");
    assert!(
        rendered.text_body.contains("reset-password?token=rst_k1"),
        "{rendered:?}"
    );
    assert_eq!(sent.attempts, 1);
    let variables = format!("{:?}", sent.variables);
    assert!(!variables.contains("rst_k1"), "secrets are never shown");

    let listed = NotificationServiceClient::new(env.channel())
        .list_notifications(as_user(
            &env.operator_token,
            pb::ListNotificationsRequest {
                recipient: "JOE@example.test".to_owned(),
                template: "password_reset".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.notifications.len(), 1);

    let person = env
        .create_user("someone@example.test", "a long passphrase")
        .await;
    let session = env.login("someone@example.test", "a long passphrase").await;
    assert_refused(
        enqueue(
            env.channel(),
            &session,
            enqueue_request("k2", "x@example.test"),
        )
        .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let mut unknown = enqueue_request("k3", "x@example.test");
    unknown.template = "no_such_template".to_owned();
    let status = enqueue(env.channel(), &env.service_token, unknown)
        .await
        .expect_err("unknown template");
    assert_eq!(status.code(), Code::InvalidArgument);
    drop(person);
}

#[tokio::test]
async fn an_unreachable_mail_server_is_retried_then_given_up() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    let env = TestEnv::start_with(|options| {
        options.notification.smtp_url = Some(format!("smtp://127.0.0.1:{closed}"));
        options.notification.max_attempts = 3;
        options.notification.retry_base = Duration::from_millis(10);
        options.notification.retry_max = Duration::from_millis(50);
    })
    .await;
    let queued = enqueue(
        env.channel(),
        &env.service_token,
        enqueue_request("k1", "joe@example.test"),
    )
    .await
    .expect("enqueue");
    let failed = eventually(Duration::from_secs(10), "giving up", || async {
        let notification = get(&env, &queued.notification_id).await;
        (notification.state() == pb::NotificationState::Failed).then_some(notification)
    })
    .await;
    assert_eq!(failed.attempts, 3);
    assert!(!failed.last_error.is_empty());
    let secrets: Option<serde_json::Value> = env
        .sql()
        .await
        .query_one(
            "SELECT secret_variables FROM notification.notifications WHERE notification_id::text = $1",
            &[&queued.notification_id],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(secrets, None, "a failed message keeps no secret");
}

#[tokio::test]
async fn two_notification_processes_deliver_1000_messages_none_twice() {
    const MESSAGES: usize = 1000;
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    let mut env = TestEnv::start_with(|options| options.services = vec![Service::Identity]).await;
    let identity = format!("http://{}", env.address);
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let (identity, smtp_url) = (identity.clone(), smtp_url.clone());
        let (_, channel) = env
            .serve_at(([127, 0, 0, 1], 0).into(), |options| {
                options.services = vec![Service::Notification];
                options.identity_url = Some(identity);
                options.notification.smtp_url = Some(smtp_url);
            })
            .await;
        replicas.push(channel);
    }
    let replicas = Arc::new(replicas);
    let token = Arc::new(env.service_token.clone());
    let tasks: Vec<_> = (0..16)
        .map(|caller| {
            let (replicas, token) = (Arc::clone(&replicas), Arc::clone(&token));
            tokio::spawn(async move {
                for i in (caller..MESSAGES).step_by(16) {
                    let request =
                        enqueue_request(&format!("m{i:04}"), &format!("p{i:04}@example.test"));
                    enqueue(replicas[i % 2].clone(), &token, request)
                        .await
                        .expect("enqueue");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("enqueuer");
    }
    let emails = eventually(Duration::from_secs(120), "1000 emails", || async {
        let emails = smtp.emails();
        (emails.len() >= MESSAGES).then_some(emails)
    })
    .await;
    // Anything sent twice would arrive by now as well.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let emails_now = smtp.emails();
    assert_eq!(emails_now.len(), MESSAGES, "no message sent twice");
    let mut ids: Vec<String> = emails.into_iter().map(|e| e.notification_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), MESSAGES);
    let sent: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM notification.notifications WHERE state = 'sent' AND attempts = 1",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(sent, MESSAGES as i64);
}

#[tokio::test]
async fn emails_wait_while_the_notification_service_is_down_and_none_is_lost() {
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    // Notification runs in a process of its own, at an address fixed in advance.
    let address: std::net::SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port");
    let mut env = TestEnv::start_with(|options| {
        options.services = vec![Service::Identity, Service::Membership, Service::Invitation];
        options.notification_url = Some(format!("http://{address}"));
    })
    .await;
    let main = format!("http://{}", env.address);
    let notification = |options: &mut roster::Options| {
        options.services = vec![Service::Notification];
        options.identity_url = Some(main.clone());
        options.notification.smtp_url = Some(smtp_url.clone());
    };
    env.serve_at(address, notification).await;
    let company = env.create_company("Acme", 0).await;
    env.try_invite(
        &env.operator_token,
        invite_request(&company, &["first@acme.test"]),
    )
    .await
    .expect("invite");
    smtp.wait_for("first@acme.test", 1).await;

    env.stop_replicas();
    let people = ["a@acme.test", "b@acme.test", "c@acme.test"];
    env.try_invite(&env.operator_token, invite_request(&company, &people))
        .await
        .expect("invite while notification is down");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.emails().len(), 1, "nothing can be sent meanwhile");
    let waiting: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM invitation.outbox WHERE dispatched_at IS NULL AND attempts > 0",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert!(waiting >= 1, "the relay tried and keeps the rows");

    env.serve_at(address, notification).await;
    for email in people {
        let emails = smtp.wait_for(email, 1).await;
        assert_eq!(emails.len(), 1);
    }
    assert_eq!(smtp.emails().len(), 4);
}

#[tokio::test]
async fn operators_list_messages_newest_first_a_page_at_a_time() {
    let env = TestEnv::start().await;
    for i in 0..5 {
        let recipient = if i % 2 == 0 {
            "joe@example.test"
        } else {
            "ann@example.test"
        };
        enqueue(
            env.channel(),
            &env.service_token,
            enqueue_request(&format!("k{i}"), recipient),
        )
        .await
        .expect("enqueue");
    }
    let list = |request: pb::ListNotificationsRequest, token: &str| {
        let token = token.to_owned();
        let channel = env.channel();
        async move {
            NotificationServiceClient::new(channel)
                .list_notifications(as_user(&token, request))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let operator = env.operator_token.clone();
    let mut keys = Vec::new();
    let mut page_token = String::new();
    let mut second_page = None;
    loop {
        let request = pb::ListNotificationsRequest {
            page_size: 2,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let page = list(request, &operator).await.expect("page");
        keys.extend(page.notifications.into_iter().map(|n| n.idempotency_key));
        page_token = page.next_page_token;
        second_page.get_or_insert_with(|| page_token.clone());
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(keys, ["k4", "k3", "k2", "k1", "k0"]);
    let joe = pb::ListNotificationsRequest {
        recipient: "joe@example.test".to_owned(),
        ..Default::default()
    };
    let page = list(joe.clone(), &operator).await.expect("joe's");
    assert_eq!(page.notifications.len(), 3);
    // A page token belongs to its query.
    for token in [
        second_page.expect("a second page"),
        "not a token".to_owned(),
    ] {
        let request = pb::ListNotificationsRequest {
            page_token: token,
            ..joe.clone()
        };
        assert_eq!(
            list(request, &operator)
                .await
                .expect_err("foreign token")
                .code(),
            Code::InvalidArgument
        );
    }
    let missing = NotificationServiceClient::new(env.channel())
        .get_notification(as_user(
            &operator,
            pb::GetNotificationRequest {
                notification_id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect_err("missing");
    assert_eq!(missing.code(), Code::NotFound);
    env.create_user("ann@example.test", "a long passphrase")
        .await;
    let session = env.login("ann@example.test", "a long passphrase").await;
    assert_refused(
        list(pb::ListNotificationsRequest::default(), &session).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
}

#[tokio::test]
async fn nothing_is_sent_for_a_transaction_that_rolled_back() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let sql = env.sql().await;
    // The invitation's audit event fails after its outbox row was written.
    sql.batch_execute(
        "CREATE FUNCTION invitation.refuse() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
         CREATE TRIGGER injected BEFORE INSERT ON invitation.audit_events
           FOR EACH ROW EXECUTE FUNCTION invitation.refuse();",
    )
    .await
    .expect("inject a failure");
    env.try_invite(
        &env.operator_token,
        invite_request(&company, &["lost@acme.test"]),
    )
    .await
    .expect_err("the invite fails");
    sql.batch_execute("DROP TRIGGER injected ON invitation.audit_events")
        .await
        .expect("heal");
    // A later email to someone else goes out; the rolled-back one never does.
    env.invite(&company, "later@acme.test").await;
    env.emailed_token("invitation", "invitation", "later@acme.test")
        .await;
    let lost = "SELECT (SELECT count(*) FROM invitation.outbox WHERE recipient = $1)
                     + (SELECT count(*) FROM notification.notifications WHERE recipient = $1)";
    let count: i64 = sql
        .query_one(lost, &[&"lost@acme.test"])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 0);
}
