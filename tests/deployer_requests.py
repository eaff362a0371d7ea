"""The deployer Lambda's SageMaker calls for a synthesized stack, checked against botocore's model.

`deployer_problems(resources)` runs `components/aws/lambdas/deployer.py` once per deployer function of the
stack, with the environment the stack gives it, for each event it is subscribed to (a package reaching
Approved; with a shadow or automatic approval, one registered PendingManualApproval). A SageMaker stand-in
answers as the service would for this stack (the package the training pipeline's RegisterModel step
registers, the endpoint and endpoint configuration `pulumi up` created) and checks every request the
handler makes — CreateModel, CreateEndpointConfig, UpdateEndpoint, UpdateModelPackage … — against the
operation's input shape (`sagemaker_stack_requests.checked`).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any
from unittest import mock

from sagemaker_requests import UNKNOWN
from sagemaker_stack_requests import ACCOUNT, checked, real_arn, request

from components.aws.lambdas import deployer

FUNCTION = "aws:lambda/function:Function"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
# What AWS names subnets and security groups (the mocks name them `<resource>-id`).
_AWS_IDS = {"aws:ec2/subnet:Subnet": "subnet", "aws:ec2/securityGroup:SecurityGroup": "sg"}


class _Missing(Exception):
    """Shaped like botocore's ClientError for a resource that does not exist."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.response = {"Error": {"Code": "ValidationException", "Message": f"Could not find {what}"}}


def _aws_ids(resources: Any) -> dict[str, str]:
    ids = {}
    for r in resources:
        if r.type in _AWS_IDS:
            ids[f"{r.name}-id"] = f"{_AWS_IDS[r.type]}-{hashlib.sha256(r.name.encode()).hexdigest()[:17]}"
    return ids


def _environment(variables: dict[str, str], ids: dict[str, str]) -> dict[str, str]:
    def real(value: str) -> str:
        return ",".join(ids.get(part, real_arn(part)) for part in value.split(",")) if value else value
    return {k: real(str(v)) for k, v in variables.items()}


def _registered_package(resources: Any, group: str, version: int, status: str) -> dict[str, Any]:
    """DescribeModelPackage of a version the group's training pipeline registered."""
    spec: dict[str, Any] = {}
    for r in resources:
        if r.type != PIPELINE:
            continue
        for step in _steps(json.loads(r.inputs["pipelineDefinition"])["Steps"]):
            if step.get("Type") == "RegisterModel" and step["Arguments"].get("ModelPackageGroupName") == group:
                spec = json.loads(json.dumps(step["Arguments"]["InferenceSpecification"]))
    for container in spec.get("Containers", []):
        container["ModelDataUrl"] = "s3://artifacts/pipelines/run-1/model.tar.gz"  # a run's output
    run = "s3://artifacts/pipelines/run-1"
    return {
        "ModelPackageGroupName": group, "ModelPackageVersion": version, "ModelApprovalStatus": status,
        "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{group}/{version}",
        "InferenceSpecification": spec or {"Containers": [{"Image": "image",
                                                            "ModelDataUrl": f"{run}/model.tar.gz"}]},
        "DriftCheckBaselines": {
            "ModelDataQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": f"{run}/statistics.json"},
                                 "Constraints": {"ContentType": "application/json",
                                                 "S3Uri": f"{run}/constraints.json"}}},
    }


def _steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for step in steps:
        found.append(step)
        arguments = step.get("Arguments") or {}
        if step.get("Type") == "Condition":
            found += _steps(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))
    return found


class _SageMaker:
    """Answers as SageMaker would for the stack; every request is checked against the API model."""

    def __init__(self, package: dict[str, Any], endpoint: dict[str, Any] | None,
                 config: dict[str, Any] | None) -> None:
        self.package, self.endpoint, self.config = package, endpoint, config
        self.problems: list[str] = []
        self.calls: list[str] = []

    def __getattr__(self, method: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append(method)
            self.problems += checked(method, kwargs)
            return self._answer(method, kwargs)
        return call

    def _answer(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if method == "describe_model_package":
            return self.package
        if method == "describe_endpoint":
            if self.endpoint is None:
                raise _Missing(f"endpoint {kwargs['EndpointName']}")
            return self.endpoint
        if method == "describe_endpoint_config":
            if self.config is not None and kwargs["EndpointConfigName"] == self.config["EndpointConfigName"]:
                return {**self.config, "EndpointConfigArn": "arn", "CreationTime": "2024-01-01T00:00:00Z"}
            raise _Missing(f"endpoint configuration {kwargs['EndpointConfigName']}")
        if method == "describe_model":
            raise _Missing(f"model {kwargs['ModelName']}")
        return {}


class _S3:
    def copy(self, *args: Any, **kwargs: Any) -> None:
        return None

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        error = _Missing(kwargs["Key"])
        error.response = {"Error": {"Code": "404", "Message": "Not Found"}}
        raise error


def _known(value: Any, fallback: str) -> Any:
    """What DescribeEndpointConfig returns for a value the cloud assigned."""
    if value is UNKNOWN:
        return fallback
    if isinstance(value, dict):
        return {k: _known(v, fallback) for k, v in value.items()}
    if isinstance(value, list):
        return [_known(v, fallback) for v in value]
    return value


def _deployed(resources: Any, endpoint_name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """DescribeEndpoint and DescribeEndpointConfig of the endpoint `pulumi up` created (None: not created)."""
    endpoint = next((r for r in resources if r.type == ENDPOINT and r.inputs.get("name") == endpoint_name), None)
    if endpoint is None:
        return None, None
    config_name = endpoint.inputs["endpointConfigName"]
    config = next(r for r in resources if r.type == CONFIG and r.inputs.get("name") == config_name)
    described = _known(request(CONFIG, config.inputs), "unknown")
    variants = [{"VariantName": v["VariantName"], "CurrentInstanceCount": v.get("InitialInstanceCount", 1)}
                for v in described["ProductionVariants"]]
    return ({"EndpointName": endpoint_name, "EndpointConfigName": config_name, "EndpointStatus": "InService",
             "ProductionVariants": variants}, described)


def events(variables: dict[str, str]) -> list[str]:
    """The approval statuses whose events the deployer acts on (its rule's pattern)."""
    pending = bool(variables.get("SHADOW_VARIANT")) or variables.get("AUTO_APPROVE") == "true"
    return ["Approved", "PendingManualApproval"] if pending else ["Approved"]


def deployer_problems(resources: Any) -> tuple[list[str], list[str]]:
    """Every request the stack's deployers make that SageMaker would refuse, and the calls they made."""
    ids = _aws_ids(resources)
    problems: list[str] = []
    calls: list[str] = []
    for r in resources:
        if r.type != FUNCTION or r.inputs.get("handler") != "deployer.handler":
            continue
        env = _environment(r.inputs["environment"]["variables"], ids)
        for status in events(env):
            group = env["MODEL_PACKAGE_GROUP"]
            package = _registered_package(resources, group, 7, status)
            endpoint, config = _deployed(resources, env["ENDPOINT_NAME"]) if env["ENDPOINT_NAME"] else (None, None)
            sagemaker = _SageMaker(package, endpoint, config)
            event = {"detail": {"ModelPackageGroupName": group, "ModelApprovalStatus": status,
                                "ModelPackageArn": package["ModelPackageArn"]}}
            with mock.patch.dict(os.environ, env, clear=False):
                deployer.handler(event, None, sagemaker=sagemaker, s3=_S3())
            problems += [f"{r.name} on {status}: {p}" for p in sagemaker.problems]
            calls += sagemaker.calls
    return problems, calls
