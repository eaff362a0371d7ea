"""The Azure ML pipeline job of one model and the components it runs, as plain typed data (no pulumi import).

`components(plan, model, ctx)` returns the command component specs (the Azure ML component YAML
schema, registered as `ComponentVersion`s); `pipeline_job(plan, model, ctx)` returns the REST body
of the pipeline job (`properties` of a `Pipeline` job, as a `Schedule`'s `CreateJob` action takes it).
The component resolves ARM ids first and passes them in `JobContext` as plain strings, so this module
is a pure function of the plan; tests validate its output with the azure-ai-ml SDK.

The DAG (the same as on AWS):

    validate (the team's validate.py: checks the input data, writes train/validation/test splits)
      → train (the team's train.py) — or a sweep over train with the trial budget when search is on
      → evaluate (the team's evaluate.py: writes evaluation.json with metrics and champion comparison)
      → quality_gates (platform step: every gate must pass, else the run fails and lists each gate)
      → register (platform step: registers the MLflow model version in the workspace)

Blueprint text never reaches a command: Azure ML substitutes `${{inputs.X}}` verbatim and runs the
command in a shell, so the pipeline's literal inputs that carry it (hyperparameters, evaluation spec,
gates, model card) are base64url-encoded JSON (`components.payload`), which only holds [A-Za-z0-9_=-],
and the scripts decode them. The other literals are our own words (`triggered_by`, the model name).

The team's code (a contract, documented in the README) lives in the artifacts container under
`<model>/code/`; its environment is the image `<registry>.azurecr.io/<model>/training:<tag>` (the
stack's pinned tag, components.azure.images; with mlflow and azureml-mlflow). Metrics are logged with
MLflow; a sweep reads its objective from there.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

from components.base import short_hash
from components.payload import encode
from mlops.plan import ModelPlan, Plan, PlanError
from mlops.plan.model import TrainingPlan
from mlops.plan.vocabulary import Diagnostic, Direction, FairnessMetric, SearchStrategy

COMPONENT_SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json"

# Step (node) names: part of the contract (the studio and `az ml job` show them).
VALIDATE, TRAIN, EVALUATE, GATES, REGISTER = "validate", "train", "evaluate", "quality_gates", "register"
STEPS = (VALIDATE, TRAIN, EVALUATE, GATES, REGISTER)

# Fairness metrics: which side of the threshold passes (as on AWS).
FAIRNESS_DIRECTION: dict[FairnessMetric, Direction] = {
    FairnessMetric.demographic_parity_difference: Direction.at_most,
    FairnessMetric.equal_opportunity_difference: Direction.at_most,
    FairnessMetric.disparate_impact_ratio: Direction.at_least,
}


# --------------------------------------------------------------------------- typed shapes


class SearchDistribution(TypedDict):
    """One hyperparameter's distribution in a sweep node's `search_space`."""

    type: Literal["uniform", "quniform", "choice"]
    min_value: NotRequired[float]
    max_value: NotRequired[float]
    q: NotRequired[int]
    values: NotRequired[list[float]]


SEARCH_SPACES: dict[str, dict[str, SearchDistribution]] = {
    # LightGBM's usual tuning ranges (learning rate, tree size, feature and data sampling).
    "lightgbm": {
        "learning_rate": {"type": "uniform", "min_value": 0.01, "max_value": 0.3},
        "num_leaves": {"type": "quniform", "min_value": 16, "max_value": 256, "q": 16},
        "feature_fraction": {"type": "uniform", "min_value": 0.5, "max_value": 1.0},
        "min_data_in_leaf": {"type": "quniform", "min_value": 5, "max_value": 100, "q": 5},
    },
    # The same ranges the AWS back end tunes for XGBoost.
    "xgboost": {
        "eta": {"type": "uniform", "min_value": 0.01, "max_value": 0.3},
        "max_depth": {"type": "quniform", "min_value": 3, "max_value": 10, "q": 1},
        "subsample": {"type": "uniform", "min_value": 0.5, "max_value": 1.0},
        "colsample_bytree": {"type": "uniform", "min_value": 0.5, "max_value": 1.0},
        "min_child_weight": {"type": "uniform", "min_value": 1.0, "max_value": 10.0},
    },
}
"""Frameworks with a built-in search space; train.py takes each as `--<name> <value>`."""

GRID_SPACES: dict[str, dict[str, list[float]]] = {
    # Grid sampling takes only discrete choices: a few points of the same ranges.
    "lightgbm": {"learning_rate": [0.03, 0.1, 0.2], "num_leaves": [31, 63, 127],
                 "feature_fraction": [0.7, 0.9], "min_data_in_leaf": [20, 50]},
    "xgboost": {"eta": [0.03, 0.1, 0.2], "max_depth": [4, 6, 8], "subsample": [0.7, 0.9],
                "colsample_bytree": [0.7, 0.9], "min_child_weight": [1.0, 5.0]},
}

SAMPLING: dict[SearchStrategy, Literal["random", "grid", "bayesian"]] = {
    SearchStrategy.random: "random",
    SearchStrategy.grid: "grid",
    SearchStrategy.bayesian: "bayesian",
    # Azure ML has no Hyperband sampler: random sampling with Bandit early termination stops weak
    # trials the same way (documented fallback, mlops.clouds.azure.AZURE_FALLBACKS).
    SearchStrategy.hyperband: "random",
}

# Bandit early termination: stop a trial whose objective is more than 10 % behind the best, checked at
# every logged interval after the fifth (Azure ML does not combine early termination with Bayesian).
BANDIT_SLACK = 0.1
BANDIT_DELAY = 5


class ComponentInput(TypedDict):
    type: Literal["uri_folder", "mlflow_model", "string", "number"]
    description: NotRequired[str]
    optional: NotRequired[bool]


class ComponentOutput(TypedDict):
    type: Literal["uri_folder", "mlflow_model"]
    description: NotRequired[str]


ComponentSpec = TypedDict("ComponentSpec", {
    "$schema": str,
    "name": str,
    "version": str,
    "display_name": str,
    "description": str,
    "type": Literal["command"],
    "command": str,
    "code": NotRequired[str],
    "environment": str,
    "inputs": dict[str, ComponentInput],
    "outputs": dict[str, ComponentOutput],
    "is_deterministic": bool,
    "tags": dict[str, str],
})
"""A command component in Azure ML's component YAML schema (the body of `ComponentVersion.componentSpec`)."""


