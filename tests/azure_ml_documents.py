"""Azure ML documents checked strictly with azure-ai-ml (1.35.2): what Azure ML itself would accept and run.

Azure ML parses a component spec when the ComponentVersion is created, but a pipeline job only when a
schedule (or a trigger) submits it — after `pulumi up` succeeded — so a broken node fails the first
training run, not the deployment. The SDK's own checks are lenient: its marshmallow schemas drop unknown
top-level keys of a component with a warning, a pipeline job read from its REST body keeps unknown node
keys as "arbitrary attributes", and nodes that refer to components by id are never checked against them.
This module makes every one of those a problem:

- component specs: loaded with the SDK's `CommandComponentSchema` with unknown fields RAISEd (nested
  input/output schemas already raise), then `load_component(...)._validate()` (command bindings to
  inputs or outputs the component does not declare);
- pipeline jobs: parsed as the service's REST `JobBase` by the SDK; every node attribute the SDK does not
  know is a problem (`_get_attrs()`), and so is any value the SDK drops or rewrites on the round trip back
  to REST (unknown keys inside inputs, outputs, limits …);
- bindings (`${{parent.inputs.X}}`, `${{parent.jobs.J.outputs.O}}`) must point to a pipeline input or to
  an output that the component of node J declares, node inputs and outputs must be declared by the node's
  component, required component inputs must be bound, and types must match: the component's declared
  types as the SDK parsed them, against the pipeline input's type (a literal must parse as the number,
  integer or boolean the input wants) or the upstream component's output type (`uri_folder` ≠
  `mlflow_model`).

- command jobs (the platform's own scheduled jobs): parsed, validated and round-tripped by the SDK the same way.

`graph_problems(resources)` runs all of it over a synthesized graph: every ComponentVersion, every
pipeline job a Schedule's CreateJob action or a retraining workflow submits (its nodes resolved to the
recorded components), every scheduled command job, and `image_problems` (nothing runs a moving image).
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, cast

import yaml

from mlops.synth.recorder import Recorded

COMPONENT = "azure-native:machinelearningservices:ComponentVersion"
SCHEDULE = "azure-native:machinelearningservices:Schedule"
BINDING = re.compile(r"^\$\{\{(.+)\}\}$")
PARENT_INPUT = re.compile(r"^parent\.inputs\.([A-Za-z_][\w]*)$")
JOB_OUTPUT = re.compile(r"^parent\.jobs\.([A-Za-z_][\w]*)\.outputs\.([A-Za-z_][\w]*)$")
PRIMITIVES = {"string", "number", "integer", "boolean"}
# What the SDK adds on a REST round trip without it being in the document: not a difference.
ROUND_TRIP_MARKERS = {"_source"}


@contextmanager
def _quiet() -> Iterator[None]:
    """azure-ai-ml warns about experimental classes and marshmallow on every load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --------------------------------------------------------------------------- components


def load_component_strictly(spec: dict[str, Any]) -> tuple[Any, list[str]]:
    """The SDK's component object of a spec and every problem the SDK finds in it, unknown keys included."""
    return _load_component(json.dumps(spec, sort_keys=True))


@cache
def _load_component(text: str) -> tuple[Any, list[str]]:
    """One load per distinct spec (loading is slow; the examples and the matrix share most specs)."""
    spec = json.loads(text)
    from azure.ai.ml import load_component
    from azure.ai.ml._schema.component.command_component import CommandComponentSchema
    from azure.ai.ml.constants._common import BASE_PATH_CONTEXT_KEY
    from marshmallow import RAISE, ValidationError

    name = spec.get("name", "?")
    with _quiet():
        try:
            CommandComponentSchema(context={BASE_PATH_CONTEXT_KEY: "."}).load(json.loads(text), unknown=RAISE)
        except ValidationError as error:
            return None, [f"component {name}: {error.messages}"]
        try:
            component = load_component(source=io.StringIO(yaml.safe_dump(spec)))
        except Exception as error:  # the SDK raises its own and marshmallow's errors
            return None, [f"component {name}: {error}"]
        result = component._validate()
        if not result.passed:
            return component, [f"component {name}: {result.error_messages}"]
        return component, []


def _types(ports: Any) -> dict[str, tuple[str, bool]]:
    """name → (type, optional) of a component's inputs or outputs, as the SDK parsed them."""
    return {name: (str(port.type), bool(getattr(port, "optional", False) or False)) for name, port in ports.items()}


