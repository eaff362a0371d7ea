"""AWS serving policies: each rule passes on the compliant prod graph and fails when one property is broken."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest
from mlops_policies.aws_serving import AWS_SERVING_POLICIES
from shared_synth import synthesized

from mlops.policies.engine import policy_resources, run_policies
from mlops.synth import synth
from mlops.synth.recorder import Recorded

POLICIES = {p.name: p for p in AWS_SERVING_POLICIES}
Breaker = Callable[[list[Recorded]], list[Recorded]]


@pytest.fixture(scope="module")
def prod_graph() -> list[Recorded]:
    return synthesized("blueprints/fraud-detection-aws.yaml", "prod").resources


def _only(records: list[Recorded], type_: str, suffix: str) -> Recorded:
    [found] = [r for r in records if r.type == type_ and r.name.endswith(suffix)]
    return found


def edit(type_: str, suffix: str, change: Callable[[Recorded], None]) -> Breaker:
    def apply(records: list[Recorded]) -> list[Recorded]:
        changed = copy.deepcopy(records)
        change(_only(changed, type_, suffix))
        return changed
    return apply


def drop(*path: str) -> Callable[[Recorded], None]:
    def change(record: Recorded) -> None:
        target = record.inputs
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


def put(value: object, *path: str) -> Callable[[Recorded], None]:
    def change(record: Recorded) -> None:
        target = record.inputs
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def first_variant(key: str, value: object) -> Callable[[Recorded], None]:
    def change(record: Recorded) -> None:
        record.inputs["productionVariants"][0][key] = value
    return change


def job(key: str, value: object, *path: str) -> Callable[[Recorded], None]:
    """Edit the processing job request a schedule's target sends (a JSON string); None deletes the key."""
    def change(record: Recorded) -> None:
        request = json.loads(record.inputs["target"]["input"])
        target = request
        for part in path:
            target = target[part]
        if value is None:
            del target[key]
        else:
            target[key] = value
        record.inputs["target"]["input"] = json.dumps(request)
    return change


CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
SCHEDULE = "aws:scheduler/schedule:Schedule"

