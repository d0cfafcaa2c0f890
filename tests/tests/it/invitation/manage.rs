//! The Invites tab, resend, revoke, role changes, visibility, audit and retention.
use std::time::Duration;

use roster_proto::invitation as pb;
use roster_tests::invitation::new_user;
use roster_tests::membership::{eventually, request_id};
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

use super::count;

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

fn states(list: &pb::ListInvitationsResponse) -> Vec<(String, pb::InvitationState)> {
    list.invitations
        .iter()
        .map(|i| (i.email.clone(), i.state()))
        .collect()
}

#[tokio::test]
async fn the_invites_tab_lists_pending_by_default_and_everything_with_show_all() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let expired = env.invite(&company, "expired@acme.test").await;
    env.clock.advance(days(8));
    let accepted = env.invite(&company, "accepted@acme.test").await;
    let revoked = env.invite(&company, "revoked@acme.test").await;
    let pending = env.invite(&company, "pending@acme.test").await;
    env.try_revoke(&env.operator_token, &revoked.invitation_id)
        .await
        .expect("revoke");
    let token = env.invitation_token(&accepted.invitation_id).await;
    let user = env
        .try_accept(&token, new_user("Accepted"))
        .await
        .expect("accept")
        .user_id;

    let list =
        |request: pb::ListInvitationsRequest| env.list_invitations(&env.operator_token, request);
    let base = pb::ListInvitationsRequest {
        account_id: company.account_id().to_owned(),
        workspace_id: company.workspace_id().to_owned(),
        ..Default::default()
    };
    let default = list(base.clone()).await.expect("list");
    assert_eq!(
        states(&default),
        [("pending@acme.test".to_owned(), pb::InvitationState::Pending)]
    );
    let all = list(pb::ListInvitationsRequest {
        show_all: true,
        ..base.clone()
    })
    .await
    .expect("list all");
    assert_eq!(
        states(&all),
        [
            ("pending@acme.test".to_owned(), pb::InvitationState::Pending),
            ("revoked@acme.test".to_owned(), pb::InvitationState::Revoked),
            (
                "accepted@acme.test".to_owned(),
                pb::InvitationState::Accepted
            ),
            ("expired@acme.test".to_owned(), pb::InvitationState::Expired),
        ]
    );
    let shown = &all.invitations[2];
    assert_eq!(shown.accepted_user_id, user);
    assert_eq!(shown.inviter_user_id, env.operator_id);
    assert_eq!(shown.send_count, 1);
    assert!(shown.accept_time.is_some() && shown.last_send_time.is_some());
    assert!(all.invitations[1].revoke_time.is_some());

    let only_expired = list(pb::ListInvitationsRequest {
        states: vec![pb::InvitationState::Expired.into()],
        ..base.clone()
    })
    .await
    .expect("expired");
    assert_eq!(
        only_expired.invitations[0].invitation_id,
        expired.invitation_id
    );
    let searched = list(pb::ListInvitationsRequest {
        show_all: true,
        query: "REVOK".to_owned(),
        ..base.clone()
    })
    .await
    .expect("search");
    assert_eq!(searched.invitations.len(), 1);
    assert_eq!(searched.invitations[0].invitation_id, revoked.invitation_id);

    // Paging: two pages of two, and the account-wide view holds the same four.
    let first = list(pb::ListInvitationsRequest {
        show_all: true,
        page_size: 2,
        ..base.clone()
    })
    .await
    .expect("page 1");
    assert!(!first.next_page_token.is_empty());
    let second = list(pb::ListInvitationsRequest {
        show_all: true,
        page_size: 2,
        page_token: first.next_page_token.clone(),
        ..base.clone()
    })
    .await
    .expect("page 2");
    assert_eq!(second.invitations.len(), 2);
    assert!(second.next_page_token.is_empty());
    assert_eq!(second.invitations[1].invitation_id, expired.invitation_id);
    let account_wide = list(pb::ListInvitationsRequest {
        workspace_id: String::new(),
        show_all: true,
        ..base.clone()
    })
    .await
    .expect("account list");
    assert_eq!(account_wide.invitations.len(), 4);
    assert_eq!(
        list(pb::ListInvitationsRequest {
            page_token: "garbage".to_owned(),
            ..base
        })
        .await
        .expect_err("bad token")
        .code(),
        Code::InvalidArgument
    );
    drop(pending);
}

