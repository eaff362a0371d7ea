"""Section 3, pipeline specifications: training DAG and gates, compute, CI/CD stages, serving.

The DAG is the cloud-neutral shape every back end builds (the AWS one in
`components/aws/pipeline_definition.py`): preprocess → train or tune → evaluate → quality gates →
register, or stop. CI/CD stages and serving are shown per environment, from each environment's plan.
"""

from __future__ import annotations

from mlops.blueprint.model import Cloud, DeliveryStrategy, Direction, FairnessMetric, ServingMode
from mlops.clouds.aws import instance_share
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.model import ServingPlan

from .clouds import SERVICE, SERVING, UNGATED_PROMOTION
from .inputs import DesignInput
from .markdown import blocks, code, codes, mermaid_text, schedule, table, text

FAIRNESS_DIRECTION: dict[FairnessMetric, Direction] = {
    # Differences between groups must stay small; the ratio of selection rates must stay high
    # (the four-fifths rule). The same table drives the AWS pipeline's condition step.
    FairnessMetric.demographic_parity_difference: Direction.at_most,
    FairnessMetric.equal_opportunity_difference: Direction.at_most,
    FairnessMetric.disparate_impact_ratio: Direction.at_least,
}
AB_TEST_MIN_BAKE_MINUTES = 1440
"""A canary watched for a day or more compares business metrics on live traffic: an A/B test gate."""
STAGE_TITLE = {"dev": "Deploy to dev", "staging": "Staging validation", "prod": "Production release"}


def bound(direction: Direction, threshold: float) -> str:
    return f"{'≥' if direction == Direction.at_least else '≤'} {threshold:g}"


