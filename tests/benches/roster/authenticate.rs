//! Throughput and latency of `roster.identity.v1.IdentityService/Authenticate` (with a
//! session token and with an API key) at 64 concurrent callers, beside a bare tonic
//! baseline (`grpc.health.v1.Health/Check` on a server with no middleware and no
//! database) measured the same way in the same run, so the numbers can be read against
//! what this machine and tonic alone can do.
//!
//! Run with `cargo bench -p roster-tests --bench roster -- authenticate`. It needs
//! Postgres as the tests do (`ROSTER_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). `ROSTER_BENCH_SECONDS` sets how long
//! each target is measured (default 5, after a 1 s warm-up).

use roster_proto::identity::AuthenticateRequest;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_tests::TestEnv;
use roster_tests::load::{self, Call, Concurrency, Target};

/// 64 concurrent callers, 8 to a connection.
const CONCURRENCY: Concurrency = Concurrency {
    callers: 64,
    connections: 8,
};

fn authenticate(token: String) -> Call {
    load::call(move |channel| {
        let request = AuthenticateRequest {
            token: token.clone(),
        };
        async move {
            IdentityServiceClient::new(channel)
                .authenticate(request)
                .await
                .map(|_| ())
        }
    })
}

/// Runs every target and prints the table; the failures.
pub(crate) async fn bench() -> Vec<String> {
    let duration = load::measured_duration();

    // Serve with the production pool settings (`ROSTER_DB_POOL_SIZE`, default 16), not the
    // harness's small test pool.
    let pool = roster_kit::config::PoolConfig::from_env().expect("pool config");
    let pool_size = pool.max_size;
    let env = TestEnv::start_with(|options| options.pool = pool).await;
    let email = "bench@roster.test";
    let password = "correct horse battery staple";
    let user = env.create_user(email, password).await;
    let session_token = env.login(email, password).await;
    let api_key = env.create_api_key(&user.user_id).await.secret;
    // Both tokens must resolve to the user, or the run would measure refusals.
    for token in [&session_token, &api_key] {
        let principal = env.authenticate(token).await.expect("token authenticates");
        assert_eq!(
            principal.user_id, user.user_id,
            "principal of the bench token"
        );
    }

    let baseline =
        load::connections(load::bare_tonic_server().await, CONCURRENCY.connections).await;
    let roster = load::connections(env.address, CONCURRENCY.connections).await;
    let targets = [
        Target::new(load::BASELINE, &baseline, load::health_check()),
        Target::new(
            "Authenticate (session token)",
            &roster,
            authenticate(session_token),
        ),
        Target::new("Authenticate (API key)", &roster, authenticate(api_key)),
    ];

    println!("{}", load::setup_line(CONCURRENCY, pool_size, duration));
    load::measure_table(&targets, CONCURRENCY.callers, duration).await
}
