//! The account's seat allowance (distinct users across its workspaces, set by operators)
//! and the pending invitations GetSeatUsage shows beside used and limit.
use std::sync::Arc;

use roster_proto::membership as pb;
use roster_tests::invitation::invite_request;
use roster_tests::membership::{Company, Person, request_id};
use roster_tests::{TestEnv, as_user, assert_refused, reason};
use tonic::Code;
use tonic_types::StatusExt as _;

use super::mask;

/// UpdateAccount of the seat allowance as `token`.
async fn try_set_allowance(
    env: &TestEnv,
    token: &str,
    account_id: &str,
    seat_allowance: i32,
) -> Result<pb::Account, tonic::Status> {
    let request = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            account_id: account_id.to_owned(),
            seat_allowance,
            ..Default::default()
        }),
        update_mask: mask(&["seat_allowance"]),
        request_id: request_id(),
    };
    Ok(env
        .membership()
        .update_account(as_user(token, request))
        .await?
        .into_inner()
        .account
        .expect("account"))
}

/// An account administrator (not an operator) of the company's account.
async fn account_administrator(env: &TestEnv, company: &Company, email: &str) -> Person {
    let person = env.create_person(email).await;
    let request = pb::AddAccountAdministratorRequest {
        account_id: company.account_id().to_owned(),
        user_id: person.id().to_owned(),
        request_id: request_id(),
    };
    env.membership()
        .add_account_administrator(as_user(&env.operator_token, request))
        .await
        .expect("add account administrator");
    person
}

async fn get_account(env: &TestEnv, account_id: &str) -> pb::Account {
    env.membership()
        .get_account(as_user(
            &env.operator_token,
            pb::GetAccountRequest {
                account_id: account_id.to_owned(),
            },
        ))
        .await
        .expect("get account")
        .into_inner()
        .account
        .expect("account")
}

