"""What the Vertex AI pipelines back end can honour: training, tuning, registry, retraining (no pulumi import).

Facts behind the table:

- Vertex AI Vizier searches with its default algorithm (Bayesian optimisation), random or grid search;
  grid search takes only discrete, categorical or integer parameters, and the default search spaces
  (components/gcp/pipeline_spec.py SEARCH_SPACES) have continuous ones. Vertex has no Hyperband.
- The search space comes from the framework (`--<hyperparameter>=<value>` arguments to train.py);
  `custom` has none.
- Promotion is one invocation of the model's promotion workflow by one approver (Workflows has no
  built-in multi-party approval), so `min_approvals` above 1 cannot be enforced (mlops.clouds.aws).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .types import Unsupported

if TYPE_CHECKING:
    from mlops.plan.model import ModelPlan, Plan

GCP_SEARCH_STRATEGIES = ("bayesian", "random")
GCP_TUNABLE_FRAMEWORKS = ("lightgbm", "pytorch", "sklearn", "tensorflow", "xgboost")
"""Frameworks with a default search space (components/gcp/pipeline_spec.py keeps it; a test checks they agree)."""

GCP_PIPELINE_FALLBACKS: dict[str, str] = {
    "retraining cool-down": "the retraining workflow starts no run while one of the model's pipeline runs "
                            "started less than min_interval_hours ago (manual runs are exempt)",
    "model cards": "Vertex AI has no model card resource: the register step writes model_card.json next to "
                   "the version's artifacts and labels the version `model-card: attached`",
    "promotion IAM": "Workflows grants invoker only on the project: approvers act through a promoter "
                     "service account only they may impersonate",
}


def pipelines(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Training pipeline, hyperparameter search, registry and approval, schedules, retraining triggers."""
    found: list[Unsupported] = []
    if i == 0 and plan.model_registry and all(model.training is None for model in plan.models):
        found.append(Unsupported(
            ("maturity", "target", "experiment_tracking"), "on GCP the model registry, its promotion workflow and "
            "model cards come with the training pipeline (its register step uploads each version)", "0",
            "1 or more, or maturity.target.model_versioning 0"))
    search = m.training.search if m.training else None
    at = ("models", i, "training", "hyperparameter_search")
    if search is not None:
        if search.strategy.value not in GCP_SEARCH_STRATEGIES:
            why = ("Vertex grid search takes only discrete, categorical or integer parameters; the default "
                   "search spaces have continuous ones" if search.strategy.value == "grid" else
                   "Vertex AI Vizier has no Hyperband algorithm")
            found.append(Unsupported((*at, "strategy"), why, repr(search.strategy.value),
                                     ", ".join(GCP_SEARCH_STRATEGIES)))
        if m.framework not in GCP_TUNABLE_FRAMEWORKS:
            found.append(Unsupported(at, f"no default search space for {m.framework} on GCP: its hyperparameters "
                                         "live in the training script", repr(m.framework),
                                     f"framework {', '.join(GCP_TUNABLE_FRAMEWORKS)}, or remove hyperparameter_search"))
    return found
