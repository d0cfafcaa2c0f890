//! Identity asks membership who may act on a user: operators, and administrators of
//! every account the user belongs to.
use roster_proto::identity as pb;
use roster_proto::membership as mpb;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

const PASSWORD: &str = "correct horse battery";

/// An account whose first administrator is the operator, with one workspace.
async fn account_with_workspace(env: &TestEnv, name: &str) -> (String, String) {
    let account = env
        .membership()
        .create_account(as_user(
            &env.operator_token,
            mpb::CreateAccountRequest {
                name: name.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    let workspace = env
        .membership()
        .create_workspace(as_user(
            &env.operator_token,
            mpb::CreateWorkspaceRequest {
                account_id: account.account_id.clone(),
                name: "Main".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .workspace
        .unwrap();
    (account.account_id, workspace.workspace_id)
}

async fn join(env: &TestEnv, account_id: &str, workspace_id: &str, user_id: &str) {
    env.membership()
        .add_member(as_user(
            &env.operator_token,
            mpb::AddMemberRequest {
                account_id: account_id.into(),
                workspace_ids: vec![workspace_id.into()],
                user_id: user_id.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
}

fn lock(user_id: &str) -> pb::LockUserRequest {
    pb::LockUserRequest {
        user_id: user_id.into(),
        reason: "left the team".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_account_administrator_acts_only_on_users_wholly_inside_their_accounts() {
    let env = TestEnv::start().await;
    let (acme, acme_main) = account_with_workspace(&env, "Acme").await;
    let (globex, globex_main) = account_with_workspace(&env, "Globex").await;
    let ada = env.create_user("ada@acme.test", PASSWORD).await;
    env.membership()
        .add_account_administrator(as_user(
            &env.operator_token,
            mpb::AddAccountAdministratorRequest {
                account_id: acme.clone(),
                user_id: ada.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let ada_session = env.login("ada@acme.test", PASSWORD).await;

    // Joe is only in Acme: Ada may lock him, and set him a temporary password.
    let joe = env.create_user("joe@acme.test", PASSWORD).await;
    join(&env, &acme, &acme_main, &joe.user_id).await;
    let locked = env
        .identity()
        .lock_user(as_user(&ada_session, lock(&joe.user_id)))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(locked.status, pb::UserStatus::Locked as i32);
    env.identity()
        .set_temporary_password(as_user(
            &ada_session,
            pb::SetTemporaryPasswordRequest {
                user_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    // Mary is in Acme and in Globex: Ada must suspend her in Acme instead.
    let mary = env.create_user("mary@acme.test", PASSWORD).await;
    join(&env, &acme, &acme_main, &mary.user_id).await;
    join(&env, &globex, &globex_main, &mary.user_id).await;
    let refused = assert_refused(
        env.identity()
            .lock_user(as_user(&ada_session, lock(&mary.user_id)))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert!(refused.message().contains("suspend"), "{refused:?}");
    assert_eq!(
        env.get_user(&mary.user_id).await.status,
        pb::UserStatus::Active as i32
    );

    // Someone in no account at all is the operators' alone.
    let loner = env.create_user("loner@example.test", PASSWORD).await;
    assert_refused(
        env.identity()
            .disable_user(as_user(
                &ada_session,
                pb::DisableUserRequest {
                    user_id: loner.user_id.clone(),
                    ..Default::default()
                },
            ))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );

    // Nobody locks themself; operators keep full rights.
    assert_refused(
        env.identity()
            .lock_user(as_user(&ada_session, lock(&ada.user_id)))
            .await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    env.identity()
        .lock_user(as_user(&env.operator_token, lock(&mary.user_id)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_plain_member_cannot_act_on_other_users() {
    let env = TestEnv::start().await;
    let (acme, acme_main) = account_with_workspace(&env, "Acme").await;
    let joe = env.create_user("joe@acme.test", PASSWORD).await;
    let mary = env.create_user("mary@acme.test", PASSWORD).await;
    join(&env, &acme, &acme_main, &joe.user_id).await;
    join(&env, &acme, &acme_main, &mary.user_id).await;
    let joe_session = env.login("joe@acme.test", PASSWORD).await;
    assert_refused(
        env.identity()
            .lock_user(as_user(&joe_session, lock(&mary.user_id)))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
}
