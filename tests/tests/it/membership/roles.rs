use roster_proto::membership as pb;
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user, assert_refused, violated_fields};
use tonic::{Code, Status};

use super::mask;

async fn update_role(
    env: &TestEnv,
    token: &str,
    role: pb::Role,
    paths: &[&str],
) -> Result<pb::Role, Status> {
    let request = pb::UpdateRoleRequest {
        role: Some(role),
        update_mask: mask(paths),
        request_id: request_id(),
    };
    Ok(env
        .membership()
        .update_role(as_user(token, request))
        .await?
        .into_inner()
        .role
        .unwrap())
}

async fn delete_role(env: &TestEnv, token: &str, role_id: &str) -> Result<(), Status> {
    let request = pb::DeleteRoleRequest {
        role_id: role_id.into(),
        request_id: request_id(),
    };
    env.membership()
        .delete_role(as_user(token, request))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn custom_roles_take_valid_permission_strings_and_unique_names() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let operator = env.operator_token.clone();
    let builder = env
        .create_role(
            &operator,
            company.account_id(),
            "Flow builder",
            &[
                "flows.create",
                "flows.run_now",
                "reports.v2.export",
                "roster.members.read",
            ],
        )
        .await
        .unwrap();
    assert!(!builder.built_in);
    assert_eq!(builder.account_id, company.account_id());
    assert_eq!(builder.name, "Flow builder");
    let mut permissions = builder.permissions.clone();
    permissions.sort();
    assert_eq!(
        permissions,
        [
            "flows.create",
            "flows.run_now",
            "reports.v2.export",
            "roster.members.read"
        ]
    );

    for bad in [
        "Flows.Create",
        "flows",
        "flows..create",
        "flows-create.run",
        "",
        "flows.create.",
    ] {
        let status = env
            .create_role(
                &operator,
                company.account_id(),
                "Bad",
                &["flows.create", bad],
            )
            .await
            .expect_err(bad);
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}: {status:?}");
        let fields = violated_fields(&status);
        assert!(
            !fields.is_empty() && fields.iter().all(|f| f.starts_with("permissions")),
            "{bad:?}: {fields:?}"
        );
    }
    assert_refused(
        env.create_role(
            &operator,
            company.account_id(),
            "FLOW BUILDER",
            &["flows.create"],
        )
        .await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    let taken = assert_refused(
        env.create_role(&operator, company.account_id(), "Admin", &["flows.create"])
            .await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    // Told by the violated constraint (roles_unique_name), not guessed.
    assert!(
        taken.message().contains("a role named \"Admin\""),
        "{taken:?}"
    );
    let auditor = env
        .create_role(
            &operator,
            company.account_id(),
            "Auditor",
            &["reports.read"],
        )
        .await
        .unwrap();

    // Built-in first, then by name; another account's roles stay apart.
    let other = env.create_account("Other").await;
    env.create_role(&operator, &other.account_id, "Auditor", &["reports.read"])
        .await
        .expect("the same name in another account");
    let names: Vec<_> = env
        .list_roles(company.account_id())
        .await
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["admin", "member", "Auditor", "Flow builder"]);

    // Renaming onto another role's name is refused too; a valid update applies.
    let mut renamed = auditor.clone();
    renamed.name = "flow Builder".into();
    assert_refused(
        update_role(&env, &operator, renamed, &["name"]).await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    let mut changed = auditor.clone();
    changed.description = "reads reports".into();
    changed.permissions = vec!["reports.read".into(), "reports.export".into()];
    changed.name = "ignored".into();
    let updated = update_role(&env, &operator, changed, &["description", "permissions"])
        .await
        .unwrap();
    assert_eq!(updated.name, "Auditor", "not in the mask");
    assert_eq!(updated.description, "reads reports");
    let mut permissions = updated.permissions.clone();
    permissions.sort();
    assert_eq!(permissions, ["reports.export", "reports.read"]);
    let mut invalid = auditor.clone();
    invalid.permissions = vec!["REPORTS".into()];
    let status = update_role(&env, &operator, invalid, &["permissions"])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // A plain member may list roles but not manage them; a member whose role grants
    // roster.roles.manage may.
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let listed = env
        .membership()
        .list_roles(as_user(
            &joe.session,
            pb::ListRolesRequest {
                account_id: company.account_id().into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .roles;
    assert_eq!(listed.len(), 4);
    assert_refused(
        env.create_role(
            &joe.session,
            company.account_id(),
            "Mine",
            &["flows.create"],
        )
        .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let manager = env
        .create_role(
            &operator,
            company.account_id(),
            "Role manager",
            &["roster.roles.manage"],
        )
        .await
        .unwrap();
    let mary = env.create_person("mary@example.com").await;
    env.add_member(&company, mary.id(), &[&manager.role_id])
        .await;
    let created = env
        .create_role(
            &mary.session,
            company.account_id(),
            "Mary's",
            &["flows.create"],
        )
        .await
        .unwrap();
    assert_eq!(created.name, "Mary's");
}

#[tokio::test]
async fn built_in_roles_cannot_be_renamed_or_deleted_and_admin_keeps_every_permission() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let operator = env.operator_token.clone();
    let roles = env.list_roles(company.account_id()).await;
    let admin = roles[0].clone();
    let member = roles[1].clone();
    assert_eq!(
        (admin.name.as_str(), member.name.as_str()),
        ("admin", "member")
    );

    let mut renamed = member.clone();
    renamed.name = "staff".into();
    assert_refused(
        update_role(&env, &operator, renamed, &["name"]).await,
        Code::FailedPrecondition,
        "BUILT_IN_ROLE",
    );
    let mut narrowed = admin.clone();
    narrowed.permissions = vec!["roster.members.read".into()];
    assert_refused(
        update_role(&env, &operator, narrowed, &["permissions"]).await,
        Code::FailedPrecondition,
        "BUILT_IN_ROLE",
    );
    for role in [&admin, &member] {
        assert_refused(
            delete_role(&env, &operator, &role.role_id).await,
            Code::FailedPrecondition,
            "BUILT_IN_ROLE",
        );
    }
    let roles_now = env.list_roles(company.account_id()).await;
    assert_eq!(roles_now[0].name, "admin");
    assert_eq!(roles_now[0].permissions, ["*"]);
    assert_eq!(roles_now[1].name, "member");

    // The member role's permissions may change, and the next check sees it.
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let before = env
        .check(joe.id(), company.workspace_id(), "flows.create")
        .await;
    assert_eq!(before.reason, pb::AccessReason::PermissionNotGranted as i32);
    let mut widened = member.clone();
    widened.permissions = vec!["roster.members.read".into(), "flows.create".into()];
    update_role(&env, &operator, widened, &["permissions"])
        .await
        .unwrap();
    let after = env
        .check(joe.id(), company.workspace_id(), "flows.create")
        .await;
    assert!(after.allowed);
    assert_eq!(after.reason, pb::AccessReason::GrantedByRole as i32);
}

#[tokio::test]
async fn a_role_held_by_a_member_or_given_by_default_cannot_be_deleted() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let operator = env.operator_token.clone();
    let held = env
        .create_role(&operator, company.account_id(), "Held", &["flows.create"])
        .await
        .unwrap();
    let default = env
        .create_role(&operator, company.account_id(), "Default", &["flows.read"])
        .await
        .unwrap();
    let unused = env
        .create_role(&operator, company.account_id(), "Unused", &["flows.read"])
        .await
        .unwrap();
    let joe = env.create_plain_user("joe@example.com", "Joe").await;
    env.add_member(&company, &joe.user_id, &[&held.role_id])
        .await;
    env.membership()
        .create_workspace(as_user(
            &operator,
            pb::CreateWorkspaceRequest {
                account_id: company.account_id().into(),
                name: "Second".into(),
                default_role_id: default.role_id.clone(),
                request_id: request_id(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    for role in [&held, &default] {
        assert_refused(
            delete_role(&env, &operator, &role.role_id).await,
            Code::FailedPrecondition,
            "ROLE_IN_USE",
        );
    }
    delete_role(&env, &operator, &unused.role_id).await.unwrap();
    let names: Vec<_> = env
        .list_roles(company.account_id())
        .await
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["admin", "member", "Default", "Held"]);
    assert_refused(
        delete_role(&env, &operator, &unused.role_id).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_refused(
        update_role(&env, &operator, unused.clone(), &["description"]).await,
        Code::NotFound,
        "NOT_FOUND",
    );

    // Once nobody holds it, it can go.
    env.update_member_roles(
        &operator,
        company.workspace_id(),
        &joe.user_id,
        &[&company.member_role_id],
    )
    .await
    .unwrap();
    delete_role(&env, &operator, &held.role_id).await.unwrap();
}
