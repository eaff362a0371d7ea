"""What the Vertex AI serving and monitoring back end can honour (no pulumi import).

Facts behind the table:

- Vertex endpoints split traffic between deployed models in whole percentages; a deployed model
  keeps at least one replica (`minReplicaCount` >= 1).
- Vertex has no traffic mirroring (shadow): a shadow is a plan error on GCP; a canary gives the
  challenger real traffic instead.
- Batch prediction writes to Cloud Storage (gs://) or BigQuery (bq://).
- Streaming serving (a consumer in front of an endpoint) is not built on GCP.
- Vertex model monitoring computes Jensen-Shannon divergence for numerical features and L-infinity
  distance for categorical ones, every N whole hours.
- Quality is scored by the platform's scheduled query (components/gcp/quality.py), for the metrics
  in GCP_QUALITY_METRICS, on logged predictions: it needs prediction logging above 0 %.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mlops.blueprint.model import DriftMethod, ServingMode
from mlops.plan.schedule import KEYWORDS, Schedule

from .gcp_pipelines import gpu_machine
from .types import Unsupported

if TYPE_CHECKING:
    from mlops.plan.model import ModelPlan, Plan

GCP_QUALITY_METRICS = ("accuracy", "ctr", "f1", "mae", "mse", "precision", "recall", "rmse")
"""Metrics the quality query computes (components/gcp/quality.py keeps the SQL; a test checks they agree)."""
GCP_DRIFT_METHODS = (DriftMethod.jensen_shannon, DriftMethod.l_infinity)
CATEGORICAL_TYPES = ("string", "bool")
# Vertex runs a monitoring job every N whole hours: the shapes whose runs are that regular (besides weekly
# and monthly, which keep their period from the job's creation, see GCP_FALLBACKS).
_EVERY_N_HOURS = re.compile(r"^0 (\*|\*/([1-9]|1\d|2[0-4])|[01]?\d|2[0-3]) \* \* \*$")
_LONGER = (KEYWORDS["weekly"], KEYWORDS["monthly"])

GCP_FALLBACKS: dict[str, str] = {
    "drift over all features": "with `drift.features` empty, Vertex applies Jensen-Shannon to numerical and "
                               "L-infinity to categorical features, whichever method the blueprint names",
    "monthly monitoring": "Vertex monitors every N hours: monthly drift and quality run every 30 days",
    "daily at an hour": "`0 H * * *` drift schedules run every 24 hours from the job's creation",
}


def monitor_interval_hours(schedule: Schedule) -> int | None:
    """Vertex runs monitoring every N whole hours: the schedule's `period_hours`, or None when Vertex cannot
    run it (minutes other than 0, or days restricted other than weekly and monthly)."""
    if schedule.cron in _LONGER or _EVERY_N_HOURS.match(schedule.cron):
        return schedule.period_hours
    return None


def vertex_measure(feature_type: str) -> DriftMethod:
    """What Vertex computes for a feature of this blueprint type."""
    return DriftMethod.l_infinity if feature_type in CATEGORICAL_TYPES else DriftMethod.jensen_shannon


def _feature_types(plan: Plan) -> dict[str, str]:
    store = plan.feature_store
    return {f.name: f.type for e in store.entities for f in e.features} if store else {}


def serving(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Endpoints, delivery, shadow, batch, streaming, drift methods and schedules, quality metrics."""
    found: list[Unsupported] = []
    at = ("models", i)
    s = m.serving
    if s is not None:
        found += gpu_machine(s.instance, (*at, "serving", "instance"))
        if s.mode == ServingMode.streaming:
            found.append(Unsupported(
                (*at, "serving", "mode"), "streaming serving is not built on GCP", "'streaming'",
                "realtime (with your own Pub/Sub or Dataflow consumer calling the endpoint) or batch"))
        if s.mode == ServingMode.batch and s.output_uri and not s.output_uri.startswith(("gs://", "bq://")):
            found.append(Unsupported((*at, "serving", "output_uri"),
                                     "Vertex batch prediction writes to Cloud Storage or BigQuery",
                                     repr(s.output_uri), "a gs:// or bq:// URI"))
        if s.mode == ServingMode.realtime:
            for key in ("batching", "caching"):
                if getattr(s, key) is not None:
                    found.append(Unsupported(
                        (*at, "serving", key), f"Vertex AI endpoints have no request {key}: the deployed model's "
                        "container answers each request", "set", f"no {key} (do it in the caller or the container)"))
            if s.shadow is not None:
                found.append(Unsupported(
                    (*at, "serving", "shadow"), "Vertex AI endpoints cannot mirror traffic to a shadow model",
                    f"sample_percent {s.shadow.sample_percent:g}",
                    "no shadow (a canary gives the challenger a share of real traffic instead)"))
            if s.min_instances < 1:
                found.append(Unsupported((*at, "serving", "min_instances"),
                                         "a Vertex deployed model keeps at least one replica", str(s.min_instances),
                                         "1 or more"))
    mon = m.monitoring
    logging = mon.prediction_logging_percent
    if s is not None and s.mode == ServingMode.batch:
        for kind, setting in (("drift", mon.drift), ("quality", mon.quality)):
            if setting is not None:
                found.append(Unsupported((*at, "monitoring", kind),
                                         f"GCP {kind} monitoring watches the requests logged by real-time endpoints",
                                         "batch serving", f"realtime serving, or no {kind} monitor"))
    drift = mon.drift
    if drift is not None:
        if drift.method not in GCP_DRIFT_METHODS:
            found.append(Unsupported(
                (*at, "monitoring", "drift", "method"),
                "Vertex model monitoring computes Jensen-Shannon (numerical) and L-infinity (categorical) only",
                repr(drift.method.value), "jensen_shannon (numerical features), l_infinity (categorical features)"))
        else:
            types = _feature_types(plan)
            wrong = [f for f in drift.features if f in types and vertex_measure(types[f]) != drift.method]
            if wrong:
                found.append(Unsupported(
                    (*at, "monitoring", "drift", "features"),
                    f"Vertex measures {drift.method.value} only on "
                    f"{'numerical' if drift.method == DriftMethod.jensen_shannon else 'categorical'} features",
                    ", ".join(wrong), "features of the matching kind (string/bool: l_infinity; others: "
                    "jensen_shannon), or one model entry per method"))
        if monitor_interval_hours(drift.schedule) is None:
            found.append(Unsupported((*at, "monitoring", "drift", "schedule"),
                                     "Vertex model monitoring runs every N whole hours", repr(drift.schedule.text),
                                     "hourly, daily, weekly, monthly, `0 */N * * *` or `0 H * * *`"))
    q = mon.quality
    if q is not None:
        if q.metric not in GCP_QUALITY_METRICS:
            found.append(Unsupported((*at, "monitoring", "quality", "metric"),
                                     "the GCP quality check does not compute this metric", repr(q.metric),
                                     ", ".join(GCP_QUALITY_METRICS)))
        if logging is not None and logging == 0 and s is not None and s.mode == ServingMode.realtime:
            found.append(Unsupported((*at, "monitoring", "prediction_logging_percent"),
                                     "quality is scored on logged predictions; none are logged at 0 %", "0",
                                     "1-100"))
    return found
