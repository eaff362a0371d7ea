"""Azure ML training pipelines: the pure job/component documents (validated with the azure-ai-ml SDK), the
platform step scripts, and the pipeline resources under mocks (components, cluster, schedule)."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from shared_synth import synthesized

from components.azure import pipeline_job as pj
from components.azure.compute import COMPUTE_NAME_MAX, cluster_name, max_nodes
from components.azure.pipeline import job_definition
from components.azure.steps import quality_gate
from components.azure.steps.register_model import tags as register_tags
from components.azure.vm_sizes import vm_size
from components.payload import decode, encode
from mlops.blueprint import load_blueprint
from mlops.blueprint.model import Direction, HyperparameterSearch, SearchStrategy
from mlops.clouds.azure_platform import AZURE_SEARCH_FRAMEWORKS
from mlops.plan import ModelPlan, Plan, PlanError, plan_loaded
from mlops.synth import SynthResult
from mlops.synth.recorder import Recorded

FORECAST = "blueprints/demand-forecasting-azure.yaml"
FRAUD = "blueprints/fraud-detection-aws.yaml"  # the pure documents do not depend on the plan's cloud
WS = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
CTX = pj.JobContext(
    workspace_id=WS, compute="trainer", code_id=f"{WS}/codes/m-code/versions/1",
    identity_id="/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id",
    environment_id=f"{WS}/environments/m-training/versions/1", data_datastore="platform_data",
    artifacts_datastore="platform_artifacts", registry="registry")
SCHEDULE = "azure-native:machinelearningservices:Schedule"
# azure-ai-ml's marshmallow schemas warn about marshmallow 4 on every load.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning",
                                        "ignore::FutureWarning")
COMPONENT = "azure-native:machinelearningservices:ComponentVersion"


def _job(plan: Plan, model: ModelPlan, ctx: pj.JobContext = CTX) -> dict[str, Any]:
    """The job body as plain JSON data (for reading nested nodes without the TypedDict unions)."""
    return json.loads(json.dumps(pj.pipeline_job(plan, model, ctx)))


def _plan(path: str, env: str = "prod") -> Plan:
    return plan_loaded(load_blueprint(path), env)


def _with_search(plan: Plan, **search: Any) -> tuple[Plan, ModelPlan]:
    """The plan's first model with a changed framework / search (plans are frozen: copies)."""
    model = plan.models[0]
    assert model.training is not None
    framework = search.pop("framework", model.framework)
    hyperparameters = search.pop("hyperparameters", model.training.hyperparameters)
    training = model.training.model_copy(update={
        "search": HyperparameterSearch(objective_metric="mape", direction=Direction.at_most, **search),
        "hyperparameters": hyperparameters})
    changed = model.model_copy(update={"training": training, "framework": framework})
    plan = plan.model_copy(update={"models": (changed,)})
    return plan, changed


# --------------------------------------------------------------------------- SDK validation


def _have_sdk() -> bool:
    try:
        return importlib.util.find_spec("azure.ai.ml") is not None
    except ModuleNotFoundError:
        return False


requires_sdk = pytest.mark.skipif(not _have_sdk(),
                                  reason="azure-ai-ml (set up by `python3 dev.py setup`) validates Azure ML documents")


def _sdk_round_trip(body: pj.PipelineJobBody) -> dict[str, Any]:
    from azure.ai.ml._restclient.arm_ml_service.models import JobBase
    from azure.ai.ml.entities import PipelineJob

    job = cast(PipelineJob, PipelineJob._from_rest_object(JobBase({"properties": json.loads(json.dumps(body))})))
    assert job._validate().passed
    return job._to_rest_object().as_dict()["properties"]


def _specs_by_id(plan: Plan, model: ModelPlan) -> dict[str, dict[str, Any]]:
    return {f"{WS}/components/{s['name']}/versions/{s['version']}": dict(s)
            for s in pj.components(plan, model, CTX).values()}


def _strict_problems(plan: Plan, model: ModelPlan, body: Any = None) -> list[str]:
    from azure_ml_documents import job_problems

    return job_problems(json.loads(json.dumps(body or pj.pipeline_job(plan, model, CTX))), _specs_by_id(plan, model))


