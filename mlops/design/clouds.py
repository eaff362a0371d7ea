"""What each cloud calls things, and how each monitoring signal is computed there.

The service names follow the capability table of ARCHITECTURE.md. The "how computed" tables say,
per (cloud, drift method), whether the cloud's managed monitor computes the method natively or
the platform computes it in a custom job; the design prints the row of the blueprint's cloud.
"""

from __future__ import annotations

from mlops.blueprint.model import Cloud, DriftMethod, ServingMode

PLATFORM: dict[Cloud, str] = {Cloud.aws: "AWS SageMaker", Cloud.gcp: "GCP Vertex AI", Cloud.azure: "Azure ML"}

SERVICE: dict[str, dict[Cloud, str]] = {
    "tracking": {Cloud.aws: "SageMaker managed MLflow", Cloud.gcp: "Vertex AI Experiments and Metadata store",
                 Cloud.azure: "the Azure ML workspace (MLflow built in)"},
    "registry": {Cloud.aws: "SageMaker Model Registry (model package groups)",
                 Cloud.gcp: "Vertex AI Model Registry (aliases)", Cloud.azure: "Azure ML registry"},
    "features": {Cloud.aws: "SageMaker Feature Store", Cloud.gcp: "Vertex AI Feature Store (BigQuery offline)",
                 Cloud.azure: "Azure ML managed feature store"},
    "pipeline": {Cloud.aws: "SageMaker Pipelines", Cloud.gcp: "Vertex AI Pipelines (KFP)",
                 Cloud.azure: "Azure ML pipeline jobs"},
    "hpo": {Cloud.aws: "SageMaker automatic model tuning", Cloud.gcp: "Vertex AI hyperparameter tuning",
            Cloud.azure: "Azure ML sweep jobs"},
    "alarms": {Cloud.aws: "CloudWatch alarms → SNS", Cloud.gcp: "Cloud Monitoring alert policies",
               Cloud.azure: "Azure Monitor alerts → action groups"},
    "triggers": {Cloud.aws: "EventBridge rules and Scheduler", Cloud.gcp: "Cloud Scheduler, Pub/Sub and Workflows",
                 Cloud.azure: "Azure ML schedules and alerts"},
    "audit": {Cloud.aws: "S3 Object Lock", Cloud.gcp: "a Cloud Storage bucket retention policy",
              Cloud.azure: "immutable blob storage (account-level time-based immutability)"},
    "rbac": {Cloud.aws: "IAM roles", Cloud.gcp: "IAM service accounts and role bindings",
             Cloud.azure: "Azure RBAC role assignments"},
    "capture": {Cloud.aws: "endpoint data capture to S3", Cloud.gcp: "request-response logging to BigQuery",
                Cloud.azure: "online endpoint data collector to blob storage"},
    "approval": {Cloud.aws: "model package approval status", Cloud.gcp: "registry alias promotion",
                 Cloud.azure: "registry promotion"},
}

AUDIT_LOCK: dict[Cloud, dict[str, tuple[str, str]]] = {
    # The plan's lock modes ("compliance": nobody may shorten or delete; "governance": an administrator's
    # override) in each cloud's own mechanism: S3 Object Lock has COMPLIANCE and GOVERNANCE modes; a Cloud
    # Storage bucket retention policy is locked or not (no modes); an Azure Blob time-based immutability
    # policy is Locked or Unlocked.
    Cloud.aws: {
        "compliance": ("S3 Object Lock in COMPLIANCE mode",
                       "nobody, not even the root user, can shorten the retention or delete a record"),
        "governance": ("S3 Object Lock in GOVERNANCE mode",
                       "principals allowed s3:BypassGovernanceRetention can lift the lock; nobody else can delete"),
    },
    Cloud.gcp: {
        "compliance": ("a locked bucket retention policy",
                       "nobody can shorten or remove the retention policy, or delete a record before it ends"),
        "governance": ("an unlocked bucket retention policy",
                       "nobody can delete a record before the retention ends, but a storage administrator can "
                       "shorten or remove the policy"),
    },
    Cloud.azure: {
        "compliance": ("a locked time-based immutability policy",
                       "nobody, not even an administrator, can shorten the retention or delete a record"),
        "governance": ("an unlocked time-based immutability policy",
                       "nobody can change or delete a record before the retention ends, but an administrator "
                       "can shorten or delete the policy"),
    },
}
"""How each cloud locks audit records, per plan lock mode: (mechanism, what it means)."""

UNGATED_PROMOTION: dict[Cloud, str] = {
    Cloud.aws: "deployment on registration: the deployer approves the pending version",
    Cloud.gcp: "manual promotion by an ML engineer (the model's promotion workflow), then the deployer workflow",
    Cloud.azure: "manual promotion into the registry by an ML engineer, then the hourly deployer job",
}
"""What moves a registered version into an environment that needs no approval, per cloud."""

