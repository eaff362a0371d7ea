"""AWS network: where jobs, models, endpoints and the tracking server run."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .account import account_arn, account_id
from .iam import Statement, policy_document


@dataclass(frozen=True)
class VpcConfig:
    """The subnets and security groups SageMaker resources attach to (None when not isolated)."""

    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]


# Interface endpoints of the AWS services that jobs, models and endpoints inside the network call
# (resource-name suffix → service name; `{region}` is filled in). Without them a subnet with no
# route to the internet cannot reach the APIs at all.
INTERFACE_ENDPOINTS: dict[str, str] = {
    "sagemaker-api": "com.amazonaws.{region}.sagemaker.api",  # CreateTrainingJob, Describe…, pipelines
    "sagemaker-runtime": "com.amazonaws.{region}.sagemaker.runtime",  # InvokeEndpoint
    "featurestore-runtime": "com.amazonaws.{region}.sagemaker.featurestore-runtime",  # Get/PutRecord
    "mlflow": "aws.sagemaker.{region}.experiments",  # SageMaker managed MLflow (PrivateLink)
    "sts": "com.amazonaws.{region}.sts",
    "logs": "com.amazonaws.{region}.logs",
    "ecr-api": "com.amazonaws.{region}.ecr.api",  # container images: auth and manifests …
    "ecr-dkr": "com.amazonaws.{region}.ecr.dkr",  # … layers come from S3 through the gateway endpoint
    "kms": "com.amazonaws.{region}.kms",
    "monitoring": "com.amazonaws.{region}.monitoring",  # CloudWatch metrics
    "events": "com.amazonaws.{region}.events",  # EventBridge
}
# Availability zones the created network spans: production endpoints spread over three.
ZONES = {"dev": 2, "staging": 2, "prod": 3}
HTTPS = 443


def subnet_cidrs(cidr: str, count: int) -> list[str]:
    """The first `count` quarters of the network's range (a /16 gives /18 subnets)."""
    network = ipaddress.ip_network(cidr)
    return [str(s) for s in network.subnets(prefixlen_diff=2)][:count]


