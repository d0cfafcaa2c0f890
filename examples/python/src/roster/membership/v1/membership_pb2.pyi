import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from roster.custodian.v1 import custodian_service_pb2 as _custodian_service_pb2
from roster.type.v1 import bounds_pb2 as _bounds_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvitationScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVITATION_SCOPE_UNSPECIFIED: _ClassVar[InvitationScope]
    INVITATION_SCOPE_WORKSPACES: _ClassVar[InvitationScope]
    INVITATION_SCOPE_ACCOUNT: _ClassVar[InvitationScope]

class MemberKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBER_KIND_UNSPECIFIED: _ClassVar[MemberKind]
    MEMBER_KIND_HUMAN: _ClassVar[MemberKind]
    MEMBER_KIND_SERVICE: _ClassVar[MemberKind]

class MemberStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBER_STATUS_UNSPECIFIED: _ClassVar[MemberStatus]
    MEMBER_STATUS_ACTIVE: _ClassVar[MemberStatus]
    MEMBER_STATUS_SUSPENDED: _ClassVar[MemberStatus]
    MEMBER_STATUS_REMOVED: _ClassVar[MemberStatus]

class IdentityStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IDENTITY_STATUS_UNSPECIFIED: _ClassVar[IdentityStatus]
    IDENTITY_STATUS_ACTIVE: _ClassVar[IdentityStatus]
    IDENTITY_STATUS_DISABLED: _ClassVar[IdentityStatus]
    IDENTITY_STATUS_LOCKED: _ClassVar[IdentityStatus]

class CustomFieldType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CUSTOM_FIELD_TYPE_UNSPECIFIED: _ClassVar[CustomFieldType]
    CUSTOM_FIELD_TYPE_STRING: _ClassVar[CustomFieldType]
    CUSTOM_FIELD_TYPE_NUMBER: _ClassVar[CustomFieldType]
    CUSTOM_FIELD_TYPE_BOOLEAN: _ClassVar[CustomFieldType]
    CUSTOM_FIELD_TYPE_ONE_OF: _ClassVar[CustomFieldType]

