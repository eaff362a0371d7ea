"""Run the pulumi_policy rule objects offline, on a recorded resource graph, as the analyzer would.

`pulumi preview --policy-pack policies` does not hand a rule plain dicts: the engine sends each
resource's inputs as a protobuf Struct, and pulumi_policy's analyzer turns it into Python values with
`deserialize_properties` and wraps them in `unknown_checking_proxy` (Mapping/Sequence proxies that raise
`UnknownValueError` when a rule reads a value the engine does not know yet, in a preview). This module
takes the same path, with pulumi_policy's own functions, so a rule that works here works under the CLI.

The rules are called directly, never through a PolicyPack (whose constructor starts a server and blocks).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from google.protobuf import json_format, struct_pb2
from mlops_policies import ALL_POLICIES
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
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError  # what `args.not_applicable()` raises; the analyzer catches it
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

if TYPE_CHECKING:
    from mlops.synth.recorder import Recorded

PolicyMode = Literal["up", "preview"]
"""How the graph the rules see was made: `up` (every value known) or `preview` (a first `pulumi preview`:
values other resources compute are unknown)."""
POLICY_MODES: tuple[PolicyMode, ...] = ("up", "preview")

UNKNOWN_MARK = "[unknown]"
"""How the recorder writes an unknown value into the manifest; the engine sends it to the rules as the
sentinel the Pulumi engine puts in a Struct for a computed value (pulumi_policy's UNKNOWN_STRING_VALUE)."""

Policy = ResourceValidationPolicy | StackValidationPolicy


@dataclass(frozen=True)
class Violation:
    """One reported violation, as the manifest's `policy.violations` lists it."""

    policy: str
    urn: str | None
    message: str
    enforcement: str

    def manifest(self) -> dict[str, Any]:
        return {"policy": self.policy, "urn": self.urn, "message": self.message, "enforcement": self.enforcement}

    @property
    def mandatory(self) -> bool:
        return self.enforcement == EnforcementLevel.MANDATORY.value


@dataclass(frozen=True)
class Undecided:
    """A rule that stopped on a value unknown until deployment (only in a preview).

    The analyzer turns the rule's UnknownValueError into an advisory "can't run policy … during preview"
    and keeps what the rule reported before it stopped; so does `run`.
    """

    policy: str
    urn: str | None
    message: str

    def manifest(self) -> dict[str, Any]:
        return {"policy": self.policy, "urn": self.urn, "message": self.message}


@dataclass(frozen=True)
class PolicyReport:
    """What a policy run found: violations, and the rules that could not decide (preview only)."""

    violations: list[Violation] = field(default_factory=list[Violation])
    undecided: list[Undecided] = field(default_factory=list[Undecided])


def _wire(value: Any) -> Any:
    """Recorded (manifest) values back into what the engine sends: unknown marks become the engine's sentinel."""
    if isinstance(value, Mapping):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return UNKNOWN_STRING_VALUE if value == UNKNOWN_MARK else value


def analyzer_props(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    """Inputs as a rule sees them under the CLI: a Struct on the wire, deserialized and proxied by pulumi_policy.

    Numbers come back as floats, as they do from a Struct; unknown values raise UnknownValueError when read.
    """
    struct = struct_pb2.Struct()
    struct.update(_wire(inputs))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def _options(record: Recorded) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=record.protect, ignore_changes=[], delete_before_replace=None,
                                 aliases=[], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                 additional_secret_outputs=[], parent=record.parent)


def policy_resources(records: Sequence[Recorded]) -> list[PolicyResource]:
    """The recorded graph as pulumi_policy sees a stack: analyzer props, parents and dependencies linked."""
    by_urn: dict[str, PolicyResource] = {}
    for record in records:
        by_urn[record.urn] = PolicyResource(record.type, analyzer_props(record.inputs), record.urn, record.name,
                                            _options(record), None, None, [], {})
    for record in records:
        resource = by_urn[record.urn]
        resource.parent = by_urn.get(record.parent or "")
        resource.dependencies = [by_urn[u] for u in record.dependencies if u in by_urn]
        resource.property_dependencies = {
            key: [by_urn[u] for u in urns if u in by_urn] for key, urns in record.property_dependencies.items()
        }
    return list(by_urn.values())


def _settle(result: Any) -> None:
    """Policies may be async; run them to completion on a loop that is closed afterwards (as the analyzer does)."""
    if inspect.isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(result)
        finally:
            loop.close()


def _undecided(policy: Policy, urn: str | None, error: UnknownValueError) -> Undecided:
    # The analyzer's own wording (pulumi_policy.policy._PolicyAnalyzerServicer), without the pack name.
    return Undecided(policy.name, urn, f"can't run policy '{policy.name}' during preview: {error.message}")


def _run_one(policy: Policy, resources: Sequence[PolicyResource], found: list[Violation],
             undecided: list[Undecided]) -> None:
    """One policy on a stack (a stack policy once, a resource policy per resource), like Analyze/AnalyzeStack.

    Only UnknownValueError and "not applicable" are the rule's to raise; anything else propagates, as it
    fails the user's `pulumi preview`.
    """
    level = (policy.enforcement_level or EnforcementLevel.ADVISORY).value

    def reporter(default_urn: str | None) -> Any:
        def report(message: str, urn: str | None = None) -> None:
            found.append(Violation(policy.name, urn or default_urn, message, level))
        return report

    if isinstance(policy, StackValidationPolicy):
        targets: list[tuple[str | None, Any]] = [(None, StackValidationArgs(list(resources)))]
    else:
        targets = [(r.urn, ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, None))
                   for r in resources]
    for urn, args in targets:
        try:
            _settle(policy.validate(args, reporter(urn)))
        except UnknownValueError as error:
            undecided.append(_undecided(policy, urn, error))
        except _NotApplicableError:
            continue


def run(policies: Iterable[Policy], resources: Sequence[PolicyResource]) -> PolicyReport:
    """Evaluate every policy that is not disabled; violations and undecided rules in a stable order."""
    found: list[Violation] = []
    undecided: list[Undecided] = []
    for policy in policies:
        if policy.enforcement_level != EnforcementLevel.DISABLED:
            _run_one(policy, resources, found, undecided)
    return PolicyReport(sorted(found, key=lambda v: (v.policy, v.urn or "", v.message)),
                        sorted(undecided, key=lambda u: (u.policy, u.urn or "", u.message)))


def run_policies(policies: Iterable[Policy], resources: Sequence[PolicyResource]) -> list[Violation]:
    """The violations of `run` (all there is when every value is known, as in `up` mode)."""
    return run(policies, resources).violations


def evaluate(records: Sequence[Recorded]) -> PolicyReport:
    """Every rule of the pack on a recorded stack."""
    return run(ALL_POLICIES, policy_resources(records))
