"""plan(blueprint, environment) → Plan: gating, environment overrides and defaults, in one place."""

from __future__ import annotations

from typing import cast

from mlops import clouds  # the facts modules read the plan's types: a module import keeps the cycle harmless
from mlops.blueprint.diagnostics import BlueprintError, Diagnostic
from mlops.blueprint.loader import LoadedBlueprint
from mlops.blueprint.model import (
    Blueprint,
    Cloud,
    Delivery,
    DeliveryStrategy,
    Drift,
    EnvironmentName,
    ModelSpec,
    ServingMode,
)

from .gating import Capability, GateDecision, decide
from .model import (
    ApprovalPlan,
    CostPlan,
    DeliveryPlan,
    DriftPlan,
    GovernancePlan,
    ModelPlan,
    MonitoringPlan,
    NetworkPlan,
    Plan,
    QualityGatePlan,
    QualityPlan,
    RetrainingPlan,
    ServingPlan,
    TrainingPlan,
)
from .schedule import Schedule

MANAGED_BY = "mlops-blueprints"
# Operational (not audit) log retention per environment, in days.
LOG_RETENTION_DAYS = {"dev": 30, "staging": 90, "prod": 365}
# CIS benchmarks (GCP 1.10): customer-managed keys rotate at least every 90 days; every cloud's key follows it.
KEY_ROTATION_DAYS = 90
# A spot job may wait for capacity as long again as it runs.
SPOT_WAIT_FACTOR = 2.0


