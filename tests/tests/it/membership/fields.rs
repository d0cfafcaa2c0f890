//! Custom fields: definitions, validated and merged values on members and accounts.
use std::collections::HashMap;

use prost_types::Value;
use roster_proto::membership as pb;
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::{Code, Status};

use super::{boolean, null, number, text};

fn field(
    account_id: &str,
    key: &str,
    kind: pb::CustomFieldType,
    target: pb::CustomFieldTarget,
) -> pb::CustomField {
    pb::CustomField {
        account_id: account_id.into(),
        key: key.into(),
        label: key.replace('_', " "),
        r#type: kind as i32,
        target: target as i32,
        ..Default::default()
    }
}

async fn define(
    env: &TestEnv,
    token: &str,
    field: pb::CustomField,
) -> Result<pb::CustomField, Status> {
    Ok(env
        .membership()
        .define_custom_field(as_user(
            token,
            pb::DefineCustomFieldRequest {
                field: Some(field),
                request_id: request_id(),
            },
        ))
        .await?
        .into_inner()
        .field
        .unwrap())
}

async fn set_values(
    env: &TestEnv,
    token: &str,
    account_id: &str,
    user_id: &str,
    values: &[(&str, Value)],
) -> Result<HashMap<String, Value>, Status> {
    let request = pb::SetCustomFieldValuesRequest {
        account_id: account_id.into(),
        user_id: user_id.into(),
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        request_id: request_id(),
    };
    Ok(env
        .membership()
        .set_custom_field_values(as_user(token, request))
        .await?
        .into_inner()
        .values)
}

