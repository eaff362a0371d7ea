"""AWS drift baseline: the Baseline step computes it, Register carries it, the deployer stages it where the
monitor reads it. Checked against the published pipeline schema and botocore, and end to end with fakes."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from sagemaker_requests import problems
from shared_synth import synthesized
from test_deployer_lambda import ENDPOINT, FakeS3, FakeSageMaker, approval, environment  # noqa: F401 (autouse)
from test_pipeline_definition import CONTEXT, IN_VPC, errors, needs_schema, official_schema

from components.aws import pipeline_definition as pd
from components.aws.lambdas import deployer, pipeline_steps
from components.aws.names import baseline_prefix
from components.aws.scripts import baseline as script
from components.aws.scripts.drift_methods import drift_scores
from mlops.blueprint import load_blueprint
from mlops.clouds import facts
from mlops.clouds.aws import MODEL_MONITOR_AVAILABILITY
from mlops.design import render_markdown
from mlops.design.run import design_input
from mlops.evidence import aws as aws_evidence
from mlops.evidence import evidence
from mlops.plan import Capability, Plan, plan
from mlops.plan.model import Cloud

ROOT = Path(__file__).resolve().parents[1]
FRAUD = ROOT / "blueprints/fraud-detection-aws.yaml"


def _plan(env: str = "prod") -> Plan:
    return plan(load_blueprint(FRAUD).blueprint, env)


def _flat(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for step in document["Steps"]:
        found.append(step)
        found += [*step["Arguments"].get("IfSteps", []), *step["Arguments"].get("ElseSteps", [])]
    return found


def _steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Name"]: s for s in _flat(document)}


def _document(p: Plan | None = None, context: pd.PipelineContext = IN_VPC) -> dict[str, Any]:
    p = p or _plan()
    return pd.pipeline_definition(p, p.models[0], context)


# --------------------------------------------------------------------------- the script


CSV = "1,10.0,red,3\n0,20.0,blue,4\n1,30.0,red,5\n0,,red,6\n"


def test_baseline_statistics_follow_model_monitors_layout(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "part-0.csv").write_text(CSV)
    script.main(str(tmp_path / "train"), str(tmp_path / "out"))
    statistics = json.loads((tmp_path / "out" / "statistics.json").read_text())
    constraints = json.loads((tmp_path / "out" / "constraints.json").read_text())
    by_name = {f["name"]: f for f in statistics["features"]}
    assert list(by_name) == ["_c0", "_c1", "_c2"]  # the label (first column) is not a feature
    amount = by_name["_c0"]["numerical_statistics"]
    assert by_name["_c0"]["inferred_type"] == "Fractional"
    assert amount["common"] == {"num_present": 3, "num_missing": 1}
    assert (amount["min"], amount["max"], amount["mean"]) == (10.0, 30.0, 20.0)
    kll = amount["distribution"]["kll"]["buckets"]
    assert len(kll) == script.BUCKETS and sum(b["count"] for b in kll) == 3
    assert kll[0]["lower_bound"] == 10.0 and kll[-1]["upper_bound"] == 30.0
    colour = by_name["_c1"]["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert colour == [{"value": "red", "count": 3.0}, {"value": "blue", "count": 1.0}]
    assert by_name["_c2"]["inferred_type"] == "Integral"
    features = {c["name"]: c for c in constraints["features"]}
    assert features["_c0"]["completeness"] == 0.75 and features["_c0"]["num_constraints"]["is_non_negative"]
    assert features["_c1"]["string_constraints"]["domains"] == ["blue", "red"]
    assert constraints["monitoring_config"]["evaluate_constraints"] == "Enabled"


def test_the_drift_methods_read_the_baseline() -> None:
    """What the drift job compares against must be readable by the shipped drift code: same data, no drift;
    shifted data, drift."""
    rows = [[str(i % 2), str(float(i)), "red" if i % 3 else "blue"] for i in range(200)]
    shifted = [[r[0], str(float(r[1]) + 150.0), "blue"] for r in rows]
    baseline, _ = script.baseline(rows)
    same, _ = script.baseline(copy.deepcopy(rows))
    moved, _ = script.baseline(shifted)
    scores, skipped = drift_scores("psi", baseline, same)
    assert skipped == [] and max(scores.values()) < 0.01
    scores, _ = drift_scores("psi", baseline, moved)
    assert scores["_c0"] > 1 and scores["_c1"] > 0.2


def test_an_empty_train_split_fails_the_step() -> None:
    with pytest.raises(ValueError, match="no feature column"):
        script.baseline([["1"], ["0"]])


# --------------------------------------------------------------------------- the pipeline


def test_the_baseline_step_reads_the_train_split_and_runs_the_shipped_script() -> None:
    steps = _steps(_document())
    baseline = steps["Baseline"]
    arguments = baseline["Arguments"]
    [train, code] = arguments["ProcessingInputs"]
    assert train["S3Input"]["S3Uri"] == {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    assert code["S3Input"]["S3Uri"] == f"s3://artifacts/{pd.scripts_prefix('fraud-scorer')}/"
    assert arguments["AppSpecification"]["ContainerEntrypoint"][-1].endswith("/code/baseline.py")
    assert arguments["AppSpecification"]["ImageUri"] == IN_VPC.processing_image
    [output] = arguments["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == {"Get": "Steps.RunContext.OutputParameters['BaselineUri']"}
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == IN_VPC.kms_key_arn
    assert arguments["NetworkConfig"]["EnableNetworkIsolation"] is True  # prod is isolated


def test_register_carries_the_baseline_and_waits_for_it() -> None:
    steps = _steps(_document())
    register = steps["Register"]
    assert register["DependsOn"] == ["Baseline"]
    quality = register["Arguments"]["ModelMetrics"]["ModelDataQuality"]
    assert quality["Statistics"]["S3Uri"] == {"Get": "Steps.RunContext.OutputParameters['BaselineStatisticsUri']"}
    assert quality["Constraints"]["S3Uri"] == {"Get": "Steps.RunContext.OutputParameters['BaselineConstraintsUri']"}
    # The URIs RunContext returns are the files the Baseline step writes into its output.
    outputs = pipeline_steps.run_context({"ExecutionId": "e", "RunsUri": "s3://artifacts/fraud-scorer/runs",
                                          "CheckpointsUri": "s3://c", "CodeUri": "s3://code", "Baseline": "yes"})
    assert outputs["BaselineStatisticsUri"] == f"{outputs['BaselineUri']}/statistics.json"
    assert outputs["BaselineConstraintsUri"] == f"{outputs['BaselineUri']}/constraints.json"
    assert steps["RunContext"]["Arguments"]["Baseline"] == "yes"


def _without(p: Plan, **changes: Any) -> Plan:
    model = p.models[0]
    return p.model_copy(update={"models": (model.model_copy(update=changes), *p.models[1:])})


def test_no_baseline_without_drift_monitoring_or_registry() -> None:
    p = _plan()
    no_drift = _without(p, monitoring=p.models[0].monitoring.model_copy(update={"drift": None}))
    for document in (pd.pipeline_definition(no_drift, no_drift.models[0], IN_VPC),
                     pd.pipeline_definition(p, p.models[0], pd.PipelineContext(
                         **{**IN_VPC.__dict__, "model_package_group": None}))):
        steps = _steps(document)
        assert "Baseline" not in steps
        assert "BaselineUri" not in {o["OutputName"] for o in steps["RunContext"]["OutputParameters"]}
        assert "ModelDataQuality" not in json.dumps(document)


@needs_schema
def test_the_published_schema_refuses_drift_check_baselines_in_register() -> None:
    """Why the baseline is registered as ModelMetrics.ModelDataQuality: DriftCheckBaselines (botocore has it)
    is not in the published schema's RegisterModel step."""
    document = _document()
    assert errors(official_schema(), document) == []
    broken = copy.deepcopy(document)
    _steps(broken)["Register"]["Arguments"]["DriftCheckBaselines"] = \
        _steps(broken)["Register"]["Arguments"]["ModelMetrics"]["ModelDataQuality"]
    assert errors(official_schema(), broken)


