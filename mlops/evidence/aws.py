"""What the SageMaker back end's graph must hold for each capability (the AWS evidence table).

Names follow the components' contract: `<prefix>-<area>-<suffix>` for the platform, and
`<prefix>-<model>-<area>-<suffix>` per model (components/aws; golden inventories in tests/golden).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlops.clouds.aws import AWS_OWN_IMAGE_FRAMEWORKS
from mlops.plan import Capability, ModelPlan, Plan

from . import Check, Expect, Rule
from .graph import document

KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
TRAIL = "aws:cloudtrail/trail:Trail"
ROLE = "aws:iam/role:Role"
BUDGET = "aws:budgets/budget:Budget"
FEATURE_GROUP = "aws:sagemaker/featureGroup:FeatureGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
MLFLOW = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
PACKAGE_GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
SCHEDULE = "aws:scheduler/schedule:Schedule"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SCALING_TARGET = "aws:appautoscaling/target:Target"
MODEL_CARD = "aws:sagemaker/modelCard:ModelCard"
MODEL = "aws:sagemaker/model:Model"
REPOSITORY = "aws:ecr/repository:Repository"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"


def baseline_prefix(model: str) -> str:
    """Where the deployer stages the champion's drift baseline and the monitor reads it (the components'
    `names.baseline_prefix`; tests/test_aws_drift_baseline.py checks they agree)."""
    return f"monitoring/{model}/baseline"


def _steps(definition: Any) -> dict[str, dict[str, Any]]:
    doc = document(definition)
    steps = doc.get("Steps") if isinstance(doc, dict) else None
    return {s["Name"]: s for s in steps or [] if isinstance(s, dict) and "Name" in s}


def _parameters(definition: Any) -> dict[str, Any]:
    doc = document(definition)
    parameters = doc.get("Parameters") if isinstance(doc, dict) else None
    return {p["Name"]: p.get("DefaultValue") for p in parameters or [] if isinstance(p, dict) and "Name" in p}


def _has_step(kind: str) -> Check:
    return Check(("pipelineDefinition",), lambda d: any(s.get("Type") == kind for s in _steps(d).values()),
                 f"a {kind} step")


def _watches_alarm(alarm: str) -> Check:
    return Check(("eventPattern",),
                 lambda p: alarm in (((document(p) or {}).get("detail") or {}).get("alarmName") or []),
                 f"a pattern on alarm {alarm}")


def _models(plan: Plan) -> Iterator[tuple[str, ModelPlan]]:
    for m in plan.models:
        yield f"{plan.prefix}-{m.name}", m


def _image_repository(base: str, m: ModelPlan) -> Iterator[Expect]:
    """The repository a model's own image runs from: tags immutable, scanned on push, KMS-encrypted."""
    if m.framework in AWS_OWN_IMAGE_FRAMEWORKS:
        yield Expect(REPOSITORY, f"{base}-images-repository", (
            Check(("imageTagMutability",), "IMMUTABLE"), Check(("imageScanningConfiguration", "scanOnPush"), True),
            Check(("encryptionConfigurations", 0, "encryptionType"), "KMS")), why=f"{m.name} own image")


# --------------------------------------------------------------------------- platform


def _foundation(plan: Plan) -> Iterator[Expect]:
    yield Expect(KEY, f"{plan.prefix}-foundation-key", (Check(("enableKeyRotation",), True),))
    for bucket in ("data", "artifacts"):
        yield Expect(BUCKET, f"{plan.prefix}-foundation-{bucket}-bucket")


def _audit_trail(plan: Plan) -> Iterator[Expect]:
    g = plan.governance
    yield Expect(OBJECT_LOCK, f"{plan.prefix}-foundation-audit-object-lock", (
        Check(("rule", "defaultRetention", "days"), g.audit_retention_days),
        Check(("rule", "defaultRetention", "mode"), g.audit_lock_mode.upper())))
    yield Expect(TRAIL, f"{plan.prefix}-governance-trail")


def _rbac(plan: Plan) -> Iterator[Expect]:
    # A role per persona the blueprint names principals for (a trust policy needs one): AwsGovernance builds
    # no role nobody may assume. Approvers are the approver role's and the environment's approval's.
    roles, approval = plan.governance.roles, plan.governance.approval
    principals = {"data-scientist": roles.data_scientist, "ml-engineer": roles.ml_engineer,
                  "approver": [*roles.approver, *(approval.approval.approvers if approval else [])]}
    for persona, named in principals.items():
        if named:
            yield Expect(ROLE, f"{plan.prefix}-governance-{persona}", why=f"{persona} principals")


