//! Revocation on every replica at once: a disable, lock, logout or revoked API key answered
//! by one replica is seen by the very next `Authenticate` (and `CheckPermission`) on another,
//! caches warm, whether the
//! services share a process and a database or not; and cutting the push (the stream, the
//! LISTEN connections) never lets a cache answer from before a revocation.
use std::time::Duration;

use roster_proto::identity as id;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::membership as pb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use roster_tests::membership::eventually;
use roster_tests::{TestEnv, as_user};
use tonic::Code;
use tonic::transport::Channel;

/// Members disabled and locked in turn.
const PEOPLE: usize = 8;
/// The permission checked.
const PERMISSION: &str = "roster.members.read";

/// Where a round writes and where it reads right after.
struct Replicas {
    writer: Channel,
    reader_identity: Channel,
    reader_membership: Channel,
}

/// A company of [`PEOPLE`] members, each with an API key, and an operator API key.
struct Cast {
    workspace_id: String,
    people: Vec<(String, String)>,
    operator_key: String,
}

async fn cast(env: &TestEnv) -> Cast {
    let company = env.create_company("Acme", 0).await;
    let mut people = Vec::new();
    for i in 0..PEOPLE {
        let person = env
            .add_plain_member(&company, &format!("person{i}@example.com"))
            .await;
        let key = env.create_api_key(person.id()).await.secret;
        people.push((person.id().to_owned(), key));
    }
    Cast {
        workspace_id: company.workspace_id().to_owned(),
        people,
        operator_key: env.create_api_key(&env.operator_id).await.secret,
    }
}

/// Watchers of identity's feed holding a lease now.
async fn leases(env: &TestEnv, identity_database: &str) -> i64 {
    env.sql_on(identity_database)
        .await
        .query_one(
            "SELECT count(*) FROM identity.user_change_watchers WHERE lease_until > clock_timestamp()",
            &[],
        )
        .await
        .expect("watchers")
        .get(0)
}

async fn all_leased(env: &TestEnv, identity_database: &str, processes: i64) {
    eventually(Duration::from_secs(10), "every process leased", || async {
        (leases(env, identity_database).await == processes).then_some(())
    })
    .await;
}

async fn authenticate(channel: &Channel, key: &str) -> Result<id::Principal, tonic::Status> {
    IdentityServiceClient::new(channel.clone())
        .authenticate(id::AuthenticateRequest {
            token: key.to_owned(),
        })
        .await
        .map(|answer| answer.into_inner().principal.unwrap_or_default())
}

