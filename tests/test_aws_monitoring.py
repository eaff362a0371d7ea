"""AWS monitoring under mocks: Model Monitor drift and quality jobs, SRE/drift/quality alarms."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_synth import synthesized

from components.aws import names
from components.aws.monitoring import SCRIPT, alarm_period, quality_offsets
from mlops.plan.schedule import Schedule
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

ROOT = Path(__file__).resolve().parents[1]
FRAUD = "blueprints/fraud-detection-aws.yaml"
READMISSION = "blueprints/readmission-risk-aws.yaml"
ENDPOINT = "fraud-detection-prod-fraud-scorer"
DATA_QUALITY = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
CLOUD_CONTROL = "aws:cloudcontrol/resource:Resource"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(FRAUD, "prod")


@pytest.fixture(scope="module")
def readmission() -> SynthResult:
    return synthesized(READMISSION, "prod")


def variant(tmp_path: Path, edit: Callable[[dict[str, Any]], None], env: str = "prod") -> SynthResult:
    doc = yaml.safe_load((ROOT / FRAUD).read_text())
    edit(doc)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return synth(str(path), env)


def one(result: SynthResult, type_: str, suffix: str) -> Recorded:
    [found] = [r for r in result.resources if r.type == type_ and r.name.endswith(suffix)]
    return found


def alarm(result: SynthResult, model: str, kind: str) -> dict[str, Any]:
    [found] = [r.inputs for r in result.resources
               if r.type == ALARM and r.inputs["name"] == names.alarm_name(result.plan, model, kind)]  # type: ignore[arg-type]
    return found


def test_monitor_inventory(prod: SynthResult) -> None:
    [component] = [r for r in prod.resources if r.type == "mlops:index:SageMakerModelMonitor"]
    children = sorted(r.name.removeprefix(component.name) for r in prod.resources if r.parent == component.urn)
    assert children == sorted(["-role", "-policy", "-drift-script", "-data-quality", "-data-quality-schedule",
                               "-drift-alarm", "-model-quality", "-model-quality-schedule", "-quality-alarm",
                               "-invocation-errors-alarm", "-utilization-alarm"])


def test_data_quality_job_is_encrypted_and_isolated(prod: SynthResult) -> None:
    job = one(prod, DATA_QUALITY, "-data-quality").inputs
    key = "arn:mock:aws:kms/key:Key:fraud-detection-prod-foundation-key"
    assert job["networkConfig"]["enableInterContainerTrafficEncryption"] is True
    assert job["networkConfig"]["enableNetworkIsolation"] is True
    assert len(job["networkConfig"]["vpcConfig"]["subnets"]) == 3
    assert job["jobResources"]["clusterConfig"]["volumeKmsKeyId"] == key
    assert job["dataQualityJobOutputConfig"]["kmsKeyId"] == key
    assert job["dataQualityJobInput"]["endpointInput"]["endpointName"] == ENDPOINT
    artifacts = "s3://fraud-detection-prod-artifacts-333333333333"
    assert job["dataQualityBaselineConfig"] == {
        "constraintsResource": {"s3Uri": f"{artifacts}/monitoring/fraud-scorer/baseline/constraints.json"},
        "statisticsResource": {"s3Uri": f"{artifacts}/monitoring/fraud-scorer/baseline/statistics.json"}}
    assert job["roleArn"].endswith("fraud-scorer-monitoring-role")
    assert job["stoppingCondition"]["maxRuntimeInSeconds"] == 1800  # hourly runs end within the hour


def test_the_blueprints_drift_method_is_computed_by_the_shipped_processor(prod: SynthResult) -> None:
    job = one(prod, DATA_QUALITY, "-data-quality").inputs
    spec = job["dataQualityAppSpecification"]
    assert spec["environment"] == {"MLOPS_DRIFT_METHOD": "psi", "MLOPS_DRIFT_THRESHOLD": "0.2",
                                   "MLOPS_DRIFT_FEATURES": "", "publish_cloudwatch_metrics": "Enabled"}
    script = one(prod, "aws:s3/bucketObjectv2:BucketObjectv2", "-drift-script").inputs
    assert spec["postAnalyticsProcessorSourceUri"] == \
        f"s3://fraud-detection-prod-artifacts-333333333333/{script['key']}"
    assert script["content"] == SCRIPT.read_text() and script["serverSideEncryption"] == "aws:kms"
    assert spec["imageUri"].endswith("/sagemaker-model-monitor-analyzer")  # AWS publishes it untagged


def test_drift_schedule_and_alarm_agree_on_names(prod: SynthResult) -> None:
    schedule = one(prod, SCHEDULE, "-data-quality-schedule").inputs
    assert schedule["name"] == names.monitoring_schedule_name(prod.plan, "fraud-scorer", "data-quality")
    config = schedule["monitoringScheduleConfig"]
    assert config["monitoringType"] == "DataQuality"
    assert config["scheduleConfig"] == {"scheduleExpression": "cron(0 * ? * * *)"}  # hourly
    assert config["monitoringJobDefinitionName"] == one(prod, DATA_QUALITY, "-data-quality").inputs["name"]
    drift = alarm(prod, "fraud-scorer", "drift")
    assert drift["name"] == "fraud-detection-prod-fraud-scorer-drift"  # what the retraining rules match on
    assert (drift["namespace"], drift["metricName"]) == ("aws/sagemaker/Endpoints/data-metrics", "mlops_drift_psi")
    assert drift["dimensions"] == {"Endpoint": ENDPOINT, "MonitoringSchedule": schedule["name"]}
    assert (drift["threshold"], drift["comparisonOperator"], drift["period"]) == (0.2, "GreaterThanThreshold", 3600)


def test_model_quality_through_cloud_control(prod: SynthResult) -> None:
    definition = one(prod, CLOUD_CONTROL, "-model-quality").inputs
    assert definition["typeName"] == "AWS::SageMaker::ModelQualityJobDefinition"
    state = json.loads(definition["desiredState"])
    assert state["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    endpoint_input = state["ModelQualityJobInput"]["EndpointInput"]
    # Hourly runs, labels an hour late: each run scores the hour that ended an hour ago.
    assert (endpoint_input["StartTimeOffset"], endpoint_input["EndTimeOffset"]) == ("-PT2H", "-PT1H")
    assert endpoint_input["EndpointName"] == ENDPOINT and endpoint_input["ProbabilityThresholdAttribute"] == 0.5
    assert state["ModelQualityJobInput"]["GroundTruthS3Input"] == {
        "S3Uri": "s3://fraud-detection-prod-data-333333333333/ground-truth/fraud-scorer/"}
    assert state["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert state["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert len(state["NetworkConfig"]["VpcConfig"]["Subnets"]) == 3
    assert state["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"].endswith("foundation-key")
    assert state["ModelQualityJobOutputConfig"]["KmsKeyId"].endswith("foundation-key")
    assert {"Key": "environment", "Value": "prod"} in state["Tags"]
    schedule = one(prod, SCHEDULE, "-model-quality-schedule")
    config = schedule.inputs["monitoringScheduleConfig"]
    assert (config["monitoringType"], config["monitoringJobDefinitionName"]) == \
        ("ModelQuality", state["JobDefinitionName"])
    assert one(prod, CLOUD_CONTROL, "-model-quality").urn in schedule.dependencies


def test_quality_alarm_uses_the_model_monitor_metric_and_direction(prod: SynthResult,
                                                                   readmission: SynthResult) -> None:
    quality = alarm(prod, "fraud-scorer", "quality")
    assert (quality["namespace"], quality["metricName"]) == ("aws/sagemaker/Endpoints/model-metrics", "precision")
    assert (quality["threshold"], quality["comparisonOperator"]) == (0.85, "LessThanThreshold")
    assert quality["dimensions"]["MonitoringSchedule"] == \
        names.monitoring_schedule_name(prod.plan, "fraud-scorer", "model-quality")
    auroc = alarm(readmission, "readmit-risk", "quality")
    assert (auroc["metricName"], auroc["threshold"], auroc["period"]) == ("auc", 0.72, 86400)


def test_weekly_quality_with_a_30_day_label_delay(readmission: SynthResult) -> None:
    state = json.loads(one(readmission, CLOUD_CONTROL, "readmit-risk-monitoring-model-quality").inputs["desiredState"])
    endpoint_input = state["ModelQualityJobInput"]["EndpointInput"]
    assert (endpoint_input["StartTimeOffset"], endpoint_input["EndTimeOffset"]) == ("-PT888H", "-PT720H")
    schedule = one(readmission, SCHEDULE, "readmit-risk-monitoring-model-quality-schedule").inputs
    assert schedule["monitoringScheduleConfig"]["scheduleConfig"]["scheduleExpression"] == "cron(0 0 ? * * *)"
    job = one(readmission, DATA_QUALITY, "readmit-risk-monitoring-data-quality").inputs
    assert job["dataQualityAppSpecification"]["environment"]["MLOPS_DRIFT_METHOD"] == "ks"


def test_sre_alarms(prod: SynthResult) -> None:
    errors = alarm(prod, "fraud-scorer", "invocation-errors")
    [rate] = [q for q in errors["metricQueries"] if q.get("returnData")]
    assert rate["expression"] == "IF(invocations > 0, 100 * (e0 + e1) / invocations, 0)"
    assert errors["threshold"] == 1
    utilization = alarm(prod, "fraud-scorer", "utilization")
    [busiest] = [q for q in utilization["metricQueries"] if q.get("returnData")]
    assert busiest["expression"] == "MAX([cpu / 8, memory])"
    assert utilization["threshold"] == 80
    for kind in ("invocation-errors", "utilization", "drift", "quality", "latency", "errors"):
        found = alarm(prod, "fraud-scorer", kind)
        assert found["alarmActions"] and found["okActions"] == found["alarmActions"]
        assert found["treatMissingData"] == "notBreaching"
        assert found["tags"]["environment"] == "prod"


def test_monitoring_role_reads_only_this_models_data(prod: SynthResult) -> None:
    statements = {s["Sid"]: s for s in json.loads(
        one(prod, "aws:iam/rolePolicy:RolePolicy", "-monitoring-policy").inputs["policy"])["Statement"]}
    data = "arn:mock:aws:s3/bucket:Bucket:fraud-detection-prod-foundation-data-bucket"
    assert statements["ReadCapturedRequestsAndLabels"]["Resource"] == [
        f"{data}/capture/fraud-scorer/*", f"{data}/ground-truth/fraud-scorer/*"]
    assert statements["WriteReports"]["Resource"].endswith("/monitoring/fraud-scorer/reports/*")
    assert [s["Sid"] for s in statements.values() if s["Resource"] == "*"] == \
        ["PublishMonitoringMetrics", "DescribeNetwork"]


def test_dev_monitors_outside_a_vpc() -> None:
    dev = synth(FRAUD, "dev")
    job = one(dev, DATA_QUALITY, "-data-quality").inputs
    assert "vpcConfig" not in job["networkConfig"] and job["networkConfig"]["enableNetworkIsolation"] is True


def test_drift_features_and_method_reach_the_job(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["models"][0]["monitoring"]["drift"] = {"method": "wasserstein", "threshold": 0.3,
                                                   "features": ["_c1", "_c0"],
                                                   "schedule": "0 */6 * * *"}
    result = variant(tmp_path, edit)
    env = one(result, DATA_QUALITY, "-data-quality").inputs["dataQualityAppSpecification"]["environment"]
    assert (env["MLOPS_DRIFT_METHOD"], env["MLOPS_DRIFT_THRESHOLD"], env["MLOPS_DRIFT_FEATURES"]) == \
        ("wasserstein", "0.3", "_c1,_c0")
    schedule = one(result, SCHEDULE, "-data-quality-schedule").inputs["monitoringScheduleConfig"]
    assert schedule["scheduleConfig"]["scheduleExpression"] == "cron(0 0/6 ? * * *)"
    drift = alarm(result, "fraud-scorer", "drift")
    assert (drift["metricName"], drift["threshold"], drift["period"]) == ("mlops_drift_wasserstein", 0.3, 21600)


def test_without_monitoring_only_the_rollback_alarms_remain(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["maturity"] = {"current": {"experiment_tracking": 2, "model_versioning": 2, "deployment": 1},
                           "target": {"experiment_tracking": 3, "model_versioning": 3, "deployment": 2,
                                      "monitoring": 0, "governance": 3}}
        doc["models"][0]["monitoring"] = {}
        doc["models"][0]["retraining"] = {"schedule": "weekly"}
        doc["feature_store"].pop("freshness_sla_minutes")
    result = variant(tmp_path, edit)
    kinds = sorted(r.inputs["name"].removeprefix("fraud-detection-prod-fraud-scorer-") for r in result.resources
                   if r.type == ALARM and r.inputs["name"].startswith("fraud-detection-prod-fraud-scorer"))
    assert kinds == ["errors", "latency"]  # auto-rollback still has alarms to watch
    assert not [r for r in result.resources if r.type in (DATA_QUALITY, SCHEDULE, CLOUD_CONTROL)]
    assert "dataCaptureConfig" not in one(result, "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
                                          "-serving-config").inputs


@pytest.mark.parametrize(("schedule", "hours"), [("hourly", 1), ("daily", 24), ("weekly", 168), ("monthly", 720),
                                                 ("0 5 * * *", 24), ("0 */6 * * *", 6), ("0 * * * *", 1)])
def test_alarm_period_is_one_schedule_period_at_most_a_day(schedule: str, hours: int) -> None:
    assert alarm_period(Schedule.of(schedule)) == min(hours, 24) * 3600


def test_quality_offsets() -> None:
    assert quality_offsets(Schedule.of("daily"), 0) == {"StartTimeOffset": "-PT24H"}
    assert quality_offsets(Schedule.of("hourly"), 48) == {"StartTimeOffset": "-PT49H", "EndTimeOffset": "-PT48H"}
    # weekly runs daily on Model Monitor, but each run scores the week that ended when labels arrived
    assert quality_offsets(Schedule.of("weekly"), 720) == {"StartTimeOffset": "-PT888H", "EndTimeOffset": "-PT720H"}
