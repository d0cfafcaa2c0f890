//! Postgres failover under load: one `roster serve` (a child process) on a Patroni cluster
//! of two synchronously replicated nodes (`deploy/local-cluster.sh`), reached through a
//! multi-host URL with `target_session_attrs=read-write`. Callers keep inviting, accepting,
//! logging in, checking permissions and suspending and resuming members while the primary's
//! postmaster is SIGKILLed. The same process serves again on the new primary by itself; then
//! every acknowledged write is there exactly once (invitations, their outbox rows and
//! emails, users and members of acceptances, member changes) and nothing was done twice.
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use roster_proto::identity as id;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::invitation as ipb;
use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_proto::membership as mpb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use roster_proto::notification as npb;
use roster_proto::notification::notification_service_client::NotificationServiceClient;
use roster_tests::as_user;
use roster_tests::cluster::Cluster;
use roster_tests::invitation::{NEW_PASSWORD, link_token, new_user};
use roster_tests::membership::{eventually, request_id};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

use crate::child::{
    Reaped, account_with_workspace, bootstrap, free_port, loopback, roster, serving,
};

const CALLERS: usize = 8;
/// How long the callers start new work...
const LOAD: Duration = Duration::from_secs(40);
/// ...and when, from the start, the primary is killed.
const KILL_AT: Duration = Duration::from_secs(10);
/// How long a caller retries one call, as a client with a deadline would.
const RETRY_FOR: Duration = Duration::from_secs(60);
/// Roster must be back to 99% successes within this long after the kill, and stay there
/// for the rest of the load (at least 10 s more).
const RECOVERY_LIMIT: Duration = Duration::from_secs(20);
const DOMAIN: &str = "failover.test";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rpc {
    InviteUsers,
    ListNotifications,
    AcceptInvitation,
    Login,
    CheckPermission,
    SuspendMember,
    ResumeMember,
}

/// One answer: when it came (since the load started), to which RPC, with which code.
#[derive(Debug, Clone, Copy)]
struct Call {
    at: Duration,
    rpc: Rpc,
    code: Code,
}

/// What the callers were told was done, and what they found wrong.
#[derive(Debug, Default)]
struct Record {
    calls: Vec<Call>,
    /// Acknowledged invitations: (when, email, invitation id).
    invited: Vec<(Duration, String, String)>,
    /// Acknowledged acceptances: (when, email, invitation id, user id).
    accepted: Vec<(Duration, String, String, String)>,
    /// Acknowledged member changes: (when, user id, audit action, request id).
    changes: Vec<(Duration, String, &'static str, String)>,
    /// The status each accepted person's member must end in: that of their last member
    /// change, or `None` when it was not acknowledged (it may or may not have happened).
    final_status: HashMap<String, Option<&'static str>>,
    /// Calls answered ok after failed attempts, by RPC: for writes, a retry under the same
    /// request_id that either did the work or found it done.
    ok_after_retry: BTreeMap<Rpc, usize>,
    /// Calls given up on (not retryable, or retried for too long).
    gave_up: Vec<(Rpc, Status)>,
    /// Anything else a caller found wrong (a refused invitation, a stale permission, an
    /// email that never came).
    wrong: Vec<String>,
}

/// The callers' shared view: where to call, as whom, and what happened.
struct Load {
    started: Instant,
    channel: Channel,
    key: String,
    account_id: String,
    workspace_id: String,
    record: Mutex<Record>,
}

/// Codes a well-behaved client retries with the same request: the database or the server
/// cannot answer now (`UNAVAILABLE`), an acceptance still held by an attempt that died
/// (`ABORTED`), shed or throttled (`RESOURCE_EXHAUSTED`, with a hint).
fn retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::Aborted | Code::ResourceExhausted
    )
}

/// The wait a refusal's `retry_after_seconds` asks for (at most 5 s), else 100 ms.
fn backoff(status: &Status) -> Duration {
    status
        .get_details_error_info()
        .and_then(|info| {
            info.metadata
                .get("retry_after_seconds")?
                .parse::<u64>()
                .ok()
        })
        .map_or(Duration::from_millis(100), |seconds| {
            Duration::from_secs(seconds.min(5))
        })
}

