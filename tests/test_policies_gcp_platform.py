"""GCP platform policies: each with a violating and a compliant case on the synthesized example graphs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlops_policies.gcp_platform import GCP_PLATFORM_POLICIES
from policy_checks import run_changed, set_input
from pulumi_policy import EnforcementLevel, PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions
from shared_synth import synthesized

from mlops.policies import ALL_POLICIES
from mlops.policies.engine import Violation, run_policies
from mlops.synth import SynthResult
from mlops.synth.recorder import Recorded

BLUEPRINT = str(Path(__file__).resolve().parents[1] / "blueprints" / "product-recommendations-gcp.yaml")
POLICIES = {p.name: p for p in GCP_PLATFORM_POLICIES}


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(BLUEPRINT, "prod")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(BLUEPRINT, "dev")


def check(policy: str, result: SynthResult, suffix: str | None = None,
          change: Callable[[Recorded], None] | None = None) -> tuple[list[Violation], str | None]:
    """Run one policy on the graph after `change` to the resource named `...suffix`; its URN."""
    return run_changed(POLICIES[policy], result.resources, suffix, change)


def assert_one_violation(violations: list[Violation], policy: str, urn: str | None, words: str) -> None:
    assert [(v.policy, v.enforcement) for v in violations] == [(policy, "mandatory")]
    if urn is not None:
        assert violations[0].urn == urn
    assert words in violations[0].message


def test_policies_are_mandatory_prefixed_and_packaged() -> None:
    assert len(GCP_PLATFORM_POLICIES) >= 6
    assert all(p.name.startswith("gcp-") for p in GCP_PLATFORM_POLICIES)
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in GCP_PLATFORM_POLICIES)
    assert all(p in ALL_POLICIES for p in GCP_PLATFORM_POLICIES)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_the_synthesized_stacks_comply(policy: str, prod: SynthResult, dev: SynthResult) -> None:
    assert check(policy, prod)[0] == []
    assert check(policy, dev)[0] == []


# ---- IAM --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("suffix", "role"), [
    ("-identities-pipelines-aiplatform-user", "roles/editor"),
    ("-registries-containers-endpoints", "roles/owner"),
    ("-features-offline-vertex", "roles/viewer"),
])
def test_primitive_roles_violate(prod: SynthResult, suffix: str, role: str) -> None:
    violations, urn = check("gcp-iam-no-primitive-roles", prod, suffix, set_input("role", role))
    assert_one_violation(violations, "gcp-iam-no-primitive-roles", urn, role)


@pytest.mark.parametrize("member", ["allUsers", "allAuthenticatedUsers"])
def test_public_members_violate(prod: SynthResult, member: str) -> None:
    violations, urn = check("gcp-iam-no-public-members", prod, "-identities-endpoints-artifacts",
                            set_input("member", member))
    assert_one_violation(violations, "gcp-iam-no-public-members", urn, member)


def test_public_member_in_a_binding_violates(prod: SynthResult) -> None:
    violations, urn = check("gcp-iam-no-public-members", prod, "-identities-endpoints-artifacts",
                            set_input("members", ["group:ok@example.com", "allUsers"]))
    assert_one_violation(violations, "gcp-iam-no-public-members", urn, "allUsers")


# ---- hand-made resources ----------------------------------------------------------------------

def resource(resource_type: str, props: dict[str, Any], *, protect: bool = False) -> PolicyResource:
    urn = f"urn:pulumi:prod::hand::{resource_type}::one"
    options = PolicyResourceOptions(protect=protect, ignore_changes=[], delete_before_replace=None,
                                    aliases=[], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                    additional_secret_outputs=[], parent=None)
    return PolicyResource(resource_type, props, urn, "one", options, None, None, [], {})


def test_service_account_key_violates_and_account_complies() -> None:
    key = resource("gcp:serviceaccount/key:Key", {"serviceAccountId": "sa"})
    account = resource("gcp:serviceaccount/account:Account", {"accountId": "sa"})
    found = run_policies([POLICIES["gcp-no-service-account-keys"]], [key, account])
    assert [(v.policy, v.urn) for v in found] == [("gcp-no-service-account-keys", key.urn)]
    assert "workload identity federation" in found[0].message


# ---- CMEK -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("suffix", "path"), [
    ("-features-offline", "defaultEncryptionConfiguration"),
    ("-features-user", "encryptionConfiguration"),
    ("-features-product", "encryptionConfiguration.kmsKeyName"),
])
def test_bigquery_without_cmek_violates(prod: SynthResult, suffix: str, path: str) -> None:
    violations, urn = check("gcp-bigquery-cmek", prod, suffix, set_input(path, None))
    assert_one_violation(violations, "gcp-bigquery-cmek", urn, "customer-managed")


def test_bigquery_view_needs_no_key() -> None:
    view = resource("gcp:bigquery/table:Table", {"view": {"query": "SELECT 1"}})
    assert run_policies([POLICIES["gcp-bigquery-cmek"]], [view]) == []


@pytest.mark.parametrize("suffix", ["-registries-containers", "-registries-pipelines"])
def test_artifact_registry_without_cmek_violates(prod: SynthResult, suffix: str) -> None:
    violations, urn = check("gcp-artifact-registry-cmek", prod, suffix, set_input("kmsKeyName", None))
    assert_one_violation(violations, "gcp-artifact-registry-cmek", urn, "kms_key_name")


@pytest.mark.parametrize("suffix", ["-tracking-metadata", "-tracking-tensorboard", "-features-online"])
def test_vertex_store_without_cmek_violates(prod: SynthResult, suffix: str) -> None:
    violations, urn = check("gcp-vertex-stores-cmek", prod, suffix, set_input("encryptionSpec", None))
    assert_one_violation(violations, "gcp-vertex-stores-cmek", urn, "encryption_spec")


# ---- network ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "value", "words"), [
    ("privateIpGoogleAccess", False, "Private Google Access"),
    ("privateIpGoogleAccess", None, "Private Google Access"),
    ("logConfig", None, "flow logs"),
])
def test_subnet_violations(prod: SynthResult, path: str, value: Any, words: str) -> None:
    violations, urn = check("gcp-subnet-private-access-flow-logs", prod, "-network-subnet", set_input(path, value))
    assert_one_violation(violations, "gcp-subnet-private-access-flow-logs", urn, words)


def test_open_ingress_violates(prod: SynthResult) -> None:
    violations, urn = check("gcp-firewall-no-open-ingress", prod, "-network-allow-internal",
                            set_input("sourceRanges", ["0.0.0.0/0"]))
    assert_one_violation(violations, "gcp-firewall-no-open-ingress", urn, "from anywhere")


def test_deny_from_anywhere_complies(prod: SynthResult) -> None:
    deny = next(r for r in prod.resources if r.name.endswith("-network-deny-ingress"))
    assert deny.inputs["sourceRanges"] == ["0.0.0.0/0"] and "denies" in deny.inputs
    assert check("gcp-firewall-no-open-ingress", prod)[0] == []


# ---- audit ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("suffix", "service"), [
    ("-governance-audit-aiplatform", "aiplatform.googleapis.com"),
    ("-governance-audit-storage", "storage.googleapis.com"),
    ("-governance-audit-bigquery", "bigquery.googleapis.com"),
])
def test_missing_data_access_logs_violate(prod: SynthResult, suffix: str, service: str) -> None:
    violations, _ = check("gcp-audit-data-access", prod, suffix,
                          set_input("auditLogConfigs", [{"logType": "ADMIN_READ"}, {"logType": "DATA_WRITE"}]))
    assert_one_violation(violations, "gcp-audit-data-access", None, f"{service} are off (DATA_READ)")


def test_stack_without_those_services_needs_no_audit_config() -> None:
    network = resource("gcp:compute/network:Network", {"name": "n"})
    assert run_policies([POLICIES["gcp-audit-data-access"]], [network]) == []


# ---- feature online store ---------------------------------------------------------------------

def test_public_production_online_store_violates(prod: SynthResult) -> None:
    violations, urn = check("gcp-feature-online-store-private", prod, "-features-online",
                            set_input("dedicatedServingEndpoint", None))
    assert_one_violation(violations, "gcp-feature-online-store-private", urn, "Private Service Connect")


def test_public_online_store_outside_production_complies(dev: SynthResult) -> None:
    online = next(r for r in dev.resources if r.name.endswith("-features-online"))
    assert "dedicatedServingEndpoint" not in online.inputs
    assert check("gcp-feature-online-store-private", dev)[0] == []


def test_bigtable_online_store_complies() -> None:
    store = resource("gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore",
                     {"bigtable": {"autoScaling": {"minNodeCount": 2}}, "labels": {"environment": "prod"}})
    assert run_policies([POLICIES["gcp-feature-online-store-private"]], [store]) == []


# ---- protection -------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["-features-offline", "-features-user", "-registries-containers",
                                    "-tracking-metadata", "-tracking-tensorboard", "-features-online"])
def test_unprotected_production_store_violates(prod: SynthResult, suffix: str) -> None:
    def unprotect(target: Recorded) -> None:
        target.protect = False

    violations, urn = check("gcp-platform-stores-protected", prod, suffix, unprotect)
    assert_one_violation(violations, "gcp-platform-stores-protected", urn, "not protected")


def test_unprotected_stores_outside_production_comply(dev: SynthResult) -> None:
    assert not any(r.protect for r in dev.resources)
    assert check("gcp-platform-stores-protected", dev)[0] == []
