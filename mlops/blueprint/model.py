"""The blueprint: a typed, validated model of the YAML a platform team writes.

Every model forbids unknown keys and is frozen. Defaults are the secure, sensible choice: a
blueprint loosens them only by saying so. Cross-field rules (which need more than one field)
live in `rules.py`, not here, so that they sit in one table and are tested one by one.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

# C0 controls (NUL, BEL, ESC …), DEL and C1 controls: invisible in an editor, yet they reach shell
# commands, terminals (ESC sequences), documents and cloud APIs. Prose may keep tabs and line breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PROSE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _refuse_controls(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found:
            raise ValueError(f"control character U+{ord(found.group()):04X} is not allowed in {what}")
        return value
    return AfterValidator(check)


Text = Annotated[str, _refuse_controls(_CONTROL, "blueprint text (one line, printable characters)")]
"""One-line free text (names, metrics, URIs, principals): printable characters only."""
Prose = Annotated[str, _refuse_controls(_PROSE_CONTROL, "blueprint text (printable characters, tabs and line breaks)")]
"""Free text that may span lines (the use case, descriptions): printable characters, tabs and line breaks."""

# Strict scalars, as the JSON Schema has them: `"12"`, `"0.8"` and `"yes"` are text, and `true` is no number.
# Strict per type, not model-wide: strict models would also refuse enum values written as text in python mode.
# A whole number is still a number (`threshold: 1`).
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]

def _refuse_blank(value: str) -> str:
    if not value.strip():
        # `expected` is what the loader prints as "allowed".
        raise PydanticCustomError("blank_text", "blank where a name or URI is needed",
                                  {"expected": "text with at least one visible character"})
    return value


Named = Annotated[Text, AfterValidator(_refuse_blank)]
"""One-line text that names something (a metric, a feature, an attribute, a URI): never blank or only spaces."""

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$"),
    Field(description="Lower-case letters, digits and dashes, 2-24 characters, starting with a letter."),
]
"""Names that end up in cloud resource names: short, lower-case, DNS-safe."""

Percent = Annotated[Float, Field(ge=0, le=100)]
Cron = Annotated[
    str,
    Field(
        description="When it runs: `hourly`, `daily`, `weekly`, `monthly`, or a five-field cron "
        "expression in UTC such as `0 3 * * 1` or `0 2 * * MON-FRI` (months and days may be named).",
    ),
]

EnvironmentName = Literal["dev", "staging", "prod"]
ENVIRONMENT_NAMES: tuple[EnvironmentName, ...] = ("dev", "staging", "prod")


class _Model(BaseModel):
    # NaN and infinities are never a threshold, budget or percentage: they compare false with everything (a gate
    # of NaN passes nothing silently) and are not valid JSON in the documents the clouds parse.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- enums


class Cloud(StrEnum):
    aws = "aws"
    gcp = "gcp"
    azure = "azure"


class Industry(StrEnum):
    technology = "technology"
    finance = "finance"
    healthcare = "healthcare"
    retail = "retail"
    manufacturing = "manufacturing"
    other = "other"


class Dimension(StrEnum):
    """The five maturity dimensions of the MLOps maturity scale."""

    experiment_tracking = "experiment_tracking"
    model_versioning = "model_versioning"
    deployment = "deployment"
    monitoring = "monitoring"
    governance = "governance"


class InstanceSize(StrEnum):
    """Cloud-neutral machine sizes; each back end maps them to its own instance types."""

    small = "small"
    medium = "medium"
    large = "large"
    xlarge = "xlarge"
    gpu_small = "gpu_small"
    gpu_large = "gpu_large"


class ServingMode(StrEnum):
    realtime = "realtime"
    batch = "batch"
    streaming = "streaming"


class DeliveryStrategy(StrEnum):
    canary = "canary"
    blue_green = "blue_green"
    rolling = "rolling"
    all_at_once = "all_at_once"


class DriftMethod(StrEnum):
    psi = "psi"
    ks = "ks"
    jensen_shannon = "jensen_shannon"
    l_infinity = "l_infinity"
    wasserstein = "wasserstein"


class Direction(StrEnum):
    """Which side of the threshold passes: `at_least` (e.g. AUC) or `at_most` (e.g. MAPE)."""

    at_least = "at_least"
    at_most = "at_most"


class AlertKind(StrEnum):
    email = "email"
    pagerduty = "pagerduty"
    slack = "slack"
    webhook = "webhook"


class Severity(StrEnum):
    critical = "critical"
    warning = "warning"


class Compliance(StrEnum):
    sr_11_7 = "sr_11_7"
    fair_lending = "fair_lending"
    hipaa = "hipaa"
    gdpr = "gdpr"
    eu_ai_act = "eu_ai_act"
    pci_dss = "pci_dss"
    soc2 = "soc2"


class RiskTier(StrEnum):
    """EU AI Act style risk tier of the decisions the models make."""

    minimal = "minimal"
    limited = "limited"
    high = "high"


class DataVersioning(StrEnum):
    none = "none"
    object_versioning = "object_versioning"
    dvc = "dvc"
    delta = "delta"
    lakefs = "lakefs"


class SourceKind(StrEnum):
    object_store = "object_store"
    warehouse = "warehouse"
    database = "database"
    stream = "stream"
    lakehouse = "lakehouse"


class FairnessMetric(StrEnum):
    demographic_parity_difference = "demographic_parity_difference"
    equal_opportunity_difference = "equal_opportunity_difference"
    disparate_impact_ratio = "disparate_impact_ratio"


class SearchStrategy(StrEnum):
    bayesian = "bayesian"
    random = "random"
    grid = "grid"
    hyperband = "hyperband"


# --------------------------------------------------------------------------- organisation, cloud


class Organisation(_Model):
    name: Text = Field(min_length=1, max_length=100)
    """The organisation's display name (used in documents and the `organisation` tag)."""
    industry: Industry = Industry.other
    """Industry; regulated industries get stricter defaults in the design documents."""
    team_size: Int = Field(default=10, ge=1, le=100_000)
    """Engineers working on ML; drives roadmap pacing."""