fn map(values: &[(&str, Value)]) -> HashMap<String, Value> {
    values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[tokio::test]
async fn member_field_values_are_validated_merged_and_cleared() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let account_id = company.account_id().to_owned();
    let operator = env.operator_token.clone();
    use pb::CustomFieldTarget::Member;
    use pb::CustomFieldType::{Boolean, Number, OneOf, String as Text};
    define(
        &env,
        &operator,
        field(&account_id, "employee_id", Text, Member),
    )
    .await
    .unwrap();
    define(&env, &operator, field(&account_id, "level", Number, Member))
        .await
        .unwrap();
    define(
        &env,
        &operator,
        field(&account_id, "remote", Boolean, Member),
    )
    .await
    .unwrap();
    let team = define(
        &env,
        &operator,
        pb::CustomField {
            options: vec!["red".into(), "blue".into()],
            ..field(&account_id, "team", OneOf, Member)
        },
    )
    .await
    .unwrap();
    assert_eq!(team.options, ["red", "blue"]);
    assert!(team.create_time.is_some());

    let second = env.create_workspace(&account_id, "Second", 0).await;
    let joe = env.create_plain_user("joe@example.com", "Joe").await;
    env.try_add_member(
        &account_id,
        &[company.workspace_id(), &second.workspace_id],
        &joe.user_id,
        &[],
    )
    .await
    .unwrap();

    let values = set_values(
        &env,
        &operator,
        &account_id,
        &joe.user_id,
        &[
            ("employee_id", text("E-17")),
            ("level", number(3.0)),
            ("team", text("red")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        values,
        map(&[
            ("employee_id", text("E-17")),
            ("level", number(3.0)),
            ("team", text("red"))
        ])
    );
    // Merged: other keys stay.
    let values = set_values(
        &env,
        &operator,
        &account_id,
        &joe.user_id,
        &[("remote", boolean(true))],
    )
    .await
    .unwrap();
    assert_eq!(values.len(), 4);
    assert_eq!(values["remote"], boolean(true));
    // Null clears one.
    let values = set_values(
        &env,
        &operator,
        &account_id,
        &joe.user_id,
        &[("level", null())],
    )
    .await
    .unwrap();
    let expected = map(&[
        ("employee_id", text("E-17")),
        ("remote", boolean(true)),
        ("team", text("red")),
    ]);
    assert_eq!(values, expected);
    // Member values are shared by every workspace of the account.
    for workspace_id in [company.workspace_id(), second.workspace_id.as_str()] {
        let member = env.get_member(workspace_id, &joe.user_id).await;
        assert_eq!(member.custom_field_values, expected, "{workspace_id}");
    }

    // Bad values are refused, and nothing changes.
    for bad in [
        ("level", text("three")),
        ("remote", text("yes")),
        ("employee_id", number(17.0)),
        ("team", text("green")),
        ("unknown_key", text("x")),
    ] {
        let status = set_values(
            &env,
            &operator,
            &account_id,
            &joe.user_id,
            std::slice::from_ref(&bad),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}: {status:?}");
    }
    assert_eq!(
        env.get_member(company.workspace_id(), &joe.user_id)
            .await
            .custom_field_values,
        expected
    );

    // A required field must be present after the merge.
    define(
        &env,
        &operator,
        pb::CustomField {
            required: true,
            ..field(&account_id, "cost_center", Text, Member)
        },
    )
    .await
    .unwrap();
    let status = set_values(
        &env,
        &operator,
        &account_id,
        &joe.user_id,
        &[("level", number(4.0))],
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let values = set_values(
        &env,
        &operator,
        &account_id,
        &joe.user_id,
        &[("level", number(4.0)), ("cost_center", text("CC-1"))],
    )
    .await
    .unwrap();
    assert_eq!(values.len(), 5);
    let status = set_values(
        &env,
        &operator,
        &account_id,
        &joe.user_id,
        &[("cost_center", null())],
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // Members may list the definitions but not set values.
    let mary = env.add_plain_member(&company, "mary@example.com").await;
    let listed = env
        .membership()
        .list_custom_fields(as_user(
            &mary.session,
            pb::ListCustomFieldsRequest {
                account_id: account_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .fields;
    let keys: Vec<_> = listed.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        ["cost_center", "employee_id", "level", "remote", "team"]
    );
    assert_refused(
        set_values(
            &env,
            &mary.session,
            &account_id,
            mary.id(),
            &[("cost_center", text("mine"))],
        )
        .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
}

#[tokio::test]
async fn account_fields_definitions_and_who_may_define_them() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let account_id = company.account_id().to_owned();
    let operator = env.operator_token.clone();
    use pb::CustomFieldTarget::{Account, Member};
    use pb::CustomFieldType::{OneOf, String as Text, Unspecified};

    // Keys are lower-case identifiers; ONE_OF needs options; a type and target are needed.
    for bad in [
        field(&account_id, "Billing Code", Text, Account),
        field(&account_id, "9lives", Text, Account),
        field(&account_id, "", Text, Account),
        field(&account_id, "tier", OneOf, Account),
        field(&account_id, "untyped", Unspecified, Account),
        field(
            &account_id,
            "aimless",
            Text,
            pb::CustomFieldTarget::Unspecified,
        ),
    ] {
        let status = define(&env, &operator, bad.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}: {status:?}");
    }

    let billing = define(
        &env,
        &operator,
        pb::CustomField {
            required: true,
            ..field(&account_id, "billing_code", Text, Account)
        },
    )
    .await
    .unwrap();
    assert_eq!(billing.key, "billing_code");
    assert!(billing.required);
    define(&env, &operator, field(&account_id, "region", Text, Account))
        .await
        .unwrap();
    // Redefining by key replaces the definition.
    let relabelled = define(
        &env,
        &operator,
        pb::CustomField {
            label: "Sales region".into(),
            ..field(&account_id, "region", Text, Account)
        },
    )
    .await
    .unwrap();
    assert_eq!(relabelled.label, "Sales region");
    let fields = env
        .membership()
        .list_custom_fields(as_user(
            &operator,
            pb::ListCustomFieldsRequest {
                account_id: account_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .fields;
    let summary: Vec<_> = fields
        .iter()
        .map(|f| (f.key.as_str(), f.label.as_str()))
        .collect();
    assert_eq!(
        summary,
        [("billing_code", "billing code"), ("region", "Sales region")]
    );

    // The account's own values: required billing_code must come with the first set.
    let status = set_values(
        &env,
        &operator,
        &account_id,
        "",
        &[("region", text("EMEA"))],
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let values = set_values(
        &env,
        &operator,
        &account_id,
        "",
        &[("region", text("EMEA")), ("billing_code", text("B-9"))],
    )
    .await
    .unwrap();
    assert_eq!(
        values,
        map(&[("region", text("EMEA")), ("billing_code", text("B-9"))])
    );
    let account = env
        .membership()
        .get_account(as_user(
            &operator,
            pb::GetAccountRequest {
                account_id: account_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(account.custom_field_values, values);
    // A member field is not an account field, and vice versa.
    define(&env, &operator, field(&account_id, "badge", Text, Member))
        .await
        .unwrap();
    let status = set_values(&env, &operator, &account_id, "", &[("badge", text("x"))])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let status = set_values(
        &env,
        &operator,
        &account_id,
        joe.id(),
        &[("region", text("x"))],
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // Only operators and account administrators define fields.
    assert_refused(
        define(
            &env,
            &joe.session,
            field(&account_id, "nickname", Text, Member),
        )
        .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let ann = env.add_admin(&company, "ann@example.com").await;
    assert_refused(
        define(
            &env,
            &ann.session,
            field(&account_id, "nickname", Text, Member),
        )
        .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    env.membership()
        .add_account_administrator(as_user(
            &operator,
            pb::AddAccountAdministratorRequest {
                account_id: account_id.clone(),
                user_id: ann.id().into(),
                request_id: request_id(),
            },
        ))
        .await
        .unwrap();
    define(
        &env,
        &ann.session,
        field(&account_id, "nickname", Text, Member),
    )
    .await
    .unwrap();
    set_values(
        &env,
        &ann.session,
        &account_id,
        joe.id(),
        &[("nickname", text("Jo"))],
    )
    .await
    .unwrap();
    assert_eq!(
        env.get_member(company.workspace_id(), joe.id())
            .await
            .custom_field_values["nickname"],
        text("Jo")
    );
}
