"""The deploy-on-approval Lambda handler, against fake SageMaker and S3 clients (no network, no boto3 calls)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.aws.lambdas import deployer

GROUP = "fraud-detection-prod-fraud-scorer"
ENDPOINT = "fraud-detection-prod-fraud-scorer"
PACKAGE = f"arn:aws:sagemaker:us-east-1:333333333333:model-package/{GROUP}/7"
DEPLOYMENT = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 1800,
                                                                        "CanarySize": {"Type": "CAPACITY_PERCENT",
                                                                                       "Value": 5}}},
              "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": f"{ENDPOINT}-errors"}]}}


class NotFound(Exception):
    """Shaped like botocore's ClientError for a missing resource."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.response = {"Error": {"Code": "ValidationException", "Message": f"Could not find {what}"}}


class Denied(Exception):
    def __init__(self) -> None:
        super().__init__("denied")
        self.response = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}


class FakeSageMaker:
    def __init__(self, *, status: str = "InService", endpoint: bool = True, approval: str = "Approved",
                 baselines: bool = True) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.models: set[str] = set()
        self.configs: dict[str, dict[str, Any]] = {f"{ENDPOINT}-abc123": {
            "EndpointConfigName": f"{ENDPOINT}-abc123",
            "ProductionVariants": [
                {"VariantName": "champion", "ModelName": f"{ENDPOINT}-abc123", "InstanceType": "ml.m5.2xlarge",
                 "InitialInstanceCount": 2, "InitialVariantWeight": 1.0}],
            "ShadowProductionVariants": [
                {"VariantName": "shadow", "ModelName": f"{ENDPOINT}-challenger", "InstanceType": "ml.m5.2xlarge",
                 "InitialInstanceCount": 1, "InitialVariantWeight": 0.2}],
            "DataCaptureConfig": {"EnableCapture": True, "InitialSamplingPercentage": 20,
                                  "DestinationS3Uri": "s3://data/capture/fraud-scorer", "KmsKeyId": "key",
                                  "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]},
            "KmsKeyId": "key",
            "CreationTime": "2024-01-01T00:00:00Z",
        }}
        self.endpoint = {"EndpointName": ENDPOINT, "EndpointConfigName": f"{ENDPOINT}-abc123",
                         "EndpointStatus": status,
                         "ProductionVariants": [{"VariantName": "champion", "CurrentInstanceCount": 5}]} \
            if endpoint else None
        self.package = {
            "ModelPackageArn": PACKAGE, "ModelPackageVersion": 7, "ModelApprovalStatus": approval,
            "InferenceSpecification": {"Containers": [{"Image": "xgboost:1.7-1",
                                                       "ModelDataUrl": "s3://artifacts/pipelines/run-9/model.tar.gz"}]},
        }
        if baselines:
            self.package["DriftCheckBaselines"] = {
                "ModelDataQuality": {"Statistics": {"S3Uri": "s3://artifacts/pipelines/run-9/statistics.json"},
                                     "Constraints": {"S3Uri": "s3://artifacts/pipelines/run-9/constraints.json"}},
                "ModelQuality": {"Constraints": {"S3Uri": "s3://artifacts/pipelines/run-9/mq-constraints.json"}}}

    def _call(self, name: str, kwargs: dict[str, Any]) -> None:
        self.calls.append((name, kwargs))

    def describe_model_package(self, **kwargs: Any) -> dict[str, Any]:
        self._call("describe_model_package", kwargs)
        return self.package

    def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self._call("describe_endpoint", kwargs)
        if self.endpoint is None:
            raise NotFound(f"endpoint {kwargs['EndpointName']}")
        return self.endpoint

    def describe_model(self, **kwargs: Any) -> dict[str, Any]:
        self._call("describe_model", kwargs)
        if kwargs["ModelName"] not in self.models:
            raise NotFound(f"model {kwargs['ModelName']}")
        return {"ModelName": kwargs["ModelName"]}

    def update_model_package(self, **kwargs: Any) -> dict[str, Any]:
        self._call("update_model_package", kwargs)
        return {"ModelPackageArn": kwargs["ModelPackageArn"]}

    def create_model(self, **kwargs: Any) -> dict[str, Any]:
        self._call("create_model", kwargs)
        self.models.add(kwargs["ModelName"])
        return {}

    def describe_endpoint_config(self, **kwargs: Any) -> dict[str, Any]:
        self._call("describe_endpoint_config", kwargs)
        if kwargs["EndpointConfigName"] not in self.configs:
            raise NotFound(f"endpoint configuration {kwargs['EndpointConfigName']}")
        return self.configs[kwargs["EndpointConfigName"]]

    def create_endpoint_config(self, **kwargs: Any) -> dict[str, Any]:
        self._call("create_endpoint_config", kwargs)
        self.configs[kwargs["EndpointConfigName"]] = kwargs
        return {}

    def update_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self._call("update_endpoint", kwargs)
        assert self.endpoint is not None
        self.endpoint["EndpointConfigName"] = kwargs["EndpointConfigName"]
        return {}

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for call, kwargs in self.calls if call == name]


