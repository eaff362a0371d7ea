"""The capability matrix: one blueprint option at a time, on every cloud (used by test_capability_matrix.py).

Every option the blueprint offers for a capability (each delivery strategy, drift method, serving mode,
retraining trigger, training setting, alert kind, compliance regime …) is a patch of a base blueprint that
is valid on its cloud. A test then checks that each option is either refused by validate with a located
error that says what the cloud offers instead, or synthesized with evidence of the exact values asked for.

Model options are applied to one model each and grouped into multi-model blueprints, so that one synth
covers many options; platform options get a blueprint of their own.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from accounts import environments

CLOUDS = ("aws", "gcp", "azure")
REGION = {"aws": "us-east-1", "gcp": "europe-west4", "azure": "westeurope"}
OUTPUT = {"aws": "s3://scores/out/", "gcp": "gs://scores/out/",
          "azure": "abfss://scores@account.dfs.core.windows.net/out/"}
PRINCIPALS = {
    "aws": {"data_scientist": ["DataScientists"], "ml_engineer": ["MlEngineers"], "approver": ["ModelRisk"]},
    "gcp": {"data_scientist": ["ds-team"], "ml_engineer": ["mle-team"], "approver": ["risk-team"],
            "group_domain": "example.com"},
    "azure": {"data_scientist": ["group:00000000-0000-0000-0000-00000000000a"],
              "ml_engineer": ["group:00000000-0000-0000-0000-00000000000b"],
              "approver": ["group:00000000-0000-0000-0000-00000000000c"]},
}


@dataclass(frozen=True)
class Option:
    """One thing a blueprint can ask for: a patch of one model (`model`) or of the whole blueprint (`top`)."""

    id: str
    model: dict[str, Any] = field(default_factory=dict)
    top: dict[str, Any] = field(default_factory=dict)
    shows: tuple[str, ...] = ()
    """Capabilities whose evidence must name this option's model (or exist at all, for a platform option)."""
    hides: tuple[str, ...] = ()
    """Capabilities switched off for this option's model: it must get fewer resources than the default model."""


def base_model(name: str) -> dict[str, Any]:
    return {"name": name, "quality_gates": {"metrics": [{"metric": "auc", "threshold": 0.8}]},
            "serving": {"latency_p99_ms": 200}}


def _model(id: str, *shows: str, **model: Any) -> Option:
    return Option(id, model=model, shows=shows)


def _top(id: str, *shows: str, **top: Any) -> Option:
    return Option(id, top=top, shows=shows)


def _delivery(**delivery: Any) -> dict[str, Any]:
    return {"delivery": delivery}


BATCH: dict[str, Any] = {"mode": "batch", "schedule": "daily", "output_uri": "{output}"}
SEARCH: dict[str, Any] = {"objective_metric": "auc", "max_trials": 12, "max_parallel_trials": 3}

