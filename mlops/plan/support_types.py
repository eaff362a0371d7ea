"""The shape of one cloud limit, shared by the per-cloud support tables."""

from __future__ import annotations

from dataclasses import dataclass

from mlops.blueprint.diagnostics import YamlPath


@dataclass(frozen=True)
class Unsupported:
    """One setting a cloud cannot honour: where, why, what was found and what would work."""

    path: YamlPath
    message: str
    got: str
    allowed: str