@builds(Capability.foundation)
class AwsNetwork(pulumi.ComponentResource):
    """Private network for the platform: no internet gateway, no public addresses.

    With `network.vpc` (an existing VPC) it creates only `-platform-sg` in that VPC and uses the
    subnets given: the existing network must already reach the AWS APIs (its own or a central
    hub's VPC endpoints); the security group allows HTTPS to the VPC's range and to S3.

    Otherwise it creates `-vpc` (DNS on, the plan's range), `-default-sg` (the VPC's default
    security group stripped of every rule), `-flow-logs` (KMS-encrypted log group),
    `-flow-log-role` + `-flow-log-policy` + `-flow-log` (all traffic), `-subnet-<n>` (private, one
    per availability zone), `-routes` with `-routes-<n>` associations (local routes only),
    `-s3-endpoint` (gateway), `-endpoints-sg` (HTTPS in from the platform only) and
    `-endpoint-<service>` (interface endpoints with private DNS, see INTERFACE_ENDPOINTS).

    Both ways: `-platform-sg`, the group jobs, models and endpoints attach to: members talk to one
    another (distributed training), HTTPS out to the endpoints and S3, nothing in from outside.

    Outputs: vpc_id, subnet_ids, security_group_id; `config` is the VpcConfig others attach to.
    """

    config: VpcConfig

    def __init__(self, name: str, plan: Plan, *, kms_key_arn: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsNetwork", name, None, opts)
        tags = dict(plan.tags)
        net = plan.network
        if net.existing_vpc:
            vpc_id: pulumi.Input[str] = net.existing_vpc
            subnet_ids: list[pulumi.Input[str]] = list(net.subnets)
            # The existing network's range and S3's addresses are looked up (invokes) only here.
            invoke = pulumi.InvokeOutputOptions(parent=self)
            vpc_cidr: pulumi.Input[str] = aws.ec2.get_vpc_output(id=net.existing_vpc, opts=invoke).cidr_block
            s3_prefix_list: pulumi.Input[str] = aws.ec2.get_prefix_list_output(
                name=f"com.amazonaws.{plan.region}.s3", opts=invoke).id
            https_to: tuple[str, pulumi.Input[str]] = ("cidr", vpc_cidr)
            platform_sg = self._platform_group(name, plan, vpc_id, tags)
        else:
            vpc = aws.ec2.Vpc(
                f"{name}-vpc",
                aws.ec2.VpcArgs(cidr_block=net.cidr, enable_dns_support=True, enable_dns_hostnames=True,
                                tags={**tags, "Name": plan.prefix}),
                opts=child(self),
            )
            vpc_id = vpc.id
            # Nothing may use the default group by accident (CIS 5.4 / checkov CKV2_AWS_12).
            aws.ec2.DefaultSecurityGroup(f"{name}-default-sg",
                                         aws.ec2.DefaultSecurityGroupArgs(vpc_id=vpc.id, tags=tags),
                                         opts=child(self))
            self._flow_logs(name, plan, vpc, kms_key_arn, tags)
            zones = aws.get_availability_zones_output(
                state="available", region=plan.region,
                filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
                opts=pulumi.InvokeOutputOptions(parent=self))
            routes = aws.ec2.RouteTable(
                f"{name}-routes",
                aws.ec2.RouteTableArgs(vpc_id=vpc.id, tags={**tags, "Name": f"{plan.prefix}-private"}),
                opts=child(self))
            subnet_ids = []
            for i, cidr in enumerate(subnet_cidrs(net.cidr, ZONES[plan.environment])):
                subnet = aws.ec2.Subnet(
                    f"{name}-subnet-{i}",
                    aws.ec2.SubnetArgs(
                        vpc_id=vpc.id,
                        cidr_block=cidr,
                        # A region with fewer zones than asked reuses the first ones.
                        availability_zone=zones.names.apply(lambda names, i=i: names[i % len(names)]),
                        map_public_ip_on_launch=False,
                        tags={**tags, "Name": f"{plan.prefix}-private-{i}"},
                    ),
                    opts=child(self),
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-routes-{i}",
                    aws.ec2.RouteTableAssociationArgs(route_table_id=routes.id, subnet_id=subnet.id),
                    opts=child(self))
                subnet_ids.append(subnet.id)
            s3 = aws.ec2.VpcEndpoint(
                f"{name}-s3-endpoint",
                aws.ec2.VpcEndpointArgs(vpc_id=vpc.id, service_name=f"com.amazonaws.{plan.region}.s3",
                                        vpc_endpoint_type="Gateway", route_table_ids=[routes.id], tags=tags),
                opts=child(self),
            )
            s3_prefix_list = s3.prefix_list_id
            platform_sg = self._platform_group(name, plan, vpc_id, tags)
            endpoints_sg = aws.ec2.SecurityGroup(
                f"{name}-endpoints-sg",
                aws.ec2.SecurityGroupArgs(vpc_id=vpc.id, description=f"{plan.prefix}: interface VPC endpoints",
                                          tags=tags),
                opts=child(self),
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-endpoints-https-in",
                aws.vpc.SecurityGroupIngressRuleArgs(
                    security_group_id=endpoints_sg.id, ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS,
                    referenced_security_group_id=platform_sg.id,
                    description="HTTPS from the platform's jobs, models and endpoints", tags=tags),
                opts=child(self),
            )
            for suffix, service in INTERFACE_ENDPOINTS.items():
                aws.ec2.VpcEndpoint(
                    f"{name}-endpoint-{suffix}",
                    aws.ec2.VpcEndpointArgs(
                        vpc_id=vpc.id, service_name=service.format(region=plan.region),
                        vpc_endpoint_type="Interface", private_dns_enabled=True, subnet_ids=list(subnet_ids),
                        security_group_ids=[endpoints_sg.id], tags=tags),
                    opts=child(self),
                )
            https_to = ("group", endpoints_sg.id)

        kind, target = https_to
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-platform-https-out",
            aws.vpc.SecurityGroupEgressRuleArgs(
                security_group_id=platform_sg.id, ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS,
                referenced_security_group_id=target if kind == "group" else None,
                cidr_ipv4=target if kind == "cidr" else None,
                description="HTTPS to the AWS APIs through the VPC endpoints", tags=tags),
            opts=child(self),
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-platform-s3-out",
            aws.vpc.SecurityGroupEgressRuleArgs(
                security_group_id=platform_sg.id, ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS,
                prefix_list_id=s3_prefix_list, description="HTTPS to Amazon S3 (data, artifacts, image layers)",
                tags=tags),
            opts=child(self),
        )
        # SageMaker distributed training and multi-container inference talk between members.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-platform-peers-in",
            aws.vpc.SecurityGroupIngressRuleArgs(
                security_group_id=platform_sg.id, ip_protocol="-1", referenced_security_group_id=platform_sg.id,
                description="Traffic between the platform's own instances (distributed training)", tags=tags),
            opts=child(self),
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-platform-peers-out",
            aws.vpc.SecurityGroupEgressRuleArgs(
                security_group_id=platform_sg.id, ip_protocol="-1", referenced_security_group_id=platform_sg.id,
                description="Traffic between the platform's own instances (distributed training)", tags=tags),
            opts=child(self),
        )
        self.vpc_id = pulumi.Output.from_input(vpc_id)
        self.subnet_ids = pulumi.Output.all(*subnet_ids)
        self.security_group_id = platform_sg.id
        self.config = VpcConfig(subnet_ids=list(subnet_ids), security_group_ids=[platform_sg.id])
        self.register_outputs({"vpc_id": self.vpc_id, "subnet_ids": self.subnet_ids,
                               "security_group_id": self.security_group_id})

    def _platform_group(self, name: str, plan: Plan, vpc_id: pulumi.Input[str],
                        tags: dict[str, str]) -> aws.ec2.SecurityGroup:
        # No inline rules: the provider then removes the allow-all egress rule AWS adds to new groups.
        return aws.ec2.SecurityGroup(
            f"{name}-platform-sg",
            aws.ec2.SecurityGroupArgs(vpc_id=vpc_id, tags=tags, revoke_rules_on_delete=True,
                                      description=f"{plan.prefix}: SageMaker jobs, models and endpoints"),
            opts=child(self),
        )

    def _flow_logs(self, name: str, plan: Plan, vpc: aws.ec2.Vpc, kms_key_arn: pulumi.Input[str],
                   tags: dict[str, str]) -> None:
        account = account_id(plan, self)
        log_name = f"/mlops/{plan.prefix}/vpc-flow-logs"
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            aws.cloudwatch.LogGroupArgs(name=log_name, kms_key_id=kms_key_arn, tags=tags,
                                        # Network evidence is kept a year at least (checkov CKV_AWS_338).
                                        retention_in_days=max(plan.log_retention_days, 365)),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        trust = Statement(
            Effect="Allow", Principal={"Service": "vpc-flow-logs.amazonaws.com"}, Action="sts:AssumeRole",
            # Confused-deputy guard: only flow logs of this account.
            Condition={"StringEquals": {"aws:SourceAccount": account},
                       "ArnLike": {"aws:SourceArn": account_arn(plan, account, "ec2", "vpc-flow-log/*")}},
        )
        role = aws.iam.Role(
            f"{name}-flow-log-role",
            aws.iam.RoleArgs(description=f"{plan.prefix}: VPC flow logs delivery",
                             assume_role_policy=policy_document(trust), max_session_duration=3600, tags=tags),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-log-policy",
            aws.iam.RolePolicyArgs(role=role.id, policy=policy_document(
                Statement(Sid="WriteFlowLogs", Effect="Allow",
                          Action=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                          Resource=[group.arn, pulumi.Output.concat(group.arn, ":log-stream:*")]),
                # DescribeLogGroups is a list action: it has no resource-level permission.
                Statement(Sid="FindLogGroup", Effect="Allow", Action="logs:DescribeLogGroups", Resource="*"),
            )),
            opts=child(self),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            aws.ec2.FlowLogArgs(vpc_id=vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                                log_destination=group.arn, iam_role_arn=role.arn, max_aggregation_interval=60,
                                tags=tags),
            opts=child(self),
        )
