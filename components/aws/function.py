"""A small Python Lambda function shipped in this repository, secured the same way wherever it is used."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Plan

from .account import account_arn, account_id
from .iam import Statement, policy_document
from .names import partition
from .network import VpcConfig

LAMBDAS = Path(__file__).parent / "lambdas"
RUNTIME = "python3.12"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: time to look at what failed


def source_archive(*files: str) -> pulumi.AssetArchive:
    """The function's code from `components/aws/lambdas/` as inline text: the archive (and the
    recorded manifest) does not depend on where the repository is checked out."""
    return pulumi.AssetArchive({f: pulumi.StringAsset((LAMBDAS / f).read_text(encoding="utf-8")) for f in files})


@builds()
class AwsFunction(pulumi.ComponentResource):
    """A Python Lambda function with its own least-privilege role, encrypted logs and dead-letter queue.

    Creates: `-role` (assumed by lambda.amazonaws.com for this account only), `-policy` (the
    caller's statements, plus writing to its own log group, sending to its
    dead-letter queue, using the platform key and, inside a VPC, managing its network interfaces),
    `-logs` (log group `/aws/lambda/<function_name>`, KMS, the plan's retention, protected in
    prod), `-dlq` (SQS dead-letter queue, KMS, 14 days), `-function` (runtime python3.12, arm64,
    reserved concurrency, KMS-encrypted environment, JSON logs, dead-letter
    queue, the platform's subnets when the plan is isolated) and `-invoke-config` (asynchronous
    invocations: `retries` retries within an hour, then the dead-letter queue).

    Outputs: function_arn, function_name, role_arn, dlq_arn.
    """

    def __init__(self, name: str, plan: Plan, *, function_name: str, source: str, description: str,
                 environment: Mapping[str, pulumi.Input[str]], statements: Sequence[Statement],
                 kms_key_arn: pulumi.Input[str], vpc: VpcConfig | None, reserved_concurrency: int = 1,
                 timeout_seconds: int = 60, memory_mb: int = 256, retries: int = 2,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsFunction", name, None, opts)
        tags = dict(plan.tags)
        account = account_id(plan, self)
        trust = Statement(Effect="Allow", Principal={"Service": "lambda.amazonaws.com"}, Action="sts:AssumeRole",
                          Condition={"StringEquals": {"aws:SourceAccount": account}})
        self.role = aws.iam.Role(
            f"{name}-role",
            aws.iam.RoleArgs(description=f"{plan.prefix}: Lambda {function_name}",
                             assume_role_policy=policy_document(trust), max_session_duration=3600, tags=tags),
            opts=child(self),
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            aws.cloudwatch.LogGroupArgs(name=f"/aws/lambda/{function_name}", kms_key_id=kms_key_arn,
                                        retention_in_days=plan.log_retention_days, tags=tags),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        self.dlq = aws.sqs.Queue(
            f"{name}-dlq",
            aws.sqs.QueueArgs(name=f"{function_name}-dlq", kms_master_key_id=kms_key_arn,
                              kms_data_key_reuse_period_seconds=300,
                              message_retention_seconds=DLQ_RETENTION_SECONDS, tags=tags),
            opts=child(self),
        )
        own = [
            Statement(Sid="WriteOwnLogs", Effect="Allow", Action=["logs:CreateLogStream", "logs:PutLogEvents"],
                      Resource=pulumi.Output.concat(logs.arn, ":*")),
            Statement(Sid="DeadLetter", Effect="Allow", Action="sqs:SendMessage", Resource=self.dlq.arn),
            Statement(Sid="UsePlatformKey", Effect="Allow", Action=["kms:Decrypt", "kms:GenerateDataKey"],
                      Resource=kms_key_arn),
            # X-Ray offers no resource-level permission for sending traces (listed in the IAM policy rule).
            Statement(Sid="SendTraces", Effect="Allow",
                      Action=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource="*"),
        ]
        if vpc is not None:
            own += self._network_statements(plan, account, vpc)
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            aws.iam.RolePolicyArgs(role=self.role.id, policy=policy_document(*own, *statements)),
            opts=child(self),
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            aws.lambda_.FunctionArgs(
                name=function_name,
                description=description,
                role=self.role.arn,
                runtime=RUNTIME,
                architectures=["arm64"],
                handler=f"{Path(source).stem}.handler",
                code=source_archive(source),
                timeout=timeout_seconds,
                memory_size=memory_mb,
                reserved_concurrent_executions=reserved_concurrency,
                kms_key_arn=kms_key_arn,
                environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(environment)),
                dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=self.dlq.arn),
                tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
                logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=logs.name),
                vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=vpc.subnet_ids,
                                                             security_group_ids=vpc.security_group_ids)
                if vpc is not None else None,
                tags=tags,
            ),
            # The role must be able to write its logs and reach its queue before the first invocation.
            opts=child(self, depends_on=[policy, logs]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoke-config",
            aws.lambda_.FunctionEventInvokeConfigArgs(function_name=self.function.name, maximum_retry_attempts=retries,
                                                      maximum_event_age_in_seconds=3600),
            opts=child(self),
        )
        self.register_outputs({"function_arn": self.function.arn, "function_name": self.function.name,
                               "role_arn": self.role.arn, "dlq_arn": self.dlq.arn})

    @staticmethod
    def _network_statements(plan: Plan, account: pulumi.Input[str], vpc: VpcConfig) -> list[Statement]:
        """Lambda creates its network interfaces in the platform's subnets with the function's role."""
        interfaces = account_arn(plan, account, "ec2", "network-interface/*")
        attach_to = pulumi.Output.all(interfaces, pulumi.Output.from_input(vpc.subnet_ids),
                                      pulumi.Output.from_input(vpc.security_group_ids), account).apply(
            lambda parts: [parts[0],
                           *(f"arn:{partition(plan.region)}:ec2:{plan.region}:{parts[3]}:subnet/{i}" for i in parts[1]),
                           *(f"arn:{partition(plan.region)}:ec2:{plan.region}:{parts[3]}:security-group/{i}"
                             for i in parts[2])])
        return [
            # One flat list of ARNs: the platform's subnets and security groups, and the interfaces.
            Statement(Sid="CreateInterfacesInPlatformSubnets", Effect="Allow", Action="ec2:CreateNetworkInterface",
                      Resource=cast(Any, attach_to)),
            Statement(Sid="ManageInterfaces", Effect="Allow",
                      Action=["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                              "ec2:UnassignPrivateIpAddresses"],
                      Resource=interfaces),
            # Describe calls have no resource-level permissions.
            Statement(Sid="DescribeInterfaces", Effect="Allow",
                      Action=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], Resource="*"),
        ]
