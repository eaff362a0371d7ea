"""AWS policies for serving, progressive delivery, deployment on approval, monitoring and alerting.

Sources: checkov's SageMaker checks (CKV_AWS_98 endpoint configurations encrypted with KMS), AWS
Security Hub SageMaker controls (SageMaker.4 production variants with more than one instance,
SageMaker.5 models with network isolation, SageMaker.3/.2-style VPC placement, inter-container
traffic encryption of monitoring jobs, in the platform's subnets in production), checkov's SNS/SQS/CloudWatch/Lambda
checks (CKV_AWS_26 SNS KMS, CKV_AWS_27 SQS encryption, CKV_AWS_158 log groups KMS, CKV_AWS_66 and
CKV_AWS_338 log retention, CKV_AWS_115 reserved concurrency, CKV_AWS_116 dead-letter queue,
CKV_AWS_173 environment encrypted), Security Hub CloudWatch.15 (alarms have actions), SNS.2-style
TLS delivery, and the platform's own rules (data capture and auto-rollback in production).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from .support import ENVIRONMENT_TAG, in_production, is_set, known, mappings, number, set_at

ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
MODEL = "aws:sagemaker/model:Model"
SCHEDULE = "aws:scheduler/schedule:Schedule"
PROCESSING_TARGET = "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
QUEUE = "aws:sqs/queue:Queue"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FUNCTION = "aws:lambda/function:Function"
PRODUCTION_LOG_DAYS = 365
MANDATORY = EnforcementLevel.MANDATORY


def _rule(resource_type: str):  # type: ignore[no-untyped-def]
    """Decorator: run the check only on resources of `resource_type`."""
    def wrap(check):  # type: ignore[no-untyped-def]
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type == resource_type:
                check(args.props, report)
        return validate
    return wrap


# --------------------------------------------------------------------------- serving


@_rule(ENDPOINT_CONFIG)
def _endpoint_config_kms(props: Mapping[str, Any], report: ReportViolation) -> None:
    if not is_set(props, "kmsKeyArn"):
        report("endpoint configuration without a KMS key for its instance storage (kms_key_arn)", None)
    capture = props.get("dataCaptureConfig") or {}
    if capture and not is_set(capture, "kmsKeyId"):
        report("captured requests are not encrypted with the platform key (data_capture_config.kms_key_id)", None)


@_rule(ENDPOINT_CONFIG)
def _data_capture_in_production(props: Mapping[str, Any], report: ReportViolation) -> None:
    capture = props.get("dataCaptureConfig") or {}
    if in_production(props) and not (capture.get("enableCapture") is not False
                                     and (capture.get("initialSamplingPercentage") or 0) > 0):
        report("production endpoint does not capture requests (prediction logging for audit and monitoring)", None)


@_rule(MODEL)
def _model_network_isolation(props: Mapping[str, Any], report: ReportViolation) -> None:
    if props.get("enableNetworkIsolation") is not True:
        report("model container may reach the network (enable_network_isolation=True)", None)


@_rule(MODEL)
def _production_model_in_vpc(props: Mapping[str, Any], report: ReportViolation) -> None:
    vpc = props.get("vpcConfig") or {}
    if in_production(props) and not (is_set(vpc, "subnets") and is_set(vpc, "securityGroupIds")):
        report("production model is not attached to the platform's private subnets (vpc_config)", None)


@_rule(ENDPOINT_CONFIG)
def _production_high_availability(props: Mapping[str, Any], report: ReportViolation) -> None:
    if not in_production(props):
        return
    for variant in mappings(props.get("productionVariants")):
        if variant.get("serverlessConfig") is None and (variant.get("initialInstanceCount") or 0) < 2:
            report(f"production variant {variant.get('variantName')} runs on fewer than 2 instances "
                   "(one availability zone failure takes it down)", None)


@_rule(ENDPOINT)
def _production_auto_rollback(props: Mapping[str, Any], report: ReportViolation) -> None:
    if not in_production(props):
        return
    deployment = props.get("deploymentConfig") or {}
    if not deployment:
        report("production endpoint without a deployment configuration: updates are not watched by alarms", None)
        return
    if not set_at(deployment, "autoRollbackConfiguration", "alarms"):
        report("production endpoint rolls out without automatic rollback alarms", None)


# --------------------------------------------------------------------------- monitoring


def _scheduled_job(props: Mapping[str, Any]) -> dict[str, Any] | None:
    """The CreateProcessingJob request a schedule starts (None: another target, or unknown in a preview)."""
    target = known(props, "target") or {}
    try:
        arn, text = target.get("arn"), target.get("input")
    except UnknownValueError:
        return None
    if arn != PROCESSING_TARGET or not isinstance(text, str):
        return None
    try:
        request = json.loads(text)
    except ValueError:
        return {}
    return request if isinstance(request, dict) else {}


@_rule(SCHEDULE)
def _monitoring_job_security(props: Mapping[str, Any], report: ReportViolation) -> None:
    """The drift and quality jobs (processing jobs a schedule starts) protect what they read and write. They are
    not network-isolated (they call S3 and CloudWatch): in production they must run in the platform's subnets."""
    request = _scheduled_job(props)
    if request is None:
        return
    cluster = (request.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    network = request.get("NetworkConfig") or {}
    missing = []
    if network.get("EnableInterContainerTrafficEncryption") is not True:
        missing.append("inter-container traffic encryption")
    if not cluster.get("VolumeKmsKeyId"):
        missing.append("volume encryption")
    if not (request.get("ProcessingOutputConfig") or {}).get("KmsKeyId"):
        missing.append("output encryption")
    tags = {t.get("Key"): t.get("Value") for t in request.get("Tags") or [] if isinstance(t, dict)}
    if tags.get(ENVIRONMENT_TAG) == "prod" and not (network.get("VpcConfig") or {}).get("Subnets"):
        missing.append("the platform's private subnets (production)")
    if missing:
        report("scheduled monitoring job without " + ", ".join(missing), None)


# --------------------------------------------------------------------------- alerting, logs, functions


@_rule(TOPIC)
def _topic_kms(props: Mapping[str, Any], report: ReportViolation) -> None:
    if not is_set(props, "kmsMasterKeyId"):
        report("SNS topic is not encrypted with a KMS key (kms_master_key_id)", None)


@_rule(SUBSCRIPTION)
def _subscription_tls(props: Mapping[str, Any], report: ReportViolation) -> None:
    protocol = props.get("protocol")
    # An endpoint unknown in a preview is another resource's ARN (a queue, a function), never a URL.
    endpoint = known(props, "endpoint")
    if protocol == "http" or (isinstance(endpoint, str) and endpoint.startswith("http://")):
        report("SNS subscription delivers over plain HTTP (use https)", None)


@_rule(QUEUE)
def _queue_encrypted(props: Mapping[str, Any], report: ReportViolation) -> None:
    if not is_set(props, "kmsMasterKeyId"):
        report("SQS queue is not encrypted with a KMS key (kms_master_key_id)", None)


@_rule(LOG_GROUP)
def _log_group(props: Mapping[str, Any], report: ReportViolation) -> None:
    if not is_set(props, "kmsKeyId"):
        report("log group is not encrypted with a KMS key (kms_key_id)", None)
    days = props.get("retentionInDays")
    if not days:
        report("log group keeps logs forever: set retention_in_days", None)
    elif in_production(props) and days < PRODUCTION_LOG_DAYS:
        report(f"production log group keeps logs {number(days)} days (at least {PRODUCTION_LOG_DAYS})", None)


@_rule(FUNCTION)
def _function_resilience(props: Mapping[str, Any], report: ReportViolation) -> None:
    if not set_at(props, "deadLetterConfig", "targetArn"):
        report("Lambda function without a dead-letter queue: failed events are lost", None)
    if props.get("reservedConcurrentExecutions") is None:
        report("Lambda function without reserved concurrency: it can starve or be starved by others", None)
    if (props.get("environment") or {}).get("variables") and not is_set(props, "kmsKeyArn"):
        report("Lambda environment is not encrypted with the platform key (kms_key_arn)", None)


@_rule(ALARM)
def _alarm_actions(props: Mapping[str, Any], report: ReportViolation) -> None:
    if props.get("actionsEnabled") is False or not is_set(props, "alarmActions"):
        report("alarm notifies nobody (alarm_actions empty or actions disabled)", None)


AWS_SERVING_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy("aws-sagemaker-endpoint-config-kms",
                             "Endpoint configurations encrypt instance storage and captured data with KMS.",
                             _endpoint_config_kms, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-sagemaker-data-capture-in-production",
                             "Production endpoints capture a share of requests and responses.",
                             _data_capture_in_production, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-sagemaker-model-network-isolation",
                             "Model containers run with network isolation.", _model_network_isolation,
                             enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-sagemaker-production-model-in-vpc",
                             "Production models run in the platform's private subnets.", _production_model_in_vpc,
                             enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-sagemaker-production-high-availability",
                             "Production variants start with at least two instances.",
                             _production_high_availability, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-sagemaker-production-auto-rollback",
                             "Production endpoints roll out under deployment guardrails with rollback alarms.",
                             _production_auto_rollback, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-sagemaker-monitoring-job-security",
                             "Scheduled drift and quality jobs encrypt volumes, outputs and inter-container "
                             "traffic, and run in the platform's private subnets in production.",
                             _monitoring_job_security, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-sns-topic-kms", "SNS topics are encrypted with KMS.", _topic_kms,
                             enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-sns-subscription-tls", "SNS subscriptions never deliver over plain HTTP.",
                             _subscription_tls, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-sqs-kms", "SQS queues are encrypted with KMS.", _queue_encrypted,
                             enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-log-group-kms-retention",
                             "Log groups are KMS-encrypted with a retention (a year at least in production).",
                             _log_group, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-lambda-resilience",
                             "Lambda functions have a dead-letter queue, reserved concurrency and an "
                             "encrypted environment.", _function_resilience, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-cloudwatch-alarm-actions", "Alarms notify someone.", _alarm_actions,
                             enforcement_level=MANDATORY),
]
