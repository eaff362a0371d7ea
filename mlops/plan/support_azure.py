"""What the Azure (Azure ML) back end can honour of a plan (no pulumi import).

One function per area of the back end; `mlops.plan.support.unsupported` calls them for Azure plans.
Each returns the settings Azure ML cannot honour as `Unsupported` (YAML path, why, got, allowed).
"""

from __future__ import annotations

from .model import ModelPlan, Plan
from .support_types import Unsupported


def platform(plan: Plan) -> list[Unsupported]:
    """Workspace, compute, pipelines, sweeps, registry, retraining, governance, Databricks, cost."""
    return []


def platform_model(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Per model: training pipeline, sweep, schedules, retraining triggers."""
    return []


def serving(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Online/batch endpoints, delivery, shadow, streaming, monitoring (drift methods), alerting, feature store."""
    return []


def unsupported(plan: Plan) -> list[Unsupported]:
    """Everything in an Azure plan the Azure ML back end cannot honour."""
    found = list(platform(plan))
    for i, m in enumerate(plan.models):
        found += platform_model(plan, i, m)
        found += serving(plan, i, m)
    return found