#[tokio::test]
async fn a_resend_replaces_the_link_and_restarts_the_expiry() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let invitation = env.invite(&company, "joe@acme.test").await;
    let old_token = env.invitation_token(&invitation.invitation_id).await;
    let status = assert_refused(
        env.try_resend(&env.operator_token, &invitation.invitation_id)
            .await,
        Code::ResourceExhausted,
        "RATE_LIMITED",
    );
    assert!(status.message().contains("retry in"), "{status:?}");
    env.clock.advance(days(3));
    let resent = env
        .try_resend(&env.operator_token, &invitation.invitation_id)
        .await
        .expect("resend");
    assert_eq!(resent.invitation_id, invitation.invitation_id);
    assert_eq!(resent.send_count, 2);
    let restarted = resent.expire_time.expect("expiry").seconds;
    let first = invitation.expire_time.expect("expiry").seconds;
    // Three days on, plus the seconds the test itself took.
    let restart = restarted - first - 3 * 24 * 3600;
    assert!((0..=5).contains(&restart), "restarted {restart} s late");
    let new_token = env.invitation_token(&invitation.invitation_id).await;
    assert_ne!(new_token, old_token);

    for attempt in [
        env.invitation()
            .preview_invitation(pb::PreviewInvitationRequest {
                token: old_token.clone(),
            })
            .await
            .map(|_| ()),
        env.try_accept(&old_token, new_user("Joe"))
            .await
            .map(|_| ()),
    ] {
        assert_refused(attempt, Code::NotFound, "TOKEN_INVALID");
    }
    let preview = env
        .invitation()
        .preview_invitation(pb::PreviewInvitationRequest { token: new_token })
        .await
        .expect("the new link works")
        .into_inner();
    assert_eq!(preview.email, "joe@acme.test");
}

#[tokio::test]
async fn revoked_and_expired_links_fail_with_their_own_reasons() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let revoked = env.invite(&company, "revoked@acme.test").await;
    let expired = env.invite(&company, "expired@acme.test").await;
    let revoked_token = env.invitation_token(&revoked.invitation_id).await;
    let expired_token = env.invitation_token(&expired.invitation_id).await;
    let gone = env
        .try_revoke(&env.operator_token, &revoked.invitation_id)
        .await
        .expect("revoke");
    assert_eq!(gone.state(), pb::InvitationState::Revoked);
    env.clock.advance(days(7) + chrono::Duration::seconds(1));

    assert_refused(
        env.try_accept(&revoked_token, new_user("R")).await,
        Code::FailedPrecondition,
        "INVITATION_REVOKED",
    );
    assert_refused(
        env.try_accept(&expired_token, new_user("E")).await,
        Code::FailedPrecondition,
        "INVITATION_EXPIRED",
    );
    let preview = |token: String| async {
        env.invitation()
            .preview_invitation(pb::PreviewInvitationRequest { token })
            .await
    };
    assert_refused(
        preview(expired_token.clone()).await,
        Code::FailedPrecondition,
        "INVITATION_EXPIRED",
    );
    assert_refused(
        preview(revoked_token).await,
        Code::FailedPrecondition,
        "INVITATION_REVOKED",
    );
    assert_refused(
        env.try_resend(&env.operator_token, &revoked.invitation_id)
            .await,
        Code::FailedPrecondition,
        "INVITATION_REVOKED",
    );
    assert_refused(
        env.try_revoke(&env.operator_token, &expired.invitation_id)
            .await,
        Code::FailedPrecondition,
        "INVITATION_EXPIRED",
    );
    // An expired invitation can be sent again; only the new link works.
    let resent = env
        .try_resend(&env.operator_token, &expired.invitation_id)
        .await
        .expect("resend the expired one");
    assert_eq!(resent.state(), pb::InvitationState::Pending);
    assert_refused(
        preview(expired_token).await,
        Code::NotFound,
        "TOKEN_INVALID",
    );
    let users = "SELECT count(*) FROM identity.users WHERE email = $1";
    assert_eq!(count(&env, users, "revoked@acme.test").await, 0);
}

#[tokio::test]
async fn an_update_changes_roles_only() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let invitation = env.invite(&company, "joe@acme.test").await;
    let update = |paths: &[&str], role_ids: Vec<String>| pb::UpdateInvitationRequest {
        invitation: Some(pb::Invitation {
            invitation_id: invitation.invitation_id.clone(),
            email: "other@acme.test".to_owned(),
            role_ids,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        request_id: request_id(),
    };
    let status = env
        .invitation()
        .update_invitation(as_user(&env.operator_token, update(&["email"], Vec::new())))
        .await
        .expect_err("the email is bound to the link");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("revoke"), "{status:?}");
    let updated = env
        .invitation()
        .update_invitation(as_user(
            &env.operator_token,
            update(&["role_ids"], vec![company.admin_role_id.clone()]),
        ))
        .await
        .expect("change roles")
        .into_inner()
        .invitation
        .expect("invitation");
    assert_eq!(
        updated.role_ids,
        std::slice::from_ref(&company.admin_role_id)
    );
    assert_eq!(updated.email, "joe@acme.test");
    let token = env.invitation_token(&invitation.invitation_id).await;
    let accepted = env
        .try_accept(&token, new_user("Joe"))
        .await
        .expect("accept");
    assert_eq!(
        accepted.members[0].role_ids,
        std::slice::from_ref(&company.admin_role_id)
    );
}

