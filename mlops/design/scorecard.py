"""Section 1, the maturity scorecard: where each dimension stands, where it aims, what the use case needs.

Evidence is the gate table itself: for each dimension, the capabilities the plan turns on that are
gated by it (`mlops.plan.GATES`), marked *new* when their gate is above the current level.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops.blueprint.model import Dimension, RiskTier, ServingMode
from mlops.plan import GATES, Capability, Plan

from . import compliance
from .architecture import AREAS
from .inputs import DesignInput
from .markdown import blocks, bullets, table

DIMENSION_TITLE = {
    Dimension.experiment_tracking: "experiment tracking",
    Dimension.model_versioning: "model versioning",
    Dimension.deployment: "deployment",
    Dimension.monitoring: "monitoring",
    Dimension.governance: "governance",
}
LEVEL_NAME = {0: "manual", 1: "automated training", 2: "CI/CD automation", 3: "full MLOps"}
BASELINE_LEVEL = 1
"""Any model in production needs reproducible, automated training."""
REALTIME_SLA_LEVEL = 2
"""Real-time serving with an SLA needs level 2 (the framework's rule)."""
HIGH_STAKES_LEVEL = 3
"""High-stakes decisions need level 3 (the framework's rule)."""


@dataclass(frozen=True)
class Evidence:
    capability: Capability
    level: int
    new: bool
    """Above the current level: the gap's work."""


@dataclass(frozen=True)
class DimensionScore:
    dimension: Dimension
    current: int
    target: int
    evidence: tuple[Evidence, ...]
    priority: str

    @property
    def gap(self) -> int:
        return self.target - self.current


@dataclass(frozen=True)
class Requirement:
    level: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Scorecard:
    dimensions: tuple[DimensionScore, ...]
    current: int
    target: int
    requirement: Requirement

    @property
    def meets(self) -> bool:
        return self.target >= self.requirement.level

    @property
    def short(self) -> tuple[DimensionScore, ...]:
        """Dimensions whose target is below what the use case requires."""
        return tuple(d for d in self.dimensions if d.target < self.requirement.level)

    def new_capabilities(self) -> tuple[Capability, ...]:
        return tuple(e.capability for d in self.dimensions for e in d.evidence if e.new)


def requirement(plan: Plan) -> Requirement:
    """The level the use case needs: baseline 1, real-time with an SLA 2, high stakes 3."""
    reasons = [f"level {BASELINE_LEVEL}: every model in production needs reproducible, automated training"]
    level = BASELINE_LEVEL
    realtime = [f"{m.name} p99 ≤ {m.serving.latency_p99_ms} ms" for m in plan.models
                if m.serving and m.serving.mode != ServingMode.batch and m.serving.latency_p99_ms]
    if realtime:
        level = REALTIME_SLA_LEVEL
        reasons.append(f"level {REALTIME_SLA_LEVEL}: real-time serving with an SLA ({'; '.join(realtime)})")
    gov = plan.governance
    stakes = [compliance.title(r) for r in gov.compliance if compliance.is_high_stakes(r, gov.risk_tier)]
    if gov.risk_tier == RiskTier.high:
        stakes.insert(0, "risk tier high")
    if stakes:
        level = HIGH_STAKES_LEVEL
        reasons.append(f"level {HIGH_STAKES_LEVEL}: high-stakes decisions ({', '.join(stakes)})")
    return Requirement(level, tuple(reasons))


def _priority(gap: int, current: int, required: int, new: bool) -> str:
    if gap == 0:
        return "none"
    if gap >= 2 or (current < required and new):
        return "high"
    return "medium" if new else "low"


def scorecard(plan: Plan) -> Scorecard:
    need = requirement(plan)
    enabled = set(plan.capabilities)
    scores = []
    for dimension in Dimension:
        current, target = plan.maturity_current.level(dimension), plan.maturity_target.level(dimension)
        evidence = tuple(Evidence(g.capability, g.level, g.level > current) for g in GATES
                         if g.dimension == dimension and g.capability in enabled)
        scores.append(DimensionScore(dimension, current, target, evidence,
                                     _priority(target - current, current, need.level, any(e.new for e in evidence))))
    return Scorecard(tuple(scores), plan.maturity_current.overall, plan.maturity_target.overall, need)


def priority_gaps(card: Scorecard) -> list[tuple[str, tuple[Capability, ...]]]:
    """The new capabilities, grouped by life-cycle area (in flow order)."""
    new = card.new_capabilities()
    groups = [(a.title, tuple(c for c in a.capabilities if c in new)) for a in AREAS]
    return [(t, caps) for t, caps in groups if caps]


def render(inp: DesignInput) -> str:
    plan = inp.plan
    cloud = plan.cloud.value
    card = scorecard(plan)
    summaries = {g.capability: g.summary for g in GATES}
    rows = []
    for d in card.dimensions:
        evidence = ", ".join(f"`{e.capability.value}` (≥{e.level}{', new' if e.new else ''})"
                             for e in d.evidence) or "—"
        built = [e.capability.value for e in d.evidence if e.capability in inp.built]
        status = "—" if not d.evidence else ("all" if len(built) == len(d.evidence) else
                                             ", ".join(f"`{b}`" for b in built) or "none yet")
        rows.append([DIMENSION_TITLE[d.dimension], d.current, d.target, f"+{d.gap}" if d.gap else "0",
                     d.priority, evidence, status])
    verdict = ("meets it" if card.meets else
               "does **not** meet it: raise " + ", ".join(f"`maturity.target.{d.dimension.value}`" for d in card.short)
               + f" to {card.requirement.level}")
    gaps = priority_gaps(card)
    return blocks(
        "## 1. Maturity scorecard",
        f"**Overall: level {card.current} ({LEVEL_NAME[card.current]}) → level {card.target} "
        f"({LEVEL_NAME[card.target]}).** The platform is as mature as its weakest dimension.",
        table(["dimension", "current", "target", "gap", "priority",
               "evidence: capabilities the plan turns on (gate level)", f"built on {cloud} today"], rows),
        "Priority: *high* for a gap of two levels or more, or when the dimension is below what the use case "
        "requires and the plan adds capabilities for it; *medium* for other one-level gaps that add "
        "capabilities; *low* when the step adds no infrastructure (practice only).",
        f"**What the use case requires: level {card.requirement.level}.** The target (level {card.target}) "
        f"{verdict}.",
        bullets(list(card.requirement.reasons)),
        "**Priority gaps** (what the team does not have at its current level):" if gaps else
        "No gap: the plan builds only what the team already practises.",
        bullets([f"{title.lower()}: " + "; ".join(f"{summaries[c]} (`{c.value}`)" for c in caps)
                 for title, caps in gaps]),
    )