class NodeInput(TypedDict):
    job_input_type: Literal["literal"]
    value: str


class NodeOutput(TypedDict):
    job_output_type: Literal["uri_folder"]
    uri: str
    mode: Literal["ReadWriteMount"]


class CommandLimits(TypedDict):
    job_limits_type: Literal["Command"]
    timeout: str


class NodeResources(TypedDict):
    instance_count: int


class CommandNode(TypedDict):
    """A command step of a pipeline job (Azure ML's node format: its keys are snake_case on the wire)."""

    type: Literal["command"]
    name: str
    componentId: str
    computeId: NotRequired[str]
    inputs: dict[str, NodeInput]
    outputs: NotRequired[dict[str, NodeOutput]]
    limits: NotRequired[CommandLimits]
    resources: NotRequired[NodeResources]


class TrialComponent(TypedDict):
    componentId: str


class Objective(TypedDict):
    goal: Literal["maximize", "minimize"]
    primary_metric: str


class SweepLimits(TypedDict):
    max_total_trials: int
    max_concurrent_trials: int
    timeout: int
    trial_timeout: int


class BanditPolicy(TypedDict):
    policy_type: Literal["Bandit"]
    slack_factor: float
    evaluation_interval: int
    delay_evaluation: int


class SweepNode(TypedDict):
    """A sweep step: trials of the train component over the search space, within the budget."""

    type: Literal["sweep"]
    name: str
    trial: TrialComponent
    computeId: str
    inputs: dict[str, NodeInput]
    outputs: NotRequired[dict[str, NodeOutput]]
    sampling_algorithm: Literal["random", "grid", "bayesian"]
    search_space: dict[str, SearchDistribution]
    objective: Objective
    limits: SweepLimits
    early_termination: NotRequired[BanditPolicy]


class PipelineSettings(TypedDict):
    default_datastore: str
    default_compute: str
    continue_on_step_failure: bool
    force_rerun: bool


class UriFolderInput(TypedDict):
    jobInputType: Literal["uri_folder"]
    uri: str
    mode: Literal["ReadOnlyMount"]


class LiteralInput(TypedDict):
    jobInputType: Literal["literal"]
    value: str


class ManagedIdentity(TypedDict):
    identityType: Literal["Managed"]
    resourceId: str


