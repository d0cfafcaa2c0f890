use roster_proto::membership as pb;
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user, assert_refused, reason};
use tonic::Code;

use super::{assert_kept_out, sorted};

#[tokio::test]
async fn add_member_joins_with_the_default_role_and_a_retry_adds_nobody() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let joe = env.create_plain_user("joe@example.com", "Joe Smith").await;
    let request = pb::AddMemberRequest {
        account_id: company.account_id().into(),
        workspace_ids: vec![company.workspace_id().into()],
        user_id: joe.user_id.clone(),
        request_id: request_id(),
        ..Default::default()
    };
    // Roster's own services (the invitation service) add members with their credential.
    let added = env
        .membership()
        .add_member(as_user(&env.service_token, request.clone()))
        .await
        .unwrap()
        .into_inner()
        .members;
    assert_eq!(added.len(), 1);
    let member = &added[0];
    assert_eq!(member.workspace_id, company.workspace_id());
    assert_eq!(member.account_id, company.account_id());
    assert_eq!(member.user_id, joe.user_id);
    assert_eq!(member.status, pb::MemberStatus::Active as i32);
    assert_eq!(member.role_ids, [company.member_role_id.as_str()]);
    assert_eq!(member.email, "joe@example.com");
    assert_eq!(member.display_name, "Joe Smith");
    assert_eq!(member.kind, pb::MemberKind::Human as i32);
    assert_eq!(member.identity_status, pb::IdentityStatus::Active as i32);
    assert!(member.join_time.is_some());
    assert!(member.suspend_time.is_none() && member.remove_time.is_none());
    assert!(member.purge_time.is_none());

    // The same request_id answers the same member again.
    let retried = env
        .membership()
        .add_member(as_user(&env.service_token, request.clone()))
        .await
        .unwrap()
        .into_inner()
        .members;
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].user_id, joe.user_id);
    assert_eq!(retried[0].join_time, member.join_time);
    assert_eq!(env.seat_usage(company.workspace_id()).await.used, 1);
    assert_eq!(
        env.member_rows(&joe.user_id).await,
        1,
        "the retry stored no second member"
    );
    assert_eq!(
        env.get_member(company.workspace_id(), &joe.user_id)
            .await
            .join_time,
        member.join_time
    );

    // A new request for an existing member is refused.
    let again = pb::AddMemberRequest {
        request_id: request_id(),
        ..request.clone()
    };
    assert_refused(
        env.membership()
            .add_member(as_user(&env.operator_token, again))
            .await,
        Code::AlreadyExists,
        "ALREADY_MEMBER",
    );

    // The user must exist; end users may not add members.
    let ghost = pb::AddMemberRequest {
        user_id: uuid::Uuid::now_v7().to_string(),
        request_id: request_id(),
        ..request.clone()
    };
    assert_refused(
        env.membership()
            .add_member(as_user(&env.operator_token, ghost))
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    let admin = env.add_admin(&company, "ann@example.com").await;
    let mary = env.create_plain_user("mary@example.com", "Mary").await;
    let by_admin = pb::AddMemberRequest {
        user_id: mary.user_id.clone(),
        request_id: request_id(),
        ..request
    };
    assert_refused(
        env.membership()
            .add_member(as_user(&admin.session, by_admin))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_eq!(env.seat_usage(company.workspace_id()).await.used, 2);
}

#[tokio::test]
async fn adding_to_several_workspaces_is_all_or_nothing() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await;
    let full = env.create_workspace(company.account_id(), "Full", 1).await;
    let filler = env.create_plain_user("filler@example.com", "Filler").await;
    env.try_add_member(
        company.account_id(),
        &[&full.workspace_id],
        &filler.user_id,
        &[],
    )
    .await
    .unwrap();

    let joe = env.create_plain_user("joe@example.com", "Joe").await;
    let refused = env
        .try_add_member(
            company.account_id(),
            &[
                company.workspace_id(),
                &second.workspace_id,
                &full.workspace_id,
            ],
            &joe.user_id,
            &[],
        )
        .await;
    assert_refused(refused, Code::ResourceExhausted, "SEAT_LIMIT_REACHED");
    for workspace_id in [company.workspace_id(), &second.workspace_id] {
        assert_refused(
            env.try_get_member(workspace_id, &joe.user_id).await,
            Code::NotFound,
            "NOT_FOUND",
        );
        assert_eq!(env.seat_usage(workspace_id).await.used, 0);
    }

    // Joining every workspace at once, with explicit roles.
    let builder = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Builder",
            &["flows.create"],
        )
        .await
        .unwrap();
    let other = env.create_account("Other").await;
    let elsewhere = env
        .create_workspace(&other.account_id, "Elsewhere", 0)
        .await;
    env.membership()
        .update_workspace(as_user(
            &env.operator_token,
            pb::UpdateWorkspaceRequest {
                workspace: Some(pb::Workspace {
                    workspace_id: full.workspace_id.clone(),
                    seat_limit: 2,
                    ..Default::default()
                }),
                update_mask: super::mask(&["seat_limit"]),
                request_id: request_id(),
            },
        ))
        .await
        .unwrap();
    let all = pb::AddMemberRequest {
        account_id: company.account_id().into(),
        all_workspaces: true,
        user_id: joe.user_id.clone(),
        role_ids: vec![builder.role_id.clone(), company.member_role_id.clone()],
        request_id: request_id(),
        ..Default::default()
    };
    let members = env
        .membership()
        .add_member(as_user(&env.operator_token, all))
        .await
        .unwrap()
        .into_inner()
        .members;
    let mut joined: Vec<_> = members.iter().map(|m| m.workspace_id.clone()).collect();
    joined.sort();
    let mut expected = vec![
        company.workspace_id().to_owned(),
        second.workspace_id.clone(),
        full.workspace_id.clone(),
    ];
    expected.sort();
    assert_eq!(joined, expected);
    for member in &members {
        assert_eq!(
            sorted(&member.role_ids),
            sorted(&[&builder.role_id, &company.member_role_id])
        );
    }
    assert_refused(
        env.try_get_member(&elsewhere.workspace_id, &joe.user_id)
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );

    // Workspace ids and all_workspaces together are bad input; so is a role or workspace
    // of another account.
    let both = pb::AddMemberRequest {
        account_id: company.account_id().into(),
        all_workspaces: true,
        workspace_ids: vec![company.workspace_id().into()],
        user_id: filler.user_id.clone(),
        request_id: request_id(),
        ..Default::default()
    };
    let status = env
        .membership()
        .add_member(as_user(&env.operator_token, both))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let foreign_workspace = env
        .try_add_member(
            company.account_id(),
            &[&elsewhere.workspace_id],
            &filler.user_id,
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            foreign_workspace.code(),
            Code::InvalidArgument | Code::NotFound
        ),
        "{foreign_workspace:?}"
    );
    let other_roles = env.list_roles(&other.account_id).await;
    let foreign_role = env
        .try_add_member(
            company.account_id(),
            &[company.workspace_id()],
            &filler.user_id,
            &[&other_roles[0].role_id],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(foreign_role.code(), Code::InvalidArgument | Code::NotFound),
        "{foreign_role:?}"
    );
    assert_refused(
        env.try_get_member(company.workspace_id(), &filler.user_id)
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_adds_fill_exactly_the_ten_free_seats() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 10).await;
    let users = futures::future::join_all((0..50).map(|i| {
        let env = &env;
        async move {
            env.create_plain_user(&format!("user{i:02}@example.com"), &format!("User {i:02}"))
                .await
        }
    }))
    .await;

    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(users.len()));
    let tasks: Vec<_> = users
        .iter()
        .map(|user| {
            let mut client = env.membership();
            let barrier = barrier.clone();
            let request = as_user(
                &env.operator_token,
                pb::AddMemberRequest {
                    account_id: company.account_id().into(),
                    workspace_ids: vec![company.workspace_id().into()],
                    user_id: user.user_id.clone(),
                    request_id: request_id(),
                    ..Default::default()
                },
            );
            tokio::spawn(async move {
                barrier.wait().await;
                client.add_member(request).await
            })
        })
        .collect();
    let mut added = 0;
    let mut full = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => added += 1,
            Err(status)
                if status.code() == Code::ResourceExhausted
                    && reason(&status) == "SEAT_LIMIT_REACHED" =>
            {
                full += 1;
            }
            Err(status) => panic!("unexpected refusal {status:?}"),
        }
    }
    assert_eq!((added, full), (10, 40));

    let usage = env.seat_usage(company.workspace_id()).await;
    assert_eq!((usage.used, usage.limit, usage.available), (10, 10, 0));
    let members = env
        .list_all_members(
            &env.operator_token,
            pb::ListMembersRequest {
                workspace_id: company.workspace_id().into(),
                statuses: vec![
                    pb::MemberStatus::Active as i32,
                    pb::MemberStatus::Suspended as i32,
                    pb::MemberStatus::Removed as i32,
                ],
                ..Default::default()
            },
        )
        .await;
    assert_eq!(members.len(), 10);
    let row = env
        .sql()
        .await
        .query_one(
            "SELECT (SELECT count(*) FROM membership.members m \
                      WHERE m.workspace_id = w.workspace_id AND m.status <> 'removed'), \
                    w.seats_used \
               FROM membership.workspaces w WHERE w.workspace_id = $1::text::uuid",
            &[&company.workspace_id()],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i32>(1)),
        (10, 10),
        "stored members and the seat counter agree"
    );
}

