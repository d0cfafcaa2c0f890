//! What every process offers: health, reflection, migrations, a pool that recovers.
use roster_proto::identity as pb;
use roster_tests::{TestEnv, as_user, reason};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

#[tokio::test]
async fn health_reports_each_service_serving() {
    let env = TestEnv::start().await;
    let mut health = HealthClient::new(env.channel());
    for service in [
        "",
        "roster.identity.v1.IdentityService",
        "roster.membership.v1.MembershipService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn reflection_lists_the_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let env = TestEnv::start().await;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(env.channel())
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("a service list");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "roster.identity.v1.IdentityService",
        "roster.membership.v1.MembershipService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
}

#[tokio::test]
async fn migrations_are_safe_when_replicas_start_at_once() {
    let env = TestEnv::start().await;
    let url = {
        let db = env.sql().await;
        let name: String = db
            .query_one("SELECT current_database()", &[])
            .await
            .unwrap()
            .get(0);
        let admin = std::env::var("ROSTER_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
    };
    let config = roster_kit::config::PoolConfig {
        max_size: 2,
        timeout: std::time::Duration::from_secs(5),
    };
    let fresh_schema = "migration_race";
    let runs = (0..4).map(|_| {
        let (url, config) = (url.clone(), config.clone());
        tokio::spawn(async move {
            let pool = roster_kit::db::connect(&url, None, None, fresh_schema, &config)
                .await
                .unwrap();
            roster_kit::db::migrate(&pool, fresh_schema, roster_identity::MIGRATIONS)
                .await
                .unwrap()
        })
    });
    let applied: Vec<usize> = futures::future::join_all(runs)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        applied.iter().sum::<usize>(),
        roster_identity::MIGRATIONS.len(),
        "each migration applied once: {applied:?}"
    );
}

#[tokio::test]
async fn the_pool_recovers_after_its_connections_are_killed() {
    let env = TestEnv::start().await;
    let mut identity = env.identity();
    let read = || pb::GetUserRequest {
        user_id: env.operator_id.clone(),
    };
    identity
        .get_user(as_user(&env.operator_token, read()))
        .await
        .unwrap();
    // What a Postgres restart does to the pool: every server connection goes away.
    let db = env.sql().await;
    let killed: Vec<i32> = db
        .query_one(
            "WITH others AS MATERIALIZED (
                 SELECT pid FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid())
             SELECT coalesce(array_agg(pid), '{}') FROM others WHERE pg_terminate_backend(pid)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!killed.is_empty());
    // As after a restart, they are gone, not only signalled.
    roster_tests::membership::eventually(
        std::time::Duration::from_secs(10),
        "the terminated backends exiting",
        || async {
            let left: i64 = db
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)",
                    &[&killed],
                )
                .await
                .ok()?
                .get(0);
            (left == 0).then_some(())
        },
    )
    .await;
    identity
        .get_user(as_user(&env.operator_token, read()))
        .await
        .unwrap();
}

#[tokio::test]
async fn shutdown_lets_in_flight_calls_finish_and_refuses_new_connections() {
    // A password reset request answers after a floor: a call that is surely in flight.
    let mut env = TestEnv::start_with(|options| {
        options.identity.reset_response_floor = std::time::Duration::from_millis(800)
    })
    .await;
    let mut client = env.identity();
    let in_flight = tokio::spawn(async move {
        client
            .request_password_reset(pb::RequestPasswordResetRequest {
                email: "joe@example.com".into(),
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    env.stop_serving();
    assert!(
        in_flight.await.unwrap().is_ok(),
        "the in-flight call completes"
    );

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let fresh = tonic::transport::Channel::from_shared(format!("http://{}", env.address))
        .unwrap()
        .connect()
        .await;
    assert!(fresh.is_err(), "no new connections after shutdown");
}

#[tokio::test]
async fn a_request_past_the_timeout_is_cut_off() {
    let env = TestEnv::start_with(|options| {
        options.server.request_timeout = std::time::Duration::from_millis(200);
        options.identity.reset_response_floor = std::time::Duration::from_secs(3);
    })
    .await;
    let started = std::time::Instant::now();
    let status = env
        .identity()
        .request_password_reset(pb::RequestPasswordResetRequest {
            email: "joe@example.com".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "cut off at the timeout"
    );
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
}

#[tokio::test]
async fn calls_beyond_the_concurrency_limit_are_refused_at_once_with_a_retry_hint() {
    let floor = std::time::Duration::from_millis(300);
    let env = TestEnv::start_with(|options| {
        options.server.max_concurrent_requests = 1;
        options.identity.reset_response_floor = floor;
    })
    .await;
    let calls = (0..3).map(|_| {
        let mut client = env.identity();
        async move {
            let started = std::time::Instant::now();
            let outcome = client
                .request_password_reset(pb::RequestPasswordResetRequest {
                    email: "joe@example.com".into(),
                    ..Default::default()
                })
                .await;
            (outcome, started.elapsed())
        }
    });
    let outcomes = futures::future::join_all(calls).await;
    // One is served (taking the floor); the others are shed without waiting for it.
    let served = outcomes
        .iter()
        .filter(|(outcome, _)| outcome.is_ok())
        .count();
    assert_eq!(served, 1, "{outcomes:?}");
    for (outcome, took) in &outcomes {
        if let Err(status) = outcome {
            assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
            assert_eq!(reason(status), "OVERLOADED");
            assert!(*took < floor, "shed after {took:?}");
        }
    }
}
