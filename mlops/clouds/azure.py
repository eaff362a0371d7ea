"""The Azure facts: what the Azure ML back end can honour of a plan, its defaults and fallbacks (no pulumi).

One function per area of the back end; `mlops.clouds.unsupported` calls them for Azure plans.
Each returns the settings Azure ML cannot honour as `Unsupported` (YAML path, why, got, allowed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops.blueprint.model import Cloud, DriftMethod, ServingMode

from . import azure_platform
from .types import CloudFacts, Unsupported

if TYPE_CHECKING:
    from mlops.plan.model import ModelPlan, Plan


def platform(plan: Plan) -> list[Unsupported]:
    """Workspace, compute, pipelines, sweeps, registry, retraining, governance, Databricks, cost."""
    return azure_platform.platform(plan)


def platform_model(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Per model: training pipeline, sweep, schedules, retraining triggers."""
    return azure_platform.platform_model(plan, i, m)


# --- serving area (components/azure/{endpoints,batch,monitoring,feature_store}.py keep the same limits).
AZURE_MAX_MIRROR_PERCENT = 50
"""Azure ML mirrors at most 50 % of an endpoint's traffic, to one deployment, in whole percent."""
AZURE_DRIFT_METHODS = ("psi", "jensen_shannon", "wasserstein", "ks")
"""Blueprint drift methods Azure ML model monitoring computes (l_infinity has no Azure metric)."""
AZURE_MAX_FRESHNESS_MINUTES = 2880
"""A log alert evaluates at most two days: the longest freshness SLA the feature store alert can watch."""
AZURE_BATCH_OUTPUTS = ("abfss://", "azureml://")
AZURE_QUALITY_METRICS = ("accuracy", "precision", "recall", "f1", "auc", "auroc", "roc_auc", "ctr", "mae", "mse",
                         "rmse", "r2", "mape")
"""Metrics the Azure quality job computes (components/azure/scripts/model_quality.py; a test checks they agree)."""


def _whole(value: float) -> bool:
    return float(value).is_integer()


def _serving_feature_store(plan: Plan) -> list[Unsupported]:
    store = plan.feature_store
    sla = store.freshness_sla_minutes if store is not None else None
    if sla is not None and sla > AZURE_MAX_FRESHNESS_MINUTES:
        return [Unsupported(("feature_store", "freshness_sla_minutes"),
                            "Azure Monitor log alerts look back at most two days", str(sla),
                            f"1-{AZURE_MAX_FRESHNESS_MINUTES}")]
    return []


def _serving_online(at: tuple[str | int, ...], m: ModelPlan) -> list[Unsupported]:
    s = m.serving
    assert s is not None
    found: list[Unsupported] = []
    if s.batching is not None or s.caching is not None:
        key = "batching" if s.batching is not None else "caching"
        found.append(Unsupported((*at, "serving", key),
                                 "Azure ML managed online deployments of MLflow models neither batch "
                                 "nor cache requests",
                                 key, "remove it (batch or cache in the caller)"))
    a = s.autoscaling
    if a is not None and a.target_requests_per_instance is not None:
        found.append(Unsupported((*at, "serving", "autoscaling", "target_requests_per_instance"),
                                 "Azure ML target-utilisation scaling follows CPU utilisation only",
                                 str(a.target_requests_per_instance), "target_utilization_percent"))
    if a is not None and not _whole(a.target_utilization_percent):
        found.append(Unsupported((*at, "serving", "autoscaling", "target_utilization_percent"),
                                 "Azure ML scales to a whole-percent utilisation target",
                                 f"{a.target_utilization_percent:g}", "a whole number from 1 to 100"))
    if s.shadow is not None:
        share = s.shadow.sample_percent
        if not (0 < share <= AZURE_MAX_MIRROR_PERCENT and _whole(share)):
            found.append(Unsupported((*at, "serving", "shadow", "sample_percent"),
                                     "Azure ML mirrors a whole percentage of at most 50 % of the traffic",
                                     f"{share:g}", f"a whole number from 1 to {AZURE_MAX_MIRROR_PERCENT}"))
    # Canary and rolling shares are whole percentages from 1 to 99 on every cloud (blueprint rule
    # delivery-step-percent): the plan's delivery steps are what Azure ML traffic splits take.
    return found


