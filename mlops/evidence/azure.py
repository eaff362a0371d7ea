"""What the Azure ML back end's graph must hold for each capability (the Azure evidence table).

Names follow the components' contract: `<prefix>-<area>-<suffix>` for the platform and
`<prefix>-<model>-<area>-<suffix>` per model (components/azure; golden inventories in tests/golden).

Azure ML has no pipeline *definition* resource: a pipeline is a job, so the training DAG with the
blueprint's quality gates, sweep budget and model card exists in the graph only inside what submits
it — the retraining `Schedule`'s CreateJob action and the retraining workflow (Logic App) of
event-driven retraining. The rules read the job body there (`_submitters`).

The blueprint's words are restated here in Azure's vocabulary (drift methods, sweep
samplers) rather than imported from components/azure, so that a component that changes their
meaning is caught, and so that this module imports no pulumi.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mlops.blueprint.model import (
    DeliveryStrategy,
    Direction,
    DriftMethod,
    FairnessMetric,
    SearchStrategy,
    ServingMode,
)
from mlops.plan import Capability, ModelPlan, Plan

from . import Check, Expect, Rule
from .graph import document, encoded_document, value_at

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
STORAGE = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
LOGS = "azure-native:operationalinsights:Workspace"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
SUBSCRIPTION_DIAGNOSTICS = "azure-native:monitor:SubscriptionDiagnosticSetting"
LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
ROLE = "azure-native:authorization:RoleDefinition"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
BUDGET = "azure-native:consumption:Budget"
ML = "azure-native:machinelearningservices:"
WORKSPACE = ML + "Workspace"
ENTITY_VERSION = ML + "FeaturestoreEntityVersion"
FEATURESET_VERSION = ML + "FeaturesetVersion"
CONNECTION = ML + "WorkspaceConnection"
REDIS = "azure-native:redis:Redis"
REGISTRY = ML + "Registry"
COMPUTE = ML + "Compute"
COMPONENT = ML + "ComponentVersion"
SCHEDULE = ML + "Schedule"
DATASTORE = ML + "Datastore"
ONLINE_ENDPOINT = ML + "OnlineEndpoint"
ONLINE_DEPLOYMENT = ML + "OnlineDeployment"
BATCH_ENDPOINT = ML + "BatchEndpoint"
BATCH_DEPLOYMENT = ML + "BatchDeployment"
ARM_DEPLOYMENT = "azure-native:resources:Deployment"
WORKFLOW = "azure-native:logic:Workflow"
TOPIC = "azure-native:eventgrid:SystemTopic"
EVENT_SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"

DRIFT_METRIC: dict[DriftMethod, str] = {
    DriftMethod.psi: "PopulationStabilityIndex",
    DriftMethod.jensen_shannon: "JensenShannonDistance",
    DriftMethod.wasserstein: "NormalizedWassersteinDistance",
    DriftMethod.ks: "TwoSampleKolmogorovSmirnovTest",
}
"""Azure ML's name of each drift method (on numerical features; l_infinity is refused by the plan)."""
SAMPLER: dict[SearchStrategy, str] = {SearchStrategy.random: "random", SearchStrategy.grid: "grid",
                                      SearchStrategy.bayesian: "bayesian",
                                      # Documented fallback: random sampling with Bandit early termination.
                                      SearchStrategy.hyperband: "random"}
FAIRNESS_DIRECTION: dict[FairnessMetric, Direction] = {
    # Which side of a fairness threshold passes: differences at most, the disparate impact ratio at least.
    FairnessMetric.demographic_parity_difference: Direction.at_most,
    FairnessMetric.equal_opportunity_difference: Direction.at_most,
    FairnessMetric.disparate_impact_ratio: Direction.at_least,
}
REGISTRY_WRITE = "Microsoft.MachineLearningServices/registries/assets/write"
"""Promoting a version into the registry: the approval."""
JOB = ("properties", "action", "jobDefinition")
WORKFLOW_ACTIONS = ("definition", "actions", "route", "else", "actions")
WORKFLOW_JOB = (*WORKFLOW_ACTIONS, "submit", "inputs", "body", "properties")
_ISO = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$")


# --------------------------------------------------------------------------- small readers


