"""The SageMaker pipeline definition of one model, as plain JSON data (no pulumi import).

`pipeline_definition(plan, model, context)` returns the document `aws.sagemaker.Pipeline` takes
(Version 2020-12-01, the format of the SageMaker Python SDK and of the published JSON schema). The
component resolves ARNs, bucket names and image URIs first and passes them in `PipelineContext`
as plain strings, so this module is a pure function of the plan and testable on its own.

The DAG:

    RunContext (Lambda: this run's S3 locations, under the pipeline execution id)
      → Preprocess (processing: validate the input data, split train/validation/test)
      → Baseline (processing, where the model has drift monitoring and a registry: the drift baseline,
        statistics.json and constraints.json of the train split, components/aws/scripts/baseline.py)
      → Train (training job) — or Tune (tuning job) → BestModel (Lambda: the best job's artifact)
      → Evaluate (processing: writes evaluation.json)
      → ReadEvaluation (Lambda: each gate's value from evaluation.json, and a summary message)
      → QualityGates (condition on every gate)
          ├─ if all pass → Register (model package in the model's group, PendingManualApproval; with a
          │                baseline, its files as the package's ModelMetrics.ModelDataQuality)
          └─ else        → GatesFailed (fail step; the message lists each gate's value and bar)

The document keeps to the published definition schema: values are literals or `Get` references, so
what needs string building or reading a JSON report at run time is done by the Lambda steps
(components/aws/lambdas/pipeline_steps.py) instead of `Std:Join`, `Std:JsonGet` and property files.
Register sets no approval status: SageMaker registers a versioned package PendingManualApproval, an
approver approves it where the environment requires approval, and elsewhere the deployer approves it
automatically (components/aws/deployment.py).

Parameters (what may vary per run; each has a default from the blueprint):
  InputDataUri, CodeUri, TrainingInstanceType, TrainingInstanceCount, ProcessingInstanceType,
  TriggeredBy (manual | schedule | drift | performance: who started the run, for the audit trail),
  one Float per quality gate (`Min-<metric>` / `Max-<metric>`), `Fairness-<metric>`, `MinImprovement`
  (champion comparison) and `MaxLatencyP99Ms`.

The team's code (a contract, documented in the README): under `CodeUri`, `preprocess.py` (reads
`/opt/ml/processing/input/data`, fails on invalid data, writes CSV splits — label first, no header —
to `/opt/ml/processing/{train,validation,test}`), `evaluate.py` (reads the model from
`/opt/ml/processing/model`, the test split and what to evaluate from the JSON file named by
`MLOPS_EVALUATION_SPEC` (see `evaluation_spec`), writes `/opt/ml/processing/evaluation/evaluation.json`,
see `EVALUATION_REPORT`) and, for frameworks trained from a script, `sourcedir.tar.gz` with `train.py`
(prints `<metric>=<value>` lines for the metrics the gates and the tuner read).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mlops.plan import ModelPlan, Plan, PlanError
from mlops.plan.model import TrainingPlan
from mlops.plan.vocabulary import Diagnostic, Direction, FairnessMetric, SearchStrategy

from .images import BUILT_IN_ALGORITHMS
from .instances import ml_instance_type

VERSION = "2020-12-01"

Json = dict[str, Any]

# Step names (part of the contract: property paths and the console refer to them).
PREPROCESS, TRAIN, TUNE, EVALUATE, GATES, REGISTER, FAIL = (
    "Preprocess", "Train", "Tune", "Evaluate", "QualityGates", "Register", "GatesFailed")
RUN_CONTEXT, BEST_MODEL, READ_EVALUATION = "RunContext", "BestModel", "ReadEvaluation"
BASELINE = "Baseline"

EVALUATION_REPORT = """evaluation.json written by evaluate.py:
{
  "metrics":  {"<metric>": {"value": <number>}, ...},          every quality-gate metric
  "fairness": {"<fairness metric>": {"value": <number>}, ...},  worst value over the protected attributes
  "latency":  {"p99_ms": {"value": <number>}},                  when max_latency_p99_ms is set
  "champion": {"exists": <bool>, "improvement": <number>}       when comparing to the champion: how much
}                                                               better than the approved champion (>= 0 is better)
"""

# Fairness metrics: which side of the threshold passes.
FAIRNESS_DIRECTION: dict[FairnessMetric, Direction] = {
    FairnessMetric.demographic_parity_difference: Direction.at_most,
    FairnessMetric.equal_opportunity_difference: Direction.at_most,
    FairnessMetric.disparate_impact_ratio: Direction.at_least,
}

# Default hyperparameter ranges of the built-in XGBoost algorithm (AWS's tuning guide ranges, narrowed
# to the useful part). Hyperparameters the blueprint pins in `training.hyperparameters` are not tuned.
XGBOOST_SEARCH_SPACE: dict[str, list[Json]] = {
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.3", "ScalingType": "Logarithmic"},
        {"Name": "min_child_weight", "MinValue": "1", "MaxValue": "10", "ScalingType": "Auto"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1", "ScalingType": "Linear"},
        {"Name": "colsample_bytree", "MinValue": "0.5", "MaxValue": "1", "ScalingType": "Linear"},
    ],
    "IntegerParameterRanges": [
        {"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Auto"},
    ],
}

STRATEGIES: dict[SearchStrategy, str] = {
    SearchStrategy.bayesian: "Bayesian",
    SearchStrategy.random: "Random",
}
"""Grid search is missing on purpose: SageMaker's grid strategy takes only categorical ranges. Hyperband
is a tuning-job strategy the published pipeline definition schema does not accept (Bayesian, Random)."""

CONTENT_TYPES: dict[str, str] = {"xgboost": "text/csv", "sklearn": "text/csv"}
"""What the registered model accepts and returns (application/json for the other frameworks)."""

_LOCAL = "/opt/ml/processing"
_SCRIPT_CHANNEL = "/opt/ml/input/data/code/sourcedir.tar.gz"
_VOLUME_GB = 30


@dataclass(frozen=True)
class Network:
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class PipelineContext:
    """Resolved values the definition refers to (plain strings: the component resolves the Outputs)."""

    role_arn: str
    steps_function_arn: str
    """The Lambda function of the pipeline's Lambda steps (components/aws/lambdas/pipeline_steps.py)."""
    kms_key_arn: str
    data_bucket: str
    artifact_bucket: str
    training_image: str
    inference_image: str
    processing_image: str
    model_package_group: str | None
    """None where the plan builds no registry: the pipeline then stops after the gates."""
    network: Network | None = None
    """Subnets and security groups of the platform network; None where the plan is not isolated."""
    tracking_server_arn: str | None = None
    """The MLflow tracking server (None without experiment tracking): jobs that can reach it get it as
    `MLFLOW_TRACKING_URI`, which the sagemaker-mlflow plugin resolves."""


