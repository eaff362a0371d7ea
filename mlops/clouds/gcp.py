"""The GCP facts: what the Vertex AI back end can honour of a plan, its defaults and fallbacks (no pulumi).

One function per area of the back end; `mlops.clouds.unsupported` calls them for GCP plans.
Each returns the settings Vertex cannot honour as `Unsupported` (YAML path, why, got, allowed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops.blueprint.model import Cloud, DriftMethod

from . import gcp_pipelines, gcp_platform, gcp_serving
from .types import CloudFacts, Unsupported

if TYPE_CHECKING:
    from mlops.plan.model import ModelPlan, Plan


def pipelines(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Training pipeline, hyperparameter search, registry, schedules, retraining triggers."""
    return gcp_pipelines.pipelines(plan, i, m)


def serving(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Endpoints, delivery, shadow, batch, streaming, monitoring (drift methods), alerting."""
    return gcp_serving.serving(plan, i, m)


def platform(plan: Plan) -> list[Unsupported]:
    """Network, tracking, feature store, governance, cost."""
    return gcp_platform.platform(plan)


def unsupported(plan: Plan) -> list[Unsupported]:
    """Everything in a GCP plan the Vertex back end cannot honour."""
    found = list(platform(plan))
    for i, m in enumerate(plan.models):
        found += pipelines(plan, i, m)
        found += serving(plan, i, m)
    return found


FACTS = CloudFacts(
    cloud=Cloud.gcp, name="GCP (Vertex AI)", unsupported=unsupported,
    fallbacks={**gcp_serving.GCP_FALLBACKS, **gcp_pipelines.GCP_PIPELINE_FALLBACKS},
    # Vertex model monitoring computes Jensen-Shannon for numerical features; it has no PSI.
    default_drift_method=DriftMethod.jensen_shannon, locks_audit_storage=True, builds_databricks=False,
    approval_mechanism="a Vertex promotion is one approver's invocation of the promotion workflow")