def _seconds(iso: Any) -> int | None:
    """Seconds of an ISO-8601 duration (`P1D`, `PT2H30M`); None if it is not one."""
    match = _ISO.match(iso) if isinstance(iso, str) else None
    if match is None:
        return None
    d, h, m, s = (int(match[k] or 0) for k in "dhms")
    return ((d * 24 + h) * 60 + m) * 60 + s


def _json(value: Any) -> dict[str, Any]:
    """A JSON object passed as a string (job inputs, deployer configuration); {} if it is not one."""
    doc = document(value)
    return doc if isinstance(doc, dict) else {}


def _object_id(principal: str) -> str:
    """The Entra ID object id a blueprint principal names (`group:`/`user:`/`sp:` prefixes, or bare)."""
    return principal.rpartition(":")[2].lower()


def _unique(principals: Any) -> list[str]:
    """Object ids in order, each once (the components assign each principal once, numbered in this order)."""
    return list(dict.fromkeys(_object_id(p) for p in principals))


def _check(path: tuple[str | int, ...], test: Callable[[Any], bool], label: str) -> Check:
    return Check(path, test, label)


def _models(plan: Plan) -> Iterator[tuple[str, ModelPlan]]:
    for m in plan.models:
        yield f"{plan.prefix}-{m.name}", m


def _served(plan: Plan, mode: ServingMode) -> Iterator[tuple[str, ModelPlan]]:
    for base, m in _models(plan):
        if m.serving is not None and m.serving.mode == mode:
            yield base, m


# --------------------------------------------------------------------------- the pipeline job body


@dataclass(frozen=True)
class _Submitter:
    """A resource that submits a model's pipeline job, and where its job body is."""

    type: str
    name: str
    job: tuple[str | int, ...]
    why: str


def _submitters(plan: Plan, base: str, m: ModelPlan) -> list[_Submitter]:
    """Where the graph holds the model's pipeline job: its retraining schedule and retraining workflow.

    With neither, nothing in the graph submits the job, so its gates exist nowhere: the schedule is
    expected then, as the place where a pipeline without event triggers keeps its definition.
    """
    found = []
    if m.retraining.schedule is not None or not (m.retraining.on_drift or m.retraining.on_performance):
        why = f"{m.name}: the scheduled pipeline job" if m.retraining.schedule is not None else (
            f"{m.name}: nothing submits the pipeline job, so its quality gates are nowhere in the graph")
        found.append(_Submitter(SCHEDULE, f"{base}-training-retraining", JOB, why))
    if m.retraining.on_drift or m.retraining.on_performance:
        found.append(_Submitter(WORKFLOW, f"{plan.prefix}-retraining-{m.name}-workflow", WORKFLOW_JOB,
                                f"{m.name}: the pipeline job event-driven retraining submits"))
    return found


def _literal_input(job: Any, key: str) -> dict[str, Any]:
    """A pipeline input the job carries as base64url JSON (blueprint text never meets the step's shell)."""
    doc = encoded_document(value_at(job, "inputs", key, "value"))
    return doc if isinstance(doc, dict) else {}


def _gate(label: str, direction: str, threshold: float) -> Callable[[Any], bool]:
    def holds(job: Any) -> bool:
        return {"label": label, "direction": direction, "threshold": threshold} in [
            {k: g.get(k) for k in ("label", "direction", "threshold")}
            for g in _literal_input(job, "gates").get("gates") or [] if isinstance(g, dict)]
    return holds


def _gate_checks(m: ModelPlan, path: tuple[str | int, ...]) -> Iterator[Check]:
    q = m.quality_gates
    for metric in q.metrics:
        yield _check(path, _gate(metric.metric, metric.direction.value, metric.threshold),
                     f"a gate {metric.metric} {metric.direction.value} {metric.threshold:g}")
    for fair in q.fairness:
        direction = FAIRNESS_DIRECTION[fair.metric].value
        yield _check(path, _gate(fair.metric.value, direction, fair.threshold),
                     f"a fairness gate {fair.metric.value} {fair.threshold:g}")
    if q.max_latency_p99_ms is not None:
        yield _check(path, _gate("p99 latency (ms)", "at_most", q.max_latency_p99_ms),
                     f"a latency gate at most {q.max_latency_p99_ms} ms")


def _train_node(job: Any) -> dict[str, Any]:
    node = value_at(job, "jobs", "train")
    return node if isinstance(node, dict) else {}


