"""Which KFP placeholders and Workflows expressions in synthesized GCP documents our own code wrote.

KFP resolves `{{$.…}}` placeholders anywhere in a container's command and arguments (the launchers'
`--payload` JSON included); Cloud Workflows evaluates `${…}` in string values and map keys. Neither has
an escape, so blueprint text must never bring one. The checker compares a document with the same
document synthesized from a benign blueprint of the same shape (`allowed`): every placeholder or
expression must be one the benign document has at the same place. Places ignore list positions (more
gates, more features) and, for a container argument, name the flag it follows; KFP strings are
compared with every word (a run of letters, digits and `_`) blanked, because gate outputs and parameters
are named after slugs of their metrics; Workflows expressions are compared as written. Workflows' own
literal form for blueprint text (components/gcp/workflow_literal.py) is data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from components.gcp.workflow_literal import LITERAL
from mlops.synth import SynthResult

WORD = re.compile(r"\w+")
QUOTED = re.compile(r"\['[^']*'\]")
KFP_OPEN = "{{$"
EXPRESSION = "${"
WORKFLOW = "gcp:workflows/workflow:Workflow"
Place = tuple[str, ...]


@dataclass(frozen=True)
class Documents:
    """The KFP specs and Workflows sources of one synthesized stack, by resource name."""

    specs: dict[str, Any]
    workflows: dict[str, Any]


def _strings(value: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every (path, string) of a JSON value, map keys included (a key's path ends in `<key>`)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield ("<key>",), str(key)
            for path, text in _strings(item):
                yield (str(key), *path), text
    elif isinstance(value, list):
        flag = "[]"
        for item in value:
            if isinstance(item, str) and item.startswith("--"):
                flag = item.split("=", 1)[0]  # an argument's place is the flag it follows
            for path, text in _strings(item):
                yield (flag, *path), text
    elif isinstance(value, str):
        yield (), value


def _spec(text: Any) -> Any:
    if not isinstance(text, str) or '"deploymentSpec"' not in text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _inputs(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _inputs(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _inputs(item, f"{path}[{i}]")
    else:
        yield path, value


def documents(result: SynthResult) -> Documents:
    """Every pipeline spec (in any resource input) and workflow source of a synthesized stack."""
    specs: dict[str, Any] = {}
    workflows: dict[str, Any] = {}
    for resource in result.resources:
        for where, value in _inputs(resource.inputs):
            spec = _spec(value)
            if spec is not None:
                specs[f"{resource.name}{where}"] = spec
        if resource.type == WORKFLOW and isinstance(resource.inputs.get("sourceContents"), str):
            workflows[resource.name] = yaml.safe_load(resource.inputs["sourceContents"])  # JSON is YAML too
    return Documents(specs, workflows)


def _expanded(value: Any) -> Any:
    """A value with its JSON-valued strings (the launchers' `--payload`) parsed, so placeholders get places."""
    if isinstance(value, dict):
        return {k: _expanded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expanded(v) for v in value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return _expanded(json.loads(value))
        except ValueError:
            return value
    return value


def kfp_uses(spec: Any) -> set[tuple[Place, str]]:
    """Every (place, string with its words blanked) of a spec's strings holding `{{$`."""
    return {(place, _blank(text)) for place, text in _strings(_expanded(spec)) if KFP_OPEN in text}


def _blank(text: str) -> str:
    """A string's shape: quoted placeholder names and words blanked, punctuation (where syntax lives) kept."""
    return WORD.sub("w", QUOTED.sub("[*]", text))


def workflow_uses(source: Any) -> set[tuple[Place, str]]:
    """Every (place, string) of a workflow source holding `${`, except our literal form of blueprint text."""
    return {(place, text) for place, text in _strings(source)
            if EXPRESSION in text and not (place[-1:] != ("<key>",) and LITERAL.fullmatch(text))}


@dataclass(frozen=True)
class Allowed:
    """The placeholders and expressions of benign documents: what our own code writes."""

    kfp: frozenset[tuple[Place, str]]
    workflows: frozenset[tuple[Place, str]]


def allowed(benign: Iterable[SynthResult]) -> Allowed:
    kfp: set[tuple[Place, str]] = set()
    flows: set[tuple[Place, str]] = set()
    for result in benign:
        docs = documents(result)
        for spec in docs.specs.values():
            kfp |= kfp_uses(spec)
        for source in docs.workflows.values():
            flows |= workflow_uses(source)
    return Allowed(frozenset(kfp), frozenset(flows))


def foreign(docs: Documents, ours: Allowed) -> list[str]:
    """Every placeholder or expression in the documents our code did not write (empty: all ours)."""
    found = [f"{name}: {'/'.join(place)}: {text}" for name, spec in docs.specs.items()
             for place, text in sorted(kfp_uses(spec) - ours.kfp)]
    found += [f"{name}: {'/'.join(place)}: {text}" for name, source in docs.workflows.items()
              for place, text in sorted(workflow_uses(source) - ours.workflows)]
    return found
