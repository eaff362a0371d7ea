"""The SageMaker pipeline definition builder (pure): schema, DAG, gates, approval, tuning, spot, isolation."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from components.aws import pipeline_definition as pd
from components.aws.cron import ScheduleError, eventbridge_cron
from components.aws.images import BUILT_IN_ALGORITHMS
from components.aws.instances import ML_INSTANCE_TYPES, is_gpu, ml_instance_type
from components.aws.lambdas import pipeline_steps
from mlops.blueprint import load_blueprint
from mlops.blueprint.model import Blueprint, InstanceSize, SearchStrategy
from mlops.clouds.aws import AWS_SEARCH_STRATEGIES, AWS_TUNABLE_FRAMEWORKS, eventbridge_cron_problem
from mlops.plan import Plan, PlanError, plan
from mlops.plan.schedule import Schedule

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "reference" / "sagemaker-pipeline-definition.schema.json"
AWS_EXAMPLES = sorted(p for p in (ROOT / "blueprints").glob("*.yaml")
                      if load_blueprint(p).blueprint.cloud.provider.value == "aws")
CONTEXT = pd.PipelineContext(
    role_arn="arn:aws:iam::333333333333:role/pipeline",
    steps_function_arn="arn:aws:lambda:us-east-1:333333333333:function:steps",
    kms_key_arn="arn:aws:kms:us-east-1:333333333333:key/k",
    data_bucket="data", artifact_bucket="artifacts", training_image="img-train", inference_image="img-serve",
    processing_image="img-proc", model_package_group="group")
IN_VPC = pd.PipelineContext(**{**CONTEXT.__dict__, "network": pd.Network(("subnet-1", "subnet-2"), ("sg-1",))})

needs_schema = pytest.mark.skipif(not SCHEMA.exists(), reason=f"official schema not found at {SCHEMA}")


# --------------------------------------------------------------------------- the official schema

def official_schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text())


def errors(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft7Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)]


# --------------------------------------------------------------------------- blueprint variants

def _blueprint(path: Path) -> Blueprint:
    return load_blueprint(path).blueprint


def _variant(bp: Blueprint, **training: Any) -> Blueprint:
    """The blueprint with every model's training/quality settings changed (for table-driven cases)."""
    data = bp.model_dump(mode="json", exclude_unset=True)
    gates = training.pop("quality_gates", None)
    for model in data["models"]:
        model.setdefault("training", {}).update(training)
        if gates is not None:
            model["quality_gates"] = gates
    return Blueprint.model_validate(data)


def _definitions(bp: Blueprint, context: pd.PipelineContext = CONTEXT) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for env in bp.environments:
        p = plan(bp, env)
        found += [(f"{env}/{m.name}", pd.pipeline_definition(p, m, context)) for m in p.models if m.training]
    return found


CASES = {
    "as-written": {},
    "no-tuning-no-spot": {"hyperparameter_search": None, "spot": False, "checkpointing": False},
    "tuning-random-spot": {"hyperparameter_search": {"objective_metric": "auc", "strategy": "random"},
                           "spot": True, "checkpointing": True},
    "tuning-no-spot": {"hyperparameter_search": {"objective_metric": "auc", "max_trials": 8}, "spot": False,
                       "checkpointing": False},
    "no-gates": {"quality_gates": {"metrics": [], "compare_to_champion": False}},
}


@needs_schema
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("path", AWS_EXAMPLES, ids=[p.stem for p in AWS_EXAMPLES])
@pytest.mark.parametrize("context", [CONTEXT, IN_VPC], ids=["no-vpc", "vpc"])
def test_every_definition_validates_against_the_official_schema(path: Path, case: str,
                                                                 context: pd.PipelineContext) -> None:
    """The published schema as it is: no extension, nothing stripped before validating."""
    bp = _variant(_blueprint(path), **copy.deepcopy(CASES[case]))
    definitions = _definitions(bp, context)
    assert definitions
    schema = official_schema()
    for where, document in definitions:
        assert errors(schema, document) == [], where


