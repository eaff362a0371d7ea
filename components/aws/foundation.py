"""AWS foundation: the platform's key, storage, audit store and execution role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .account import account_arn, account_id
from .bucket import AwsSecureBucket
from .iam import Statement, policy_document
from .names import partition, trail_log_prefix, trail_name


def trail_arn(plan: Plan, account: pulumi.Input[str]) -> pulumi.Output[str]:
    return account_arn(plan, account, "cloudtrail", f"trail/{trail_name(plan)}")


def platform_alarms(plan: Plan, account: pulumi.Input[str]) -> pulumi.Output[str]:
    """ARN pattern of the platform's CloudWatch alarms (all named `<prefix>-...`)."""
    return account_arn(plan, account, "cloudwatch", f"alarm:{plan.prefix}-*")


def key_policy(plan: Plan, account: pulumi.Input[str]) -> pulumi.Output[str]:
    """The platform key's policy: the account administers it through IAM (the AWS default statement);
    the AWS services that write encrypted data on the platform's behalf may use it, each scoped.

    A key policy's `Resource: "*"` means this key. Services that encrypt with a customer-managed key
    on their own (CloudWatch Logs, CloudTrail, publishers to an encrypted SNS topic) need the key
    policy to say so: IAM permissions of the account cannot grant a service principal.
    """
    root = pulumi.Output.concat("arn:", partition(plan.region), ":iam::", account, ":root")
    trail = trail_arn(plan, account)
    return policy_document(
        Statement(Sid="AccountAdministersKeyThroughIam", Effect="Allow", Principal={"AWS": root},
                  Action="kms:*", Resource="*"),
        Statement(Sid="CloudWatchLogsEncryptLogGroups", Effect="Allow",
                  Principal={"Service": f"logs.{plan.region}.amazonaws.com"},
                  Action=["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                          "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext"],
                  Resource="*",
                  # Only for log groups of this account (the context key is a string holding an ARN).
                  Condition={"StringLike": {"kms:EncryptionContext:aws:logs:arn":
                                            account_arn(plan, account, "logs", "log-group:*")}}),
        Statement(Sid="CloudTrailEncryptLogs", Effect="Allow", Principal={"Service": "cloudtrail.amazonaws.com"},
                  Action="kms:GenerateDataKey", Resource="*",
                  Condition={"StringEquals": {"aws:SourceArn": trail},
                             "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": pulumi.Output.concat(
                                 "arn:", partition(plan.region), ":cloudtrail:*:", account, ":trail/*")}}),
        Statement(Sid="CloudTrailDescribeKey", Effect="Allow", Principal={"Service": "cloudtrail.amazonaws.com"},
                  Action="kms:DescribeKey", Resource="*", Condition={"StringEquals": {"aws:SourceArn": trail}}),
        # Alarms publish to the platform's encrypted SNS topics: the publisher encrypts with the key itself.
        # Only this account's alarms, and only the platform's (all are named `<prefix>-...`), so that no other
        # account's or stack's alarm can use the key (confused deputy).
        Statement(Sid="AlarmsPublishToEncryptedTopics", Effect="Allow",
                  Principal={"Service": "cloudwatch.amazonaws.com"},
                  Action=["kms:Decrypt", "kms:GenerateDataKey"], Resource="*",
                  Condition={"StringEquals": {"aws:SourceAccount": account},
                             "ArnLike": {"aws:SourceArn": platform_alarms(plan, account)}}),
        # EventBridge rules publish to the encrypted topics and dead-letter to the encrypted queues. Its KMS
        # requests carry no aws:SourceAccount / aws:SourceArn (AWS: those keys are not supported in a key
        # policy for EventBridge delivery, SNS "Enable compatibility between event sources from AWS services
        # and encrypted topics"): a condition on them would drop every notification silently.
        Statement(Sid="RulesPublishToEncryptedTopics", Effect="Allow",
                  Principal={"Service": "events.amazonaws.com"},
                  Action=["kms:Decrypt", "kms:GenerateDataKey"], Resource="*"),
        Statement(Sid="BudgetsPublishToEncryptedTopics", Effect="Allow",
                  Principal={"Service": "budgets.amazonaws.com"},
                  Action=["kms:Decrypt", "kms:GenerateDataKey"], Resource="*",
                  Condition={"StringEquals": {"aws:SourceAccount": account}}),
    )


def cloudtrail_delivery(plan: Plan, account: pulumi.Input[str], bucket_arn: pulumi.Output[str]) -> list[Statement]:
    """Audit bucket policy statements letting this platform's trail (and no other) deliver its files."""
    trail = trail_arn(plan, account)
    return [
        Statement(Sid="CloudTrailAclCheck", Effect="Allow", Principal={"Service": "cloudtrail.amazonaws.com"},
                  Action="s3:GetBucketAcl", Resource=bucket_arn,
                  Condition={"StringEquals": {"aws:SourceArn": trail}}),
        Statement(Sid="CloudTrailWrite", Effect="Allow", Principal={"Service": "cloudtrail.amazonaws.com"},
                  Action="s3:PutObject",
                  Resource=pulumi.Output.concat(bucket_arn, "/", trail_log_prefix(plan), "/AWSLogs/", account, "/*"),
                  Condition={"StringEquals": {"aws:SourceArn": trail,
                                              "s3:x-amz-acl": "bucket-owner-full-control"}}),
    ]


