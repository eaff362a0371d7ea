"""First deployment on Azure and GCP: `mlops:endpoints: defer` before any model version exists.

Azure ML deployments are created on version 1 of the model, so a deferred Azure stack leaves out
what needs a version (online and batch deployments, the traffic split, the batch schedule, the drift
monitor and quality check that read what deployments produce, the alert on the champion) and keeps
the endpoints, their request logs and endpoint alerts, the deployer. GCP needs no model at
`pulumi up`: the setting is refused there with the reason.
"""

from __future__ import annotations

import importlib.util
import io
import urllib.error
from collections import Counter
from email.message import Message
from typing import Any

import pytest
from azure_serving_examples import azure_example
from shared_synth import synthesized
from typer.testing import CliRunner

from components.azure import deployer
from mlops.cli import app
from mlops.providers import GCP_NEEDS_NO_DEFERRAL
from mlops.synth import SynthError, SynthResult, synth

DEMAND = "blueprints/demand-forecasting-azure.yaml"
FRAUD = "blueprints/fraud-detection-aws.yaml"
RECS = "blueprints/product-recommendations-gcp.yaml"
DEFER = {"mlops:endpoints": "defer"}
ML = "azure-native:machinelearningservices:"


@pytest.fixture(scope="module")
def demand() -> tuple[SynthResult, SynthResult]:
    return synthesized(DEMAND, "prod"), synth(DEMAND, "prod", DEFER)


@pytest.fixture(scope="module")
def fraud() -> tuple[SynthResult, SynthResult]:
    source = azure_example(FRAUD)
    return synthesized(source, "prod"), synth(source, "prod", DEFER)


def names(result: SynthResult) -> set[str]:
    return {r.name for r in result.resources}


def kinds(result: SynthResult) -> Counter[str]:
    return Counter(r.type for r in result.resources)


def left_out(pair: tuple[SynthResult, SynthResult]) -> list[str]:
    """Names of what the deferred stack does not create; it creates nothing the deployed one lacks."""
    deployed, deferred = pair
    assert names(deferred) <= names(deployed)
    return sorted(names(deployed) - names(deferred))


def test_batch_model_keeps_its_endpoint_and_cluster_but_not_the_deployment(
        demand: tuple[SynthResult, SynthResult]) -> None:
    prefix = "demand-forecast-prod-demand-forecaster"
    assert left_out(demand) == sorted([
        f"{prefix}-batch-deployment", f"{prefix}-batch-schedule",
        f"{prefix}-quality", f"{prefix}-quality-labels-store", f"{prefix}-quality-schedule", f"{prefix}-quality-alert"])
    deployed, deferred = demand
    for kind in (f"{ML}BatchEndpoint", f"{ML}Compute", f"{ML}Datastore"):
        assert kinds(deferred)[kind] >= 1, kind
    # The deployer is there for the first approved version; its job finds no champion and waits.
    assert f"{prefix}-deployer-schedule" in names(deferred)
    assert deferred.outputs["deferred_endpoints"] == deployed_batch_endpoint(deployed)
    assert "deferred_endpoints" not in deployed.outputs
    assert [v for v in deferred.violations if v.mandatory] == []


def deployed_batch_endpoint(result: SynthResult) -> str:
    [endpoint] = [r for r in result.resources if r.type == f"{ML}BatchEndpoint"]
    return str(endpoint.inputs["endpointName"])


def test_online_model_keeps_its_endpoint_and_endpoint_alerts(fraud: tuple[SynthResult, SynthResult]) -> None:
    prefix = "fraud-detection-prod-fraud-scorer"
    gone = left_out(fraud)
    for suffix in ("-serving-blue", "-serving-shadow", "-serving-traffic", "-serving-utilization-alert",
                   "-monitoring", "-quality"):
        assert f"{prefix}{suffix}" in gone, suffix
    # Only deployments and what reads them: no endpoint-level resource is left out.
    assert not [n for n in gone if n.endswith(("-serving-endpoint", "-serving-diagnostics", "-latency-alert",
                                               "-errors-alert", "-deployer-schedule"))]
    deployed, deferred = fraud
    after = kinds(deferred)
    assert after[f"{ML}OnlineDeployment"] == 0 and after["azure-native:resources:Deployment"] == 0
    assert after["mlops:index:AzureMlModelMonitor"] == 0 and after["mlops:index:AzureMlQualityMonitor"] == 0
    assert after[f"{ML}OnlineEndpoint"] == kinds(deployed)[f"{ML}OnlineEndpoint"] == 1
    [endpoint] = [r for r in deferred.resources if r.type == f"{ML}OnlineEndpoint"]
    assert deferred.outputs["deferred_endpoints"] == endpoint.inputs["endpointName"]
    assert [v for v in deferred.violations if v.mandatory] == []


@pytest.mark.parametrize(("source", "env"), [(RECS, "prod"), (FRAUD, "dev")])
def test_moved_examples_defer_policy_clean(source: str, env: str) -> None:
    result = synth(azure_example(source), env, DEFER)
    assert result.outputs["deferred_endpoints"]
    assert [v for v in result.violations if v.mandatory] == []
    assert not [r for r in result.resources if r.type in (f"{ML}OnlineDeployment", f"{ML}BatchDeployment")]


def test_explicit_deploy_is_the_default_on_azure() -> None:
    assert synth(DEMAND, "dev", {"mlops:endpoints": "deploy"}).manifest_json() == \
        synthesized(DEMAND, "dev").manifest_json()


def test_deferral_is_refused_on_gcp_with_the_reason() -> None:
    with pytest.raises(SynthError, match="not needed on GCP") as raised:
        synth(RECS, "dev", DEFER)
    assert "pulumi config rm mlops:endpoints" in str(raised.value)
    assert "Vertex AI endpoints are created without a model" in GCP_NEEDS_NO_DEFERRAL


def test_cli_strict_synth_of_the_deferred_azure_example_passes() -> None:
    result = CliRunner().invoke(app, ["synth", DEMAND, "--env", "prod", "-q", "--strict",
                                      "--config", "mlops:endpoints=defer"])
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- the deployer while deferred


def _deploy_script() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_approved", deployer.SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NoChampion:
    """Azure Resource Manager with the endpoint but no deployment (answering `status` for it)."""

    def __init__(self, status: int = 404) -> None:
        self.status = status
        self.calls: list[tuple[str, str]] = []

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        self.calls.append((method, path.split("?", 1)[0]))
        if "/deployments/" in path:
            raise urllib.error.HTTPError(path, self.status, "Not Found", Message(), io.BytesIO(b"{}"))
        return {"value": [{"name": "1"}]}


def _config(kind: str) -> dict[str, Any]:
    return {"subscription": "s", "workspace_id": "/w", "source_id": "/registries/r", "registry": "r", "model": "m",
            "kind": kind, "endpoint": "e", "steps": [], "auto_rollback": True}


@pytest.mark.parametrize("kind", ["online", "batch"])
def test_deployer_waits_for_the_champion_deployment(kind: str) -> None:
    arm, logged = NoChampion(), []
    assert _deploy_script().Deployer(_config(kind), arm, sleep=lambda _: None, log=logged.append).run() == 0
    assert [m for m, _ in arm.calls] == ["GET"]  # it writes nothing
    assert "endpoints deferred" in logged[0] and "pulumi config rm mlops:endpoints" in logged[0]


def test_deployer_fails_on_other_errors() -> None:
    with pytest.raises(urllib.error.HTTPError):
        _deploy_script().Deployer(_config("online"), NoChampion(403), sleep=lambda _: None, log=lambda _: None).run()
