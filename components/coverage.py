"""Which planned capabilities each back end builds today (no pulumi import: the CLI reads it).

A capability the plan turns on but the back end does not build yet is reported by `mlops plan`
and `mlops synth`, never silently dropped. Each back end's root component builds exactly these.
"""

from __future__ import annotations

from mlops.blueprint.model import Cloud
from mlops.plan import Capability, Plan

_FOUNDATION = frozenset({Capability.foundation, Capability.audit_trail})

# AWS, by area of the back end (each area's module adds what it builds).
_AWS_PIPELINES: frozenset[Capability] = frozenset()
_AWS_SERVING: frozenset[Capability] = frozenset()
_AWS_PLATFORM: frozenset[Capability] = frozenset()

BUILT: dict[Cloud, frozenset[Capability]] = {
    Cloud.aws: _FOUNDATION | _AWS_PIPELINES | _AWS_SERVING | _AWS_PLATFORM,
    Cloud.gcp: _FOUNDATION,
    Cloud.azure: _FOUNDATION,
}


def not_yet_built(plan: Plan) -> list[Capability]:
    """Capabilities the plan enables that this cloud's back end does not build yet."""
    return [c for c in plan.capabilities if c not in BUILT[plan.cloud]]
