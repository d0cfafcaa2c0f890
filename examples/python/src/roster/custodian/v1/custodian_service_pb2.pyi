import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from roster.type.v1 import bounds_pb2 as _bounds_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OperationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPERATION_STATE_UNSPECIFIED: _ClassVar[OperationState]
    OPERATION_STATE_RUNNING: _ClassVar[OperationState]
    OPERATION_STATE_SUCCEEDED: _ClassVar[OperationState]
    OPERATION_STATE_FAILED: _ClassVar[OperationState]
OPERATION_STATE_UNSPECIFIED: OperationState
OPERATION_STATE_RUNNING: OperationState
OPERATION_STATE_SUCCEEDED: OperationState
OPERATION_STATE_FAILED: OperationState

class DescribeAssetsRequest(_message.Message):
    __slots__ = ("account_id", "workspace_id", "owner_user_id", "receiver_user_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    workspace_id: str
    owner_user_id: str
    receiver_user_id: str
    def __init__(self, account_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., receiver_user_id: _Optional[str] = ...) -> None: ...

class DescribeAssetsResponse(_message.Message):
    __slots__ = ("assets", "blockers")
    ASSETS_FIELD_NUMBER: _ClassVar[int]
    BLOCKERS_FIELD_NUMBER: _ClassVar[int]
    assets: _containers.RepeatedCompositeFieldContainer[AssetCount]
    blockers: _containers.RepeatedCompositeFieldContainer[Blocker]
    def __init__(self, assets: _Optional[_Iterable[_Union[AssetCount, _Mapping]]] = ..., blockers: _Optional[_Iterable[_Union[Blocker, _Mapping]]] = ...) -> None: ...

class AssetCount(_message.Message):
    __slots__ = ("kind", "count")
    KIND_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    count: int
    def __init__(self, kind: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class Blocker(_message.Message):
    __slots__ = ("kind", "code", "message", "count")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    code: str
    message: str
    count: int
    def __init__(self, kind: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class TransferAssetsRequest(_message.Message):
    __slots__ = ("operation_id", "account_id", "workspace_id", "owner_user_id", "receiver_user_id")
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    account_id: str
    workspace_id: str
    owner_user_id: str
    receiver_user_id: str
    def __init__(self, operation_id: _Optional[str] = ..., account_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., receiver_user_id: _Optional[str] = ...) -> None: ...

class TransferAssetsResponse(_message.Message):
    __slots__ = ("operation",)
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    operation: Operation
    def __init__(self, operation: _Optional[_Union[Operation, _Mapping]] = ...) -> None: ...

class DeleteAssetsRequest(_message.Message):
    __slots__ = ("operation_id", "account_id", "workspace_id", "owner_user_id")
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    account_id: str
    workspace_id: str
    owner_user_id: str
    def __init__(self, operation_id: _Optional[str] = ..., account_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., owner_user_id: _Optional[str] = ...) -> None: ...

class DeleteAssetsResponse(_message.Message):
    __slots__ = ("operation",)
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    operation: Operation
    def __init__(self, operation: _Optional[_Union[Operation, _Mapping]] = ...) -> None: ...

class Operation(_message.Message):
    __slots__ = ("operation_id", "state", "done", "total", "completed", "failures", "failed_count", "retry_after")
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    state: OperationState
    done: int
    total: int
    completed: _containers.RepeatedCompositeFieldContainer[AssetCount]
    failures: _containers.RepeatedCompositeFieldContainer[ItemFailure]
    failed_count: int
    retry_after: _duration_pb2.Duration
    def __init__(self, operation_id: _Optional[str] = ..., state: _Optional[_Union[OperationState, str]] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., completed: _Optional[_Iterable[_Union[AssetCount, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[ItemFailure, _Mapping]]] = ..., failed_count: _Optional[int] = ..., retry_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ItemFailure(_message.Message):
    __slots__ = ("kind", "asset_id", "message")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    asset_id: str
    message: str
    def __init__(self, kind: _Optional[str] = ..., asset_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
