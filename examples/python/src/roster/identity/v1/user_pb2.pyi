import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from roster.type.v1 import bounds_pb2 as _bounds_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USER_KIND_UNSPECIFIED: _ClassVar[UserKind]
    USER_KIND_HUMAN: _ClassVar[UserKind]
    USER_KIND_SERVICE: _ClassVar[UserKind]

class UserStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USER_STATUS_UNSPECIFIED: _ClassVar[UserStatus]
    USER_STATUS_ACTIVE: _ClassVar[UserStatus]
    USER_STATUS_DISABLED: _ClassVar[UserStatus]
    USER_STATUS_LOCKED: _ClassVar[UserStatus]

class PlatformRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLATFORM_ROLE_UNSPECIFIED: _ClassVar[PlatformRole]
    PLATFORM_ROLE_USER: _ClassVar[PlatformRole]
    PLATFORM_ROLE_OPERATOR: _ClassVar[PlatformRole]
USER_KIND_UNSPECIFIED: UserKind
USER_KIND_HUMAN: UserKind
USER_KIND_SERVICE: UserKind
USER_STATUS_UNSPECIFIED: UserStatus
USER_STATUS_ACTIVE: UserStatus
USER_STATUS_DISABLED: UserStatus
USER_STATUS_LOCKED: UserStatus
PLATFORM_ROLE_UNSPECIFIED: PlatformRole
PLATFORM_ROLE_USER: PlatformRole
PLATFORM_ROLE_OPERATOR: PlatformRole

class User(_message.Message):
    __slots__ = ("user_id", "kind", "email", "display_name", "phone", "description", "platform_role", "status", "lock_expire_time", "has_password", "password_change_required", "pending_email", "create_time", "update_time", "etag", "email_verified", "email_verify_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ROLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LOCK_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    HAS_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_CHANGE_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    PENDING_EMAIL_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    EMAIL_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    EMAIL_VERIFY_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    kind: UserKind
    email: str
    display_name: str
    phone: str
    description: str
    platform_role: PlatformRole
    status: UserStatus
    lock_expire_time: _timestamp_pb2.Timestamp
    has_password: bool
    password_change_required: bool
    pending_email: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    email_verified: bool
    email_verify_time: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., kind: _Optional[_Union[UserKind, str]] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ..., phone: _Optional[str] = ..., description: _Optional[str] = ..., platform_role: _Optional[_Union[PlatformRole, str]] = ..., status: _Optional[_Union[UserStatus, str]] = ..., lock_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., has_password: _Optional[bool] = ..., password_change_required: _Optional[bool] = ..., pending_email: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., email_verified: _Optional[bool] = ..., email_verify_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApiKey(_message.Message):
    __slots__ = ("api_key_id", "user_id", "display_name", "secret_prefix", "create_time", "expire_time", "revoke_time")
    API_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SECRET_PREFIX_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    api_key_id: str
    user_id: str
    display_name: str
    secret_prefix: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, api_key_id: _Optional[str] = ..., user_id: _Optional[str] = ..., display_name: _Optional[str] = ..., secret_prefix: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Principal(_message.Message):
    __slots__ = ("user_id", "kind", "platform_role", "impersonator_user_id", "email", "session_id", "api_key_id", "expire_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ROLE_FIELD_NUMBER: _ClassVar[int]
    IMPERSONATOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    kind: UserKind
    platform_role: PlatformRole
    impersonator_user_id: str
    email: str
    session_id: str
    api_key_id: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., kind: _Optional[_Union[UserKind, str]] = ..., platform_role: _Optional[_Union[PlatformRole, str]] = ..., impersonator_user_id: _Optional[str] = ..., email: _Optional[str] = ..., session_id: _Optional[str] = ..., api_key_id: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UserChange(_message.Message):
    __slots__ = ("sequence", "user")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    user: User
    def __init__(self, sequence: _Optional[int] = ..., user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...
