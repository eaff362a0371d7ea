"""The plan: maturity gating, environment overrides and defaults, and that it stays pure data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from accounts import environments

from mlops.blueprint import Blueprint, BlueprintError, Dimension, format_path, load_blueprint, load_text
from mlops.blueprint.model import DeliveryStrategy, DriftMethod
from mlops.plan import GATES, Capability, Plan, PlanError, plan, plan_loaded
from mlops.plan.gating import decide
from mlops.plan.model import CostPlan, ModelPlan, ServingPlan, TrainingPlan
from mlops.plan.schedule import Schedule

FILE = "plan.yaml"


def model(**sections: Any) -> dict[str, Any]:
    return {"name": "scorer", "quality_gates": {"metrics": [{"metric": "auc", "threshold": 0.8}]}, **sections}


BASE: dict[str, Any] = {
    "name": "demo",
    "use_case": "Plan tests",
    "organisation": {"name": "Acme"},
    "cloud": {"provider": "aws", "region": "us-east-1"},
    "maturity": {"target": 2},
    "models": [model()],
    # AWS budgets notify the alert routes (rule aws-cost-alerts-need-a-route).
    "alerts": [{"kind": "email", "target": "ml@example.com"}],
    # A production AWS stack needs a budget (policy aws-budget-in-production).
    "cost": {"monthly_budget_usd": 5000},
}


def text(**top: Any) -> str:
    doc = {**BASE, **top}
    if "environments" not in top:
        doc["environments"] = environments(doc["cloud"]["provider"])
    if doc["cloud"]["provider"] != "aws" and "cost" not in top:
        del doc["cost"]  # the AWS budget; GCP budgets name a billing account
    return yaml.safe_dump({k: v for k, v in doc.items() if v is not None}, sort_keys=False)


def blueprint(**top: Any) -> Blueprint:
    """BASE with whole top-level sections replaced, loaded through the real loader (rules included)."""
    return load_text(text(**top), FILE).blueprint


def target(**levels: int) -> dict[str, Any]:
    """maturity with every dimension at 2 except the ones given."""
    return {"target": {**{d.value: 2 for d in Dimension}, **levels}}


def plan_error(bp: Blueprint, env: str = "dev") -> PlanError:
    with pytest.raises(PlanError) as caught:
        plan(bp, env)
    return caught.value


def serving(m: ModelPlan) -> ServingPlan:
    assert m.serving is not None
    return m.serving


def training(m: ModelPlan) -> TrainingPlan:
    assert m.training is not None
    return m.training


def cost(p: Plan) -> CostPlan:
    assert p.cost is not None
    return p.cost


def reason(p: Plan, capability: Capability) -> str:
    return next(g.reason for g in p.gates if g.capability == capability)


# --------------------------------------------------------------------------- the gate table


def test_gate_table_decides_every_capability_exactly_once() -> None:
    assert sorted(g.capability for g in GATES) == sorted(Capability)
    decisions, _ = decide(blueprint())
    assert [d.capability for d in decisions] == [g.capability for g in GATES]


GATE_LEVELS = {
    Capability.experiment_tracking: (Dimension.experiment_tracking, 1),
    Capability.scheduled_retraining: (Dimension.experiment_tracking, 1),
    Capability.hyperparameter_search: (Dimension.experiment_tracking, 2),
    Capability.model_registry: (Dimension.model_versioning, 1),
    Capability.champion_challenger: (Dimension.model_versioning, 2),
    Capability.serving: (Dimension.deployment, 1),
    Capability.progressive_delivery: (Dimension.deployment, 2),
    Capability.shadow_deployment: (Dimension.deployment, 2),
    Capability.quality_monitoring: (Dimension.monitoring, 1),
    Capability.drift_monitoring: (Dimension.monitoring, 2),
    Capability.drift_retraining: (Dimension.monitoring, 3),
    Capability.performance_retraining: (Dimension.monitoring, 3),
    Capability.approval_workflow: (Dimension.governance, 1),
    Capability.model_cards: (Dimension.governance, 2),
}


@pytest.mark.parametrize("capability", list(GATE_LEVELS), ids=str)
def test_gate_follows_the_maturity_scale(capability: Capability) -> None:
    gate = next(g for g in GATES if g.capability == capability)
    assert (gate.dimension, gate.level) == GATE_LEVELS[capability]


# --------------------------------------------------------------------------- defaults per target level


def test_deployment_1_ships_all_at_once_without_progressive_delivery() -> None:
    p = plan(blueprint(maturity=target(deployment=1)), "prod")
    assert serving(p.models[0]).delivery.strategy == DeliveryStrategy.all_at_once
    assert not p.enabled(Capability.progressive_delivery)
    assert reason(p, Capability.progressive_delivery) == "needs maturity.target.deployment >= 2 (target 1)"
    assert p.enabled(Capability.serving) and p.enabled(Capability.autoscaling)


def test_deployment_2_defaults_realtime_models_to_canary() -> None:
    p = plan(blueprint(), "prod")
    delivery = serving(p.models[0]).delivery
    assert delivery.strategy == DeliveryStrategy.canary
    assert (delivery.steps, delivery.auto_rollback) == ((10, 100), True)
    assert reason(p, Capability.progressive_delivery) == \
        "on by default at maturity.target.deployment 2 (needs 2)"


def test_deployment_2_keeps_an_explicit_strategy() -> None:
    bp = blueprint(models=[model(serving={"delivery": {"strategy": "blue_green", "bake_minutes": 30}})])
    p = plan(bp, "prod")
    assert serving(p.models[0]).delivery.strategy == DeliveryStrategy.blue_green
    assert reason(p, Capability.progressive_delivery) == "asked for at maturity.target.deployment 2 (needs 2)"


def test_batch_and_streaming_models_are_not_defaulted_to_canary(monkeypatch: pytest.MonkeyPatch) -> None:
    # Gating is cloud-neutral; no back end builds streaming serving today (every cloud's facts refuse it).
    monkeypatch.setattr("mlops.clouds.unsupported", lambda *_: [])
    bp = blueprint(cloud={"provider": "gcp", "region": "europe-west4"},
                   models=[model(name="nightly", serving={"mode": "batch", "schedule": "daily"}),
                           model(name="events", serving={"mode": "streaming", "stream": "kinesis://events"})])
    batch, streaming = plan(bp, "prod").models
    assert serving(batch).delivery.strategy == DeliveryStrategy.all_at_once
    assert serving(streaming).delivery.strategy == DeliveryStrategy.all_at_once
    assert serving(batch).autoscaling is None
    assert serving(streaming).autoscaling is not None


def test_monitoring_2_adds_psi_drift_to_online_models_only() -> None:
    bp = blueprint(models=[model(name="online"), model(name="nightly", serving={"mode": "batch",
                                                                                 "schedule": "daily"})])
    online, nightly = plan(bp, "dev").models
    drift = online.monitoring.drift
    assert drift is not None
    assert drift.method == DriftMethod.psi
    assert (drift.threshold, drift.schedule, drift.features) == (0.2, Schedule.of("daily"), ())
    assert nightly.monitoring.drift is None
    assert nightly.monitoring.sre is None and nightly.monitoring.prediction_logging_percent is None
    assert online.monitoring.prediction_logging_percent == 10


def test_monitoring_2_keeps_an_explicit_drift_method() -> None:
    bp = blueprint(models=[model(monitoring={"drift": {"method": "jensen_shannon", "threshold": 0.1}})])
    drift = plan(bp, "dev").models[0].monitoring.drift
    assert drift is not None and (drift.method, drift.threshold) == (DriftMethod.jensen_shannon, 0.1)


def test_monitoring_1_has_no_drift_detection_but_sre_alarms_with_the_serving_sla() -> None:
    bp = blueprint(maturity=target(monitoring=1), models=[model(serving={"latency_p99_ms": 80})])
    p = plan(bp, "dev")
    monitoring = p.models[0].monitoring
    assert monitoring.drift is None
    assert reason(p, Capability.drift_monitoring) == "needs maturity.target.monitoring >= 2 (target 1)"
    assert monitoring.sre is not None and monitoring.sre.latency_p99_ms == 80


def test_model_versioning_1_turns_champion_comparison_off_without_error() -> None:
    gated = plan(blueprint(maturity=target(model_versioning=1)), "dev").models[0]
    assert not gated.quality_gates.compare_to_champion and not gated.retraining.champion_challenger
    on = plan(blueprint(), "dev").models[0]
    assert on.quality_gates.compare_to_champion and on.retraining.champion_challenger


def test_spot_training_may_wait_as_long_again_as_it_runs() -> None:
    bp = blueprint(models=[model(training={"spot": True, "checkpointing": True, "max_runtime_hours": 3})])
    spot = training(plan(bp, "dev").models[0])
    assert (spot.spot, spot.max_runtime_hours, spot.max_wait_hours) == (True, 3.0, 6.0)


# --------------------------------------------------------------------------- asking for more than the target


def test_explicit_shadow_at_deployment_1_is_an_error() -> None:
    bp = blueprint(maturity=target(deployment=1), models=[model(serving={"shadow": {"sample_percent": 5}})])
    (diagnostic,) = plan_error(bp).diagnostics
    assert diagnostic.path == ("models", 0, "serving", "shadow")
    assert format_path(diagnostic.path) == "models[0].serving.shadow"
    assert diagnostic.message == "shadow deployment needs maturity.target.deployment >= 2"
    assert diagnostic.got == "1"
    assert diagnostic.allowed == "raise maturity.target.deployment to 2, or remove this setting"


def test_plan_loaded_locates_gating_errors_in_the_file() -> None:
    source = text(maturity=target(deployment=1), models=[model(serving={"shadow": {"sample_percent": 5}})])
    shadow_line = source.splitlines().index("    shadow:") + 1
    with pytest.raises(BlueprintError) as caught:
        plan_loaded(load_text(source, FILE), "dev")
    assert caught.value.lines() == [
        f"{FILE}:{shadow_line}:5: models[0].serving.shadow: shadow deployment needs "
        "maturity.target.deployment >= 2 (got 1; allowed: raise maturity.target.deployment to 2, "
        "or remove this setting)"]


ABOVE_TARGET = [
    ("hpo", target(experiment_tracking=1),
     {"models": [model(training={"hyperparameter_search": {"objective_metric": "auc"}})]},
     "models[0].training.hyperparameter_search",
     "hyperparameter search needs maturity.target.experiment_tracking >= 2"),
    ("scheduled-retraining", target(experiment_tracking=0),
     {"models": [model(retraining={"schedule": "weekly"})]},
     "models[0].retraining.schedule", "scheduled retraining needs maturity.target.experiment_tracking >= 1"),
    ("champion", target(model_versioning=1), {"models": [model(quality_gates={
        "compare_to_champion": True, "metrics": [{"metric": "auc", "threshold": 0.8}]})]},
     "models[0].quality_gates.compare_to_champion",
     "champion challenger needs maturity.target.model_versioning >= 2"),
    ("serving", target(deployment=0), {"models": [model(serving={"max_instances": 3})]},
     "models[0].serving", "serving needs maturity.target.deployment >= 1"),
    ("canary", target(deployment=1), {"models": [model(serving={"delivery": {"strategy": "canary"}})]},
     "models[0].serving.delivery.strategy", "progressive delivery needs maturity.target.deployment >= 2"),
    ("quality", target(monitoring=0),
     {"models": [model(monitoring={"quality": {"metric": "auc", "threshold": 0.7}})]},
     "models[0].monitoring.quality", "quality monitoring needs maturity.target.monitoring >= 1"),
    ("freshness", target(monitoring=0), {"feature_store": {"freshness_sla_minutes": 30, "entities": [
        {"name": "user", "id_column": "user_id", "features": [{"name": "clicks_7d"}]}]}},
     "feature_store.freshness_sla_minutes", "freshness alerts needs maturity.target.monitoring >= 1"),
    ("drift", target(monitoring=1), {"models": [model(monitoring={"drift": {"method": "ks"}})]},
     "models[0].monitoring.drift", "drift monitoring needs maturity.target.monitoring >= 2"),
    ("drift-retraining", target(monitoring=2),
     {"models": [model(monitoring={"drift": {}}, retraining={"on_drift": True})]},
     "models[0].retraining.on_drift", "drift retraining needs maturity.target.monitoring >= 3"),
    ("performance-retraining", target(monitoring=2),
     {"models": [model(monitoring={"quality": {"metric": "auc", "threshold": 0.7}},
                       retraining={"on_performance": True})]},
     "models[0].retraining.on_performance", "performance retraining needs maturity.target.monitoring >= 3"),
    ("approvals", target(governance=0),
     {"governance": {"approvals": {"prod": {"approvers": ["leads"]}}, "roles": {"approver": ["leads"]}}},
     "governance.approvals", "approval workflow needs maturity.target.governance >= 1"),
    ("model-cards", target(governance=1), {"governance": {"model_card_required": True}},
     "governance.model_card_required", "model cards needs maturity.target.governance >= 2"),
]


@pytest.mark.parametrize(("maturity", "sections", "path", "message"), [c[1:] for c in ABOVE_TARGET],
                         ids=[c[0] for c in ABOVE_TARGET])
def test_asking_above_the_target_is_an_error(maturity: dict[str, Any], sections: dict[str, Any], path: str,
                                             message: str) -> None:
    bp = blueprint(maturity=maturity, **sections)
    (diagnostic,) = plan_error(bp).diagnostics
    assert (format_path(diagnostic.path), diagnostic.message) == (path, message)
    # The same blueprint one level up plans.
    dimension = message.split("maturity.target.")[1].split(" ")[0]
    level = int(message.rsplit(">= ", 1)[1])
    plan(blueprint(**{**sections, "maturity": {"target": {**maturity["target"], dimension: level}}}), "dev")


def test_every_gating_error_is_reported_at_once() -> None:
    bp = blueprint(maturity=target(experiment_tracking=1, deployment=1),
                   models=[model(serving={"shadow": {}},
                                 training={"hyperparameter_search": {"objective_metric": "auc"}})])
    error = plan_error(bp)
    assert [format_path(d.path) for d in error.diagnostics] == [
        "models[0].training.hyperparameter_search", "models[0].serving.shadow"]
    assert str(error) == ("hyperparameter search needs maturity.target.experiment_tracking >= 2; "
                          "shadow deployment needs maturity.target.deployment >= 2")


def test_undeclared_environment_is_an_error() -> None:
    (diagnostic,) = plan_error(blueprint(environments={"dev": {}, "prod": {}}), "staging").diagnostics
    assert diagnostic.path == ("environments",)
    assert (diagnostic.got, diagnostic.allowed) == ("'staging'", "dev, prod")
    assert diagnostic.message == "the blueprint does not declare this environment"


# --------------------------------------------------------------------------- environments


ENVIRONMENTS = {
    "dev": {"serving": {"instance": "small", "min_instances": 1, "max_instances": 1},
            "training": {"instance": "ml.m5.large"}, "region": "us-west-2", "account": "111111111111"},
    "staging": {"account": "222222222222"},
    "prod": {"account": "333333333333", "monthly_budget_usd": 5000},
}


def test_environment_overrides_serving_and_training() -> None:
    environments = {**ENVIRONMENTS, "dev": {**ENVIRONMENTS["dev"], "training": {"instance": "ml.m5.large",
                                                                              "spot": True}}}
    bp = blueprint(environments=environments, models=[model(
        training={"instance": "large", "checkpointing": True},
        serving={"instance": "xlarge", "min_instances": 2, "max_instances": 8})])
    dev, staging = plan(bp, "dev"), plan(bp, "staging")
    d, s = dev.models[0], staging.models[0]
    assert (serving(d).instance, serving(d).min_instances, serving(d).max_instances) == ("small", 1, 1)
    assert (serving(s).instance, serving(s).min_instances, serving(s).max_instances) == ("xlarge", 2, 8)
    assert (training(d).instance, training(d).spot) == ("ml.m5.large", True)
    assert (training(s).instance, training(s).spot) == ("large", False)
    assert (dev.region, dev.account) == ("us-west-2", "111111111111")
    assert (staging.region, staging.account) == ("us-east-1", "222222222222")


def test_prod_multi_az_runs_at_least_two_instances() -> None:
    bp = blueprint(models=[model(serving={"min_instances": 1, "max_instances": 1}),
                           model(name="single-az", serving={"multi_az": False}),
                           model(name="nightly", serving={"mode": "batch", "schedule": "daily"})])
    multi, single, batch = plan(bp, "prod").models
    assert (serving(multi).min_instances, serving(multi).max_instances) == (2, 2)
    assert serving(single).min_instances == 1
    assert serving(batch).min_instances == 1
    staged = plan(bp, "staging").models[0]
    assert (serving(staged).min_instances, serving(staged).max_instances) == (1, 1)


def test_budget_override_per_environment() -> None:
    bp = blueprint(environments=ENVIRONMENTS,
                   cost={"monthly_budget_usd": 1000, "alert_thresholds_percent": [90]})
    assert cost(plan(bp, "prod")).model_dump() == {"monthly_budget_usd": 5000,
                                                   "alert_thresholds_percent": (90,), "billing_account": None}
    assert cost(plan(bp, "dev")).monthly_budget_usd == 1000
    only_prod = blueprint(environments=ENVIRONMENTS, cost=None)
    assert cost(plan(only_prod, "prod")).alert_thresholds_percent == (50, 80, 100)
    assert plan(only_prod, "dev").cost is None


@pytest.mark.parametrize(("env", "protect", "isolated", "log_days"),
                         [("dev", False, False, 30), ("staging", False, True, 90), ("prod", True, True, 365)])
def test_only_prod_is_protected(env: str, protect: bool, isolated: bool, log_days: int) -> None:
    p = plan(blueprint(), env)
    assert (p.production, p.protect) == (protect, protect)
    assert (p.network_isolation, p.log_retention_days) == (isolated, log_days)
    assert p.prefix == f"demo-{env}"


@pytest.mark.parametrize(("governance", "env", "mode"), [
    (2, "prod", "compliance"), (3, "prod", "compliance"), (2, "staging", "governance"),
    (2, "dev", "governance"), (1, "prod", "compliance"), (0, "prod", "compliance")])
def test_audit_lock_is_compliance_mode_in_prod_at_every_governance_level(governance: int, env: str,
                                                                         mode: str) -> None:
    # Below governance 2 the audit-lock policies of AWS and GCP would otherwise fail a valid blueprint.
    p = plan(blueprint(maturity=target(governance=governance)), env)
    assert p.governance.audit_lock_mode == mode


def test_approval_applies_to_its_environment_and_is_enforced_from_governance_2() -> None:
    governance = {"approvals": {"prod": {"approvers": ["leads", "risk"]}},
                  "roles": {"approver": ["leads", "risk"]}}
    enforced = plan(blueprint(governance=governance), "prod").governance.approval
    assert enforced is not None and enforced.enforced and enforced.approval.min_approvals == 1
    assert plan(blueprint(governance=governance), "staging").governance.approval is None
    recorded_only = blueprint(governance=governance, maturity=target(governance=1))
    recorded = plan(recorded_only, "prod").governance.approval
    assert recorded is not None and not recorded.enforced


def test_tags_merge_mandatory_and_blueprint_tags() -> None:
    p = plan(blueprint(tags={"team": "ml", "cost-center": "c42"}), "staging")
    assert p.tags == {"mlops-blueprint": "demo", "environment": "staging", "managed-by": "mlops-blueprints",
                      "team": "ml", "cost-center": "c42"}


# --------------------------------------------------------------------------- examples and purity


def test_every_example_plans_in_every_environment_deterministically(example: Path) -> None:
    loaded = load_blueprint(example)
    assert loaded.blueprint.environments
    for env in loaded.blueprint.environments:
        first, second = plan_loaded(loaded, env), plan_loaded(load_blueprint(example), env)
        assert first == second
        assert first.model_dump_json() == second.model_dump_json()
        assert first.environment == env and first.protect == (env == "prod")


def test_blueprint_and_plan_never_import_pulumi(root: Path) -> None:
    probe = ("import sys, mlops.blueprint, mlops.plan, mlops.blueprint.loader, mlops.blueprint.schema; "
             "loaded = [m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_policy')]; "
             "assert not loaded, loaded")
    result = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True,
                            env={"PYTHONPATH": str(root)}, timeout=60)
    assert result.returncode == 0, result.stderr


def test_default_champion_comparison_without_metrics_is_skipped_not_an_error() -> None:
    from mlops.blueprint import load_text
    from mlops.plan import plan

    text = """
