"""Every GCP pipelines policy: a compliant and a violating case on the synthesized example with one change."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlops_policies.gcp_pipeline import GCP_PIPELINE_POLICIES, TOPIC, TOPIC_MEMBER
from policy_checks import run_changed
from pulumi_policy import EnforcementLevel
from shared_synth import synthesized

from mlops.policies import ALL_POLICIES
from mlops.policies.engine import Violation
from mlops.synth import SynthResult
from mlops.synth.recorder import Recorded

BLUEPRINT = str(Path(__file__).resolve().parents[1] / "blueprints" / "product-recommendations-gcp.yaml")
POLICIES = {p.name: p for p in GCP_PIPELINE_POLICIES}
WORKFLOW = "-registry-recs-ranker-promote"
SCHEDULE = "-recs-ranker-retraining-schedule"
SPEC = "-recs-ranker-training-spec"
PROMOTER_GRANT = "-registry-promoter-0"
DEFAULT_COMPUTE = "123456789-compute@developer.gserviceaccount.com"


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(BLUEPRINT, "prod")


def with_extra(result: SynthResult, like: str, resource_type: str, inputs: dict[str, Any]) -> list[Recorded]:
    """The graph plus one resource of `resource_type` (a copy of `...like` with other inputs)."""
    records = copy.deepcopy(result.resources)
    [model] = [r for r in records if r.name.endswith(like)]
    extra = copy.deepcopy(model)
    extra.type, extra.name, extra.urn, extra.inputs = resource_type, f"{model.name}-extra", f"{model.urn}-extra", inputs
    return [*records, extra]


def check(policy: str, result: SynthResult, suffix: str | None = None,
          change: Callable[[dict[str, Any]], None] | None = None,
          records: list[Recorded] | None = None) -> tuple[list[Violation], str | None]:
    def on_inputs(target: Recorded) -> None:
        assert change is not None
        change(target.inputs)
    return run_changed(POLICIES[policy], records if records is not None else result.resources, suffix,
                       on_inputs if change is not None else None)


def assert_one(violations: list[Violation], policy: str, urn: str | None, words: str) -> None:
    assert [(v.policy, v.urn, v.enforcement) for v in violations] == [(policy, urn, "mandatory")]
    assert words in violations[0].message


def test_policies_are_mandatory_named_and_packaged() -> None:
    assert sorted(POLICIES) == ["gcp-no-public-trigger-grants", "gcp-pipeline-schedule-cmek",
                                "gcp-pipeline-schedule-identity", "gcp-pubsub-cmek", "gcp-storage-object-cmek",
                                "gcp-workflows-cmek", "gcp-workflows-dedicated-identity"]
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in GCP_PIPELINE_POLICIES)
    assert all(p in ALL_POLICIES for p in GCP_PIPELINE_POLICIES)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_the_example_complies(policy: str, prod: SynthResult) -> None:
    assert check(policy, prod)[0] == []


def test_workflow_without_cmek(prod: SynthResult) -> None:
    violations, urn = check("gcp-workflows-cmek", prod, WORKFLOW, lambda i: i.pop("cryptoKeyName"))
    assert_one(violations, "gcp-workflows-cmek", urn, "crypto_key_name")


@pytest.mark.parametrize("account", [None, DEFAULT_COMPUTE])
def test_workflow_as_the_default_compute_account(account: str | None, prod: SynthResult) -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs.pop("serviceAccount")
        if account:
            inputs["serviceAccount"] = account
    violations, urn = check("gcp-workflows-dedicated-identity", prod, WORKFLOW, change)
    assert_one(violations, "gcp-workflows-dedicated-identity", urn, "dedicated")


def test_topic_without_cmek(prod: SynthResult) -> None:
    compliant = with_extra(prod, SCHEDULE, TOPIC, {"name": "t", "kmsKeyName": "projects/p/keys/k"})
    assert check("gcp-pubsub-cmek", prod, records=compliant)[0] == []
    violating = with_extra(prod, SCHEDULE, TOPIC, {"name": "t"})
    violations, _ = check("gcp-pubsub-cmek", prod, records=violating)
    assert_one(violations, "gcp-pubsub-cmek", violating[-1].urn, "kms_key_name")


def test_spec_object_without_key(prod: SynthResult) -> None:
    violations, urn = check("gcp-storage-object-cmek", prod, SPEC, lambda i: i.pop("kmsKeyName"))
    assert_one(violations, "gcp-storage-object-cmek", urn, "kms_key_name")


def test_scheduled_runs_without_cmek(prod: SynthResult) -> None:
    violations, urn = check("gcp-pipeline-schedule-cmek", prod, SCHEDULE,
                            lambda i: i["createPipelineJobRequest"]["pipelineJob"].pop("encryptionSpec"))
    assert_one(violations, "gcp-pipeline-schedule-cmek", urn, "encryption_spec")


@pytest.mark.parametrize("account", [None, DEFAULT_COMPUTE])
def test_scheduled_runs_as_the_default_compute_account(account: str | None, prod: SynthResult) -> None:
    def change(inputs: dict[str, Any]) -> None:
        job = inputs["createPipelineJobRequest"]["pipelineJob"]
        job.pop("serviceAccount")
        if account:
            job["serviceAccount"] = account
    violations, urn = check("gcp-pipeline-schedule-identity", prod, SCHEDULE, change)
    assert_one(violations, "gcp-pipeline-schedule-identity", urn, "service_account")


@pytest.mark.parametrize("member", ["allUsers", "allAuthenticatedUsers"])
def test_public_grants_on_the_promoter_or_a_topic(member: str, prod: SynthResult) -> None:
    violations, urn = check("gcp-no-public-trigger-grants", prod, PROMOTER_GRANT, lambda i: i.update(member=member))
    assert_one(violations, "gcp-no-public-trigger-grants", urn, "service account")
    topic_grant = with_extra(prod, PROMOTER_GRANT, TOPIC_MEMBER, {"topic": "t", "role": "roles/pubsub.publisher",
                                                                  "member": member})
    violations, _ = check("gcp-no-public-trigger-grants", prod, records=topic_grant)
    assert_one(violations, "gcp-no-public-trigger-grants", topic_grant[-1].urn, "Pub/Sub topic")
