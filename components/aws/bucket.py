"""A private, versioned, KMS-encrypted, TLS-only S3 bucket (optionally Object Lock retained)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.base import PURPOSE_TAG, TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability

from .iam import Statement, policy_document


@builds(Capability.foundation)
class AwsSecureBucket(pulumi.ComponentResource):
    """An S3 bucket that cannot be made public and refuses plain HTTP.

    Creates: `-bucket` (s3.Bucket), `-ownership` (owner-enforced, ACLs off), `-public-access`
    (all four blocks on), `-versioning` (enabled), `-encryption` (SSE-KMS with the platform key,
    bucket keys on), `-tls-only` (bucket policy denying aws:SecureTransport=false) and, when
    `lock_days` is set, `-object-lock` (default retention in `lock_mode`). `force_destroy` only when
    `disposable` (dev buckets holding no audit records): S3 refuses to delete a bucket with objects
    otherwise. `policy_statements`, given
    the bucket's ARN, adds statements to the bucket policy (e.g. delivery by an AWS service).
    """

    bucket: aws.s3.Bucket

    def __init__(self, name: str, *, purpose: str, kms_key_arn: pulumi.Input[str], tags: dict[str, str],
                 protect: bool, disposable: bool = False,
                 bucket_name: str | None = None, lock_days: int | None = None,
                 lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE",
                 policy_statements: Callable[[pulumi.Output[str]], Sequence[Statement]] | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsSecureBucket", name, None, opts)
        locked = lock_days is not None
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            aws.s3.BucketArgs(bucket=bucket_name, object_lock_enabled=locked or None, force_destroy=disposable,
                              tags={**tags, PURPOSE_TAG: purpose}),
            opts=child(self, stateful=True, protect=protect),
        )
        bucket_id = self.bucket.id
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            aws.s3.BucketOwnershipControlsArgs(
                bucket=bucket_id,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            ),
            opts=child(self),
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            aws.s3.BucketPublicAccessBlockArgs(bucket=bucket_id, block_public_acls=True, block_public_policy=True,
                                               ignore_public_acls=True, restrict_public_buckets=True),
            opts=child(self),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            aws.s3.BucketVersioningInitArgs(
                bucket=bucket_id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            ),
            opts=child(self),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
                bucket=bucket_id,
                rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.
                    BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn),
                    bucket_key_enabled=True,
                )],
            ),
            opts=child(self),
        )
        # The bucket's one policy: TLS only, plus what the owner adds (e.g. CloudTrail delivery). The
        # resource keeps its `-tls-only` name so existing stacks do not replace it.
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            aws.s3.BucketPolicyArgs(
                bucket=bucket_id,
                policy=policy_document(Statement(
                    Sid="DenyInsecureTransport",
                    Effect="Deny",
                    Principal="*",
                    Action="s3:*",
                    Resource=[self.bucket.arn, pulumi.Output.concat(self.bucket.arn, "/*")],
                    Condition={"Bool": {"aws:SecureTransport": "false"}},
                ), *(policy_statements(self.bucket.arn) if policy_statements else ())),
            ),
            # The public-access block must exist first, or a policy with a "*" principal is refused.
            opts=child(self, depends_on=[ownership, public_access]),
        )
        if locked:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                aws.s3.BucketObjectLockConfigurationInitArgs(
                    bucket=bucket_id,
                    object_lock_enabled="Enabled",
                    rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                        default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                            mode=lock_mode, days=lock_days),
                    ),
                ),
                opts=child(self, stateful=True, protect=protect, depends_on=[versioning]),
            )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})
