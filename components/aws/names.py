"""Physical names several AWS components must agree on (one definition, so they cannot drift)."""

from __future__ import annotations

import hashlib
from typing import Literal

from mlops.plan import Plan

AlarmKind = Literal["drift", "quality", "latency", "errors", "invocation-errors", "utilization", "freshness"]


def alarm_name(plan: Plan, subject: str, kind: AlarmKind) -> str:
    """CloudWatch alarm names: `<prefix>-<model or entity>-<kind>`. Retraining rules match on these."""
    return f"{plan.prefix}-{subject}-{kind}"


def pipeline_name(plan: Plan, model: str) -> str:
    """SageMaker pipeline of a model: `<prefix>-<model>-training`."""
    return f"{plan.prefix}-{model}-training"


def model_package_group_name(plan: Plan, model: str) -> str:
    return f"{plan.prefix}-{model}"


def endpoint_name(plan: Plan, model: str) -> str:
    return f"{plan.prefix}-{model}"


# --------------------------------------------------------------------------- platform area


def trail_name(plan: Plan) -> str:
    """The platform's CloudTrail trail; the audit bucket policy admits only this trail."""
    return f"{plan.prefix}-audit"


def trail_log_prefix(plan: Plan) -> str:
    """Key prefix of CloudTrail files in the audit bucket (CloudTrail appends AWSLogs/<account>/)."""
    return "cloudtrail"


def tracking_server_name(plan: Plan) -> str:
    """SageMaker managed MLflow tracking server: `<prefix>-mlflow`."""
    return f"{plan.prefix}-mlflow"


def feature_group_name(plan: Plan, entity: str) -> str:
    """Feature group of an entity: `<prefix>-<entity>` (underscores become dashes; at most 64 characters)."""
    name = f"{plan.prefix}-{entity.replace('_', '-')}"
    return name if len(name) <= 64 else f"{name[:57]}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def model_card_name(plan: Plan, model: str) -> str:
    return f"{plan.prefix}-{model}"


def role_name(plan: Plan, persona: str) -> str:
    """IAM role a group of people assumes: `<prefix>-<persona>` (data-scientist, ml-engineer, approver)."""
    return f"{plan.prefix}-{persona}"


def budget_name(plan: Plan) -> str:
    return f"{plan.prefix}-monthly"


def image_repository_name(plan: Plan, model: str) -> str:
    """ECR repository holding a model's own training/serving image (LightGBM, custom frameworks):
    `<prefix>/<model>`, so the environment's repositories share the path `container_registry` names."""
    return f"{plan.prefix}/{model}"


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def arn(plan: Plan, service: str, resource: str, *, region: bool = True) -> str:
    """An ARN in this environment's account and region (account `*` when the blueprint names none)."""
    return (f"arn:{partition(plan.region)}:{service}:{plan.region if region else ''}:"
            f"{plan.account or '*'}:{resource}")


def pipeline_arn(plan: Plan, model: str) -> str:
    """SageMaker lower-cases names in pipeline ARNs; ours are lower-case already."""
    return arn(plan, "sagemaker", f"pipeline/{pipeline_name(plan, model)}")


def model_package_group_arn(plan: Plan, model: str) -> str:
    return arn(plan, "sagemaker", f"model-package-group/{model_package_group_name(plan, model)}")


def model_package_arns(plan: Plan, model: str) -> str:
    """Every version registered in a model's group (`model-package/<group>/<version>`).

    The governance roles grant `sagemaker:UpdateModelPackage` (approval status) on this pattern to the
    approver role only.
    """
    return arn(plan, "sagemaker", f"model-package/{model_package_group_name(plan, model)}/*")


# --------------------------------------------------------------------------- serving area

SAGEMAKER_NAME_LIMIT = 63
CHAMPION_VARIANT = "champion"
"""Production variant of every endpoint; a rollout keeps the variant name (deployment guardrails need it)."""
SHADOW_VARIANT = "shadow"