def _serving_quality(at: tuple[str | int, ...], m: ModelPlan) -> list[Unsupported]:
    quality = m.monitoring.quality
    if quality is None:
        return []
    found: list[Unsupported] = []
    if quality.metric not in AZURE_QUALITY_METRICS:
        found.append(Unsupported((*at, "monitoring", "quality", "metric"),
                                 "the Azure quality job does not compute this metric", repr(quality.metric),
                                 ", ".join(AZURE_QUALITY_METRICS)))
    online = m.serving is not None and m.serving.mode == ServingMode.realtime
    if online and m.monitoring.prediction_logging_percent == 0 and m.monitoring.drift is None:
        found.append(Unsupported((*at, "monitoring", "prediction_logging_percent"),
                                 "quality monitoring of an online model reads its collected outputs; none are "
                                 "collected at 0 %", "0", "1-100"))
    return found


def _serving_monitoring(at: tuple[str | int, ...], m: ModelPlan) -> list[Unsupported]:
    mon = m.monitoring
    drift = mon.drift
    if drift is None:
        return _serving_quality(at, m)
    found: list[Unsupported] = _serving_quality(at, m)
    if m.serving is not None and m.serving.mode != ServingMode.realtime:
        found.append(Unsupported((*at, "monitoring", "drift"),
                                 "Azure ML monitors read what an online deployment's data collector records; "
                                 "batch and streaming models have none", repr(m.serving.mode.value),
                                 "realtime serving, or remove monitoring.drift"))
    if drift.method.value not in AZURE_DRIFT_METHODS:
        found.append(Unsupported((*at, "monitoring", "drift", "method"),
                                 "Azure ML model monitoring has no L-infinity distance", repr(drift.method.value),
                                 ", ".join(AZURE_DRIFT_METHODS)))
    if mon.prediction_logging_percent is not None and mon.prediction_logging_percent == 0:
        found.append(Unsupported((*at, "monitoring", "prediction_logging_percent"),
                                 "drift monitoring reads the collected requests; none are collected at 0 %", "0",
                                 "1-100"))
    return found


def serving(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Online/batch endpoints, delivery, shadow, streaming, monitoring (drift methods), alerting, feature store.

    The feature store is plan-wide: it is checked with the first model.
    """
    found = _serving_feature_store(plan) if i == 0 else []
    at: tuple[str | int, ...] = ("models", i)
    s = m.serving
    if s is not None:
        if s.mode == ServingMode.streaming:
            found.append(Unsupported((*at, "serving", "mode"), "streaming serving is not built on Azure",
                                     "'streaming'", "realtime (with your own Event Hubs consumer calling the "
                                     "endpoint) or batch"))
        elif s.mode == ServingMode.realtime:
            found += _serving_online(at, m)
        elif s.output_uri is not None and not s.output_uri.startswith(AZURE_BATCH_OUTPUTS):
            found.append(Unsupported((*at, "serving", "output_uri"),
                                     "Azure ML batch endpoints write to datastores (ADLS Gen2 or azureml://)",
                                     repr(s.output_uri), "an abfss:// or azureml://datastores/... URI"))
    found += _serving_monitoring(at, m)
    return found


def unsupported(plan: Plan) -> list[Unsupported]:
    """Everything in an Azure plan the Azure ML back end cannot honour."""
    found = list(platform(plan))
    for i, m in enumerate(plan.models):
        found += platform_model(plan, i, m)
        found += serving(plan, i, m)
    return found


FACTS = CloudFacts(
    cloud=Cloud.azure, name="Azure ML", unsupported=unsupported, fallbacks=azure_platform.AZURE_PLATFORM_FALLBACKS,
    default_drift_method=DriftMethod.psi,
    # The audit account's version-level immutability policy is Locked by a property `pulumi up` sets
    # (components.azure.audit; the first production deployment creates it Unlocked: "audit lock").
    locks_audit_storage=True, builds_databricks=True,
    approval_mechanism="an Azure ML registry promotion is one approver's copy into the registry")
