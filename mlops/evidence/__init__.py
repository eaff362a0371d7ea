"""Evidence, not claims: a capability is "built" only where the synthesized graph holds it (no pulumi import).

Each cloud has a table (`mlops/evidence/<cloud>.py`): for every capability, a function of the plan that
returns what must exist in that environment's graph — which resource types under which logical names,
with which inputs carrying the blueprint's values. `evidence(plan, resources)` checks those expectations
against the recorded resources; `mlops synth` and `mlops design` say "built" only where every expectation
holds and name what is missing where one does not (`mlops plan`, which runs no synth, says "on"), and the
README lists each table's capabilities (tests/test_readme.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops.plan import Capability, Plan
from mlops.plan.model import Cloud

from .graph import Graph, Node, Resource, document, value_at


@dataclass(frozen=True)
class Check:
    """One input of an expected resource: the value at `path` equals `expected` (or satisfies it)."""

    path: tuple[str | int, ...]
    expected: Any
    label: str = ""
    """How a person reads a callable `expected` ("contains 'Tuning'")."""

    def failure(self, inputs: Mapping[str, Any]) -> str | None:
        actual = value_at(inputs, *self.path)
        ok = self.expected(actual) if callable(self.expected) else actual == self.expected
        if ok:
            return None
        want = self.label or repr(self.expected)
        where = ".".join(str(p) for p in self.path)
        return f"{where} is {_short(actual)}, expected {want}"


@dataclass(frozen=True)
class Expect:
    """A resource the capability needs: its type, logical name and the inputs that carry the blueprint's values."""

    type: str
    name: str
    checks: tuple[Check, ...] = ()
    why: str = ""
    """What it stands for (the model or setting), shown when it is missing."""


@dataclass(frozen=True)
class Evidence:
    """What the graph shows of one capability the plan turns on."""

    capability: Capability
    found: tuple[str, ...] = ()
    """`type name` of each resource that proves it."""
    missing: tuple[str, ...] = ()
    """What the plan needs and the graph lacks (or holds with other values)."""

    @property
    def built(self) -> bool:
        return bool(self.found) and not self.missing

    @property
    def applies(self) -> bool:
        """False where the plan turns the capability on but no model or setting of it needs anything."""
        return bool(self.found or self.missing)


DEFERRED_WITH_ENDPOINTS = frozenset({
    Capability.serving, Capability.autoscaling, Capability.progressive_delivery, Capability.shadow_deployment,
    Capability.sre_alarms, Capability.prediction_logging, Capability.drift_monitoring,
    Capability.quality_monitoring, Capability.approval_workflow,
})
"""What a first deployment with `mlops:endpoints=defer` leaves out until a model is trained (AWS, Azure): the
endpoints and all that watches or rolls out to them."""

Rule = Callable[[Plan], Iterable[Expect]]
"""Everything one capability needs in one environment's graph (empty where nothing of the plan uses it)."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def check(capability: Capability, expectations: Iterable[Expect], graph: Graph) -> Evidence:
    found: list[str] = []
    missing: list[str] = []
    for expect in expectations:
        resource = graph.get(expect.type, expect.name)
        label = f"{expect.type} {expect.name}"
        if resource is None:
            missing.append(f"no {label}" + (f" ({expect.why})" if expect.why else ""))
            continue
        failures = [f for f in (c.failure(resource.inputs) for c in expect.checks) if f]
        if failures:
            missing += [f"{label}: {failure}" for failure in failures]
        else:
            found.append(label)
    return Evidence(capability, tuple(found), tuple(missing))


def rules_for(cloud: Cloud) -> Mapping[Capability, Rule]:
    """The evidence table of one cloud's back end: the capabilities it builds, and how to see each."""
    from . import aws, azure, gcp  # each table is plain data over the plan; imported on first use

    return {Cloud.aws: aws.RULES, Cloud.gcp: gcp.RULES, Cloud.azure: azure.RULES}[cloud]


def builds(cloud: Cloud) -> frozenset[Capability]:
    """What a cloud's back end can build: the capabilities its evidence table can see."""
    return frozenset(rules_for(cloud))


def evidence(plan: Plan, resources: Iterable[Resource] | Graph) -> dict[Capability, Evidence]:
    """Evidence for every capability the plan turns on, from the environment's synthesized graph."""
    graph = resources if isinstance(resources, Graph) else Graph(resources)
    rules = rules_for(plan.cloud)
    result: dict[Capability, Evidence] = {}
    for capability in plan.capabilities:
        rule = rules.get(capability)
        if rule is None:
            result[capability] = Evidence(capability, missing=(f"the {plan.cloud.value} back end does not build it",))
        else:
            result[capability] = check(capability, rule(plan), graph)
    return result


def from_manifest(manifest: Mapping[str, Any]) -> Graph:
    """The graph of a saved manifest (`mlops synth --json`)."""
    entries: Sequence[Mapping[str, Any]] = manifest.get("resources") or []
    return Graph(Node.from_manifest(e) for e in entries)


__all__ = ["DEFERRED_WITH_ENDPOINTS", "Check", "Evidence", "Expect", "Graph", "Node", "Rule", "builds", "check",
           "document", "evidence", "from_manifest", "rules_for", "value_at"]
