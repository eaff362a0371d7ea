"""AWS foundation under mocks: what is created, how it is parented, protected, tagged and wired."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from shared_synth import synthesized

from mlops.synth import SynthResult

BLUEPRINT = "blueprints/fraud-detection-aws.yaml"


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(BLUEPRINT, "prod")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(BLUEPRINT, "dev")


def _by_name(result: SynthResult, suffix: str):  # type: ignore[no-untyped-def]
    [record] = [r for r in result.resources if r.name.endswith(suffix)]
    return record


def test_resource_inventory(prod: SynthResult) -> None:
    counts = Counter(r.type for r in prod.resources)
    assert counts["pulumi:pulumi:Stack"] == 1
    assert counts["pulumi:providers:aws"] == 1
    assert counts["mlops:index:SageMakerPlatform"] == 1
    assert counts["mlops:index:AwsFoundation"] == 1
    assert counts["mlops:index:AwsSecureBucket"] == 3
    assert counts["aws:s3/bucket:Bucket"] == 3
    for companion in ("bucketVersioning:BucketVersioning", "bucketPublicAccessBlock:BucketPublicAccessBlock",
                      "bucketPolicy:BucketPolicy", "bucketOwnershipControls:BucketOwnershipControls"):
        assert counts[f"aws:s3/{companion}"] == 3
    assert counts["aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"] == 1
    assert counts["aws:kms/key:Key"] == 1


def test_every_resource_descends_from_the_root(prod: SynthResult) -> None:
    by_urn = {r.urn: r for r in prod.resources}
    [root] = [r for r in prod.resources if r.type == "mlops:index:SageMakerPlatform"]
    for record in prod.resources:
        if record.type.startswith(("pulumi:providers:", "pulumi:pulumi:Stack")) or record is root:
            continue
        chain = record
        while chain is not root and chain.parent in by_urn:
            chain = by_urn[chain.parent]
        assert chain is root, record.name


def test_children_use_the_program_provider(prod: SynthResult) -> None:
    [provider] = [r for r in prod.resources if r.type == "pulumi:providers:aws"]
    assert provider.inputs["region"] == "us-east-1"
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["333333333333"]
    for record in prod.resources:
        if record.custom and not record.type.startswith("pulumi:providers:"):
            assert record.provider == provider.urn, record.name


def test_stateful_resources_protected_only_in_prod(prod: SynthResult, dev: SynthResult) -> None:
    stateful = ("aws:kms/key:Key", "aws:s3/bucket:Bucket")
    for record in prod.resources:
        if record.type in stateful:
            assert record.protect and record.retain_on_delete, record.name
    assert not any(r.protect or r.retain_on_delete for r in dev.resources)


def test_audit_bucket_lock_follows_governance(prod: SynthResult, dev: SynthResult) -> None:
    # Dev keeps audit records for dev's log retention only (dev is disposable).
    for result, days, mode in ((prod, 2557, "COMPLIANCE"), (dev, 30, "GOVERNANCE")):
        lock = _by_name(result, "audit-object-lock")
        assert lock.inputs["rule"]["defaultRetention"] == {"days": days, "mode": mode}
        assert _by_name(result, "audit-bucket").inputs["objectLockEnabled"] is True


def test_buckets_encrypted_with_the_platform_key(prod: SynthResult) -> None:
    key = _by_name(prod, "foundation-key")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["rotationPeriodInDays"] == 90
    for record in prod.resources:
        if record.type.endswith("BucketServerSideEncryptionConfiguration"):
            [rule] = record.inputs["rules"]
            assert rule["applyServerSideEncryptionByDefault"] == {
                "kmsMasterKeyId": f"arn:mock:aws:kms/key:Key:{key.name}", "sseAlgorithm": "aws:kms"}
            assert rule["bucketKeyEnabled"] is True


def test_tags_on_every_taggable_resource(prod: SynthResult) -> None:
    foundation = [r for r in prod.resources if r.name.startswith("fraud-detection-prod-foundation")]
    assert len([r for r in foundation if "tags" in r.inputs]) == 5  # key, three buckets, execution role
    tagged = [r for r in prod.resources if "tags" in r.inputs]
    for record in tagged:
        assert record.inputs["tags"]["environment"] == "prod"
        assert record.inputs["tags"]["mlops-blueprint"] == "fraud-detection"
        assert record.inputs["tags"]["cost-center"] == "fraud-ml"


def test_execution_role_is_least_privilege(prod: SynthResult) -> None:
    role = _by_name(prod, "execution-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "333333333333"}}
    policy = json.loads(_by_name(prod, "execution-policy").inputs["policy"])
    resources = json.dumps([s["Resource"] for s in policy["Statement"]])
    assert "audit" not in resources  # the platform identity cannot touch the audit trail
    assert all("*" not in a for s in policy["Statement"] for a in s["Action"])


def test_outputs(prod: SynthResult) -> None:
    # The foundation's outputs; other capabilities add theirs beside them.
    assert {"key_arn", "data_bucket", "artifact_bucket", "audit_bucket", "execution_role_arn"} <= set(prod.outputs)
    assert prod.outputs["audit_bucket"] == "fraud-detection-prod-audit-333333333333"


def test_dev_buckets_without_audit_records_are_disposable(prod: SynthResult, dev: SynthResult) -> None:
    for purpose in ("data", "artifacts"):
        assert _by_name(dev, f"-{purpose}-bucket").inputs["forceDestroy"] is True
        assert _by_name(prod, f"-{purpose}-bucket").inputs["forceDestroy"] is False
    assert _by_name(dev, "-audit-bucket").inputs["forceDestroy"] is False
    # Dev's audit records are locked only as long as dev keeps its logs; prod keeps the blueprint's.
    dev_lock = _by_name(dev, "-audit-object-lock").inputs["rule"]["defaultRetention"]
    assert dev_lock["days"] == dev.plan.log_retention_days == 30
    prod_lock = _by_name(prod, "-audit-object-lock").inputs["rule"]["defaultRetention"]
    assert prod_lock["days"] == prod.plan.governance.audit_retention_days > 30