def _cost(plan: Plan) -> Iterator[Expect]:
    if plan.cost is not None:
        yield Expect(BUDGET, f"{plan.prefix}-cost-budget",
                     (Check(("limitAmount",), f"{plan.cost.monthly_budget_usd:.2f}"),))


def _feature_store(plan: Plan) -> Iterator[Expect]:
    store = plan.feature_store
    for entity in store.entities if store else ():
        yield Expect(FEATURE_GROUP, f"{plan.prefix}-features-{entity.name}", why=f"entity {entity.name}")


def _freshness(plan: Plan) -> Iterator[Expect]:
    store = plan.feature_store
    if store is None or store.freshness_sla_minutes is None:
        return
    for entity in store.entities:
        yield Expect(ALARM, f"{plan.prefix}-features-{entity.name}-freshness",
                     (Check(("period",), store.freshness_sla_minutes * 60),))


def _all_steps(definition: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for step in _steps(definition).values():
        found.append(step)
        arguments = step.get("Arguments") or {}
        found += [s for s in (*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])) if isinstance(s, dict)]
    return found


def _statement_allows(policy: Any, action: str, resource_part: str) -> bool:
    statements = (document(policy) or {}).get("Statement") or []
    for s in statements:
        actions = s.get("Action") if isinstance(s.get("Action"), list) else [s.get("Action")]
        resources = s.get("Resource") if isinstance(s.get("Resource"), list) else [s.get("Resource")]
        if s.get("Effect") == "Allow" and action in actions and any(resource_part in str(r) for r in resources):
            return True
    return False


def _tracking(plan: Plan) -> Iterator[Expect]:
    yield Expect(MLFLOW, f"{plan.prefix}-tracking-server")
    server = f"{plan.prefix}-tracking-server"  # the logical name: the mocks' ARN carries it

    def tracked(d: Any) -> bool:
        # Jobs that can reach the server (not network-isolated) carry its ARN as MLFLOW_TRACKING_URI.
        uris = [((s.get("Arguments") or {}).get("Environment") or {}).get("MLFLOW_TRACKING_URI")
                for s in _all_steps(d)]
        return any(isinstance(u, str) and u.endswith(server) for u in uris)
    for base, m in _models(plan):
        if m.training is None:
            continue
        yield Expect(PIPELINE, f"{base}-training-pipeline", (Check(
            ("pipelineDefinition",), tracked, f"a job with MLFLOW_TRACKING_URI = the {server} ARN"),),
            why=f"{m.name}: runs log to MLflow")
        yield Expect(ROLE_POLICY, f"{base}-training-policy", (Check(
            ("policy",), lambda p: _statement_allows(p, "sagemaker-mlflow:CreateRun", server),
            f"sagemaker-mlflow:CreateRun on {server}"),), why=f"{m.name}: its jobs may log runs")


def _cards(plan: Plan) -> Iterator[Expect]:
    for m in plan.models:
        yield Expect(MODEL_CARD, f"{plan.prefix}-governance-card-{m.name}", why=m.name)


def _approver(plan: Plan) -> Iterator[Expect]:
    if plan.governance.approval is not None:
        yield Expect(ROLE, f"{plan.prefix}-governance-approver")


# --------------------------------------------------------------------------- pipelines and registry


