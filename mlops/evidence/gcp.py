"""What the Vertex AI back end's graph must hold for each capability (the GCP evidence table).

Names follow the components' contract: `<prefix>-<area>-<suffix>` for the platform and
`<prefix>-<model>-<area>-<suffix>` per model (components/gcp; golden inventories in tests/golden).
Several GCP capabilities have no resource of their own, because pulumi_gcp has none: what a Vertex
endpoint serves, its autoscaling, the canary and the drift monitoring job live in the model's deployer
workflow (Cloud Workflows YAML), approvals in the promotion workflow, and gates, tuning and model cards
in the KFP pipeline spec. The rules read those documents.

The spec object's content is a secret in the graph (the provider marks `BucketObject.content` secret),
so the spec's values are read from the retraining schedule, which embeds the same spec in the clear.
Where the plan schedules no retraining, only the stored spec object is evidence of what the spec holds.

Ids: the graph records resources as synth's mocks answer them, every id being `<logical name>-id`
(mlops/synth/recorder.py); wiring between resources (which channel an alert notifies, which workflow a
trigger runs) is read through those ids.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import yaml

from mlops.blueprint.model import DeliveryStrategy, Direction, ServingMode
from mlops.clouds.gcp_pipelines import GCP_OWN_IMAGE_FRAMEWORKS
from mlops.plan import Capability, ModelPlan, Plan

from . import Check, Expect, Rule
from .graph import encoded_document, value_at

KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_RING = "gcp:kms/keyRing:KeyRing"
BUCKET = "gcp:storage/bucket:Bucket"
ACCOUNT = "gcp:serviceaccount/account:Account"
AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"
SINK = "gcp:logging/projectSink:ProjectSink"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
ACCOUNT_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
BUDGET = "gcp:billing/budget:Budget"
DATASET = "gcp:bigquery/dataset:Dataset"
TABLE = "gcp:bigquery/table:Table"
ONLINE_STORE = "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore"
FEATURE_VIEW = "gcp:vertex/aiFeatureOnlineStoreFeatureview:AiFeatureOnlineStoreFeatureview"
LOG_METRIC = "gcp:logging/metric:Metric"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
METADATA_STORE = "gcp:vertex/aiMetadataStore:AiMetadataStore"
TENSORBOARD = "gcp:vertex/aiTensorboard:AiTensorboard"
SPEC_OBJECT = "gcp:storage/bucketObject:BucketObject"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
WORKFLOW = "gcp:workflows/workflow:Workflow"
SCHEDULE = "gcp:colab/schedule:Schedule"
JOB = "gcp:cloudscheduler/job:Job"
TRIGGER = "gcp:eventarc/trigger:Trigger"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
METRIC_DESCRIPTOR = "gcp:monitoring/metricDescriptor:MetricDescriptor"
ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
GLOBAL_ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
PEERING = "gcp:servicenetworking/connection:Connection"

SECONDS_PER_DAY = 86_400
CHECK_SECONDS = 300
"""How often the deployer's bake reads the new version's metrics (components/gcp/deployer_workflow.py)."""
SPEC_PATH = ("createPipelineJobRequest", "pipelineJob", "pipelineSpec")
ALGORITHMS = {"bayesian": "ALGORITHM_UNSPECIFIED", "random": "RANDOM_SEARCH"}
AUDITED = ("aiplatform", "storage", "bigquery")
IAM_PREFIXES = ("user:", "group:", "serviceAccount:", "domain:", "principal:", "principalSet:")
# One grant per persona that every environment holds (components/gcp/governance.py GRANTS): outside
# production data scientists build, in production they only look.
PERSONA_ROLES: dict[str, tuple[str, str]] = {
    "data_scientist": ("roles/aiplatform.user", "roles/aiplatform.viewer"),
    "ml_engineer": ("roles/logging.viewer", "roles/logging.viewer"),
    "approver": ("roles/aiplatform.viewer", "roles/aiplatform.viewer"),
}


# --------------------------------------------------------------------------- names (as components/gcp builds them)



def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def _fit(base: str, limit: int) -> str:
    """components/gcp/foundation.py `fit_name`: lower-case, cut and hashed when too long."""
    clean = re.sub("[^a-z0-9-]", "-", base.lower())
    if len(clean) <= limit:
        return clean
    return f"{clean[:limit - 7].rstrip('-_')}-{_hash(base)}"


def _endpoint_id(plan: Plan, model: str) -> str:
    """components/gcp/names.py `endpoint_id`: a 10-digit number derived from `<prefix>/<model>`."""
    digest = int(hashlib.sha256(f"{plan.prefix}/{model}".encode()).hexdigest(), 16)
    return str(10 ** 9 + digest % (9 * 10 ** 9))


def _model_id(plan: Plan, model: str) -> str:
    return _fit(f"{plan.prefix}-{model}", 63)


def _member(principal: str, domain: str | None) -> str | None:
    """components/gcp/principals.py `iam_member`: IAM members as written, other names as Google groups."""
    if principal.startswith(IAM_PREFIXES):
        return principal
    if "@" in principal:
        return f"group:{principal}"
    return f"group:{principal}@{domain}" if domain else None


def _member_slug(member: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", member.lower()).strip("-")
    return slug if len(slug) <= 40 else f"{slug[:33].rstrip('-')}-{_hash(member)}"


def _id(name: str) -> str:
    """The id synth's mocks give the resource of this logical name."""
    return f"{name}-id"


