"""The Plan: blueprint x environment after gating, overrides and defaults. Plain, frozen data.

Back ends read only this. It reuses the blueprint's setting types where a setting passes
through unchanged, and resolves everything that depends on the environment. After `plan()` nothing
is left to decide: schedules are `Schedule`s (cron and period once, for every cloud), delivery is the
list of traffic steps in whole percentages.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from mlops.blueprint.model import (
    AlertRoute,
    Approval,
    Autoscaling,
    Batching,
    Caching,
    Cloud,
    Compliance,
    DeliveryStrategy,
    Direction,
    DriftMethod,
    EnvironmentName,
    FairnessGate,
    FeatureStore,
    HyperparameterSearch,
    InstanceSize,
    MaturityLevels,
    MetricThreshold,
    RiskTier,
    Roles,
    ServingMode,
    Shadow,
    SreThresholds,
)

from .gating import Capability, GateDecision
from .schedule import Schedule


class _Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrainingPlan(_Plan):
    instance: InstanceSize | str
    instance_count: int
    spot: bool
    checkpointing: bool
    max_runtime_hours: float
    max_wait_hours: float
    """How long a spot job may wait for capacity and run in total (equals max_runtime without spot)."""
    hyperparameters: dict[str, str | int | float | bool]
    search: HyperparameterSearch | None
    """Hyperparameter search, when the experiment-tracking level allows it."""


class QualityGatePlan(_Plan):
    metrics: tuple[MetricThreshold, ...]
    compare_to_champion: bool
    min_improvement: float
    fairness: tuple[FairnessGate, ...]
    max_latency_p99_ms: int | None


class DeliveryPlan(_Plan):
    """How a new version takes over an endpoint: the strategy and the new version's share after each step."""

    strategy: DeliveryStrategy
    steps: tuple[int, ...]
    """The new version's share of traffic after each step, whole percentages ending at 100 (see `of`). On AWS
    the first step is a share of the endpoint's instances (SageMaker sizes canaries and rolling batches so)."""
    bake_minutes: int
    """How long each step is watched before traffic moves on."""
    auto_rollback: bool
    """Roll back automatically when the serving alarms fire during a rollout."""

    @classmethod
    def of(cls, strategy: DeliveryStrategy, canary_percent: float, bake_minutes: int,
           auto_rollback: bool) -> DeliveryPlan:
        """The steps of a strategy: canary (p, 100); rolling (p, 2p, … below 100, 100); blue_green and
        all_at_once (100,). `canary_percent` is a whole number from 1 to 99 (the blueprint rule
        `delivery-step-percent` refuses others); ValueError otherwise, where it would be a step."""
        steps: tuple[int, ...] = (100,)
        if strategy in (DeliveryStrategy.canary, DeliveryStrategy.rolling):
            if not (float(canary_percent).is_integer() and 1 <= canary_percent <= 99):
                raise ValueError(f"canary_percent {canary_percent:g} is not a whole number from 1 to 99")
            share = int(canary_percent)
            steps = (share, 100) if strategy == DeliveryStrategy.canary else (*range(share, 100, share), 100)
        return cls(strategy=strategy, steps=steps, bake_minutes=bake_minutes, auto_rollback=auto_rollback)


class ServingPlan(_Plan):
    mode: ServingMode
    instance: InstanceSize | str
    min_instances: int
    max_instances: int
    multi_az: bool
    latency_p99_ms: int | None
    autoscaling: Autoscaling | None
    delivery: DeliveryPlan
    """all_at_once when progressive delivery is gated off."""
    shadow: Shadow | None
    batching: Batching | None
    caching: Caching | None
    schedule: Schedule | None
    """Batch mode: when predictions run."""
    output_uri: str | None
    stream: str | None


class DriftPlan(_Plan):
    """Drift monitoring of a model's live inputs."""

    method: DriftMethod
    threshold: float
    features: tuple[str, ...]
    """Features to watch; empty means every feature of the model."""
    schedule: Schedule


class QualityPlan(_Plan):
    """Quality monitoring: a metric on labelled production predictions."""

    metric: str
    threshold: float
    direction: Direction
    label_delay_hours: int
    """How long ground-truth labels take to arrive."""
    schedule: Schedule