class CloudSpec(_Model):
    provider: Cloud
    """The managed ML service the platform is built on: aws (SageMaker), gcp (Vertex AI), azure (Azure ML)."""
    region: str = Field(pattern=r"^[a-z]{2,}[a-z0-9-]*[0-9a-z]$")
    """Primary region, in the cloud's own spelling (us-east-1, europe-west4, westeurope)."""


class MaturityLevels(_Model):
    """A level from 0 (manual) to 3 (full MLOps) for each dimension."""

    experiment_tracking: Int = Field(default=0, ge=0, le=3)
    model_versioning: Int = Field(default=0, ge=0, le=3)
    deployment: Int = Field(default=0, ge=0, le=3)
    monitoring: Int = Field(default=0, ge=0, le=3)
    governance: Int = Field(default=0, ge=0, le=3)

    def level(self, dimension: Dimension) -> int:
        return int(getattr(self, dimension.value))

    @property
    def overall(self) -> int:
        """The platform is only as mature as its weakest dimension."""
        return min(self.level(d) for d in Dimension)


def _expand_single_level(value: Any) -> Any:
    # `target: 2` is shorthand for the same level in every dimension.
    if isinstance(value, int) and not isinstance(value, bool):
        return {d.value: value for d in Dimension}
    return value


class Maturity(_Model):
    current: MaturityLevels = MaturityLevels()
    """Where the team stands today (a single number sets every dimension)."""
    target: MaturityLevels
    """Where the platform should be; decides what is built (a single number sets every dimension)."""

    # The JSON schema must accept the shorthand too, or editors flag `target: 2` as an error.
    @field_validator("current", "target", mode="before",
                     json_schema_input_type=MaturityLevels | Annotated[Int, Field(ge=0, le=3)])
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return _expand_single_level(value)


# --------------------------------------------------------------------------- data and features


