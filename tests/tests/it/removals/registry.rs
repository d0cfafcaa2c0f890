//! The custodian registry: operators register, list, update and remove custodians.
use roster_proto::membership as pb;
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user, assert_refused, violated_fields};
use tonic::Code;

use super::{removal_when, remove};

async fn listed(env: &TestEnv) -> Vec<pb::Custodian> {
    env.membership()
        .list_custodians(as_user(&env.operator_token, pb::ListCustodiansRequest {}))
        .await
        .unwrap()
        .into_inner()
        .custodians
}

fn custodian(name: &str, url: &str) -> pb::CreateCustodianRequest {
    pb::CreateCustodianRequest {
        custodian: Some(pb::Custodian {
            name: name.to_owned(),
            url: url.to_owned(),
            description: "flows and recipes".to_owned(),
            ..Default::default()
        }),
        request_id: request_id(),
    }
}

#[tokio::test]
async fn operators_register_list_update_and_remove_custodians() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let ann = env.add_admin(&company, "ann@example.com").await;
    let operator = &env.operator_token;

    let created = env
        .membership()
        .create_custodian(as_user(operator, custodian("flows", "http://127.0.0.1:1")))
        .await
        .unwrap()
        .into_inner()
        .custodian
        .unwrap();
    assert_eq!(created.name, "flows");
    assert_refused(
        env.membership()
            .create_custodian(as_user(operator, custodian("flows", "http://127.0.0.1:2")))
            .await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    for (name, url, field) in [
        ("Flows!", "http://127.0.0.1:1", "custodian.name"),
        ("", "http://127.0.0.1:1", "custodian.name"),
        ("recipes", "ftp://127.0.0.1", "custodian.url"),
        ("recipes", "not a url", "custodian.url"),
    ] {
        let refused = assert_refused(
            env.membership()
                .create_custodian(as_user(operator, custodian(name, url)))
                .await,
            Code::InvalidArgument,
            "",
        );
        assert_eq!(violated_fields(&refused), [field]);
    }
    // An account administrator is not a platform operator.
    assert_refused(
        env.membership()
            .create_custodian(as_user(
                &ann.session,
                custodian("recipes", "http://127.0.0.1:3"),
            ))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );

    let updated = env
        .membership()
        .update_custodian(as_user(
            operator,
            pb::UpdateCustodianRequest {
                custodian: Some(pb::Custodian {
                    custodian_id: created.custodian_id.clone(),
                    url: "https://flows.internal:8443".to_owned(),
                    ..Default::default()
                }),
                update_mask: crate::membership::mask(&["url"]),
                request_id: request_id(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .custodian
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.url.as_str()),
        ("flows", "https://flows.internal:8443")
    );
    assert_eq!(listed(&env).await, [updated]);

    // A removal with a receiver leaves a step for it (the URL is unreachable): deleting
    // the custodian is refused until forced, which cancels the step.
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let removal_id = remove(
        &env,
        &ann.session,
        company.workspace_id(),
        joe.id(),
        ann.id(),
    )
    .await
    .unwrap()
    .removal
    .unwrap()
    .removal_id;
    let delete = |force| pb::DeleteCustodianRequest {
        custodian_id: created.custodian_id.clone(),
        force,
        request_id: request_id(),
    };
    assert_refused(
        env.membership()
            .delete_custodian(as_user(operator, delete(false)))
            .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    env.membership()
        .delete_custodian(as_user(operator, delete(true)))
        .await
        .unwrap();
    removal_when(&env, &removal_id, "the cancelled step", |r| {
        r.steps[0].state == pb::RemovalStepState::Cancelled as i32
    })
    .await;
    assert!(listed(&env).await.is_empty());
}
