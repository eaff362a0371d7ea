"""AWS serving under mocks: endpoints, guarded rollouts, autoscaling, batch transform, deploy on approval."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_synth import synthesized

from components.aws import names
from components.aws.serving import container_environment, deployment_config, shadow_instances
from mlops.blueprint import load_blueprint
from mlops.blueprint.model import Batching, Caching
from mlops.plan import plan
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

ROOT = Path(__file__).resolve().parents[1]
FRAUD = "blueprints/fraud-detection-aws.yaml"
READMISSION = "blueprints/readmission-risk-aws.yaml"
ENDPOINT = "fraud-detection-prod-fraud-scorer"


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(FRAUD, "prod")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(FRAUD, "dev")


@pytest.fixture(scope="module")
def readmission() -> SynthResult:
    return synthesized(READMISSION, "prod")


def variant(tmp_path: Path, edit: Callable[[dict[str, Any]], None], source: str = FRAUD,
            env: str = "prod") -> SynthResult:
    doc = yaml.safe_load((ROOT / source).read_text())
    edit(doc)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return synth(str(path), env)


def one(result: SynthResult, type_: str, suffix: str) -> Recorded:
    [found] = [r for r in result.resources if r.type == type_ and r.name.endswith(suffix)]
    return found


def of_type(result: SynthResult, type_: str) -> list[Recorded]:
    return [r for r in result.resources if r.type == type_]


def policy(record: Recorded) -> list[dict[str, Any]]:
    return json.loads(record.inputs["policy"])["Statement"]


MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT_TYPE = "aws:sagemaker/endpoint:Endpoint"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


# --------------------------------------------------------------------------- real-time endpoint


def test_prod_endpoint_inventory(prod: SynthResult) -> None:
    [component] = of_type(prod, "mlops:index:SageMakerEndpoint")
    children = sorted((r.type.split(":")[-1], r.name.removeprefix(component.name)) for r in prod.resources
                      if r.parent == component.urn)
    assert children == sorted([
        ("LogGroup", "-logs"), ("Role", "-role"), ("RolePolicy", "-policy"), ("Model", "-model"),
        ("Model", "-challenger-model"), ("EndpointConfiguration", "-config"), ("MetricAlarm", "-latency-alarm"),
        ("MetricAlarm", "-errors-alarm"), ("Endpoint", "-endpoint"), ("Target", "-scaling-target"),
        ("Policy", "-scaling-policy"),
    ])
    assert component.name == "fraud-detection-prod-fraud-scorer-serving"


def test_endpoint_configuration_follows_the_plan(prod: SynthResult) -> None:
    config = one(prod, CONFIG, "-serving-config").inputs
    key = one(prod, "aws:kms/key:Key", "foundation-key")
    assert config["kmsKeyArn"] == f"arn:mock:aws:kms/key:Key:{key.name}"
    [champion] = config["productionVariants"]
    assert champion == {"variantName": "champion", "modelName": one(prod, MODEL, "-serving-model").inputs["name"],
                        "instanceType": "ml.m5.2xlarge", "initialInstanceCount": 2, "initialVariantWeight": 1}
    [shadow] = config["shadowProductionVariants"]
    # 20 % of requests mirrored (weight relative to the champion's), on 20 % of the capacity (at least one).
    assert (shadow["variantName"], shadow["initialVariantWeight"], shadow["initialInstanceCount"]) == \
        ("shadow", 0.2, 1)
    assert shadow["modelName"] == one(prod, MODEL, "-challenger-model").inputs["name"]
    capture = config["dataCaptureConfig"]
    assert capture["enableCapture"] is True and capture["initialSamplingPercentage"] == 20
    assert capture["destinationS3Uri"] == "s3://fraud-detection-prod-data-333333333333/capture/fraud-scorer"
    assert capture["kmsKeyId"] == config["kmsKeyArn"]
    assert [o["captureMode"] for o in capture["captureOptions"]] == ["Input", "Output"]


def test_models_are_isolated_and_in_the_platform_subnets(prod: SynthResult, dev: SynthResult) -> None:
    champion = one(prod, MODEL, "-serving-model").inputs
    assert champion["enableNetworkIsolation"] is True
    assert champion["primaryContainer"]["image"].endswith("/sagemaker-xgboost:1.7-1")
    assert champion["primaryContainer"]["modelDataUrl"] == \
        "s3://fraud-detection-prod-artifacts-333333333333/models/fraud-scorer/champion/model.tar.gz"
    assert one(prod, MODEL, "-challenger-model").inputs["primaryContainer"]["modelDataUrl"].endswith(
        "/models/fraud-scorer/challenger/model.tar.gz")
    platform_sg = one(prod, "aws:ec2/securityGroup:SecurityGroup", "network-platform-sg")
    assert champion["vpcConfig"]["securityGroupIds"] == [f"{platform_sg.name}-id"]
    assert len(champion["vpcConfig"]["subnets"]) == 3
    dev_model = one(dev, MODEL, "-serving-model").inputs
    assert dev_model["enableNetworkIsolation"] is True and "vpcConfig" not in dev_model


def test_canary_rollout_with_automatic_rollback(prod: SynthResult) -> None:
    endpoint = one(prod, ENDPOINT_TYPE, "-serving-endpoint")
    assert endpoint.inputs["name"] == ENDPOINT == names.endpoint_name(prod.plan, "fraud-scorer")
    deployment = endpoint.inputs["deploymentConfig"]
    assert deployment["blueGreenUpdatePolicy"] == {
        "trafficRoutingConfiguration": {"type": "CANARY", "waitIntervalInSeconds": 1800,
                                        "canarySize": {"type": "CAPACITY_PERCENT", "value": 5}},
        "terminationWaitInSeconds": 1800}
    alarms = [a["alarmName"] for a in deployment["autoRollbackConfiguration"]["alarms"]]
    assert alarms == [f"{ENDPOINT}-latency", f"{ENDPOINT}-errors"]
    # The endpoint waits for its rollback alarms (and its log group).
    alarm_urns = {r.urn for r in of_type(prod, ALARM) if r.inputs["name"] in alarms}
    assert alarm_urns <= set(endpoint.dependencies)


def test_rollback_alarms_page_and_measure_what_the_sla_says(prod: SynthResult) -> None:
    critical = one(prod, "aws:sns/topic:Topic", "alerting-critical")
    latency = one(prod, ALARM, "-serving-latency-alarm").inputs
    assert latency["name"] == names.alarm_name(prod.plan, "fraud-scorer", "latency")
    assert (latency["metricName"], latency["namespace"], latency["extendedStatistic"]) == \
        ("ModelLatency", "AWS/SageMaker", "p99")
    assert latency["threshold"] == 50_000  # 50 ms in microseconds
    assert latency["alarmActions"] == [f"arn:mock:aws:sns/topic:Topic:{critical.name}"]
    errors = one(prod, ALARM, "-serving-errors-alarm").inputs
    assert errors["name"] == names.alarm_name(prod.plan, "fraud-scorer", "errors") and errors["threshold"] == 1
    [rate] = [q for q in errors["metricQueries"] if q.get("returnData")]
    assert rate["expression"] == "IF(invocations > 0, 100 * (e0) / invocations, 0)"
    assert {q["metric"]["metricName"] for q in errors["metricQueries"] if "metric" in q} == \
        {"Invocations", "Invocation5XXErrors"}


def test_autoscaling_tracks_cpu_per_vcpu(prod: SynthResult) -> None:
    target = one(prod, "aws:appautoscaling/target:Target", "-scaling-target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 12)
    assert target["resourceId"] == f"endpoint/{ENDPOINT}/variant/champion"
    tracking = one(prod, "aws:appautoscaling/policy:Policy", "-scaling-policy").inputs[
        "targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 70
    metrics = tracking["customizedMetricSpecification"]["metrics"]
    assert metrics[0]["metricStat"]["metric"]["metricName"] == "CPUUtilization"
    assert metrics[1]["expression"] == "cpu / 8"  # ml.m5.2xlarge: CPUUtilization sums 8 vCPUs


def test_autoscaling_on_invocations_per_instance(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["models"][0]["serving"]["autoscaling"] = {"target_requests_per_instance": 900}
    result = variant(tmp_path, edit)
    tracking = one(result, "aws:appautoscaling/policy:Policy", "-scaling-policy").inputs[
        "targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 900
    assert tracking["predefinedMetricSpecification"] == {
        "predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}


def test_serving_role_is_scoped_to_this_model(prod: SynthResult) -> None:
    statements = {s["Sid"]: s for s in policy(one(prod, "aws:iam/rolePolicy:RolePolicy", "-serving-policy"))}
    assert statements["ReadModelArtifacts"]["Resource"] == [
        "arn:mock:aws:s3/bucket:Bucket:fraud-detection-prod-foundation-artifacts-bucket/models/fraud-scorer/*"]
    assert statements["WriteCapturedRequests"]["Resource"] == [
        "arn:mock:aws:s3/bucket:Bucket:fraud-detection-prod-foundation-data-bucket/capture/fraud-scorer/*"]
    stars = [s["Sid"] for s in statements.values() if s["Resource"] == "*"]
    assert stars == ["PublishEndpointMetrics", "DescribeNetwork"]  # no resource-level permission exists
    trust = json.loads(one(prod, "aws:iam/role:Role", "-serving-role").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "333333333333"}}


def test_endpoint_log_group_is_encrypted_retained_and_protected(prod: SynthResult, dev: SynthResult) -> None:
    logs = one(prod, "aws:cloudwatch/logGroup:LogGroup", "-serving-logs")
    assert logs.inputs["name"] == f"/aws/sagemaker/Endpoints/{ENDPOINT}"
    assert logs.inputs["retentionInDays"] == 365 and logs.inputs["kmsKeyId"].endswith("foundation-key")
    assert logs.protect and logs.retain_on_delete
    dev_logs = one(dev, "aws:cloudwatch/logGroup:LogGroup", "-serving-logs")
    assert dev_logs.inputs["retentionInDays"] == 30 and not dev_logs.protect


def test_dev_is_a_single_instance_without_a_shadow(dev: SynthResult) -> None:
    config = one(dev, CONFIG, "-serving-config").inputs
    assert config["productionVariants"][0]["initialInstanceCount"] == 1
    assert config["productionVariants"][0]["instanceType"] == "ml.m5.large"  # environments.dev: small
    assert "shadowProductionVariants" not in config
    assert not [r for r in of_type(dev, MODEL) if r.name.endswith("challenger-model")]
    target = one(dev, "aws:appautoscaling/target:Target", "-scaling-target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 1)


def test_a_quality_threshold_change_leaves_serving_alone(tmp_path: Path, prod: SynthResult) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["models"][0]["quality_gates"]["metrics"][0]["threshold"] = 0.95
    changed = variant(tmp_path, edit)
    for type_, suffix in ((MODEL, "-serving-model"), (CONFIG, "-serving-config"), (ENDPOINT_TYPE, "-endpoint")):
        assert one(changed, type_, suffix).inputs == one(prod, type_, suffix).inputs


def test_a_capture_change_replaces_the_configuration_not_the_model(tmp_path: Path, prod: SynthResult) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["models"][0]["monitoring"]["prediction_logging_percent"] = 30
    changed = variant(tmp_path, edit)
    assert one(changed, MODEL, "-serving-model").inputs["name"] == one(prod, MODEL, "-serving-model").inputs["name"]
    new_config = one(changed, CONFIG, "-serving-config").inputs
    assert new_config["name"] != one(prod, CONFIG, "-serving-config").inputs["name"]
    assert new_config["dataCaptureConfig"]["initialSamplingPercentage"] == 30


# --------------------------------------------------------------------------- delivery strategies (pure)


def model_plan(serving: dict[str, Any], env: str = "prod", **monitoring: Any) -> Any:
    doc = yaml.safe_load((ROOT / FRAUD).read_text())
    doc["models"][0]["serving"].update(serving)
    doc["models"][0]["monitoring"].update(monitoring)
    p = plan(load_blueprint_text(doc), env)
    return p, p.models[0]


def load_blueprint_text(doc: dict[str, Any]) -> Any:
    from mlops.blueprint import load_text

    return load_text(yaml.safe_dump(doc, sort_keys=False), "serving.yaml").blueprint


def test_blue_green_shifts_everything_then_bakes(readmission: SynthResult) -> None:
    deployment = one(readmission, ENDPOINT_TYPE, "readmit-risk-serving-endpoint").inputs["deploymentConfig"]
    assert deployment["blueGreenUpdatePolicy"] == {
        "trafficRoutingConfiguration": {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 3600},
        "terminationWaitInSeconds": 3600}
    assert deployment["autoRollbackConfiguration"]["alarms"] == [
        {"alarmName": "readmission-risk-prod-readmit-risk-latency"},
        {"alarmName": "readmission-risk-prod-readmit-risk-errors"}]


def test_rolling_updates_in_batches_of_capacity() -> None:
    p, m = model_plan({"delivery": {"strategy": "rolling", "canary_percent": 25, "bake_minutes": 5}, "shadow": None})
    config = deployment_config(p, m)
    assert config is not None and config["RollingUpdatePolicy"] == {
        "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25}, "WaitIntervalInSeconds": 300,
        "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 100}}
    assert "BlueGreenUpdatePolicy" not in config


def test_all_at_once_without_rollback_uses_sagemakers_default() -> None:
    p, m = model_plan({"delivery": {"strategy": "all_at_once", "auto_rollback": False}})
    assert deployment_config(p, m) is None
    p, m = model_plan({"delivery": {"strategy": "all_at_once", "bake_minutes": 15}})
    config = deployment_config(p, m)
    assert config is not None
    assert config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE",
                                                                              "WaitIntervalInSeconds": 900}
    assert config["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] == 0


def test_rollback_without_an_sla_watches_errors_only() -> None:
    p, m = model_plan({"latency_p99_ms": None})
    config = deployment_config(p, m)
    assert config is not None
    assert config["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": f"{ENDPOINT}-errors"}]}


def test_shadow_capacity_is_its_share_of_the_champions() -> None:
    _, m = model_plan({"min_instances": 10, "shadow": {"sample_percent": 25}})
    assert shadow_instances(m.serving) == 3
    _, m = model_plan({"min_instances": 2, "shadow": {"sample_percent": 1}})
    assert shadow_instances(m.serving) == 1


@pytest.mark.parametrize(("framework", "batching", "caching", "expected"), [
    ("pytorch", Batching(max_batch_size=16, max_latency_ms=20), None,
     {"SAGEMAKER_TS_BATCH_SIZE": "16", "SAGEMAKER_TS_MAX_BATCH_DELAY": "20"}),
    ("tensorflow", Batching(max_batch_size=8, max_latency_ms=5), None,
     {"SAGEMAKER_TFS_ENABLE_BATCHING": "true", "SAGEMAKER_TFS_MAX_BATCH_SIZE": "8",
      "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS": "5000"}),
    ("custom", Batching(max_batch_size=4, max_latency_ms=2), Caching(ttl_seconds=30),
     {"MLOPS_MAX_BATCH_SIZE": "4", "MLOPS_MAX_BATCH_LATENCY_MS": "2", "MLOPS_CACHE_TTL_SECONDS": "30"}),
    ("xgboost", None, None, {}),
])
def test_batching_and_caching_go_into_the_container_environment(framework: str, batching: Batching | None,
                                                                caching: Caching | None,
                                                                expected: dict[str, str]) -> None:
    assert container_environment(framework, batching, caching) == expected


def test_images_that_cannot_batch_or_cache_are_refused() -> None:
    with pytest.raises(ValueError, match="does not batch"):
        container_environment("xgboost", Batching(), None)
    with pytest.raises(ValueError, match="do not cache"):
        container_environment("pytorch", None, Caching())


def test_batching_reaches_the_model(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["models"][0]["framework"] = "pytorch"
        doc["models"][0]["training"].pop("hyperparameter_search")  # a built-in search space is XGBoost's only
        doc["models"][0]["serving"]["batching"] = {"max_batch_size": 16, "max_latency_ms": 20}
    container = one(variant(tmp_path, edit), MODEL, "-serving-model").inputs["primaryContainer"]
    assert container["environment"] == {"SAGEMAKER_TS_BATCH_SIZE": "16", "SAGEMAKER_TS_MAX_BATCH_DELAY": "20"}
    assert "/pytorch-inference:" in container["image"]


# --------------------------------------------------------------------------- batch transform


def test_batch_model_runs_as_a_scheduled_transform(readmission: SynthResult) -> None:
    [component] = of_type(readmission, "mlops:index:SageMakerBatchTransform")
    assert component.name == "readmission-risk-prod-los-forecast-batch"
    schedule = one(readmission, "aws:scheduler/schedule:Schedule", "los-forecast-batch-schedule").inputs
    assert schedule["name"] == names.batch_schedule_name(readmission.plan, "los-forecast")
    assert schedule["scheduleExpression"] == "cron(0 2 * * ? *)" and schedule["scheduleExpressionTimezone"] == "UTC"
    assert schedule["kmsKeyArn"].endswith("foundation-key")
    target = schedule["target"]
    assert target["arn"] == "arn:aws:scheduler:::aws-sdk:sagemaker:createTransformJob"
    assert target["deadLetterConfig"]["arn"].endswith("los-forecast-batch-dlq")
    job = json.loads(target["input"])
    assert job["TransformJobName"] == "los-forecast-prod-<aws.scheduler.execution-id>"
    assert job["ModelName"] == one(readmission, MODEL, "los-forecast-batch-model").inputs["name"]
    assert job["TransformOutput"]["S3OutputPath"] == "s3://example-health-bed-planning/los/"
    assert job["TransformOutput"]["KmsKeyId"].endswith("foundation-key")
    assert job["TransformResources"]["VolumeKmsKeyId"].endswith("foundation-key")
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == \
        "s3://readmission-risk-prod-data-666666666666/batch/los-forecast/input/"


def test_batch_roles_are_scoped(readmission: SynthResult) -> None:
    statements = {s["Sid"]: s for s in policy(one(readmission, "aws:iam/rolePolicy:RolePolicy",
                                                  "los-forecast-batch-policy"))}
    assert statements["WritePredictions"]["Resource"] == "arn:aws:s3:::example-health-bed-planning/los/*"
    scheduler = {s["Sid"]: s for s in policy(one(readmission, "aws:iam/rolePolicy:RolePolicy",
                                                 "los-forecast-batch-scheduler-policy"))}
    assert scheduler["StartTransformJobs"]["Resource"] == \
        "arn:aws:sagemaker:us-east-2:666666666666:transform-job/los-forecast-prod-*"
    assert not of_type(readmission, ENDPOINT_TYPE)[1:]  # only the real-time model has an endpoint


# --------------------------------------------------------------------------- deploy on approval


def test_approval_rule_targets_the_deployer(prod: SynthResult) -> None:
    rule = one(prod, "aws:cloudwatch/eventRule:EventRule", "fraud-scorer-deployer-rule").inputs
    # With a shadow, pending candidates become the challenger it serves.
    assert json.loads(rule["eventPattern"]) == {
        "detail": {"ModelApprovalStatus": ["Approved", "PendingManualApproval"],
                   "ModelPackageGroupName": [names.model_package_group_name(prod.plan, "fraud-scorer")]},
        "detail-type": ["SageMaker Model Package State Change"], "source": ["aws.sagemaker"]}
    function = one(prod, "aws:lambda/function:Function", "deployer-function-function")
    target = one(prod, "aws:cloudwatch/eventTarget:EventTarget", "deployer-target").inputs
    assert target["arn"] == f"arn:mock:aws:lambda/function:Function:{function.name}"
    assert target["retryPolicy"] == {"maximumEventAgeInSeconds": 86400, "maximumRetryAttempts": 24}
    dlq = one(prod, "aws:sqs/queue:Queue", "deployer-function-dlq")
    assert target["deadLetterConfig"]["arn"] == f"arn:mock:aws:sqs/queue:Queue:{dlq.name}"
    permission = one(prod, "aws:lambda/permission:Permission", "deployer-invoke-permission").inputs
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["sourceArn"].endswith("fraud-scorer-deployer-rule")


def test_where_no_approval_is_required_the_deployer_approves(dev: SynthResult) -> None:
    rule = one(dev, "aws:cloudwatch/eventRule:EventRule", "fraud-scorer-deployer-rule").inputs
    assert json.loads(rule["eventPattern"])["detail"]["ModelApprovalStatus"] == ["Approved", "PendingManualApproval"]
    function = one(dev, "aws:lambda/function:Function", "deployer-function-function").inputs
    assert function["environment"]["variables"]["SHADOW_VARIANT"] == ""
    assert function["environment"]["variables"]["AUTO_APPROVE"] == "true"
    policy = json.loads(one(dev, "aws:iam/rolePolicy:RolePolicy", "deployer-function-policy").inputs["policy"])
    [approve] = [s for s in policy["Statement"] if s.get("Sid") == "ApproveWhereNoApprovalIsRequired"]
    assert approve["Action"] == "sagemaker:UpdateModelPackage"
    assert approve["Condition"] == {"StringEquals": {"sagemaker:ModelApprovalStatus": "Approved"}}
    assert approve["Resource"].endswith(":model-package/fraud-detection-dev-fraud-scorer/*")
    assert "vpcConfig" not in function


def test_deployer_function_is_hardened(prod: SynthResult) -> None:
    function = one(prod, "aws:lambda/function:Function", "deployer-function-function").inputs
    assert function["reservedConcurrentExecutions"] == 1
    assert function["kmsKeyArn"].endswith("foundation-key")
    assert function["deadLetterConfig"]["targetArn"].endswith("deployer-function-dlq")
    assert function["handler"] == "deployer.handler" and function["runtime"] == "python3.12"
    assert len(function["vpcConfig"]["subnetIds"]) == 3
    source = (ROOT / "components/aws/lambdas/deployer.py").read_text()
    assert function["code"]["assets"]["deployer.py"]["text"] == source
    env = function["environment"]["variables"]
    assert env["ENDPOINT_NAME"] == ENDPOINT
    assert json.loads(env["DEPLOYMENT_CONFIG"]) == deployment_config(prod.plan, prod.plan.models[0])
    assert env["EXECUTION_ROLE_ARN"].endswith("fraud-scorer-serving-role")


def test_deployer_may_touch_only_this_endpoint(prod: SynthResult) -> None:
    statements = {s["Sid"]: s for s in policy(one(prod, "aws:iam/rolePolicy:RolePolicy",
                                                  "deployer-function-policy"))}
    account = "arn:aws:sagemaker:us-east-1:333333333333"
    # UpdateEndpoint is authorised on the endpoint and on the config it switches to.
    assert statements["RollOutThisEndpoint"]["Resource"] == [f"{account}:endpoint/{ENDPOINT}",
                                                             f"{account}:endpoint-config/{ENDPOINT}-*"]
    assert statements["CreateVersionedModelsAndConfigs"]["Resource"] == [
        f"{account}:model/{ENDPOINT}-*", f"{account}:endpoint-config/{ENDPOINT}-*"]
    assert statements["ReadApprovedPackages"]["Resource"] == \
        f"{account}:model-package/fraud-detection-prod-fraud-scorer/*"
    assert statements["PassServingRoleToSageMaker"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    # Only actions IAM cannot scope to a resource run on `*`.
    assert [s["Sid"] for s in statements.values() if s["Resource"] == "*"] == ["SendTraces", "DescribeInterfaces"]
    # Prod requires approval: the deployer never approves.
    assert "ApproveWhereNoApprovalIsRequired" not in statements


def test_batch_models_get_a_staging_only_deployer(readmission: SynthResult) -> None:
    function = one(readmission, "aws:lambda/function:Function", "los-forecast-deployer-function-function").inputs
    assert function["environment"]["variables"]["ENDPOINT_NAME"] == ""
    sids = {s["Sid"] for s in policy(one(readmission, "aws:iam/rolePolicy:RolePolicy",
                                         "los-forecast-deployer-function-policy"))}
    assert "RollOutThisEndpoint" not in sids and "StageChampionAndBaselines" in sids


def test_no_registry_no_deployer(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["maturity"] = {"current": 0, "target": {"experiment_tracking": 1, "model_versioning": 0,
                                                    "deployment": 2, "monitoring": 1, "governance": 0}}
        doc["governance"] = {"audit_retention_days": 2557, "compliance": []}
        doc["models"][0]["quality_gates"].pop("fairness")
        doc["models"][0]["training"].pop("hyperparameter_search")
        doc["models"][0]["monitoring"] = {"prediction_logging_percent": 5}
        doc["models"][0]["retraining"] = {}
        doc["data"]["sources"] = [{**s, "contains_pii": False} for s in doc["data"]["sources"]]
    result = variant(tmp_path, edit)
    assert of_type(result, "mlops:index:SageMakerEndpoint")
    assert not of_type(result, "mlops:index:SageMakerDeployer")


AWS_EXAMPLES = [p for p in sorted((ROOT / "blueprints").glob("*.yaml"))
                if load_blueprint(p).blueprint.cloud.provider.value == "aws"]


@pytest.mark.parametrize("example", AWS_EXAMPLES, ids=[p.stem for p in AWS_EXAMPLES])
def test_every_aws_example_serves_each_model_once(example: Path) -> None:
    bp = load_blueprint(example).blueprint
    result = synth(str(example.relative_to(ROOT)), "staging")
    served = [r.name for r in result.resources
              if r.type in ("mlops:index:SageMakerEndpoint", "mlops:index:SageMakerBatchTransform")]
    assert len(served) == len(bp.models)


def test_the_plan_mirrors_traffic_only_where_there_is_traffic() -> None:
    bp = load_blueprint(ROOT / FRAUD).blueprint
    shadows = {env: plan(bp, env).models[0].serving.shadow for env in ("dev", "staging", "prod")}  # type: ignore[union-attr]
    assert shadows["dev"] is None
    assert shadows["staging"] is not None and shadows["prod"] is not None
    assert shadows["prod"].sample_percent == 20