class DataSource(_Model):
    name: Slug
    kind: SourceKind
    uri: Named = Field(min_length=1)
    """Where the data lives (s3://…, gs://…, abfss://…, bigquery://project.dataset, a JDBC URL …)."""
    contains_pii: Bool = False
    """Marks personal data; regimes like GDPR and HIPAA then require encryption and audit (always on)."""


class Data(_Model):
    sources: list[DataSource] = []
    versioning: DataVersioning = DataVersioning.object_versioning
    """How datasets are versioned so that every training run can be reproduced."""
    databricks: Bool = False
    """Use Databricks for data preparation and features (Azure: an Azure Databricks workspace)."""


class Feature(_Model):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
    type: Literal["int", "float", "string", "bool", "embedding", "timestamp"] = "float"


class Entity(_Model):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
    id_column: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
    """The column that identifies the entity (record identifier)."""
    features: list[Feature] = Field(min_length=1)


class FeatureStore(_Model):
    online: Bool = True
    """Serve features at low latency to real-time endpoints."""
    offline: Bool = True
    """Keep full history for point-in-time correct training sets."""
    freshness_sla_minutes: Int | None = Field(default=None, ge=1, le=10_080)
    """Alert when the newest feature row is older than this."""
    entities: list[Entity] = Field(min_length=1)


# --------------------------------------------------------------------------- per model


class HyperparameterSearch(_Model):
    strategy: SearchStrategy = SearchStrategy.bayesian
    objective_metric: Named = Field(min_length=1)
    direction: Direction = Direction.at_least
    """Whether the objective is maximised (`at_least`) or minimised (`at_most`)."""
    max_trials: Int = Field(default=20, ge=1, le=500)
    """Budget: total training jobs the search may start."""
    max_parallel_trials: Int = Field(default=2, ge=1, le=100)


class Training(_Model):
    instance: InstanceSize | Text = InstanceSize.medium
    """A cloud-neutral size, or the cloud's own type (ml.m5.xlarge, n1-standard-8, Standard_DS3_v2)."""
    instance_count: Int = Field(default=1, ge=1, le=100)
    spot: Bool = False
    """Use spot/preemptible/low-priority capacity (needs `checkpointing` to survive interruptions)."""
    checkpointing: Bool = False
    max_runtime_hours: Float = Field(default=4, gt=0, le=120)
    hyperparameters: dict[Text, Text | Int | Float | Bool] = {}
    hyperparameter_search: HyperparameterSearch | None = None


class MetricThreshold(_Model):
    metric: Named = Field(min_length=1)
    threshold: Float
    direction: Direction = Direction.at_least


class FairnessGate(_Model):
    metric: FairnessMetric
    threshold: Float = Field(ge=0)
    protected_attributes: list[Named] = Field(min_length=1)


class QualityGates(_Model):
    metrics: list[MetricThreshold] = []
    compare_to_champion: Bool = True
    """The challenger must beat the current production model on the first metric."""
    min_improvement: Float = Field(default=0.0, ge=0)
    """How much better than the champion the challenger must be (absolute, on the first metric)."""
    fairness: list[FairnessGate] = []
    max_latency_p99_ms: Int | None = Field(default=None, ge=1)
    """Offline latency test on the packaged model before registration."""


class Delivery(_Model):
    strategy: DeliveryStrategy = DeliveryStrategy.all_at_once
    canary_percent: Percent = 10
    """Share of traffic the new version receives first (canary) or per step (rolling)."""
    bake_minutes: Int = Field(default=10, ge=0, le=1440)
    """How long each step is watched before traffic moves on."""
    auto_rollback: Bool = True
    """Roll back automatically when the serving alarms fire during a rollout."""


class Shadow(_Model):
    sample_percent: Percent = 10
    """Share of live requests copied to the shadow (challenger) model; its answers are never returned."""


class Batching(_Model):
    max_batch_size: Int = Field(default=32, ge=1, le=10_000)
    max_latency_ms: Int = Field(default=5, ge=1, le=10_000)