def _training(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if m.training is None:
            continue
        gates = [Check(("pipelineDefinition",),
                       lambda d, key=f"{'Min' if g.direction.value == 'at_least' else 'Max'}-{g.metric}",
                       want=g.threshold: _parameters(d).get(key) == want,
                       f"gate parameter {g.metric} = {g.threshold:g}") for g in m.quality_gates.metrics]
        yield Expect(PIPELINE, f"{base}-training-pipeline", (_has_step("Condition"), *gates), why=m.name)
        yield from _image_repository(base, m)


def _search(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        search = m.training.search if m.training else None
        if search is None:
            continue
        def trials(d: Any, want: int = search.max_trials) -> bool:
            tune = _steps(d).get("Tune") or {}
            limits = ((tune.get("Arguments") or {}).get("HyperParameterTuningJobConfig") or {}).get(
                "ResourceLimits") or {}
            return limits.get("MaxNumberOfTrainingJobs") == want
        tune = Check(("pipelineDefinition",), trials, f"a Tune step of {search.max_trials} trials")
        yield Expect(PIPELINE, f"{base}-training-pipeline", (tune,), why=m.name)


def _registry(plan: Plan) -> Iterator[Expect]:
    for m in plan.models:
        yield Expect(PACKAGE_GROUP, f"{plan.prefix}-registry-{m.name}-group", why=m.name)


def _champion(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if m.training is not None and m.quality_gates.compare_to_champion:
            yield Expect(PIPELINE, f"{base}-training-pipeline", (Check(
                ("pipelineDefinition",), lambda d, want=m.quality_gates.min_improvement:
                _parameters(d).get("MinImprovement") == want,
                f"MinImprovement = {m.quality_gates.min_improvement:g}"),), why=m.name)


def _scheduled(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if m.retraining.schedule is not None:
            yield Expect(SCHEDULE, f"{base}-retraining-schedule",
                         (Check(("target", "arn"), lambda arn: isinstance(arn, str) and "pipeline" in arn,
                                "the training pipeline"),), why=m.name)


def _on_drift(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if m.retraining.on_drift:
            yield Expect(EVENT_RULE, f"{base}-retraining-on-drift", (_watches_alarm(f"{base}-drift"),), why=m.name)
            yield Expect(ALARM, f"{base}-monitoring-drift-alarm", why=f"{m.name}: the alarm retraining listens to")


def _on_performance(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if m.retraining.on_performance:
            yield Expect(EVENT_RULE, f"{base}-retraining-on-performance", (_watches_alarm(f"{base}-quality"),),
                         why=m.name)
            yield Expect(ALARM, f"{base}-monitoring-quality-alarm", why=f"{m.name}: the alarm retraining listens to")


# --------------------------------------------------------------------------- serving and monitoring


def _realtime(plan: Plan) -> Iterator[tuple[str, ModelPlan]]:
    for base, m in _models(plan):
        if m.serving is not None and m.serving.mode.value == "realtime":
            yield base, m


def _serving(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if m.serving is None:
            continue
        yield from _image_repository(base, m)
        if m.serving.mode.value == "batch":
            yield Expect(SCHEDULE, f"{base}-batch-schedule", why=f"{m.name} batch runs")
            continue
        yield Expect(ENDPOINT, f"{base}-serving-endpoint", why=m.name)
        # Batching and caching reach the serving container as environment variables (names per image).
        wanted = [str(v) for v in (m.serving.batching.max_batch_size if m.serving.batching else None,
                                   m.serving.caching.ttl_seconds if m.serving.caching else None) if v is not None]
        if wanted:
            yield Expect(MODEL, f"{base}-serving-model", (Check(
                ("primaryContainer", "environment"),
                lambda env, want=tuple(wanted): isinstance(env, dict) and all(w in env.values() for w in want),
                f"the container environment carrying {', '.join(wanted)}"),), why=f"{m.name} batching/caching")


def _autoscaling(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        s = m.serving
        if s is not None and s.autoscaling is not None:
            yield Expect(SCALING_TARGET, f"{base}-serving-scaling-target",
                         (Check(("minCapacity",), s.min_instances), Check(("maxCapacity",), s.max_instances)),
                         why=m.name)


def _delivery(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        s = m.serving
        assert s is not None
        d = s.delivery
        if d.strategy.value == "all_at_once":
            continue
        if d.strategy.value == "rolling":
            checks = (Check(("deploymentConfig", "rollingUpdatePolicy", "maximumBatchSize", "value"),
                            d.steps[0]),)
        else:
            routing = ("deploymentConfig", "blueGreenUpdatePolicy", "trafficRoutingConfiguration")
            kind = "CANARY" if d.strategy.value == "canary" else "ALL_AT_ONCE"
            checks = (Check((*routing, "type"), kind),
                      Check((*routing, "waitIntervalInSeconds"), d.bake_minutes * 60))
            if kind == "CANARY":
                checks += (Check((*routing, "canarySize", "value"), d.steps[0]),)
        yield Expect(ENDPOINT, f"{base}-serving-endpoint", checks, why=f"{m.name} {d.strategy.value}")


def _shadow(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        s = m.serving
        if s is not None and s.shadow is not None:
            yield Expect(ENDPOINT_CONFIG, f"{base}-serving-config", (Check(
                ("shadowProductionVariants", 0, "initialVariantWeight"), s.shadow.sample_percent / 100),),
                why=m.name)


def _sre(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        sre = m.monitoring.sre
        if sre is None:
            continue
        yield Expect(ALARM, f"{base}-monitoring-invocation-errors-alarm",
                     (Check(("threshold",), sre.error_rate_percent),), why=m.name)
        yield Expect(ALARM, f"{base}-monitoring-utilization-alarm", why=m.name)
        if sre.latency_p99_ms is not None:
            yield Expect(ALARM, f"{base}-serving-latency-alarm",
                         (Check(("threshold",), sre.latency_p99_ms * 1000),), why=f"{m.name} (microseconds)")


def _capture(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        percent = m.monitoring.prediction_logging_percent
        if percent is not None:
            yield Expect(ENDPOINT_CONFIG, f"{base}-serving-config", (
                Check(("dataCaptureConfig", "enableCapture"), True),
                Check(("dataCaptureConfig", "initialSamplingPercentage"), int(percent))), why=m.name)


def _baselined(d: Any) -> bool:
    """The pipeline computes the drift baseline and registers it with the version it trained."""
    steps = {s.get("Name"): s for s in _all_steps(d)}
    baseline, register = steps.get("Baseline") or {}, steps.get("Register") or {}
    quality = (((register.get("Arguments") or {}).get("ModelMetrics") or {}).get("ModelDataQuality") or {})
    return (baseline.get("Type") == "Processing" and "Baseline" in (register.get("DependsOn") or [])
            and quality.get("Statistics", {}).get("S3Uri") == {
                "Get": "Steps.RunContext.OutputParameters['BaselineStatisticsUri']"}
            and quality.get("Constraints", {}).get("S3Uri") == {
                "Get": "Steps.RunContext.OutputParameters['BaselineConstraintsUri']"})


def _drift_baseline(plan: Plan, base: str, m: ModelPlan) -> Iterator[Expect]:
    """The drift job's baseline exists and is wired: computed and registered by the training pipeline,
    staged on approval by the deployer where the drift job reads it (checked with the drift schedule)."""
    prefix = baseline_prefix(m.name)
    # Without training or a registry nothing computes or stages a baseline: this check then fails.
    yield Expect(PIPELINE, f"{base}-training-pipeline", (Check(
        ("pipelineDefinition",), _baselined, "a Baseline step registered as ModelMetrics.ModelDataQuality"),),
        why=f"{m.name} drift baseline")
    yield Expect(OBJECT, f"{base}-training-baseline-script", why=f"{m.name}: the Baseline step's script")
    yield Expect(FUNCTION, f"{base}-deployer-function-function", (Check(
        ("environment", "variables", "BASELINE_PREFIX"), prefix),), why=f"{m.name}: stages the champion's baseline")


# The monitoring jobs' contract (components/aws/monitoring.py; tests/test_aws_monitoring.py checks they agree).
PROCESSING_TARGET = "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob"


def metrics_namespace(plan: Plan) -> str:
    """The platform's CloudWatch namespace of drift and quality metrics (`names.metrics_namespace`)."""
    return f"mlops/{plan.prefix}"


def _job(value: Any) -> dict[str, Any]:
    """The CreateProcessingJob request a schedule's target sends ({} when the input is not one)."""
    request = document(value)
    return request if isinstance(request, dict) else {}


def _protected(request: dict[str, Any]) -> bool:
    """KMS on the job's volumes and outputs, inter-container traffic encrypted."""
    cluster = (request.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    return bool(cluster.get("VolumeKmsKeyId")) and bool((request.get("ProcessingOutputConfig") or {}).get(
        "KmsKeyId")) and (request.get("NetworkConfig") or {}).get("EnableInterContainerTrafficEncryption") is True


def _scheduled_job(plan: Plan, m: ModelPlan, kind: str, schedule: Any, wanted: dict[str, str]) -> tuple[Check, ...]:
    """Schedule → job: the cron's minute and hour, the processing job of this model with the blueprint's values."""
    minute, hour = schedule.fields()[:2]
    env = {"MLOPS_KIND": kind, "MLOPS_MODEL": m.name, "MLOPS_NAMESPACE": metrics_namespace(plan),
           "MLOPS_PERIOD_HOURS": str(schedule.period_hours), **wanted}

    def carries(value: Any) -> bool:
        request = _job(value)
        environment = request.get("Environment") or {}
        return _protected(request) and all(environment.get(k) == v for k, v in env.items())
    shown = ", ".join(f"{k}={v}" for k, v in env.items())
    return (Check(("target", "arn"), PROCESSING_TARGET),
            Check(("scheduleExpression",), lambda e: isinstance(e, str) and e.startswith(f"cron({minute} {hour} "),
                  f"cron({minute} {hour} …)"),
            Check(("target", "input"), carries, f"a KMS-protected processing job with {shown}"))


def _drift(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        drift = m.monitoring.drift
        if drift is None:
            continue
        yield from _drift_baseline(plan, base, m)
        baseline = f"/{baseline_prefix(m.name)}/statistics.json"
        yield Expect(SCHEDULE, f"{base}-monitoring-drift-schedule", (
            *_scheduled_job(plan, m, "drift", drift.schedule, {
                "MLOPS_METHOD": drift.method.value, "MLOPS_THRESHOLD": f"{drift.threshold:g}",
                "MLOPS_FEATURES": ",".join(drift.features)}),
            Check(("target", "input"), lambda v, want=baseline: str(
                (_job(v).get("Environment") or {}).get("MLOPS_BASELINE_URI", "")).endswith(want),
                f"the baseline …{baseline}")), why=f"{m.name}: the drift job")
        yield Expect(ALARM, f"{base}-monitoring-drift-alarm", (
            Check(("namespace",), metrics_namespace(plan)), Check(("metricName",), f"mlops_drift_{drift.method.value}"),
            Check(("dimensions",), {"Model": m.name}), Check(("threshold",), drift.threshold),
            Check(("comparisonOperator",), "GreaterThanThreshold")), why=f"{m.name}: watches the drift job's metric")


def _quality(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        q = m.monitoring.quality
        if q is None:
            continue
        truth = f"/ground-truth/{m.name}/"
        yield Expect(SCHEDULE, f"{base}-monitoring-quality-schedule", (
            *_scheduled_job(plan, m, "quality", q.schedule, {
                "MLOPS_METRIC": q.metric, "MLOPS_THRESHOLD": f"{q.threshold:g}", "MLOPS_DIRECTION": q.direction.value,
                "MLOPS_LABEL_DELAY_HOURS": str(q.label_delay_hours)}),
            Check(("target", "input"), lambda v, want=truth: str(
                (_job(v).get("Environment") or {}).get("MLOPS_GROUND_TRUTH_URI", "")).endswith(want),
                f"ground truth under …{truth}")), why=f"{m.name}: the quality job")
        below = q.direction.value == "at_least"
        yield Expect(ALARM, f"{base}-monitoring-quality-alarm", (
            Check(("namespace",), metrics_namespace(plan)), Check(("metricName",), f"mlops_quality_{q.metric}"),
            Check(("dimensions",), {"Model": m.name}), Check(("threshold",), q.threshold),
            Check(("comparisonOperator",), "LessThanThreshold" if below else "GreaterThanThreshold")),
            why=f"{m.name}: watches the quality job's metric")


def _approval(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if m.serving is not None:
            yield Expect(EVENT_RULE, f"{base}-deployer-rule", (Check(
                ("eventPattern",), lambda p: "Approved" in str(p), "approved versions"),), why=m.name)


RULES: dict[Capability, Rule] = {
    Capability.foundation: _foundation,
    Capability.audit_trail: _audit_trail,
    Capability.rbac_roles: _rbac,
    Capability.cost_controls: _cost,
    Capability.feature_store: _feature_store,
    Capability.freshness_alerts: _freshness,
    Capability.experiment_tracking: _tracking,
    Capability.training_pipeline: _training,
    Capability.hyperparameter_search: _search,
    Capability.model_registry: _registry,
    Capability.champion_challenger: _champion,
    Capability.scheduled_retraining: _scheduled,
    Capability.drift_retraining: _on_drift,
    Capability.performance_retraining: _on_performance,
    Capability.serving: _serving,
    Capability.autoscaling: _autoscaling,
    Capability.progressive_delivery: _delivery,
    Capability.shadow_deployment: _shadow,
    Capability.sre_alarms: _sre,
    Capability.prediction_logging: _capture,
    Capability.drift_monitoring: _drift,
    Capability.quality_monitoring: _quality,
    Capability.approval_workflow: _approval,
    Capability.enforced_approval: _approver,
    Capability.model_cards: _cards,
}
