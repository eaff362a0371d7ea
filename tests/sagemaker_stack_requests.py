"""The SageMaker requests an AWS stack makes outside its pipeline steps, checked against botocore's model.

`tests/sagemaker_requests.py` checks what a pipeline run sends. This module checks what `pulumi up`
and the platform's own automation send:

- each SageMaker resource the stack declares becomes one Create request when the provider creates it.
  pulumi-aws (the Terraform provider underneath) names its inputs after the API members in snake_case
  (camelCase on the wire): `volume_size_in_gb` is `VolumeSizeInGB`, a block of at most one item is an
  object where the API has a one-item list, a tag map is the API's `Tags` list. `request()` applies that
  mapping, guided by the operation's input shape, with the few renames the provider documents
  (`RENAMES`); an input it cannot place is reported as an unknown member, like a typo would be;
- the model-quality job definition goes through Cloud Control: its desired state is the CloudFormation
  resource's properties, which are the CreateModelQualityJobDefinition members plus `EndpointName`
  (a CloudFormation-only property);
- the batch transform and the drift and quality jobs are EventBridge Scheduler universal targets
  (`aws-sdk:sagemaker:createTransformJob`, `…:createProcessingJob`): the input is the operation's request,
  with Scheduler's `<aws.scheduler.execution-id>` and `<aws.scheduler.scheduled-time>` filled in;
- the deployer Lambda's calls (`deployer_problems`): its handler runs against a SageMaker stand-in that
  checks every request against the operation's input shape and answers from the synthesized stack.

Every request is walked by `sagemaker_requests.walk`: required members, unknown members, types, enums,
lengths, ranges and patterns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from sagemaker_requests import UNKNOWN, operation, walk

RESOURCE_OPERATIONS: dict[str, tuple[str, str]] = {
    "aws:sagemaker/model:Model": ("sagemaker", "CreateModel"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": ("sagemaker", "CreateEndpointConfig"),
    "aws:sagemaker/endpoint:Endpoint": ("sagemaker", "CreateEndpoint"),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": ("sagemaker", "CreateDataQualityJobDefinition"),
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": ("sagemaker", "CreateMonitoringSchedule"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("sagemaker", "CreateModelPackageGroup"),
    "aws:sagemaker/pipeline:Pipeline": ("sagemaker", "CreatePipeline"),
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": ("sagemaker", "CreateMlflowTrackingServer"),
    "aws:sagemaker/featureGroup:FeatureGroup": ("sagemaker", "CreateFeatureGroup"),
    "aws:sagemaker/modelCard:ModelCard": ("sagemaker", "CreateModelCard"),
    "aws:ecr/repository:Repository": ("ecr", "CreateRepository"),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ("ecr", "PutLifecyclePolicy"),
}
"""Resource type → (service, the operation the provider calls to create it)."""

RENAMES: dict[str, dict[str, str]] = {
    # The provider's top-level `name` is the resource's name member.
    "CreateModel": {"name": "ModelName"},
    # pulumi-aws documents `kms_key_arn` as "KmsKeyId" of CreateEndpointConfig.
    "CreateEndpointConfig": {"name": "EndpointConfigName", "kmsKeyArn": "KmsKeyId"},
    "CreateEndpoint": {"name": "EndpointName"},
    "CreateDataQualityJobDefinition": {"name": "JobDefinitionName"},
    "CreateMonitoringSchedule": {"name": "MonitoringScheduleName"},
    # The provider takes ECR's one encryption configuration as a one-item list.
    "CreateRepository": {"name": "repositoryName", "encryptionConfigurations": "encryptionConfiguration"},
    "PutLifecyclePolicy": {"repository": "repositoryName", "policy": "lifecyclePolicyText"},
}

PROVIDER_ONLY: dict[str, frozenset[str]] = {
    # How the provider deletes the repository (DeleteRepository `force`), not part of the create request.
    "CreateRepository": frozenset({"forceDelete"}),
}

FILLED_BY_PROVIDER: dict[str, dict[str, str]] = {
    # An idempotency token the provider generates for every create.
    "CreatePipeline": {"ClientRequestToken": "a1b2c3d4-0000-4000-8000-000000000000"},
}

SCHEDULER_EXECUTION_ID = "d32c5kddcf5bb8c3"
"""What Scheduler puts for `<aws.scheduler.execution-id>` (the example of its documentation)."""
SCHEDULER_SCHEDULED_TIME = "2022-03-22T18:59:43Z"
"""What Scheduler puts for `<aws.scheduler.scheduled-time>` (the example of its documentation)."""

ACCOUNT = "123456789012"
_MOCK_ARN = re.compile(r"^arn:mock:aws:([a-z0-9]+)/[A-Za-z0-9]+:([A-Za-z0-9]+):(.+)$")


@cache
def service(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


def real_arn(value: str, region: str = "us-east-1") -> str:
    """The mocks' ARNs (`arn:mock:aws:<module>/<type>:<Type>:<name>`) in the shape AWS would give them."""
    m = _MOCK_ARN.match(value)
    if m is None:
        return value
    module, kind, name = m.groups()
    if module == "iam":
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"
    if module == "kms":
        return f"arn:aws:kms:{region}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    if module == "sqs":
        return f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"
    if module == "lambda":
        return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
    return f"arn:aws:{module}:{region}:{ACCOUNT}:{kind.lower()}/{name}"