class PipelineJobBody(TypedDict):
    """The REST `properties` of a pipeline job (outer keys camelCase; nodes in Azure ML's own node format)."""

    jobType: Literal["Pipeline"]
    displayName: str
    description: str
    experimentName: str
    computeId: str
    identity: ManagedIdentity
    inputs: dict[str, UriFolderInput | LiteralInput]
    jobs: dict[str, CommandNode | SweepNode]
    settings: PipelineSettings
    tags: dict[str, str]


@dataclass(frozen=True)
class JobContext:
    """Resolved values the job refers to (plain strings: the component resolves the Outputs)."""

    workspace_id: str
    """ARM id of the Azure ML workspace."""
    compute: str
    """Name of the model's training cluster."""
    identity_id: str
    """ARM id of the user-assigned identity the jobs run as."""
    code_id: str
    """ARM id of the code version holding the team's scripts."""
    environment_id: str
    """ARM id of the environment version (the training image)."""
    data_datastore: str
    artifacts_datastore: str
    registry: str | None
    """Azure ML registry holding approved (champion) versions; None where the plan builds none."""


# --------------------------------------------------------------------------- helpers


def component_name(model: str, step: str) -> str:
    """`<model>_<step>`: component names take lower-case letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", f"{model}_{step}".lower())


def _iso_hours(hours: float) -> str:
    """An ISO 8601 duration as Azure ML writes it (`PT2H`, `PT1H30M`)."""
    minutes, seconds = divmod(round(hours * 3600), 60)
    whole_hours, minutes = divmod(minutes, 60)
    parts = [f"{v}{unit}" for v, unit in ((whole_hours, "H"), (minutes, "M"), (seconds, "S")) if v]
    return "PT" + ("".join(parts) or "0S")


def _seconds(hours: float) -> int:
    return round(hours * 3600)


TRIGGERS = ("schedule", "drift", "performance", "manual")
"""Who may start a run: the only values the `trigger` input (plain, unencoded, in commands) takes."""
_MLFLOW_METRIC = re.compile(r"^[\w./ -]+$")
"""MLflow metric names: letters, digits, `_ - . /` and spaces (mlflow.utils.validation)."""


def _literal(value: str) -> NodeInput:
    return {"job_input_type": "literal", "value": value}


def _bind(expression: str) -> NodeInput:
    return _literal("${{" + expression + "}}")


def _script(module: str) -> str:
    """A platform step script, embedded in its component's command (no code upload needed)."""
    source = (Path(__file__).parent / "steps" / module).read_text()
    if "${{" in source:
        raise ValueError(f"{module} must not contain '${{{{': Azure ML would substitute it")
    return source


def _inline(module: str, arguments: str) -> str:
    return f"python -c {shlex.quote(_script(module))} {arguments}"


def version_of(spec: ComponentSpec) -> str:
    """A component version derived from its content: a changed spec registers a new version."""
    body = {k: v for k, v in spec.items() if k != "version"}
    return short_hash(json.dumps(body, sort_keys=True), length=10)


# --------------------------------------------------------------------------- the builder


