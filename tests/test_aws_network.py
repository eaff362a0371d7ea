"""AWS network under mocks: the created private network, an existing VPC, and no network in dev."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_synth import synthesized

from components.aws.network import INTERFACE_ENDPOINTS, subnet_cidrs
from mlops.blueprint import load_blueprint
from mlops.plan import plan
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

BLUEPRINT = "blueprints/fraud-detection-aws.yaml"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(BLUEPRINT, "prod")


@pytest.fixture(scope="module")
def staging() -> SynthResult:
    return synthesized(BLUEPRINT, "staging")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(BLUEPRINT, "dev")


def variant(tmp_path: Path, change: dict[str, Any], name: str = "variant.yaml") -> str:
    """The fraud-detection blueprint with top-level keys replaced, written next to the test."""
    doc = yaml.safe_load((ROOT / BLUEPRINT).read_text())
    doc.update(change)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def of(result: SynthResult, type_: str) -> list[Recorded]:
    return [r for r in result.resources if r.type == type_]


def one(result: SynthResult, suffix: str) -> Recorded:
    [found] = [r for r in result.resources if r.name.endswith(suffix)]
    return found


def test_created_network_is_private_and_spans_three_zones_in_prod(prod: SynthResult) -> None:
    [vpc] = of(prod, "aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.40.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True
    subnets = of(prod, "aws:ec2/subnet:Subnet")
    assert [s.inputs["availabilityZone"] for s in subnets] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    for subnet in subnets:
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
        assert ipaddress.ip_network(subnet.inputs["cidrBlock"]).subnet_of(ipaddress.ip_network("10.40.0.0/16"))
    assert len({s.inputs["cidrBlock"] for s in subnets}) == 3
    # No way out to the internet: no gateway of any kind, and only local routes.
    assert not [r for r in prod.resources if "internetGateway" in r.type or "natGateway" in r.type
                or r.type == "aws:ec2/route:Route"]
    [routes] = of(prod, "aws:ec2/routeTable:RouteTable")
    assert "routes" not in routes.inputs
    assert len(of(prod, "aws:ec2/routeTableAssociation:RouteTableAssociation")) == 3


def test_staging_spans_two_zones(staging: SynthResult) -> None:
    assert len(of(staging, "aws:ec2/subnet:Subnet")) == 2


def test_vpc_endpoints_for_every_service_the_platform_calls(prod: SynthResult) -> None:
    endpoints = of(prod, "aws:ec2/vpcEndpoint:VpcEndpoint")
    interface = {e.inputs["serviceName"]: e for e in endpoints if e.inputs["vpcEndpointType"] == "Interface"}
    assert set(interface) == {s.format(region="us-east-1") for s in INTERFACE_ENDPOINTS.values()}
    for needed in ("com.amazonaws.us-east-1.sagemaker.api", "com.amazonaws.us-east-1.sagemaker.runtime",
                   "com.amazonaws.us-east-1.sts", "com.amazonaws.us-east-1.logs", "com.amazonaws.us-east-1.ecr.dkr",
                   "com.amazonaws.us-east-1.kms", "aws.sagemaker.us-east-1.experiments"):
        assert needed in interface
    endpoints_sg = one(prod, "network-endpoints-sg")
    for endpoint in interface.values():
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert len(endpoint.inputs["subnetIds"]) == 3
        assert endpoint.inputs["securityGroupIds"] == [f"{endpoints_sg.name}-id"]
    [s3] = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Gateway"]
    assert s3.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert s3.inputs["routeTableIds"] == [f"{one(prod, 'network-routes').name}-id"]


def test_security_groups_admit_nothing_from_outside(prod: SynthResult) -> None:
    platform_sg = f"{one(prod, 'network-platform-sg').name}-id"
    endpoints_sg = f"{one(prod, 'network-endpoints-sg').name}-id"
    ingress = of(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    egress = of(prod, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    for rule in ingress + egress:
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs, rule.name
        assert rule.inputs["description"]
    # The endpoints answer HTTPS from the platform only; the platform talks HTTPS to them and to S3.
    [to_endpoints] = [r for r in ingress if r.inputs["securityGroupId"] == endpoints_sg]
    assert (to_endpoints.inputs["fromPort"], to_endpoints.inputs["toPort"]) == (443, 443)
    assert to_endpoints.inputs["referencedSecurityGroupId"] == platform_sg
    out = {r.name.rsplit("-", 2)[-2]: r for r in egress}
    assert out["https"].inputs["referencedSecurityGroupId"] == endpoints_sg
    assert out["s3"].inputs["prefixListId"] == "pl-fraud-detection-prod-network-s3-endpoint"
    assert out["peers"].inputs["referencedSecurityGroupId"] == platform_sg
    # The default group is taken over with no rules at all.
    default = one(prod, "network-default-sg")
    assert "ingress" not in default.inputs and "egress" not in default.inputs
    for group in of(prod, "aws:ec2/securityGroup:SecurityGroup"):
        assert "ingress" not in group.inputs and "egress" not in group.inputs


def test_flow_logs_to_an_encrypted_log_group(prod: SynthResult, dev: SynthResult) -> None:
    key = one(prod, "foundation-key")
    [flow] = of(prod, "aws:ec2/flowLog:FlowLog")
    group = one(prod, "network-flow-logs")
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["vpcId"] == f"{one(prod, 'network-vpc').name}-id"
    assert flow.inputs["logDestination"] == f"arn:mock:aws:cloudwatch/logGroup:LogGroup:{group.name}"
    assert group.inputs["kmsKeyId"] == f"arn:mock:aws:kms/key:Key:{key.name}"
    assert group.inputs["retentionInDays"] == 365
    assert group.protect and group.retain_on_delete
    trust = json.loads(one(prod, "network-flow-log-role").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "333333333333"}
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:ec2:us-east-1:333333333333:vpc-flow-log/*"}


def test_platform_key_lets_cloudwatch_logs_encrypt(prod: SynthResult) -> None:
    statements = {s["Sid"]: s for s in json.loads(one(prod, "foundation-key").inputs["policy"])["Statement"]}
    logs = statements["CloudWatchLogsEncryptLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"] == {"StringLike": {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:333333333333:log-group:*"}}
    assert statements["AccountAdministersKeyThroughIam"]["Principal"] == {
        "AWS": "arn:aws:iam::333333333333:root"}


def test_dev_has_no_network(dev: SynthResult) -> None:
    assert not [r for r in dev.resources if r.type.startswith(("aws:ec2/", "aws:vpc/"))]
    assert not [r for r in dev.resources if r.type == "mlops:index:AwsNetwork"]


def test_network_is_parented_and_tagged(prod: SynthResult) -> None:
    [component] = of(prod, "mlops:index:AwsNetwork")
    children = [r for r in prod.resources if r.parent == component.urn]
    assert len(children) == len([r for r in prod.resources if r.name.startswith("fraud-detection-prod-network-")])
    for child in children:
        if child.type not in ("aws:ec2/routeTableAssociation:RouteTableAssociation",  # not taggable
                              "aws:iam/rolePolicy:RolePolicy"):
            assert child.inputs["tags"]["environment"] == "prod", child.name


def test_subnet_ranges_are_quarters_of_the_network() -> None:
    assert subnet_cidrs("10.40.0.0/16", 3) == ["10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"]
    assert subnet_cidrs("192.168.8.0/24", 2) == ["192.168.8.0/26", "192.168.8.64/26"]


def test_existing_vpc_gets_only_the_platform_security_group(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / BLUEPRINT).read_text())
    environments = doc["environments"]
    environments["prod"]["network"] = {"vpc": "vpc-0abc", "subnets": ["subnet-a", "subnet-b"]}
    result = synth(variant(tmp_path, {"environments": environments}), "prod")
    counts = Counter(r.type for r in result.resources)
    assert counts["aws:ec2/vpc:Vpc"] == 0 and counts["aws:ec2/subnet:Subnet"] == 0
    assert counts["aws:ec2/vpcEndpoint:VpcEndpoint"] == 0 and counts["aws:ec2/flowLog:FlowLog"] == 0
    [group] = of(result, "aws:ec2/securityGroup:SecurityGroup")
    assert group.inputs["vpcId"] == "vpc-0abc"
    egress = {r.name.rsplit("-", 2)[-2]: r.inputs
              for r in of(result, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")}
    # HTTPS to the existing VPC's own range (looked up) and to S3's prefix list (looked up).
    assert egress["https"]["cidrIpv4"] == "10.0.0.0/16" and egress["https"]["toPort"] == 443
    assert egress["s3"]["prefixListId"] == "pl-mock-s3"
    # Roles reach MLflow only from that VPC.
    policy = json.loads(one(result, "governance-approver-policy").inputs["policy"])
    [mlflow] = [s for s in policy["Statement"] if s["Sid"] == "UseMlflow"]
    assert mlflow["Condition"] == {"StringEquals": {"aws:SourceVpc": "vpc-0abc"}}
    assert result.violations == []


def test_a_network_named_for_dev_is_used_in_dev(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / BLUEPRINT).read_text())
    environments = doc["environments"]
    environments["dev"]["network"] = {"vpc": "vpc-0dev", "subnets": ["subnet-a", "subnet-b"]}
    path = variant(tmp_path, {"environments": environments})
    assert plan(load_blueprint(path).blueprint, "dev").network.isolated
    result = synth(path, "dev")
    [group] = of(result, "aws:ec2/securityGroup:SecurityGroup")
    assert group.inputs["vpcId"] == "vpc-0dev"


def test_account_is_looked_up_when_the_blueprint_names_none(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / BLUEPRINT).read_text())
    environments = {env: {k: v for k, v in spec.items() if k != "account"} for env, spec in doc["environments"].items()}
    result = synth(variant(tmp_path, {"environments": environments}), "dev")  # staging and prod must name theirs
    trust = json.loads(one(result, "tracking-role").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert result.violations == []
