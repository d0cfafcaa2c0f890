"""The first program a team integrating Roster writes, in Python.

With an operator's API key it creates an account and a two-seat workspace, a person who
logs in, invites two people, reads one invitation from the notification service, accepts
it, checks a permission, and handles refusals by their reason:

    ROSTER_ADDRESS=127.0.0.1:50051 ROSTER_API_KEY=... python examples/python/story.py

The invitation link is read from ListNotifications, which keeps the rendered email only
under the log transport (a server without ROSTER_SMTP_URL).
"""

from __future__ import annotations

import collections
import os
import re
import time
import uuid
from dataclasses import dataclass
from typing import cast

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from roster.identity.v1 import identity_service_pb2 as identity
from roster.identity.v1 import identity_service_pb2_grpc as identity_grpc
from roster.invitation.v1 import invitation_pb2
from roster.invitation.v1 import invitation_service_pb2 as invitation
from roster.invitation.v1 import invitation_service_pb2_grpc as invitation_grpc
from roster.membership.v1 import membership_pb2
from roster.membership.v1 import membership_service_pb2 as membership
from roster.membership.v1 import membership_service_pb2_grpc as membership_grpc
from roster.notification.v1 import notification_service_pb2 as notification
from roster.notification.v1 import notification_service_pb2_grpc as notification_grpc
from roster.type.v1 import error_reason_pb2

# Every call gets a deadline: Roster passes what is left of it to the services it calls.
TIMEOUT = 30.0
PASSWORD = "correct horse battery"
TOKEN_IN_LINK = re.compile(r"accept-invitation\?token=([A-Za-z0-9_-]+)")


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    """Call details with other metadata: grpc.ClientCallDetails itself is abstract."""