class _Builder:
    def __init__(self, plan: Plan, model: ModelPlan, ctx: JobContext) -> None:
        if model.training is None:
            raise ValueError(f"model {model.name} has no training plan (training_pipeline is off)")
        self.plan, self.model, self.ctx = plan, model, ctx
        self.training: TrainingPlan = model.training
        self.index = plan.models.index(model)
        self.champion = model.quality_gates.compare_to_champion and ctx.registry is not None

    # ----------------------------------------------------------------- search

    def _search_error(self, key: str, message: str, got: str, allowed: str) -> PlanError:
        return PlanError([Diagnostic(("models", self.index, "training", "hyperparameter_search", key), message,
                                     got=got, allowed=allowed)])

    def search_space(self) -> dict[str, SearchDistribution]:
        search = self.training.search
        assert search is not None
        if not _MLFLOW_METRIC.match(search.objective_metric):
            # The sweep reads the objective from MLflow by this name, verbatim: it must be one MLflow can log.
            raise self._search_error("objective_metric", "not a metric name MLflow can log",
                                     repr(search.objective_metric), "letters, digits, _ - . / and spaces")
        framework = self.model.framework
        if framework not in SEARCH_SPACES:
            raise self._search_error("objective_metric", f"no built-in search space for {framework} on Azure: "
                                     "its hyperparameters are defined by the training script",
                                     framework, ", ".join(sorted(SEARCH_SPACES)))
        pinned = set(self.training.hyperparameters)
        space: dict[str, SearchDistribution]
        if search.strategy == SearchStrategy.grid:
            space = {k: {"type": "choice", "values": v} for k, v in GRID_SPACES[framework].items()}
        else:
            space = dict(SEARCH_SPACES[framework])
        space = {k: v for k, v in space.items() if k not in pinned}
        if not space:
            raise self._search_error("strategy", "every searchable hyperparameter is pinned in "
                                     "training.hyperparameters: nothing left to search",
                                     ", ".join(sorted(pinned)), ", ".join(sorted(SEARCH_SPACES[framework])))
        return space

    # ----------------------------------------------------------------- components

    def _component(self, step: str, description: str, command: str, inputs: dict[str, ComponentInput],
                   outputs: dict[str, ComponentOutput], *, team_code: bool) -> ComponentSpec:
        spec: ComponentSpec = {
            "$schema": COMPONENT_SCHEMA,
            "name": component_name(self.model.name, step),
            "version": "",
            "display_name": f"{self.model.name}: {step.replace('_', ' ')}",
            "description": description,
            "type": "command",
            "command": command,
            # Component specs refer to registered assets as `azureml:<ARM id>`.
            "environment": f"azureml:{self.ctx.environment_id}",
            "inputs": inputs,
            "outputs": outputs,
            # Scheduled runs read the same data paths with new data: never reuse an earlier step's output.
            "is_deterministic": False,
            "tags": {"model": self.model.name, "platform": self.plan.prefix},
        }
        if team_code:
            spec["code"] = f"azureml:{self.ctx.code_id}"
        spec["version"] = version_of(spec)
        return spec

    def components(self) -> dict[str, ComponentSpec]:
        folder: ComponentInput = {"type": "uri_folder"}
        string: ComponentInput = {"type": "string"}
        out: ComponentOutput = {"type": "uri_folder"}
        validate = self._component(
            VALIDATE, "Validates the input data and splits it into train, validation and test sets",
            "python validate.py --data ${{inputs.data}} --triggered-by ${{inputs.triggered_by}} "
            "--train ${{outputs.train}} --validation ${{outputs.validation}} --test ${{outputs.test}}",
            {"data": folder, "triggered_by": string}, {"train": out, "validation": out, "test": out}, team_code=True)

        train_inputs: dict[str, ComponentInput] = {"train": folder, "validation": folder, "hyperparameters": string}
        arguments = ["--train ${{inputs.train}}", "--validation ${{inputs.validation}}",
                     "--hyperparameters ${{inputs.hyperparameters}}"]
        if self.training.search is not None:
            for key in self.search_space():
                train_inputs[key] = {"type": "number", "optional": True}
                arguments.append(f"$[[--{key} ${{{{inputs.{key}}}}}]]")
        train_outputs: dict[str, ComponentOutput] = {"model": {"type": "mlflow_model"}}
        arguments.append("--model ${{outputs.model}}")
        if self.training.checkpointing:
            train_outputs["checkpoints"] = out
            arguments.append("--checkpoints ${{outputs.checkpoints}}")
        train = self._component(TRAIN, "Trains the model on the train split (metrics logged with MLflow)",
                                "python train.py " + " ".join(arguments), train_inputs, train_outputs, team_code=True)

        evaluate = self._component(
            EVALUATE, "Evaluates the candidate on the test split (quality, fairness, latency, champion)",
            "python evaluate.py --model ${{inputs.model}} --test ${{inputs.test}} --spec ${{inputs.spec}} "
            "--evaluation ${{outputs.evaluation}}",
            {"model": {"type": "mlflow_model"}, "test": folder, "spec": string}, {"evaluation": out}, team_code=True)
        gates = self._component(
            GATES, "Every quality, fairness, latency and champion gate must pass, or the run fails",
            _inline("quality_gate.py", "--evaluation ${{inputs.evaluation}} --gates ${{inputs.gates}} "
                                       "--verdict ${{outputs.verdict}}"),
            {"evaluation": folder, "gates": string}, {"verdict": out}, team_code=False)
        register = self._component(
            REGISTER, "Registers the candidate that passed every gate as a workspace model version",
            _inline("register_model.py", "--model ${{inputs.model}} --verdict ${{inputs.verdict}} "
                                         "--name ${{inputs.model_name}} --triggered-by ${{inputs.triggered_by}} "
                                         "$[[--model-card ${{inputs.model_card}}]]"),
            {"model": {"type": "mlflow_model"}, "verdict": folder, "model_name": string, "triggered_by": string,
             "model_card": {"type": "string", "optional": True}}, {}, team_code=False)
        return {VALIDATE: validate, TRAIN: train, EVALUATE: evaluate, GATES: gates, REGISTER: register}

    # ----------------------------------------------------------------- gates and evaluation spec

    def gates(self) -> dict[str, object]:
        q = self.model.quality_gates
        gates: list[dict[str, object]] = [
            {"label": m.metric, "path": f"metrics.{m.metric}.value", "direction": m.direction.value,
             "threshold": m.threshold} for m in q.metrics]
        gates += [{"label": f.metric.value, "path": f"fairness.{f.metric.value}.value",
                   "direction": FAIRNESS_DIRECTION[f.metric].value, "threshold": f.threshold} for f in q.fairness]
        if q.max_latency_p99_ms is not None:
            gates.append({"label": "p99 latency (ms)", "path": "latency.p99_ms.value", "direction": "at_most",
                          "threshold": q.max_latency_p99_ms})
        body: dict[str, object] = {"model": self.model.name, "gates": gates}
        if self.champion:
            body["champion"] = {"min_improvement": q.min_improvement}
        return body

    def evaluation_spec(self) -> dict[str, object]:
        q = self.model.quality_gates
        champion = None
        if self.champion and q.metrics:
            champion = {"registry": self.ctx.registry, "model": self.model.name, "metric": q.metrics[0].metric,
                        "direction": q.metrics[0].direction.value}
        return {"metrics": {m.metric: m.direction.value for m in q.metrics},
                "fairness": {f.metric.value: f.protected_attributes for f in q.fairness},
                "latency_p99": q.max_latency_p99_ms is not None, "champion": champion}

    def model_card(self) -> dict[str, object] | None:
        """A draft model card the approver completes, where governance requires one."""
        if not self.plan.governance.model_card_required:
            return None
        return {"model": self.model.name, "framework": self.model.framework, "intended_use": self.plan.use_case,
                "risk_tier": self.plan.governance.risk_tier.value, "status": "draft"}

    # ----------------------------------------------------------------- nodes

    def _component_id(self, spec: ComponentSpec) -> str:
        return f"{self.ctx.workspace_id}/components/{spec['name']}/versions/{spec['version']}"

    def _compute_id(self) -> str:
        return f"{self.ctx.workspace_id}/computes/{self.ctx.compute}"

    def _checkpoints(self) -> NodeOutput:
        # A fixed path: a low-priority node that is preempted restarts the job, which resumes from here.
        return {"job_output_type": "uri_folder", "mode": "ReadWriteMount",
                "uri": f"azureml://datastores/{self.ctx.artifacts_datastore}/paths/{self.model.name}/checkpoints/"}

    def train_node(self, spec: ComponentSpec) -> CommandNode | SweepNode:
        t = self.training
        inputs = {"train": _bind(f"parent.jobs.{VALIDATE}.outputs.train"),
                  "validation": _bind(f"parent.jobs.{VALIDATE}.outputs.validation"),
                  "hyperparameters": _bind("parent.inputs.hyperparameters")}
        outputs = {"checkpoints": self._checkpoints()} if t.checkpointing else None
        search = t.search
        if search is None:
            node: CommandNode = {"type": "command", "name": TRAIN, "componentId": self._component_id(spec),
                                 "computeId": self._compute_id(), "inputs": inputs,
                                 "limits": {"job_limits_type": "Command", "timeout": _iso_hours(t.max_runtime_hours)}}
            if t.instance_count > 1:
                node["resources"] = {"instance_count": t.instance_count}
            if outputs:
                node["outputs"] = outputs
            return node
        total = search.max_trials
        parallel = min(search.max_parallel_trials, total)
        trial_timeout = _seconds(t.max_runtime_hours)
        sweep: SweepNode = {
            "type": "sweep", "name": TRAIN, "trial": {"componentId": self._component_id(spec)},
            "computeId": self._compute_id(), "inputs": inputs,
            "sampling_algorithm": SAMPLING[search.strategy],
            "search_space": self.search_space(),
            "objective": {"goal": "maximize" if search.direction == Direction.at_least else "minimize",
                          "primary_metric": search.objective_metric},
            # The whole sweep may take as long as its trials in waves of `parallel`.
            "limits": {"max_total_trials": total, "max_concurrent_trials": parallel,
                       "timeout": trial_timeout * math.ceil(total / parallel), "trial_timeout": trial_timeout},
        }
        if SAMPLING[search.strategy] != "bayesian":
            sweep["early_termination"] = {"policy_type": "Bandit", "slack_factor": BANDIT_SLACK,
                                          "evaluation_interval": 1, "delay_evaluation": BANDIT_DELAY}
        if outputs:
            sweep["outputs"] = outputs
        return sweep

    def jobs(self, specs: dict[str, ComponentSpec]) -> dict[str, CommandNode | SweepNode]:
        def command(step: str, inputs: dict[str, NodeInput]) -> CommandNode:
            return {"type": "command", "name": step, "componentId": self._component_id(specs[step]),
                    "inputs": inputs}

        register = {"model": _bind(f"parent.jobs.{TRAIN}.outputs.model"),
                    "verdict": _bind(f"parent.jobs.{GATES}.outputs.verdict"),
                    "model_name": _literal(self.model.name), "triggered_by": _bind("parent.inputs.trigger")}
        if self.plan.governance.model_card_required:
            register["model_card"] = _bind("parent.inputs.card")
        return {
            VALIDATE: command(VALIDATE, {"data": _bind("parent.inputs.data"),
                                         "triggered_by": _bind("parent.inputs.trigger")}),
            TRAIN: self.train_node(specs[TRAIN]),
            EVALUATE: command(EVALUATE, {"model": _bind(f"parent.jobs.{TRAIN}.outputs.model"),
                                         "test": _bind(f"parent.jobs.{VALIDATE}.outputs.test"),
                                         "spec": _bind("parent.inputs.evaluation")}),
            GATES: command(GATES, {"evaluation": _bind(f"parent.jobs.{EVALUATE}.outputs.evaluation"),
                                   "gates": _bind("parent.inputs.gates")}),
            REGISTER: command(REGISTER, register),
        }

    def body(self, specs: dict[str, ComponentSpec], triggered_by: str) -> PipelineJobBody:
        def literal(value: str) -> LiteralInput:
            return {"jobInputType": "literal", "value": value}

        if triggered_by not in TRIGGERS:
            # It is substituted into commands as it is: only our own words may be.
            raise ValueError(f"triggered_by must be one of {', '.join(TRIGGERS)} (got {triggered_by!r})")
        inputs: dict[str, UriFolderInput | LiteralInput] = {
            "data": {"jobInputType": "uri_folder", "mode": "ReadOnlyMount",
                     "uri": f"azureml://datastores/{self.ctx.data_datastore}/paths/{self.model.name}/training/"},
            "trigger": literal(triggered_by),
            "hyperparameters": literal(encode(dict(self.training.hyperparameters))),
            "evaluation": literal(encode(self.evaluation_spec())),
            "gates": literal(encode(self.gates())),
        }
        card = self.model_card()
        if card is not None:
            inputs["card"] = literal(encode(card))
        return {
            "jobType": "Pipeline",
            "displayName": f"{self.model.name} training",
            "description": f"{self.model.name}: validate, train, evaluate, gate and register ({self.plan.prefix})",
            "experimentName": self.model.name,
            "computeId": self._compute_id(),
            "identity": {"identityType": "Managed", "resourceId": self.ctx.identity_id},
            "inputs": inputs,
            "jobs": self.jobs(specs),
            "settings": {"default_datastore": self.ctx.artifacts_datastore, "default_compute": self._compute_id(),
                         "continue_on_step_failure": False, "force_rerun": True},
            "tags": {**self.plan.tags, "model": self.model.name},
        }


def components(plan: Plan, model: ModelPlan, ctx: JobContext) -> dict[str, ComponentSpec]:
    """The command components of one model's pipeline, by step. Raises PlanError for what Azure cannot do."""
    return _Builder(plan, model, ctx).components()


def pipeline_job(plan: Plan, model: ModelPlan, ctx: JobContext, *, triggered_by: str = "schedule") -> PipelineJobBody:
    """The pipeline job body of one model (what a schedule's CreateJob action submits)."""
    builder = _Builder(plan, model, ctx)
    return builder.body(builder.components(), triggered_by)


def check(plan: Plan, model: ModelPlan) -> None:
    """Raise PlanError now (before any resource) for settings the job cannot express."""
    placeholder = JobContext(workspace_id="ws", compute="compute", identity_id="identity", code_id="code",
                             environment_id="environment", data_datastore="data", artifacts_datastore="artifacts",
                             registry="registry")
    pipeline_job(plan, model, placeholder)