def _runtime(hours: float) -> Callable[[Any], bool]:
    def holds(job: Any) -> bool:
        limits = _train_node(job).get("limits") or {}
        timeout = limits.get("trial_timeout") if "trial_timeout" in limits else _seconds(limits.get("timeout"))
        return timeout == round(hours * 3600)
    return holds


def _nodes(count: int) -> Callable[[Any], bool]:
    """Each training run (every sweep trial too) uses the blueprint's instance count."""
    def holds(job: Any) -> bool:
        node = _train_node(job)
        found = value_at(node, "resources", "instance_count") or value_at(node, "trial", "resources", "instance_count")
        return (found or 1) == count
    return holds


def _pipeline_checks(m: ModelPlan, path: tuple[str | int, ...]) -> tuple[Check, ...]:
    t = m.training
    assert t is not None
    steps = ("validate", "train", "evaluate", "quality_gates", "register")
    checks = [
        _check((*path, "jobs"), lambda jobs: isinstance(jobs, dict) and all(s in jobs for s in steps),
               "the validate → train → evaluate → quality_gates → register DAG"),
        *_gate_checks(m, path),
        _check(path, _runtime(t.max_runtime_hours), f"training limited to {t.max_runtime_hours:g} h"),
        _check(path, _nodes(t.instance_count), f"{t.instance_count} training node(s) per run"),
    ]
    if t.checkpointing:
        # A preempted (low-priority) run resumes from its checkpoints.
        checks.append(_check((*path, "jobs", "train", "outputs"), lambda out: "checkpoints" in (out or {}),
                             "a checkpoints output"))
    return tuple(checks)


def _sweep(search: Any, parallel: int) -> Callable[[Any], bool]:
    def holds(job: Any) -> bool:
        node = _train_node(job)
        limits = node.get("limits") or {}
        goal = "maximize" if search.direction == Direction.at_least else "minimize"
        early = search.strategy != SearchStrategy.hyperband or \
            (node.get("early_termination") or {}).get("policy_type") == "Bandit"
        return (node.get("type") == "sweep" and limits.get("max_total_trials") == search.max_trials
                and limits.get("max_concurrent_trials") == parallel
                and node.get("sampling_algorithm") == SAMPLER[search.strategy]
                and node.get("objective") == {"goal": goal, "primary_metric": search.objective_metric} and early)
    return holds


def _champion(min_improvement: float, metric: str) -> Callable[[Any], bool]:
    def holds(job: Any) -> bool:
        gates = _literal_input(job, "gates").get("champion") or {}
        compared = _literal_input(job, "evaluation").get("champion") or {}
        return gates.get("min_improvement") == min_improvement and compared.get("metric") == metric
    return holds


def _card(model: str) -> Callable[[Any], bool]:
    def holds(job: Any) -> bool:
        card = _literal_input(job, "card")
        bound = value_at(job, "jobs", "register", "inputs", "model_card", "value")
        return card.get("model") == model and card.get("status") == "draft" and bound == "${{parent.inputs.card}}"
    return holds


# --------------------------------------------------------------------------- platform


def _foundation(plan: Plan) -> Iterator[Expect]:
    p = plan.prefix
    yield Expect(RESOURCE_GROUP, f"{p}-rg", (Check(("location",), plan.region),))
    yield Expect(IDENTITY, f"{p}-foundation-identity", why="the platform's execution identity")
    yield Expect(VAULT, f"{p}-foundation-vault")

    def rotates(actions: Any) -> bool:
        return any(value_at(a, "action", "type") == "rotate"
                   and value_at(a, "trigger", "timeAfterCreate") == f"P{plan.key_rotation_days}D"
                   for a in actions or [])
    yield Expect(KEY, f"{p}-foundation-key", (_check(("properties", "rotationPolicy", "lifetimeActions"), rotates,
                                                     f"rotation every {plan.key_rotation_days} days"),))
    yield Expect(STORAGE, f"{p}-foundation-storage")
    for container in ("data", "artifacts"):
        yield Expect(CONTAINER, f"{p}-foundation-{container}")


