//! CheckPermission and BatchCheckPermission: reasons, freshness, and who may ask.
use std::time::Duration;

use roster_proto::identity as id;
use roster_proto::membership as pb;
use roster_tests::membership::eventually;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

const GRANTED: i32 = pb::AccessReason::GrantedByRole as i32;

fn reason_of(response: &pb::CheckPermissionResponse) -> (bool, pb::AccessReason) {
    (
        response.allowed,
        pb::AccessReason::try_from(response.reason).unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_suspension_is_denied_by_the_very_next_check_and_resuming_restores_access() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    let ann = env.add_admin(&company, "ann@example.com").await;
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let permission = "roster.members.read";

    // Warm whatever cache answers checks, asking as Joe about himself.
    for _ in 0..3 {
        let check = env
            .try_check(&joe.session, joe.id(), workspace_id, permission)
            .await
            .unwrap();
        assert_eq!(reason_of(&check), (true, pb::AccessReason::GrantedByRole));
    }

    env.suspend_member(&ann.session, workspace_id, joe.id())
        .await
        .unwrap();
    let check = env.check(joe.id(), workspace_id, permission).await;
    assert_eq!(
        reason_of(&check),
        (false, pb::AccessReason::MemberSuspended)
    );

    env.resume_member(&ann.session, workspace_id, joe.id())
        .await
        .unwrap();
    let check = env.check(joe.id(), workspace_id, permission).await;
    assert_eq!(reason_of(&check), (true, pb::AccessReason::GrantedByRole));

    // A role change and a removal are seen at once too.
    let blind = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Blind",
            &["flows.create"],
        )
        .await
        .unwrap();
    env.update_member_roles(&ann.session, workspace_id, joe.id(), &[&blind.role_id])
        .await
        .unwrap();
    let check = env.check(joe.id(), workspace_id, permission).await;
    assert_eq!(
        reason_of(&check),
        (false, pb::AccessReason::PermissionNotGranted)
    );
    env.remove_member(&ann.session, workspace_id, joe.id(), "")
        .await
        .unwrap();
    let check = env.check(joe.id(), workspace_id, "flows.create").await;
    assert_eq!(reason_of(&check), (false, pb::AccessReason::NotAMember));
    env.restore_member(&ann.session, workspace_id, joe.id())
        .await
        .unwrap();
    let check = env.check(joe.id(), workspace_id, "flows.create").await;
    assert_eq!(reason_of(&check), (true, pb::AccessReason::GrantedByRole));
}