def _models(plan: Plan) -> Iterator[tuple[str, ModelPlan]]:
    for m in plan.models:
        yield f"{plan.prefix}-{m.name}", m


def _trained(plan: Plan) -> Iterator[tuple[str, ModelPlan]]:
    return ((base, m) for base, m in _models(plan) if m.training is not None)


def _realtime(plan: Plan) -> Iterator[tuple[str, ModelPlan]]:
    return ((base, m) for base, m in _models(plan) if m.serving is not None and m.serving.mode == ServingMode.realtime)


# --------------------------------------------------------------------------- documents carried as inputs


def _load(text: Any) -> Any:
    """A workflow's YAML (or JSON) source, or a JSON spec, as data; None when it is not a document.

    Read-only: parses are cached (every check of a workflow or spec reads the same text, and a graph holds a
    few large ones), so callers must not modify what they get.
    """
    return _parse(text) if isinstance(text, str) else None


@lru_cache(maxsize=256)
def _parse(text: str) -> Any:
    try:
        return json.loads(text)  # specs and the pipelines area's workflows: JSON, much faster to read
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _steps(routine: Any) -> dict[str, Any]:
    """A Workflows step list (`[{name: body}, …]`) by step name."""
    steps = routine.get("steps") if isinstance(routine, Mapping) else None
    return {k: v for s in steps or [] if isinstance(s, Mapping) for k, v in s.items()}


def _main(source: Any, step: str) -> Any:
    program = _load(source)
    return _steps(program.get("main") if isinstance(program, Mapping) else None).get(step)


def _assigned(source: Any) -> dict[str, Any]:
    """The deployer's `init` assignments."""
    init = _main(source, "init") or {}
    return {k: v for a in init.get("assign") or [] if isinstance(a, Mapping) for k, v in a.items()}


def _workflow(check: Callable[[Any], bool], label: str) -> Check:
    return Check(("sourceContents",), check, label)


def _deployed(key: tuple[str | int, ...], want: Any) -> Check:
    """A field of the deployed model's `dedicatedResources` in the deployer's deploy call."""
    def ok(source: Any) -> bool:
        resources = value_at(_main(source, "deploy"), "args", "body", "deployedModel", "dedicatedResources")
        return value_at(resources, *key) == want
    return _workflow(ok, f"deployed {'.'.join(map(str, key))} = {want!r}")


_LITERAL = re.compile(r'\$\{json\.decode\(base64\.decode\("([A-Za-z0-9+/=]*)"\)\)\}')


def _literal(value: Any) -> Any:
    """A value a workflow source holds as a literal expression (blueprint text with `${` in it, see
    components/gcp/workflow_literal.py), decoded; anything else unchanged."""
    found = _LITERAL.fullmatch(value) if isinstance(value, str) else None
    return json.loads(base64.b64decode(found.group(1)).decode("utf-8")) if found else value


def _monitoring_job(key: tuple[str | int, ...], want: Any) -> Check:
    """A field of the model deployment monitoring job the deployer (re)creates after each rollout."""
    return _workflow(lambda source: _literal(value_at(_main(source, "monitor"), "args", "job", *key)) == want,
                     f"monitoring job {'.'.join(map(str, key))} = {want!r}")


def _spec(check: Callable[[dict[str, Any]], bool], label: str) -> Check:
    def ok(text: Any) -> bool:
        doc = _load(text)
        return isinstance(doc, dict) and check(doc)
    return Check(SPEC_PATH, ok, label)


def _parameter(name: str, want: Any) -> Check:
    return _spec(lambda d: value_at(d, "root", "inputDefinitions", "parameters", name, "defaultValue") == want,
                 f"spec parameter {name} = {want!r}")


def _args(spec: dict[str, Any], executor: str) -> list[Any]:
    args = value_at(spec, "deploymentSpec", "executors", executor, "container", "args")
    return list(args) if isinstance(args, list) else []


