//! Impersonation with the user's consent: asked for, answered by the user from their own
//! session, time-boxed, ended at the very next call once revoked or once either person
//! loses standing, and audited in every service under both names.
use roster_proto::identity as pb;
use roster_proto::identity::ImpersonationGrantState as State;
use roster_proto::invitation as ipb;
use roster_proto::membership as mpb;
use roster_tests::invitation::invite_request;
use roster_tests::membership::{Company, PERSON_PASSWORD, Person, request_id};
use roster_tests::{TestEnv, as_user, assert_refused, violated_fields};
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

const DAY: i64 = 24 * 3600;

/// Acme, with Joe (an admin of its workspace, so his actions show in membership) and
/// Grace, a second platform operator who signs in with a password.
struct Setting {
    env: TestEnv,
    acme: Company,
    joe: Person,
    grace: Person,
}

async fn setting() -> Setting {
    let env = TestEnv::start().await;
    let acme = env.create_company("Acme", 0).await;
    let joe = env.add_admin(&acme, "joe@acme.test").await;
    let grace = operator(&env, "grace@roster.test").await;
    Setting {
        env,
        acme,
        joe,
        grace,
    }
}

async fn operator(env: &TestEnv, email: &str) -> Person {
    let user = env
        .identity()
        .create_user(as_user(
            &env.operator_token,
            pb::CreateUserRequest {
                email: email.into(),
                display_name: email.split('@').next().unwrap_or(email).into(),
                password: PERSON_PASSWORD.into(),
                platform_role: pb::PlatformRole::Operator as i32,
                ..Default::default()
            },
        ))
        .await
        .expect("create operator")
        .into_inner()
        .user
        .expect("user");
    let session = env.login(email, PERSON_PASSWORD).await;
    Person { user, session }
}

fn days(n: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: n * DAY,
        nanos: 0,
    }
}

async fn request(
    env: &TestEnv,
    token: &str,
    user_id: &str,
    duration: prost_types::Duration,
) -> Result<pb::ImpersonationGrant, Status> {
    let request = pb::RequestImpersonationRequest {
        user_id: user_id.into(),
        reason: "Ticket 42: the export fails".into(),
        duration: Some(duration),
        request_id: request_id(),
    };
    Ok(env
        .identity()
        .request_impersonation(as_user(token, request))
        .await?
        .into_inner()
        .grant
        .expect("grant"))
}

/// The user's answer to a grant, or anyone's revoke.
#[derive(Clone, Copy)]
enum Verdict {
    Approve,
    Deny,
    Revoke,
}

async fn decide(
    env: &TestEnv,
    token: &str,
    grant: &pb::ImpersonationGrant,
    verdict: Verdict,
) -> Result<pb::ImpersonationGrant, Status> {
    let (grant_id, request_id) = (grant.grant_id.clone(), request_id());
    let mut identity = env.identity();
    let decided = match verdict {
        Verdict::Approve => {
            let request = pb::ApproveImpersonationRequest {
                grant_id,
                request_id,
            };
            let answer = identity.approve_impersonation(as_user(token, request));
            answer.await?.into_inner().grant
        }
        Verdict::Deny => {
            let request = pb::DenyImpersonationRequest {
                grant_id,
                request_id,
            };
            let answer = identity.deny_impersonation(as_user(token, request));
            answer.await?.into_inner().grant
        }
        Verdict::Revoke => {
            let request = pb::RevokeImpersonationRequest {
                grant_id,
                request_id,
            };
            let answer = identity.revoke_impersonation(as_user(token, request));
            answer.await?.into_inner().grant
        }
    };
    Ok(decided.expect("grant"))
}

async fn approve(
    env: &TestEnv,
    token: &str,
    grant: &pb::ImpersonationGrant,
) -> Result<pb::ImpersonationGrant, Status> {
    decide(env, token, grant, Verdict::Approve).await
}

async fn deny(
    env: &TestEnv,
    token: &str,
    grant: &pb::ImpersonationGrant,
) -> Result<pb::ImpersonationGrant, Status> {
    decide(env, token, grant, Verdict::Deny).await
}