# --------------------------------------------------------------------------- pipeline jobs


def _differences(ours: Any, back: Any, path: str) -> Iterator[str]:
    """Where the SDK's REST dump of the job differs from what we wrote (dropped or rewritten values)."""
    if isinstance(ours, dict):
        if not isinstance(back, dict):
            yield f"{path}: the SDK read {back!r}"
            return
        for key, value in ours.items():
            if key not in back:
                yield f"{path}.{key}: unknown to the SDK (dropped on the round trip)"
            else:
                yield from _differences(value, back[key], f"{path}.{key}")
    elif isinstance(ours, list):
        if not isinstance(back, list) or len(back) != len(ours):
            yield f"{path}: the SDK read {back!r}"
            return
        for n, (a, b) in enumerate(zip(ours, back, strict=True)):
            yield from _differences(a, b, f"{path}[{n}]")
    elif isinstance(ours, str) and isinstance(back, str) and ours.rsplit("/", 1)[-1] == back and "/computes/" in ours:
        return  # the SDK shortens compute ids to names
    elif ours != back and not (isinstance(ours, int | float) and isinstance(back, int | float) and ours == back):
        yield f"{path}: the SDK read {back!r} for {ours!r}"


def _parse_job(body: dict[str, Any]) -> tuple[Any, list[str]]:
    from azure.ai.ml._restclient.arm_ml_service.models import JobBase
    from azure.ai.ml.entities import PipelineJob

    with _quiet():
        try:
            rest = JobBase({"properties": json.loads(json.dumps(body))})
            job = cast(PipelineJob, PipelineJob._from_rest_object(rest))
            result = job._validate()
            back = job._to_rest_object().as_dict()["properties"]
        except Exception as error:  # the SDK's parse or dump failed: the service would refuse the body too
            return None, [f"pipeline job: {error}"]
    problems: list[str] = [] if result.passed else [f"pipeline job: {result.error_messages}"]
    for name, node in job.jobs.items():
        unknown = {k: v for k, v in node._get_attrs().items() if k not in ROUND_TRIP_MARKERS}
        if unknown:
            problems.append(f"jobs.{name}: attributes the SDK does not know: {sorted(unknown)}")
    problems += list(_differences(json.loads(json.dumps(body)), _strip(back), "job"))
    return job, problems


def command_job_problems(body: dict[str, Any]) -> list[str]:
    """A command job body (what the platform's own schedules submit): parsed by the SDK as the service's REST
    `JobBase`, validated, and compared with the SDK's REST dump (keys it does not know are dropped there)."""
    from azure.ai.ml._restclient.arm_ml_service.models import JobBase
    from azure.ai.ml.entities import Job

    with _quiet():
        try:
            node: Any = Job._from_rest_object(JobBase({"properties": json.loads(json.dumps(body))}))
            job = node._to_job()
            result = job._validate()
            back = job._to_rest_object().as_dict()["properties"]
        except Exception as error:  # the SDK's parse or dump failed: the service would refuse the body too
            return [f"command job: {error}"]
    # CommandJob._validate raises on a problem (caught above); some SDK versions return a result instead.
    problems = [] if result is None or result.passed else [f"command job: {result.error_messages}"]
    return problems + list(_differences(json.loads(json.dumps(body)), _strip(back), "job"))


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in ROUND_TRIP_MARKERS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _literal_fits(value: Any, wanted: str) -> bool:
    text = str(value)
    if wanted == "string":
        return True
    if wanted == "boolean":
        return text.lower() in ("true", "false")
    try:
        number = float(text)
    except ValueError:
        return False
    return wanted == "number" or (wanted == "integer" and number.is_integer())


def _source_fits(source: str, wanted: str) -> bool:
    """May a value of type `source` feed an input of type `wanted`? Assets only their own type."""
    if wanted in PRIMITIVES or source in PRIMITIVES:
        return source == wanted or (source, wanted) in {("integer", "number"), ("literal", "string")}
    return source == wanted