def sagemaker_name(name: str) -> str:
    """A SageMaker resource name (at most 63 characters): long names keep a stable hash suffix."""
    if len(name) <= SAGEMAKER_NAME_LIMIT:
        return name
    return f"{name[:SAGEMAKER_NAME_LIMIT - 7]}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


MonitorKind = Literal["drift", "quality"]
JOB_NAME_LIMIT = 63
SCHEDULER_EXECUTION_ID_LENGTH = 16
"""`<aws.scheduler.execution-id>` is 16 characters (`d32c5kddcf5bb8c3`): job names keep room for it."""


def monitor_schedule_name(plan: Plan, model: str, kind: MonitorKind) -> str:
    """EventBridge Scheduler schedule that starts a model's drift or quality job: `<prefix>-<model>-<kind>`."""
    return sagemaker_name(f"{plan.prefix}-{model}-{kind}")


def monitor_job_prefix(plan: Plan, model: str, kind: MonitorKind) -> str:
    """Processing job names of a model's drift or quality runs: `<model>-<env>-<kind>-<execution id>`; the
    prefix is at most 46 characters so that the name stays within SageMaker's 63."""
    limit = JOB_NAME_LIMIT - 1 - SCHEDULER_EXECUTION_ID_LENGTH
    name = f"{model}-{plan.environment}-{kind}"
    return name if len(name) <= limit else f"{name[:limit - 7]}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def metrics_namespace(plan: Plan) -> str:
    """CloudWatch namespace of the platform's drift and quality metrics; the jobs may publish here only."""
    return f"mlops/{plan.prefix}"


def alert_topic_name(plan: Plan, severity: Literal["critical", "warning"]) -> str:
    return f"{plan.prefix}-alerts-{severity}"


def pipeline_steps_function_name(plan: Plan, model: str) -> str:
    """The Lambda function of a training pipeline's Lambda steps (RunContext, BestModel, ReadEvaluation)."""
    return sagemaker_name(f"{plan.prefix}-{model}-pipeline-steps")


def deployer_function_name(plan: Plan, model: str) -> str:
    """Lambda that deploys a model's approved packages to its endpoint (at most 64 characters)."""
    return sagemaker_name(f"{plan.prefix}-{model}-deployer")


def batch_schedule_name(plan: Plan, model: str) -> str:
    """EventBridge Scheduler schedule that starts a batch model's transform jobs."""
    return sagemaker_name(f"{plan.prefix}-{model}-batch")


# Object keys the training pipeline, the deployer and the monitors agree on.
def champion_model_key(model: str) -> str:
    """Artifacts bucket: the model the endpoint serves; the deployer copies each approved model here."""
    return f"models/{model}/champion/model.tar.gz"


def challenger_model_key(model: str) -> str:
    """Artifacts bucket: the model the shadow variant serves (the latest candidate)."""
    return f"models/{model}/challenger/model.tar.gz"


def baseline_prefix(model: str) -> str:
    """Artifacts bucket: the champion's drift baseline (`statistics.json`, `constraints.json`); the deployer
    copies it from the approved package (its DriftCheckBaselines, else the ModelMetrics.ModelDataQuality the
    training pipeline registers); the drift job reads `statistics.json`."""
    return f"monitoring/{model}/baseline"


def monitoring_reports_prefix(model: str) -> str:
    """Artifacts bucket: the drift and quality jobs' reports (`drift/`, `quality/`)."""
    return f"monitoring/{model}/reports"


def monitoring_code_prefix(model: str) -> str:
    """Artifacts bucket: the drift and quality jobs' code (`components/aws/scripts/`, shipped by the stack)."""
    return f"monitoring/{model}/code"


def capture_prefix(model: str) -> str:
    """Data bucket: captured requests and responses (they hold features, so they live with the data)."""
    return f"capture/{model}"


def ground_truth_prefix(model: str) -> str:
    """Data bucket: ground-truth labels for model quality (CSV files, header `id,label`; see README)."""
    return f"ground-truth/{model}"


def batch_input_prefix(model: str) -> str:
    """Data bucket: where a batch model's scheduled transform reads its input."""
    return f"batch/{model}/input"
