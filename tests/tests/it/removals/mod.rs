//! Removal with reassignment: custodians registered with Roster, the removal saga that
//! transfers and deletes a removed member's assets through them, and who may act on those
//! assets meanwhile. The custodians are the reference one (`examples/custodian`), over
//! gRPC, on their own databases.
mod crash;
mod faults;
mod registry;
mod transfer;

use std::time::Duration;

use roster_example_custodian::pb as assets_pb;
use roster_example_custodian::pb::asset_service_client::AssetServiceClient;
use roster_proto::membership as pb;
use roster_tests::custodian::TestCustodian;
use roster_tests::membership::{Company, Person, eventually, request_id};
use roster_tests::{TestEnv, as_user};
use tonic::Status;

/// A workspace with an administrator (Ann) and two plain members: Joe, who is removed, and
/// Mary, who receives.
pub(crate) struct Team {
    pub(crate) env: TestEnv,
    pub(crate) company: Company,
    pub(crate) ann: Person,
    pub(crate) joe: Person,
    pub(crate) mary: Person,
}

pub(crate) async fn team() -> Team {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let ann = env.add_admin(&company, "ann@example.com").await;
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let mary = env.add_plain_member(&company, "mary@example.com").await;
    Team {
        env,
        company,
        ann,
        joe,
        mary,
    }
}

/// RemoveMember as `token`, answering the member and the removal.
pub(crate) async fn remove(
    env: &TestEnv,
    token: &str,
    workspace_id: &str,
    user_id: &str,
    receiver: &str,
) -> Result<pb::RemoveMemberResponse, Status> {
    let request = pb::RemoveMemberRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.to_owned(),
        transfer_to_user_id: receiver.to_owned(),
        request_id: request_id(),
    };
    Ok(env
        .membership()
        .remove_member(as_user(token, request))
        .await?
        .into_inner())
}

/// PreviewRemoval as `token`.
pub(crate) async fn preview(
    env: &TestEnv,
    token: &str,
    workspace_id: &str,
    user_id: &str,
    receiver: &str,
) -> Vec<pb::CustodianHoldings> {
    let request = pb::PreviewRemovalRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.to_owned(),
        transfer_to_user_id: receiver.to_owned(),
    };
    env.membership()
        .preview_removal(as_user(token, request))
        .await
        .expect("preview removal")
        .into_inner()
        .custodians
}

/// RetryRemoval as the operator.
pub(crate) async fn retry(env: &TestEnv, removal_id: &str) -> Result<pb::Removal, Status> {
    let request = pb::RetryRemovalRequest {
        removal_id: removal_id.to_owned(),
        request_id: request_id(),
    };
    Ok(env
        .membership()
        .retry_removal(as_user(&env.operator_token, request))
        .await?
        .into_inner()
        .removal
        .expect("removal"))
}

/// CheckAssetAccess as the operator.
pub(crate) async fn check_asset_access(
    env: &TestEnv,
    workspace_id: &str,
    owner: &str,
    actor: &str,
) -> pb::CheckAssetAccessResponse {
    let request = pb::CheckAssetAccessRequest {
        workspace_id: workspace_id.to_owned(),
        owner_user_id: owner.to_owned(),
        actor_user_id: actor.to_owned(),
    };
    env.membership()
        .check_asset_access(as_user(&env.operator_token, request))
        .await
        .expect("check asset access")
        .into_inner()
}

/// GetRemoval as the operator.
pub(crate) async fn removal(env: &TestEnv, removal_id: &str) -> pb::Removal {
    let request = pb::GetRemovalRequest {
        removal_id: removal_id.to_owned(),
    };
    env.membership()
        .get_removal(as_user(&env.operator_token, request))
        .await
        .expect("get removal")
        .into_inner()
        .removal
        .expect("removal")
}

/// The removal once `done` holds of it (up to 30 s).
pub(crate) async fn removal_when(
    env: &TestEnv,
    removal_id: &str,
    what: &str,
    done: impl Fn(&pb::Removal) -> bool,
) -> pb::Removal {
    eventually(Duration::from_secs(30), what, || async {
        let removal = removal(env, removal_id).await;
        done(&removal).then_some(removal)
    })
    .await
}

/// The step of `custodian` for `verb`.
pub(crate) fn step<'a>(
    removal: &'a pb::Removal,
    custodian: &TestCustodian,
    verb: pb::RemovalStepVerb,
) -> &'a pb::RemovalStep {
    removal
        .steps
        .iter()
        .find(|s| s.custodian_name == custodian.name && s.verb == verb as i32)
        .unwrap_or_else(|| panic!("no {verb:?} step of {} in {removal:?}", custodian.name))
}

/// Whether every step of `verb` has `state`.
pub(crate) fn all_steps(
    removal: &pb::Removal,
    verb: pb::RemovalStepVerb,
    state: pb::RemovalStepState,
) -> bool {
    let steps: Vec<_> = removal
        .steps
        .iter()
        .filter(|s| s.verb == verb as i32)
        .collect();
    !steps.is_empty() && steps.iter().all(|s| s.state == state as i32)
}

/// ListAssets on a custodian's own API as `token`.
pub(crate) async fn list_assets(
    custodian: &TestCustodian,
    token: &str,
    workspace_id: &str,
    owner: &str,
) -> Result<Vec<assets_pb::Asset>, Status> {
    let mut client = AssetServiceClient::connect(format!("http://{}", custodian.address))
        .await
        .expect("connect to the custodian");
    let request = assets_pb::ListAssetsRequest {
        workspace_id: workspace_id.to_owned(),
        owner_user_id: owner.to_owned(),
    };
    Ok(client
        .list_assets(as_user(token, request))
        .await?
        .into_inner()
        .assets)
}

/// The rendered text of every `removal_summary` email to `recipient` (once sent).
pub(crate) async fn summaries(env: &TestEnv, recipient: &str) -> Vec<String> {
    env.sql()
        .await
        .query(
            "SELECT rendered_text FROM notification.notifications
             WHERE template = 'removal_summary' AND recipient = $1 AND state = 'sent'
             ORDER BY created_at",
            &[&recipient],
        )
        .await
        .expect("notifications")
        .iter()
        .filter_map(|row| row.get::<_, Option<String>>(0))
        .collect()
}
