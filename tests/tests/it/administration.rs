//! Identity asks membership who may act on a user: operators, and administrators of
//! every account the user belongs to.
use roster_proto::identity as pb;
use roster_proto::membership as mpb;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

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
    let acme = env.create_company("Acme", 0).await;
    let globex = env.create_company("Globex", 0).await;
    let ada = env.create_person("ada@acme.test").await;
    env.membership()
        .add_account_administrator(as_user(
            &env.operator_token,
            mpb::AddAccountAdministratorRequest {
                account_id: acme.account_id().into(),
                user_id: ada.id().into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    // Joe is only in Acme: Ada may lock him, and set him a temporary password.
    let joe = env.create_plain_user("joe@acme.test", "Joe").await;
    env.add_member(&acme, &joe.user_id, &[]).await;
    let locked = env
        .identity()
        .lock_user(as_user(&ada.session, lock(&joe.user_id)))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(locked.status, pb::UserStatus::Locked as i32);
    env.identity()
        .set_temporary_password(as_user(
            &ada.session,
            pb::SetTemporaryPasswordRequest {
                user_id: joe.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    // Mary is in Acme and in Globex: Ada must suspend her in Acme instead.
    let mary = env.create_plain_user("mary@acme.test", "Mary").await;
    env.add_member(&acme, &mary.user_id, &[]).await;
    env.add_member(&globex, &mary.user_id, &[]).await;
    let refused = assert_refused(
        env.identity()
            .lock_user(as_user(&ada.session, lock(&mary.user_id)))
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
    let loner = env.create_plain_user("loner@example.test", "Loner").await;
    let disable = pb::DisableUserRequest {
        user_id: loner.user_id.clone(),
        ..Default::default()
    };
    assert_refused(
        env.identity()
            .disable_user(as_user(&ada.session, disable))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );

    // Nobody locks themself; operators keep full rights.
    assert_refused(
        env.identity()
            .lock_user(as_user(&ada.session, lock(ada.id())))
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
async fn a_workspace_admin_or_plain_member_cannot_act_on_other_users() {
    let env = TestEnv::start().await;
    let acme = env.create_company("Acme", 0).await;
    let admin = env.add_admin(&acme, "admin@acme.test").await;
    let member = env.add_plain_member(&acme, "joe@acme.test").await;
    let mary = env.create_plain_user("mary@acme.test", "Mary").await;
    env.add_member(&acme, &mary.user_id, &[]).await;
    // Administering a workspace is not administering the account.
    for session in [&admin.session, &member.session] {
        assert_refused(
            env.identity()
                .lock_user(as_user(session, lock(&mary.user_id)))
                .await,
            Code::PermissionDenied,
            "PERMISSION_DENIED",
        );
    }
}
