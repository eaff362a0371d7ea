"""Vertex AI model deployment monitoring job bodies (REST v1 shape), built by typed pure functions.

pulumi_gcp has no monitoring-job resource, and a job names the deployed model ids it watches; the
deployer workflow therefore (re)creates the job after each rollout from the body built here (see
`deployer_workflow.py`). Vertex computes Jensen-Shannon divergence for numerical features and
L-infinity distance for categorical ones; `mlops.clouds.gcp` refuses the other methods.
"""

from __future__ import annotations

from typing import TypedDict

from mlops.plan import ModelPlan, Plan

HOUR = 3600


class ThresholdConfig(TypedDict):
    value: float


class DriftConfig(TypedDict, total=False):
    driftThresholds: dict[str, ThresholdConfig]
    defaultDriftThreshold: ThresholdConfig


class ObjectiveConfig(TypedDict):
    predictionDriftDetectionConfig: DriftConfig


class DeployedObjective(TypedDict):
    deployedModelId: str
    objectiveConfig: ObjectiveConfig


class ScheduleConfig(TypedDict):
    monitorInterval: str


class RandomSample(TypedDict):
    sampleRate: float


class SamplingStrategy(TypedDict):
    randomSampleConfig: RandomSample


class AlertConfig(TypedDict):
    enableLogging: bool
    notificationChannels: list[str]


class EncryptionSpec(TypedDict):
    kmsKeyName: str


class GcsDestination(TypedDict):
    outputUriPrefix: str


class MonitoringJob(TypedDict):
    """google.cloud.aiplatform.v1.ModelDeploymentMonitoringJob (the fields the platform sets)."""

    displayName: str
    endpoint: str
    modelDeploymentMonitoringObjectiveConfigs: list[DeployedObjective]
    modelDeploymentMonitoringScheduleConfig: ScheduleConfig
    loggingSamplingStrategy: SamplingStrategy
    modelMonitoringAlertConfig: AlertConfig
    encryptionSpec: EncryptionSpec
    statsAnomaliesBaseDirectory: GcsDestination
    labels: dict[str, str]


def monitoring_job_name(plan: Plan, model: str) -> str:
    """Display name of a model's monitoring job (the deployer finds and replaces it by this name)."""
    return f"{plan.prefix}-{model}-monitoring"


def monitoring_job(plan: Plan, model: ModelPlan, *, endpoint: str, kms_key_id: str, artifact_bucket: str,
                   channels: list[str], labels: dict[str, str]) -> MonitoringJob | None:
    """The job watching a model's endpoint for drift; None without drift monitoring.

    `deployedModelId` is left empty: the deployer fills in the version it just rolled out.
    """
    drift = model.monitoring.drift
    if drift is None:
        return None
    # The plan refuses schedules Vertex cannot run every N hours (mlops.clouds.gcp_serving).
    hours = drift.schedule.period_hours
    config: DriftConfig = {"driftThresholds": {f: {"value": drift.threshold} for f in drift.features}} \
        if drift.features else {"defaultDriftThreshold": {"value": drift.threshold}}
    sample = (model.monitoring.prediction_logging_percent or 100.0) / 100
    return {
        "displayName": monitoring_job_name(plan, model.name),
        "endpoint": endpoint,
        "modelDeploymentMonitoringObjectiveConfigs": [
            {"deployedModelId": "", "objectiveConfig": {"predictionDriftDetectionConfig": config}}],
        "modelDeploymentMonitoringScheduleConfig": {"monitorInterval": f"{hours * HOUR}s"},
        "loggingSamplingStrategy": {"randomSampleConfig": {"sampleRate": sample}},
        # Anomalies go to Cloud Logging (the drift alert policy and the retraining trigger read them)
        # and straight to the warning channels.
        "modelMonitoringAlertConfig": {"enableLogging": True, "notificationChannels": channels},
        "encryptionSpec": {"kmsKeyName": kms_key_id},
        "statsAnomaliesBaseDirectory": {"outputUriPrefix": f"gs://{artifact_bucket}/monitoring/{model.name}/"},
        "labels": labels,
    }