fn metadata(status: &tonic::Status, key: &str) -> String {
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get(key).cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn only_operators_set_the_allowance_and_administrators_then_create_only_bounded_workspaces() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let admin = account_administrator(&env, &company, "boss@acme.test").await;
    assert_eq!(
        get_account(&env, company.account_id()).await.seat_allowance,
        0
    );

    // Without an allowance, an administrator may create an unlimited workspace.
    env.try_create_workspace(&admin.session, company.account_id(), "Open", 0)
        .await
        .expect("no allowance: any limit");

    let refused = try_set_allowance(&env, &admin.session, company.account_id(), 50).await;
    let status = assert_refused(refused, Code::PermissionDenied, "PERMISSION_DENIED");
    assert!(status.message().contains("operators"), "{status:?}");
    assert_eq!(
        get_account(&env, company.account_id()).await.seat_allowance,
        0
    );

    let negative = try_set_allowance(&env, &env.operator_token, company.account_id(), -1).await;
    assert_eq!(
        negative.expect_err("negative").code(),
        Code::InvalidArgument
    );

    let account = try_set_allowance(&env, &env.operator_token, company.account_id(), 10)
        .await
        .expect("an operator sets the allowance");
    assert_eq!(account.seat_allowance, 10);
    assert_eq!(
        get_account(&env, company.account_id()).await.seat_allowance,
        10
    );

    for (name, limit) in [("Unlimited", 0), ("Too big", 11)] {
        let refused = env
            .try_create_workspace(&admin.session, company.account_id(), name, limit)
            .await;
        let status = assert_refused(refused, Code::PermissionDenied, "PERMISSION_DENIED");
        assert_eq!(metadata(&status, "seat_allowance"), "10");
    }
    let bounded = env
        .try_create_workspace(&admin.session, company.account_id(), "Ten", 10)
        .await
        .expect("within the allowance");
    assert_eq!(bounded.seat_limit, 10);
    // Operators are not bound by it; the allowance still bounds who may join.
    env.try_create_workspace(&env.operator_token, company.account_id(), "Ops", 0)
        .await
        .expect("operators may");
    let names: Vec<String> = env
        .sql()
        .await
        .query(
            "SELECT name FROM membership.workspaces WHERE account_id = $1::text::uuid ORDER BY name",
            &[&company.account_id()],
        )
        .await
        .expect("workspaces")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(names, ["Main", "Open", "Ops", "Ten"]);
    // The change is audited with its before and after.
    let audited: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM membership.audit_events
              WHERE action = 'membership.account.update' AND changes ? 'seat_allowance'",
            &[],
        )
        .await
        .expect("audit")
        .get(0);
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn the_allowance_counts_each_user_once_across_workspaces() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await;
    try_set_allowance(&env, &env.operator_token, company.account_id(), 2)
        .await
        .expect("allowance");
    let ann = env.create_plain_user("ann@acme.test", "Ann").await;
    let bob = env.create_plain_user("bob@acme.test", "Bob").await;
    let cat = env.create_plain_user("cat@acme.test", "Cat").await;
    let both = [company.workspace_id(), second.workspace_id.as_str()];
    env.try_add_member(company.account_id(), &both, &ann.user_id, &[])
        .await
        .expect("ann in both workspaces takes one place");
    env.try_add_member(
        company.account_id(),
        &[company.workspace_id()],
        &bob.user_id,
        &[],
    )
    .await
    .expect("bob takes the second place");
    assert_eq!(
        get_account(&env, company.account_id())
            .await
            .seat_allowance_used,
        2
    );
    // Bob joining another workspace is no new user.
    env.try_add_member(
        company.account_id(),
        &[&second.workspace_id],
        &bob.user_id,
        &[],
    )
    .await
    .expect("bob in the second workspace too");
    let refused = env
        .try_add_member(
            company.account_id(),
            &[company.workspace_id()],
            &cat.user_id,
            &[],
        )
        .await;
    let status = assert_refused(refused, Code::ResourceExhausted, "SEAT_LIMIT_REACHED");
    assert_eq!(metadata(&status, "scope"), "account");
    assert_eq!(metadata(&status, "seat_allowance"), "2");
    assert_eq!(env.member_rows(&cat.user_id).await, 0);

    // A removal frees the place; restoring when it is taken again is refused.
    env.remove_member(&env.operator_token, &second.workspace_id, &bob.user_id, "")
        .await
        .expect("remove bob from second");
    let refused = env
        .try_add_member(
            company.account_id(),
            &[company.workspace_id()],
            &cat.user_id,
            &[],
        )
        .await;
    assert_refused(refused, Code::ResourceExhausted, "SEAT_LIMIT_REACHED");
    env.remove_member(
        &env.operator_token,
        company.workspace_id(),
        &bob.user_id,
        "",
    )
    .await
    .expect("remove bob from main");
    env.try_add_member(
        company.account_id(),
        &[company.workspace_id()],
        &cat.user_id,
        &[],
    )
    .await
    .expect("cat takes bob's place");
    let refused = env
        .restore_member(&env.operator_token, company.workspace_id(), &bob.user_id)
        .await;
    let status = assert_refused(refused, Code::ResourceExhausted, "SEAT_LIMIT_REACHED");
    assert_eq!(metadata(&status, "scope"), "account");
    // Ann, still seated, may be restored anywhere: she takes no new place.
    env.remove_member(&env.operator_token, &second.workspace_id, &ann.user_id, "")
        .await
        .expect("remove ann from second");
    env.restore_member(&env.operator_token, &second.workspace_id, &ann.user_id)
        .await
        .expect("ann restored");

    // An allowance below the users seated is accepted: nobody leaves, nobody new joins.
    try_set_allowance(&env, &env.operator_token, company.account_id(), 1)
        .await
        .expect("lower allowance");
    assert_eq!(
        get_account(&env, company.account_id())
            .await
            .seat_allowance_used,
        2
    );
    // No allowance: anyone may join again.
    try_set_allowance(&env, &env.operator_token, company.account_id(), 0)
        .await
        .expect("no allowance");
    env.restore_member(&env.operator_token, company.workspace_id(), &bob.user_id)
        .await
        .expect("bob restored once the allowance is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_joins_of_distinct_users_stop_exactly_at_the_allowance() {
    const ALLOWANCE: i32 = 3;
    const PEOPLE: usize = 12;
    let env = Arc::new(TestEnv::start().await);
    let company = env.create_company("Acme", 0).await;
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await;
    try_set_allowance(&env, &env.operator_token, company.account_id(), ALLOWANCE)
        .await
        .expect("allowance");
    let mut users = Vec::new();
    for i in 0..PEOPLE {
        users.push(
            env.create_plain_user(&format!("p{i}@acme.test"), &format!("P{i}"))
                .await
                .user_id,
        );
    }
    let mut tasks = Vec::new();
    for (i, user_id) in users.into_iter().enumerate() {
        let env = Arc::clone(&env);
        let account_id = company.account_id().to_owned();
        // Half join one workspace, half the other: only the account's lock can count them.
        let workspace_id = if i % 2 == 0 {
            company.workspace_id().to_owned()
        } else {
            second.workspace_id.clone()
        };
        tasks.push(tokio::spawn(async move {
            env.try_add_member(&account_id, &[&workspace_id], &user_id, &[])
                .await
        }));
    }
    let mut joined = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => joined += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert_eq!(reason(&status), "SEAT_LIMIT_REACHED");
            }
        }
    }
    assert_eq!(joined, ALLOWANCE);
    let seated: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(DISTINCT user_id) FROM membership.members
              WHERE account_id = $1::text::uuid AND status <> 'removed'",
            &[&company.account_id()],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(seated, i64::from(ALLOWANCE));
}

