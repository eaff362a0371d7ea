"""What the gcp back end's graph must hold for each capability (the gcp evidence table)."""

from __future__ import annotations

from mlops.plan import Capability

from . import Rule

RULES: dict[Capability, Rule] = {}