def _assert_sdk_accepts(plan: Plan, model: ModelPlan) -> pj.PipelineJobBody:
    from azure.ai.ml import load_component

    for step, spec in pj.components(plan, model, CTX).items():
        component = load_component(source=io.StringIO(yaml.safe_dump(dict(spec))))
        assert component.name == spec["name"] and component.version == spec["version"], step
    assert _strict_problems(plan, model) == []
    return pj.pipeline_job(plan, model, CTX)


@requires_sdk
@pytest.mark.parametrize("path", [FORECAST, FRAUD, "blueprints/readmission-risk-aws.yaml"])
def test_the_sdk_accepts_every_example_job(path: str) -> None:
    plan = _plan(path)
    trained = [m for m in plan.models if m.training is not None]
    assert trained
    for model in trained:
        _assert_sdk_accepts(plan, model)


AZURE_EXAMPLES = sorted(str(p) for p in Path("blueprints").glob("*-azure.yaml"))


@requires_sdk
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
@pytest.mark.parametrize("path", AZURE_EXAMPLES)
def test_every_synthesized_component_and_job_passes_the_strict_checks(path: str, env: str) -> None:
    from azure_ml_documents import graph_problems, pipeline_jobs

    result = synthesized(path, env)
    assert list(pipeline_jobs(result.resources)), "no pipeline job to check"
    assert graph_problems(result.resources) == []


@requires_sdk
@pytest.mark.parametrize("strategy", list(SearchStrategy))
def test_the_sdk_accepts_every_sweep_strategy(strategy: SearchStrategy) -> None:
    plan, model = _with_search(_plan(FORECAST), strategy=strategy, max_trials=12, max_parallel_trials=3)
    body = _assert_sdk_accepts(plan, model)
    sweep = body["jobs"][pj.TRAIN]
    assert sweep["type"] == "sweep"
    assert sweep["limits"]["max_total_trials"] == 12 and sweep["limits"]["max_concurrent_trials"] == 3
    assert sweep["limits"]["trial_timeout"] == 2 * 3600  # max_runtime_hours of the forecaster
    assert sweep["limits"]["timeout"] == 4 * 2 * 3600  # four waves of three trials
    assert sweep["objective"] == {"goal": "minimize", "primary_metric": "mape"}
    expected = {"random": "random", "grid": "grid", "bayesian": "bayesian", "hyperband": "random"}
    assert sweep["sampling_algorithm"] == expected[strategy.value]
    # Bayesian sampling takes no early termination; the others stop weak trials (hyperband's substitute).
    assert ("early_termination" in sweep) == (strategy != SearchStrategy.bayesian)
    if strategy == SearchStrategy.grid:
        assert all(d["type"] == "choice" for d in sweep["search_space"].values())


@requires_sdk
def test_the_sdk_rejects_a_malformed_node() -> None:
    from azure.ai.ml.exceptions import JobParsingError

    plan = _plan(FORECAST)
    body = pj.pipeline_job(plan, plan.models[0], CTX)
    body["jobs"][pj.VALIDATE]["outputs"] = {"train": {"job_output_type": "literal"}}  # type: ignore[typeddict-item]
    with pytest.raises(JobParsingError, match="unsupported JobOutput type: literal"):
        _sdk_round_trip(body)


def _node(body: dict[str, Any], step: str) -> dict[str, Any]:
    return cast(dict[str, Any], body["jobs"][step])


