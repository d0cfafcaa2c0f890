//! email_verified: what proves an address (an accepted invitation, a confirmed email
//! change (see `email.rs`), a completed password reset), shown by identity and in
//! membership's member lists.
use std::time::Duration;

use roster_proto::identity as pb;
use roster_proto::membership as mpb;
use roster_tests::invitation::new_user;
use roster_tests::membership::eventually;
use roster_tests::{TestEnv, as_user};

use super::PASSWORD;

async fn reset_with_link(env: &TestEnv, email: &str, new_password: &str) {
    env.identity()
        .request_password_reset(pb::RequestPasswordResetRequest {
            email: email.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let token = env.emailed_token("identity", "password_reset", email).await;
    env.identity()
        .reset_password(pb::ResetPasswordRequest {
            token,
            new_password: new_password.into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// The user as ListUsers shows it (as the operator).
async fn listed(env: &TestEnv, email: &str) -> pb::User {
    let request = pb::ListUsersRequest {
        query: email.into(),
        ..Default::default()
    };
    let users = env
        .identity()
        .list_users(as_user(&env.operator_token, request))
        .await
        .unwrap()
        .into_inner()
        .users;
    users
        .into_iter()
        .find(|u| u.email == email)
        .expect("listed")
}

/// The member as membership's list shows it once the feed has brought `verified`.
async fn member_verified(env: &TestEnv, workspace_id: &str, user_id: &str) -> mpb::Member {
    eventually(
        Duration::from_secs(10),
        "the member's email_verified",
        || async {
            let request = mpb::ListMembersRequest {
                workspace_id: workspace_id.to_owned(),
                ..Default::default()
            };
            let members = env.list_all_members(&env.operator_token, request).await;
            members
                .into_iter()
                .find(|m| m.user_id == user_id && m.email_verified)
        },
    )
    .await
}

#[tokio::test]
async fn a_completed_reset_verifies_the_email_once_and_member_lists_show_it() {
    let env = TestEnv::start().await;
    let acme = env.create_company("Acme", 0).await;
    let joe = env.add_plain_member(&acme, "joe@example.com").await;
    let before = env.get_user(joe.id()).await;
    assert!(!before.email_verified);
    assert_eq!(before.email_verify_time, None);
    let member = env.get_member(acme.workspace_id(), joe.id()).await;
    assert!(!member.email_verified);
    assert_eq!(member.email_verify_time, None);

    // Asking for a link proves nothing; using it does.
    reset_with_link(&env, "joe@example.com", "a brand new passphrase").await;
    let after = env.get_user(joe.id()).await;
    assert!(after.email_verified);
    let verified_at = after.email_verify_time.expect("verify time");
    assert_eq!(listed(&env, "joe@example.com").await, after);

    let member = member_verified(&env, acme.workspace_id(), joe.id()).await;
    assert_eq!(member.email_verify_time, Some(verified_at));
    let got = env.get_member(acme.workspace_id(), joe.id()).await;
    assert!(got.email_verified);

    // A later reset keeps the first proof of the same address.
    env.clock.advance(chrono::Duration::minutes(2));
    reset_with_link(&env, "joe@example.com", "yet another passphrase").await;
    let again = env.get_user(joe.id()).await;
    assert_eq!(again.email_verify_time, Some(verified_at));
}

#[tokio::test]
async fn accepting_an_invitation_as_a_new_person_verifies_the_email() {
    let env = TestEnv::start().await;
    let acme = env.create_company("Acme", 0).await;
    let invitation = env.invite(&acme, "newcomer@example.com").await;
    let token = env.invitation_token(&invitation.invitation_id).await;
    let accepted = env.try_accept(&token, new_user("Newcomer")).await.unwrap();
    let user = env.get_user(&accepted.user_id).await;
    assert!(user.email_verified);
    assert!(user.email_verify_time.is_some());
    let member = member_verified(&env, acme.workspace_id(), &accepted.user_id).await;
    assert_eq!(member.email_verify_time, user.email_verify_time);
}

#[tokio::test]
async fn accepting_an_invitation_with_ones_own_session_verifies_the_email() {
    let env = TestEnv::start().await;
    let acme = env.create_company("Acme", 0).await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    assert!(!joe.email_verified);
    let session = env.login("joe@example.com", PASSWORD).await;
    let invitation = env.invite(&acme, "joe@example.com").await;
    let token = env.invitation_token(&invitation.invitation_id).await;
    let invitee =
        roster_proto::invitation::accept_invitation_request::Invitee::SessionToken(session);
    env.try_accept(&token, invitee).await.unwrap();
    let user = env.get_user(&joe.user_id).await;
    assert!(user.email_verified);
    let member = member_verified(&env, acme.workspace_id(), &joe.user_id).await;
    assert_eq!(member.email_verify_time, user.email_verify_time);
}

#[tokio::test]
async fn people_created_by_an_operator_start_unverified() {
    let env = TestEnv::start().await;
    let joe = env.create_user("joe@example.com", PASSWORD).await;
    assert!(!joe.email_verified);
    assert_eq!(joe.email_verify_time, None);
    assert!(!listed(&env, "joe@example.com").await.email_verified);
}