class Caching(_Model):
    ttl_seconds: Int = Field(default=60, ge=1, le=86_400)


class Autoscaling(_Model):
    target_utilization_percent: Percent = 70
    """Scale out when average utilisation of the serving instances passes this."""
    target_requests_per_instance: Int | None = Field(default=None, ge=1)
    """Alternatively, requests per instance per minute (where the cloud scales on it)."""


class Serving(_Model):
    mode: ServingMode = ServingMode.realtime
    latency_p99_ms: Int | None = Field(default=None, ge=1, le=600_000)
    """The p99 latency SLA for real-time and streaming serving."""
    instance: InstanceSize | Text = InstanceSize.medium
    min_instances: Int = Field(default=1, ge=0, le=1000)
    max_instances: Int = Field(default=2, ge=1, le=1000)
    autoscaling: Autoscaling = Autoscaling()
    multi_az: Bool = True
    """Spread instances across availability zones (prod runs at least two instances)."""
    delivery: Delivery = Delivery()
    shadow: Shadow | None = None
    """Mirror a share of traffic to the challenger before it takes real traffic."""
    batching: Batching | None = None
    caching: Caching | None = None
    schedule: Cron | None = None
    """Batch mode: when predictions run."""
    output_uri: Named | None = None
    """Batch mode: where predictions are written."""
    stream: Named | None = None
    """Streaming mode: the stream the endpoint consumes (Kinesis stream, Pub/Sub topic, Event Hub)."""


class Drift(_Model):
    method: DriftMethod = DriftMethod.psi
    threshold: Float = Field(default=0.2, gt=0)
    features: list[Named] = []
    """Features to watch; empty means every feature of the model."""
    schedule: Cron = "daily"


class QualityMonitor(_Model):
    metric: Named = Field(min_length=1)
    threshold: Float
    direction: Direction = Direction.at_least
    label_delay_hours: Int = Field(default=24, ge=0, le=8760)
    """How long ground-truth labels take to arrive."""
    schedule: Cron = "daily"


class SreThresholds(_Model):
    error_rate_percent: Percent = 1
    utilization_percent: Percent = 80
    latency_p99_ms: Int | None = Field(default=None, ge=1)
    """Defaults to the serving SLA."""


class Monitoring(_Model):
    drift: Drift | None = None
    quality: QualityMonitor | None = None
    prediction_logging_percent: Percent = 10
    """Share of requests logged with their inputs for debugging and audit."""
    sre: SreThresholds = SreThresholds()


class Retraining(_Model):
    schedule: Cron | None = None
    on_drift: Bool = False
    on_performance: Bool = False
    champion_challenger: Bool = True
    """A retrained model replaces the champion only if it wins the quality gates."""
    min_interval_hours: Int = Field(default=24, ge=1, le=8760)
    """Cool-down between triggered runs, so a noisy monitor cannot start a retraining storm."""


class ModelSpec(_Model):
    name: Slug
    description: Prose = ""
    framework: Literal["xgboost", "sklearn", "lightgbm", "pytorch", "tensorflow", "custom"] = "xgboost"
    training: Training = Training()
    quality_gates: QualityGates = QualityGates()
    serving: Serving = Serving()
    monitoring: Monitoring = Monitoring()
    retraining: Retraining = Retraining()


# --------------------------------------------------------------------------- platform-wide


class AlertRoute(_Model):
    kind: AlertKind
    target: Text | None = None
    """Email address, or an https URL for webhooks. Prefer `secret` for URLs that carry keys."""
    secret: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    """Name of a Pulumi config secret (`pulumi config set --secret mlops:NAME …`) holding the URL or key."""
    severity: Severity = Severity.critical
    """Lowest severity sent to this route."""


class Approval(_Model):
    approvers: list[Text] = Field(min_length=1)
    """Groups or people who must approve promotion into this environment."""
    min_approvals: Int = Field(default=1, ge=1, le=10)