impl Load {
    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().expect("record")
    }

    /// `attempt`, again after retryable codes for at most [`RETRY_FOR`] (the same request,
    /// so the same request_id); every answer recorded. `None` when given up.
    async fn call<T, F, Fut>(&self, rpc: Rpc, mut attempt: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let (first, mut failed) = (Instant::now(), 0);
        loop {
            let answer = tokio::time::timeout(Duration::from_secs(30), attempt())
                .await
                .unwrap_or_else(|_| Err(Status::deadline_exceeded("no answer in 30 s")));
            let code = answer.as_ref().map_or_else(Status::code, |_| Code::Ok);
            let at = self.started.elapsed();
            self.record().calls.push(Call { at, rpc, code });
            match answer {
                Ok(value) => {
                    if failed > 0 {
                        *self.record().ok_after_retry.entry(rpc).or_default() += 1;
                    }
                    return Some(value);
                }
                Err(status) if retryable(status.code()) && first.elapsed() < RETRY_FOR => {
                    failed += 1;
                    tokio::time::sleep(backoff(&status)).await;
                }
                Err(status) => {
                    self.record().gave_up.push((rpc, status));
                    return None;
                }
            }
        }
    }

    fn wrong(&self, what: String) {
        self.record().wrong.push(what);
    }

    fn invitation(&self) -> InvitationServiceClient<Channel> {
        InvitationServiceClient::new(self.channel.clone())
    }

    fn membership(&self) -> MembershipServiceClient<Channel> {
        MembershipServiceClient::new(self.channel.clone())
    }

    /// One person's way in: invited, emailed, accepted, logged in, checked, suspended,
    /// checked, resumed. Stops at the first step not acknowledged.
    async fn person(&self, email: &str) {
        let invite = ipb::InviteUsersRequest {
            account_id: self.account_id.clone(),
            workspace_ids: vec![self.workspace_id.clone()],
            emails: vec![email.to_owned()],
            request_id: request_id(),
            ..Default::default()
        };
        let Some(results) = self
            .call(Rpc::InviteUsers, || {
                let (mut client, request) = (self.invitation(), as_user(&self.key, invite.clone()));
                async move { Ok(client.invite_users(request).await?.into_inner().results) }
            })
            .await
        else {
            return;
        };
        let Some(invitation) = results.first().and_then(|r| r.invitation.clone()) else {
            self.wrong(format!("{email} was not invited: {results:?}"));
            return;
        };
        let at = self.started.elapsed();
        self.record()
            .invited
            .push((at, email.to_owned(), invitation.invitation_id.clone()));

        let Some(token) = self.emailed_token(email).await else {
            return;
        };
        let accept = ipb::AcceptInvitationRequest {
            token,
            invitee: Some(new_user(&format!(
                "Person {}",
                email.split('@').next().unwrap_or(email)
            ))),
            request_id: request_id(),
        };
        let Some(accepted) = self
            .call(Rpc::AcceptInvitation, || {
                let (mut client, request) = (self.invitation(), accept.clone());
                async move { Ok(client.accept_invitation(request).await?.into_inner()) }
            })
            .await
        else {
            return;
        };
        let user_id = accepted.user_id;
        let at = self.started.elapsed();
        self.record().accepted.push((
            at,
            email.to_owned(),
            invitation.invitation_id.clone(),
            user_id.clone(),
        ));

        let login = id::LoginRequest {
            email: email.to_owned(),
            password: NEW_PASSWORD.to_owned(),
        };
        self.call(Rpc::Login, || {
            let mut client = IdentityServiceClient::new(self.channel.clone());
            let request = login.clone();
            async move { client.login(request).await }
        })
        .await;

        self.expect_access(&user_id, true).await;
        if !self.change(&user_id, Rpc::SuspendMember).await {
            return;
        }
        self.expect_access(&user_id, false).await;
        self.change(&user_id, Rpc::ResumeMember).await;
    }

    /// The link token of the invitation email to `email`, read as an operator does
    /// (ListNotifications; the log transport keeps the text), once it was sent.
    async fn emailed_token(&self, email: &str) -> Option<String> {
        let list = npb::ListNotificationsRequest {
            recipient: email.to_owned(),
            template: "invitation".to_owned(),
            ..Default::default()
        };
        let deadline = Instant::now() + RETRY_FOR;
        while Instant::now() < deadline {
            let notifications = self
                .call(Rpc::ListNotifications, || {
                    let mut client = NotificationServiceClient::new(self.channel.clone());
                    let request = as_user(&self.key, list.clone());
                    async move { Ok(client.list_notifications(request).await?.into_inner()) }
                })
                .await?
                .notifications;
            let sent = notifications
                .iter()
                .find(|n| n.state() == npb::NotificationState::Sent);
            if let Some(text) = sent.and_then(|n| n.rendered.as_ref()) {
                return Some(link_token(&text.text_body));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.wrong(format!("no invitation email to {email} in {RETRY_FOR:?}"));
        None
    }

    /// CheckPermission of the person's member, which must answer `allowed`: the last
    /// acknowledged change is in force.
    async fn expect_access(&self, user_id: &str, allowed: bool) {
        let check = mpb::CheckPermissionRequest {
            user_id: user_id.to_owned(),
            workspace_id: self.workspace_id.clone(),
            permission: "roster.members.read".to_owned(),
        };
        let answer = self
            .call(Rpc::CheckPermission, || {
                let (mut client, request) = (self.membership(), as_user(&self.key, check.clone()));
                async move { Ok(client.check_permission(request).await?.into_inner()) }
            })
            .await;
        if let Some(answer) = answer
            && answer.allowed != allowed
        {
            self.wrong(format!(
                "CheckPermission of {user_id} answered {answer:?}, expected allowed {allowed}"
            ));
        }
    }

    /// Suspends or resumes the person's member under one request_id; whether that was
    /// acknowledged.
    async fn change(&self, user_id: &str, rpc: Rpc) -> bool {
        let (workspace_id, user_id, request_id) =
            (self.workspace_id.clone(), user_id.to_owned(), request_id());
        let (action, status) = match rpc {
            Rpc::SuspendMember => ("membership.member.suspend", "suspended"),
            _ => ("membership.member.resume", "active"),
        };
        self.record().final_status.insert(user_id.clone(), None);
        let done = self
            .call(rpc, || {
                let mut client = self.membership();
                let key = self.key.clone();
                let (workspace_id, user_id, request_id) =
                    (workspace_id.clone(), user_id.clone(), request_id.clone());
                async move {
                    if rpc == Rpc::SuspendMember {
                        let request = mpb::SuspendMemberRequest {
                            workspace_id,
                            user_id,
                            request_id,
                        };
                        client
                            .suspend_member(as_user(&key, request))
                            .await
                            .map(drop)
                    } else {
                        let request = mpb::ResumeMemberRequest {
                            workspace_id,
                            user_id,
                            request_id,
                        };
                        client.resume_member(as_user(&key, request)).await.map(drop)
                    }
                }
            })
            .await
            .is_some();
        if done {
            let at = self.started.elapsed();
            let mut record = self.record();
            record
                .changes
                .push((at, user_id.clone(), action, request_id));
            record.final_status.insert(user_id, Some(status));
        }
        done
    }
}

/// `roster serve` on the cluster, bootstrapped with an operator, and an account with a
/// workspace of many seats: everything over gRPC, as a deployment would be set up.
async fn deploy(cluster: &Cluster) -> (Reaped, Channel, String, String, String) {
    let url = cluster.url("roster");
    let service_token = roster_kit::token::mint("rsv").secret;
    let (_, key) = bootstrap(&url, &service_token, &format!("ops@{DOMAIN}"));
    let log = std::fs::File::create(cluster.dir().join("roster.log")).expect("roster.log");
    let port = free_port();
    let child = Reaped(
        roster(&url, &service_token)
            // Warnings, and each email the log transport "sends": deliveries to count.
            .env(
                "ROSTER_LOG",
                "warn,roster_notification::domain::transport=info",
            )
            .env("ROSTER_DB_POOL_SIZE", "8")
            .env("ROSTER_OUTBOX_POLL", "50ms")
            .env("ROSTER_NOTIFICATION_POLL", "50ms")
            .env("ROSTER_ADMISSION_QUEUE", "1000")
            .env("ROSTER_PASSWORD_HASH_QUEUE", "1000")
            .env("ROSTER_PASSWORD_HASH_WAIT", "60s")
            // Logs go to standard output.
            .stdout(log.try_clone().expect("roster.log"))
            .stderr(log)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .spawn()
            .expect("roster serve"),
    );
    let channel = loopback(port);
    serving(&channel).await;

    let (account, workspace) = account_with_workspace(&channel, &key, "Failover Inc", 10_000).await;
    (
        child,
        channel,
        key,
        account.account_id,
        workspace.workspace_id,
    )
}

/// Answers per second from the kill (bucket 0 is the first second after it): (ok, all).
fn per_second(calls: &[Call], kill: Duration) -> BTreeMap<i64, (usize, usize)> {
    let mut buckets = BTreeMap::<i64, (usize, usize)>::new();
    for call in calls {
        let since = call.at.as_secs_f64() - kill.as_secs_f64();
        #[allow(clippy::cast_possible_truncation)]
        let bucket = buckets.entry(since.floor() as i64).or_default();
        bucket.1 += 1;
        if call.code == Code::Ok {
            bucket.0 += 1;
        }
    }
    buckets
}

/// The first second from the kill from which every full second up to `last` answered
/// at least 99% ok (a second without answers counts as down).
fn recovered(buckets: &BTreeMap<i64, (usize, usize)>, last: i64) -> Option<i64> {
    let good = |second: i64| {
        buckets
            .get(&second)
            .is_some_and(|(ok, all)| *all > 0 && ok * 100 >= all * 99)
    };
    (0..=last).rev().take_while(|second| good(*second)).last()
}

/// `roster serve`'s log without colours, one line each.
fn plain_log(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            let mut plain = String::new();
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                if c == '\u{1b}' {
                    chars.by_ref().find(|c| *c == 'm');
                } else {
                    plain.push(c);
                }
            }
            plain
        })
        .collect()
}

