//! DESIGN §6: every mutating RPC of membership and invitation takes a request_id and is
//! safe to retry. Each is sent twice with the same request_id: the retry answers exactly
//! what the first call did, and the action happened once (one audit event).
use std::collections::HashMap;
use std::future::Future;

use prost_types::FieldMask;
use roster_proto::invitation as ipb;
use roster_proto::membership as pb;
use roster_tests::invitation::invite_request;
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user};
use tonic::{Response, Status};

/// Calls `call` twice; both must succeed with equal answers. The first answer.
async fn twice<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Response<T>, Status>>,
    T: PartialEq + std::fmt::Debug,
{
    let first = call()
        .await
        .unwrap_or_else(|status| panic!("{what}: {status:?}"))
        .into_inner();
    let retried = call()
        .await
        .unwrap_or_else(|status| panic!("{what} retried: {status:?}"))
        .into_inner();
    assert_eq!(first, retried, "{what}: the retry answers the same");
    first
}

/// How many audit events of `action` the schema holds.
async fn audited(env: &TestEnv, schema: &str, action: &str) -> i64 {
    env.sql()
        .await
        .query_one(
            &format!("SELECT count(*) FROM {schema}.audit_events WHERE action = $1"),
            &[&action],
        )
        .await
        .expect("count audit events")
        .get(0)
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test]
async fn every_mutating_membership_rpc_answers_a_retry_the_same_and_acts_once() {
    let env = TestEnv::start().await;
    let op = env.operator_token.clone();
    let company = env.create_company("Acme", 0).await;
    let account_id = company.account_id().to_owned();
    let ann = env.create_plain_user("ann@acme.test", "Ann").await;
    let bob = env.create_plain_user("bob@acme.test", "Bob").await;
    env.add_member(&company, &ann.user_id, &[&company.admin_role_id])
        .await;
    env.add_member(&company, &bob.user_id, &[]).await;

    let request = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            account_id: account_id.clone(),
            name: "Acme Corporation".into(),
            ..Default::default()
        }),
        update_mask: mask(&["name"]),
        request_id: request_id(),
    };
    twice("UpdateAccount", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.update_account(request).await }
    })
    .await;
    assert_eq!(
        audited(&env, "membership", "membership.account.update").await,
        1
    );

    for (rpc, action) in [
        (
            "AddAccountAdministrator",
            "membership.account.add_administrator",
        ),
        (
            "RemoveAccountAdministrator",
            "membership.account.remove_administrator",
        ),
    ] {
        let id = request_id();
        twice(rpc, || {
            let mut client = env.membership();
            let (account_id, user_id, request_id) =
                (account_id.clone(), ann.user_id.clone(), id.clone());
            let token = op.clone();
            async move {
                if rpc == "AddAccountAdministrator" {
                    let request = pb::AddAccountAdministratorRequest {
                        account_id,
                        user_id,
                        request_id,
                    };
                    client
                        .add_account_administrator(as_user(&token, request))
                        .await
                        .map(|r| Response::new(r.into_inner().account))
                } else {
                    let request = pb::RemoveAccountAdministratorRequest {
                        account_id,
                        user_id,
                        request_id,
                    };
                    client
                        .remove_account_administrator(as_user(&token, request))
                        .await
                        .map(|r| Response::new(r.into_inner().account))
                }
            }
        })
        .await;
        assert_eq!(audited(&env, "membership", action).await, 1, "{rpc}");
    }

    let request = pb::CreateWorkspaceRequest {
        account_id: account_id.clone(),
        name: "Second".into(),
        seat_limit: 5,
        request_id: request_id(),
        ..Default::default()
    };
    let workspace = twice("CreateWorkspace", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.create_workspace(request).await }
    })
    .await
    .workspace
    .expect("workspace");
    // The account's own workspace was created by the harness, through the same RPC.
    assert_eq!(
        audited(&env, "membership", "membership.workspace.create").await,
        2
    );

    let request = pb::UpdateWorkspaceRequest {
        workspace: Some(pb::Workspace {
            workspace_id: workspace.workspace_id.clone(),
            seat_limit: 6,
            ..Default::default()
        }),
        update_mask: mask(&["seat_limit"]),
        request_id: request_id(),
    };
    twice("UpdateWorkspace", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.update_workspace(request).await }
    })
    .await;
    assert_eq!(
        audited(&env, "membership", "membership.workspace.update").await,
        1
    );

    let request = pb::CreateRoleRequest {
        account_id: account_id.clone(),
        name: "Reviewer".into(),
        permissions: vec!["roster.members.read".into()],
        request_id: request_id(),
        ..Default::default()
    };
    let role = twice("CreateRole", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.create_role(request).await }
    })
    .await
    .role
    .expect("role");
    assert_eq!(
        audited(&env, "membership", "membership.role.create").await,
        1
    );

    let request = pb::UpdateRoleRequest {
        role: Some(pb::Role {
            role_id: role.role_id.clone(),
            description: "Reads".into(),
            ..Default::default()
        }),
        update_mask: mask(&["description"]),
        request_id: request_id(),
    };
    twice("UpdateRole", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.update_role(request).await }
    })
    .await;
    assert_eq!(
        audited(&env, "membership", "membership.role.update").await,
        1
    );

    let request = pb::UpdateMemberRolesRequest {
        workspace_id: company.workspace_id().into(),
        user_id: bob.user_id.clone(),
        role_ids: vec![role.role_id.clone()],
        request_id: request_id(),
    };
    twice("UpdateMemberRoles", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.update_member_roles(request).await }
    })
    .await;
    assert_eq!(
        audited(&env, "membership", "membership.member.update_roles").await,
        1
    );
    // Bob back to the member role, so the custom role can be deleted.
    env.update_member_roles(
        &op,
        company.workspace_id(),
        &bob.user_id,
        &[&company.member_role_id],
    )
    .await
    .expect("bob back to member");

    let request = pb::DeleteRoleRequest {
        role_id: role.role_id.clone(),
        request_id: request_id(),
    };
    twice("DeleteRole", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.delete_role(request).await }
    })
    .await;
    assert_eq!(
        audited(&env, "membership", "membership.role.delete").await,
        1
    );

    // Each status change done twice without its request log would be INVALID_STATE.
    let member_request = || {
        (
            company.workspace_id().to_owned(),
            bob.user_id.clone(),
            request_id(),
        )
    };
    let (workspace_id, user_id, id) = member_request();
    let request = pb::SuspendMemberRequest {
        workspace_id,
        user_id,
        request_id: id,
    };
    twice("SuspendMember", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.suspend_member(request).await }
    })
    .await;
    let (workspace_id, user_id, id) = member_request();
    let request = pb::ResumeMemberRequest {
        workspace_id,
        user_id,
        request_id: id,
    };
    twice("ResumeMember", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.resume_member(request).await }
    })
    .await;
    let (workspace_id, user_id, id) = member_request();
    let request = pb::RemoveMemberRequest {
        workspace_id,
        user_id,
        request_id: id,
        ..Default::default()
    };
    twice("RemoveMember", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.remove_member(request).await }
    })
    .await;
    let (workspace_id, user_id, id) = member_request();
    let request = pb::RestoreMemberRequest {
        workspace_id,
        user_id,
        request_id: id,
    };
    twice("RestoreMember", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.restore_member(request).await }
    })
    .await;
    env.remove_member(&op, company.workspace_id(), &bob.user_id, "")
        .await
        .expect("remove bob again");
    let (workspace_id, user_id, id) = member_request();
    let request = pb::PurgeMemberRequest {
        workspace_id,
        user_id,
        request_id: id,
    };
    twice("PurgeMember", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.purge_member(request).await }
    })
    .await;
    for (verb, times) in [
        ("suspend", 1),
        ("resume", 1),
        ("remove", 2),
        ("restore", 1),
        ("purge", 1),
    ] {
        assert_eq!(
            audited(&env, "membership", &format!("membership.member.{verb}")).await,
            times,
            "{verb}"
        );
    }

    let request = pb::DefineCustomFieldRequest {
        field: Some(pb::CustomField {
            account_id: account_id.clone(),
            key: "employee_id".into(),
            label: "Employee ID".into(),
            r#type: pb::CustomFieldType::String.into(),
            target: pb::CustomFieldTarget::Member.into(),
            ..Default::default()
        }),
        request_id: request_id(),
    };
    twice("DefineCustomField", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.define_custom_field(request).await }
    })
    .await;
    assert_eq!(
        audited(&env, "membership", "membership.custom_field.define").await,
        1
    );

    let request = pb::SetCustomFieldValuesRequest {
        account_id: account_id.clone(),
        user_id: ann.user_id.clone(),
        values: HashMap::from([(
            "employee_id".to_owned(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue("E-1".into())),
            },
        )]),
        request_id: request_id(),
    };
    twice("SetCustomFieldValues", || {
        let (mut client, request) = (env.membership(), as_user(&op, request.clone()));
        async move { client.set_custom_field_values(request).await }
    })
    .await;
    assert_eq!(
        audited(&env, "membership", "membership.custom_field.set_values").await,
        1
    );
}

