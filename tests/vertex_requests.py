"""Vertex AI request bodies parsed by the official `google.cloud.aiplatform_v1` protobuf messages.

Vertex parses a job body when the job starts (a pipeline step, a scheduled batch job, a workflow step),
after `pulumi up` succeeded: a misspelt field, a string where Vertex wants a number or a wrong enum fails
the first run. `parse(message, body)` parses a body exactly as the REST front end does, with
`json_format.ParseDict(..., ignore_unknown_fields=False)` into the message's protobuf class.

Values filled in at run time become a value of the field's type first: a Cloud Workflows expression
(`${...}`) in a non-string field (a number, a map, a message, a Struct), and KFP placeholders
(`{{$.inputs.parameters['x']}}`) are replaced by the pipeline parameter's default (others stay text in
string fields, which is what they are).

`graph_problems(result)` finds every Vertex body in a synthesized graph:

- the training pipeline spec of every trained model (the launchers' `--payload`: CustomJob or
  HyperparameterTuningJob), from the retraining schedule where it is in the clear, else built by
  `pipeline_spec` from the plan with the graph's project, key, buckets and network (the stored
  object's content is a secret in the graph);
- colab.Schedule's CreatePipelineJobRequest.pipelineJob and the retraining workflow's run: PipelineJob;
- the batch Cloud Scheduler job's body: BatchPredictionJob;
- the deployer workflow: DeployModelRequest (deploy), Endpoint (traffic patch), UndeployModelRequest,
  ModelDeploymentMonitoringJob (the monitor it recreates);
- the promotion workflow's alias move: MergeVersionAliasesRequest.

and, anywhere in the graph's inputs (base64 request bodies decoded), a reference to a `:latest` tag: every
image is pinned, by digest (Google's prebuilt images, looked up at deploy time by their `latest` tag — an
invoke, never an input of a resource) or by the tag `mlops:imageTags` gives a model (the team's own).
"""

from __future__ import annotations

import base64
import json
import re
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # google.api_core's notice about Python 3.11's end of life
    from google.cloud.aiplatform_v1 import types as v1

EXPRESSION = re.compile(r"^\$\{.*\}$", re.DOTALL)
KFP_PARAMETER = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")
_LITERAL = re.compile(r'^\$\{json\.decode\(base64\.decode\("([A-Za-z0-9+/=]*)"\)\)\}$')

MESSAGES: dict[str, Any] = {
    "CustomJob": v1.CustomJob, "HyperparameterTuningJob": v1.HyperparameterTuningJob,
    "PipelineJob": v1.PipelineJob, "BatchPredictionJob": v1.BatchPredictionJob,
    "ModelDeploymentMonitoringJob": v1.ModelDeploymentMonitoringJob, "DeployModelRequest": v1.DeployModelRequest,
    "UndeployModelRequest": v1.UndeployModelRequest, "Endpoint": v1.Endpoint, "DeployedModel": v1.DeployedModel,
    "MergeVersionAliasesRequest": v1.MergeVersionAliasesRequest,
}
"""The Vertex messages the GCP back end sends, by name."""

_STRUCT = ("google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue")


def _typed(field: FieldDescriptor) -> Any:
    """A run-time value's stand-in of the field's type (a map or list field gets an empty one)."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return {}
    if field.label == FieldDescriptor.LABEL_REPEATED:
        return []
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        name = field.message_type.full_name
        if name == "google.protobuf.Duration":
            return "1s"
        if name == "google.protobuf.Timestamp":
            return "2026-01-01T00:00:00Z"
        if name.startswith("google.protobuf.") and name.endswith("Value") and name not in _STRUCT:
            return 0 if "Int" in name or name.endswith(("DoubleValue", "FloatValue")) else ""
        return {}
    if field.type == FieldDescriptor.TYPE_BOOL:
        return False
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values[0].name
    if field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
        return "runtime"
    return 1


def _filled(value: Any, descriptor: Descriptor) -> Any:
    """`value` with every run-time expression in a non-string field replaced by a value of that field's type."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        field = descriptor.fields_by_camelcase_name.get(key) or descriptor.fields_by_name.get(key)
        if field is None:
            out[key] = item  # unknown: left for ParseDict to refuse
            continue
        runtime = isinstance(item, str) and EXPRESSION.match(item) is not None
        literal = _LITERAL.match(item) if isinstance(item, str) else None
        if literal:  # blueprint text kept inert in a workflow (components/gcp/workflow_literal.py)
            item = json.loads(base64.b64decode(literal.group(1)).decode("utf-8"))
            runtime = False
        if runtime and field.type != FieldDescriptor.TYPE_STRING:
            out[key] = _typed(field)
            continue
        message = field.message_type
        if message is None or message.full_name in _STRUCT:
            out[key] = item
        elif message.GetOptions().map_entry:
            entry = message.fields_by_name["value"]
            out[key] = {k: _filled(v, entry.message_type) if entry.message_type else v
                        for k, v in item.items()} if isinstance(item, dict) else item
        elif field.label == FieldDescriptor.LABEL_REPEATED and isinstance(item, list):
            out[key] = [_filled(v, message) for v in item]
        else:
            out[key] = _filled(item, message)
    return out