def _audit_trail(plan: Plan) -> Iterator[Expect]:
    p, g = plan.prefix, plan.governance
    policy = ("immutableStorageWithVersioning", "immutabilityPolicy")
    checks = [Check(("immutableStorageWithVersioning", "enabled"), True,
                    "account-level version-level immutability (covers the containers Azure Monitor creates)"),
              Check((*policy, "immutabilityPeriodSinceCreationInDays"), g.audit_retention_days),
              Check((*policy, "allowProtectedAppendWrites"), True, "append writes (Azure Monitor writes append blobs)")]
    if g.audit_lock_mode == "compliance":
        # Compliance: nobody may shorten the retention or delete a record — the policy is Locked.
        checks.append(Check((*policy, "state"), "Locked", "Locked (compliance: nobody may shorten or delete it)"))
    yield Expect(STORAGE, f"{p}-audit-storage", tuple(checks), why="the audit record's WORM store")
    account = f"{p}-audit-storage-id"  # the id synth's mocks give the audit account
    for source, what in (("workspace", "Azure ML workspace audit logs"), ("vault", "Key Vault AuditEvent"),
                         ("storage", "blob read/write/delete logs")):
        yield Expect(DIAGNOSTICS, f"{p}-audit-{source}-archive",
                     (Check(("storageAccountId",), account, "into the audit account"),), why=what)
    yield Expect(SUBSCRIPTION_DIAGNOSTICS, f"{p}-audit-activity-log",
                 (Check(("storageAccountId",), account, "into the audit account"),
                  _check(("logs",), lambda logs: "Administrative" in {value_at(x, "category") for x in logs or []},
                         "Administrative records")), why="the subscription's Activity Log")
    # The audit logs are also queried in Log Analytics, kept for its retention (30-730 days).
    yield Expect(LOGS, f"{p}-ml-logs", (Check(("retentionInDays",), max(30, min(730, plan.log_retention_days))),))
    for source in ("workspace", "vault", "storage", "acr"):
        yield Expect(DIAGNOSTICS, f"{p}-governance-{source}-diagnostics", why=f"{source} audit logs")


def _assignments(name: str, principals: Any) -> Iterator[Expect]:
    for n, who in enumerate(_unique(principals)):
        yield Expect(ASSIGNMENT, f"{name}-{n}", (Check(("principalId",), who),), why=who)


def _rbac(plan: Plan) -> Iterator[Expect]:
    p, roles = plan.prefix, plan.governance.roles
    # Data scientists have no production access beyond reading (blueprint `roles.data_scientist`).
    reads = _check(("permissions", 0, "actions"), lambda a: bool(a) and all(x.endswith("/read") for x in a),
                   "read-only in production")
    yield Expect(ROLE, f"{p}-governance-data-scientist-role", (reads,) if plan.production else ())
    yield Expect(ROLE, f"{p}-governance-ml-engineer-role")
    for persona, principals in (("data-scientist", roles.data_scientist), ("ml-engineer", roles.ml_engineer)):
        yield from _assignments(f"{p}-governance-{persona}", principals)
    if plan.enabled(Capability.model_registry):
        # Approvers promote into the registry: their role lives with it.
        yield Expect(ROLE, f"{p}-registry-approver-role")


def _cost(plan: Plan) -> Iterator[Expect]:
    cost = plan.cost
    if cost is None:
        return
    wanted = sorted(cost.alert_thresholds_percent)

    def thresholds(notifications: Any) -> bool:
        actual = [_number(n.get("threshold")) for n in (notifications or {}).values()
                  if isinstance(n, dict) and n.get("thresholdType") == "Actual"]
        return sorted(a for a in actual if a is not None) == wanted and None not in actual
    yield Expect(BUDGET, f"{plan.prefix}-cost-budget", (
        Check(("amount",), cost.monthly_budget_usd), Check(("timeGrain",), "Monthly"),
        _check(("notifications",), thresholds, f"alerts on actual spend at {wanted} %")))


def _feature_store(plan: Plan) -> Iterator[Expect]:
    store, p = plan.feature_store, plan.prefix
    if store is None:
        return
    kind = "OnlineAndOffline" if store.online and store.offline else ("Online" if store.online else "Offline")
    yield Expect(WORKSPACE, f"{p}-features-workspace", (Check(("kind",), "FeatureStore"),))
    if store.offline:
        yield Expect(CONNECTION, f"{p}-features-offline-store")
    if store.online:
        yield Expect(REDIS, f"{p}-features-online-cache", why="the online store")
        yield Expect(CONNECTION, f"{p}-features-online-store")
    for e in store.entities:
        yield Expect(ENTITY_VERSION, f"{p}-features-{e.name}-entity-v1", (
            Check(("properties", "indexColumns", 0, "columnName"), e.id_column),), why=f"entity {e.name}")
        yield Expect(FEATURESET_VERSION, f"{p}-features-{e.name}-features-v1", (
            Check(("properties", "materializationSettings", "storeType"), kind),
            Check(("properties", "description"), ", ".join(f.name for f in e.features))), why=f"features of {e.name}")