@pytest.mark.parametrize("context", [CONTEXT, IN_VPC], ids=["no-vpc", "vpc"])
def test_baseline_and_register_are_requests_sagemaker_accepts(context: pd.PipelineContext) -> None:
    document = _document(context=context)
    flat = {"Parameters": document["Parameters"], "Steps": [
        s for s in _flat(document) if s["Name"] in ("Baseline", "Register")]}
    assert len(flat["Steps"]) == 2
    assert problems(flat) == []
    broken = copy.deepcopy(flat)
    broken["Steps"][1]["Arguments"]["ModelMetrics"]["ModelDataQuality"]["Statistics"]["ContentType"] = "x" * 300
    assert any("ModelDataQuality.Statistics.ContentType" in p for p in problems(broken))


# --------------------------------------------------------------------------- the deployer and the monitor


def _registered_package(version_run: str = "exec-1") -> dict[str, Any]:
    """The package SageMaker creates from the Register step (run-time references resolved)."""
    register = _steps(_document())["Register"]["Arguments"]
    outputs = pipeline_steps.run_context({"ExecutionId": version_run, "RunsUri": "s3://artifacts/fraud-scorer/runs",
                                          "CheckpointsUri": "s3://c", "CodeUri": "s3://code", "Baseline": "yes"})

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Get"}:
            return outputs.get(value["Get"].split("'")[1], "s3://artifacts/model.tar.gz") \
                if "OutputParameters" in value["Get"] else "s3://artifacts/model.tar.gz"
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return [resolve(v) for v in value] if isinstance(value, list) else value
    return resolve(register)