def _arg(spec: dict[str, Any], executor: str, flag: str) -> Any:
    args = _args(spec, executor)
    return args[args.index(flag) + 1] if flag in args[:-1] else None


def _gate_condition(spec: dict[str, Any]) -> str:
    return str(value_at(spec, "root", "dag", "tasks", "condition-1", "triggerPolicy", "condition") or "")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text).lower()


# --------------------------------------------------------------------------- platform


def _foundation(plan: Plan) -> Iterator[Expect]:
    p = plan.prefix
    yield Expect(KEY_RING, f"{p}-foundation-keyring", (Check(("location",), plan.region),))
    yield Expect(KEY, f"{p}-foundation-key",
                 (Check(("rotationPeriod",), f"{plan.key_rotation_days * SECONDS_PER_DAY}s"),))
    for bucket in ("data", "artifacts"):
        yield Expect(BUCKET, f"{p}-foundation-{bucket}-bucket", (Check(("location",), plan.region),))
    yield Expect(ACCOUNT, f"{p}-foundation-execution", why="the execution identity")
    net = plan.network
    if net.isolated and net.existing_vpc is None:
        # Private services access: Vertex jobs and pipelines in the network peer through it.
        half = int(net.cidr.split("/")[1]) + 1
        yield Expect(GLOBAL_ADDRESS, f"{p}-network-vertex-range", (
            Check(("purpose",), "VPC_PEERING"), Check(("prefixLength",), half)), why="the range Vertex peers into")
        yield Expect(PEERING, f"{p}-network-vertex-peering", (
            Check(("service",), "servicenetworking.googleapis.com"),
            Check(("reservedPeeringRanges",), [_fit(f"{p}-vertex-psa", 63)])), why="private services access")


def _vertex_network(plan: Plan) -> str | None:
    """How Vertex's `network` fields must name the platform network: by project number (components/gcp/network.py)."""
    net = plan.network
    if not net.isolated:
        return None
    name = net.existing_vpc.rsplit("/", 1)[-1] if net.existing_vpc else _fit(f"{plan.prefix}-vpc", 63)
    return rf"projects/[0-9]+/global/networks/{re.escape(name)}"


def _audit_trail(plan: Plan) -> Iterator[Expect]:
    g, p = plan.governance, plan.prefix
    yield Expect(BUCKET, f"{p}-foundation-audit-bucket", (
        Check(("retentionPolicy", "retentionPeriod"), str(g.audit_retention_days * SECONDS_PER_DAY)),
        Check(("retentionPolicy", "isLocked"), g.audit_lock_mode == "compliance")))
    yield Expect(SINK, f"{p}-governance-audit-sink", why="every audit log entry into the audit bucket")
    for service in AUDITED:
        yield Expect(AUDIT_CONFIG, f"{p}-governance-audit-{service}", why=f"data access logs of {service}")


def _persona_members(plan: Plan, persona: str) -> list[str]:
    """components/gcp/principals.py `persona_members`: approvers include this environment's approvers."""
    roles = plan.governance.roles
    principals = list(getattr(roles, persona))
    if persona == "approver" and plan.governance.approval is not None:
        principals += plan.governance.approval.approval.approvers
    return sorted({m for m in (_member(x, roles.group_domain) for x in principals) if m})


def _grant(plan: Plan, persona: str, member: str, role: str, why: str) -> Expect:
    role_slug = re.sub(r"[^a-z0-9]+", "-", role.removeprefix("roles/").lower())
    name = f"{plan.prefix}-governance-{persona.replace('_', '-')}-{_member_slug(member)}-{role_slug}"
    return Expect(PROJECT_MEMBER, name, (Check(("member",), member), Check(("role",), role)), why=why)


def _rbac(plan: Plan) -> Iterator[Expect]:
    for persona, (anywhere, in_production) in PERSONA_ROLES.items():
        role = in_production if plan.guarded else anywhere
        for member in _persona_members(plan, persona):
            yield _grant(plan, persona, member, role, f"{persona} {member}")


def _cost(plan: Plan) -> Iterator[Expect]:
    cost = plan.cost
    if cost is None:
        return
    units, cents = divmod(round(cost.monthly_budget_usd * 100), 100)
    amount = ("amount", "specifiedAmount")
    rules = sorted(t / 100 for t in set(cost.alert_thresholds_percent))
    yield Expect(BUDGET, f"{plan.prefix}-cost-budget", (
        Check(("billingAccount",), cost.billing_account),
        Check((*amount, "units"), str(units)), Check((*amount, "nanos"), cents * 10_000_000),
        Check(("thresholdRules",), lambda r, want=rules: [x.get("thresholdPercent") for x in r or []
                                                          if x.get("spendBasis") == "CURRENT_SPEND"] == want,
              f"current-spend alerts at {rules}")))