SERVING: dict[ServingMode, dict[Cloud, str]] = {
    ServingMode.realtime: {Cloud.aws: "SageMaker real-time endpoint", Cloud.gcp: "Vertex AI endpoint",
                           Cloud.azure: "Azure ML managed online endpoint"},
    ServingMode.batch: {Cloud.aws: "SageMaker batch transform", Cloud.gcp: "Vertex AI batch prediction",
                        Cloud.azure: "Azure ML batch endpoint"},
    ServingMode.streaming: {Cloud.aws: "SageMaker endpoint fed from Kinesis", Cloud.gcp: "Vertex AI endpoint fed from "
                            "Pub/Sub", Cloud.azure: "Azure ML online endpoint fed from Event Hubs"},
}

METHOD_NAME: dict[DriftMethod, str] = {
    DriftMethod.psi: "population stability index (PSI)",
    DriftMethod.ks: "two-sample Kolmogorov-Smirnov statistic",
    DriftMethod.jensen_shannon: "Jensen-Shannon divergence",
    DriftMethod.l_infinity: "L-infinity distance",
    DriftMethod.wasserstein: "Wasserstein distance",
}

_AZURE_DRIFT_METRIC = {
    DriftMethod.psi: "PopulationStabilityIndex",
    DriftMethod.ks: "TwoSampleKolmogorovSmirnovTest",
    DriftMethod.jensen_shannon: "JensenShannonDistance (the square root of the divergence: set thresholds on "
                                "that scale)",
    DriftMethod.wasserstein: "NormalizedWassersteinDistance",
}
_VERTEX_DRIFT_METRIC = {DriftMethod.jensen_shannon: "jensen_shannon_divergence",
                        DriftMethod.l_infinity: "l_infinity"}


def drift_computation(cloud: Cloud, method: DriftMethod) -> str:
    """How `method` is computed on `cloud`: natively by the managed monitor, or by a custom job."""
    name = METHOD_NAME[method]
    if cloud == Cloud.aws:
        baseline = ("the baseline the training pipeline's Baseline step computes from the train split (registered "
                    "with the version, staged for the monitor when it is approved)")
        # SageMaker Model Monitor is closed to new customers (mlops.clouds.aws.MODEL_MONITOR_AVAILABILITY).
        return (f"custom: a scheduled SageMaker processing job of the platform's own (EventBridge Scheduler; "
                f"SageMaker Model Monitor is closed to new customers) computes the {name} between {baseline} and "
                "the period's captured requests or batch input → CloudWatch metric → alarm")
    if cloud == Cloud.gcp:
        if method in _VERTEX_DRIFT_METRIC:
            return (f"native: Vertex AI Model Monitoring prediction-drift objective `{_VERTEX_DRIFT_METRIC[method]}` "
                    "between successive windows of logged requests → anomaly log → alert policy")
        return (f"custom: not a Vertex AI Model Monitoring metric; a scheduled job computes the {name} over the "
                "BigQuery request-response log → custom Cloud Monitoring metric → alert policy")
    if method in _AZURE_DRIFT_METRIC:
        return (f"native: Azure ML model monitor, data drift signal `{_AZURE_DRIFT_METRIC[method]}` between training "
                "data and collected production inputs → Azure Monitor alert")
    return (f"custom: not an Azure ML data drift metric; a custom monitoring signal computes the {name} "
            "→ Azure Monitor alert")


def quality_computation(cloud: Cloud, batch: bool) -> str:
    """How a model-quality metric is computed against ground truth on `cloud`."""
    source = "batch predictions" if batch else {
        Cloud.aws: "captured predictions", Cloud.gcp: "the BigQuery request-response log",
        Cloud.azure: "collected production predictions"}[cloud]
    return {
        Cloud.aws: f"scheduled SageMaker processing job of the platform's own (SageMaker Model Monitor is closed to "
                   f"new customers) joins {source} with ground-truth labels in S3 → CloudWatch metric → alarm",
        Cloud.gcp: f"scheduled job joins {source} with ground-truth labels in BigQuery → custom Cloud Monitoring "
                   "metric → alert policy",
        Cloud.azure: f"Azure ML model monitor model-performance signal over {source} joined with ground-truth "
                     "labels → Azure Monitor alert",
    }[cloud]


def sre_computation(cloud: Cloud) -> str:
    return {
        Cloud.aws: "CloudWatch endpoint metrics `ModelLatency` (p99), `Invocation5XXErrors` / `Invocations`, "
                   "`CPUUtilization`",
        Cloud.gcp: "Cloud Monitoring metrics of the Vertex AI endpoint (prediction latency p99, error count, "
                   "CPU utilisation)",
        Cloud.azure: "Azure Monitor metrics of the online endpoint (request latency p99, 5xx errors, "
                     "CPU utilisation)",
    }[cloud]


def freshness_computation(cloud: Cloud) -> str:
    return {
        Cloud.aws: "CloudWatch alarm on the age of the newest record ingested into the feature group",
        Cloud.gcp: "Cloud Monitoring alert on the age of the newest feature view sync",
        Cloud.azure: "Azure Monitor alert on the age of the newest feature set materialisation",
    }[cloud]
