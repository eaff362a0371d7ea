"""The training pipeline's Lambda steps (components/aws/lambdas/pipeline_steps.py), against a fake S3 client,
and their contract with the definition: each step returns exactly the output parameters it declares."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from components.aws import pipeline_definition as pd
from components.aws.lambdas import pipeline_steps
from mlops.blueprint import load_blueprint
from mlops.plan import plan

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = pd.PipelineContext(
    role_arn="role", steps_function_arn="function", kms_key_arn="key", data_bucket="data",
    artifact_bucket="artifacts", training_image="img", inference_image="img", processing_image="img",
    model_package_group="group")


def _report(event: dict[str, Any]) -> dict[str, Any]:
    """An evaluation.json with every value the step's gates read (as evaluate.py must write it)."""
    report: dict[str, Any] = {"champion": {"exists": True, "improvement": 0.02}}
    for gate in json.loads(event.get("Gates", "[]")):
        node = report
        for key in gate["Path"][:-1]:
            node = node.setdefault(key, {})
        node[gate["Path"][-1]] = 0.5
    return report


class FakeS3:
    def __init__(self, objects: dict[tuple[str, str], bytes]) -> None:
        self.objects = objects
        self.calls: list[tuple[str, str]] = []

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls.append((Bucket, Key))
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}


