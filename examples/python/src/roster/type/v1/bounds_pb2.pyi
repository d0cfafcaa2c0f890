from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
max_length: _descriptor.FieldDescriptor
MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
max_items: _descriptor.FieldDescriptor
MULTILINE_FIELD_NUMBER: _ClassVar[int]
multiline: _descriptor.FieldDescriptor
