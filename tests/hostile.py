"""Hostile blueprint text, shared by the tests that check it stays data everywhere it lands.

A blueprint is code that ends up in shell commands (Azure ML), KFP placeholders (Vertex), Workflows
expressions (GCP), Markdown and HTML (design documents). Each payload here breaks out of one of those
when a value is interpolated instead of passed as data. `FIELDS` names every free-text field of the
blueprint (mlops/blueprint/model.py) with a way to put a payload there; `with_payloads` fills them all.
Values the blueprint's own validation refuses (patterns, per-cloud rules) need not get through; the
tests treat a refusal as fine and everything accepted as something that must stay data.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops.blueprint import load_text
from mlops.blueprint.diagnostics import BlueprintError
from mlops.plan import Plan, PlanError, plan_loaded

SHELL = (
    "x';touch pwned;'",
    'x";touch pwned;"',
    "$(touch pwned)",
    "`touch pwned`",
    "x; touch pwned",
    "x' && touch pwned #",
    "x\\'; touch pwned; echo '",
)
"""Break out of single quotes, double quotes, command substitution, or end the command."""
AZURE = ("${{parent.inputs.data}}", "${{inputs.gates}}", "$[[--x ${{inputs.model}}]]")
"""Azure ML bindings: substituted in commands and literal inputs."""
KFP = ("{{$.inputs.parameters['code_uri']}}", "{{$.pipeline_job_uuid}}", "{{$}}")
"""KFP placeholders: resolved anywhere in a container's command and arguments."""
WORKFLOWS = ('${sys.get_env("GOOGLE_CLOUD_PROJECT_ID")}', '${http.get("https://evil.example")}')
"""Cloud Workflows expressions: evaluated in strings and map keys."""
MARKUP = ("<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[click](javascript:alert(1))",
          "**bold** `tick` *em* & <b>", "a | b | c")
"""HTML and Markdown inline syntax."""
NEWLINES = ("x\n# heading", "x\n| a | b |", "x\n![x](y)", "x\n```\n<img src=x onerror=alert(1)>",
            "x\ntouch pwned", "x\n- item\n> quote")
"""Line-start Markdown syntax and a command on its own line (only fields that take line breaks)."""

ONE_LINE = (*SHELL, *AZURE, *KFP, *WORKFLOWS, *MARKUP)
MULTI_LINE = (*ONE_LINE, *NEWLINES)
CONTROL = ("x\x00y", "x\x1b[31my", "x\x07y", "x\x7fy", "x\x9by")
"""Control characters the blueprint refuses everywhere (tab and newline are allowed in prose)."""

Setter = Callable[[dict[str, Any], str], None]


def _model(data: dict[str, Any]) -> dict[str, Any]:
    return data["models"][0]


def _set(*path: str | int) -> Setter:
    def put(data: dict[str, Any], value: str) -> None:
        node: Any = data
        for part in path[:-1]:
            node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
        node[path[-1]] = value
    return put


def _in_model(*path: str) -> Setter:
    def put(data: dict[str, Any], value: str) -> None:
        _set(*path)(_model(data), value)
    return put


def _gate_metric(data: dict[str, Any], value: str) -> None:
    gates = _model(data).setdefault("quality_gates", {})
    gates["metrics"] = [{"metric": value, "threshold": 0.5}, *gates.get("metrics", [])]


def _hyperparameter_key(data: dict[str, Any], value: str) -> None:
    _model(data).setdefault("training", {}).setdefault("hyperparameters", {})[value] = "1"


def _hyperparameter_value(data: dict[str, Any], value: str) -> None:
    _model(data).setdefault("training", {}).setdefault("hyperparameters", {})["booster"] = value


def _objective(data: dict[str, Any], value: str) -> None:
    target = data["maturity"]["target"]
    levels = {d: target for d in ("experiment_tracking", "model_versioning", "deployment", "monitoring",
                                  "governance")} if isinstance(target, int) else dict(target)
    data["maturity"]["target"] = {**levels, "experiment_tracking": max(2, levels.get("experiment_tracking", 0))}
    training = _model(data).setdefault("training", {})
    training["hyperparameter_search"] = {**training.get("hyperparameter_search", {}), "objective_metric": value}


def _protected(data: dict[str, Any], value: str) -> None:
    gates = _model(data).setdefault("quality_gates", {})
    gates["fairness"] = [{"metric": "demographic_parity_difference", "threshold": 0.1,
                          "protected_attributes": [value, "age"]}]


def _drift_feature(data: dict[str, Any], value: str) -> None:
    monitoring = _model(data).setdefault("monitoring", {})
    drift = monitoring.setdefault("drift", {})
    drift["features"] = [value, *drift.get("features", [])]


def _source_uri(data: dict[str, Any], value: str) -> None:
    data.setdefault("data", {}).setdefault("sources", [{"name": "hostile", "kind": "object_store"}])[0]["uri"] = value


def _alert_target(data: dict[str, Any], value: str) -> None:
    data["alerts"] = [{"kind": "webhook", "target": value}, *data.get("alerts", [])]


