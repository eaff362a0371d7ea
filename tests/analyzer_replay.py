"""Replay a recorded graph through pulumi_policy's own analyzer servicer, as `pulumi preview --policy-pack` would.

The servicer (what PolicyPack serves over gRPC) is called directly with the protobuf requests the engine
sends: a Struct of each resource's inputs (unknown values as the engine's sentinel), its options and its
dependencies. This is independent of mlops.policies.engine, so tests can check the engine against it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from mlops.synth.recorder import Recorded

Policy = ResourceValidationPolicy | StackValidationPolicy
Finding = tuple[str, str | None, str, str]
"""(policy, urn or None for the stack, message, enforcement) — violations and "can't run" advisories alike."""
_PACK = re.compile(r" from policy pack '[^']*'")


def _wire(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return UNKNOWN_STRING_VALUE if value == "[unknown]" else value


def _struct(inputs: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_wire(inputs))
    return struct


def _options(record: Recorded) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(protect=record.protect, parent=record.parent or "")


def _resource(record: Recorded) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=record.type, properties=_struct(record.inputs), urn=record.urn, name=record.name,
        options=_options(record), parent=record.parent or "", dependencies=record.dependencies,
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                              for k, v in record.property_dependencies.items()})


def _findings(response: Any, descriptions: dict[str, str], urn: str | None) -> list[Finding]:
    found: list[Finding] = []
    for d in response.diagnostics:
        prefix = descriptions[d.policyName] + "\n"
        message = d.message[len(prefix):] if d.message.startswith(prefix) else _PACK.sub("", d.message)
        level = "advisory" if d.enforcementLevel == analyzer_pb2.ADVISORY else "mandatory"
        found.append((d.policyName, d.urn or urn, message, level))
    return found


def analyze(policies: Sequence[Policy], records: Sequence[Recorded]) -> list[Finding]:
    """Every diagnostic the analyzer returns for a stack: Analyze per resource, then AnalyzeStack once.

    Exceptions other than the analyzer's own (unknown values, not applicable) propagate, as they fail
    the user's preview.
    """
    servicer = _PolicyAnalyzerServicer("mlops-blueprints", "0.1.0", list(policies), EnforcementLevel.ADVISORY)
    descriptions = {p.name: p.description for p in policies}
    found: list[Finding] = []
    for record in records:
        request = analyzer_pb2.AnalyzeRequest(type=record.type, properties=_struct(record.inputs), urn=record.urn,
                                              name=record.name, options=_options(record))
        found += _findings(servicer.Analyze(request, None), descriptions, record.urn)
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[_resource(r) for r in records])
    found += _findings(servicer.AnalyzeStack(stack, None), descriptions, None)
    return sorted(found, key=lambda f: (f[0], f[1] or "", f[2]))