HOSTILE_JOBS: dict[str, tuple[Any, str]] = {
    # What the SDK alone lets through (its REST parse keeps or drops these silently): each must now fail.
    "unknown node key": (lambda b: _node(b, pj.EVALUATE).update(retries=3),
                         "jobs.evaluate: attributes the SDK does not know: ['retries']"),
    "unknown key inside an input": (lambda b: _node(b, pj.EVALUATE)["inputs"]["spec"].update(label="v2"),
                                    "job.jobs.evaluate.inputs.spec.label: unknown to the SDK"),
    "unknown key inside limits": (lambda b: _node(b, pj.TRAIN)["limits"].update(max_retries=2),
                                  "job.jobs.train.limits.max_retries: unknown to the SDK"),
    "binding to a missing parent input": (
        lambda b: _node(b, pj.EVALUATE)["inputs"]["spec"].update(value="${{parent.inputs.evaluation_spec}}"),
        "binds parent input 'evaluation_spec', which the pipeline does not have"),
    "binding to a missing output": (
        lambda b: _node(b, pj.EVALUATE)["inputs"]["test"].update(value="${{parent.jobs.validate.outputs.holdout}}"),
        "binds output 'holdout' of validate"),
    "binding to a missing node": (
        lambda b: _node(b, pj.GATES)["inputs"]["evaluation"].update(value="${{parent.jobs.score.outputs.evaluation}}"),
        "binds node 'score'"),
    "input the component does not declare": (
        lambda b: _node(b, pj.GATES)["inputs"].update(extra={"job_input_type": "literal", "value": "x"}),
        "jobs.quality_gates.inputs.extra: not an input of demand_forecaster_quality_gates"),
    "required input left unbound": (lambda b: _node(b, pj.GATES)["inputs"].pop("gates"),
                                    "required inputs of demand_forecaster_quality_gates left unbound: ['gates']"),
    "uri_folder output into an mlflow_model input": (
        lambda b: _node(b, pj.EVALUATE)["inputs"]["model"].update(value="${{parent.jobs.validate.outputs.train}}"),
        "output validate.train of type uri_folder bound to an input of type mlflow_model"),
    "literal pipeline input into a folder input": (
        lambda b: _node(b, pj.EVALUATE)["inputs"]["test"].update(value="${{parent.inputs.gates}}"),
        "literal pipeline input 'gates' bound to an input of type uri_folder"),
    "folder pipeline input into a string input": (
        lambda b: _node(b, pj.GATES)["inputs"]["gates"].update(value="${{parent.inputs.data}}"),
        "pipeline input 'data' of type uri_folder bound to an input of type string"),
    "output the component does not declare": (
        lambda b: _node(b, pj.TRAIN).update(outputs={"logs": {"job_output_type": "uri_folder", "uri": "x",
                                                               "mode": "ReadWriteMount"}}),
        "jobs.train.outputs.logs: not an output of demand_forecaster_train"),
}


@requires_sdk
@pytest.mark.parametrize("case", list(HOSTILE_JOBS))
def test_strict_checks_fail_each_hostile_job(case: str) -> None:
    plan = _plan(FORECAST)
    model = plan.models[0]
    assert _strict_problems(plan, model) == []  # the unchanged job passes: the failure is the mutation's
    body = json.loads(json.dumps(pj.pipeline_job(plan, model, CTX)))
    mutate, expected = HOSTILE_JOBS[case]
    mutate(body)
    problems = _strict_problems(plan, model, body)
    assert any(expected in p for p in problems), problems


@requires_sdk
def test_strict_checks_fail_a_string_into_a_number_input() -> None:
    plan, model = _with_search(_plan(FORECAST), strategy=SearchStrategy.random, max_trials=4, max_parallel_trials=2)
    specs = _specs_by_id(plan, model)
    body = json.loads(json.dumps(pj.pipeline_job(plan, model, CTX)))
    assert _strict_problems(plan, model, body) == []
    # A pinned value for a searchable (number) input, given as a word: the trial would fail parsing it.
    _node(body, pj.TRAIN)["inputs"]["learning_rate"] = {"job_input_type": "literal", "value": "fast"}
    from azure_ml_documents import job_problems

    assert any("literal 'fast' is not a number" in p for p in job_problems(body, specs))
    # A searched hyperparameter that is not a number input of the trial component.
    body = json.loads(json.dumps(pj.pipeline_job(plan, model, CTX)))
    _node(body, pj.TRAIN)["search_space"]["hyperparameters"] = {"type": "choice", "values": [1, 2]}
    assert any("search_space.hyperparameters: searched, but the input is a string" in p
               for p in job_problems(body, specs))


HOSTILE_COMPONENTS: dict[str, tuple[Any, str]] = {
    "unknown top-level key": (lambda s: s.update(retry_settings={"max_retries": 2}), "retry_settings"),
    "unknown key inside an input": (lambda s: s["inputs"]["train"].update(format_hint="parquet"), "Unknown field"),
    "command binds a missing input": (lambda s: s.update(command=s["command"] + " --seed ${{inputs.seed}}"),
                                      "inputs.seed"),
    "command binds a missing output": (lambda s: s.update(command=s["command"] + " --log ${{outputs.log}}"),
                                       "outputs.log"),
}


