"""One synth per (example, environment) for the whole test run.

Synth is the slow step of most tests and is deterministic, so test modules share its result instead
of each synthesizing the same stack again. Tests that alter a graph work on a deep copy (they must:
the result is shared); tests that patch the program or synth a temporary blueprint call `synth`.
"""

from __future__ import annotations

from functools import cache

from mlops.synth import SynthResult, synth


@cache
def synthesized(blueprint: str, environment: str) -> SynthResult:
    """The synth of a blueprint in the repository (path relative to its root) for one environment."""
    return synth(blueprint, environment)


@cache
def previewed(blueprint: str, environment: str) -> SynthResult:
    """The synth of a blueprint as a first `pulumi preview` sees it (policy mode `preview`)."""
    return synth(blueprint, environment, policy_mode="preview")