#[tokio::test]
async fn every_mutating_invitation_rpc_answers_a_retry_the_same_and_acts_once() {
    let env = TestEnv::start().await;
    let op = env.operator_token.clone();
    let company = env.create_company("Acme", 0).await;

    let request = invite_request(&company, &["joe@acme.test"]);
    let invited = twice("InviteUsers", || {
        let (mut client, request) = (env.invitation(), as_user(&op, request.clone()));
        async move { client.invite_users(request).await }
    })
    .await;
    let invitation = invited.results[0].invitation.clone().expect("invited");
    assert_eq!(
        audited(&env, "invitation", "invitation.invitation.create").await,
        1
    );

    // A resend within a minute of the last send is RATE_LIMITED, unless it is a retry.
    env.clock.advance(chrono::Duration::seconds(61));
    let request = ipb::ResendInvitationRequest {
        invitation_id: invitation.invitation_id.clone(),
        request_id: request_id(),
    };
    let resent = twice("ResendInvitation", || {
        let (mut client, request) = (env.invitation(), as_user(&op, request.clone()));
        async move { client.resend_invitation(request).await }
    })
    .await;
    assert_eq!(resent.invitation.expect("invitation").send_count, 2);
    assert_eq!(
        audited(&env, "invitation", "invitation.invitation.resend").await,
        1
    );

    let request = ipb::UpdateInvitationRequest {
        invitation: Some(ipb::Invitation {
            invitation_id: invitation.invitation_id.clone(),
            role_ids: vec![company.admin_role_id.clone()],
            ..Default::default()
        }),
        update_mask: mask(&["role_ids"]),
        request_id: request_id(),
    };
    twice("UpdateInvitation", || {
        let (mut client, request) = (env.invitation(), as_user(&op, request.clone()));
        async move { client.update_invitation(request).await }
    })
    .await;
    assert_eq!(
        audited(&env, "invitation", "invitation.invitation.update").await,
        1
    );

    let request = ipb::RevokeInvitationRequest {
        invitation_id: invitation.invitation_id.clone(),
        request_id: request_id(),
    };
    twice("RevokeInvitation", || {
        let (mut client, request) = (env.invitation(), as_user(&op, request.clone()));
        async move { client.revoke_invitation(request).await }
    })
    .await;
    assert_eq!(
        audited(&env, "invitation", "invitation.invitation.revoke").await,
        1
    );
    // AcceptInvitation, the public one, is covered in invitation::scope.
}
