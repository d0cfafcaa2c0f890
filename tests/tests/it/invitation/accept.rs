//! Accepting: new and existing people, races on one link and on the last seats (a refused
//! accept leaves no account), and a failure between identity and membership healed by a
//! retry.
use std::sync::Arc;
use std::time::Duration;

use roster_proto::identity as ipb;
use roster_proto::invitation as pb;
use roster_tests::invitation::{
    NEW_PASSWORD, invite_request, new_user, new_user_with_password, refusal,
};
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, as_user, assert_refused, reason};
use tonic::Code;

use super::{count, set_seat_limit};

const USERS_WITH_EMAIL: &str = "SELECT count(*) FROM identity.users WHERE email = $1";
const MEMBERS_WITH_EMAIL: &str =
    "SELECT count(*) FROM membership.members WHERE email = $1 AND status <> 'removed'";

/// A password other than the one new people register with.
const OTHER_PASSWORD: &str = "somebody else's passphrase";

fn session(token: &str) -> pb::accept_invitation_request::Invitee {
    pb::accept_invitation_request::Invitee::SessionToken(token.to_owned())
}

#[tokio::test]
async fn a_new_person_previews_accepts_and_gets_a_session() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let admin = env.add_admin(&company, "admin@acme.test").await;
    let mut request = invite_request(&company, &["Joe@Acme.test"]);
    request.message = "Welcome aboard".to_owned();
    let results = env
        .try_invite(&admin.session, request)
        .await
        .expect("invite");
    let invitation = results[0].invitation.clone().expect("invited");
    let token = env.invitation_token(&invitation.invitation_id).await;

    let preview = env
        .invitation()
        .preview_invitation(pb::PreviewInvitationRequest {
            token: token.clone(),
        })
        .await
        .expect("preview needs no bearer token")
        .into_inner();
    assert_eq!(preview.account_name, "Acme");
    assert_eq!(preview.workspace_names, ["Main"]);
    assert_eq!(preview.inviter_display_name, "admin");
    assert_eq!(preview.email, "joe@acme.test");
    assert_eq!(preview.message, "Welcome aboard");
    assert_eq!(preview.expire_time, invitation.expire_time);

    let accepted = env
        .try_accept(&token, new_user("Joe Smith"))
        .await
        .expect("accept");
    assert_eq!(accepted.members.len(), 1);
    assert_eq!(accepted.members[0].workspace_id, company.workspace_id());
    assert_eq!(
        accepted.members[0].role_ids,
        std::slice::from_ref(&company.member_role_id)
    );
    let principal = env
        .authenticate(&accepted.session_token)
        .await
        .expect("the answered session works");
    assert_eq!(principal.user_id, accepted.user_id);
    assert_eq!(principal.email, "joe@acme.test");
    env.login("joe@acme.test", NEW_PASSWORD).await;
    let stored = accepted.invitation.expect("invitation");
    assert_eq!(stored.state(), pb::InvitationState::Accepted);
    assert_eq!(stored.accepted_user_id, accepted.user_id);

    // Someone else with the link (not Joe's password) finds it used.
    assert_refused(
        env.try_accept(&token, new_user_with_password("Not Joe", OTHER_PASSWORD))
            .await,
        Code::FailedPrecondition,
        "INVITATION_ALREADY_ACCEPTED",
    );
    assert_refused(
        env.try_resend(&admin.session, &invitation.invitation_id)
            .await,
        Code::FailedPrecondition,
        "INVITATION_ALREADY_ACCEPTED",
    );
    assert_refused(
        env.invitation()
            .preview_invitation(pb::PreviewInvitationRequest { token })
            .await,
        Code::FailedPrecondition,
        "INVITATION_ALREADY_ACCEPTED",
    );
    assert_refused(
        env.try_accept("inv_nonsense", new_user("X")).await,
        Code::NotFound,
        "TOKEN_INVALID",
    );
}

