"""What a design is computed from: the plans of every environment, the synthesized graph and its evidence."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlops.blueprint.model import AlertRoute, DataSource
from mlops.plan import Capability, Plan
from mlops.plan.compliance import Control

from .architecture import GraphNode


@dataclass(frozen=True)
class DesignInput:
    """Everything a design document is a pure function of."""

    source: str
    """The blueprint's file name, as the document cites it."""
    plans: tuple[Plan, ...]
    """Every environment the blueprint declares, in its order."""
    environment: str
    """The environment the document is for (its architecture, monitoring and roadmap)."""
    graph: tuple[GraphNode, ...]
    """The synthesized resource graph of `environment` (empty when not synthesized)."""
    built: frozenset[Capability]
    """Capabilities whose evidence the synthesized graph of `environment` holds (mlops.evidence); empty
    without a graph: a design never calls built what it has not seen in the graph."""
    unused: frozenset[Capability] = frozenset()
    """Capabilities the plan turns on that nothing of `environment` uses (a shadow in dev, an approval role where
    no approval is asked): neither built nor missing."""
    sources: tuple[DataSource, ...] = ()
    """The blueprint's data sources (drawn as external systems)."""
    controls: dict[Control, str] = field(default_factory=dict)
    """How the cloud's back end implements each compliance control, in its own words (e.g.
    `components.aws.governance.AWS_CONTROLS`); empty when the back end does not say."""

    @property
    def covered(self) -> frozenset[Capability]:
        """What the design need not mark as planned: built, or unused in this environment."""
        return self.built | self.unused

    @property
    def plan(self) -> Plan:
        return next(p for p in self.plans if p.environment == self.environment)

    @property
    def alerts(self) -> tuple[AlertRoute, ...]:
        return self.plan.alerts

    def status(self, capability: Capability) -> str:
        """built / planned, not yet built on <cloud> / off (why) — for this environment's plan."""
        decision = next(g for g in self.plan.gates if g.capability == capability)
        if not decision.enabled:
            return f"off: {decision.reason}"
        if capability in self.built:
            return "built"
        if capability in self.unused:
            return f"on, unused in {self.environment}"
        return f"planned, not yet built on {self.plan.cloud.value}"  # no evidence in this environment's graph
