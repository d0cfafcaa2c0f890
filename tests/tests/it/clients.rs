//! The generated clients (examples/python, examples/typescript) play the README's story
//! against a real server, each through its own test suite: what an integrating team runs
//! first. The suites assert the answers and the refusals' ErrorInfo reasons themselves.
use std::time::Duration;

use roster_kit::config::CorsOrigins;
use roster_tests::TestEnv;
use roster_tests::clients::{PYTHON, passes, python, typescript};
use tokio::process::Command;

/// Longest a suite may run: a few dozen calls, a few of them password hashes.
const SUITE_LIMIT: Duration = Duration::from_secs(120);

/// The page origin the gRPC-Web test's server allows.
const CONSOLE: &str = "http://console.roster.test";

fn suite(program: impl AsRef<std::ffi::OsStr>, env: &TestEnv) -> Command {
    let mut command = Command::new(program);
    command
        .env("ROSTER_ADDRESS", env.address.to_string())
        .env("ROSTER_API_KEY", &env.operator_token);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_plays_the_story() {
    let package = python().await;
    let env = TestEnv::start().await;
    let mut pytest = suite(package.join(PYTHON), &env);
    pytest
        .args(["-m", "pytest", "-p", "no:cacheprovider"])
        .current_dir(&package);
    passes(&mut pytest, SUITE_LIMIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_client_plays_the_story_over_grpc() {
    let package = typescript().await;
    let env = TestEnv::start().await;
    let mut node = suite("node", &env);
    node.args(["--test", "dist/test/story.test.js"])
        .current_dir(&package);
    passes(&mut node, SUITE_LIMIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_client_calls_over_grpc_web_from_an_allowed_origin() {
    let package = typescript().await;
    let env = TestEnv::start_with(|options| {
        options.server.cors_allowed_origins = CorsOrigins::List(vec![CONSOLE.to_owned()]);
    })
    .await;
    let mut node = suite("node", &env);
    node.args(["--test", "dist/test/grpc-web.test.js"])
        .env("ROSTER_CORS_ALLOWED_ORIGINS", CONSOLE)
        .current_dir(&package);
    passes(&mut node, SUITE_LIMIT).await;
}
