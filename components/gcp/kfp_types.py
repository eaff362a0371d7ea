"""KFP's own PipelineSpec type (the Vertex AI pipelines IR), and a lossless round-trip check.

The message classes come from the vendored descriptor of kfp-pipeline-spec (`kfp_descriptor`), loaded
into a private descriptor pool: the same field names, types and enums as `kfp.pipeline_spec.
pipeline_spec_pb2`, without registering `pipeline_spec.proto` in protobuf's default pool (so a user
who also installs the kfp package gets no duplicate-file error). No pulumi import.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import Any

from google.protobuf import any_pb2, descriptor_pool, duration_pb2, json_format, message_factory, struct_pb2
from google.protobuf.message import Message
from google.rpc import status_pb2

from .kfp_descriptor import DESCRIPTOR_BASE64, SHA256

PACKAGE = "ml_pipelines"


class SpecError(ValueError):
    """A pipeline spec KFP's schema rejects, or one that does not survive a round trip unchanged."""


def descriptor_bytes() -> bytes:
    """The serialized FileDescriptorProto of pipeline_spec.proto (checked against its digest)."""
    data = base64.b64decode(DESCRIPTOR_BASE64)
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise SpecError("the vendored pipeline_spec descriptor does not match its SHA-256 digest")
    return data


@cache
def _pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    # pipeline_spec.proto imports these; google.rpc.Status imports google.protobuf.Any.
    for module in (any_pb2, duration_pb2, struct_pb2, status_pb2):
        pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
    pool.AddSerializedFile(descriptor_bytes())
    return pool


def message_class(name: str) -> type[Message]:
    """A message class of the KFP IR by its short name, e.g. `PipelineSpec`."""
    return message_factory.GetMessageClass(_pool().FindMessageTypeByName(f"{PACKAGE}.{name}"))


def pipeline_spec(spec: dict[str, Any]) -> Message:
    """`spec` (the JSON form Vertex takes) parsed into KFP's PipelineSpec; unknown fields are errors."""
    try:
        return json_format.ParseDict(spec, message_class("PipelineSpec")())
    except json_format.ParseError as error:
        raise SpecError(f"not a KFP PipelineSpec: {error}") from error


def round_trip(spec: dict[str, Any]) -> dict[str, Any]:
    """Parse `spec` with KFP's type and print it back; raise SpecError when anything changed.

    A lossless round trip means every key is a field of the schema with a value of its type (an enum
    name, a number, a string), and no field is set to its default where presence is not tracked.
    """
    back = json_format.MessageToDict(pipeline_spec(spec))
    if back != spec:
        raise SpecError("the pipeline spec changes when parsed with KFP's PipelineSpec type")
    return back