class PlanError(Exception):
    """The blueprint asks for something its maturity target or environment cannot give."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("; ".join(d.message for d in diagnostics))


def _enabled(decisions: list[GateDecision], capability: Capability) -> bool:
    return any(d.capability == capability and d.enabled for d in decisions)


def _model_plan(bp: Blueprint, env: EnvironmentName, model: ModelSpec, on: set[Capability]) -> ModelPlan:
    override = bp.environments[env]
    production = env == "prod"
    t = model.training
    spot = override.training.spot if override.training.spot is not None else t.spot
    training = TrainingPlan(
        instance=override.training.instance or t.instance,
        instance_count=t.instance_count,
        spot=spot,
        checkpointing=t.checkpointing,
        max_runtime_hours=t.max_runtime_hours,
        max_wait_hours=t.max_runtime_hours * (SPOT_WAIT_FACTOR if spot else 1.0),
        hyperparameters=dict(t.hyperparameters),
        search=t.hyperparameter_search if Capability.hyperparameter_search in on else None,
    ) if Capability.training_pipeline in on else None

    s = model.serving
    online = s.mode != ServingMode.batch
    serving: ServingPlan | None = None
    if Capability.serving in on:
        o = override.serving
        low = o.min_instances if o.min_instances is not None else s.min_instances
        high = o.max_instances if o.max_instances is not None else s.max_instances
        if production and online and s.multi_az:
            low = max(low, 2)  # one instance per availability zone at least
        high = max(high, low)
        d = s.delivery
        strategy, bake_minutes = d.strategy, d.bake_minutes
        if Capability.progressive_delivery not in on or not online:
            # Replaced at once, as a blueprint that writes no delivery would be (its default bake included).
            strategy, bake_minutes = DeliveryStrategy.all_at_once, Delivery().bake_minutes
        elif "strategy" not in d.model_fields_set and s.mode == ServingMode.realtime:
            strategy = DeliveryStrategy.canary
        delivery = DeliveryPlan.of(strategy, d.canary_percent, bake_minutes, d.auto_rollback)
        serving = ServingPlan(
            mode=s.mode,
            instance=override.serving.instance or s.instance,
            min_instances=low,
            max_instances=high,
            multi_az=s.multi_az,
            latency_p99_ms=s.latency_p99_ms,
            autoscaling=s.autoscaling if online and Capability.autoscaling in on else None,
            delivery=delivery,
            # Dev has no real traffic to mirror: shadow testing runs in staging and prod.
            shadow=s.shadow if Capability.shadow_deployment in on and env != "dev" else None,
            batching=s.batching,
            caching=s.caching,
            schedule=Schedule.of(s.schedule) if s.schedule is not None else None,
            output_uri=s.output_uri,
            stream=s.stream,
        )

    m = model.monitoring
    drift = m.drift
    # `drift: null` written in the blueprint switches the default drift monitor off for this model.
    drift_off = drift is None and "drift" in m.model_fields_set
    if drift is None and not drift_off and online and Capability.drift_monitoring in on and serving is not None:
        # The monitoring level asks for drift detection on every online model, by the measure the cloud computes.
        drift = Drift(method=clouds.facts(bp.cloud.provider).default_drift_method)
    q = m.quality
    monitoring = MonitoringPlan(
        drift=DriftPlan(method=drift.method, threshold=drift.threshold, features=tuple(drift.features),
                        schedule=Schedule.of(drift.schedule))
        if drift is not None and Capability.drift_monitoring in on and serving is not None else None,
        quality=QualityPlan(metric=q.metric, threshold=q.threshold, direction=q.direction,
                            label_delay_hours=q.label_delay_hours, schedule=Schedule.of(q.schedule))
        if q is not None and Capability.quality_monitoring in on else None,
        prediction_logging_percent=m.prediction_logging_percent
        if online and serving is not None and Capability.prediction_logging in on else None,
        sre=m.sre.model_copy(update={"latency_p99_ms": m.sre.latency_p99_ms or s.latency_p99_ms})
        if online and serving is not None and Capability.sre_alarms in on else None,
    )

    r = model.retraining
    g = model.quality_gates
    retraining = RetrainingPlan(
        schedule=Schedule.of(r.schedule) if r.schedule is not None and Capability.scheduled_retraining in on
        else None,
        on_drift=r.on_drift and Capability.drift_retraining in on,
        on_performance=r.on_performance and Capability.performance_retraining in on,
        champion_challenger=r.champion_challenger and bool(g.metrics) and Capability.champion_challenger in on,
        min_interval_hours=r.min_interval_hours,
    )
    gates = QualityGatePlan(
        metrics=tuple(g.metrics),
        # Without a metric there is nothing to compare on (an explicit request is a blueprint error).
        compare_to_champion=g.compare_to_champion and bool(g.metrics) and Capability.champion_challenger in on,
        min_improvement=g.min_improvement,
        fairness=tuple(g.fairness),
        max_latency_p99_ms=g.max_latency_p99_ms,
    )
    return ModelPlan(name=model.name, framework=model.framework, training=training, quality_gates=gates,
                     serving=serving, monitoring=monitoring, retraining=retraining)


PINNED_ENVIRONMENTS = ("staging", "prod")
"""Environments that must name their account: the provider is pinned to it (AWS `allowed_account_ids`, the GCP
project, the Azure subscription), so a `pulumi up` with another environment's credentials fails instead of
deploying staging or production wherever the credentials point."""
_ACCOUNT_KIND = {Cloud.aws: "the AWS account id (12 digits)", Cloud.gcp: "the GCP project id",
                 Cloud.azure: "the Azure subscription id"}


def _unpinned(bp: Blueprint, environment: EnvironmentName) -> Diagnostic:
    return Diagnostic(("environments", environment, "account"),
                      "staging and prod must name the account they deploy to, or `pulumi up` deploys them wherever "
                      "the credentials point (or list only the environments you deploy)",
                      got="nothing", allowed=_ACCOUNT_KIND[bp.cloud.provider])


def plan(bp: Blueprint, environment_name: str) -> Plan:
    """The Plan for one environment. Raises PlanError for settings above the maturity target."""
    if environment_name not in bp.environments:
        raise PlanError([Diagnostic(("environments",), "the blueprint does not declare this environment",
                                    got=repr(environment_name), allowed=", ".join(bp.environments))])
    environment = cast(EnvironmentName, environment_name)
    # Reported with the environment's other problems, so that one run shows them all.
    unpinned = [_unpinned(bp, environment)] \
        if environment in PINNED_ENVIRONMENTS and bp.environments[environment].account is None else []
    decisions, violations = decide(bp)
    if violations:
        raise PlanError(unpinned + [Diagnostic(v.path, v.message, got=str(v.got), allowed=v.allowed)
                                    for v in violations])
    on = {d.capability for d in decisions if d.enabled}
    env = bp.environments[environment]
    production = environment == "prod"
    gov = bp.governance
    approval = gov.approvals.get(environment) if Capability.approval_workflow in on else None
    governance = GovernancePlan(
        roles=gov.roles,
        approval=ApprovalPlan(approval=approval, enforced=Capability.enforced_approval in on)
        if approval else None,
        model_card_required=Capability.model_cards in on,
        # Dev is disposable: its audit store keeps (and locks) records only as long as dev keeps its
        # logs, so that a dev stack can be torn down within weeks; staging and prod keep the blueprint's.
        audit_retention_days=min(gov.audit_retention_days, LOG_RETENTION_DAYS["dev"]) if environment == "dev"
        else gov.audit_retention_days,
        # Production audit storage is locked so that nobody can shorten or delete it, at every governance
        # level (the audit-lock policies require it); dev and staging keep an administrator's override.
        audit_lock_mode="compliance" if production and clouds.facts(bp.cloud.provider).locks_audit_storage
        else "governance",
        compliance=tuple(gov.compliance),
        risk_tier=gov.risk_tier,
    )
    budget = env.monthly_budget_usd or (bp.cost.monthly_budget_usd if bp.cost else None)
    cost = CostPlan(
        monthly_budget_usd=budget,
        alert_thresholds_percent=tuple(bp.cost.alert_thresholds_percent) if bp.cost else (50.0, 80.0, 100.0),
        billing_account=bp.cost.billing_account if bp.cost else None,
    ) if budget is not None and Capability.cost_controls in on else None
    mandatory = {
        "mlops-blueprint": bp.name,
        "environment": environment,
        "managed-by": MANAGED_BY,
    }
    result = Plan(
        blueprint=bp.name,
        environment=environment,
        cloud=bp.cloud.provider,
        region=env.region or bp.cloud.region,
        account=env.account,
        organisation=bp.organisation.name,
        team_size=bp.organisation.team_size,
        use_case=bp.use_case,
        prefix=f"{bp.name}-{environment}",
        production=production,
        protect=production,
        network_isolation=environment != "dev",
        network=NetworkPlan(existing_vpc=env.network.vpc, subnets=tuple(env.network.subnets),
                            cidr=env.network.cidr,
                            # A blueprint that names a network for dev runs dev inside it too.
                            isolated=environment != "dev" or env.network.vpc is not None),
        key_rotation_days=KEY_ROTATION_DAYS,
        log_retention_days=LOG_RETENTION_DAYS[environment],
        tags={**mandatory, **bp.tags},
        maturity_current=bp.maturity.current,
        maturity_target=bp.maturity.target,
        gates=tuple(decisions),
        experiment_tracking=Capability.experiment_tracking in on,
        model_registry=Capability.model_registry in on,
        # Freshness is present only where its alert is on: back ends build what the plan holds, nothing more.
        feature_store=(bp.feature_store if Capability.freshness_alerts in on or bp.feature_store is None
                       else bp.feature_store.model_copy(update={"freshness_sla_minutes": None}))
        if Capability.feature_store in on else None,
        models=tuple(_model_plan(bp, environment, m, on) for m in bp.models),
        alerts=tuple(bp.alerts),
        governance=governance,
        cost=cost,
        data_versioning=bp.data.versioning.value,
        databricks=bp.data.databricks,
    )
    # What the cloud's back end cannot honour is an error here, before any Pulumi code runs.
    problems = clouds.unsupported(result, bp)
    if problems or unpinned:
        raise PlanError(unpinned + [Diagnostic(p.path, p.message, got=p.got, allowed=p.allowed) for p in problems])
    return result.model_copy(update={"cautions": tuple(clouds.cautions(result))})


def plan_environments(loaded: LoadedBlueprint, environments: list[str] | None = None) -> list[Plan]:
    """The plans of several environments (default: all declared); a BlueprintError lists every problem of every
    environment at once. A problem found in only some of them names those environments."""
    names = environments if environments is not None else list(loaded.blueprint.environments)
    plans: list[Plan] = []
    found: dict[Diagnostic, list[str]] = {}
    for name in names:
        try:
            plans.append(plan(loaded.blueprint, name))
        except PlanError as exc:
            for diagnostic in exc.diagnostics:
                found.setdefault(diagnostic, []).append(name)
    if not found:
        return plans
    diagnostics = [d if len(where) == len(names) else
                   Diagnostic(d.path, f"{d.message} (in {', '.join(where)})", d.got, d.allowed)
                   for d, where in found.items()]
    raise BlueprintError(loaded.path, diagnostics, loaded.source)


def plan_loaded(loaded: LoadedBlueprint, environment: str) -> Plan:
    """plan() with errors located in the blueprint's file, as a BlueprintError."""
    try:
        return plan(loaded.blueprint, environment)
    except PlanError as exc:
        raise BlueprintError(loaded.path, exc.diagnostics, loaded.source) from None
