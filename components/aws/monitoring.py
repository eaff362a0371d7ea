"""AWS monitoring: Model Monitor drift and quality jobs, and the SRE, drift and quality alarms of a model.

SageMaker Model Monitor is closed to new customers (`mlops.clouds.aws.MODEL_MONITOR_AVAILABILITY`):
these jobs run only in accounts that already use it; the plan's AWS fallbacks and the design say so.

Drift: a SageMaker Model Monitor data-quality job per endpoint, on the blueprint's drift schedule,
against the champion's baseline: statistics and constraints the training pipeline's Baseline step
computes from the train split and registers with the version, which the deployer stages under
`names.baseline_prefix` when the version is approved. Model Monitor itself compares distributions by L-infinity distance
only; the blueprint's method (psi, ks, jensen_shannon, l_infinity, wasserstein) is computed from the
job's statistics by the post-analytics processor shipped in `components/aws/scripts/` and published
as the `mlops_drift_<method>` metric, which the drift alarm watches.

Quality: pulumi-aws has no model-quality job definition, so it is created through the AWS Cloud
Control API (`aws.cloudcontrol.Resource` of type AWS::SageMaker::ModelQualityJobDefinition, the
same resource CloudFormation creates) and scheduled with `sagemaker.MonitoringSchedule`. Ground
truth lands in `s3://<data>/ground-truth/<model>/` (keyed by inference id); each run evaluates the
window that ended `label_delay_hours` ago.

Model Monitor runs at most daily: weekly and monthly schedules run daily (quality over a window of
the schedule's length); see `mlops.clouds.aws`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child, short_hash
from components.capabilities import builds
from mlops.clouds.aws import AWS_QUALITY_METRICS, monitor_schedule
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.schedule import Schedule
from mlops.plan.vocabulary import Direction

from .account import account_arn, account_id
from .iam import Statement, sagemaker_role
from .images import MODEL_MONITOR_REPOSITORY
from .instances import ml_instance_type, vcpus
from .names import (
    CHAMPION_VARIANT,
    alarm_name,
    baseline_prefix,
    capture_prefix,
    ground_truth_prefix,
    monitoring_reports_prefix,
    monitoring_schedule_name,
    sagemaker_name,
)
from .network import VpcConfig
from .serving import ENDPOINT_METRICS, error_rate_queries, network_statements

SCRIPT = Path(__file__).parent / "scripts" / "drift_postprocessor.py"
DIGEST_SETTING = "modelMonitorImageDigest"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MONITOR_INSTANCE = "ml.m5.xlarge"
MONITOR_VOLUME_GB = 20
DATA_METRICS = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS = "aws/sagemaker/Endpoints/model-metrics"
ENDPOINT_INPUT = "/opt/ml/processing/input/endpoint"
OUTPUT = "/opt/ml/processing/output"
# Model quality on binary classifiers: the endpoint's output (CSV) is the positive-class probability.
PROBABILITY_COLUMN = "0"
PROBABILITY_THRESHOLD = 0.5


def analyzer_image(parent: pulumi.Resource, plan: Plan) -> pulumi.Output[str]:
    """Model Monitor's analyzer in the region's SageMaker registry, as AWS documents it: without a tag (AWS
    publishes no versions of it; SageMaker runs the current one), or pinned to the digest of stack setting
    `mlops:modelMonitorImageDigest` (`sha256:<64 hex>`)."""
    digest = pulumi.Config("mlops").get(DIGEST_SETTING)
    if digest is not None and not _DIGEST.match(digest):
        raise pulumi.RunError(f"mlops:{DIGEST_SETTING}: not an image digest (got {digest!r}; expected sha256:<64 hex>)")
    found = aws.sagemaker.get_prebuilt_ecr_image_output(
        repository_name=MODEL_MONITOR_REPOSITORY, region=plan.region, opts=pulumi.InvokeOutputOptions(parent=parent))
    suffix = ".amazonaws.com.cn" if plan.region.startswith("cn-") else ".amazonaws.com"
    return pulumi.Output.concat(found.registry_id, ".dkr.ecr.", plan.region, suffix, "/", MODEL_MONITOR_REPOSITORY,
                                f"@{digest}" if digest else "")


def quality_offsets(schedule: Schedule, label_delay_hours: int) -> dict[str, str]:
    """StartTimeOffset and EndTimeOffset: the window of one schedule period that ended when labels arrived.

    Weekly and monthly run daily (Model Monitor runs at most daily) but keep their period as the window.
    """
    offsets = {"StartTimeOffset": f"-PT{label_delay_hours + schedule.period_hours}H"}
    if label_delay_hours:
        offsets["EndTimeOffset"] = f"-PT{label_delay_hours}H"
    return offsets


def alarm_period(schedule: Schedule) -> int:
    """A metric published once per run: the alarm looks at one run (CloudWatch periods stop at a day)."""
    return min(schedule.period_hours, 24) * 3600


@builds(Capability.drift_monitoring, Capability.quality_monitoring, Capability.sre_alarms)
class SageMakerModelMonitor(pulumi.ComponentResource):
    """Monitoring of one real-time model: Model Monitor jobs and the alarms the team and retraining act on.

    Creates: `-role` + `-policy` (the monitoring jobs' execution role: read this model's captured
    requests, ground truth and baselines, write its reports, the platform key, job logs and the
    platform subnets); with drift, `-drift-script` (the post-analytics processor in the artifacts
    bucket, SSE-KMS), `-data-quality` (DataQualityJobDefinition: analyzer image, baseline, KMS on
    volume and output, network isolation, inter-container encryption, VPC when isolated) and
    `-data-quality-schedule`; with quality, `-model-quality` (Cloud Control
    AWS::SageMaker::ModelQualityJobDefinition with the same protections, ground truth and label
    delay) and `-model-quality-schedule`; alarms named `names.alarm_name(plan, model, kind)`:
    `-invocation-errors-alarm` (4xx+5xx rate) and `-utilization-alarm` (CPU per vCPU or memory)
    with SRE alarms, `-drift-alarm` (the blueprint's method against its threshold) and
    `-quality-alarm` (the quality metric against its threshold, in the metric's direction).

    Outputs: data_quality_schedule, model_quality_schedule (names; empty when not monitored).
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, endpoint: pulumi.Resource, endpoint_name: str,
                 kms_key_arn: pulumi.Input[str], artifact_bucket: aws.s3.Bucket, data_bucket: aws.s3.Bucket,
                 vpc: VpcConfig | None, alarm_topic_arn: pulumi.Input[str] | None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}SageMakerModelMonitor", name, None, opts)
        self.plan, self.model, self.endpoint_name = plan, model, endpoint_name
        self.actions = [alarm_topic_arn] if alarm_topic_arn is not None else None
        mon = model.monitoring
        serving = model.serving
        assert serving is not None
        self.data_quality_schedule = ""
        self.model_quality_schedule = ""
        if mon.drift is not None or mon.quality is not None:
            account = account_id(plan, self)
            role, policy = sagemaker_role(self, name, plan, account, f"monitors {model.name}",
                                          self._statements(plan, model, account, kms_key_arn, artifact_bucket,
                                                           data_bucket, vpc))
            image = analyzer_image(self, plan)
            jobs = _JobParts(role_arn=role.arn, image=image, kms_key_arn=kms_key_arn,
                             artifact_bucket=artifact_bucket.bucket, data_bucket=data_bucket.bucket, vpc=vpc,
                             depends_on=[policy, endpoint])
            if mon.drift is not None:
                self._data_quality(name, jobs)
            if mon.quality is not None:
                self._model_quality(name, jobs)
        if mon.sre is not None:
            self._sre_alarms(name, ml_instance_type(serving.instance))
        self.register_outputs({"data_quality_schedule": self.data_quality_schedule,
                               "model_quality_schedule": self.model_quality_schedule})

    # ----------------------------------------------------------------- the jobs' role

    @staticmethod
    def _statements(plan: Plan, model: ModelPlan, account: pulumi.Input[str], kms_key_arn: pulumi.Input[str],
                    artifact_bucket: aws.s3.Bucket, data_bucket: aws.s3.Bucket,
                    vpc: VpcConfig | None) -> list[Statement]:
        m = model.name
        data_reads = [f"{capture_prefix(m)}/*", f"{ground_truth_prefix(m)}/*"]
        return [
            Statement(Sid="ReadCapturedRequestsAndLabels", Effect="Allow", Action="s3:GetObject",
                      Resource=[pulumi.Output.concat(data_bucket.arn, "/", p) for p in data_reads]),
            Statement(Sid="ListCapturedRequestsAndLabels", Effect="Allow", Action="s3:ListBucket",
                      Resource=data_bucket.arn, Condition={"StringLike": {"s3:prefix": data_reads}}),
            Statement(Sid="ReadBaselinesAndScript", Effect="Allow", Action="s3:GetObject",
                      Resource=pulumi.Output.concat(artifact_bucket.arn, f"/monitoring/{m}/*")),
            Statement(Sid="WriteReports", Effect="Allow", Action=["s3:PutObject", "s3:AbortMultipartUpload"],
                      Resource=pulumi.Output.concat(artifact_bucket.arn, f"/{monitoring_reports_prefix(m)}/*")),
            Statement(Sid="UsePlatformKey", Effect="Allow",
                      Action=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                      Resource=kms_key_arn),
            Statement(Sid="GrantKeyToJobVolumes", Effect="Allow", Action="kms:CreateGrant", Resource=kms_key_arn,
                      Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
            Statement(Sid="WriteJobLogs", Effect="Allow",
                      Action=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                              "logs:DescribeLogStreams"],
                      Resource=account_arn(plan, account, "logs", "log-group:/aws/sagemaker/ProcessingJobs:*")),
            # cloudwatch:PutMetricData has no resource-level permission: limited to SageMaker's namespaces.
            Statement(Sid="PublishMonitoringMetrics", Effect="Allow", Action="cloudwatch:PutMetricData",
                      Resource="*",
                      Condition={"StringLike": {"cloudwatch:namespace": ["aws/sagemaker/*", "/aws/sagemaker/*"]}}),
            *network_statements(plan, account, vpc),
        ]

    # ----------------------------------------------------------------- drift

    def _data_quality(self, name: str, jobs: _JobParts) -> None:
        plan, model = self.plan, self.model
        drift = model.monitoring.drift
        assert drift is not None
        schedule_expression = monitor_schedule(drift.schedule)
        assert schedule_expression is not None  # refused by the plan otherwise
        key = f"monitoring/{model.name}/drift_postprocessor.py"
        script = aws.s3.BucketObjectv2(
            f"{name}-drift-script",
            aws.s3.BucketObjectv2Args(bucket=jobs.artifact_bucket, key=key,
                                      content=SCRIPT.read_text(encoding="utf-8"), content_type="text/x-python",
                                      server_side_encryption="aws:kms", kms_key_id=jobs.kms_key_arn,
                                      tags=dict(plan.tags)),
            opts=child(self),
        )
        baseline, reports = baseline_prefix(model.name), monitoring_reports_prefix(model.name)
        environment = {
            "publish_cloudwatch_metrics": "Enabled",
            "MLOPS_DRIFT_METHOD": drift.method.value,
            "MLOPS_DRIFT_THRESHOLD": f"{drift.threshold:g}",
            "MLOPS_DRIFT_FEATURES": ",".join(drift.features),
        }
        digest = short_hash(json.dumps(environment, sort_keys=True), str(jobs.vpc is not None))
        definition = aws.sagemaker.DataQualityJobDefinition(
            f"{name}-data-quality",
            aws.sagemaker.DataQualityJobDefinitionArgs(
                name=sagemaker_name(f"{plan.prefix}-{model.name}-dq-{digest}"),
                role_arn=jobs.role_arn,
                data_quality_app_specification=aws.sagemaker.DataQualityJobDefinitionDataQualityAppSpecificationArgs(
                    image_uri=jobs.image, environment=environment,
                    post_analytics_processor_source_uri=jobs.s3(jobs.artifact_bucket, key)),
                data_quality_baseline_config=aws.sagemaker.DataQualityJobDefinitionDataQualityBaselineConfigArgs(
                    constraints_resource=aws.sagemaker.
                    DataQualityJobDefinitionDataQualityBaselineConfigConstraintsResourceArgs(
                        s3_uri=jobs.s3(jobs.artifact_bucket, f"{baseline}/constraints.json")),
                    statistics_resource=aws.sagemaker.
                    DataQualityJobDefinitionDataQualityBaselineConfigStatisticsResourceArgs(
                        s3_uri=jobs.s3(jobs.artifact_bucket, f"{baseline}/statistics.json"))),
                data_quality_job_input=aws.sagemaker.DataQualityJobDefinitionDataQualityJobInputArgs(
                    endpoint_input=aws.sagemaker.DataQualityJobDefinitionDataQualityJobInputEndpointInputArgs(
                        endpoint_name=self.endpoint_name, local_path=ENDPOINT_INPUT, s3_input_mode="File",
                        s3_data_distribution_type="FullyReplicated")),
                data_quality_job_output_config=aws.sagemaker.DataQualityJobDefinitionDataQualityJobOutputConfigArgs(
                    kms_key_id=jobs.kms_key_arn,
                    monitoring_outputs=aws.sagemaker.
                    DataQualityJobDefinitionDataQualityJobOutputConfigMonitoringOutputsArgs(
                        s3_output=aws.sagemaker.
                        DataQualityJobDefinitionDataQualityJobOutputConfigMonitoringOutputsS3OutputArgs(
                            s3_uri=jobs.s3(jobs.artifact_bucket, f"{reports}/data-quality"),
                            local_path=OUTPUT, s3_upload_mode="EndOfJob"))),
                job_resources=aws.sagemaker.DataQualityJobDefinitionJobResourcesArgs(
                    cluster_config=aws.sagemaker.DataQualityJobDefinitionJobResourcesClusterConfigArgs(
                        instance_count=1, instance_type=MONITOR_INSTANCE, volume_size_in_gb=MONITOR_VOLUME_GB,
                        volume_kms_key_id=jobs.kms_key_arn)),
                network_config=aws.sagemaker.DataQualityJobDefinitionNetworkConfigArgs(
                    enable_inter_container_traffic_encryption=True, enable_network_isolation=True,
                    vpc_config=aws.sagemaker.DataQualityJobDefinitionNetworkConfigVpcConfigArgs(
                        subnets=jobs.vpc.subnet_ids, security_group_ids=jobs.vpc.security_group_ids)
                    if jobs.vpc is not None else None),
                stopping_condition=aws.sagemaker.DataQualityJobDefinitionStoppingConditionArgs(
                    max_runtime_in_seconds=_max_runtime(drift.schedule)),
                tags=dict(plan.tags),
            ),
            opts=child(self, depends_on=[*jobs.depends_on, script]),
        )
        schedule = monitoring_schedule_name(plan, model.name, "data-quality")
        aws.sagemaker.MonitoringSchedule(
            f"{name}-data-quality-schedule",
            aws.sagemaker.MonitoringScheduleArgs(
                name=schedule,
                monitoring_schedule_config=aws.sagemaker.MonitoringScheduleMonitoringScheduleConfigArgs(
                    monitoring_type="DataQuality", monitoring_job_definition_name=definition.name,
                    schedule_config=aws.sagemaker.MonitoringScheduleMonitoringScheduleConfigScheduleConfigArgs(
                        schedule_expression=schedule_expression)),
                tags=dict(plan.tags)),
            opts=child(self),
        )
        self.data_quality_schedule = schedule
        self._alarm(
            f"{name}-drift-alarm", "drift",
            f"{model.name}: {drift.method.value} drift above {drift.threshold:g} "
            f"({', '.join(drift.features) or 'any feature'})",
            aws.cloudwatch.MetricAlarmArgs(
                namespace=DATA_METRICS, metric_name=f"mlops_drift_{drift.method.value}",
                dimensions={"Endpoint": self.endpoint_name, "MonitoringSchedule": schedule},
                statistic="Maximum", period=alarm_period(drift.schedule), evaluation_periods=1,
                threshold=drift.threshold, comparison_operator="GreaterThanThreshold"))

    # ----------------------------------------------------------------- quality

    def _model_quality(self, name: str, jobs: _JobParts) -> None:
        plan, model = self.plan, self.model
        quality = model.monitoring.quality
        assert quality is not None
        problem, metric = AWS_QUALITY_METRICS[quality.metric]
        schedule_expression = monitor_schedule(quality.schedule)
        assert schedule_expression is not None
        endpoint_input: dict[str, Any] = {
            "EndpointName": self.endpoint_name, "LocalPath": ENDPOINT_INPUT, "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            **quality_offsets(quality.schedule, quality.label_delay_hours),
        }
        if problem == "BinaryClassification":
            endpoint_input |= {"ProbabilityAttribute": PROBABILITY_COLUMN,
                               "ProbabilityThresholdAttribute": PROBABILITY_THRESHOLD}
        else:
            endpoint_input["InferenceAttribute"] = PROBABILITY_COLUMN
        digest = short_hash(problem, json.dumps(endpoint_input, sort_keys=True), str(jobs.vpc is not None))
        definition_name = sagemaker_name(f"{plan.prefix}-{model.name}-mq-{digest}")
        network: dict[str, Any] = {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": True}
        if jobs.vpc is not None:
            network["VpcConfig"] = {"Subnets": jobs.vpc.subnet_ids, "SecurityGroupIds": jobs.vpc.security_group_ids}
        desired = pulumi.Output.json_dumps({
            "JobDefinitionName": definition_name,
            "EndpointName": self.endpoint_name,
            "RoleArn": jobs.role_arn,
            "ModelQualityAppSpecification": {"ImageUri": jobs.image, "ProblemType": problem,
                                             "Environment": {"publish_cloudwatch_metrics": "Enabled"}},
            "ModelQualityJobInput": {
                "EndpointInput": endpoint_input,
                "GroundTruthS3Input": {"S3Uri": jobs.s3(jobs.data_bucket, f"{ground_truth_prefix(model.name)}/")}},
            "ModelQualityJobOutputConfig": {
                "KmsKeyId": jobs.kms_key_arn,
                "MonitoringOutputs": [{"S3Output": {
                    "S3Uri": jobs.s3(jobs.artifact_bucket, f"{monitoring_reports_prefix(model.name)}/model-quality"),
                    "LocalPath": OUTPUT, "S3UploadMode": "EndOfJob"}}]},
            "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": MONITOR_INSTANCE,
                                               "VolumeSizeInGB": MONITOR_VOLUME_GB,
                                               "VolumeKmsKeyId": jobs.kms_key_arn}},
            "NetworkConfig": network,
            "StoppingCondition": {"MaxRuntimeInSeconds": _max_runtime(quality.schedule)},
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(plan.tags.items())],
        })
        definition = aws.cloudcontrol.Resource(
            f"{name}-model-quality",
            aws.cloudcontrol.ResourceArgs(type_name="AWS::SageMaker::ModelQualityJobDefinition",
                                          desired_state=desired),
            opts=child(self, depends_on=list(jobs.depends_on)),
        )
        schedule = monitoring_schedule_name(plan, model.name, "model-quality")
        aws.sagemaker.MonitoringSchedule(
            f"{name}-model-quality-schedule",
            aws.sagemaker.MonitoringScheduleArgs(
                name=schedule,
                monitoring_schedule_config=aws.sagemaker.MonitoringScheduleMonitoringScheduleConfigArgs(
                    monitoring_type="ModelQuality", monitoring_job_definition_name=definition_name,
                    schedule_config=aws.sagemaker.MonitoringScheduleMonitoringScheduleConfigScheduleConfigArgs(
                        schedule_expression=schedule_expression)),
                tags=dict(plan.tags)),
            opts=child(self, depends_on=[definition]),
        )
        self.model_quality_schedule = schedule
        below = quality.direction == Direction.at_least
        self._alarm(
            f"{name}-quality-alarm", "quality",
            f"{model.name}: {quality.metric} {'below' if below else 'above'} {quality.threshold:g} on labelled traffic",
            aws.cloudwatch.MetricAlarmArgs(
                namespace=MODEL_METRICS, metric_name=metric,
                dimensions={"Endpoint": self.endpoint_name, "MonitoringSchedule": schedule},
                statistic="Average", period=alarm_period(quality.schedule), evaluation_periods=1,
                threshold=quality.threshold,
                comparison_operator="LessThanThreshold" if below else "GreaterThanThreshold"))

    # ----------------------------------------------------------------- SRE

    def _sre_alarms(self, name: str, instance_type: str) -> None:
        model = self.model
        sre = model.monitoring.sre
        assert sre is not None
        dims = {"EndpointName": self.endpoint_name, "VariantName": CHAMPION_VARIANT}
        self._alarm(
            f"{name}-invocation-errors-alarm", "invocation-errors",
            f"{model.name}: more than {sre.error_rate_percent:g} % of requests fail (4xx and 5xx)",
            aws.cloudwatch.MetricAlarmArgs(
                metric_queries=error_rate_queries(dims, ["Invocation4XXErrors", "Invocation5XXErrors"], period=300),
                evaluation_periods=3, datapoints_to_alarm=2, threshold=sre.error_rate_percent,
                comparison_operator="GreaterThanThreshold"))

        def utilisation(metric_id: str, metric: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=metric_id, return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=ENDPOINT_METRICS, metric_name=metric, dimensions=dims, stat="Average", period=300))
        self._alarm(
            f"{name}-utilization-alarm", "utilization",
            f"{model.name}: CPU (per vCPU) or memory utilisation above {sre.utilization_percent:g} %",
            aws.cloudwatch.MetricAlarmArgs(
                metric_queries=[
                    utilisation("cpu", "CPUUtilization"), utilisation("memory", "MemoryUtilization"),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="busiest", return_data=True, label="utilisation (%)",
                        # CPUUtilization sums the cores (100 % per vCPU).
                        expression=f"MAX([cpu / {vcpus(instance_type)}, memory])"),
                ],
                evaluation_periods=3, datapoints_to_alarm=3, threshold=sre.utilization_percent,
                comparison_operator="GreaterThanThreshold"))

    def _alarm(self, resource_name: str, kind: Any, description: str, args: aws.cloudwatch.MetricAlarmArgs) -> None:
        args.name = alarm_name(self.plan, self.model.name, kind)
        args.alarm_description = description
        args.alarm_actions = self.actions
        args.ok_actions = self.actions
        args.treat_missing_data = "notBreaching"
        args.tags = dict(self.plan.tags)
        aws.cloudwatch.MetricAlarm(resource_name, args, opts=child(self))


class _JobParts:
    """What both monitoring jobs share."""

    def __init__(self, *, role_arn: pulumi.Output[str], image: pulumi.Output[str], kms_key_arn: pulumi.Input[str],
                 artifact_bucket: pulumi.Output[str], data_bucket: pulumi.Output[str], vpc: VpcConfig | None,
                 depends_on: list[pulumi.Resource]) -> None:
        self.role_arn, self.image, self.kms_key_arn = role_arn, image, kms_key_arn
        self.artifact_bucket, self.data_bucket = artifact_bucket, data_bucket
        self.vpc, self.depends_on = vpc, depends_on

    @staticmethod
    def s3(bucket: pulumi.Input[str], key: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("s3://", bucket, "/", key)


def _max_runtime(schedule: Schedule) -> int:
    """A run must end before the next starts; hourly jobs get half an hour."""
    return 1800 if schedule.period_hours == 1 else 3600
