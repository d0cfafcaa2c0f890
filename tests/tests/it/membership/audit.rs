//! Every membership mutation leaves an audit event the account's administrators can read.
use roster_proto::membership as pb;
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user, assert_refused};
use tonic::Code;

#[tokio::test]
async fn member_changes_are_audited_newest_first_and_filtered() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id();
    let ann = env.add_admin(&company, "ann@example.com").await;
    let joe = env.add_plain_member(&company, "joe@example.com").await;

    let suspend_id = request_id();
    env.membership()
        .suspend_member(as_user(
            &ann.session,
            pb::SuspendMemberRequest {
                workspace_id: workspace_id.into(),
                user_id: joe.id().into(),
                request_id: suspend_id.clone(),
            },
        ))
        .await
        .unwrap();
    env.resume_member(&ann.session, workspace_id, joe.id())
        .await
        .unwrap();

    let events = env.membership_audit(company.account_id(), joe.id()).await;
    assert!(events.iter().all(|e| e.target_id == joe.id()), "{events:?}");
    let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.iter().all(|a| a.starts_with("membership.")),
        "{actions:?}"
    );
    // Newest first: the resumption, then the suspension, then the addition.
    let suspend = actions
        .iter()
        .position(|a| a.contains("suspend"))
        .unwrap_or_else(|| panic!("a suspension in {actions:?}"));
    let resume = actions
        .iter()
        .position(|a| a.contains("resume"))
        .unwrap_or_else(|| panic!("a resumption in {actions:?}"));
    assert!(resume < suspend, "{actions:?}");
    assert_eq!(events[suspend].actor_user_id, ann.id());
    assert_eq!(events[suspend].request_id, suspend_id);
    assert!(events[suspend].occur_time.is_some());
    assert!(
        actions.iter().skip(suspend + 1).any(|a| a.contains("add")),
        "the addition comes before: {actions:?}"
    );

    // By actor: Ann's events only.
    let by_ann = env
        .membership()
        .list_audit_events(as_user(
            &env.operator_token,
            pb::ListAuditEventsRequest {
                account_id: company.account_id().into(),
                actor_user_id: ann.id().into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .audit_events;
    assert_eq!(by_ann.len(), 2, "{by_ann:?}");
    assert!(by_ann.iter().all(|e| e.actor_user_id == ann.id()));

    // Paging by one reaches every event once.
    let all = env.membership_audit(company.account_id(), "").await;
    assert!(
        all.len() >= 6,
        "account, workspace, three members, suspend, resume"
    );
    let mut paged = Vec::new();
    let mut request = pb::ListAuditEventsRequest {
        account_id: company.account_id().into(),
        page_size: 2,
        ..Default::default()
    };
    loop {
        let page = env
            .membership()
            .list_audit_events(as_user(&env.operator_token, request.clone()))
            .await
            .unwrap()
            .into_inner();
        assert!(page.audit_events.len() <= 2);
        paged.extend(page.audit_events.into_iter().map(|e| e.audit_event_id));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    let ids: Vec<_> = all.iter().map(|e| e.audit_event_id.clone()).collect();
    assert_eq!(paged, ids);

    // Workspace admins who do not administer the account cannot read the account's log;
    // account administrators can, and must name the account.
    assert_refused(
        env.membership()
            .list_audit_events(as_user(
                &ann.session,
                pb::ListAuditEventsRequest {
                    account_id: company.account_id().into(),
                    ..Default::default()
                },
            ))
            .await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let max = env.create_person("max@example.com").await;
    env.membership()
        .add_account_administrator(as_user(
            &env.operator_token,
            pb::AddAccountAdministratorRequest {
                account_id: company.account_id().into(),
                user_id: max.id().into(),
                request_id: request_id(),
            },
        ))
        .await
        .unwrap();
    let seen = env
        .membership()
        .list_audit_events(as_user(
            &max.session,
            pb::ListAuditEventsRequest {
                account_id: company.account_id().into(),
                target_id: joe.id().into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .audit_events;
    assert_eq!(seen.len(), events.len());
    let status = env
        .membership()
        .list_audit_events(as_user(&max.session, pb::ListAuditEventsRequest::default()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            status.code(),
            Code::InvalidArgument | Code::PermissionDenied
        ),
        "{status:?}"
    );
    let account_log = env.membership_audit(company.account_id(), "").await;
    assert!(
        account_log
            .iter()
            .any(|e| e.action.contains("administrator") && e.actor_user_id == env.operator_id),
        "adding an account administrator is audited: {account_log:?}"
    );
}