async fn check(
    channel: &Channel,
    cast: &Cast,
    user_id: &str,
) -> Result<pb::CheckPermissionResponse, tonic::Status> {
    MembershipServiceClient::new(channel.clone())
        .check_permission(as_user(
            &cast.operator_key,
            pb::CheckPermissionRequest {
                user_id: user_id.to_owned(),
                workspace_id: cast.workspace_id.clone(),
                permission: PERMISSION.to_owned(),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// Disables (`lock` false) or locks a user through `channel`, or undoes it.
async fn set_standing(env: &TestEnv, channel: &Channel, user_id: &str, lock: bool, on: bool) {
    let mut identity = IdentityServiceClient::new(channel.clone());
    let token = &env.operator_token;
    let user_id = user_id.to_owned();
    let done = match (lock, on) {
        (false, true) => identity
            .disable_user(as_user(
                token,
                id::DisableUserRequest {
                    user_id,
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        (false, false) => identity
            .enable_user(as_user(
                token,
                id::EnableUserRequest {
                    user_id,
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        (true, true) => identity
            .lock_user(as_user(
                token,
                id::LockUserRequest {
                    user_id,
                    reason: "revocation test".into(),
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        (true, false) => identity
            .unlock_user(as_user(
                token,
                id::UnlockUserRequest {
                    user_id,
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
    };
    done.expect("status change");
}

/// `rounds` rounds of: warm the reader's caches, disable or lock on the writer, then at
/// once Authenticate and CheckPermission on the reader. Returns how many of each refused.
async fn revoke_rounds(
    env: &TestEnv,
    replicas: &Replicas,
    cast: &Cast,
    rounds: usize,
) -> (usize, usize) {
    let (mut refused_auth, mut refused_check) = (0, 0);
    for round in 0..rounds {
        let (user_id, key) = &cast.people[round % PEOPLE];
        let lock = round % 2 == 1;
        authenticate(&replicas.reader_identity, key)
            .await
            .expect("authenticated before");
        let before = check(&replicas.reader_membership, cast, user_id)
            .await
            .expect("checked before");
        assert!(before.allowed, "round {round}: allowed before");

        set_standing(env, &replicas.writer, user_id, lock, true).await;
        let (auth, checked) = tokio::join!(
            authenticate(&replicas.reader_identity, key),
            check(&replicas.reader_membership, cast, user_id)
        );
        match auth {
            Err(status)
                if matches!(
                    status.code(),
                    Code::PermissionDenied | Code::Unauthenticated
                ) =>
            {
                refused_auth += 1;
            }
            other => eprintln!("round {round}: Authenticate answered {other:?}"),
        }
        let expected = if lock {
            pb::AccessReason::UserLocked
        } else {
            pb::AccessReason::UserDisabled
        };
        match checked {
            Ok(answer) if !answer.allowed && answer.reason == expected as i32 => refused_check += 1,
            other => eprintln!("round {round}: CheckPermission answered {other:?}"),
        }
        set_standing(env, &replicas.writer, user_id, lock, false).await;
    }
    (refused_auth, refused_check)
}

#[tokio::test]
async fn a_logout_and_a_revoked_api_key_are_refused_at_once_by_another_replica() {
    let mut env = TestEnv::start().await;
    let password = "a long enough passphrase";
    let user = env.create_user("joe@example.com", password).await;
    let key = env.create_api_key(&user.user_id).await;
    let session = env.login("joe@example.com", password).await;
    let replica = env.start_replica().await;
    all_leased(&env, &env.database_name(), 2).await;
    for token in [&key.secret, &session] {
        authenticate(&replica, token).await.expect("cached before");
    }

    IdentityServiceClient::new(env.channel())
        .revoke_api_key(as_user(
            &env.operator_token,
            id::RevokeApiKeyRequest {
                api_key_id: key.api_key.expect("key").api_key_id,
                ..Default::default()
            },
        ))
        .await
        .expect("revoke");
    let refused = authenticate(&replica, &key.secret)
        .await
        .expect_err("revoked key");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    IdentityServiceClient::new(env.channel())
        .logout(as_user(&session, id::LogoutRequest::default()))
        .await
        .expect("logout");
    let refused = authenticate(&replica, &session)
        .await
        .expect_err("ended session");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
}

#[tokio::test]
async fn a_thousand_revocations_are_seen_at_once_by_another_replica_of_one_process() {
    let mut env = TestEnv::start().await;
    let cast = cast(&env).await;
    let replica = env.start_replica().await;
    all_leased(&env, &env.database_name(), 2).await;
    let replicas = Replicas {
        writer: env.channel(),
        reader_identity: replica.clone(),
        reader_membership: replica,
    };
    let (auth, checked) = revoke_rounds(&env, &replicas, &cast, 1000).await;
    assert_eq!((auth, checked), (1000, 1000), "refused of 1,000 rounds");
}

/// Identity on its own database in a process of its own (`B`), membership on another
/// database in another (`C`, calling `B`), and everything in a third (`A`) that writes.
async fn split(
    env: &mut TestEnv,
) -> (
    Replicas,
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
) {
    let (identity_at, identity, stop_identity) = env
        .serve_stoppable_at(([127, 0, 0, 1], 0).into(), |options| {
            options.services = vec![roster::Service::Identity];
        })
        .await;
    let (_, membership) = env
        .serve_at(([127, 0, 0, 1], 0).into(), |options| {
            options.services = vec![roster::Service::Membership];
            options.identity_url = Some(format!("http://{identity_at}"));
        })
        .await;
    let replicas = Replicas {
        writer: env.channel(),
        reader_identity: identity,
        reader_membership: membership,
    };
    (replicas, identity_at, stop_identity)
}

#[tokio::test]
async fn a_thousand_revocations_are_seen_at_once_across_processes_and_databases() {
    let mut env = TestEnv::start_split().await;
    let cast = cast(&env).await;
    let (replicas, _, _stop_identity) = split(&mut env).await;
    let identity_database = env.identity_database_name();
    all_leased(&env, &identity_database, 3).await;
    let (auth, checked) = revoke_rounds(&env, &replicas, &cast, 1000).await;
    assert_eq!((auth, checked), (1000, 1000), "refused of 1,000 rounds");
}

#[tokio::test]
async fn cutting_the_push_bypasses_the_caches_and_they_resume_once_it_is_back() {
    let mut env = TestEnv::start_split().await;
    let cast = cast(&env).await;
    let (mut replicas, identity_at, stop_identity) = split(&mut env).await;
    let identity_database = env.identity_database_name();
    all_leased(&env, &identity_database, 3).await;
    assert_eq!(revoke_rounds(&env, &replicas, &cast, 10).await, (10, 10));

    // The LISTEN connections die (identity's change and acknowledgement notices,
    // membership's access notices): pushes fall back to polling, answers stay right.
    for database in [identity_database.clone(), env.database_name()] {
        env.sql_on(&database)
            .await
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND query LIKE 'LISTEN%'",
                &[],
            )
            .await
            .expect("terminate listeners");
    }
    assert_eq!(revoke_rounds(&env, &replicas, &cast, 10).await, (10, 10));

    // The stream itself breaks: membership's process loses identity (B) and its lease.
    let (user_id, _) = &cast.people[0];
    check(&replicas.reader_membership, &cast, user_id)
        .await
        .expect("warm");
    drop(stop_identity);
    eventually(
        Duration::from_secs(10),
        "membership's lease lost",
        || async { (leases(&env, &identity_database).await == 1).then_some(()) },
    )
    .await;
    set_standing(&env, &replicas.writer, user_id, false, true).await;
    eventually(Duration::from_secs(10), "identity's port free", || async {
        std::net::TcpListener::bind(identity_at).ok().map(drop)
    })
    .await;
    let (_, identity, _stop_identity) = env
        .serve_stoppable_at(identity_at, |options| {
            options.services = vec![roster::Service::Identity];
        })
        .await;
    replicas.reader_identity = identity;
    // Until the stream is back, every answer comes from identity: refused, or unavailable
    // while identity starts, never allowed from the warm cache.
    let refused = eventually(Duration::from_secs(10), "an answer", || async {
        match check(&replicas.reader_membership, &cast, user_id).await {
            Ok(answer) => Some(answer),
            Err(status) if status.code() == Code::Unavailable => None,
            Err(status) => panic!("{status:?}"),
        }
    })
    .await;
    assert_eq!(refused.reason, pb::AccessReason::UserDisabled as i32);
    set_standing(&env, &replicas.writer, user_id, false, false).await;
    all_leased(&env, &identity_database, 3).await;
    assert_eq!(revoke_rounds(&env, &replicas, &cast, 10).await, (10, 10));
}