name: demo
use_case: gating
organisation: {name: Acme}
cloud: {provider: aws, region: us-east-1}
maturity: {target: 2}
environments: {prod: {account: "333333333333"}}
models: [{name: scorer}]
cost: {monthly_budget_usd: 1000}
alerts: [{kind: email, target: ml@example.com}]
"""
    model = plan(load_text(text).blueprint, "prod").models[0]
    assert model.quality_gates.compare_to_champion is False
    assert model.retraining.champion_challenger is False


def test_explicit_settings_above_the_target_are_errors_not_drops() -> None:
    from mlops.blueprint import load_text
    from mlops.plan import PlanError, plan

    text = """
name: demo
use_case: gating
organisation: {name: Acme}
cloud: {provider: aws, region: us-east-1}
maturity: {target: {experiment_tracking: 1, model_versioning: 1, deployment: 1, monitoring: 0}}
models:
  - name: scorer
    quality_gates: {metrics: [{metric: auc, threshold: 0.8}]}
    retraining: {champion_challenger: true}
    monitoring: {prediction_logging_percent: 5}
"""
    with pytest.raises(PlanError) as caught:
        plan(load_text(text).blueprint, "dev")
    found = {(d.path, d.message) for d in caught.value.diagnostics}
    assert (("models", 0, "retraining", "champion_challenger"),
            "champion challenger needs maturity.target.model_versioning >= 2") in found
    assert (("models", 0, "monitoring", "prediction_logging_percent"),
            "prediction logging needs maturity.target.monitoring >= 1") in found


@pytest.mark.parametrize(("cloud", "region", "kind"), [
    ("aws", "us-east-1", "the AWS account id (12 digits)"),
    ("gcp", "europe-west4", "the GCP project id"),
    ("azure", "westeurope", "the Azure subscription id"),
])
def test_staging_and_prod_without_an_account_are_located_errors(cloud: str, region: str, kind: str) -> None:
    # Without an account the provider is not pinned: `pulumi up` would deploy wherever the credentials point.
    routes = [{"kind": "email", "target": "ml@example.com", "severity": "warning"}]  # Azure's warning group
    bp = blueprint(cloud={"provider": cloud, "region": region}, environments={"dev": {}, "staging": {}, "prod": {}},
                   alerts=routes)
    assert plan(bp, "dev").account is None  # dev may deploy where the engineer's credentials point
    for env in ("staging", "prod"):
        (diagnostic,) = plan_error(bp, env).diagnostics
        assert diagnostic.path == ("environments", env, "account")
        assert (diagnostic.got, diagnostic.allowed) == ("nothing", kind)
    assert plan(blueprint(cloud={"provider": cloud, "region": region}, alerts=routes), "prod").account is not None


def test_default_environments_need_accounts_too() -> None:
    from mlops.blueprint import BlueprintError, load_text
    from mlops.plan import plan_environments

    doc = {**BASE, "cost": {"monthly_budget_usd": 5000}}
    with pytest.raises(BlueprintError) as caught:
        plan_environments(load_text(yaml.safe_dump(doc, sort_keys=False), FILE))
    assert [(d.path, d.message.endswith("(in staging)") or d.message.endswith("(in prod)"))
            for d in caught.value.diagnostics] == [(("environments", "staging", "account"), True),
                                                   (("environments", "prod", "account"), True)]


def test_a_missing_account_is_reported_with_the_environments_other_problems() -> None:
    # A prod without an account and an AWS limit in the same run: both, so that one fix round is enough.
    serving = {"delivery": {"strategy": "canary", "canary_percent": 60}}
    bp = blueprint(environments={"dev": {}, "prod": {}}, models=[model(serving=serving)])
    paths = [d.path for d in plan_error(bp, "prod").diagnostics]
    assert paths == [("environments", "prod", "account"), ("models", 0, "serving", "delivery", "canary_percent")]