@needs_schema
def test_the_schema_check_can_fail() -> None:
    """What the SageMaker SDK also emits but the published schema refuses is refused here too."""
    bp = _blueprint(ROOT / "blueprints/fraud-detection-aws.yaml")
    [(_, document)] = [d for d in _definitions(bp) if d[0].startswith("prod/")]
    register = _steps(document)["Register"]["Arguments"]
    for extra in ({"ModelApprovalStatus": "Approved"},
                  {"ModelPackageDescription": {"Std:Join": {"On": "/", "Values": ["a", "b"]}}}):
        broken = copy.deepcopy(document)
        _steps(broken)["Register"]["Arguments"].update(extra)
        assert errors(official_schema(), broken), extra
    assert register  # the unbroken document passes (test above)


def _parameters(document: dict[str, Any]) -> dict[str, Any]:
    return {p["Name"]: p["DefaultValue"] for p in document["Parameters"]}


def _resolved(arguments: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """A Lambda step's arguments as SageMaker sends them: parameter defaults, an execution id, and
    step properties as placeholder strings."""
    def value(v: Any) -> Any:
        if isinstance(v, dict) and set(v) == {"Get"}:
            kind, _, rest = v["Get"].partition(".")
            if kind == "Parameters":
                return parameters[rest]
            return "exec-1" if kind == "Execution" else f"s3://artifacts/{rest}"
        return v
    return {k: value(v) for k, v in arguments.items()}


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            return [value["Get"]]
        return [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_reference_names_an_earlier_step_output_or_a_parameter(case: str) -> None:
    """`Get` paths are the DAG's edges: each names a declared parameter, the execution, or a step that
    runs before (Lambda steps: an output parameter they declare)."""
    bp = _variant(_blueprint(ROOT / "blueprints/fraud-detection-aws.yaml"), **copy.deepcopy(CASES[case]))
    for where, document in _definitions(bp, IN_VPC):
        parameters = {p["Name"] for p in document["Parameters"]}
        seen: dict[str, dict[str, Any]] = {}
        order = list(_steps(document).values())
        for step in order:
            for reference in _references(step):
                kind, _, rest = reference.partition(".")
                if kind == "Parameters":
                    assert rest in parameters, (where, step["Name"], reference)
                elif kind == "Execution":
                    assert rest == "PipelineExecutionId", (where, reference)
                else:
                    source, _, path = rest.partition(".")
                    assert source in seen, (where, step["Name"], reference)
                    if seen[source]["Type"] == "Lambda":
                        declared = {o["OutputName"] for o in seen[source]["OutputParameters"]}
                        assert path.startswith("OutputParameters['") and path[18:-2] in declared, (where, reference)
            seen[step["Name"]] = step


# --------------------------------------------------------------------------- the DAG and its settings

def _plan(env: str = "prod", path: str = "blueprints/fraud-detection-aws.yaml", **training: Any) -> Plan:
    bp = _blueprint(ROOT / path)
    return plan(_variant(bp, **training) if training else bp, env)


def _steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for step in document["Steps"]:
        found[step["Name"]] = step
        for nested in [*step["Arguments"].get("IfSteps", []), *step["Arguments"].get("ElseSteps", [])]:
            found[nested["Name"]] = nested
    return found


def _definition(p: Plan, index: int = 0, context: pd.PipelineContext = IN_VPC) -> dict[str, Any]:
    return pd.pipeline_definition(p, p.models[index], context)


def test_dag_with_tuning() -> None:
    steps = _steps(_definition(_plan()))
    assert list(steps) == ["RunContext", "Preprocess", "Baseline", "Tune", "BestModel", "Evaluate",
                           "ReadEvaluation", "QualityGates", "Register", "GatesFailed"]
    assert steps["BestModel"]["Arguments"]["TrainingJobName"] == {
        "Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"}
    register = steps["Register"]["Arguments"]
    assert register["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == {
        "Get": "Steps.BestModel.OutputParameters['ModelUri']"}
    assert {s["FunctionArn"] for s in steps.values() if s["Type"] == "Lambda"} == {CONTEXT.steps_function_arn}


def test_dag_without_tuning_reads_the_training_job() -> None:
    steps = _steps(_definition(_plan(hyperparameter_search=None)))
    assert list(steps)[:5] == ["RunContext", "Preprocess", "Baseline", "Train", "Evaluate"]
    assert "BestModel" not in steps
    register = steps["Register"]["Arguments"]
    assert register["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == {
        "Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}


def test_each_run_writes_under_its_execution_id() -> None:
    steps = _steps(_definition(_plan(hyperparameter_search=None, spot=True, checkpointing=True)))
    context = steps["RunContext"]["Arguments"]
    assert context["ExecutionId"] == {"Get": "Execution.PipelineExecutionId"}
    assert context["RunsUri"] == "s3://artifacts/fraud-scorer/runs"
    outputs = steps["Preprocess"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert [o["S3Output"]["S3Uri"] for o in outputs] == [
        {"Get": f"Steps.RunContext.OutputParameters['{n}Uri']"} for n in ("Train", "Validation", "Test")]
    assert steps["Train"]["Arguments"]["CheckpointConfig"]["S3Uri"] == {
        "Get": "Steps.RunContext.OutputParameters['CheckpointUri']"}


def test_tuning_budget_and_objective() -> None:
    tune = _steps(_definition(_plan()))["Tune"]["Arguments"]
    config = tune["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 40, "MaxParallelTrainingJobs": 4}
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "validation:auc"}
    job = tune["TrainingJobDefinition"]
    assert job["StaticHyperParameters"]["eval_metric"] == "auc"
    assert {r["Name"] for r in job["HyperParameterRanges"]["ContinuousParameterRanges"]} >= {"eta", "subsample"}


def test_pinned_hyperparameters_are_not_tuned() -> None:
    p = _plan(hyperparameters={"eta": 0.1, "max_depth": 6})
    job = _steps(_definition(p))["Tune"]["Arguments"]["TrainingJobDefinition"]
    assert job["StaticHyperParameters"]["eta"] == "0.1"
    names = {r["Name"] for ranges in job["HyperParameterRanges"].values() for r in ranges}
    assert "eta" not in names and "max_depth" not in names


@pytest.mark.parametrize(("spot", "checkpointing", "stopping", "checkpoint"), [
    (True, True, {"MaxRuntimeInSeconds": 14400, "MaxWaitTimeInSeconds": 28800}, True),
    (False, False, {"MaxRuntimeInSeconds": 14400}, False),
])
def test_spot_stopping_condition_and_checkpoints(spot: bool, checkpointing: bool, stopping: dict[str, int],
                                                 checkpoint: bool) -> None:
    p = _plan(hyperparameter_search=None, spot=spot, checkpointing=checkpointing)
    train = _steps(_definition(p))["Train"]
    assert train["Arguments"]["EnableManagedSpotTraining"] is spot
    assert train["Arguments"]["StoppingCondition"] == stopping
    assert ("CheckpointConfig" in train["Arguments"]) is checkpoint
    assert ("SageMaker.CAPACITY_ERROR" in json.dumps(train["RetryPolicies"])) is spot


@pytest.mark.parametrize(("env", "isolated"), [("dev", False), ("staging", True), ("prod", True)])
def test_encryption_and_isolation(env: str, isolated: bool) -> None:
    context = CONTEXT if env == "dev" else IN_VPC
    steps = _steps(_definition(_plan(env), context=context))
    job = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    assert job["OutputDataConfig"]["KmsKeyId"] == CONTEXT.kms_key_arn
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == CONTEXT.kms_key_arn
    assert job["EnableInterContainerTrafficEncryption"] is True
    assert job["EnableNetworkIsolation"] is isolated
    assert ("VpcConfig" in job) is isolated
    for name in ("Preprocess", "Evaluate"):
        arguments = steps[name]["Arguments"]
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == CONTEXT.kms_key_arn
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == CONTEXT.kms_key_arn
        assert arguments["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    # Evaluation looks the champion up in the registry: it keeps the VPC instead of full isolation.
    assert steps["Preprocess"]["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] is isolated
    assert steps["Evaluate"]["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] is False


def test_every_gate_is_a_condition_with_its_direction() -> None:
    document = _definition(_plan())
    gates = _steps(document)["QualityGates"]["Arguments"]["Conditions"]
    simple = {(c["Type"], c["LeftValue"]["Get"], c["RightValue"]["Get"]) for c in gates[:-1]}
    value = "Steps.ReadEvaluation.OutputParameters['Value-{}']".format
    assert simple == {
        ("GreaterThanOrEqualTo", value("Min-auc"), "Parameters.Min-auc"),
        ("LessThanOrEqualTo", value("Max-false_positive_rate"), "Parameters.Max-false_positive_rate"),
        ("GreaterThanOrEqualTo", value("Fairness-disparate_impact_ratio"),
         "Parameters.Fairness-disparate_impact_ratio"),
        ("LessThanOrEqualTo", value("MaxLatencyP99Ms"), "Parameters.MaxLatencyP99Ms"),
    }
    read = _steps(document)["ReadEvaluation"]["Arguments"]
    assert {g["Parameter"]: g["Path"] for g in json.loads(read["Gates"])} == {
        "Min-auc": ["metrics", "auc", "value"],
        "Max-false_positive_rate": ["metrics", "false_positive_rate", "value"],
        "Fairness-disparate_impact_ratio": ["fairness", "disparate_impact_ratio", "value"],
        "MaxLatencyP99Ms": ["latency", "p99_ms", "value"]}
    assert read["Bar-Min-auc"] == {"Get": "Parameters.Min-auc"}
    champion = gates[-1]
    assert champion["Type"] == "Or"
    assert champion["Conditions"][1]["RightValue"] == {"Get": "Parameters.MinImprovement"}
    defaults = {p["Name"]: p["DefaultValue"] for p in document["Parameters"]}
    assert defaults["Min-auc"] == 0.92 and defaults["Max-false_positive_rate"] == 0.02
    assert defaults["MaxLatencyP99Ms"] == 50 and defaults["MinImprovement"] == 0.0


def test_fail_message_names_every_gate() -> None:
    steps = _steps(_definition(_plan()))
    assert steps["GatesFailed"]["Arguments"]["ErrorMessage"] == {
        "Get": "Steps.ReadEvaluation.OutputParameters['Message']"}
    report = {"metrics": {"auc": {"value": 0.9}, "false_positive_rate": {"value": 0.01}},
              "fairness": {"disparate_impact_ratio": {"value": 0.85}}, "latency": {"p99_ms": {"value": 42}},
              "champion": {"exists": True, "improvement": 0.001}}
    event = _resolved(steps["ReadEvaluation"]["Arguments"], _parameters(_definition(_plan())))
    outputs = pipeline_steps.evaluate_gates(report, event)
    for gate in ("auc = 0.9 (needs >= 0.92) FAILED", "false_positive_rate = 0.01 (needs <= 0.02)",
                 "disparate_impact_ratio =", "p99 latency (ms) = 42", "improvement over the champion on auc ="):
        assert gate in outputs["Message"]
    assert outputs["Passed"] is False and outputs["Value-Min-auc"] == 0.9


def test_no_champion_comparison_without_registry() -> None:
    context = pd.PipelineContext(**{**CONTEXT.__dict__, "model_package_group": None})
    steps = _steps(_definition(_plan(), context=context))
    assert "Register" not in steps
    assert all(c["Type"] != "Or" for c in steps["QualityGates"]["Arguments"]["Conditions"])


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_versions_register_without_an_approval_status(env: str) -> None:
    """SageMaker registers them PendingManualApproval; approvers (or the deployer where no approval is
    required) approve them, never the pipeline."""
    document = _definition(_plan(env))
    register = _steps(document)["Register"]["Arguments"]
    assert "ModelApprovalStatus" not in register
    assert "ModelApprovalStatus" not in {p["Name"] for p in document["Parameters"]}
    assert register["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == {
        "Get": "Steps.ReadEvaluation.OutputParameters['ReportUri']"}
    assert "Bias" in register["ModelMetrics"]


def test_script_frameworks_get_a_code_channel_and_metric_definitions() -> None:
    bp = _blueprint(ROOT / "blueprints/readmission-risk-aws.yaml")
    data = bp.model_dump(mode="json", exclude_unset=True)
    data["models"][1]["framework"] = "sklearn"
    p = plan(Blueprint.model_validate(data), "prod")
    train = _steps(pd.pipeline_definition(p, p.models[1], CONTEXT))["Train"]["Arguments"]
    assert [c["ChannelName"] for c in train["InputDataConfig"]] == ["train", "validation", "code"]
    assert train["HyperParameters"]["sagemaker_program"] == '"train.py"'
    assert train["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "mae_days", "Regex": "mae_days=([-+0-9.eE]+)"}]


def test_instance_sizes_map_through_one_table() -> None:
    assert ml_instance_type(InstanceSize.large) == "ml.m5.2xlarge"
    assert ml_instance_type("gpu_small") == "ml.g5.xlarge" and is_gpu("ml.g5.xlarge")
    assert ml_instance_type("ml.c5.9xlarge") == "ml.c5.9xlarge"
    assert set(ML_INSTANCE_TYPES) == set(InstanceSize)
    with pytest.raises(ValueError, match="not a SageMaker instance type"):
        ml_instance_type("n1-standard-8")
    p = _plan("dev")
    parameters = {x["Name"]: x["DefaultValue"] for x in _definition(p, context=CONTEXT)["Parameters"]}
    assert parameters["TrainingInstanceType"] == "ml.m5.2xlarge"


# --------------------------------------------------------------------------- what AWS cannot honour

def test_tables_agree_with_the_plan_checks() -> None:
    assert set(AWS_SEARCH_STRATEGIES) == {s.value for s in pd.STRATEGIES}
    assert set(AWS_TUNABLE_FRAMEWORKS) == set(BUILT_IN_ALGORITHMS)


@pytest.mark.parametrize(("change", "path", "message"), [
    ({"hyperparameter_search": {"objective_metric": "auc", "strategy": SearchStrategy.grid.value}},
     ("models", 0, "training", "hyperparameter_search", "strategy"), "grid search"),
])
def test_unsupported_search_is_a_located_plan_error(change: dict[str, Any], path: tuple[Any, ...],
                                                    message: str) -> None:
    with pytest.raises(PlanError) as raised:
        _plan(**change)
    [diagnostic] = [d for d in raised.value.diagnostics if d.path == path]
    assert message in diagnostic.message and diagnostic.allowed


def test_search_on_a_script_framework_is_a_plan_error() -> None:
    bp = _blueprint(ROOT / "blueprints/fraud-detection-aws.yaml")
    data = bp.model_dump(mode="json", exclude_unset=True)
    data["models"][0]["framework"] = "pytorch"
    with pytest.raises(PlanError) as raised:
        plan(Blueprint.model_validate(data), "prod")
    assert [d.path for d in raised.value.diagnostics] == [("models", 0, "training", "hyperparameter_search")]
    assert "pytorch" in raised.value.diagnostics[0].message


@pytest.mark.parametrize(("schedule", "expression"), [
    ("hourly", "cron(0 * * * ? *)"),
    ("daily", "cron(0 0 * * ? *)"),
    ("weekly", "cron(0 0 ? * SUN *)"),
    ("monthly", "cron(0 0 1 * ? *)"),
    ("0 3 * * 1", "cron(0 3 ? * MON *)"),
    ("30 1 * * 1-5", "cron(30 1 ? * MON-FRI *)"),
    ("30 1 * * mon-fri", "cron(30 1 ? * MON-FRI *)"),
    ("0 4 1 JAN,JUL *", "cron(0 4 1 1,7 ? *)"),
    ("0 0 * * 5-7", "cron(0 0 ? * SUN,FRI-SAT *)"),
    ("0 2 1,15 * *", "cron(0 2 1,15 * ? *)"),
])
def test_schedules_become_eventbridge_cron(schedule: str, expression: str) -> None:
    assert eventbridge_cron(Schedule.of(schedule)) == expression
    assert eventbridge_cron_problem(Schedule.of(schedule)) is None


@pytest.mark.parametrize("schedule", ["0 0 1 * 1", "0 0 * * */2"])
def test_schedules_eventbridge_cannot_express(schedule: str) -> None:
    problem = eventbridge_cron_problem(Schedule.of(schedule))
    assert problem is not None
    with pytest.raises(ScheduleError):
        eventbridge_cron(Schedule.of(schedule))
    bp = _blueprint(ROOT / "blueprints/readmission-risk-aws.yaml")
    data = bp.model_dump(mode="json", exclude_unset=True)
    data["models"][1]["retraining"]["schedule"] = schedule
    with pytest.raises(PlanError) as raised:
        plan(Blueprint.model_validate(data), "prod")
    assert [d.path for d in raised.value.diagnostics] == [("models", 1, "retraining", "schedule")]