@builds(Capability.foundation, Capability.audit_trail)
class AwsFoundation(pulumi.ComponentResource):
    """Keys, storage and identity every other AWS capability builds on.

    Creates: `-key` (KMS customer-managed key, automatic rotation; its policy lets the account
    administer it through IAM and CloudWatch Logs, CloudTrail, alarms, EventBridge and budgets use it)
    and `-key-alias`;
    `-data`, `-artifacts` and `-audit` (AwsSecureBucket: private, versioned, SSE-KMS, TLS only;
    the audit bucket with Object Lock retention from governance and a policy admitting the platform's
    CloudTrail trail); `-execution-role` (assumed by
    SageMaker only, from this account) with `-execution-policy` (read/write on data and
    artifacts, use of the key, nothing else).

    Outputs: key_arn, data_bucket, artifact_bucket, audit_bucket, execution_role_arn.
    """

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsFoundation", name, None, opts)
        tags = dict(plan.tags)
        account = account_id(plan, self)
        self.key = aws.kms.Key(
            f"{name}-key",
            aws.kms.KeyArgs(
                description=f"{plan.prefix}: encrypts ML data, artifacts, logs and audit records",
                enable_key_rotation=True,
                rotation_period_in_days=plan.key_rotation_days,
                deletion_window_in_days=30,
                policy=key_policy(plan, account),
                tags=tags,
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        aws.kms.Alias(f"{name}-key-alias",
                      aws.kms.AliasArgs(name=f"alias/{plan.prefix}", target_key_id=self.key.key_id),
                      opts=child(self))

        def store(purpose: str, lock_days: int | None = None,
                  lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE",
                  policy_statements: Callable[[pulumi.Output[str]], list[Statement]] | None = None,
                  ) -> AwsSecureBucket:
            # Named after the account when it is known (S3 names are global); else Pulumi auto-names.
            bucket_name = f"{plan.prefix}-{purpose}-{plan.account}" if plan.account else None
            return AwsSecureBucket(f"{name}-{purpose}", purpose=purpose, kms_key_arn=self.key.arn, tags=tags,
                                   protect=plan.protect, bucket_name=bucket_name, lock_days=lock_days,
                                   disposable=plan.environment == "dev" and lock_days is None,
                                   lock_mode=lock_mode, policy_statements=policy_statements, opts=child(self))

        self.data = store("data")
        self.artifacts = store("artifacts")
        lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = (
            "COMPLIANCE" if plan.governance.audit_lock_mode == "compliance" else "GOVERNANCE")
        self.audit = store("audit", lock_days=plan.governance.audit_retention_days, lock_mode=lock_mode,
                           policy_statements=lambda bucket_arn: cloudtrail_delivery(plan, account, bucket_arn))

        trust = Statement(
            Effect="Allow",
            Principal={"Service": "sagemaker.amazonaws.com"},
            Action="sts:AssumeRole",
        )
        if plan.account:
            # Confused-deputy guard: only SageMaker acting for this account may assume the role.
            trust["Condition"] = {"StringEquals": {"aws:SourceAccount": plan.account}}
        self.execution_role = aws.iam.Role(
            f"{name}-execution-role",
            aws.iam.RoleArgs(
                description=f"{plan.prefix}: SageMaker jobs, pipelines and endpoints",
                assume_role_policy=policy_document(trust),
                max_session_duration=3600,
                tags=tags,
            ),
            opts=child(self),
        )
        store_arns = [self.data.bucket.arn, self.artifacts.bucket.arn]
        aws.iam.RolePolicy(
            f"{name}-execution-policy",
            aws.iam.RolePolicyArgs(
                role=self.execution_role.id,
                policy=policy_document(
                    Statement(Sid="ListPlatformBuckets", Effect="Allow",
                              Action=["s3:ListBucket", "s3:GetBucketLocation"], Resource=list(store_arns)),
                    Statement(Sid="ReadWritePlatformObjects", Effect="Allow",
                              Action=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                              Resource=[pulumi.Output.concat(arn, "/*") for arn in store_arns]),
                    Statement(Sid="UsePlatformKey", Effect="Allow",
                              Action=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                              Resource=[self.key.arn]),
                ),
            ),
            opts=child(self),
        )
        self.register_outputs({
            "key_arn": self.key.arn,
            "data_bucket": self.data.bucket.bucket,
            "artifact_bucket": self.artifacts.bucket.bucket,
            "audit_bucket": self.audit.bucket.bucket,
            "execution_role_arn": self.execution_role.arn,
        })
