"""The story against a running Roster: ROSTER_ADDRESS and ROSTER_API_KEY (an operator's)."""

import os

import grpc
import pytest

import story
from roster.membership.v1 import membership_pb2
from roster.type.v1 import error_reason_pb2


@pytest.fixture(scope="module")
def played() -> story.Story:
    return story.run(os.environ["ROSTER_ADDRESS"], os.environ["ROSTER_API_KEY"])


def test_a_session_token_authenticates_as_its_user(played):
    assert played.principal_user_id == played.joe_id


def test_a_wrong_password_is_refused_by_reason(played):
    assert played.wrong_password == story.Refusal(
        grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIALS"
    )


def test_two_invitations_fill_the_seats_and_a_third_is_refused(played):
    assert [r.refusal_reason for r in played.invite_results] == [
        error_reason_pb2.ERROR_REASON_UNSPECIFIED
    ] * 2
    assert all(r.invitation.invitation_id for r in played.invite_results)
    assert played.over_limit.refusal_reason == error_reason_pb2.ERROR_REASON_SEAT_LIMIT_REACHED
    assert played.over_limit.refusal_workspace_id == played.workspace_id
    assert not played.over_limit.HasField("invitation")


def test_the_accepted_invitee_may_read_members_and_a_stranger_may_not(played):
    assert played.mary_id not in ("", played.joe_id)
    assert played.mary_may_read.allowed
    assert played.mary_may_read.reason == membership_pb2.ACCESS_REASON_GRANTED_BY_ROLE
    assert not played.joe_may_read.allowed
    assert played.joe_may_read.reason == membership_pb2.ACCESS_REASON_NOT_A_MEMBER


def test_an_acceptance_past_the_seat_limit_is_refused_by_reason(played):
    assert played.bob_accept == story.Refusal(
        grpc.StatusCode.RESOURCE_EXHAUSTED, "SEAT_LIMIT_REACHED"
    )
