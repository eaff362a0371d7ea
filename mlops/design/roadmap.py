"""Section 6, the implementation roadmap: phases from the gaps and the dependencies between capabilities.

Phases follow the order capabilities depend on each other (`PHASES`): foundation and training
automation → registry, serving and CI/CD → monitoring → automated retraining and governance →
compliance validation. A phase is in the roadmap when it delivers a capability the team does not
have yet (its gate is above the team's current level in its dimension); the foundation phase is
always in it (the platform stack itself is new), and the compliance phase when a regime asks for
an independent validation before go-live.

Duration, in months (documented in the document itself, `FORMULA`):

    months(phase)      = (BASE_MONTHS + LEVEL3_EXTRA_MONTHS if it delivers a level-3 capability)
                         * ceil(workstreams(phase) / workstreams the team can staff)
    workstreams(phase) = dimensions among the phase's new capabilities (platform-wide ones count as one)
    team workstreams   = max(1, team_size // ENGINEERS_PER_WORKSTREAM)
    months(compliance) = VALIDATION_MONTHS
    total              = sum over the phases (they run one after another: each needs the one before)

Plans up to `MONTHLY_UP_TO` months are laid out by month, longer ones by quarter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlops.blueprint.model import DeliveryStrategy, Direction, ServingMode
from mlops.plan import GATES, Capability, Plan
from mlops.plan.compliance import CONTROL_CAPABILITIES, REGIME_CONTROLS

from . import compliance
from .clouds import AUDIT_LOCK
from .inputs import DesignInput
from .markdown import blocks, bullets, code, codes, minutes, schedule, table, years
from .scorecard import requirement

C = Capability
DASH = "\N{EN DASH}"
BASE_MONTHS = 1
LEVEL3_EXTRA_MONTHS = 1
"""Self-healing automation (level 3) must run through real trigger cycles before it is trusted."""
ENGINEERS_PER_WORKSTREAM = 2
VALIDATION_MONTHS = 1
MONTHLY_UP_TO = 6
FORMULA = (
    f"Each phase takes {BASE_MONTHS} month, {BASE_MONTHS + LEVEL3_EXTRA_MONTHS} when it delivers level-3 automation "
    "(self-healing needs real trigger cycles before it is trusted), multiplied by ⌈workstreams ÷ workstreams the "
    "team can staff⌉: a phase has one workstream per maturity dimension it advances (platform-wide capabilities "
    f"count as one) and the team staffs one per {ENGINEERS_PER_WORKSTREAM} engineers. A regime that asks for an "
    f"independent validation before go-live adds a {VALIDATION_MONTHS}-month compliance phase. Phases run one "
    "after another, each needing the one before."
)


@dataclass(frozen=True)
class PhaseSpec:
    key: str
    title: str
    capabilities: tuple[Capability, ...]
    depends_on: tuple[str, ...]
    goal: str


PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec("foundation", "Foundation and training automation",
              (C.foundation, C.rbac_roles, C.audit_trail, C.cost_controls, C.feature_store, C.experiment_tracking,
               C.training_pipeline, C.scheduled_retraining, C.hyperparameter_search), (),
              "the platform stack in every environment; reproducible, automated training"),
    PhaseSpec("cicd", "Registry, serving and CI/CD",
              (C.model_registry, C.champion_challenger, C.serving, C.autoscaling, C.progressive_delivery,
               C.shadow_deployment, C.approval_workflow), ("foundation",),
              "a gated, automated path from a registered model to production"),
    PhaseSpec("monitoring", "Monitoring", (C.sre_alarms, C.prediction_logging, C.quality_monitoring,
                                           C.freshness_alerts, C.drift_monitoring), ("cicd",),
              "problems seen before users see them"),
    PhaseSpec("automation", "Automated retraining and governance",
              (C.drift_retraining, C.performance_retraining, C.enforced_approval, C.model_cards),
              ("cicd", "monitoring"), "monitoring starts retraining; promotion is enforced and documented"),
    PhaseSpec("compliance", "Compliance validation", (), ("foundation", "cicd", "monitoring", "automation"),
              "independent validation and audit evidence before go-live"),
)
FOCUS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("training automation", ("foundation",)),
    2: ("CI/CD and monitoring", ("cicd", "monitoring")),
    3: ("monitoring-driven retraining and governance, with compliance milestones",
        ("monitoring", "automation", "compliance")),
}
_GATE = {g.capability: g for g in GATES}


@dataclass(frozen=True)
class Phase:
    spec: PhaseSpec
    new: tuple[Capability, ...]
    """Capabilities the team does not have yet."""
    existing: tuple[Capability, ...]
    """Capabilities the team has (or that earlier phases skipped) and moves onto the platform."""
    workstreams: int
    level3: bool
    months: int
    start: int
    """First month (1-based)."""

    @property
    def end(self) -> int:
        return self.start + self.months - 1


@dataclass(frozen=True)
class Roadmap:
    phases: tuple[Phase, ...]
    team_workstreams: int
    focus: str
    focus_phases: tuple[str, ...]
    validations: tuple[str, ...]

    @property
    def months(self) -> int:
        return sum(p.months for p in self.phases)

    @property
    def quarterly(self) -> bool:
        return self.months > MONTHLY_UP_TO

    def when(self, phase: Phase) -> str:
        if self.quarterly:
            first, last = (phase.start - 1) // 3 + 1, (phase.end - 1) // 3 + 1
            return f"Q{first}" if first == last else f"Q{first}{DASH}Q{last}"
        return f"Month {phase.start}" if phase.months == 1 else f"Months {phase.start}{DASH}{phase.end}"


def _is_new(plan: Plan, capability: Capability) -> bool:
    gate = _GATE[capability]
    if gate.dimension is None:
        return True  # platform-wide: part of the new stack
    return gate.level > plan.maturity_current.level(gate.dimension)


def roadmap(plan: Plan) -> Roadmap:
    """The phases, their months and the total, from the plan's gaps, team size and regimes."""
    team = max(1, plan.team_size // ENGINEERS_PER_WORKSTREAM)
    gov = plan.governance
    validations = tuple(v for r in gov.compliance if (v := compliance.validation(r, gov.risk_tier)))
    phases: list[Phase] = []
    carried: list[Capability] = []
    month = 1
    for spec in PHASES:
        enabled = [c for c in spec.capabilities if plan.enabled(c)]
        new = tuple(c for c in enabled if _is_new(plan, c))
        existing = tuple(c for c in enabled if not _is_new(plan, c))
        if spec.key == "compliance":
            if not validations:
                continue
            months, streams, level3 = VALIDATION_MONTHS, 1, False
        elif not new and spec.key != "foundation":
            carried += existing  # nothing new here: move what exists onto the platform in phase 1
            continue
        else:
            streams = max(1, len({_GATE[c].dimension for c in new}))
            level3 = any(_GATE[c].level >= 3 for c in new)
            months = (BASE_MONTHS + (LEVEL3_EXTRA_MONTHS if level3 else 0)) * math.ceil(streams / team)
        phases.append(Phase(spec, new, existing, streams, level3, months, month))
        month += months
    if carried and phases:
        first = phases[0]
        phases[0] = Phase(first.spec, first.new, first.existing + tuple(carried), first.workstreams, first.level3,
                          first.months, first.start)
    focus, focus_phases = FOCUS[requirement(plan).level]
    return Roadmap(tuple(phases), team, focus, focus_phases, validations)


# --------------------------------------------------------------------------------------- rendering


def _milestone(plan: Plan, capability: Capability) -> str:
    models = plan.models
    names = ", ".join(m.name for m in models)
    routes = ", ".join(r.kind.value for r in plan.alerts) or "the alert routes"
    gov = plan.governance
    text = {
        C.foundation: "platform stack deployed in every environment: customer-managed keys, encrypted storage, "
                      "execution identity" + (", private network" if plan.network.isolated else ""),
        C.rbac_roles: "least-privilege roles for data scientists, ML engineers and approvers",
        C.audit_trail: f"audit store locked for {years(gov.audit_retention_days)} "
                       f"({AUDIT_LOCK[plan.cloud][gov.audit_lock_mode][0]})",
        C.cost_controls: (f"budget of ${plan.cost.monthly_budget_usd:,.0f}/month with alerts at "
                          + ", ".join(f"{t:g}%" for t in plan.cost.alert_thresholds_percent)) if plan.cost else
                         "budget alerts",
        C.feature_store: "feature store for " + (codes([e.name for e in plan.feature_store.entities])
                                                  if plan.feature_store else "the entities"),
        C.experiment_tracking: "every training run tracked: parameters, metrics, artifacts",
        C.training_pipeline: f"training pipeline for {names}, reproducible from pinned data versions "
                             f"(`{plan.data_versioning}`)",
        C.scheduled_retraining: "; ".join(f"{m.name} retrains {schedule(m.retraining.schedule)}"
                                          for m in models if m.retraining.schedule) or "scheduled retraining",
        C.hyperparameter_search: "; ".join(f"{m.name} tuned within {m.training.search.max_trials} trials"
                                           for m in models if m.training and m.training.search)
                                 or "hyperparameter search",
        C.model_registry: "every model version registered with lineage to code and data",
        C.champion_challenger: "a candidate must beat the production model before promotion",
        C.serving: "; ".join(
            f"{m.name} served {m.serving.mode.value}" + (f", p99 ≤ {m.serving.latency_p99_ms} ms"
                                                         if m.serving.latency_p99_ms else "")
            + (f", {schedule(m.serving.schedule)}" if m.serving.mode == ServingMode.batch else "")
            for m in models if m.serving) or "serving",
        C.autoscaling: "; ".join(f"{m.name} scales {m.serving.min_instances} to {m.serving.max_instances} instances"
                                 for m in models if m.serving and m.serving.autoscaling) or "autoscaling",
        C.progressive_delivery: "; ".join(f"{m.name} rolls out by {s.delivery.strategy.value.replace('_', '/')}"
                                          + (" with automatic rollback" if s.delivery.auto_rollback else "")
                                          for m in models if (s := m.serving) and s.mode != ServingMode.batch
                                          and s.delivery.strategy != DeliveryStrategy.all_at_once)
                                or "progressive delivery",
        C.shadow_deployment: "; ".join(f"{m.name} candidates shadowed on {m.serving.shadow.sample_percent:g}% of "
                                       "live traffic" for m in models if m.serving and m.serving.shadow)
                             or "shadow deployment",
        C.approval_workflow: (f"promotion into {plan.environment} approved by "
                              f"{', '.join(a.approval.approvers)}" if (a := gov.approval) else
                              "promotion approvals recorded"),
        C.sre_alarms: f"latency, error and utilisation alarms reach {routes}",
        C.prediction_logging: "; ".join(f"{m.name}: {m.monitoring.prediction_logging_percent:g}% of predictions "
                                        "logged" for m in models if m.monitoring.prediction_logging_percent
                                        is not None) or "prediction logging",
        C.quality_monitoring: "; ".join(
            f"{m.name}: {q.metric} {'≥' if q.direction == Direction.at_least else '≤'} {q.threshold:g} tracked "
            f"{schedule(q.schedule)}" for m in models if (q := m.monitoring.quality)) or "quality monitoring",
        C.freshness_alerts: (f"alarm when features are older than {minutes(plan.feature_store.freshness_sla_minutes)}"
                             if plan.feature_store and plan.feature_store.freshness_sla_minutes else
                             "feature freshness alarms"),
        C.drift_monitoring: "; ".join(f"{m.name}: {d.method.value} drift > {d.threshold:g} detected "
                                      f"{schedule(d.schedule)}" for m in models if (d := m.monitoring.drift))
                            or "drift detection",
        C.drift_retraining: "drift alarms start retraining",
        C.performance_retraining: "quality alarms start retraining",
        C.enforced_approval: "only the approver role can approve (" + (codes(gov.roles.approver) or "approvers") + ")",
        C.model_cards: "a model card required for every registered version",
    }[capability]
    return text


def _compliance_milestones(plan: Plan, phase: Phase) -> list[str]:
    delivered = set(phase.new) | set(phase.existing)
    found: dict[str, list[str]] = {}
    for regime in plan.governance.compliance:
        for requirement_ in REGIME_CONTROLS[regime]:
            if CONTROL_CAPABILITIES[requirement_.control] in delivered:
                regimes = found.setdefault(requirement_.control.value, [])
                if compliance.title(regime) not in regimes:
                    regimes.append(compliance.title(regime))
    return [f"{code(control)} in place for {', '.join(regimes)}" for control, regimes in found.items()]


def _organisational(plan: Plan, phase: Phase, has_compliance_phase: bool) -> list[str]:
    """Steps outside the stack: those needed before data lands go to phase 1, the rest before go-live."""
    gov = plan.governance
    steps: list[str] = []
    for regime in gov.compliance:
        info = compliance.REGIMES[regime]
        for step in info.organisational:
            first = step.before_data or not has_compliance_phase
            if (phase.spec.key == "foundation") == first and phase.spec.key in ("foundation", "compliance"):
                steps.append(f"{info.title}: {step.text}")
        check = compliance.validation(regime, gov.risk_tier)
        if check and phase.spec.key == "compliance":
            steps.append(f"{info.title}: {check}")
    return steps


def _success(plan: Plan, phase: Phase, rm: Roadmap) -> list[str]:
    key = phase.spec.key
    names = [m.name for m in plan.models]
    if key == "foundation":
        out = ["`mlops synth --strict` passes for every environment (no mandatory policy violation)",
               f"a training run of {names[0]} reproduced from its pinned data version"]
        scheduled = [m for m in plan.models if m.retraining.schedule]
        if scheduled:
            out.append(f"{scheduled[0].name} retrains {schedule(scheduled[0].retraining.schedule)} with no manual step")
        return out
    if key == "cicd":
        out = ["every production version arrived through the pipeline: all gates passed, approvals recorded"]
        out += [f"{m.name} p99 ≤ {m.serving.latency_p99_ms} ms at peak load in staging"
                for m in plan.models if m.serving and m.serving.latency_p99_ms]
        if C.progressive_delivery in phase.new:
            out.append("a deliberately failing release rolls back automatically in a drill")
        return out
    if key == "monitoring":
        routes = ", ".join(r.kind.value for r in plan.alerts) or "an alert route"
        out = [f"every alarm reaches {routes} in a fire drill"]
        out += [f"{m.name} {m.monitoring.quality.metric} reported {schedule(m.monitoring.quality.schedule)}"
                for m in plan.models if m.monitoring.quality]
        return out
    if key == "automation":
        out = []
        triggered = [m for m in plan.models if m.retraining.on_drift or m.retraining.on_performance]
        if triggered:
            out.append(f"an injected drift or quality drop starts retraining of {triggered[0].name} within "
                       f"{triggered[0].retraining.min_interval_hours} h, and the challenger is promoted only after "
                       "winning the gates")
        if C.model_cards in phase.new:
            out.append("every registered version has a model card")
        if C.enforced_approval in phase.new:
            out.append("an approval attempted by anyone outside the approver role is refused")
        return out
    gov = plan.governance
    validated = [compliance.title(r) for r in gov.compliance if compliance.validation(r, gov.risk_tier)]
    return [f"signed off: {', '.join(validated)}",
            f"audit evidence for every regime produced from the audit trail ({years(gov.audit_retention_days)}, "
            f"{AUDIT_LOCK[plan.cloud][gov.audit_lock_mode][0]})"]


def render(inp: DesignInput) -> str:
    plan = inp.plan
    rm = roadmap(plan)
    need = requirement(plan).level
    unit = "quarterly" if rm.quarterly else "monthly"
    rows = []
    for i, phase in enumerate(rm.phases, start=1):
        if phase.spec.key == "compliance":
            why = f"{VALIDATION_MONTHS} month of independent validation"
        else:
            why = (f"{phase.workstreams} workstream{'s' if phase.workstreams > 1 else ''}, the team staffs "
                   f"{rm.team_workstreams}{'; level-3 automation' if phase.level3 else ''}")
        rows.append([str(i), phase.spec.title, rm.when(phase), phase.months, why,
                     "priority" if phase.spec.key in rm.focus_phases else ""])
    parts = [
        "## 6. Implementation roadmap",
        f"**{rm.months} months, in {unit} phases.** The use case requires level {need}, so the roadmap focuses on "
        f"**{rm.focus}**. Team: {plan.team_size} engineers.",
        "How the duration follows from the gaps. " + FORMULA,
        table(["phase", "title", "when", "months", "why", "focus"], rows),
    ]
    has_compliance = any(p.spec.key == "compliance" for p in rm.phases)
    titles = {p.spec.key: f"phase {i} ({p.spec.title})" for i, p in enumerate(rm.phases, start=1)}
    for i, phase in enumerate(rm.phases, start=1):
        milestones = [_milestone(plan, c) for c in phase.new]
        if phase.existing:
            milestones.append("moved onto the platform: " + codes([c.value for c in phase.existing]))
        deps = [titles[d] for d in phase.spec.depends_on if d in titles]
        milestone_parts = ["**Milestones**", bullets(milestones)] if milestones else []
        parts += [
            f"### Phase {i} ({rm.when(phase)}): {phase.spec.title}" + (" — priority" if phase.spec.key in
                                                                      rm.focus_phases else ""),
            f"Goal: {phase.spec.goal}. Depends on: {', '.join(deps) if deps else 'nothing (first phase)'}.",
            *milestone_parts,
        ]
        compliance_items = _compliance_milestones(plan, phase) + _organisational(plan, phase, has_compliance)
        if compliance_items:
            parts += ["**Compliance milestones**", bullets(compliance_items)]
        parts += ["**Success metrics**", bullets(_success(plan, phase, rm))]
    return blocks(*parts)
