"""Every Vertex REST body the GCP back end builds parses into the official google.cloud.aiplatform_v1 message.

tests/vertex_requests.py parses each body with protobuf's `json_format.ParseDict(..., ignore_unknown_fields=False)`
into the message Vertex itself parses it with: a misspelt or invented field, a wrong type or an unknown enum
value fails here instead of at the first run. Checked over the GCP example in every environment and over
the GCP capability matrix (tests/test_capability_matrix.py), and on the documents' own builders.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_synth import synthesized
from vertex_requests import graph_problems, image_problems, parse, spec_jobs, workflow_bodies

from components.gcp.deployer_workflow import DeployerConfig, deployer_program
from components.gcp.machines import serving_machine
from mlops.blueprint.model import DeliveryStrategy, InstanceSize

ROOT = Path(__file__).resolve().parents[1]
GCP_EXAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "blueprints").glob("*-gcp.yaml"))


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("blueprint", GCP_EXAMPLES)
def test_every_vertex_body_of_the_examples_parses(blueprint: str, environment: str) -> None:
    assert graph_problems(synthesized(blueprint, environment)) == []


def test_the_parser_refuses_what_vertex_would() -> None:
    job = {"displayName": "x", "modelDeploymentMonitoringScheduleConfig": {"monitorIntervall": "3600s"}}
    assert "monitorIntervall" in parse("ModelDeploymentMonitoringJob", job)[0]
    pool = {"machineSpec": {"machineType": "n1-standard-4", "acceleratorType": "NVIDIA_T4"}, "replicaCount": "1"}
    assert "NVIDIA_T4" in parse("CustomJob", {"displayName": "x", "jobSpec": {"workerPoolSpecs": [pool]}})[0]
    assert parse("BatchPredictionJob", {"displayName": "x", "dedicatedResources": {"startingReplicaCount": "two"}})
    assert parse("PipelineJob", {"displayName": "x", "runtimeConfig": {"parameterValues": {"a": 1}}}) == []


def test_vertexs_documented_rules_on_a_parsed_body_are_checked_too() -> None:
    # The two known failures: one pool of 2 replicas (the primary pool takes 1), an A2 machine without its GPUs.
    pool = {"machineSpec": {"machineType": "n1-standard-8"}, "replicaCount": "2"}
    assert "primary replica" in parse("CustomJob", {"displayName": "x", "jobSpec": {"workerPoolSpecs": [pool]}})[0]
    gpu = {"machineSpec": {"machineType": "a2-highgpu-2g"}, "replicaCount": "1"}
    assert "NVIDIA_TESLA_A100" in parse("CustomJob", {"displayName": "x", "jobSpec": {"workerPoolSpecs": [gpu]}})[0]
    gpu["machineSpec"] |= {"acceleratorType": "NVIDIA_TESLA_A100", "acceleratorCount": 2}
    assert parse("CustomJob", {"displayName": "x", "jobSpec": {"workerPoolSpecs": [gpu]}}) == []


def test_run_time_values_take_a_value_of_their_field_type() -> None:
    # A Workflows expression where Vertex wants a map or a Struct is filled in at run time: no refusal.
    assert parse("DeployModelRequest", {"endpoint": "e", "deployedModel": {"model": "${model}"},
                                        "trafficSplit": "${split}"}) == []
    assert parse("PipelineJob", {"pipelineSpec": "${spec}", "labels": {"triggered-by": "${t}"}}) == []
    # ... but an unknown field next to one is still refused.
    assert parse("Endpoint", {"trafficSplit": "${split}", "trafficSplitt": "${split}"})


def deployer_program_of_example() -> dict[str, Any]:
    workflow = next(r for r in synthesized("blueprints/product-recommendations-gcp.yaml", "prod").resources
                    if r.name.endswith("deployer-workflow"))
    return yaml.safe_load(workflow.inputs["sourceContents"])


def test_the_example_deployer_makes_each_vertex_call_it_should() -> None:
    source = yaml.safe_dump(deployer_program_of_example())
    assert sorted({message for _, message, _ in workflow_bodies(source)}) == [
        "DeployModelRequest", "Endpoint", "ModelDeploymentMonitoringJob", "UndeployModelRequest"]


@pytest.mark.parametrize("instance", [InstanceSize.medium, InstanceSize.gpu_large, "a2-ultragpu-2g", "g2-standard-24"])
@pytest.mark.parametrize("requests", [None, 40])
def test_the_deployer_bodies_parse(instance: InstanceSize | str, requests: int | None) -> None:
    program = deployer_program(DeployerConfig(
        project="p", region="r", endpoint_id="1234567890", model="m", serving_account="sa@p",
        machine=serving_machine(instance), min_replicas=2, max_replicas=3, target_utilization_percent=60,
        target_requests_per_replica=requests, strategy=DeliveryStrategy.canary, steps=(10, 100), bake_minutes=5,
        auto_rollback=True, latency_p99_ms=100, error_rate_percent=1, monitoring_job=None))
    bodies = list(workflow_bodies(yaml.safe_dump(program)))
    assert {message for _, message, _ in bodies} >= {"DeployModelRequest", "Endpoint", "UndeployModelRequest"}
    assert [p for _, message, body in bodies for p in parse(message, body)] == []


def test_a_gpu_machine_is_deployed_with_its_gpus() -> None:
    # a2-ultragpu-2g is two A100 80GB; Vertex refuses the machine without them.
    machine = serving_machine("a2-ultragpu-2g")
    assert (machine.accelerator, machine.accelerator_count) == ("NVIDIA_A100_80GB", 2)
    assert (serving_machine("g2-standard-24").accelerator, serving_machine("g2-standard-24").accelerator_count) == (
        "NVIDIA_L4", 2)
    assert serving_machine("n2-standard-8").accelerator is None


@pytest.mark.parametrize("output_uri", ["bq://exampleshop-data.recs.top50", "gs://exampleshop-out/recs/", None])
def test_the_batch_job_is_a_batch_prediction_job(tmp_path: Path, output_uri: str | None) -> None:
    from mlops.synth import synth

    data = yaml.safe_load((ROOT / "blueprints" / "product-recommendations-gcp.yaml").read_text())
    serving: dict[str, Any] = {"mode": "batch", "schedule": "daily", "instance": "g2-standard-8"}
    if output_uri:
        serving["output_uri"] = output_uri
    data["models"][0]["serving"] = serving
    data["models"][0]["monitoring"] = {}
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = synth(str(path), "prod")
    [job] = [r for r in result.resources if r.name.endswith("batch-schedule")]
    body = json.loads(base64.b64decode(job.inputs["httpTarget"]["body"]))
    assert parse("BatchPredictionJob", body) == []
    assert body["dedicatedResources"]["machineSpec"] == {
        "machineType": "g2-standard-8", "acceleratorType": "NVIDIA_L4", "acceleratorCount": 1}
    assert graph_problems(result) == []


def test_the_pipeline_launchers_submit_a_custom_job_and_a_tuning_job() -> None:
    result = synthesized("blueprints/product-recommendations-gcp.yaml", "prod")
    [schedule] = [r for r in result.resources if r.type == "gcp:colab/schedule:Schedule"]
    spec = json.loads(schedule.inputs["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"])
    assert {message for _, message, _ in spec_jobs(spec)} <= {"CustomJob", "HyperparameterTuningJob"}
    assert list(spec_jobs(spec))


def test_unpinned_images_and_two_framework_versions_are_found() -> None:
    # Once `:latest` of Google's images, and TensorFlow 2.17 for training with 2.15 for serving.
    served = f"us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15@sha256:{'a' * 64}"
    register = {"container": {"image": "gcr.io/ml-pipeline/google-cloud-pipeline-components:2.17.0",
                              "args": ["--serving-image", served]}}
    spec = {"deploymentSpec": {"executors": {
        "exec-preprocess": {"container": {"image": "us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest"}},
        "exec-register": register}}}
    found = image_problems(spec, "spec")
    assert any("tf-cpu.2-17.py310:latest is not pinned" in p for p in found), found
    assert any("two framework versions" in p for p in found), found
    assert image_problems({"deploymentSpec": {"executors": {"exec-register": register}}}, "spec") == []