async fn revoke(
    env: &TestEnv,
    token: &str,
    grant: &pb::ImpersonationGrant,
) -> Result<pb::ImpersonationGrant, Status> {
    decide(env, token, grant, Verdict::Revoke).await
}

async fn start(
    env: &TestEnv,
    token: &str,
    grant: &pb::ImpersonationGrant,
) -> Result<pb::StartImpersonationResponse, Status> {
    let request = pb::StartImpersonationRequest {
        grant_id: grant.grant_id.clone(),
        request_id: request_id(),
    };
    Ok(env
        .identity()
        .start_impersonation(as_user(token, request))
        .await?
        .into_inner())
}

/// Grace asks for a day as Joe, Joe approves, Grace starts: the impersonation token.
async fn impersonating(s: &Setting) -> (pb::ImpersonationGrant, String) {
    let grant = request(&s.env, &s.grace.session, s.joe.id(), days(1))
        .await
        .expect("request");
    approve(&s.env, &s.joe.session, &grant)
        .await
        .expect("approve");
    let started = start(&s.env, &s.grace.session, &grant)
        .await
        .expect("start");
    (grant, started.session_token)
}

fn state(grant: &pb::ImpersonationGrant) -> State {
    grant.state()
}

async fn grants_of(env: &TestEnv, token: &str, user_id: &str) -> Vec<pb::ImpersonationGrant> {
    let request = pb::ListImpersonationGrantsRequest {
        user_id: user_id.into(),
        ..Default::default()
    };
    env.identity()
        .list_impersonation_grants(as_user(token, request))
        .await
        .expect("list grants")
        .into_inner()
        .grants
}

async fn sessions_of(env: &TestEnv, token: &str, user_id: &str) -> Vec<pb::ImpersonationSession> {
    let request = pb::ListImpersonationSessionsRequest {
        user_id: user_id.into(),
        ..Default::default()
    };
    env.identity()
        .list_impersonation_sessions(as_user(token, request))
        .await
        .expect("list impersonations")
        .into_inner()
        .sessions
}

async fn outbox(env: &TestEnv, template: &str, recipient: &str) -> i64 {
    env.sql()
        .await
        .query_one(
            "SELECT count(*) FROM identity.outbox WHERE template = $1 AND recipient = $2",
            &[&template, &recipient],
        )
        .await
        .expect("outbox")
        .get(0)
}

