//! The acceptance holds no transaction, row lock or pooled connection while identity and
//! membership work: it claims the invitation in a short transaction, and a claim left by
//! a process killed mid-way ends with its lease, after which a retry completes the same
//! acceptance. A step is held in flight by a trigger that waits on an advisory lock the
//! test holds, so nothing here depends on timing.
use std::time::Duration;

use roster::Service;
use roster_proto::invitation as pb;
use roster_proto::invitation::invitation_service_client::InvitationServiceClient;
use roster_tests::invitation::new_user;
use roster_tests::membership::eventually;
use roster_tests::{TestEnv, assert_refused};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt as _;

use super::count;
use crate::child::{free_port, roster};

const USERS_WITH_EMAIL: &str = "SELECT count(*) FROM identity.users WHERE email = $1";
const MEMBERS_WITH_EMAIL: &str =
    "SELECT count(*) FROM membership.members WHERE email = $1 AND status <> 'removed'";
/// How long a request waits for a pooled connection or another service.
const PATIENCE: Duration = Duration::from_secs(30);
const HOLDS: &str = "SELECT count(*) FROM membership.seat_holds WHERE hold_id::text = $1";

/// Inserts into one table wait while the gate is closed (the test holds an advisory lock
/// that a trigger on the table waits for).
struct Gate {
    sql: tokio_postgres::Client,
    schema: &'static str,
    table: &'static str,
    key: i64,
}

impl Gate {
    async fn close(env: &TestEnv, schema: &'static str, table: &'static str, key: i64) -> Self {
        let sql = env.sql().await;
        sql.batch_execute(&format!(
            "CREATE FUNCTION {schema}.gate() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_advisory_xact_lock_shared({key}); RETURN NEW; END $$;
             CREATE TRIGGER gate BEFORE INSERT ON {schema}.{table}
               FOR EACH ROW EXECUTE FUNCTION {schema}.gate();
             SELECT pg_advisory_lock({key});"
        ))
        .await
        .expect("close the gate");
        Self {
            sql,
            schema,
            table,
            key,
        }
    }

    /// Waits until `inserts` inserts wait at the gate, or behind one there (identity
    /// orders its user inserts with an advisory lock of its own).
    async fn wait_for(&self, inserts: i64) {
        eventually(Duration::from_secs(60), "inserts at the gate", || async {
            let waiting: i64 = self
                .sql
                .query_one(
                    "SELECT count(*) FROM pg_locks
                      WHERE locktype = 'advisory' AND NOT granted
                        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    &[],
                )
                .await
                .expect("pg_locks")
                .get(0);
            (waiting >= inserts).then_some(())
        })
        .await;
    }

    async fn open(self) {
        let (schema, table, key) = (self.schema, self.table, self.key);
        self.sql
            .batch_execute(&format!(
                "SELECT pg_advisory_unlock({key});
                 DROP TRIGGER gate ON {schema}.{table};
                 DROP FUNCTION {schema}.gate();"
            ))
            .await
            .expect("open the gate");
    }
}

/// Invites `email` to the company's workspace; the link's token.
async fn invited(
    env: &TestEnv,
    company: &roster_tests::membership::Company,
    email: &str,
) -> (String, String) {
    let invitation = env.invite(company, email).await;
    let token = env.invitation_token(&invitation.invitation_id).await;
    (invitation.invitation_id, token)
}