@requires_sdk
@pytest.mark.parametrize("case", list(HOSTILE_COMPONENTS))
def test_strict_checks_fail_each_hostile_component(case: str) -> None:
    from azure_ml_documents import load_component_strictly

    plan = _plan(FORECAST)
    spec = json.loads(json.dumps(pj.components(plan, plan.models[0], CTX)[pj.TRAIN]))
    assert load_component_strictly(spec)[1] == []
    mutate, expected = HOSTILE_COMPONENTS[case]
    mutate(spec)
    problems = load_component_strictly(spec)[1]
    assert any(expected in p for p in problems), problems


# --------------------------------------------------------------------------- the DAG


def test_dag_matches_the_aws_pipeline() -> None:
    plan = _plan(FORECAST)
    body = _job(plan, plan.models[0])
    jobs = body["jobs"]
    assert list(jobs) == [pj.VALIDATE, pj.TRAIN, pj.EVALUATE, pj.GATES, pj.REGISTER]

    def upstream(step: str) -> set[str]:
        values = [i["value"] for i in jobs[step]["inputs"].values()]
        return {v.split(".")[2] for v in values if v.startswith("${{parent.jobs.")}

    assert upstream(pj.TRAIN) == {pj.VALIDATE}
    assert upstream(pj.EVALUATE) == {pj.TRAIN, pj.VALIDATE}
    assert upstream(pj.GATES) == {pj.EVALUATE}
    # Registration consumes the gate's verdict: a failed gate fails the run before it.
    assert upstream(pj.REGISTER) == {pj.TRAIN, pj.GATES}
    assert body["settings"]["continue_on_step_failure"] is False and body["settings"]["force_rerun"] is True
    assert body["settings"]["default_datastore"] == "platform_artifacts"
    assert body["identity"] == {"identityType": "Managed", "resourceId": CTX.identity_id}
    assert body["inputs"]["data"]["uri"] == "azureml://datastores/platform_data/paths/demand-forecaster/training/"


def test_gates_carry_the_blueprint_thresholds_and_champion() -> None:
    plan = _plan(FRAUD)
    body = _job(plan, plan.models[0])
    gates = decode(body["inputs"]["gates"]["value"])
    assert {(g["label"], g["direction"], g["threshold"]) for g in gates["gates"]} == {
        ("auc", "at_least", 0.92), ("false_positive_rate", "at_most", 0.02),
        ("disparate_impact_ratio", "at_least", 0.8), ("p99 latency (ms)", "at_most", 50)}
    assert gates["champion"] == {"min_improvement": 0.0}
    spec = decode(body["inputs"]["evaluation"]["value"])
    assert spec["champion"] == {"registry": "registry", "model": "fraud-scorer", "metric": "auc",
                                "direction": "at_least"}
    # Without a registry there is no champion to compare with.
    no_registry = _job(plan, plan.models[0], pj.JobContext(**{**CTX.__dict__, "registry": None}))
    assert "champion" not in decode(no_registry["inputs"]["gates"]["value"])


def test_model_cards_only_where_governance_requires_them() -> None:
    fraud, forecast = _plan(FRAUD), _plan(FORECAST)
    card = decode(_job(fraud, fraud.models[0])["inputs"]["card"]["value"])
    assert card["risk_tier"] == "high" and card["status"] == "draft"
    assert "model_card" in pj.pipeline_job(fraud, fraud.models[0], CTX)["jobs"][pj.REGISTER]["inputs"]
    assert "card" not in pj.pipeline_job(forecast, forecast.models[0], CTX)["inputs"]


def test_spot_training_checkpoints_to_a_fixed_path() -> None:
    plan = _plan(FRAUD)
    train = _job(plan, plan.models[0])["jobs"][pj.TRAIN]
    assert train["outputs"]["checkpoints"] == {
        "job_output_type": "uri_folder", "mode": "ReadWriteMount",
        "uri": "azureml://datastores/platform_artifacts/paths/fraud-scorer/checkpoints/"}


