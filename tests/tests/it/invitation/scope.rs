//! The account's invitation scope (seed 000: invitations from a workspace join every
//! workspace of the account; seeds 002-004: only the ones named, the default), and the
//! seat allowance at invite and accept time.
use roster_proto::invitation as pb;
use roster_proto::membership as mpb;
use roster_tests::invitation::{invite_request, new_user, refusal};
use roster_tests::membership::{Company, request_id};
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

use super::count;

/// The workspaces an accept joined, sorted.
fn joined(accepted: &pb::AcceptInvitationResponse) -> Vec<String> {
    sorted(
        accepted
            .members
            .iter()
            .map(|m| m.workspace_id.clone())
            .collect(),
    )
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

const MEMBERS_WITH_EMAIL: &str =
    "SELECT count(*) FROM membership.members WHERE email = $1 AND status <> 'removed'";
const USERS_WITH_EMAIL: &str = "SELECT count(*) FROM identity.users WHERE email = $1";

/// UpdateAccount of `paths` from `account` as the operator.
async fn update_account(env: &TestEnv, account: mpb::Account, paths: &[&str]) -> mpb::Account {
    let request = mpb::UpdateAccountRequest {
        account: Some(account),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        request_id: request_id(),
    };
    env.membership()
        .update_account(as_user(&env.operator_token, request))
        .await
        .expect("update account")
        .into_inner()
        .account
        .expect("account")
}

async fn set_scope(env: &TestEnv, company: &Company, scope: mpb::InvitationScope) -> mpb::Account {
    let account = mpb::Account {
        account_id: company.account_id().to_owned(),
        settings: Some(mpb::AccountSettings {
            invitation_scope: scope.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    update_account(env, account, &["settings.invitation_scope"]).await
}

#[tokio::test]
async fn invitations_join_the_named_workspaces_by_default() {
    let env = TestEnv::start().await;
    let company = env.create_company("Trifacta-like", 0).await;
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await;
    assert_eq!(
        company
            .account
            .settings
            .clone()
            .unwrap_or_default()
            .invitation_scope(),
        mpb::InvitationScope::Workspaces
    );
    let invitation = env.invite(&company, "joe@acme.test").await;
    assert!(!invitation.all_workspaces);
    assert_eq!(invitation.workspace_ids, [company.workspace_id()]);
    let token = env.invitation_token(&invitation.invitation_id).await;
    let accepted = env
        .try_accept(&token, new_user("Joe"))
        .await
        .expect("accept");
    assert_eq!(accepted.members.len(), 1);
    assert_eq!(accepted.members[0].workspace_id, company.workspace_id());
    assert!(
        env.try_get_member(&second.workspace_id, &accepted.user_id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn with_the_account_scope_an_invitation_from_one_workspace_joins_them_all() {
    let env = TestEnv::start().await;
    let company = env.create_company("App Xchange-like", 0).await;
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await;
    let admin = env.add_admin(&company, "admin@acme.test").await;
    let account = set_scope(&env, &company, mpb::InvitationScope::Account).await;
    assert_eq!(
        account.settings.unwrap_or_default().invitation_scope(),
        mpb::InvitationScope::Account
    );

    // A workspace admin invites from their workspace only.
    let results = env
        .try_invite(&admin.session, invite_request(&company, &["joe@acme.test"]))
        .await
        .expect("invite");
    let invitation = results[0].invitation.clone().expect("invited");
    assert!(invitation.all_workspaces, "{invitation:?}");
    let mut workspaces = invitation.workspace_ids.clone();
    workspaces.sort();
    let mut expected = vec![
        company.workspace_id().to_owned(),
        second.workspace_id.clone(),
    ];
    expected.sort();
    assert_eq!(workspaces, expected);

    // A workspace created after the invitation is joined too.
    let third = env.create_workspace(company.account_id(), "Third", 0).await;
    let token = env.invitation_token(&invitation.invitation_id).await;
    let preview = env
        .invitation()
        .preview_invitation(pb::PreviewInvitationRequest {
            token: token.clone(),
        })
        .await
        .expect("preview")
        .into_inner();
    assert!(preview.all_workspaces);
    let accepted = env
        .try_accept(&token, new_user("Joe"))
        .await
        .expect("accept");
    assert_eq!(
        joined(&accepted),
        sorted(vec![
            company.workspace_id().to_owned(),
            second.workspace_id.clone(),
            third.workspace_id.clone(),
        ])
    );
    assert_eq!(count(&env, MEMBERS_WITH_EMAIL, "joe@acme.test").await, 3);

    // Someone already in another workspace of the account is already a member.
    let bob = env.create_plain_user("bob@acme.test", "Bob").await;
    env.try_add_member(
        company.account_id(),
        &[&second.workspace_id],
        &bob.user_id,
        &[],
    )
    .await
    .expect("bob in second");
    let results = env
        .try_invite(&admin.session, invite_request(&company, &["bob@acme.test"]))
        .await
        .expect("invite bob");
    assert_eq!(refusal(&results[0]), "ALREADY_MEMBER");
    assert_eq!(results[0].refusal_workspace_id, second.workspace_id);

    // Back to per-workspace invitations.
    set_scope(&env, &company, mpb::InvitationScope::Workspaces).await;
    let results = env
        .try_invite(&admin.session, invite_request(&company, &["ann@acme.test"]))
        .await
        .expect("invite ann");
    let ann = results[0].invitation.clone().expect("invited");
    assert!(!ann.all_workspaces);
    assert_eq!(ann.workspace_ids, [company.workspace_id()]);
}

#[tokio::test]
async fn an_invitation_sent_before_the_switch_keeps_its_workspaces_until_resent() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await;
    let before = env.invite(&company, "joe@acme.test").await;
    let kept = env.invite(&company, "kim@acme.test").await;
    set_scope(&env, &company, mpb::InvitationScope::Account).await;

    // What the link shows is what it joins: the workspace it was sent for.
    let token = env.invitation_token(&kept.invitation_id).await;
    let preview = env
        .invitation()
        .preview_invitation(pb::PreviewInvitationRequest {
            token: token.clone(),
        })
        .await
        .expect("preview")
        .into_inner();
    assert!(!preview.all_workspaces);
    assert_eq!(preview.workspace_names, ["Main"]);
    let accepted = env
        .try_accept(&token, new_user("Kim"))
        .await
        .expect("accept");
    assert_eq!(accepted.members.len(), 1);

    // Resent under the account scope, it becomes account-wide.
    env.clock.advance(chrono::Duration::seconds(61));
    let resent = env
        .try_resend(&env.operator_token, &before.invitation_id)
        .await
        .expect("resend");
    assert!(resent.all_workspaces);
    let token = env.invitation_token(&before.invitation_id).await;
    let accepted = env
        .try_accept(&token, new_user("Joe"))
        .await
        .expect("accept");
    assert_eq!(
        joined(&accepted),
        sorted(vec![
            company.workspace_id().to_owned(),
            second.workspace_id.clone(),
        ])
    );
}

#[tokio::test]
async fn the_seat_allowance_bounds_invitations_of_new_users() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await;
    env.add_admin(&company, "admin@acme.test").await;
    let account = mpb::Account {
        account_id: company.account_id().to_owned(),
        seat_allowance: 3,
        ..Default::default()
    };
    update_account(&env, account, &["seat_allowance"]).await;

    // Admin holds one place; two are left, and one address is invited to another
    // workspace while already seated (it takes none).
    let mut request = invite_request(
        &company,
        &["joe@acme.test", "mary@acme.test", "ann@acme.test"],
    );
    request.workspace_ids = vec![second.workspace_id.clone()];
    request.emails.push("admin@acme.test".to_owned());
    let results = env
        .try_invite(&env.operator_token, request)
        .await
        .expect("invite");
    let refusals: Vec<&str> = results.iter().map(refusal).collect();
    assert_eq!(refusals, ["", "", "SEAT_LIMIT_REACHED", ""]);
    assert!(
        results[2].refusal_message.contains("allowance"),
        "{:?}",
        results[2]
    );
    assert!(results[2].refusal_workspace_id.is_empty());

    // The pending invitations reserve their places: nobody new can be invited now.
    let results = env
        .try_invite(
            &env.operator_token,
            invite_request(&company, &["zed@acme.test"]),
        )
        .await
        .expect("invite");
    assert_eq!(refusal(&results[0]), "SEAT_LIMIT_REACHED");

    // Revoking one frees its place. Pending invitations are counted by address, so the
    // one to the admin (already seated) reserves a place too until it ends.
    let invitation_of = |email: &'static str| {
        let env = &env;
        async move {
            let id: String = env
                .sql()
                .await
                .query_one(
                    "SELECT invitation_id::text FROM invitation.invitations WHERE email = $1",
                    &[&email],
                )
                .await
                .expect("the invitation")
                .get(0);
            id
        }
    };
    let joe = invitation_of("joe@acme.test").await;
    env.try_revoke(&env.operator_token, &joe)
        .await
        .expect("revoke joe");
    let results = env
        .try_invite(
            &env.operator_token,
            invite_request(&company, &["zed@acme.test"]),
        )
        .await
        .expect("invite");
    assert_eq!(refusal(&results[0]), "SEAT_LIMIT_REACHED");
    let admins = invitation_of("admin@acme.test").await;
    env.try_revoke(&env.operator_token, &admins)
        .await
        .expect("revoke admin's");
    let results = env
        .try_invite(
            &env.operator_token,
            invite_request(&company, &["zed@acme.test"]),
        )
        .await
        .expect("invite");
    assert_eq!(refusal(&results[0]), "");

    // Accepting beyond the allowance is refused by membership all the same.
    let mary = invitation_of("mary@acme.test").await;
    let account = mpb::Account {
        account_id: company.account_id().to_owned(),
        seat_allowance: 1,
        ..Default::default()
    };
    update_account(&env, account, &["seat_allowance"]).await;
    let token = env.invitation_token(&mary).await;
    let status = assert_refused(
        env.try_accept(&token, new_user("Mary")).await,
        Code::ResourceExhausted,
        "SEAT_LIMIT_REACHED",
    );
    assert!(status.message().contains("allowance"), "{status:?}");
    assert_eq!(count(&env, MEMBERS_WITH_EMAIL, "mary@acme.test").await, 0);
    // Refused before Mary was created.
    assert_eq!(count(&env, USERS_WITH_EMAIL, "mary@acme.test").await, 0);
}