#[tokio::test]
async fn callers_without_access_learn_nothing() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let reader = env.add_plain_member(&company, "reader@acme.test").await;
    let stranger = env.create_person("stranger@else.test").await;
    let invitation = env.invite(&company, "joe@acme.test").await;
    let id = &invitation.invitation_id;
    let missing = uuid::Uuid::now_v7().to_string();

    let read = env
        .try_get_invitation(&reader.session, id)
        .await
        .expect("members.read reads it");
    assert_eq!(read.email, "joe@acme.test");
    assert_refused(
        env.try_revoke(&reader.session, id).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    for target in [id, &missing] {
        assert_refused(
            env.try_get_invitation(&stranger.session, target).await,
            Code::NotFound,
            "NOT_FOUND",
        );
        assert_refused(
            env.try_revoke(&stranger.session, target).await,
            Code::NotFound,
            "NOT_FOUND",
        );
        assert_refused(
            env.try_resend(&stranger.session, target).await,
            Code::NotFound,
            "NOT_FOUND",
        );
    }
    let listing = pb::ListInvitationsRequest {
        account_id: company.account_id().to_owned(),
        ..Default::default()
    };
    assert_refused(
        env.list_invitations(&stranger.session, listing.clone())
            .await,
        Code::NotFound,
        "NOT_FOUND",
    );
    let seen = env
        .list_invitations(&reader.session, listing)
        .await
        .expect("a reader lists the account's invitations");
    assert_eq!(seen.invitations.len(), 1);
    let unauthenticated = env
        .invitation()
        .get_invitation(pb::GetInvitationRequest {
            invitation_id: id.clone(),
        })
        .await
        .expect_err("no bearer token");
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn every_change_is_audited() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let invitation = env.invite(&company, "joe@acme.test").await;
    let id = invitation.invitation_id.clone();
    env.clock.advance(chrono::Duration::seconds(120));
    env.try_resend(&env.operator_token, &id)
        .await
        .expect("resend");
    let token = env.invitation_token(&id).await;
    let accepted = env
        .try_accept(&token, new_user("Joe"))
        .await
        .expect("accept");
    let other = env.invite(&company, "other@acme.test").await;
    env.try_revoke(&env.operator_token, &other.invitation_id)
        .await
        .expect("revoke");

    let events = env
        .invitation()
        .list_audit_events(as_user(
            &env.operator_token,
            pb::ListAuditEventsRequest {
                account_id: company.account_id().to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("audit")
        .into_inner()
        .audit_events;
    let actions: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.action.as_str(), e.target_id.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("invitation.invitation.revoke", other.invitation_id.as_str()),
            ("invitation.invitation.create", other.invitation_id.as_str()),
            ("invitation.invitation.accept", id.as_str()),
            ("invitation.invitation.resend", id.as_str()),
            ("invitation.invitation.create", id.as_str()),
        ]
    );
    assert_eq!(events[2].actor_user_id, accepted.user_id);
    assert_eq!(events[4].actor_user_id, env.operator_id);
}

#[tokio::test]
async fn invitations_ended_longer_than_the_retention_are_deleted() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let old = env.invite(&company, "old@acme.test").await;
    let revoked = env.invite(&company, "revoked@acme.test").await;
    env.try_revoke(&env.operator_token, &revoked.invitation_id)
        .await
        .expect("revoke");
    // The pending one expired after 7 days; both ended more than 90 days ago at day 98.
    env.clock.advance(days(98));
    let recent = env.invite(&company, "recent@acme.test").await;
    let rows = "SELECT count(*) FROM invitation.invitations WHERE account_id::text = $1";
    eventually(Duration::from_secs(5), "old invitations to go", || async {
        (count(&env, rows, company.account_id()).await == 1).then_some(())
    })
    .await;
    env.try_get_invitation(&env.operator_token, &recent.invitation_id)
        .await
        .expect("the recent one stays");
    drop(old);
}