def test_components_are_versioned_by_content() -> None:
    plan = _plan(FORECAST)
    specs = pj.components(plan, plan.models[0], CTX)
    assert {s["name"] for s in specs.values()} == {f"demand_forecaster_{s}" for s in pj.STEPS}
    assert all(s["version"] == pj.version_of(s) for s in specs.values())
    # The team's scripts come from the code asset; the platform's own steps carry their script inline.
    assert all("code" in specs[s] for s in (pj.VALIDATE, pj.TRAIN, pj.EVALUATE))
    assert all("code" not in specs[s] and specs[s]["command"].startswith("python -c ") for s in (pj.GATES, pj.REGISTER))
    other = pj.JobContext(**{**CTX.__dict__, "environment_id": f"{WS}/environments/m-training/versions/2"})
    assert pj.components(plan, plan.models[0], other)[pj.TRAIN]["version"] != specs[pj.TRAIN]["version"]


def test_search_errors_are_located() -> None:
    plan, model = _with_search(_plan(FORECAST), framework="pytorch")
    with pytest.raises(PlanError) as error:
        pj.check(plan, model)
    [diagnostic] = error.value.diagnostics
    assert diagnostic.path == ("models", 0, "training", "hyperparameter_search", "objective_metric")
    pinned = {"learning_rate": 0.1, "num_leaves": 31, "feature_fraction": 0.9, "min_data_in_leaf": 20}
    plan, model = _with_search(_plan(FORECAST), hyperparameters=pinned)
    with pytest.raises(PlanError, match="nothing left to search"):
        pj.check(plan, model)
    assert set(pj.SEARCH_SPACES) == set(pj.GRID_SPACES) == set(AZURE_SEARCH_FRAMEWORKS)


def test_pinned_hyperparameters_are_not_searched() -> None:
    plan, model = _with_search(_plan(FORECAST), hyperparameters={"learning_rate": 0.05})
    body = _job(plan, model)
    assert "learning_rate" not in body["jobs"][pj.TRAIN]["search_space"]
    assert decode(body["inputs"]["hyperparameters"]["value"]) == {"learning_rate": 0.05}


def test_durations() -> None:
    assert [pj._iso_hours(h) for h in (2, 1.5, 0.25)] == ["PT2H", "PT1H30M", "PT15M"]


# --------------------------------------------------------------------------- the platform's step scripts

REPORT = {"metrics": {"mape": {"value": 0.15}, "abs_bias_percent": {"value": 6}},
          "champion": {"exists": True, "improvement": 0.01}}
GATES = {"model": "m", "gates": [
    {"label": "mape", "path": "metrics.mape.value", "direction": "at_most", "threshold": 0.18},
    {"label": "abs_bias_percent", "path": "metrics.abs_bias_percent.value", "direction": "at_most", "threshold": 5},
    {"label": "auc", "path": "metrics.auc.value", "direction": "at_least", "threshold": 0.9}],
    "champion": {"min_improvement": 0.02}}


def test_quality_gate_lists_every_missed_gate() -> None:
    assert quality_gate.failures(REPORT, GATES) == [
        "abs_bias_percent = 6 (needs <= 5)", "auc: missing from the evaluation report (needs >= 0.9)",
        "improvement over the champion = 0.01 (needs >= 0.02 when a champion exists)"]
    passing = {"metrics": {"mape": {"value": 0.1}}, "champion": {"exists": False}}
    assert quality_gate.failures(passing, {"gates": GATES["gates"][:1], "champion": {"min_improvement": 1}}) == []


