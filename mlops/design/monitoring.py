"""Section 4, the monitoring framework: what is measured, how on the chosen cloud, where alarms go.

Severities: an alarm that means users are harmed now (SLA breach, errors) is critical and pages;
signals measured later or earlier than the harm (quality, scored once labels arrive, hours or days
late; drift, utilisation, stale features) are warnings, and at monitoring level 3 quality and drift
start retraining. A route receives its own severity and every more severe one. Every back end routes
its alarms this way.
"""

from __future__ import annotations

from mlops.blueprint.model import AlertKind, AlertRoute, Direction, ServingMode, Severity
from mlops.clouds import facts
from mlops.plan import Capability, ModelPlan

from .clouds import SERVICE, drift_computation, freshness_computation, quality_computation, sre_computation
from .inputs import DesignInput
from .markdown import blocks, bullets, code, codes, minutes, schedule, table

ALARM_SEVERITY: dict[str, Severity] = {
    "latency": Severity.critical,
    "errors": Severity.critical,
    "quality": Severity.warning,
    "drift": Severity.warning,
    "utilization": Severity.warning,
    "freshness": Severity.warning,
}
SIGNAL_NAME = {"utilization": "utilisation"}
SIGNAL_NAME.update({k: k for k in ALARM_SEVERITY if k not in SIGNAL_NAME})
RECEIVES: dict[Severity, tuple[Severity, ...]] = {
    Severity.critical: (Severity.critical,),
    Severity.warning: (Severity.critical, Severity.warning),
}


def _bound(direction: Direction, threshold: float) -> str:
    return f"{'≥' if direction == Direction.at_least else '≤'} {threshold:g}"


def route_target(route: AlertRoute) -> str:
    if route.secret:
        return f"URL in the Pulumi config secret `mlops:{route.secret}`"
    return code(route.target)


def _feature_types(inp: DesignInput) -> dict[str, str]:
    store = inp.plan.feature_store
    return {f.name: f.type for e in store.entities for f in e.features} if store else {}


def _model_signals(inp: DesignInput, model: ModelPlan) -> str:
    plan = inp.plan
    cloud = plan.cloud
    m = model.monitoring
    batch = model.serving is not None and model.serving.mode == ServingMode.batch
    rows: list[list[object]] = []
    if m.quality:
        q = m.quality
        rows.append(["quality", f"{code(q.metric)} {_bound(q.direction, q.threshold)}",
                     f"{schedule(q.schedule)}; labels arrive within {q.label_delay_hours} h",
                     quality_computation(cloud, batch), ALARM_SEVERITY["quality"].value,
                     inp.status(Capability.quality_monitoring)])
    if m.drift:
        d = m.drift
        types = _feature_types(inp)
        features = list(d.features) or [""]
        live = ("live traffic of the real-time endpoint" if model.serving and model.serving.mode == ServingMode.realtime
                else "the model's inputs")
        for feature in features:
            kind = types.get(feature)
            what = (code(feature) + (f" ({kind})" if kind else "")) if feature else "every input feature"
            rows.append([f"drift: {what}", f"{d.method.value} > {d.threshold:g} alarms",
                         f"{schedule(d.schedule)} on {live}", drift_computation(cloud, d.method),
                         ALARM_SEVERITY["drift"].value, inp.status(Capability.drift_monitoring)])
    if m.sre:
        sre = m.sre
        how = sre_computation(cloud)
        status = inp.status(Capability.sre_alarms)
        if sre.latency_p99_ms:
            rows.append(["latency", f"p99 > {sre.latency_p99_ms} ms alarms", "every minute", how,
                         ALARM_SEVERITY["latency"].value, status])
        rows.append(["errors", f"error rate > {sre.error_rate_percent:g}% alarms", "every minute", how,
                     ALARM_SEVERITY["errors"].value, status])
        rows.append(["utilisation", f"> {sre.utilization_percent:g}% alarms", "every minute", how,
                     ALARM_SEVERITY["utilization"].value, status])
    parts = [f"### Model `{model.name}`"]
    if rows:
        parts.append(table(["signal", "threshold", "cadence", f"how it is computed on {cloud.value}", "severity",
                            "status"], rows))
    else:
        parts.append("No model signal at this monitoring target.")
    if m.drift and not m.drift.features:
        known = [f for f, t in _feature_types(inp).items() if t != "timestamp"]
        if known:
            parts.append("Drift is computed per feature over every input of the model, among them the feature "
                         "store's " + codes(known) + ".")
    if m.prediction_logging_percent is not None:
        parts.append(f"**Prediction logging:** {m.prediction_logging_percent:g}% of requests logged with their inputs "
                     f"({SERVICE['capture'][cloud]}; {inp.status(Capability.prediction_logging)}), for debugging, "
                     "audit and the drift and quality jobs.")
    elif batch and model.serving:
        parts.append(f"**Prediction logging:** every batch prediction is kept in "
                     f"{code(model.serving.output_uri) if model.serving.output_uri else 'the platform data store'}.")
    return blocks(*parts)


