import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from roster.invitation.v1 import invitation_pb2 as _invitation_pb2
from roster.membership.v1 import membership_pb2 as _membership_pb2
from roster.type.v1 import audit_pb2 as _audit_pb2
from roster.type.v1 import bounds_pb2 as _bounds_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InviteUsersRequest(_message.Message):
    __slots__ = ("account_id", "workspace_ids", "all_workspaces", "emails", "role_ids", "message", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_WORKSPACES_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    ROLE_IDS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    workspace_ids: _containers.RepeatedScalarFieldContainer[str]
    all_workspaces: bool
    emails: _containers.RepeatedScalarFieldContainer[str]
    role_ids: _containers.RepeatedScalarFieldContainer[str]
    message: str
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., workspace_ids: _Optional[_Iterable[str]] = ..., all_workspaces: _Optional[bool] = ..., emails: _Optional[_Iterable[str]] = ..., role_ids: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class InviteUsersResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[_invitation_pb2.InviteResult]
    def __init__(self, results: _Optional[_Iterable[_Union[_invitation_pb2.InviteResult, _Mapping]]] = ...) -> None: ...

class GetInvitationRequest(_message.Message):
    __slots__ = ("invitation_id",)
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    def __init__(self, invitation_id: _Optional[str] = ...) -> None: ...

class GetInvitationResponse(_message.Message):
    __slots__ = ("invitation",)
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    invitation: _invitation_pb2.Invitation
    def __init__(self, invitation: _Optional[_Union[_invitation_pb2.Invitation, _Mapping]] = ...) -> None: ...

class ListInvitationsRequest(_message.Message):
    __slots__ = ("account_id", "workspace_id", "states", "show_all", "query", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    SHOW_ALL_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    workspace_id: str
    states: _containers.RepeatedScalarFieldContainer[_invitation_pb2.InvitationState]
    show_all: bool
    query: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_invitation_pb2.InvitationState, str]]] = ..., show_all: _Optional[bool] = ..., query: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListInvitationsResponse(_message.Message):
    __slots__ = ("invitations", "next_page_token")
    INVITATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    invitations: _containers.RepeatedCompositeFieldContainer[_invitation_pb2.Invitation]
    next_page_token: str
    def __init__(self, invitations: _Optional[_Iterable[_Union[_invitation_pb2.Invitation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ResendInvitationRequest(_message.Message):
    __slots__ = ("invitation_id", "request_id")
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    request_id: str
    def __init__(self, invitation_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ResendInvitationResponse(_message.Message):
    __slots__ = ("invitation",)
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    invitation: _invitation_pb2.Invitation
    def __init__(self, invitation: _Optional[_Union[_invitation_pb2.Invitation, _Mapping]] = ...) -> None: ...

class RevokeInvitationRequest(_message.Message):
    __slots__ = ("invitation_id", "request_id")
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    request_id: str
    def __init__(self, invitation_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RevokeInvitationResponse(_message.Message):
    __slots__ = ("invitation",)
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    invitation: _invitation_pb2.Invitation
    def __init__(self, invitation: _Optional[_Union[_invitation_pb2.Invitation, _Mapping]] = ...) -> None: ...

class UpdateInvitationRequest(_message.Message):
    __slots__ = ("invitation", "update_mask", "request_id")
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    invitation: _invitation_pb2.Invitation
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    def __init__(self, invitation: _Optional[_Union[_invitation_pb2.Invitation, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateInvitationResponse(_message.Message):
    __slots__ = ("invitation",)
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    invitation: _invitation_pb2.Invitation
    def __init__(self, invitation: _Optional[_Union[_invitation_pb2.Invitation, _Mapping]] = ...) -> None: ...

class PreviewInvitationRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class PreviewInvitationResponse(_message.Message):
    __slots__ = ("invitation_id", "account_name", "workspace_names", "all_workspaces", "inviter_display_name", "email", "message", "expire_time")
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_NAMES_FIELD_NUMBER: _ClassVar[int]
    ALL_WORKSPACES_FIELD_NUMBER: _ClassVar[int]
    INVITER_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    account_name: str
    workspace_names: _containers.RepeatedScalarFieldContainer[str]
    all_workspaces: bool
    inviter_display_name: str
    email: str
    message: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, invitation_id: _Optional[str] = ..., account_name: _Optional[str] = ..., workspace_names: _Optional[_Iterable[str]] = ..., all_workspaces: _Optional[bool] = ..., inviter_display_name: _Optional[str] = ..., email: _Optional[str] = ..., message: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AcceptInvitationRequest(_message.Message):
    __slots__ = ("token", "new_user", "session_token", "request_id")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    NEW_USER_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    token: str
    new_user: NewUser
    session_token: str
    request_id: str
    def __init__(self, token: _Optional[str] = ..., new_user: _Optional[_Union[NewUser, _Mapping]] = ..., session_token: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class NewUser(_message.Message):
    __slots__ = ("display_name", "password")
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    password: str
    def __init__(self, display_name: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class AcceptInvitationResponse(_message.Message):
    __slots__ = ("user_id", "members", "session_token", "session_expire_time", "invitation")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SESSION_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    members: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Member]
    session_token: str
    session_expire_time: _timestamp_pb2.Timestamp
    invitation: _invitation_pb2.Invitation
    def __init__(self, user_id: _Optional[str] = ..., members: _Optional[_Iterable[_Union[_membership_pb2.Member, _Mapping]]] = ..., session_token: _Optional[str] = ..., session_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., invitation: _Optional[_Union[_invitation_pb2.Invitation, _Mapping]] = ...) -> None: ...

class CountPendingInvitationsRequest(_message.Message):
    __slots__ = ("account_id", "workspace_ids")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_IDS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    workspace_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, account_id: _Optional[str] = ..., workspace_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CountPendingInvitationsResponse(_message.Message):
    __slots__ = ("counts",)
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[PendingInvitationCount]
    def __init__(self, counts: _Optional[_Iterable[_Union[PendingInvitationCount, _Mapping]]] = ...) -> None: ...

class PendingInvitationCount(_message.Message):
    __slots__ = ("workspace_id", "pending")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    pending: int
    def __init__(self, workspace_id: _Optional[str] = ..., pending: _Optional[int] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("account_id", "target_id", "actor_user_id", "start_time", "end_time", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    target_id: str
    actor_user_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., target_id: _Optional[str] = ..., actor_user_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("audit_events", "next_page_token")
    AUDIT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    audit_events: _containers.RepeatedCompositeFieldContainer[_audit_pb2.AuditEvent]
    next_page_token: str
    def __init__(self, audit_events: _Optional[_Iterable[_Union[_audit_pb2.AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
