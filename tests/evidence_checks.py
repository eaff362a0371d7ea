"""What a synthesized stack holds the evidence of (mlops.evidence), for tests of every back end."""

from __future__ import annotations

from mlops.evidence import evidence
from mlops.plan import Capability
from mlops.synth import SynthResult


def not_built(result: SynthResult) -> set[Capability]:
    """Capabilities the plan turns on and needs in this stack whose evidence the graph does not hold."""
    return {c for c, e in evidence(result.plan, result.resources).items() if e.applies and not e.built}
