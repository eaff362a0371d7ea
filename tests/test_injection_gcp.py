"""Blueprint text stays data in every document the GCP back end generates.

KFP resolves `{{$.…}}` placeholders anywhere in a container's command and arguments; Cloud Workflows
evaluates `${…}` in string values and map keys. These tests synthesize the GCP example (and a variant
with retraining triggers, a custom training job and an existing network) with every free-text field
hostile at once (tests/hostile.py), and check with tests/expressions.py that each placeholder and
expression in the pipeline specs and workflow sources is one our code writes for the benign blueprint;
then that the hostile text arrives where it is used exactly as written.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from expressions import Allowed, Documents, allowed, documents, foreign
from hostile import FIELDS, NETWORK_FIELDS, ONE_LINE, accepted_plan, all_hostile, example, payloads_for, with_value

from components.gcp import pipeline_spec as ps
from components.gcp.workflow_literal import inert, literal, resolved
from components.payload import decode
from mlops.blueprint import format_path, load_text
from mlops.plan import Plan, PlanError, plan
from mlops.synth import SynthResult, synth

EXAMPLE = "blueprints/product-recommendations-gcp.yaml"
GCP_FIELDS = (*FIELDS, *NETWORK_FIELDS)
_DIR = Path(tempfile.mkdtemp(prefix="gcp-injection-"))


def _triggers(data: dict[str, Any]) -> dict[str, Any]:
    """A custom training job (no search), drift and performance retraining, an existing network in prod, no feature
    store."""
    data = copy.deepcopy(data)
    data["maturity"]["target"] = {"experiment_tracking": 2, "model_versioning": 2, "deployment": 2,
                                  "monitoring": 3, "governance": 2}
    model = data["models"][0]
    del model["training"]["hyperparameter_search"]
    model["retraining"] = {"schedule": "weekly", "on_drift": True, "on_performance": True}
    data["environments"]["prod"]["network"] = {"vpc": "shared-vpc", "subnets": ["ml-a"]}
    # With a feature store, drift features must be its feature names (no payload fits them): without one, hostile
    # drift feature names still reach the deployer workflow, which must keep them data.
    del data["feature_store"]
    return data


VARIANTS = {"example": lambda data: data, "triggers": _triggers}


def _gcp_check(plan: Plan) -> None:
    for model in plan.models:
        if model.training is not None:
            ps.check(plan, model)


@cache
def base(variant: str) -> dict[str, Any]:
    return VARIANTS[variant](example(EXAMPLE))


def _synth(data: dict[str, Any], name: str) -> SynthResult:
    path = _DIR / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return synth(str(path), "prod")


@cache
def benign(variant: str) -> SynthResult:
    return _synth(base(variant), variant)


@cache
def hostile(variant: str, offset: int) -> SynthResult:
    data = all_hostile(EXAMPLE, offset=offset, check=_gcp_check, fields=GCP_FIELDS, base=base(variant))
    return _synth(data, f"{variant}-hostile-{offset}")


@cache
def ours() -> Allowed:
    """What our code writes: the placeholders and expressions of every benign variant."""
    return allowed([benign(variant) for variant in VARIANTS])


CASES = [(variant, offset) for variant in VARIANTS for offset in range(0, len(ONE_LINE), 3)]


@pytest.mark.parametrize(("variant", "offset"), CASES)
def test_no_placeholder_or_expression_but_ours(variant: str, offset: int) -> None:
    # Both shapes are ours: a hostile objective brings back the search the `triggers` variant removed.
    assert foreign(documents(hostile(variant, offset)), ours()) == []


def _spec(docs: Documents) -> dict[str, Any]:
    return next(spec for name, spec in sorted(docs.specs.items()) if name.endswith("-retraining-schedule"
                                                                                   ".createPipelineJobRequest"
                                                                                   ".pipelineJob.pipelineSpec"))


def _container(spec: dict[str, Any], step: str) -> dict[str, Any]:
    return spec["deploymentSpec"]["executors"][f"exec-{step}"]["container"]


def _train_args(spec: dict[str, Any]) -> list[str]:
    step = "tune" if "exec-tune" in spec["deploymentSpec"]["executors"] else "train"
    args = _container(spec, step)["args"]
    job = json.loads(args[args.index("--payload") + 1])
    return (job.get("trialJobSpec") or job["jobSpec"])["workerPoolSpecs"][0]["containerSpec"]["args"]


@pytest.mark.parametrize(("variant", "offset"), CASES)
def test_hostile_text_arrives_exactly_as_written(variant: str, offset: int) -> None:
    result = hostile(variant, offset)
    model = result.plan.models[0]
    assert model.training is not None
    spec = _spec(documents(result))
    [given] = [a for a in _train_args(spec) if a.startswith("--hyperparameters=")]
    assert decode(given.removeprefix("--hyperparameters=")) == dict(model.training.hyperparameters)
    register = _container(spec, "register")["args"]
    card = decode(register[register.index("--model-card") + 1])
    assert card["intended_use"] == result.plan.use_case
    labels = [decode(register[i + 1]) for i, a in enumerate(register) if a == "--metric"]
    assert labels == [g.metric for g in model.quality_gates.metrics] + \
        [f.metric.value for f in model.quality_gates.fairness] + ["p99 latency (ms)"]
    failed = _container(spec, "gates-failed")
    run = subprocess.run([sys.executable, *failed["command"][1:], *failed["args"]], capture_output=True, text=True,
                         check=False, timeout=60)
    assert all(f" {label} = {{{{$.inputs" in run.stderr for label in labels), run.stderr
    deployer = documents(result).workflows[f"{result.plan.prefix}-{model.name}-deployer-workflow"]
    [monitor] = [s["monitor"] for s in deployer["main"]["steps"] if "monitor" in s]
    drift = monitor["args"]["job"]["modelDeploymentMonitoringObjectiveConfigs"][0]["objectiveConfig"][
        "predictionDriftDetectionConfig"]
    assert model.monitoring.drift is not None
    assert sorted(resolved(drift["driftThresholds"])) == sorted(model.monitoring.drift.features)


def test_the_hostile_blueprints_carry_placeholders_and_expressions() -> None:
    # Without this, the checks above could pass on blueprints that refused every payload.
    texts = [json.dumps(hostile(v, o).plan.model_dump(mode="json")) for v, o in CASES]
    assert any("{{$" in t for t in texts) and any("${" in t for t in texts)
    features = [f for v, o in CASES for f in (hostile(v, o).plan.models[0].monitoring.drift.features  # type: ignore[union-attr]
                                               if hostile(v, o).plan.models[0].monitoring.drift else ())]
    assert any("${" in f for f in features)


def test_the_checker_finds_a_foreign_placeholder_and_expression() -> None:
    docs = documents(benign("triggers"))
    assert foreign(docs, ours()) == []
    spec = _spec(docs)
    args = _container(spec, "train")["args"]
    job = json.loads(args[args.index("--payload") + 1])
    job["jobSpec"]["workerPoolSpecs"][0]["containerSpec"]["args"].append("--{{$.inputs.parameters['code_uri']}}=1")
    args[args.index("--payload") + 1] = json.dumps(job)
    _container(spec, "register")["args"] += ["--metric", "{{$.pipeline_job_uuid}}={{$.inputs.parameters['x']}}"]
    flows = docs.workflows
    [retraining] = [w for name, w in flows.items() if name.endswith("-retraining-workflow")]
    retraining["main"]["steps"][0]["init"]["assign"].append({"x": '${sys.get_env("GOOGLE_CLOUD_PROJECT_ID")}'})
    [deployer] = [w for name, w in flows.items() if name.endswith("-deployer-workflow")]
    [monitor] = [s["monitor"] for s in deployer["main"]["steps"] if "monitor" in s]
    monitor["args"]["job"]["labels"]['${http.get("https://evil.example")}'] = "x"
    found = foreign(docs, ours())
    assert len(found) == 4, found
    assert any("--hyperparameters" in f or "containerSpec/args" in f for f in found)
    assert any("exec-register" in f and "--metric" in f for f in found)
    assert any("assign/[]/x" in f for f in found) and any("labels/<key>" in f for f in found), found


@pytest.mark.parametrize("metric", ["{{$.pipeline_job_uuid}}", "a b", 'x"y', "x'y", "loss}}", "x\\y", "${x}"])
def test_an_objective_vertex_would_read_as_more_than_a_name_is_a_located_plan_error(metric: str) -> None:
    data = with_value(example(EXAMPLE), next(f for f in FIELDS if f.name.endswith("objective_metric")), metric)
    with pytest.raises(PlanError) as refused:
        plan(load_text(yaml.safe_dump(data), "objective.yaml").blueprint, "prod")
    [diagnostic] = [d for d in refused.value.diagnostics if d.path[-1] == "objective_metric"]
    assert format_path(diagnostic.path) == "models[0].training.hyperparameter_search.objective_metric"
    assert "verbatim" in diagnostic.message


def test_objectives_that_are_names_are_accepted() -> None:
    field = next(f for f in FIELDS if f.name.endswith("objective_metric"))
    for metric in ("val_auc", "ndcg@10", "val/loss", "f1-macro"):
        assert accepted_plan(with_value(example(EXAMPLE), field, metric), check=_gcp_check) is not None, metric


@pytest.mark.parametrize("field", NETWORK_FIELDS, ids=lambda f: f.name)
def test_network_names_that_are_not_gcp_names_are_refused(field: Any) -> None:
    data = _triggers(example(EXAMPLE))
    for payload in payloads_for(field):
        assert accepted_plan(with_value(data, field, payload)) is None, payload
    good = "projects/host-project/global/networks/shared" if field.name.endswith("vpc") else \
        "projects/host-project/regions/us-central1/subnetworks/ml"
    assert accepted_plan(with_value(data, field, good)) is not None


@pytest.mark.parametrize("value", ["${x}", {"${sys.get_env(\"X\")}": {"value": 0.1}, "a": 1},
                                   ["a", "${b}"], {"nested": {"k": "${c}"}}, "ünïcode ${x} \"q\""])
def test_a_workflow_literal_evaluates_to_the_value_itself(value: Any) -> None:
    safe = inert(value)
    assert "${" not in json.dumps(safe).replace("${json.decode(base64.decode(", "")
    if isinstance(safe, str):
        assert resolved(safe) == value
    assert resolved(literal(value)) == value


def test_values_without_expressions_are_left_as_they_are() -> None:
    value = {"driftThresholds": {"user_embedding": {"value": 0.1}}, "labels": {"team": "recs"}, "n": [1, "x"]}
    assert inert(value) == value
