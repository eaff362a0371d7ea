"""Synth of every example in every environment: the manifest contract, determinism, golden inventories."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from shared_synth import synthesized

from mlops.blueprint import load_blueprint
from mlops.synth import SynthResult, synth

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted((ROOT / "blueprints").glob("*.yaml"))
CASES = [(path, env) for path in EXAMPLES for env in load_blueprint(path).blueprint.environments]
IDS = [f"{path.stem}-{env}" for path, env in CASES]

RESOURCE_FIELDS = ["urn", "type", "name", "parent", "custom", "inputs", "protect", "retainOnDelete",
                   "dependencies", "propertyDependencies", "provider"]
# Input keys whose values are free-form maps (tags, labels …): their keys may be anything.
# Maps whose keys are the user's data, not SDK fields (e.g. a Vertex pipeline's parameter names).
FREE_FORM = {"tags", "labels", "metadata", "userLabels", "environment", "environmentVariables", "parameterValues",
             # Azure ML's own documents: component YAML, pipeline nodes and settings are snake_case on the
             # wire (validated with the azure-ai-ml SDK in tests/test_azure_pipelines.py).
             "componentSpec", "jobs", "settings"}


def synthesized_example(path: Path, env: str) -> SynthResult:
    return synthesized(str(path.relative_to(ROOT)), env)


def inventory(result: SynthResult) -> str:
    """One line per resource: type, name, and whether it is protected/retained."""
    lines = [f"{r.type} {r.name}" + (" [protect]" if r.protect else "") + (" [retain]" if r.retain_on_delete else "")
             for r in result.resources]
    return "\n".join(lines) + "\n"


def _snake_case_keys(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", key):
                found.add(key)
            if key not in FREE_FORM:
                _snake_case_keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _snake_case_keys(item, found)
    return found


@pytest.mark.parametrize(("path", "env"), CASES, ids=IDS)
def test_manifest_follows_the_contract(path: Path, env: str) -> None:
    manifest = json.loads(synthesized_example(path, env).manifest_json())
    assert list(manifest) == ["blueprint", "environment", "cloud", "resources", "outputs", "policy"]
    assert manifest["blueprint"] == str(path.relative_to(ROOT))
    assert manifest["environment"] == env
    assert manifest["cloud"] == load_blueprint(path).blueprint.cloud.provider.value
    urns = [r["urn"] for r in manifest["resources"]]
    assert len(urns) == len(set(urns))
    for resource in manifest["resources"]:
        assert list(resource) == RESOURCE_FIELDS
        assert resource["parent"] is None or resource["parent"] in urns
        assert set(resource["dependencies"]) <= set(urns)
    assert manifest["outputs"], "a stack without outputs"
    assert set(manifest["policy"]) == {"violations"}


@pytest.mark.parametrize(("path", "env"), CASES, ids=IDS)
def test_names_are_unique_and_inputs_typed(path: Path, env: str) -> None:
    result = synthesized_example(path, env)
    keys = [(r.type, r.name) for r in result.resources]
    assert len(keys) == len(set(keys))
    snake = set().union(*(_snake_case_keys(r.inputs, set()) for r in result.resources))
    assert not snake, f"snake_case input keys (an untyped dict?): {sorted(snake)}"


@pytest.mark.parametrize(("path", "env"), CASES, ids=IDS)
def test_every_stack_passes_every_policy(path: Path, env: str) -> None:
    """Every example in every environment: zero violations (the policies relax nothing outside prod
    that a stack of that environment would break)."""
    result = synthesized_example(path, env)
    assert [v.manifest() for v in result.violations] == []


@pytest.mark.parametrize(("path", "env"), CASES, ids=IDS)
def test_golden_inventory(path: Path, env: str, update_golden: bool) -> None:
    golden = GOLDEN / f"{path.stem}.{env}.txt"
    actual = inventory(synthesized_example(path, env))
    if update_golden:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(actual)
    assert golden.exists(), f"no golden inventory: run `pytest {__file__} --update-golden` and review it"
    assert actual == golden.read_text(), "inventory changed: rerun with --update-golden and review the diff"


def test_synth_is_deterministic_within_a_process() -> None:
    path = "blueprints/fraud-detection-aws.yaml"
    assert synth(path, "staging").manifest_json() == synth(path, "staging").manifest_json()


def test_synth_is_byte_identical_across_processes(tmp_path: Path) -> None:
    outputs = []
    for run in range(2):
        target = tmp_path / f"run{run}.json"
        subprocess.run([sys.executable, "-m", "mlops", "synth", "blueprints/product-recommendations-gcp.yaml",
                        "--env", "prod", "--json", str(target), "--quiet"], cwd=ROOT, check=True,
                       capture_output=True)
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] == synthesized_example(EXAMPLES[[p.stem for p in EXAMPLES].index("product-recommendations-gcp")],
                                     "prod").manifest_json().encode()


def test_program_errors_become_synth_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi

    import mlops.program
    from mlops.synth import SynthError

    def missing(*_: object, **__: object) -> None:
        raise pulumi.ConfigMissingError("mlops:pagerdutyEventsUrl", None)

    monkeypatch.setattr(mlops.program, "build_platform", missing)
    with pytest.raises(SynthError, match="mlops:pagerdutyEventsUrl"):
        synth("blueprints/fraud-detection-aws.yaml", "dev")
