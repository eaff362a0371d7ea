"""Foundation policies for GCP: key rotation, CMEK, public access, versioning, audit lock, protection.

Cloud Storage keeps these settings on the bucket itself, so unlike S3 every rule reads one resource.
Cloud Storage only accepts TLS: there is no TLS rule to write.
"""

from __future__ import annotations

import re

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .support import Unknowns, attached, in_production, mapping_at, of_type, purpose, set_at

BUCKET = "gcp:storage/bucket:Bucket"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
MANDATORY = EnforcementLevel.MANDATORY
# CIS GCP 1.10: Cloud KMS keys rotate at least every 90 days.
MAX_ROTATION_DAYS = 90
MAX_ROTATION_SECONDS = MAX_ROTATION_DAYS * 86_400
# Cloud KMS durations: decimal seconds with up to 9 fractional digits and an "s".
_DURATION = re.compile(r"(\d+(?:\.\d{1,9})?)s")


def _rotation_seconds(value: object) -> float | None:
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    return float(match.group(1)) if match else None


def _key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CRYPTO_KEY:
        return
    period = args.props.get("rotationPeriod")
    seconds = _rotation_seconds(period)
    if seconds is None:
        report(f"Cloud KMS key without automatic rotation (rotation_period {period!r}): "
               f"set a rotation period of at most {MAX_ROTATION_SECONDS}s ({MAX_ROTATION_DAYS} days)", None)
    elif seconds > MAX_ROTATION_SECONDS:
        report(f"Cloud KMS key rotates every {period}: "
               f"at most {MAX_ROTATION_SECONDS}s ({MAX_ROTATION_DAYS} days) is allowed", None)


def _bucket_cmek(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == BUCKET and not set_at(args.props, "encryption", "defaultKmsKeyName"):
        report("Cloud Storage bucket is not encrypted with a customer-managed key: "
               "set encryption.default_kms_key_name", None)


def _bucket_public_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != BUCKET:
        return
    if args.props.get("publicAccessPrevention") != "enforced":
        report("Cloud Storage bucket does not enforce public access prevention: "
               "set public_access_prevention='enforced'", None)
    if args.props.get("uniformBucketLevelAccess") is not True:
        report("Cloud Storage bucket allows object ACLs: set uniform_bucket_level_access=True", None)


def _bucket_versioning(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == BUCKET and mapping_at(args.props, "versioning").get("enabled") is not True:
        report("Cloud Storage bucket without object versioning: set versioning.enabled=True", None)


def _audit_retention_lock(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != BUCKET or purpose(args.props) != "audit":
        return
    retention = mapping_at(args.props, "retentionPolicy")
    period = retention.get("retentionPeriod")
    if not period or str(period) == "0":
        report("audit bucket without a retention policy: set retention_policy.retention_period", None)
    elif in_production(args.props) and retention.get("isLocked") is not True:
        report("production audit bucket retention policy is not locked: set retention_policy.is_locked=True",
               None)


STATEFUL = (BUCKET, CRYPTO_KEY)


def _protected_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in STATEFUL and in_production(args.props) and not args.opts.protect:
        report("stateful production resource is not protected (protect=True, retain_on_delete=True)", None)


PROJECT_SINK = "gcp:logging/projectSink:ProjectSink"
AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"


def _audit_pipeline_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    """In production what feeds the locked audit bucket is protected like it: the project's audit log
    configs and the sinks writing into the bucket (neither carries labels, so production is the audit
    bucket's)."""
    unknowns = Unknowns()
    for bucket in of_type(args, BUCKET):
        with unknowns.skip():
            if purpose(bucket.props) != "audit" or not in_production(bucket.props):
                continue
            feeders = [*attached(args, bucket, PROJECT_SINK, "destination"), *of_type(args, AUDIT_CONFIG)]
            for feeder in feeders:
                if not feeder.opts.protect:
                    report("production audit pipeline resource is not protected (protect=True, "
                           "retain_on_delete=True)", feeder.urn)
    unknowns.settle()


GCP_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy("gcp-kms-key-rotation", "Cloud KMS keys rotate at least every 90 days.",
                             _key_rotation, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-storage-cmek",
                             "Cloud Storage buckets are encrypted with a customer-managed key.",
                             _bucket_cmek, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-storage-public-access",
                             "Cloud Storage buckets enforce public access prevention and uniform "
                             "bucket-level access.", _bucket_public_access, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-storage-versioning", "Cloud Storage buckets keep object versions.",
                             _bucket_versioning, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-audit-retention-lock",
                             "Audit buckets have a retention policy (locked in production).",
                             _audit_retention_lock, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-protect-production", "Stateful production resources are protected.",
                             _protected_in_production, enforcement_level=MANDATORY),
    StackValidationPolicy("gcp-protect-audit-pipeline",
                          "In production the audit log configs and the audit sink are protected.",
                          _audit_pipeline_protected, enforcement_level=MANDATORY),
]
