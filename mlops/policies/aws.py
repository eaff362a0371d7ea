"""Foundation policies for AWS: encryption, key rotation, public access, versioning, TLS, audit lock, protection."""

from __future__ import annotations

import json

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .support import attached, in_production, of_type, purpose

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
MANDATORY = EnforcementLevel.MANDATORY


def _key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == KEY and not args.props.get("enableKeyRotation"):
        report("KMS key without automatic rotation: set enable_key_rotation=True", None)


def _bucket_encryption(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in of_type(args, BUCKET):
        configs = attached(args, bucket, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                         "BucketServerSideEncryptionConfiguration", "bucket")
        rules = [rule for c in configs for rule in c.props.get("rules", [])]
        by_kms = [r for r in rules if (r.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
                  in ("aws:kms", "aws:kms:dsse")
                  and (r.get("applyServerSideEncryptionByDefault") or {}).get("kmsMasterKeyId")]
        if not by_kms:
            report("S3 bucket is not encrypted with a customer-managed KMS key", bucket.urn)


def _bucket_public_access(args: StackValidationArgs, report: ReportViolation) -> None:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for bucket in of_type(args, BUCKET):
        blocks = attached(args, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket")
        if not any(all(b.props.get(f) is True for f in flags) for b in blocks):
            report("S3 bucket without a public access block that sets all four flags", bucket.urn)


def _bucket_versioning(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in of_type(args, BUCKET):
        versions = attached(args, bucket, "aws:s3/bucketVersioning:BucketVersioning", "bucket")
        if not any((v.props.get("versioningConfiguration") or {}).get("status") == "Enabled" for v in versions):
            report("S3 bucket without versioning enabled", bucket.urn)


def _denies_plain_http(policy: object) -> bool:
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return False
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        condition = statement.get("Condition") or {}
        if statement.get("Effect") == "Deny" and \
                str((condition.get("Bool") or {}).get("aws:SecureTransport")).lower() == "false":
            return True
    return False


def _bucket_tls_only(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in of_type(args, BUCKET):
        policies = attached(args, bucket, "aws:s3/bucketPolicy:BucketPolicy", "bucket")
        if not any(_denies_plain_http(p.props.get("policy")) for p in policies):
            report("S3 bucket policy does not deny requests without TLS (aws:SecureTransport=false)", bucket.urn)


def _audit_retention_lock(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in of_type(args, BUCKET):
        if purpose(bucket.props) != "audit":
            continue
        locks = attached(args, bucket, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                         "bucket")
        retained = [lock for lock in locks
                    if ((lock.props.get("rule") or {}).get("defaultRetention") or {}).get("days")
                    or ((lock.props.get("rule") or {}).get("defaultRetention") or {}).get("years")]
        if not bucket.props.get("objectLockEnabled") or not retained:
            report("audit bucket without Object Lock default retention", bucket.urn)
        elif in_production(bucket.props) and not any(
                lock.props["rule"]["defaultRetention"].get("mode") == "COMPLIANCE" for lock in retained):
            report("production audit bucket retention is not in COMPLIANCE mode", bucket.urn)


STATEFUL = (BUCKET, KEY)


def _protected_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in STATEFUL and in_production(args.props) and not args.opts.protect:
        report("stateful production resource is not protected (protect=True, retain_on_delete=True)", None)


AWS_POLICIES = [
    ResourceValidationPolicy("aws-kms-key-rotation", "KMS keys rotate automatically.", _key_rotation,
                             enforcement_level=MANDATORY),
    StackValidationPolicy("aws-s3-kms-encryption", "S3 buckets are encrypted with a customer-managed KMS key.",
                          _bucket_encryption, enforcement_level=MANDATORY),
    StackValidationPolicy("aws-s3-public-access-block", "S3 buckets block every form of public access.",
                          _bucket_public_access, enforcement_level=MANDATORY),
    StackValidationPolicy("aws-s3-versioning", "S3 buckets keep object versions.", _bucket_versioning,
                          enforcement_level=MANDATORY),
    StackValidationPolicy("aws-s3-tls-only", "S3 bucket policies deny requests that do not use TLS.",
                          _bucket_tls_only, enforcement_level=MANDATORY),
    StackValidationPolicy("aws-audit-retention-lock",
                          "Audit buckets have Object Lock retention (COMPLIANCE mode in production).",
                          _audit_retention_lock, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-protect-production", "Stateful production resources are protected.",
                             _protected_in_production, enforcement_level=MANDATORY),
]