/// Prints what `roster serve` warned about, by message, most frequent first (what the
/// failover looked like from inside), and how many emails the log transport delivered;
/// returns the test's addresses it delivered to more than once (a delivery whose record the
/// failover cut off must be recorded once the new primary answers, not sent again).
fn tally_log(path: &std::path::Path) -> Vec<(String, usize)> {
    let log = plain_log(path);
    let mut warnings = HashMap::<&str, usize>::new();
    let mut deliveries = HashMap::<&str, usize>::new();
    for line in &log {
        // Without the timestamp; the fields' values vary, their names do not.
        let message = line.split_once(' ').map_or(line.as_str(), |(_, rest)| rest);
        if message.contains("email logged instead of sent") {
            let recipient = message
                .split_once("recipient=")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or_default();
            *deliveries.entry(recipient).or_default() += 1;
        } else {
            let message = message.split_once('=').map_or(message, |(head, _)| head);
            *warnings.entry(message.trim()).or_default() += 1;
        }
    }
    let mut warnings: Vec<_> = warnings.into_iter().collect();
    warnings.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    println!(
        "roster serve logged {} warnings and errors:",
        warnings.iter().map(|w| w.1).sum::<usize>()
    );
    for (message, count) in warnings.iter().take(8) {
        println!("  {count:5} x {message}");
    }
    println!(
        "the log transport delivered {} emails to {} addresses",
        deliveries.values().sum::<usize>(),
        deliveries.len(),
    );
    deliveries
        .into_iter()
        .filter(|(recipient, count)| recipient.ends_with(DOMAIN) && *count > 1)
        .map(|(recipient, count)| (recipient.to_owned(), count))
        .collect()
}