SPEC_FILE = "evaluation-spec.json"


BASELINE_SCRIPT = "baseline.py"


def scripts_prefix(model: str) -> str:
    """Where in the artifacts bucket the platform's own step scripts live (components/aws/scripts)."""
    return f"{model}/pipeline-scripts"


def builds_baseline(model: ModelPlan, has_registry: bool) -> bool:
    """A drift baseline is computed where the model is drift-monitored and registered: the registered
    package carries it, and the deployer stages the approved version's baseline for the monitor."""
    return model.monitoring.drift is not None and model.serving is not None and has_registry


def evaluation_spec_key(model: str) -> str:
    """Where in the artifacts bucket the Evaluate step's spec lives (the pipeline role reads `<model>/*`)."""
    return f"{model}/pipeline-inputs/{SPEC_FILE}"


# --------------------------------------------------------------------------- expression helpers


def _get(path: str) -> Json:
    return {"Get": path}


def _param(name: str) -> Json:
    return _get(f"Parameters.{name}")


def _output(step: str, name: str) -> Json:
    """An output parameter of a Lambda step."""
    return _get(f"Steps.{step}.OutputParameters['{name}']")


_EXECUTION_ID = _get("Execution.PipelineExecutionId")


def _output_uri(processing_step: str, output: str) -> Json:
    return _get(f"Steps.{processing_step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri")


def parameter_name(prefix: str, metric: str) -> str:
    """`Min-auc`: pipeline parameter names allow letters, digits, `-` and `_` (64 at most)."""
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9_-]', '_', metric)}"[:64]


