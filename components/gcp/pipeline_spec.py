"""The Vertex AI (KFP v2) pipeline spec of one model, as plain JSON data (no pulumi import).

`pipeline_spec(plan, model, context)` returns the PipelineSpec Vertex AI Pipelines runs (KFP IR
schema 2.1.0), checked by a lossless round trip through KFP's own `PipelineSpec` protobuf type
(`kfp_types`). The component resolves ids and names first and passes them in `SpecContext` as plain
strings, so this module is a pure function of the plan and testable on its own. Same DAG as on AWS:

    preprocess (container: validate the input data, write train/validation/test splits)
    join-experiment (with experiment tracking: the run joins its model's Vertex AI experiment, created
      with the platform TensorBoard as its backing TensorBoard when missing; scripts/join_experiment.py)
      → train (Vertex custom job) — or tune (hyperparameter tuning job, the blueprint's trial budget)
        spot VMs (`scheduling.strategy: SPOT`) and a checkpoint directory when asked
      → evaluate (container: quality, fairness and latency metrics; improvement over the champion)
      → condition-1 (every gate passes) → register (new version of the model, alias `challenger`)
        condition-2 (otherwise)         → gates-failed (fails the run; the message lists each gate)

Parameters (what may vary per run; defaults from the blueprint): input_data_uri, code_uri,
triggered_by (manual | schedule | drift | performance), one number per gate (`min_<metric>` /
`max_<metric>`, `fairness_<metric>`, `max_latency_p99_ms`) and `min_improvement` when comparing with the
champion. The training machine and replica count are the plan's, written into the job: Vertex needs
the primary replica and the other workers as separate pools (N - 1 derived from N) and an
accelerator-optimized machine's GPUs named with it, and KFP placeholders cannot compute either from a
run parameter.

The team's code (a contract, documented in the README): under `code_uri` (gs://…, read through the
Cloud Storage FUSE mount `/gcs/…` every Vertex job has), `preprocess.py --input-data-uri U
--output-dir D` writes D/{train,validation,test}; `train.py --data-dir D [--checkpoint-dir C]
--hyperparameters=<base64url JSON> [--<name>=<value> …]` saves the model to `$AIP_MODEL_DIR` and, when
tuned, reports the objective with `cloudml-hypertune` (the `--<name>=<value>` flags are the trial's
sampled values, names from SEARCH_SPACES); `evaluate.py` (see EVALUATE_CONTRACT) writes one value per
output file it is given.

Blueprint text is data, never part of an argument as written: KFP resolves `{{$.…}}` placeholders
anywhere in a container's command and arguments (the launchers' `--payload` JSON included) and has no
escape. Free text (hyperparameter keys and values, gate labels, the model card) is passed encoded by
`components.payload.encode` (base64url JSON: no placeholder can form in it); the objective metric, which
Vertex reads verbatim from the payload, is refused by the plan when it could hold one
(mlops/clouds/gcp_pipelines.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from components.payload import encode
from mlops.plan import ModelPlan, Plan, PlanError
from mlops.plan.model import TrainingPlan
from mlops.plan.vocabulary import Diagnostic, Direction, FairnessMetric, SearchStrategy

from . import vertex_jobs as vj
from .kfp_types import round_trip
from .machines import Machine, serving_machine

Json = dict[str, Any]

SCHEMA_VERSION = "2.1.0"
SDK_VERSION = "kfp-2.17.3"
"""The KFP release whose IR (kfp-pipeline-spec 2.17.3) the spec is written in; Vertex reads it to know
which placeholders and features the spec may use."""
GCPC_IMAGE = "gcr.io/ml-pipeline/google-cloud-pipeline-components:2.17.0"
"""Google Cloud Pipeline Components: custom-job and tuning-job launchers, google-cloud-aiplatform."""
CUSTOM_JOB_LAUNCHER = "google_cloud_pipeline_components.container.v1.custom_job.launcher"
TUNING_JOB_LAUNCHER = "google_cloud_pipeline_components.container.v1.hyperparameter_tuning_job.launcher"

# Task names (part of the contract: the console and the run history show them).
PREPROCESS, TRAIN, TUNE, EVALUATE, PASSED, FAILED, REGISTER, FAIL, EXPERIMENT = (
    "preprocess", "train", "tune", "evaluate", "condition-1", "condition-2", "register", "gates-failed",
    "join-experiment")
CHALLENGER, CHAMPION = "challenger", "champion"

EVALUATE_CONTRACT = """evaluate.py is called with:
  --data-dir D                    the preprocess output (D/test is the test split)
  --model-dir M | --trials-dir T  the trained model, or the tuning job's trial directories (T/<trial>/model)
  --tuning-job J                  with --trials-dir: the tuning job (gcp_resources JSON); evaluate the best trial
  --champion NAME                 when comparing: projects/…/models/<id>@champion (may not exist yet)
  --output NAME=PATH              one per output; write the value (a JSON number or true/false) to PATH:
                                  metric_<m> (each quality, fairness and latency gate), champion_exists,
                                  champion_improvement (>= 0 is better than the champion), model_uri (the
                                  gs:// directory of the evaluated model)
"""

FAIRNESS_DIRECTION: dict[FairnessMetric, Direction] = {
    FairnessMetric.demographic_parity_difference: Direction.at_most,
    FairnessMetric.equal_opportunity_difference: Direction.at_most,
    FairnessMetric.disparate_impact_ratio: Direction.at_least,
}

ALGORITHMS: dict[SearchStrategy, vj.Algorithm] = {
    # Vertex AI Vizier's default algorithm is Bayesian optimisation (Gaussian-process bandit).
    SearchStrategy.bayesian: "ALGORITHM_UNSPECIFIED",
    SearchStrategy.random: "RANDOM_SEARCH",
}
"""Grid search needs every parameter discrete or integer (the search spaces have continuous ones) and
Vertex has no Hyperband: both are plan errors (mlops.clouds.gcp)."""

SEARCH_SPACES: dict[str, list[vj.ParameterSpec]] = {
    "xgboost": [
        {"parameterId": "eta", "scaleType": "UNIT_LOG_SCALE", "doubleValueSpec": {"minValue": 0.01, "maxValue": 0.3}},
        {"parameterId": "max_depth", "scaleType": "UNIT_LINEAR_SCALE",
         "integerValueSpec": {"minValue": "3", "maxValue": "10"}},
        {"parameterId": "subsample", "scaleType": "UNIT_LINEAR_SCALE",
         "doubleValueSpec": {"minValue": 0.5, "maxValue": 1.0}},
        {"parameterId": "min_child_weight", "scaleType": "UNIT_LINEAR_SCALE",
         "doubleValueSpec": {"minValue": 1.0, "maxValue": 10.0}},
    ],
    "lightgbm": [
        {"parameterId": "learning_rate", "scaleType": "UNIT_LOG_SCALE",
         "doubleValueSpec": {"minValue": 0.01, "maxValue": 0.3}},
        {"parameterId": "num_leaves", "scaleType": "UNIT_LINEAR_SCALE",
         "integerValueSpec": {"minValue": "15", "maxValue": "255"}},
        {"parameterId": "feature_fraction", "scaleType": "UNIT_LINEAR_SCALE",
         "doubleValueSpec": {"minValue": 0.5, "maxValue": 1.0}},
    ],
    "sklearn": [
        {"parameterId": "n_estimators", "discreteValueSpec": {"values": [100, 200, 400, 800]}},
        {"parameterId": "max_depth", "scaleType": "UNIT_LINEAR_SCALE",
         "integerValueSpec": {"minValue": "3", "maxValue": "20"}},
    ],
    **{framework: [
        {"parameterId": "learning_rate", "scaleType": "UNIT_LOG_SCALE",
         "doubleValueSpec": {"minValue": 0.0001, "maxValue": 0.1}},
        {"parameterId": "batch_size", "discreteValueSpec": {"values": [64, 128, 256, 512]}},
        {"parameterId": "dropout", "scaleType": "UNIT_LINEAR_SCALE",
         "doubleValueSpec": {"minValue": 0.0, "maxValue": 0.5}},
    ] for framework in ("tensorflow", "pytorch")},
}
"""Default search space per framework, passed to train.py as `--<name>=<value>` (Vertex's convention: the
names are ours, so they are safe in an argument; the blueprint's pinned values arrive in `--hyperparameters`).
Hyperparameters the blueprint pins are not searched. `custom` has none: a plan error."""

@dataclass(frozen=True)
class Prebuilt:
    """One framework version's prebuilt Vertex AI images: training (CPU, GPU) and prediction (CPU, GPU)."""

    version: str
    training: tuple[str, str]
    serving: tuple[str, str]


PREBUILT: dict[str, Prebuilt] = {
    # Google's "Prebuilt containers for custom training" and "... for inference" lists, as of 2026-12: one
    # framework version per framework, offered by both lists, so a model serves with the version it trained.
    "tensorflow": Prebuilt("2.15", ("tf-cpu.2-15.py310", "tf-gpu.2-15.py310"), ("tf2-cpu.2-15", "tf2-gpu.2-15")),
    "pytorch": Prebuilt("2.4", ("pytorch-xla.2-4.py310", "pytorch-gpu.2-4.py310"),
                        ("pytorch-cpu.2-4", "pytorch-gpu.2-4")),
    "sklearn": Prebuilt("1.0", ("sklearn-cpu.1-0.py38", "sklearn-cpu.1-0.py38"),
                        ("sklearn-cpu.1-0", "sklearn-cpu.1-0")),
    "xgboost": Prebuilt("1.1", ("xgboost-cpu.1-1", "xgboost-cpu.1-1"), ("xgboost-cpu.1-1", "xgboost-cpu.1-1")),
}
"""lightgbm and custom have no prebuilt images: the team pushes `<model>-training` and `<model>-serving`
images to the platform's Docker repository (`SpecContext.own_images`), and the spec runs them at the tag
the stack setting `mlops:imageTags` gives the model (`SpecContext.own_image_tag`, components.image_tags)."""
OWN_IMAGE_MODELS = "a model this stack trains on the team's own image (lightgbm, custom)"
"""How an `mlops:imageTags` error names the models `own_image_models` returns."""
PREBUILT_PROJECT = "vertex-ai"
"""Google publishes the images in Artifact Registry repositories `training` and `prediction` of this project,
in the multi-regions us, europe and asia (the same image in each), under the tag `latest` only: the
component pins each to its digest at deploy time (`gcp.artifactregistry.get_docker_image`)."""


def brings_own_image(framework: str) -> bool:
    """The team's images train and serve the model: Google publishes no prebuilt image for its framework."""
    return framework not in PREBUILT


def own_image_models(plan: Plan) -> list[ModelPlan]:
    """The models whose spec runs the team's own images (trained here: serving alone deploys a registered
    model, whose serving image the register step of its training run recorded)."""
    return [m for m in plan.models if m.training is not None and brings_own_image(m.framework)]


def prebuilt_image(framework: str, purpose: str, gpu: bool) -> str | None:
    """The image (`training/<name>` or `prediction/<name>`) of a framework, None without a prebuilt one."""
    images = PREBUILT.get(framework)
    if images is None:
        return None
    names = images.training if purpose == "training" else images.serving
    return f"{purpose}/{names[gpu]}"


def prebuilt_location(region: str) -> str:
    """The multi-region of Google's prebuilt images nearest to the plan's region."""
    if region.startswith(("europe-", "me-", "africa-")):
        return "europe"
    if region.startswith(("asia-", "australia-")):
        return "asia"
    return "us"


_STEP_MACHINE = {"resourceCpuLimit": "4", "resourceMemoryLimit": "16G"}
_BOOT_DISK = vj.DiskSpec(bootDiskType="pd-ssd", bootDiskSizeGb=100)
RUN_ID = "{{$.pipeline_job_uuid}}"
FAIL_PROGRAM = ("import base64, json, sys; texts = json.loads(base64.urlsafe_b64decode(sys.argv[1])); "
                "sys.exit(''.join(t + v for t, v in zip(texts, [*sys.argv[2:], ''])))")
"""Exits non-zero with the message: the run fails and shows why. argv[1] is the message's text pieces
(encoded: gate labels are blueprint text), the other arguments the run's values that go between them."""


@dataclass(frozen=True)
class SpecContext:
    """Resolved values the spec refers to (plain strings: the component resolves the Outputs)."""

    project: str
    kms_key: str
    service_account: str
    data_bucket: str
    artifact_bucket: str
    model_id: str
    """Vertex model id the register step uploads versions to (`names.model_id`)."""
    own_images: str
    """Docker repository path (`<region>-docker.pkg.dev/<project>/<repo>`) for frameworks without prebuilt images."""
    images: dict[str, str] = field(default_factory=dict)
    """Prebuilt images (`prebuilt_image`) → the same image pinned by digest (`<host>/vertex-ai/<image>@sha256:…`)."""
    own_image_tag: str | None = None
    """The tag of the team's own images (`mlops:imageTags`), for a model in `own_image_models`; never `latest`."""
    network: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    experiment: str | None = None
    """The model's experiment context (`names.experiment_context`); None without experiment tracking."""
    tensorboard: str | None = None
    """The platform TensorBoard's resource name, the experiment's backing TensorBoard (with `experiment`)."""


def _in(name: str) -> str:
    return f"{{{{$.inputs.parameters['{name}']}}}}"


def _out_file(name: str) -> str:
    return f"{{{{$.outputs.parameters['{name}'].output_file}}}}"


def _artifact_uri(name: str) -> str:
    return f"{{{{$.inputs.artifacts['{name}'].uri}}}}"


def _artifact_path(name: str, output: bool = False) -> str:
    return f"{{{{$.{'outputs' if output else 'inputs'}.artifacts['{name}'].path}}}}"


def _slug(text: str) -> str:
    """Parameter and output names: letters, digits and `_` (KFP turns them into Python identifiers)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", text).lower()


def _seconds(hours: float) -> str:
    return f"{round(hours * 3600)}s"


def _script(name: str) -> list[str]:
    """Runs `<code_uri>/<name>` through the Cloud Storage FUSE mount with the remaining arguments."""
    return ["sh", "-c", f'CODE="$0"; exec python3 "/gcs/${{CODE#gs://}}/{name}" "$@"', _in("code_uri")]


@cache
def register_program() -> str:
    return (Path(__file__).parent / "scripts" / "register_model.py").read_text()


@cache
def experiment_program() -> str:
    return (Path(__file__).parent / "scripts" / "join_experiment.py").read_text()


@dataclass(frozen=True)
class Gate:
    """One quality-gate condition: an evaluate output against a pipeline parameter."""

    output: str
    parameter: str
    direction: Direction
    threshold: float
    label: str
    integer: bool = False


class _Builder:
    def __init__(self, plan: Plan, model: ModelPlan, ctx: SpecContext) -> None:
        if model.training is None:
            raise ValueError(f"model {model.name} has no training plan (training_pipeline is off)")
        self.plan, self.model, self.ctx = plan, model, ctx
        self.training: TrainingPlan = model.training
        self.index = [m.name for m in plan.models].index(model.name)
        self.machine: Machine = serving_machine(self.training.instance)
        self.parameters: dict[str, Json] = {}
        self.components: dict[str, Json] = {}
        self.executors: dict[str, Json] = {}
        self.gates = self._gates()
        self.champion = model.quality_gates.compare_to_champion or model.retraining.champion_challenger
        self.runs = f"gs://{ctx.artifact_bucket}/{model.name}/runs/{RUN_ID}"

    # ----------------------------------------------------------------- parameters, gates, images

    def _parameter(self, name: str, kind: str, default: str | int | float) -> None:
        self.parameters[name] = {"parameterType": kind, "defaultValue": default}

    def _gates(self) -> list[Gate]:
        q = self.model.quality_gates
        gates = [Gate(f"metric_{_slug(m.metric)}",
                      f"{'min' if m.direction == Direction.at_least else 'max'}_{_slug(m.metric)}",
                      m.direction, m.threshold, m.metric) for m in q.metrics]
        gates += [Gate(f"metric_{f.metric.value}", f"fairness_{f.metric.value}", FAIRNESS_DIRECTION[f.metric],
                       f.threshold, f.metric.value) for f in q.fairness]
        if q.max_latency_p99_ms is not None:
            gates.append(Gate("metric_latency_p99_ms", "max_latency_p99_ms", Direction.at_most,
                              q.max_latency_p99_ms, "p99 latency (ms)", integer=True))
        names = [g.parameter for g in gates]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise PlanError([Diagnostic(("models", self.index, "quality_gates"),
                                        "two gates on the same metric and direction",
                                        got=", ".join(duplicated), allowed="one threshold per metric")])
        return gates

    def _own(self, purpose: str) -> str:
        if self.ctx.own_image_tag is None:
            raise ValueError(f"{self.model.name}: no tag for the team's own images (SpecContext.own_image_tag)")
        return f"{self.ctx.own_images}/{self.model.name}-{purpose}:{self.ctx.own_image_tag}"

    def _pinned(self, purpose: str, gpu: bool) -> str:
        image = prebuilt_image(self.model.framework, purpose, gpu)
        if image is None:
            return self._own("training" if purpose == "training" else "serving")
        if image not in self.ctx.images:
            raise ValueError(f"{self.model.name}: {image} is not pinned (SpecContext.images)")
        return self.ctx.images[image]

    def training_image(self) -> str:
        return self._pinned("training", self.machine.gpu)

    def serving_image(self) -> str:
        serving = self.model.serving
        return self._pinned("prediction", serving_machine(serving.instance).gpu if serving else False)

    # ----------------------------------------------------------------- building blocks

    def _component(self, name: str, *, inputs: Json | None = None, outputs: Json | None = None,
                   executor: Json | None = None, dag: Json | None = None) -> None:
        spec: Json = {}
        if inputs:
            spec["inputDefinitions"] = inputs
        if outputs:
            spec["outputDefinitions"] = outputs
        if executor is not None:
            spec["executorLabel"] = f"exec-{name}"
            self.executors[f"exec-{name}"] = {"container": executor}
        if dag is not None:
            spec["dag"] = dag
        self.components[f"comp-{name}"] = spec

    @staticmethod
    def _params(**kinds: str) -> Json:
        return {"parameters": {name: {"parameterType": kind} for name, kind in kinds.items()}}

    @staticmethod
    def _task(name: str, *, inputs: Json | None = None, after: list[str] | None = None,
              condition: str | None = None, retry: Json | None = None) -> Json:
        task: Json = {"taskInfo": {"name": name}, "componentRef": {"name": f"comp-{name}"},
                      # A retraining run must never reuse an earlier run's results for the same inputs.
                      "cachingOptions": {}}
        if inputs:
            task["inputs"] = inputs
        if after:
            task["dependentTasks"] = after
        if condition:
            task["triggerPolicy"] = {"condition": condition}
        if retry:
            task["retryPolicy"] = retry
        return task

    @staticmethod
    def _from_root(*names: str) -> Json:
        return {name: {"componentInputParameter": name} for name in names}

    def _machine_spec(self) -> vj.MachineSpec:
        machine: vj.MachineSpec = {"machineType": self.machine.machine_type}
        if self.machine.accelerator:
            machine["acceleratorType"] = self.machine.accelerator
            machine["acceleratorCount"] = self.machine.accelerator_count
        return machine

    def _job_spec(self, args: list[str]) -> vj.CustomJobSpec:
        t = self.training
        scheduling: vj.Scheduling = {"timeout": _seconds(t.max_runtime_hours),
                                     "strategy": "SPOT" if t.spot else "STANDARD"}
        if t.spot:
            # max_wait_hours bounds waiting for capacity and running together; Vertex bounds the wait alone.
            scheduling["maxWaitDuration"] = _seconds(max(t.max_wait_hours - t.max_runtime_hours, 1))
        if t.checkpointing:
            # A preempted or failed worker restarts the job, which resumes from its last checkpoint.
            scheduling["restartJobOnWorkerRestart"] = True
            args = [*args, "--checkpoint-dir", f"gs://{self.ctx.artifact_bucket}/{self.model.name}/checkpoints/{RUN_ID}"]
        # Keys and values are blueprint text: one encoded argument, never `--<key>=<value>` (see the module doc).
        pinned = [f"--hyperparameters={encode(dict(t.hyperparameters))}"]
        container: vj.ContainerSpec = {
            "imageUri": self.training_image(),
            "command": ["sh", "-c", 'CODE="$0"; exec python3 "/gcs/${CODE#gs://}/train.py" "$@"', _in("code_uri")],
            "args": [*args, *pinned]}
        # Vertex's first worker pool is the primary replica and takes exactly one; the other replicas of a
        # distributed job are the second pool (same machine and code): `instance_count` N is 1 + (N - 1).
        pools: list[vj.WorkerPoolSpec] = [{"machineSpec": self._machine_spec(), "replicaCount": "1",
                                           "diskSpec": _BOOT_DISK, "containerSpec": container}]
        if t.instance_count > 1:
            pools.append({"machineSpec": self._machine_spec(), "replicaCount": str(t.instance_count - 1),
                          "diskSpec": _BOOT_DISK, "containerSpec": container})
        spec: vj.CustomJobSpec = {
            "workerPoolSpecs": pools,
            "scheduling": scheduling,
            "serviceAccount": self.ctx.service_account,
            "baseOutputDirectory": {"outputUriPrefix": f"{self.runs}/{TUNE if t.search else TRAIN}"},
        }
        if self.ctx.network:
            spec["network"] = self.ctx.network
        if self.ctx.experiment and self.ctx.tensorboard:
            if t.search is None:
                # The job's metrics and TensorBoard logs go to the experiment (and its backing TensorBoard, which
                # is why Vertex takes no `tensorboard` next to `experiment`); the join step created it.
                spec["experiment"] = self.ctx.experiment
            else:
                # Tuning trials are not experiment runs: each uploads its AIP_TENSORBOARD_LOG_DIR to the board.
                spec["tensorboard"] = self.ctx.tensorboard
        return spec

    def _launcher(self, module: str, job_type: str, payload: vj.CustomJob | vj.HyperparameterTuningJob) -> Json:
        return {
            "image": GCPC_IMAGE,
            "command": ["python3", "-u", "-m", module],
            "args": ["--type", job_type, "--project", self.ctx.project, "--location", self.plan.region,
                     "--payload", json.dumps(payload, sort_keys=True, separators=(",", ":")),
                     "--gcp_resources", _out_file("gcp_resources")],
        }

    def _retry(self) -> Json | None:
        # Spot capacity comes and goes: try again later rather than fail the run.
        return {"maxRetryCount": 3, "backoffDuration": "600s", "backoffFactor": 2.0,
                "backoffMaxDuration": "3600s"} if self.training.spot else None

    # ----------------------------------------------------------------- steps

    def preprocess(self) -> Json:
        self._component(
            PREPROCESS,
            inputs=self._params(code_uri="STRING", input_data_uri="STRING", triggered_by="STRING"),
            outputs={"artifacts": {"dataset": {"artifactType": {"schemaTitle": "system.Dataset",
                                                                "schemaVersion": "0.0.1"}}}},
            executor={"image": self.training_image(), "command": _script("preprocess.py"),
                      "args": ["--input-data-uri", _in("input_data_uri"),
                               "--output-dir", _artifact_path("dataset", output=True),
                               "--triggered-by", _in("triggered_by")],
                      "resources": dict(_STEP_MACHINE)})
        return self._task(PREPROCESS, inputs={"parameters": self._from_root("code_uri", "input_data_uri",
                                                                            "triggered_by")})

    def join_experiment(self) -> Json | None:
        """The run joins its model's experiment (created with the TensorBoard as backing when missing)."""
        ctx = self.ctx
        if not (ctx.experiment and ctx.tensorboard):
            return None
        self._component(EXPERIMENT, executor={
            "image": GCPC_IMAGE, "command": ["python3", "-c", experiment_program()],
            "args": ["--project", ctx.project, "--location", self.plan.region,
                     "--experiment", ctx.experiment.rsplit("/", 1)[-1], "--tensorboard", ctx.tensorboard,
                     "--pipeline-job", "{{$.pipeline_job_resource_name}}",
                     "--description", f"Training runs of {self.model.name} ({self.plan.prefix})"]})
        return self._task(EXPERIMENT)

    def fit(self, after: list[str]) -> tuple[str, Json]:
        search = self.training.search
        name = TUNE if search else TRAIN
        args = ["--data-dir", _artifact_uri("dataset")]
        labels = dict(sorted(self.ctx.labels.items()))
        encryption: vj.EncryptionSpec = {"kmsKeyName": self.ctx.kms_key}
        display = f"{self.plan.prefix}-{self.model.name}-{name}-{RUN_ID}"
        if search is None:
            job: vj.CustomJob = {"displayName": display, "jobSpec": self._job_spec(args),
                                 "encryptionSpec": encryption, "labels": labels}
            executor = self._launcher(CUSTOM_JOB_LAUNCHER, "CustomJob", job)
        else:
            pinned = set(self.training.hyperparameters)
            space = [p for p in SEARCH_SPACES[self.model.framework] if p["parameterId"] not in pinned]
            tuning: vj.HyperparameterTuningJob = {
                "displayName": display,
                "studySpec": {"metrics": [{"metricId": search.objective_metric,
                                           "goal": "MAXIMIZE" if search.direction == Direction.at_least
                                           else "MINIMIZE"}],
                              "parameters": space, "algorithm": ALGORITHMS[search.strategy],
                              "measurementSelectionType": "BEST_MEASUREMENT"},
                "maxTrialCount": search.max_trials,
                "parallelTrialCount": min(search.max_parallel_trials, search.max_trials),
                # A few failed trials (spot preemptions past their retries) do not sink the search.
                "maxFailedTrialCount": max(1, search.max_trials // 10),
                "trialJobSpec": self._job_spec(args), "encryptionSpec": encryption, "labels": labels}
            executor = self._launcher(TUNING_JOB_LAUNCHER, "HyperparameterTuningJob", tuning)
        self._component(
            name,
            inputs={**self._params(code_uri="STRING"),
                    "artifacts": {"dataset": {"artifactType": {"schemaTitle": "system.Dataset",
                                                               "schemaVersion": "0.0.1"}}}},
            outputs=self._params(gcp_resources="STRING"), executor=executor)
        task = self._task(name, after=after, retry=self._retry(), inputs={
            "parameters": self._from_root("code_uri"),
            "artifacts": {"dataset": {"taskOutputArtifact": {"producerTask": PREPROCESS,
                                                             "outputArtifactKey": "dataset"}}}})
        return name, task

    def evaluate(self, fitted: str) -> Json:
        outputs = {g.output: "NUMBER_DOUBLE" for g in self.gates}
        if self.champion:
            outputs.update(champion_exists="BOOLEAN", champion_improvement="NUMBER_DOUBLE")
        outputs["model_uri"] = "STRING"
        args = ["--data-dir", _artifact_path("dataset")]
        if self.training.search is None:
            args += ["--model-dir", f"{self.runs}/{TRAIN}/model"]
        else:
            args += ["--trials-dir", f"{self.runs}/{TUNE}", "--tuning-job", _in("tuning_job")]
        if self.champion:
            args += ["--champion", f"projects/{self.ctx.project}/locations/{self.plan.region}/models/"
                                   f"{self.ctx.model_id}@{CHAMPION}"]
        for name in outputs:
            args += ["--output", f"{name}={_out_file(name)}"]
        inputs: Json = {**self._params(code_uri="STRING", **({"tuning_job": "STRING"} if self.training.search
                                                             else {})),
                        "artifacts": {"dataset": {"artifactType": {"schemaTitle": "system.Dataset",
                                                                   "schemaVersion": "0.0.1"}}}}
        self._component(EVALUATE, inputs=inputs, outputs=self._params(**outputs),
                        executor={"image": self.training_image(), "command": _script("evaluate.py"), "args": args,
                                  "resources": dict(_STEP_MACHINE)})
        parameters: Json = self._from_root("code_uri")
        if self.training.search:
            parameters["tuning_job"] = {"taskOutputParameter": {"producerTask": fitted,
                                                                "outputParameterKey": "gcp_resources"}}
        return self._task(EVALUATE, after=[fitted], inputs={
            "parameters": parameters,
            "artifacts": {"dataset": {"taskOutputArtifact": {"producerTask": PREPROCESS,
                                                             "outputArtifactKey": "dataset"}}}})

    # ----------------------------------------------------------------- gates, register, fail

    @staticmethod
    def _channel(task: str, output: str) -> str:
        return f"pipelinechannel--{task}-{output}"

    def _channels(self) -> tuple[dict[str, str], Json]:
        """Channel name → kind, and the task inputs feeding them (what a KFP condition sub-DAG receives)."""
        kinds: dict[str, str] = {}
        wiring: Json = {}
        outputs = [(g.output, "NUMBER_DOUBLE") for g in self.gates] + [("model_uri", "STRING")]
        if self.champion:
            outputs += [("champion_exists", "BOOLEAN"), ("champion_improvement", "NUMBER_DOUBLE")]
        for output, kind in outputs:
            channel = self._channel(EVALUATE, output)
            kinds[channel] = kind
            wiring[channel] = {"taskOutputParameter": {"producerTask": EVALUATE, "outputParameterKey": output}}
        parameters = [(g.parameter, "NUMBER_INTEGER" if g.integer else "NUMBER_DOUBLE") for g in self.gates]
        if self.champion:
            parameters.append(("min_improvement", "NUMBER_DOUBLE"))
        parameters.append(("triggered_by", "STRING"))
        for parameter, kind in parameters:
            channel = f"pipelinechannel--{parameter}"
            kinds[channel] = kind
            wiring[channel] = {"componentInputParameter": parameter}
        return kinds, wiring

    def _condition(self) -> str:
        def value(channel: str) -> str:
            return f"inputs.parameter_values['{channel}']"
        terms = [f"{value(self._channel(EVALUATE, g.output))} "
                 f"{'>=' if g.direction == Direction.at_least else '<='} "
                 f"{value('pipelinechannel--' + g.parameter)}" for g in self.gates]
        if self.champion:
            # The first version has no champion to beat; later ones must improve on it by min_improvement.
            terms.append(f"({value(self._channel(EVALUATE, 'champion_exists'))} == false || "
                         f"{value(self._channel(EVALUATE, 'champion_improvement'))} >= "
                         f"{value('pipelinechannel--min_improvement')})")
        return " && ".join(terms) if terms else "true"

    def _model_card(self) -> Json:
        g = self.plan.governance
        card = {"model": self.model.name, "framework": self.model.framework, "intended_use": self.plan.use_case,
                "risk_tier": str(g.risk_tier), "environment": str(self.plan.environment),
                "compliance": sorted(str(c) for c in g.compliance),
                "quality_gates": {gate.label: {"direction": gate.direction.value, "threshold": gate.threshold}
                                  for gate in self.gates}}
        return card

    def register(self, kinds: dict[str, str]) -> Json:
        channel = self._channel
        args = ["--project", self.ctx.project, "--location", self.plan.region, "--model-id", self.ctx.model_id,
                "--display-name", f"{self.plan.prefix}-{self.model.name}",
                "--artifact-uri", _in(channel(EVALUATE, "model_uri")),
                "--serving-image", self.serving_image(), "--kms-key", self.ctx.kms_key,
                "--labels", json.dumps({**dict(sorted(self.ctx.labels.items())),
                                        "triggered-by": _in("pipelinechannel--triggered_by")},
                                       sort_keys=True, separators=(",", ":")),
                "--alias", CHALLENGER,
                "--description", f"{self.model.name}: passed the quality gates of {self.plan.prefix} "
                                 f"(run {RUN_ID}, triggered by {_in('pipelinechannel--triggered_by')}).",
                "--version-output", _out_file("model_version")]
        for gate in self.gates:
            # The label is blueprint text (encoded); the value is the evaluate step's output.
            args += ["--metric", encode(gate.label), _in(channel(EVALUATE, gate.output))]
        if self.plan.governance.model_card_required:
            args += ["--model-card", encode(self._model_card())]
        self._component(REGISTER, inputs=self._params(**kinds), outputs=self._params(model_version="STRING"),
                        executor={"image": GCPC_IMAGE, "command": ["python3", "-c", register_program()],
                                  "args": args})
        return self._task(REGISTER, inputs={"parameters": self._from_root(*kinds)})

    def fail_message(self) -> tuple[list[str], list[str]]:
        """The gates-failed message as text pieces and the placeholders between them (FAIL_PROGRAM joins them)."""
        texts, values = [f"Quality gates not met for {self.model.name} (run "], [RUN_ID]

        def then(text: str, value: str | None = None) -> None:
            # One text piece between two values: text after a value starts a piece, more text extends it.
            if len(texts) == len(values):
                texts.append(text)
            else:
                texts[-1] += text
            if value is not None:
                values.append(value)
        then("):")
        for gate in self.gates:
            sign = ">=" if gate.direction == Direction.at_least else "<="
            then(f" {gate.label} = ", _in(self._channel(EVALUATE, gate.output)))
            then(f" (needs {sign} ", _in("pipelinechannel--" + gate.parameter))
            then(");")
        if self.champion:
            then(" improvement over the champion = ", _in(self._channel(EVALUATE, "champion_improvement")))
            then(" (needs >= ", _in("pipelinechannel--min_improvement"))
            then(" when a champion exists).")
        return texts, values

    def fail(self, kinds: dict[str, str]) -> Json:
        texts, values = self.fail_message()
        self._component(FAIL, inputs=self._params(**kinds),
                        executor={"image": GCPC_IMAGE, "command": ["python3", "-c", FAIL_PROGRAM],
                                  "args": [encode(texts), *values]})
        return self._task(FAIL, inputs={"parameters": self._from_root(*kinds)})

    def _branch(self, name: str, condition: str, task: Json, kinds: dict[str, str], wiring: Json) -> Json:
        self._component(name, inputs=self._params(**kinds), dag={"tasks": {task["taskInfo"]["name"]: task}})
        return self._task(name, after=[EVALUATE], condition=condition, inputs={"parameters": wiring})

    # ----------------------------------------------------------------- the document

    def document(self) -> Json:
        self._parameter("input_data_uri", "STRING", f"gs://{self.ctx.data_bucket}/{self.model.name}/training/")
        self._parameter("code_uri", "STRING", f"gs://{self.ctx.artifact_bucket}/{self.model.name}/code")
        self._parameter("triggered_by", "STRING", "manual")
        for gate in self.gates:
            self._parameter(gate.parameter, "NUMBER_INTEGER" if gate.integer else "NUMBER_DOUBLE",
                            int(gate.threshold) if gate.integer else gate.threshold)
        if self.champion:
            self._parameter("min_improvement", "NUMBER_DOUBLE", self.model.quality_gates.min_improvement)
        tasks: Json = {PREPROCESS: self.preprocess()}
        joined = self.join_experiment()
        if joined is not None:
            tasks[EXPERIMENT] = joined
        fitted, fit_task = self.fit([PREPROCESS, *([EXPERIMENT] if joined is not None else [])])
        tasks[fitted] = fit_task
        tasks[EVALUATE] = self.evaluate(fitted)
        kinds, wiring = self._channels()
        condition = self._condition()
        tasks[PASSED] = self._branch(PASSED, condition, self.register(kinds), kinds, wiring)
        if condition != "true":
            tasks[FAILED] = self._branch(FAILED, f"!({condition})", self.fail(kinds), kinds, wiring)
        return {
            "pipelineInfo": {"name": f"{self.plan.prefix}-{self.model.name}-training",
                             "description": f"Trains, evaluates, gates and registers {self.model.name} "
                                            f"({self.plan.prefix})"},
            "sdkVersion": SDK_VERSION,
            "schemaVersion": SCHEMA_VERSION,
            "root": {"inputDefinitions": {"parameters": self.parameters}, "dag": {"tasks": tasks}},
            "components": self.components,
            "deploymentSpec": {"executors": self.executors},
        }


def pipeline_spec(plan: Plan, model: ModelPlan, context: SpecContext) -> Json:
    """The PipelineSpec of one model, checked against KFP's type. Raises PlanError for what Vertex cannot run."""
    return round_trip(_Builder(plan, model, context).document())


def spec_json(plan: Plan, model: ModelPlan, context: SpecContext) -> str:
    """The spec as the JSON text Vertex takes (deterministic: sorted keys, compact)."""
    return json.dumps(pipeline_spec(plan, model, context), sort_keys=True, separators=(",", ":"))


def images_of(plan: Plan, model: ModelPlan) -> list[str]:
    """The prebuilt images a model's spec uses (the component pins each by digest)."""
    training = model.training
    gpu = serving_machine(training.instance).gpu if training else False
    serving_gpu = serving_machine(model.serving.instance).gpu if model.serving else False
    found = [prebuilt_image(model.framework, "training", gpu),
             prebuilt_image(model.framework, "prediction", serving_gpu)]
    return sorted({i for i in found if i})


def check(plan: Plan, model: ModelPlan) -> None:
    """Raise PlanError now (before any resource) for settings the spec cannot express."""
    placeholder = SpecContext(project="project", kms_key="key", service_account="sa@project.iam.gserviceaccount.com",
                              data_bucket="data", artifact_bucket="artifacts", model_id="model",
                              own_images="region-docker.pkg.dev/project/repo", own_image_tag="tag",
                              images={i: f"us-docker.pkg.dev/vertex-ai/{i}@sha256:{'0' * 64}"
                                      for i in images_of(plan, model)})
    pipeline_spec(plan, model, placeholder)

