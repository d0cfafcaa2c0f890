import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from roster.membership.v1 import membership_pb2 as _membership_pb2
from roster.type.v1 import audit_pb2 as _audit_pb2
from roster.type.v1 import bounds_pb2 as _bounds_pb2
from roster.type.v1 import error_reason_pb2 as _error_reason_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateAccountRequest(_message.Message):
    __slots__ = ("name", "settings", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    settings: _membership_pb2.AccountSettings
    request_id: str
    def __init__(self, name: _Optional[str] = ..., settings: _Optional[_Union[_membership_pb2.AccountSettings, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _membership_pb2.Account
    def __init__(self, account: _Optional[_Union[_membership_pb2.Account, _Mapping]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _membership_pb2.Account
    def __init__(self, account: _Optional[_Union[_membership_pb2.Account, _Mapping]] = ...) -> None: ...

class ListAccountsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "query")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    query: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., query: _Optional[str] = ...) -> None: ...

class ListAccountsResponse(_message.Message):
    __slots__ = ("accounts", "next_page_token")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Account]
    next_page_token: str
    def __init__(self, accounts: _Optional[_Iterable[_Union[_membership_pb2.Account, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAccountRequest(_message.Message):
    __slots__ = ("account", "update_mask", "request_id")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account: _membership_pb2.Account
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    def __init__(self, account: _Optional[_Union[_membership_pb2.Account, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _membership_pb2.Account
    def __init__(self, account: _Optional[_Union[_membership_pb2.Account, _Mapping]] = ...) -> None: ...

class AddAccountAdministratorRequest(_message.Message):
    __slots__ = ("account_id", "user_id", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    user_id: str
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AddAccountAdministratorResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _membership_pb2.Account
    def __init__(self, account: _Optional[_Union[_membership_pb2.Account, _Mapping]] = ...) -> None: ...

class RemoveAccountAdministratorRequest(_message.Message):
    __slots__ = ("account_id", "user_id", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    user_id: str
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RemoveAccountAdministratorResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _membership_pb2.Account
    def __init__(self, account: _Optional[_Union[_membership_pb2.Account, _Mapping]] = ...) -> None: ...

class CreateWorkspaceRequest(_message.Message):
    __slots__ = ("account_id", "name", "seat_limit", "default_role_id", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEAT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_ROLE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    name: str
    seat_limit: int
    default_role_id: str
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., name: _Optional[str] = ..., seat_limit: _Optional[int] = ..., default_role_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateWorkspaceResponse(_message.Message):
    __slots__ = ("workspace",)
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    workspace: _membership_pb2.Workspace
    def __init__(self, workspace: _Optional[_Union[_membership_pb2.Workspace, _Mapping]] = ...) -> None: ...

class GetWorkspaceRequest(_message.Message):
    __slots__ = ("workspace_id",)
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    def __init__(self, workspace_id: _Optional[str] = ...) -> None: ...

class GetWorkspaceResponse(_message.Message):
    __slots__ = ("workspace",)
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    workspace: _membership_pb2.Workspace
    def __init__(self, workspace: _Optional[_Union[_membership_pb2.Workspace, _Mapping]] = ...) -> None: ...

class ListWorkspacesRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorkspacesResponse(_message.Message):
    __slots__ = ("workspaces", "next_page_token")
    WORKSPACES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    workspaces: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Workspace]
    next_page_token: str
    def __init__(self, workspaces: _Optional[_Iterable[_Union[_membership_pb2.Workspace, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateWorkspaceRequest(_message.Message):
    __slots__ = ("workspace", "update_mask", "request_id")
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    workspace: _membership_pb2.Workspace
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    def __init__(self, workspace: _Optional[_Union[_membership_pb2.Workspace, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateWorkspaceResponse(_message.Message):
    __slots__ = ("workspace",)
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    workspace: _membership_pb2.Workspace
    def __init__(self, workspace: _Optional[_Union[_membership_pb2.Workspace, _Mapping]] = ...) -> None: ...

class GetSeatUsageRequest(_message.Message):
    __slots__ = ("workspace_id",)
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    def __init__(self, workspace_id: _Optional[str] = ...) -> None: ...

class GetSeatUsageResponse(_message.Message):
    __slots__ = ("seat_usage",)
    SEAT_USAGE_FIELD_NUMBER: _ClassVar[int]
    seat_usage: _membership_pb2.SeatUsage
    def __init__(self, seat_usage: _Optional[_Union[_membership_pb2.SeatUsage, _Mapping]] = ...) -> None: ...

class CreateRoleRequest(_message.Message):
    __slots__ = ("account_id", "name", "description", "permissions", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    name: str
    description: str
    permissions: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., permissions: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateRoleResponse(_message.Message):
    __slots__ = ("role",)
    ROLE_FIELD_NUMBER: _ClassVar[int]
    role: _membership_pb2.Role
    def __init__(self, role: _Optional[_Union[_membership_pb2.Role, _Mapping]] = ...) -> None: ...

class UpdateRoleRequest(_message.Message):
    __slots__ = ("role", "update_mask", "request_id")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    role: _membership_pb2.Role
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    def __init__(self, role: _Optional[_Union[_membership_pb2.Role, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateRoleResponse(_message.Message):
    __slots__ = ("role",)
    ROLE_FIELD_NUMBER: _ClassVar[int]
    role: _membership_pb2.Role
    def __init__(self, role: _Optional[_Union[_membership_pb2.Role, _Mapping]] = ...) -> None: ...

class DeleteRoleRequest(_message.Message):
    __slots__ = ("role_id", "request_id")
    ROLE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    role_id: str
    request_id: str
    def __init__(self, role_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteRoleResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRolesRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class ListRolesResponse(_message.Message):
    __slots__ = ("roles",)
    ROLES_FIELD_NUMBER: _ClassVar[int]
    roles: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Role]
    def __init__(self, roles: _Optional[_Iterable[_Union[_membership_pb2.Role, _Mapping]]] = ...) -> None: ...

class ListPermissionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPermissionsResponse(_message.Message):
    __slots__ = ("permissions",)
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    permissions: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Permission]
    def __init__(self, permissions: _Optional[_Iterable[_Union[_membership_pb2.Permission, _Mapping]]] = ...) -> None: ...

class AddMemberRequest(_message.Message):
    __slots__ = ("account_id", "workspace_ids", "all_workspaces", "user_id", "role_ids", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_WORKSPACES_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    workspace_ids: _containers.RepeatedScalarFieldContainer[str]
    all_workspaces: bool
    user_id: str
    role_ids: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., workspace_ids: _Optional[_Iterable[str]] = ..., all_workspaces: _Optional[bool] = ..., user_id: _Optional[str] = ..., role_ids: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class AddMemberResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Member]
    def __init__(self, members: _Optional[_Iterable[_Union[_membership_pb2.Member, _Mapping]]] = ...) -> None: ...

class HoldSeatsRequest(_message.Message):
    __slots__ = ("hold_id", "account_id", "workspace_ids", "all_workspaces", "user_id", "ttl")
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_WORKSPACES_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    account_id: str
    workspace_ids: _containers.RepeatedScalarFieldContainer[str]
    all_workspaces: bool
    user_id: str
    ttl: _duration_pb2.Duration
    def __init__(self, hold_id: _Optional[str] = ..., account_id: _Optional[str] = ..., workspace_ids: _Optional[_Iterable[str]] = ..., all_workspaces: _Optional[bool] = ..., user_id: _Optional[str] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class HoldSeatsResponse(_message.Message):
    __slots__ = ("expire_time",)
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReleaseSeatsRequest(_message.Message):
    __slots__ = ("hold_id",)
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    def __init__(self, hold_id: _Optional[str] = ...) -> None: ...

class ReleaseSeatsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetMemberRequest(_message.Message):
    __slots__ = ("workspace_id", "user_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    user_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class GetMemberResponse(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: _membership_pb2.Member
    def __init__(self, member: _Optional[_Union[_membership_pb2.Member, _Mapping]] = ...) -> None: ...

class ListMembersRequest(_message.Message):
    __slots__ = ("workspace_id", "page_size", "page_token", "kind", "statuses", "role_id", "query", "order_by")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    ROLE_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    page_size: int
    page_token: str
    kind: _membership_pb2.MemberKind
    statuses: _containers.RepeatedScalarFieldContainer[_membership_pb2.MemberStatus]
    role_id: str
    query: str
    order_by: str
    def __init__(self, workspace_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., kind: _Optional[_Union[_membership_pb2.MemberKind, str]] = ..., statuses: _Optional[_Iterable[_Union[_membership_pb2.MemberStatus, str]]] = ..., role_id: _Optional[str] = ..., query: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListMembersResponse(_message.Message):
    __slots__ = ("members", "next_page_token")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Member]
    next_page_token: str
    def __init__(self, members: _Optional[_Iterable[_Union[_membership_pb2.Member, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateMemberRolesRequest(_message.Message):
    __slots__ = ("workspace_id", "user_id", "role_ids", "request_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    user_id: str
    role_ids: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., user_id: _Optional[str] = ..., role_ids: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateMemberRolesResponse(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: _membership_pb2.Member
    def __init__(self, member: _Optional[_Union[_membership_pb2.Member, _Mapping]] = ...) -> None: ...

class SuspendMemberRequest(_message.Message):
    __slots__ = ("workspace_id", "user_id", "request_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    user_id: str
    request_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class SuspendMemberResponse(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: _membership_pb2.Member
    def __init__(self, member: _Optional[_Union[_membership_pb2.Member, _Mapping]] = ...) -> None: ...

class ResumeMemberRequest(_message.Message):
    __slots__ = ("workspace_id", "user_id", "request_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    user_id: str
    request_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ResumeMemberResponse(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: _membership_pb2.Member
    def __init__(self, member: _Optional[_Union[_membership_pb2.Member, _Mapping]] = ...) -> None: ...

class RemoveMemberRequest(_message.Message):
    __slots__ = ("workspace_id", "user_id", "transfer_to_user_id", "request_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_TO_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    user_id: str
    transfer_to_user_id: str
    request_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., user_id: _Optional[str] = ..., transfer_to_user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RemoveMemberResponse(_message.Message):
    __slots__ = ("member", "removal")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    REMOVAL_FIELD_NUMBER: _ClassVar[int]
    member: _membership_pb2.Member
    removal: _membership_pb2.Removal
    def __init__(self, member: _Optional[_Union[_membership_pb2.Member, _Mapping]] = ..., removal: _Optional[_Union[_membership_pb2.Removal, _Mapping]] = ...) -> None: ...

class RemoveAccountMemberRequest(_message.Message):
    __slots__ = ("account_id", "user_id", "transfer_to_user_id", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_TO_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    user_id: str
    transfer_to_user_id: str
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., transfer_to_user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RemoveAccountMemberResponse(_message.Message):
    __slots__ = ("members", "removals")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    REMOVALS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Member]
    removals: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Removal]
    def __init__(self, members: _Optional[_Iterable[_Union[_membership_pb2.Member, _Mapping]]] = ..., removals: _Optional[_Iterable[_Union[_membership_pb2.Removal, _Mapping]]] = ...) -> None: ...

class PreviewRemovalRequest(_message.Message):
    __slots__ = ("workspace_id", "user_id", "transfer_to_user_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_TO_USER_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    user_id: str
    transfer_to_user_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., user_id: _Optional[str] = ..., transfer_to_user_id: _Optional[str] = ...) -> None: ...

class PreviewRemovalResponse(_message.Message):
    __slots__ = ("custodians",)
    CUSTODIANS_FIELD_NUMBER: _ClassVar[int]
    custodians: _containers.RepeatedCompositeFieldContainer[_membership_pb2.CustodianHoldings]
    def __init__(self, custodians: _Optional[_Iterable[_Union[_membership_pb2.CustodianHoldings, _Mapping]]] = ...) -> None: ...

class GetRemovalRequest(_message.Message):
    __slots__ = ("removal_id",)
    REMOVAL_ID_FIELD_NUMBER: _ClassVar[int]
    removal_id: str
    def __init__(self, removal_id: _Optional[str] = ...) -> None: ...

class GetRemovalResponse(_message.Message):
    __slots__ = ("removal",)
    REMOVAL_FIELD_NUMBER: _ClassVar[int]
    removal: _membership_pb2.Removal
    def __init__(self, removal: _Optional[_Union[_membership_pb2.Removal, _Mapping]] = ...) -> None: ...

class ListRemovalsRequest(_message.Message):
    __slots__ = ("account_id", "workspace_id", "user_id", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    workspace_id: str
    user_id: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRemovalsResponse(_message.Message):
    __slots__ = ("removals", "next_page_token")
    REMOVALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    removals: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Removal]
    next_page_token: str
    def __init__(self, removals: _Optional[_Iterable[_Union[_membership_pb2.Removal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RetryRemovalRequest(_message.Message):
    __slots__ = ("removal_id", "request_id")
    REMOVAL_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    removal_id: str
    request_id: str
    def __init__(self, removal_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RetryRemovalResponse(_message.Message):
    __slots__ = ("removal",)
    REMOVAL_FIELD_NUMBER: _ClassVar[int]
    removal: _membership_pb2.Removal
    def __init__(self, removal: _Optional[_Union[_membership_pb2.Removal, _Mapping]] = ...) -> None: ...

class RestoreMemberRequest(_message.Message):
    __slots__ = ("workspace_id", "user_id", "request_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    user_id: str
    request_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RestoreMemberResponse(_message.Message):
    __slots__ = ("member", "removal")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    REMOVAL_FIELD_NUMBER: _ClassVar[int]
    member: _membership_pb2.Member
    removal: _membership_pb2.Removal
    def __init__(self, member: _Optional[_Union[_membership_pb2.Member, _Mapping]] = ..., removal: _Optional[_Union[_membership_pb2.Removal, _Mapping]] = ...) -> None: ...

class PurgeMemberRequest(_message.Message):
    __slots__ = ("workspace_id", "user_id", "request_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    user_id: str
    request_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class PurgeMemberResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListUserMembershipsRequest(_message.Message):
    __slots__ = ("user_id", "show_removed")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SHOW_REMOVED_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    show_removed: bool
    def __init__(self, user_id: _Optional[str] = ..., show_removed: _Optional[bool] = ...) -> None: ...

class ListUserMembershipsResponse(_message.Message):
    __slots__ = ("memberships",)
    MEMBERSHIPS_FIELD_NUMBER: _ClassVar[int]
    memberships: _containers.RepeatedCompositeFieldContainer[_membership_pb2.UserMembership]
    def __init__(self, memberships: _Optional[_Iterable[_Union[_membership_pb2.UserMembership, _Mapping]]] = ...) -> None: ...

class CheckPermissionRequest(_message.Message):
    __slots__ = ("user_id", "workspace_id", "permission")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    workspace_id: str
    permission: str
    def __init__(self, user_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., permission: _Optional[str] = ...) -> None: ...

class CheckPermissionResponse(_message.Message):
    __slots__ = ("allowed", "reason")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    reason: _membership_pb2.AccessReason
    def __init__(self, allowed: _Optional[bool] = ..., reason: _Optional[_Union[_membership_pb2.AccessReason, str]] = ...) -> None: ...

class BatchCheckPermissionRequest(_message.Message):
    __slots__ = ("checks",)
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    checks: _containers.RepeatedCompositeFieldContainer[CheckPermissionRequest]
    def __init__(self, checks: _Optional[_Iterable[_Union[CheckPermissionRequest, _Mapping]]] = ...) -> None: ...

class BatchCheckPermissionResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CheckPermissionResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[CheckPermissionResponse, _Mapping]]] = ...) -> None: ...

class DefineCustomFieldRequest(_message.Message):
    __slots__ = ("field", "request_id")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    field: _membership_pb2.CustomField
    request_id: str
    def __init__(self, field: _Optional[_Union[_membership_pb2.CustomField, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DefineCustomFieldResponse(_message.Message):
    __slots__ = ("field",)
    FIELD_FIELD_NUMBER: _ClassVar[int]
    field: _membership_pb2.CustomField
    def __init__(self, field: _Optional[_Union[_membership_pb2.CustomField, _Mapping]] = ...) -> None: ...

class ListCustomFieldsRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class ListCustomFieldsResponse(_message.Message):
    __slots__ = ("fields",)
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.RepeatedCompositeFieldContainer[_membership_pb2.CustomField]
    def __init__(self, fields: _Optional[_Iterable[_Union[_membership_pb2.CustomField, _Mapping]]] = ...) -> None: ...

class SetCustomFieldValuesRequest(_message.Message):
    __slots__ = ("account_id", "user_id", "values", "request_id")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    user_id: str
    values: _containers.MessageMap[str, _struct_pb2.Value]
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., values: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetCustomFieldValuesResponse(_message.Message):
    __slots__ = ("values",)
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.MessageMap[str, _struct_pb2.Value]
    def __init__(self, values: _Optional[_Mapping[str, _struct_pb2.Value]] = ...) -> None: ...

class CheckUserAdministrationRequest(_message.Message):
    __slots__ = ("administrator_user_id", "user_id")
    ADMINISTRATOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    administrator_user_id: str
    user_id: str
    def __init__(self, administrator_user_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class CheckUserAdministrationResponse(_message.Message):
    __slots__ = ("allowed", "impersonation_window")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    IMPERSONATION_WINDOW_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    impersonation_window: _duration_pb2.Duration
    def __init__(self, allowed: _Optional[bool] = ..., impersonation_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CheckSelfServicePasswordResetRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class CheckSelfServicePasswordResetResponse(_message.Message):
    __slots__ = ("allowed",)
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    def __init__(self, allowed: _Optional[bool] = ...) -> None: ...

class CheckInviteesRequest(_message.Message):
    __slots__ = ("account_id", "workspace_ids", "all_workspaces", "role_ids", "emails")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_WORKSPACES_FIELD_NUMBER: _ClassVar[int]
    ROLE_IDS_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    workspace_ids: _containers.RepeatedScalarFieldContainer[str]
    all_workspaces: bool
    role_ids: _containers.RepeatedScalarFieldContainer[str]
    emails: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, account_id: _Optional[str] = ..., workspace_ids: _Optional[_Iterable[str]] = ..., all_workspaces: _Optional[bool] = ..., role_ids: _Optional[_Iterable[str]] = ..., emails: _Optional[_Iterable[str]] = ...) -> None: ...

class CheckInviteesResponse(_message.Message):
    __slots__ = ("account_name", "settings", "workspaces", "conflicts", "seat_allowance", "seat_allowance_used", "seated_emails")
    ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    WORKSPACES_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    SEAT_ALLOWANCE_FIELD_NUMBER: _ClassVar[int]
    SEAT_ALLOWANCE_USED_FIELD_NUMBER: _ClassVar[int]
    SEATED_EMAILS_FIELD_NUMBER: _ClassVar[int]
    account_name: str
    settings: _membership_pb2.AccountSettings
    workspaces: _containers.RepeatedCompositeFieldContainer[InviteeWorkspace]
    conflicts: _containers.RepeatedCompositeFieldContainer[InviteeConflict]
    seat_allowance: int
    seat_allowance_used: int
    seated_emails: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, account_name: _Optional[str] = ..., settings: _Optional[_Union[_membership_pb2.AccountSettings, _Mapping]] = ..., workspaces: _Optional[_Iterable[_Union[InviteeWorkspace, _Mapping]]] = ..., conflicts: _Optional[_Iterable[_Union[InviteeConflict, _Mapping]]] = ..., seat_allowance: _Optional[int] = ..., seat_allowance_used: _Optional[int] = ..., seated_emails: _Optional[_Iterable[str]] = ...) -> None: ...

class InviteeWorkspace(_message.Message):
    __slots__ = ("workspace_id", "name", "seat_usage")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEAT_USAGE_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    name: str
    seat_usage: _membership_pb2.SeatUsage
    def __init__(self, workspace_id: _Optional[str] = ..., name: _Optional[str] = ..., seat_usage: _Optional[_Union[_membership_pb2.SeatUsage, _Mapping]] = ...) -> None: ...

class InviteeConflict(_message.Message):
    __slots__ = ("email", "workspace_id", "reason", "user_id")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    email: str
    workspace_id: str
    reason: _error_reason_pb2.ErrorReason
    user_id: str
    def __init__(self, email: _Optional[str] = ..., workspace_id: _Optional[str] = ..., reason: _Optional[_Union[_error_reason_pb2.ErrorReason, str]] = ..., user_id: _Optional[str] = ...) -> None: ...

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

class CheckAssetAccessRequest(_message.Message):
    __slots__ = ("workspace_id", "owner_user_id", "actor_user_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    owner_user_id: str
    actor_user_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., actor_user_id: _Optional[str] = ...) -> None: ...

class CheckAssetAccessResponse(_message.Message):
    __slots__ = ("allowed", "reason")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    reason: _membership_pb2.AssetAccessReason
    def __init__(self, allowed: _Optional[bool] = ..., reason: _Optional[_Union[_membership_pb2.AssetAccessReason, str]] = ...) -> None: ...

class CreateCustodianRequest(_message.Message):
    __slots__ = ("custodian", "request_id")
    CUSTODIAN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    custodian: _membership_pb2.Custodian
    request_id: str
    def __init__(self, custodian: _Optional[_Union[_membership_pb2.Custodian, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateCustodianResponse(_message.Message):
    __slots__ = ("custodian",)
    CUSTODIAN_FIELD_NUMBER: _ClassVar[int]
    custodian: _membership_pb2.Custodian
    def __init__(self, custodian: _Optional[_Union[_membership_pb2.Custodian, _Mapping]] = ...) -> None: ...

class ListCustodiansRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCustodiansResponse(_message.Message):
    __slots__ = ("custodians",)
    CUSTODIANS_FIELD_NUMBER: _ClassVar[int]
    custodians: _containers.RepeatedCompositeFieldContainer[_membership_pb2.Custodian]
    def __init__(self, custodians: _Optional[_Iterable[_Union[_membership_pb2.Custodian, _Mapping]]] = ...) -> None: ...

class UpdateCustodianRequest(_message.Message):
    __slots__ = ("custodian", "update_mask", "request_id")
    CUSTODIAN_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    custodian: _membership_pb2.Custodian
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    def __init__(self, custodian: _Optional[_Union[_membership_pb2.Custodian, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateCustodianResponse(_message.Message):
    __slots__ = ("custodian",)
    CUSTODIAN_FIELD_NUMBER: _ClassVar[int]
    custodian: _membership_pb2.Custodian
    def __init__(self, custodian: _Optional[_Union[_membership_pb2.Custodian, _Mapping]] = ...) -> None: ...

class DeleteCustodianRequest(_message.Message):
    __slots__ = ("custodian_id", "force", "request_id")
    CUSTODIAN_ID_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    custodian_id: str
    force: bool
    request_id: str
    def __init__(self, custodian_id: _Optional[str] = ..., force: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteCustodianResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
