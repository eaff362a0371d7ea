"""Cross-field rules: one table of (rule, message), each rule tested on its own.

A rule's `find` yields every place that breaks it, as a `Finding` (YAML path, the value found).
Rules only see a blueprint that already passed field validation. Maturity gating is not here:
it belongs to the plan (`mlops.plan.gating`).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .diagnostics import Diagnostic, YamlPath, shorten
from .metrics import FRACTION, MetricRange, metric_range
from .model import (
    AlertKind,
    Blueprint,
    Cloud,
    Compliance,
    DeliveryStrategy,
    Dimension,
    DriftMethod,
    InstanceSize,
    ModelSpec,
    RiskTier,
    ServingMode,
)


@dataclass(frozen=True)
class Finding:
    path: YamlPath
    got: object = None
    detail: str | None = None
    """Said after the rule's message, e.g. which regime asked for it."""
    allowed: str | None = None
    """What is allowed here, when it depends on the finding (else the rule's `allowed`)."""


@dataclass(frozen=True)
class Rule:
    id: str
    message: str
    find: Callable[[Blueprint], Iterable[Finding]]
    allowed: str | None = None


def _models(bp: Blueprint) -> Iterator[tuple[YamlPath, ModelSpec]]:
    for i, model in enumerate(bp.models):
        yield ("models", i), model


# --------------------------------------------------------------------------- serving and delivery


