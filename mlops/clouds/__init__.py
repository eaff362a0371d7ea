"""Cloud facts: one pulumi-free module per cloud, behind one shape (`CloudFacts`) and one registry.

Each facts module says what its back end can honour of a plan (limits as located errors), its defaults
(the drift measure it computes), its documented fallbacks, and how it locks audit storage and gives an
approval. `unsupported(plan)` runs the limits every back end shares and then the plan's cloud's own;
`mlops validate` runs it for every environment (mlops.plan.plan_environments) and reports all at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops.blueprint.model import Blueprint, Cloud

from . import aws, azure, gcp, names
from .types import CloudFacts, Unsupported

if TYPE_CHECKING:
    from mlops.plan.model import Caution, Plan

FACTS: dict[Cloud, CloudFacts] = {Cloud.aws: aws.FACTS, Cloud.gcp: gcp.FACTS, Cloud.azure: azure.FACTS}
"""The registry: one line per cloud."""


def facts(cloud: Cloud) -> CloudFacts:
    return FACTS[cloud]


def _shared(plan: Plan) -> list[Unsupported]:
    """Limits every back end shares: several approvals, retraining without a pipeline, Databricks."""
    here = facts(plan.cloud)
    found: list[Unsupported] = []
    approval = plan.governance.approval
    if approval is not None and approval.approval.min_approvals > 1:
        # Each cloud approves with one call of one principal: a second, independent approval is not enforceable.
        found.append(Unsupported(
            ("governance", "approvals", str(plan.environment), "min_approvals"),
            f"{here.approval_mechanism}; several approvals cannot be enforced",
            str(approval.approval.min_approvals), "1 (list every approver; any one of them approves)"))
    for i, m in enumerate(plan.models):
        # Retraining starts the training pipeline: without one (experiment_tracking target 0) there is nothing
        # for a drift or quality alarm to start.
        for key in ("on_drift", "on_performance"):
            if m.training is None and getattr(m.retraining, key):
                found.append(Unsupported(
                    ("models", i, "retraining", key), "retraining starts the model's training pipeline, and this "
                    "maturity target builds none", "true", "raise maturity.target.experiment_tracking to 1, or false"))
    if plan.databricks and not here.builds_databricks:
        where = ", ".join(c.value for c, f in FACTS.items() if f.builds_databricks)
        found.append(Unsupported(
            ("data", "databricks"), f"Databricks is not built on {plan.cloud.value}: data preparation runs in the "
            "training pipeline's validate step on the cloud's own ML compute", "true",
            f"false, or cloud {where} (an Azure Databricks workspace linked to the Azure ML workspace)"))
    return found


def unsupported(plan: Plan, blueprint: Blueprint | None = None) -> list[Unsupported]:
    """Everything in the plan its cloud's back end cannot honour (empty when all is well); with the blueprint,
    also every region and instance type it names that the cloud does not have (located where it is written)."""
    found = names.problems(blueprint, plan.environment) if blueprint is not None else []
    return found + _shared(plan) + facts(plan.cloud).unsupported(plan)


def cautions(plan: Plan) -> list[Caution]:
    """What the plan's cloud honours differently than the blueprint's words suggest (located warnings)."""
    return facts(plan.cloud).cautions(plan)


__all__ = ["FACTS", "CloudFacts", "Unsupported", "cautions", "facts", "unsupported"]