def _retraining(inp: DesignInput) -> str:
    plan = inp.plan
    rows: list[list[object]] = []
    via = SERVICE["triggers"][plan.cloud]
    for model in plan.models:
        r = model.retraining
        if r.schedule:
            rows.append([model.name, "schedule", schedule(r.schedule), via,
                         inp.status(Capability.scheduled_retraining)])
        if r.on_drift:
            rows.append([model.name, "drift", f"the drift alarm starts a run; cool-down {r.min_interval_hours} h "
                         "between runs", via, inp.status(Capability.drift_retraining)])
        if r.on_performance:
            rows.append([model.name, "performance", f"the quality alarm starts a run; cool-down "
                         f"{r.min_interval_hours} h between runs", via, inp.status(Capability.performance_retraining)])
        if r.champion_challenger:
            rows.append([model.name, "champion/challenger", "a retrained model replaces the champion only if it "
                         "passes every gate, the champion comparison included", "training DAG gates",
                         inp.status(Capability.champion_challenger)])
    if not rows:
        return blocks("### Retraining triggers", "None at this maturity target: retraining is started by hand.")
    return blocks("### Retraining triggers", table(["model", "trigger", "rule", "via", "status"], rows))


def _routes(inp: DesignInput) -> str:
    plan = inp.plan
    raised = sorted({kind for model in plan.models for kind, on in (
        ("quality", model.monitoring.quality is not None), ("drift", model.monitoring.drift is not None),
        ("latency", model.monitoring.sre is not None and model.monitoring.sre.latency_p99_ms is not None),
        ("errors", model.monitoring.sre is not None), ("utilization", model.monitoring.sre is not None)) if on}
        | ({"freshness"} if plan.enabled(Capability.freshness_alerts) else set()), key=list(ALARM_SEVERITY).index)
    rows = []
    for route in plan.alerts:
        gets = [SIGNAL_NAME[k] for k in raised if ALARM_SEVERITY[k] in RECEIVES[route.severity]]
        rows.append([route.kind.value + (" (pages on-call)" if route.kind == AlertKind.pagerduty else ""),
                     route_target(route), f"{route.severity.value} and above", ", ".join(gets) or "—"])
    intro = f"Alarms go through {SERVICE['alarms'][plan.cloud]}."
    if not rows:
        return blocks("### Alert routes", intro, "No alert route in the blueprint: add `alerts` so that alarms "
                      "reach someone.")
    return blocks("### Alert routes", intro, table(["route", "target", "receives", "alarms"], rows))


def render(inp: DesignInput) -> str:
    plan = inp.plan
    parts = ["## 4. Monitoring framework",
             f"What is watched in `{plan.environment}`, with thresholds, cadence and how each signal is computed on "
             f"{plan.cloud.value}. Severity decides the route: critical alarms (SLA, errors) page, "
             "warnings (quality, drift, utilisation, stale features) notify."]
    parts += [_model_signals(inp, model) for model in plan.models]
    store = plan.feature_store
    if store and store.freshness_sla_minutes and plan.enabled(Capability.freshness_alerts):
        entities = codes([e.name for e in store.entities])
        parts.append(blocks(
            "### Feature freshness",
            f"Alarm ({ALARM_SEVERITY['freshness'].value}) when the newest feature row of {entities} is older than "
            f"{minutes(store.freshness_sla_minutes)}: {freshness_computation(plan.cloud)} "
            f"({inp.status(Capability.freshness_alerts)})."))
    parts += [_routes(inp), _retraining(inp)]
    fallbacks = facts(plan.cloud).fallbacks
    if fallbacks:
        parts += [f"**Documented fallbacks on {plan.cloud.value}** (where the cloud cannot do exactly what the "
                  "blueprint asks, this is what it does instead):",
                  bullets([f"{topic}: {text}" for topic, text in fallbacks.items()])]
    return blocks(*parts)
