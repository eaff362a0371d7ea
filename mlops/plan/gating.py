"""Maturity gating: which capability each maturity level turns on. It lives here and nowhere else.

Each gate names the dimension whose *target* level decides it and the level it needs. A
capability is built when its level is reached and it is either on by default at that level or
asked for in the blueprint. Asking for a capability above the target is an error, never a
silent drop: the message says which level to raise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain

from mlops.blueprint.diagnostics import YamlPath
from mlops.blueprint.model import Blueprint, DeliveryStrategy, Dimension, ServingMode


class Capability(StrEnum):
    """What the platform can build, with the same names on every cloud."""

    foundation = "foundation"
    rbac_roles = "rbac_roles"
    audit_trail = "audit_trail"
    cost_controls = "cost_controls"
    feature_store = "feature_store"
    experiment_tracking = "experiment_tracking"
    training_pipeline = "training_pipeline"
    scheduled_retraining = "scheduled_retraining"
    hyperparameter_search = "hyperparameter_search"
    model_registry = "model_registry"
    champion_challenger = "champion_challenger"
    serving = "serving"
    autoscaling = "autoscaling"
    progressive_delivery = "progressive_delivery"
    shadow_deployment = "shadow_deployment"
    sre_alarms = "sre_alarms"
    prediction_logging = "prediction_logging"
    quality_monitoring = "quality_monitoring"
    freshness_alerts = "freshness_alerts"
    drift_monitoring = "drift_monitoring"
    drift_retraining = "drift_retraining"
    performance_retraining = "performance_retraining"
    approval_workflow = "approval_workflow"
    enforced_approval = "enforced_approval"
    model_cards = "model_cards"


Requests = Callable[[Blueprint], Iterator[YamlPath]]
"""Where the blueprint explicitly asks for a capability (YAML paths); empty if it does not."""


@dataclass(frozen=True)
class Gate:
    capability: Capability
    dimension: Dimension | None
    level: int
    summary: str
    default_on: Callable[[Blueprint], bool]
    requests: Requests


def _never(_: Blueprint) -> Iterator[YamlPath]:
    return iter(())


def _always(_: Blueprint) -> bool:
    return True


def _no(_: Blueprint) -> bool:
    return False


def _online(bp: Blueprint) -> bool:
    return any(m.serving.mode != ServingMode.batch for m in bp.models)


def _explicit(bp: Blueprint, section: str, key: str,
              when: Callable[[object], bool] = bool) -> Iterator[YamlPath]:
    """Paths `models[i].<section>.<key>` that the blueprint wrote and that ask for something."""
    for i, model in enumerate(bp.models):
        part = getattr(model, section)
        if key in part.model_fields_set and when(getattr(part, key)):
            yield ("models", i, section, key)


def _model_sections(section: str) -> Requests:
    def find(bp: Blueprint) -> Iterator[YamlPath]:
        for i, model in enumerate(bp.models):
            if section in model.model_fields_set:
                yield ("models", i, section)
    return find


def _progressive(bp: Blueprint) -> Iterator[YamlPath]:
    for i, model in enumerate(bp.models):
        if model.serving.delivery.strategy != DeliveryStrategy.all_at_once:
            yield ("models", i, "serving", "delivery", "strategy")


def _approvals(bp: Blueprint) -> Iterator[YamlPath]:
    if bp.governance.approvals:
        yield ("governance", "approvals")


def _model_cards(bp: Blueprint) -> Iterator[YamlPath]:
    if bp.governance.model_card_required:
        yield ("governance", "model_card_required")


def _freshness(bp: Blueprint) -> Iterator[YamlPath]:
    if bp.feature_store and bp.feature_store.freshness_sla_minutes is not None:
        yield ("feature_store", "freshness_sla_minutes")


GATES: tuple[Gate, ...] = (
    Gate(Capability.foundation, None, 0, "keys, encrypted storage, execution identity", _always, _never),
    Gate(Capability.rbac_roles, None, 0, "least-privilege roles for data scientists, ML engineers, approvers",
         _always, _never),
    Gate(Capability.audit_trail, None, 0, "audit log storage with a retention lock", _always, _never),
    Gate(Capability.cost_controls, None, 0, "monthly budget with alerts (when `cost` is set)",
         lambda bp: bp.cost is not None or any(e.monthly_budget_usd for e in bp.environments.values()),
         _never),
    Gate(Capability.feature_store, None, 0, "online/offline feature store (when `feature_store` is set)",
         lambda bp: bp.feature_store is not None, _never),
    Gate(Capability.experiment_tracking, Dimension.experiment_tracking, 1,
         "managed MLflow / experiment store", _always, _never),
    Gate(Capability.training_pipeline, Dimension.experiment_tracking, 1,
         "reproducible training DAG with quality gates", _always, _model_sections("training")),
    Gate(Capability.scheduled_retraining, Dimension.experiment_tracking, 1, "training on a schedule",
         _no, lambda bp: _explicit(bp, "retraining", "schedule", lambda v: v is not None)),
    Gate(Capability.hyperparameter_search, Dimension.experiment_tracking, 2,
         "tuning jobs within a trial budget", _no,
         lambda bp: _explicit(bp, "training", "hyperparameter_search", lambda v: v is not None)),
    Gate(Capability.model_registry, Dimension.model_versioning, 1, "versioned model registry",
         _always, _never),
    Gate(Capability.champion_challenger, Dimension.model_versioning, 2,
         "challenger must beat the champion before promotion", _always,
         lambda bp: chain(_explicit(bp, "quality_gates", "compare_to_champion"),
                          _explicit(bp, "retraining", "champion_challenger"))),
    Gate(Capability.serving, Dimension.deployment, 1, "endpoints / batch jobs for each model", _always,
         _model_sections("serving")),
    Gate(Capability.autoscaling, Dimension.deployment, 1, "instance bounds and target-tracking scaling",
         _online, _never),
    Gate(Capability.progressive_delivery, Dimension.deployment, 2,
         "canary / blue-green / rolling with automatic rollback", _online, _progressive),
    Gate(Capability.shadow_deployment, Dimension.deployment, 2, "challenger receives mirrored traffic", _no,
         lambda bp: _explicit(bp, "serving", "shadow", lambda v: v is not None)),
    Gate(Capability.sre_alarms, Dimension.monitoring, 1, "latency, error and utilisation alarms",
         _online, _never),
    Gate(Capability.prediction_logging, Dimension.monitoring, 1, "sampled request/response capture", _online,
         lambda bp: _explicit(bp, "monitoring", "prediction_logging_percent", lambda v: v is not None)),
    Gate(Capability.quality_monitoring, Dimension.monitoring, 1, "model quality against ground truth", _no,
         lambda bp: _explicit(bp, "monitoring", "quality", lambda v: v is not None)),
    Gate(Capability.freshness_alerts, Dimension.monitoring, 1, "alarm when features go stale",
         _no, _freshness),
    Gate(Capability.drift_monitoring, Dimension.monitoring, 2, "feature drift detection per endpoint",
         _online, lambda bp: _explicit(bp, "monitoring", "drift", lambda v: v is not None)),
    Gate(Capability.drift_retraining, Dimension.monitoring, 3, "drift alarms start retraining", _no,
         lambda bp: _explicit(bp, "retraining", "on_drift")),
    Gate(Capability.performance_retraining, Dimension.monitoring, 3, "quality alarms start retraining", _no,
         lambda bp: _explicit(bp, "retraining", "on_performance")),
    Gate(Capability.approval_workflow, Dimension.governance, 1, "promotion needs recorded approval", _no,
         _approvals),
    Gate(Capability.enforced_approval, Dimension.governance, 2,
         "only the approver role can approve (enforced by IAM)",
         lambda bp: bool(bp.governance.approvals), _never),
    Gate(Capability.model_cards, Dimension.governance, 2, "model cards required at registration", _no,
         _model_cards),
)


@dataclass(frozen=True)
class GateDecision:
    capability: Capability
    enabled: bool
    reason: str


@dataclass(frozen=True)
class GateViolation:
    path: YamlPath
    message: str
    got: int
    allowed: str


def decide(bp: Blueprint) -> tuple[list[GateDecision], list[GateViolation]]:
    """Apply the gate table to a blueprint: a decision per capability and every request above target."""
    decisions: list[GateDecision] = []
    violations: list[GateViolation] = []
    for gate in GATES:
        requested = list(gate.requests(bp))
        target = bp.maturity.target.level(gate.dimension) if gate.dimension else 0
        reached = target >= gate.level
        where = f"maturity.target.{gate.dimension.value}" if gate.dimension else ""
        if reached and (requested or gate.default_on(bp)):
            why = "asked for" if requested else "on by default"
            reason = f"{why} at {where} {target} (needs {gate.level})" if gate.dimension else why
            decisions.append(GateDecision(gate.capability, True, reason))
        elif not reached:
            needs = f"needs {where} >= {gate.level}"
            decisions.append(GateDecision(gate.capability, False, f"{needs} (target {target})"))
            violations += [
                GateViolation(path, f"{gate.capability.value.replace('_', ' ')} {needs}", target,
                              f"raise {where} to {gate.level}, or remove this setting")
                for path in requested
            ]
        else:
            decisions.append(GateDecision(gate.capability, False, "not asked for in the blueprint"))
    return decisions, violations