MODEL_OPTIONS: tuple[Option, ...] = (
    _model("realtime", "serving"),
    _model("delivery-canary", "progressive_delivery",
           serving=_delivery(strategy="canary", canary_percent=20, bake_minutes=15)),
    _model("delivery-blue-green", "progressive_delivery", serving=_delivery(strategy="blue_green", bake_minutes=20)),
    _model("delivery-rolling", "progressive_delivery", serving=_delivery(strategy="rolling", canary_percent=25)),
    _model("delivery-all-at-once", "serving", serving=_delivery(strategy="all_at_once")),
    _model("shadow", "shadow_deployment", serving={"shadow": {"sample_percent": 15}}),
    _model("batch", "serving", serving=BATCH),
    _model("batch-drift", "serving", "drift_monitoring", serving=BATCH, monitoring={"drift": {"method": "psi"}}),
    _model("batch-quality", "serving", "quality_monitoring", serving=BATCH,
           monitoring={"quality": {"metric": "accuracy", "threshold": 0.7}}),
    _model("streaming", "serving", serving={"mode": "streaming", "stream": "events"}),
    _model("batching", "serving", serving={"batching": {"max_batch_size": 16, "max_latency_ms": 10}}),
    _model("caching", "serving", serving={"caching": {"ttl_seconds": 30}}),
    # Where the serving image decides: PyTorch's batches; the team's own image may batch and cache.
    _model("batching-pytorch", "serving", framework="pytorch", serving={"batching": {"max_batch_size": 24}}),
    _model("caching-custom", "serving", framework="custom", serving={"caching": {"ttl_seconds": 45}}),
    _model("autoscaling", "autoscaling",
           serving={"min_instances": 2, "max_instances": 6, "autoscaling": {"target_utilization_percent": 55}}),
    *(_model(f"drift-{method}", "drift_monitoring",
             monitoring={"drift": {"method": method, "threshold": 0.15, "schedule": "hourly"}})
      for method in ("psi", "ks", "jensen_shannon", "l_infinity", "wasserstein")),
    Option("drift-off", model={"monitoring": {"drift": None}}, hides=("drift_monitoring",)),
    _model("quality", "quality_monitoring",
           monitoring={"quality": {"metric": "accuracy", "threshold": 0.71, "schedule": "daily"}}),
    _model("logging", "prediction_logging", monitoring={"prediction_logging_percent": 25}),
    _model("sre", "sre_alarms",
           monitoring={"sre": {"error_rate_percent": 2, "utilization_percent": 75, "latency_p99_ms": 150}}),
    _model("retrain-schedule", "scheduled_retraining", retraining={"schedule": "weekly"}),
    _model("retrain-on-drift", "drift_retraining",
           monitoring={"drift": {"method": "jensen_shannon", "threshold": 0.25}}, retraining={"on_drift": True}),
    _model("retrain-on-performance", "performance_retraining",
           monitoring={"quality": {"metric": "accuracy", "threshold": 0.7}}, retraining={"on_performance": True}),
    _model("champion", "champion_challenger",
           quality_gates={"compare_to_champion": True, "min_improvement": 0.01}),
    _model("two-gates", "training_pipeline", quality_gates={"metrics": [
        {"metric": "auc", "threshold": 0.8}, {"metric": "logloss", "threshold": 0.4, "direction": "at_most"}]}),
    _model("fairness", "training_pipeline", quality_gates={"fairness": [
        {"metric": "disparate_impact_ratio", "threshold": 0.8, "protected_attributes": ["age_band"]}]}),
    _model("spot", "training_pipeline", training={"spot": True, "checkpointing": True}),
    _model("multi-instance", "training_pipeline", training={"instance_count": 3}),
    _model("gpu", "training_pipeline", framework="pytorch", training={"instance": "gpu_small"}),
    # A cloud's own GPU machines (GCP: their accelerators come with the machine type; elsewhere refused).
    _model("gpu-machines", "training_pipeline", "serving", framework="pytorch",
           training={"instance": "a2-highgpu-2g", "instance_count": 2}, serving={"instance": "g2-standard-24"}),
    *(_model(f"search-{strategy}", "hyperparameter_search",
             training={"hyperparameter_search": {"strategy": strategy, **SEARCH}})
      for strategy in ("bayesian", "random", "grid", "hyperband")),
    *(_model(f"framework-{name}", "training_pipeline", "serving", framework=name)
      for name in ("sklearn", "lightgbm", "tensorflow", "custom")),
)

REGIMES = ("sr_11_7", "fair_lending", "hipaa", "gdpr", "eu_ai_act", "pci_dss", "soc2")
FAIR_MODEL: dict[str, Any] = {**base_model("m0"), "quality_gates": {
    "metrics": [{"metric": "auc", "threshold": 0.8}],
    "fairness": [{"metric": "demographic_parity_difference", "threshold": 0.1, "protected_attributes": ["age_band"]}]}}

