"""SageMaker requests checked against botocore's service model: what the cloud itself would accept.

A SageMaker pipeline step's `Arguments` are the request its service call sends (a Processing step's are a
CreateProcessingJob request without the job name, which the pipeline adds). SageMaker parses them when the
step runs — after `pulumi up` succeeded — so a value over a length limit fails the first training run, not
the deployment. `problems(definition)` walks every such step against the operation's input shape: required
members, unknown members, types, enums, lengths, ranges and patterns. Values that are pipeline expressions
(`{"Get": "Parameters.X"}`) take the parameter's default; values only known at run time (`Steps.…`) are
skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

STEP_OPERATIONS = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "Tuning": ("CreateHyperParameterTuningJob", "HyperParameterTuningJobName"),
    "Transform": ("CreateTransformJob", "TransformJobName"),
    # RegisterModel's Arguments are a CreateModelPackage request; its "name" (the versioned package's
    # group) is among the Arguments already, so the placeholder never reaches the check.
    "RegisterModel": ("CreateModelPackage", "ModelPackageGroupName"),
}
"""Pipeline step type → the SageMaker operation its Arguments are the request of, and the name it adds."""

UNKNOWN = object()
"""A value only the running pipeline knows."""

_MOCK_ROLE = re.compile(r"^arn:mock:aws:iam/role:Role:(.+)$")


@cache
def operation(name: str) -> OperationModel:
    return botocore.session.get_session().get_service_model("sagemaker").operation_model(name)


def _resolve(value: Any, parameters: dict[str, Any], computed: frozenset[str]) -> Any:
    """Pipeline expressions → what SageMaker would see: a parameter's default, or UNKNOWN for step outputs and
    for the mocks' stand-ins of ids the cloud assigns (`computed`)."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            ref = str(value["Get"])
            return parameters.get(ref.removeprefix("Parameters."), UNKNOWN) if ref.startswith("Parameters.") \
                else UNKNOWN
        if any(key.startswith("Std:") for key in value):
            return UNKNOWN
        return {k: _resolve(v, parameters, computed) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, parameters, computed) for v in value]
    if isinstance(value, str):
        if value in computed:
            return UNKNOWN
        # The mocks' ARNs stand for the real ones the engine would fill in; give IAM roles their real shape.
        role = _MOCK_ROLE.match(value)
        return f"arn:aws:iam::123456789012:role/{role.group(1)}" if role else value
    return value


def _pattern(shape: Shape) -> re.Pattern[str] | None:
    text = shape.metadata.get("pattern")
    if not text:
        return None
    try:
        return re.compile(text, re.DOTALL)
    except re.error:  # a Java-only construct: the other checks still apply
        return None


def walk(shape: Shape, value: Any, path: str) -> Iterator[str]:
    """Every way `value` breaks `shape` (path-prefixed messages)."""
    if value is UNKNOWN:
        return
    meta = shape.metadata
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            yield f"{path}: expected a structure, got {type(value).__name__}"
            return
        for required in shape.required_members:
            if required not in value:
                yield f"{path}.{required}: required by {shape.name}"
        for key, member in value.items():
            if key not in shape.members:
                yield f"{path}.{key}: not a member of {shape.name}"
            else:
                yield from walk(shape.members[key], member, f"{path}.{key}")
        return
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            yield f"{path}: expected a list, got {type(value).__name__}"
            return
        yield from _bounds(meta, len(value), path, "items")
        for i, item in enumerate(value):
            yield from walk(shape.member, item, f"{path}[{i}]")
        return
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            yield f"{path}: expected a map, got {type(value).__name__}"
            return
        yield from _bounds(meta, len(value), path, "entries")
        for key, item in value.items():
            yield from walk(shape.key, key, f"{path}<key {key!r}>")
            yield from walk(shape.value, item, f"{path}[{key!r}]")
        return
    yield from _scalar(shape, value, path)


def _bounds(meta: dict[str, Any], size: int | float, path: str, unit: str) -> Iterator[str]:
    if "min" in meta and size < meta["min"]:
        yield f"{path}: {size:g} {unit}, at least {meta['min']} allowed"
    if "max" in meta and size > meta["max"]:
        yield f"{path}: {size:g} {unit}, at most {meta['max']} allowed"


def _scalar(shape: Shape, value: Any, path: str) -> Iterator[str]:
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            yield f"{path}: expected a string, got {value!r}"
            return
        if shape.enum and value not in shape.enum:
            yield f"{path}: {value!r} is not one of {shape.name}'s values"
        yield from _bounds(shape.metadata, len(value), path, "characters")
        pattern = _pattern(shape)
        if pattern is not None and not pattern.fullmatch(value) and not pattern.search(value):
            yield f"{path}: {value[:60]!r} does not match {shape.name}'s pattern {pattern.pattern[:80]}"
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
            yield f"{path}: expected an integer, got {value!r}"
        else:
            yield from _bounds(shape.metadata, value, path, "")
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            yield f"{path}: expected a number, got {value!r}"
        else:
            yield from _bounds(shape.metadata, value, path, "")
    elif kind == "boolean" and not isinstance(value, bool):
        yield f"{path}: expected a boolean, got {value!r}"


def problems(definition: str | dict[str, Any], computed: frozenset[str] = frozenset()) -> list[str]:
    """Every way the pipeline definition's service-call steps break the SageMaker API (empty when none).

    `computed`: values the engine fills in at deployment (under the mocks, `<resource name>-id`)."""
    doc = json.loads(definition) if isinstance(definition, str) else definition
    parameters = {p["Name"]: p.get("DefaultValue", UNKNOWN) for p in doc.get("Parameters", [])}
    found: list[str] = []
    for step in doc.get("Steps", []):
        if step.get("Type") not in STEP_OPERATIONS:
            continue
        name, job_name = STEP_OPERATIONS[step["Type"]]
        request = {job_name: "placeholder-job-name", **_resolve(step.get("Arguments") or {}, parameters, computed)}
        found += walk(operation(name).input_shape, request, f"{step['Name']} ({name})")
    return found


def pipeline_problems(resources: Any) -> list[str]:
    """The problems of every SageMaker pipeline of a synthesized stack (`SynthResult.resources`)."""
    computed = frozenset(f"{r.name}-id" for r in resources)
    return [f"{r.name}: {p}" for r in resources if r.type == "aws:sagemaker/pipeline:Pipeline"
            for p in problems(r.inputs["pipelineDefinition"], computed)]
