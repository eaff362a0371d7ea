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
from mlops.blueprint import load_blueprint
from mlops.blueprint.model import Blueprint, InstanceSize, SearchStrategy
from mlops.plan import Plan, PlanError, plan
from mlops.plan.support import AWS_SEARCH_STRATEGIES, AWS_TUNABLE_FRAMEWORKS, eventbridge_cron_problem

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "reference" / "sagemaker-pipeline-definition.schema.json"
AWS_EXAMPLES = sorted(p for p in (ROOT / "blueprints").glob("*.yaml")
                      if load_blueprint(p).blueprint.cloud.provider.value == "aws")
CONTEXT = pd.PipelineContext(
    role_arn="arn:aws:iam::333333333333:role/pipeline", kms_key_arn="arn:aws:kms:us-east-1:333333333333:key/k",
    data_bucket="data", artifact_bucket="artifacts", training_image="img-train", inference_image="img-serve",
    processing_image="img-proc", model_package_group="group")
IN_VPC = pd.PipelineContext(**{**CONTEXT.__dict__, "network": pd.Network(("subnet-1", "subnet-2"), ("sg-1",))})

needs_schema = pytest.mark.skipif(not SCHEMA.exists(), reason=f"official schema not found at {SCHEMA}")


# --------------------------------------------------------------------------- the official schema

def official_schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text())


def extended_schema() -> dict[str, Any]:
    """The official schema plus exactly the constructs it predates, each emitted by the SageMaker SDK.

    - `Std:JsonGet` (sagemaker.workflow.functions.JsonGet) and `Std:Join` (functions.Join) as argument
      values: the schema defines a (malformed) JoinFunction but references neither.
    - `PropertyFiles` on processing steps (steps.ProcessingStep.to_request).
    - `ModelApprovalStatus` and `ModelCard` in RegisterModel arguments (CreateModelPackage fields the
      SDK's RegisterModel step passes through).
    - Tuning strategy `Hyperband` (CreateHyperParameterTuningJob, 2022).
    """
    schema = official_schema()
    d = schema["definitions"]
    d["JsonGetExpression"] = {
        "type": "object", "required": ["Std:JsonGet"], "additionalProperties": False,
        "properties": {"Std:JsonGet": {
            "type": "object", "required": ["PropertyFile", "Path"], "additionalProperties": False,
            "properties": {"PropertyFile": {"$ref": "#/definitions/GetFunction"}, "Path": {"type": "string"}}}}}
    d["JoinExpression"] = {
        "type": "object", "required": ["Std:Join"], "additionalProperties": False,
        "properties": {"Std:Join": {
            "type": "object", "required": ["On", "Values"], "additionalProperties": False,
            "properties": {"On": {"type": "string"}, "Values": {"type": "array", "items": {"anyOf": [
                {"type": ["string", "number", "boolean"]}, {"$ref": "#/definitions/GetFunction"},
                {"$ref": "#/definitions/JsonGetExpression"}]}}}}}}
    for kind in ("StringArgumentValue", "IntegerArgumentValue", "FloatArgumentValue", "BooleanArgumentValue"):
        d[kind]["oneOf"] += [{"$ref": "#/definitions/JsonGetExpression"}, {"$ref": "#/definitions/JoinExpression"}]
    d["ProcessingStep"]["properties"]["PropertyFiles"] = {"type": "array", "items": {
        "type": "object", "required": ["PropertyFileName", "OutputName", "FilePath"], "additionalProperties": False,
        "properties": {k: {"type": "string"} for k in ("PropertyFileName", "OutputName", "FilePath")}}}
    d["RegisterModelStep"]["properties"]["Arguments"]["properties"].update({
        "ModelApprovalStatus": {"anyOf": [{"enum": ["Approved", "Rejected", "PendingManualApproval"]},
                                          {"$ref": "#/definitions/GetFunction"}]},
        "ModelCard": {"type": "object", "required": ["ModelCardStatus"], "additionalProperties": False,
                      "properties": {"ModelCardStatus": {"enum": ["Draft", "PendingReview", "Approved", "Archived"]},
                                     "ModelCardContent": {"type": "string"}}}})
    config = d["TuningStep"]["properties"]["Arguments"]["properties"]["HyperParameterTuningJobConfig"]
    config["properties"]["Strategy"]["enum"].append("Hyperband")
    return schema


def without_extensions(value: Any) -> Any:
    """The definition with each extension replaced by what the official schema accepts in its place."""
    if isinstance(value, dict):
        if "Std:JsonGet" in value or "Std:Join" in value:
            return "expression"
        stripped = {k: without_extensions(v) for k, v in value.items()
                    if k not in ("PropertyFiles", "ModelApprovalStatus", "ModelCard")}
        if stripped.get("Strategy") == "Hyperband":
            stripped["Strategy"] = "Bayesian"
        return stripped
    if isinstance(value, list):
        return [without_extensions(v) for v in value]
    return value


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
    "hyperband": {"hyperparameter_search": {"objective_metric": "auc", "strategy": "hyperband"}},
    "no-gates": {"quality_gates": {"metrics": [], "compare_to_champion": False}},
}