#[tokio::test]
async fn members_read_themselves_and_their_workspace_and_list_their_memberships() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let second = env
        .create_workspace(company.account_id(), "Second", 0)
        .await;
    let joe = env.create_person("joe@example.com").await;
    env.try_add_member(
        company.account_id(),
        &[company.workspace_id(), &second.workspace_id],
        joe.id(),
        &[],
    )
    .await
    .unwrap();
    let mary = env.add_plain_member(&company, "mary@example.com").await;

    let get = |token: &str, user_id: &str| {
        let mut client = env.membership();
        let request = as_user(
            token,
            pb::GetMemberRequest {
                workspace_id: company.workspace_id().into(),
                user_id: user_id.into(),
            },
        );
        async move {
            client
                .get_member(request)
                .await
                .map(|r| r.into_inner().member.unwrap())
        }
    };
    // The member role holds roster.members.read: members read each other.
    assert_eq!(get(&joe.session, joe.id()).await.unwrap().user_id, joe.id());
    assert_eq!(
        get(&joe.session, mary.id()).await.unwrap().user_id,
        mary.id()
    );
    let stranger = env.create_person("stranger@example.com").await;
    assert_kept_out(get(&stranger.session, joe.id()).await);
    assert_refused(
        get(&env.operator_token, stranger.id()).await,
        Code::NotFound,
        "NOT_FOUND",
    );

    // Without roster.members.read, a member still reads themself but nobody else.
    let blind = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Blind",
            &["flows.create"],
        )
        .await
        .unwrap();
    env.update_member_roles(
        &env.operator_token,
        company.workspace_id(),
        mary.id(),
        &[&blind.role_id],
    )
    .await
    .unwrap();
    assert_eq!(
        get(&mary.session, mary.id()).await.unwrap().role_ids,
        [blind.role_id.as_str()]
    );
    assert_refused(
        get(&mary.session, joe.id()).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );

    let memberships = |token: &str, user_id: &str, show_removed: bool| {
        let mut client = env.membership();
        let request = as_user(
            token,
            pb::ListUserMembershipsRequest {
                user_id: user_id.into(),
                show_removed,
            },
        );
        async move {
            client
                .list_user_memberships(request)
                .await
                .map(|r| r.into_inner().memberships)
        }
    };
    let mine = memberships(&joe.session, joe.id(), false).await.unwrap();
    let summary: Vec<_> = mine
        .iter()
        .map(|m| {
            (
                m.account_name.as_str(),
                m.workspace_name.as_str(),
                m.status,
                m.account_administrator,
            )
        })
        .collect();
    let active = pb::MemberStatus::Active as i32;
    assert_eq!(
        summary,
        [
            ("Acme", "Main", active, false),
            ("Acme", "Second", active, false)
        ]
    );
    assert!(
        mine.iter()
            .all(|m| m.role_ids == [company.member_role_id.as_str()])
    );
    assert_eq!(
        memberships(&env.service_token, joe.id(), false)
            .await
            .unwrap(),
        mine
    );
    assert_refused(
        memberships(&mary.session, joe.id(), false).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );

    // Removed workspaces show only when asked for.
    env.remove_member(&env.operator_token, &second.workspace_id, joe.id(), "")
        .await
        .unwrap();
    let now = memberships(&joe.session, joe.id(), false).await.unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].workspace_id, company.workspace_id());
    let with_removed = memberships(&env.operator_token, joe.id(), true)
        .await
        .unwrap();
    assert_eq!(with_removed.len(), 2);
    assert_eq!(with_removed[1].workspace_id, second.workspace_id);
    assert_eq!(with_removed[1].status, pb::MemberStatus::Removed as i32);

    // The operator who created the account administers it.
    let operator = memberships(&env.operator_token, &env.operator_id, false)
        .await
        .unwrap();
    assert_eq!(operator.len(), 1, "{operator:?}");
    assert!(operator[0].account_administrator);
    assert_eq!(operator[0].account_id, company.account_id());
}

