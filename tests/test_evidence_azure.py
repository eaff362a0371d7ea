"""The Azure evidence table against synthesized graphs: what it calls built is there, and each rule can fail.

Stacks: every Azure example blueprint in each environment, and variants that exercise what the example
does not (real-time serving with canary and shadow, blue/green, hyperparameter search, event-driven
retraining, rolling updates, a pipeline nothing triggers). Each stack is synthesized once per module, and
each must build everything its plan turns on.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
import yaml
from azure_serving_examples import ROOT, as_azure
from shared_synth import synthesized

from components.payload import decode, encode
from mlops.blueprint.model import Cloud
from mlops.evidence import Graph, Node, builds, check, evidence
from mlops.evidence.azure import RULES
from mlops.plan import Capability, Plan
from mlops.synth import SynthResult, synth

ENVIRONMENTS = ("dev", "staging", "prod")
EXAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "blueprints").glob("*.yaml")
                  if (yaml.safe_load(p.read_text()).get("cloud") or {}).get("provider") == "azure")
FRAUD = "blueprints/fraud-detection-aws.yaml"
DEMAND = "blueprints/demand-forecasting-azure.yaml"
Doc = dict[str, Any]


# --------------------------------------------------------------------------- variants


def _model(doc: Doc) -> Doc:
    model: Doc = doc["models"][0]
    return model


def _realtime(doc: Doc) -> None:
    """The fraud example as it is: canary, shadow, PSI drift, quality, all retraining triggers, model cards."""


def _tuned(doc: Doc) -> None:
    """Hyperband search, blue/green, Jensen-Shannon on two features, retraining only on events."""
    m = _model(doc)
    m["training"]["hyperparameter_search"] = {"strategy": "hyperband", "objective_metric": "auc", "max_trials": 12,
                                              "max_parallel_trials": 3}
    m["serving"]["delivery"] = {"strategy": "blue_green", "bake_minutes": 20, "auto_rollback": False}
    m["serving"]["shadow"] = {"sample_percent": 10}
    m["monitoring"]["drift"] = {"method": "jensen_shannon", "threshold": 0.15, "schedule": "daily",
                                "features": ["txn_count_1h", "avg_amount_7d"]}
    m["monitoring"]["prediction_logging_percent"] = 50
    m["quality_gates"]["min_improvement"] = 0.01
    m["retraining"] = {"on_drift": True, "on_performance": True, "min_interval_hours": 6}


def _rolling(doc: Doc) -> None:
    """Rolling updates, and a sweep over two-node training runs."""
    m = _model(doc)
    m["serving"]["delivery"] = {"strategy": "rolling", "canary_percent": 25, "bake_minutes": 15}
    m["serving"].pop("shadow")
    m["training"]["instance_count"] = 2  # multi-node training (a sweep of multi-node trials is a plan error)


def _untriggered(doc: Doc) -> None:
    """A trained model that nothing retrains (no schedule, no events), batch output to a datastore path."""
    model = _model(doc)
    model.pop("retraining")
    model["serving"]["output_uri"] = "azureml://datastores/forecasts/paths/daily/"


VARIANTS: dict[str, tuple[str, Callable[[Doc], None]]] = {
    "realtime": (FRAUD, _realtime),
    "tuned": (FRAUD, _tuned),
    "rolling": (FRAUD, _rolling),
    "untriggered": (DEMAND, _untriggered),
}
VARIANT_STACKS = [("realtime", "dev"), ("realtime", "prod"), ("tuned", "prod"),
                  ("rolling", "prod"), ("untriggered", "dev")]
STACKS = [*((e, env) for e in EXAMPLES for env in ENVIRONMENTS), *VARIANT_STACKS]


# The truth gaps this table found (the prod audit lock, rolling delivery, multi-node sweeps, untriggered
# pipelines) are closed: every stack below must build everything its plan turns on.


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], SynthResult]:
    """The synth of an example (repository path) or a variant (name) in one environment, once per module."""
    directory = tmp_path_factory.mktemp("evidence-azure")

    @cache
    def get(source: str, environment: str) -> SynthResult:
        if source not in VARIANTS:
            return synthesized(source, environment)
        base, edit = VARIANTS[source]
        doc = yaml.safe_load((ROOT / base).read_text())
        doc = as_azure(doc) if base == FRAUD else doc
        edit(doc)
        path = directory / f"{source}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return synth(str(path), environment)
    return get


def _not_built(result: SynthResult) -> dict[Capability, tuple[str, ...]]:
    return {c: e.missing for c, e in evidence(result.plan, result.resources).items() if e.applies and not e.built}


# --------------------------------------------------------------------------- 1, 2: what is built


def test_every_azure_capability_has_a_rule() -> None:
    assert set(RULES) == builds(Cloud.azure)


@pytest.mark.parametrize(("source", "environment"), STACKS, ids=[f"{s}-{e}" for s, e in STACKS])
def test_everything_the_plan_turns_on_is_built(stack: Callable[[str, str], SynthResult], source: str,
                                               environment: str) -> None:
    result = stack(source, environment)
    assert result.plan.cloud == Cloud.azure
    assert _not_built(result) == {}


def test_variants_exercise_every_rule(stack: Callable[[str, str], SynthResult]) -> None:
    """Each capability is built, with something to see, in at least one stack (so each rule is tried)."""
    seen: set[Capability] = set()
    for source, environment in STACKS:
        result = stack(source, environment)
        seen |= {c for c, e in evidence(result.plan, result.resources).items() if e.applies and e.built}
    assert seen == set(RULES)


# --------------------------------------------------------------------------- 3: every rule can fail


def _built_in(stack: Callable[[str, str], SynthResult], capability: Capability) -> list[SynthResult]:
    found = []
    for source, environment in STACKS:
        result = stack(source, environment)
        e = evidence(result.plan, result.resources).get(capability)
        if e is not None and e.applies and e.built:
            found.append(result)
    return found


@pytest.mark.parametrize("capability", sorted(RULES), ids=str)
def test_removing_any_expected_resource_unbuilds_the_capability(stack: Callable[[str, str], SynthResult],
                                                                capability: Capability) -> None:
    results = _built_in(stack, capability)
    assert results
    for result in results:
        graph = Graph(result.resources)
        expected = {(x.type, x.name) for x in RULES[capability](result.plan)}
        assert expected
        for type_, name in sorted(expected):
            assert not check(capability, RULES[capability](result.plan), graph.without(type_, name)).built, name


def _edited(graph: Graph, type_: str, name: str, edit: Callable[[dict[str, Any]], None]) -> Graph:
    """The graph with one resource's inputs changed (on a copy: synth results are shared)."""
    resource = graph.get(type_, name)
    assert resource is not None, name
    inputs = copy.deepcopy(dict(resource.inputs))
    edit(inputs)
    return Graph(Node(r.type, r.name, inputs) if r is resource else r for r in graph.resources)