class MonitoringPlan(_Plan):
    drift: DriftPlan | None
    quality: QualityPlan | None
    prediction_logging_percent: float | None
    sre: SreThresholds | None
    """SRE alarm thresholds (latency defaults to the serving SLA); None when SRE alarms are gated off."""


class RetrainingPlan(_Plan):
    schedule: Schedule | None
    on_drift: bool
    on_performance: bool
    champion_challenger: bool
    min_interval_hours: int


class ModelPlan(_Plan):
    name: str
    framework: str
    training: TrainingPlan | None
    quality_gates: QualityGatePlan
    serving: ServingPlan | None
    monitoring: MonitoringPlan
    retraining: RetrainingPlan


class ApprovalPlan(_Plan):
    approval: Approval
    enforced: bool
    """True when only the approver role can approve (governance level >= 2)."""


class GovernancePlan(_Plan):
    roles: Roles
    approval: ApprovalPlan | None
    """Approval needed to promote into this environment."""
    model_card_required: bool
    audit_retention_days: int
    """The blueprint's in staging and prod; in dev at most dev's log retention (dev is disposable)."""
    audit_lock_mode: Literal["governance", "compliance"]
    """compliance: nobody, not even an administrator, can shorten or delete (always in prod)."""
    compliance: tuple[Compliance, ...]
    risk_tier: RiskTier


class NetworkPlan(_Plan):
    existing_vpc: str | None
    """Use this network (blueprint `network.vpc`); None: the platform creates one."""
    subnets: tuple[str, ...]
    cidr: str
    isolated: bool
    """Jobs, models and tracking run without internet access, inside the network (staging, prod, and
    dev when the blueprint names a network for it)."""


class CostPlan(_Plan):
    monthly_budget_usd: float
    alert_thresholds_percent: tuple[float, ...]
    billing_account: str | None = None
    """The Cloud Billing account a GCP budget watches (blueprint `cost.billing_account`)."""


class Caution(_Plan):
    """Something the plan builds as asked that behaves differently than its words suggest on this cloud.

    Not an error (the setting is honoured as far as the cloud can), but a reader must know: `validate`, `plan`
    and `synth` print each as a located warning, and the plan's JSON carries them."""

    path: tuple[str | int, ...]
    message: str


class Plan(_Plan):
    """Everything one environment's stack builds, cloud-neutral."""

    blueprint: str
    environment: EnvironmentName
    cloud: Cloud
    region: str
    account: str | None
    organisation: str
    team_size: int
    """Engineers working on ML (sizes shared services such as the experiment tracking server)."""
    use_case: str
    prefix: str
    """`<blueprint>-<environment>`: starts every logical resource name."""
    production: bool
    protect: bool
    """Stateful resources are protected and retained on delete."""
    network_isolation: bool
    network: NetworkPlan
    key_rotation_days: int
    log_retention_days: int
    tags: dict[str, str]
    maturity_current: MaturityLevels
    maturity_target: MaturityLevels
    gates: tuple[GateDecision, ...]
    experiment_tracking: bool
    """The tracking server / experiment store is built (experiment_tracking gate)."""
    model_registry: bool
    """Models are versioned in the registry (model_registry gate)."""
    feature_store: FeatureStore | None
    """The feature store; its `freshness_sla_minutes` is None unless freshness alerts are on."""
    models: tuple[ModelPlan, ...]
    alerts: tuple[AlertRoute, ...]
    governance: GovernancePlan
    cost: CostPlan | None
    data_versioning: str
    databricks: bool
    cautions: tuple[Caution, ...] = ()
    """What the cloud honours differently than the blueprint's words suggest (see `Caution`)."""

    def enabled(self, capability: Capability) -> bool:
        """Whether gating turned a capability on (the plan's documents and evidence ask this; back ends read the
        resolved fields instead, which already say what to build)."""
        return any(g.capability == capability and g.enabled for g in self.gates)

    @property
    def guarded(self) -> bool:
        """Production, or an environment whose promotion only approvers may make: where the other personas must
        not be able to change what is served (or move a model alias) themselves."""
        approval = self.governance.approval
        return self.production or (approval is not None and approval.enforced)

    @property
    def capabilities(self) -> tuple[Capability, ...]:
        return tuple(g.capability for g in self.gates if g.enabled)