#[tokio::test]
async fn update_member_roles_replaces_the_roles_and_needs_members_manage() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let ann = env.add_admin(&company, "ann@example.com").await;
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let mary = env.add_plain_member(&company, "mary@example.com").await;
    let builder = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Builder",
            &["flows.create"],
        )
        .await
        .unwrap();
    let workspace_id = company.workspace_id();

    let updated = env
        .update_member_roles(
            &ann.session,
            workspace_id,
            joe.id(),
            &[&builder.role_id, &company.member_role_id],
        )
        .await
        .unwrap();
    assert_eq!(
        sorted(&updated.role_ids),
        sorted(&[&builder.role_id, &company.member_role_id])
    );
    assert_eq!(
        sorted(&env.get_member(workspace_id, joe.id()).await.role_ids),
        sorted(&updated.role_ids)
    );
    let replaced = env
        .update_member_roles(&ann.session, workspace_id, joe.id(), &[&builder.role_id])
        .await
        .unwrap();
    assert_eq!(replaced.role_ids, [builder.role_id.as_str()]);

    // At least one role, each of this account.
    let empty = env
        .update_member_roles(&ann.session, workspace_id, joe.id(), &[])
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");
    let other = env.create_account("Other").await;
    let foreign = env.list_roles(&other.account_id).await;
    let status = env
        .update_member_roles(&ann.session, workspace_id, joe.id(), &[&foreign[0].role_id])
        .await
        .unwrap_err();
    assert!(
        matches!(status.code(), Code::InvalidArgument | Code::NotFound),
        "{status:?}"
    );
    assert_eq!(
        env.get_member(workspace_id, joe.id()).await.role_ids,
        [builder.role_id.as_str()]
    );
    let stranger = env.create_plain_user("stranger@example.com", "S").await;
    assert_refused(
        env.update_member_roles(
            &ann.session,
            workspace_id,
            &stranger.user_id,
            &[&builder.role_id],
        )
        .await,
        Code::NotFound,
        "NOT_FOUND",
    );

    // A plain member cannot, and a member whose role grants roster.members.manage can.
    assert_refused(
        env.update_member_roles(
            &mary.session,
            workspace_id,
            joe.id(),
            &[&company.admin_role_id],
        )
        .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let manager = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Manager",
            &["roster.members.manage", "roster.members.read"],
        )
        .await
        .unwrap();
    env.update_member_roles(&ann.session, workspace_id, mary.id(), &[&manager.role_id])
        .await
        .unwrap();
    env.update_member_roles(
        &mary.session,
        workspace_id,
        joe.id(),
        &[&company.member_role_id],
    )
    .await
    .unwrap();
    assert_eq!(
        env.get_member(workspace_id, joe.id()).await.role_ids,
        [company.member_role_id.as_str()]
    );
}