class Bearer(grpc.UnaryUnaryClientInterceptor):
    """Adds `authorization: Bearer <token>` to every call, so no call site does it."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def intercept_unary_unary(self, continuation, details, request):
        metadata = [*(details.metadata or ()), self._header]
        return continuation(
            _CallDetails(
                details.method,
                details.timeout,
                metadata,
                details.credentials,
                details.wait_for_ready,
                details.compression,
            ),
            request,
        )


def error_reason(error: grpc.RpcError) -> str | None:
    """The `reason` of the google.rpc.ErrorInfo a refused call carries (domain roster)."""
    # The RpcError of a failed call is also its grpc.Call, which holds the trailers.
    status = rpc_status.from_call(cast(grpc.Call, error))
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if info.domain == "roster":
                return info.reason
    return None


@dataclass
class Refusal:
    """A refused call: its gRPC code and ErrorInfo reason."""

    code: grpc.StatusCode
    reason: str | None


def refusal(call) -> Refusal:
    """Makes `call()`, which Roster must refuse, and returns the refusal."""
    try:
        call()
    except grpc.RpcError as error:
        return Refusal(error.code(), error_reason(error))
    raise AssertionError("the call was not refused")


@dataclass
class Story:
    """What the story saw, for its tests."""

    joe_id: str
    principal_user_id: str
    invite_results: list[invitation_pb2.InviteResult]
    over_limit: invitation_pb2.InviteResult
    workspace_id: str
    mary_id: str
    mary_may_read: membership.CheckPermissionResponse
    joe_may_read: membership.CheckPermissionResponse
    bob_accept: Refusal
    wrong_password: Refusal


class Roster:
    """Stubs of Roster's four services on one channel, as the operator's API key."""

    def __init__(self, address: str, api_key: str) -> None:
        self.channel = grpc.insecure_channel(address)
        # Login, Authenticate, PreviewInvitation and AcceptInvitation need no bearer token.
        self.public_identity = identity_grpc.IdentityServiceStub(self.channel)
        self.public_invitation = invitation_grpc.InvitationServiceStub(self.channel)
        operator = grpc.intercept_channel(self.channel, Bearer(api_key))
        self.identity = identity_grpc.IdentityServiceStub(operator)
        self.membership = membership_grpc.MembershipServiceStub(operator)
        self.invitation = invitation_grpc.InvitationServiceStub(operator)
        self.notification = notification_grpc.NotificationServiceStub(operator)

    def close(self) -> None:
        self.channel.close()

    def invitation_token(self, email: str, wait: float = 30.0) -> str:
        """The one-time token of the link in the latest invitation email to `email`.

        Invitations are emailed through the services' outboxes, a moment after InviteUsers
        answers, so this asks again until the email has been sent.
        """
        deadline = time.monotonic() + wait
        while True:
            listed = self.notification.ListNotifications(
                notification.ListNotificationsRequest(
                    recipient=email, template="invitation", page_size=1
                ),
                timeout=TIMEOUT,
            )
            for sent in listed.notifications:
                found = TOKEN_IN_LINK.search(sent.rendered.text_body)
                if found:
                    return found.group(1)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no invitation email with a link to {email}")
            time.sleep(0.1)


def run(address: str, api_key: str) -> Story:
    """Plays the story against the Roster at `address`; new names each run."""
    run_id = uuid.uuid4().hex[:8]
    joe = f"joe.{run_id}@example.com"
    mary = f"mary.{run_id}@example.com"
    bob = f"bob.{run_id}@example.com"
    carol = f"carol.{run_id}@example.com"
    roster = Roster(address, api_key)
    try:
        account = roster.membership.CreateAccount(
            membership.CreateAccountRequest(name=f"Acme {run_id}"), timeout=TIMEOUT
        ).account
        workspace = roster.membership.CreateWorkspace(
            membership.CreateWorkspaceRequest(
                account_id=account.account_id, name="Data team", seat_limit=2
            ),
            timeout=TIMEOUT,
        ).workspace

        # A person with a password logs in; a backend resolves the session token to them.
        joe_id = roster.identity.CreateUser(
            identity.CreateUserRequest(email=joe, display_name="Joe Smith", password=PASSWORD),
            timeout=TIMEOUT,
        ).user.user_id
        session = roster.public_identity.Login(
            identity.LoginRequest(email=joe, password=PASSWORD), timeout=TIMEOUT
        ).session_token
        principal = roster.public_identity.Authenticate(
            identity.AuthenticateRequest(token=session), timeout=TIMEOUT
        ).principal
        wrong_password = refusal(
            lambda: roster.public_identity.Login(
                identity.LoginRequest(email=joe, password="not the password"), timeout=TIMEOUT
            )
        )

        # Two invitations fill the two seats; InviteUsers answers each address on its own,
        # so a third is refused in its result, not as a failed call.
        invited = roster.invitation.InviteUsers(
            invitation.InviteUsersRequest(
                account_id=account.account_id,
                workspace_ids=[workspace.workspace_id],
                emails=[mary, bob],
            ),
            timeout=TIMEOUT,
        ).results
        over_limit = roster.invitation.InviteUsers(
            invitation.InviteUsersRequest(
                account_id=account.account_id,
                workspace_ids=[workspace.workspace_id],
                emails=[carol],
            ),
            timeout=TIMEOUT,
        ).results[0]

        # Mary accepts through her emailed link as a new person.
        accepted = roster.public_invitation.AcceptInvitation(
            invitation.AcceptInvitationRequest(
                token=roster.invitation_token(mary),
                new_user=invitation.NewUser(display_name="Mary Jones", password=PASSWORD),
            ),
            timeout=TIMEOUT,
        )

        # The check a backend makes before serving a request in a workspace.
        def may_read(user_id: str) -> membership.CheckPermissionResponse:
            return roster.membership.CheckPermission(
                membership.CheckPermissionRequest(
                    user_id=user_id,
                    workspace_id=workspace.workspace_id,
                    permission="roster.members.read",
                ),
                timeout=TIMEOUT,
            )

        mary_may_read = may_read(accepted.user_id)
        joe_may_read = may_read(joe_id)

        # Joe takes the second seat directly: a pending invitation holds no seat, so Bob's
        # acceptance is refused as a call (SEAT_LIMIT_REACHED) and his invitation stays.
        roster.membership.AddMember(
            membership.AddMemberRequest(
                account_id=account.account_id,
                workspace_ids=[workspace.workspace_id],
                user_id=joe_id,
            ),
            timeout=TIMEOUT,
        )
        bob_token = roster.invitation_token(bob)
        bob_accept = refusal(
            lambda: roster.public_invitation.AcceptInvitation(
                invitation.AcceptInvitationRequest(
                    token=bob_token,
                    new_user=invitation.NewUser(display_name="Bob Brown", password=PASSWORD),
                ),
                timeout=TIMEOUT,
            )
        )
        return Story(
            joe_id=joe_id,
            principal_user_id=principal.user_id,
            invite_results=list(invited),
            over_limit=over_limit,
            workspace_id=workspace.workspace_id,
            mary_id=accepted.user_id,
            mary_may_read=mary_may_read,
            joe_may_read=joe_may_read,
            bob_accept=bob_accept,
            wrong_password=wrong_password,
        )
    finally:
        roster.close()


def main() -> None:
    api_key = os.environ.get("ROSTER_API_KEY")
    if not api_key:
        raise SystemExit("set ROSTER_API_KEY to an operator's API key")
    story = run(os.environ.get("ROSTER_ADDRESS", "127.0.0.1:50051"), api_key)
    reason = error_reason_pb2.ErrorReason.Name
    access = membership_pb2.AccessReason.Name
    print(f"joe's session authenticates as {story.principal_user_id}")
    print(f"a wrong password: {story.wrong_password.code.name} {story.wrong_password.reason}")
    for result in story.invite_results:
        print(f"invited {result.email}: {result.invitation.invitation_id}")
    print(f"{story.over_limit.email} not invited: {reason(story.over_limit.refusal_reason)}")
    print(f"mary accepted as {story.mary_id}")
    print(f"may mary read members? {story.mary_may_read.allowed} ({access(story.mary_may_read.reason)})")
    print(f"may joe? {story.joe_may_read.allowed} ({access(story.joe_may_read.reason)})")
    print(f"bob's acceptance: {story.bob_accept.code.name} {story.bob_accept.reason}")


if __name__ == "__main__":
    main()
