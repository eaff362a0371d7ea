"""From a blueprint file to design files on disk: load, plan every environment, synth, render, write.

Only this module touches the disk or runs the (slow) synth; everything it renders is a pure function
of a `DesignInput`. Files are written atomically as a set: all are rendered first, written into a
temporary directory beside the target, then moved into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from mlops.blueprint import load_blueprint
from mlops.blueprint.model import Cloud
from mlops.evidence import evidence
from mlops.plan import Capability, Plan, plan_environments, plan_loaded
from mlops.plan.compliance import Control

from .architecture import GraphNode
from .inputs import DesignInput


def design_input(blueprint: str | Path, environment: str, graph: Sequence[GraphNode] = ()) -> DesignInput:
    """Load and plan every declared environment (BlueprintError on a bad blueprint or environment)."""
    loaded = load_blueprint(blueprint)
    bp = loaded.blueprint
    plans = tuple(plan_environments(loaded))
    if environment not in bp.environments:
        plan_loaded(loaded, environment)  # raises the located "does not declare this environment" error
    plan = next(p for p in plans if p.environment == environment)
    built, unused = seen_in(plan, graph)
    return DesignInput(Path(blueprint).name, plans, environment, tuple(graph), built, unused,
                       tuple(bp.data.sources))


def seen_in(plan: Plan, graph: Sequence[GraphNode]) -> tuple[frozenset[Capability], frozenset[Capability]]:
    """What the graph holds the evidence of, and what the plan turns on that nothing of this environment needs.
    Both empty without a graph: nothing is claimed unseen."""
    if not graph:
        return frozenset(), frozenset()
    found = evidence(plan, graph)
    return (frozenset(c for c, e in found.items() if e.built),
            frozenset(c for c, e in found.items() if not e.applies))


class SynthFailed(Exception):
    """The offline synth refused the program's graph (a SynthError), so there is no diagram to draw."""


def synthesized_graph(blueprint: str | Path, environment: str) -> tuple[GraphNode, ...]:
    """The resource graph `pulumi preview` would show, from an offline synth (imports pulumi)."""
    from mlops.synth import SynthError, synth

    try:
        result = synth(str(blueprint), environment)
    except SynthError as exc:
        raise SynthFailed(str(exc)) from exc
    return tuple(GraphNode(r.urn, r.type, r.name, r.parent, r.custom, r.inputs) for r in result.resources)


def control_implementations(cloud: Cloud) -> dict[Control, str]:
    """How the cloud's back end implements each compliance control, if it says (`<CLOUD>_CONTROLS` in
    `components/<cloud>/governance.py`); empty for a back end that does not have the table yet."""
    try:
        module = importlib.import_module(f"components.{cloud.value}.governance")
    except ModuleNotFoundError:
        return {}
    table = getattr(module, f"{cloud.value.upper()}_CONTROLS", {})
    return {Control(k): str(v) for k, v in table.items()}


def prepare(blueprint: str | Path, environment: str,
            progress: Callable[[str], object] | None = None) -> DesignInput:
    """Plan first (bad blueprints fail fast, before any Pulumi code runs), then synth for the diagram."""
    planned = design_input(blueprint, environment)
    if progress:
        progress(f"synthesizing {blueprint} ({environment}) under Pulumi mocks for the architecture diagram")
    graph = synthesized_graph(blueprint, environment)
    return replace(design_input(blueprint, environment, graph),
                   controls=control_implementations(planned.plan.cloud))


def write_files(out_dir: Path, contents: dict[str, str]) -> list[Path]:
    """Write every file or none: render into a temporary directory beside `out_dir`, then move each in."""
    out_dir = Path(out_dir)
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        for name, text in contents.items():
            (staging / name).write_text(text, encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name in contents:
            os.replace(staging / name, out_dir / name)
            written.append(out_dir / name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
