"""The architecture view: the synthesized resource graph grouped by capability, with data flows.

Pure: `architecture(plan, graph, built, …)` reads the recorded graph (type, name, parent of every
resource), classifies each resource to a capability, groups capabilities into the areas of the
ML life cycle and adds a dashed "planned" box for what the plan turns on but `built` (the graph's
evidence) does not hold. Mermaid (here) and SVG (`svg.py`) render the same `Architecture`.

Classification, in one place (`CLASS_RULES`, `NAME_RULES`, `TYPE_RULES`): a component
(`mlops:index:<Class>`) by its class name, else by the last capability word of its own name
suffix (e.g. `-audit`), else like its parent; a cloud resource by its cloud type token (an alarm
refined by what its name says it watches), else by its name suffix, else like its parent. What
matches nothing lands in "other".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

from mlops.blueprint.model import AlertRoute, Cloud, DataSource
from mlops.plan import Capability, Plan

from .clouds import PLATFORM

C = Capability
TYPE_PREFIX = "mlops:index:"


@dataclass(frozen=True)
class GraphNode:
    """One recorded resource, as much of it as the design needs (no pulumi import here)."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """The inputs the engine receives (evidence reads the blueprint's values in them)."""


@dataclass(frozen=True)
class AreaSpec:
    key: str
    title: str
    capabilities: tuple[Capability, ...]
    lifecycle: bool
    """On the main data-flow row (data → features → training → registry → serving → monitoring → retraining)."""


AREAS: tuple[AreaSpec, ...] = (
    AreaSpec("data", "Data and foundation", (C.foundation,), True),
    AreaSpec("features", "Feature store", (C.feature_store,), True),
    AreaSpec("training", "Training pipeline", (C.training_pipeline, C.hyperparameter_search, C.champion_challenger),
             True),
    AreaSpec("registry", "Model registry", (C.model_registry,), True),
    AreaSpec("serving", "Serving and delivery",
             (C.serving, C.autoscaling, C.progressive_delivery, C.shadow_deployment), True),
    AreaSpec("monitoring", "Monitoring", (C.sre_alarms, C.prediction_logging, C.quality_monitoring,
                                          C.freshness_alerts, C.drift_monitoring), True),
    AreaSpec("retraining", "Retraining triggers", (C.scheduled_retraining, C.drift_retraining,
                                                   C.performance_retraining), True),
    AreaSpec("tracking", "Experiment tracking", (C.experiment_tracking,), False),
    AreaSpec("governance", "Governance", (C.rbac_roles, C.audit_trail, C.approval_workflow, C.enforced_approval,
                                          C.model_cards), False),
    AreaSpec("cost", "Cost controls", (C.cost_controls,), False),
    AreaSpec("alerts", "Alert routes", (), False),
    AreaSpec("other", "Other", (), False),
)
AREA_BY_KEY = {a.key: a for a in AREAS}
AREA_OF: dict[Capability, str] = {c: a.key for a in AREAS for c in a.capabilities}

# Component class names (`mlops:index:<Class>`) → capability; first match wins. Generic building
# blocks (secure buckets) are deliberately absent: they are what their name or parent says.
CLASS_RULES: tuple[tuple[str, Capability], ...] = (
    (r"Audit", C.audit_trail),
    (r"Budget|Cost", C.cost_controls),
    (r"Approval", C.approval_workflow),
    (r"ModelCard", C.model_cards),
    (r"Rbac|Roles?$|Governance|AccessControl|Permission", C.rbac_roles),
    (r"Freshness", C.freshness_alerts),
    (r"Feature", C.feature_store),
    (r"Mlflow|MLflow|Tracking|Experiment|Tensorboard|Metadata|Workspace", C.experiment_tracking),
    (r"Tuning|Hyperparameter|Hpo", C.hyperparameter_search),
    (r"Retrain|Trigger", C.scheduled_retraining),
    (r"Pipeline|Training", C.training_pipeline),
    (r"Registry|ModelPackage|ModelGroup", C.model_registry),
    (r"Shadow", C.shadow_deployment),
    (r"Autoscal|Scaling", C.autoscaling),
    (r"Canary|Rollout|Delivery|TrafficSplit", C.progressive_delivery),
    (r"Drift", C.drift_monitoring),
    (r"Quality", C.quality_monitoring),
    (r"Logging|Capture", C.prediction_logging),
    (r"Monitor|Alarm|Alert|Dashboard|Observab", C.sre_alarms),
    (r"Endpoint|Serving|Inference|Batch|Deploy|Stream", C.serving),
    (r"Foundation|Network|Vpc|Kms|Key$|Storage|Identity", C.foundation),
)
# Dash-separated words of a resource's own name suffix → capability.
NAME_RULES: dict[str, Capability] = {
    "audit": C.audit_trail,
    "budget": C.cost_controls,
    "drift": C.drift_monitoring,
    "quality": C.quality_monitoring,
    "freshness": C.freshness_alerts,
    "alarm": C.sre_alarms,
    "alarms": C.sre_alarms,
    "retrain": C.scheduled_retraining,
    "retraining": C.scheduled_retraining,
    "approval": C.approval_workflow,
}
ALARM_REFINEMENTS = (C.freshness_alerts, C.drift_monitoring, C.quality_monitoring)
CROSS_CUTTING = (C.audit_trail, C.cost_controls)
NAME_OVERRIDES = (*CROSS_CUTTING, C.scheduled_retraining)
# Cloud type tokens → capability (types are the cloud's words, not the user's); first match wins.
# Generic plumbing (roles, policies, log groups, topics, event rules, schedules) is deliberately
# absent: it belongs to whatever component it serves.
TYPE_RULES: tuple[tuple[str, Capability], ...] = (
    (r"budgets/|billing/budget|consumption:Budget", C.cost_controls),
    (r"cloudtrail|insights:DiagnosticSetting|logging/projectSink|ImmutabilityPolicy|ObjectLockConfiguration",
     C.audit_trail),
    (r"sagemaker/featureGroup|featurestore|FeatureOnlineStore|FeatureGroup|Featureset|Featurestore",
     C.feature_store),
    (r"mlflowTrackingServer|aiTensorboard|aiMetadataStore", C.experiment_tracking),
    (r"sagemaker/pipeline|PipelineJob", C.training_pipeline),
    (r"modelPackageGroup|machinelearningservices:Registry", C.model_registry),
    (r"sagemaker/endpoint|sagemaker/model:|aiEndpoint|OnlineEndpoint|OnlineDeployment|BatchEndpoint|BatchDeployment",
     C.serving),
    (r"appautoscaling/", C.autoscaling),
    (r"monitoringSchedule|dataQualityJobDefinition|ModelMonitor", C.drift_monitoring),
    (r"modelQualityJobDefinition", C.quality_monitoring),
    (r"sagemaker/modelCard|ModelCard", C.model_cards),
    (r"cloudwatch/metricAlarm|monitoring/alertPolicy|insights:MetricAlert|insights:ActionGroup", C.sre_alarms),
    (r"resources:ResourceGroup|ec2/vpc|ec2/subnet|compute/network|compute/subnetwork|network:VirtualNetwork",
     C.foundation),
)


def _first(rules: Iterable[tuple[str, Capability]], text: str) -> Capability | None:
    return next((cap for pattern, cap in rules if re.search(pattern, text)), None)


def class_name(node: GraphNode) -> str:
    """`mlops:index:AwsFoundation` → AwsFoundation; `aws:s3/bucket:Bucket` → Bucket."""
    return node.type.rsplit(":", 1)[-1]


def _skipped(node: GraphNode) -> bool:
    return node.type == "pulumi:pulumi:Stack" or node.type.startswith("pulumi:providers:")


def _is_root(node: GraphNode) -> bool:
    return node.type.startswith(TYPE_PREFIX) and class_name(node).endswith("Platform")


@dataclass
class _Graph:
    nodes: Sequence[GraphNode]
    by_urn: dict[str, GraphNode] = field(init=False)
    memo: dict[str, tuple[Capability | None, bool]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_urn = {n.urn: n for n in self.nodes}

    def parent(self, node: GraphNode) -> GraphNode | None:
        parent = self.by_urn.get(node.parent or "")
        return None if parent is None or _skipped(parent) or _is_root(parent) else parent

    def suffix(self, node: GraphNode) -> str:
        parent = self.by_urn.get(node.parent or "")
        if parent is not None and node.name.startswith(parent.name + "-"):
            return node.name[len(parent.name) + 1:]
        return node.name

    def by_name(self, node: GraphNode) -> Capability | None:
        """What the last word of the name's own suffix says (`-audit`, `-freshness`): the most specific
        word, and never a user-chosen model or entity name in the middle."""
        return NAME_RULES.get(self.suffix(node).rsplit("-", 1)[-1])

    def classify(self, node: GraphNode) -> tuple[Capability | None, bool]:
        """(capability or None, specific): specific when a rule matched it or a specific ancestor."""
        if node.urn in self.memo:
            return self.memo[node.urn]
        parent = self.parent(node)
        inherited, parent_specific = self.classify(parent) if parent else (None, False)
        by_name = self.by_name(node)
        own: Capability | None
        if node.type.startswith(TYPE_PREFIX):
            own = _first(CLASS_RULES, class_name(node)) or by_name
        else:
            own = _first(TYPE_RULES, node.type)
            if own == C.sre_alarms and by_name in ALARM_REFINEMENTS:
                own = by_name  # an alarm says what it watches: `-freshness`, `-drift`, `-quality`
            elif own is None and (not parent_specific or by_name in NAME_OVERRIDES):
                # Inside a capability's own component a name word is usually about that capability
                # (a retraining rule `-on-drift`); only stores every component shares, and a
                # `-retraining-` schedule (Azure keeps it with its pipeline), override it.
                own = by_name
        result = (own, True) if own else (inherited, parent_specific)
        self.memo[node.urn] = result
        return result

    def area(self, node: GraphNode) -> str:
        capability = self.classify(node)[0]
        return AREA_OF[capability] if capability else "other"

    def top(self, node: GraphNode) -> GraphNode:
        """The ancestor directly under the platform root (or the node itself)."""
        while (parent := self.parent(node)) is not None:
            node = parent
        return node

    def anchor(self, node: GraphNode) -> GraphNode:
        """The highest ancestor in the same area: the component the box is named after."""
        area = self.area(node)
        while (parent := self.parent(node)) is not None and self.area(parent) == area:
            node = parent
        return node


def classify(graph: Sequence[GraphNode]) -> dict[str, Capability | None]:
    """Capability of every resource of the graph (providers, the stack and the platform root excluded)."""
    g = _Graph(graph)
    return {n.urn: g.classify(n)[0] for n in graph if not _skipped(n) and not _is_root(n)}


BoxKind = Literal["resources", "planned", "external"]


@dataclass(frozen=True)
class Box:
    id: str
    title: str
    lines: tuple[str, ...]
    kind: BoxKind
    capabilities: tuple[Capability, ...] = ()
    resources: tuple[str, ...] = ()
    """Names of the cloud resources in the box (kind `resources`)."""


@dataclass(frozen=True)
class AreaView:
    key: str
    title: str
    lifecycle: bool
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    label: str
    kind: Literal["data", "control"]


@dataclass(frozen=True)
class Architecture:
    title: str
    cloud: Cloud
    areas: tuple[AreaView, ...]
    flows: tuple[Flow, ...]
    resource_count: int
    """Cloud resources in the synthesized graph (components, providers and the stack excluded)."""

    def area(self, key: str) -> AreaView | None:
        return next((a for a in self.areas if a.key == key), None)


def _kinds(names: Sequence[str], limit: int = 3) -> str:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    parts = [f"{k} \N{MULTIPLICATION SIGN}{n}" if n > 1 else k for k, n in counts.items()]
    return ", ".join(parts[:limit]) + (f", +{len(parts) - limit} more" if len(parts) > limit else "")


def _short(name: str, prefix: str) -> str:
    return name[len(prefix) + 1:] if name.startswith(prefix + "-") else name


def _resource_boxes(graph: Sequence[GraphNode], prefix: str) -> dict[str, list[Box]]:
    g = _Graph(graph)
    groups: dict[tuple[str, str], list[GraphNode]] = {}
    for node in graph:
        if not node.custom or _skipped(node) or _is_root(node):
            continue
        groups.setdefault((g.area(node), g.top(node).urn), []).append(node)
    boxes: dict[str, list[Box]] = {}
    for (area, top_urn), members in groups.items():
        anchors: list[GraphNode] = []
        for member in members:
            anchor = g.anchor(member)
            if anchor not in anchors:
                anchors.append(anchor)
        top = g.by_urn[top_urn]
        single = len(anchors) == 1 and anchors[0].type.startswith(TYPE_PREFIX)
        title = class_name(anchors[0]) if single else class_name(top)
        names = ", ".join(_short(a.name, prefix) for a in anchors)
        count = f"{len(members)} resource{'s' if len(members) > 1 else ''}"
        capabilities = tuple(sorted({c for m in members if (c := g.classify(m)[0])}, key=list(Capability).index))
        box_list = boxes.setdefault(area, [])
        summary = f"{count}: {_kinds([class_name(m) for m in members])}"
        box_list.append(Box(f"{area}_{len(box_list)}", title, (names, summary), "resources", capabilities,
                            tuple(m.name for m in members)))
    return boxes


_CHAIN_LABELS = {
    ("data", "features"): "ingest", ("features", "training"): "point-in-time training sets",
    ("data", "training"): "versioned training data", ("training", "registry"): "registers candidates",
    ("registry", "serving"): "deploys approved versions", ("serving", "monitoring"): "predictions, metrics",
    ("monitoring", "retraining"): "alarms", ("data", "registry"): "artifacts", ("registry", "monitoring"): "baselines",
}


def architecture(plan: Plan, graph: Sequence[GraphNode], built: frozenset[Capability],
                 sources: Sequence[DataSource] = (), routes: Sequence[AlertRoute] = ()) -> Architecture:
    """Group the synthesized graph by capability area; add planned boxes, data sources and alert routes."""
    boxes = _resource_boxes(graph, plan.prefix)
    cloud = plan.cloud.value
    for i, source in enumerate(sources):
        kind = source.kind.value.replace("_", " ") + (", PII" if source.contains_pii else "")
        boxes.setdefault("data", []).insert(i, Box(f"source_{i}", source.name, (kind,), "external"))
    for spec in AREAS:
        missing = [c for c in spec.capabilities if plan.enabled(c) and c not in built]
        if missing:
            area_boxes = boxes.setdefault(spec.key, [])
            area_boxes.append(Box(f"{spec.key}_planned", f"planned, not yet built on {cloud}",
                                  tuple(c.value for c in missing), "planned", tuple(missing)))
    if routes:
        boxes["alerts"] = [Box(f"route_{i}", r.kind.value, (f"{r.severity.value} and above",), "external")
                           for i, r in enumerate(routes)]
    areas = tuple(AreaView(a.key, a.title, a.lifecycle, tuple(boxes[a.key])) for a in AREAS if boxes.get(a.key))
    present = {a.key for a in areas}
    chain = [a.key for a in areas if a.lifecycle]
    flows = [Flow(s, t, _CHAIN_LABELS.get((s, t), "feeds"), "data") for s, t in pairwise(chain)]
    extra = (
        Flow("retraining", "training", "starts retraining", "data"),
        Flow("training", "tracking", "logs runs, metrics, lineage", "control"),
        Flow("governance", "registry", "approves promotion", "control"),
        Flow("monitoring", "alerts", "notifies", "control"),
    )
    flows += [f for f in extra if f.source in present and f.target in present]
    resources = sum(1 for n in graph if n.custom and not _skipped(n))
    title = f"{plan.prefix} on {PLATFORM[plan.cloud]} ({plan.region})"
    return Architecture(title, plan.cloud, areas, tuple(flows), resources)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def mermaid(arch: Architecture) -> str:
    """A Mermaid flowchart: one subgraph per area, dashed boxes for planned capabilities."""
    lines = ["flowchart LR"]
    for area in arch.areas:
        lines.append(f'  subgraph area_{area.key}["{_mermaid_text(area.title)}"]')
        lines.append("    direction TB")
        for box in area.boxes:
            label = "<br/>".join(_mermaid_text(t) for t in (box.title, *box.lines) if t)
            shape = ('[("', '")]') if box.kind == "external" and area.key == "data" else (
                ('{{"', '"}}') if box.kind == "external" else ('["', '"]'))
            suffix = ":::planned" if box.kind == "planned" else ""
            lines.append(f"    {box.id}{shape[0]}{label}{shape[1]}{suffix}")
        lines.append("  end")
    for flow in arch.flows:
        arrow = "-->" if flow.kind == "data" else "-.->"
        lines.append(f'  area_{flow.source} {arrow}|"{_mermaid_text(flow.label)}"| area_{flow.target}')
    lines.append("  classDef planned stroke-dasharray: 5 5,fill:#f6f6f6,color:#555")
    return "\n".join(lines) + "\n"