#[tokio::test]
async fn a_custom_role_grants_another_services_permission() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let ann = env.add_admin(&company, "ann@example.com").await;

    let check = env.check(joe.id(), workspace_id, "flows.create").await;
    assert_eq!(
        reason_of(&check),
        (false, pb::AccessReason::PermissionNotGranted)
    );
    // The admin role's "*" covers every permission, Roster's or not.
    let check = env.check(ann.id(), workspace_id, "flows.create").await;
    assert_eq!(reason_of(&check), (true, pb::AccessReason::GrantedByRole));

    let builder = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Flow builder",
            &["flows.create"],
        )
        .await
        .unwrap();
    env.update_member_roles(
        &ann.session,
        workspace_id,
        joe.id(),
        &[&company.member_role_id, &builder.role_id],
    )
    .await
    .unwrap();
    let check = env.check(joe.id(), workspace_id, "flows.create").await;
    assert_eq!(reason_of(&check), (true, pb::AccessReason::GrantedByRole));

    // Batch: answers in the order asked.
    let batch = |permissions: &[&str]| pb::BatchCheckPermissionRequest {
        checks: permissions
            .iter()
            .map(|p| pb::CheckPermissionRequest {
                user_id: joe.id().into(),
                workspace_id: workspace_id.into(),
                permission: (*p).into(),
            })
            .collect(),
    };
    let results = env
        .membership()
        .batch_check_permission(as_user(
            &env.service_token,
            batch(&[
                "flows.delete",
                "flows.create",
                "roster.members.manage",
                "roster.members.read",
            ]),
        ))
        .await
        .unwrap()
        .into_inner()
        .results;
    let answers: Vec<_> = results.iter().map(reason_of).collect();
    assert_eq!(
        answers,
        [
            (false, pb::AccessReason::PermissionNotGranted),
            (true, pb::AccessReason::GrantedByRole),
            (false, pb::AccessReason::PermissionNotGranted),
            (true, pb::AccessReason::GrantedByRole),
        ]
    );

    // Editing the role is seen by the next check.
    let mut wider = builder.clone();
    wider.permissions = vec!["flows.create".into(), "flows.delete".into()];
    env.membership()
        .update_role(as_user(
            &env.operator_token,
            pb::UpdateRoleRequest {
                role: Some(wider),
                update_mask: super::mask(&["permissions"]),
                request_id: roster_tests::membership::request_id(),
            },
        ))
        .await
        .unwrap();
    let check = env.check(joe.id(), workspace_id, "flows.delete").await;
    assert_eq!(check.reason, GRANTED);

    // Up to 100 checks in one call.
    let hundred = vec!["flows.create"; 100];
    let results = env
        .membership()
        .batch_check_permission(as_user(&env.service_token, batch(&hundred)))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(results.len(), 100);
    assert!(results.iter().all(|r| r.allowed));
    let too_many = vec!["flows.create"; 101];
    let status = env
        .membership()
        .batch_check_permission(as_user(&env.service_token, batch(&too_many)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

#[tokio::test]
async fn check_permission_names_why() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let mary = env.add_plain_member(&company, "mary@example.com").await;
    let ann = env.create_person("ann@example.com").await;
    env.membership()
        .add_account_administrator(as_user(
            &env.operator_token,
            pb::AddAccountAdministratorRequest {
                account_id: company.account_id().into(),
                user_id: ann.id().into(),
                request_id: roster_tests::membership::request_id(),
            },
        ))
        .await
        .unwrap();
    let stranger = env.create_plain_user("stranger@example.com", "S").await;

    let check = env.check(ann.id(), workspace_id, "flows.create").await;
    assert_eq!(
        reason_of(&check),
        (true, pb::AccessReason::AccountAdministrator)
    );
    let check = env
        .check(&stranger.user_id, workspace_id, "roster.members.read")
        .await;
    assert_eq!(reason_of(&check), (false, pb::AccessReason::NotAMember));
    let unknown = env
        .try_check(
            &env.operator_token,
            joe.id(),
            &uuid::Uuid::now_v7().to_string(),
            "roster.members.read",
        )
        .await;
    assert_refused(unknown, Code::NotFound, "NOT_FOUND");

    // Identity's statuses arrive through its change feed: poll briefly.
    env.identity()
        .disable_user(as_user(
            &env.operator_token,
            id::DisableUserRequest {
                user_id: joe.id().into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    env.identity()
        .lock_user(as_user(
            &env.operator_token,
            id::LockUserRequest {
                user_id: mary.id().into(),
                reason: "investigation".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let answer = |user_id: String, expected: pb::AccessReason| {
        let env = &env;
        async move {
            eventually(Duration::from_secs(5), "identity status in checks", || {
                let user_id = user_id.clone();
                async move {
                    let check = env
                        .check(&user_id, workspace_id, "roster.members.read")
                        .await;
                    (reason_of(&check) == (false, expected)).then_some(())
                }
            })
            .await;
        }
    };
    answer(joe.id().to_owned(), pb::AccessReason::UserDisabled).await;
    answer(mary.id().to_owned(), pb::AccessReason::UserLocked).await;

    env.identity()
        .enable_user(as_user(
            &env.operator_token,
            id::EnableUserRequest {
                user_id: joe.id().into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    eventually(Duration::from_secs(5), "joe enabled in checks", || async {
        env.check(joe.id(), workspace_id, "roster.members.read")
            .await
            .allowed
            .then_some(())
    })
    .await;
    let check = env
        .check(joe.id(), workspace_id, "roster.members.read")
        .await;
    assert_eq!(check.reason, GRANTED);
}

#[tokio::test]
async fn services_service_accounts_and_the_user_themself_may_check() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let mary = env.add_plain_member(&company, "mary@example.com").await;
    let bot = env.create_service_account("Flow engine").await;
    let key = env.create_api_key(&bot.user_id).await.secret;

    for token in [&env.service_token, &key, &joe.session, &env.operator_token] {
        let check = env
            .try_check(token, joe.id(), workspace_id, "roster.members.read")
            .await
            .unwrap();
        assert_eq!(reason_of(&check), (true, pb::AccessReason::GrantedByRole));
    }
    // A person may not ask about someone else.
    assert_refused(
        env.try_check(&mary.session, joe.id(), workspace_id, "roster.members.read")
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let batch = pb::BatchCheckPermissionRequest {
        checks: vec![
            pb::CheckPermissionRequest {
                user_id: mary.id().into(),
                workspace_id: workspace_id.into(),
                permission: "roster.members.read".into(),
            },
            pb::CheckPermissionRequest {
                user_id: joe.id().into(),
                workspace_id: workspace_id.into(),
                permission: "roster.members.read".into(),
            },
        ],
    };
    assert_refused(
        env.membership()
            .batch_check_permission(as_user(&mary.session, batch.clone()))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let results = env
        .membership()
        .batch_check_permission(as_user(&key, batch.clone()))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.allowed && r.reason == GRANTED));
    assert_refused(
        env.membership()
            .check_permission(batch.checks[0].clone())
            .await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    // A bogus service credential is just an unknown token.
    assert_refused(
        env.try_check(
            "rsv_not-the-real-one",
            joe.id(),
            workspace_id,
            "roster.members.read",
        )
        .await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn a_change_on_one_replica_reaches_the_cache_of_another() {
    use roster_proto::membership::membership_service_client::MembershipServiceClient;

    let mut env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let mut replica = MembershipServiceClient::new(env.start_replica().await);
    let ask = pb::CheckPermissionRequest {
        user_id: joe.id().into(),
        workspace_id: company.workspace_id().into(),
        permission: "roster.members.read".into(),
    };
    // A new replica answers UNAVAILABLE (retry) until its feed follower first caught up;
    // then it has answered (and cached) "granted" before the change.
    eventually(Duration::from_secs(10), "the replica to answer", || {
        let mut replica = replica.clone();
        let request = as_user(&env.operator_token, ask.clone());
        async move { replica.check_permission(request).await.ok() }
    })
    .await;
    for _ in 0..3 {
        let answer = replica
            .check_permission(as_user(&env.operator_token, ask.clone()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.reason, GRANTED);
    }
    env.suspend_member(&env.operator_token, company.workspace_id(), joe.id())
        .await
        .unwrap();
    // Its cache keeps answers for a minute: only the change notice can flip it this soon.
    eventually(
        Duration::from_secs(3),
        "the replica sees the suspension",
        || {
            let mut replica = replica.clone();
            let request = as_user(&env.operator_token, ask.clone());
            async move {
                let answer = replica.check_permission(request).await.ok()?.into_inner();
                (answer.reason == pb::AccessReason::MemberSuspended as i32).then_some(())
            }
        },
    )
    .await;
}
