"""Evidence on GCP (mlops/evidence/gcp.py): what a GCP plan turns on is in its graph, and each rule can fail.

Synth is the slow step: the examples come from the shared cache (tests/shared_synth.py), the blueprint
variants are synthesized once per module. Tests that alter a graph build a new one (Graph.without, or a
copy of one resource with one input changed): the shared results are never modified.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_synth import synthesized

from components.gcp.feature_schema import sync_cron
from components.gcp.foundation import fit_name
from components.gcp.governance import member_slug
from components.gcp.names import endpoint_id, model_id
from components.gcp.principals import iam_member, persona_members
from components.gcp.registry import promoters
from components.payload import decode, encode
from mlops.blueprint import BlueprintError, format_path, load_blueprint
from mlops.blueprint.model import DeliveryStrategy
from mlops.evidence import Evidence, check, evidence, gcp
from mlops.evidence.graph import Graph, Node, value_at
from mlops.plan import Capability, Plan, plan_environments
from mlops.synth import synth

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "blueprints" / "product-recommendations-gcp.yaml"
GCP_EXAMPLES = [p for p in sorted((ROOT / "blueprints").glob("*.yaml"))
                if (yaml.safe_load(p.read_text()).get("cloud") or {}).get("provider") == "gcp"]
ENVIRONMENTS = ("dev", "staging", "prod")
Edit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Stack:
    """One environment's plan and graph."""

    plan: Plan
    graph: Graph

    def evidence(self) -> dict[Capability, Evidence]:
        return evidence(self.plan, self.graph)

    def built(self, capability: Capability, graph: Graph | None = None) -> bool:
        """Whether one capability is built in this graph (or another): its rule only, the cheap check."""
        return check(capability, gcp.RULES[capability](self.plan), graph if graph is not None else self.graph).built


def _example(path: Path, environment: str) -> Stack:
    result = synthesized(str(path), environment)
    return Stack(result.plan, Graph(result.resources))


def _not_built(found: dict[Capability, Evidence]) -> dict[str, tuple[str, ...]]:
    return {c.value: e.missing for c, e in found.items() if e.applies and not e.built}


# --------------------------------------------------------------------------- blueprint variants


def _full(bp: dict[str, Any]) -> None:
    """Monitoring level 3 and three more models: batch + random tuning, rolling + every trigger, blue-green."""
    bp["maturity"]["target"] = {"experiment_tracking": 2, "model_versioning": 2, "deployment": 2, "monitoring": 3,
                                "governance": 2}
    bp["models"] += [
        {"name": "nightly-scores", "framework": "xgboost",
         "training": {"hyperparameter_search": {"strategy": "random", "objective_metric": "auc", "max_trials": 12,
                                                "max_parallel_trials": 4}},
         "quality_gates": {"metrics": [{"metric": "auc", "threshold": 0.7}]},
         "serving": {"mode": "batch", "schedule": "daily", "output_uri": "bq://exampleshop-data.scores.nightly",
                     "min_instances": 1, "max_instances": 4},
         "retraining": {"schedule": "monthly"}},
        {"name": "price-model", "framework": "lightgbm",
         "quality_gates": {"metrics": [{"metric": "rmse", "threshold": 2.5, "direction": "at_most"}],
                           "min_improvement": 0.01},
         "serving": {"min_instances": 1, "max_instances": 6, "latency_p99_ms": 250,
                     "autoscaling": {"target_requests_per_instance": 40},
                     "delivery": {"strategy": "rolling", "canary_percent": 25, "bake_minutes": 30}},
         "monitoring": {"drift": {"method": "l_infinity", "threshold": 0.3, "features": ["price_band"],
                                  "schedule": "hourly"},
                        "quality": {"metric": "rmse", "threshold": 3.0, "direction": "at_most", "label_delay_hours": 6},
                        "prediction_logging_percent": 20, "sre": {"error_rate_percent": 2, "utilization_percent": 70}},
         "retraining": {"schedule": "daily", "on_drift": True, "on_performance": True, "min_interval_hours": 12}},
        {"name": "churn", "framework": "sklearn",
         "quality_gates": {"metrics": [{"metric": "f1", "threshold": 0.6}]},
         "serving": {"delivery": {"strategy": "blue_green", "bake_minutes": 60, "auto_rollback": False}},
         "monitoring": {"drift": {"method": "jensen_shannon", "threshold": 0.2}},
         "retraining": {"on_drift": True}},
    ]


