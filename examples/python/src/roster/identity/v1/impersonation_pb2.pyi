import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImpersonationGrantState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPERSONATION_GRANT_STATE_UNSPECIFIED: _ClassVar[ImpersonationGrantState]
    IMPERSONATION_GRANT_STATE_PENDING: _ClassVar[ImpersonationGrantState]
    IMPERSONATION_GRANT_STATE_APPROVED: _ClassVar[ImpersonationGrantState]
    IMPERSONATION_GRANT_STATE_DENIED: _ClassVar[ImpersonationGrantState]
    IMPERSONATION_GRANT_STATE_REVOKED: _ClassVar[ImpersonationGrantState]
    IMPERSONATION_GRANT_STATE_EXPIRED: _ClassVar[ImpersonationGrantState]
IMPERSONATION_GRANT_STATE_UNSPECIFIED: ImpersonationGrantState
IMPERSONATION_GRANT_STATE_PENDING: ImpersonationGrantState
IMPERSONATION_GRANT_STATE_APPROVED: ImpersonationGrantState
IMPERSONATION_GRANT_STATE_DENIED: ImpersonationGrantState
IMPERSONATION_GRANT_STATE_REVOKED: ImpersonationGrantState
IMPERSONATION_GRANT_STATE_EXPIRED: ImpersonationGrantState

class ImpersonationGrant(_message.Message):
    __slots__ = ("grant_id", "user_id", "requester_user_id", "reason", "duration", "state", "automatic", "create_time", "answer_deadline", "decide_time", "expire_time", "revoke_time", "revoker_user_id")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AUTOMATIC_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ANSWER_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    user_id: str
    requester_user_id: str
    reason: str
    duration: _duration_pb2.Duration
    state: ImpersonationGrantState
    automatic: bool
    create_time: _timestamp_pb2.Timestamp
    answer_deadline: _timestamp_pb2.Timestamp
    decide_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    revoker_user_id: str
    def __init__(self, grant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., requester_user_id: _Optional[str] = ..., reason: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., state: _Optional[_Union[ImpersonationGrantState, str]] = ..., automatic: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., answer_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoker_user_id: _Optional[str] = ...) -> None: ...

class ImpersonationSession(_message.Message):
    __slots__ = ("session_id", "grant_id", "user_id", "impersonator_user_id", "start_time", "expire_time", "end_time")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    IMPERSONATOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    grant_id: str
    user_id: str
    impersonator_user_id: str
    start_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, session_id: _Optional[str] = ..., grant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., impersonator_user_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
