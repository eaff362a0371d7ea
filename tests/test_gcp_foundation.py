"""Mock tests for the GCP foundation: the synthesized graph of the example GCP blueprint."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shared_synth import synthesized

import mlops.program
from components.base import short_hash
from components.gcp.foundation import ACCOUNT_ID_MAX, BUCKET_NAME_MAX, execution_account_id, fit_name
from mlops.blueprint import load_blueprint
from mlops.plan import Plan, plan_loaded
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

BLUEPRINT = str(Path(__file__).resolve().parents[1] / "blueprints" / "product-recommendations-gcp.yaml")
STACK = "pulumi:pulumi:Stack"
PROVIDER = "pulumi:providers:gcp"
PLATFORM = "mlops:index:VertexPlatform"
KEY_RING = "gcp:kms/keyRing:KeyRing"
KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
ACCOUNT = "gcp:serviceaccount/account:Account"
STATEFUL = {KEY_RING, KEY, BUCKET}
KEY_USER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
LABEL = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(BLUEPRINT, "prod")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(BLUEPRINT, "dev")


def synth_changed(monkeypatch: pytest.MonkeyPatch, environment: str, **changes: Any) -> SynthResult:
    """Synth the blueprint with some Plan fields replaced (the program builds from the changed Plan)."""
    plan: Plan = plan_loaded(load_blueprint(BLUEPRINT), environment)
    changed = plan.model_copy(update=changes)
    monkeypatch.setattr(mlops.program, "plan_from_config", lambda: changed)
    return synth(BLUEPRINT, environment)


def foundation(result: SynthResult) -> list[Recorded]:
    """The GcpFoundation component and everything under it (the other capabilities have their own tests)."""
    [root] = [r for r in result.resources if r.type == "mlops:index:GcpFoundation"]
    inside = {root.urn}
    for record in result.resources:  # registration order: parents come first
        if record.parent in inside:
            inside.add(record.urn)
    return [r for r in result.resources if r.urn in inside]


def of_type(result: SynthResult, resource_type: str) -> list[Recorded]:
    return [r for r in foundation(result) if r.type == resource_type]


def named(result: SynthResult, suffix: str) -> Recorded:
    [record] = [r for r in foundation(result) if r.name.endswith(suffix)]
    return record


def test_resource_counts(prod: SynthResult) -> None:
    assert Counter(r.type for r in foundation(prod)) == {
        "mlops:index:GcpFoundation": 1,
        KEY_RING: 1,
        KEY: 1,
        KEY_MEMBER: 2,
        "mlops:index:GcpSecureBucket": 3,
        BUCKET: 3,
        ACCOUNT: 1,
        BUCKET_MEMBER: 2,
    }


def test_every_resource_hangs_off_the_platform_and_uses_the_explicit_provider(prod: SynthResult) -> None:
    by_urn = {r.urn: r for r in prod.resources}
    [platform] = [r for r in prod.resources if r.type == PLATFORM]
    [provider] = [r for r in prod.resources if r.type == PROVIDER]
    [stack] = [r for r in prod.resources if r.type == STACK]
    assert platform.parent == provider.parent == stack.urn
    for record in prod.resources:
        if record in (stack, platform, provider):
            continue
        parent = record.parent
        while parent is not None and parent != platform.urn:
            parent = by_urn[parent].parent if parent in by_urn else None
        assert parent == platform.urn, record.name
        if record.custom:
            assert record.provider == provider.urn, record.name


def test_child_names_start_with_their_parent_name(prod: SynthResult) -> None:
    by_urn = {r.urn: r for r in prod.resources if r.type != STACK}
    for record in prod.resources:
        if record.parent in by_urn:
            assert record.name.startswith(by_urn[record.parent].name + "-"), record.name


@pytest.mark.parametrize("environment", ["prod", "dev"])
def test_stateful_resources_are_protected_and_retained_only_in_production(
        environment: str, prod: SynthResult, dev: SynthResult) -> None:
    result = prod if environment == "prod" else dev
    production = environment == "prod"
    for record in foundation(result):
        expected = production and record.type in STATEFUL
        assert (record.protect, record.retain_on_delete) == (expected, expected), record.name


def test_a_locked_audit_bucket_is_protected_outside_production(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_loaded(load_blueprint(BLUEPRINT), "dev")
    result = synth_changed(monkeypatch, "dev",
                           governance=plan.governance.model_copy(update={"audit_lock_mode": "compliance"}))
    audit = named(result, "-audit-bucket")
    assert audit.inputs["retentionPolicy"]["isLocked"] is True
    assert (audit.protect, audit.retain_on_delete) == (True, True)
    assert not named(result, "-data-bucket").protect


def test_labels_are_normalised_and_carry_the_mandatory_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_loaded(load_blueprint(BLUEPRINT), "prod")
    result = synth_changed(monkeypatch, "prod", tags={**plan.tags, "Cost-Center": "R&D Team"})
    labelled = [r for r in result.resources if r.type in (KEY, BUCKET)]
    assert len(labelled) == 4
    for record in labelled:
        labels = record.inputs["labels"]
        assert {"environment": "prod", "mlops-blueprint": "product-recs",
                "managed-by": "mlops-blueprints", "cost-center": "r_d_team"}.items() <= labels.items()
        assert all(LABEL.fullmatch(k) and LABEL_VALUE.fullmatch(v) for k, v in labels.items()), labels
    for purpose in ("data", "artifacts", "audit"):
        assert named(result, f"-{purpose}-bucket").inputs["labels"]["mlops-purpose"] == purpose


def test_key_ring_and_key_settings(prod: SynthResult) -> None:
    [ring] = of_type(prod, KEY_RING)
    [key] = of_type(prod, KEY)
    assert ring.inputs == {"location": "us-central1", "project": "exampleshop-recs-prod"}
    assert key.inputs["purpose"] == "ENCRYPT_DECRYPT"
    assert key.inputs["rotationPeriod"] == f"{prod.plan.key_rotation_days * 86400}s" == "7776000s"  # 90 days (CIS)
    assert key.property_dependencies["keyRing"] == [ring.urn]


def test_buckets_use_the_platform_key_after_the_storage_agent_may_use_it(prod: SynthResult) -> None:
    [key] = of_type(prod, KEY)
    agent_grant = named(prod, "-key-storage-agent")
    assert agent_grant.inputs == {
        "cryptoKeyId": "product-recs-prod-foundation-key-id",
        "role": KEY_USER,
        "member": "serviceAccount:service-exampleshop-recs-prod@gs-project-accounts.iam.gserviceaccount.com",
    }
    buckets = of_type(prod, BUCKET)
    assert len(buckets) == 3
    for bucket in buckets:
        assert bucket.inputs["encryption"] == {"defaultKmsKeyName": "product-recs-prod-foundation-key-id"}
        assert bucket.property_dependencies["encryption"] == [key.urn]
        assert agent_grant.urn in bucket.dependencies, bucket.name


def test_buckets_are_private_versioned_and_named_after_the_project(prod: SynthResult) -> None:
    for purpose in ("data", "artifacts", "audit"):
        inputs = named(prod, f"-{purpose}-bucket").inputs
        assert inputs["name"] == f"exampleshop-recs-prod-product-recs-prod-{purpose}"
        assert (inputs["location"], inputs["project"]) == ("us-central1", "exampleshop-recs-prod")
        assert inputs["uniformBucketLevelAccess"] is True
        assert inputs["publicAccessPrevention"] == "enforced"
        assert inputs["versioning"] == {"enabled": True}
        assert inputs["forceDestroy"] is False


def test_long_bucket_names_are_shortened_and_no_project_auto_names(monkeypatch: pytest.MonkeyPatch) -> None:
    long_project = "a-very-long-project-identifier-for-recs"
    result = synth_changed(monkeypatch, "prod", account=long_project)
    names = [r.inputs["name"] for r in of_type(result, BUCKET)]
    assert all(len(n) <= BUCKET_NAME_MAX for n in names), names
    assert len(set(names)) == 3
    assert names[0] == fit_name(f"{long_project}-product-recs-prod-data", BUCKET_NAME_MAX)
    unnamed = synth_changed(monkeypatch, "prod", account=None)
    assert [r.inputs.get("name") for r in of_type(unnamed, BUCKET)] == [None, None, None]


def test_audit_retention_comes_from_governance_and_locks_in_production(prod: SynthResult,
                                                                       dev: SynthResult) -> None:
    # Dev keeps audit records for dev's log retention only (dev is disposable).
    for result, days, locked in ((prod, 730, True), (dev, 30, False)):
        assert named(result, "-audit-bucket").inputs["retentionPolicy"] == {"retentionPeriod": str(days * 86400),
                                                                           "isLocked": locked}
    for result in (prod, dev):
        for purpose in ("data", "artifacts"):
            assert "retentionPolicy" not in named(result, f"-{purpose}-bucket").inputs


def test_execution_identity_has_least_privilege(prod: SynthResult) -> None:
    [account] = of_type(prod, ACCOUNT)
    assert account.inputs["accountId"] == "product-recs-prod-exec"
    member = "serviceAccount:product-recs-prod-exec@exampleshop-recs-prod.iam.gserviceaccount.com"
    grants = of_type(prod, BUCKET_MEMBER)
    granted = {dep for g in grants for dep in g.property_dependencies["bucket"]}
    assert granted == {named(prod, "-data-bucket").urn, named(prod, "-artifacts-bucket").urn}
    for grant in grants:
        assert (grant.inputs["role"], grant.inputs["member"]) == ("roles/storage.objectAdmin", member)
        assert grant.property_dependencies["member"] == [account.urn]
    key_grant = named(prod, "-key-execution")
    assert (key_grant.inputs["role"], key_grant.inputs["member"]) == (KEY_USER, member)
    # Nobody but the storage agent and the execution identity is granted anything.
    assert len(of_type(prod, KEY_MEMBER)) == 2


def test_outputs(prod: SynthResult) -> None:
    assert prod.outputs.items() >= {
        "key_id": "product-recs-prod-foundation-key-id",
        "data_bucket": "exampleshop-recs-prod-product-recs-prod-data",
        "artifact_bucket": "exampleshop-recs-prod-product-recs-prod-artifacts",
        "audit_bucket": "exampleshop-recs-prod-product-recs-prod-audit",
        "execution_identity": "product-recs-prod-exec@exampleshop-recs-prod.iam.gserviceaccount.com",
    }.items()


def test_no_untyped_nested_inputs(prod: SynthResult) -> None:
    def keys(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                if key != "labels":
                    yield from keys(item)
        elif isinstance(value, list):
            for item in value:
                yield from keys(item)

    for record in foundation(prod):
        assert not [k for k in keys(record.inputs) if "_" in k], record.name


@pytest.mark.parametrize("environment", ["prod", "dev"])
def test_no_policy_violations(environment: str, prod: SynthResult, dev: SynthResult) -> None:
    assert (prod if environment == "prod" else dev).violations == []


@pytest.mark.parametrize("prefix", ["product-recs-prod", "a-blueprint-with-a-rather-long-name-prod"])
def test_execution_account_id_is_a_valid_service_account_id(prefix: str) -> None:
    account_id = execution_account_id(prefix)
    assert re.fullmatch(r"[a-z][-a-z0-9]{4,28}[a-z0-9]", account_id), account_id
    assert len(account_id) <= ACCOUNT_ID_MAX
    assert account_id == execution_account_id(prefix)


def test_fit_name_keeps_short_names_and_hashes_long_ones() -> None:
    assert fit_name("Acme.Recs-prod", 63) == "acme-recs-prod"
    long = "x" * 70
    assert fit_name(long, 63) == "x" * 56 + "-" + short_hash(long)
    assert len(fit_name(long, 63)) == 63


def test_dev_buckets_without_audit_records_are_disposable(prod: SynthResult, dev: SynthResult) -> None:
    def bucket(result: SynthResult, purpose: str) -> dict:  # type: ignore[type-arg]
        [found] = [r for r in result.resources if r.name.endswith(f"-{purpose}-bucket")
                   and r.type == "gcp:storage/bucket:Bucket"]
        return found.inputs
    for purpose in ("data", "artifacts"):
        assert bucket(dev, purpose)["forceDestroy"] is True and bucket(prod, purpose)["forceDestroy"] is False
    assert bucket(dev, "audit")["forceDestroy"] is False
    # Dev's audit bucket retains records as long as dev keeps its logs; prod keeps the blueprint's.
    assert bucket(dev, "audit")["retentionPolicy"]["retentionPeriod"] == str(30 * 86400)
    assert bucket(prod, "audit")["retentionPolicy"]["retentionPeriod"] == \
        str(prod.plan.governance.audit_retention_days * 86400)
    assert prod.plan.governance.audit_retention_days > 30