/// `(actor, impersonator)` of a service's audit events named `action`.
async fn audited(env: &TestEnv, schema: &str, action: &str) -> Vec<(String, String)> {
    env.sql()
        .await
        .query(
            &format!(
                "SELECT actor_user_id::text, coalesce(impersonator_user_id::text, '')
                 FROM {schema}.audit_events WHERE action = $1 ORDER BY occurred_at"
            ),
            &[&action],
        )
        .await
        .expect("audit events")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

async fn list_members(env: &TestEnv, token: &str, company: &Company) -> Result<(), Status> {
    let request = mpb::ListMembersRequest {
        workspace_id: company.workspace_id().into(),
        ..Default::default()
    };
    env.membership()
        .list_members(as_user(token, request))
        .await
        .map(drop)
}

async fn list_invitations(env: &TestEnv, token: &str, company: &Company) -> Result<(), Status> {
    let request = ipb::ListInvitationsRequest {
        account_id: company.account_id().into(),
        ..Default::default()
    };
    env.invitation()
        .list_invitations(as_user(token, request))
        .await
        .map(drop)
}

#[tokio::test]
async fn an_approved_request_lets_the_requester_act_as_the_user_under_both_names() {
    let s = setting().await;
    let env = &s.env;
    let grant = request(env, &s.grace.session, s.joe.id(), days(2))
        .await
        .unwrap();
    assert_eq!(state(&grant), State::Pending);
    assert_eq!(grant.requester_user_id, s.grace.id());
    assert_eq!(
        outbox(env, "impersonation_request", "joe@acme.test").await,
        1
    );
    // Nothing opens before Joe answers, and a second request waits for the first.
    assert_refused(
        start(env, &s.grace.session, &grant).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert_refused(
        request(env, &s.grace.session, s.joe.id(), days(1)).await,
        Code::AlreadyExists,
        "ALREADY_EXISTS",
    );

    // Joe sees it on his settings page and approves it.
    let listed = grants_of(env, &s.joe.session, s.joe.id()).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].reason, "Ticket 42: the export fails");
    let approved = approve(env, &s.joe.session, &grant).await.unwrap();
    assert_eq!(state(&approved), State::Approved);
    let decided = approved.decide_time.unwrap().seconds;
    assert_eq!(approved.expire_time.unwrap().seconds, decided + 2 * DAY);

    let started = start(env, &s.grace.session, &grant).await.unwrap();
    let session = started.session.unwrap();
    assert!(session.expire_time.unwrap().seconds <= session.start_time.unwrap().seconds + 3600);
    let principal = env.authenticate(&started.session_token).await.unwrap();
    assert_eq!(principal.user_id, s.joe.id());
    assert_eq!(principal.impersonator_user_id, s.grace.id());
    assert_eq!(
        outbox(env, "impersonation_started", "joe@acme.test").await,
        1
    );

    // What Grace does as Joe is Joe's doing, made by Grace, in every service.
    let token = &started.session_token;
    let ann = env.create_plain_user("ann@acme.test", "Ann").await;
    env.add_member(&s.acme, &ann.user_id, &[]).await;
    env.membership()
        .suspend_member(as_user(
            token,
            mpb::SuspendMemberRequest {
                workspace_id: s.acme.workspace_id().into(),
                user_id: ann.user_id.clone(),
                request_id: request_id(),
            },
        ))
        .await
        .expect("suspend as Joe");
    let both = (s.joe.id().to_owned(), s.grace.id().to_owned());
    assert_eq!(
        audited(env, "membership", "membership.member.suspend").await,
        std::slice::from_ref(&both)
    );
    let events = env
        .membership()
        .list_audit_events(as_user(
            &env.operator_token,
            mpb::ListAuditEventsRequest {
                account_id: s.acme.account_id().into(),
                target_id: ann.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .audit_events;
    let suspended = events
        .iter()
        .find(|e| e.action == "membership.member.suspend")
        .expect("the suspension's event");
    assert_eq!(
        (&suspended.actor_user_id, &suspended.impersonator_user_id),
        (&both.0, &both.1)
    );
    let invited = env
        .try_invite(token, invite_request(&s.acme, &["new@acme.test"]))
        .await
        .expect("invite as Joe");
    assert_eq!(invited.len(), 1);
    let invitation_events = env
        .sql()
        .await
        .query(
            "SELECT actor_user_id::text, impersonator_user_id::text FROM invitation.audit_events
             WHERE impersonator_user_id IS NOT NULL",
            &[],
        )
        .await
        .unwrap();
    assert!(!invitation_events.is_empty(), "the invitation is audited");
    for row in invitation_events {
        assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1)), both);
    }
    assert_eq!(
        audited(env, "identity", "identity.impersonation.start").await,
        [(s.grace.id().to_owned(), String::new())]
    );

    // Joe sees who acted as him; Grace ends it, and the token is dead.
    let mine = sessions_of(env, &s.joe.session, s.joe.id()).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].impersonator_user_id, s.grace.id());
    assert!(mine[0].end_time.is_none());
    env.identity()
        .end_impersonation(as_user(
            token,
            pb::EndImpersonationRequest {
                request_id: request_id(),
            },
        ))
        .await
        .unwrap();
    assert_refused(
        env.authenticate(token).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    let ended = sessions_of(env, &s.joe.session, s.joe.id()).await;
    assert!(ended[0].end_time.is_some());
    assert_eq!(
        audited(env, "identity", "identity.impersonation.end").await,
        [both]
    );
    // Ending one's own session is not an impersonation's end.
    assert_refused(
        env.identity()
            .end_impersonation(as_user(
                &s.joe.session,
                pb::EndImpersonationRequest::default(),
            ))
            .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
}

#[tokio::test]
async fn revoking_ends_a_live_impersonation_at_the_next_call_to_every_service() {
    let s = setting().await;
    let env = &s.env;
    let (grant, token) = impersonating(&s).await;
    list_members(env, &token, &s.acme).await.unwrap();
    list_invitations(env, &token, &s.acme).await.unwrap();

    let revoked = revoke(env, &s.joe.session, &grant).await.unwrap();
    assert_eq!(state(&revoked), State::Revoked);
    assert_eq!(revoked.revoker_user_id, s.joe.id());
    assert_refused(
        env.authenticate(&token).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    assert_eq!(
        list_members(env, &token, &s.acme).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(
        list_invitations(env, &token, &s.acme)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    assert_refused(
        start(env, &s.grace.session, &grant).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    // A revoke is final, and revoking again answers the grant as it is.
    assert_eq!(
        state(&revoke(env, &s.grace.session, &grant).await.unwrap()),
        State::Revoked
    );
    assert_eq!(
        audited(env, "identity", "identity.impersonation.revoke").await,
        [(s.joe.id().to_owned(), String::new())]
    );
}

#[tokio::test]
async fn denied_and_unanswered_requests_open_nothing_and_grants_expire() {
    let s = setting().await;
    let env = &s.env;
    let denied = request(env, &s.grace.session, s.joe.id(), days(1))
        .await
        .unwrap();
    assert_eq!(
        state(&deny(env, &s.joe.session, &denied).await.unwrap()),
        State::Denied
    );
    assert_refused(
        approve(env, &s.joe.session, &denied).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert_refused(
        start(env, &s.grace.session, &denied).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert_eq!(
        audited(env, "identity", "identity.impersonation.deny").await,
        [(s.joe.id().to_owned(), String::new())]
    );

    // Unanswered for the whole window (7 days by default), a request lapses.
    let unanswered = request(env, &s.grace.session, s.joe.id(), days(1))
        .await
        .unwrap();
    env.clock
        .advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    let joe = env.login("joe@acme.test", PERSON_PASSWORD).await;
    let grace = env.login("grace@roster.test", PERSON_PASSWORD).await;
    assert_eq!(
        state(&grants_of(env, &joe, s.joe.id()).await[0]),
        State::Expired
    );
    assert_refused(
        approve(env, &joe, &unanswered).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );

    // An approved grant lasts its duration, and its sessions never outlive it.
    let short = request(
        env,
        &grace,
        s.joe.id(),
        prost_types::Duration {
            seconds: 1800,
            nanos: 0,
        },
    )
    .await
    .unwrap();
    let approved = approve(env, &joe, &short).await.unwrap();
    let started = start(env, &grace, &short).await.unwrap();
    assert_eq!(
        started.session.unwrap().expire_time,
        approved.expire_time,
        "the session ends with the grant"
    );
    env.authenticate(&started.session_token).await.unwrap();
    env.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(
        env.authenticate(&started.session_token)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    let listed = grants_of(env, &joe, s.joe.id()).await;
    assert_eq!(state(&listed[0]), State::Expired);
    assert_refused(
        start(env, &grace, &short).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert_refused(
        revoke(env, &joe, &short).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    let open = env
        .identity()
        .list_impersonation_grants(as_user(
            &joe,
            pb::ListImpersonationGrantsRequest {
                user_id: s.joe.id().into(),
                open_only: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .grants;
    assert!(open.is_empty(), "{open:?}");
}

#[tokio::test]
async fn a_duration_past_the_users_shortest_window_is_refused() {
    let s = setting().await;
    let env = &s.env;
    let mut account = s.acme.account.clone();
    account
        .settings
        .get_or_insert_default()
        .impersonation_window = Some(days(2));
    env.membership()
        .update_account(as_user(
            &env.operator_token,
            mpb::UpdateAccountRequest {
                account: Some(account),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["settings.impersonation_window".into()],
                }),
                request_id: request_id(),
            },
        ))
        .await
        .unwrap();
    let refused = request(env, &s.grace.session, s.joe.id(), days(3))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&refused), ["duration"]);
    let violation = &refused.get_details_bad_request().unwrap().field_violations[0];
    assert!(violation.description.contains("2 days"), "{violation:?}");
    // In a second account with the default week, the shorter window still rules.
    let globex = env.create_company("Globex", 0).await;
    env.add_member(&globex, s.joe.id(), &[]).await;
    assert_eq!(
        request(env, &s.grace.session, s.joe.id(), days(3))
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    request(env, &s.grace.session, s.joe.id(), days(2))
        .await
        .expect("the window itself");
    // Someone in no account has the default week.
    let loner = env.create_person("loner@example.test").await;
    assert_eq!(
        violated_fields(
            &request(env, &s.grace.session, loner.id(), days(8))
                .await
                .unwrap_err()
        ),
        ["duration"]
    );
    for seconds in [0, 59, -1] {
        let duration = prost_types::Duration { seconds, nanos: 0 };
        assert_eq!(
            violated_fields(
                &request(env, &s.grace.session, loner.id(), duration)
                    .await
                    .unwrap_err()
            ),
            ["duration"]
        );
    }
}

#[tokio::test]
async fn only_operators_and_administrators_of_every_account_ask_and_some_are_never_impersonated() {
    let s = setting().await;
    let env = &s.env;
    // A plain member, and an API key, may not ask.
    let bob = env.add_plain_member(&s.acme, "bob@acme.test").await;
    assert_refused(
        request(env, &bob.session, s.joe.id(), days(1)).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_refused(
        request(env, &env.operator_token, s.joe.id(), days(1)).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    // Nobody impersonates themself, an operator or a service account.
    assert_refused(
        request(env, &s.grace.session, s.grace.id(), days(1)).await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    assert_refused(
        request(env, &s.grace.session, &env.operator_id, days(1)).await,
        Code::PermissionDenied,
        "IMPERSONATION_FORBIDDEN",
    );
    let robot = env.create_service_account("Robot").await;
    assert_refused(
        request(env, &s.grace.session, &robot.user_id, days(1)).await,
        Code::PermissionDenied,
        "IMPERSONATION_FORBIDDEN",
    );
    // Nor a disabled or locked person.
    env.identity()
        .disable_user(as_user(
            &env.operator_token,
            pb::DisableUserRequest {
                user_id: bob.id().into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_refused(
        request(env, &s.grace.session, bob.id(), days(1)).await,
        Code::PermissionDenied,
        "USER_DISABLED",
    );
    // An administrator of Acme may ask for Joe, who is only in Acme...
    let ada = env.create_person("ada@acme.test").await;
    env.membership()
        .add_account_administrator(as_user(
            &env.operator_token,
            mpb::AddAccountAdministratorRequest {
                account_id: s.acme.account_id().into(),
                user_id: ada.id().into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let grant = request(env, &ada.session, s.joe.id(), days(1))
        .await
        .unwrap();
    // ...and only Joe answers, from his own session.
    let joe_key = env.create_api_key(s.joe.id()).await.secret;
    for (token, code) in [
        (&ada.session, Code::NotFound),
        (&s.grace.session, Code::NotFound),
        (&joe_key, Code::PermissionDenied),
    ] {
        assert_eq!(approve(env, token, &grant).await.unwrap_err().code(), code);
    }
    // Once Joe is also in Globex, Ada no longer may.
    let globex = env.create_company("Globex", 0).await;
    env.add_member(&globex, s.joe.id(), &[]).await;
    assert_refused(
        request(env, &ada.session, s.joe.id(), days(1)).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
}

#[tokio::test]
async fn an_impersonator_cannot_touch_the_users_credentials_sessions_or_consent_nor_nest() {
    let s = setting().await;
    let env = &s.env;
    let (_, token) = impersonating(&s).await;
    let pending = request(
        env,
        &s.grace.session,
        &{
            let ann = env.create_person("ann@acme.test").await;
            env.add_member(&s.acme, ann.id(), &[]).await;
            ann.user.user_id
        },
        days(1),
    )
    .await
    .unwrap();
    let key = env.create_api_key(s.joe.id()).await;
    let joe = s.joe.id().to_owned();
    let identity = env.identity();
    let as_joe = |message| as_user(&token, message);
    let refusals: Vec<(&str, Result<(), Status>)> = vec![
        (
            "ChangePassword",
            identity
                .clone()
                .change_password(as_joe(pb::ChangePasswordRequest {
                    user_id: joe.clone(),
                    old_password: PERSON_PASSWORD.into(),
                    new_password: "another long passphrase".into(),
                    ..Default::default()
                }))
                .await
                .map(drop),
        ),
        (
            "ChangeEmail",
            identity
                .clone()
                .change_email(as_user(
                    &token,
                    pb::ChangeEmailRequest {
                        user_id: joe.clone(),
                        new_email: "joe@evil.test".into(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "CreateApiKey",
            identity
                .clone()
                .create_api_key(as_user(
                    &token,
                    pb::CreateApiKeyRequest {
                        user_id: joe.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "ListApiKeys",
            identity
                .clone()
                .list_api_keys(as_user(
                    &token,
                    pb::ListApiKeysRequest {
                        user_id: joe.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "RevokeApiKey",
            identity
                .clone()
                .revoke_api_key(as_user(
                    &token,
                    pb::RevokeApiKeyRequest {
                        api_key_id: key.api_key.unwrap().api_key_id,
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "RevokeSessions",
            identity
                .clone()
                .revoke_sessions(as_user(
                    &token,
                    pb::RevokeSessionsRequest {
                        user_id: joe.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "ListImpersonationGrants",
            identity
                .clone()
                .list_impersonation_grants(as_user(
                    &token,
                    pb::ListImpersonationGrantsRequest {
                        user_id: joe.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "RequestImpersonation (nested)",
            request(env, &token, pending.user_id.as_str(), days(1))
                .await
                .map(drop),
        ),
        (
            "ApproveImpersonation",
            approve(env, &token, &pending).await.map(drop),
        ),
        (
            "DenyImpersonation",
            deny(env, &token, &pending).await.map(drop),
        ),
        (
            "RevokeImpersonation",
            revoke(env, &token, &pending).await.map(drop),
        ),
        (
            "StartImpersonation (nested)",
            start(env, &token, &pending).await.map(drop),
        ),
        (
            "ListImpersonationSessions",
            identity
                .clone()
                .list_impersonation_sessions(as_user(
                    &token,
                    pb::ListImpersonationSessionsRequest {
                        user_id: joe.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
    ];
    for (rpc, outcome) in refusals {
        let status = outcome.expect_err(rpc);
        assert_eq!(status.code(), Code::PermissionDenied, "{rpc}: {status:?}");
        assert_eq!(
            roster_tests::reason(&status),
            "IMPERSONATION_FORBIDDEN",
            "{rpc}: {status:?}"
        );
    }
    // Nothing of Joe's changed: his password, sessions and key still work.
    env.login("joe@acme.test", PERSON_PASSWORD).await;
    env.authenticate(&s.joe.session).await.unwrap();
    env.authenticate(&key.secret).await.unwrap();
    assert_eq!(
        state(&grants_of(env, &s.grace.session, pending.user_id.as_str()).await[0]),
        State::Pending
    );
    // Impersonating is reading Joe's workspace as Joe, which stays possible.
    list_members(env, &token, &s.acme).await.unwrap();
}

#[tokio::test]
async fn an_impersonation_ends_at_the_next_call_once_either_person_loses_standing() {
    let s = setting().await;
    let env = &s.env;
    let ended = |outcome: Result<roster_proto::identity::Principal, Status>| {
        assert_refused(outcome, Code::Unauthenticated, "IMPERSONATION_ENDED");
    };

    // The impersonator is disabled.
    let (_, token) = impersonating(&s).await;
    env.identity()
        .disable_user(as_user(
            &env.operator_token,
            pb::DisableUserRequest {
                user_id: s.grace.id().into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    ended(env.authenticate(&token).await);
    // Once ended, it is gone for good, and the user's list shows when it ended.
    assert_refused(
        env.authenticate(&token).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    assert!(
        sessions_of(env, &s.joe.session, s.joe.id()).await[0]
            .end_time
            .is_some()
    );

    // The subject is locked: like all of his sessions, the impersonation ends at once.
    let hopper = operator(env, "hopper@roster.test").await;
    let grant = request(env, &hopper.session, s.joe.id(), days(1))
        .await
        .unwrap();
    approve(env, &s.joe.session, &grant).await.unwrap();
    let token = start(env, &hopper.session, &grant)
        .await
        .unwrap()
        .session_token;
    env.identity()
        .lock_user(as_user(
            &env.operator_token,
            pb::LockUserRequest {
                user_id: s.joe.id().into(),
                reason: "investigation".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_refused(
        env.authenticate(&token).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    assert_eq!(
        list_members(env, &token, &s.acme).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_refused(
        start(env, &hopper.session, &grant).await,
        Code::PermissionDenied,
        "USER_LOCKED",
    );

    // An account administrator who stops administering one of the user's accounts.
    let ann = env.create_person("ann@acme.test").await;
    env.add_member(&s.acme, ann.id(), &[]).await;
    let ada = env.create_person("ada@acme.test").await;
    env.membership()
        .add_account_administrator(as_user(
            &env.operator_token,
            mpb::AddAccountAdministratorRequest {
                account_id: s.acme.account_id().into(),
                user_id: ada.id().into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let grant = request(env, &ada.session, ann.id(), days(1)).await.unwrap();
    approve(env, &ann.session, &grant).await.unwrap();
    let token = start(env, &ada.session, &grant)
        .await
        .unwrap()
        .session_token;
    list_members(env, &token, &s.acme).await.unwrap();
    env.membership()
        .remove_account_administrator(as_user(
            &env.operator_token,
            mpb::RemoveAccountAdministratorRequest {
                account_id: s.acme.account_id().into(),
                user_id: ada.id().into(),
                request_id: request_id(),
            },
        ))
        .await
        .unwrap();
    let status = list_members(env, &token, &s.acme).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(roster_tests::reason(&status), "IMPERSONATION_ENDED");
    assert_refused(
        start(env, &ada.session, &grant).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    let causes = env
        .sql()
        .await
        .query(
            "SELECT changes->'cause'->>'after', actor_user_id::text, impersonator_user_id::text
             FROM identity.audit_events WHERE action = 'identity.impersonation.end'
             ORDER BY occurred_at",
            &[],
        )
        .await
        .unwrap();
    let causes: Vec<(String, String, String)> = causes
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(
        causes,
        [
            (
                "the impersonator is disabled or locked".to_owned(),
                s.joe.id().to_owned(),
                s.grace.id().to_owned()
            ),
            (
                "the impersonator no longer administers every account of the user".to_owned(),
                ann.id().to_owned(),
                ada.id().to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn automatic_permission_skips_the_request_but_is_still_audited_and_told() {
    let s = setting().await;
    let env = &s.env;
    let set = |token: &str, user_id: &str, allowed: bool| {
        let request = pb::SetAutomaticImpersonationRequest {
            user_id: user_id.into(),
            allowed,
            request_id: request_id(),
        };
        let mut identity = env.identity();
        let request = as_user(token, request);
        async move { identity.set_automatic_impersonation(request).await }
    };
    assert_refused(
        set(&s.joe.session, s.grace.id(), true).await,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_refused(
        set(&s.grace.session, s.grace.id(), true).await,
        Code::FailedPrecondition,
        "SELF_ACTION_FORBIDDEN",
    );
    assert_refused(
        set(&env.operator_token, s.joe.id(), true).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    set(&env.operator_token, s.grace.id(), true).await.unwrap();

    let grant = request(env, &s.grace.session, s.joe.id(), days(1))
        .await
        .unwrap();
    assert_eq!(state(&grant), State::Approved);
    assert!(grant.automatic);
    assert_eq!(
        outbox(env, "impersonation_request", "joe@acme.test").await,
        0
    );
    let started = start(env, &s.grace.session, &grant).await.unwrap();
    assert_eq!(
        outbox(env, "impersonation_started", "joe@acme.test").await,
        1
    );
    let principal = env.authenticate(&started.session_token).await.unwrap();
    assert_eq!(principal.impersonator_user_id, s.grace.id());
    assert_eq!(
        audited(env, "identity", "identity.impersonation.automatic").await,
        [(env.operator_id.clone(), String::new())]
    );
    assert_eq!(
        audited(env, "identity", "identity.impersonation.request").await,
        [(s.grace.id().to_owned(), String::new())]
    );
    // Joe sees it, and may revoke it like any other.
    assert_eq!(sessions_of(env, &s.joe.session, s.joe.id()).await.len(), 1);
    assert!(grants_of(env, &s.joe.session, s.joe.id()).await[0].automatic);

    // Taking the permission back ends the impersonation at its next call.
    set(&env.operator_token, s.grace.id(), false).await.unwrap();
    assert_refused(
        env.authenticate(&started.session_token).await,
        Code::Unauthenticated,
        "IMPERSONATION_ENDED",
    );
    // Without it, a request asks Joe again.
    let asked = request(env, &s.grace.session, s.joe.id(), days(1))
        .await
        .unwrap();
    assert_eq!(state(&asked), State::Pending);
    assert_eq!(
        outbox(env, "impersonation_request", "joe@acme.test").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approve_racing_revoke_and_start_racing_revoke_leave_a_consistent_state() {
    let s = setting().await;
    let env = &s.env;
    let mut approved_first = 0;
    let mut started_first = 0;
    for _ in 0..15 {
        let grant = request(env, &s.grace.session, s.joe.id(), days(1))
            .await
            .unwrap();
        let (approved, revoked) = tokio::join!(
            approve(env, &s.joe.session, &grant),
            revoke(env, &s.grace.session, &grant)
        );
        assert_eq!(
            state(&revoked.expect("a revoke always lands")),
            State::Revoked
        );
        match approved {
            Ok(_) => approved_first += 1,
            Err(status) => assert_eq!(roster_tests::reason(&status), "INVALID_STATE"),
        }
        let listed = grants_of(env, &s.joe.session, s.joe.id()).await;
        let now = listed
            .iter()
            .find(|g| g.grant_id == grant.grant_id)
            .unwrap();
        assert_eq!(state(now), State::Revoked);
        assert_refused(
            start(env, &s.grace.session, &grant).await,
            Code::FailedPrecondition,
            "INVALID_STATE",
        );

        let grant = request(env, &s.grace.session, s.joe.id(), days(1))
            .await
            .unwrap();
        approve(env, &s.joe.session, &grant).await.unwrap();
        let (started, revoked) = tokio::join!(
            start(env, &s.grace.session, &grant),
            revoke(env, &s.joe.session, &grant)
        );
        revoked.expect("a revoke always lands");
        if let Ok(started) = started {
            started_first += 1;
            assert_eq!(
                env.authenticate(&started.session_token)
                    .await
                    .unwrap_err()
                    .code(),
                Code::Unauthenticated,
                "a session started before the revoke ends with it"
            );
        }
    }
    let live = env
        .identity()
        .list_impersonation_sessions(as_user(
            &s.joe.session,
            pb::ListImpersonationSessionsRequest {
                user_id: s.joe.id().into(),
                active_only: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .sessions;
    assert!(live.is_empty(), "{live:?}");
    println!(
        "15 approve/revoke races: {approved_first} approved first; 15 start/revoke races: \
         {started_first} started first"
    );
}