def _binding_problems(where: str, value: Any, wanted: str, parent_inputs: dict[str, dict[str, Any]],
                      outputs_of: dict[str, dict[str, tuple[str, bool]]]) -> Iterator[str]:
    match = BINDING.match(str(value))
    if match is None:
        if wanted not in PRIMITIVES:
            yield f"{where}: a literal {value!r} for an input of type {wanted}"
        elif not _literal_fits(value, wanted):
            yield f"{where}: literal {value!r} is not a {wanted}"
        return
    expression = match.group(1).strip()
    if parent := PARENT_INPUT.match(expression):
        name = parent.group(1)
        if name not in parent_inputs:
            yield f"{where}: binds parent input {name!r}, which the pipeline does not have ({sorted(parent_inputs)})"
            return
        declared = parent_inputs[name]
        kind = str(declared.get("jobInputType"))
        if kind == "literal":
            if wanted not in PRIMITIVES:
                yield f"{where}: literal pipeline input {name!r} bound to an input of type {wanted}"
            elif not _literal_fits(declared.get("value"), wanted):
                yield f"{where}: pipeline input {name!r} = {declared.get('value')!r} is not a {wanted}"
        elif not _source_fits(kind, wanted):
            yield f"{where}: pipeline input {name!r} of type {kind} bound to an input of type {wanted}"
        return
    if upstream := JOB_OUTPUT.match(expression):
        job, output = upstream.groups()
        if job not in outputs_of:
            yield f"{where}: binds node {job!r}, which the pipeline does not have ({sorted(outputs_of)})"
        elif output not in outputs_of[job]:
            yield f"{where}: binds output {output!r} of {job}, which declares {sorted(outputs_of[job])}"
        elif not _source_fits(outputs_of[job][output][0], wanted):
            kind = outputs_of[job][output][0]
            yield f"{where}: output {job}.{output} of type {kind} bound to an input of type {wanted}"
        return
    yield f"{where}: binding {expression!r} is neither a pipeline input nor a node output"


def job_problems(body: dict[str, Any], components: dict[str, dict[str, Any]]) -> list[str]:
    """Every problem of a pipeline job body whose nodes run the given component specs (by component id)."""
    _, problems = _parse_job(body)
    loaded: dict[str, Any] = {}
    for component_id, spec in components.items():
        component, found = load_component_strictly(spec)
        problems += found
        if component is not None:
            loaded[component_id] = component
    jobs = cast(dict[str, dict[str, Any]], body.get("jobs") or {})
    parent_inputs = cast(dict[str, dict[str, Any]], body.get("inputs") or {})
    component_of: dict[str, Any] = {}
    for name, node in jobs.items():
        component_id = node.get("componentId") or (node.get("trial") or {}).get("componentId")
        if component_id not in loaded:
            problems.append(f"jobs.{name}: runs {component_id!r}, which is not a component of this graph")
        else:
            component_of[name] = loaded[component_id]
    outputs_of = {name: _types(c.outputs) for name, c in component_of.items()}
    for name, component in component_of.items():
        node = jobs[name]
        inputs, outputs = _types(component.inputs), outputs_of[name]
        searched = set((node.get("search_space") or {}) if node.get("type") == "sweep" else ())
        bound = cast(dict[str, dict[str, Any]], node.get("inputs") or {})
        for key, value in bound.items():
            if key not in inputs:
                problems.append(f"jobs.{name}.inputs.{key}: not an input of {component.name} ({sorted(inputs)})")
                continue
            problems += _binding_problems(f"jobs.{name}.inputs.{key}", value.get("value", value.get("uri")),
                                          inputs[key][0], parent_inputs, outputs_of)
        for key in sorted(searched):
            if key not in inputs:
                problems.append(f"jobs.{name}.search_space.{key}: not an input of {component.name}")
            elif inputs[key][0] not in ("number", "integer"):
                problems.append(f"jobs.{name}.search_space.{key}: searched, but the input is a {inputs[key][0]}")
        missing = sorted(k for k, (_, optional) in inputs.items()
                         if not optional and k not in bound and k not in searched)
        if missing:
            problems.append(f"jobs.{name}: required inputs of {component.name} left unbound: {missing}")
        for key, value in cast(dict[str, dict[str, Any]], node.get("outputs") or {}).items():
            if key not in outputs:
                problems.append(f"jobs.{name}.outputs.{key}: not an output of {component.name} ({sorted(outputs)})")
            elif value.get("job_output_type") != outputs[key][0]:
                problems.append(f"jobs.{name}.outputs.{key}: {value.get('job_output_type')} where the component "
                                f"declares {outputs[key][0]}")
    return problems


