//! Crashes mid-flow: `roster serve` as a child process, SIGKILLed while acceptances and
//! invitations (with their emails in the outbox) are in flight, started again, and the
//! callers retrying with the same `request_id`. Nothing acknowledged is lost and nothing
//! happens twice. (The removal saga's crash test is `removals::crash`.)
use std::time::Duration;

use roster::Service;
use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_tests::invitation::invite_request;
use roster_tests::membership::eventually;
use roster_tests::smtp::SmtpServer;
use roster_tests::{TestEnv, as_user};

use crate::child::{Reaped, accept_all, free_port, loopback, roster, serving, until_up};

/// `roster serve` in a child process on the environment's database, at `port`.
fn spawn(env: &TestEnv, port: u16, smtp_url: Option<&str>) -> Reaped {
    let mut command = roster(&env.database_url(), &env.service_token);
    if let Some(url) = smtp_url {
        command
            .env("ROSTER_SMTP_URL", url)
            .env("ROSTER_NOTIFICATION_POLL", "50ms")
            .env("ROSTER_NOTIFICATION_LEASE", "3s");
    }
    Reaped(
        command
            .env("ROSTER_ADMISSION_QUEUE", "1000")
            .env("ROSTER_PASSWORD_HASH_QUEUE", "1000")
            .env("ROSTER_PASSWORD_HASH_WAIT", "60s")
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .spawn()
            .expect("roster serve"),
    )
}

fn sigkill(child: &mut Reaped) {
    child.kill().expect("SIGKILL roster serve");
    child.wait().expect("reap");
}

async fn count(env: &TestEnv, sql: &str) -> i64 {
    env.sql()
        .await
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

#[tokio::test]
async fn a_hundred_acceptances_killed_mid_flight_and_retried_make_one_user_and_one_member_each() {
    const ACCEPTS: usize = 100;
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let emails: Vec<String> = (0..ACCEPTS)
        .map(|i| format!("crash{i:03}@example.com"))
        .collect();
    let addresses: Vec<&str> = emails.iter().map(String::as_str).collect();
    let invited = env
        .try_invite(&env.operator_token, invite_request(&company, &addresses))
        .await
        .expect("invite");
    let mut tokens = Vec::new();
    for result in &invited {
        let invitation = result.invitation.as_ref().expect("invited");
        tokens.push(env.invitation_token(&invitation.invitation_id).await);
    }

    let port = free_port();
    let channel = loopback(port);
    let mut child = spawn(&env, port, None);
    serving(&channel).await;
    let accepts = accept_all(&channel, tokens);
    let accepted_sql = "SELECT count(*) FROM invitation.invitations WHERE state = 'accepted'";
    eventually(Duration::from_secs(60), "some acceptances", || async {
        (count(&env, accepted_sql).await >= 20).then_some(())
    })
    .await;
    sigkill(&mut child);
    let accepted_at_kill = count(&env, accepted_sql).await;
    let mut child = spawn(&env, port, None);

    let mut retried = 0;
    let mut users = std::collections::HashSet::new();
    for accept in accepts {
        let (answer, retries) = accept.await.expect("accept task");
        let answer = answer.expect("accepted");
        assert!(!answer.session_token.is_empty(), "{answer:?}");
        retried += u32::from(retries > 0);
        users.insert(answer.user_id);
    }
    sigkill(&mut child);
    println!(
        "{ACCEPTS} acceptances, SIGKILL after {accepted_at_kill} committed, {retried} retried: {} distinct users answered",
        users.len()
    );
    assert_eq!(users.len(), ACCEPTS);
    assert_eq!(count(&env, accepted_sql).await, ACCEPTS as i64);
    let people = "SELECT count(*) FROM identity.users WHERE email LIKE 'crash%@example.com'";
    assert_eq!(count(&env, people).await, ACCEPTS as i64);
    let members =
        "SELECT count(*) FROM membership.members m JOIN membership.users u USING (user_id)
                   WHERE u.email LIKE 'crash%@example.com'";
    assert_eq!(count(&env, members).await, ACCEPTS as i64);
}

#[tokio::test]
async fn invitations_and_their_emails_survive_two_sigkills_none_lost() {
    const CALLS: usize = 10;
    const PER_CALL: usize = 100;
    const INVITED: usize = CALLS * PER_CALL;
    let smtp = SmtpServer::start().await;
    // The in-process services deliver nothing: only the child process sends email.
    let env = TestEnv::start_with(|options| {
        options.services = vec![Service::Identity, Service::Membership, Service::Invitation];
    })
    .await;
    let company = env.create_company("Acme", 0).await;
    let port = free_port();
    let channel = loopback(port);
    let mut child = spawn(&env, port, Some(&smtp.url()));
    serving(&channel).await;

    let invites: Vec<_> = (0..CALLS)
        .map(|call| {
            let emails: Vec<String> = (0..PER_CALL)
                .map(|i| format!("mail{call:02}{i:03}@example.com"))
                .collect();
            let addresses: Vec<&str> = emails.iter().map(String::as_str).collect();
            let request = invite_request(&company, &addresses);
            let (channel, token) = (channel.clone(), env.operator_token.clone());
            tokio::spawn(async move {
                // One call at a time per caller, staggered, so the kills land among them.
                tokio::time::sleep(Duration::from_millis(150 * call as u64)).await;
                until_up(|| {
                    let mut invitation = InvitationServiceClient::new(channel.clone());
                    let request = as_user(&token, request.clone());
                    async move { invitation.invite_users(request).await }
                })
                .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    sigkill(&mut child);
    let mut child = spawn(&env, port, Some(&smtp.url()));
    eventually(Duration::from_secs(60), "half the emails", || async {
        (smtp.emails().len() >= INVITED / 2).then_some(())
    })
    .await;
    sigkill(&mut child);
    let sent_at_second_kill = smtp.emails().len();
    let mut child = spawn(&env, port, Some(&smtp.url()));
    for invite in invites {
        let (answer, _) = invite.await.expect("invite task");
        let results = answer.expect("invited").into_inner().results;
        assert!(
            results.iter().all(|r| r.invitation.is_some()),
            "{results:?}"
        );
    }
    let distinct = |emails: &[roster_tests::smtp::Email]| {
        let mut ids: Vec<&str> = emails.iter().map(|e| e.notification_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    eventually(Duration::from_secs(120), "every email", || async {
        (distinct(&smtp.emails()) >= INVITED).then_some(())
    })
    .await;
    // Anything sent again would have arrived by now as well (the lease is 3 s).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let all = smtp.emails();
    sigkill(&mut child);
    let recipients: std::collections::HashSet<&str> = all.iter().map(|e| e.to.as_str()).collect();
    let resent = all.len() - INVITED;
    println!(
        "{INVITED} invitations, SIGKILL during the invitations and after {sent_at_second_kill} emails: {} delivered to {} recipients, {resent} sent again",
        distinct(&all),
        recipients.len()
    );
    let invitations = "SELECT count(*) FROM invitation.invitations";
    assert_eq!(count(&env, invitations).await, INVITED as i64);
    // Every email sent again is the same message (one notification id per recipient), never
    // a second invitation or a second enqueue.
    assert_eq!(recipients.len(), INVITED);
    assert_eq!(distinct(&all), INVITED);
    // SMTP cannot be exactly once: a kill between the mail server's acceptance and the
    // record sends that message again. Only the messages in flight at a kill can be.
    let batch = roster_notification::NotificationConfig::default().batch_size;
    assert!(resent as i64 <= 2 * batch, "{resent} sent twice");
}
