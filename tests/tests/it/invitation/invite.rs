//! InviteUsers: per-address answers, seats, permissions and account-wide invitations.
use std::collections::HashMap;

use roster_proto::invitation as pb;
use roster_proto::membership as mpb;
use roster_tests::invitation::{invite_request, new_user, refusal};
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

use super::{count, set_seat_limit};

#[tokio::test]
async fn a_bulk_invite_of_500_mixed_addresses_answers_each_correctly() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let update = mpb::UpdateAccountRequest {
        account: Some(mpb::Account {
            account_id: company.account_id().to_owned(),
            settings: Some(mpb::AccountSettings {
                allowed_email_domains: vec!["acme.test".to_owned()],
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["settings.allowed_email_domains".to_owned()],
        }),
        request_id: request_id(),
    };
    env.membership()
        .update_account(as_user(&env.operator_token, update))
        .await
        .expect("allow only acme.test");
    let member = env.add_plain_member(&company, "alice@acme.test").await;
    let removed = env.add_plain_member(&company, "bob@acme.test").await;
    env.remove_member(
        &env.operator_token,
        company.workspace_id(),
        removed.id(),
        "",
    )
    .await
    .expect("remove bob");
    env.invite(&company, "carol@acme.test").await;
    let used = env.seat_usage(company.workspace_id()).await.used;
    assert_eq!(used, 1, "alice holds the only seat");
    // Room for 400 more: 1 member + 1 pending + 400 = 402.
    set_seat_limit(&env, &company, 402).await;

    let mut emails: Vec<String> = vec![
        "alice@acme.test".into(),
        "BOB@acme.test".into(),
        " carol@acme.test ".into(),
        "not-an-email".into(),
        "two words@acme.test".into(),
        "dave@elsewhere.test".into(),
        "ice@acme.test".into(),
        "  Joe.Smith@ACME.test".into(),
        "joe.smith@acme.test".into(),
    ];
    emails.extend((0..491).map(|i| format!("person{i:03}@acme.test")));
    assert_eq!(emails.len(), 500);
    let mut request = invite_request(&company, &[]);
    request.emails = emails;
    let results = env
        .try_invite(&env.operator_token, request)
        .await
        .expect("invite 500");

    // joe.smith twice is one address.
    assert_eq!(results.len(), 499);
    let by_email: HashMap<&str, &pb::InviteResult> =
        results.iter().map(|r| (r.email.as_str(), r)).collect();
    let reason = |email: &str| refusal(by_email[email]);
    assert_eq!(reason("alice@acme.test"), "ALREADY_MEMBER");
    assert_eq!(
        by_email["alice@acme.test"].refusal_workspace_id,
        company.workspace_id()
    );
    assert_eq!(reason("bob@acme.test"), "RECENTLY_REMOVED");
    assert_eq!(reason("carol@acme.test"), "ALREADY_INVITED");
    assert_eq!(reason("not-an-email"), "INVALID_EMAIL");
    assert_eq!(reason("two words@acme.test"), "INVALID_EMAIL");
    assert_eq!(reason("dave@elsewhere.test"), "DOMAIN_NOT_ALLOWED");
    // "alice@acme.test" is a member; "ice@acme.test" is someone else.
    assert_eq!(reason("ice@acme.test"), "");
    assert_eq!(reason("joe.smith@acme.test"), "");
    // ice, joe and the first 398 people fill the 400 free seats, in the order sent.
    assert_eq!(reason("person397@acme.test"), "");
    assert_eq!(reason("person398@acme.test"), "SEAT_LIMIT_REACHED");
    assert_eq!(reason("person490@acme.test"), "SEAT_LIMIT_REACHED");
    let invited: Vec<&pb::Invitation> = results
        .iter()
        .filter_map(|r| r.invitation.as_ref())
        .collect();
    assert_eq!(invited.len(), 400);
    assert!(
        results
            .iter()
            .all(|r| r.invitation.is_some() == r.refusal_message.is_empty())
    );

    let account = company.account_id();
    let pending = "SELECT count(*) FROM invitation.invitations WHERE account_id::text = $1 AND state = 'pending'";
    assert_eq!(count(&env, pending, account).await, 401);
    let emails_queued = "SELECT count(*) FROM invitation.outbox WHERE template = 'invitation' AND variables->>'account_id' = $1";
    assert_eq!(count(&env, emails_queued, account).await, 401);
    // Only the hash of each link's token is stored; the token rides in the outbox row.
    let ice = by_email["ice@acme.test"].invitation.as_ref().expect("ice");
    let token = env.invitation_token(&ice.invitation_id).await;
    let stored: Vec<u8> = env
        .sql()
        .await
        .query_one(
            "SELECT token_hash FROM invitation.invitations WHERE invitation_id::text = $1",
            &[&ice.invitation_id],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(stored, roster_kit::token::hash(&token));
    assert_eq!(token.len(), 4 + 43, "256 random bits, base64url");
    drop(member);
}

#[tokio::test]
async fn pending_invitations_hold_seats_until_revoked() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 2).await;
    let results = env
        .try_invite(
            &env.operator_token,
            invite_request(&company, &["a@acme.test", "b@acme.test", "c@acme.test"]),
        )
        .await
        .expect("invite");
    let reasons: Vec<&str> = results.iter().map(refusal).collect();
    assert_eq!(reasons, ["", "", "SEAT_LIMIT_REACHED"]);
    let first = results[0].invitation.as_ref().expect("a");
    env.try_revoke(&env.operator_token, &first.invitation_id)
        .await
        .expect("revoke a");
    let results = env
        .try_invite(
            &env.operator_token,
            invite_request(&company, &["c@acme.test"]),
        )
        .await
        .expect("invite c again");
    assert_eq!(refusal(&results[0]), "");
}

