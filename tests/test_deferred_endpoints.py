"""First deployment: `mlops:endpoints: defer` leaves real-time endpoints out until a model exists."""

from __future__ import annotations

from collections import Counter

import pytest
from typer.testing import CliRunner

from mlops.cli import app
from mlops.synth import SynthError, synth

FRAUD = "blueprints/fraud-detection-aws.yaml"
ENDPOINT_TYPES = ("aws:sagemaker/endpoint:Endpoint", "aws:appautoscaling/target:Target",
                  "mlops:index:SageMakerMonitor")  # its drift and quality jobs follow the endpoint


def test_deferred_stack_has_the_configuration_but_no_endpoint() -> None:
    deployed = synth(FRAUD, "prod")
    deferred = synth(FRAUD, "prod", {"mlops:endpoints": "defer"})
    before, after = Counter(r.type for r in deployed.resources), Counter(r.type for r in deferred.resources)
    for kind in ENDPOINT_TYPES:
        assert before[kind] >= 1 and after[kind] == 0, kind
    # What the first approved version needs is there: role, models, configuration, the deployer.
    for kind in ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "aws:sagemaker/model:Model",
                 "aws:lambda/function:Function", "aws:sagemaker/pipeline:Pipeline"):
        assert after[kind] == before[kind], kind
    assert deferred.outputs["deferred_endpoints"] == "fraud-detection-prod-fraud-scorer"
    assert "deferred_endpoints" not in deployed.outputs
    assert deferred.violations == []


def test_explicit_deploy_is_the_default() -> None:
    assert synth(FRAUD, "dev", {"mlops:endpoints": "deploy"}).manifest_json() == synth(FRAUD, "dev").manifest_json()


def test_unknown_mode_is_a_clean_error() -> None:
    with pytest.raises(SynthError, match=r"mlops:endpoints: not a mode \(got 'later'; allowed: deploy, defer\)"):
        synth(FRAUD, "dev", {"mlops:endpoints": "later"})


def test_deferral_is_refused_where_nothing_needs_a_model() -> None:
    # GCP: Vertex endpoints exist without a model (tests/test_deferred_endpoints_azure.py covers Azure).
    with pytest.raises(SynthError, match="not needed on GCP"):
        synth("blueprints/product-recommendations-gcp.yaml", "dev", {"mlops:endpoints": "defer"})


def test_cli_passes_stack_settings() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["synth", FRAUD, "--env", "staging", "-q", "--config", "endpoints=defer"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["synth", FRAUD, "--env", "staging", "-q", "--config", "endpoints"])
    assert bad.exit_code == 2 and "expected KEY=VALUE" in bad.output
