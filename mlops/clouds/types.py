"""The shapes every cloud's facts module fills: one cloud limit, and the facts of one cloud."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops.blueprint.diagnostics import YamlPath
from mlops.blueprint.model import Cloud, DriftMethod

if TYPE_CHECKING:
    from mlops.plan.model import Caution, Plan


@dataclass(frozen=True)
class Unsupported:
    """One setting a cloud cannot honour: where, why, what was found and what would work."""

    path: YamlPath
    message: str
    got: str
    allowed: str


@dataclass(frozen=True)
class CloudFacts:
    """What the plan needs to know of one cloud (pulumi-free): its limits, defaults and documented fallbacks.

    Adding a cloud means one facts module with one of these, one component folder and one registry line
    (`mlops.clouds.FACTS`).
    """

    cloud: Cloud
    name: str
    """How documents name the cloud's ML platform."""
    unsupported: Callable[[Plan], list[Unsupported]]
    """Everything in a plan of this cloud its back end cannot honour (empty when all is well)."""
    fallbacks: Mapping[str, str]
    """Settings honoured another way than asked, in the back end's words (shown by plan, design, README)."""
    default_drift_method: DriftMethod
    """The drift measure monitoring ≥ 2 turns on where the blueprint names none (the one the cloud computes)."""
    locks_audit_storage: bool
    """The stack itself locks audit retention in production (compliance mode); else an operator must."""
    builds_databricks: bool
    """`data.databricks` builds a workspace here."""
    approval_mechanism: str
    """How one approval is given (why more than one cannot be enforced)."""
    cautions: Callable[[Plan], list[Caution]] = lambda plan: []
    """What a plan of this cloud gets as asked but not as its words suggest (warnings, not errors)."""
