"""The Vertex REST bodies the GCP back end builds as data use only fields Vertex AI v1 defines.

The field tree comes from google-cloud-aiplatform's own message definitions
(tests/reference/vertex_v1_messages.json, extracted by tests/reference/extract_vertex_messages.py):
a misspelt or invented field in a monitoring job, batch prediction job or deployed model fails here
instead of at deploy time.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_synth import synthesized

from components.gcp.deployer_workflow import DeployerConfig, deployer_program
from components.gcp.machines import serving_machine
from mlops.blueprint.model import DeliveryStrategy, InstanceSize

ROOT = Path(__file__).resolve().parents[1]
MESSAGES: dict[str, dict[str, dict[str, Any]]] = json.loads(
    (ROOT / "tests" / "reference" / "vertex_v1_messages.json").read_text())["messages"]


def unknown_fields(value: Any, message: str, path: str = "") -> list[str]:
    """Paths of keys that `message` (and the messages its fields hold) does not define."""
    if not isinstance(value, dict):
        return []
    fields = MESSAGES[message]
    found: list[str] = []
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            found.append(f"{path}.{key}")
            continue
        target = spec["message"]
        if target is None or (isinstance(item, str) and item.startswith("${")):
            continue  # a scalar, enum or well-known type; or a value the workflow fills in
        if spec["map"]:
            items = list(item.values()) if isinstance(item, dict) else []
        elif spec["repeated"]:
            items = item if isinstance(item, list) else []
        else:
            items = [item]
        for i, child in enumerate(items):
            found += unknown_fields(child, target, f"{path}.{key}[{i}]")
    return found


def test_the_checker_catches_a_misspelt_field() -> None:
    job = {"displayName": "x", "modelDeploymentMonitoringScheduleConfig": {"monitorIntervall": "3600s"}}
    assert unknown_fields(job, "ModelDeploymentMonitoringJob") == [
        ".modelDeploymentMonitoringScheduleConfig[0].monitorIntervall"]


def deployer_program_of_example() -> dict[str, Any]:
    workflow = next(r for r in synthesized("blueprints/product-recommendations-gcp.yaml", "prod").resources
                    if r.name.endswith("deployer-workflow"))
    return yaml.safe_load(workflow.inputs["sourceContents"])


def steps_named(program: dict[str, Any], routine: str, name: str) -> dict[str, Any]:
    [found] = [s[name] for s in program[routine]["steps"] if name in s]
    return found


def test_the_monitoring_job_is_a_model_deployment_monitoring_job() -> None:
    job = steps_named(deployer_program_of_example(), "main", "monitor")["args"]["job"]
    assert unknown_fields(job, "ModelDeploymentMonitoringJob") == []


@pytest.mark.parametrize("instance", [InstanceSize.medium, InstanceSize.gpu_large])
@pytest.mark.parametrize("requests", [None, 40])
def test_the_deployed_model_is_a_deployed_model(instance: InstanceSize, requests: int | None) -> None:
    program = deployer_program(DeployerConfig(
        project="p", region="r", endpoint_id="1234567890", model="m", serving_account="sa@p",
        machine=serving_machine(instance), min_replicas=2, max_replicas=3, target_utilization_percent=60,
        target_requests_per_replica=requests, strategy=DeliveryStrategy.canary, steps=(10, 100), bake_minutes=5,
        auto_rollback=True, latency_p99_ms=100, error_rate_percent=1, monitoring_job=None))
    deploy = steps_named(program, "main", "deploy")["args"]["body"]
    assert set(deploy) == {"deployedModel", "trafficSplit"}  # DeployModelRequest's body fields
    assert unknown_fields(deploy["deployedModel"], "DeployedModel") == []
    patch = steps_named(program, "set_split", "patch")["args"]["body"]
    assert unknown_fields(patch, "Endpoint") == []


def test_the_example_deployer_program_is_valid_too() -> None:
    deploy = steps_named(deployer_program_of_example(), "main", "deploy")["args"]["body"]["deployedModel"]
    assert unknown_fields(deploy, "DeployedModel") == []


@pytest.mark.parametrize("output_uri", ["bq://exampleshop-data.recs.top50", "gs://exampleshop-out/recs/", None])
def test_the_batch_job_is_a_batch_prediction_job(tmp_path: Path, output_uri: str | None) -> None:
    from mlops.synth import synth

    data = yaml.safe_load((ROOT / "blueprints" / "product-recommendations-gcp.yaml").read_text())
    serving: dict[str, Any] = {"mode": "batch", "schedule": "daily", "instance": "gpu_small"}
    if output_uri:
        serving["output_uri"] = output_uri
    data["models"][0]["serving"] = serving
    data["models"][0]["monitoring"] = {}
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    [job] = [r for r in synth(str(path), "prod").resources if r.name.endswith("batch-schedule")]
    body = json.loads(base64.b64decode(job.inputs["httpTarget"]["body"]))
    assert unknown_fields(body, "BatchPredictionJob") == []
    assert body["dedicatedResources"]["machineSpec"]["acceleratorType"] == "NVIDIA_TESLA_T4"
