"""Small helpers that keep policy rules short: finding resources and what attaches to them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, StackValidationArgs

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