def _duration(minutes: int) -> str:
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} h" if hours % 24 else f"{hours // 24} day{'s' if hours > 24 else ''}"
    return f"{minutes} min"


def _first_step(s: ServingPlan, cloud: Cloud) -> str:
    """The first step's share as the cloud sizes it: of traffic, or on SageMaker of instances (whole ones)."""
    step = s.delivery.steps[0]
    if cloud != Cloud.aws:
        return f"{step}% of traffic"
    on = instance_share(step, s.min_instances)
    real = round(100 * on / s.min_instances)
    if real == step:
        return f"{step}% of instances ({on} of {s.min_instances}), so of traffic"
    return f"{step}% of instances, in whole instances: {on} of {s.min_instances}, about {real}% of traffic"


def delivery(s: ServingPlan, alarms: bool, cloud: Cloud) -> tuple[str, str]:
    """(how a new version reaches traffic, how it is rolled back)."""
    d = s.delivery
    if s.mode == ServingMode.batch:
        how = f"the next scheduled batch run ({schedule(s.schedule)}) uses the newly approved version"
        return how, "re-point the batch job at the previous version"
    how = {
        DeliveryStrategy.canary: (
            f"A/B test gate: canary {_first_step(s, cloud)} for {_duration(d.bake_minutes)} against the "
            "champion, then all traffic" if d.bake_minutes >= AB_TEST_MIN_BAKE_MINUTES else
            f"canary: {_first_step(s, cloud)} for {_duration(d.bake_minutes)}, then all traffic"),
        DeliveryStrategy.blue_green: f"blue/green: a full new fleet takes all traffic after {_duration(d.bake_minutes)}"
                                     " of baking",
        DeliveryStrategy.rolling: f"rolling: {d.steps[0]}% of instances per step, "
                                  f"{_duration(d.bake_minutes)} per step",
        DeliveryStrategy.all_at_once: "all at once",
    }[d.strategy]
    if d.auto_rollback and alarms and d.strategy != DeliveryStrategy.all_at_once:
        rollback = "automatic, when a serving alarm fires during the rollout"
    else:
        rollback = "manual: redeploy the previous registered version"
    return how, rollback


def _model(plan: Plan, name: str) -> ModelPlan:
    return next(m for m in plan.models if m.name == name)


def _gates(model: ModelPlan) -> list[list[str]]:
    q = model.quality_gates
    rows = [["quality", f"{code(m.metric)} {bound(m.direction, m.threshold)}", "test split"] for m in q.metrics]
    rows += [["fairness", f"{code(f.metric.value)} {bound(FAIRNESS_DIRECTION[f.metric], f.threshold)}",
              "worst value over " + codes(f.protected_attributes)] for f in q.fairness]
    if q.max_latency_p99_ms:
        rows.append(["latency", f"p99 ≤ {q.max_latency_p99_ms} ms", "offline load test of the packaged model"])
    if q.compare_to_champion and q.metrics:
        first = q.metrics[0]
        better = first.direction == Direction.at_least
        margin = f" {'+' if better else '-'} {q.min_improvement:g}" if q.min_improvement else ""
        rows.append(["champion", f"{code(first.metric)} {'≥' if better else '≤'} the production model's{margin}",
                     "same test split, both models"])
    return rows


def _dag(inp: DesignInput, model: ModelPlan) -> str:
    plan = inp.plan
    t = model.training
    assert t is not None
    data = ", ".join(s.name for s in inp.sources) or "the training data"
    if plan.feature_store and plan.feature_store.offline:
        data += " + offline feature store (point-in-time)"
    prep = "processing job"  # the validate step runs on the ML compute, also where Databricks is linked
    if t.search:
        arrow = "↑" if t.search.direction == Direction.at_least else "↓"
        objective = mermaid_text(t.search.objective_metric)
        train = (f'tune["Tune<br/>{t.search.strategy.value}, {t.search.max_trials} trials '
                 f'({t.search.max_parallel_trials} parallel)<br/>objective {objective} {arrow}"]')
    else:
        train = f'tune["Train<br/>{mermaid_text(t.instance)} x{t.instance_count}"]'
    gates = _gates(model)
    registry = plan.enabled(Capability.model_registry)
    approval = plan.governance.approval
    register = ("pending approval by " + ", ".join(mermaid_text(a) for a in approval.approval.approvers)
                if approval else "approved")
    lines = [
        "flowchart LR",
        f'  preprocess["Preprocess<br/>validate, split ({prep})<br/>{data}<br/>version: '
        f'{plan.data_versioning}"] --> {train}',
        '  tune --> evaluate["Evaluate<br/>' + ", ".join(dict.fromkeys(mermaid_text(g[0]) for g in gates)) + '"]'
        if gates else '  tune --> evaluate["Evaluate<br/>metrics logged"]',
        f'  evaluate --> gates{{"Quality gates<br/>{len(gates)} gate{"s" if len(gates) != 1 else ""}"}}',
        (f'  gates -->|"all pass"| register["Register<br/>{register}"]' if registry else
         '  gates -->|"all pass"| register["Store artifact<br/>no registry at this target"]'),
        '  gates -->|"any fails"| fail["Stop<br/>not registered"]',
    ]
    return "```mermaid\n" + "\n".join(lines) + "\n```"


def _compute_rows(inp: DesignInput, name: str) -> list[list[object]]:
    rows: list[list[object]] = []
    for plan in inp.plans:
        t = _model(plan, name).training
        if t is None:
            continue
        search = (f"{t.search.strategy.value}: {t.search.max_trials} trials, {t.search.max_parallel_trials} parallel, "
                  f"{code(t.search.objective_metric)} {'max' if t.search.direction == Direction.at_least else 'min'}"
                  if t.search else "off")
        rows.append([plan.environment, text(t.instance), t.instance_count, "yes" if t.spot else "no",
                     "yes" if t.checkpointing else "no", f"{t.max_runtime_hours:g} h", f"{t.max_wait_hours:g} h",
                     search])
    return rows


def _serving_rows(inp: DesignInput, name: str) -> list[list[object]]:
    rows: list[list[object]] = []
    for plan in inp.plans:
        model = _model(plan, name)
        s = model.serving
        if s is None:
            rows.append([plan.environment, "off (deployment target 0)", "", "", "", "", "", "", "", ""])
            continue
        how, rollback = delivery(s, model.monitoring.sre is not None, plan.cloud)
        if s.mode == ServingMode.batch:
            scaling = "—"
            sla = "—"
            where = f"{schedule(s.schedule)} → {code(s.output_uri) if s.output_uri else 'the platform data store'}"
        else:
            scaling = (f"target {s.autoscaling.target_utilization_percent:g}% utilisation"
                       + (f" or {s.autoscaling.target_requests_per_instance} req/instance/min"
                          if s.autoscaling.target_requests_per_instance else "")
                       if s.autoscaling else "fixed")
            sla = f"{s.latency_p99_ms} ms" if s.latency_p99_ms else "—"
            extras = [f"batching {s.batching.max_batch_size}/{s.batching.max_latency_ms} ms" if s.batching else "",
                      f"cache {s.caching.ttl_seconds} s" if s.caching else "",
                      f"stream {code(s.stream)}" if s.stream else ""]
            where = ", ".join(e for e in extras if e) or "—"
        shadow = f"{s.shadow.sample_percent:g}% mirrored" if s.shadow else "—"
        instances = f"{s.min_instances} to {s.max_instances}"
        if s.multi_az and s.mode != ServingMode.batch and s.min_instances >= 2:
            instances += ", multi-AZ"
        rows.append([plan.environment, f"{s.mode.value}: {SERVING[s.mode][plan.cloud]}", text(s.instance), instances,
                     scaling, sla, how, shadow, rollback, where])
    return rows


def _cicd(inp: DesignInput) -> str:
    plan = inp.plan
    roles = plan.governance.roles
    engineers = codes(roles.ml_engineer) or "the ML engineers"
    scientists = codes(roles.data_scientist) or "the data scientists"
    pipeline_status = inp.status(Capability.training_pipeline)
    rows: list[list[object]] = [
        ["1", "Code review → merge", "—", "pull-request review; CI runs unit and integration tests, lint and "
         "data-schema checks on sample data; a failing check blocks the merge", f"reviewers: {engineers}",
         "your CI system (outside this stack)"],
        ["2", "Offline evaluation → registry", "dev", "every quality gate of the training DAG passes (thresholds, "
         "fairness, latency, champion: see each model)", f"automatic; thresholds owned by {scientists}",
         f"{SERVICE['pipeline'][plan.cloud]} ({pipeline_status})"],
    ]
    sequence = ["code review", "offline evaluation"]
    for n, env_plan in enumerate(inp.plans, start=3):
        gates = []
        approval = env_plan.governance.approval
        if approval:
            kind = "business approval" if env_plan.production else "approval"
            who = codes(approval.approval.approvers)
            enforced = ("enforced: only the approver role can approve" if approval.enforced
                        else "recorded in the registry")
            gates.append(f"human {kind} gate: {approval.approval.min_approvals} of {who} ({enforced})")
        else:
            gates.append("no approval required")
        shadows = [f"{m.name} {m.serving.shadow.sample_percent:g}%" for m in env_plan.models
                   if m.serving and m.serving.shadow]
        if shadows:
            gates.append("shadow mode: " + ", ".join(shadows) + " of live traffic mirrored to the candidate, "
                         "its answers never returned")
        for m in env_plan.models:
            if m.serving:
                gates.append(f"{m.name}: {delivery(m.serving, m.monitoring.sre is not None, env_plan.cloud)[0]}")
        owners = (", ".join(code(a) for a in approval.approval.approvers) if approval
                  else f"{engineers} (ML engineers)")
        automation = (f"{SERVICE['approval'][env_plan.cloud]} ({inp.status(Capability.approval_workflow)})"
                      if approval else f"{UNGATED_PROMOTION[env_plan.cloud]} ({inp.status(Capability.serving)})")
        rows.append([str(n), STAGE_TITLE[env_plan.environment], env_plan.environment,
                     "<br>".join(gates), owners, automation])
        label = env_plan.environment + (" (shadow)" if shadows else "")
        if approval and env_plan.production:
            label = "business approval → " + label
        sequence.append(label)
    return blocks(
        "### CI/CD stages",
        "Stages: " + " → ".join(sequence) + ". Each gate has its criteria and owners; approvals come from "
        "`governance.approvals` of each environment's plan.",
        table(["#", "stage", "environment", "gate (criteria)", "owners", "automated by"], rows),
    )


def render(inp: DesignInput) -> str:
    plan = inp.plan
    parts = [
        "## 3. Pipeline specifications",
        f"Training runs on {SERVICE['pipeline'][plan.cloud]}"
        # Databricks (Azure only) is a workspace linked to Azure ML for the team's interactive data work:
        # the pipeline's own steps, data validation included, run on Azure ML compute.
        + (" (an Azure Databricks workspace, linked to the Azure ML workspace, serves interactive data "
           "preparation; every pipeline step runs on Azure ML compute)" if plan.databricks else "")
        + f", tracked in {SERVICE['tracking'][plan.cloud]}; models are versioned in "
        f"{SERVICE['registry'][plan.cloud]}. Data versioning: `{plan.data_versioning}`.",
    ]
    for model in plan.models:
        parts.append(f"### Model `{model.name}` ({model.framework})")
        if model.training is None:
            parts.append("No automated training pipeline at this maturity target (`experiment_tracking` target 0): "
                         "training stays manual.")
        else:
            r = model.retraining
            starts = ["manually"] + ([f"on schedule ({schedule(r.schedule)})"] if r.schedule else []) + \
                     (["on drift alarms"] if r.on_drift else []) + (["on quality alarms"] if r.on_performance else [])
            parts += [
                f"**Training DAG**: a run starts {', '.join(starts)}.",
                _dag(inp, model),
                "**Gates** (a candidate is registered only when every gate passes):",
                table(["gate", "criterion", "measured on"], _gates(model)) if _gates(model)
                else "No quality gate configured: add `quality_gates.metrics` to the blueprint.",
                "**Compute** (spot capacity needs checkpoints to survive interruptions; max wait covers waiting "
                "for spot capacity):",
                table(["environment", "instance", "count", "spot", "checkpoints", "max runtime", "max wait",
                       "hyperparameter search (budget)"], _compute_rows(inp, model.name)),
            ]
        parts += [
            "**Serving**:",
            table(["environment", "mode", "instance", "instances", "autoscaling", "p99 SLA", "delivery", "shadow",
                   "rollback", "schedule / extras"], _serving_rows(inp, model.name)),
        ]
    parts.append(_cicd(inp))
    return blocks(*parts)