class Missing(Exception):
    def __init__(self) -> None:
        super().__init__("404")
        self.response = {"Error": {"Code": "404", "Message": "Not Found"}}


class FakeS3:
    def __init__(self, existing: tuple[str, ...] = ("models/fraud-scorer/challenger/model.tar.gz",)) -> None:
        self.copies: list[tuple[str, str, str, dict[str, Any]]] = []
        self.existing = set(existing)

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if Key not in self.existing:
            raise Missing()
        return {}

    def copy(self, source: dict[str, str], bucket: str, key: str, ExtraArgs: dict[str, Any]) -> None:
        self.copies.append((f"s3://{source['Bucket']}/{source['Key']}", bucket, key, ExtraArgs))
        self.existing.add(key)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "ENDPOINT_NAME": ENDPOINT, "MODEL_PACKAGE_GROUP": GROUP,
        "EXECUTION_ROLE_ARN": "arn:aws:iam::333333333333:role/serving", "ARTIFACT_BUCKET": "artifacts",
        "CHAMPION_KEY": "models/fraud-scorer/champion/model.tar.gz",
        "CHALLENGER_KEY": "models/fraud-scorer/challenger/model.tar.gz", "SHADOW_VARIANT": "shadow",
        "BASELINE_PREFIX": "monitoring/fraud-scorer/baseline", "KMS_KEY_ARN": "key", "CHAMPION_VARIANT": "champion",
        "NETWORK_ISOLATION": "true", "SUBNETS": "subnet-a,subnet-b", "SECURITY_GROUPS": "sg-1",
        "DEPLOYMENT_CONFIG": json.dumps(DEPLOYMENT), "TAGS": json.dumps({"environment": "prod"}),
    }.items():
        monkeypatch.setenv(key, value)


def approval(group: str = GROUP, status: str = "Approved") -> dict[str, Any]:
    return {"detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
            "detail": {"ModelPackageGroupName": group, "ModelPackageArn": PACKAGE, "ModelApprovalStatus": status}}


