"""Cloud limits consulted by plan(): what AWS cannot honour is a located error, never a silent drop."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from accounts import environments

from mlops.blueprint import format_path, load_text
from mlops.clouds import unsupported
from mlops.plan import PlanError, plan


def model(**sections: Any) -> dict[str, Any]:
    return {"name": "scorer", "quality_gates": {"metrics": [{"metric": "auc", "threshold": 0.8}]}, **sections}


def blueprint_text(*models: dict[str, Any], cloud: str = "aws") -> str:
    region = {"aws": "us-east-1", "gcp": "europe-west4", "azure": "westeurope"}[cloud]
    return yaml.safe_dump({
        "name": "demo", "use_case": "Support tests", "organisation": {"name": "Acme"},
        "cloud": {"provider": cloud, "region": region}, "maturity": {"target": 3},
        "environments": environments(cloud),
        "models": list(models) or [model()],
        # What every cloud's production stack needs of the platform-wide sections: a budget on AWS, a
        # warning route on Azure (both action groups need a receiver).
        "alerts": [{"kind": "email", "target": "ml@example.com", "severity": "warning"}],
        **({"cost": {"monthly_budget_usd": 5000}} if cloud == "aws" else {}),
    }, sort_keys=False)


def problems(*models: dict[str, Any], cloud: str = "aws") -> list[tuple[str, str, str]]:
    """(path, got, message) of every plan error in prod."""
    bp = load_text(blueprint_text(*models, cloud=cloud), "support.yaml").blueprint
    with pytest.raises(PlanError) as caught:
        plan(bp, "prod")
    return [(format_path(d.path), str(d.got), d.message) for d in caught.value.diagnostics]


def plans_cleanly(*models: dict[str, Any], cloud: str = "aws") -> None:
    bp = load_text(blueprint_text(*models, cloud=cloud), "support.yaml").blueprint
    for env in ("dev", "staging", "prod"):
        assert unsupported(plan(bp, env)) == []


CASES = [
    ("streaming", model(serving={"mode": "streaming", "stream": "kinesis://events"}),
     "models[0].serving.mode", "'streaming'", "streaming serving is not built on AWS"),
    ("batching-xgboost", model(serving={"batching": {"max_batch_size": 8}}),
     "models[0].serving.batching", "'xgboost'", "the SageMaker xgboost serving image does not batch requests"),
    ("caching", model(framework="sklearn", serving={"caching": {"ttl_seconds": 30}}),
     "models[0].serving.caching", "'sklearn'", "SageMaker endpoints do not cache responses"),
    ("bake-too-long", model(serving={"delivery": {"strategy": "blue_green", "bake_minutes": 90}}),
     "models[0].serving.delivery.bake_minutes", "90", "SageMaker waits at most 3600 s between deployment steps"),
    ("canary-too-big", model(serving={"delivery": {"strategy": "canary", "canary_percent": 60}}),
     "models[0].serving.delivery.canary_percent", "60",
     "SageMaker shifts a whole percentage of at most 50 % of the instances per step"),
    ("rolling-with-shadow", model(serving={"delivery": {"strategy": "rolling"}, "shadow": {"sample_percent": 5}}),
     "models[0].serving.delivery.strategy", "'rolling'",
     "SageMaker rolling updates exclude endpoints with more than one variant (the shadow is one)"),
    ("capture-fraction", model(monitoring={"prediction_logging_percent": 2.5}),
     "models[0].monitoring.prediction_logging_percent", "2.5", "SageMaker data capture samples whole percentages"),
    ("drift-without-capture", model(monitoring={"prediction_logging_percent": 0}),
     "models[0].monitoring.prediction_logging_percent", "0",
     "drift monitoring reads the captured requests; none are captured at 0 %"),
    ("monitor-cron", model(monitoring={"drift": {"schedule": "0 3 1 * 1"}}),
     "models[0].monitoring.drift.schedule", "'0 3 1 * 1'",
     "EventBridge cron cannot restrict both day of month and day of week"),
    ("drift-feature-names", model(monitoring={"drift": {"features": ["amount", "_c1", "_c01"]}}),
     "models[0].monitoring.drift.features", "amount, _c01",
     "requests and batch inputs are header-less CSV: the drift baseline and the drift job name their columns "
     "`_c0`, `_c1`, … (features only, the label is not sent); other names would never be watched"),
    ("hyperband", model(training={"hyperparameter_search": {"objective_metric": "auc", "strategy": "hyperband"}}),
     "models[0].training.hyperparameter_search.strategy", "'hyperband'",
     "SageMaker Pipelines' published definition schema takes Bayesian and Random tuning only"),
    ("grid", model(training={"hyperparameter_search": {"objective_metric": "auc", "strategy": "grid"}}),
     "models[0].training.hyperparameter_search.strategy", "'grid'",
     "SageMaker grid search takes only categorical ranges; the built-in search space is continuous"),
    ("quality-metric", model(monitoring={"quality": {"metric": "precision_at_1pct_fpr", "threshold": 0.8}}),
     "models[0].monitoring.quality.metric", "'precision_at_1pct_fpr'",
     "the AWS quality job does not compute this model-quality metric"),
    ("multiclass-metric", model(monitoring={"quality": {"metric": "weighted_f1", "threshold": 0.8}}),
     "models[0].monitoring.quality.metric", "'weighted_f1'",
     "the AWS quality job does not compute this model-quality metric"),
]


@pytest.mark.parametrize(("spec", "path", "got", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_aws_limits_are_plan_errors_at_the_yaml_path(spec: dict[str, Any], path: str, got: str,
                                                     message: str) -> None:
    assert (path, got, message) in problems(spec)


def test_allowed_values_say_what_would_work() -> None:
    bp = load_text(blueprint_text(model(monitoring={"quality": {"metric": "gini", "threshold": 0.5}})),
                   "support.yaml").blueprint
    with pytest.raises(PlanError) as caught:
        plan(bp, "dev")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.allowed is not None and "auc" in diagnostic.allowed.split(", ")


def test_every_problem_is_reported_at_once() -> None:
    found = problems(model(serving={"mode": "streaming", "stream": "kinesis://x"}),
                     model(name="other", serving={"delivery": {"strategy": "canary", "bake_minutes": 120}}))
    assert [p[0] for p in found] == ["models[0].serving.mode", "models[1].serving.delivery.bake_minutes"]


def test_the_same_settings_plan_on_other_clouds() -> None:
    # SageMaker waits at most an hour between steps; Vertex rollouts are paced by the deployer workflow.
    plans_cleanly(model(serving={"delivery": {"strategy": "canary", "bake_minutes": 90}}), cloud="gcp")


def test_limits_aws_can_honour_plan_cleanly() -> None:
    plans_cleanly(model(framework="pytorch", serving={"batching": {"max_batch_size": 16},
                                                      "delivery": {"strategy": "canary", "canary_percent": 50,
                                                                   "bake_minutes": 60}},
                        monitoring={"drift": {"method": "wasserstein", "schedule": "0 */6 * * *",
                                              "features": ["_c0", "_c12"]},
                                    "quality": {"metric": "auroc", "threshold": 0.7, "schedule": "weekly"}}),
                  model(name="own", framework="custom", serving={"caching": {"ttl_seconds": 5}}))


def test_monitoring_schedules_model_monitor_refused_now_plan_cleanly() -> None:
    # Model Monitor ran hourly or daily only; the scheduled jobs run any EventBridge cron (weekly runs weekly).
    plans_cleanly(model(monitoring={"drift": {"schedule": "30 3 * * 1"},
                                    "quality": {"metric": "accuracy", "threshold": 0.7, "schedule": "15 * * * *"}}))


@pytest.mark.parametrize(("strategy", "percent", "instances", "words"), [
    ("canary", 10, 1, "the canary is a share of the endpoint's instances, not of its traffic: 10 % of 1 instance is "
                      "1 instance, about 100 % of the traffic"),
    ("canary", 10, 4, "10 % of 4 instances is 1 instance, about 25 % of the traffic"),
    ("rolling", 25, 2, "each rolling batch is a share of the endpoint's instances, not of its traffic: 25 % of 2 "
                       "instances is 1 instance, about 50 %"),
    ("canary", 10, 10, None),   # one instance of ten: the share is what the blueprint says
    ("rolling", 20, 5, None),
])
def test_aws_canaries_warn_when_instances_make_the_share_larger(
        strategy: str, percent: int, instances: int, words: str | None) -> None:
    serving = {"min_instances": instances, "max_instances": instances + 2,
               "delivery": {"strategy": strategy, "canary_percent": percent}}
    bp = load_text(blueprint_text(model(serving=serving)), "support.yaml").blueprint
    cautions = plan(bp, "staging").cautions  # prod runs at least two instances (multi-AZ)
    if words is None:
        assert cautions == ()
    else:
        (caution,) = cautions
        assert caution.path == ("models", 0, "serving", "delivery", "canary_percent")
        assert words in caution.message


def test_only_aws_sizes_canaries_by_instances() -> None:
    serving = {"min_instances": 2, "max_instances": 4, "delivery": {"strategy": "canary", "canary_percent": 10}}
    for cloud in ("gcp", "azure"):
        bp = load_text(blueprint_text(model(serving=serving), cloud=cloud), "support.yaml").blueprint
        assert plan(bp, "prod").cautions == ()
