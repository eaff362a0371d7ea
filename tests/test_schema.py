"""The committed JSON Schema matches the model, and every example validates against it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mlops.blueprint.schema import blueprint_json_schema, render_schema, write_schema

SCHEMA_LINE = "# yaml-language-server: $schema=./blueprint.schema.json"
REGENERATE = ("blueprints/blueprint.schema.json is stale: "
              "regenerate it with `python -m mlops.blueprint.schema`")


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = blueprint_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def messages(validator: jsonschema.Draft202012Validator, document: Any) -> list[str]:
    errors = validator.iter_errors(document)
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_committed_schema_is_up_to_date(root: Path) -> None:
    committed = root / "blueprints" / "blueprint.schema.json"
    assert committed.exists(), REGENERATE
    assert json.loads(committed.read_text(encoding="utf-8")) == blueprint_json_schema(), REGENERATE
    assert committed.read_text(encoding="utf-8") == render_schema(), REGENERATE


def test_schema_header() -> None:
    schema = blueprint_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"] == "MLOps blueprint"
    assert "Each environment becomes one Pulumi stack" in schema["description"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"name", "use_case", "organisation", "cloud", "maturity", "models"}


def test_write_schema_is_deterministic(tmp_path: Path) -> None:
    first, second = write_schema(tmp_path / "a.json"), write_schema(tmp_path / "b.json")
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text(encoding="utf-8").endswith("}\n")
    assert first.read_text(encoding="utf-8").startswith('{\n  "$schema": ')


def test_example_validates_against_the_schema(example: Path,
                                              validator: jsonschema.Draft202012Validator) -> None:
    document = yaml.safe_load(example.read_text(encoding="utf-8"))
    assert messages(validator, document) == []


def test_example_points_editors_at_the_schema(example: Path) -> None:
    assert example.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE


MINIMAL: dict[str, Any] = {
    "name": "demo",
    "use_case": "Schema tests",
    "organisation": {"name": "Acme"},
    "cloud": {"provider": "gcp", "region": "us-central1"},
    "maturity": {"target": 2},
    "models": [{"name": "scorer"}],
}


@pytest.mark.parametrize(("change", "expected"), [
    ({"maturity": {"current": 1, "target": 3}}, []),
    ({"maturity": {"target": {"deployment": 2}}}, []),
    ({"maturity": {"target": 4}}, ["maturity/target: 4 is not valid under any of the given schemas"]),
    ({"cloud": {"provider": "amazon", "region": "us-east-1"}},
     ["cloud/provider: 'amazon' is not one of ['aws', 'gcp', 'azure']"]),
    ({"colour": "blue"}, [": Additional properties are not allowed ('colour' was unexpected)"]),
    ({"tags": {"team": "x"}}, []),
    ({"tags": {"Team": "x"}},
     ["tags: 'Team' does not match any of the regexes: '^[a-z][a-z0-9_-]{0,62}$'"]),
], ids=["shorthand-levels", "partial-levels", "level-out-of-range", "bad-enum", "unknown-key", "tag-key",
                                   "bad-tag-key"])
def test_schema_accepts_what_the_loader_accepts_and_rejects_what_it_rejects(
        validator: jsonschema.Draft202012Validator, change: dict[str, Any], expected: list[str]) -> None:
    assert messages(validator, {**MINIMAL, **change}) == expected