def _feature_store(plan: Plan) -> Iterator[Expect]:
    store, p = plan.feature_store, plan.prefix
    if store is None:
        return
    yield Expect(DATASET, f"{p}-features-offline", why="the offline store")
    for e in store.entities:
        yield Expect(TABLE, f"{p}-features-{e.name}",
                     (Check(("tableId",), e.name), Check(("clusterings",), [e.id_column])), why=f"entity {e.name}")
    if not store.online:
        return
    yield Expect(ONLINE_STORE, f"{p}-features-online", why="the online store")
    sync = _sync_cron(store.freshness_sla_minutes)
    for e in store.entities:
        yield Expect(FEATURE_VIEW, f"{p}-features-{e.name}-view", (
            Check(("bigQuerySource", "entityIdColumns"), [e.id_column]), Check(("syncConfig", "cron"), sync)),
            why=f"entity {e.name} online")


def _sync_cron(sla_minutes: int | None) -> str:
    """components/gcp/feature_schema.py `sync_cron`: feature views sync twice per freshness window."""
    def divisor(of: int, at_most: int) -> int:
        return max(d for d in range(1, of + 1) if of % d == 0 and d <= max(at_most, 1))
    if sla_minutes is None:
        return "TZ=UTC 0 0 * * *"
    every = max(5, sla_minutes // 2)
    if every < 60:
        return f"TZ=UTC */{divisor(60, every)} * * * *"
    hours = every // 60
    return f"TZ=UTC 0 */{divisor(24, hours)} * * *" if hours < 24 else "TZ=UTC 0 0 * * *"


def _freshness(plan: Plan) -> Iterator[Expect]:
    store = plan.feature_store
    if store is None or store.freshness_sla_minutes is None:
        return
    yield Expect(LOG_METRIC, f"{plan.prefix}-features-writes", why="rows written per feature table")
    for e in store.entities:
        absent = ("conditions", 0, "conditionAbsent")
        yield Expect(ALERT, f"{plan.prefix}-features-{e.name}-freshness", (
            Check((*absent, "duration"), f"{store.freshness_sla_minutes * 60}s"),
            Check((*absent, "filter"), lambda f, t=e.name: f'metric.label.table="{t}"' in str(f),
                  f"writes to table {e.name}")), why=f"entity {e.name}")


def _tracking(plan: Plan) -> Iterator[Expect]:
    yield Expect(METADATA_STORE, f"{plan.prefix}-tracking-metadata", (Check(("region",), plan.region),))
    yield Expect(TENSORBOARD, f"{plan.prefix}-tracking-tensorboard", (Check(("region",), plan.region),))
    board = _id(f"{plan.prefix}-tracking-tensorboard")
    for base, m in _trained(plan):
        # components/gcp/names.py `experiment_id`; the run joins it, its training job names it.
        experiment = _fit(f"{plan.prefix}-{m.name}", 128)
        tuned = m.training is not None and m.training.search is not None

        def attached(d: dict[str, Any], experiment: str = experiment, tuned: bool = tuned) -> bool:
            if (_arg(d, "exec-join-experiment", "--experiment"), _arg(d, "exec-join-experiment", "--tensorboard")) \
                    != (experiment, board):
                return False
            job = _load(_arg(d, "exec-tune" if tuned else "exec-train", "--payload")) or {}
            if tuned:
                return value_at(job, "trialJobSpec", "tensorboard") == board
            context = f"/metadataStores/default/contexts/{experiment}"
            return str(value_at(job, "jobSpec", "experiment")).endswith(context)
        label = f"runs join experiment {experiment} (TensorBoard {board})"
        yield from _spec_expects(base, m, (_spec(attached, label),), f"{m.name} experiment")


# --------------------------------------------------------------------------- pipelines and registry


def _spec_expects(base: str, m: ModelPlan, checks: tuple[Check, ...], why: str) -> Iterator[Expect]:
    """The stored spec of a model and, where retraining is scheduled, the schedule's copy of it in the clear."""
    yield Expect(SPEC_OBJECT, f"{base}-training-spec", (
        Check(("name",), f"pipelines/{m.name}/pipeline.json"), Check(("metadata", "mlops-model"), m.name)),
        why=f"{why}: the spec (its content is secret in the graph)")
    if m.retraining.schedule is not None:
        yield Expect(SCHEDULE, f"{base}-retraining-schedule", checks, why=f"{why}: the spec in the clear")


def _gates(m: ModelPlan) -> list[tuple[str, float | int]]:
    """Each gate's pipeline parameter and default (components/gcp/pipeline_spec.py `_gates`)."""
    q = m.quality_gates
    gates: list[tuple[str, float | int]] = [
        (f"{'min' if g.direction == Direction.at_least else 'max'}_{_slug(g.metric)}", g.threshold) for g in q.metrics]
    gates += [(f"fairness_{f.metric.value}", f.threshold) for f in q.fairness]
    if q.max_latency_p99_ms is not None:
        gates.append(("max_latency_p99_ms", q.max_latency_p99_ms))
    return gates


def _training(plan: Plan) -> Iterator[Expect]:
    for base, m in _trained(plan):
        gated = _spec(lambda d, names=[g for g, _ in _gates(m)]: all(n in _gate_condition(d) for n in names),
                      "a register condition on every gate")
        # Every image pinned: Google's by digest, the team's at the stack's tag (`mlops:imageTags`).
        pinned = _spec(lambda d: ":latest" not in json.dumps(d), "no image at the tag latest")
        checks: tuple[Check, ...] = (Check((*SPEC_PATH[:-1], "displayName"), f"{base}-training"), gated, pinned,
                                     *(_parameter(name, want) for name, want in _gates(m)))
        network = _vertex_network(plan)
        if network is not None:
            checks += (Check((*SPEC_PATH[:-1], "network"),
                             lambda n, want=network: re.fullmatch(want, str(n)) is not None,
                             "runs in the platform network, named by project number"),)
        yield from _spec_expects(base, m, checks, m.name)
        if m.framework in GCP_OWN_IMAGE_FRAMEWORKS:
            # The team's images run by tag: the repository must keep a tag on one image.
            yield Expect(REPOSITORY, f"{plan.prefix}-registries-containers",
                         (Check(("dockerConfig", "immutableTags"), True),), why=f"{m.name} own images")


def _search(plan: Plan) -> Iterator[Expect]:
    for base, m in _trained(plan):
        s = m.training.search if m.training else None
        if s is None:
            continue
        want = {"maxTrialCount": s.max_trials, "parallelTrialCount": min(s.max_parallel_trials, s.max_trials),
                "metric": s.objective_metric, "goal": "MAXIMIZE" if s.direction == Direction.at_least else "MINIMIZE",
                "algorithm": ALGORITHMS.get(s.strategy.value)}

        def tuned(d: dict[str, Any], want: dict[str, Any] = want) -> bool:
            job = _load(_arg(d, "exec-tune", "--payload")) or {}
            study = job.get("studySpec") or {}
            metric = (study.get("metrics") or [{}])[0]
            found = {"maxTrialCount": job.get("maxTrialCount"), "parallelTrialCount": job.get("parallelTrialCount"),
                     "metric": metric.get("metricId"), "goal": metric.get("goal"), "algorithm": study.get("algorithm")}
            return found == want
        yield from _spec_expects(base, m, (_spec(tuned, f"a tuning job of {want}"),), f"{m.name} tuning")


def _registry(plan: Plan) -> Iterator[Expect]:
    # Every model, trained or not: on Vertex the promotion workflow (the champion alias) is the registry's
    # only resource, and the training pipeline's register step the only way versions arrive.
    for base, m in _models(plan):
        ident = _model_id(plan, m.name)
        registers = _spec(lambda d, i=ident: _arg(d, "exec-register", "--model-id") == i
                          and _arg(d, "exec-register", "--alias") == "challenger",
                          f"versions of {ident} registered as challenger")
        yield from _spec_expects(base, m, (registers,), m.name)
        yield Expect(WORKFLOW, f"{plan.prefix}-registry-{m.name}-promote", (
            _workflow(lambda s, i=ident: f"/models/{i}@" in str(s) and '"champion"' in str(s),
                      f"moves the champion alias of {ident}"),), why=f"{m.name} promotion")


def _champion(plan: Plan) -> Iterator[Expect]:
    for base, m in _trained(plan):
        if not (m.quality_gates.compare_to_champion or m.retraining.champion_challenger):
            continue
        checks = (_parameter("min_improvement", m.quality_gates.min_improvement),
                  _spec(lambda d: "champion_improvement" in _gate_condition(d), "a gate on the champion"))
        yield from _spec_expects(base, m, checks, f"{m.name} challenger")


def _scheduled(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if m.retraining.schedule is not None:
            yield Expect(SCHEDULE, f"{base}-retraining-schedule", (
                Check(("cron",), f"TZ=UTC {m.retraining.schedule.cron}"),
                Check((*SPEC_PATH[:-1], "runtimeConfig", "parameterValues", "triggered_by"), "schedule")),
                why=m.name)


def _retrain_path(base: str, m: ModelPlan) -> Iterator[Expect]:
    """Topic → Eventarc → workflow starting a run, with the plan's cool-down."""
    seconds = m.retraining.min_interval_hours * 3600
    yield Expect(WORKFLOW, f"{base}-retraining-workflow", (_workflow(
        lambda s, t=seconds: f"sys.now() - {t})" in str(value_at(_main(s, "recent_runs"), "args", "query", "filter")),
        f"a cool-down of {m.retraining.min_interval_hours} h"),), why=f"{m.name} retraining runs")
    yield Expect(TRIGGER, f"{base}-retraining-trigger", (
        Check(("destination", "workflow"), _id(f"{base}-retraining-workflow")),
        Check(("transport", "pubsub", "topic"), _id(f"{base}-retraining-topic"))), why=m.name)
    yield Expect(CHANNEL, f"{base}-retraining-channel", why=f"{m.name}: alerts that retrain")


def _notifies(channel: str) -> Check:
    return Check(("notificationChannels",), lambda c: channel in (c or []), f"notifies {channel}")


def _on_drift(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if not m.retraining.on_drift:
            continue
        yield from _retrain_path(base, m)
        yield Expect(SINK, f"{base}-retraining-drift-sink", (
            Check(("filter",), lambda f, e=_endpoint_id(plan, m.name): f'"endpoints/{e}"' in str(f),
                  "anomalies of the model's endpoint"),), why=m.name)
        yield Expect(ALERT, f"{base}-monitoring-drift-alert", (_notifies(_id(f"{base}-retraining-channel")),),
                     why=f"{m.name}: the alert retraining listens to")


def _on_performance(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        if not m.retraining.on_performance:
            continue
        yield from _retrain_path(base, m)
        yield Expect(ALERT, f"{base}-monitoring-quality-alert", (_notifies(_id(f"{base}-retraining-channel")),),
                     why=f"{m.name}: the alert retraining listens to")


# --------------------------------------------------------------------------- serving and monitoring


def _serving(plan: Plan) -> Iterator[Expect]:
    for base, m in _models(plan):
        s = m.serving
        if s is None:
            continue
        if s.mode == ServingMode.batch:
            yield Expect(JOB, f"{base}-batch-schedule", _batch_checks(m), why=f"{m.name} batch runs")
            # Promotion runs every served model's deployer; a batch model's reports the alias move.
            yield Expect(WORKFLOW, f"{base}-deployer-workflow", why=f"{m.name} promotion")
            continue
        ident = _endpoint_id(plan, m.name)
        yield Expect(ENDPOINT, f"{base}-serving-endpoint", (Check(("name",), ident),), why=m.name)
        yield Expect(WORKFLOW, f"{base}-deployer-workflow", (
            _workflow(lambda src, i=ident: _assigned(src).get("endpoint_id") == i and bool(_main(src, "deploy")),
                      f"deploys onto endpoint {ident}"),), why=f"{m.name} deployments")


def _batch_checks(m: ModelPlan) -> tuple[Check, ...]:
    s = m.serving
    assert s is not None and s.schedule is not None

    def body(text: Any) -> dict[str, Any]:
        try:
            return json.loads(base64.b64decode(str(text)))
        except ValueError:
            return {}

    checks = [Check(("schedule",), s.schedule.cron),
              Check(("httpTarget", "body"), lambda b: str(body(b).get("model", "")).endswith("@champion"),
                    "a batch prediction job of the champion")]
    if s.output_uri:
        checks.append(Check(("httpTarget", "body"), lambda b, uri=s.output_uri: uri in json.dumps(
            body(b).get("outputConfig")), f"output to {s.output_uri}"))
    return tuple(checks)


def _autoscaling(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        s = m.serving
        if s is None or s.autoscaling is None:
            continue
        a = s.autoscaling
        target = a.target_requests_per_instance or round(a.target_utilization_percent)
        yield Expect(WORKFLOW, f"{base}-deployer-workflow", (
            _deployed(("minReplicaCount",), s.min_instances), _deployed(("maxReplicaCount",), s.max_instances),
            _deployed(("autoscalingMetricSpecs", 0, "target"), target)), why=m.name)


def _bake_checks(source: Any) -> Any:
    """How many times each traffic step is checked (bake minutes / CHECK_SECONDS)."""
    rollout = value_at(_main(source, "rollout"), "for")
    return value_at(_steps(rollout).get("bake"), "args", "checks")


def _stops_early(source: Any) -> Any:
    """The bake's condition for giving up on an unhealthy version (`and true` with auto_rollback)."""
    watch = value_at(_subroutine(source, "bake", "watch"), "for")
    return value_at(_steps(watch).get("stop_early"), "switch", 0, "condition")


def _subroutine(source: Any, routine: str, step: str) -> Any:
    program = _load(source)
    return _steps(program.get(routine) if isinstance(program, Mapping) else None).get(step)


def _delivery(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        assert m.serving is not None
        d = m.serving.delivery
        if d.strategy == DeliveryStrategy.all_at_once:
            continue
        steps = list(d.steps)
        checks = [_workflow(lambda s, want=steps: _assigned(s).get("steps") == want, f"traffic steps {steps}")]
        if d.bake_minutes:
            bakes = math.ceil(d.bake_minutes * 60 / CHECK_SECONDS)
            rollback = f"${{not ok and {str(d.auto_rollback).lower()}}}"
            checks += [
                _workflow(lambda s, want=bakes: _bake_checks(s) == want, f"{d.bake_minutes} min bake per step"),
                _workflow(lambda s, want=rollback: _stops_early(s) == want, f"auto_rollback {d.auto_rollback}")]
        checks += _rollback_bars(m)
        keep = d.strategy == DeliveryStrategy.blue_green
        checks.append(_workflow(lambda s, want=keep: str(value_at(
            _subroutine(s, "set_split", "keep_old_warm"), "switch", 0, "condition")).endswith(f"{str(want).lower()}}}"),
            "the champion kept warm through the bake" if keep else "the champion retired after the rollout"))
        yield Expect(WORKFLOW, f"{base}-deployer-workflow", tuple(checks), why=f"{m.name} {d.strategy.value}")


def _rollback_bars(m: ModelPlan) -> list[Check]:
    """The health check each bake runs: the SRE error-rate and latency bars of the blueprint."""
    sre, s = m.monitoring.sre, m.serving
    if sre is None or s is None or not s.delivery.bake_minutes:
        return []
    bars = [("check_errors", f"${{error_ratio > {sre.error_rate_percent / 100!r}}}", "error")]
    latency = sre.latency_p99_ms or s.latency_p99_ms
    if latency is not None:
        bars.append(("check_latency", f"${{p99_ms > {float(latency)!r}}}", "latency"))
    return [_workflow(lambda src, step=step, want=want: value_at(_subroutine(src, "healthy", step), "switch", 0,
                                                                  "condition") == want, f"a rollback on the {kind} bar")
            for step, want, kind in bars]


def _threshold(value: float) -> Check:
    return Check(("conditions", 0, "conditionThreshold", "thresholdValue"), value)


def _sre(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        sre, s = m.monitoring.sre, m.serving
        if sre is None or s is None:
            continue
        latency = sre.latency_p99_ms or s.latency_p99_ms
        if latency is not None:
            yield Expect(ALERT, f"{base}-serving-latency-alert", (_threshold(latency),), why=f"{m.name} (ms)")
        yield Expect(ALERT, f"{base}-serving-errors-alert", (_threshold(sre.error_rate_percent / 100),), why=m.name)
        yield Expect(ALERT, f"{base}-serving-utilization-alert", (_threshold(sre.utilization_percent / 100),),
                     why=m.name)


def _capture(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        percent = m.monitoring.prediction_logging_percent
        if not percent:
            continue
        config = ("predictRequestResponseLoggingConfig",)
        yield Expect(ENDPOINT, f"{base}-serving-endpoint", (
            Check((*config, "enabled"), True), Check((*config, "samplingRate"), percent / 100)), why=m.name)
        yield Expect(DATASET, f"{base}-serving-logs", why=f"{m.name} logged predictions")


def _drift(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        drift = m.monitoring.drift
        if drift is None:
            continue
        hours = drift.schedule.period_hours
        objective = ("modelDeploymentMonitoringObjectiveConfigs", 0, "objectiveConfig",
                     "predictionDriftDetectionConfig")
        thresholds = (_monitoring_job((*objective, "driftThresholds"),
                                      {f: {"value": drift.threshold} for f in drift.features}) if drift.features
                      else _monitoring_job((*objective, "defaultDriftThreshold"), {"value": drift.threshold}))
        yield Expect(WORKFLOW, f"{base}-deployer-workflow", (
            thresholds, _monitoring_job(("modelDeploymentMonitoringScheduleConfig", "monitorInterval"),
                                        f"{hours * 3600}s")), why=f"{m.name}: the monitoring job")
        yield Expect(ALERT, f"{base}-monitoring-drift-alert", (Check(
            ("conditions", 0, "conditionMatchedLog", "filter"), lambda f, e=_endpoint_id(plan, m.name): e in str(f),
            "anomalies of the model's endpoint"),), why=m.name)


def _quality(plan: Plan) -> Iterator[Expect]:
    for base, m in _realtime(plan):
        q = m.monitoring.quality
        if q is None:
            continue
        delay = f"INTERVAL {q.label_delay_hours} HOUR))"
        yield Expect(WORKFLOW, f"{base}-monitoring-quality-workflow", (_workflow(
            lambda s, want=delay: want in str(value_at(_main(s, "score"), "args", "body", "query")),
            f"labels {q.label_delay_hours} h late"),), why=f"{m.name} scoring")
        yield Expect(JOB, f"{base}-monitoring-quality-schedule", (Check(("schedule",), q.schedule.cron),),
                     why=m.name)
        yield Expect(METRIC_DESCRIPTOR, f"{base}-monitoring-quality-metric", (Check(
            ("description",), lambda d, metric=q.metric: str(d).startswith(f"{metric} of "), f"the {q.metric} score"),),
            why=m.name)
        comparison = "COMPARISON_LT" if q.direction == Direction.at_least else "COMPARISON_GT"
        yield Expect(ALERT, f"{base}-monitoring-quality-alert", (
            _threshold(q.threshold), Check(("conditions", 0, "conditionThreshold", "comparison"), comparison)),
            why=f"{m.name} {q.metric}")


# --------------------------------------------------------------------------- governance


def _promoters(plan: Plan) -> list[str]:
    """components/gcp/registry.py `promoters`: who may act as the promoter account, in order."""
    g = plan.governance
    names = [*(g.approval.approval.approvers if g.approval else []), *g.roles.approver]
    if g.approval is None or not g.approval.enforced:
        names += g.roles.ml_engineer
    members = (_member(n, g.roles.group_domain) for n in names)
    return list(dict.fromkeys(m for m in members if m))


def _promotion(plan: Plan, mode: str) -> Iterator[Expect]:
    """The promotion workflows (labelled with the approval mode) and who may start them."""
    for m in plan.models:
        yield Expect(WORKFLOW, f"{plan.prefix}-registry-{m.name}-promote",
                     (Check(("labels", "mlops-approval"), mode),), why=f"{m.name} promotion")
    yield Expect(ACCOUNT, f"{plan.prefix}-registry-promoter", why="the identity promotions run as")
    for i, member in enumerate(_promoters(plan)):
        yield Expect(ACCOUNT_MEMBER, f"{plan.prefix}-registry-promoter-{i}", (Check(("member",), member),),
                     why=f"{member} may promote")


def _approval(plan: Plan) -> Iterator[Expect]:
    approval = plan.governance.approval
    if approval is not None:
        yield from _promotion(plan, "enforced" if approval.enforced else "manual")


def _enforced(plan: Plan) -> Iterator[Expect]:
    approval = plan.governance.approval
    if approval is None or not approval.enforced:
        return
    yield from _promotion(plan, "enforced")
    # The promoter identity is a gate only if nobody else can move the alias or deploy: roles/aiplatform.user
    # holds aiplatform.models.update and endpoint deployment, so the other personas may only view Vertex AI.
    for persona in ("data_scientist", "ml_engineer"):
        for member in _persona_members(plan, persona):
            yield _grant(plan, persona, member, "roles/aiplatform.viewer",
                         f"{persona} {member} only views Vertex AI where approvers alone promote")


def _cards(plan: Plan) -> Iterator[Expect]:
    if not plan.governance.model_card_required:
        return
    g = plan.governance
    for base, m in _models(plan):
        want = {"model": m.name, "intended_use": plan.use_case, "risk_tier": g.risk_tier.value,
                "compliance": [c.value for c in g.compliance]}

        def card(d: dict[str, Any], want: dict[str, Any] = want) -> bool:
            found = encoded_document(_arg(d, "exec-register", "--model-card")) or {}  # encoded: blueprint text
            return {k: found.get(k) for k in want} == want
        yield from _spec_expects(base, m, (_spec(card, f"a model card of {m.name}"),), f"{m.name} card")


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
    Capability.sre_alarms: _sre,
    Capability.prediction_logging: _capture,
    Capability.drift_monitoring: _drift,
    Capability.quality_monitoring: _quality,
    Capability.approval_workflow: _approval,
    Capability.enforced_approval: _enforced,
    Capability.model_cards: _cards,
}
"""Shadow deployment is absent: Vertex endpoints cannot mirror traffic, and the GCP plan refuses a shadow."""
