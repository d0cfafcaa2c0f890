//! An acceptance whose answer was lost, retried: the accepter (the same password, or
//! their own session), with the request_id or without, gets the original answer with a
//! session; anyone else is told the invitation was accepted; nothing happens twice.
use roster_proto::invitation as pb;
use roster_tests::invitation::{NEW_PASSWORD, new_user, new_user_with_password};
use roster_tests::membership::request_id;
use roster_tests::{TestEnv, assert_refused};
use tonic::Code;

use super::count;

const USERS_WITH_EMAIL: &str = "SELECT count(*) FROM identity.users WHERE email = $1";
const MEMBERS_WITH_EMAIL: &str =
    "SELECT count(*) FROM membership.members WHERE email = $1 AND status <> 'removed'";
const ACCEPTS: &str = "SELECT count(*) FROM invitation.audit_events
                        WHERE action = 'invitation.invitation.accept' AND target_id = $1";

fn session(token: &str) -> pb::accept_invitation_request::Invitee {
    pb::accept_invitation_request::Invitee::SessionToken(token.to_owned())
}

/// The answer without its session, which differs between an answer and its replay.
fn without_session(answer: &pb::AcceptInvitationResponse) -> pb::AcceptInvitationResponse {
    pb::AcceptInvitationResponse {
        session_token: String::new(),
        session_expire_time: None,
        ..answer.clone()
    }
}

#[tokio::test]
async fn a_new_persons_lost_answer_is_answered_again_with_a_new_session() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let invitation = env.invite(&company, "joe@acme.test").await;
    let token = env.invitation_token(&invitation.invitation_id).await;
    let request_id = request_id();
    // The first answer is lost on its way back.
    let lost = env
        .try_accept_with(&token, new_user("Joe"), &request_id)
        .await
        .expect("accept");

    for retry_id in [request_id.as_str(), "", "another request"] {
        let retry = env
            .try_accept_with(&token, new_user("Joe"), retry_id)
            .await
            .unwrap_or_else(|s| panic!("retry with request_id {retry_id:?}: {s:?}"));
        assert_eq!(without_session(&retry), without_session(&lost));
        assert_ne!(retry.session_token, lost.session_token);
        let principal = env
            .authenticate(&retry.session_token)
            .await
            .expect("the retry's session works");
        assert_eq!(principal.user_id, lost.user_id);
    }

    // Someone else with the link: another password, another person's session, none.
    let stranger = env.create_person("stranger@acme.test").await;
    for (who, invitee) in [
        (
            "another password",
            new_user_with_password("Joe", "not joe's passphrase"),
        ),
        ("another person's session", session(&stranger.session)),
        ("a dead session", session("not-a-session")),
    ] {
        let status = env
            .try_accept_with(&token, invitee, &request_id)
            .await
            .expect_err(who);
        assert_eq!(status.code(), Code::FailedPrecondition, "{who}: {status:?}");
        assert_eq!(roster_tests::reason(&status), "INVITATION_ALREADY_ACCEPTED");
    }

    assert_eq!(count(&env, USERS_WITH_EMAIL, "joe@acme.test").await, 1);
    assert_eq!(count(&env, MEMBERS_WITH_EMAIL, "joe@acme.test").await, 1);
    assert_eq!(count(&env, ACCEPTS, &invitation.invitation_id).await, 1);
    env.login("joe@acme.test", NEW_PASSWORD).await;
}

#[tokio::test]
async fn an_existing_persons_lost_answer_is_answered_again_with_their_session() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let mary = env.create_person("mary@acme.test").await;
    let other = env.create_person("other@acme.test").await;
    let invitation = env.invite(&company, "mary@acme.test").await;
    let token = env.invitation_token(&invitation.invitation_id).await;
    let lost = env
        .try_accept_with(&token, session(&mary.session), "mary-1")
        .await
        .expect("accept");
    assert_eq!(lost.user_id, mary.id());

    for retry_id in ["mary-1", ""] {
        let retry = env
            .try_accept_with(&token, session(&mary.session), retry_id)
            .await
            .expect("retry");
        assert_eq!(retry, lost, "the same answer, with her own session");
    }
    // A second session of hers is hers too.
    let again = env
        .login("mary@acme.test", roster_tests::membership::PERSON_PASSWORD)
        .await;
    let retry = env
        .try_accept(&token, session(&again))
        .await
        .expect("retry with another of her sessions");
    assert_eq!(retry.session_token, again);
    assert_eq!(without_session(&retry), without_session(&lost));

    // Someone else's session, or registering as a new person with her address.
    for invitee in [session(&other.session), new_user("Mary")] {
        assert_refused(
            env.try_accept_with(&token, invitee, "mary-1").await,
            Code::FailedPrecondition,
            "INVITATION_ALREADY_ACCEPTED",
        );
    }
    assert_eq!(count(&env, USERS_WITH_EMAIL, "mary@acme.test").await, 1);
    assert_eq!(count(&env, MEMBERS_WITH_EMAIL, "mary@acme.test").await, 1);
    assert_eq!(count(&env, ACCEPTS, &invitation.invitation_id).await, 1);
}