def _hours(hours: float) -> int:
    return round(hours * 3600)


def _string(value: str | int | float | bool) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


# --------------------------------------------------------------------------- the document


@dataclass(frozen=True)
class _Gate:
    parameter: str
    path: tuple[str, ...]
    """Where evaluation.json holds the value."""
    direction: Direction
    threshold: float
    label: str


class _Builder:
    def __init__(self, plan: Plan, model: ModelPlan, ctx: PipelineContext) -> None:
        if model.training is None:
            raise ValueError(f"model {model.name} has no training plan (training_pipeline is off)")
        self.plan, self.model, self.ctx = plan, model, ctx
        self.training: TrainingPlan = model.training
        self.index = plan.models.index(model)
        self.built_in = model.framework in BUILT_IN_ALGORITHMS
        self.isolated = plan.network.isolated
        self.runs = f"s3://{ctx.artifact_bucket}/{model.name}/runs"
        self.tags = [{"Key": k, "Value": v} for k, v in plan.tags.items()]
        self.parameters: list[Json] = []
        self.gates = self._gates()
        # The champion is the approved version in the registry: no registry, nothing to compare with.
        self.champion = model.quality_gates.compare_to_champion and ctx.model_package_group is not None
        self.with_baseline = builds_baseline(model, ctx.model_package_group is not None)

    # ----------------------------------------------------------------- parameters and gates

    def _parameter(self, name: str, kind: str, default: str | int | float) -> Json:
        self.parameters.append({"Name": name, "Type": kind, "DefaultValue": default})
        return _param(name)

    def _gates(self) -> list[_Gate]:
        q = self.model.quality_gates
        gates: list[_Gate] = []
        for m in q.metrics:
            prefix = "Min" if m.direction == Direction.at_least else "Max"
            gates.append(_Gate(parameter_name(prefix, m.metric), ("metrics", m.metric, "value"),
                               m.direction, m.threshold, m.metric))
        for f in q.fairness:
            gates.append(_Gate(parameter_name("Fairness", f.metric.value), ("fairness", f.metric.value, "value"),
                               FAIRNESS_DIRECTION[f.metric], f.threshold, f.metric.value))
        if q.max_latency_p99_ms is not None:
            gates.append(_Gate("MaxLatencyP99Ms", ("latency", "p99_ms", "value"), Direction.at_most,
                               q.max_latency_p99_ms, "p99 latency (ms)"))
        names = [g.parameter for g in gates]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise PlanError([Diagnostic(("models", self.index, "quality_gates"),
                                        "two gates on the same metric and direction",
                                        got=", ".join(duplicated), allowed="one threshold per metric")])
        return gates

    # ----------------------------------------------------------------- shared job settings

    def _network_config(self, isolate: bool) -> Json:
        config: Json = {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": isolate}
        if self.ctx.network is not None:
            config["VpcConfig"] = self._vpc()
        return config

    def _vpc(self) -> Json:
        assert self.ctx.network is not None
        return {"SecurityGroupIds": list(self.ctx.network.security_group_ids),
                "Subnets": list(self.ctx.network.subnet_ids)}

    def _tracking(self, isolate: bool) -> dict[str, Any]:
        """MLflow settings for a job that can reach the tracking server: not network-isolated (an
        isolated container has no network at all, not even the VPC's `mlflow` endpoint)."""
        if self.ctx.tracking_server_arn is None or isolate:
            return {}
        return {"MLFLOW_TRACKING_URI": self.ctx.tracking_server_arn, "MLFLOW_EXPERIMENT_NAME": self.model.name}

    def _processing(self, *, image: str, script: str, inputs: list[Json], outputs: list[str],
                    isolate: bool, environment: dict[str, Any] | None = None, code_uri: Any = None,
                    track: bool = True) -> Json:
        # The whole code prefix: the published schema has no string joining to pick one file.
        code = {"InputName": "code", "S3Input": {
            "S3Uri": _param("CodeUri") if code_uri is None else code_uri, "LocalPath": f"{_LOCAL}/input/code",
            "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}
        arguments: Json = {
            "ProcessingResources": {"ClusterConfig": {
                "InstanceType": _param("ProcessingInstanceType"), "InstanceCount": 1,
                "VolumeSizeInGB": _VOLUME_GB, "VolumeKmsKeyId": self.ctx.kms_key_arn}},
            "AppSpecification": {"ImageUri": image,
                                 "ContainerEntrypoint": ["python3", f"{_LOCAL}/input/code/{script}"]},
            "RoleArn": self.ctx.role_arn,
            "ProcessingInputs": [*inputs, code],
            "ProcessingOutputConfig": {"KmsKeyId": self.ctx.kms_key_arn, "Outputs": [
                {"OutputName": name, "S3Output": {
                    "S3Uri": _output(RUN_CONTEXT, f"{name.capitalize()}Uri"),
                    "LocalPath": f"{_LOCAL}/{name}", "S3UploadMode": "EndOfJob"}} for name in outputs]},
            "NetworkConfig": self._network_config(isolate),
            "StoppingCondition": {"MaxRuntimeInSeconds": _hours(self.training.max_runtime_hours)},
            "Tags": self.tags,
        }
        environment = {**(environment or {}), **(self._tracking(isolate) if track else {})}
        if environment:
            arguments["Environment"] = environment
        return arguments

    @staticmethod
    def _s3_input(name: str, uri: Any, local: str) -> Json:
        return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": local, "S3DataType": "S3Prefix",
                                               "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}

    # ----------------------------------------------------------------- steps

    def preprocess(self) -> Json:
        data = self._s3_input("data", _param("InputDataUri"), f"{_LOCAL}/input/data")
        return {"Name": PREPROCESS, "Type": "Processing",
                "Description": "Validates the input data and splits it into train, validation and test sets",
                "Arguments": self._processing(image=self.ctx.processing_image, script="preprocess.py",
                                              inputs=[data], outputs=["train", "validation", "test"],
                                              isolate=self.isolated,
                                              environment={"MLOPS_MODEL": self.model.name,
                                                           "MLOPS_TRIGGERED_BY": _param("TriggeredBy")})}

    def baseline(self) -> Json:
        """The drift baseline of the train split, by the platform's own script (not the team's code)."""
        train = self._s3_input("train", _output_uri(PREPROCESS, "train"), f"{_LOCAL}/input/train")
        scripts = f"s3://{self.ctx.artifact_bucket}/{scripts_prefix(self.model.name)}/"
        return {"Name": BASELINE, "Type": "Processing",
                "Description": "Drift baseline of the train split: statistics.json and constraints.json",
                "Arguments": self._processing(image=self.ctx.processing_image, script=BASELINE_SCRIPT,
                                              inputs=[train], outputs=["baseline"], isolate=self.isolated,
                                              code_uri=scripts, track=False)}

    def _channel(self, name: str, uri: Any, content_type: str | None) -> Json:
        channel: Json = {"ChannelName": name, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}},
            "InputMode": "File"}
        if content_type:
            channel["ContentType"] = content_type
        return channel

    def _channels(self) -> list[Json]:
        content = "text/csv" if self.built_in else None
        channels = [self._channel(split, _output_uri(PREPROCESS, split), content) for split in ("train", "validation")]
        if not self.built_in:
            # The script travels as an input channel, so it also works with network isolation.
            channels.append(self._channel("code", _output(RUN_CONTEXT, "SourceArchiveUri"), None))
        return channels

    def _metric_names(self) -> list[str]:
        names = [m.metric for m in self.model.quality_gates.metrics]
        search = self.training.search
        if search and search.objective_metric not in names:
            names.append(search.objective_metric)
        return names

    def _algorithm(self) -> Json:
        spec: Json = {"TrainingImage": self.ctx.training_image, "TrainingInputMode": "File"}
        if not self.built_in:
            # Script mode: the training script prints `<metric>=<value>`; SageMaker scrapes the log.
            spec["MetricDefinitions"] = [{"Name": name, "Regex": f"{re.escape(name)}=([-+0-9.eE]+)"}
                                         for name in self._metric_names()]
        return spec

    def _hyperparameters(self) -> dict[str, str]:
        pinned = self.training.hyperparameters
        if self.built_in:
            values = {k: _string(v) for k, v in pinned.items()}
            values.setdefault("num_round", "100")
            if self.training.search:
                values.setdefault("eval_metric", self.training.search.objective_metric)
            return values
        # Framework containers read JSON-encoded values (what the SageMaker SDK sends).
        values = {k: json.dumps(v) for k, v in pinned.items()}
        values.update({"sagemaker_program": json.dumps("train.py"),
                       "sagemaker_submit_directory": json.dumps(_SCRIPT_CHANNEL),
                       "sagemaker_region": json.dumps(self.plan.region)})
        return values

    def _job_settings(self, output_path: str) -> Json:
        """What training and tuning jobs share: encryption, isolation, spot, checkpoints, limits."""
        t = self.training
        stopping: Json = {"MaxRuntimeInSeconds": _hours(t.max_runtime_hours)}
        if t.spot:
            stopping["MaxWaitTimeInSeconds"] = _hours(max(t.max_wait_hours, t.max_runtime_hours))
        settings: Json = {
            "AlgorithmSpecification": self._algorithm(),
            "OutputDataConfig": {"S3OutputPath": output_path, "KmsKeyId": self.ctx.kms_key_arn},
            "ResourceConfig": {"InstanceType": _param("TrainingInstanceType"),
                               "InstanceCount": _param("TrainingInstanceCount"),
                               "VolumeSizeInGB": _VOLUME_GB, "VolumeKmsKeyId": self.ctx.kms_key_arn},
            "RoleArn": self.ctx.role_arn,
            "StoppingCondition": stopping,
            "InputDataConfig": self._channels(),
            "EnableNetworkIsolation": self.isolated,
            "EnableInterContainerTrafficEncryption": True,
            "EnableManagedSpotTraining": t.spot,
        }
        if t.checkpointing:
            settings["CheckpointConfig"] = {"S3Uri": _output(RUN_CONTEXT, "CheckpointUri"),
                                            "LocalPath": "/opt/ml/checkpoints"}
        if self.ctx.network is not None:
            settings["VpcConfig"] = self._vpc()
        return settings

    def _retries(self) -> list[Json]:
        retries = [{"ExceptionType": "Step.THROTTLING", "IntervalSeconds": 30, "BackoffRate": 2.0, "MaxAttempts": 3}]
        if self.training.spot:
            # Spot capacity comes and goes: try again later rather than fail the run.
            retries.append({"ExceptionType": "SageMaker.CAPACITY_ERROR", "IntervalSeconds": 300,
                            "BackoffRate": 2.0, "MaxAttempts": 3})
        return retries

    def train(self) -> Json:
        arguments = self._job_settings(f"s3://{self.ctx.artifact_bucket}/{self.model.name}/models")
        arguments["HyperParameters"] = self._hyperparameters()
        arguments["Tags"] = self.tags
        return {"Name": TRAIN, "Type": "Training", "Description": "Trains the model on the train split",
                "RetryPolicies": self._retries(), "Arguments": arguments}

    def _search_error(self, key: str, message: str, got: str, allowed: str) -> PlanError:
        return PlanError([Diagnostic(("models", self.index, "training", "hyperparameter_search", key), message,
                                     got=got, allowed=allowed)])

    def tune(self) -> Json:
        search = self.training.search
        assert search is not None
        if search.strategy not in STRATEGIES:
            raise self._search_error("strategy", "SageMaker grid search takes only categorical ranges; the "
                                     "built-in search space is continuous", search.strategy.value,
                                     ", ".join(s.value for s in STRATEGIES))
        if not self.built_in:
            raise self._search_error("objective_metric", f"no built-in search space for {self.model.framework} "
                                     "on AWS: its hyperparameters are defined by the training script",
                                     self.model.framework, ", ".join(sorted(BUILT_IN_ALGORITHMS)))
        pinned = set(self.training.hyperparameters)
        ranges = {kind: [r for r in items if r["Name"] not in pinned] for kind, items in XGBOOST_SEARCH_SPACE.items()}
        metric = search.objective_metric
        objective = metric if ":" in metric else f"validation:{metric}"  # the built-in algorithm's metric name
        definition = self._job_settings(f"s3://{self.ctx.artifact_bucket}/{self.model.name}/tuning")
        definition["StaticHyperParameters"] = self._hyperparameters()
        definition["HyperParameterRanges"] = {kind: items for kind, items in ranges.items() if items}
        strategy = STRATEGIES[search.strategy]
        config: Json = {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize" if search.direction == Direction.at_least else "Minimize",
                "MetricName": objective},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": search.max_trials,
                               "MaxParallelTrainingJobs": min(search.max_parallel_trials, search.max_trials)},
            "TrainingJobEarlyStoppingType": "Auto",
        }
        return {"Name": TUNE, "Type": "Tuning",
                "Description": f"Searches hyperparameters ({search.max_trials} trials) for the best {objective}",
                "RetryPolicies": self._retries(),
                "Arguments": {"HyperParameterTuningJobConfig": config, "TrainingJobDefinition": definition,
                              "Tags": self.tags}}

    def model_uri(self) -> Any:
        if self.training.search is None:
            return _get(f"Steps.{TRAIN}.ModelArtifacts.S3ModelArtifacts")
        return _output(BEST_MODEL, "ModelUri")

    def _lambda(self, name: str, description: str, arguments: Json, outputs: dict[str, str]) -> Json:
        return {"Name": name, "Type": "Lambda", "Description": description,
                "FunctionArn": self.ctx.steps_function_arn, "Arguments": {"Action": name, **arguments},
                "OutputParameters": [{"OutputName": k, "OutputType": v} for k, v in outputs.items()]}

    def run_context(self) -> Json:
        names = ["TrainUri", "ValidationUri", "TestUri", "EvaluationUri", "CheckpointUri", "SourceArchiveUri"]
        if self.with_baseline:
            names += ["BaselineUri", "BaselineStatisticsUri", "BaselineConstraintsUri"]
        return self._lambda(RUN_CONTEXT, "This run's S3 locations (data splits, evaluation, checkpoints)", {
            "ExecutionId": _EXECUTION_ID, "RunsUri": self.runs, "CodeUri": _param("CodeUri"),
            "CheckpointsUri": f"s3://{self.ctx.artifact_bucket}/{self.model.name}/checkpoints",
            **({"Baseline": "yes"} if self.with_baseline else {}),
        }, dict.fromkeys(names, "String"))

    def best_model(self) -> Json:
        # The tuning step lists its best training job first.
        return self._lambda(BEST_MODEL, "The model artifact of the best tuning trial", {
            "OutputPath": f"s3://{self.ctx.artifact_bucket}/{self.model.name}/tuning",
            "TrainingJobName": _get(f"Steps.{TUNE}.TrainingJobSummaries[0].TrainingJobName"),
        }, {"ModelUri": "String"})

    def read_evaluation(self) -> Json:
        gates = [{"Parameter": g.parameter, "Label": g.label, "Path": list(g.path), "Direction": g.direction.value}
                 for g in self.gates]
        arguments: Json = {
            "Model": self.model.name, "ExecutionId": _EXECUTION_ID,
            "EvaluationUri": _output_uri(EVALUATE, "evaluation"),
            "Gates": json.dumps(gates, separators=(",", ":")),
            **{f"Bar-{g.parameter}": _param(g.parameter) for g in self.gates},
        }
        outputs = {f"Value-{g.parameter}": "Float" for g in self.gates}
        if self.champion:
            arguments["MinImprovement"] = _param("MinImprovement")
            arguments["ChampionMetric"] = self.model.quality_gates.metrics[0].metric
            outputs.update({"ChampionExists": "Boolean", "ChampionImprovement": "Float"})
        outputs.update({"Passed": "Boolean", "Message": "String", "ReportUri": "String"})
        return self._lambda(READ_EVALUATION, "Each gate's value from evaluation.json, and a summary",
                            arguments, outputs)

    def evaluation_spec(self) -> Json:
        q = self.model.quality_gates
        return {
            "metrics": {m.metric: m.direction.value for m in q.metrics},
            "fairness": {f.metric.value: f.protected_attributes for f in q.fairness},
            "latency_p99": q.max_latency_p99_ms is not None,
            "champion": {"model_package_group": self.ctx.model_package_group,
                         "metric": q.metrics[0].metric, "direction": q.metrics[0].direction.value}
            if self.champion else None,
        }

    def evaluate(self) -> Json:
        # What to evaluate is a file, not an environment value: SageMaker caps each of those at 256
        # characters, and a few gates and protected attributes pass that.
        spec = f"s3://{self.ctx.artifact_bucket}/{evaluation_spec_key(self.model.name).rsplit('/', 1)[0]}/"
        inputs = [self._s3_input("model", self.model_uri(), f"{_LOCAL}/model"),
                  self._s3_input("test", _output_uri(PREPROCESS, "test"), f"{_LOCAL}/test"),
                  self._s3_input("spec", spec, f"{_LOCAL}/input/spec")]
        # Finding the approved champion calls the SageMaker API: that job keeps its network (inside the
        # platform's private subnets where there is one) instead of full network isolation.
        isolate = self.isolated and not self.champion
        arguments = self._processing(image=self.ctx.training_image if self.built_in else self.ctx.inference_image,
                                     script="evaluate.py", inputs=inputs, outputs=["evaluation"], isolate=isolate,
                                     environment={"MLOPS_MODEL": self.model.name,
                                                  "MLOPS_EVALUATION_SPEC": f"{_LOCAL}/input/spec/{SPEC_FILE}"})
        return {"Name": EVALUATE, "Type": "Processing",
                "Description": "Evaluates the candidate on the test split (quality, fairness, latency, champion)",
                "Arguments": arguments}

    def register(self, group: str) -> Json:
        content = CONTENT_TYPES.get(self.model.framework, "application/json")
        serving = self.model.serving
        instance = ml_instance_type(serving.instance) if serving else ml_instance_type("medium")
        evidence = {"ContentType": "application/json", "S3Uri": _output(READ_EVALUATION, "ReportUri")}
        metrics: Json = {"ModelQuality": {"Statistics": evidence}}
        if self.model.quality_gates.fairness:
            metrics["Bias"] = {"Report": evidence}
        if self.with_baseline:
            # The published definition schema has no DriftCheckBaselines in RegisterModel: the baseline
            # travels as the package's data-quality metrics, where the deployer reads it on approval.
            metrics["ModelDataQuality"] = {
                "Statistics": {"ContentType": "application/json",
                               "S3Uri": _output(RUN_CONTEXT, "BaselineStatisticsUri")},
                "Constraints": {"ContentType": "application/json",
                                "S3Uri": _output(RUN_CONTEXT, "BaselineConstraintsUri")}}
        arguments: Json = {
            "ModelPackageGroupName": group,
            "ModelPackageDescription": f"{self.model.name}: passed the quality gates of {self.plan.prefix}",
            "InferenceSpecification": {
                "Containers": [{"Image": self.ctx.inference_image, "ModelDataUrl": self.model_uri()}],
                "SupportedContentTypes": [content], "SupportedResponseMIMETypes": [content],
                "SupportedRealtimeInferenceInstanceTypes": [instance],
                "SupportedTransformInstanceTypes": [instance]},
            "ModelMetrics": metrics,
        }
        step: Json = {"Name": REGISTER, "Type": "RegisterModel",
                      "Description": "Registers the model version that passed every gate", "Arguments": arguments}
        if self.with_baseline:
            step["DependsOn"] = [BASELINE]  # its files are referenced by URI, not by a step property
        return step

    def _conditions(self) -> list[Json]:
        conditions: list[Json] = []
        for gate in self.gates:
            bar = self._parameter(gate.parameter, "Integer" if gate.parameter == "MaxLatencyP99Ms" else "Float",
                                  int(gate.threshold) if gate.parameter == "MaxLatencyP99Ms" else gate.threshold)
            kind = "GreaterThanOrEqualTo" if gate.direction == Direction.at_least else "LessThanOrEqualTo"
            conditions.append({"Type": kind, "LeftValue": _output(READ_EVALUATION, f"Value-{gate.parameter}"),
                               "RightValue": bar})
        if self.champion:
            bar = self._parameter("MinImprovement", "Float", self.model.quality_gates.min_improvement)
            conditions.append({"Type": "Or", "Conditions": [
                {"Type": "Equals", "LeftValue": _output(READ_EVALUATION, "ChampionExists"), "RightValue": False},
                {"Type": "GreaterThanOrEqualTo", "LeftValue": _output(READ_EVALUATION, "ChampionImprovement"),
                 "RightValue": bar},
            ]})
        return conditions

    def fail(self) -> Json:
        return {"Name": FAIL, "Type": "Fail", "Description": "Stops the run: the candidate is not registered",
                "Arguments": {"ErrorMessage": _output(READ_EVALUATION, "Message")}}

    def document(self) -> Json:
        ml = ml_instance_type
        self._parameter("InputDataUri", "String", f"s3://{self.ctx.data_bucket}/{self.model.name}/training/")
        self._parameter("CodeUri", "String", f"s3://{self.ctx.artifact_bucket}/{self.model.name}/code")
        self._parameter("TrainingInstanceType", "String", ml(self.training.instance))
        self._parameter("TrainingInstanceCount", "Integer", self.training.instance_count)
        self._parameter("ProcessingInstanceType", "String", ml("medium"))
        self._parameter("TriggeredBy", "String", "manual")
        group = self.ctx.model_package_group
        steps = [self.run_context(), self.preprocess()]
        if self.with_baseline:
            steps.append(self.baseline())
        steps += [self.tune(), self.best_model()] if self.training.search else [self.train()]
        steps.append(self.evaluate())
        conditions = self._conditions()  # declares the gate parameters before ReadEvaluation refers to them
        steps.append(self.read_evaluation())
        register = [self.register(group)] if group else []
        if conditions:
            steps.append({"Name": GATES, "Type": "Condition",
                          "Description": "Every quality, fairness, latency and champion gate must pass",
                          "Arguments": {"Conditions": conditions, "IfSteps": register, "ElseSteps": [self.fail()]}})
        else:
            steps += register
        return {"Version": VERSION, "Parameters": self.parameters, "Steps": steps}