def test_the_deployer_stages_the_registered_baseline_where_the_monitor_reads_it() -> None:
    sagemaker = FakeSageMaker(baselines=False)
    sagemaker.package.update({k: v for k, v in _registered_package().items() if k == "ModelMetrics"})
    s3 = FakeS3()
    deployer.handler(approval(), None, sagemaker=sagemaker, s3=s3)
    staged = {key: source for source, _, key, _ in s3.copies}
    prefix = baseline_prefix("fraud-scorer")
    assert staged[f"{prefix}/statistics.json"] == "s3://artifacts/fraud-scorer/runs/exec-1/baseline/statistics.json"
    assert staged[f"{prefix}/constraints.json"] == \
        "s3://artifacts/fraud-scorer/runs/exec-1/baseline/constraints.json"
    assert ENDPOINT  # the same endpoint the monitor below watches


def test_explicit_drift_check_baselines_take_precedence() -> None:
    sagemaker = FakeSageMaker()  # DriftCheckBaselines set
    sagemaker.package.update({k: v for k, v in _registered_package("other").items() if k == "ModelMetrics"})
    s3 = FakeS3()
    deployer.handler(approval(), None, sagemaker=sagemaker, s3=s3)
    staged = {key: source for source, _, key, _ in s3.copies}
    assert staged[f"{baseline_prefix('fraud-scorer')}/statistics.json"] == \
        "s3://artifacts/pipelines/run-9/statistics.json"


