"""Every GCP policy: compliant and violating cases, mostly on the synthesized graph with one change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlops_policies.gcp import GCP_POLICIES
from policy_checks import run_changed, set_input
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from shared_synth import synthesized

from mlops.policies import ALL_POLICIES
from mlops.policies.engine import Violation, run_policies
from mlops.synth import SynthResult
from mlops.synth.recorder import Recorded

BLUEPRINT = str(Path(__file__).resolve().parents[1] / "blueprints" / "product-recommendations-gcp.yaml")
POLICIES = {p.name: p for p in GCP_POLICIES}


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(BLUEPRINT, "prod")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(BLUEPRINT, "dev")


def record(result: SynthResult, suffix: str) -> Recorded:
    [found] = [r for r in result.resources if r.name.endswith(suffix)]
    return found


def check(policy: str, result: SynthResult, suffix: str | None = None,
          change: Callable[[Recorded], None] | None = None) -> tuple[list[Violation], str | None]:
    """Run one policy on the graph after `change` to the resource named `...suffix`; its URN."""
    return run_changed(POLICIES[policy], result.resources, suffix, change)


def assert_one_violation(violations: list[Violation], policy: str, urn: str | None, words: str) -> None:
    assert [(v.policy, v.urn, v.enforcement) for v in violations] == [(policy, urn, "mandatory")]
    assert words in violations[0].message


def test_gcp_policies_are_mandatory_named_and_packaged() -> None:
    assert sorted(POLICIES) == ["gcp-audit-retention-lock", "gcp-kms-key-rotation", "gcp-protect-audit-pipeline",
                                "gcp-protect-production", "gcp-storage-cmek", "gcp-storage-public-access",
                                "gcp-storage-versioning"]
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in GCP_POLICIES)
    assert all(p in ALL_POLICIES for p in GCP_POLICIES)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_the_synthesized_stacks_comply(policy: str, prod: SynthResult, dev: SynthResult) -> None:
    assert check(policy, prod)[0] == []
    assert check(policy, dev)[0] == []


# ---- gcp-kms-key-rotation ---------------------------------------------------------------------

@pytest.mark.parametrize(("period", "words"), [
    ("31622400s", "rotates every 31622400s"),  # 366 days
    ("31536000s", "at most 7776000s (90 days)"),  # 365 days: over the CIS limit
    ("7776001s", "rotates every 7776001s"),
    (None, "without automatic rotation"),
    ("365d", "without automatic rotation"),
])
def test_key_rotation_violations(prod: SynthResult, period: str | None, words: str) -> None:
    violations, urn = check("gcp-kms-key-rotation", prod, "-foundation-key",
                            set_input("rotationPeriod", period))
    assert_one_violation(violations, "gcp-kms-key-rotation", urn, words)


@pytest.mark.parametrize("period", ["7776000s", "86400.5s", "7775999.999999999s"])
def test_key_rotation_compliant(prod: SynthResult, period: str) -> None:
    violations, _ = check("gcp-kms-key-rotation", prod, "-foundation-key",
                          set_input("rotationPeriod", period))
    assert violations == []


# ---- gcp-storage-cmek -------------------------------------------------------------------------

def test_bucket_without_cmek_violates(prod: SynthResult) -> None:
    violations, urn = check("gcp-storage-cmek", prod, "-data-bucket", set_input("encryption", None))
    assert_one_violation(violations, "gcp-storage-cmek", urn, "customer-managed key")


def test_bucket_with_empty_encryption_violates(prod: SynthResult) -> None:
    violations, urn = check("gcp-storage-cmek", prod, "-audit-bucket", set_input("encryption", {}))
    assert_one_violation(violations, "gcp-storage-cmek", urn, "customer-managed key")


# ---- gcp-storage-public-access ----------------------------------------------------------------

@pytest.mark.parametrize(("path", "value", "words"), [
    ("publicAccessPrevention", "inherited", "public access prevention"),
    ("publicAccessPrevention", None, "public access prevention"),
    ("uniformBucketLevelAccess", False, "object ACLs"),
    ("uniformBucketLevelAccess", None, "object ACLs"),
])
def test_public_access_violations(prod: SynthResult, path: str, value: Any, words: str) -> None:
    violations, urn = check("gcp-storage-public-access", prod, "-artifacts-bucket", set_input(path, value))
    assert_one_violation(violations, "gcp-storage-public-access", urn, words)


# ---- gcp-storage-versioning -------------------------------------------------------------------

@pytest.mark.parametrize("value", [False, None])
def test_versioning_violations(prod: SynthResult, value: bool | None) -> None:
    violations, urn = check("gcp-storage-versioning", prod, "-data-bucket",
                            set_input("versioning.enabled", value))
    assert_one_violation(violations, "gcp-storage-versioning", urn, "versioning")


# ---- gcp-audit-retention-lock -----------------------------------------------------------------

def test_audit_bucket_without_retention_violates(dev: SynthResult) -> None:
    violations, urn = check("gcp-audit-retention-lock", dev, "-audit-bucket",
                            set_input("retentionPolicy", None))
    assert_one_violation(violations, "gcp-audit-retention-lock", urn, "without a retention policy")


def test_unlocked_production_audit_bucket_violates(prod: SynthResult) -> None:
    violations, urn = check("gcp-audit-retention-lock", prod, "-audit-bucket",
                            set_input("retentionPolicy.isLocked", False))
    assert_one_violation(violations, "gcp-audit-retention-lock", urn, "not locked")


def test_unlocked_audit_bucket_outside_production_complies(dev: SynthResult) -> None:
    assert record(dev, "-audit-bucket").inputs["retentionPolicy"]["isLocked"] is False
    assert check("gcp-audit-retention-lock", dev)[0] == []


def test_other_buckets_need_no_retention(prod: SynthResult) -> None:
    assert "retentionPolicy" not in record(prod, "-data-bucket").inputs
    assert check("gcp-audit-retention-lock", prod)[0] == []


# ---- gcp-protect-production -------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["-foundation-key", "-audit-bucket"])
def test_unprotected_production_resource_violates(prod: SynthResult, suffix: str) -> None:
    def unprotect(target: Recorded) -> None:
        target.protect = False

    violations, urn = check("gcp-protect-production", prod, suffix, unprotect)
    assert_one_violation(violations, "gcp-protect-production", urn, "not protected")


def test_unprotected_resources_outside_production_comply(dev: SynthResult) -> None:
    assert not any(r.protect for r in dev.resources)
    assert check("gcp-protect-production", dev)[0] == []


# ---- gcp-protect-audit-pipeline ---------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["-governance-audit-sink", "-governance-audit-aiplatform",
                                    "-governance-audit-storage"])
def test_unprotected_production_audit_pipeline_violates(prod: SynthResult, suffix: str) -> None:
    def unprotect(target: Recorded) -> None:
        target.protect = False

    violations, urn = check("gcp-protect-audit-pipeline", prod, suffix, unprotect)
    assert_one_violation(violations, "gcp-protect-audit-pipeline", urn, "audit pipeline resource is not protected")


def test_production_audit_pipeline_is_protected_and_retained(prod: SynthResult, dev: SynthResult) -> None:
    pipeline = [r for r in prod.resources if r.type in ("gcp:logging/projectSink:ProjectSink",
                                                        "gcp:projects/iAMAuditConfig:IAMAuditConfig")
                and "-drift-sink" not in r.name]
    assert len(pipeline) >= 4
    assert all(r.protect and r.retain_on_delete for r in pipeline), [r.name for r in pipeline if not r.protect]
    assert check("gcp-protect-audit-pipeline", dev)[0] == []


# ---- hand-made resources: the rules read wire names, whatever built the graph ----------------

def resource(resource_type: str, props: dict[str, Any], *, protect: bool = False) -> PolicyResource:
    urn = f"urn:pulumi:prod::hand::{resource_type}::one"
    options = PolicyResourceOptions(protect=protect, ignore_changes=[], delete_before_replace=None,
                                    aliases=[], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                    additional_secret_outputs=[], parent=None)
    return PolicyResource(resource_type, props, urn, "one", options, None, None, [], {})


def test_hand_made_bucket_violates_every_bucket_rule_but_not_the_audit_rule() -> None:
    bucket = resource("gcp:storage/bucket:Bucket",
                      {"location": "us-central1", "labels": {"environment": "prod", "mlops-purpose": "data"}})
    bucket_rules: list[ResourceValidationPolicy | StackValidationPolicy] = [
        POLICIES[name] for name in ("gcp-storage-cmek", "gcp-storage-public-access", "gcp-storage-versioning",
                                    "gcp-audit-retention-lock", "gcp-protect-production")]
    found = run_policies(bucket_rules, [bucket])
    assert [(v.policy, v.urn) for v in found] == [
        ("gcp-protect-production", bucket.urn),
        ("gcp-storage-cmek", bucket.urn),
        ("gcp-storage-public-access", bucket.urn),
        ("gcp-storage-public-access", bucket.urn),
        ("gcp-storage-versioning", bucket.urn),
    ]


def test_hand_made_compliant_key_and_non_gcp_resources_pass() -> None:
    key = resource("gcp:kms/cryptoKey:CryptoKey",
                   {"rotationPeriod": "2592000s", "labels": {"environment": "prod"}}, protect=True)
    aws_bucket = resource("aws:s3/bucket:Bucket", {"tags": {"environment": "prod"}})
    assert run_policies(GCP_POLICIES, [key, aws_bucket]) == []
