"""The synthesized graph as evidence reads it: resources by type and logical name (no pulumi import).

Evidence takes the resources `mlops synth` recorded (or a saved manifest's `resources`): anything with
`type`, `name` and `inputs` will do, so the same rules read a live synth and a manifest on disk.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class Resource(Protocol):
    """What evidence needs of one recorded resource."""

    @property
    def type(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def inputs(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Node:
    """One resource of a manifest file (`mlops synth --json`)."""

    type: str
    name: str
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, entry: Mapping[str, Any]) -> Node:
        return cls(str(entry["type"]), str(entry["name"]), entry.get("inputs") or {})


def value_at(value: Any, *path: str | int) -> Any:
    """The value at a path of nested mappings and lists; None where any step is missing."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, Sequence) or isinstance(value, str) or part >= len(value):
                return None
            value = value[part]
        elif isinstance(value, Mapping):
            value = value.get(part)
        else:
            return None
    return value


def document(text: Any) -> Any:
    """A JSON document passed as a string input (pipeline definitions, event patterns); None if not JSON."""
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def encoded_document(text: Any) -> Any:
    """A JSON document the back end passed base64url-encoded (Azure ML literal job inputs, so that blueprint
    text never meets a shell: components/payload.py); None if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(text.encode("ascii")).decode("utf-8"))
    except ValueError:
        return None


class Graph:
    """Resources by (type, logical name), for `find` and `require` in evidence rules."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.resources = list(resources)
        self._by_key = {(r.type, r.name): r for r in self.resources}

    def get(self, type_: str, name: str) -> Resource | None:
        return self._by_key.get((type_, name))

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def without(self, type_: str, name: str) -> Graph:
        """The same graph less one resource (tests: the design must stop claiming what it held up)."""
        return Graph(r for r in self.resources if (r.type, r.name) != (type_, name))
