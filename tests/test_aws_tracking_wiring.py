"""AWS jobs reach the MLflow tracking server: the tracking URI on the jobs that can reach it, run-logging
access for the role they run as, and the evidence that says so (and says so only when it holds)."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from shared_synth import synthesized
from test_pipeline_definition import IN_VPC, errors, needs_schema, official_schema

from components.aws import pipeline_definition as pd
from components.aws.tracking import RUN_LOGGING_ACTIONS
from mlops.blueprint import load_blueprint
from mlops.evidence import evidence
from mlops.plan import Capability, Plan, plan

ROOT = Path(__file__).resolve().parents[1]
FRAUD = "blueprints/fraud-detection-aws.yaml"
SERVER = "arn:aws:sagemaker:us-east-1:333333333333:mlflow-tracking-server/fraud-detection-prod-mlflow"
TRACKED = pd.PipelineContext(**{**IN_VPC.__dict__, "tracking_server_arn": SERVER})


def _plan(env: str) -> Plan:
    return plan(load_blueprint(ROOT / FRAUD).blueprint, env)


def _with(p: Plan, model: Any) -> Plan:
    return p.model_copy(update={"models": (model, *p.models[1:])})


def _environments(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Name"]: (s["Arguments"].get("Environment") or {}) for s in document["Steps"]}


def _isolated(step: dict[str, Any]) -> bool:
    return bool(step["Arguments"].get("NetworkConfig", {}).get("EnableNetworkIsolation"))


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_jobs_that_can_reach_the_server_get_its_arn(env: str) -> None:
    p = _plan(env)
    document = pd.pipeline_definition(p, p.models[0], TRACKED)
    processing = [s for s in document["Steps"] if s["Type"] == "Processing" and s["Name"] != "Baseline"]
    assert processing
    for step in processing:
        environment = step["Arguments"].get("Environment") or {}
        if _isolated(step):  # an isolated container has no network, not even the VPC's mlflow endpoint
            assert "MLFLOW_TRACKING_URI" not in environment, step["Name"]
        else:
            assert environment["MLFLOW_TRACKING_URI"] == SERVER, step["Name"]
            assert environment["MLFLOW_EXPERIMENT_NAME"] == "fraud-scorer"
    assert pd.tracked_steps(document) == [s["Name"] for s in processing if not _isolated(s)]
    # The Baseline step runs the platform's script, which logs nothing.
    assert "MLFLOW_TRACKING_URI" not in _environments(document)["Baseline"]


def test_dev_jobs_are_not_isolated_and_all_processing_logs() -> None:
    p = _plan("dev")
    assert pd.tracked_steps(pd.pipeline_definition(p, p.models[0], TRACKED)) == ["Preprocess", "Evaluate"]


def test_without_tracking_no_job_gets_a_uri() -> None:
    p = _plan("dev")
    document = pd.pipeline_definition(p, p.models[0], IN_VPC)
    assert "MLFLOW_TRACKING_URI" not in json.dumps(document)
    assert pd.tracked_steps(document) == []


@needs_schema
def test_the_published_schema_gives_training_and_tuning_steps_no_environment() -> None:
    """Why Train/Tune jobs do not get the URI (botocore's CreateTrainingJob has Environment; the published
    pipeline schema's Training and Tuning steps do not)."""
    p = _plan("dev")
    model = p.models[0]
    untuned = model.model_copy(update={"training": model.training.model_copy(update={"search": None})}) \
        if model.training else model
    p = _with(p, untuned)
    document = pd.pipeline_definition(p, p.models[0], TRACKED)
    assert errors(official_schema(), document) == []
    broken = copy.deepcopy(document)
    [train] = [s for s in broken["Steps"] if s["Name"] == "Train"]
    train["Arguments"]["Environment"] = {"MLFLOW_TRACKING_URI": SERVER}
    assert errors(official_schema(), broken)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_training_role_may_log_runs_on_this_server_only(env: str) -> None:
    result = synthesized(FRAUD, env)
    by_name = {r.name: r for r in result.resources}
    server = by_name[f"{result.plan.prefix}-tracking-server"]
    policy = json.loads(by_name[f"{result.plan.prefix}-fraud-scorer-training-policy"].inputs["policy"])
    [logging] = [s for s in policy["Statement"] if s.get("Sid") == "LogRunsToMlflow"]
    assert logging["Action"] == [f"sagemaker-mlflow:{a}" for a in RUN_LOGGING_ACTIONS]
    assert logging["Resource"].endswith(server.name)  # the server's ARN, not "*"
    [artifacts] = [s for s in policy["Statement"] if s.get("Sid") == "ReadWriteMlflowArtifacts"]
    assert artifacts["Resource"].endswith("/mlflow/*")
    pipeline = by_name[f"{result.plan.prefix}-fraud-scorer-training-pipeline"]
    definition = json.loads(pipeline.inputs["pipelineDefinition"])
    uris = {e.get("MLFLOW_TRACKING_URI") for e in _environments(definition).values()} - {None}
    assert uris == {logging["Resource"]}


def test_no_run_logging_access_where_no_job_can_log() -> None:
    """A role gets MLflow access only where one of its jobs has the URI."""
    p = _plan("prod")
    model = p.models[0]
    gates = model.quality_gates.model_copy(update={"compare_to_champion": False})
    quiet = _with(p, model.model_copy(update={"quality_gates": gates}))  # Evaluate is then isolated too
    assert not pd.logs_to_mlflow(quiet, quiet.models[0])
    assert pd.logs_to_mlflow(p, model)


def test_the_evidence_fails_when_jobs_lose_the_uri_or_the_role_its_access() -> None:
    result = synthesized(FRAUD, "dev")
    assert evidence(result.plan, result.resources)[Capability.experiment_tracking].built
    for suffix, key in (("-training-pipeline", "pipelineDefinition"), ("-training-policy", "policy")):
        tampered = []
        for r in result.resources:
            if r.name.endswith(f"fraud-scorer{suffix}"):
                text = r.inputs[key].replace("MLFLOW_TRACKING_URI", "MLFLOW_OTHER").replace(
                    "sagemaker-mlflow:CreateRun", "sagemaker-mlflow:GetRun")
                r = dataclasses.replace(r, inputs={**r.inputs, key: text})
            tampered.append(r)
        found = evidence(result.plan, tampered)[Capability.experiment_tracking]
        assert not found.built and found.missing, suffix


@needs_schema
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_tracked_definitions_validate_against_the_published_schema(env: str) -> None:
    p = _plan(env)
    for model in p.models:
        if model.training is not None:
            assert errors(official_schema(), pd.pipeline_definition(p, model, TRACKED)) == []