def _freshness(plan: Plan) -> Iterator[Expect]:
    store, p = plan.feature_store, plan.prefix
    if store is None or store.freshness_sla_minutes is None:
        return
    sla = store.freshness_sla_minutes
    yield Expect(DIAGNOSTICS, f"{p}-features-diagnostics", why="materialisation run events")
    yield Expect(LOG_ALERT, f"{p}-features-freshness-alert", (
        _check(("windowSize",), lambda w: _seconds(w) == sla * 60, f"a window of the {sla}-minute SLA"),
        Check(("enabled",), True)))


def _tracking(plan: Plan) -> Iterator[Expect]:
    yield Expect(WORKSPACE, f"{plan.prefix}-ml-workspace", (Check(("location",), plan.region),),
                 why="the Azure ML workspace (MLflow tracking)")


def _registry(plan: Plan) -> Iterator[Expect]:
    yield Expect(REGISTRY, f"{plan.prefix}-registry-registry", (Check(("location",), plan.region),))
    yield Expect(ASSIGNMENT, f"{plan.prefix}-registry-reader-platform", why="deployments pull registered versions")


def _promoters(plan: Plan) -> list[str]:
    """Who may promote into the registry: approvers, and ML engineers where the environment needs no approval."""
    roles, approval = plan.governance.roles, plan.governance.approval
    names = [*roles.approver, *(approval.approval.approvers if approval else [])]
    return names if approval is not None else [*names, *roles.ml_engineer]


def _enforced(plan: Plan) -> Iterator[Expect]:
    p = plan.prefix
    if plan.governance.approval is None:
        return
    writes = _check(("permissions", 0, "actions"), lambda a: REGISTRY_WRITE in (a or []), "registry asset write")
    barred = _check(("permissions", 0, "notActions"), lambda a: REGISTRY_WRITE in (a or []),
                    "registry asset write excluded")
    yield Expect(ROLE, f"{p}-registry-approver-role", (writes,), why="only approvers promote")
    for persona in ("data-scientist", "ml-engineer"):
        yield Expect(ROLE, f"{p}-governance-{persona}-role", (barred,), why=f"{persona}s cannot promote")
    yield from _assignments(f"{p}-registry-approver", _promoters(plan))


# --------------------------------------------------------------------------- pipelines and retraining