def _manual(bp: dict[str, Any]) -> None:
    """Governance level 1 (approval by convention) in staging and prod; no schedule, so the spec stays hidden;
    offline-only features; a fairness gate, minimised tuning, a canary without bake."""
    bp["maturity"]["target"] = {"experiment_tracking": 2, "model_versioning": 2, "deployment": 2, "monitoring": 1,
                                "governance": 1}
    bp["feature_store"]["online"] = False
    del bp["feature_store"]["freshness_sla_minutes"]
    gov = bp["governance"]
    gov["approvals"] = {"staging": {"approvers": ["recs-ml-lead"]}, "prod": {"approvers": ["recs-team-lead"]}}
    del gov["model_card_required"]
    m = bp["models"][0]
    m["training"]["hyperparameter_search"] = {"objective_metric": "loss", "direction": "at_most", "max_trials": 8}
    m["quality_gates"]["fairness"] = [{"metric": "demographic_parity_difference", "threshold": 0.1,
                                       "protected_attributes": ["country"]}]
    m["serving"]["delivery"] = {"strategy": "canary", "canary_percent": 5, "bake_minutes": 0}
    m["monitoring"].pop("drift")
    m["monitoring"]["sre"] = {"latency_p99_ms": 150, "error_rate_percent": 0.5}
    m["retraining"] = {}


def _untrained(bp: dict[str, Any]) -> None:
    """No training pipeline (experiment tracking level 0) while registry, approvals, cards and retraining are on."""
    bp["maturity"]["target"] = {"experiment_tracking": 0, "model_versioning": 2, "deployment": 2, "monitoring": 3,
                                "governance": 2}
    m = bp["models"][0]
    del m["training"]
    m["retraining"] = {"on_drift": True, "on_performance": True}


def _staging_approval(bp: dict[str, Any]) -> None:
    """Enforced approval (governance level 2) in staging too, where the personas build."""
    bp["governance"]["approvals"]["staging"] = {"approvers": ["recs-team-lead"]}


VARIANTS: dict[str, tuple[Edit, str]] = {"full": (_full, "prod"), "manual": (_manual, "staging"),
                                         "staging-approval": (_staging_approval, "staging")}


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stack]:
    """Each variant of the example, synthesized once for its environment."""
    folder = tmp_path_factory.mktemp("evidence-gcp")
    stacks: dict[str, Stack] = {}
    for name, (edit, environment) in VARIANTS.items():
        bp = yaml.safe_load(EXAMPLE.read_text())
        edit(bp)
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(bp, sort_keys=False))
        result = synth(str(path), environment)
        stacks[name] = Stack(result.plan, Graph(result.resources))
    return stacks


@pytest.fixture(scope="module")
def stacks(variants: dict[str, Stack]) -> dict[str, Stack]:
    """The example's production stack and the variants whose graphs build everything (the failure cases' base)."""
    return {"example": _example(EXAMPLE, "prod"), "full": variants["full"], "manual": variants["manual"]}


# --------------------------------------------------------------------------- the table


def test_every_capability_gcp_builds_has_a_rule() -> None:
    # Vertex endpoints cannot mirror traffic: the GCP plan refuses a shadow, so the table has no rule for it.
    assert set(gcp.RULES) == set(Capability) - {Capability.shadow_deployment}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("path", GCP_EXAMPLES, ids=[p.stem for p in GCP_EXAMPLES])