def pipeline_definition(plan: Plan, model: ModelPlan, context: PipelineContext) -> Json:
    """The pipeline definition document of one model. Raises PlanError for settings AWS cannot honour."""
    return _Builder(plan, model, context).document()


def definition_json(plan: Plan, model: ModelPlan, context: PipelineContext) -> str:
    """The definition as the compact JSON string the Pipeline resource takes (deterministic)."""
    return json.dumps(pipeline_definition(plan, model, context), separators=(",", ":"))


def evaluation_spec_json(plan: Plan, model: ModelPlan, context: PipelineContext) -> str:
    """What the Evaluate step evaluates (`MLOPS_EVALUATION_SPEC`): metrics and their directions, fairness
    metrics with their protected attributes, whether to measure p99 latency, and the champion to compare with."""
    return json.dumps(_Builder(plan, model, context).evaluation_spec(), sort_keys=True)


_PLACEHOLDER = PipelineContext(role_arn="role", steps_function_arn="function", kms_key_arn="key",
                               data_bucket="data", artifact_bucket="artifacts",
                               training_image="image", inference_image="image", processing_image="image",
                               model_package_group="group")


def check(plan: Plan, model: ModelPlan) -> None:
    """Raise PlanError now (before any resource) for settings the definition cannot express."""
    pipeline_definition(plan, model, _PLACEHOLDER)


def tracked_steps(document: Json) -> list[str]:
    """The steps whose jobs get the MLflow tracking URI (processing steps that are not network-isolated;
    the published schema gives training and tuning steps no Environment)."""
    return [step["Name"] for step in _all_steps(document.get("Steps", []))
            if "MLFLOW_TRACKING_URI" in ((step.get("Arguments") or {}).get("Environment") or {})]


def _all_steps(steps: list[Json]) -> list[Json]:
    found: list[Json] = []
    for step in steps:
        found.append(step)
        arguments = step.get("Arguments") or {}
        found += _all_steps([*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])])
    return found


def logs_to_mlflow(plan: Plan, model: ModelPlan, has_registry: bool = True) -> bool:
    """Whether any job of the model's pipeline can log to the tracking server (its role then needs access)."""
    context = PipelineContext(**{**_PLACEHOLDER.__dict__, "tracking_server_arn": "server",
                                 "model_package_group": "group" if has_registry else None})
    return model.training is not None and bool(tracked_steps(pipeline_definition(plan, model, context)))