#[tokio::test]
async fn an_existing_person_accepts_with_their_own_session() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let joe = env.create_person("joe@acme.test").await;
    let other = env.create_person("other@acme.test").await;
    let invitation = env.invite(&company, "joe@acme.test").await;
    let token = env.invitation_token(&invitation.invitation_id).await;

    assert_refused(
        env.try_accept(&token, new_user("Joe")).await,
        Code::AlreadyExists,
        "EMAIL_TAKEN",
    );
    assert_refused(
        env.try_accept(&token, session(&other.session)).await,
        Code::PermissionDenied,
        "EMAIL_MISMATCH",
    );
    let status = env
        .try_accept(&token, session("not-a-session"))
        .await
        .expect_err("a dead session");
    assert_eq!(status.code(), Code::Unauthenticated);
    let accepted = env
        .try_accept(&token, session(&joe.session))
        .await
        .expect("accept with the session");
    assert_eq!(accepted.user_id, joe.id());
    assert_eq!(accepted.session_token, joe.session);
    assert_eq!(count(&env, USERS_WITH_EMAIL, "joe@acme.test").await, 1);
    assert_eq!(count(&env, MEMBERS_WITH_EMAIL, "joe@acme.test").await, 1);
}

#[tokio::test]
async fn a_locked_or_disabled_identity_cannot_accept() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    for (email, lock) in [("locked@acme.test", true), ("disabled@acme.test", false)] {
        let person = env.create_person(email).await;
        let invitation = env.invite(&company, email).await;
        let token = env.invitation_token(&invitation.invitation_id).await;
        let identity = env.identity();
        if lock {
            identity
                .clone()
                .lock_user(as_user(
                    &env.operator_token,
                    ipb::LockUserRequest {
                        user_id: person.id().to_owned(),
                        request_id: request_id(),
                        ..Default::default()
                    },
                ))
                .await
                .expect("lock");
        } else {
            identity
                .clone()
                .disable_user(as_user(
                    &env.operator_token,
                    ipb::DisableUserRequest {
                        user_id: person.id().to_owned(),
                        request_id: request_id(),
                    },
                ))
                .await
                .expect("disable");
        }
        let by_session = env
            .try_accept(&token, session(&person.session))
            .await
            .expect_err("their session no longer works");
        assert!(
            matches!(
                by_session.code(),
                Code::Unauthenticated | Code::PermissionDenied
            ),
            "{by_session:?}"
        );
        assert_refused(
            env.try_accept(&token, new_user("Someone")).await,
            Code::AlreadyExists,
            "EMAIL_TAKEN",
        );
        assert_eq!(count(&env, MEMBERS_WITH_EMAIL, email).await, 0);
        let still = env
            .try_get_invitation(&env.operator_token, &invitation.invitation_id)
            .await
            .expect("read");
        assert_eq!(still.state(), pb::InvitationState::Pending);
    }
}

#[tokio::test]
async fn twenty_concurrent_uses_of_one_link_make_one_acceptance_answered_consistently() {
    let env = Arc::new(
        TestEnv::start_with(|options| {
            // Every use that waits for the first checks a password afterwards; none
            // should be shed for load on a busy machine.
            options.identity.password_hash_wait = Duration::from_secs(60);
            options.pool.timeout = Duration::from_secs(60);
        })
        .await,
    );
    let company = env.create_company("Acme", 0).await;
    let invitation = env.invite(&company, "joe@acme.test").await;
    let token = env.invitation_token(&invitation.invitation_id).await;
    // Two people race with the link: whoever gets it first registers with their password.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (env, token) = (Arc::clone(&env), token.clone());
            let password = if i % 2 == 0 {
                NEW_PASSWORD
            } else {
                OTHER_PASSWORD
            };
            tokio::spawn(async move {
                // ABORTED says "retry": identity's concurrent logins of one user may
                // deadlock and be rolled back.
                for _ in 0..5 {
                    let invitee = new_user_with_password("Joe", password);
                    match env.try_accept(&token, invitee).await {
                        Err(status) if status.code() == Code::Aborted => {}
                        answer => return (password, answer),
                    }
                }
                panic!("still aborted after five tries")
            })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            (password, Ok(answer)) => accepted.push((password, answer)),
            (_, Err(status)) => refused.push(status),
        }
    }
    let (winner, first) = &accepted.first().expect("one use accepts");
    assert_eq!(accepted.len(), 10, "refusals: {refused:?}");
    for (password, answer) in &accepted {
        assert_eq!(password, winner, "only the registered password is answered");
        assert_eq!(answer.user_id, first.user_id);
        assert_eq!(answer.members, first.members);
        env.authenticate(&answer.session_token)
            .await
            .expect("each answer carries a working session");
    }
    assert!(
        refused
            .iter()
            .all(|s| reason(s) == "INVITATION_ALREADY_ACCEPTED"),
        "{refused:?}"
    );
    assert_eq!(count(&env, USERS_WITH_EMAIL, "joe@acme.test").await, 1);
    assert_eq!(count(&env, MEMBERS_WITH_EMAIL, "joe@acme.test").await, 1);
    env.login("joe@acme.test", winner).await;
}

