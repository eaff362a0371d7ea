"""Run the pulumi_policy rule objects offline, on a recorded resource graph.

The same rule objects are packaged in `policies/` for `pulumi preview --policy-pack policies`;
here they are called directly (never through a PolicyPack, whose constructor starts a server).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

if TYPE_CHECKING:
    from mlops.synth.recorder import Recorded


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str | None
    message: str
    enforcement: str

    def manifest(self) -> dict[str, Any]:
        return {"policy": self.policy, "urn": self.urn, "message": self.message, "enforcement": self.enforcement}

    @property
    def mandatory(self) -> bool:
        return self.enforcement == EnforcementLevel.MANDATORY.value


def _options(record: Recorded) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=record.protect, ignore_changes=[], delete_before_replace=None,
                                 aliases=[], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                 additional_secret_outputs=[], parent=record.parent)


def policy_resources(records: Sequence[Recorded]) -> list[PolicyResource]:
    """The recorded graph as pulumi_policy sees a stack: parents and dependencies linked."""
    by_urn: dict[str, PolicyResource] = {}
    for record in records:
        by_urn[record.urn] = PolicyResource(record.type, record.inputs, record.urn, record.name, _options(record),
                                            None, None, [], {})
    for record in records:
        resource = by_urn[record.urn]
        resource.parent = by_urn.get(record.parent or "")
        resource.dependencies = [by_urn[u] for u in record.dependencies if u in by_urn]
        resource.property_dependencies = {
            key: [by_urn[u] for u in urns if u in by_urn] for key, urns in record.property_dependencies.items()
        }
    return list(by_urn.values())


def _settle(result: Any) -> None:
    """Policies may be async; run them to completion on a loop that is closed afterwards."""
    if inspect.isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(result)
        finally:
            loop.close()


def run_policies(policies: Iterable[ResourceValidationPolicy | StackValidationPolicy],
                 resources: Sequence[PolicyResource]) -> list[Violation]:
    """Evaluate every policy that is not disabled; return violations in a stable order."""
    found: list[Violation] = []
    for policy in policies:
        level = policy.enforcement_level or EnforcementLevel.ADVISORY
        if level == EnforcementLevel.DISABLED:
            continue

        def report(message: str, urn: str | None = None, _name: str = policy.name,
                   _level: str = level.value, _default: str | None = None) -> None:
            found.append(Violation(_name, urn or _default, message, _level))

        if isinstance(policy, StackValidationPolicy):
            _settle(policy.validate(StackValidationArgs(list(resources)), report))
            continue
        for resource in resources:
            args = ResourceValidationArgs(resource.resource_type, resource.props, resource.urn, resource.name,
                                          resource.opts, None)

            def report_here(message: str, urn: str | None = None, _urn: str = resource.urn) -> None:
                report(message, urn or _urn)

            _settle(policy.validate(args, report_here))
    return sorted(found, key=lambda v: (v.policy, v.urn or "", v.message))