def _progressive_without_realtime(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        strategy = m.serving.delivery.strategy
        if m.serving.mode != ServingMode.realtime and strategy != DeliveryStrategy.all_at_once:
            yield Finding((*path, "serving", "delivery", "strategy"), m.serving.delivery.strategy.value)


def _delivery_step_percent(bp: Blueprint) -> Iterator[Finding]:
    # The plan turns `canary_percent` into whole-percent traffic steps once, for every cloud: every cloud splits
    # traffic (or sizes instance batches) in whole percentages, 0 would never move traffic, 100 is no step.
    for path, m in _models(bp):
        percent = m.serving.delivery.canary_percent
        whole = float(percent).is_integer()
        if not (whole and 1 <= percent <= 99):
            yield Finding((*path, "serving", "delivery", "canary_percent"), int(percent) if whole else percent)


def _shadow_without_realtime(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        if m.serving.shadow is not None and m.serving.mode != ServingMode.realtime:
            yield Finding((*path, "serving", "shadow"), m.serving.mode.value)


def _realtime_only_options(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        if m.serving.mode == ServingMode.realtime:
            continue
        for key in ("batching", "caching"):
            if getattr(m.serving, key) is not None:
                yield Finding((*path, "serving", key), m.serving.mode.value)


def _batch_needs_schedule(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        if m.serving.mode == ServingMode.batch and m.serving.schedule is None:
            yield Finding((*path, "serving", "schedule"), None)


def _schedule_only_for_batch(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        if m.serving.mode != ServingMode.batch and (m.serving.schedule or m.serving.output_uri):
            key = "schedule" if m.serving.schedule else "output_uri"
            yield Finding((*path, "serving", key), m.serving.mode.value)


def _streaming_needs_stream(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        if m.serving.mode == ServingMode.streaming and not m.serving.stream:
            yield Finding((*path, "serving", "stream"), None)
        if m.serving.mode != ServingMode.streaming and m.serving.stream:
            yield Finding((*path, "serving", "stream"), m.serving.mode.value)


def _instance_bounds(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        if m.serving.min_instances > m.serving.max_instances:
            yield Finding((*path, "serving", "min_instances"), m.serving.min_instances)
    for env, spec in bp.environments.items():
        lo, hi = spec.serving.min_instances, spec.serving.max_instances
        if lo is not None and hi is not None and lo > hi:
            yield Finding(("environments", env, "serving", "min_instances"), lo)


def _realtime_needs_an_instance(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        if m.serving.mode == ServingMode.realtime and m.serving.min_instances == 0:
            yield Finding((*path, "serving", "min_instances"), 0)
    # An environment override applies to every model, the real-time ones included.
    if any(m.serving.mode == ServingMode.realtime for m in bp.models):
        for env, spec in bp.environments.items():
            if spec.serving.min_instances == 0:
                yield Finding(("environments", env, "serving", "min_instances"), 0)


# --------------------------------------------------------------------------- training


def _spot_needs_checkpoints(bp: Blueprint) -> Iterator[Finding]:
    # `environments.<env>.training.spot: true` turns spot on for every model in that environment.
    spot_envs = [env for env, spec in bp.environments.items() if spec.training.spot]
    for path, m in _models(bp):
        t = m.training
        if t.checkpointing or t.max_runtime_hours <= 1:
            continue
        if t.spot:
            yield Finding((*path, "training", "checkpointing"), False)
        elif spot_envs:
            yield Finding((*path, "training", "checkpointing"), False,
                          f"environments.{spot_envs[0]}.training.spot turns spot on")


def _duplicate_gates(bp: Blueprint) -> Iterator[Finding]:
    # Two bars on one metric in one direction: one of them is dead, and the clouds disagree on which
    # (a traceback on one, a silent double gate on another). A band (at_least and at_most) is fine.
    for path, m in _models(bp):
        seen: set[tuple[str, str]] = set()
        for j, gate in enumerate(m.quality_gates.metrics):
            key = (gate.metric, gate.direction.value)
            if key in seen:
                yield Finding((*path, "quality_gates", "metrics", j, "metric"), gate.metric,
                              f"{gate.metric} {gate.direction.value.replace('_', ' ')} is already gated")
            seen.add(key)


# Drift statistics bounded by 1 (a KS statistic, a Jensen-Shannon distance, an L-infinity distance between
# two distributions); PSI and Wasserstein distance have no upper bound.
_BOUNDED_DRIFT = MetricRange(0, 1, "a distance between distributions that is at most 1")
_DRIFT_RANGES = {DriftMethod.ks: _BOUNDED_DRIFT, DriftMethod.jensen_shannon: _BOUNDED_DRIFT,
                 DriftMethod.l_infinity: _BOUNDED_DRIFT}


def _metric_thresholds(bp: Blueprint) -> Iterator[Finding]:
    def outside(at: YamlPath, metric: str, threshold: float, bounds: MetricRange | None) -> Iterator[Finding]:
        if bounds is not None and not bounds.holds(threshold):
            yield Finding((*at, "threshold"), threshold, f"{metric} is {bounds.meaning}", bounds.text())

    for path, m in _models(bp):
        for j, gate in enumerate(m.quality_gates.metrics):
            yield from outside((*path, "quality_gates", "metrics", j), gate.metric, gate.threshold,
                               metric_range(gate.metric))
        for j, fair in enumerate(m.quality_gates.fairness):
            # Parity and opportunity differences and the disparate-impact ratio (lower rate / higher) are in 0-1.
            yield from outside((*path, "quality_gates", "fairness", j), fair.metric.value, fair.threshold, FRACTION)
        if (quality := m.monitoring.quality) is not None:
            yield from outside((*path, "monitoring", "quality"), quality.metric, quality.threshold,
                               metric_range(quality.metric))
        if (drift := m.monitoring.drift) is not None:
            yield from outside((*path, "monitoring", "drift"), drift.method.value, drift.threshold,
                               _DRIFT_RANGES.get(drift.method))


def _search_parallelism(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        search = m.training.hyperparameter_search
        if search and search.max_parallel_trials > search.max_trials:
            yield Finding((*path, "training", "hyperparameter_search", "max_parallel_trials"),
                          search.max_parallel_trials)


def _champion_needs_metric(bp: Blueprint) -> Iterator[Finding]:
    # Only explicit requests: by default the comparison is simply skipped when there is no metric.
    for path, m in _models(bp):
        gates, retraining = m.quality_gates, m.retraining
        wants_champion = (gates.compare_to_champion and "compare_to_champion" in gates.model_fields_set) or (
            retraining.champion_challenger and "champion_challenger" in retraining.model_fields_set)
        if wants_champion and not m.quality_gates.metrics:
            yield Finding((*path, "quality_gates", "metrics"), [])


RESERVED_TAGS = ("environment", "managed-by", "mlops-blueprint", "mlops-purpose", "mlops-approval", "severity")


def _reserved_tags(bp: Blueprint) -> Iterator[Finding]:
    # The platform sets these; policies rely on them (e.g. environment=prod for protection checks). Components
    # add the last three to some resources (buckets, model packages, alarm topics and channels), where a
    # blueprint tag of the same name would be silently overwritten.
    for key in bp.tags:
        if key in RESERVED_TAGS:
            yield Finding(("tags", key), key)


# Tags a resource takes (botocore's SageMaker `TagList` has at most 50; GCP: 64 labels a resource). Azure's own
# limit (50) is not checked here: its components add their own tags.
CLOUD_TAG_LIMITS = {Cloud.aws: ("AWS", "tags", 50), Cloud.gcp: ("GCP", "labels", 64)}
PLATFORM_TAGS_PER_RESOURCE = 4
"""The plan's three (mlops-blueprint, environment, managed-by) and at most one a component adds to a resource
(mlops-purpose, mlops-approval, severity, or Name on AWS network resources)."""
AWS_TAG_PUNCTUATION = "_.:/=+-@"
"""botocore's TagKey/TagValue pattern `[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`: letters, separators, digits and these."""


def _cloud_tag_limits(bp: Blueprint) -> Iterator[Finding]:
    limit = CLOUD_TAG_LIMITS.get(bp.cloud.provider)
    if limit is None:
        return
    cloud, word, most = limit
    room = most - PLATFORM_TAGS_PER_RESOURCE
    if len(bp.tags) > room:
        yield Finding(("tags",), len(bp.tags), allowed=f"at most {room} blueprint tags ({cloud} takes {most} "
                      f"{word} a resource; the platform sets {PLATFORM_TAGS_PER_RESOURCE})")


def aws_tag_forbidden(text: str) -> str | None:
    """The first character an AWS tag key or value may not hold, or None."""
    for char in text:
        if unicodedata.category(char)[0] not in "LZN" and char not in AWS_TAG_PUNCTUATION:
            return char
    return None


def _aws_tag_characters(bp: Blueprint) -> Iterator[Finding]:
    # GCP labels and Azure tags are rewritten to their character sets (components.base); AWS refuses the call.
    if bp.cloud.provider != Cloud.aws:
        return
    for key, value in bp.tags.items():
        char = aws_tag_forbidden(value)
        if char is not None:
            yield Finding(("tags", key), value, f"{char!r} is not allowed")


# --------------------------------------------------------------------------- monitoring and retraining


def _drift_retraining_needs_drift(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        if m.retraining.on_drift and m.monitoring.drift is None:
            yield Finding((*path, "retraining", "on_drift"), True)


def _performance_retraining_needs_quality(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        if m.retraining.on_performance and m.monitoring.quality is None:
            yield Finding((*path, "retraining", "on_performance"), True)


_CRON_WORDS = {"hourly", "daily", "weekly", "monthly"}
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
CRON_BOUNDS: tuple[tuple[int, int], ...] = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
"""Lowest and highest value of each cron field (minute, hour, day of month, month, day of week; 7 is Sunday)."""


def cron_values(field: str, low: int, high: int) -> set[int]:
    """The values one cron field matches (`*`, `A`, `A-B`, each with an optional `/N`, comma-separated).

    Raises ValueError when the field is not that syntax or leaves `low`-`high` (the plan's schedule
    resolution reads the same values, so that a schedule the rules pass always resolves)."""
    if not _CRON_FIELD.match(field):
        raise ValueError(f"{field!r} is not a cron field")
    values: set[int] = set()
    for item in field.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            start, end = low, high
        else:
            first, _, last = span.partition("-")
            start = int(first)
            # `A/N` runs from A to the field's end; a plain `A` is that one value.
            end = int(last) if last else (high if step_text else start)
        if step < 1 or not low <= start <= end <= high:
            raise ValueError(f"{item!r} is not within {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


_FIELD_NAMES: dict[int, dict[str, int]] = {
    3: {name: number for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)},
    4: {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))},
}
"""Names cron accepts for months (field 3) and days of the week (field 4), as Vixie cron, Cloud Scheduler,
EventBridge and Azure ML's CronTrigger all do: `0 2 * * MON-FRI`, `0 0 1 JAN,JUL *`."""
_NAME = re.compile(r"[A-Za-z]+")


def numeric_cron(text: str) -> str:
    """Five cron fields with month and day names replaced by their numbers (`MON-FRI` → `1-5`), single-spaced.

    Names are matched case-insensitively (three letters, as cron spells them); anything else is left for
    `cron_values` to refuse. The plan stores this form, so every back end translates one syntax."""
    fields = text.split()
    for index, names in _FIELD_NAMES.items():
        if index < len(fields):
            fields[index] = _NAME.sub(lambda m, n=names: str(n.get(m.group().upper(), m.group())), fields[index])
    return " ".join(fields)


def is_schedule(text: str) -> bool:
    """A keyword, or five cron fields each within its bounds (month and day names allowed)."""
    if text in _CRON_WORDS:
        return True
    fields = numeric_cron(text).split()
    if len(fields) != len(CRON_BOUNDS):
        return False
    try:
        for value, (low, high) in zip(fields, CRON_BOUNDS, strict=True):
            cron_values(value, low, high)
    except ValueError:
        return False
    return True


def _schedules(bp: Blueprint) -> Iterator[Finding]:
    for path, m in _models(bp):
        drift, quality = m.monitoring.drift, m.monitoring.quality
        candidates = {
            (*path, "serving", "schedule"): m.serving.schedule,
            (*path, "retraining", "schedule"): m.retraining.schedule,
            (*path, "monitoring", "drift", "schedule"): drift.schedule if drift else None,
            (*path, "monitoring", "quality", "schedule"): quality.schedule if quality else None,
        }
        for where, value in candidates.items():
            if value is not None and not is_schedule(value):
                yield Finding(where, value)


# --------------------------------------------------------------------------- maturity


def _target_below_current(bp: Blueprint) -> Iterator[Finding]:
    for d in Dimension:
        if bp.maturity.target.level(d) < bp.maturity.current.level(d):
            yield Finding(("maturity", "target", d.value), bp.maturity.target.level(d))


def _deployment_needs_monitoring(bp: Blueprint) -> Iterator[Finding]:
    # Automated deployment without drift detection ships regressions blind (framework, level 3).
    target = bp.maturity.target
    if target.deployment >= 3 and target.monitoring < 2:
        yield Finding(("maturity", "target", "monitoring"), target.monitoring)


# --------------------------------------------------------------------------- governance and compliance


def _approvals_for_declared_envs(bp: Blueprint) -> Iterator[Finding]:
    for env in bp.governance.approvals:
        if env not in bp.environments:
            yield Finding(("governance", "approvals", env), env)


def _approvals_need_approver_role(bp: Blueprint) -> Iterator[Finding]:
    if bp.governance.approvals and not bp.governance.roles.approver:
        yield Finding(("governance", "roles", "approver"), [])


def _min_approvals_reachable(bp: Blueprint) -> Iterator[Finding]:
    for env, approval in bp.governance.approvals.items():
        if approval.min_approvals > len(approval.approvers):
            yield Finding(("governance", "approvals", env, "min_approvals"), approval.min_approvals)


def _regime(bp: Blueprint, *regimes: Compliance) -> bool:
    return any(r in bp.governance.compliance for r in regimes)


def _prod_approval_required(bp: Blueprint) -> Iterator[Finding]:
    # SR 11-7 (Fed/OCC 2011-12, section V): independent validation before use.
    # EU AI Act Art. 14: human oversight of high-risk systems. SOC 2 CC8.1: authorised changes.
    needs = _regime(bp, Compliance.sr_11_7, Compliance.soc2) or (
        _regime(bp, Compliance.eu_ai_act) and bp.governance.risk_tier == RiskTier.high
    )
    if needs and "prod" in bp.environments and "prod" not in bp.governance.approvals:
        yield Finding(("governance", "approvals"), sorted(bp.governance.approvals))


def _model_card_required(bp: Blueprint) -> Iterator[Finding]:
    # SR 11-7 section VI: documentation of models; EU AI Act Art. 11 + Annex IV: technical documentation.
    needs = _regime(bp, Compliance.sr_11_7) or (
        _regime(bp, Compliance.eu_ai_act) and bp.governance.risk_tier == RiskTier.high
    )
    if needs and not bp.governance.model_card_required:
        yield Finding(("governance", "model_card_required"), False)


def _fairness_gates(bp: Blueprint) -> Iterator[Finding]:
    # ECOA / Regulation B (12 CFR 1002): credit decisions must not discriminate; test before release.
    if not _regime(bp, Compliance.fair_lending):
        return
    for path, m in _models(bp):
        if not m.quality_gates.fairness:
            yield Finding((*path, "quality_gates", "fairness"), [])


# Minimum audit retention per regime, in days, with its source.
AUDIT_RETENTION_MINIMUM_DAYS: dict[Compliance, tuple[int, str]] = {
    # 45 CFR 164.316(b)(2)(i): keep required documentation six years.
    Compliance.hipaa: (6 * 365, "HIPAA keeps required documentation for 6 years"),
    # PCI DSS v4.0 requirement 10.5.1: audit log history for at least 12 months.
    Compliance.pci_dss: (365, "PCI DSS 10.5.1 keeps audit logs for at least 12 months"),
    # EU AI Act Art. 19 and 26(6): automatically generated logs kept at least six months.
    Compliance.eu_ai_act: (183, "the EU AI Act keeps high-risk system logs for at least 6 months"),
    # SR 11-7 expects records of model development and validation to outlive the model; banks
    # commonly apply the 7-year record-keeping horizon of their books and records.
    Compliance.sr_11_7: (7 * 365, "SR 11-7 model records are kept on the bank's 7-year horizon"),
}


def _audit_retention(bp: Blueprint) -> Iterator[Finding]:
    days = bp.governance.audit_retention_days
    for regime in bp.governance.compliance:
        if regime == Compliance.eu_ai_act and bp.governance.risk_tier != RiskTier.high:
            continue  # the log-keeping duty applies to high-risk systems
        minimum = AUDIT_RETENTION_MINIMUM_DAYS.get(regime)
        if minimum and days < minimum[0]:
            yield Finding(("governance", "audit_retention_days"), days,
                          f"{minimum[1]} (>= {minimum[0]} days)")


def _pii_needs_regime(bp: Blueprint) -> Iterator[Finding]:
    # Personal data with no privacy regime named is usually an omission (GDPR, HIPAA, …).
    privacy = (Compliance.gdpr, Compliance.hipaa, Compliance.pci_dss, Compliance.fair_lending,
               Compliance.sr_11_7)
    if any(s.contains_pii for s in bp.data.sources) and not _regime(bp, *privacy):
        yield Finding(("governance", "compliance"), [r.value for r in bp.governance.compliance])


# --------------------------------------------------------------------------- alerts, names, clouds


def _alert_targets(bp: Blueprint) -> Iterator[Finding]:
    for i, route in enumerate(bp.alerts):
        path: YamlPath = ("alerts", i)
        if route.kind == AlertKind.email:
            if not route.target or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", route.target):
                yield Finding((*path, "target"), route.target)
        elif route.secret is None and not (route.target or "").startswith("https://"):
            yield Finding((*path, "target"), route.target)


def _unique_names(bp: Blueprint) -> Iterator[Finding]:
    groups: dict[str, list[str]] = {
        "models": [m.name for m in bp.models],
        "data.sources": [s.name for s in bp.data.sources],
    }
    if bp.feature_store:
        groups["feature_store.entities"] = [e.name for e in bp.feature_store.entities]
    for where, names in groups.items():
        for name, count in Counter(names).items():
            if count > 1:
                index = [i for i, n in enumerate(names) if n == name][1]
                yield Finding((*where.split("."), index, "name"), name)


_INSTANCE_PATTERNS = {
    Cloud.aws: (r"^ml\.[a-z0-9]+\.[0-9]*(x)?large$|^ml\.[a-z0-9]+\.(medium|small)$",
                "ml.<family>.<size>, e.g. ml.m5.xlarge"),
    # GPU machines (a2-highgpu-1g, a3-megagpu-8g, ...) end in their GPU count: mlops/clouds/gcp_machines.py
    # gives each its accelerators (the GCP plan refuses one the dated table does not know).
    Cloud.gcp: (r"^[a-z][a-z0-9]*-(standard|highmem|highcpu|megamem|ultramem)-[0-9]+$"
                r"|^[a-z][a-z0-9]*-(highgpu|megagpu|ultragpu)-[0-9]+g$", "e.g. n1-standard-8, a2-highgpu-1g"),
    Cloud.azure: (r"^Standard_[A-Za-z0-9_]+$", "Standard_<series>, e.g. Standard_DS3_v2"),
}


def _instance_types_fit_cloud(bp: Blueprint) -> Iterator[Finding]:
    pattern = _INSTANCE_PATTERNS[bp.cloud.provider][0]
    places: list[tuple[YamlPath, object]] = []
    for path, m in _models(bp):
        places += [((*path, "training", "instance"), m.training.instance),
                   ((*path, "serving", "instance"), m.serving.instance)]
    for env, spec in bp.environments.items():
        places += [(("environments", env, "serving", "instance"), spec.serving.instance),
                   (("environments", env, "training", "instance"), spec.training.instance)]
    for where, value in places:
        own_type = isinstance(value, str) and not isinstance(value, InstanceSize) \
            and value not in InstanceSize.__members__
        if own_type and not re.match(pattern, str(value)):
            yield Finding(where, value)


_ACCOUNT_PATTERNS = {
    Cloud.aws: r"^\d{12}$",
    Cloud.gcp: r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
    Cloud.azure: r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
}
_REGION_PATTERNS = {
    Cloud.aws: r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$",
    Cloud.gcp: r"^[a-z]+-[a-z]+\d+$",
    Cloud.azure: r"^[a-z]+[a-z0-9]*$",
}


def _accounts_fit_cloud(bp: Blueprint) -> Iterator[Finding]:
    for env, spec in bp.environments.items():
        if spec.account is not None and not re.match(_ACCOUNT_PATTERNS[bp.cloud.provider], spec.account):
            yield Finding(("environments", env, "account"), spec.account)


def _regions_fit_cloud(bp: Blueprint) -> Iterator[Finding]:
    pattern = _REGION_PATTERNS[bp.cloud.provider]
    if not re.match(pattern, bp.cloud.region):
        yield Finding(("cloud", "region"), bp.cloud.region)
    for env, spec in bp.environments.items():
        if spec.region is not None and not re.match(pattern, spec.region):
            yield Finding(("environments", env, "region"), spec.region)


def _network_subnets(bp: Blueprint) -> Iterator[Finding]:
    for env, spec in bp.environments.items():
        net = spec.network
        if net.subnets and net.vpc is None:
            yield Finding(("environments", env, "network", "subnets"), net.subnets)
        elif net.vpc is not None and bp.cloud.provider == Cloud.aws and len(net.subnets) < 2:
            # SageMaker endpoints and multi-AZ serving need subnets in at least two zones.
            yield Finding(("environments", env, "network", "subnets"), net.subnets)


def _azure_budget_notifications(bp: Blueprint) -> Iterator[Finding]:
    # Azure consumption budgets take at most five notifications.
    if bp.cloud.provider == Cloud.azure and bp.cost and len(bp.cost.alert_thresholds_percent) > 5:
        yield Finding(("cost", "alert_thresholds_percent"), len(bp.cost.alert_thresholds_percent))


# --------------------------------------------------------------------------- network, identity, features, cost


def _network_cidr(bp: Blueprint) -> Iterator[Finding]:
    # The platform carves its private subnets (quarters of the range) out of this: a private range,
    # large enough for training clusters and VPC endpoints, never routed on the internet.
    for env, spec in bp.environments.items():
        if spec.network.vpc is not None or "cidr" not in spec.network.model_fields_set:
            continue
        try:
            network = ipaddress.ip_network(spec.network.cidr)
        except ValueError:
            yield Finding(("environments", env, "network", "cidr"), spec.network.cidr, "not a network address")
            continue
        if not network.is_private or not 16 <= network.prefixlen <= 24:
            yield Finding(("environments", env, "network", "cidr"), spec.network.cidr)


def _role_principals(bp: Blueprint) -> Iterator[tuple[YamlPath, str]]:
    """Every principal the blueprint names for a role, with its YAML path: the personas' principals, and
    each environment's approvers (who may act in its approver role too)."""
    for persona in ("data_scientist", "ml_engineer", "approver"):
        for i, principal in enumerate(getattr(bp.governance.roles, persona)):
            yield ("governance", "roles", persona, i), principal
    for env, approval in bp.governance.approvals.items():
        for i, principal in enumerate(approval.approvers):
            yield ("governance", "approvals", env, "approvers", i), principal


AWS_PERMISSION_SET = re.compile(r"^[\w+=,.@-]{1,32}$")
AWS_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$")


def _aws_role_principals(bp: Blueprint) -> Iterator[Finding]:
    # AWS trusts either IAM principals by ARN or IAM Identity Center permission sets by name
    # (components.aws.governance.trust_statements); anything else would be a trust nobody matches.
    if bp.cloud.provider != Cloud.aws:
        return
    for path, principal in _role_principals(bp):
        if not (AWS_PRINCIPAL_ARN.match(principal) or AWS_PERMISSION_SET.match(principal)):
            yield Finding(path, principal)


GCP_IAM_MEMBER = re.compile(r"^((group|user|serviceAccount|domain):[^\s:]+|principal(Set)?:\S+|[^\s@:]+@[^\s@:]+)$")
"""An IAM member, or an email address (a Google group) (components.gcp.principals.iam_member)."""
GCP_GROUP_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
"""A plain principal name on GCP: the local part of a Google group's address (`name@<group_domain>`)."""


def _gcp_role_principals(bp: Blueprint) -> Iterator[Finding]:
    # GCP grants roles to IAM members; a plain name is a group of `governance.roles.group_domain`
    # (components.gcp.principals.iam_member), so a plain name without that domain names nobody.
    if bp.cloud.provider != Cloud.gcp:
        return
    domain = bp.governance.roles.group_domain
    for path, principal in _role_principals(bp):
        if GCP_IAM_MEMBER.match(principal):
            continue
        if not GCP_GROUP_NAME.match(principal):
            yield Finding(path, principal)
        elif domain is None:
            yield Finding(path, principal,
                          "a plain group name needs `governance.roles.group_domain` (e.g. example.com)")


AZURE_PRINCIPAL = re.compile(r"^((group|user|sp):)?[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
"""An Entra ID object id, bare (a group) or as `group:`, `user:` or `sp:<id>` (components.azure.principals)."""


def _azure_role_principals(bp: Blueprint) -> Iterator[Finding]:
    # Azure role assignments take Entra object ids; a display name is not unique and not resolvable
    # without directory read rights, so principals are given by id (components.azure.principals).
    if bp.cloud.provider != Cloud.azure:
        return
    for path, principal in _role_principals(bp):
        if not AZURE_PRINCIPAL.match(principal):
            yield Finding(path, principal)


def _billing_account_fits_cloud(bp: Blueprint) -> Iterator[Finding]:
    # A GCP budget belongs to a billing account, which no project setting names; AWS and Azure budgets
    # belong to the account / subscription and take none (it would be silently unused).
    has_budget = bp.cost is not None or any(e.monthly_budget_usd for e in bp.environments.values())
    account = bp.cost.billing_account if bp.cost else None
    if bp.cloud.provider == Cloud.gcp and has_budget and account is None:
        yield Finding(("cost", "billing_account"), None, "a GCP budget needs the billing account it watches")
    elif bp.cloud.provider != Cloud.gcp and account is not None:
        yield Finding(("cost", "billing_account"), account, "only GCP budgets take a billing account")


# Names SageMaker Feature Store keeps for itself in every feature group.
AWS_RESERVED_FEATURES = ("is_deleted", "write_time", "api_invocation_time")
EVENT_TIME_FEATURE = "event_time"


def _feature_definitions(bp: Blueprint) -> Iterator[Finding]:
    store = bp.feature_store
    if store is None:
        return
    if not store.online and not store.offline:
        yield Finding(("feature_store", "offline"), False, "a feature store needs an online or an offline store")
    for i, entity in enumerate(store.entities):
        seen: set[str] = set()
        for j, feature in enumerate(entity.features):
            at = ("feature_store", "entities", i, "features", j)
            if feature.name in seen:
                yield Finding((*at, "name"), feature.name, "declared twice")
            seen.add(feature.name)
            if feature.name == EVENT_TIME_FEATURE and feature.type != "timestamp":
                yield Finding((*at, "type"), feature.type, "`event_time` is the event time: type timestamp")
            if feature.name == entity.id_column and feature.type not in ("int", "string"):
                yield Finding((*at, "type"), feature.type, "the id column is an int or a string")
            if bp.cloud.provider == Cloud.aws and feature.name in AWS_RESERVED_FEATURES:
                yield Finding((*at, "name"), feature.name,
                              f"SageMaker reserves {', '.join(AWS_RESERVED_FEATURES)}")


def _drift_features_in_feature_store(bp: Blueprint) -> Iterator[Finding]:
    # Vertex and Azure ML watch drift on features by name: a name the feature store lacks is never watched.
    # On AWS drift features are CSV column positions (`_c0`, …), checked by mlops.clouds.aws instead.
    store = bp.feature_store
    if store is None or bp.cloud.provider == Cloud.aws:
        return
    known = sorted({f.name for entity in store.entities for f in entity.features})
    for path, m in _models(bp):
        drift = m.monitoring.drift
        for j, feature in enumerate(drift.features if drift else ()):
            if feature not in known:
                yield Finding((*path, "monitoring", "drift", "features", j), feature, allowed=", ".join(known))


# AWS Budgets takes ten notifications per budget; the platform adds one on forecast spend.
AWS_MAX_BUDGET_THRESHOLDS = 9


def _aws_budget_notifications(bp: Blueprint) -> Iterator[Finding]:
    if bp.cloud.provider == Cloud.aws and bp.cost and len(bp.cost.alert_thresholds_percent) > AWS_MAX_BUDGET_THRESHOLDS:
        yield Finding(("cost", "alert_thresholds_percent"), len(bp.cost.alert_thresholds_percent))


def _unique_budget_thresholds(bp: Blueprint) -> Iterator[Finding]:
    # Two notifications at one threshold: AWS refuses the duplicate, GCP and Azure send every alert twice.
    if bp.cost is None:
        return
    seen: set[float] = set()
    for i, percent in enumerate(bp.cost.alert_thresholds_percent):
        if percent in seen:
            shown = int(percent) if percent.is_integer() else percent
            yield Finding(("cost", "alert_thresholds_percent", i), shown, f"{shown} % is already a threshold")
        seen.add(percent)


def _aws_cost_alerts_need_a_route(bp: Blueprint) -> Iterator[Finding]:
    # AWS budget notifications go to the alert routes; without one the thresholds would notify nobody.
    budget = bp.cost is not None or any(e.monthly_budget_usd for e in bp.environments.values())
    if bp.cloud.provider == Cloud.aws and budget and not bp.alerts:
        yield Finding(("alerts",), [])


def _environments_present(bp: Blueprint) -> Iterator[Finding]:
    if not bp.environments:
        yield Finding(("environments",), {})


RULES: tuple[Rule, ...] = (
    Rule("environments-present", "at least one environment is needed", _environments_present,
         "dev, staging, prod"),
    Rule("progressive-delivery-needs-realtime",
         "canary, blue/green and rolling delivery shift live traffic, so they need `serving.mode: realtime`",
         _progressive_without_realtime, "all_at_once for batch and streaming"),
    Rule("delivery-step-percent",
         "`canary_percent` is the share of the first (canary) or of every (rolling) step, in whole percentages",
         _delivery_step_percent, "a whole number from 1 to 99"),
    Rule("shadow-needs-realtime", "shadow mode mirrors live requests, so it needs `serving.mode: realtime`",
         _shadow_without_realtime),
    Rule("batching-caching-need-realtime", "request batching and caching apply to real-time endpoints only",
         _realtime_only_options),
    Rule("batch-needs-schedule", "batch serving needs a schedule for its prediction runs",
         _batch_needs_schedule, "hourly, daily, weekly, monthly or a cron expression"),
    Rule("schedule-only-for-batch", "`schedule` and `output_uri` belong to batch serving",
         _schedule_only_for_batch),
    Rule("streaming-needs-stream", "streaming serving names the stream it consumes (and only streaming does)",
         _streaming_needs_stream),
    Rule("instance-bounds", "min_instances must not exceed max_instances", _instance_bounds),
    Rule("realtime-needs-an-instance", "a real-time endpoint needs at least one instance",
         _realtime_needs_an_instance, ">= 1"),
    Rule("spot-needs-checkpoints",
         "spot capacity can be reclaimed at any time: jobs longer than an hour need `checkpointing: true`",
         _spot_needs_checkpoints, "true"),
    Rule("unique-quality-gates", "two quality gates on the same metric and direction", _duplicate_gates,
         "one gate per metric and direction: keep the stricter threshold"),
    Rule("search-parallelism", "max_parallel_trials cannot exceed max_trials", _search_parallelism),
    Rule("champion-needs-metric",
         "comparing against the champion needs at least one quality-gate metric (or set "
         "compare_to_champion and retraining.champion_challenger to false)",
         _champion_needs_metric),
    Rule("drift-retraining-needs-drift-monitoring",
         "drift-triggered retraining needs drift monitoring: add `monitoring.drift`",
         _drift_retraining_needs_drift),
    Rule("performance-retraining-needs-quality-monitoring",
         "performance-triggered retraining needs quality monitoring: add `monitoring.quality`",
         _performance_retraining_needs_quality),
    Rule("metric-threshold-range", "threshold outside the range of its metric", _metric_thresholds),
    Rule("schedule-format", "not a schedule", _schedules,
         "hourly, daily, weekly, monthly, or five cron fields such as '0 3 * * 1' (minute 0-59, hour 0-23, "
         "day of month 1-31, month 1-12 or JAN-DEC, day of week 0-7 or SUN-SAT)"),
    Rule("target-not-below-current", "the maturity target is below the current level", _target_below_current,
         ">= maturity.current"),
    Rule("deployment-needs-monitoring",
         "automated deployment (deployment level 3) needs drift detection (monitoring level >= 2)",
         _deployment_needs_monitoring, ">= 2"),
    Rule("approvals-for-declared-environments", "approval for an environment the blueprint does not declare",
         _approvals_for_declared_envs, "the keys of `environments`"),
    Rule("approvals-need-approver-role",
         "approvals are enforced through the approver role: "
         "list its principals in `governance.roles.approver`",
         _approvals_need_approver_role),
    Rule("min-approvals-reachable", "more approvals required than approvers listed",
         _min_approvals_reachable),
    Rule("compliance-requires-prod-approval",
         "the compliance regimes named (SR 11-7, SOC 2, EU AI Act high-risk) "
         "require an approval gate for prod",
         _prod_approval_required, "add governance.approvals.prod"),
    Rule("compliance-requires-model-cards",
         "SR 11-7 and the EU AI Act (high-risk) require model documentation: set `model_card_required: true`",
         _model_card_required, "true"),
    Rule("fair-lending-requires-fairness-gate",
         "fair lending compliance requires a fairness quality gate on every model", _fairness_gates),
    Rule("compliance-audit-retention", "audit retention is shorter than a named compliance regime requires",
         _audit_retention),
    Rule("pii-needs-a-regime", "a data source holds personal data but no privacy regime is named",
         _pii_needs_regime, "gdpr, hipaa, pci_dss, fair_lending or sr_11_7"),
    Rule("alert-targets",
         "email routes need an address; "
         "pagerduty, slack and webhook routes need an https URL or a config `secret`",
         _alert_targets),
    Rule("unique-names", "names must be unique", _unique_names),
    Rule("reserved-tags", "this tag is set by the platform and cannot be overridden", _reserved_tags,
         "any key except " + ", ".join(RESERVED_TAGS)),
    Rule("cloud-tag-limits", "more tags than the cloud takes on a resource", _cloud_tag_limits),
    Rule("aws-tag-characters", "AWS tag values hold letters, digits, spaces and _ . : / = + - @ only",
         _aws_tag_characters, "letters, digits, spaces and _ . : / = + - @"),
    Rule("instance-types-fit-cloud", "not an instance type of this cloud", _instance_types_fit_cloud,
         "small, medium, large, xlarge, gpu_small, gpu_large, or the cloud's own type"),
    Rule("accounts-fit-cloud",
         "not an account id of this cloud (AWS account, GCP project, Azure subscription)",
         _accounts_fit_cloud),
    Rule("regions-fit-cloud", "not a region name of this cloud", _regions_fit_cloud),
    Rule("network-subnets",
         "subnets belong to an existing `vpc`; on AWS an existing VPC needs at least two private subnets",
         _network_subnets, "two or more subnet ids of the named vpc"),
    Rule("azure-budget-notifications", "Azure budgets take at most 5 alert thresholds",
         _azure_budget_notifications, "<= 5"),
    Rule("network-cidr", "the platform's own network needs a private (RFC 1918) range between /16 and /24",
         _network_cidr, "e.g. 10.40.0.0/16"),
    Rule("aws-role-principals",
         "on AWS a role principal is an IAM ARN (role, user or account root) or an IAM Identity Center "
         "permission set name",
         _aws_role_principals, "arn:aws:iam::<account>:role/<name>, or a permission set name such as DataScientists"),
    Rule("gcp-role-principals",
         "on GCP a role principal is an IAM member or a plain group name of `governance.roles.group_domain`",
         _gcp_role_principals, "group:<email>, user:<email>, serviceAccount:<email>, domain:<domain>, "
         "principal(Set)://…, a group's email, or a group name such as recs-team with governance.roles.group_domain"),
    Rule("azure-role-principals",
         "on Azure a role principal is an Entra ID object id (a group), or group:, user: or sp: and an object id",
         _azure_role_principals, "00000000-0000-0000-0000-000000000000, group:<object id>, user:<object id>, "
         "sp:<object id>"),
    Rule("billing-account-fits-cloud", "`cost.billing_account` is the GCP billing account a GCP budget needs",
         _billing_account_fits_cloud, "XXXXXX-XXXXXX-XXXXXX on GCP; nothing on AWS and Azure"),
    Rule("feature-definitions", "this feature definition cannot be built", _feature_definitions),
    Rule("drift-features-in-feature-store", "drift is watched on a feature the feature store does not have",
         _drift_features_in_feature_store),
    Rule("aws-budget-notifications",
         f"AWS budgets take at most {AWS_MAX_BUDGET_THRESHOLDS} alert thresholds "
         "(ten notifications, one of them on forecast spend)",
         _aws_budget_notifications, f"<= {AWS_MAX_BUDGET_THRESHOLDS}"),
    Rule("unique-budget-thresholds", "each budget alert threshold once", _unique_budget_thresholds,
         "distinct percentages, e.g. 50, 80, 100"),
    Rule("aws-cost-alerts-need-a-route",
         "budget alerts are sent to the alert routes: add at least one route to `alerts`",
         _aws_cost_alerts_need_a_route, "an email, pagerduty, slack or webhook route"),
)


def check_rules(bp: Blueprint, rules: Iterable[Rule] = RULES) -> list[Diagnostic]:
    """Every violation of every rule, in table order."""
    found: list[Diagnostic] = []
    for rule in rules:
        for finding in rule.find(bp):
            allowed = finding.allowed or rule.allowed
            if rule.id == "instance-types-fit-cloud":
                allowed = f"{allowed} ({_INSTANCE_PATTERNS[bp.cloud.provider][1]})"
            detail = f": {finding.detail}" if finding.detail else ""
            found.append(Diagnostic(finding.path, f"{rule.message}{detail} [{rule.id}]",
                                    got=shorten(finding.got), allowed=allowed))
    return found