#[tokio::test]
async fn seat_usage_shows_pending_invitations_beside_used_and_limit() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 5).await;
    let admin = env.add_admin(&company, "admin@acme.test").await;
    let usage = env.seat_usage(company.workspace_id()).await;
    assert_eq!(
        (usage.used, usage.limit, usage.available),
        (1, 5, 4),
        "{usage:?}"
    );
    assert_eq!((usage.pending_invitations, usage.invitable), (0, 4));

    let results = env
        .try_invite(
            &admin.session,
            invite_request(&company, &["joe@acme.test", "mary@acme.test"]),
        )
        .await
        .expect("invite");
    let usage = env.seat_usage(company.workspace_id()).await;
    assert_eq!(usage.used, 1);
    assert_eq!(usage.available, 4, "pending invitations take no seat yet");
    assert_eq!((usage.pending_invitations, usage.invitable), (2, 2));

    // An account-wide invitation reserves a seat in every workspace.
    let mut everywhere = invite_request(&company, &["ann@acme.test"]);
    everywhere.workspace_ids.clear();
    everywhere.all_workspaces = true;
    env.try_invite(&env.operator_token, everywhere)
        .await
        .expect("invite everywhere");
    let usage = env.seat_usage(company.workspace_id()).await;
    assert_eq!((usage.pending_invitations, usage.invitable), (3, 1));

    // A revoked one no longer reserves; an expired one neither.
    let joe = results[0].invitation.clone().expect("joe invited");
    env.try_revoke(&admin.session, &joe.invitation_id)
        .await
        .expect("revoke");
    assert_eq!(
        env.seat_usage(company.workspace_id())
            .await
            .pending_invitations,
        2
    );
    env.clock.advance(chrono::Duration::days(8));
    let usage = env.seat_usage(company.workspace_id()).await;
    assert_eq!((usage.pending_invitations, usage.invitable), (0, 4));

    // An unlimited workspace counts them too, with nothing to reserve against.
    let open = env.create_workspace(company.account_id(), "Open", 0).await;
    let mut request = invite_request(&company, &["zed@acme.test"]);
    request.workspace_ids = vec![open.workspace_id.clone()];
    env.try_invite(&env.operator_token, request)
        .await
        .expect("invite to open");
    let usage = env.seat_usage(&open.workspace_id).await;
    assert_eq!(
        (
            usage.limit,
            usage.available,
            usage.pending_invitations,
            usage.invitable
        ),
        (0, -1, 1, -1)
    );
}