def resolved(value: Any, computed: frozenset[str]) -> Any:
    """Mock ARNs as real ones; ids the cloud assigns (`<resource>-id` under the mocks) as UNKNOWN."""
    if isinstance(value, dict):
        return {k: resolved(v, computed) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, computed) for v in value]
    if isinstance(value, str):
        if value in computed or value == "[unknown]":
            return UNKNOWN
        return real_arn(value)
    return value


def _member(shape: StructureShape, key: str) -> str | None:
    """The API member a provider input names: the same words, compared without case (`VolumeSizeInGb`)."""
    if key in shape.members:
        return key
    folded = {m.lower(): m for m in shape.members}
    return folded.get(key.lower())


def to_api(shape: Shape, value: Any, renames: dict[str, str] | None = None) -> Any:
    """A provider input value in the API's shape (see the module docstring). Inputs no member matches keep
    their provider name, so the walk reports them."""
    if value is UNKNOWN:
        return value
    if isinstance(shape, StructureShape):
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, dict):
            return value
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = (renames or {}).get(key) or _member(shape, key)
            if name is None:
                result[key] = item
            else:
                result[name] = to_api(shape.members[name], item)
        return result
    if isinstance(shape, ListShape):
        if isinstance(value, dict) and isinstance(shape.member, StructureShape):
            member = shape.member
            if set(member.members) >= {"Key", "Value"} and not any(_member(member, k) for k in value):
                # a tag map → the API's list of {Key, Value}
                return [{"Key": k, "Value": v} for k, v in value.items()]
            value = [value]  # a block of at most one item
        if not isinstance(value, list):
            return value
        return [to_api(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: to_api(shape.value, v) for k, v in value.items()}
    return value


def request(resource_type: str, inputs: dict[str, Any], computed: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The Create request the provider sends for a resource's inputs."""
    service_name, name = RESOURCE_OPERATIONS[resource_type]
    shape = service(service_name).operation_model(name).input_shape
    kept = {k: v for k, v in inputs.items() if k not in PROVIDER_ONLY.get(name, frozenset())}
    body = to_api(shape, resolved(kept, computed), RENAMES.get(name))
    return {**FILLED_BY_PROVIDER.get(name, {}), **body}


def _operation(service_name: str, name: str) -> OperationModel:
    return service(service_name).operation_model(name)


def resource_problems(resources: Any) -> list[str]:
    """Every declared SageMaker (and ECR) resource's Create request against the API model."""
    computed = frozenset(f"{r.name}-id" for r in resources)
    found: list[str] = []
    for r in resources:
        if r.type in RESOURCE_OPERATIONS:
            service_name, name = RESOURCE_OPERATIONS[r.type]
            body = request(r.type, r.inputs, computed)
            found += walk(_operation(service_name, name).input_shape, body, f"{r.name} ({name})")
        elif r.type == "aws:cloudcontrol/resource:Resource" and r.inputs.get("typeName", "").startswith(
                "AWS::SageMaker::"):
            found += _cloud_control(r, computed)
        elif r.type == "aws:scheduler/schedule:Schedule":
            found += _scheduled_call(r, computed)
    return found


CLOUD_CONTROL_OPERATIONS = {
    # CloudFormation property → what the handler does not send to the API.
    "AWS::SageMaker::ModelQualityJobDefinition": ("CreateModelQualityJobDefinition", {"EndpointName"}),
}


def _cloud_control(r: Any, computed: frozenset[str]) -> list[str]:
    type_name = r.inputs["typeName"]
    if type_name not in CLOUD_CONTROL_OPERATIONS:
        return [f"{r.name}: no API model mapped for {type_name}"]
    name, cloudformation_only = CLOUD_CONTROL_OPERATIONS[type_name]
    state = json.loads(r.inputs["desiredState"])
    body = resolved({k: v for k, v in state.items() if k not in cloudformation_only}, computed)
    return list(walk(operation(name).input_shape, body, f"{r.name} ({name})"))


_UNIVERSAL_TARGET = re.compile(r"^arn:aws:scheduler:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$")


def _scheduled_call(r: Any, computed: frozenset[str]) -> list[str]:
    target = r.inputs.get("target") or {}
    m = _UNIVERSAL_TARGET.match(str(target.get("arn", "")))
    if m is None or m.group(1) != "sagemaker":
        return []
    name = m.group(2)[0].upper() + m.group(2)[1:]
    text = str(target.get("input", "{}")).replace("<aws.scheduler.execution-id>", SCHEDULER_EXECUTION_ID).replace(
        "<aws.scheduler.scheduled-time>", SCHEDULER_SCHEDULED_TIME)
    body = resolved(json.loads(text), computed)
    return list(walk(operation(name).input_shape, body, f"{r.name} (Scheduler → {name})"))


def operation_for(method: str) -> str:
    """boto3's method name (`create_endpoint_config`) → the operation (`CreateEndpointConfig`)."""
    names = {xform_name(op): op for op in service("sagemaker").operation_names}
    return names[method]


def checked(method: str, kwargs: dict[str, Any]) -> Iterator[str]:
    yield from walk(operation(operation_for(method)).input_shape, kwargs, f"{method}")