def test_approval_rolls_the_endpoint_forward_with_the_deployment_config() -> None:
    sagemaker, s3 = FakeSageMaker(), FakeS3()
    result = deployer.handler(approval(), None, sagemaker=sagemaker, s3=s3)
    assert result["status"] == "deploying"
    [model] = sagemaker.named("create_model")
    assert model["ModelName"] == f"{ENDPOINT}-v7"
    assert model["PrimaryContainer"] == {"ModelPackageName": PACKAGE}
    assert model["EnableNetworkIsolation"] is True
    assert model["VpcConfig"] == {"Subnets": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"]}
    assert model["Tags"] == [{"Key": "environment", "Value": "prod"}]
    [config] = sagemaker.named("create_endpoint_config")
    [champion] = config["ProductionVariants"]
    # The new model behind the same variant name, at the capacity autoscaling runs now.
    assert (champion["VariantName"], champion["ModelName"], champion["InitialInstanceCount"]) == \
        ("champion", f"{ENDPOINT}-v7", 5)
    assert config["ShadowProductionVariants"][0]["ModelName"] == f"{ENDPOINT}-challenger"
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
    assert config["KmsKeyId"] == "key" and "CreationTime" not in config
    [update] = sagemaker.named("update_endpoint")
    assert update == {"EndpointName": ENDPOINT, "EndpointConfigName": f"{ENDPOINT}-v7", "DeploymentConfig": DEPLOYMENT}


def test_approval_stages_the_champion_and_the_monitoring_baselines() -> None:
    s3 = FakeS3()
    deployer.handler(approval(), None, sagemaker=FakeSageMaker(), s3=s3)
    assert [(source, key) for source, _, key, _ in s3.copies] == [
        ("s3://artifacts/pipelines/run-9/model.tar.gz", "models/fraud-scorer/champion/model.tar.gz"),
        ("s3://artifacts/pipelines/run-9/statistics.json", "monitoring/fraud-scorer/baseline/statistics.json"),
        ("s3://artifacts/pipelines/run-9/constraints.json", "monitoring/fraud-scorer/baseline/constraints.json"),
        ("s3://artifacts/pipelines/run-9/mq-constraints.json",
         "monitoring/fraud-scorer/baseline/model-quality/constraints.json"),
    ]
    assert all(bucket == "artifacts" and extra == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "key"}
               for _, bucket, _, extra in s3.copies)


def test_a_package_without_baselines_stages_only_the_champion() -> None:
    s3 = FakeS3()
    result = deployer.handler(approval(), None, sagemaker=FakeSageMaker(baselines=False), s3=s3)
    assert result["staged"] == ["models/fraud-scorer/champion/model.tar.gz"]


@pytest.mark.parametrize("event", [approval(group="someone-elses-group"), approval(status="Rejected"),
                                   {"detail": {}}])
def test_other_events_are_ignored(event: dict[str, Any]) -> None:
    sagemaker, s3 = FakeSageMaker(), FakeS3()
    assert deployer.handler(event, None, sagemaker=sagemaker, s3=s3) == {"status": "ignored"}
    assert sagemaker.calls == [] and s3.copies == []


def test_a_revoked_approval_is_not_deployed() -> None:
    sagemaker, s3 = FakeSageMaker(approval="Rejected"), FakeS3()
    assert deployer.handler(approval(), None, sagemaker=sagemaker, s3=s3) == {"status": "ignored"}
    assert not sagemaker.named("update_endpoint") and not s3.copies


def test_a_busy_endpoint_raises_so_lambda_retries() -> None:
    sagemaker = FakeSageMaker(status="Updating")
    with pytest.raises(deployer.EndpointBusy, match="Updating"):
        deployer.handler(approval(), None, sagemaker=sagemaker, s3=FakeS3())
    assert not sagemaker.named("update_endpoint")


def test_first_deployment_only_stages_the_champion() -> None:
    sagemaker, s3 = FakeSageMaker(endpoint=False), FakeS3()
    result = deployer.handler(approval(), None, sagemaker=sagemaker, s3=s3)
    assert result["status"] == "staged" and len(s3.copies) == 4
    assert not sagemaker.named("create_model")


def test_batch_models_only_stage_the_champion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENDPOINT_NAME", "")
    sagemaker, s3 = FakeSageMaker(), FakeS3()
    assert deployer.handler(approval(), None, sagemaker=sagemaker, s3=s3)["status"] == "staged"
    assert [call for call, _ in sagemaker.calls] == ["describe_model_package"]