async fn accept(
    client: &InvitationServiceClient<Channel>,
    token: &str,
) -> Result<pb::AcceptInvitationResponse, tonic::Status> {
    client
        .clone()
        .accept_invitation(pb::AcceptInvitationRequest {
            token: token.to_owned(),
            invitee: Some(new_user("Someone")),
            request_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn accepts_waiting_on_identity_hold_no_connection_and_no_row_lock() {
    // Calls between services are bounded by the pool timeout: long enough here for
    // identity to wait at the gate while the test looks around.
    let mut env = TestEnv::start_with(|options| options.pool.timeout = PATIENCE).await;
    let company = env.create_company("Acme", 5).await;
    let (_, first) = invited(&env, &company, "first@acme.test").await;
    let (_, second) = invited(&env, &company, "second@acme.test").await;
    let (_, third) = invited(&env, &company, "third@acme.test").await;
    // An invitation service with one pooled connection: an accept that kept it while
    // identity works would leave every other request waiting for it.
    let peers = format!("http://{}", env.address);
    let (_, channel) = env
        .serve_at(([127, 0, 0, 1], 0).into(), |options| {
            options.services = vec![Service::Invitation];
            options.pool.max_size = 1;
            options.pool.timeout = PATIENCE;
            options.identity_url = Some(peers.clone());
            options.membership_url = Some(peers.clone());
        })
        .await;
    let client = InvitationServiceClient::new(channel);

    let gate = Gate::close(&env, "identity", "users", 7101).await;
    let accepts: Vec<_> = [first, second]
        .into_iter()
        .map(|token| {
            let client = client.clone();
            tokio::spawn(async move { accept(&client, &token).await })
        })
        .collect();
    gate.wait_for(2).await;
    // Both accepts are inside identity: their seats are held and their invitations
    // claimed, yet neither row is locked...
    let usage = env.seat_usage(company.workspace_id()).await;
    assert_eq!((usage.used, usage.held, usage.available), (0, 2, 3));
    let claimed = env
        .sql()
        .await
        .query(
            "SELECT invitation_id FROM invitation.invitations WHERE claim_until IS NOT NULL
               FOR UPDATE NOWAIT",
            &[],
        )
        .await
        .expect("no accept holds a row lock");
    assert_eq!(claimed.len(), 2);
    // ...and the one connection serves other requests, another accept's claim included.
    client
        .clone()
        .preview_invitation(pb::PreviewInvitationRequest {
            token: third.clone(),
        })
        .await
        .expect("preview while two accepts wait on identity");
    let third_accept = {
        let client = client.clone();
        tokio::spawn(async move { accept(&client, &third).await })
    };
    gate.wait_for(3).await;
    gate.open().await;

    for accept in accepts.into_iter().chain([third_accept]) {
        accept.await.expect("task").expect("accepted");
    }
    let usage = env.seat_usage(company.workspace_id()).await;
    assert_eq!((usage.used, usage.held), (3, 0));
}

#[tokio::test]
async fn an_accept_killed_after_creating_the_person_is_completed_by_a_retry_once_its_lease_ends() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 1).await;
    let (invitation_id, token) = invited(&env, &company, "joe@acme.test").await;
    let gate = Gate::close(&env, "membership", "members", 7102).await;
    let port = free_port();
    // A lease no test outlasts: it ends when the services' clock is moved past it.
    let mut child = roster(&env.database_url(), &env.service_token)
        .env("ROSTER_INVITATION_ACCEPT_LEASE", "1h")
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("start roster serve");
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("uri")
        .connect_lazy();
    let client = InvitationServiceClient::new(channel);
    eventually(Duration::from_secs(60), "roster serve", || async {
        let preview = pb::PreviewInvitationRequest {
            token: token.clone(),
        };
        client.clone().preview_invitation(preview).await.ok()
    })
    .await;
    let in_flight = {
        let (client, token) = (client.clone(), token.clone());
        tokio::spawn(async move { accept(&client, &token).await })
    };
    // Joe exists in identity; adding him as a member waits at the gate. Then the process
    // dies.
    gate.wait_for(1).await;
    assert_eq!(count(&env, USERS_WITH_EMAIL, "joe@acme.test").await, 1);
    child.kill().expect("SIGKILL roster serve");
    child.wait().expect("reap");
    in_flight
        .await
        .expect("task")
        .expect_err("the process died mid-way");
    gate.open().await;

    // What it left behind: a claimed invitation, a held seat, a person without a seat.
    let still = env
        .try_get_invitation(&env.operator_token, &invitation_id)
        .await
        .expect("read");
    assert_eq!(still.state(), pb::InvitationState::Pending);
    assert_eq!(count(&env, HOLDS, &invitation_id).await, 1);
    assert_eq!(count(&env, MEMBERS_WITH_EMAIL, "joe@acme.test").await, 0);
    // The claim stands until its lease ends...
    let status = assert_refused(
        env.try_accept(&token, new_user("Joe")).await,
        Code::Aborted,
        "CONCURRENT_MODIFICATION",
    );
    let retry_after = status
        .get_error_details()
        .error_info()
        .and_then(|info| info.metadata.get("retry_after_seconds").cloned());
    assert!(
        retry_after.is_some_and(|secs| secs.parse::<i64>().is_ok_and(|s| s > 3000)),
        "{status:?}"
    );
    // ...then a retry completes the same acceptance, in the seat the hold kept.
    env.clock.advance(chrono::Duration::seconds(3601));
    let accepted = env
        .try_accept(&token, new_user("Joe"))
        .await
        .expect("the retry completes the acceptance");
    let joe: String = env
        .sql()
        .await
        .query_one(
            "SELECT user_id::text FROM identity.users WHERE email = 'joe@acme.test'",
            &[],
        )
        .await
        .expect("joe")
        .get(0);
    assert_eq!(accepted.user_id, joe);
    env.authenticate(&accepted.session_token)
        .await
        .expect("the retry's session works");
    assert_eq!(count(&env, USERS_WITH_EMAIL, "joe@acme.test").await, 1);
    assert_eq!(count(&env, MEMBERS_WITH_EMAIL, "joe@acme.test").await, 1);
    assert_eq!(count(&env, HOLDS, &invitation_id).await, 0);
    let usage = env.seat_usage(company.workspace_id()).await;
    assert_eq!((usage.used, usage.held), (1, 0));
}