#[tokio::test]
async fn suspend_and_resume_keep_the_seat_and_refuse_the_wrong_state() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let ann = env.add_admin(&company, "ann@example.com").await;
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let workspace_id = company.workspace_id();

    let request = pb::SuspendMemberRequest {
        workspace_id: workspace_id.into(),
        user_id: joe.id().into(),
        request_id: request_id(),
    };
    let suspended = env
        .membership()
        .suspend_member(as_user(&ann.session, request.clone()))
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap();
    assert_eq!(suspended.status, pb::MemberStatus::Suspended as i32);
    assert!(suspended.suspend_time.is_some());
    assert_eq!(suspended.role_ids, [company.member_role_id.as_str()]);
    // A retry of the same request answers the same; a new one is refused.
    let retried = env
        .membership()
        .suspend_member(as_user(&ann.session, request))
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap();
    assert_eq!(retried.status, pb::MemberStatus::Suspended as i32);
    assert_refused(
        env.suspend_member(&ann.session, workspace_id, joe.id())
            .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    let read = env.get_member(workspace_id, joe.id()).await;
    assert_eq!(read.status, pb::MemberStatus::Suspended as i32);
    assert_eq!(
        super::to_micros(&read).suspend_time,
        super::to_micros(&suspended).suspend_time
    );
    assert_eq!(env.seat_usage(workspace_id).await.used, 2);

    let resumed = env
        .resume_member(&ann.session, workspace_id, joe.id())
        .await
        .unwrap();
    assert_eq!(resumed.status, pb::MemberStatus::Active as i32);
    assert!(resumed.suspend_time.is_none());
    assert_eq!(resumed.role_ids, [company.member_role_id.as_str()]);
    assert_refused(
        env.resume_member(&ann.session, workspace_id, joe.id())
            .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert_eq!(
        env.get_member(workspace_id, joe.id()).await.status,
        pb::MemberStatus::Active as i32
    );

    // The answer to a mutation is the member as stored: a later read gives the same
    // timestamps, to the digit.
    assert_eq!(
        read.suspend_time, suspended.suspend_time,
        "suspend_time as stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_add_member_make_one_member() {
    // What an invitation acceptance retried from many places at once relies on.
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let joe = env.create_plain_user("joe@example.com", "Joe").await;
    let request = pb::AddMemberRequest {
        account_id: company.account_id().into(),
        all_workspaces: true,
        user_id: joe.user_id.clone(),
        request_id: request_id(),
        ..Default::default()
    };
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let mut client = env.membership();
            let request = as_user(&env.service_token, request.clone());
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                client
                    .add_member(request)
                    .await
                    .map(|r| r.into_inner().members)
            })
        })
        .collect();
    let mut join_times = Vec::new();
    for call in calls {
        let members = call
            .await
            .unwrap()
            .expect("every retry gets the first answer");
        assert_eq!(members.len(), 1);
        join_times.push(members[0].join_time);
    }
    join_times.dedup();
    assert_eq!(join_times.len(), 1, "one answer for all: {join_times:?}");
    assert_eq!(env.seat_usage(company.workspace_id()).await.used, 1);
    assert_eq!(env.member_rows(&joe.user_id).await, 1);
}
