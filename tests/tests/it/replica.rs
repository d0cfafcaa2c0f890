//! Reads from a streaming replica (`READ_DATABASE_URL`): `roster serve` (a child process) on
//! a private primary with a hot standby of it. With replay paused on the standby, a writer's
//! next read still sees what it wrote (from the primary, by its credential or by the
//! `roster-read-after` header its answer carried), while other callers keep reading the
//! standby as it is; once replay resumes they see the write too, and with the standby gone
//! reads fall back to the primary.
use std::time::Duration;

use roster_proto::identity as id;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::membership as pb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use roster_tests::as_user;
use roster_tests::membership::{eventually, request_id};
use roster_tests::postgres::PrivatePostgres;
use tonic::transport::Channel;

use crate::child::{
    Reaped, account_with_workspace, bootstrap, free_port, loopback, roster, serving,
};

const READ_AFTER: &str = "roster-read-after";

/// Creates a person and adds them to `workspace`; the AddMember answer's read-after header.
async fn add_person(
    channel: &Channel,
    token: &str,
    workspace: &pb::Workspace,
    email: &str,
) -> (String, Option<String>) {
    let user = IdentityServiceClient::new(channel.clone())
        .create_user(as_user(
            token,
            id::CreateUserRequest {
                email: email.to_owned(),
                display_name: email.to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("create user")
        .into_inner()
        .user
        .expect("user");
    let added = MembershipServiceClient::new(channel.clone())
        .add_member(as_user(
            token,
            pb::AddMemberRequest {
                account_id: workspace.account_id.clone(),
                workspace_ids: vec![workspace.workspace_id.clone()],
                user_id: user.user_id.clone(),
                request_id: request_id(),
                ..Default::default()
            },
        ))
        .await
        .expect("add member");
    let read_after = added
        .metadata()
        .get(READ_AFTER)
        .map(|value| value.to_str().expect("ascii").to_owned());
    (user.user_id, read_after)
}

/// The ids of the workspace's members, as `token` lists them (with `read_after`, if any).
async fn members(
    channel: &Channel,
    token: &str,
    workspace_id: &str,
    read_after: Option<&str>,
) -> Vec<String> {
    let mut request = as_user(
        token,
        pb::ListMembersRequest {
            workspace_id: workspace_id.to_owned(),
            ..Default::default()
        },
    );
    if let Some(lsn) = read_after {
        request
            .metadata_mut()
            .insert(READ_AFTER, lsn.parse().expect("ascii"));
    }
    MembershipServiceClient::new(channel.clone())
        .list_members(request)
        .await
        .expect("list members")
        .into_inner()
        .members
        .into_iter()
        .map(|member| member.user_id)
        .collect()
}

/// Waits until the standby has replayed everything the primary has written.
async fn caught_up(primary: &tokio_postgres::Client, standby: &tokio_postgres::Client) {
    let written: String = primary
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .expect("primary position")
        .get(0);
    eventually(Duration::from_secs(30), "the standby replaying", || async {
        standby
            .query_one(
                "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&written],
            )
            .await
            .ok()?
            .get::<_, bool>(0)
            .then_some(())
    })
    .await;
}

async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn a_writer_reads_its_writes_while_replay_is_paused_and_others_read_the_standby() {
    // Set up before anything runs on this runtime: blocking here holds up nothing.
    let primary = PrivatePostgres::start();
    let standby = PrivatePostgres::start_standby_of(&primary);
    let url = primary.url("127.0.0.1", "sslmode=disable");
    let service_token = roster_kit::token::mint("rsv").secret;
    let (operator_id, writer) = bootstrap(&url, &service_token, "ops@replica.test");
    let port = free_port();
    let _server = Reaped(
        roster(&url, &service_token)
            .env(
                "READ_DATABASE_URL",
                standby.url("127.0.0.1", "sslmode=disable"),
            )
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .spawn()
            .expect("roster serve"),
    );
    let channel = loopback(port);
    serving(&channel).await;

    // A second credential of the same operator: a caller who has written nothing.
    let reader = IdentityServiceClient::new(channel.clone())
        .create_api_key(as_user(
            &writer,
            id::CreateApiKeyRequest {
                user_id: operator_id,
                display_name: "reader".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("create api key")
        .into_inner()
        .secret;
    let (_, workspace) = account_with_workspace(&channel, &writer, "Replica Inc", 0).await;
    let (first, _) = add_person(&channel, &writer, &workspace, "first@replica.test").await;

    let primary_sql = sql(&url).await;
    let standby_sql = sql(&standby.url("127.0.0.1", "sslmode=disable")).await;
    caught_up(&primary_sql, &standby_sql).await;
    standby_sql
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .expect("pause replay");

    let (second, read_after) =
        add_person(&channel, &writer, &workspace, "second@replica.test").await;
    let read_after = read_after.expect("a write's answer says where it reached");
    let id = &workspace.workspace_id;
    let by_writer = members(&channel, &writer, id, None).await;
    assert!(
        by_writer.contains(&first) && by_writer.contains(&second),
        "the writer reads its own write: {by_writer:?}"
    );
    let by_reader = members(&channel, &reader, id, None).await;
    assert!(
        by_reader.contains(&first) && !by_reader.contains(&second),
        "another caller reads the paused standby: {by_reader:?}"
    );
    let told = members(&channel, &reader, id, Some(&read_after)).await;
    assert!(
        told.contains(&second),
        "a caller sent the header reads the write: {told:?}"
    );
    let refused = MembershipServiceClient::new(channel.clone())
        .list_members({
            let mut request = as_user(
                &reader,
                pb::ListMembersRequest {
                    workspace_id: id.clone(),
                    ..Default::default()
                },
            );
            request
                .metadata_mut()
                .insert(READ_AFTER, "not a position".parse().expect("ascii"));
            request
        })
        .await
        .expect_err("a malformed header");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");

    standby_sql
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .expect("resume replay");
    eventually(
        Duration::from_secs(30),
        "the standby catching up",
        || async {
            members(&channel, &reader, id, None)
                .await
                .contains(&second)
                .then_some(())
        },
    )
    .await;

    standby.stop();
    let (third, _) = add_person(&channel, &writer, &workspace, "third@replica.test").await;
    let without_standby = members(&channel, &reader, id, None).await;
    assert!(
        without_standby.contains(&third),
        "with the standby gone, reads go to the primary: {without_standby:?}"
    );
}
