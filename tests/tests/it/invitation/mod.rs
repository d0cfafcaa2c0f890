//! The invitation service against real Postgres, talking gRPC to identity and membership.
mod accept;
mod claims;
mod invite;
mod manage;
mod replay;
mod scope;

use roster_proto::membership as mpb;
use roster_tests::TestEnv;
use roster_tests::as_user;
use roster_tests::membership::{Company, request_id};

/// Sets a workspace's seat limit as the operator.
async fn set_seat_limit(env: &TestEnv, company: &Company, seat_limit: i32) {
    let request = mpb::UpdateWorkspaceRequest {
        workspace: Some(mpb::Workspace {
            workspace_id: company.workspace_id().to_owned(),
            seat_limit,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["seat_limit".to_owned()],
        }),
        request_id: request_id(),
    };
    env.membership()
        .update_workspace(as_user(&env.operator_token, request))
        .await
        .expect("update seat limit");
}

/// Counts rows of `sql` (one `$1` parameter).
async fn count(env: &TestEnv, sql: &str, parameter: &str) -> i64 {
    env.sql()
        .await
        .query_one(sql, &[&parameter])
        .await
        .expect("count")
        .get(0)
}
