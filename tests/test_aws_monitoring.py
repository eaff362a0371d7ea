"""AWS monitoring under mocks: the scheduled drift and quality processing jobs, their roles and alarms."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_synth import synthesized

from components.aws import names
from components.aws.monitoring import PROCESSING_TARGET, SCRIPTS, SCRIPTS_DIR, alarm_period, max_runtime
from mlops.evidence import aws as aws_evidence
from mlops.evidence import evidence
from mlops.plan import Capability
from mlops.plan.schedule import Schedule
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

ROOT = Path(__file__).resolve().parents[1]
FRAUD = "blueprints/fraud-detection-aws.yaml"
READMISSION = "blueprints/readmission-risk-aws.yaml"
ENDPOINT = "fraud-detection-prod-fraud-scorer"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = "arn:mock:aws:kms/key:Key:fraud-detection-prod-foundation-key"
DATA = "arn:mock:aws:s3/bucket:Bucket:fraud-detection-prod-foundation-data-bucket"
ARTIFACTS = "arn:mock:aws:s3/bucket:Bucket:fraud-detection-prod-foundation-artifacts-bucket"
MODEL_MONITOR_TYPES = ("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
                       "aws:sagemaker/monitoringSchedule:MonitoringSchedule", "aws:cloudcontrol/resource:Resource")


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(FRAUD, "prod")


@pytest.fixture(scope="module")
def readmission() -> SynthResult:
    return synthesized(READMISSION, "prod")


def variant(tmp_path: Path, edit: Callable[[dict[str, Any]], None], env: str = "prod",
            blueprint: str = FRAUD) -> SynthResult:
    doc = yaml.safe_load((ROOT / blueprint).read_text())
    edit(doc)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return synth(str(path), env)


def one(result: SynthResult, type_: str, suffix: str) -> Recorded:
    [found] = [r for r in result.resources if r.type == type_ and r.name.endswith(suffix)]
    return found


def job(result: SynthResult, suffix: str) -> dict[str, Any]:
    """The CreateProcessingJob request a monitoring schedule's target sends."""
    target = one(result, SCHEDULE, suffix).inputs["target"]
    assert target["arn"] == PROCESSING_TARGET
    return json.loads(target["input"])


def alarm(result: SynthResult, model: str, kind: str) -> dict[str, Any]:
    [found] = [r.inputs for r in result.resources
               if r.type == ALARM and r.inputs["name"] == names.alarm_name(result.plan, model, kind)]  # type: ignore[arg-type]
    return found


def statements(result: SynthResult, suffix: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(one(result, POLICY, suffix).inputs["policy"])["Statement"]}


def test_no_model_monitor_resource_is_built(prod: SynthResult, readmission: SynthResult) -> None:
    for result in (prod, readmission):
        assert not [r for r in result.resources if r.type in MODEL_MONITOR_TYPES]
        assert not [r for r in result.resources if "model-monitor" in json.dumps(r.inputs)]


def test_monitor_inventory(prod: SynthResult) -> None:
    [component] = [r for r in prod.resources if r.type == "mlops:index:SageMakerMonitor"]
    children = sorted(r.name.removeprefix(component.name) for r in prod.resources if r.parent == component.urn)
    assert children == sorted([
        "-role", "-policy", "-code-monitor-job", "-code-drift-methods", "-code-quality-metrics", "-code-baseline",
        "-dlq", "-scheduler-role", "-scheduler-policy", "-drift-schedule", "-drift-alarm", "-quality-schedule",
        "-quality-alarm", "-invocation-errors-alarm", "-utilization-alarm"])


def test_the_job_code_is_the_shipped_scripts(prod: SynthResult) -> None:
    for script in SCRIPTS:
        code = one(prod, "aws:s3/bucketObjectv2:BucketObjectv2", f"-code-{script[:-3].replace('_', '-')}").inputs
        assert code["key"] == f"monitoring/fraud-scorer/code/{script}"
        assert code["content"] == (SCRIPTS_DIR / script).read_text()
        assert (code["serverSideEncryption"], code["kmsKeyId"]) == ("aws:kms", KEY)