def test_synthesized_drift_job_reads_the_prefix_the_deployer_writes() -> None:
    result = synthesized("blueprints/fraud-detection-aws.yaml", "prod")
    by_name = {r.name: r for r in result.resources}
    base = "fraud-detection-prod-fraud-scorer"
    job = json.loads(by_name[f"{base}-monitoring-drift-schedule"].inputs["target"]["input"])
    prefix = baseline_prefix("fraud-scorer")
    assert job["Environment"]["MLOPS_BASELINE_URI"].endswith(f"/{prefix}/statistics.json")
    function = by_name[f"{base}-deployer-function-function"]
    assert function.inputs["environment"]["variables"]["BASELINE_PREFIX"] == prefix
    script_object = by_name[f"{base}-training-baseline-script"]
    assert script_object.inputs["key"] == f"{pd.scripts_prefix('fraud-scorer')}/{pd.BASELINE_SCRIPT}"
    assert script_object.inputs["content"] == (ROOT / "components/aws/scripts/baseline.py").read_text()
    assert script_object.inputs["serverSideEncryption"] == "aws:kms"


def test_evidence_and_components_agree_on_the_baseline_prefix() -> None:
    assert aws_evidence.baseline_prefix("fraud-scorer") == baseline_prefix("fraud-scorer")


@pytest.mark.parametrize("tamper", ["no-baseline-step", "not-registered", "deployer-elsewhere"])
def test_drift_evidence_needs_the_baseline_computed_registered_and_staged(tamper: str) -> None:
    result = synthesized("blueprints/fraud-detection-aws.yaml", "prod")
    assert evidence(result.plan, result.resources)[Capability.drift_monitoring].built
    changed = []
    for r in result.resources:
        if r.name.endswith("fraud-scorer-training-pipeline") and tamper != "deployer-elsewhere":
            document = json.loads(r.inputs["pipelineDefinition"])
            if tamper == "no-baseline-step":
                document["Steps"] = [s for s in document["Steps"] if s["Name"] != "Baseline"]
            else:
                _steps(document)["Register"]["Arguments"]["ModelMetrics"].pop("ModelDataQuality")
            r = dataclasses.replace(r, inputs={**r.inputs, "pipelineDefinition": json.dumps(document)})
        if r.name.endswith("fraud-scorer-deployer-function-function") and tamper == "deployer-elsewhere":
            variables = {**r.inputs["environment"]["variables"], "BASELINE_PREFIX": "monitoring/other/baseline"}
            r = dataclasses.replace(r, inputs={**r.inputs, "environment": {"variables": variables}})
        changed.append(r)
    found = evidence(result.plan, changed)[Capability.drift_monitoring]
    assert not found.built and found.missing, tamper


def test_plan_facts_and_design_say_which_mechanism_monitors_and_that_it_is_closed_to_new_customers() -> None:
    url, notice = MODEL_MONITOR_AVAILABILITY
    assert url.endswith("/model-monitor-availability-change.html") and "no longer open to new customers" in notice
    mechanism = facts(Cloud.aws).fallbacks["drift and quality mechanism"]
    assert "not SageMaker Model Monitor" in mechanism and "no longer open to new customers" in mechanism
    assert "EventBridge Scheduler" in mechanism and "CreateProcessingJob" in mechanism
    text = render_markdown(design_input(Path("blueprints/fraud-detection-aws.yaml"), "prod"))
    assert mechanism in text and "Baseline step computes from the train split" in text


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
@pytest.mark.parametrize("blueprint", ["blueprints/fraud-detection-aws.yaml", "blueprints/readmission-risk-aws.yaml"])
def test_every_synthesized_step_including_register_is_a_request_sagemaker_accepts(blueprint: str, env: str) -> None:
    """The Condition step's branches (Register: CreateModelPackage) too, with the synthesized values."""
    resources = synthesized(blueprint, env).resources
    computed = frozenset(f"{r.name}-id" for r in resources)
    pipelines = [r for r in resources if r.type == "aws:sagemaker/pipeline:Pipeline"]
    assert pipelines
    registered = 0
    for r in pipelines:
        document = json.loads(r.inputs["pipelineDefinition"])
        flat = {"Parameters": document["Parameters"], "Steps": _flat(document)}
        registered += sum(s["Type"] == "RegisterModel" for s in flat["Steps"])
        assert problems(flat, computed) == [], r.name
    assert registered  # the examples register their versions
