import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from roster.type.v1 import error_reason_pb2 as _error_reason_pb2
from roster.type.v1 import bounds_pb2 as _bounds_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvitationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVITATION_STATE_UNSPECIFIED: _ClassVar[InvitationState]
    INVITATION_STATE_PENDING: _ClassVar[InvitationState]
    INVITATION_STATE_EXPIRED: _ClassVar[InvitationState]
    INVITATION_STATE_REVOKED: _ClassVar[InvitationState]
    INVITATION_STATE_ACCEPTED: _ClassVar[InvitationState]
INVITATION_STATE_UNSPECIFIED: InvitationState
INVITATION_STATE_PENDING: InvitationState
INVITATION_STATE_EXPIRED: InvitationState
INVITATION_STATE_REVOKED: InvitationState
INVITATION_STATE_ACCEPTED: InvitationState

class Invitation(_message.Message):
    __slots__ = ("invitation_id", "account_id", "workspace_ids", "all_workspaces", "email", "role_ids", "message", "state", "inviter_user_id", "create_time", "expire_time", "last_send_time", "send_count", "accepted_user_id", "accept_time", "revoke_time")
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_WORKSPACES_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ROLE_IDS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    INVITER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    SEND_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    account_id: str
    workspace_ids: _containers.RepeatedScalarFieldContainer[str]
    all_workspaces: bool
    email: str
    role_ids: _containers.RepeatedScalarFieldContainer[str]
    message: str
    state: InvitationState
    inviter_user_id: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    last_send_time: _timestamp_pb2.Timestamp
    send_count: int
    accepted_user_id: str
    accept_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, invitation_id: _Optional[str] = ..., account_id: _Optional[str] = ..., workspace_ids: _Optional[_Iterable[str]] = ..., all_workspaces: _Optional[bool] = ..., email: _Optional[str] = ..., role_ids: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., state: _Optional[_Union[InvitationState, str]] = ..., inviter_user_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., send_count: _Optional[int] = ..., accepted_user_id: _Optional[str] = ..., accept_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class InviteResult(_message.Message):
    __slots__ = ("email", "invitation", "refusal_reason", "refusal_message", "refusal_workspace_id")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_REASON_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    email: str
    invitation: Invitation
    refusal_reason: _error_reason_pb2.ErrorReason
    refusal_message: str
    refusal_workspace_id: str
    def __init__(self, email: _Optional[str] = ..., invitation: _Optional[_Union[Invitation, _Mapping]] = ..., refusal_reason: _Optional[_Union[_error_reason_pb2.ErrorReason, str]] = ..., refusal_message: _Optional[str] = ..., refusal_workspace_id: _Optional[str] = ...) -> None: ...
