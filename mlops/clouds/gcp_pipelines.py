"""What the Vertex AI pipelines back end can honour: training, tuning, registry, retraining (no pulumi import).

Facts behind the table:

- Vertex AI Vizier searches with its default algorithm (Bayesian optimisation), random or grid search;
  grid search takes only discrete, categorical or integer parameters, and the default search spaces
  (components/gcp/pipeline_spec.py SEARCH_SPACES) have continuous ones. Vertex has no Hyperband.
- The search space comes from the framework (`--<hyperparameter>=<value>` arguments to train.py);
  `custom` has none.
- The objective is the tuning job's `studySpec.metrics[].metricId`, which Vertex reads verbatim from the
  tuning launcher's `--payload` argument: KFP resolves `{{$.…}}` placeholders anywhere in a container's
  arguments (no escape), and Vertex metric ids "must not contain whitespaces" (StudySpec.MetricSpec). It
  cannot be encoded (Vertex compares it with what `cloudml-hypertune` reports), so the characters that
  could open a placeholder, a quote or a word break are refused.
- Promotion is one invocation of the model's promotion workflow by one approver (Workflows has no
  built-in multi-party approval), so `min_approvals` above 1 cannot be enforced (mlops.clouds.aws).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .gcp_machines import GPU_MACHINES, unknown_gpu_machine
from .types import Unsupported

if TYPE_CHECKING:
    from mlops.plan.model import ModelPlan, Plan

GCP_SEARCH_STRATEGIES = ("bayesian", "random")
GCP_TUNABLE_FRAMEWORKS = ("lightgbm", "pytorch", "sklearn", "tensorflow", "xgboost")
"""Frameworks with a default search space (components/gcp/pipeline_spec.py keeps it; a test checks they agree)."""
GCP_OWN_IMAGE_FRAMEWORKS = ("custom", "lightgbm")
"""Frameworks without Google's prebuilt images: the team's own, at the tag of `mlops:imageTags`
(components/gcp/pipeline_spec.py `brings_own_image`; a test checks they agree)."""

VERTEX_METRIC_ID_REFUSED = re.compile(r"[\s\x00-\x1f\x7f-\x9f{}\"'`\\$]")
"""What a Vertex objective metric id may not contain: whitespace and control characters (Vertex), braces
(KFP placeholders `{{$…}}`), quotes, backticks, backslashes and `$` (verbatim in JSON and commands)."""

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
    if m.training is not None:
        found += gpu_machine(m.training.instance, ("models", i, "training", "instance"))
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
        found += _objective(search.objective_metric, at)
    return found


def _objective(metric: str, at: tuple[str | int, ...]) -> list[Unsupported]:
    """The objective metric id, refused where Vertex or KFP would read more than a name in it."""
    bad = VERTEX_METRIC_ID_REFUSED.search(metric)
    if bad is None:
        return []
    return [Unsupported((*at, "objective_metric"), "Vertex reads the objective metric id verbatim from the pipeline "
                        f"spec (KFP resolves {{{{…}}}} placeholders there) and metric ids take no whitespace: "
                        f"{bad.group()!r} cannot be part of one", repr(metric),
                        "a metric name without whitespace, quotes, braces, backslashes or $ (e.g. val_auc)")]


def gpu_machine(instance: object, at: tuple[str | int, ...]) -> list[Unsupported]:
    """A machine of an accelerator-optimized family must be one whose GPUs Vertex is told (see gcp_machines)."""
    if not isinstance(instance, str) or not unknown_gpu_machine(instance):
        return []
    family = instance.split("-")[0]
    known = sorted(t for t in GPU_MACHINES if t.startswith(f"{family}-")) or sorted(GPU_MACHINES)
    return [Unsupported(at, "an accelerator-optimized machine runs only with the GPUs it is built with, and this "
                            "one is not in the dated table of GPU machine types (mlops/clouds/gcp_machines.py)",
                        repr(instance), ", ".join(known))]