def test_drift_schedule_starts_a_protected_processing_job(prod: SynthResult) -> None:
    schedule = one(prod, SCHEDULE, "-monitoring-drift-schedule").inputs
    assert schedule["name"] == names.monitor_schedule_name(prod.plan, "fraud-scorer", "drift")
    assert (schedule["scheduleExpression"], schedule["scheduleExpressionTimezone"]) == ("cron(0 * * * ? *)", "UTC")
    assert schedule["kmsKeyArn"] == KEY and schedule["target"]["deadLetterConfig"]["arn"].endswith("monitoring-dlq")
    request = job(prod, "-monitoring-drift-schedule")
    assert request["ProcessingJobName"] == "fraud-scorer-prod-drift-<aws.scheduler.execution-id>"
    assert request["AppSpecification"] == {
        "ImageUri": request["AppSpecification"]["ImageUri"],
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/monitor_job.py"]}
    # The pipeline's pinned processing image (the mocks answer the registry path with the tag asked for).
    assert request["AppSpecification"]["ImageUri"].endswith("sagemaker-scikit-learn:1.2-1-cpu-py3")
    assert request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == KEY
    assert request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == \
        "s3://fraud-detection-prod-artifacts-333333333333/monitoring/fraud-scorer/reports/drift/"
    network = request["NetworkConfig"]
    assert network["EnableInterContainerTrafficEncryption"] is True and network["EnableNetworkIsolation"] is False
    assert len(network["VpcConfig"]["Subnets"]) == 3  # prod is isolated: the platform's private subnets
    assert request["RoleArn"].endswith("fraud-scorer-monitoring-role")
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}
    assert request["Environment"] == {
        "MLOPS_KIND": "drift", "MLOPS_MODEL": "fraud-scorer", "MLOPS_NAMESPACE": "mlops/fraud-detection-prod",
        "MLOPS_REGION": "us-east-1", "MLOPS_SCHEDULED_TIME": "<aws.scheduler.scheduled-time>",
        "MLOPS_PERIOD_HOURS": "1", "MLOPS_SOURCE": "capture",
        "MLOPS_INPUT_URI": f"s3://fraud-detection-prod-data-333333333333/capture/fraud-scorer/{ENDPOINT}/champion/",
        "MLOPS_BASELINE_URI": "s3://fraud-detection-prod-artifacts-333333333333/monitoring/fraud-scorer/baseline/"
                              "statistics.json",
        "MLOPS_METHOD": "psi", "MLOPS_THRESHOLD": "0.2", "MLOPS_FEATURES": ""}
    assert {"Key": "environment", "Value": "prod"} in request["Tags"]


def test_drift_alarm_watches_the_jobs_metric(prod: SynthResult) -> None:
    drift = alarm(prod, "fraud-scorer", "drift")
    assert drift["name"] == "fraud-detection-prod-fraud-scorer-drift"  # what the retraining rules match on
    assert (drift["namespace"], drift["metricName"], drift["dimensions"]) == \
        ("mlops/fraud-detection-prod", "mlops_drift_psi", {"Model": "fraud-scorer"})
    assert (drift["threshold"], drift["comparisonOperator"], drift["period"], drift["statistic"]) == \
        (0.2, "GreaterThanThreshold", 3600, "Maximum")


def test_quality_job_scores_the_period_that_ended_when_labels_arrived(prod: SynthResult) -> None:
    env = job(prod, "-monitoring-quality-schedule")["Environment"]
    assert {k: env[k] for k in ("MLOPS_KIND", "MLOPS_METRIC", "MLOPS_THRESHOLD", "MLOPS_DIRECTION",
                                "MLOPS_LABEL_DELAY_HOURS", "MLOPS_PERIOD_HOURS", "MLOPS_SOURCE")} == {
        "MLOPS_KIND": "quality", "MLOPS_METRIC": "precision", "MLOPS_THRESHOLD": "0.85",
        "MLOPS_DIRECTION": "at_least", "MLOPS_LABEL_DELAY_HOURS": "1", "MLOPS_PERIOD_HOURS": "1",
        "MLOPS_SOURCE": "capture"}
    assert env["MLOPS_GROUND_TRUTH_URI"] == "s3://fraud-detection-prod-data-333333333333/ground-truth/fraud-scorer/"
    quality = alarm(prod, "fraud-scorer", "quality")
    assert (quality["namespace"], quality["metricName"], quality["dimensions"]) == \
        ("mlops/fraud-detection-prod", "mlops_quality_precision", {"Model": "fraud-scorer"})
    assert (quality["threshold"], quality["comparisonOperator"]) == (0.85, "LessThanThreshold")