def parse(message: str, body: Any) -> list[str]:
    """What the official message refuses in `body`, and what Vertex's documented rules on a parsed body refuse
    (`constraints`); empty when Vertex would accept it."""
    cls = MESSAGES[message]
    pb = cls.pb()()  # the protobuf class behind the proto-plus one
    try:
        json_format.ParseDict(_filled(body, pb.DESCRIPTOR), pb, ignore_unknown_fields=False)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        return [f"{message}: {exc}"]
    return [f"{message}: {p}" for p in constraints(body)]


def constraints(body: Any, path: str = "") -> list[str]:
    """Vertex's rules that the message types cannot state, wherever they apply in a body:

    - a CustomJobSpec's first worker pool is the primary replica: exactly one (Vertex "Distributed training");
    - an accelerator-optimized machine (A2, A3, A4, G2) runs with the GPUs it is built with, named in its
      MachineSpec (Compute Engine "GPU machine types"; mlops/clouds/gcp_machines.py keeps the dated table).
    """
    from mlops.clouds.gcp_machines import GPU_FAMILIES, gpu_of

    found: list[str] = []
    if isinstance(body, list):
        for i, item in enumerate(body):
            found += constraints(item, f"{path}[{i}]")
        return found
    if not isinstance(body, dict):
        return found
    pools = body.get("workerPoolSpecs")
    if isinstance(pools, list) and pools and str(pools[0].get("replicaCount", "1")) != "1":
        found.append(f"{path}.workerPoolSpecs[0].replicaCount: the primary replica pool takes 1, not "
                     f"{pools[0].get('replicaCount')}")
    machine = body.get("machineType")
    if isinstance(machine, str) and GPU_FAMILIES.match(machine):
        want = gpu_of(machine)
        got = (body.get("acceleratorType"), int(body.get("acceleratorCount") or 0))
        if want is None or got != want:
            found.append(f"{path}: {machine} runs with {want or 'GPUs this table does not know'}, the spec names {got}")
    for key, item in body.items():
        found += constraints(item, f"{path}.{key}")
    return found


# --------------------------------------------------------------------------- documents in a graph


def _parameters(spec: Mapping[str, Any]) -> dict[str, Any]:
    defined = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    return {name: p.get("defaultValue") for name, p in defined.items()}