def _approver(data: dict[str, Any], value: str) -> None:
    data.setdefault("governance", {}).setdefault("approvals", {})["prod"] = {"approvers": [value]}


def _role(data: dict[str, Any], value: str) -> None:
    data.setdefault("governance", {}).setdefault("roles", {})["data_scientist"] = [value]


def _network(data: dict[str, Any]) -> dict[str, Any]:
    return data.setdefault("environments", {}).setdefault("prod", {}).setdefault("network", {})


def _vpc(data: dict[str, Any], value: str) -> None:
    network = _network(data)
    network["vpc"] = value
    network.setdefault("subnets", ["ml-a", "ml-b"])  # an existing network needs subnets on every cloud


def _subnet(data: dict[str, Any], value: str) -> None:
    network = _network(data)
    network.setdefault("vpc", "shared-vpc")
    network["subnets"] = [value, *[s for s in network.get("subnets", ["ml-b"]) if s != value]][:2]


def _tag(data: dict[str, Any], value: str) -> None:
    data.setdefault("tags", {})["hostile"] = value[:63]


@dataclass(frozen=True)
class Field:
    """A free-text field of the blueprint and how to put a payload into it."""

    name: str
    put: Setter
    multi_line: bool = False
    """Prose fields (the use case, descriptions) take line breaks; the others refuse them."""
    max_length: int | None = None


FIELDS: tuple[Field, ...] = (
    Field("use_case", _set("use_case"), multi_line=True, max_length=200),
    Field("organisation.name", _set("organisation", "name"), max_length=100),
    Field("models[0].description", _in_model("description"), multi_line=True),
    Field("quality_gates.metrics[].metric", _gate_metric),
    Field("training.hyperparameters key", _hyperparameter_key),
    Field("training.hyperparameters value", _hyperparameter_value),
    Field("hyperparameter_search.objective_metric", _objective),
    Field("fairness.protected_attributes", _protected),
    Field("monitoring.drift.features", _drift_feature),
    Field("monitoring.quality.metric", _in_model("monitoring", "quality", "metric")),
    Field("serving.output_uri", _in_model("serving", "output_uri")),
    Field("serving.stream", _in_model("serving", "stream")),
    Field("training.instance", _in_model("training", "instance")),
    Field("data.sources[].uri", _source_uri),
    Field("alerts[].target", _alert_target),
    Field("governance.approvals.prod.approvers", _approver),
    Field("governance.roles.data_scientist", _role),
    Field("tags value", _tag, max_length=63),
)


NETWORK_FIELDS: tuple[Field, ...] = (
    Field("environments.prod.network.vpc", _vpc),
    Field("environments.prod.network.subnets", _subnet),
)
"""The prod network's free text (an existing network and its subnets): not in FIELDS, whose users were
proven before these were listed; a back end whose documents they reach adds them (`fields=`)."""


def payloads_for(field: Field) -> tuple[str, ...]:
    """The payloads a field may carry (line breaks only in prose), cut to its length limit."""
    chosen = MULTI_LINE if field.multi_line else ONE_LINE
    return tuple(p[: field.max_length] if field.max_length else p for p in chosen)


def example(path: str) -> dict[str, Any]:
    """An example blueprint as plain data (fresh copy)."""
    return copy.deepcopy(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def with_value(data: dict[str, Any], field: Field, value: str) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    field.put(changed, value)
    return changed


Check = Callable[[Plan], None]
"""A back end's early check of a plan (raises PlanError for what that cloud cannot build)."""


def accepted_plan(data: dict[str, Any], environment: str = "prod", check: Check | None = None) -> Plan | None:
    """The plan of a blueprint, or None when validation, the plan or `check` refuses it (refused text cannot leak)."""
    try:
        plan = plan_loaded(load_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True)), environment)
        if check is not None:
            check(plan)
        return plan
    except (BlueprintError, PlanError):
        return None


def hostile_plans(path: str, environment: str = "prod", check: Check | None = None) -> list[tuple[str, str, Plan]]:
    """(field, payload, plan) for every field and payload of an example the blueprint and plan accept."""
    base = example(path)
    found: list[tuple[str, str, Plan]] = []
    for field in FIELDS:
        for payload in payloads_for(field):
            plan = accepted_plan(with_value(base, field, payload), environment, check)
            if plan is not None:
                found.append((field.name, payload, plan))
    return found


def all_hostile(path: str, environment: str = "prod", offset: int = 0, check: Check | None = None,
                fields: tuple[Field, ...] = FIELDS, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """An example (or `base`, a variant of it) with every field the plan accepts hostile at once (payloads
    rotated by `offset`).

    Fields whose payload the blueprint or plan refuses keep their example value, so the result loads (a
    field that refuses three payloads in a row is taken to refuse them all: planning is the slow part).
    """
    data = copy.deepcopy(base) if base is not None else example(path)
    for i, field in enumerate(fields):
        choices = payloads_for(field)
        for k in range(3):
            attempt = with_value(data, field, choices[(i + offset + k) % len(choices)])
            if accepted_plan(attempt, environment, check) is not None:
                data = attempt
                break
    return data