def test_weekly_quality_runs_weekly_now(readmission: SynthResult) -> None:
    schedule = one(readmission, SCHEDULE, "readmit-risk-monitoring-quality-schedule").inputs
    assert schedule["scheduleExpression"] == "cron(0 0 ? * SUN *)"  # no more "daily at most" fallback
    env = job(readmission, "readmit-risk-monitoring-quality-schedule")["Environment"]
    assert (env["MLOPS_PERIOD_HOURS"], env["MLOPS_LABEL_DELAY_HOURS"], env["MLOPS_METRIC"]) == ("168", "720", "auroc")
    auroc = alarm(readmission, "readmit-risk", "quality")
    assert (auroc["metricName"], auroc["threshold"], auroc["period"]) == ("mlops_quality_auroc", 0.72, 86400)
    assert job(readmission, "readmit-risk-monitoring-drift-schedule")["Environment"]["MLOPS_METHOD"] == "ks"


def test_monitoring_role_reads_only_this_models_data(prod: SynthResult) -> None:
    found = statements(prod, "fraud-scorer-monitoring-policy")
    assert found["ReadMonitoredDataAndLabels"]["Resource"] == [
        f"{DATA}/capture/fraud-scorer/*", f"{DATA}/ground-truth/fraud-scorer/*"]
    assert found["ListMonitoredDataAndLabels"]["Condition"] == {
        "StringLike": {"s3:prefix": ["capture/fraud-scorer/*", "ground-truth/fraud-scorer/*"]}}
    assert found["ReadBaselineAndCode"]["Resource"] == [
        f"{ARTIFACTS}/monitoring/fraud-scorer/baseline/*", f"{ARTIFACTS}/monitoring/fraud-scorer/code/*"]
    assert found["WriteReports"]["Resource"] == f"{ARTIFACTS}/monitoring/fraud-scorer/reports/*"
    assert found["PublishMonitoringMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "mlops/fraud-detection-prod"}}
    assert [s["Sid"] for s in found.values() if s["Resource"] == "*"] == ["PublishMonitoringMetrics", "DescribeNetwork"]


def test_the_scheduler_may_start_only_protected_jobs_of_this_model(prod: SynthResult) -> None:
    found = statements(prod, "fraud-scorer-monitoring-scheduler-policy")
    start = found["StartMonitoringJobs"]
    assert start["Action"] == "sagemaker:CreateProcessingJob"
    assert [r.rsplit(":", 1)[-1] for r in start["Resource"]] == [
        "processing-job/fraud-scorer-prod-drift-*", "processing-job/fraud-scorer-prod-quality-*"]
    assert start["Condition"] == {
        "Bool": {"sagemaker:InterContainerTrafficEncryption": "true"},
        "ArnEquals": {"sagemaker:OutputKmsKey": KEY, "sagemaker:VolumeKmsKey": KEY},
        "Null": {"sagemaker:VpcSubnets": "false"}}
    assert found["PassMonitoringRole"]["Resource"].endswith("fraud-scorer-monitoring-role")
    assert found["PassMonitoringRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_dev_monitors_outside_a_vpc() -> None:
    request = job(synth(FRAUD, "dev"), "-monitoring-drift-schedule")
    assert "VpcConfig" not in request["NetworkConfig"]


def test_a_batch_model_gets_drift_and_quality_jobs(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["models"][1]["monitoring"] = {"drift": {"method": "wasserstein", "threshold": 0.3, "features": ["_c2"]},
                                          "quality": {"metric": "mae", "threshold": 1.5, "label_delay_hours": 48,
                                                      "direction": "at_most", "schedule": "daily"}}
    result = variant(tmp_path, edit, blueprint=READMISSION)
    drift = job(result, "los-forecast-monitoring-drift-schedule")["Environment"]
    assert (drift["MLOPS_SOURCE"], drift["MLOPS_METHOD"], drift["MLOPS_FEATURES"]) == ("batch", "wasserstein", "_c2")
    assert drift["MLOPS_INPUT_URI"] == "s3://readmission-risk-prod-data-666666666666/batch/los-forecast/input/"
    quality = job(result, "los-forecast-monitoring-quality-schedule")["Environment"]
    assert quality["MLOPS_PREDICTIONS_URI"] == "s3://example-health-bed-planning/los/"  # the blueprint's output_uri
    mae = alarm(result, "los-forecast", "quality")
    assert (mae["metricName"], mae["comparisonOperator"], mae["threshold"]) == \
        ("mlops_quality_mae", "GreaterThanThreshold", 1.5)  # at_most: an error above the bar alarms
    found = statements(result, "los-forecast-monitoring-policy")
    data = "arn:mock:aws:s3/bucket:Bucket:readmission-risk-prod-foundation-data-bucket"
    assert found["ReadMonitoredDataAndLabels"]["Resource"] == [
        f"{data}/batch/los-forecast/input/*", f"{data}/ground-truth/los-forecast/*",
        "arn:aws:s3:::example-health-bed-planning/los/*"]
    assert found["ListBatchPredictions"]["Resource"] == "arn:aws:s3:::example-health-bed-planning"
    assert found["ListBatchPredictions"]["Condition"] == {"StringLike": {"s3:prefix": "los/*"}}
    los = [r.name for r in result.resources if "los-forecast-monitoring" in r.name]
    assert not [n for n in los if "utilization" in n or "invocation-errors" in n]  # no endpoint to watch
    built = evidence(result.plan, result.resources)
    assert built[Capability.drift_monitoring].built and built[Capability.quality_monitoring].built
    assert any("los-forecast" in f for f in built[Capability.quality_monitoring].found)


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
    assert not [r for r in result.resources if r.type == SCHEDULE and "-monitoring-" in r.name]
    assert "dataCaptureConfig" not in one(result, "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
                                          "-serving-config").inputs


def test_evidence_fails_when_the_alarm_or_the_job_lose_the_blueprints_values(prod: SynthResult) -> None:
    import copy

    for suffix, edit in (("-monitoring-drift-alarm", lambda r: r.inputs.update(threshold=0.5)),
                         ("-monitoring-drift-alarm", lambda r: r.inputs.update(namespace="AWS/SageMaker")),
                         ("-monitoring-drift-schedule", lambda r: r.inputs["target"].update(
                             input=r.inputs["target"]["input"].replace('"psi"', '"ks"')))):
        resources = copy.deepcopy(prod.resources)
        edit(next(r for r in resources if r.name.endswith(suffix)))
        assert not evidence(prod.plan, resources)[Capability.drift_monitoring].built, suffix
    assert evidence(prod.plan, prod.resources)[Capability.drift_monitoring].built


def test_evidence_and_components_agree_on_the_contract(prod: SynthResult) -> None:
    assert aws_evidence.PROCESSING_TARGET == PROCESSING_TARGET
    assert aws_evidence.metrics_namespace(prod.plan) == names.metrics_namespace(prod.plan)


def test_long_model_names_keep_job_names_within_63_characters(prod: SynthResult) -> None:
    prefix = names.monitor_job_prefix(prod.plan, "a-very-long-model-name-for-the-credit-risk-team", "quality")
    assert len(f"{prefix}-d32c5kddcf5bb8c3") <= 63 and prefix.startswith("a-very-long-model-name")


@pytest.mark.parametrize(("schedule", "hours"), [("hourly", 1), ("daily", 24), ("weekly", 168), ("monthly", 720),
                                                 ("0 5 * * *", 24), ("0 */6 * * *", 6), ("0 * * * *", 1)])
def test_alarm_period_is_one_schedule_period_at_most_a_day(schedule: str, hours: int) -> None:
    assert alarm_period(Schedule.of(schedule)) == min(hours, 24) * 3600
    assert max_runtime(Schedule.of(schedule)) == (1800 if hours == 1 else 3600)