def test_redelivered_events_reuse_what_exists() -> None:
    sagemaker, s3 = FakeSageMaker(), FakeS3()
    deployer.handler(approval(), None, sagemaker=sagemaker, s3=s3)
    again = deployer.handler(approval(), None, sagemaker=sagemaker, s3=s3)
    assert again == {"status": "already-deployed", "endpoint_config": f"{ENDPOINT}-v7"}
    assert len(sagemaker.named("create_model")) == 1 and len(sagemaker.named("update_endpoint")) == 1


def test_unexpected_errors_propagate() -> None:
    class Broken(FakeSageMaker):
        def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
            raise Denied()
    with pytest.raises(Denied):
        deployer.handler(approval(), None, sagemaker=Broken(), s3=FakeS3())


def test_without_a_deployment_config_sagemaker_defaults_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYMENT_CONFIG", "")
    sagemaker = FakeSageMaker()
    deployer.handler(approval(), None, sagemaker=sagemaker, s3=FakeS3())
    [update] = sagemaker.named("update_endpoint")
    assert "DeploymentConfig" not in update


def test_long_names_stay_within_sagemaker_limits() -> None:
    name = deployer._name("x" * 60, "v123")
    assert len(name) == 63 and name == deployer._name("x" * 60, "v123")


def test_a_pending_candidate_becomes_the_shadows_challenger() -> None:
    sagemaker, s3 = FakeSageMaker(approval="PendingManualApproval"), FakeS3()
    result = deployer.handler(approval(status="PendingManualApproval"), None, sagemaker=sagemaker, s3=s3)
    assert result["role"] == "challenger"
    assert [key for _, _, key, _ in s3.copies] == ["models/fraud-scorer/challenger/model.tar.gz"]  # no baselines
    [config] = sagemaker.named("create_endpoint_config")
    assert config["EndpointConfigName"] == f"{ENDPOINT}-v7-shadow"
    assert config["ProductionVariants"][0]["ModelName"] == f"{ENDPOINT}-abc123"  # the champion stays
    assert config["ShadowProductionVariants"][0]["ModelName"] == f"{ENDPOINT}-v7"
    assert sagemaker.named("update_endpoint")[0]["EndpointConfigName"] == f"{ENDPOINT}-v7-shadow"


def test_without_a_shadow_pending_candidates_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHADOW_VARIANT", "")
    sagemaker = FakeSageMaker(approval="PendingManualApproval")
    assert deployer.handler(approval(status="PendingManualApproval"), None, sagemaker=sagemaker,
                            s3=FakeS3()) == {"status": "ignored"}
    assert sagemaker.calls == []


def test_where_no_approval_is_required_pending_candidates_are_approved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHADOW_VARIANT", "")
    monkeypatch.setenv("AUTO_APPROVE", "true")
    sagemaker = FakeSageMaker(approval="PendingManualApproval")
    result = deployer.handler(approval(status="PendingManualApproval"), None, sagemaker=sagemaker, s3=FakeS3())
    assert result == {"status": "approved"}
    [update] = sagemaker.named("update_model_package")
    assert (update["ModelPackageArn"], update["ModelApprovalStatus"]) == (PACKAGE, "Approved")
    assert sagemaker.named("update_endpoint") == []  # the Approved event that follows deploys it
    # Already decided meanwhile (approved or rejected by a person): left alone.
    sagemaker = FakeSageMaker(approval="Rejected")
    assert deployer.handler(approval(status="PendingManualApproval"), None, sagemaker=sagemaker,
                            s3=FakeS3()) == {"status": "ignored"}
    assert sagemaker.named("update_model_package") == []


def test_the_first_champion_is_also_the_first_challenger() -> None:
    s3 = FakeS3(existing=())
    deployer.handler(approval(), None, sagemaker=FakeSageMaker(endpoint=False), s3=s3)
    assert [key for _, _, key, _ in s3.copies][:2] == ["models/fraud-scorer/champion/model.tar.gz",
                                                       "models/fraud-scorer/challenger/model.tar.gz"]