@needs_schema
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("path", AWS_EXAMPLES, ids=[p.stem for p in AWS_EXAMPLES])
@pytest.mark.parametrize("context", [CONTEXT, IN_VPC], ids=["no-vpc", "vpc"])
def test_every_definition_validates_against_the_official_schema(path: Path, case: str,
                                                                 context: pd.PipelineContext) -> None:
    bp = _variant(_blueprint(path), **copy.deepcopy(CASES[case]))
    definitions = _definitions(bp, context)
    assert definitions
    extended, official = extended_schema(), official_schema()
    for where, document in definitions:
        assert errors(extended, document) == [], where
        # Nothing else departs from the published schema.
        assert errors(official, without_extensions(document)) == [], where


@needs_schema
def test_the_extensions_are_needed() -> None:
    """Each construct the extension adds appears in a real definition and is refused by the official schema."""
    bp = _blueprint(ROOT / "blueprints/fraud-detection-aws.yaml")
    [(_, document)] = [d for d in _definitions(bp) if d[0].startswith("prod/")]
    text = json.dumps(document)
    for construct in ("Std:JsonGet", "Std:Join", "PropertyFiles", "ModelApprovalStatus", "ModelCard"):
        assert construct in text
    assert errors(official_schema(), document)


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
    assert list(steps) == ["Preprocess", "Tune", "Evaluate", "QualityGates", "Register", "GatesFailed"]
    assert steps["Evaluate"]["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}]
    register = steps["Register"]["Arguments"]
    assert register["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]["Std:Join"]["Values"][1] == {
        "Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"}


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
    simple = {(c["Type"], c["LeftValue"]["Std:JsonGet"]["Path"], c["RightValue"]["Get"]) for c in gates[:-1]}
    assert simple == {
        ("GreaterThanOrEqualTo", "metrics.auc.value", "Parameters.Min-auc"),
        ("LessThanOrEqualTo", "metrics.false_positive_rate.value", "Parameters.Max-false_positive_rate"),
        ("GreaterThanOrEqualTo", "fairness.disparate_impact_ratio.value", "Parameters.Fairness-disparate_impact_ratio"),
        ("LessThanOrEqualTo", "latency.p99_ms.value", "Parameters.MaxLatencyP99Ms"),
    }
    champion = gates[-1]
    assert champion["Type"] == "Or"
    assert champion["Conditions"][1]["RightValue"] == {"Get": "Parameters.MinImprovement"}
    defaults = {p["Name"]: p["DefaultValue"] for p in document["Parameters"]}
    assert defaults["Min-auc"] == 0.92 and defaults["Max-false_positive_rate"] == 0.02
    assert defaults["MaxLatencyP99Ms"] == 50 and defaults["MinImprovement"] == 0.0


def test_fail_message_names_every_gate() -> None:
    message = _steps(_definition(_plan()))["GatesFailed"]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    text = " ".join(v for v in message if isinstance(v, str))
    for gate in ("auc =", "false_positive_rate =", "disparate_impact_ratio =", "p99 latency (ms) =",
                 "improvement over the champion on auc ="):
        assert gate in text


def test_no_champion_comparison_without_registry() -> None:
    context = pd.PipelineContext(**{**CONTEXT.__dict__, "model_package_group": None})
    steps = _steps(_definition(_plan(), context=context))
    assert "Register" not in steps
    assert all(c["Type"] != "Or" for c in steps["QualityGates"]["Arguments"]["Conditions"])


@pytest.mark.parametrize(("env", "status"), [
    ("dev", {"Get": "Parameters.ModelApprovalStatus"}),
    ("staging", "PendingManualApproval"),
    ("prod", "PendingManualApproval"),
])
def test_approval_status_follows_governance(env: str, status: Any) -> None:
    document = _definition(_plan(env))
    assert _steps(document)["Register"]["Arguments"]["ModelApprovalStatus"] == status
    parameters = {p["Name"] for p in document["Parameters"]}
    assert ("ModelApprovalStatus" in parameters) is (env == "dev")


def test_model_card_attached_where_governance_asks() -> None:
    register = _steps(_definition(_plan()))["Register"]["Arguments"]
    card = register["ModelCard"]
    assert card["ModelCardStatus"] == "Draft"
    assert json.loads(card["ModelCardContent"])["intended_uses"]["risk_rating"] == "High"
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
    ("0 0 * * 5-7", "cron(0 0 ? * SUN,FRI-SAT *)"),
    ("0 2 1,15 * *", "cron(0 2 1,15 * ? *)"),
])
def test_schedules_become_eventbridge_cron(schedule: str, expression: str) -> None:
    assert eventbridge_cron(schedule) == expression
    assert eventbridge_cron_problem(schedule) is None


@pytest.mark.parametrize("schedule", ["0 0 1 * 1", "0 0 * * */2"])
def test_schedules_eventbridge_cannot_express(schedule: str) -> None:
    problem = eventbridge_cron_problem(schedule)
    assert problem is not None
    with pytest.raises(ScheduleError):
        eventbridge_cron(schedule)
    bp = _blueprint(ROOT / "blueprints/readmission-risk-aws.yaml")
    data = bp.model_dump(mode="json", exclude_unset=True)
    data["models"][1]["retraining"]["schedule"] = schedule
    with pytest.raises(PlanError) as raised:
        plan(Blueprint.model_validate(data), "prod")
    assert [d.path for d in raised.value.diagnostics] == [("models", 1, "retraining", "schedule")]