def _at(*path: str | int) -> Callable[[Callable[[Any], Any]], Callable[[dict[str, Any]], None]]:
    """An edit that replaces the value at `path` by `change(value)`."""
    def make(change: Callable[[Any], Any]) -> Callable[[dict[str, Any]], None]:
        def edit(inputs: dict[str, Any]) -> None:
            node: Any = inputs
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = change(node[path[-1]])
        return edit
    return make


def _in_json(change: Callable[[Any], None]) -> Callable[[Any], str]:
    """Change a JSON document passed as a string."""
    def rewrite(text: Any) -> str:
        doc = json.loads(text)
        change(doc)
        return json.dumps(doc)
    return rewrite


def _in_encoded(change: Callable[[Any], None]) -> Callable[[Any], str]:
    """Change a JSON document passed base64url-encoded (the pipeline's literal inputs)."""
    def rewrite(text: Any) -> str:
        doc = decode(text)
        change(doc)
        return encode(doc)
    return rewrite


def _first(key: str, value: Any) -> Callable[[Any], None]:
    def change(doc: Any) -> None:
        doc[key][0] = {**doc[key][0], **value}
    return change


ML = "azure-native:machinelearningservices:"
JOB = ("properties", "action", "jobDefinition")
ENV = (*JOB, "environmentVariables")
WORKFLOW_JOB = ("definition", "actions", "route", "else", "actions", "submit", "inputs", "body", "properties")
COLLECTOR = ("properties", "dataCollector", "collections", "model_inputs", "samplingRate")
SIGNALS = ("properties", "action", "monitorDefinition", "signals")
Mutation = tuple[str, str, Capability, str, str, Callable[[dict[str, Any]], None]]
MUTATIONS: list[Mutation] = [
    # platform: foundation, audit, roles, budget, features, freshness
    ("realtime", "dev", Capability.foundation, "azure-native:keyvault:Key", "-foundation-key",
     _at("properties", "rotationPolicy", "lifetimeActions", 0, "trigger", "timeAfterCreate")(lambda _: "P730D")),
    ("realtime", "dev", Capability.audit_trail, "azure-native:storage:StorageAccount", "-audit-storage",
     _at("immutableStorageWithVersioning", "immutabilityPolicy", "immutabilityPeriodSinceCreationInDays")(
         lambda d: d - 1)),
    ("realtime", "prod", Capability.audit_trail, "azure-native:storage:StorageAccount", "-audit-storage",
     _at("immutableStorageWithVersioning", "immutabilityPolicy", "state")(lambda _: "Unlocked")),
    ("realtime", "prod", Capability.audit_trail, "azure-native:monitor:DiagnosticSetting", "-audit-vault-archive",
     _at("storageAccountId")(lambda _: "elsewhere")),
    ("realtime", "prod", Capability.audit_trail, "azure-native:monitor:SubscriptionDiagnosticSetting",
     "-audit-activity-log", _at("logs")(lambda logs: [x for x in logs if x["category"] != "Administrative"])),
    ("realtime", "prod", Capability.rbac_roles, "azure-native:authorization:RoleDefinition",
     "-governance-data-scientist-role", _at("permissions", 0, "actions")(lambda a: [*a, "Microsoft.X/jobs/*"])),
    ("realtime", "prod", Capability.rbac_roles, "azure-native:authorization:RoleAssignment",
     "-governance-ml-engineer-0", _at("principalId")(lambda _: "00000000-0000-4000-8000-000000000000")),
    (DEMAND, "prod", Capability.cost_controls, "azure-native:consumption:Budget", "-cost-budget",
     _at("amount")(lambda a: a + 1)),
    (DEMAND, "prod", Capability.cost_controls, "azure-native:consumption:Budget", "-cost-budget",
     _at("notifications", "actual-120", "threshold")(lambda _: 110)),
    (DEMAND, "prod", Capability.feature_store, ML + "FeaturestoreEntityVersion", "-features-sku_plant-entity-v1",
     _at("properties", "indexColumns", 0, "columnName")(lambda _: "sku_id")),
    ("realtime", "prod", Capability.feature_store, ML + "FeaturesetVersion", "-features-card-features-v1",
     _at("properties", "materializationSettings", "storeType")(lambda _: "Offline")),
    ("realtime", "prod", Capability.freshness_alerts, "azure-native:monitor:ScheduledQueryRule",
     "-features-freshness-alert", _at("windowSize")(lambda _: "PT1H")),
    # pipelines: gates, runtime, spot, sweep, champion, cards, schedule, triggers
    (DEMAND, "prod", Capability.training_pipeline, ML + "Schedule", "-demand-forecaster-training-retraining",
     _at(*JOB, "inputs", "gates", "value")(_in_encoded(_first("gates", {"threshold": 0.25})))),
    ("realtime", "prod", Capability.training_pipeline, ML + "Compute", "-fraud-scorer-training-compute-cluster",
     _at("properties", "properties", "vmPriority")(lambda _: "Dedicated")),
    ("realtime", "prod", Capability.training_pipeline, ML + "Schedule", "-fraud-scorer-training-retraining",
     _at(*JOB, "jobs", "train", "outputs")(lambda _: {})),
    ("tuned", "prod", Capability.training_pipeline, "azure-native:logic:Workflow", "-retraining-fraud-scorer-workflow",
     _at(*WORKFLOW_JOB, "jobs", "train", "limits", "trial_timeout")(lambda t: t * 2)),
    ("tuned", "prod", Capability.hyperparameter_search, "azure-native:logic:Workflow",
     "-retraining-fraud-scorer-workflow", _at(*WORKFLOW_JOB, "jobs", "train", "limits", "max_total_trials")(
         lambda n: n + 1)),
    ("tuned", "prod", Capability.hyperparameter_search, "azure-native:logic:Workflow",
     "-retraining-fraud-scorer-workflow", _at(*WORKFLOW_JOB, "jobs", "train", "early_termination")(lambda _: None)),
    ("tuned", "prod", Capability.champion_challenger, "azure-native:logic:Workflow",
     "-retraining-fraud-scorer-workflow", _at(*WORKFLOW_JOB, "inputs", "gates", "value")(
         _in_encoded(lambda d: d["champion"].update(min_improvement=0.0)))),
    ("realtime", "prod", Capability.model_cards, ML + "Schedule", "-fraud-scorer-training-retraining",
     _at(*JOB, "inputs", "card", "value")(_in_encoded(lambda d: d.update(status="approved")))),
    ("realtime", "prod", Capability.scheduled_retraining, ML + "Schedule", "-fraud-scorer-training-retraining",
     _at("properties", "trigger", "expression")(lambda _: "0 0 * * *")),
    ("tuned", "prod", Capability.drift_retraining, "azure-native:logic:Workflow",
     "-retraining-fraud-scorer-workflow",
     _at("definition", "actions", "route", "else", "actions", "cooldown", "inputs", "interval", "count")(
         lambda _: 24)),
    ("realtime", "prod", Capability.drift_retraining, "azure-native:eventgrid:SystemTopicEventSubscription",
     "-retraining-fraud-scorer-events", _at("filter", "advancedFilters", 1, "values")(lambda _: ["other-monitor"])),
    ("realtime", "prod", Capability.performance_retraining, "azure-native:eventgrid:SystemTopicEventSubscription",
     "-retraining-fraud-scorer-quality-events", _at("filter", "advancedFilters", 1, "values")(lambda _: ["Completed"])),
    # serving: instances, scaling, delivery, shadow, alarms, logging, batch runs
    ("realtime", "prod", Capability.serving, ML + "OnlineDeployment", "-fraud-scorer-serving-blue",
     _at("sku", "capacity")(lambda _: 1)),
    (DEMAND, "prod", Capability.serving, ML + "Schedule", "-demand-forecaster-batch-schedule",
     _at("properties", "trigger", "expression")(lambda _: "0 0 * * *")),
    ("untriggered", "dev", Capability.serving, ML + "Schedule", "-demand-forecaster-batch-schedule",
     _at(*ENV, "MLOPS_BATCH_OUTPUT")(lambda _: "azureml://datastores/elsewhere/paths/out/")),
    ("realtime", "prod", Capability.autoscaling, ML + "OnlineDeployment", "-fraud-scorer-serving-blue",
     _at("properties", "scaleSettings", "maxInstances")(lambda n: n + 1)),
    ("realtime", "prod", Capability.progressive_delivery, ML + "Schedule", "-fraud-scorer-deployer-schedule",
     _at(*ENV, "MLOPS_CONFIG")(_in_json(lambda d: d["steps"][0]["traffic"].update(green=10)))),
    ("tuned", "prod", Capability.progressive_delivery, ML + "Schedule", "-fraud-scorer-deployer-schedule",
     _at(*ENV, "MLOPS_CONFIG")(_in_json(lambda d: d.update(auto_rollback=True)))),
    ("realtime", "prod", Capability.shadow_deployment, "azure-native:resources:Deployment",
     "-fraud-scorer-serving-traffic",
     _at("properties", "template", "resources", 0, "properties", "mirrorTraffic")(lambda _: {"shadow": 10})),
    ("realtime", "prod", Capability.sre_alarms, "azure-native:monitor:ScheduledQueryRule",
     "-fraud-scorer-serving-errors-alert", _at("criteria", "allOf", 0, "threshold")(lambda t: t * 5)),
    ("realtime", "prod", Capability.sre_alarms, "azure-native:monitor:MetricAlert",
     "-fraud-scorer-serving-latency-alert", _at("criteria", "allOf", 0, "threshold")(lambda t: t * 1000)),
    ("tuned", "prod", Capability.prediction_logging, ML + "OnlineDeployment", "-fraud-scorer-serving-blue",
     _at(*COLLECTOR)(lambda _: 1.0)),
    # monitoring and governance: drift, quality, approval
    ("realtime", "prod", Capability.drift_monitoring, ML + "Schedule", "-fraud-scorer-monitoring-monitor",
     _at(*SIGNALS, "data-drift", "metricThresholds", 0, "threshold", "value")(lambda _: 0.3)),
    ("tuned", "prod", Capability.drift_monitoring, ML + "Schedule", "-fraud-scorer-monitoring-monitor",
     _at(*SIGNALS, "data-drift", "features")(lambda _: {"filterType": "AllFeatures"})),
    (DEMAND, "prod", Capability.quality_monitoring, ML + "Schedule", "-demand-forecaster-quality-schedule",
     _at(*ENV, "MLOPS_THRESHOLD")(lambda _: "0.3")),
    (DEMAND, "prod", Capability.approval_workflow, ML + "BatchDeployment", "-demand-forecaster-batch-deployment",
     _at("properties", "model", "assetId")(lambda _: "/workspaces/ws/models/demand-forecaster/versions/1")),
    ("realtime", "prod", Capability.approval_workflow, "azure-native:authorization:RoleAssignment",
     "-registry-approver-1", _at("principalId")(lambda _: "00000000-0000-4000-8000-000000000000")),
    ("realtime", "prod", Capability.enforced_approval, "azure-native:authorization:RoleDefinition",
     "-governance-ml-engineer-role",
     _at("permissions", 0, "notActions")(lambda a: [x for x in a if "registries" not in x])),
]


@pytest.mark.parametrize(("source", "environment", "capability", "type_", "suffix", "edit"), MUTATIONS,
                         ids=[f"{m[2].value}{m[4]}" for m in MUTATIONS])
def test_changing_a_checked_value_unbuilds_the_capability(
        stack: Callable[[str, str], SynthResult], source: str, environment: str, capability: Capability,
        type_: str, suffix: str, edit: Callable[[dict[str, Any]], None]) -> None:
    result = stack(source, environment)
    plan: Plan = result.plan
    graph = Graph(result.resources)
    assert check(capability, RULES[capability](plan), graph).built
    changed = _edited(graph, type_, f"{plan.prefix}{suffix}", edit)
    assert not check(capability, RULES[capability](plan), changed).built


def test_the_azure_examples_are_found() -> None:
    assert DEMAND in EXAMPLES
