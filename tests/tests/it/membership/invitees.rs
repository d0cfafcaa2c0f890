//! CheckInvitees: what the invitation service checks before inviting, for Roster's
//! services only.
use std::time::Duration;

use roster_proto::identity as id;
use roster_proto::membership as pb;
use roster_proto::types::ErrorReason;
use roster_tests::membership::{Company, PERSON_PASSWORD, eventually};
use roster_tests::{TestEnv, as_user, assert_refused, violated_fields};
use tonic::{Code, Status};

/// CheckInvitees as `token`.
async fn check_invitees(
    env: &TestEnv,
    token: &str,
    request: pb::CheckInviteesRequest,
) -> Result<pb::CheckInviteesResponse, Status> {
    Ok(env
        .membership()
        .check_invitees(as_user(token, request))
        .await?
        .into_inner())
}

/// A request about the company's account, its given workspaces and `emails`.
fn about(company: &Company, workspace_ids: &[&str], emails: &[&str]) -> pb::CheckInviteesRequest {
    pb::CheckInviteesRequest {
        account_id: company.account_id().to_owned(),
        workspace_ids: workspace_ids.iter().map(|w| (*w).to_owned()).collect(),
        emails: emails.iter().map(|e| (*e).to_owned()).collect(),
        ..Default::default()
    }
}

/// A person without a password, member of the given workspaces with the member role.
async fn member_of(
    env: &TestEnv,
    company: &Company,
    workspace_ids: &[&str],
    email: &str,
) -> String {
    let user = env.create_plain_user(email, email).await;
    env.try_add_member(
        company.account_id(),
        workspace_ids,
        &user.user_id,
        &[&company.member_role_id],
    )
    .await
    .expect("add member");
    user.user_id
}