def test_quality_gate_script_runs_as_the_component_runs_it(tmp_path: Path) -> None:
    plan = _plan(FORECAST)
    command = pj.components(plan, plan.models[0], CTX)[pj.GATES]["command"]
    (tmp_path / "evaluation").mkdir()
    (tmp_path / "evaluation" / "evaluation.json").write_text(json.dumps(REPORT))

    def run(gates: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        # What Azure ML does: substitute the bindings, run the command in a shell.
        line = command.replace("${{inputs.evaluation}}", str(tmp_path / "evaluation")) \
            .replace("${{inputs.gates}}", encode(gates)).replace("${{outputs.verdict}}", str(tmp_path / "verdict"))
        return subprocess.run(["bash", "-c", sys.executable + line.removeprefix("python")],
                              capture_output=True, text=True, check=False)

    failed = run(GATES)
    assert failed.returncode == 1 and "abs_bias_percent = 6 (needs <= 5)" in failed.stderr
    passed = run({"model": "m", "gates": GATES["gates"][:1]})
    assert passed.returncode == 0, passed.stderr
    assert json.loads((tmp_path / "verdict" / "verdict.json").read_text())["passed"] is True


def test_register_tags_carry_the_verdict_and_the_draft_card() -> None:
    assert register_tags({"passed": True}, "drift", None) == {"quality_gates": "passed", "triggered_by": "drift"}
    tagged = register_tags({"passed": True}, "schedule", {"model": "m"})
    assert tagged["model_card_status"] == "draft" and json.loads(tagged["model_card"]) == {"model": "m"}


# --------------------------------------------------------------------------- resources under mocks


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(FORECAST, "prod")


def _one(result: SynthResult, suffix: str) -> Recorded:
    [record] = [r for r in result.resources if r.name.endswith(suffix)]
    return record


def test_schedule_submits_the_pure_job_on_the_blueprint_cadence(prod: SynthResult) -> None:
    schedule = _one(prod, "-demand-forecaster-training-retraining")
    assert schedule.type == SCHEDULE
    properties = schedule.inputs["properties"]
    assert properties["trigger"] == {"triggerType": "Cron", "expression": "0 0 * * *", "timeZone": "UTC"}
    assert properties["action"]["actionType"] == "CreateJob"
    job = properties["action"]["jobDefinition"]
    assert job["jobType"] == "Pipeline" and job["experimentName"] == "demand-forecaster"
    assert job["inputs"]["trigger"] == {"jobInputType": "literal", "value": "schedule"}
    workspace = ("/subscriptions/c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f/resourceGroups/demand-forecast-prod-rg/"
                 "providers/Microsoft.MachineLearningServices/workspaces/demand-forecast-prod-mlw")
    assert job["computeId"] == f"{workspace}/computes/{cluster_name('demand-forecaster')}"
    components = {r.inputs["name"]: r for r in prod.resources if r.type == COMPONENT}
    for step, node in job["jobs"].items():
        name = pj.component_name("demand-forecaster", step)
        version = components[name].inputs["version"]
        assert node["componentId"] == f"{workspace}/components/{name}/versions/{version}"
        # The schedule waits for the components it refers to.
        assert components[name].urn in schedule.dependencies


def test_the_recorded_job_is_the_typed_definition_of_the_pure_body() -> None:
    plan = _plan(FORECAST)
    body = pj.pipeline_job(plan, plan.models[0], CTX)
    args = job_definition(body)
    assert args.job_type == "Pipeline" and args.jobs == body["jobs"] and args.settings == body["settings"]
    assert set(cast(dict[str, Any], args.inputs)) == set(body["inputs"])


def test_components_code_and_environment(prod: SynthResult) -> None:
    code = _one(prod, "-demand-forecaster-training-code")
    assert code.inputs["properties"]["codeUri"] == (
        f"https://{prod.outputs['storage_account']}.blob.core.windows.net/artifacts/demand-forecaster/code")
    environment = _one(prod, "-demand-forecaster-training-environment")
    assert environment.inputs["properties"]["image"] == (
        f"{prod.outputs['container_registry']}.azurecr.io/demand-forecaster/training:1")
    train = _one(prod, "-demand-forecaster-training-train").inputs["properties"]["componentSpec"]
    assert train["environment"].endswith(f"/environments/demand-forecaster-training/versions/"
                                         f"{environment.inputs['version']}")
    assert train["code"].endswith(f"/codes/demand-forecaster-code/versions/{code.inputs['version']}")


def test_training_cluster(prod: SynthResult) -> None:
    cluster = _one(prod, "-demand-forecaster-training-compute-cluster").inputs
    properties = cluster["properties"]
    assert properties["computeType"] == "AmlCompute" and properties["disableLocalAuth"] is True
    inner = properties["properties"]
    assert inner["vmSize"] == "Standard_DS4_v2" and inner["vmPriority"] == "Dedicated"
    assert inner["enableNodePublicIp"] is False and inner["remoteLoginPortPublicAccess"] == "Disabled"
    assert inner["scaleSettings"] == {"minNodeCount": 0, "maxNodeCount": 1, "nodeIdleTimeBeforeScaleDown": "PT10M"}
    assert cluster["identity"]["type"] == "UserAssigned"


def test_cluster_sizes_and_names() -> None:
    plan = _plan(FRAUD)
    model = plan.models[0]
    assert max_nodes(model) == 4  # four parallel trials of one node
    assert vm_size("large") == "Standard_D8s_v3" and vm_size("Standard_NC6s_v3") == "Standard_NC6s_v3"
    with pytest.raises(ValueError, match="not an Azure VM size"):
        vm_size("ml.m5.large")
    long = cluster_name("demand-forecaster")
    assert len(long) <= COMPUTE_NAME_MAX and long == cluster_name("demand-forecaster")
    assert cluster_name("short") == "short"


# --------------------------------------------------------------------------- pinned images


def test_the_training_image_tag_is_the_stacks_and_never_latest() -> None:
    from mlops.synth import synth

    pinned = synth(FORECAST, "dev", {"mlops:imageTags": json.dumps({"demand-forecaster": "2026.12.1"})})
    environment = _one(pinned, "-demand-forecaster-training-environment").inputs
    assert environment["properties"]["image"].endswith("/demand-forecaster/training:2026.12.1")
    # A new tag is a new environment version, so the components (and the job) move to it together.
    default = synthesized(FORECAST, "dev")
    assert environment["version"] != _one(default, "-demand-forecaster-training-environment").inputs["version"]
    for settings, message in (({"demand-forecaster": "latest"}, "not a pinned image tag"),
                              ({"fraud-scorer": "3"}, "not a model this stack trains")):
        with pytest.raises(Exception, match=message):
            synth(FORECAST, "dev", {"mlops:imageTags": json.dumps(settings)})


def test_no_moving_image_or_environment_reference_in_the_azure_back_end() -> None:
    # The source itself: no `:latest` tag and no environment label anywhere in components/azure.
    for path in Path("components/azure").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r":latest\b|/labels/", text), path


