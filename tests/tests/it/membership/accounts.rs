use roster_proto::membership as pb;
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user, assert_refused, violated_fields};
use tonic::Code;

use super::{days, mask};

#[tokio::test]
async fn an_account_starts_with_built_in_roles_and_its_creator_as_administrator() {
    let env = TestEnv::start().await;
    let request = pb::CreateAccountRequest {
        name: "Acme".into(),
        request_id: request_id(),
        ..Default::default()
    };
    let account = env
        .membership()
        .create_account(as_user(&env.operator_token, request.clone()))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(account.name, "Acme");
    assert_eq!(account.administrator_user_ids, [env.operator_id.as_str()]);
    assert!(!account.etag.is_empty());
    let settings = account.settings.clone().expect("settings");
    assert_eq!(settings.invitation_lifetime, Some(days(7)));
    assert_eq!(settings.impersonation_window, Some(days(7)));
    assert_eq!(settings.restore_window, Some(days(14)));
    assert!(settings.allowed_email_domains.is_empty());
    assert!(settings.self_service_password_reset);

    // A retry with the same request_id answers the same account, not a second one.
    let retried = env
        .membership()
        .create_account(as_user(&env.operator_token, request))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(retried.account_id, account.account_id);
    let all = env
        .membership()
        .list_accounts(as_user(
            &env.operator_token,
            pb::ListAccountsRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner()
        .accounts;
    assert_eq!(all.len(), 1);

    let read = env
        .membership()
        .get_account(as_user(
            &env.operator_token,
            pb::GetAccountRequest {
                account_id: account.account_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(read, account);

    let roles = env.list_roles(&account.account_id).await;
    let summary: Vec<_> = roles
        .iter()
        .map(|r| (r.name.as_str(), r.permissions.clone(), r.built_in))
        .collect();
    assert_eq!(
        summary,
        [
            ("admin", vec!["*".to_owned()], true),
            ("member", vec!["roster.members.read".to_owned()], true),
        ]
    );
    assert!(roles.iter().all(|r| r.account_id == account.account_id));

    // Only operators create accounts; anyone authenticated may list Roster's permissions.
    let joe = env.create_person("joe@example.com").await;
    let create = pb::CreateAccountRequest {
        name: "Joe's".into(),
        ..Default::default()
    };
    assert_refused(
        env.membership()
            .create_account(as_user(&joe.session, create.clone()))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_refused(
        env.membership().create_account(create).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    let mut permissions: Vec<_> = env
        .membership()
        .list_permissions(as_user(&joe.session, pb::ListPermissionsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .permissions
        .into_iter()
        .map(|p| {
            assert!(!p.description.is_empty(), "{p:?}");
            p.name
        })
        .collect();
    permissions.sort();
    assert_eq!(
        permissions,
        [
            "roster.assets.transfer",
            "roster.members.invite",
            "roster.members.manage",
            "roster.members.read",
            "roster.roles.manage",
            "roster.workspaces.manage",
        ]
    );

    // Someone outside the account does not learn it exists.
    assert_refused(
        env.membership()
            .get_account(as_user(
                &joe.session,
                pb::GetAccountRequest {
                    account_id: account.account_id.clone(),
                },
            ))
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn update_account_honours_the_mask_and_the_etag() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let account = company.account.clone();
    let update = |etag: &str, paths: &[&str]| pb::UpdateAccountRequest {
        account: Some(pb::Account {
            account_id: account.account_id.clone(),
            name: "Acme Corporation".into(),
            etag: etag.into(),
            settings: Some(pb::AccountSettings {
                restore_window: Some(days(3)),
                allowed_email_domains: vec!["acme.example".into()],
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: mask(paths),
        request_id: request_id(),
    };
    let updated = env
        .membership()
        .update_account(as_user(
            &env.operator_token,
            update(&account.etag, &["name", "settings.restore_window"]),
        ))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(updated.name, "Acme Corporation");
    let settings = updated.settings.clone().unwrap();
    assert_eq!(settings.restore_window, Some(days(3)));
    assert!(settings.allowed_email_domains.is_empty(), "not in the mask");
    assert_eq!(
        settings.invitation_lifetime,
        Some(days(7)),
        "not in the mask"
    );
    assert!(settings.self_service_password_reset, "not in the mask");
    assert_ne!(updated.etag, account.etag);

    let stale = env
        .membership()
        .update_account(as_user(
            &env.operator_token,
            update(&account.etag, &["name"]),
        ))
        .await;
    assert_refused(stale, Code::Aborted, "ETAG_MISMATCH");
    let bad_path = env
        .membership()
        .update_account(as_user(
            &env.operator_token,
            update("", &["administrator_user_ids"]),
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_path.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&bad_path), ["update_mask"]);

    // A plain member may read the account but not change it.
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let read = env
        .membership()
        .get_account(as_user(
            &joe.session,
            pb::GetAccountRequest {
                account_id: account.account_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(read.name, "Acme Corporation");
    assert_refused(
        env.membership()
            .update_account(as_user(&joe.session, update("", &["name"])))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );

    // The new restore window applies to the next removal.
    let removed = env
        .remove_member(&env.operator_token, company.workspace_id(), joe.id(), "")
        .await
        .unwrap();
    let window = removed.purge_time.unwrap().seconds - removed.remove_time.unwrap().seconds;
    assert!(
        (window - 3 * 86_400).abs() <= 1,
        "purge after 3 days, not {window} s"
    );
}

#[tokio::test]
async fn account_administrators_run_the_account_but_keep_at_least_one() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 5).await;
    let ann = env.create_person("ann@example.com").await;
    let add = pb::AddAccountAdministratorRequest {
        account_id: company.account_id().into(),
        user_id: ann.id().into(),
        request_id: request_id(),
    };
    let account = env
        .membership()
        .add_account_administrator(as_user(&env.operator_token, add))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    let mut admins = account.administrator_user_ids.clone();
    admins.sort();
    let mut expected = vec![env.operator_id.clone(), ann.user.user_id.clone()];
    expected.sort();
    assert_eq!(admins, expected);

    // Ann now administers every workspace of the account without being a member.
    let check = env
        .check(ann.id(), company.workspace_id(), "roster.members.manage")
        .await;
    assert!(check.allowed);
    assert_eq!(check.reason, pb::AccessReason::AccountAdministrator as i32);
    let second = env
        .membership()
        .create_workspace(as_user(
            &ann.session,
            pb::CreateWorkspaceRequest {
                account_id: company.account_id().into(),
                name: "Second".into(),
                request_id: request_id(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .workspace
        .unwrap();
    assert_eq!(second.seat_limit, 0);

    // But she may not add members directly, change seat limits or create accounts.
    let joe = env.create_plain_user("joe@example.com", "Joe").await;
    let add_member = pb::AddMemberRequest {
        account_id: company.account_id().into(),
        workspace_ids: vec![company.workspace_id().into()],
        user_id: joe.user_id.clone(),
        request_id: request_id(),
        ..Default::default()
    };
    assert_refused(
        env.membership()
            .add_member(as_user(&ann.session, add_member))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_refused(
        env.membership()
            .create_account(as_user(
                &ann.session,
                pb::CreateAccountRequest {
                    name: "Ann's".into(),
                    ..Default::default()
                },
            ))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );

    let remove = |user_id: &str| pb::RemoveAccountAdministratorRequest {
        account_id: company.account_id().into(),
        user_id: user_id.into(),
        request_id: request_id(),
    };
    assert_refused(
        env.membership()
            .remove_account_administrator(as_user(&ann.session, remove(ann.id())))
            .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    let account = env
        .membership()
        .remove_account_administrator(as_user(&ann.session, remove(&env.operator_id)))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(account.administrator_user_ids, [ann.user.user_id.as_str()]);
    assert_refused(
        env.membership()
            .remove_account_administrator(as_user(&env.operator_token, remove(ann.id())))
            .await,
        Code::FailedPrecondition,
        "LAST_ADMIN",
    );

    // The operator, no longer an administrator, still acts as an operator.
    let check = env
        .check(&env.operator_id, company.workspace_id(), "flows.create")
        .await;
    assert!(check.allowed);
    assert_eq!(check.reason, pb::AccessReason::PlatformOperator as i32);

    let memberships = env
        .membership()
        .list_user_memberships(as_user(
            &ann.session,
            pb::ListUserMembershipsRequest {
                user_id: ann.id().into(),
                show_removed: false,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .memberships;
    assert_eq!(memberships.len(), 1, "{memberships:?}");
    assert_eq!(memberships[0].account_id, company.account_id());
    assert_eq!(memberships[0].account_name, "Acme");
    assert!(memberships[0].account_administrator);
    assert!(memberships[0].workspace_id.is_empty());

    // Seat limits are the operators' to change, not the account administrators'.
    let seats = pb::UpdateWorkspaceRequest {
        workspace: Some(pb::Workspace {
            workspace_id: company.workspace_id().into(),
            seat_limit: 50,
            ..Default::default()
        }),
        update_mask: super::mask(&["seat_limit"]),
        request_id: request_id(),
    };
    assert_refused(
        env.membership()
            .update_workspace(as_user(&ann.session, seats))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_eq!(env.seat_usage(company.workspace_id()).await.limit, 5);
}

#[tokio::test]
async fn accounts_are_listed_by_name_to_those_who_may_see_them() {
    let env = TestEnv::start().await;
    for name in ["Beta", "Acme West", "Acme"] {
        env.create_account(name).await;
    }
    let list = |token: &str, request: pb::ListAccountsRequest| {
        let mut client = env.membership();
        let request = as_user(token, request);
        async move { client.list_accounts(request).await.map(|r| r.into_inner()) }
    };
    let names = |accounts: &[pb::Account]| -> Vec<String> {
        accounts.iter().map(|a| a.name.clone()).collect()
    };
    let all = list(&env.operator_token, pb::ListAccountsRequest::default())
        .await
        .unwrap();
    assert_eq!(names(&all.accounts), ["Acme", "Acme West", "Beta"]);
    assert!(all.next_page_token.is_empty());
    let acme = list(
        &env.operator_token,
        pb::ListAccountsRequest {
            query: "ACME".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(names(&acme.accounts), ["Acme", "Acme West"]);

    // Paging one at a time reaches every account once.
    let mut seen = Vec::new();
    let mut request = pb::ListAccountsRequest {
        page_size: 1,
        ..Default::default()
    };
    loop {
        let page = list(&env.operator_token, request.clone()).await.unwrap();
        assert!(page.accounts.len() <= 1);
        seen.extend(names(&page.accounts));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(seen, ["Acme", "Acme West", "Beta"]);

    // A member sees only the account they belong to; a stranger sees none.
    let beta = all.accounts.iter().find(|a| a.name == "Beta").unwrap();
    let workspace = env.create_workspace(&beta.account_id, "Main", 0).await;
    let joe = env.create_person("joe@example.com").await;
    env.try_add_member(&beta.account_id, &[&workspace.workspace_id], joe.id(), &[])
        .await
        .unwrap();
    let mine = list(&joe.session, pb::ListAccountsRequest::default())
        .await
        .unwrap();
    assert_eq!(names(&mine.accounts), ["Beta"]);
    let stranger = env.create_person("stranger@example.com").await;
    let none = list(&stranger.session, pb::ListAccountsRequest::default())
        .await
        .unwrap();
    assert!(none.accounts.is_empty());
}
