"""The blueprint's JSON Schema, for editors (completion, hover docs, red squiggles) and CI.

Generated from the pydantic model so that it cannot drift from what the loader accepts.
Blueprints point at it with a first line `# yaml-language-server: $schema=./blueprint.schema.json`.
Regenerate the committed copy with `python -m mlops.blueprint.schema` (a test fails when it is stale).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .model import Blueprint

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# A URN, not a URL: the schema is used from the file next to the blueprints, never fetched.
SCHEMA_ID = "urn:mlops-blueprints:blueprint.schema.json"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "blueprints" / "blueprint.schema.json"


def _close_pattern_keys(node: Any) -> None:
    """Mappings with constrained keys (e.g. `tags`) come out as `patternProperties`, which lets any
    other key through; the model rejects such keys, so the schema must too."""
    if isinstance(node, dict):
        if "patternProperties" in node and "properties" not in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _close_pattern_keys(value)
    elif isinstance(node, list):
        for value in node:
            _close_pattern_keys(value)


def blueprint_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a blueprint file."""
    generated = Blueprint.model_json_schema()
    _close_pattern_keys(generated)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        **generated,
        "title": "MLOps blueprint",
        "description": (
            "An MLOps platform described once: organisation, cloud, maturity (current and target, "
            "levels 0-3), environments, data, feature store, models (training, quality gates, "
            "serving, monitoring, retraining), alerts, governance and cost. Each environment "
            "becomes one Pulumi stack. Cross-field rules and maturity gating are checked by "
            "`mlops validate` / `mlops plan`, not by this schema."
        ),
    }


def render_schema() -> str:
    """The schema as committed: 2-space indent, keys in generation order, trailing newline."""
    return json.dumps(blueprint_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: str | Path = DEFAULT_PATH) -> Path:
    """Write the schema to `path` (byte-identical for the same model) and return the path."""
    target = Path(path)
    target.write_text(render_schema(), encoding="utf-8")
    return target


if __name__ == "__main__":
    written = write_schema(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PATH)
    print(f"wrote {written}")
