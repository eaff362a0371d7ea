"""Every cloud, capability and option: refused by validate with a located error, or built with evidence.

The options come from tests/capability_matrix.py. For each cloud, each option is validated on its own
(every environment). A refusal must be located (a YAML path, rendered with its file, line and column)
and say what the cloud offers instead. An accepted option is synthesized (model options grouped into
multi-model blueprints) and must pass every mandatory policy, and the evidence of the capabilities it
asks for must hold in the graph, naming its model: never neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_image_pins import image_problems
from azure_ml_documents import graph_problems as azure_ml_problems
from capability_matrix import CLOUDS, MODEL_OPTIONS, TOP_OPTIONS, Option, grouped, with_model_option, with_top_option
from deployer_requests import deployer_problems
from sagemaker_requests import pipeline_problems
from sagemaker_stack_requests import resource_problems
from vertex_requests import graph_problems as vertex_problems

from mlops.blueprint import BlueprintError, load_blueprint
from mlops.evidence import evidence
from mlops.plan import Capability, plan_environments
from mlops.synth import synth

GROUP_SIZE = 10
"""Models per synthesized blueprint: one synth covers this many model options."""
SIZES: dict[tuple[str, str], int] = {}
"""Resources named for each option's model, per cloud (an option that switches a capability off has fewer)."""


def _write(tmp: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _refusal(path: Path) -> BlueprintError | None:
    """The located error validate reports for the file, or None when every environment plans."""
    try:
        plan_environments(load_blueprint(path))
    except BlueprintError as exc:
        return exc
    return None


def _assert_located(option: Option, error: BlueprintError) -> None:
    for diagnostic, line in zip(error.diagnostics, error.lines(), strict=True):
        assert diagnostic.path, f"{option.id}: refusal without a YAML path: {line}"
        assert diagnostic.allowed, f"{option.id}: refusal does not say what is allowed instead: {line}"
        assert line.startswith(f"{error.file}:"), line


def _assert_evidenced(cloud: str, path: Path, models: dict[str, Option]) -> list[str]:
    """Synth prod; no mandatory violation; every capability built; each option's model named in its evidence."""
    result = synth(str(path), "prod")
    problems = [f"{v.policy}: {v.message}" for v in result.violations if v.mandatory]
    if cloud == "aws":  # every SageMaker request is one its own API model accepts; every image is pinned
        problems += pipeline_problems(result.resources) + resource_problems(result.resources)
        problems += deployer_problems(result.resources)[0] + image_problems(result)
    if cloud == "gcp":  # every Vertex body parses into google.cloud.aiplatform_v1's own message
        problems += vertex_problems(result)
    if cloud == "azure":  # every component and pipeline job is one azure-ai-ml accepts, checked strictly
        problems += azure_ml_problems(result.resources)
    found = evidence(result.plan, result.resources)
    problems += [f"{c.value} not built: {'; '.join(e.missing)}" for c, e in found.items() if e.applies and not e.built]
    for model, option in models.items():
        for name in option.shows:
            item = found.get(Capability(name))
            if item is None:
                problems.append(f"{option.id}: {name} is not turned on by the plan")
            elif model and not any(f"-{model}-" in entry or entry.endswith(f"-{model}") for entry in item.found):
                problems.append(f"{option.id}: no evidence of {name} names model {model} ({item.found})")
            elif not item.built:
                problems.append(f"{option.id}: {name} not built")
        SIZES[(cloud, option.id)] = sum(f"-{model}-" in r.name for r in result.resources)
    return [f"{cloud} {path.stem}: {p}" for p in problems]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_model_options_are_refused_or_evidenced(cloud: str, tmp_path: Path) -> None:
    accepted: list[Option] = []
    for option in MODEL_OPTIONS:
        error = _refusal(_write(tmp_path, option.id, with_model_option(cloud, option)))
        if error is None:
            accepted.append(option)
        else:
            _assert_located(option, error)
    problems: list[str] = []
    for chunk, doc in grouped(cloud, accepted, GROUP_SIZE):
        path = _write(tmp_path, doc["name"], doc)
        assert _refusal(path) is None, f"{cloud}: options accepted alone are refused together: {chunk}"
        problems += _assert_evidenced(cloud, path, {f"m{i}": o for i, o in enumerate(chunk)})
    # Switched off means fewer resources than the same model with the default (`realtime`, default drift).
    problems += [f"{cloud} {o.id}: switching {', '.join(o.hides)} off builds as much as the default"
                 for o in accepted if o.hides and SIZES[(cloud, o.id)] >= SIZES[(cloud, "realtime")]]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_platform_options_are_refused_or_evidenced(cloud: str, tmp_path: Path) -> None:
    problems: list[str] = []
    for option in TOP_OPTIONS:
        path = _write(tmp_path, option.id, with_top_option(cloud, option))
        error = _refusal(path)
        if error is not None:
            _assert_located(option, error)
            continue
        problems += _assert_evidenced(cloud, path, {"": option})
    assert not problems, "\n".join(problems)


def test_the_matrix_covers_every_capability_the_gates_can_turn_on() -> None:
    shown = {name for option in (*MODEL_OPTIONS, *TOP_OPTIONS) for name in option.shows}
    # Foundation, RBAC and the registry come with every blueprint (checked in every synth above).
    always = {Capability.foundation, Capability.rbac_roles, Capability.model_registry, Capability.experiment_tracking}
    assert {c.value for c in Capability} - {c.value for c in always} <= shown
