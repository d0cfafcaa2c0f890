use roster_proto::membership as pb;
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

use super::mask;

#[tokio::test]
async fn workspace_names_are_unique_per_account_and_the_default_role_applies() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    assert_eq!(company.workspace.account_id, company.account_id());
    assert_eq!(company.workspace.name, "Main");
    assert_eq!(company.workspace.seat_limit, 0);
    assert_eq!(
        company.workspace.default_role_id, company.member_role_id,
        "an empty default role means the built-in member role"
    );

    let create = |account_id: &str, name: &str, default_role_id: &str| {
        let mut client = env.membership();
        let request = as_user(
            &env.operator_token,
            pb::CreateWorkspaceRequest {
                account_id: account_id.into(),
                name: name.into(),
                default_role_id: default_role_id.into(),
                request_id: request_id(),
                ..Default::default()
            },
        );
        async move {
            client
                .create_workspace(request)
                .await
                .map(|r| r.into_inner().workspace.unwrap())
        }
    };
    let taken = assert_refused(
        create(company.account_id(), "MAIN", "").await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );
    // Told by the violated constraint (workspaces_unique_name), not guessed.
    assert!(
        taken.message().contains("a workspace named \"MAIN\""),
        "{taken:?}"
    );
    let other = env.create_account("Other").await;
    create(&other.account_id, "Main", "")
        .await
        .expect("the same name in another account");

    // A workspace whose default is a custom role gives it to members added without roles.
    let builder = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Flow builder",
            &["flows.create"],
        )
        .await
        .unwrap();
    let flows = create(company.account_id(), "Flows", &builder.role_id)
        .await
        .unwrap();
    assert_eq!(flows.default_role_id, builder.role_id);
    let joe = env.create_person("joe@example.com").await;
    let members = env
        .try_add_member(
            company.account_id(),
            &[company.workspace_id(), &flows.workspace_id],
            joe.id(),
            &[],
        )
        .await
        .unwrap();
    let roles_in = |workspace_id: &str| {
        members
            .iter()
            .find(|m| m.workspace_id == workspace_id)
            .unwrap()
            .role_ids
            .clone()
    };
    assert_eq!(
        roles_in(company.workspace_id()),
        [company.member_role_id.as_str()]
    );
    assert_eq!(roles_in(&flows.workspace_id), [builder.role_id.as_str()]);

    // Members read and list their workspaces; strangers do not learn they exist.
    let get = |token: &str, workspace_id: &str| {
        let mut client = env.membership();
        let request = as_user(
            token,
            pb::GetWorkspaceRequest {
                workspace_id: workspace_id.into(),
            },
        );
        async move {
            client
                .get_workspace(request)
                .await
                .map(|r| r.into_inner().workspace.unwrap())
        }
    };
    assert_eq!(
        get(&joe.session, company.workspace_id())
            .await
            .unwrap()
            .workspace_id,
        company.workspace_id()
    );
    let stranger = env.create_person("stranger@example.com").await;
    assert_refused(
        get(&stranger.session, &flows.workspace_id).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_refused(
        get(&env.operator_token, &uuid::Uuid::now_v7().to_string()).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    let list = |token: &str| {
        let mut client = env.membership();
        let request = as_user(
            token,
            pb::ListWorkspacesRequest {
                account_id: company.account_id().into(),
                ..Default::default()
            },
        );
        async move {
            let workspaces = client
                .list_workspaces(request)
                .await
                .unwrap()
                .into_inner()
                .workspaces;
            workspaces.into_iter().map(|w| w.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(list(&env.operator_token).await, ["Flows", "Main"]);
    let only_main = env.create_person("main-only@example.com").await;
    env.add_member(&company, only_main.id(), &[]).await;
    assert_eq!(list(&only_main.session).await, ["Main"]);
    assert_eq!(list(&joe.session).await, ["Flows", "Main"]);

    // Any member reads their workspace, whatever their roles: Joe's only role in Flows
    // is the builder role, without roster.members.read.
    assert_eq!(get(&joe.session, &flows.workspace_id).await.unwrap(), flows);
}

#[tokio::test]
async fn seats_count_active_and_suspended_members_and_a_lower_limit_blocks_joins() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 2).await;
    let workspace_id = company.workspace_id();
    let usage = env.seat_usage(workspace_id).await;
    assert_eq!((usage.used, usage.limit, usage.available), (0, 2, 2));
    assert_eq!(usage.workspace_id, workspace_id);

    let users = [
        env.create_plain_user("a@example.com", "A").await,
        env.create_plain_user("b@example.com", "B").await,
        env.create_plain_user("c@example.com", "C").await,
    ];
    env.add_member(&company, &users[0].user_id, &[]).await;
    env.add_member(&company, &users[1].user_id, &[]).await;
    let usage = env.seat_usage(workspace_id).await;
    assert_eq!((usage.used, usage.available), (2, 0));
    let full = env
        .try_add_member(
            company.account_id(),
            &[workspace_id],
            &users[2].user_id,
            &[],
        )
        .await;
    assert_refused(full, Code::ResourceExhausted, "SEAT_LIMIT_REACHED");

    // A suspended member keeps their seat; a removed one frees it.
    env.suspend_member(&env.operator_token, workspace_id, &users[0].user_id)
        .await
        .unwrap();
    assert_eq!(env.seat_usage(workspace_id).await.used, 2);
    env.remove_member(&env.operator_token, workspace_id, &users[1].user_id, "")
        .await
        .unwrap();
    assert_eq!(env.seat_usage(workspace_id).await.used, 1);
    env.add_member(&company, &users[2].user_id, &[]).await;
    assert_eq!(env.seat_usage(workspace_id).await.used, 2);

    // A limit below the seats in use is accepted: nobody leaves, nobody joins.
    let workspace = env
        .membership()
        .update_workspace(as_user(
            &env.operator_token,
            pb::UpdateWorkspaceRequest {
                workspace: Some(pb::Workspace {
                    workspace_id: workspace_id.into(),
                    seat_limit: 1,
                    etag: company.workspace.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["seat_limit"]),
                request_id: request_id(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .workspace
        .unwrap();
    assert_eq!(workspace.seat_limit, 1);
    assert_eq!(workspace.name, "Main", "not in the mask");
    assert_ne!(workspace.etag, company.workspace.etag);
    let usage = env.seat_usage(workspace_id).await;
    assert_eq!((usage.used, usage.limit), (2, 1));
    assert!(usage.available <= 0, "{usage:?}");
    let late = env.create_plain_user("d@example.com", "D").await;
    assert_refused(
        env.try_add_member(company.account_id(), &[workspace_id], &late.user_id, &[])
            .await,
        Code::ResourceExhausted,
        "SEAT_LIMIT_REACHED",
    );
    assert_eq!(
        env.get_member(workspace_id, &users[0].user_id).await.status,
        pb::MemberStatus::Suspended as i32
    );

    // A stale etag is refused; 0 lifts the limit.
    let stale = env
        .membership()
        .update_workspace(as_user(
            &env.operator_token,
            pb::UpdateWorkspaceRequest {
                workspace: Some(pb::Workspace {
                    workspace_id: workspace_id.into(),
                    seat_limit: 0,
                    etag: company.workspace.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["seat_limit"]),
                request_id: request_id(),
            },
        ))
        .await;
    assert_refused(stale, Code::Aborted, "ETAG_MISMATCH");
    env.membership()
        .update_workspace(as_user(
            &env.operator_token,
            pb::UpdateWorkspaceRequest {
                workspace: Some(pb::Workspace {
                    workspace_id: workspace_id.into(),
                    seat_limit: 0,
                    name: "Headquarters".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["seat_limit", "name"]),
                request_id: request_id(),
            },
        ))
        .await
        .unwrap();
    let usage = env.seat_usage(workspace_id).await;
    assert_eq!((usage.used, usage.limit, usage.available), (2, 0, -1));
    env.add_member(&company, &late.user_id, &[]).await;

    // Seat usage needs roster.members.read in the workspace.
    let stranger = env.create_person("stranger@example.com").await;
    let usage = env
        .membership()
        .get_seat_usage(as_user(
            &stranger.session,
            pb::GetSeatUsageRequest {
                workspace_id: workspace_id.into(),
            },
        ))
        .await;
    super::assert_kept_out(usage);
}
