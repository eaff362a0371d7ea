"""What the GCP (Vertex AI) back end can honour of a plan (no pulumi import).

One function per area of the back end; `mlops.plan.support.unsupported` calls them for GCP plans.
Each returns the settings Vertex cannot honour as `Unsupported` (YAML path, why, got, allowed).
"""

from __future__ import annotations

from . import support_gcp_pipelines, support_gcp_platform, support_gcp_serving
from .model import ModelPlan, Plan
from .support_types import Unsupported


def pipelines(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Training pipeline, hyperparameter search, registry, schedules, retraining triggers."""
    return support_gcp_pipelines.pipelines(plan, i, m)


def serving(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Endpoints, delivery, shadow, batch, streaming, monitoring (drift methods), alerting."""
    return support_gcp_serving.serving(plan, i, m)


def platform(plan: Plan) -> list[Unsupported]:
    """Network, tracking, feature store, governance, cost."""
    return support_gcp_platform.platform(plan)


def unsupported(plan: Plan) -> list[Unsupported]:
    """Everything in a GCP plan the Vertex back end cannot honour."""
    found = list(platform(plan))
    for i, m in enumerate(plan.models):
        found += pipelines(plan, i, m)
        found += serving(plan, i, m)
    return found
