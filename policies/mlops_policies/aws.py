"""Foundation policies for AWS: encryption, key rotation, public access, versioning, TLS, audit lock, protection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .support import (
    Unknowns,
    attached,
    document,
    in_production,
    is_set,
    mapping_at,
    mappings,
    of_type,
    purpose,
)

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
MANDATORY = EnforcementLevel.MANDATORY


def _key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == KEY and not args.props.get("enableKeyRotation"):
        report("KMS key without automatic rotation: set enable_key_rotation=True", None)


# Condition keys that tie a service principal's use of a key to this account's resources.
_SCOPING_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "kms:encryptioncontext:", "kms:viaservice")


# EventBridge's KMS requests carry none of the source keys (AWS: aws:SourceAccount / aws:SourceArn are not
# supported in a key policy for EventBridge delivery to encrypted topics): a grant to it alone cannot be scoped.
_UNSCOPABLE_SERVICES = frozenset({"events.amazonaws.com"})


def _service_statement_scoped(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    if statement.get("Effect") != "Allow" or not isinstance(principal, Mapping) or "Service" not in principal:
        return True
    services = principal.get("Service")
    named = {services} if isinstance(services, str) else {str(s) for s in services or ()}
    if named and named <= _UNSCOPABLE_SERVICES:
        return True
    conditions = statement.get("Condition")
    keys = [str(k).lower() for block in (conditions.values() if isinstance(conditions, Mapping) else [])
            if isinstance(block, Mapping) for k in block]
    return any(k.startswith(_SCOPING_KEYS) for k in keys)


def _key_policy_service_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A service principal granted the key without a source condition lets any account's resource of that
    service use it (the confused-deputy problem)."""
    if args.resource_type != KEY:
        return
    policy = document(args.props.get("policy"))
    statements = policy.get("Statement", []) if policy is not None else []
    for statement in statements if isinstance(statements, list) else [statements]:
        if isinstance(statement, Mapping) and not _service_statement_scoped(statement):
            report(f"KMS key policy statement {statement.get('Sid', '')!r} lets a service principal use the key "
                   "without an aws:SourceAccount, aws:SourceArn or encryption-context condition", None)


def _by_kms(rule: Mapping[str, Any]) -> bool:
    default = mapping_at(rule, "applyServerSideEncryptionByDefault")
    # The key is another resource's ARN: unknown in a first preview, and set all the same.
    return default.get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse") and is_set(default, "kmsMasterKeyId")


def _bucket_encryption(args: StackValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for bucket in of_type(args, BUCKET):
        with unknowns.skip():
            configs = attached(args, bucket, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                             "BucketServerSideEncryptionConfiguration", "bucket")
            if not any(_by_kms(rule) for c in configs for rule in mappings(c.props.get("rules"))):
                report("S3 bucket is not encrypted with a customer-managed KMS key", bucket.urn)
    unknowns.settle()


def _bucket_public_access(args: StackValidationArgs, report: ReportViolation) -> None:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    unknowns = Unknowns()
    for bucket in of_type(args, BUCKET):
        with unknowns.skip():
            blocks = attached(args, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket")
            if not any(all(b.props.get(f) is True for f in flags) for b in blocks):
                report("S3 bucket without a public access block that sets all four flags", bucket.urn)
    unknowns.settle()


def _bucket_versioning(args: StackValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for bucket in of_type(args, BUCKET):
        with unknowns.skip():
            versions = attached(args, bucket, "aws:s3/bucketVersioning:BucketVersioning", "bucket")
            if not any(mapping_at(v.props, "versioningConfiguration").get("status") == "Enabled" for v in versions):
                report("S3 bucket without versioning enabled", bucket.urn)
    unknowns.settle()


def _denies_plain_http(policy: object) -> bool:
    for statement in mappings((document(policy) or {}).get("Statement")):
        if statement.get("Effect") == "Deny" and \
                str(mapping_at(statement, "Condition", "Bool").get("aws:SecureTransport")).lower() == "false":
            return True
    return False


def _bucket_tls_only(args: StackValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for bucket in of_type(args, BUCKET):
        with unknowns.skip():
            # A policy document rendered from ARNs is unknown in a first preview: this bucket stays undecided.
            policies = attached(args, bucket, "aws:s3/bucketPolicy:BucketPolicy", "bucket")
            if not any(_denies_plain_http(p.props.get("policy")) for p in policies):
                report("S3 bucket policy does not deny requests without TLS (aws:SecureTransport=false)", bucket.urn)
    unknowns.settle()


def _audit_retention_lock(args: StackValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for bucket in of_type(args, BUCKET):
        with unknowns.skip():
            if purpose(bucket.props) != "audit":
                continue
            locks = attached(args, bucket, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                             "bucket")
            retained = [mapping_at(lock.props, "rule", "defaultRetention") for lock in locks]
            retained = [r for r in retained if r.get("days") or r.get("years")]
            if not bucket.props.get("objectLockEnabled") or not retained:
                report("audit bucket without Object Lock default retention", bucket.urn)
            elif in_production(bucket.props) and not any(r.get("mode") == "COMPLIANCE" for r in retained):
                report("production audit bucket retention is not in COMPLIANCE mode", bucket.urn)
    unknowns.settle()


STATEFUL = (BUCKET, KEY)


def _protected_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in STATEFUL and in_production(args.props) and not args.opts.protect:
        report("stateful production resource is not protected (protect=True, retain_on_delete=True)", None)


AWS_POLICIES = [
    ResourceValidationPolicy("aws-kms-key-rotation", "KMS keys rotate automatically.", _key_rotation,
                             enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-kms-key-policy-service-scoped",
                             "KMS key policies grant service principals only with a source condition.",
                             _key_policy_service_scoped, enforcement_level=MANDATORY),
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