class Roles(_Model):
    data_scientist: list[Text] = []
    """Principals who experiment and train (no production access)."""
    ml_engineer: list[Text] = []
    """Principals who deploy to staging and operate the platform."""
    approver: list[Text] = []
    """Principals allowed to promote models to production."""
    group_domain: str | None = Field(
        default=None, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
    """GCP only: the Cloud Identity / Google Workspace domain of plain principal names: on GCP `recs-team`
    means the group `group:recs-team@<group_domain>`; IAM members (`group:`, `user:`, `serviceAccount:`,
    `domain:`, `principal://`, `principalSet://`) are used as given."""


class Governance(_Model):
    approvals: dict[EnvironmentName, Approval] = {}
    """Approval required to promote a model into each environment."""
    model_card_required: Bool = False
    roles: Roles = Roles()
    audit_retention_days: Int = Field(default=365, ge=1, le=36_500)
    """How long audit records are kept (and locked against deletion)."""
    compliance: list[Compliance] = []
    risk_tier: RiskTier = RiskTier.limited


class Cost(_Model):
    monthly_budget_usd: Float = Field(gt=0)
    alert_thresholds_percent: list[Annotated[Float, Field(gt=0, le=200)]] = [50, 80, 100]
    billing_account: str | None = Field(default=None, pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
    """GCP only: the Cloud Billing account (`XXXXXX-XXXXXX-XXXXXX`) the budget watches; GCP budgets need it."""


class ServingOverride(_Model):
    instance: InstanceSize | Text | None = None
    min_instances: Int | None = Field(default=None, ge=0, le=1000)
    max_instances: Int | None = Field(default=None, ge=1, le=1000)


class TrainingOverride(_Model):
    instance: InstanceSize | Text | None = None
    spot: Bool | None = None


class Network(_Model):
    """Where the platform runs: an existing private network (the usual enterprise case) or a new one."""

    vpc: Text | None = None
    """Existing network: AWS VPC id, GCP VPC network name, or Azure virtual network resource id."""
    subnets: list[Text] = []
    """Private subnets of `vpc` for jobs and endpoints (at least two, in different zones, on AWS)."""
    cidr: str = Field(default="10.40.0.0/16", pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
    """Address range when the platform creates its own network (ignored with `vpc`)."""


class EnvironmentSpec(_Model):
    """Settings of one environment; each becomes one Pulumi stack."""

    account: Text | None = None
    """AWS account id, GCP project id or Azure subscription id of this environment."""
    region: Text | None = None
    """Overrides cloud.region for this environment."""
    monthly_budget_usd: Float | None = Field(default=None, gt=0)
    """Overrides cost.monthly_budget_usd for this environment."""
    serving: ServingOverride = ServingOverride()
    """Applied to every model in this environment."""
    training: TrainingOverride = TrainingOverride()
    """Applied to every model in this environment."""
    network: Network = Network()
    """The network of this environment; without `vpc` the platform creates one."""


def _default_environments() -> dict[EnvironmentName, EnvironmentSpec]:
    return {name: EnvironmentSpec() for name in ENVIRONMENT_NAMES}


class Blueprint(_Model):
    """An MLOps platform described once; each environment becomes one Pulumi stack."""

    name: Slug
    """Platform name; prefixes every resource name."""
    use_case: Prose = Field(min_length=1, max_length=200)
    organisation: Organisation
    cloud: CloudSpec
    maturity: Maturity
    environments: dict[EnvironmentName, EnvironmentSpec] = Field(default_factory=_default_environments)
    """dev, staging and prod by default; list only the ones you deploy."""
    data: Data = Data()
    feature_store: FeatureStore | None = None
    models: list[ModelSpec] = Field(min_length=1)
    alerts: list[AlertRoute] = []
    """Where alarms go (every model's monitoring uses these routes)."""
    governance: Governance = Governance()
    cost: Cost | None = None
    tags: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")],
        Annotated[Text, StringConstraints(max_length=63)],
    ] = {}
    """Extra tags/labels on every resource (lower-case keys so they are valid on every cloud)."""
