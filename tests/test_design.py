"""`mlops design`: what each section says for each example, the diagram, the roadmap formula, golden files.

The sections other than the architecture are pure functions of the plans and of what is built (the evidence
of the synthesized graph), so most tests run without synth. The golden files (tests/golden/design/) hold
those sections with what is built pinned to `GOLDEN_BUILT`, so that back ends growing in parallel do not churn them; the
architecture, which is drawn from the synthesized graph, is checked by content instead.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mlops.blueprint.model import Cloud
from mlops.design import DesignInput, GraphNode, architecture, mermaid, render_markdown
from mlops.design.architecture import AREA_OF, AREAS, classify
from mlops.design.document import SECTIONS, render_html, render_picture
from mlops.design.markdown import schedule, to_html, years
from mlops.design.roadmap import PHASES, roadmap
from mlops.design.run import design_input, synthesized_graph
from mlops.design.scorecard import scorecard
from mlops.plan import Capability
from mlops.plan.schedule import Schedule

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "design"
EXAMPLES = sorted((ROOT / "blueprints").glob("*.yaml"))
FRAUD, RECS, FORECAST = (ROOT / "blueprints" / f"{n}.yaml" for n in
                         ("fraud-detection-aws", "product-recommendations-gcp", "demand-forecasting-azure"))
READMISSION = ROOT / "blueprints" / "readmission-risk-aws.yaml"
GOLDEN_BUILT = frozenset({Capability.foundation, Capability.audit_trail})
"""What every back end built when the golden files were written; pinned so the goldens only change with the plan."""
PURE_SECTIONS = tuple(s for s in SECTIONS if s != "architecture")


@cache
def pure(path: Path) -> DesignInput:
    """The design input without a synth (sections other than the architecture), real coverage."""
    return design_input(path.relative_to(ROOT), "prod")


@cache
def full(path: Path) -> DesignInput:
    """With the synthesized graph of prod."""
    return design_input(path.relative_to(ROOT), "prod", synthesized_graph(path.relative_to(ROOT), "prod"))


@cache
def document(path: Path) -> str:
    return render_markdown(pure(path), PURE_SECTIONS)


def section(text: str, number: int) -> str:
    """The text of section `number` (## n. …) up to the next section."""
    match = re.search(rf"^## {number}\. .*?(?=^## \d\. |\Z)", text, flags=re.M | re.S)
    assert match, f"no section {number}"
    return match.group(0)


def row(text: str, first_cell: str) -> str:
    """The first table row whose first cell is `first_cell`."""
    for line in text.splitlines():
        if line.startswith(f"| {first_cell} |"):
            return line
    raise AssertionError(f"no row starting with {first_cell!r}")


# ------------------------------------------------------------------------------------ fraud detection


def test_fraud_scorecard_level_1_to_3_with_gaps_in_monitoring_retraining_governance() -> None:
    text = section(document(FRAUD), 1)
    assert "level 1 (automated training) → level 3 (full MLOps)" in text
    for dimension in ("deployment", "monitoring", "governance"):
        assert "| high |" in row(text, dimension)
    gaps = text.split("**Priority gaps**")[1]
    assert "- monitoring: feature drift detection" in gaps
    assert "- retraining triggers: drift alarms start retraining" in gaps
    assert "- governance: only the approver role can approve" in gaps
    assert "What the use case requires: level 3.** The target (level 3) meets it." in text
    assert "high-stakes decisions (risk tier high, SR 11-7 model risk management, fair lending" in text
    assert "real-time serving with an SLA (fraud-scorer p99 ≤ 50 ms)" in text


def test_fraud_pipeline_has_shadow_and_human_approval_for_production_and_50ms_multi_az() -> None:
    text = section(document(FRAUD), 3)
    prod = row(text, "5")
    assert "human business approval gate: 1 of `model-risk-committee`, `fraud-business-owner`" in prod
    assert "enforced: only the approver role can approve" in prod
    assert "shadow mode: fraud-scorer 20% of live traffic mirrored" in prod
    serving = next(line for line in text.splitlines() if line.startswith("| prod | realtime"))
    assert "| 50 ms |" in serving and "2 to 12, multi-AZ" in serving
    # SageMaker sizes a canary in whole instances: 5 % of 2 is one instance, half of the traffic.
    assert "canary: 5% of instances, in whole instances: 1 of 2, about 50% of traffic for 30 min" in serving
    assert "automatic, when a serving alarm fires" in serving
    for gate in ("`auc` ≥ 0.92", "`false_positive_rate` ≤ 0.02", "`disparate_impact_ratio` ≥ 0.8", "p99 ≤ 50 ms",
                 "`auc` ≥ the production model's"):
        assert gate in text
    assert "bayesian, 40 trials (4 parallel)" in text
    assert "| prod | large | 1 | yes | yes | 4 h | 8 h | bayesian: 40 trials, 4 parallel, `auc` max |" in text
    assert "Stages: code review → offline evaluation →" in text and "business approval → prod (shadow)" in text


def test_fraud_monitoring_real_time_drift_and_pagerduty() -> None:
    text = section(document(FRAUD), 4)
    drift = row(text, "drift: every input feature")
    assert "psi > 0.2" in drift and "hourly on live traffic of the real-time endpoint" in drift
    # SageMaker Model Monitor is closed to new customers: the platform's own scheduled job computes PSI.
    assert "custom: a scheduled SageMaker processing job of the platform's own" in drift
    assert "Model Monitor is closed to new customers" in drift
    quality = row(text, "quality")
    assert "scheduled SageMaker processing job of the platform's own" in quality
    assert "hourly; labels arrive within 1 h" in quality and "| warning |" in quality
    pagerduty = row(text, "pagerduty (pages on-call)")
    assert "`mlops:pagerdutyEventsUrl`" in pagerduty and "latency, errors" in pagerduty
    assert "quality" not in pagerduty.split("|")[4]  # quality is scored hours late: it warns
    assert "drift" not in pagerduty.split("|")[4]  # warnings go to email only
    assert "drift" in row(text, "email")
    assert "older than 15 min" in text
    assert "| fraud-scorer | drift | the drift alarm starts a run; cool-down 24 h between runs |" in text


def test_fraud_governance_model_risk_committee_fair_lending_seven_years() -> None:
    text = section(document(FRAUD), 5)
    prod = row(text, "prod")
    assert "`model-risk-committee`, `fraud-business-owner` | 1 |" in prod
    assert "2557 days (7 years) | S3 Object Lock in COMPLIANCE mode: nobody, not even the root user" in text
    assert "| fair lending (ECOA / Regulation B) | `fairness_testing` |" in text
    assert "| SR 11-7 model risk management | `approval_gate` |" in text
    assert "**full model card**" in text
    assert "independent model validation report" in text


def test_fraud_roadmap_six_months_with_compliance_milestones() -> None:
    plan = pure(FRAUD).plan
    plan_roadmap = roadmap(plan)
    assert plan_roadmap.months == 6
    assert [p.spec.key for p in plan_roadmap.phases] == ["foundation", "cicd", "monitoring", "automation", "compliance"]
    text = section(document(FRAUD), 6)
    assert "**6 months, in monthly phases.**" in text
    assert "### Phase 4 (Months 4\N{EN DASH}5): Automated retraining and governance — priority" in text
    assert "### Phase 5 (Month 6): Compliance validation — priority" in text
    compliance = text.split("### Phase 5")[1]
    assert "**Compliance milestones**" in compliance and "independent model validation report" in compliance
    assert "`audit_retention` in place for SR 11-7 model risk management, PCI DSS v4.0" in text


# ------------------------------------------------------------------------------- product recommendations


def test_recommendations_design() -> None:
    text = document(RECS)
    card = section(text, 1)
    assert "level 0 (manual) → level 2 (CI/CD automation)" in card
    assert "What the use case requires: level 2.** The target (level 2) meets it." in card
    pipelines = section(text, 3)
    assert "a run starts manually, on schedule (weekly)" in pipelines
    assert "A/B test gate: canary 10% of traffic for 1 day against the champion" in pipelines
    serving = next(line for line in pipelines.splitlines() if line.startswith("| prod | realtime"))
    assert "target 60% utilisation" in serving and "| 100 ms |" in serving and "2 to 20" in serving
    # No approval in staging, yet a version still waits for an ML engineer's promotion on GCP: the design
    # says so instead of claiming "deployment on registration" (automated promotion is CI/CD work).
    staging = row(pipelines, "4")
    assert "no approval required" in staging and "manual promotion by an ML engineer" in staging
    assert "deployment on registration" not in staging
    monitoring = section(text, 4)
    assert "`ctr` ≥ 0.025" in row(monitoring, "quality")
    embedding = row(monitoring, "drift: `user_embedding` (embedding)")
    assert "jensen_shannon > 0.1" in embedding and "native: Vertex AI Model Monitoring" in embedding
    assert "drift: `item_embedding` (embedding)" in monitoring
    governance = section(text, 5)
    assert "**lightweight model card**" in governance
    assert "`recs-team-lead` | 1 |" in row(governance, "prod")
    assert "730 days (2 years)" in governance
    assert roadmap(pure(RECS).plan).months == 4
    road = section(text, 6)
    assert "**4 months, in monthly phases.**" in road and "focuses on **CI/CD and monitoring**" in road
    assert "Registry, serving and CI/CD — priority" in road and "Monitoring — priority" in road


# ------------------------------------------------------------------------------------ demand forecasting


def test_forecasting_design() -> None:
    text = document(FORECAST)
    assert "level 0 (manual) → level 1 (automated training)" in section(text, 1)
    pipelines = section(text, 3)
    # Databricks is linked for interactive work; the design does not claim the pipeline runs there.
    assert "every pipeline step runs on Azure ML compute" in pipelines
    assert "a run starts manually, on schedule (daily)" in pipelines
    batch = next(line for line in pipelines.splitlines() if line.startswith("| prod | batch"))
    assert "daily at 04:00 UTC (`0 4 * * *`)" in batch and "examplemfgsynapse" in batch
    monitoring = section(text, 4)
    assert "`mape` ≤ 0.2" in row(monitoring, "quality") and "over batch predictions" in monitoring
    assert "### Feature freshness" in monitoring and "1440 min (24 h)" in monitoring
    governance = section(text, 5)
    assert "Workflow at governance target 1: **basic**" in governance
    assert "`group:5d0c7e2a-3b4f-4e6a-9c1d-7f8e9a0b1c2d` | 1 |" in row(governance, "prod")
    assert "No model card required" in governance
    assert roadmap(pure(FORECAST).plan).months == 3
    road = section(text, 6)
    assert "**3 months, in monthly phases.**" in road and "focuses on **training automation**" in road
    assert "Foundation and training automation — priority" in road


# ------------------------------------------------------------------------- rules behind the sections


def test_target_below_what_high_stakes_need_is_called_out() -> None:
    card = scorecard(pure(READMISSION).plan)
    assert card.requirement.level == 3 and not card.meets
    text = section(document(READMISSION), 1)
    assert "does **not** meet it: raise `maturity.target.experiment_tracking`" in text


def test_roadmap_formula_team_size_level3_and_validation() -> None:
    plan = pure(FORECAST).plan
    # Registry, serving and approval advance three dimensions: one engineer pair staffs one at a time.
    small = roadmap(plan.model_copy(update={"team_size": 2}))
    cicd = next(p for p in small.phases if p.spec.key == "cicd")
    assert cicd.workstreams == 3 and cicd.months == 3 and small.months == 6  # 2 + 3 + 1
    fraud = roadmap(pure(FRAUD).plan)
    automation = next(p for p in fraud.phases if p.spec.key == "automation")
    assert automation.level3 and automation.months == 2
    assert not any(p.spec.key == "compliance" for p in roadmap(pure(RECS).plan).phases)  # GDPR: no validation
    long = roadmap(pure(FRAUD).plan.model_copy(update={"team_size": 2}))
    assert long.months > 6 and long.quarterly and long.when(long.phases[-1]).startswith("Q")


def test_every_capability_has_one_area_and_one_phase() -> None:
    assert set(AREA_OF) == set(Capability)
    placed = [c for phase in PHASES for c in phase.capabilities]
    assert sorted(placed) == sorted(Capability)
    assert len({a.key for a in AREAS}) == len(AREAS)


@pytest.mark.parametrize("built", [frozenset(), frozenset(Capability)], ids=["nothing-built", "all-built"])
def test_compliance_matrix_never_claims_what_is_not_built(built: frozenset[Capability]) -> None:
    inp = replace(pure(FRAUD), built=built)
    matrix = section(render_markdown(inp, ["governance"]), 5).split("### Compliance matrix")[1]
    states = [line.rsplit("|", 2)[1].strip() for line in matrix.splitlines() if line.startswith("| ") and "`" in line]
    assert states
    if built:
        assert all(s.startswith("built") for s in states), states
    else:
        assert all(s == "planned, not yet built on aws" for s in states), states


def test_matrix_says_how_in_the_back_ends_own_words() -> None:
    from mlops.design.run import control_implementations
    from mlops.plan.compliance import CONTROL_CAPABILITIES, REGIME_CONTROLS

    controls = control_implementations(Cloud.aws)
    if not controls:
        pytest.skip("the AWS back end has no controls table yet")
    inp = replace(full(FRAUD), controls=controls)
    matrix = section(render_markdown(inp, ["governance"]), 5).split("### Compliance matrix")[1]
    for regime in inp.plan.governance.compliance:
        for requirement in REGIME_CONTROLS[regime]:
            line = next(line for line in matrix.splitlines()
                        if f"| `{requirement.control.value}` | {requirement.source} |" in line)
            if CONTROL_CAPABILITIES[requirement.control] in inp.built:
                assert f"built: {controls[requirement.control]}" in line, line
            else:
                assert "planned, not yet built on aws" in line, line


def test_statuses_come_from_evidence_in_the_synthesized_graph() -> None:
    # Without a graph nothing is claimed; with prod's graph the drift monitor's evidence holds.
    assert row(render_markdown(pure(FRAUD), ["monitoring"]), "drift: every input feature").endswith(
        "| planned, not yet built on aws |")
    assert row(render_markdown(full(FRAUD), ["monitoring"]), "drift: every input feature").endswith("| built |")


def test_deleting_one_evidence_resource_stops_the_design_claiming_it() -> None:
    inp = full(FRAUD)
    assert Capability.drift_monitoring in inp.built
    schedule = "fraud-detection-prod-fraud-scorer-monitoring-drift-schedule"
    graph = tuple(n for n in inp.graph if n.name != schedule)
    assert len(graph) == len(inp.graph) - 1
    less = design_input(FRAUD.relative_to(ROOT), "prod", graph)
    assert Capability.drift_monitoring not in less.built
    assert less.built == inp.built - {Capability.drift_monitoring}
    text = render_markdown(less, ["monitoring"])
    assert row(text, "drift: every input feature").endswith("| planned, not yet built on aws |")


def test_a_changed_blueprint_value_in_the_graph_is_not_evidence() -> None:
    # The drift alarm exists but watches another threshold than the blueprint's: not built.
    inp = full(FRAUD)
    alarm = "fraud-detection-prod-fraud-scorer-monitoring-drift-alarm"
    graph = tuple(replace(n, inputs={**n.inputs, "threshold": 99.0}) if n.name == alarm else n for n in inp.graph)
    assert Capability.drift_monitoring not in design_input(FRAUD.relative_to(ROOT), "prod", graph).built


def test_schedule_and_retention_wording() -> None:
    assert schedule(Schedule.of("0 4 * * *")) == "daily at 04:00 UTC (`0 4 * * *`)"
    assert schedule(Schedule.of("0 3 * * 1")) == "weekly on Monday at 03:00 UTC (`0 3 * * 1`)"
    assert schedule(Schedule.of("weekly")) == "weekly"  # as the blueprint wrote it, not its cron
    assert schedule(Schedule.of("*/5 1-3 * * *")) == "`*/5 1-3 * * *` (cron, UTC)"
    assert schedule(None) == "—"
    assert years(2557) == "2557 days (7 years)" and years(400) == "400 days"


# ------------------------------------------------------------------------------------ the architecture


def _node(urn: str, type_: str, parent: str | None, custom: bool = True) -> GraphNode:
    return GraphNode(urn, type_, urn, parent, custom)


def test_classification_of_a_synthetic_graph() -> None:
    p = "x-prod"
    graph = [
        _node("stack", "pulumi:pulumi:Stack", None, False),
        _node(f"{p}-aws", "pulumi:providers:aws", "stack"),
        _node(p, "mlops:index:SageMakerPlatform", "stack", False),
        _node(f"{p}-foundation", "mlops:index:AwsFoundation", p, False),
        _node(f"{p}-foundation-key", "aws:kms/key:Key", f"{p}-foundation"),
        _node(f"{p}-foundation-audit", "mlops:index:AwsSecureBucket", f"{p}-foundation", False),
        _node(f"{p}-foundation-audit-bucket", "aws:s3/bucket:Bucket", f"{p}-foundation-audit"),
        _node(f"{p}-m-serving", "mlops:index:SageMakerEndpoint", p, False),
        _node(f"{p}-m-serving-latency-alarm", "aws:cloudwatch/metricAlarm:MetricAlarm", f"{p}-m-serving"),
        _node(f"{p}-m-serving-role", "aws:iam/role:Role", f"{p}-m-serving"),
        _node(f"{p}-m-retraining", "mlops:index:AwsRetrainingTriggers", p, False),
        _node(f"{p}-m-retraining-on-drift", "aws:cloudwatch/eventRule:EventRule", f"{p}-m-retraining"),
        _node(f"{p}-card-freshness", "aws:cloudwatch/metricAlarm:MetricAlarm", f"{p}-foundation"),
        _node(f"{p}-budget", "aws:budgets/budget:Budget", p),
        _node(f"{p}-mystery", "mlops:index:SomethingNew", p, False),
        _node(f"{p}-mystery-thing", "aws:s3/bucket:Bucket", f"{p}-mystery"),
    ]
    capability = classify(graph)
    assert "stack" not in capability and f"{p}-aws" not in capability and p not in capability
    assert capability[f"{p}-foundation-key"] == Capability.foundation
    assert capability[f"{p}-foundation-audit-bucket"] == Capability.audit_trail
    assert capability[f"{p}-m-serving-latency-alarm"] == Capability.sre_alarms
    assert capability[f"{p}-m-serving-role"] == Capability.serving
    assert capability[f"{p}-m-retraining-on-drift"] == Capability.scheduled_retraining  # not drift monitoring
    assert capability[f"{p}-card-freshness"] == Capability.freshness_alerts
    assert capability[f"{p}-budget"] == Capability.cost_controls
    assert capability[f"{p}-mystery-thing"] is None
    plan = pure(FRAUD).plan.model_copy(update={"prefix": p})
    arch = architecture(plan, graph, frozenset(Capability))
    other = arch.area("other")
    assert other is not None and other.boxes[0].title == "SomethingNew"
    governance = arch.area("governance")
    assert governance is not None and governance.boxes[0].title == "AwsSecureBucket"
    assert not any(b.kind == "planned" for a in arch.areas for b in a.boxes)  # everything built


@pytest.mark.parametrize("path", [FRAUD, RECS, FORECAST], ids=lambda p: p.stem)
def test_architecture_from_the_synthesized_graph(path: Path) -> None:
    inp = full(path)
    arch = architecture(inp.plan, inp.graph, inp.built, inp.sources, inp.alerts)
    keys = [a.key for a in arch.areas]
    assert keys[:7] == ["data", "features", "training", "registry", "serving", "monitoring", "retraining"]
    data = arch.area("data")
    assert data is not None and any(b.kind == "resources" for b in data.boxes)
    assert [b.title for b in data.boxes if b.kind == "external"] == [s.name for s in inp.sources]
    for area in arch.areas:  # a planned box lists exactly the turned-on capabilities not built on this cloud
        planned = [b for b in area.boxes if b.kind == "planned"]
        missing = [c for a in AREAS if a.key == area.key for c in a.capabilities
                   if inp.plan.enabled(c) and c not in inp.built]
        assert [c for b in planned for c in b.capabilities] == missing
    assert arch.resource_count == sum(1 for n in inp.graph if n.custom and not n.type.startswith("pulumi:"))

    chart = mermaid(arch)
    assert chart.startswith("flowchart LR\n")
    subgraphs = re.findall(r'^  subgraph (area_\w+)\["([^"]+)"\]$', chart, flags=re.M)
    assert [title for _, title in subgraphs] == [a.title for a in arch.areas]
    declared = {name for name, _ in subgraphs}
    for source, target in re.findall(r"^  (area_\w+) -\.?->\|\"[^\"]+\"\| (area_\w+)$", chart, flags=re.M):
        assert source in declared and target in declared
    boxes = re.findall(r"^    (\w+)[\[({]", chart, flags=re.M)
    assert len(boxes) == len(set(boxes))
    assert chart.count("subgraph") == chart.count("\n  end\n")


@pytest.mark.parametrize("path", [FRAUD, RECS, FORECAST], ids=lambda p: p.stem)
def test_picture_is_svg_with_the_capability_groups(path: Path) -> None:
    inp = full(path)
    svg = render_picture(inp)
    root = ET.fromstring(svg.split("\n", 1)[1])
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    groups = {g.get("id"): g for g in root.iterfind(".//svg:g[@class='area']", ns)}
    arch = architecture(inp.plan, inp.graph, inp.built, inp.sources, inp.alerts)
    assert list(groups) == [f"area-{a.key}" for a in arch.areas]
    for area in arch.areas:
        texts = [t.text for t in groups[f"area-{area.key}"].iterfind(".//svg:text", ns)]
        assert area.title in texts
    assert "Training pipeline" in [t.text for t in root.iterfind(".//svg:text", ns)]
    assert len(root.findall(".//svg:g[@class='flow data']", ns)) >= 6  # the life-cycle chain and the loop


def test_design_is_deterministic() -> None:
    inp = full(FRAUD)
    again = design_input(FRAUD.relative_to(ROOT), "prod", synthesized_graph(FRAUD.relative_to(ROOT), "prod"))
    assert render_markdown(inp) == render_markdown(again)
    assert render_picture(inp) == render_picture(again)
    assert render_html(inp) == render_html(again)


def test_html_is_one_self_contained_page() -> None:
    inp = full(RECS)
    page = render_html(inp)
    root = ET.fromstring(page.split("\n", 1)[1])  # well-formed XHTML after the doctype
    ns = {"h": "http://www.w3.org/1999/xhtml", "svg": "http://www.w3.org/2000/svg"}
    assert root.find(".//svg:svg", ns) is not None, "the picture is inlined"
    assert not re.search(r'(src|href)="(?!#)', page), "nothing is loaded from elsewhere"
    headings = [h.text for h in root.iterfind(".//h:h2", ns)]
    assert headings == ["1. Maturity scorecard", "2. Architecture", "3. Pipeline specifications",
                        "4. Monitoring framework", "5. Governance model", "6. Implementation roadmap"]
    assert len(root.findall(".//h:table", ns)) >= 10
    assert "A/B test gate" in page


def test_markdown_converter_handles_what_the_design_writes() -> None:
    page = to_html("# T\n\npara `a|b` **bold** *it*\n\n| x | y |\n|---|---|\n| 1 \\| 2 | z<br>w |\n\n- one\n- two\n\n"
                   "```mermaid\nflowchart LR\n  a --> b\n```\n\n![pic](p.svg)\n", "t",
                   image=lambda src, alt: '<svg xmlns="http://www.w3.org/2000/svg"/>')
    ET.fromstring(page.split("\n", 1)[1])
    assert "<td>1 | 2</td><td>z<br/>w</td>" in page and "<code>a|b</code>" in page
    assert "<strong>bold</strong>" in page and "<em>it</em>" in page
    assert '<code class="language-mermaid">flowchart LR\n  a --&gt; b</code>' in page
    assert "<figure><svg" in page


# --------------------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_golden_design(path: Path, update_golden: bool) -> None:
    """The plan-derived sections, coverage pinned to GOLDEN_BUILT (regenerate with --update-golden)."""
    inp = replace(pure(path), built=GOLDEN_BUILT)
    text = render_markdown(inp, PURE_SECTIONS)
    golden = GOLDEN / f"{path.stem}.prod.md"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"missing {golden}: run pytest --update-golden"
    assert text == golden.read_text(encoding="utf-8"), f"{golden} is out of date: run pytest --update-golden"


def test_readme_excerpt_is_a_real_design() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"## Design documents\n(.*?)(?=\n## [A-Za-z])", readme, flags=re.S)
    assert match, "README has no 'Design documents' section"
    excerpt = re.search(r"```markdown\n(.*?)```", match.group(1), flags=re.S)
    assert excerpt, "the section shows no excerpt"
    golden = (GOLDEN / "fraud-detection-aws.prod.md").read_text(encoding="utf-8")
    lines = [line for line in excerpt.group(1).splitlines() if line.strip() and line.strip() != "…"]
    assert len(lines) >= 8
    for line in lines:
        assert line in golden, f"README excerpt line not in the generated design: {line}"
    assert "mlops design blueprints/fraud-detection-aws.yaml" in match.group(1)