#[tokio::test]
async fn thirty_accepts_into_ten_free_seats_make_exactly_ten_members() {
    let env = Arc::new(
        TestEnv::start_with(|options| {
            // Thirty new passwords are hashed at once; none should be shed for load on a
            // busy machine.
            options.identity.password_hash_wait = Duration::from_secs(60);
            options.pool.timeout = Duration::from_secs(60);
        })
        .await,
    );
    let company = env.create_company("Acme", 30).await;
    let emails: Vec<String> = (0..30).map(|i| format!("p{i:02}@acme.test")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let results = env
        .try_invite(&env.operator_token, invite_request(&company, &refs))
        .await
        .expect("invite 30");
    assert!(results.iter().all(|r| refusal(r).is_empty()));
    // Sent while there was room; the limit is lowered afterwards.
    set_seat_limit(&env, &company, 10).await;
    let mut tokens = Vec::new();
    for result in &results {
        let id = &result.invitation.as_ref().expect("invited").invitation_id;
        tokens.push((id.clone(), env.invitation_token(id).await));
    }
    let tasks: Vec<_> = tokens
        .iter()
        .cloned()
        .map(|(id, token)| {
            let env = Arc::clone(&env);
            tokio::spawn(async move { (id, env.try_accept(&token, new_user("Person")).await) })
        })
        .collect();
    let mut joined = 0;
    let mut full = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            (_, Ok(_)) => joined += 1,
            (id, Err(status)) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert_eq!(reason(&status), "SEAT_LIMIT_REACHED");
                full.push(id);
            }
        }
    }
    assert_eq!(joined, 10);
    let usage = env.seat_usage(company.workspace_id()).await;
    assert_eq!((usage.used, usage.held), (10, 0));
    // Seats are held before anyone is created: a refused accept leaves no account.
    let people: i64 = env
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM identity.users WHERE email LIKE '%@acme.test'",
            &[],
        )
        .await
        .expect("users")
        .get(0);
    assert_eq!(people, 10);
    for id in &full {
        let invitation = env
            .try_get_invitation(&env.operator_token, id)
            .await
            .expect("read");
        assert_eq!(invitation.state(), pb::InvitationState::Pending);
        assert_refused(
            env.try_login(&invitation.email, NEW_PASSWORD).await,
            Code::Unauthenticated,
            "INVALID_CREDENTIALS",
        );
    }
    assert_eq!(full.len(), 20);
}

#[tokio::test]
async fn a_failure_between_user_created_and_member_added_is_healed_by_a_retry() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let invitation = env.invite(&company, "joe@acme.test").await;
    let token = env.invitation_token(&invitation.invitation_id).await;
    let sql = env.sql().await;
    // Membership's inserts fail after identity has created the user.
    sql.batch_execute(
        "CREATE FUNCTION membership.refuse() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
         CREATE TRIGGER injected BEFORE INSERT ON membership.members
           FOR EACH ROW EXECUTE FUNCTION membership.refuse();",
    )
    .await
    .expect("inject a failure");
    let status = env
        .try_accept(&token, new_user("Joe"))
        .await
        .expect_err("membership fails");
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert_eq!(count(&env, USERS_WITH_EMAIL, "joe@acme.test").await, 1);
    assert_eq!(count(&env, MEMBERS_WITH_EMAIL, "joe@acme.test").await, 0);
    let pending = env
        .try_get_invitation(&env.operator_token, &invitation.invitation_id)
        .await
        .expect("read");
    assert_eq!(pending.state(), pb::InvitationState::Pending);

    sql.batch_execute("DROP TRIGGER injected ON membership.members")
        .await
        .expect("heal");
    let accepted = env
        .try_accept(&token, new_user("Joe"))
        .await
        .expect("the retry completes the acceptance");
    let user: String = sql
        .query_one(
            "SELECT user_id::text FROM identity.users WHERE email = 'joe@acme.test'",
            &[],
        )
        .await
        .expect("user")
        .get(0);
    assert_eq!(accepted.user_id, user);
    assert_eq!(count(&env, USERS_WITH_EMAIL, "joe@acme.test").await, 1);
    assert_eq!(count(&env, MEMBERS_WITH_EMAIL, "joe@acme.test").await, 1);
    env.login("joe@acme.test", NEW_PASSWORD).await;
}