TOP_OPTIONS: tuple[Option, ...] = (
    _top("approval", "approval_workflow", "enforced_approval",
         governance={"approvals": {"prod": {"approvers": ["{approver}"]}}}),
    _top("two-approvals", "approval_workflow",
         governance={"approvals": {"prod": {"approvers": ["{approver}", "{approver2}"], "min_approvals": 2}}}),
    _top("model-cards", "model_cards", governance={"model_card_required": True}),
    _top("databricks", data={"databricks": True}),
    _top("feature-store", "feature_store", "freshness_alerts", feature_store={
        "freshness_sla_minutes": 60, "entities": [{"name": "customer", "id_column": "customer_id", "features": [
            {"name": "spend_30d"}, {"name": "segment", "type": "string"}]}]}),
    *(_top(f"alerts-{kind}", "sre_alarms", alerts=[
        {"kind": "email", "target": "ml@example.com", "severity": "warning"},
        {"kind": kind, **({"target": "https://hooks.example.com/x"} if kind == "webhook" else {"secret": "HOOK"})}])
      for kind in ("pagerduty", "slack", "webhook")),
    # Each regime with what the blueprint rules say it needs: a prod approval, model cards, seven years of
    # audit records and a fairness gate on every model (fair lending).
    *(_top(f"compliance-{regime}", "audit_trail", "approval_workflow", "model_cards", models=[FAIR_MODEL],
           governance={"compliance": [regime], "approvals": {"prod": {"approvers": ["{approver}"]}},
                       "model_card_required": True, "audit_retention_days": 2557, "risk_tier": "high"})
      for regime in REGIMES),
    _top("budget-thresholds", "cost_controls", cost={"monthly_budget_usd": 1234, "alert_thresholds_percent": [40, 90]}),
)


def _fill(value: Any, cloud: str) -> Any:
    """Put the cloud's own spellings into an option (output URIs, principals)."""
    principals = PRINCIPALS[cloud]
    names = {"{output}": OUTPUT[cloud], "{approver}": principals["approver"][0],
             "{approver2}": principals["ml_engineer"][0]}
    if isinstance(value, dict):
        return {k: _fill(v, cloud) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, cloud) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and value:
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def base(cloud: str, name: str = "matrix") -> dict[str, Any]:
    """A blueprint every cloud accepts at maturity 3: what each cloud needs of the platform-wide sections."""
    cost: dict[str, Any] = {"monthly_budget_usd": 5000}
    if cloud == "gcp":
        cost["billing_account"] = "012345-6789AB-CDEF01"
    return {
        "name": name, "use_case": "Capability matrix", "organisation": {"name": "Acme", "industry": "finance"},
        "cloud": {"provider": cloud, "region": REGION[cloud]}, "maturity": {"target": 3},
        "environments": environments(cloud),
        "models": [base_model("m0")],
        "alerts": [{"kind": "email", "target": "ml@example.com", "severity": "warning"}],
        "governance": {"roles": copy.deepcopy(PRINCIPALS[cloud])},
        "cost": cost,
    }


def with_model_option(cloud: str, option: Option, name: str = "m0") -> dict[str, Any]:
    doc = base(cloud)
    doc["models"] = [_merge(base_model(name), _fill(option.model, cloud))]
    return doc


def with_top_option(cloud: str, option: Option) -> dict[str, Any]:
    return _merge(base(cloud), _fill(option.top, cloud))


def grouped(cloud: str, options: list[Option], size: int) -> Iterator[tuple[list[Option], dict[str, Any]]]:
    """Accepted model options, `size` models per blueprint (model i carries option i)."""
    for start in range(0, len(options), size):
        chunk = options[start:start + size]
        doc = base(cloud, name=f"matrix{start // size}")
        doc["models"] = [_merge(base_model(f"m{i}"), _fill(o.model, cloud)) for i, o in enumerate(chunk)]
        yield chunk, doc