class CustomFieldTarget(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CUSTOM_FIELD_TARGET_UNSPECIFIED: _ClassVar[CustomFieldTarget]
    CUSTOM_FIELD_TARGET_MEMBER: _ClassVar[CustomFieldTarget]
    CUSTOM_FIELD_TARGET_ACCOUNT: _ClassVar[CustomFieldTarget]

class AccessReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_REASON_UNSPECIFIED: _ClassVar[AccessReason]
    ACCESS_REASON_GRANTED_BY_ROLE: _ClassVar[AccessReason]
    ACCESS_REASON_ACCOUNT_ADMINISTRATOR: _ClassVar[AccessReason]
    ACCESS_REASON_PLATFORM_OPERATOR: _ClassVar[AccessReason]
    ACCESS_REASON_NOT_A_MEMBER: _ClassVar[AccessReason]
    ACCESS_REASON_MEMBER_SUSPENDED: _ClassVar[AccessReason]
    ACCESS_REASON_PERMISSION_NOT_GRANTED: _ClassVar[AccessReason]
    ACCESS_REASON_USER_DISABLED: _ClassVar[AccessReason]
    ACCESS_REASON_USER_LOCKED: _ClassVar[AccessReason]

class RemovalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REMOVAL_STATE_UNSPECIFIED: _ClassVar[RemovalState]
    REMOVAL_STATE_REMOVED: _ClassVar[RemovalState]
    REMOVAL_STATE_RESTORED: _ClassVar[RemovalState]
    REMOVAL_STATE_PURGING: _ClassVar[RemovalState]
    REMOVAL_STATE_PURGED: _ClassVar[RemovalState]

class RemovalStepVerb(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REMOVAL_STEP_VERB_UNSPECIFIED: _ClassVar[RemovalStepVerb]
    REMOVAL_STEP_VERB_TRANSFER: _ClassVar[RemovalStepVerb]
    REMOVAL_STEP_VERB_DELETE: _ClassVar[RemovalStepVerb]

class RemovalStepState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REMOVAL_STEP_STATE_UNSPECIFIED: _ClassVar[RemovalStepState]
    REMOVAL_STEP_STATE_PENDING: _ClassVar[RemovalStepState]
    REMOVAL_STEP_STATE_RUNNING: _ClassVar[RemovalStepState]
    REMOVAL_STEP_STATE_SUCCEEDED: _ClassVar[RemovalStepState]
    REMOVAL_STEP_STATE_FAILED: _ClassVar[RemovalStepState]
    REMOVAL_STEP_STATE_NEEDS_ACTION: _ClassVar[RemovalStepState]
    REMOVAL_STEP_STATE_CANCELLED: _ClassVar[RemovalStepState]

class AssetAccessReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSET_ACCESS_REASON_UNSPECIFIED: _ClassVar[AssetAccessReason]
    ASSET_ACCESS_REASON_OWNER: _ClassVar[AssetAccessReason]
    ASSET_ACCESS_REASON_ADMINISTRATOR_OF_SUSPENDED_OWNER: _ClassVar[AssetAccessReason]
    ASSET_ACCESS_REASON_ADMINISTRATOR_OF_REMOVED_OWNER: _ClassVar[AssetAccessReason]
    ASSET_ACCESS_REASON_OWNER_SUSPENDED: _ClassVar[AssetAccessReason]
    ASSET_ACCESS_REASON_OWNER_REMOVED: _ClassVar[AssetAccessReason]
    ASSET_ACCESS_REASON_OWNER_PURGED: _ClassVar[AssetAccessReason]
    ASSET_ACCESS_REASON_NOT_OWNER: _ClassVar[AssetAccessReason]
    ASSET_ACCESS_REASON_OWNER_NOT_A_MEMBER: _ClassVar[AssetAccessReason]
    ASSET_ACCESS_REASON_ACTOR_NOT_ALLOWED: _ClassVar[AssetAccessReason]
INVITATION_SCOPE_UNSPECIFIED: InvitationScope
INVITATION_SCOPE_WORKSPACES: InvitationScope
INVITATION_SCOPE_ACCOUNT: InvitationScope
MEMBER_KIND_UNSPECIFIED: MemberKind
MEMBER_KIND_HUMAN: MemberKind
MEMBER_KIND_SERVICE: MemberKind
MEMBER_STATUS_UNSPECIFIED: MemberStatus
MEMBER_STATUS_ACTIVE: MemberStatus
MEMBER_STATUS_SUSPENDED: MemberStatus
MEMBER_STATUS_REMOVED: MemberStatus
IDENTITY_STATUS_UNSPECIFIED: IdentityStatus
IDENTITY_STATUS_ACTIVE: IdentityStatus
IDENTITY_STATUS_DISABLED: IdentityStatus
IDENTITY_STATUS_LOCKED: IdentityStatus
CUSTOM_FIELD_TYPE_UNSPECIFIED: CustomFieldType
CUSTOM_FIELD_TYPE_STRING: CustomFieldType
CUSTOM_FIELD_TYPE_NUMBER: CustomFieldType
CUSTOM_FIELD_TYPE_BOOLEAN: CustomFieldType
CUSTOM_FIELD_TYPE_ONE_OF: CustomFieldType
CUSTOM_FIELD_TARGET_UNSPECIFIED: CustomFieldTarget
CUSTOM_FIELD_TARGET_MEMBER: CustomFieldTarget
CUSTOM_FIELD_TARGET_ACCOUNT: CustomFieldTarget
ACCESS_REASON_UNSPECIFIED: AccessReason
ACCESS_REASON_GRANTED_BY_ROLE: AccessReason
ACCESS_REASON_ACCOUNT_ADMINISTRATOR: AccessReason
ACCESS_REASON_PLATFORM_OPERATOR: AccessReason
ACCESS_REASON_NOT_A_MEMBER: AccessReason
ACCESS_REASON_MEMBER_SUSPENDED: AccessReason
ACCESS_REASON_PERMISSION_NOT_GRANTED: AccessReason
ACCESS_REASON_USER_DISABLED: AccessReason
ACCESS_REASON_USER_LOCKED: AccessReason
REMOVAL_STATE_UNSPECIFIED: RemovalState
REMOVAL_STATE_REMOVED: RemovalState
REMOVAL_STATE_RESTORED: RemovalState
REMOVAL_STATE_PURGING: RemovalState
REMOVAL_STATE_PURGED: RemovalState
REMOVAL_STEP_VERB_UNSPECIFIED: RemovalStepVerb
REMOVAL_STEP_VERB_TRANSFER: RemovalStepVerb
REMOVAL_STEP_VERB_DELETE: RemovalStepVerb
REMOVAL_STEP_STATE_UNSPECIFIED: RemovalStepState
REMOVAL_STEP_STATE_PENDING: RemovalStepState
REMOVAL_STEP_STATE_RUNNING: RemovalStepState
REMOVAL_STEP_STATE_SUCCEEDED: RemovalStepState
REMOVAL_STEP_STATE_FAILED: RemovalStepState
REMOVAL_STEP_STATE_NEEDS_ACTION: RemovalStepState
REMOVAL_STEP_STATE_CANCELLED: RemovalStepState
ASSET_ACCESS_REASON_UNSPECIFIED: AssetAccessReason
ASSET_ACCESS_REASON_OWNER: AssetAccessReason
ASSET_ACCESS_REASON_ADMINISTRATOR_OF_SUSPENDED_OWNER: AssetAccessReason
ASSET_ACCESS_REASON_ADMINISTRATOR_OF_REMOVED_OWNER: AssetAccessReason
ASSET_ACCESS_REASON_OWNER_SUSPENDED: AssetAccessReason
ASSET_ACCESS_REASON_OWNER_REMOVED: AssetAccessReason
ASSET_ACCESS_REASON_OWNER_PURGED: AssetAccessReason
ASSET_ACCESS_REASON_NOT_OWNER: AssetAccessReason
ASSET_ACCESS_REASON_OWNER_NOT_A_MEMBER: AssetAccessReason
ASSET_ACCESS_REASON_ACTOR_NOT_ALLOWED: AssetAccessReason

class Account(_message.Message):
    __slots__ = ("account_id", "name", "settings", "administrator_user_ids", "custom_field_values", "create_time", "update_time", "etag", "seat_allowance", "seat_allowance_used")
    class CustomFieldValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    ADMINISTRATOR_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_VALUES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    SEAT_ALLOWANCE_FIELD_NUMBER: _ClassVar[int]
    SEAT_ALLOWANCE_USED_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    name: str
    settings: AccountSettings
    administrator_user_ids: _containers.RepeatedScalarFieldContainer[str]
    custom_field_values: _containers.MessageMap[str, _struct_pb2.Value]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    seat_allowance: int
    seat_allowance_used: int
    def __init__(self, account_id: _Optional[str] = ..., name: _Optional[str] = ..., settings: _Optional[_Union[AccountSettings, _Mapping]] = ..., administrator_user_ids: _Optional[_Iterable[str]] = ..., custom_field_values: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., seat_allowance: _Optional[int] = ..., seat_allowance_used: _Optional[int] = ...) -> None: ...

class AccountSettings(_message.Message):
    __slots__ = ("invitation_lifetime", "allowed_email_domains", "impersonation_window", "restore_window", "self_service_password_reset", "invitation_scope")
    INVITATION_LIFETIME_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_EMAIL_DOMAINS_FIELD_NUMBER: _ClassVar[int]
    IMPERSONATION_WINDOW_FIELD_NUMBER: _ClassVar[int]
    RESTORE_WINDOW_FIELD_NUMBER: _ClassVar[int]
    SELF_SERVICE_PASSWORD_RESET_FIELD_NUMBER: _ClassVar[int]
    INVITATION_SCOPE_FIELD_NUMBER: _ClassVar[int]
    invitation_lifetime: _duration_pb2.Duration
    allowed_email_domains: _containers.RepeatedScalarFieldContainer[str]
    impersonation_window: _duration_pb2.Duration
    restore_window: _duration_pb2.Duration
    self_service_password_reset: bool
    invitation_scope: InvitationScope
    def __init__(self, invitation_lifetime: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., allowed_email_domains: _Optional[_Iterable[str]] = ..., impersonation_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., restore_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., self_service_password_reset: _Optional[bool] = ..., invitation_scope: _Optional[_Union[InvitationScope, str]] = ...) -> None: ...

class Workspace(_message.Message):
    __slots__ = ("workspace_id", "account_id", "name", "seat_limit", "default_role_id", "create_time", "update_time", "etag")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEAT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_ROLE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    account_id: str
    name: str
    seat_limit: int
    default_role_id: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, workspace_id: _Optional[str] = ..., account_id: _Optional[str] = ..., name: _Optional[str] = ..., seat_limit: _Optional[int] = ..., default_role_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class SeatUsage(_message.Message):
    __slots__ = ("workspace_id", "used", "limit", "available", "pending_invitations", "invitable", "held")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    PENDING_INVITATIONS_FIELD_NUMBER: _ClassVar[int]
    INVITABLE_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    used: int
    limit: int
    available: int
    pending_invitations: int
    invitable: int
    held: int
    def __init__(self, workspace_id: _Optional[str] = ..., used: _Optional[int] = ..., limit: _Optional[int] = ..., available: _Optional[int] = ..., pending_invitations: _Optional[int] = ..., invitable: _Optional[int] = ..., held: _Optional[int] = ...) -> None: ...

class Role(_message.Message):
    __slots__ = ("role_id", "account_id", "name", "description", "permissions", "built_in", "create_time", "update_time")
    ROLE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    BUILT_IN_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    role_id: str
    account_id: str
    name: str
    description: str
    permissions: _containers.RepeatedScalarFieldContainer[str]
    built_in: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, role_id: _Optional[str] = ..., account_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., permissions: _Optional[_Iterable[str]] = ..., built_in: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Permission(_message.Message):
    __slots__ = ("name", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class Member(_message.Message):
    __slots__ = ("workspace_id", "account_id", "user_id", "kind", "email", "display_name", "identity_status", "status", "role_ids", "join_time", "suspend_time", "remove_time", "purge_time", "transfer_to_user_id", "custom_field_values", "update_time", "email_verified", "email_verify_time")
    class CustomFieldValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ROLE_IDS_FIELD_NUMBER: _ClassVar[int]
    JOIN_TIME_FIELD_NUMBER: _ClassVar[int]
    SUSPEND_TIME_FIELD_NUMBER: _ClassVar[int]
    REMOVE_TIME_FIELD_NUMBER: _ClassVar[int]
    PURGE_TIME_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_TO_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_VALUES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    EMAIL_VERIFY_TIME_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    account_id: str
    user_id: str
    kind: MemberKind
    email: str
    display_name: str
    identity_status: IdentityStatus
    status: MemberStatus
    role_ids: _containers.RepeatedScalarFieldContainer[str]
    join_time: _timestamp_pb2.Timestamp
    suspend_time: _timestamp_pb2.Timestamp
    remove_time: _timestamp_pb2.Timestamp
    purge_time: _timestamp_pb2.Timestamp
    transfer_to_user_id: str
    custom_field_values: _containers.MessageMap[str, _struct_pb2.Value]
    update_time: _timestamp_pb2.Timestamp
    email_verified: bool
    email_verify_time: _timestamp_pb2.Timestamp
    def __init__(self, workspace_id: _Optional[str] = ..., account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., kind: _Optional[_Union[MemberKind, str]] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ..., identity_status: _Optional[_Union[IdentityStatus, str]] = ..., status: _Optional[_Union[MemberStatus, str]] = ..., role_ids: _Optional[_Iterable[str]] = ..., join_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., suspend_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., remove_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., purge_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., transfer_to_user_id: _Optional[str] = ..., custom_field_values: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., email_verified: _Optional[bool] = ..., email_verify_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UserMembership(_message.Message):
    __slots__ = ("account_id", "account_name", "workspace_id", "workspace_name", "status", "role_ids", "account_administrator")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ROLE_IDS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ADMINISTRATOR_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    account_name: str
    workspace_id: str
    workspace_name: str
    status: MemberStatus
    role_ids: _containers.RepeatedScalarFieldContainer[str]
    account_administrator: bool
    def __init__(self, account_id: _Optional[str] = ..., account_name: _Optional[str] = ..., workspace_id: _Optional[str] = ..., workspace_name: _Optional[str] = ..., status: _Optional[_Union[MemberStatus, str]] = ..., role_ids: _Optional[_Iterable[str]] = ..., account_administrator: _Optional[bool] = ...) -> None: ...

class CustomField(_message.Message):
    __slots__ = ("account_id", "key", "label", "type", "options", "target", "required", "create_time")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    key: str
    label: str
    type: CustomFieldType
    options: _containers.RepeatedScalarFieldContainer[str]
    target: CustomFieldTarget
    required: bool
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., key: _Optional[str] = ..., label: _Optional[str] = ..., type: _Optional[_Union[CustomFieldType, str]] = ..., options: _Optional[_Iterable[str]] = ..., target: _Optional[_Union[CustomFieldTarget, str]] = ..., required: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Custodian(_message.Message):
    __slots__ = ("custodian_id", "name", "url", "description", "create_time", "update_time")
    CUSTODIAN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    custodian_id: str
    name: str
    url: str
    description: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, custodian_id: _Optional[str] = ..., name: _Optional[str] = ..., url: _Optional[str] = ..., description: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Removal(_message.Message):
    __slots__ = ("removal_id", "account_id", "workspace_id", "user_id", "receiver_user_id", "removed_by_user_id", "state", "needs_action", "steps", "create_time", "purge_time", "finish_time")
    REMOVAL_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REMOVED_BY_USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NEEDS_ACTION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PURGE_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    removal_id: str
    account_id: str
    workspace_id: str
    user_id: str
    receiver_user_id: str
    removed_by_user_id: str
    state: RemovalState
    needs_action: bool
    steps: _containers.RepeatedCompositeFieldContainer[RemovalStep]
    create_time: _timestamp_pb2.Timestamp
    purge_time: _timestamp_pb2.Timestamp
    finish_time: _timestamp_pb2.Timestamp
    def __init__(self, removal_id: _Optional[str] = ..., account_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., user_id: _Optional[str] = ..., receiver_user_id: _Optional[str] = ..., removed_by_user_id: _Optional[str] = ..., state: _Optional[_Union[RemovalState, str]] = ..., needs_action: _Optional[bool] = ..., steps: _Optional[_Iterable[_Union[RemovalStep, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., purge_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RemovalStep(_message.Message):
    __slots__ = ("custodian_id", "custodian_name", "verb", "state", "operation_id", "attempts", "last_error", "next_attempt_time", "done", "total", "completed", "failures", "failed_count", "update_time")
    CUSTODIAN_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTODIAN_NAME_FIELD_NUMBER: _ClassVar[int]
    VERB_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    custodian_id: str
    custodian_name: str
    verb: RemovalStepVerb
    state: RemovalStepState
    operation_id: str
    attempts: int
    last_error: str
    next_attempt_time: _timestamp_pb2.Timestamp
    done: int
    total: int
    completed: _containers.RepeatedCompositeFieldContainer[_custodian_service_pb2.AssetCount]
    failures: _containers.RepeatedCompositeFieldContainer[_custodian_service_pb2.ItemFailure]
    failed_count: int
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, custodian_id: _Optional[str] = ..., custodian_name: _Optional[str] = ..., verb: _Optional[_Union[RemovalStepVerb, str]] = ..., state: _Optional[_Union[RemovalStepState, str]] = ..., operation_id: _Optional[str] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., completed: _Optional[_Iterable[_Union[_custodian_service_pb2.AssetCount, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[_custodian_service_pb2.ItemFailure, _Mapping]]] = ..., failed_count: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CustodianHoldings(_message.Message):
    __slots__ = ("custodian_id", "custodian_name", "assets", "blockers", "error")
    CUSTODIAN_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTODIAN_NAME_FIELD_NUMBER: _ClassVar[int]
    ASSETS_FIELD_NUMBER: _ClassVar[int]
    BLOCKERS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    custodian_id: str
    custodian_name: str
    assets: _containers.RepeatedCompositeFieldContainer[_custodian_service_pb2.AssetCount]
    blockers: _containers.RepeatedCompositeFieldContainer[_custodian_service_pb2.Blocker]
    error: str
    def __init__(self, custodian_id: _Optional[str] = ..., custodian_name: _Optional[str] = ..., assets: _Optional[_Iterable[_Union[_custodian_service_pb2.AssetCount, _Mapping]]] = ..., blockers: _Optional[_Iterable[_Union[_custodian_service_pb2.Blocker, _Mapping]]] = ..., error: _Optional[str] = ...) -> None: ...
