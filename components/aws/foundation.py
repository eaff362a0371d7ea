"""AWS foundation: the platform's key, storage, audit store and execution role."""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from mlops.plan import Plan

from .bucket import AwsSecureBucket
from .iam import Statement, policy_document


class AwsFoundation(pulumi.ComponentResource):
    """Keys, storage and identity every other AWS capability builds on.

    Creates: `-key` (KMS customer-managed key, automatic rotation) and `-key-alias`;
    `-data`, `-artifacts` and `-audit` (AwsSecureBucket: private, versioned, SSE-KMS, TLS only;
    the audit bucket with Object Lock retention from governance); `-execution-role` (assumed by
    SageMaker only, from this account) with `-execution-policy` (read/write on data and
    artifacts, use of the key, nothing else).

    Outputs: key_arn, data_bucket, artifact_bucket, audit_bucket, execution_role_arn.
    """

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsFoundation", name, None, opts)
        tags = dict(plan.tags)
        self.key = aws.kms.Key(
            f"{name}-key",
            aws.kms.KeyArgs(
                description=f"{plan.prefix}: encrypts ML data, artifacts, logs and audit records",
                enable_key_rotation=True,
                rotation_period_in_days=plan.key_rotation_days,
                deletion_window_in_days=30,
                tags=tags,
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        aws.kms.Alias(f"{name}-key-alias",
                      aws.kms.AliasArgs(name=f"alias/{plan.prefix}", target_key_id=self.key.key_id),
                      opts=child(self))

        def store(purpose: str, lock_days: int | None = None,
                  lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE") -> AwsSecureBucket:
            # Named after the account when it is known (S3 names are global); else Pulumi auto-names.
            bucket_name = f"{plan.prefix}-{purpose}-{plan.account}" if plan.account else None
            return AwsSecureBucket(f"{name}-{purpose}", purpose=purpose, kms_key_arn=self.key.arn, tags=tags,
                                   protect=plan.protect, bucket_name=bucket_name, lock_days=lock_days,
                                   lock_mode=lock_mode, opts=child(self))

        self.data = store("data")
        self.artifacts = store("artifacts")
        lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = (
            "COMPLIANCE" if plan.governance.audit_lock_mode == "compliance" else "GOVERNANCE")
        self.audit = store("audit", lock_days=plan.governance.audit_retention_days, lock_mode=lock_mode)

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