# --------------------------------------------------------------------------- the synthesized graph


def _component_id(record: Recorded, workspace: str) -> str:
    return f"{workspace}/components/{record.inputs['name']}/versions/{record.inputs['version']}"


WORKFLOW = "azure-native:logic:Workflow"
WORKFLOW_JOB = ("definition", "actions", "route", "else", "actions", "submit", "inputs", "body", "properties")
"""Where a retraining workflow (Logic App) holds the pipeline job it PUTs (components.azure.retraining_workflow)."""


def submitted_jobs(resources: Iterable[Recorded], job_type: str) -> Iterator[tuple[Recorded, dict[str, Any]]]:
    """Every job of `job_type` (Pipeline, Command) that a schedule or a retraining workflow submits."""
    for record in resources:
        job: Any = None
        if record.type == SCHEDULE:
            action = (record.inputs.get("properties") or {}).get("action") or {}
            job = action.get("jobDefinition") if action.get("actionType") == "CreateJob" else None
        elif record.type == WORKFLOW:
            job = record.inputs
            for key in WORKFLOW_JOB:
                job = job.get(key) if isinstance(job, dict) else None
        if isinstance(job, dict) and job.get("jobType") == job_type:
            yield record, job


def pipeline_jobs(resources: Iterable[Recorded]) -> Iterator[tuple[Recorded, dict[str, Any]]]:
    """Every pipeline job a schedule or a retraining workflow submits, with what holds it."""
    return submitted_jobs(resources, "Pipeline")


ENVIRONMENT = "azure-native:machinelearningservices:EnvironmentVersion"
DEPLOYMENTS = ("azure-native:machinelearningservices:OnlineDeployment",
               "azure-native:machinelearningservices:BatchDeployment")
_MOVING = re.compile(r":latest$|/labels/[^/]+$")
"""An image tag `latest` or an Azure ML asset label (`…/labels/latest`): a name whose content moves."""


def image_problems(resources: list[Recorded]) -> list[str]:
    """Every image and environment a graph runs is pinned (exact tag or version), and deployments serve on the
    model's own logged environment (no environment of theirs: training and serving versions then match)."""
    problems: list[str] = []
    for record in resources:
        properties = record.inputs.get("properties") or {}
        if record.type == ENVIRONMENT and _MOVING.search(str(properties.get("image"))):
            problems.append(f"{record.name}: image {properties.get('image')} is not pinned")
        if record.type == COMPONENT and _MOVING.search(str((properties.get("componentSpec") or {}).get("environment"))):
            problems.append(f"{record.name}: component environment is not pinned")
        if record.type == SCHEDULE:
            job = (properties.get("action") or {}).get("jobDefinition") or {}
            if _MOVING.search(str(job.get("environmentId"))):
                problems.append(f"{record.name}: job environment {job.get('environmentId')} is not pinned")
        if record.type in DEPLOYMENTS and ("environmentId" in properties or "codeConfiguration" in properties):
            problems.append(f"{record.name}: serves with its own environment, not the model's logged one")
    return problems


def graph_problems(resources: list[Recorded]) -> list[str]:
    """Every ComponentVersion and every scheduled pipeline job of a synthesized graph, checked strictly,
    and every image pinned (`image_problems`)."""
    problems: list[str] = image_problems(resources)
    specs: dict[tuple[str, str], dict[str, Any]] = {}
    for record in resources:
        if record.type == COMPONENT:
            spec = record.inputs["properties"]["componentSpec"]
            specs[(str(record.inputs["name"]), str(record.inputs["version"]))] = spec
            problems += [f"{record.name}: {p}" for p in load_component_strictly(spec)[1]]
    for schedule, job in pipeline_jobs(resources):
        by_id: dict[str, dict[str, Any]] = {}
        for node in (job.get("jobs") or {}).values():
            component_id = str(node.get("componentId") or (node.get("trial") or {}).get("componentId"))
            name, version = component_id.split("/components/")[-1].split("/versions/")
            if (name, version) in specs:
                by_id[component_id] = specs[(name, version)]
        problems += [f"{schedule.name}: {p}" for p in job_problems(job, by_id)
                     if not p.startswith("component ")]  # each component is reported once, above
    for schedule, job in submitted_jobs(resources, "Command"):
        problems += [f"{schedule.name}: {p}" for p in command_job_problems(job)]
    return problems
