"""Small helpers that keep policy rules short: finding resources, reading props the way the analyzer gives them.

Under `pulumi preview --policy-pack` a rule never sees a `dict` or a `list`: props are pulumi_policy's
Mapping and Sequence proxies, and reading a value the engine does not know yet (a first preview: ids,
ARNs, anything another resource computes) raises UnknownValueError. So rules test `Mapping` and
`Sequence`, never `dict` and `list`; a presence check counts an unknown value as set (the engine only
sends one for a value it will compute); and a rule that needs an unknown value lets UnknownValueError
through, which the analyzer reports as "can't run policy … during preview" (advisory).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from pulumi_policy import PolicyResource, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

T = TypeVar("T")

# Every taggable resource carries these (see mlops.plan.build); policies read them.
ENVIRONMENT_TAG = "environment"
PURPOSE_TAG = "mlops-purpose"


def of_type(args: StackValidationArgs, resource_type: str) -> Iterator[PolicyResource]:
    return (r for r in args.resources if r.resource_type == resource_type)


def attached(args: StackValidationArgs, target: PolicyResource, resource_type: str,
             prop: str) -> list[PolicyResource]:
    """Resources of `resource_type` whose `prop` input comes from `target` (by property dependency)."""
    return [r for r in of_type(args, resource_type)
            if any(dep.urn == target.urn for dep in r.property_dependencies.get(prop, []))]


def as_list(value: Any) -> list[Any]:
    """A property that may be one value or a list of them (IAM's Action, Resource …) as a list; None as []."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


def mappings(value: Any) -> list[Mapping[str, Any]]:
    """The maps in a property that holds a list of them (or one); anything else is skipped."""
    return [item for item in as_list(value) if isinstance(item, Mapping)]


def known_items(value: Any) -> list[Any]:
    """The elements of a list property that are known (a preview may leave single elements unknown)."""
    found: list[Any] = []
    sequence = value if isinstance(value, Sequence) and not isinstance(value, str | bytes) else []
    for index in range(len(sequence)):
        try:
            found.append(sequence[index])
        except UnknownValueError:
            continue
    return found


def is_set(props: Mapping[str, Any], key: str) -> bool:
    """Whether a property has a value: a value unknown in a preview counts, the engine computes it later."""
    try:
        return bool(props.get(key))
    except UnknownValueError:
        return True


def plain(value: Any) -> Any:
    """Proxies as plain dicts and lists (e.g. for json.dumps); raises UnknownValueError on an unknown value."""
    if isinstance(value, Mapping):
        return {str(key): plain(value[key]) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(item) for item in value]
    return value


def number(value: Any) -> str:
    """A number for a message: the analyzer hands every number over as a float (a Struct has no integers)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def document(text: Any) -> Mapping[str, Any] | None:
    """A JSON policy document given as text or as a map; None when it is neither."""
    try:
        parsed = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None
    return parsed if isinstance(parsed, Mapping) else None


def labels(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """Tags (AWS, Azure) or labels (GCP) of a resource's inputs (a map; some GCP resources, e.g. metric
    descriptors, have a `labels` list of label definitions instead: no tags)."""
    value = props.get("tags") or props.get("labels") or {}
    return value if isinstance(value, Mapping) else {}


def in_production(props: Mapping[str, Any]) -> bool:
    return labels(props).get(ENVIRONMENT_TAG) == "prod"


def purpose(props: Mapping[str, Any]) -> str | None:
    value = labels(props).get(PURPOSE_TAG)
    return str(value) if value is not None else None


def value_at(props: Mapping[str, Any], *path: str) -> Any:
    """The value at a path of nested property maps, or None where the path breaks off."""
    value: Any = props
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def mapping_at(props: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    """The map at a path of nested property maps; an empty map where there is none."""
    value = value_at(props, *path)
    return value if isinstance(value, Mapping) else {}


def known(props: Mapping[str, Any], key: str, if_unknown: Any = None) -> Any:
    """A property's value (None when missing), or `if_unknown` when it is unknown in a preview. Only for a rule
    whose verdict an unknown value cannot change (say why where it is used)."""
    try:
        return props.get(key)
    except UnknownValueError:
        return if_unknown


def set_at(props: Mapping[str, Any], *path: str) -> bool:
    """Whether the value at a path of nested maps is set (`is_set` at the end of the path)."""
    *parents, last = path
    return is_set(mapping_at(props, *parents), last)


class Unknowns:
    """Lets a stack rule decide every resource it can before it says that it could not decide one.

    Inside `with unknowns.skip():` an UnknownValueError is remembered instead of ending the rule, and
    `settle()` re-raises the first at the end. The analyzer keeps the violations reported before and adds
    its advisory "can't run policy … during preview", instead of losing the whole stack's check.
    """

    def __init__(self) -> None:
        self._first: UnknownValueError | None = None

    @contextmanager
    def skip(self) -> Iterator[None]:
        try:
            yield
        except UnknownValueError as error:
            self._first = self._first or error

    def read(self, default: T, reader: Callable[..., T], *args: Any) -> T:
        """`reader(*args)`, or `default` (remembered as undecided) when it reads an unknown value."""
        try:
            return reader(*args)
        except UnknownValueError as error:
            self._first = self._first or error
            return default

    def settle(self) -> None:
        if self._first is not None:
            raise self._first