def test_a_capability_nothing_of_the_environment_uses_is_neither_built_nor_planned() -> None:
    # Dev mirrors no traffic and asks no approval: the shadow and the approver role are on, yet unused there.
    dev = design_input(FRAUD.relative_to(ROOT), "dev", synthesized_graph(FRAUD.relative_to(ROOT), "dev"))
    assert {Capability.shadow_deployment, Capability.enforced_approval} <= dev.unused
    assert not dev.unused & dev.built
    assert dev.status(Capability.shadow_deployment) == "on, unused in dev"
    assert "planned" not in render_markdown(dev, ["governance"])


def test_a_manifest_without_one_evidence_resource_stops_the_design_claiming_it() -> None:
    # The same check on a saved manifest (`mlops synth --json`), as a reviewer would hold one.
    import json

    from shared_synth import synthesized

    manifest = json.loads(synthesized(str(FRAUD.relative_to(ROOT)), "prod").manifest_json())
    monitor = "fraud-detection-prod-fraud-scorer-monitoring-drift-schedule"
    kept = [r for r in manifest["resources"] if r["name"] != monitor]
    assert len(kept) == len(manifest["resources"]) - 1

    def nodes(entries: list[dict[str, Any]]) -> tuple[GraphNode, ...]:
        return tuple(GraphNode(r["urn"], r["type"], r["name"], r["parent"], r["custom"], r["inputs"]) for r in entries)

    whole = design_input(FRAUD.relative_to(ROOT), "prod", nodes(manifest["resources"]))
    less = design_input(FRAUD.relative_to(ROOT), "prod", nodes(kept))
    assert Capability.drift_monitoring in whole.built and Capability.drift_monitoring not in less.built
    assert row(render_markdown(less, ["monitoring"]), "drift: every input feature").endswith(
        "| planned, not yet built on aws |")
