"""The plan's vocabulary: the domain terms back ends read, imported from here and nowhere else.

Back ends (components/) depend on the plan only, never on the blueprint: the enums below are the
words of the domain (one definition, shared with the blueprint's schema so that a YAML value and a
plan value are the same object), and the settings types are the parts of a blueprint the plan passes
through unchanged once gating has decided them. When a setting needs resolving for the back ends
(schedules, delivery steps), the plan gives it a type of its own in `mlops.plan.model`.
"""

from __future__ import annotations

from mlops.blueprint.diagnostics import Diagnostic
from mlops.blueprint.model import (
    AlertKind,
    AlertRoute,
    Batching,
    Caching,
    Cloud,
    Compliance,
    DeliveryStrategy,
    Direction,
    DriftMethod,
    Entity,
    FairnessMetric,
    FeatureStore,
    InstanceSize,
    RiskTier,
    SearchStrategy,
    ServingMode,
    Severity,
)

__all__ = ["AlertKind", "AlertRoute", "Batching", "Caching", "Cloud", "Compliance", "DeliveryStrategy", "Diagnostic",
           "Direction", "DriftMethod", "Entity", "FairnessMetric", "FeatureStore", "InstanceSize", "RiskTier",
           "SearchStrategy", "ServingMode", "Severity"]