/// The conflicts as sorted (email, workspace, reason, user) rows.
fn conflicts(answer: &pb::CheckInviteesResponse) -> Vec<(String, String, ErrorReason, String)> {
    let mut rows: Vec<_> = answer
        .conflicts
        .iter()
        .map(|c| {
            (
                c.email.clone(),
                c.workspace_id.clone(),
                c.reason(),
                c.user_id.clone(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn members_and_recently_removed_people_conflict_where_they_are() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let main = company.workspace_id();
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await
        .workspace_id;
    let alice = member_of(&env, &company, &[main, &second], "alice@x.com").await;
    let sue = member_of(&env, &company, &[main], "sue@x.com").await;
    env.suspend_member(&env.operator_token, main, &sue)
        .await
        .unwrap();
    let rob = member_of(&env, &company, &[main], "rob@x.com").await;
    env.remove_member(&env.operator_token, main, &rob, "")
        .await
        .unwrap();
    let pat = member_of(&env, &company, &[main], "pat@x.com").await;
    env.remove_member(&env.operator_token, main, &pat, "")
        .await
        .unwrap();
    env.purge_member(&env.operator_token, main, &pat)
        .await
        .unwrap();

    let emails = [
        "alice@x.com",
        // Sent twice, reported once.
        "alice@x.com",
        "sue@x.com",
        "rob@x.com",
        "pat@x.com",
        // A substring of a member's email is someone else.
        "ice@x.com",
        "nobody@x.com",
    ];
    let answer = check_invitees(
        &env,
        &env.service_token,
        about(&company, &[main, &second], &emails),
    )
    .await
    .unwrap();
    let row = |email: &str, workspace: &str, reason, user: &str| {
        (
            email.to_owned(),
            workspace.to_owned(),
            reason,
            user.to_owned(),
        )
    };
    let mut expected = vec![
        row("alice@x.com", main, ErrorReason::AlreadyMember, &alice),
        row("alice@x.com", &second, ErrorReason::AlreadyMember, &alice),
        row("rob@x.com", main, ErrorReason::RecentlyRemoved, &rob),
        row("sue@x.com", main, ErrorReason::AlreadyMember, &sue),
    ];
    expected.sort();
    assert_eq!(conflicts(&answer), expected);

    // Only the named workspaces are looked at.
    let answer = check_invitees(
        &env,
        &env.service_token,
        about(&company, &[&second], &emails),
    )
    .await
    .unwrap();
    assert_eq!(
        conflicts(&answer),
        [row(
            "alice@x.com",
            &second,
            ErrorReason::AlreadyMember,
            &alice
        )]
    );

    // Without emails (the invitation preview), no conflicts.
    let answer = check_invitees(&env, &env.service_token, about(&company, &[main], &[]))
        .await
        .unwrap();
    assert!(answer.conflicts.is_empty());
    assert_eq!(answer.workspaces.len(), 1);

    // Once the restore window has ended and the purge has finished (no custodian holds
    // anything here), the removal no longer stands in the way.
    env.clock.advance(chrono::Duration::days(15));
    eventually(Duration::from_secs(10), "the purge", || async {
        let answer = check_invitees(
            &env,
            &env.service_token,
            about(&company, &[main], &["rob@x.com"]),
        )
        .await
        .unwrap();
        answer.conflicts.is_empty().then_some(())
    })
    .await;
}

#[tokio::test]
async fn all_workspaces_describes_the_account_and_every_workspace_with_its_seats() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 5).await;
    let beta = env.create_workspace(company.account_id(), "beta", 0).await;
    let alpha = env.create_workspace(company.account_id(), "Alpha", 2).await;
    member_of(&env, &company, &[company.workspace_id()], "ann@x.com").await;
    member_of(
        &env,
        &company,
        &[company.workspace_id(), &alpha.workspace_id],
        "bob@x.com",
    )
    .await;

    let request = pb::CheckInviteesRequest {
        account_id: company.account_id().to_owned(),
        all_workspaces: true,
        role_ids: vec![
            company.member_role_id.clone(),
            company.admin_role_id.clone(),
        ],
        ..Default::default()
    };
    let answer = check_invitees(&env, &env.service_token, request)
        .await
        .unwrap();
    assert_eq!(answer.account_name, "Acme");
    assert_eq!(answer.settings, company.account.settings);
    let names: Vec<&str> = answer.workspaces.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["Alpha", "beta", "Main"], "ordered by name");
    for workspace in &answer.workspaces {
        let seats = workspace.seat_usage.clone().expect("seat_usage");
        // GetSeatUsage adds the pending invitations (the invitation service's own count).
        let usage = env.seat_usage(&workspace.workspace_id).await;
        assert_eq!(
            (seats.workspace_id, seats.used, seats.limit, seats.available),
            (usage.workspace_id, usage.used, usage.limit, usage.available)
        );
    }
    let seats: Vec<(i32, i32, i32)> = answer
        .workspaces
        .iter()
        .map(|w| {
            let s = w.seat_usage.as_ref().expect("seat_usage");
            (s.used, s.limit, s.available)
        })
        .collect();
    assert_eq!(seats, [(1, 2, 1), (0, 0, -1), (2, 5, 3)]);
    assert_eq!(answer.workspaces[1].workspace_id, beta.workspace_id);
    assert!(answer.conflicts.is_empty());
}

#[tokio::test]
async fn the_account_its_workspaces_and_roles_must_exist_together() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let other = env.create_company("Other", 0).await;
    let main = company.workspace_id();

    let status = assert_refused(
        check_invitees(
            &env,
            &env.service_token,
            about(&company, &[main, other.workspace_id()], &[]),
        )
        .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    assert!(
        status.message().contains(other.workspace_id()),
        "{status:?}"
    );

    for role_id in [
        other.member_role_id.clone(),
        uuid::Uuid::now_v7().to_string(),
    ] {
        let request = pb::CheckInviteesRequest {
            role_ids: vec![company.member_role_id.clone(), role_id.clone()],
            ..about(&company, &[main], &[])
        };
        let status = assert_refused(
            check_invitees(&env, &env.service_token, request).await,
            Code::NotFound,
            "NOT_FOUND",
        );
        assert!(status.message().contains(&role_id), "{status:?}");
    }

    let unknown_account = pb::CheckInviteesRequest {
        account_id: uuid::Uuid::now_v7().to_string(),
        all_workspaces: true,
        ..Default::default()
    };
    assert_refused(
        check_invitees(&env, &env.service_token, unknown_account).await,
        Code::NotFound,
        "NOT_FOUND",
    );

    let both = pb::CheckInviteesRequest {
        all_workspaces: true,
        ..about(&company, &[main], &[])
    };
    let neither = about(&company, &[], &[]);
    for request in [both, neither] {
        let status = check_invitees(&env, &env.service_token, request)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), ["workspace_ids"]);
    }

    let many: Vec<String> = (0..1001).map(|i| format!("p{i}@x.com")).collect();
    let too_many = pb::CheckInviteesRequest {
        emails: many.clone(),
        ..about(&company, &[main], &[])
    };
    let status = check_invitees(&env, &env.service_token, too_many)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["emails"]);
    let most = pb::CheckInviteesRequest {
        emails: many[..1000].to_vec(),
        ..about(&company, &[main], &[])
    };
    check_invitees(&env, &env.service_token, most)
        .await
        .unwrap();
}

#[tokio::test]
async fn only_roster_services_may_check_invitees() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    env.identity()
        .create_user(as_user(
            &env.operator_token,
            id::CreateUserRequest {
                email: "ops@example.com".into(),
                display_name: "Ops".into(),
                password: PERSON_PASSWORD.into(),
                platform_role: id::PlatformRole::Operator as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let operator_session = env.login("ops@example.com", PERSON_PASSWORD).await;
    let admin = env.add_admin(&company, "ann@example.com").await;
    for token in [&operator_session, &env.operator_token, &admin.session] {
        assert_refused(
            check_invitees(&env, token, about(&company, &[company.workspace_id()], &[])).await,
            Code::PermissionDenied,
            "PERMISSION_DENIED",
        );
    }
}