#[tokio::test]
async fn inviting_needs_members_invite_in_every_workspace() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let admin = env.add_admin(&company, "admin@acme.test").await;
    let reader = env.add_plain_member(&company, "reader@acme.test").await;
    let stranger = env.create_person("stranger@else.test").await;

    let results = env
        .try_invite(&admin.session, invite_request(&company, &["new@acme.test"]))
        .await
        .expect("a workspace admin invites");
    assert_eq!(refusal(&results[0]), "");
    assert_refused(
        env.try_invite(&reader.session, invite_request(&company, &["x@acme.test"]))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_refused(
        env.try_invite(
            &stranger.session,
            invite_request(&company, &["x@acme.test"]),
        )
        .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    // Admin of the first workspace only: not enough for the second.
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await;
    let mut both = invite_request(&company, &["y@acme.test"]);
    both.workspace_ids.push(second.workspace_id.clone());
    assert_refused(
        env.try_invite(&admin.session, both).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    let mut everywhere = invite_request(&company, &["y@acme.test"]);
    everywhere.workspace_ids.clear();
    everywhere.all_workspaces = true;
    assert_refused(
        env.try_invite(&admin.session, everywhere).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    let invitations = "SELECT count(*) FROM invitation.invitations WHERE email = $1";
    assert_eq!(count(&env, invitations, "y@acme.test").await, 0);
}

#[tokio::test]
async fn bad_requests_name_their_fields() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let mut neither = invite_request(&company, &["a@acme.test"]);
    neither.workspace_ids.clear();
    let status = assert_refused(
        env.try_invite(&env.operator_token, neither).await,
        Code::InvalidArgument,
        "",
    );
    assert_eq!(roster_tests::violated_fields(&status), ["workspace_ids"]);
    let mut too_many = invite_request(&company, &[]);
    too_many.emails = (0..501).map(|i| format!("p{i}@acme.test")).collect();
    let status = assert_refused(
        env.try_invite(&env.operator_token, too_many).await,
        Code::InvalidArgument,
        "",
    );
    assert_eq!(roster_tests::violated_fields(&status), ["emails"]);
    let mut unknown_workspace = invite_request(&company, &["a@acme.test"]);
    unknown_workspace.workspace_ids = vec![uuid::Uuid::now_v7().to_string()];
    assert_refused(
        env.try_invite(&env.operator_token, unknown_workspace).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    let mut unknown_role = invite_request(&company, &["a@acme.test"]);
    unknown_role.role_ids = vec![uuid::Uuid::now_v7().to_string()];
    assert_refused(
        env.try_invite(&env.operator_token, unknown_role).await,
        Code::NotFound,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn an_account_wide_invitation_joins_every_workspace() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await;
    let mut request = invite_request(&company, &["all@acme.test"]);
    request.workspace_ids.clear();
    request.all_workspaces = true;
    request.role_ids = vec![company.admin_role_id.clone()];
    let results = env
        .try_invite(&env.operator_token, request)
        .await
        .expect("invite account-wide");
    let invitation = results[0].invitation.clone().expect("invited");
    assert!(invitation.all_workspaces);
    assert_eq!(invitation.workspace_ids.len(), 2);
    let token = env.invitation_token(&invitation.invitation_id).await;
    let accepted = env
        .try_accept(&token, new_user("All Of Us"))
        .await
        .expect("accept");
    let mut joined: Vec<String> = accepted
        .members
        .iter()
        .map(|m| m.workspace_id.clone())
        .collect();
    joined.sort();
    let mut expected = vec![company.workspace_id().to_owned(), second.workspace_id];
    expected.sort();
    assert_eq!(joined, expected);
    assert!(
        accepted
            .members
            .iter()
            .all(|m| m.role_ids == [company.admin_role_id.clone()])
    );
}

#[tokio::test]
async fn a_retried_invite_answers_the_first_results_and_sends_nothing_twice() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let request = invite_request(&company, &["a@acme.test", "b@acme.test"]);
    let first = env
        .try_invite(&env.operator_token, request.clone())
        .await
        .expect("invite");
    let retried = env
        .try_invite(&env.operator_token, request)
        .await
        .expect("retry");
    assert_eq!(first, retried);
    let emails = "SELECT count(*) FROM invitation.outbox WHERE variables->>'account_id' = $1";
    assert_eq!(count(&env, emails, company.account_id()).await, 2);
}

#[tokio::test]
async fn an_invitation_lasts_the_accounts_invitation_lifetime() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let default = env.invite(&company, "a@acme.test").await;
    let lifetime = |i: &pb::Invitation| {
        i.expire_time.expect("expiry").seconds - i.create_time.expect("created").seconds
    };
    assert_eq!(lifetime(&default), 7 * 24 * 3600);
    let update = mpb::UpdateAccountRequest {
        account: Some(mpb::Account {
            account_id: company.account_id().to_owned(),
            settings: Some(mpb::AccountSettings {
                invitation_lifetime: Some(prost_types::Duration {
                    seconds: 2 * 24 * 3600,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["settings.invitation_lifetime".to_owned()],
        }),
        request_id: request_id(),
    };
    env.membership()
        .update_account(as_user(&env.operator_token, update))
        .await
        .expect("two-day invitations");
    let short = env.invite(&company, "b@acme.test").await;
    assert_eq!(lifetime(&short), 2 * 24 * 3600);
}