/// `question` of the cluster, off the async threads (it blocks on HTTP and `kill`).
async fn ask<T: Send + 'static>(
    cluster: &Arc<Cluster>,
    question: impl FnOnce(&Cluster) -> T + Send + 'static,
) -> T {
    let cluster = Arc::clone(cluster);
    tokio::task::spawn_blocking(move || question(&cluster))
        .await
        .expect("ask the cluster")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_fails_over_and_nothing_acknowledged_is_lost_or_doubled() {
    let cluster = Arc::new(
        tokio::task::spawn_blocking(Cluster::start)
            .await
            .expect("start the cluster"),
    );
    let (mut child, channel, key, account_id, workspace_id) = deploy(&cluster).await;

    let load = Arc::new(Load {
        started: Instant::now(),
        channel,
        key,
        account_id,
        workspace_id: workspace_id.clone(),
        record: Mutex::default(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let (load, stop) = (Arc::clone(&load), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    load.person(&format!("p{caller}-{n}@{DOMAIN}")).await;
                }
            })
        })
        .collect();

    tokio::time::sleep(KILL_AT).await;
    // Only the synchronous standby is sure to have every acknowledged commit.
    let (first_primary, standby) = ask(&cluster, |c| (c.primary(), c.sync_standby())).await;
    let first_primary = first_primary.expect("a primary before the kill");
    let standby = standby.expect("a synchronous standby before the kill");
    let (killed, killed_at) = ask(&cluster, Cluster::kill_primary).await;
    let kill = killed_at.duration_since(load.started);
    let promoted = eventually(Duration::from_secs(60), "a new primary", || async {
        ask(&cluster, Cluster::primary)
            .await
            .filter(|primary| *primary != killed)
    })
    .await;
    let promoted_after = load.started.elapsed() - kill;

    tokio::time::sleep(LOAD.saturating_sub(load.started.elapsed())).await;
    stop.store(true, Ordering::Relaxed);
    let load_end = load.started.elapsed();
    for caller in callers {
        tokio::time::timeout(RETRY_FOR * 3, caller)
            .await
            .expect("a caller finished its last person in time")
            .expect("caller");
    }
    assert!(
        child.try_wait().expect("roster serve").is_none(),
        "roster serve exited"
    );

    let record = std::mem::take(&mut *load.record());
    let buckets = per_second(&record.calls, kill);
    // The last second the callers were all still starting new work.
    #[allow(clippy::cast_possible_truncation)]
    let last_full = (load_end.as_secs_f64() - kill.as_secs_f64()).floor() as i64 - 1;
    let recovered_at = recovered(&buckets, last_full);
    println!(
        "killed the primary ({first_primary}, synchronous standby {standby}) {kill:.1?} into \
         the load; {promoted} was primary {promoted_after:.1?} after the kill"
    );
    println!("second from the kill: ok/all answers");
    for (second, (ok, all)) in buckets.range(-3..=last_full + 1) {
        println!("  {second:+3} s: {ok:3}/{all:3}");
    }
    let after_kill: Vec<_> = record.calls.iter().filter(|c| c.at >= kill).collect();
    let failures: Vec<_> = after_kill.iter().filter(|c| c.code != Code::Ok).collect();
    let mut codes = BTreeMap::<String, usize>::new();
    for call in &failures {
        *codes
            .entry(format!("{:?} {:?}", call.rpc, call.code))
            .or_default() += 1;
    }
    println!(
        "after the kill: {} of {} answers failed ({codes:?}); first failure at +{:.1?}, last at \
         +{:.1?}; >= 99% ok sustained from second {recovered_at:?} after the kill",
        failures.len(),
        after_kill.len(),
        failures.iter().map(|c| c.at - kill).min(),
        failures.iter().map(|c| c.at - kill).max(),
    );
    let before = |at: &Duration| *at < kill;
    println!(
        "acknowledged before / after the kill: {} / {} invitations, {} / {} acceptances, \
         {} / {} member changes; ok after a retry: {:?}; {} calls given up",
        record.invited.iter().filter(|r| before(&r.0)).count(),
        record.invited.iter().filter(|r| !before(&r.0)).count(),
        record.accepted.iter().filter(|r| before(&r.0)).count(),
        record.accepted.iter().filter(|r| !before(&r.0)).count(),
        record.changes.iter().filter(|r| before(&r.0)).count(),
        record.changes.iter().filter(|r| !before(&r.0)).count(),
        record.ok_after_retry,
        record.gave_up.len(),
    );

    let emailed_twice = tally_log(&cluster.dir().join("roster.log"));
    assert!(
        emailed_twice.is_empty(),
        "emailed more than once: {emailed_twice:?}"
    );

    let failed_before = record
        .calls
        .iter()
        .filter(|c| c.at < kill && c.code != Code::Ok)
        .count();
    assert_eq!(failed_before, 0, "no failure before the kill");
    assert!(
        recovered_at.is_some_and(
            |second| second < i64::try_from(RECOVERY_LIMIT.as_secs()).unwrap_or(i64::MAX)
        ),
        "back to >= 99% ok within {RECOVERY_LIMIT:?} and staying there: {recovered_at:?}"
    );
    assert!(
        record.gave_up.is_empty(),
        "every call succeeded in the end: {:?}",
        &record.gave_up[..record.gave_up.len().min(5)]
    );
    assert!(record.wrong.is_empty(), "{:?}", record.wrong);
    assert!(
        record.accepted.iter().any(|r| !before(&r.0)),
        "acceptances after the kill too"
    );

    verify(&cluster, &record, &workspace_id).await;

    child.kill().expect("stop roster serve");
    child.wait().expect("reap roster serve");
}

