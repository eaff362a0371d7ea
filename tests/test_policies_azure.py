"""Azure foundation policies: each rule fails on a violating graph and passes on the compliant one."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from mlops_policies.azure import AZURE_POLICIES
from shared_synth import synthesized

from mlops.policies import ALL_POLICIES
from mlops.policies.engine import policy_resources, run_policies
from mlops.synth import synth
from mlops.synth.recorder import Recorded

POLICIES = {p.name: p for p in AZURE_POLICIES}
BLUEPRINT = "blueprints/demand-forecasting-azure.yaml"

STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
CONTAINER = "azure-native:storage:BlobContainer"

Breaker = Callable[[list[Recorded]], list[Recorded]]


@pytest.fixture(scope="module")
def prod_graph() -> list[Recorded]:
    return synthesized(BLUEPRINT, "prod").resources


def _only(records: list[Recorded], type_: str, suffix: str) -> Recorded:
    [found] = [r for r in records if r.type == type_ and r.name.endswith(suffix)]
    return found


def _drop(type_: str, suffix: str) -> Breaker:
    def apply(records: list[Recorded]) -> list[Recorded]:
        _only(records, type_, suffix)  # fails loudly if the graph no longer has it
        return [r for r in records if not (r.type == type_ and r.name.endswith(suffix))]
    return apply


def _set(type_: str, suffix: str, path: str, value: Any) -> Breaker:
    """Copy the graph and set one (dotted) input of one resource; `...` deletes the input."""
    def apply(records: list[Recorded]) -> list[Recorded]:
        changed = copy.deepcopy(records)
        *parents, last = path.split(".")
        target = _only(changed, type_, suffix).inputs
        for key in parents:
            target = target[key]
        assert last in target, path
        if value is ...:
            del target[last]
        else:
            target[last] = value
        return changed
    return apply


def _unprotect(type_: str, suffix: str) -> Breaker:
    def apply(records: list[Recorded]) -> list[Recorded]:
        changed = copy.deepcopy(records)
        _only(changed, type_, suffix).protect = False
        return changed
    return apply


# policy name → (how to break the compliant prod graph, the resource the violation names)
BREAKS: dict[str, tuple[Breaker, str]] = {
    "azure-storage-tls": (_set(STORAGE, "foundation-storage", "minimumTlsVersion", "TLS1_0"), "foundation-storage"),
    "azure-storage-no-public-blob-access": (_set(STORAGE, "foundation-storage", "allowBlobPublicAccess", True),
                                            "foundation-storage"),
    "azure-storage-no-shared-key": (_set(STORAGE, "foundation-storage", "allowSharedKeyAccess", True),
                                    "foundation-storage"),
    "azure-storage-private-network": (_set(STORAGE, "foundation-storage", "publicNetworkAccess", "Enabled"),
                                      "foundation-storage"),
    "azure-storage-cmk": (_set(STORAGE, "foundation-storage", "encryption.keySource", "Microsoft.Storage"),
                          "foundation-storage"),
    "azure-storage-versioning": (_set(BLOB_SERVICE, "foundation-blob-service", "isVersioningEnabled", False),
                                 "foundation-storage"),
    "azure-keyvault-purge-protection": (_set(VAULT, "-vault", "properties.enablePurgeProtection", False),
                                        "foundation-vault"),
    "azure-keyvault-rbac": (_set(VAULT, "-vault", "properties.enableRbacAuthorization", False), "foundation-vault"),
    "azure-keyvault-private-network": (_set(VAULT, "-vault", "properties.publicNetworkAccess", "Enabled"),
                                       "foundation-vault"),
    "azure-keyvault-key-rotation": (_set(KEY, "-key", "properties.rotationPolicy", ...), "foundation-key"),
    "azure-audit-immutability": (_set(STORAGE, "audit-storage", "immutableStorageWithVersioning", ...),
                                 "audit-storage"),
    "azure-audit-locked-in-production": (
        _set(STORAGE, "audit-storage", "immutableStorageWithVersioning.immutabilityPolicy.state", "Unlocked"),
        "audit-storage"),
    "azure-protect-production": (_unprotect(VAULT, "-vault"), "foundation-vault"),
    "azure-protect-audit-pipeline": (_unprotect("azure-native:monitor:DiagnosticSetting", "-vault-archive"),
                                     "audit-vault-archive"),
}

# More ways to break a rule: (policy, breaker, culprit).
MORE_BREAKS: list[tuple[str, Breaker, str]] = [
    ("azure-storage-tls", _set(STORAGE, "foundation-storage", "enableHttpsTrafficOnly", False), "foundation-storage"),
    ("azure-storage-no-public-blob-access", _set(CONTAINER, "-data", "publicAccess", "Blob"), "foundation-data"),
    ("azure-storage-no-shared-key", _set(STORAGE, "foundation-storage", "allowSharedKeyAccess", ...),
     "foundation-storage"),
    ("azure-storage-private-network", _set(STORAGE, "foundation-storage", "networkRuleSet.defaultAction", "Allow"),
     "foundation-storage"),
    ("azure-storage-cmk", _set(STORAGE, "foundation-storage", "encryption", ...), "foundation-storage"),
    ("azure-storage-versioning", _drop(BLOB_SERVICE, "foundation-blob-service"), "foundation-storage"),
    ("azure-keyvault-purge-protection", _set(VAULT, "-vault", "properties.enableSoftDelete", False),
     "foundation-vault"),
    ("azure-keyvault-private-network", _set(VAULT, "-vault", "properties.networkAcls.defaultAction", "Allow"),
     "foundation-vault"),
    ("azure-keyvault-key-rotation",
     _set(KEY, "-key", "properties.rotationPolicy.lifetimeActions", [
         {"action": {"type": "notify"}, "trigger": {"timeBeforeExpiry": "P30D"}}]), "foundation-key"),
    ("azure-audit-immutability", _set(STORAGE, "audit-storage", "immutableStorageWithVersioning.enabled", False),
     "audit-storage"),
    ("azure-audit-immutability", _set(STORAGE, "audit-storage",
                                      "immutableStorageWithVersioning.immutabilityPolicy."
                                      "immutabilityPeriodSinceCreationInDays", 0), "audit-storage"),
    ("azure-audit-immutability", _set(STORAGE, "audit-storage",
                                      "immutableStorageWithVersioning.immutabilityPolicy.allowProtectedAppendWrites",
                                      False), "audit-storage"),
    ("azure-protect-production", _unprotect(STORAGE, "foundation-storage"), "foundation-storage"),
    ("azure-protect-audit-pipeline", _unprotect("azure-native:monitor:SubscriptionDiagnosticSetting",
                                                "-activity-log"), "audit-activity-log"),
]


def test_every_policy_has_a_violating_case() -> None:
    assert set(BREAKS) == set(POLICIES)
    assert all(p.name.startswith("azure-") for p in AZURE_POLICIES)
    assert {p.name for p in AZURE_POLICIES} <= {p.name for p in ALL_POLICIES}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_policy_passes_on_compliant_graph(prod_graph: list[Recorded], name: str) -> None:
    assert run_policies([POLICIES[name]], policy_resources(prod_graph)) == []


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_policy_fails_on_violating_graph(prod_graph: list[Recorded], name: str) -> None:
    breaker, culprit = BREAKS[name]
    violations = run_policies([POLICIES[name]], policy_resources(breaker(prod_graph)))
    assert [v.policy for v in violations] == [name]
    assert violations[0].urn is not None and violations[0].urn.endswith(f"::demand-forecast-prod-{culprit}")
    # Advisory only: a new production stack's first deployment creates the policy Unlocked (Azure's rule).
    assert violations[0].mandatory == (name != "azure-audit-locked-in-production")


@pytest.mark.parametrize(("name", "breaker", "culprit"), MORE_BREAKS,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(MORE_BREAKS)])
def test_policy_fails_on_other_violations(prod_graph: list[Recorded], name: str, breaker: Breaker,
                                          culprit: str) -> None:
    violations = run_policies([POLICIES[name]], policy_resources(breaker(prod_graph)))
    assert [(v.policy, v.urn.rsplit("::", 1)[1] if v.urn else None) for v in violations] == [
        (name, f"demand-forecast-prod-{culprit}")]


def test_dev_stack_is_not_required_to_be_protected() -> None:
    dev = synth(BLUEPRINT, "dev")
    assert not any(r.protect for r in dev.resources)
    assert run_policies([POLICIES["azure-protect-production"]], policy_resources(dev.resources)) == []


def test_audit_diagnostic_settings_are_protected_in_production_only(prod_graph: list[Recorded]) -> None:
    archives = [r for r in prod_graph if r.type.startswith("azure-native:monitor:")
                and (r.name.endswith("-archive") or r.name.endswith("-activity-log"))]
    assert len(archives) == 4 and all(r.protect and r.retain_on_delete for r in archives)
    # The Log Analytics copies (governance, endpoints) are operational, not the audit record.
    assert not any(r.protect for r in prod_graph if r.name.endswith("-diagnostics"))
    dev = synthesized("blueprints/demand-forecasting-azure.yaml", "dev")
    assert run_policies([POLICIES["azure-protect-audit-pipeline"]], policy_resources(dev.resources)) == []


def test_only_the_audit_container_needs_immutability(prod_graph: list[Recorded]) -> None:
    # Re-purposing the data container as an audit store makes it subject to the rule.
    graph = _set(CONTAINER, "-data", "metadata", {"mlops_purpose": "audit"})(prod_graph)
    violations = run_policies([POLICIES["azure-audit-immutability"]], policy_resources(graph))
    assert [v.urn.rsplit("::", 1)[1] if v.urn else None for v in violations] == ["demand-forecast-prod-foundation-data"]
