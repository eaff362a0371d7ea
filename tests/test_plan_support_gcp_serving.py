"""GCP serving and monitoring limits consulted by plan(): located errors, never silent drops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from accounts import environments, pinned

from mlops.blueprint import format_path, load_blueprint, load_text
from mlops.clouds import unsupported
from mlops.plan import PlanError, plan

ROOT = Path(__file__).resolve().parents[1]


def model(**sections: Any) -> dict[str, Any]:
    return {"name": "scorer", "quality_gates": {"metrics": [{"metric": "auc", "threshold": 0.8}]}, **sections}


def blueprint_text(*models: dict[str, Any], features: list[dict[str, str]] | None = None) -> str:
    data: dict[str, Any] = {
        "name": "demo", "use_case": "Support tests", "organisation": {"name": "Acme"},
        "cloud": {"provider": "gcp", "region": "europe-west4"}, "maturity": {"target": 3},
        "environments": environments("gcp"),
        "models": list(models) or [model()],
    }
    if features:
        data["feature_store"] = {"entities": [{"name": "user", "id_column": "user_id", "features": features}]}
    return yaml.safe_dump(data, sort_keys=False)


def problems(*models: dict[str, Any], features: list[dict[str, str]] | None = None) -> list[tuple[str, str, str]]:
    bp = load_text(blueprint_text(*models, features=features), "support.yaml").blueprint
    with pytest.raises(PlanError) as caught:
        plan(bp, "prod")
    return [(format_path(d.path), str(d.got), d.message) for d in caught.value.diagnostics]


FEATURES = [{"name": "age", "type": "int"}, {"name": "country", "type": "string"}]
CASES = [
    ("streaming", model(serving={"mode": "streaming", "stream": "pubsub://p/events"}),
     "models[0].serving.mode", "'streaming'", "streaming serving is not built on GCP"),
    ("shadow", model(serving={"shadow": {"sample_percent": 10}}),
     "models[0].serving.shadow", "sample_percent 10", "Vertex AI endpoints cannot mirror traffic to a shadow model"),
    ("batch-to-s3", model(serving={"mode": "batch", "schedule": "daily", "output_uri": "s3://b/out/"},
                          monitoring={"sre": {}}),
     "models[0].serving.output_uri", "'s3://b/out/'", "Vertex batch prediction writes to Cloud Storage or BigQuery"),
    ("psi", model(monitoring={"drift": {"method": "psi"}}),
     "models[0].monitoring.drift.method", "'psi'",
     "Vertex model monitoring computes Jensen-Shannon (numerical) and L-infinity (categorical) only"),
    ("drift-schedule", model(monitoring={"drift": {"method": "jensen_shannon", "schedule": "30 * * * *"}}),
     "models[0].monitoring.drift.schedule", "'30 * * * *'", "Vertex model monitoring runs every N whole hours"),
    ("quality-metric", model(monitoring={"quality": {"metric": "auroc", "threshold": 0.7}}),
     "models[0].monitoring.quality.metric", "'auroc'", "the GCP quality check does not compute this metric"),
    ("quality-without-logging", model(monitoring={"quality": {"metric": "accuracy", "threshold": 0.7},
                                                  "prediction_logging_percent": 0}),
     "models[0].monitoring.prediction_logging_percent", "0",
     "quality is scored on logged predictions; none are logged at 0 %"),
    ("batch-drift", model(serving={"mode": "batch", "schedule": "daily"},
                          monitoring={"drift": {"method": "jensen_shannon"}}),
     "models[0].monitoring.drift", "batch serving",
     "GCP drift monitoring watches the requests logged by real-time endpoints"),
]


@pytest.mark.parametrize(("spec", "path", "got", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gcp_serving_limits_are_located_plan_errors(spec: dict[str, Any], path: str, got: str, message: str) -> None:
    assert (path, got, message) in problems(spec)


def test_a_drift_method_must_match_the_features_kind() -> None:
    js = model(monitoring={"drift": {"method": "jensen_shannon", "features": ["age", "country"]}})
    assert problems(js, features=FEATURES) == [
        ("models[0].monitoring.drift.features", "country", "Vertex measures jensen_shannon only on numerical features")]
    linf = model(monitoring={"drift": {"method": "l_infinity", "features": ["age"]}})
    assert problems(linf, features=FEATURES) == [
        ("models[0].monitoring.drift.features", "age", "Vertex measures l_infinity only on categorical features")]


def test_matching_methods_plan_cleanly() -> None:
    spec = model(serving={"delivery": {"strategy": "rolling", "canary_percent": 25}},
                 monitoring={"drift": {"method": "l_infinity", "features": ["country"], "schedule": "0 */6 * * *"},
                             "quality": {"metric": "f1", "threshold": 0.7}})
    bp = load_text(blueprint_text(spec, features=FEATURES), "support.yaml").blueprint
    for env in ("dev", "staging", "prod"):
        assert unsupported(plan(bp, env)) == []


def test_the_gcp_example_plans_cleanly() -> None:
    bp = load_blueprint(str(ROOT / "blueprints" / "product-recommendations-gcp.yaml")).blueprint
    for env in ("dev", "staging", "prod"):
        assert unsupported(plan(bp, env)) == []


@pytest.mark.parametrize(("example", "expected"), [
    ("fraud-detection-aws", {("models[0].serving.shadow", "sample_percent 20"),
                             ("models[0].monitoring.drift.method", "'psi'")}),
    ("readmission-risk-aws", {("models[0].serving.shadow", "sample_percent 25"),
                              ("models[0].monitoring.drift.method", "'ks'"),
                              ("models[0].monitoring.quality.metric", "'auroc'"),
                              ("models[1].serving.output_uri", "'s3://example-health-bed-planning/los/'")}),
])
def test_aws_examples_moved_to_gcp_name_what_vertex_cannot_do(example: str, expected: set[tuple[str, str]]) -> None:
    data = yaml.safe_load((ROOT / "blueprints" / f"{example}.yaml").read_text())
    data["cloud"] = {"provider": "gcp", "region": "us-central1"}
    for env in data.get("environments", {}).values():
        env.pop("region", None)
    data = pinned(data)
    data["governance"].setdefault("roles", {})["group_domain"] = "example.com"
    if "cost" in data:
        data["cost"]["billing_account"] = "012345-6789AB-CDEF01"
    bp = load_text(yaml.safe_dump(data, sort_keys=False), f"{example}.yaml").blueprint
    with pytest.raises(PlanError) as caught:
        plan(bp, "prod")
    serving = {(format_path(d.path), str(d.got)) for d in caught.value.diagnostics
               if ".serving" in format_path(d.path) or ".monitoring" in format_path(d.path)}
    assert expected <= serving


def test_the_level_default_drift_on_gcp_is_the_one_vertex_computes() -> None:
    bp = load_text(blueprint_text(model()), "support.yaml").blueprint
    prod = plan(bp, "prod")
    [m] = prod.models
    assert m.monitoring.drift is not None and m.monitoring.drift.method.value == "jensen_shannon"
    assert unsupported(prod) == []
