"""The training pipeline's Lambda steps: what the published pipeline definition schema cannot express.

SageMaker Pipelines' published definition schema (Version 2020-12-01) takes literal values and `Get`
references only: no `Std:Join`, no `Std:JsonGet`, no property files. Each model's pipeline therefore
calls this function in three Lambda steps (`Action` says which), with flat arguments whose `Get`
references SageMaker resolves before the call:

- `RunContext` (the first step): where this run writes, under `<RunsUri>/<ExecutionId>/` (the data
  splits, the evaluation report) and `<CheckpointsUri>/<ExecutionId>` (spot checkpoints), and the
  training script archive `<CodeUri>/sourcedir.tar.gz`, and, where `Baseline` is "yes", the drift
  baseline `<run>/baseline/` with the URIs of its statistics.json and constraints.json. Separate
  prefixes per run keep each model version's evidence where its registration points.
- `BestModel` (after tuning): the best training job's model artifact,
  `<OutputPath>/<TrainingJobName>/output/model.tar.gz` (SageMaker's layout for training outputs).
- `ReadEvaluation` (after evaluation): reads `evaluation.json` (see EVALUATION_REPORT in
  components/aws/pipeline_definition.py) and returns each gate's value (`Value-<gate parameter>`),
  the champion comparison, the report's URI (evidence for the model package) and a message that
  lists every gate's value and bar (the fail step's error message).

A missing metric in the report is an error (the step fails and names it), never a silent pass.
"""

from __future__ import annotations

import json
import logging
from typing import Any

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
REPORT_FILE = "evaluation.json"


class ReportError(Exception):
    """The evaluation report lacks a value a gate reads, or is not the documented JSON."""


def _strip(uri: str) -> str:
    return uri.rstrip("/")


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def run_context(event: dict[str, Any]) -> dict[str, Any]:
    run = f"{_strip(event['RunsUri'])}/{event['ExecutionId']}"
    outputs: dict[str, str] = {
        "TrainUri": f"{run}/train", "ValidationUri": f"{run}/validation", "TestUri": f"{run}/test",
        "EvaluationUri": f"{run}/evaluation",
        "CheckpointUri": f"{_strip(event['CheckpointsUri'])}/{event['ExecutionId']}",
        "SourceArchiveUri": f"{_strip(event['CodeUri'])}/sourcedir.tar.gz",
    }
    if event.get("Baseline") == "yes":
        # The Baseline step's output, and its two files for the model package's data-quality metrics.
        outputs |= {"BaselineUri": f"{run}/baseline", "BaselineStatisticsUri": f"{run}/baseline/statistics.json",
                    "BaselineConstraintsUri": f"{run}/baseline/constraints.json"}
    return outputs


def best_model(event: dict[str, Any]) -> dict[str, Any]:
    return {"ModelUri": f"{_strip(event['OutputPath'])}/{event['TrainingJobName']}/output/model.tar.gz"}


def _value(report: dict[str, Any], path: list[str]) -> Any:
    node: Any = report
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise ReportError(f"{REPORT_FILE} has no {'.'.join(path)}")
        node = node[key]
    return node


def _number(report: dict[str, Any], path: list[str]) -> float:
    value = _value(report, path)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReportError(f"{REPORT_FILE}: {'.'.join(path)} is {value!r}, not a number")
    return float(value)


def evaluate_gates(report: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Each gate's value from the report, the champion comparison and the summary message (pure)."""
    gates: list[dict[str, Any]] = json.loads(event["Gates"])
    outputs: dict[str, Any] = {}
    passed = True
    lines: list[str] = []
    for gate in gates:
        value = _number(report, gate["Path"])
        bar = float(event[f"Bar-{gate['Parameter']}"])
        ok = value >= bar if gate["Direction"] == "at_least" else value <= bar
        passed = passed and ok
        sign = ">=" if gate["Direction"] == "at_least" else "<="
        lines.append(f"{gate['Label']} = {value:g} (needs {sign} {bar:g}){'' if ok else ' FAILED'}")
        outputs[f"Value-{gate['Parameter']}"] = value
    if "MinImprovement" in event:
        exists = _value(report, ["champion", "exists"])
        if not isinstance(exists, bool):
            raise ReportError(f"{REPORT_FILE}: champion.exists is {exists!r}, not true or false")
        improvement = _number(report, ["champion", "improvement"]) if exists else 0.0
        bar = float(event["MinImprovement"])
        ok = not exists or improvement >= bar
        passed = passed and ok
        lines.append(f"improvement over the champion on {event['ChampionMetric']} = {improvement:g} "
                     f"(needs >= {bar:g} when a champion exists; champion exists: {str(exists).lower()})"
                     f"{'' if ok else ' FAILED'}")
        outputs["ChampionExists"] = exists
        outputs["ChampionImprovement"] = improvement
    verdict = "passed every quality gate" if passed else "did not pass the quality gates"
    outputs["Message"] = f"{event['Model']} (run {event['ExecutionId']}) {verdict}: " + "; ".join(lines)
    outputs["Passed"] = passed
    return outputs


def read_evaluation(event: dict[str, Any], s3: Any) -> dict[str, Any]:
    report_uri = f"{_strip(event['EvaluationUri'])}/{REPORT_FILE}"
    bucket, key = _split_s3(report_uri)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        report = json.loads(body)
    except ValueError as error:
        raise ReportError(f"{report_uri} is not JSON: {error}") from error
    if not isinstance(report, dict):
        raise ReportError(f"{report_uri} is not a JSON object")
    outputs = evaluate_gates(report, event)
    outputs["ReportUri"] = report_uri
    return outputs


def handler(event: dict[str, Any], context: Any, s3: Any = None) -> dict[str, Any]:
    action = event.get("Action")
    if action == "RunContext":
        result = run_context(event)
    elif action == "BestModel":
        result = best_model(event)
    elif action == "ReadEvaluation":
        if s3 is None:
            import boto3  # the Lambda runtime provides it; tests pass a fake

            s3 = boto3.client("s3")
        result = read_evaluation(event, s3)
    else:
        raise ValueError(f"unknown Action {action!r}: RunContext, BestModel or ReadEvaluation")
    LOG.info("%s: %s", action, json.dumps(result, sort_keys=True))
    return result
