"""AWS platform policies: each rule passes on the compliant prod graph and fails on a violating one."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from mlops_policies.aws_platform import AWS_PLATFORM_POLICIES, is_read
from shared_synth import synthesized

from mlops.policies import ALL_POLICIES
from mlops.policies.engine import policy_resources, run_policies
from mlops.synth import synth
from mlops.synth.recorder import Recorded

POLICIES = {p.name: p for p in AWS_PLATFORM_POLICIES}
Graph = list[Recorded]


@pytest.fixture(scope="module")
def prod_graph() -> Graph:
    return synthesized("blueprints/fraud-detection-aws.yaml", "prod").resources


def _only(records: Graph, suffix: str, type_: str | None = None) -> Recorded:
    [found] = [r for r in records if r.name.endswith(suffix) and (type_ is None or r.type == type_)]
    return found


def edit(suffix: str, change: Callable[[dict[str, Any]], None], type_: str | None = None) -> Callable[[Graph], Graph]:
    def apply(records: Graph) -> Graph:
        changed = copy.deepcopy(records)
        change(_only(changed, suffix, type_).inputs)
        return changed
    return apply


def drop(suffix: str) -> Callable[[Graph], Graph]:
    return lambda records: [r for r in records if not r.name.endswith(suffix)]


def add(type_: str, name: str, inputs: dict[str, Any]) -> Callable[[Graph], Graph]:
    def apply(records: Graph) -> Graph:
        return [*records, Recorded(urn=f"urn:pulumi:prod::mlops-blueprints::{type_}::{name}", type=type_, name=name,
                                   parent=None, custom=True, inputs=inputs, protect=False, retain_on_delete=False,
                                   dependencies=[], property_dependencies={}, provider=None)]
    return apply


def document(key: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """Edit a JSON policy document held in an input."""
    def apply(inputs: dict[str, Any]) -> None:
        parsed = json.loads(inputs[key])
        change(parsed)
        inputs[key] = json.dumps(parsed)
    return apply


def statement(extra: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc["Statement"].append(extra)


def setting(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or, with value None, remove) a nested input by dotted path."""
    def apply(inputs: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = inputs
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return apply


def open_trust(doc: dict[str, Any]) -> None:
    doc["Statement"][0]["Principal"] = {"AWS": "*"}
    doc["Statement"][0].pop("Condition", None)


def unconditioned_mlflow(doc: dict[str, Any]) -> None:
    for s in doc["Statement"]:
        if s["Sid"] == "UseMlflow":
            s.pop("Condition")


ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

# policy → cases: (how to break the compliant prod graph, the resource named, or None for the stack)
BREAKS: dict[str, list[tuple[Callable[[Graph], Graph], str | None]]] = {
    "aws-iam-no-wildcard-actions": [
        (edit("governance-data-scientist-policy", document("policy", statement(
            {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "arn:aws:sagemaker:*:*:*"}))),
         "governance-data-scientist-policy"),
        (edit("tracking-policy", document("policy", statement(
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))), "tracking-policy"),
    ],
    "aws-iam-no-star-resource-writes": [
        (edit("tracking-policy", document("policy", statement(
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}))), "tracking-policy"),
    ],
    "aws-iam-no-managed-full-access": [
        (add(ATTACHMENT, "sagemaker-full-access", {
            "role": "x", "policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"}), "sagemaker-full-access"),
        (edit("governance-approver", setting("managedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess"]),
              "aws:iam/role:Role"), "governance-approver"),
    ],
    "aws-iam-inline-policy-size": [
        (edit("governance-approver-policy", document("policy", lambda doc: doc["Statement"].extend(
            {"Sid": f"Padding{i}", "Effect": "Allow", "Action": "sagemaker:DescribeModelCard",
             "Resource": f"arn:aws:sagemaker:us-east-1:333333333333:model-card/card-{i:04d}-" + "x" * 64}
            for i in range(100)))), "governance-approver"),
    ],
    "aws-iam-trust-no-wildcard-principal": [
        (edit("tracking-role", document("assumeRolePolicy", open_trust)), "tracking-role"),
    ],
    "aws-cloudtrail-log-validation": [
        (edit("governance-trail", setting("enableLogFileValidation", False)), "governance-trail"),
    ],
    "aws-cloudtrail-kms": [(edit("governance-trail", setting("kmsKeyId", None)), "governance-trail")],
    "aws-cloudtrail-multi-region": [
        (edit("governance-trail", setting("isMultiRegionTrail", False)), "governance-trail"),
        (edit("governance-trail", setting("includeGlobalServiceEvents", False)), "governance-trail"),
    ],
    "aws-audit-trail": [
        (drop("governance-trail"), None),
        (edit("governance-trail", lambda i: i.update(advancedEventSelectors=i["advancedEventSelectors"][:1])),
         "governance-trail"),
    ],
    "aws-vpc-flow-logs": [(drop("network-flow-log"), "network-vpc")],
    "aws-vpc-default-security-group-closed": [
        (edit("network-default-sg", setting("ingress", [{"protocol": "-1", "fromPort": 0, "toPort": 0,
                                                           "self": True}])), "network-vpc"),
        (drop("network-default-sg"), "network-vpc"),
    ],
    "aws-security-group-no-internet-ingress": [
        (edit("network-endpoints-https-in", lambda i: (i.pop("referencedSecurityGroupId"),
                                                       i.update(cidrIpv4="0.0.0.0/0"))), "network-endpoints-https-in"),
        (edit("network-platform-sg", setting("ingress", [{"protocol": "tcp", "fromPort": 22, "toPort": 22,
                                                          "ipv6CidrBlocks": ["::/0"]}])), "network-platform-sg"),
        (add("aws:ec2/securityGroupRule:SecurityGroupRule", "ssh-from-anywhere", {
            "type": "ingress", "protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"],
            "securityGroupId": "sg"}), "ssh-from-anywhere"),
    ],
    "aws-subnet-no-public-ip": [(edit("network-subnet-0", setting("mapPublicIpOnLaunch", True)), "network-subnet-0")],
    "aws-feature-group-online-kms": [
        (edit("features-card", setting("onlineStoreConfig.securityConfig", None),
              "aws:sagemaker/featureGroup:FeatureGroup"), "features-card"),
    ],
    "aws-feature-group-offline-kms": [
        (edit("features-card", setting("offlineStoreConfig.s3StorageConfig.kmsKeyId", None),
              "aws:sagemaker/featureGroup:FeatureGroup"), "features-card"),
    ],
    "aws-mlflow-private": [
        (drop("network-endpoint-mlflow"), "tracking-server"),
        (edit("governance-approver-policy", document("policy", unconditioned_mlflow)), "governance-approver-policy"),
    ],
    "aws-mlflow-gated-registration": [
        (edit("tracking-server", setting("automaticModelRegistration", True)), "tracking-server"),
    ],
    "aws-model-card-kms": [(edit("card-fraud-scorer", setting("securityConfig", None)), "card-fraud-scorer")],
    "aws-budget-in-production": [
        (drop("cost-budget"), None),
        (edit("cost-budget", lambda i: [n.pop("subscriberSnsTopicArns") for n in i["notifications"]]), "cost-budget"),
    ],
}
CASES = [(name, i) for name, cases in BREAKS.items() for i in range(len(cases))]


