"""Which planned capabilities each back end builds today (no pulumi import: the CLI reads it).

A capability the plan turns on but the back end does not build yet is reported by `mlops plan`
and `mlops synth`, never silently dropped. Each back end's root component builds exactly these.
"""

from __future__ import annotations

from mlops.plan import Capability, Plan
from mlops.plan.vocabulary import Cloud

_FOUNDATION = frozenset({Capability.foundation, Capability.audit_trail})

# AWS, by area of the back end (each area's module adds what it builds).
_AWS_PIPELINES: frozenset[Capability] = frozenset({
    Capability.model_registry, Capability.champion_challenger, Capability.training_pipeline,
    Capability.hyperparameter_search, Capability.scheduled_retraining, Capability.drift_retraining,
    Capability.performance_retraining,
})
_AWS_SERVING: frozenset[Capability] = frozenset({
    Capability.serving, Capability.autoscaling, Capability.progressive_delivery, Capability.shadow_deployment,
    Capability.sre_alarms, Capability.prediction_logging, Capability.quality_monitoring, Capability.drift_monitoring,
    # Approval: versions register pending approval (pipelines); approved ones deploy (the deployer, here).
    Capability.approval_workflow,
})
_AWS_PLATFORM: frozenset[Capability] = frozenset({
    Capability.experiment_tracking, Capability.feature_store, Capability.freshness_alerts, Capability.rbac_roles,
    Capability.enforced_approval, Capability.model_cards, Capability.cost_controls,
})

# GCP, by area: pipelines (KFP spec, registry, schedules, retraining), serving (endpoints, delivery,
# monitoring, alerting), platform (network, tracking, feature store, governance, cost).
_GCP_PIPELINES: frozenset[Capability] = frozenset({
    Capability.training_pipeline, Capability.hyperparameter_search, Capability.model_registry,
    Capability.champion_challenger, Capability.scheduled_retraining, Capability.drift_retraining,
    Capability.performance_retraining,
    # Promotion only through the approvers' promoter identity; cards written by the register step.
    Capability.enforced_approval, Capability.model_cards,
})
_GCP_SERVING: frozenset[Capability] = frozenset({
    Capability.serving, Capability.autoscaling, Capability.progressive_delivery, Capability.sre_alarms,
    Capability.prediction_logging, Capability.drift_monitoring, Capability.quality_monitoring,
    # Approval: the promotion workflow (pipelines) runs the model's deployer workflow (here).
    Capability.approval_workflow,
})
_GCP_PLATFORM: frozenset[Capability] = frozenset({
    Capability.experiment_tracking, Capability.feature_store, Capability.freshness_alerts, Capability.rbac_roles,
    Capability.cost_controls,
})

# Azure, by area: platform (workspace, compute, pipelines, registry, retraining, governance, Databricks,
# cost), serving (endpoints, delivery, monitoring, alerting, feature store).
_AZURE_PLATFORM: frozenset[Capability] = frozenset({
    Capability.experiment_tracking, Capability.training_pipeline, Capability.hyperparameter_search,
    Capability.scheduled_retraining, Capability.model_registry, Capability.champion_challenger,
    Capability.enforced_approval, Capability.model_cards, Capability.rbac_roles, Capability.cost_controls,
    # Drift: the monitors' breached runs; performance: the quality job's runs failed on a missed bar.
    Capability.drift_retraining, Capability.performance_retraining,
})
_AZURE_SERVING: frozenset[Capability] = frozenset({
    Capability.serving, Capability.autoscaling, Capability.shadow_deployment, Capability.prediction_logging,
    Capability.drift_monitoring, Capability.quality_monitoring, Capability.sre_alarms, Capability.feature_store,
    Capability.freshness_alerts,
    # Approval: promotion into the registry (platform area) is the approval; approved versions roll out
    # (the deployer job, here), walking the blueprint's delivery strategy.
    Capability.progressive_delivery, Capability.approval_workflow,
})

BUILT: dict[Cloud, frozenset[Capability]] = {
    Cloud.aws: _FOUNDATION | _AWS_PIPELINES | _AWS_SERVING | _AWS_PLATFORM,
    Cloud.gcp: _FOUNDATION | _GCP_PIPELINES | _GCP_SERVING | _GCP_PLATFORM,
    Cloud.azure: _FOUNDATION | _AZURE_PLATFORM | _AZURE_SERVING,
}


def not_yet_built(plan: Plan) -> list[Capability]:
    """Capabilities the plan enables that this cloud's back end does not build yet."""
    return [c for c in plan.capabilities if c not in BUILT[plan.cloud]]