def _lambda_steps(example: str, env: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    p = plan(load_blueprint(ROOT / "blueprints" / example).blueprint, env)
    found = []
    for m in p.models:
        if m.training is None:
            continue
        document = pd.pipeline_definition(p, m, CONTEXT)
        defaults = {x["Name"]: x["DefaultValue"] for x in document["Parameters"]}
        for step in document["Steps"]:
            if step["Type"] == "Lambda":
                found.append((step, defaults))
    return found


def _event(arguments: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    def value(v: Any) -> Any:
        if isinstance(v, dict) and set(v) == {"Get"}:
            kind, _, rest = v["Get"].partition(".")
            if kind == "Parameters":
                return defaults[rest]
            if kind == "Execution":
                return "exec-1"
            return "s3://artifacts/fraud-scorer/runs/exec-1/evaluation" if "evaluation" in rest else "job-7"
        return v
    return {k: value(v) for k, v in arguments.items()}


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("example", ["fraud-detection-aws.yaml", "readmission-risk-aws.yaml"])
def test_each_step_returns_exactly_what_it_declares(example: str, env: str) -> None:
    steps = _lambda_steps(example, env)
    assert {s["Name"] for s, _ in steps} >= {"RunContext", "ReadEvaluation"}
    for step, defaults in steps:
        event = _event(step["Arguments"], defaults)
        report = json.dumps(_report(event)).encode()
        s3 = FakeS3({("artifacts", "fraud-scorer/runs/exec-1/evaluation/evaluation.json"): report})
        outputs = pipeline_steps.handler(event, None, s3=s3)
        declared = {o["OutputName"]: o["OutputType"] for o in step["OutputParameters"]}
        assert set(outputs) == set(declared), step["Name"]
        python = {"String": str, "Float": float, "Boolean": bool, "Integer": int}
        for name, kind in declared.items():
            assert type(outputs[name]) is python[kind], (step["Name"], name)


def test_run_context_paths_are_per_execution() -> None:
    outputs = pipeline_steps.run_context({"ExecutionId": "abc", "RunsUri": "s3://a/m/runs/",
                                          "CheckpointsUri": "s3://a/m/checkpoints", "CodeUri": "s3://a/m/code/"})
    assert outputs == {"TrainUri": "s3://a/m/runs/abc/train", "ValidationUri": "s3://a/m/runs/abc/validation",
                       "TestUri": "s3://a/m/runs/abc/test", "EvaluationUri": "s3://a/m/runs/abc/evaluation",
                       "CheckpointUri": "s3://a/m/checkpoints/abc", "SourceArchiveUri": "s3://a/m/code/sourcedir.tar.gz"}


def test_best_model_follows_sagemakers_output_layout() -> None:
    assert pipeline_steps.best_model({"OutputPath": "s3://a/m/tuning", "TrainingJobName": "tune-001-abc"}) == {
        "ModelUri": "s3://a/m/tuning/tune-001-abc/output/model.tar.gz"}


GATES = json.dumps([{"Parameter": "Min-auc", "Label": "auc", "Path": ["metrics", "auc", "value"],
                     "Direction": "at_least"},
                    {"Parameter": "Max-fpr", "Label": "fpr", "Path": ["metrics", "fpr", "value"],
                     "Direction": "at_most"}])


def _gates_event(**extra: Any) -> dict[str, Any]:
    return {"Model": "m", "ExecutionId": "e", "Gates": GATES, "Bar-Min-auc": 0.9, "Bar-Max-fpr": 0.05, **extra}


@pytest.mark.parametrize(("auc", "fpr", "passed"), [(0.95, 0.01, True), (0.85, 0.01, False), (0.95, 0.2, False),
                                                    (0.9, 0.05, True)])
def test_gates_compare_in_their_direction(auc: float, fpr: float, passed: bool) -> None:
    outputs = pipeline_steps.evaluate_gates({"metrics": {"auc": {"value": auc}, "fpr": {"value": fpr}}},
                                            _gates_event())
    assert outputs["Passed"] is passed
    assert (outputs["Value-Min-auc"], outputs["Value-Max-fpr"]) == (auc, fpr)
    assert ("FAILED" in outputs["Message"]) is not passed


@pytest.mark.parametrize(("champion", "passed"), [({"exists": False}, True),
                                                  ({"exists": True, "improvement": 0.01}, True),
                                                  ({"exists": True, "improvement": 0.001}, False)])
def test_champion_comparison(champion: dict[str, Any], passed: bool) -> None:
    report = {"metrics": {"auc": {"value": 0.95}, "fpr": {"value": 0.01}}, "champion": champion}
    outputs = pipeline_steps.evaluate_gates(report, _gates_event(MinImprovement=0.005, ChampionMetric="auc"))
    assert outputs["Passed"] is passed and outputs["ChampionExists"] is champion["exists"]


@pytest.mark.parametrize(("report", "message"), [
    ({"metrics": {"auc": {"value": 0.95}}}, "has no metrics.fpr.value"),
    ({"metrics": {"auc": {"value": "high"}, "fpr": {"value": 0.1}}}, "is 'high', not a number"),
    ({"metrics": {"auc": {"value": True}, "fpr": {"value": 0.1}}}, "not a number"),
])
def test_a_missing_or_malformed_value_fails_the_step(report: dict[str, Any], message: str) -> None:
    with pytest.raises(pipeline_steps.ReportError, match=message):
        pipeline_steps.evaluate_gates(report, _gates_event())


def test_read_evaluation_reads_the_runs_report() -> None:
    s3 = FakeS3({("b", "m/runs/e/evaluation/evaluation.json"):
                 json.dumps({"metrics": {"auc": {"value": 0.95}, "fpr": {"value": 0.01}}}).encode()})
    outputs = pipeline_steps.read_evaluation(_gates_event(EvaluationUri="s3://b/m/runs/e/evaluation/"), s3)
    assert s3.calls == [("b", "m/runs/e/evaluation/evaluation.json")]
    assert outputs["ReportUri"] == "s3://b/m/runs/e/evaluation/evaluation.json" and outputs["Passed"] is True
    s3 = FakeS3({("b", "x/evaluation.json"): b"not json"})
    with pytest.raises(pipeline_steps.ReportError, match="is not JSON"):
        pipeline_steps.read_evaluation(_gates_event(EvaluationUri="s3://b/x"), s3)


def test_unknown_action_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown Action 'Deploy'"):
        pipeline_steps.handler({"Action": "Deploy"}, None)