def test_at_least_eight_platform_policies_each_with_a_violating_case() -> None:
    assert len(POLICIES) >= 8
    assert set(BREAKS) == set(POLICIES)
    names = [p.name for p in ALL_POLICIES]
    assert len(names) == len(set(names)), "policy names must be unique across the pack"


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_policy_passes_on_compliant_graph(prod_graph: Graph, name: str) -> None:
    assert run_policies([POLICIES[name]], policy_resources(prod_graph)) == []


@pytest.mark.parametrize(("name", "case"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_policy_fails_on_violating_graph(prod_graph: Graph, name: str, case: int) -> None:
    breaker, culprit = BREAKS[name][case]
    violations = run_policies([POLICIES[name]], policy_resources(breaker(prod_graph)))
    assert [v.policy for v in violations] == [name], violations
    assert violations[0].mandatory
    if culprit is None:
        assert violations[0].urn is None
    else:
        assert violations[0].urn is not None and violations[0].urn.endswith(culprit), violations[0]


def test_dev_stack_passes_every_platform_policy() -> None:
    dev = synth("blueprints/fraud-detection-aws.yaml", "dev")
    assert run_policies(AWS_PLATFORM_POLICIES, policy_resources(dev.resources)) == []


def test_budget_is_not_required_outside_production(prod_graph: Graph) -> None:
    dev = synth("blueprints/fraud-detection-aws.yaml", "dev").resources
    without = [r for r in dev if not r.name.endswith("cost-budget")]
    assert run_policies([POLICIES["aws-budget-in-production"]], policy_resources(without)) == []


def test_read_actions_are_told_from_writes() -> None:
    assert all(is_read(a) for a in ("sagemaker:DescribeEndpoint", "s3:GetObject", "sagemaker:ListModels",
                                     "sagemaker:Search", "sagemaker:BatchGetRecord"))
    assert not any(is_read(a) for a in ("s3:PutObject", "sagemaker:CreateTrainingJob", "iam:PassRole",
                                        "sagemaker-mlflow:AccessUI"))
