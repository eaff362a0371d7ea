"""GCP pipelines area: the KFP pipeline spec (pure), cloud limits, and the synthesized registry, schedule,
promotion and retraining resources of the example GCP blueprint."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from shared_synth import synthesized
from vertex_requests import image_problems

import mlops.clouds.gcp
import mlops.program
from components.gcp import kfp_descriptor
from components.gcp import pipeline_spec as ps
from components.gcp.kfp_types import SpecError, pipeline_spec, round_trip
from components.gcp.names import model_id, promotion_workflow_name, retraining_workflow_name
from components.gcp.retraining import drift_filter, schedule_cron
from components.gcp.workflow_sources import PromotionTarget, RetrainingTarget, promotion_source, retraining_source
from components.payload import decode
from mlops.blueprint import format_path, load_blueprint, load_text
from mlops.blueprint.model import ModelSpec
from mlops.clouds.gcp_pipelines import GCP_OWN_IMAGE_FRAMEWORKS, GCP_SEARCH_STRATEGIES, GCP_TUNABLE_FRAMEWORKS
from mlops.plan import Plan, PlanError, plan, plan_loaded
from mlops.plan.schedule import Schedule
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

ROOT = Path(__file__).resolve().parents[1]
BLUEPRINT = str(ROOT / "blueprints" / "product-recommendations-gcp.yaml")
CTX = ps.SpecContext(project="proj", kms_key="projects/proj/locations/us-central1/keyRings/r/cryptoKeys/k",
                     service_account="pipelines@proj.iam.gserviceaccount.com", data_bucket="data",
                     artifact_bucket="artifacts", model_id="product-recs-prod-recs-ranker",
                     own_images="us-central1-docker.pkg.dev/proj/repo", network="projects/123/global/networks/n",
                     labels={"team": "recs"},
                     images={f"{purpose}/{name}": f"europe-docker.pkg.dev/vertex-ai/{purpose}/{name}@sha256:{'a' * 64}"
                             for p in ps.PREBUILT.values()
                             for purpose, names in (("training", p.training), ("prediction", p.serving))
                             for name in names})
SCHEDULE = "gcp:colab/schedule:Schedule"
WORKFLOW = "gcp:workflows/workflow:Workflow"
OBJECT = "gcp:storage/bucketObject:BucketObject"
MAPS = {"labels", "userLabels", "metadata", "parameterValues"}


def example_plan(environment: str = "prod") -> Plan:
    return plan_loaded(load_blueprint(BLUEPRINT), environment)


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(BLUEPRINT, "prod")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    p = example_plan()
    return ps.pipeline_spec(p, p.models[0], CTX)


def named(result: SynthResult, suffix: str) -> Recorded:
    [record] = [r for r in result.resources if r.name.endswith(suffix)]
    return record


# --------------------------------------------------------------------------- KFP types


def test_vendored_descriptor_is_the_one_of_kfp_pipeline_spec() -> None:
    data = base64.b64decode(kfp_descriptor.DESCRIPTOR_BASE64)
    assert hashlib.sha256(data).hexdigest() == kfp_descriptor.SHA256
    try:
        from kfp.pipeline_spec import pipeline_spec_pb2  # type: ignore[import-not-found]
    except Exception:  # not installable beside pulumi-policy's protobuf pin (see kfp_descriptor)
        return
    assert pipeline_spec_pb2.DESCRIPTOR.serialized_pb == data


def test_unknown_fields_and_lossy_values_are_refused(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    broken["root"]["dag"]["tasks"]["evaluate"]["retries"] = 3
    with pytest.raises(SpecError, match="not a KFP PipelineSpec"):
        pipeline_spec(broken)
    lossy = copy.deepcopy(spec)
    lossy["root"]["inputDefinitions"]["parameters"]["code_uri"]["isOptional"] = False  # a default: dropped
    with pytest.raises(SpecError, match="changes"):
        round_trip(lossy)
    bad_enum = copy.deepcopy(spec)
    bad_enum["root"]["inputDefinitions"]["parameters"]["code_uri"]["parameterType"] = "TEXT"
    with pytest.raises(SpecError):
        pipeline_spec(bad_enum)


# --------------------------------------------------------------------------- the spec


def test_the_dag_is_the_aws_one(spec: dict[str, Any]) -> None:
    tasks = spec["root"]["dag"]["tasks"]
    assert sorted(tasks) == ["condition-1", "condition-2", "evaluate", "preprocess", "tune"]
    assert tasks["tune"]["dependentTasks"] == ["preprocess"]
    assert tasks["evaluate"]["dependentTasks"] == ["tune"]
    assert all(t["cachingOptions"] == {} for t in tasks.values())  # never reuse an earlier run's results
    passed = tasks["condition-1"]["triggerPolicy"]["condition"]
    failed = tasks["condition-2"]["triggerPolicy"]["condition"]
    assert failed == f"!({passed})"
    assert "inputs.parameter_values['pipelinechannel--evaluate-metric_ndcg_at_10'] >= " \
           "inputs.parameter_values['pipelinechannel--min_ndcg_at_10']" in passed
    assert "inputs.parameter_values['pipelinechannel--evaluate-metric_latency_p99_ms'] <= " \
           "inputs.parameter_values['pipelinechannel--max_latency_p99_ms']" in passed
    assert "champion_exists'] == false ||" in passed and "pipelinechannel--min_improvement" in passed
    assert spec["components"]["comp-condition-1"]["dag"]["tasks"]["register"]["componentRef"] == {
        "name": "comp-register"}
    assert spec["components"]["comp-condition-2"]["dag"]["tasks"]["gates-failed"]["componentRef"] == {
        "name": "comp-gates-failed"}
    assert spec["schemaVersion"] == "2.1.0"


def test_parameters_vary_per_run_with_blueprint_defaults(spec: dict[str, Any]) -> None:
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["min_ndcg_at_10"] == {"parameterType": "NUMBER_DOUBLE", "defaultValue": 0.3}
    assert params["min_improvement"]["defaultValue"] == 0.005
    assert params["max_latency_p99_ms"] == {"parameterType": "NUMBER_INTEGER", "defaultValue": 100}
    assert params["triggered_by"]["defaultValue"] == "manual"
    assert params["input_data_uri"]["defaultValue"] == "gs://data/recs-ranker/training/"
    # The machine and replica count are the job's own (worker pools and GPUs derive from them).
    assert not {"training_machine_type", "training_replica_count"} & set(params)


def _payload(spec: dict[str, Any], executor: str) -> dict[str, Any]:
    args = spec["deploymentSpec"]["executors"][executor]["container"]["args"]
    return json.loads(args[args.index("--payload") + 1])


def test_tuning_job_has_the_budget_spot_checkpoints_and_cmek(spec: dict[str, Any]) -> None:
    container = spec["deploymentSpec"]["executors"]["exec-tune"]["container"]
    assert container["command"][-1] == ps.TUNING_JOB_LAUNCHER
    job = _payload(spec, "exec-tune")
    assert (job["maxTrialCount"], job["parallelTrialCount"]) == (30, 3)
    assert job["studySpec"]["metrics"] == [{"metricId": "ndcg_at_10", "goal": "MAXIMIZE"}]
    assert job["studySpec"]["algorithm"] == "ALGORITHM_UNSPECIFIED"
    assert [p["parameterId"] for p in job["studySpec"]["parameters"]] == ["learning_rate", "batch_size", "dropout"]
    trial = job["trialJobSpec"]
    assert trial["scheduling"]["strategy"] == "SPOT" and trial["scheduling"]["restartJobOnWorkerRestart"] is True
    assert "--checkpoint-dir" in trial["workerPoolSpecs"][0]["containerSpec"]["args"]
    assert trial["workerPoolSpecs"][0]["machineSpec"]["acceleratorType"] == "NVIDIA_TESLA_T4"
    assert trial["serviceAccount"] == CTX.service_account and trial["network"] == CTX.network
    assert job["encryptionSpec"] == {"kmsKeyName": CTX.kms_key}
    assert spec["root"]["dag"]["tasks"]["tune"]["retryPolicy"]["maxRetryCount"] == 3


def test_training_without_search_is_a_custom_job() -> None:
    p = example_plan()
    model = p.models[0]
    assert model.training is not None
    plain = model.model_copy(update={"training": model.training.model_copy(update={"search": None, "spot": False})})
    spec = ps.pipeline_spec(p, plain, CTX)
    job = _payload(spec, "exec-train")
    assert job["jobSpec"]["scheduling"]["strategy"] == "STANDARD"
    assert "maxWaitDuration" not in job["jobSpec"]["scheduling"]
    assert "retryPolicy" not in spec["root"]["dag"]["tasks"]["train"]
    assert "--model-dir" in spec["deploymentSpec"]["executors"]["exec-evaluate"]["container"]["args"]


def _job_spec(instance: str, count: int, search: bool) -> dict[str, Any]:
    p = example_plan()
    model = p.models[0]
    assert model.training is not None
    training = model.training.model_copy(update={"instance": instance, "instance_count": count,
                                                 **({} if search else {"search": None})})
    spec = ps.pipeline_spec(p, model.model_copy(update={"training": training}), CTX)
    job = _payload(spec, "exec-tune" if search else "exec-train")
    return job["trialJobSpec"] if search else job["jobSpec"]


@pytest.mark.parametrize("search", [False, True])
@pytest.mark.parametrize("count", [1, 2, 5])
def test_a_distributed_job_has_one_primary_replica_then_the_workers(count: int, search: bool) -> None:
    # Vertex's first worker pool is the primary replica (exactly one); once it was one pool of `count`.
    pools = _job_spec("n1-standard-8", count, search)["workerPoolSpecs"]
    assert [p["replicaCount"] for p in pools] == (["1"] if count == 1 else ["1", str(count - 1)])
    assert all(p["machineSpec"] == pools[0]["machineSpec"] and p["containerSpec"] == pools[0]["containerSpec"]
               for p in pools)


@pytest.mark.parametrize(("instance", "gpu"), [
    ("a2-highgpu-2g", {"acceleratorType": "NVIDIA_TESLA_A100", "acceleratorCount": 2}),
    ("a2-ultragpu-4g", {"acceleratorType": "NVIDIA_A100_80GB", "acceleratorCount": 4}),
    ("g2-standard-48", {"acceleratorType": "NVIDIA_L4", "acceleratorCount": 4}),
    ("a3-highgpu-8g", {"acceleratorType": "NVIDIA_H100_80GB", "acceleratorCount": 8}),
    ("n2-standard-16", {}),
])
@pytest.mark.parametrize("search", [False, True])
def test_gpu_machines_train_with_their_gpus(instance: str, gpu: dict[str, Any], search: bool) -> None:
    # Once the machine type alone: Vertex refuses an A2/G2 machine without its accelerators.
    for pool in _job_spec(instance, 2, search)["workerPoolSpecs"]:
        assert pool["machineSpec"] == {"machineType": instance, **gpu}


@pytest.mark.parametrize("where", ["training", "serving"])
def test_a_gpu_machine_outside_the_table_is_a_located_error(where: str) -> None:
    data = yaml.safe_load(Path(BLUEPRINT).read_text())
    data["models"][0][where]["instance"] = "a2-highgpu-3g"
    bp = load_text(yaml.safe_dump(data, sort_keys=False), "gpu.yaml").blueprint
    with pytest.raises(PlanError) as caught:
        plan(bp, "prod")
    found = {format_path(d.path): d for d in caught.value.diagnostics}
    assert f"models[0].{where}.instance" in found, found
    assert "a2-highgpu-2g" in str(found[f"models[0].{where}.instance"].allowed)


EXPERIMENT = "projects/proj/locations/europe-west4/metadataStores/default/contexts/product-recs-prod-recs-ranker"
BOARD = "projects/proj/locations/europe-west4/tensorboards/123"


@pytest.mark.parametrize("search", [False, True])
def test_runs_join_the_models_experiment_and_write_to_the_tensorboard(search: bool) -> None:
    p = example_plan()
    model = p.models[0]
    assert model.training is not None
    if not search:
        model = model.model_copy(update={"training": model.training.model_copy(update={"search": None})})
    spec = ps.pipeline_spec(p, model, replace(CTX, experiment=EXPERIMENT, tensorboard=BOARD))
    join = spec["deploymentSpec"]["executors"]["exec-join-experiment"]["container"]
    args = join["args"]
    assert args[args.index("--experiment") + 1] == "product-recs-prod-recs-ranker"
    assert args[args.index("--tensorboard") + 1] == BOARD
    assert args[args.index("--pipeline-job") + 1] == "{{$.pipeline_job_resource_name}}"
    assert join["image"] == ps.GCPC_IMAGE and "add_context_children" in join["command"][-1]
    fitted = "tune" if search else "train"
    assert spec["root"]["dag"]["tasks"][fitted]["dependentTasks"] == ["preprocess", "join-experiment"]
    job = _payload(spec, f"exec-{fitted}")
    if search:  # trials are not experiment runs: they upload to the TensorBoard
        assert job["trialJobSpec"]["tensorboard"] == BOARD and "experiment" not in job["trialJobSpec"]
    else:  # Vertex takes no `tensorboard` next to `experiment`: the experiment's backing one is used
        assert job["jobSpec"]["experiment"] == EXPERIMENT and "tensorboard" not in job["jobSpec"]


def test_without_tracking_no_run_joins_an_experiment(spec: dict[str, Any]) -> None:
    assert "join-experiment" not in spec["root"]["dag"]["tasks"]
    assert "tensorboard" not in _payload(spec, "exec-tune")["trialJobSpec"]


def test_the_example_runs_join_the_experiment_of_the_created_tensorboard(prod: SynthResult) -> None:
    job = named(prod, "-recs-ranker-retraining-schedule").inputs["createPipelineJobRequest"]["pipelineJob"]
    spec = json.loads(job["pipelineSpec"])
    args = spec["deploymentSpec"]["executors"]["exec-join-experiment"]["container"]["args"]
    board = named(prod, "-tracking-tensorboard")
    assert args[args.index("--tensorboard") + 1] == f"{board.name}-id"  # the created board's id (mocks)
    assert _payload(spec, "exec-tune")["trialJobSpec"]["tensorboard"] == f"{board.name}-id"


@pytest.mark.parametrize("hyperparameters", [{}, {"max_depth": 6, "objective": "reg:squarederror", "early": True,
                                                  "{{$.pipeline_job_uuid}}": "x';touch pwned;'"}])
def test_pinned_hyperparameters_reach_train_py_as_one_encoded_argument(hyperparameters: dict[str, Any]) -> None:
    p = example_plan()
    model = p.models[0]
    assert model.training is not None
    for search in (model.training.search, None):
        training = model.training.model_copy(update={"hyperparameters": hyperparameters, "search": search})
        tuned = model.model_copy(update={"training": training})
        job = _payload(ps.pipeline_spec(p, tuned, CTX), "exec-tune" if search else "exec-train")
        args = (job["trialJobSpec"] if search else job["jobSpec"])["workerPoolSpecs"][0]["containerSpec"]["args"]
        [given] = [a for a in args if a.startswith("--hyperparameters=")]
        assert decode(given.removeprefix("--hyperparameters=")) == hyperparameters
        assert not any(a.startswith("--") and "=" in a and a != given for a in args)  # no --<key>=<value>


def test_register_uploads_a_challenger_version_with_a_model_card(spec: dict[str, Any]) -> None:
    container = spec["deploymentSpec"]["executors"]["exec-register"]["container"]
    args = container["args"]
    assert args[args.index("--alias") + 1] == "challenger"
    assert args[args.index("--model-id") + 1] == CTX.model_id
    assert args[args.index("--kms-key") + 1] == CTX.kms_key
    card = decode(args[args.index("--model-card") + 1])
    assert card["intended_use"] == example_plan().use_case and "ndcg_at_10" in card["quality_gates"]
    metrics = [(decode(args[i + 1]), args[i + 2]) for i, a in enumerate(args) if a == "--metric"]
    assert metrics[0] == ("ndcg_at_10", "{{$.inputs.parameters['pipelinechannel--evaluate-metric_ndcg_at_10']}}")
    # medium serving: the CPU image of the version it trained with, by digest.
    assert args[args.index("--serving-image") + 1] == CTX.images["prediction/tf2-cpu.2-15"]
    compile(container["command"][2], "register_model.py", "exec")  # the embedded program is valid Python


def test_no_model_card_where_governance_does_not_require_one() -> None:
    p = example_plan()
    relaxed = p.model_copy(update={"governance": p.governance.model_copy(update={"model_card_required": False})})
    args = ps.pipeline_spec(relaxed, relaxed.models[0], CTX)["deploymentSpec"]["executors"]["exec-register"][
        "container"]["args"]
    assert "--model-card" not in args


def test_failed_gates_fail_the_run_with_each_value_and_bar(spec: dict[str, Any]) -> None:
    container = spec["deploymentSpec"]["executors"]["exec-gates-failed"]["container"]
    # What the step prints: its program run with the arguments as KFP passes them (placeholders unresolved).
    run = subprocess.run([sys.executable, *container["command"][1:], *container["args"]], capture_output=True,
                         text=True, check=False, timeout=60)
    message = run.stderr.strip()
    assert run.returncode == 1 and message.startswith("Quality gates not met for recs-ranker (run {{$.pipeline_job")
    assert "ndcg_at_10 = {{$.inputs.parameters['pipelinechannel--evaluate-metric_ndcg_at_10']}} (needs >= " \
           "{{$.inputs.parameters['pipelinechannel--min_ndcg_at_10']}})" in message


def _images(spec: dict[str, Any]) -> dict[str, str]:
    """Where a spec names an image: each executor's container, the training or tuning job the launcher submits
    (its payload), and the serving container the register step uploads the version with."""
    executors = spec["deploymentSpec"]["executors"]
    found = {name: e["container"]["image"] for name, e in executors.items()}
    register = executors["exec-register"]["container"]["args"]
    found["register --serving-image"] = register[register.index("--serving-image") + 1]
    for launcher, key in (("exec-tune", "trialJobSpec"), ("exec-train", "jobSpec")):
        if launcher in executors:
            pools = _payload(spec, launcher)[key]["workerPoolSpecs"]
            found |= {f"{launcher} payload pool {i}": p["containerSpec"]["imageUri"] for i, p in enumerate(pools)}
    return found


# custom has no search space on GCP (a plan error: test_what_vertex_cannot_honour_is_a_located_plan_error).
@pytest.mark.parametrize(("framework", "search"), [("lightgbm", True), ("lightgbm", False), ("custom", False)])
def test_own_image_models_run_the_stacks_tag_everywhere_never_latest(framework: str, search: bool) -> None:
    p = example_plan()
    model = p.models[0]
    assert model.training is not None
    training = model.training if search else model.training.model_copy(update={"search": None})
    model = model.model_copy(update={"framework": framework, "training": training})
    spec = ps.pipeline_spec(p, model, replace(CTX, own_image_tag="2024.06.1"))
    images = _images(spec)
    own = {name: image for name, image in images.items() if image.startswith(CTX.own_images)}
    assert images["register --serving-image"] == f"{CTX.own_images}/recs-ranker-serving:2024.06.1"
    assert {name: image for name, image in own.items() if name != "register --serving-image"} == {
        name: f"{CTX.own_images}/recs-ranker-training:2024.06.1"
        for name in ("exec-preprocess", "exec-evaluate", *(n for n in images if " payload pool " in n))}
    assert ":latest" not in json.dumps(spec) and image_problems(spec, "spec") == []
    # Without a tag the spec cannot be written (the platform always passes the stack's: components.image_tags).
    with pytest.raises(ValueError, match="own_image_tag"):
        ps.pipeline_spec(p, model, CTX)


@pytest.mark.parametrize("framework", sorted(ps.PREBUILT))
def test_prebuilt_images_are_pinned_and_serve_the_version_they_train(framework: str) -> None:
    p = example_plan()
    spec = ps.pipeline_spec(p, p.models[0].model_copy(update={"framework": framework}), CTX)
    images = _images(spec)
    serving = images["register --serving-image"]
    training = images["exec-tune payload pool 0"]
    for image in (serving, training, images["exec-preprocess"]):
        assert "@sha256:" in image, image
    # Nothing in the spec names a tag `latest` (Google's images are looked up by it, then pinned by digest).
    assert ":latest" not in json.dumps(spec) and image_problems(spec, "spec") == []
    # The framework version is in Google's image names (tf-gpu.2-15.py310, tf2-cpu.2-15): the same for both.
    version = ps.PREBUILT[framework].version.replace(".", "-")
    assert f".{version}" in training.split("/")[-1] and f".{version}" in serving.split("/")[-1], (training, serving)


def test_the_spec_is_deterministic() -> None:
    p = example_plan()
    assert ps.spec_json(p, p.models[0], CTX) == ps.spec_json(example_plan(), example_plan().models[0], CTX)


def test_tables_agree_with_the_cloud_limits() -> None:
    assert sorted(s.value for s in ps.ALGORITHMS) == sorted(GCP_SEARCH_STRATEGIES)
    assert sorted(ps.SEARCH_SPACES) == sorted(GCP_TUNABLE_FRAMEWORKS)
    frameworks = get_args(ModelSpec.model_fields["framework"].annotation)
    assert sorted(f for f in frameworks if ps.brings_own_image(f)) == sorted(GCP_OWN_IMAGE_FRAMEWORKS)


# --------------------------------------------------------------------------- cloud limits


def _gcp_blueprint(**changes: Any) -> str:
    data = yaml.safe_load(Path(BLUEPRINT).read_text())
    model = data["models"][0]
    for key, value in changes.items():
        if key == "approvals":
            data["governance"]["approvals"] = value
        elif key == "framework":
            model["framework"] = value
        else:
            model["training"]["hyperparameter_search"][key] = value
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(("changes", "path", "words"), [
    ({"strategy": "grid"}, "models[0].training.hyperparameter_search.strategy", "grid search takes only discrete"),
    ({"strategy": "hyperband"}, "models[0].training.hyperparameter_search.strategy", "no Hyperband"),
    ({"framework": "custom"}, "models[0].training.hyperparameter_search", "no default search space for custom"),
    ({"approvals": {"prod": {"approvers": ["a@x.com", "b@x.com"], "min_approvals": 2}}},
     "governance.approvals.prod.min_approvals", "one approver's invocation"),
])
def test_what_vertex_cannot_honour_is_a_located_plan_error(changes: dict[str, Any], path: str, words: str) -> None:
    bp = load_text(_gcp_blueprint(**changes), "limits.yaml").blueprint
    with pytest.raises(PlanError) as caught:
        plan(bp, "prod")
    found = [(format_path(d.path), d.message) for d in caught.value.diagnostics]
    assert any(p == path and words in m for p, m in found), found


@pytest.mark.parametrize("source", ["fraud-detection-aws.yaml", "readmission-risk-aws.yaml"])
def test_aws_examples_moved_to_gcp_compile_into_specs(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = yaml.safe_load((ROOT / "blueprints" / source).read_text())
    data["cloud"] = {"provider": "gcp", "region": "us-central1"}
    for env in data.get("environments", {}).values():
        if isinstance(env, dict) and "account" in env:
            env["account"] = f"demo-{env['account'][:6]}"
    data.setdefault("governance", {}).setdefault("roles", {})["group_domain"] = "example.com"
    if "cost" in data:
        data["cost"]["billing_account"] = "012345-6789AB-CDEF01"
    for approval in data["governance"].get("approvals", {}).values():
        approval["min_approvals"] = 1  # several approvals: a GCP plan error (tested above)
    # Serving limits (drift methods, quality metrics) are another area's: only the pipelines are checked here.
    monkeypatch.setattr(mlops.clouds.gcp, "serving", lambda *_: [])
    bp = load_text(yaml.safe_dump(data), source).blueprint
    built = 0
    for environment in ("dev", "staging", "prod"):
        p = plan(bp, environment)
        for model in p.models:
            if model.training is not None:
                spec = ps.pipeline_spec(p, model, CTX)
                assert "register" in spec["components"]["comp-condition-1"]["dag"]["tasks"]
                built += 1
    assert built > 0


# --------------------------------------------------------------------------- workflows


def test_schedules_map_to_utc_cron() -> None:
    assert schedule_cron(Schedule.of("weekly")) == "TZ=UTC 0 0 * * 0"
    assert schedule_cron(Schedule.of("30 2 * * 1-5")) == "TZ=UTC 30 2 * * 1-5"


def test_promotion_moves_the_alias_then_runs_the_deployer() -> None:
    source = json.loads(promotion_source(PromotionTarget(project="p", region="us-central1", model_id="m",
                                                         deployer_workflow="d")))
    steps = [next(iter(s)) for s in source["main"]["steps"]]
    assert steps == ["init", "move_alias", "deploy_args", "deploy", "done"]
    move = source["main"]["steps"][1]["move_alias"]["args"]
    assert move["body"] == {"versionAliases": ["champion", "-challenger"]}
    assert ":mergeVersionAliases" in move["url"]
    # The rollout is started, not awaited: a canary bakes longer than a connector call may wait.
    deploy = source["main"]["steps"][3]["deploy"]
    assert deploy["call"].endswith(".workflows.executions.create")
    assert deploy["args"] == {"parent": "projects/p/locations/us-central1/workflows/d",
                              "body": {"argument": "${json.encode_to_string(rollout)}"}}
    assert source["main"]["steps"][2]["deploy_args"]["assign"] == [
        {"rollout": {"model": "projects/p/locations/us-central1/models/m", "version": "${version}"}}]
    unserved = json.loads(promotion_source(PromotionTarget(project="p", region="r", model_id="m",
                                                           deployer_workflow=None)))
    assert "deploy" not in [next(iter(s)) for s in unserved["main"]["steps"]]


def test_retraining_workflow_enforces_the_cool_down() -> None:
    target = RetrainingTarget(project="p", region="us-central1", display_name="x-training", spec_bucket="b",
                              spec_object="pipelines/m/pipeline.json", output_directory="gs://b/m/runs",
                              service_account="sa", kms_key="k", min_interval_hours=24)
    source = json.loads(retraining_source(target))
    steps = {next(iter(s)): s[next(iter(s))] for s in source["main"]["steps"]}
    assert "sys.now() - 86400" in steps["recent_runs"]["args"]["query"]["filter"]
    assert steps["cool_down"]["switch"][0]["return"]["started"] is False
    assert steps["read_spec"]["args"]["object"] == "pipelines%2Fm%2Fpipeline.json"
    body = steps["start_run"]["args"]["body"]
    assert body["encryptionSpec"] == {"kmsKeyName": "k"} and body["serviceAccount"] == "sa"


def test_drift_filter_names_the_model_endpoint() -> None:
    p = example_plan()
    assert "model_monitoring_anomaly" in drift_filter("proj", p, "recs-ranker")


# --------------------------------------------------------------------------- the synthesized stack


def _snake_keys(value: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if "_" in key and path.rsplit(".", 1)[-1] not in MAPS:
                found.append(f"{path}.{key}")
            if key not in MAPS:
                found += _snake_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            found += _snake_keys(item, path)
    return found


def test_prod_builds_the_pipeline_registry_and_schedule(prod: SynthResult) -> None:
    mine = [r for r in prod.resources if any(part in r.name for part in
                                             ("-recs-ranker-training", "-registry", "-recs-ranker-retraining"))]
    assert Counter(r.type for r in mine) == {
        "mlops:index:VertexTrainingPipeline": 1, OBJECT: 1, "mlops:index:VertexModelRegistry": 1,
        "gcp:serviceaccount/account:Account": 2, "gcp:projects/iAMMember:IAMMember": 4,
        "gcp:serviceaccount/iAMMember:IAMMember": 1, WORKFLOW: 1, "mlops:index:VertexRetrainingTriggers": 1,
        SCHEDULE: 1,
    }
    for record in mine:
        assert _snake_keys(record.inputs) == [], record.name


def test_the_stored_spec_is_encrypted_and_a_pipeline_spec(prod: SynthResult) -> None:
    stored = named(prod, "-recs-ranker-training-spec")
    assert stored.inputs["name"] == "pipelines/recs-ranker/pipeline.json"
    assert stored.inputs["kmsKeyName"] and stored.inputs["contentType"] == "application/json"
    assert stored.inputs["content"] == "[secret]"  # the provider marks object content secret
    # The schedule carries the same spec (rendered by the same Output) in the clear.
    spec = json.loads(named(prod, "-recs-ranker-retraining-schedule").inputs["createPipelineJobRequest"][
        "pipelineJob"]["pipelineSpec"])
    assert round_trip(spec) == spec
    assert spec["pipelineInfo"]["name"] == "product-recs-prod-recs-ranker-training"


def test_the_schedule_runs_weekly_as_the_pipelines_account_with_cmek_in_the_network(prod: SynthResult) -> None:
    schedule = named(prod, "-recs-ranker-retraining-schedule").inputs
    assert schedule["cron"] == "TZ=UTC 0 0 * * 0"
    assert schedule["maxConcurrentRunCount"] == "1"
    job = schedule["createPipelineJobRequest"]["pipelineJob"]
    assert job["serviceAccount"].startswith("product-recs-prod-pipelines@")
    assert job["encryptionSpec"]["kmsKeyName"]
    # prod is isolated: Vertex wants the network by project NUMBER (private services access on it).
    assert re.fullmatch(r"projects/\d+/global/networks/product-recs-prod-vpc", job["network"]), job["network"]
    assert job["runtimeConfig"]["parameterValues"] == {"triggered_by": "schedule"}
    assert job["runtimeConfig"]["gcsOutputDirectory"].endswith("/recs-ranker/runs")


def test_only_the_approvers_may_act_as_the_promoter(prod: SynthResult) -> None:
    p = example_plan()
    workflow = named(prod, "-registry-recs-ranker-promote").inputs
    assert workflow["name"] == promotion_workflow_name(p, "recs-ranker")
    assert workflow["cryptoKeyName"] and workflow["serviceAccount"].startswith("product-recs-prod-promotion@")
    source = json.loads(workflow["sourceContents"])
    assert f"/models/{model_id(p, 'recs-ranker')}@" in json.dumps(source)
    grants = [r.inputs for r in prod.resources if r.type == "gcp:serviceaccount/iAMMember:IAMMember"
              and "-registry-promoter-" in r.name]
    assert grants == [{"serviceAccountId": grants[0]["serviceAccountId"],
                       "role": "roles/iam.serviceAccountTokenCreator",
                       "member": "group:recs-team-lead@example-shop.com"}]


def test_drift_and_performance_triggers(monkeypatch: pytest.MonkeyPatch) -> None:
    p = example_plan()
    model = p.models[0]
    changed = p.model_copy(update={"models": (model.model_copy(update={"retraining": model.retraining.model_copy(
        update={"on_drift": True, "on_performance": True, "min_interval_hours": 12})}),)})
    monkeypatch.setattr(mlops.program, "plan_from_config", lambda: changed)
    result = synth(BLUEPRINT, "prod")
    kinds = Counter(r.type for r in result.resources if "-recs-ranker-retraining" in r.name)
    assert kinds["gcp:pubsub/topic:Topic"] == 1 and kinds[WORKFLOW] == 1
    assert kinds["gcp:eventarc/trigger:Trigger"] == 1 and kinds["gcp:logging/projectSink:ProjectSink"] == 1
    assert kinds["gcp:monitoring/notificationChannel:NotificationChannel"] == 1
    assert kinds["gcp:pubsub/topicIAMMember:TopicIAMMember"] == 2
    assert named(result, "-recs-ranker-retraining-topic").inputs["kmsKeyName"]
    workflow = named(result, "-recs-ranker-retraining-workflow").inputs
    assert workflow["name"] == retraining_workflow_name(changed, "recs-ranker")
    assert "sys.now() - 43200" in workflow["sourceContents"]
    assert named(result, "-recs-ranker-retraining-channel").inputs["type"] == "pubsub"
    assert [v for v in result.violations if v.enforcement == "mandatory"] == []
