"""Every SageMaker request a training pipeline makes passes botocore's model of the SageMaker API."""

from __future__ import annotations

import json

import pytest
from sagemaker_requests import pipeline_problems, problems
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