def _training(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        t = m.training
        if t is None:
            continue
        yield Expect(COMPUTE, f"{base}-training-compute-cluster", (
            Check(("properties", "properties", "vmPriority"), "LowPriority" if t.spot else "Dedicated"),), why=m.name)
        for step in ("validate", "train", "evaluate", "quality-gates", "register"):
            yield Expect(COMPONENT, f"{base}-training-{step}", why=f"{m.name} {step} step")
        for s in _submitters(plan, base, m):
            yield Expect(s.type, s.name, _pipeline_checks(m, s.job), why=s.why)


def _search(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        search = m.training.search if m.training else None
        if search is None:
            continue
        parallel = min(search.max_parallel_trials, search.max_trials)
        label = f"a {search.strategy.value} sweep of {search.max_trials} trials, {parallel} at once"
        for s in _submitters(plan, base, m):
            yield Expect(s.type, s.name, (_check(s.job, _sweep(search, parallel), label),), why=s.why)


def _champion_challenger(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        q = m.quality_gates
        if m.training is None or not q.compare_to_champion or not q.metrics:
            continue
        label = f"champion compared on {q.metrics[0].metric}, min improvement {q.min_improvement:g}"
        for s in _submitters(plan, base, m):
            yield Expect(s.type, s.name, (_check(s.job, _champion(q.min_improvement, q.metrics[0].metric), label),),
                         why=s.why)


def _cards(plan: Plan) -> Iterator[Expect]:
    if not plan.governance.model_card_required:
        return
    for base, m in _models(plan):
        if m.training is None:
            continue
        for s in _submitters(plan, base, m):
            yield Expect(s.type, s.name, (_check(s.job, _card(m.name), "a draft model card at registration"),),
                         why=s.why)


def _scheduled(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if m.training is None or m.retraining.schedule is None:
            continue
        yield Expect(SCHEDULE, f"{base}-training-retraining", (
            Check(("properties", "trigger", "expression"), m.retraining.schedule.cron),
            Check(("properties", "trigger", "timeZone"), "UTC"),
            Check((*JOB, "jobType"), "Pipeline"), Check((*JOB, "inputs", "trigger", "value"), "schedule")),
            why=m.name)


def _workflow(plan: Plan, m: ModelPlan) -> Expect:
    return Expect(WORKFLOW, f"{plan.prefix}-retraining-{m.name}-workflow", (
        Check((*WORKFLOW_ACTIONS, "cooldown", "inputs", "interval"),
              {"count": m.retraining.min_interval_hours, "unit": "Hour"}),
        _check((*WORKFLOW_JOB, "jobType"), lambda t: t == "Pipeline", "submits the pipeline job")),
        why=f"{m.name}: starts the pipeline, then cools down")


def _filters(*wanted: tuple[str, str]) -> Check:
    def holds(filters: Any) -> bool:
        pairs = {(f.get("key"), v) for f in filters or [] if isinstance(f, dict) for v in f.get("values") or []}
        return all(w in pairs for w in wanted)
    return _check(("filter", "advancedFilters"), holds, "events of " + ", ".join(f"{k}={v}" for k, v in wanted))


def _on_drift(plan: Plan) -> Iterator[Expect]:
    p = plan.prefix
    for base, m in _models(plan):
        if m.training is None or not m.retraining.on_drift:
            continue
        yield Expect(TOPIC, f"{p}-retraining-topic", why="the workspace's run events")
        yield _workflow(plan, m)
        yield Expect(EVENT_SUBSCRIPTION, f"{p}-retraining-{m.name}-events", (
            _filters(("data.ExperimentName", f"{p}-{m.name}-monitor"),
                     ("data.RunTags.azureml_modelmonitor_threshold_breached", "violating metric thresholds")),),
            why=f"{m.name}: drift breaches")
        yield Expect(SCHEDULE, f"{base}-monitoring-monitor", why=f"{m.name}: the monitor retraining listens to")


def _on_performance(plan: Plan) -> Iterator[Expect]:
    p = plan.prefix
    for base, m in _models(plan):
        if m.training is None or not m.retraining.on_performance:
            continue
        yield Expect(TOPIC, f"{p}-retraining-topic", why="the workspace's run events")
        yield _workflow(plan, m)
        yield Expect(EVENT_SUBSCRIPTION, f"{p}-retraining-{m.name}-quality-events", (
            _filters(("data.ExperimentName", f"{m.name}-quality"), ("data.RunStatus", "Failed"),
                     ("data.RunTags.mlops_quality_breach", "true")),), why=f"{m.name}: missed quality bars")
        yield Expect(SCHEDULE, f"{base}-quality-schedule", why=f"{m.name}: the quality job retraining listens to")


# --------------------------------------------------------------------------- serving


def _output(uri: str) -> tuple[str | None, str | None, str]:
    """(account, filesystem, path) of an abfss:// output; (None, None, uri) for an azureml:// one."""
    if not uri.startswith("abfss://"):
        return None, None, uri
    parts = urlsplit(uri)
    return (parts.hostname or "").split(".")[0], parts.username, parts.path.strip("/")


def _batch(base: str, m: ModelPlan) -> Iterator[Expect]:
    s = m.serving
    assert s is not None and s.schedule is not None
    run = (*JOB, "environmentVariables")
    checks = [Check(("properties", "trigger", "expression"), s.schedule.cron),
              Check(("properties", "trigger", "timeZone"), "UTC")]
    if s.output_uri is not None:
        account, filesystem, path = _output(s.output_uri)
        checks.append(_check((*run, "MLOPS_BATCH_OUTPUT"), lambda out: isinstance(out, str) and out.endswith(path),
                             f"predictions written to {s.output_uri}"))
        if account is not None:
            yield Expect(DATASTORE, f"{base}-batch-output-store", (
                Check(("properties", "accountName"), account), Check(("properties", "filesystem"), filesystem)),
                why=f"{m.name}: the blueprint's output_uri")
    yield Expect(BATCH_ENDPOINT, f"{base}-batch-endpoint", why=m.name)
    yield Expect(BATCH_DEPLOYMENT, f"{base}-batch-deployment", (
        Check(("properties", "resources", "instanceCount"), s.max_instances),), why=m.name)
    yield Expect(SCHEDULE, f"{base}-batch-schedule", tuple(checks), why=f"{m.name} batch runs")


def _serving(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        s = m.serving
        if s is None:
            continue
        if s.mode == ServingMode.batch:
            yield from _batch(base, m)
        else:
            yield Expect(ONLINE_ENDPOINT, f"{base}-serving-endpoint", why=m.name)
            yield Expect(ONLINE_DEPLOYMENT, f"{base}-serving-blue", (Check(("sku", "capacity"), s.min_instances),),
                         why=f"{m.name} champion")
            yield Expect(ARM_DEPLOYMENT, f"{base}-serving-traffic", (Check(
                ("properties", "template", "resources", 0, "properties", "traffic"), {"blue": 100}),),
                why=f"{m.name}: the champion takes the traffic")


def _autoscaling(plan: Plan) -> Iterator[Expect]:
    for base, m in _served(plan, ServingMode.realtime):
        s = m.serving
        if s is None or s.autoscaling is None:
            continue
        scale = ("properties", "scaleSettings")
        yield Expect(ONLINE_DEPLOYMENT, f"{base}-serving-blue", (
            Check((*scale, "scaleType"), "TargetUtilization"), Check((*scale, "minInstances"), s.min_instances),
            Check((*scale, "maxInstances"), s.max_instances),
            Check((*scale, "targetUtilizationPercentage"), round(s.autoscaling.target_utilization_percent))),
            why=m.name)


def _first_step(share: int, bake: int) -> Callable[[Any], bool]:
    """The deploy step's first move for a new version (in `green`): the plan's first delivery step."""
    def holds(config: Any) -> bool:
        steps = _json(config).get("steps") or []
        first = steps[0] if steps and isinstance(steps[0], dict) else {}
        return (first.get("traffic") or {}).get("green") == share and first.get("bake_minutes") == bake
    return holds


def _delivery(plan: Plan) -> Iterator[Expect]:
    for base, m in _served(plan, ServingMode.realtime):
        s = m.serving
        assert s is not None
        d = s.delivery
        if d.strategy == DeliveryStrategy.all_at_once:
            continue
        config = (*JOB, "environmentVariables", "MLOPS_CONFIG")
        yield Expect(SCHEDULE, f"{base}-deployer-schedule", (
            _check(config, _first_step(d.steps[0], d.bake_minutes),
                   f"a {d.strategy.value} first step of {d.steps[0]} %, baked {d.bake_minutes} min"),
            _check(config, lambda c, want=d.auto_rollback: _json(c).get("auto_rollback") == want,
                   f"auto_rollback {d.auto_rollback}")), why=f"{m.name} {d.strategy.value}")


def _shadow(plan: Plan) -> Iterator[Expect]:
    for base, m in _served(plan, ServingMode.realtime):
        s = m.serving
        if s is None or s.shadow is None:
            continue
        yield Expect(ONLINE_DEPLOYMENT, f"{base}-serving-shadow", why=f"{m.name} challenger")
        yield Expect(ARM_DEPLOYMENT, f"{base}-serving-traffic", (Check(
            ("properties", "template", "resources", 0, "properties", "mirrorTraffic"),
            {"shadow": round(s.shadow.sample_percent)}),), why=f"{m.name} mirrored share")


def _criterion(threshold: float) -> Check:
    return Check(("criteria", "allOf", 0, "threshold"), threshold)


def _sre(plan: Plan) -> Iterator[Expect]:
    for base, m in _served(plan, ServingMode.realtime):
        sre = m.monitoring.sre
        if sre is None:
            continue
        yield Expect(DIAGNOSTICS, f"{base}-serving-diagnostics", why=f"{m.name} request log")
        yield Expect(LOG_ALERT, f"{base}-serving-errors-alert", (_criterion(sre.error_rate_percent),), why=m.name)
        yield Expect(METRIC_ALERT, f"{base}-serving-utilization-alert", (_criterion(sre.utilization_percent),),
                     why=m.name)
        if sre.latency_p99_ms is not None:
            yield Expect(METRIC_ALERT, f"{base}-serving-latency-alert", (_criterion(sre.latency_p99_ms),),
                         why=f"{m.name} p99 (ms)")


def _capture(plan: Plan) -> Iterator[Expect]:
    for base, m in _served(plan, ServingMode.realtime):
        percent = m.monitoring.prediction_logging_percent
        if not percent:  # None: gated off; 0: nothing to log
            continue
        collections = ("properties", "dataCollector", "collections")
        yield Expect(ONLINE_DEPLOYMENT, f"{base}-serving-blue", tuple(
            Check((*collections, c), {"dataCollectionMode": "Enabled", "samplingRate": percent / 100})
            for c in ("model_inputs", "model_outputs")), why=m.name)


# --------------------------------------------------------------------------- monitoring and approval


def _drift_metric(metric: str, threshold: float) -> Callable[[Any], bool]:
    """The numerical features' metric is the blueprint's method at its threshold (categorical ones may differ)."""
    def holds(thresholds: Any) -> bool:
        numerical = [t for t in thresholds or [] if isinstance(t, dict) and t.get("dataType") == "Numerical"]
        return bool(numerical) and all(t.get("metric") == metric and value_at(t, "threshold", "value") == threshold
                                       for t in numerical)
    return holds


def _drift(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        drift = m.monitoring.drift
        if drift is None:
            continue
        signals = ("properties", "action", "monitorDefinition", "signals")
        metric = DRIFT_METRIC.get(drift.method, drift.method.value)
        features = {"filterType": "FeatureSubset", "features": list(drift.features)} if drift.features \
            else {"filterType": "AllFeatures"}
        label = f"{metric} above {drift.threshold:g}"
        yield Expect(SCHEDULE, f"{base}-monitoring-monitor", (
            Check(("properties", "trigger", "expression"), drift.schedule.cron),
            _check((*signals, "data-drift", "metricThresholds"), _drift_metric(metric, drift.threshold), label),
            _check((*signals, "prediction-drift", "metricThresholds"), _drift_metric(metric, drift.threshold), label),
            Check((*signals, "data-drift", "features"), features)), why=m.name)


def _quality(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        q = m.monitoring.quality
        if q is None:
            continue
        env = (*JOB, "environmentVariables")
        yield Expect(SCHEDULE, f"{base}-quality-schedule", (
            Check(("properties", "trigger", "expression"), q.schedule.cron),
            Check((*env, "MLOPS_METRIC"), q.metric), Check((*env, "MLOPS_DIRECTION"), q.direction.value),
            _check((*env, "MLOPS_THRESHOLD"), lambda v, want=q.threshold: _number(v) == want, f"{q.threshold:g}"),
            Check((*env, "MLOPS_DELAY_HOURS"), str(q.label_delay_hours))), why=m.name)
        yield Expect(LOG_ALERT, f"{base}-quality-alert", why=f"{m.name}: a missed bar warns")


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _approval(plan: Plan) -> Iterator[Expect]:
    """Promotion into the registry is the approval; the deployer rolls out only promoted versions."""
    for base, m in _models(plan):
        s = m.serving
        if s is None:
            continue
        config = (*JOB, "environmentVariables", "MLOPS_CONFIG")
        yield Expect(SCHEDULE, f"{base}-deployer-schedule", (_check(
            config, lambda c: bool(_json(c).get("registry")), "rolls out versions from the registry"),), why=m.name)
        deployment = (BATCH_DEPLOYMENT, f"{base}-batch-deployment", ("properties", "model", "assetId")) \
            if s.mode == ServingMode.batch else (ONLINE_DEPLOYMENT, f"{base}-serving-blue", ("properties", "model"))
        yield Expect(deployment[0], deployment[1], (_check(
            deployment[2], lambda uri: isinstance(uri, str) and uri.startswith("azureml://registries/"),
            "an approved (registry) version"),), why=f"{m.name} serves approved versions")
    approval = plan.governance.approval
    if approval is not None:
        # The environment's approvers hold the approver role (numbered among all promoters).
        promoters = _unique(_promoters(plan))
        for who in _unique(approval.approval.approvers):
            yield Expect(ASSIGNMENT, f"{plan.prefix}-registry-approver-{promoters.index(who)}",
                         (Check(("principalId",), who),), why=f"approver {who}")


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
    Capability.champion_challenger: _champion_challenger,
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
    Capability.enforced_approval: _enforced,
    Capability.model_cards: _cards,
}

__all__ = ["RULES"]