def test_image_checks_fail_a_moving_reference(prod: SynthResult) -> None:
    from azure_ml_documents import image_problems

    assert image_problems(prod.resources) == []
    graph = copy.deepcopy(prod.resources)
    _one_of(graph, "-demand-forecaster-training-environment").inputs["properties"]["image"] = "r.azurecr.io/m/t:latest"
    schedules = [r for r in graph if r.type == SCHEDULE and r.inputs["properties"]["action"].get(
        "jobDefinition", {}).get("jobType") == "Command"]
    assert schedules, "no command job to check"
    schedules[0].inputs["properties"]["action"]["jobDefinition"]["environmentId"] = (
        "azureml://registries/azureml/environments/sklearn-1.5/labels/latest")
    deployments = [r for r in graph if r.type.endswith(("OnlineDeployment", ":BatchDeployment"))]
    deployments[0].inputs["properties"]["environmentId"] = "azureml:serving:1"
    problems = image_problems(graph)
    assert len(problems) == 3, problems


def _one_of(records: list[Recorded], suffix: str) -> Recorded:
    [record] = [r for r in records if r.name.endswith(suffix)]
    return record


@requires_sdk
def test_strict_checks_fail_a_hostile_command_job(prod: SynthResult) -> None:
    from azure_ml_documents import command_job_problems, submitted_jobs

    jobs = list(submitted_jobs(prod.resources, "Command"))
    assert len(jobs) == 3  # batch run, deployer, quality check
    for _, body in jobs:
        assert command_job_problems(body) == []
    body = copy.deepcopy(jobs[0][1])
    body["retries"] = 3
    body["environmentVariables"] = {**body["environmentVariables"], "X": "1"}  # allowed: a new variable
    body["limits"] = {"jobLimitsType": "Command", "timeout": "PT1H", "max_retries": 2}
    problems = command_job_problems(body)
    assert any("job.retries: unknown to the SDK" in p for p in problems), problems
    assert any("job.limits.max_retries: unknown to the SDK" in p for p in problems), problems
    assert not any("environmentVariables" in p for p in problems), problems
