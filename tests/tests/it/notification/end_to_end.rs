//! The seed guides' story, start to finish, with every email read from the SMTP server.
use roster_proto::identity as ipb;
use roster_proto::invitation as pb;
use roster_proto::membership as mpb;
use roster_tests::invitation::{invite_request, new_user, refusal};
use roster_tests::membership::request_id;
use roster_tests::smtp::SmtpServer;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

#[tokio::test]
async fn an_account_invites_three_people_and_manages_them_through_their_emails() {
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    let env = TestEnv::start_with(|options| options.notification.smtp_url = Some(smtp_url)).await;

    // An operator creates the account and a 3-seat workspace, and makes an administrator.
    let company = env.create_company("Acme", 3).await;
    let admin = env.create_person("admin@acme.test").await;
    env.membership()
        .add_account_administrator(as_user(
            &env.operator_token,
            mpb::AddAccountAdministratorRequest {
                account_id: company.account_id().to_owned(),
                user_id: admin.id().to_owned(),
                request_id: request_id(),
            },
        ))
        .await
        .expect("an account administrator");

    // The administrator invites three people in one call; three emails arrive.
    let people = ["ann@acme.test", "ben@acme.test", "cat@acme.test"];
    let results = env
        .try_invite(&admin.session, invite_request(&company, &people))
        .await
        .expect("invite three");
    assert!(results.iter().all(|r| refusal(r).is_empty()), "{results:?}");
    let invitation = |email: &str| {
        results
            .iter()
            .find(|r| r.email == email)
            .and_then(|r| r.invitation.clone())
            .expect("invited")
    };
    for email in people {
        let emails = smtp.wait_for(email, 1).await;
        assert!(emails[0].subject.contains("Acme"), "{:?}", emails[0]);
        assert!(emails[0].text.contains("Main"), "{:?}", emails[0]);
        assert!(emails[0].html.contains("accept-invitation?token="));
    }

    // Cat's invitation is revoked; Ben's is resent, and his first link stops working.
    env.try_revoke(&admin.session, &invitation("cat@acme.test").invitation_id)
        .await
        .expect("revoke cat");
    let cat_token = smtp.wait_for("cat@acme.test", 1).await[0].link_token();
    assert_refused(
        env.try_accept(&cat_token, new_user("Cat")).await,
        Code::FailedPrecondition,
        "INVITATION_REVOKED",
    );
    let first_ben_token = smtp.wait_for("ben@acme.test", 1).await[0].link_token();
    env.clock.advance(chrono::Duration::seconds(61));
    env.try_resend(&admin.session, &invitation("ben@acme.test").invitation_id)
        .await
        .expect("resend ben");
    let ben_emails = smtp.wait_for("ben@acme.test", 2).await;
    let ben_token = ben_emails
        .iter()
        .map(|e| e.link_token())
        .find(|token| *token != first_ben_token)
        .expect("a second link");
    assert_refused(
        env.try_accept(&first_ben_token, new_user("Ben")).await,
        Code::NotFound,
        "TOKEN_INVALID",
    );

    // Ann and Ben accept through their links.
    let ann_token = smtp.wait_for("ann@acme.test", 1).await[0].link_token();
    let ann = env
        .try_accept(&ann_token, new_user("Ann"))
        .await
        .expect("ann accepts");
    let ben = env
        .try_accept(&ben_token, new_user("Ben"))
        .await
        .expect("ben accepts");
    let workspace = company.workspace_id();
    assert_eq!(env.seat_usage(workspace).await.used, 2);

    // Ann becomes an admin of the workspace.
    let promoted = env
        .update_member_roles(
            &admin.session,
            workspace,
            &ann.user_id,
            &[&company.admin_role_id],
        )
        .await
        .expect("change ann's role");
    assert_eq!(
        promoted.role_ids,
        std::slice::from_ref(&company.admin_role_id)
    );

    // Ben is suspended: denied at once; resumed: allowed again.
    let read = "roster.members.read";
    env.suspend_member(&admin.session, workspace, &ben.user_id)
        .await
        .expect("suspend ben");
    let denied = env.check(&ben.user_id, workspace, read).await;
    assert!(!denied.allowed);
    assert_eq!(denied.reason(), mpb::AccessReason::MemberSuspended);
    env.resume_member(&admin.session, workspace, &ben.user_id)
        .await
        .expect("resume ben");
    assert!(env.check(&ben.user_id, workspace, read).await.allowed);

    // Ann is locked: her session fails at once.
    env.authenticate(&ann.session_token)
        .await
        .expect("ann's session works");
    env.identity()
        .lock_user(as_user(
            &admin.session,
            ipb::LockUserRequest {
                user_id: ann.user_id.clone(),
                reason: "lost laptop".to_owned(),
                request_id: request_id(),
                ..Default::default()
            },
        ))
        .await
        .expect("lock ann");
    assert!(env.authenticate(&ann.session_token).await.is_err());

    // Ben resets his password: the email arrives and its token works once.
    env.identity()
        .request_password_reset(ipb::RequestPasswordResetRequest {
            email: "ben@acme.test".to_owned(),
            ..Default::default()
        })
        .await
        .expect("request a reset");
    let reset = smtp
        .wait_for("ben@acme.test", 3)
        .await
        .into_iter()
        .find(|e| e.text.contains("reset-password?token="))
        .expect("a reset email");
    let identity = env.identity();
    let reset_with = |token: String| {
        let mut identity = identity.clone();
        async move {
            identity
                .reset_password(ipb::ResetPasswordRequest {
                    token,
                    new_password: "a brand new passphrase".to_owned(),
                    ..Default::default()
                })
                .await
        }
    };
    reset_with(reset.link_token()).await.expect("reset once");
    assert!(reset_with(reset.link_token()).await.is_err());
    env.login("ben@acme.test", "a brand new passphrase").await;

    // Ben is removed and restored inside the window; the removal was emailed.
    env.remove_member(&admin.session, workspace, &ben.user_id, "")
        .await
        .expect("remove ben");
    let restored = env
        .restore_member(&admin.session, workspace, &ben.user_id)
        .await
        .expect("restore ben");
    assert_eq!(restored.status(), mpb::MemberStatus::Active);
    smtp.wait_for("ben@acme.test", 4).await;

    // Every email went through the notification service once.
    let emails = smtp.emails();
    let mut ids: Vec<&str> = emails.iter().map(|e| e.notification_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), emails.len(), "no email twice");
    let invitations = env
        .list_invitations(
            &admin.session,
            pb::ListInvitationsRequest {
                account_id: company.account_id().to_owned(),
                show_all: true,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(invitations.invitations.len(), 3);
}