# policy → cases: (how to break the compliant prod graph, the resource the violation names, message fragment)
BREAKS: dict[str, list[tuple[Breaker, str, str]]] = {
    "aws-sagemaker-endpoint-config-kms": [
        (edit(CONFIG, "serving-config", drop("kmsKeyArn")), "serving-config", "instance storage"),
        (edit(CONFIG, "serving-config", drop("dataCaptureConfig", "kmsKeyId")), "serving-config", "captured"),
    ],
    "aws-sagemaker-data-capture-in-production": [
        (edit(CONFIG, "serving-config", drop("dataCaptureConfig")), "serving-config", "capture"),
        (edit(CONFIG, "serving-config", put(0, "dataCaptureConfig", "initialSamplingPercentage")),
         "serving-config", "capture"),
    ],
    "aws-sagemaker-model-network-isolation": [
        (edit(MODEL, "serving-challenger-model", put(False, "enableNetworkIsolation")), "challenger-model",
         "network"),
    ],
    "aws-sagemaker-production-model-in-vpc": [
        (edit(MODEL, "serving-model", drop("vpcConfig")), "serving-model", "private subnets"),
    ],
    "aws-sagemaker-production-high-availability": [
        (edit(CONFIG, "serving-config", first_variant("initialInstanceCount", 1)), "serving-config",
         "fewer than 2"),
    ],
    "aws-sagemaker-production-auto-rollback": [
        (edit(ENDPOINT, "serving-endpoint", drop("deploymentConfig", "autoRollbackConfiguration")),
         "serving-endpoint", "rollback"),
        (edit(ENDPOINT, "serving-endpoint", drop("deploymentConfig")), "serving-endpoint", "deployment configuration"),
    ],
    "aws-sagemaker-monitoring-job-security": [
        (edit(SCHEDULE, "drift-schedule", job("EnableInterContainerTrafficEncryption", False, "NetworkConfig")),
         "drift-schedule", "inter-container"),
        (edit(SCHEDULE, "drift-schedule", job("VolumeKmsKeyId", None, "ProcessingResources", "ClusterConfig")),
         "drift-schedule", "volume encryption"),
        (edit(SCHEDULE, "quality-schedule", job("KmsKeyId", None, "ProcessingOutputConfig")), "quality-schedule",
         "output encryption"),
        (edit(SCHEDULE, "quality-schedule", job("VpcConfig", None, "NetworkConfig")), "quality-schedule",
         "private subnets (production)"),
    ],
    "aws-sns-topic-kms": [
        (edit("aws:sns/topic:Topic", "alerting-warning", drop("kmsMasterKeyId")), "alerting-warning", "KMS"),
    ],
    "aws-sns-subscription-tls": [
        (edit("aws:sns/topicSubscription:TopicSubscription", "route-0-critical", put("http", "protocol")),
         "route-0-critical", "plain HTTP"),
    ],
    "aws-sqs-kms": [
        (edit("aws:sqs/queue:Queue", "deployer-function-dlq", drop("kmsMasterKeyId")), "deployer-function-dlq",
         "KMS"),
    ],
    "aws-log-group-kms-retention": [
        (edit("aws:cloudwatch/logGroup:LogGroup", "serving-logs", drop("kmsKeyId")), "serving-logs", "KMS"),
        (edit("aws:cloudwatch/logGroup:LogGroup", "serving-logs", drop("retentionInDays")), "serving-logs",
         "forever"),
        (edit("aws:cloudwatch/logGroup:LogGroup", "serving-logs", put(90, "retentionInDays")), "serving-logs",
         "90 days"),
    ],
    "aws-lambda-resilience": [
        (edit("aws:lambda/function:Function", "deployer-function-function", drop("deadLetterConfig")),
         "deployer-function-function", "dead-letter"),
        (edit("aws:lambda/function:Function", "deployer-function-function", drop("reservedConcurrentExecutions")),
         "deployer-function-function", "reserved concurrency"),
        (edit("aws:lambda/function:Function", "deployer-function-function", drop("kmsKeyArn")),
         "deployer-function-function", "environment"),
    ],
    "aws-cloudwatch-alarm-actions": [
        (edit("aws:cloudwatch/metricAlarm:MetricAlarm", "drift-alarm", drop("alarmActions")), "drift-alarm",
         "notifies nobody"),
        (edit("aws:cloudwatch/metricAlarm:MetricAlarm", "latency-alarm", put(False, "actionsEnabled")),
         "latency-alarm", "notifies nobody"),
    ],
}
CASES = [(name, i) for name, cases in BREAKS.items() for i in range(len(cases))]


def test_at_least_eight_policies_each_with_a_violating_case() -> None:
    assert set(BREAKS) == set(POLICIES)
    assert len(POLICIES) >= 8


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policy_passes_on_compliant_graph(prod_graph: list[Recorded], name: str) -> None:
    assert run_policies([POLICIES[name]], policy_resources(prod_graph)) == []


@pytest.mark.parametrize(("name", "case"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_policy_fails_on_violating_graph(prod_graph: list[Recorded], name: str, case: int) -> None:
    breaker, culprit, fragment = BREAKS[name][case]
    violations = run_policies([POLICIES[name]], policy_resources(breaker(prod_graph)))
    assert [v.policy for v in violations] == [name]
    assert violations[0].urn is not None and violations[0].urn.endswith(culprit)
    assert fragment in violations[0].message
    assert violations[0].mandatory


def test_production_only_rules_leave_dev_alone() -> None:
    dev = synth("blueprints/fraud-detection-aws.yaml", "dev").resources
    single = edit(CONFIG, "serving-config", first_variant("initialInstanceCount", 1))(dev)
    no_vpc = [r for r in single if r.type == MODEL]
    assert all("vpcConfig" not in r.inputs for r in no_vpc)
    names = ("aws-sagemaker-production-high-availability", "aws-sagemaker-production-model-in-vpc",
             "aws-sagemaker-production-auto-rollback", "aws-sagemaker-data-capture-in-production",
             "aws-sagemaker-monitoring-job-security")  # dev jobs run outside a VPC
    assert run_policies([POLICIES[n] for n in names], policy_resources(single)) == []
