"""AWS monitoring: the platform's own scheduled drift and quality jobs, and the alarms of a model.

SageMaker Model Monitor is closed to new customers (`mlops.clouds.aws.MODEL_MONITOR_AVAILABILITY`), so no
Model Monitor resource is built: a new account could not run it, and one mechanism for every account is
simpler to test and to trust than two. Instead EventBridge Scheduler starts a SageMaker processing job
of the platform's own on the blueprint's drift and quality cron (an AWS SDK universal target,
`sagemaker:createProcessingJob`, as the batch transform schedule does), on the pipeline's pinned
scikit-learn processing image, running `components/aws/scripts/monitor_job.py` (shipped with the
stack under `names.monitoring_code_prefix`). It works for real-time models (the champion's captured
requests) and batch models (the transform's input and output) alike.

Drift compares the period's requests with the champion's baseline (the training pipeline's Baseline step
computes it, the deployer stages it under `names.baseline_prefix` on approval) by the blueprint's method
and publishes `mlops_drift_<method>` (dimension Model: the largest score; Model and Feature: each
feature) in the platform's namespace (`names.metrics_namespace`). Quality joins the predictions of the
period that ended `label_delay_hours` ago with the ground truth under `ground-truth/<model>/` (CSV
`id,label`) and publishes `mlops_quality_<metric>`. The drift and quality alarms watch those metrics;
the retraining rules watch the alarms.

The job reads S3 and publishes metrics itself, so it cannot be network-isolated (an isolated container
has no network at all); where the environment is isolated it runs in the platform's private subnets,
whose only way out is the VPC endpoints (S3 gateway, CloudWatch `monitoring`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.model import DriftPlan, QualityPlan
from mlops.plan.schedule import Schedule
from mlops.plan.vocabulary import Direction, ServingMode

from .account import account_arn, account_id
from .cron import eventbridge_cron
from .iam import Statement, policy_document, sagemaker_role
from .images import PROCESSING
from .instances import ml_instance_type, vcpus
from .names import (
    CHAMPION_VARIANT,
    MonitorKind,
    alarm_name,
    baseline_prefix,
    batch_input_prefix,
    capture_prefix,
    endpoint_name,
    ground_truth_prefix,
    metrics_namespace,
    monitor_job_prefix,
    monitor_schedule_name,
    monitoring_code_prefix,
    monitoring_reports_prefix,
    partition,
    sagemaker_name,
)
from .network import VpcConfig
from .serving import ENDPOINT_METRICS, batch_output_arn, error_rate_queries, network_statements

SCRIPTS_DIR = Path(__file__).parent / "scripts"
SCRIPTS = ("monitor_job.py", "drift_methods.py", "quality_metrics.py", "baseline.py")
"""The job's code folder: the entry point and the modules it imports (the drift baseline's own statistics)."""
ENTRY_POINT = "monitor_job.py"
MONITOR_INSTANCE = "ml.m5.xlarge"
MONITOR_VOLUME_GB = 20
CODE = "/opt/ml/processing/input/code"
OUTPUT = "/opt/ml/processing/output"
PROCESSING_TARGET = "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
EXECUTION_ID = "<aws.scheduler.execution-id>"


def alarm_period(schedule: Schedule) -> int:
    """A metric published once per run: the alarm looks at one run (CloudWatch periods stop at a day)."""
    return min(schedule.period_hours, 24) * 3600


def max_runtime(schedule: Schedule) -> int:
    """A run must end before the next starts; hourly jobs get half an hour."""
    return 1800 if schedule.period_hours == 1 else 3600


def _s3(bucket: pulumi.Input[str], key: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("s3://", bucket, "/", key)


@builds(Capability.drift_monitoring, Capability.quality_monitoring, Capability.sre_alarms)
class SageMakerMonitor(pulumi.ComponentResource):
    """Monitoring of one model: scheduled drift and quality jobs of the platform's own, and their alarms.

    Creates, with drift or quality: `-role` + `-policy` (the jobs' execution role: read this model's
    captured requests or batch input/output, its ground truth, baseline and job code; write its report
    prefix; the platform key, job logs, the platform subnets; `cloudwatch:PutMetricData` only in the
    platform's namespace), `-code-<script>` (the job's code folder, SSE-KMS), `-scheduler-role` +
    `-scheduler-policy` (Scheduler may start this model's monitoring jobs, with KMS on volumes and
    outputs, inter-container encryption and, where isolated, the platform subnets, and pass the jobs'
    role), `-dlq` (SQS, KMS: failed invocations); with drift `-drift-schedule` (EventBridge Scheduler,
    the drift cron in UTC, KMS, target CreateProcessingJob) and `-drift-alarm` (`mlops_drift_<method>`
    above the blueprint's threshold); with quality `-quality-schedule` and `-quality-alarm` (the metric
    on the wrong side of its threshold). Real-time models with SRE alarms: `-invocation-errors-alarm`
    (4xx+5xx rate) and `-utilization-alarm` (CPU per vCPU or memory). Alarms are named
    `names.alarm_name(plan, model, kind)`.

    Outputs: drift_schedule, quality_schedule (names; empty when not monitored).
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, kms_key_arn: pulumi.Input[str],
                 artifact_bucket: aws.s3.Bucket, data_bucket: aws.s3.Bucket, vpc: VpcConfig | None,
                 alarm_topic_arn: pulumi.Input[str] | None, opts: pulumi.ResourceOptions | None = None) -> None:
        # The component was `SageMakerModelMonitor`: the alias keeps its alarms (same physical names) in place.
        super().__init__(f"{TYPE_PREFIX}SageMakerMonitor", name, None, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=f"{TYPE_PREFIX}SageMakerModelMonitor")])))
        serving = model.serving
        assert serving is not None
        self.plan, self.model, self.kms_key_arn, self.vpc = plan, model, kms_key_arn, vpc
        self.realtime = serving.mode == ServingMode.realtime
        self.actions = [alarm_topic_arn] if alarm_topic_arn is not None else None
        self.artifact_bucket, self.data_bucket = artifact_bucket, data_bucket
        mon = model.monitoring
        self.drift_schedule = ""
        self.quality_schedule = ""
        if mon.drift is not None or mon.quality is not None:
            self.account = account_id(plan, self)
            self.role, policy = sagemaker_role(self, name, plan, self.account, f"monitors {model.name}",
                                               self._statements())
            code = [aws.s3.BucketObjectv2(
                f"{name}-code-{script.removesuffix('.py').replace('_', '-')}",
                aws.s3.BucketObjectv2Args(bucket=artifact_bucket.bucket,
                                          key=f"{monitoring_code_prefix(model.name)}/{script}",
                                          content=(SCRIPTS_DIR / script).read_text(encoding="utf-8"),
                                          content_type="text/x-python", server_side_encryption="aws:kms",
                                          kms_key_id=kms_key_arn, tags=dict(plan.tags)),
                opts=child(self)) for script in SCRIPTS]
            self.image = aws.sagemaker.get_prebuilt_ecr_image_output(
                repository_name=PROCESSING.repository, image_tag=PROCESSING.tag, region=plan.region,
                opts=pulumi.InvokeOutputOptions(parent=self)).registry_path
            self.dlq = aws.sqs.Queue(
                f"{name}-dlq",
                aws.sqs.QueueArgs(name=sagemaker_name(f"{plan.prefix}-{model.name}-monitor-dlq"),
                                  kms_master_key_id=kms_key_arn, kms_data_key_reuse_period_seconds=300,
                                  message_retention_seconds=14 * 24 * 3600, tags=dict(plan.tags)),
                opts=child(self))
            self.scheduler_role = self._scheduler_role(name)
            self.ready: list[pulumi.Resource] = [policy, *code, self.scheduler_policy]
            if mon.drift is not None:
                self._drift(name, mon.drift)
            if mon.quality is not None:
                self._quality(name, mon.quality)
        if mon.sre is not None and self.realtime:
            self._sre_alarms(name, ml_instance_type(serving.instance))
        self.register_outputs({"drift_schedule": self.drift_schedule, "quality_schedule": self.quality_schedule})

    # ----------------------------------------------------------------- where the jobs read

    def _inputs(self) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """(requests, predictions) URIs: the champion's captured traffic, or the batch input and output."""
        m, serving = self.model.name, self.model.serving
        assert serving is not None
        if self.realtime:
            captured = _s3(self.data_bucket.bucket,
                           f"{capture_prefix(m)}/{endpoint_name(self.plan, m)}/{CHAMPION_VARIANT}/")
            return captured, captured
        output: pulumi.Output[str] = pulumi.Output.from_input(serving.output_uri) if serving.output_uri \
            else _s3(self.artifact_bucket.bucket, f"batch/{m}/output/")
        return _s3(self.data_bucket.bucket, f"{batch_input_prefix(m)}/"), output

    def _statements(self) -> list[Statement]:
        plan, m = self.plan, self.model.name
        serving = self.model.serving
        assert serving is not None
        data, artifacts = self.data_bucket.arn, self.artifact_bucket.arn
        requests = f"{capture_prefix(m)}/*" if self.realtime else f"{batch_input_prefix(m)}/*"
        data_prefixes = [requests, f"{ground_truth_prefix(m)}/*"]
        reads: list[pulumi.Input[str]] = [pulumi.Output.concat(data, "/", p) for p in data_prefixes]
        artifact_prefixes = [f"{monitoring_code_prefix(m)}/*"]
        statements: list[Statement] = []
        if not self.realtime:
            output = batch_output_arn(plan, serving.output_uri, artifacts, m)
            reads.append(output)
            if serving.output_uri is None:
                artifact_prefixes.append(f"batch/{m}/output/*")
            else:  # the blueprint's own output bucket: list the output prefix only
                bucket, _, prefix = serving.output_uri.removeprefix("s3://").partition("/")
                statements.append(Statement(
                    Sid="ListBatchPredictions", Effect="Allow", Action="s3:ListBucket",
                    Resource=f"arn:{partition(plan.region)}:s3:::{bucket}",
                    Condition={"StringLike": {"s3:prefix": f"{prefix.rstrip('/') + '/' if prefix else ''}*"}}))
        return [
            Statement(Sid="ReadMonitoredDataAndLabels", Effect="Allow", Action="s3:GetObject", Resource=reads),
            Statement(Sid="ListMonitoredDataAndLabels", Effect="Allow", Action="s3:ListBucket", Resource=data,
                      Condition={"StringLike": {"s3:prefix": data_prefixes}}),
            *statements,
            Statement(Sid="ReadBaselineAndCode", Effect="Allow", Action="s3:GetObject",
                      Resource=[pulumi.Output.concat(artifacts, f"/{baseline_prefix(m)}/*"),
                                *(pulumi.Output.concat(artifacts, "/", p) for p in artifact_prefixes)]),
            Statement(Sid="ListCodeAndPredictions", Effect="Allow", Action="s3:ListBucket", Resource=artifacts,
                      Condition={"StringLike": {"s3:prefix": artifact_prefixes}}),
            Statement(Sid="WriteReports", Effect="Allow", Action=["s3:PutObject", "s3:AbortMultipartUpload"],
                      Resource=pulumi.Output.concat(artifacts, f"/{monitoring_reports_prefix(m)}/*")),
            Statement(Sid="UsePlatformKey", Effect="Allow",
                      Action=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                      Resource=self.kms_key_arn),
            Statement(Sid="GrantKeyToJobVolumes", Effect="Allow", Action="kms:CreateGrant", Resource=self.kms_key_arn,
                      Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
            Statement(Sid="WriteJobLogs", Effect="Allow",
                      Action=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                              "logs:DescribeLogStreams"],
                      Resource=account_arn(plan, self.account, "logs", "log-group:/aws/sagemaker/ProcessingJobs:*")),
            # cloudwatch:PutMetricData has no resource-level permission: the platform's namespace only.
            Statement(Sid="PublishMonitoringMetrics", Effect="Allow", Action="cloudwatch:PutMetricData",
                      Resource="*", Condition={"StringEquals": {"cloudwatch:namespace": metrics_namespace(plan)}}),
            *network_statements(plan, self.account, self.vpc),
        ]

    # ----------------------------------------------------------------- who starts the jobs

    def _scheduler_role(self, name: str) -> aws.iam.Role:
        plan, model = self.plan, self.model
        jobs: list[pulumi.Input[str]] = [account_arn(plan, self.account, "sagemaker",
                            f"processing-job/{monitor_job_prefix(plan, model.name, kind)}-*")
                for kind in ("drift", "quality") if getattr(model.monitoring, kind) is not None]
        trust = Statement(Effect="Allow", Principal={"Service": "scheduler.amazonaws.com"}, Action="sts:AssumeRole",
                          Condition={"StringEquals": {"aws:SourceAccount": self.account}})
        role = aws.iam.Role(
            f"{name}-scheduler-role",
            aws.iam.RoleArgs(description=f"{plan.prefix}: starts the drift and quality jobs of {model.name}",
                             assume_role_policy=policy_document(trust), max_session_duration=3600,
                             tags=dict(plan.tags)),
            opts=child(self))
        # The job request is the Scheduler target's input: the role refuses one without the protections.
        protected: dict[str, dict[str, Any]] = {
            "Bool": {"sagemaker:InterContainerTrafficEncryption": "true"},
            "ArnEquals": {"sagemaker:OutputKmsKey": self.kms_key_arn, "sagemaker:VolumeKmsKey": self.kms_key_arn},
        }
        if self.vpc is not None:
            protected["Null"] = {"sagemaker:VpcSubnets": "false"}
        self.scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            aws.iam.RolePolicyArgs(role=role.id, policy=policy_document(
                Statement(Sid="StartMonitoringJobs", Effect="Allow", Action="sagemaker:CreateProcessingJob",
                          Resource=jobs, Condition=protected),
                Statement(Sid="TagMonitoringJobs", Effect="Allow", Action="sagemaker:AddTags", Resource=jobs),
                Statement(Sid="PassMonitoringRole", Effect="Allow", Action="iam:PassRole", Resource=self.role.arn,
                          Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
                Statement(Sid="DeadLetter", Effect="Allow", Action="sqs:SendMessage", Resource=self.dlq.arn),
                Statement(Sid="UsePlatformKey", Effect="Allow", Action=["kms:GenerateDataKey", "kms:Decrypt"],
                          Resource=self.kms_key_arn),
            )),
            opts=child(self))
        return role

    # ----------------------------------------------------------------- the jobs

    def _job(self, kind: MonitorKind, schedule: Schedule, environment: dict[str, pulumi.Input[str]]) -> Any:
        """The CreateProcessingJob request of one run (Scheduler fills in its execution id and time)."""
        plan, m = self.plan, self.model.name
        network: dict[str, Any] = {"EnableInterContainerTrafficEncryption": True,
                                   # The job calls S3 and CloudWatch itself (see the module docstring).
                                   "EnableNetworkIsolation": False}
        if self.vpc is not None:
            network["VpcConfig"] = {"Subnets": self.vpc.subnet_ids, "SecurityGroupIds": self.vpc.security_group_ids}
        return pulumi.Output.json_dumps({
            "ProcessingJobName": f"{monitor_job_prefix(plan, m, kind)}-{EXECUTION_ID}",
            "RoleArn": self.role.arn,
            "AppSpecification": {"ImageUri": self.image, "ContainerEntrypoint": ["python3", f"{CODE}/{ENTRY_POINT}"]},
            "ProcessingInputs": [{"InputName": "code", "S3Input": {
                "S3Uri": _s3(self.artifact_bucket.bucket, f"{monitoring_code_prefix(m)}/"), "LocalPath": CODE,
                "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}],
            "ProcessingOutputConfig": {"KmsKeyId": self.kms_key_arn, "Outputs": [{"OutputName": "report", "S3Output": {
                "S3Uri": _s3(self.artifact_bucket.bucket, f"{monitoring_reports_prefix(m)}/{kind}/"),
                "LocalPath": OUTPUT, "S3UploadMode": "EndOfJob"}}]},
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": MONITOR_INSTANCE,
                                                      "VolumeSizeInGB": MONITOR_VOLUME_GB,
                                                      "VolumeKmsKeyId": self.kms_key_arn}},
            "NetworkConfig": network,
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime(schedule)},
            "Environment": {
                "MLOPS_KIND": kind, "MLOPS_MODEL": m, "MLOPS_NAMESPACE": metrics_namespace(plan),
                "MLOPS_REGION": plan.region, "MLOPS_SCHEDULED_TIME": SCHEDULED_TIME,
                "MLOPS_PERIOD_HOURS": str(schedule.period_hours),
                "MLOPS_SOURCE": "capture" if self.realtime else "batch", **environment},
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(plan.tags.items())],
        })

    def _schedule(self, name: str, kind: MonitorKind, schedule: Schedule, job: Any) -> str:
        plan = self.plan
        schedule_name = monitor_schedule_name(plan, self.model.name, kind)
        aws.scheduler.Schedule(
            f"{name}-{kind}-schedule",
            aws.scheduler.ScheduleArgs(
                name=schedule_name,
                description=f"{kind.capitalize()} monitoring of {self.model.name} ({plan.prefix})",
                schedule_expression=eventbridge_cron(schedule), schedule_expression_timezone="UTC",
                kms_key_arn=self.kms_key_arn,  # the job request (bucket names, key ARN) is encrypted at rest
                flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                target=aws.scheduler.ScheduleTargetArgs(
                    arn=PROCESSING_TARGET, role_arn=self.scheduler_role.arn, input=job,
                    retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(maximum_retry_attempts=3,
                                                                             maximum_event_age_in_seconds=3600),
                    dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(arn=self.dlq.arn))),
            opts=child(self, depends_on=self.ready))
        return schedule_name

    def _drift(self, name: str, drift: DriftPlan) -> None:
        requests, _ = self._inputs()
        statistics = _s3(self.artifact_bucket.bucket, f"{baseline_prefix(self.model.name)}/statistics.json")
        job = self._job("drift", drift.schedule, {
            "MLOPS_INPUT_URI": requests, "MLOPS_BASELINE_URI": statistics,
            "MLOPS_METHOD": drift.method.value, "MLOPS_THRESHOLD": f"{drift.threshold:g}",
            "MLOPS_FEATURES": ",".join(drift.features)})
        self.drift_schedule = self._schedule(name, "drift", drift.schedule, job)
        self._alarm(
            f"{name}-drift-alarm", "drift",
            f"{self.model.name}: {drift.method.value} drift above {drift.threshold:g} "
            f"({', '.join(drift.features) or 'any feature'})",
            aws.cloudwatch.MetricAlarmArgs(
                namespace=metrics_namespace(self.plan), metric_name=f"mlops_drift_{drift.method.value}",
                dimensions={"Model": self.model.name}, statistic="Maximum", period=alarm_period(drift.schedule),
                evaluation_periods=1, threshold=drift.threshold, comparison_operator="GreaterThanThreshold"))

    def _quality(self, name: str, quality: QualityPlan) -> None:
        _, predictions = self._inputs()
        job = self._job("quality", quality.schedule, {
            "MLOPS_PREDICTIONS_URI": predictions,
            "MLOPS_GROUND_TRUTH_URI": _s3(self.data_bucket.bucket, f"{ground_truth_prefix(self.model.name)}/"),
            "MLOPS_METRIC": quality.metric, "MLOPS_THRESHOLD": f"{quality.threshold:g}",
            "MLOPS_DIRECTION": quality.direction.value, "MLOPS_LABEL_DELAY_HOURS": str(quality.label_delay_hours)})
        self.quality_schedule = self._schedule(name, "quality", quality.schedule, job)
        below = quality.direction == Direction.at_least
        self._alarm(
            f"{name}-quality-alarm", "quality",
            f"{self.model.name}: {quality.metric} {'below' if below else 'above'} {quality.threshold:g} "
            "on labelled predictions",
            aws.cloudwatch.MetricAlarmArgs(
                namespace=metrics_namespace(self.plan), metric_name=f"mlops_quality_{quality.metric}",
                dimensions={"Model": self.model.name}, statistic="Average", period=alarm_period(quality.schedule),
                evaluation_periods=1, threshold=quality.threshold,
                comparison_operator="LessThanThreshold" if below else "GreaterThanThreshold"))

    # ----------------------------------------------------------------- SRE

    def _sre_alarms(self, name: str, instance_type: str) -> None:
        model = self.model
        sre = model.monitoring.sre
        assert sre is not None
        dims = {"EndpointName": endpoint_name(self.plan, model.name), "VariantName": CHAMPION_VARIANT}
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
        # No requests or no labels in a period: no value, and no alarm.
        args.treat_missing_data = "notBreaching"
        args.tags = dict(self.plan.tags)
        aws.cloudwatch.MetricAlarm(resource_name, args, opts=child(self))

