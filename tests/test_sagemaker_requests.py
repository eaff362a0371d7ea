"""Every SageMaker request the AWS back end makes passes botocore's model of the SageMaker API: a training
pipeline's steps (RegisterModel included), the resources `pulumi up` creates, the Cloud Control and
Scheduler requests, and the deployer Lambda's calls."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest
from deployer_requests import deployer_problems
from sagemaker_requests import pipeline_problems, problems
from sagemaker_stack_requests import RESOURCE_OPERATIONS, resource_problems
from shared_synth import synthesized

AWS_EXAMPLES = ("blueprints/fraud-detection-aws.yaml", "blueprints/readmission-risk-aws.yaml")


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("blueprint", AWS_EXAMPLES)
def test_pipeline_steps_are_requests_sagemaker_accepts(blueprint: str, environment: str) -> None:
    assert pipeline_problems(synthesized(blueprint, environment).resources) == []


def _definition(**arguments: object) -> dict[str, object]:
    return {"Version": "2020-12-01", "Parameters": [{"Name": "Type", "Type": "String", "DefaultValue": "ml.m5.xl"}],
            "Steps": [{"Name": "Evaluate", "Type": "Processing", "Arguments": arguments}]}


def test_the_check_finds_what_sagemaker_would_refuse() -> None:
    # The Evaluate step once carried its spec in one environment value of 261-265 characters (limit 256).
    found = problems(_definition(
        ProcessingResources={"ClusterConfig": {"InstanceType": {"Get": "Parameters.Type"}, "InstanceCount": 0,
                                               "VolumeSizeInGB": 30}},
        AppSpecification={"ImageUri": "image"}, RoleArn="arn:mock:aws:iam/role:Role:r",
        Environment={"MLOPS_EVALUATION": json.dumps({"metrics": "x" * 300})}, Unknown=1))
    assert any("Environment['MLOPS_EVALUATION']" in p and "at most 256" in p for p in found), found
    assert any("InstanceType" in p and "not one of" in p for p in found), found
    assert any("InstanceCount" in p and "at least 1" in p for p in found), found
    assert any(".Unknown: not a member" in p for p in found), found


def test_step_outputs_and_computed_ids_are_left_to_the_running_pipeline() -> None:
    found = problems(_definition(
        ProcessingResources={"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                                               "VolumeSizeInGB": 30}},
        AppSpecification={"ImageUri": {"Get": "Steps.Build.Properties.ImageUri"}},
        RoleArn="arn:mock:aws:iam/role:Role:r",
        NetworkConfig={"VpcConfig": {"SecurityGroupIds": ["a-very-long-mock-security-group-name-id"],
                                     "Subnets": ["subnet-0123456789abcdef0"]}}),
        computed=frozenset({"a-very-long-mock-security-group-name-id"}))
    assert found == []


# --------------------------------------------------------------------------- outside the pipeline steps


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("blueprint", AWS_EXAMPLES)
def test_the_stacks_sagemaker_resources_are_requests_sagemaker_accepts(blueprint: str, environment: str) -> None:
    resources = synthesized(blueprint, environment).resources
    assert resource_problems(resources) == []
    checked = {r.type for r in resources} & set(RESOURCE_OPERATIONS)
    assert {"aws:sagemaker/model:Model", "aws:sagemaker/endpoint:Endpoint"} <= checked
    # The drift and quality jobs are Scheduler targets (CreateProcessingJob), checked with the schedules.
    targets = {r.inputs["target"]["arn"] for r in resources if r.type == "aws:scheduler/schedule:Schedule"}
    assert "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob" in targets


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("blueprint", AWS_EXAMPLES)
def test_the_deployers_calls_are_requests_sagemaker_accepts(blueprint: str, environment: str) -> None:
    problems, calls = deployer_problems(synthesized(blueprint, environment).resources)
    assert problems == []
    assert {"create_model", "create_endpoint_config", "update_endpoint"} <= set(calls)


def _one(kind: str, name: str, inputs: dict[str, object]) -> list[SimpleNamespace]:
    return [SimpleNamespace(type=kind, name=name, inputs=inputs)]


def test_a_resource_sagemaker_would_refuse_is_found() -> None:
    found = resource_problems(_one("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", "dq", {
        "name": "dq", "roleArn": "arn:mock:aws:iam/role:Role:r",
        "dataQualityAppSpecification": {"imageUri": "image"},
        "dataQualityJobInput": {"endpointInput": {"endpointName": "e", "localPath": "/in"}},
        "dataQualityJobOutputConfig": {"monitoringOutputs": {"s3Output": {"s3Uri": "s3://b/k", "localPath": "/o"}}},
        "jobResources": {"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.3xlarge",
                                           "volumeSizeInGb": 20}},
        "stoppingCondition": {"maxRuntimeInSecond": 60},
    }))
    assert any("InstanceType" in p and "not one of" in p for p in found), found
    assert any(".maxRuntimeInSecond: not a member" in p for p in found), found
    assert not any("VolumeSizeInGB" in p or "MonitoringOutputs" in p for p in found), found  # mapped, valid


def test_cloud_control_and_scheduler_requests_are_checked() -> None:
    found = resource_problems(_one("aws:cloudcontrol/resource:Resource", "mq", {
        "typeName": "AWS::SageMaker::ModelQualityJobDefinition",
        "desiredState": json.dumps({"JobDefinitionName": "mq", "EndpointName": "e",
                                    "ModelQualityAppSpecification": {"ImageUri": "i", "ProblemType": "Binary"}})}))
    assert any("ProblemType" in p and "not one of" in p for p in found), found
    assert any("ModelQualityJobInput: required" in p for p in found), found
    assert not any("EndpointName: not a member" in p for p in found), found  # a CloudFormation property
    job = {"TransformJobName": "m" * 60 + "-<aws.scheduler.execution-id>", "ModelName": "m",
           "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}},
           "TransformOutput": {"S3OutputPath": "s3://b/out/"},
           "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}}
    found = resource_problems(_one("aws:scheduler/schedule:Schedule", "batch", {"target": {
        "arn": "arn:aws:scheduler:::aws-sdk:sagemaker:createTransformJob", "input": json.dumps(job)}}))
    assert any("TransformJobName" in p and "at most 63" in p for p in found), found


def test_the_monitoring_jobs_scheduled_requests_are_checked_as_create_processing_job() -> None:
    resources = copy.deepcopy(synthesized("blueprints/fraud-detection-aws.yaml", "prod").resources)
    schedule = next(r for r in resources if r.name.endswith("-monitoring-drift-schedule"))
    assert resource_problems(resources) == []  # the real request, with Scheduler's attributes filled in
    request = json.loads(schedule.inputs["target"]["input"])
    request["Environment"]["MLOPS_FEATURES"] = "x" * 300
    request["ProcessingResources"]["ClusterConfig"]["InstanceType"] = "ml.m5.huge"
    schedule.inputs["target"]["input"] = json.dumps(request)
    found = resource_problems(resources)
    assert any("CreateProcessingJob" in p and "MLOPS_FEATURES" in p and "at most 256" in p for p in found), found
    assert any("InstanceType" in p and "not one of" in p for p in found), found


def test_a_deployer_request_sagemaker_would_refuse_is_found() -> None:
    resources = copy.deepcopy(synthesized("blueprints/fraud-detection-aws.yaml", "prod").resources)
    function = next(r for r in resources if r.inputs.get("handler") == "deployer.handler")
    function.inputs["environment"]["variables"]["SUBNETS"] = "subnet-" + "0" * 40
    function.inputs["environment"]["variables"]["TAGS"] = json.dumps({"k" * 129: "v"})
    problems, _ = deployer_problems(resources)
    assert any("create_model" in p and "Subnets[0]" in p and "at most 32" in p for p in problems), problems
    assert any("create_endpoint_config" in p and "Tags[0].Key" in p for p in problems), problems


def test_steps_inside_a_condition_are_checked_and_registration_is_create_model_package() -> None:
    register = {"Name": "Register", "Type": "RegisterModel", "Arguments": {
        "ModelPackageGroupName": "g", "InferenceSpecification": {
            "Containers": [{"Image": "i"}], "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"], "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.3xlarge"]}}}
    found = problems({"Version": "2020-12-01", "Parameters": [], "Steps": [
        {"Name": "Gates", "Type": "Condition", "Arguments": {"Conditions": [], "IfSteps": [register],
                                                             "ElseSteps": []}}]})
    assert any(p.startswith("Register (CreateModelPackage)") and "ml.m5.3xlarge" in p for p in found), found