def spec_jobs(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(executor, message, body) of each Vertex job a pipeline spec's launchers submit."""
    defaults = _parameters(spec)
    for name, executor in spec.get("deploymentSpec", {}).get("executors", {}).items():
        args = executor.get("container", {}).get("args", [])
        if "--payload" not in args or "--type" not in args:
            continue
        payload = KFP_PARAMETER.sub(lambda m: str(defaults.get(m.group(1), m.group(0))),
                                    args[args.index("--payload") + 1])
        yield name, args[args.index("--type") + 1], json.loads(payload)


def spec_problems(spec: Mapping[str, Any], where: str) -> list[str]:
    return [f"{where} {executor}: {p}" for executor, message, body in spec_jobs(spec) for p in parse(message, body)]


def _steps(routine: Any) -> dict[str, Any]:
    steps = routine.get("steps") if isinstance(routine, Mapping) else None
    found: dict[str, Any] = {}
    for step in steps or []:
        for name, body in step.items():
            found[name] = body
            for case in (body.get("switch") or []) if isinstance(body, Mapping) else []:
                found.update(_steps(case))
            if isinstance(body, Mapping) and isinstance(body.get("for"), Mapping):
                found.update(_steps(body["for"]))
    return found


def workflow_bodies(source: str) -> Iterator[tuple[str, str, Any]]:
    """(step, message, body) of every Vertex call in a Cloud Workflows program."""
    program = yaml.safe_load(source)
    if not isinstance(program, Mapping):
        return
    for routine_name, routine in program.items():
        for step, body in _steps(routine).items():
            if not isinstance(body, Mapping):
                continue
            call, args = str(body.get("call", "")), body.get("args") or {}
            where = f"{routine_name}.{step}"
            if call.endswith("endpoints.deployModel"):
                yield where, "DeployModelRequest", {"endpoint": "runtime", **args["body"]}
            elif call.endswith("endpoints.undeployModel"):
                yield where, "UndeployModelRequest", {"endpoint": "runtime", **args["body"]}
            elif call.endswith("endpoints.patch"):
                yield where, "Endpoint", args["body"]
            elif call.endswith("modelDeploymentMonitoringJobs.create"):
                continue  # the body is the `job` argument, checked at the `monitor` call
            elif call == "replace_monitoring_job":
                yield where, "ModelDeploymentMonitoringJob", args["job"]
            elif call == "http.post" and str(args.get("url", "")).endswith("/pipelineJobs"):
                yield where, "PipelineJob", args["body"]
            elif call == "http.post" and ":mergeVersionAliases" in str(args.get("url", "")):
                yield where, "MergeVersionAliasesRequest", {"name": "runtime", **args["body"]}


def spec_images(spec: Mapping[str, Any]) -> list[str]:
    """Every image a pipeline spec names: each executor's container, the serving image the register step uploads
    versions with (`--serving-image`), and the containers of the jobs the launchers submit (their payloads)."""
    images: list[str] = []
    for executor in spec.get("deploymentSpec", {}).get("executors", {}).values():
        container = executor.get("container", {})
        images.append(container["image"])
        args = container.get("args", [])
        if "--serving-image" in args:
            images.append(args[args.index("--serving-image") + 1])
    for _, _, job in spec_jobs(spec):
        job_spec = job.get("jobSpec") or job.get("trialJobSpec") or {}
        images += [p["containerSpec"]["imageUri"] for p in job_spec.get("workerPoolSpecs", [])]
    return images


def image_problems(spec: Mapping[str, Any], where: str) -> list[str]:
    """Images of a pipeline spec that are not pinned (a tag `latest`, one of Google's prebuilt images without its
    digest, or no tag or digest at all), and a model whose prebuilt training and prediction images are of two
    framework versions."""
    images = spec_images(spec)
    found = [f"{where}: {i} is not pinned" for i in sorted(set(images))
             if ("/vertex-ai/" in i and "@sha256:" not in i) or ("@" not in i and ":" not in i.rsplit("/", 1)[-1])
             or _MOVING.search(i)]
    versions = {i.split("/")[-2]: re.search(r"\.(\d+-\d+)", i.rsplit("/", 1)[-1])
                for i in images if "/vertex-ai/" in i}
    kinds = {kind: match.group(1) for kind, match in versions.items() if match}
    if len(set(kinds.values())) > 1:
        found.append(f"{where}: trains and serves with two framework versions {kinds}")
    return found


_MOVING = re.compile(r":latest\b")
"""A reference to the tag `latest`: an image that moves with every push."""


def _texts(value: Any, key: str = "") -> Iterator[str]:
    """Every string in an input value, and the text of base64 request bodies (Cloud Scheduler's `body`)."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _texts(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v, key)
    elif isinstance(value, str):
        yield value
        decoded = _base64_text(value) if key == "body" else None
        if decoded is not None:
            yield decoded


def _base64_text(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode()
    except ValueError:  # not base64, or not text
        return None


def latest_references(resources: Any) -> list[str]:
    """Every resource whose inputs name a `:latest` tag anywhere (in a spec, a workflow, a request body)."""
    return [f"{r.type} {r.name}: {match.group(0)!r} in …{text[max(0, match.start() - 80):match.end()]}"
            for r in resources for text in _texts(r.inputs) for match in [_MOVING.search(text)] if match]


def graph_problems(result: Any) -> list[str]:
    """Every Vertex body of a synthesized stack that the official messages refuse, unpinned images, and any
    `:latest` anywhere in the graph."""
    from components.gcp import pipeline_spec as spec_module

    problems: list[str] = latest_references(result.resources)
    in_clear: dict[str, dict[str, Any]] = {}
    for r in result.resources:
        where = f"{r.type} {r.name}"
        if r.type == "gcp:colab/schedule:Schedule":
            job = dict(r.inputs["createPipelineJobRequest"]["pipelineJob"])
            spec = json.loads(job["pipelineSpec"])
            in_clear[r.name.removesuffix("-retraining-schedule")] = spec
            problems += [f"{where}: {p}" for p in parse("PipelineJob", {**job, "pipelineSpec": spec})]
            problems += spec_problems(spec, where) + image_problems(spec, where)
        elif r.type == "gcp:cloudscheduler/job:Job" and r.name.endswith("-batch-schedule"):
            body = json.loads(base64.b64decode(r.inputs["httpTarget"]["body"]))
            problems += [f"{where}: {p}" for p in parse("BatchPredictionJob", body)]
        elif r.type == "gcp:workflows/workflow:Workflow":
            for step, message, body in workflow_bodies(r.inputs["sourceContents"]):
                problems += [f"{where} {step}: {p}" for p in parse(message, body)]
    plan = result.plan
    for model in plan.models:
        base = f"{plan.prefix}-{model.name}"
        if model.training is None or base in in_clear:
            continue
        spec = spec_module.pipeline_spec(plan, model, _context(result, base, model))
        where = f"{base} training spec (built from the plan)"
        problems += spec_problems(spec, where) + image_problems(spec, where)
    return problems


def _context(result: Any, base: str, model: Any) -> Any:
    """The spec's context as the training component resolves it, read from the graph (the strings do not change
    which fields and types the messages accept; the network is the one the graph's pipeline jobs name)."""
    from components.gcp import pipeline_spec as spec_module
    from components.gcp.names import experiment_context, model_id
    from components.image_tags import QUALIFIED, parse_image_tags

    plan = result.plan
    # The tag the program gives the team's own images: the stack setting synth ran with, read as it reads it.
    setting = result.config.get(QUALIFIED)
    tags = parse_image_tags(json.loads(setting) if setting else {},
                            [m.name for m in spec_module.own_image_models(plan)], runs=spec_module.OWN_IMAGE_MODELS)
    by_name = {r.name: r for r in result.resources}
    spec_object = by_name[f"{base}-training-spec"].inputs
    account = by_name[f"{plan.prefix}-identities-pipelines"].inputs
    project = plan.account or "default-project"
    networks = {str(job["network"]) for job in _pipeline_jobs(result) if job.get("network")}
    tracked = f"{plan.prefix}-tracking-tensorboard" in by_name
    return spec_module.SpecContext(
        project=project, kms_key=str(spec_object["kmsKeyName"]),
        service_account=f"{account['accountId']}@{project}.iam.gserviceaccount.com",
        data_bucket=str(by_name[f"{plan.prefix}-foundation-data-bucket"].inputs.get("name")),
        artifact_bucket=str(spec_object["bucket"]), model_id=model_id(plan, base.removeprefix(f"{plan.prefix}-")),
        own_images=str(result.outputs["container_registry"]), own_image_tag=tags.get(model.name),
        network=min(networks) if networks else None,
        # Pinned as the component pins them (the digest itself does not change what the messages accept).
        images={i: f"us-docker.pkg.dev/vertex-ai/{i}@sha256:{'0' * 64}" for i in spec_module.images_of(plan, model)},
        experiment=experiment_context(project, plan, model.name) if tracked else None,
        tensorboard=f"projects/{project}/locations/{plan.region}/tensorboards/1" if tracked else None)


def _pipeline_jobs(result: Any) -> Iterator[Mapping[str, Any]]:
    for r in result.resources:
        if r.type == "gcp:colab/schedule:Schedule":
            yield r.inputs["createPipelineJobRequest"]["pipelineJob"]
        elif r.type == "gcp:workflows/workflow:Workflow":
            for _, message, body in workflow_bodies(r.inputs["sourceContents"]):
                if message == "PipelineJob":
                    yield body