def test_examples_build_what_their_plan_turns_on(path: Path, environment: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    stack = _example(path, environment)
    assert _not_built(stack.evidence()) == {}
    assert capsys.readouterr().out == ""


def test_the_example_needs_approval_only_where_the_blueprint_asks_for_it() -> None:
    dev, prod = (_example(EXAMPLE, env).evidence() for env in ("dev", "prod"))
    assert not dev[Capability.approval_workflow].applies and not dev[Capability.enforced_approval].applies
    assert prod[Capability.approval_workflow].built and prod[Capability.enforced_approval].built


EXERCISED: dict[str, set[Capability]] = {
    "full": {Capability.hyperparameter_search, Capability.scheduled_retraining, Capability.drift_retraining,
             Capability.performance_retraining, Capability.quality_monitoring, Capability.drift_monitoring,
             Capability.progressive_delivery, Capability.autoscaling, Capability.serving, Capability.model_cards,
             Capability.freshness_alerts, Capability.approval_workflow, Capability.enforced_approval,
             Capability.champion_challenger},
    "manual": {Capability.approval_workflow, Capability.hyperparameter_search, Capability.training_pipeline,
               Capability.feature_store, Capability.sre_alarms, Capability.progressive_delivery},
}


@pytest.mark.parametrize("name", sorted(EXERCISED))
def test_variants_build_every_option_they_ask_for(variants: dict[str, Stack], name: str) -> None:
    found = variants[name].evidence()
    assert _not_built(found) == {}
    applied = {c for c, e in found.items() if e.applies}
    assert EXERCISED[name] <= applied, "the variant no longer exercises what it is for"


def test_variants_exercise_the_option_paths(variants: dict[str, Stack]) -> None:
    full, manual = variants["full"].plan, variants["manual"].plan
    strategies = {m.serving.delivery.strategy for m in full.models if m.serving}
    assert {DeliveryStrategy.canary, DeliveryStrategy.rolling, DeliveryStrategy.blue_green} <= strategies
    assert any(m.serving and m.serving.mode.value == "batch" for m in full.models)
    assert manual.governance.approval is not None and not manual.governance.approval.enforced
    assert manual.feature_store is not None and not manual.feature_store.online
    assert all(m.retraining.schedule is None for m in manual.models)  # the spec's values stay hidden


def test_models_without_a_training_pipeline_are_refused_where_gcp_would_build_nothing(tmp_path: Path) -> None:
    # Found by this table: with no training pipeline GCP built no registry, promotion, cards or triggers
    # while the plan turned them on. Validate now says so, located, instead.
    bp = yaml.safe_load(EXAMPLE.read_text())
    _untrained(bp)
    path = tmp_path / "untrained.yaml"
    path.write_text(yaml.safe_dump(bp, sort_keys=False))
    with pytest.raises(BlueprintError) as caught:
        plan_environments(load_blueprint(path))
    paths = {format_path(d.path) for d in caught.value.diagnostics}
    assert paths == {"maturity.target.experiment_tracking", "models[0].retraining.on_drift",
                     "models[0].retraining.on_performance"}


def test_enforced_approval_outside_production_leaves_the_personas_only_viewing(variants: dict[str, Stack]) -> None:
    # Found by this table: staging with an enforced approval kept roles/aiplatform.user for the personas,
    # which moves the champion alias; they now only view there, as in prod.
    stack = variants["staging-approval"]
    assert _not_built(stack.evidence()) == {}
    assert stack.built(Capability.enforced_approval) and stack.built(Capability.approval_workflow)


# --------------------------------------------------------------------------- each rule can fail


def _expectations(stacks: dict[str, Stack], capability: Capability) -> Iterator[tuple[str, Stack, str, str]]:
    for key, stack in stacks.items():
        if stack.plan.enabled(capability):
            for expect in gcp.RULES[capability](stack.plan):
                yield key, stack, expect.type, expect.name


@pytest.mark.parametrize("capability", sorted(gcp.RULES, key=str), ids=str)
def test_removing_any_expected_resource_unbuilds_the_capability(stacks: dict[str, Stack],
                                                                capability: Capability) -> None:
    cases = list(_expectations(stacks, capability))
    assert cases, f"no stack exercises {capability.value}"
    still_built = [f"{key}: {type_} {name}" for key, stack, type_, name in cases
                   if stack.built(capability, stack.graph.without(type_, name))]
    assert still_built == []


def _changed(graph: Graph, type_: str, name: str, path: tuple[str | int, ...], change: Callable[[Any], Any]) -> Graph:
    """The graph with one resource replaced by a copy whose input at `path` is `change(old value)`."""
    old = graph.get(type_, name)
    assert old is not None, f"no {type_} {name}"
    inputs = copy.deepcopy(dict(old.inputs))
    *parents, last = path
    holder: Any = value_at(inputs, *parents) if parents else inputs
    before = holder[last]
    holder[last] = change(before)
    assert holder[last] != before, "the change changed nothing"
    return Graph(Node(r.type, r.name, inputs) if r is old else r for r in graph.resources)


def _replace(old: str, new: str) -> Callable[[Any], Any]:
    def change(text: Any) -> Any:
        assert old in str(text), f"{old!r} not in the input"
        return str(text).replace(old, new)
    return change


def _set(value: Any) -> Callable[[Any], Any]:
    return lambda _: value


def _in_spec(edit: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    """Change the pipeline spec (JSON) a schedule carries."""
    def change(text: Any) -> Any:
        doc = json.loads(text)
        edit(doc)
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return change


def _gate(name: str, value: float) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["root"]["inputDefinitions"]["parameters"][name]["defaultValue"] = value
    return edit


def _card(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Change the model card the register step receives (encoded: components/payload.py)."""
    def edit(doc: dict[str, Any]) -> None:
        args = doc["deploymentSpec"]["executors"]["exec-register"]["container"]["args"]
        at = args.index("--model-card") + 1
        args[at] = encode({**decode(args[at]), key: value})
    return edit


P, R = "product-recs-prod", "product-recs-prod-recs-ranker"
PM = "product-recs-prod-price-model"
SPEC = gcp.SPEC_PATH
DEPLOYER = (gcp.WORKFLOW, f"{R}-deployer-workflow", ("sourceContents",))
THRESHOLD = ("conditions", 0, "conditionThreshold", "thresholdValue")
# (capability, stack, type, name, path, change): one blueprint value the rule reads, set otherwise.
VALUE_CASES: list[tuple[Capability, str, str, str, tuple[str | int, ...], Callable[[Any], Any]]] = [
    (Capability.foundation, "example", gcp.KEY, f"{P}-foundation-key", ("rotationPeriod",), _set("2592000s")),
    (Capability.foundation, "example", gcp.PEERING, f"{P}-network-vertex-peering", ("service",),
     _set("compute.googleapis.com")),
    (Capability.foundation, "example", gcp.GLOBAL_ADDRESS, f"{P}-network-vertex-range", ("purpose",),
     _set("PRIVATE_SERVICE_CONNECT")),
    # Vertex names the network by project number; the project id there once passed unnoticed.
    (Capability.training_pipeline, "example", gcp.SCHEDULE, f"{R}-retraining-schedule", (*SPEC[:-1], "network"),
     _set("projects/exampleshop-recs-prod/global/networks/product-recs-prod-vpc")),
    (Capability.audit_trail, "example", gcp.BUCKET, f"{P}-foundation-audit-bucket",
     ("retentionPolicy", "retentionPeriod"), _set(str(30 * 86_400))),
    (Capability.audit_trail, "example", gcp.BUCKET, f"{P}-foundation-audit-bucket", ("retentionPolicy", "isLocked"),
     _set(False)),
    (Capability.rbac_roles, "example", gcp.PROJECT_MEMBER,
     f"{P}-governance-approver-group-recs-team-lead-example-shop-com-aiplatform-viewer", ("member",),
     _set("group:everyone@example-shop.com")),
    (Capability.cost_controls, "example", gcp.BUDGET, f"{P}-cost-budget", ("amount", "specifiedAmount", "units"),
     _set("30000")),
    (Capability.cost_controls, "example", gcp.BUDGET, f"{P}-cost-budget", ("thresholdRules", 0, "thresholdPercent"),
     _set(0.9)),
    (Capability.feature_store, "example", gcp.TABLE, f"{P}-features-user", ("clusterings",), _set(["session_id"])),
    (Capability.feature_store, "example", gcp.FEATURE_VIEW, f"{P}-features-product-view",
     ("bigQuerySource", "entityIdColumns"), _set(["sku"])),
    (Capability.feature_store, "example", gcp.FEATURE_VIEW, f"{P}-features-user-view", ("syncConfig", "cron"),
     _set("TZ=UTC 0 0 * * *")),
    (Capability.freshness_alerts, "example", gcp.ALERT, f"{P}-features-user-freshness",
     ("conditions", 0, "conditionAbsent", "duration"), _set("7200s")),
    (Capability.experiment_tracking, "example", gcp.TENSORBOARD, f"{P}-tracking-tensorboard", ("region",),
     _set("europe-west4")),
    (Capability.experiment_tracking, "example", gcp.SCHEDULE, f"{R}-retraining-schedule", SPEC,
     _replace("product-recs-prod-tracking-tensorboard-id", "projects/p/locations/r/tensorboards/other")),
    (Capability.training_pipeline, "example", gcp.SCHEDULE, f"{R}-retraining-schedule", SPEC,
     _in_spec(_gate("min_ndcg_at_10", 0.2))),
    (Capability.training_pipeline, "manual", gcp.SPEC_OBJECT, "product-recs-staging-recs-ranker-training-spec",
     ("name",), _set("pipelines/other/pipeline.json")),
    (Capability.hyperparameter_search, "example", gcp.SCHEDULE, f"{R}-retraining-schedule", SPEC,
     _replace('\\"maxTrialCount\\":30', '\\"maxTrialCount\\":10')),
    (Capability.hyperparameter_search, "full", gcp.SCHEDULE, f"{P}-nightly-scores-retraining-schedule", SPEC,
     _replace("RANDOM_SEARCH", "ALGORITHM_UNSPECIFIED")),
    (Capability.champion_challenger, "example", gcp.SCHEDULE, f"{R}-retraining-schedule", SPEC,
     _in_spec(_gate("min_improvement", 0.0))),
    (Capability.model_registry, "example", gcp.WORKFLOW, f"{P}-registry-recs-ranker-promote", ("sourceContents",),
     _replace('"champion"', '"winner"')),
    (Capability.model_cards, "example", gcp.SCHEDULE, f"{R}-retraining-schedule", SPEC,
     _in_spec(_card("intended_use", "Anything"))),
    (Capability.scheduled_retraining, "example", gcp.SCHEDULE, f"{R}-retraining-schedule", ("cron",),
     _set("TZ=UTC 0 0 * * *")),
    (Capability.drift_retraining, "full", gcp.WORKFLOW, f"{PM}-retraining-workflow", ("sourceContents",),
     _replace("sys.now() - 43200)", "sys.now() - 86400)")),
    (Capability.drift_retraining, "full", gcp.ALERT, f"{P}-churn-monitoring-drift-alert", ("notificationChannels",),
     lambda channels: channels[:1]),
    (Capability.performance_retraining, "full", gcp.ALERT, f"{PM}-monitoring-quality-alert",
     ("notificationChannels",), lambda channels: channels[:1]),
    (Capability.serving, "example", gcp.ENDPOINT, f"{R}-serving-endpoint", ("name",), _set("1234567890")),
    (Capability.serving, "full", gcp.JOB, f"{P}-nightly-scores-batch-schedule", ("schedule",), _set("0 * * * *")),
    (Capability.autoscaling, "example", *DEPLOYER, _replace("maxReplicaCount: 20", "maxReplicaCount: 5")),
    (Capability.autoscaling, "full", gcp.WORKFLOW, f"{PM}-deployer-workflow", ("sourceContents",),
     _replace("target: 40", "target: 60")),
    (Capability.progressive_delivery, "example", *DEPLOYER, _replace("checks: 288", "checks: 12")),
    (Capability.progressive_delivery, "example", *DEPLOYER, _replace("- 10\n", "- 50\n")),
    (Capability.progressive_delivery, "example", *DEPLOYER, _replace("p99_ms > 100.0", "p99_ms > 500.0")),
    (Capability.progressive_delivery, "full", gcp.WORKFLOW, f"{PM}-deployer-workflow", ("sourceContents",),
     _replace("error_ratio > 0.02", "error_ratio > 0.05")),
    (Capability.progressive_delivery, "full", gcp.WORKFLOW, f"{P}-churn-deployer-workflow", ("sourceContents",),
     _replace("not ok and false", "not ok and true")),
    (Capability.sre_alarms, "example", gcp.ALERT, f"{R}-serving-latency-alert", THRESHOLD, _set(200)),
    (Capability.sre_alarms, "full", gcp.ALERT, f"{PM}-serving-errors-alert", THRESHOLD, _set(0.01)),
    (Capability.prediction_logging, "example", gcp.ENDPOINT, f"{R}-serving-endpoint",
     ("predictRequestResponseLoggingConfig", "samplingRate"), _set(0.5)),
    (Capability.drift_monitoring, "example", *DEPLOYER, _replace("value: 0.1", "value: 0.3")),
    (Capability.drift_monitoring, "full", gcp.WORKFLOW, f"{PM}-deployer-workflow", ("sourceContents",),
     _replace("monitorInterval: 3600s", "monitorInterval: 86400s")),
    (Capability.quality_monitoring, "example", gcp.ALERT, f"{R}-monitoring-quality-alert", THRESHOLD, _set(0.05)),
    (Capability.quality_monitoring, "full", gcp.ALERT, f"{PM}-monitoring-quality-alert",
     ("conditions", 0, "conditionThreshold", "comparison"), _set("COMPARISON_LT")),
    (Capability.quality_monitoring, "full", gcp.WORKFLOW, f"{PM}-monitoring-quality-workflow", ("sourceContents",),
     _replace("INTERVAL 6 HOUR))", "INTERVAL 1 HOUR))")),
    (Capability.quality_monitoring, "example", gcp.JOB, f"{R}-monitoring-quality-schedule", ("schedule",),
     _set("0 0 * * *")),
    (Capability.approval_workflow, "manual", gcp.WORKFLOW, "product-recs-staging-registry-recs-ranker-promote",
     ("labels", "mlops-approval"), _set("enforced")),
    (Capability.enforced_approval, "example", gcp.ACCOUNT_MEMBER, f"{P}-registry-promoter-0", ("member",),
     _set("group:recs-ml-engineers@example-shop.com")),
]


@pytest.mark.parametrize(("capability", "key", "type_", "name", "path", "change"), VALUE_CASES,
                         ids=[f"{c[0].value}-{c[3].rsplit('-', 2)[-2]}-{'.'.join(map(str, c[4]))}"[:80]
                              for c in VALUE_CASES])
def test_another_value_unbuilds_the_capability(stacks: dict[str, Stack], capability: Capability, key: str,
                                               type_: str, name: str, path: tuple[str | int, ...],
                                               change: Callable[[Any], Any]) -> None:
    stack = stacks[key]
    assert stack.built(capability)
    assert not stack.built(capability, _changed(stack.graph, type_, name, path, change))


def test_the_tables_copies_of_component_names_agree_with_the_components() -> None:
    plan = _example(EXAMPLE, "prod").plan
    long = "x" * 80
    assert gcp._fit(long, 63) == fit_name(long, 63)
    for model in ("recs-ranker", long):
        assert gcp._endpoint_id(plan, model) == endpoint_id(plan, model)
        assert gcp._model_id(plan, model) == model_id(plan, model)
    for member in ("group:a@b.com", f"group:{long}@example.com"):
        assert gcp._member_slug(member) == member_slug(member)
    for principal in ("user:a@b.com", "team@b.com", "team"):
        assert gcp._member(principal, "b.com") == iam_member(principal, "b.com")
    assert gcp._promoters(plan) == promoters(plan)
    for persona in ("data_scientist", "ml_engineer", "approver"):
        assert gcp._persona_members(plan, persona) == persona_members(plan, persona)
    for sla in (None, 1, 9, 60, 100, 300, 1410, 5000):
        assert gcp._sync_cron(sla) == sync_cron(sla)