#[tokio::test]
async fn seat_usage_is_unavailable_while_the_invitation_service_is_unreachable() {
    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let env = TestEnv::start_with(|options| {
        options.invitation_url = Some(format!("http://{closed}"));
    })
    .await;
    let company = env.create_company("Acme", 5).await;
    let request = pb::GetSeatUsageRequest {
        workspace_id: company.workspace_id().to_owned(),
    };
    let refused = env
        .membership()
        .get_seat_usage(as_user(&env.operator_token, request))
        .await;
    let status = assert_refused(refused, Code::Unavailable, "UNAVAILABLE");
    assert_eq!(metadata(&status, "retry_after_seconds"), "1");
    assert!(status.message().contains("invitation"), "{status:?}");
}

#[tokio::test]
async fn only_roster_services_count_pending_invitations() {
    use roster_proto::invitation as ipb;
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 5).await;
    env.invite(&company, "joe@acme.test").await;
    let request = || ipb::CountPendingInvitationsRequest {
        account_id: company.account_id().to_owned(),
        workspace_ids: vec![company.workspace_id().to_owned()],
    };
    let refused = env
        .invitation()
        .count_pending_invitations(as_user(&env.operator_token, request()))
        .await;
    assert_refused(refused, Code::PermissionDenied, "PERMISSION_DENIED");
    let counts = env
        .invitation()
        .count_pending_invitations(as_user(&env.service_token, request()))
        .await
        .expect("a Roster service may")
        .into_inner()
        .counts;
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].workspace_id, company.workspace_id());
    assert_eq!(counts[0].pending, 1);
}

#[tokio::test]
async fn a_membership_process_asks_the_invitation_service_at_its_url() {
    use roster::Service;
    use roster_proto::membership::membership_service_client::MembershipServiceClient;
    let mut env = TestEnv::start().await;
    let company = env.create_company("Acme", 5).await;
    env.invite(&company, "joe@acme.test").await;
    let main = format!("http://{}", env.address);
    let (token, workspace_id) = (
        env.operator_token.clone(),
        company.workspace_id().to_owned(),
    );
    let usage = |channel: tonic::transport::Channel| {
        let (token, workspace_id) = (token.clone(), workspace_id.clone());
        async move {
            MembershipServiceClient::new(channel)
                .get_seat_usage(as_user(&token, pb::GetSeatUsageRequest { workspace_id }))
                .await
                .expect("seat usage")
                .into_inner()
                .seat_usage
                .expect("seat usage")
        }
    };
    // Membership alone, with invitation elsewhere (ROSTER_INVITATION_URL).
    let (_, split) = env
        .serve_at(([127, 0, 0, 1], 0).into(), |options| {
            options.services = vec![Service::Membership];
            options.identity_url = Some(main.clone());
            options.invitation_url = Some(main.clone());
        })
        .await;
    let seen = usage(split).await;
    assert_eq!((seen.pending_invitations, seen.invitable), (1, 4));
    // Membership alone with no invitation service anywhere: none pending to show.
    let (_, alone) = env
        .serve_at(([127, 0, 0, 1], 0).into(), |options| {
            options.services = vec![Service::Membership];
            options.identity_url = Some(main.clone());
        })
        .await;
    let seen = usage(alone).await;
    assert_eq!(
        (seen.used, seen.pending_invitations, seen.invitable),
        (0, 0, 5)
    );
}