/// Reads what the services stored, on the new primary, and checks it against what the
/// callers were told.
async fn verify(cluster: &Cluster, record: &Record, workspace_id: &str) {
    let (sql, connection) = tokio_postgres::connect(&cluster.url("roster"), tokio_postgres::NoTls)
        .await
        .expect("connect to the primary");
    tokio::spawn(connection);
    let pattern = format!("%@{DOMAIN}");
    // Every outbox row handed over and every email sent: the relays and the delivery
    // worker caught up after the failover.
    let drained = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let waiting: i64 = sql
                .query_one(
                    "SELECT (SELECT count(*) FROM invitation.outbox WHERE dispatched_at IS NULL)
                      + (SELECT count(*) FROM notification.notifications WHERE state = 'queued')",
                    &[],
                )
                .await
                .expect("outboxes")
                .get(0);
            if waiting == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    if drained.is_err() {
        let stuck: Vec<String> = sql
            .query(
                "SELECT 'outbox ' || recipient || ' attempts ' || attempts || ' ' ||
                        coalesce(last_error, '')
                 FROM invitation.outbox WHERE dispatched_at IS NULL
                 UNION ALL
                 SELECT 'notification ' || recipient || ' attempts ' || attempts || ' next ' ||
                        next_attempt_at || ' ' || coalesce(last_error, '')
                 FROM notification.notifications WHERE state = 'queued'",
                &[],
            )
            .await
            .expect("stuck messages")
            .into_iter()
            .map(|row| row.get(0))
            .collect();
        panic!("messages still waiting 60 s after the load: {stuck:?}");
    }

    // Invitations: at most one per address, each acknowledged one exactly once.
    let rows = sql
        .query(
            "SELECT email, invitation_id::text, state, coalesce(accepted_user_id::text, '')
             FROM invitation.invitations WHERE email LIKE $1",
            &[&pattern],
        )
        .await
        .expect("invitations");
    let mut invitations = HashMap::<String, Vec<(String, String, String)>>::new();
    for row in rows {
        invitations
            .entry(row.get(0))
            .or_default()
            .push((row.get(1), row.get(2), row.get(3)));
    }
    let doubled: Vec<_> = invitations.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(doubled.is_empty(), "invited twice: {doubled:?}");
    for (_, email, invitation_id) in &record.invited {
        let found = invitations.get(email).and_then(|v| v.first());
        assert!(
            found.is_some_and(|(id, _, _)| id == invitation_id),
            "acknowledged invitation {invitation_id} of {email}: found {found:?}"
        );
    }

    // One outbox row and one sent email per acknowledged invitation, none twice.
    for (table, extra) in [
        ("invitation.outbox", ""),
        ("notification.notifications", " AND state = 'sent'"),
    ] {
        let counted: HashMap<String, i64> = sql
            .query(
                &format!(
                    "SELECT recipient, count(*) FILTER (WHERE true{extra}), count(*) FROM {table}
                     WHERE template = 'invitation' AND recipient LIKE $1 GROUP BY recipient"
                ),
                &[&pattern],
            )
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"))
            .into_iter()
            .map(|row| {
                let (good, all): (i64, i64) = (row.get(1), row.get(2));
                assert!(
                    all <= 1,
                    "{all} rows in {table} for {}",
                    row.get::<_, String>(0)
                );
                (row.get(0), good)
            })
            .collect();
        for (_, email, _) in &record.invited {
            assert_eq!(counted.get(email), Some(&1), "{table} row of {email}");
        }
    }

    // Acceptances: the invitation accepted by that user, one user with the address, one
    // member in the workspace.
    let users: HashMap<String, Vec<String>> = sql
        .query(
            "SELECT email, array_agg(user_id::text) FROM identity.users WHERE email LIKE $1
             GROUP BY email",
            &[&pattern],
        )
        .await
        .expect("users")
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let members: HashMap<String, (i64, String)> = sql
        .query(
            "SELECT user_id::text, count(*), min(status) FROM membership.members
             WHERE workspace_id::text = $1 GROUP BY user_id",
            &[&workspace_id],
        )
        .await
        .expect("members")
        .into_iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2))))
        .collect();
    let doubled: Vec<_> = users.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(doubled.is_empty(), "users made twice: {doubled:?}");
    for (_, email, invitation_id, user_id) in &record.accepted {
        let invitation = invitations.get(email).and_then(|v| v.first());
        assert!(
            invitation.is_some_and(|(id, state, by)| id == invitation_id
                && state == "accepted"
                && by == user_id),
            "acceptance of {email} by {user_id}: {invitation:?}"
        );
        assert_eq!(
            users.get(email),
            Some(&vec![user_id.clone()]),
            "user {email}"
        );
        assert_eq!(
            members.get(user_id).map(|m| m.0),
            Some(1),
            "member {user_id} ({email})"
        );
    }

    // Member changes: each acknowledged one audited exactly once, none twice, and each
    // person's member in the state of their last change when that was acknowledged.
    let audited: HashMap<String, (String, String, i64)> = sql
        .query(
            "SELECT request_id, min(action), min(target_id), count(*) FROM membership.audit_events
             WHERE action IN ('membership.member.suspend', 'membership.member.resume')
             GROUP BY request_id",
            &[],
        )
        .await
        .expect("audit events")
        .into_iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2), row.get(3))))
        .collect();
    let doubled: Vec<_> = audited.iter().filter(|(_, a)| a.2 > 1).collect();
    assert!(doubled.is_empty(), "member changes done twice: {doubled:?}");
    for (_, user_id, action, request_id) in &record.changes {
        assert_eq!(
            audited.get(request_id),
            Some(&((*action).to_owned(), user_id.clone(), 1)),
            "change {request_id}"
        );
    }
    for (user_id, status) in &record.final_status {
        if let Some(status) = status {
            assert_eq!(
                members.get(user_id).map(|m| m.1.as_str()),
                Some(*status),
                "status of {user_id}"
            );
        }
    }
    println!(
        "verified on the new primary: {} invitations, {} acceptances, {} member changes; \
         nothing missing, nothing twice",
        record.invited.len(),
        record.accepted.len(),
        record.changes.len()
    );
}
