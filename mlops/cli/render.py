"""Rich renderings for the terminal: gated capabilities, resource trees, policy reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rich.table import Table
from rich.tree import Tree

from mlops.evidence import Evidence, builds
from mlops.plan import GATES, Capability, Plan

if TYPE_CHECKING:
    from mlops.policies import Undecided, Violation
    from mlops.synth.recorder import Recorded


def capability_table(plans: Sequence[Plan]) -> Table:
    """One row per capability, one column per environment: on (planned) or off and why.

    "on" is a plan, not a claim: `mlops synth` checks each one against the synthesized graph (evidence)."""
    first = plans[0]
    table = Table(title=f"{first.blueprint} on {first.cloud.value}: capabilities per environment",
                  title_justify="left")
    table.add_column("capability")
    table.add_column("gate")
    for plan in plans:
        table.add_column(plan.environment)
    decisions = [{d.capability: d for d in plan.gates} for plan in plans]
    buildable = builds(first.cloud)
    for gate in GATES:
        level = f"{gate.dimension.value} >= {gate.level}" if gate.dimension else "always"
        cells = []
        for by_capability in decisions:
            decision = by_capability[gate.capability]
            if not decision.enabled:
                cells.append(f"[dim]off: {decision.reason}[/]")
            elif gate.capability in buildable:
                cells.append("[green]on[/]")
            else:
                cells.append(f"[yellow]on[/] [dim](not built on {first.cloud.value})[/]")
        table.add_row(gate.capability.value, level, *cells)
    return table


def evidence_lines(found: Mapping[Capability, Evidence]) -> list[str]:
    """What the synthesized graph shows of each capability the plan turns on: built, or what is missing."""
    lines = []
    for item in found.values():
        if item.built:
            continue
        name = item.capability.value
        if not item.applies:
            lines.append(f"[dim]{name}: on, but nothing in this environment uses it[/]")
        else:
            lines.append(f"[red]{name}: NOT BUILT[/] — " + "; ".join(item.missing))
    return lines


def model_table(plan: Plan) -> Table:
    """What each model gets in one environment."""
    table = Table(title=f"models in {plan.environment}", title_justify="left")
    for column in ("model", "training", "serving", "delivery", "monitoring", "retraining"):
        table.add_column(column)
    for model in plan.models:
        t, s, m, r = model.training, model.serving, model.monitoring, model.retraining
        training = "off" if t is None else (
            f"{t.instance} x{t.instance_count}{' spot' if t.spot else ''}"
            f"{', search ' + str(t.search.max_trials) + ' trials' if t.search else ''}")
        serving = "off" if s is None else (
            f"{s.mode.value} {s.instance} {s.min_instances}-{s.max_instances}"
            f"{f', p99 {s.latency_p99_ms} ms' if s.latency_p99_ms else ''}")
        delivery = "-" if s is None else s.delivery.strategy.value + (
            f" + shadow {s.shadow.sample_percent:g}%" if s.shadow else "")
        monitoring = ", ".join(part for part in (
            f"drift {m.drift.method.value}>{m.drift.threshold:g}" if m.drift else "",
            f"quality {m.quality.metric}" if m.quality else "",
            "SRE alarms" if m.sre else "") if part) or "-"
        retraining = ", ".join(part for part in (
            r.schedule.text if r.schedule else "", "on drift" if r.on_drift else "",
            "on performance" if r.on_performance else "") if part) or "-"
        table.add_row(model.name, training, serving, delivery, monitoring, retraining)
    return table


def resource_tree(records: Sequence[Recorded], title: str) -> Tree:
    """The component hierarchy, as `pulumi preview` shows it."""
    tree = Tree(title)
    nodes: dict[str, Tree] = {}
    for record in records:
        label = f"[bold]{record.name}[/] [dim]{record.type}[/]"
        if record.protect:
            label += " [yellow]protected[/]"
        parent = nodes.get(record.parent or "", tree)
        nodes[record.urn] = parent.add(label)
    return tree


def undecided_table(undecided: Sequence[Undecided]) -> Table:
    """Rules a preview could not run to the end (the CLI's advisories "can't run policy … during preview")."""
    table = Table(title="policies undecided in preview (advisory)", title_justify="left")
    for column in ("policy", "resource", "message"):
        table.add_column(column)
    for u in undecided:
        table.add_row(u.policy, (u.urn or "(stack)").split("::")[-1], u.message)
    return table


def violation_table(violations: Sequence[Violation]) -> Table:
    table = Table(title="policy violations", title_justify="left")
    for column in ("policy", "enforcement", "resource", "message"):
        table.add_column(column)
    for v in violations:
        table.add_row(v.policy, v.enforcement, (v.urn or "(stack)").split("::")[-1], v.message)
    return table
