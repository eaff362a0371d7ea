"""AWS foundation policies: each rule fails on a violating graph and passes on the compliant one."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest
from mlops_policies.aws import AWS_POLICIES
from shared_synth import synthesized

from mlops.policies.engine import policy_resources, run_policies
from mlops.synth import synth
from mlops.synth.recorder import Recorded

POLICIES = {p.name: p for p in AWS_POLICIES}


@pytest.fixture(scope="module")
def prod_graph() -> list[Recorded]:
    return synthesized("blueprints/fraud-detection-aws.yaml", "prod").resources


def _only(records: list[Recorded], type_: str, suffix: str) -> Recorded:
    [found] = [r for r in records if r.type == type_ and r.name.endswith(suffix)]
    return found


def _drop(records: list[Recorded], type_: str, suffix: str) -> list[Recorded]:
    return [r for r in records if not (r.type == type_ and r.name.endswith(suffix))]


def _edit(type_: str, suffix: str, change: Callable[[Recorded], None]) -> Callable[[list[Recorded]], list[Recorded]]:
    def apply(records: list[Recorded]) -> list[Recorded]:
        changed = copy.deepcopy(records)
        change(_only(changed, type_, suffix))
        return changed
    return apply


def _set_input(key: str, value: object) -> Callable[[Recorded], None]:
    def change(record: Recorded) -> None:
        record.inputs[key] = value
    return change


def _unprotect(record: Recorded) -> None:
    record.protect = False


def _allow_plain_http(record: Recorded) -> None:
    document = json.loads(record.inputs["policy"])
    document["Statement"][0]["Effect"] = "Allow"
    record.inputs["policy"] = json.dumps(document)


def _governance_mode(record: Recorded) -> None:
    record.inputs["rule"]["defaultRetention"]["mode"] = "GOVERNANCE"


def _unscoped_publishers(record: Recorded) -> None:
    """The old key policy: alarms could use the key from any account (no condition)."""
    document = json.loads(record.inputs["policy"])
    [publishers] = [s for s in document["Statement"] if s["Sid"] == "AlarmsPublishToEncryptedTopics"]
    del publishers["Condition"]
    record.inputs["policy"] = json.dumps(document)


# policy name → (how to break the compliant prod graph, the resource the violation names)
BREAKS: dict[str, tuple[Callable[[list[Recorded]], list[Recorded]], str]] = {
    "aws-kms-key-rotation": (_edit("aws:kms/key:Key", "-key", _set_input("enableKeyRotation", False)),
                             "foundation-key"),
    "aws-kms-key-policy-service-scoped": (_edit("aws:kms/key:Key", "-key", _unscoped_publishers),
                                          "foundation-key"),
    "aws-s3-kms-encryption": (lambda rs: _drop(rs, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                                   "BucketServerSideEncryptionConfiguration", "data-encryption"),
                              "data-bucket"),
    "aws-s3-public-access-block": (_edit("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                                         "artifacts-public-access", _set_input("restrictPublicBuckets", False)),
                                   "artifacts-bucket"),
    "aws-s3-versioning": (lambda rs: _drop(rs, "aws:s3/bucketVersioning:BucketVersioning", "audit-versioning"),
                          "audit-bucket"),
    "aws-s3-tls-only": (_edit("aws:s3/bucketPolicy:BucketPolicy", "data-tls-only", _allow_plain_http),
                        "data-bucket"),
    "aws-audit-retention-lock": (_edit("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                                       "audit-object-lock", _governance_mode), "audit-bucket"),
    "aws-protect-production": (_edit("aws:s3/bucket:Bucket", "audit-bucket", _unprotect), "audit-bucket"),
}


def test_every_policy_has_a_violating_case() -> None:
    assert set(BREAKS) == set(POLICIES)


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_policy_passes_on_compliant_graph(prod_graph: list[Recorded], name: str) -> None:
    assert run_policies([POLICIES[name]], policy_resources(prod_graph)) == []


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_policy_fails_on_violating_graph(prod_graph: list[Recorded], name: str) -> None:
    breaker, culprit = BREAKS[name]
    violations = run_policies([POLICIES[name]], policy_resources(breaker(prod_graph)))
    assert [v.policy for v in violations] == [name]
    assert violations[0].urn is not None and violations[0].urn.endswith(culprit)
    assert violations[0].mandatory


def test_audit_lock_missing_entirely_is_a_violation(prod_graph: list[Recorded]) -> None:
    graph = _drop(prod_graph, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "object-lock")
    violations = run_policies([POLICIES["aws-audit-retention-lock"]], policy_resources(graph))
    assert [v.message for v in violations] == ["audit bucket without Object Lock default retention"]


def test_dev_stack_is_not_required_to_be_protected() -> None:
    dev = synth("blueprints/fraud-detection-aws.yaml", "dev")
    assert not any(r.protect for r in dev.resources)
    assert dev.violations == []
