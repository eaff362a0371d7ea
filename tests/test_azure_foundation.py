"""Azure foundation under mocks: what is created, how it is parented, protected, tagged and wired."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Any

import pytest
from shared_synth import synthesized

from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

BLUEPRINT = "blueprints/demand-forecasting-azure.yaml"
PROD_SUBSCRIPTION = "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f"
CRYPTO_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
CONTAINER = "azure-native:storage:BlobContainer"
# Registered by the engine (or the mocks), not by the program.
ENGINE_TYPES = ("pulumi:pulumi:Stack", "pulumi:providers:")


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(BLUEPRINT, "prod")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(BLUEPRINT, "dev")


def _by_name(result: SynthResult, suffix: str) -> Recorded:
    [record] = [r for r in result.resources if r.name.endswith(suffix)]
    return record


def _of_type(result: SynthResult, type_: str) -> list[Recorded]:
    return [r for r in result.resources if r.type == type_]


def _foundation(result: SynthResult) -> list[Recorded]:
    """The root, its provider, the resource group and the foundation subtree (other areas have their own tests)."""
    by_urn = {r.urn: r for r in result.resources}
    [foundation] = _of_type(result, "mlops:index:AzureFoundation")

    def inside(record: Recorded) -> bool:
        chain: Recorded | None = record
        while chain is not None:
            if chain.urn == foundation.urn:
                return True
            chain = by_urn.get(chain.parent) if chain.parent else None
        return False

    return [r for r in result.resources
            if inside(r) or r.type in (RESOURCE_GROUP, "mlops:index:AzureMlPlatform", "pulumi:providers:azure-native")]


def test_resource_inventory(prod: SynthResult) -> None:
    assert Counter(r.type for r in _foundation(prod)) == {
        "pulumi:providers:azure-native": 1,
        "mlops:index:AzureMlPlatform": 1,
        "mlops:index:AzureFoundation": 1,
        RESOURCE_GROUP: 1,
        IDENTITY: 1,
        VAULT: 1,
        KEY: 1,
        ROLE_ASSIGNMENT: 3,
        STORAGE_ACCOUNT: 1,
        BLOB_SERVICE: 1,
        CONTAINER: 2,
    }
    assert sorted(r.inputs["containerName"] for r in _of_type(prod, CONTAINER)
                  if r in _foundation(prod)) == ["artifacts", "data"]


def test_prod_and_dev_stacks_have_no_violations(prod: SynthResult, dev: SynthResult) -> None:
    assert prod.violations == []
    assert dev.violations == []


def test_every_resource_descends_from_the_root(prod: SynthResult) -> None:
    by_urn = {r.urn: r for r in prod.resources}
    [root] = _of_type(prod, "mlops:index:AzureMlPlatform")
    [foundation] = _of_type(prod, "mlops:index:AzureFoundation")
    assert foundation.parent == root.urn
    assert _by_name(prod, "-rg").parent == root.urn
    for record in prod.resources:
        if record.type.startswith(ENGINE_TYPES):
            continue
        chain = record
        while chain is not root and chain.parent in by_urn:
            chain = by_urn[chain.parent]
        assert chain is root, record.name


def test_children_use_the_program_provider(prod: SynthResult) -> None:
    [provider] = _of_type(prod, "pulumi:providers:azure-native")
    assert provider.inputs["subscriptionId"] == PROD_SUBSCRIPTION
    assert provider.inputs["location"] == "westeurope"
    for record in prod.resources:
        if record.custom and not record.type.startswith(ENGINE_TYPES):
            assert record.provider == provider.urn, record.name


# Azure ML's own documents inside typed inputs (component YAML, pipeline nodes and settings): their wire
# format is snake_case (checked against the azure-ai-ml SDK in tests/test_azure_pipelines.py).
AZURE_ML_DOCUMENTS = (".componentSpec", ".jobDefinition.jobs", ".jobDefinition.settings")
# Maps keyed by names the program chooses (tags, metadata, job inputs/outputs, variables, workflow actions).
NAMED_MAPS = (".tags", ".metadata", ".inputs", ".outputs", ".environmentVariables", ".actions")


def test_child_names_are_prefixed_and_inputs_camel_cased(prod: SynthResult) -> None:
    def snake_keys(value: Any, path: str) -> list[str]:
        if path.endswith(AZURE_ML_DOCUMENTS):
            return []
        if isinstance(value, dict):
            found = []
            for key, item in value.items():
                # Tag names and container metadata names are data, not SDK property names.
                if "_" in key and not path.endswith(NAMED_MAPS):
                    found.append(f"{path}.{key}")
                found += snake_keys(item, f"{path}.{key}")
            return found
        if isinstance(value, list):
            return [k for item in value for k in snake_keys(item, path)]
        return []

    for record in prod.resources:
        if not record.type.startswith(ENGINE_TYPES):
            assert record.name.startswith("demand-forecast-prod"), record.name
        assert snake_keys(record.inputs, record.name) == []


def test_stateful_resources_protected_only_in_prod(prod: SynthResult, dev: SynthResult) -> None:
    stateful = {RESOURCE_GROUP, VAULT, KEY, STORAGE_ACCOUNT, CONTAINER}
    for record in _foundation(prod):
        kept = record.protect and record.retain_on_delete
        assert kept == (record.type in stateful), record.name
    assert not any(r.protect or r.retain_on_delete for r in dev.resources)


def test_tags_on_every_taggable_resource(prod: SynthResult) -> None:
    tagged = {r.type for r in _foundation(prod) if "tags" in r.inputs}
    assert tagged == {RESOURCE_GROUP, IDENTITY, VAULT, KEY, STORAGE_ACCOUNT}
    for record in prod.resources:
        if "tags" in record.inputs:
            assert record.inputs["tags"]["environment"] == "prod", record.name
            assert record.inputs["tags"]["mlops-blueprint"] == "demand-forecast", record.name
            assert record.inputs["tags"]["cost-center"] == "supply-chain", record.name
    assert _by_name(prod, "foundation-storage").inputs["tags"]["mlops-purpose"] == "platform-storage"


def test_physical_names_are_deterministic_and_valid(prod: SynthResult, dev: SynthResult) -> None:
    names = {}
    for result in (prod, dev):
        account = _by_name(result, "foundation-storage").inputs["accountName"]
        vault = _by_name(result, "foundation-vault").inputs["vaultName"]
        assert re.fullmatch(r"[a-z][a-z0-9]{2,23}", account), account
        assert re.fullmatch(r"[a-z][a-z0-9]{2,23}", vault), vault
        names[result.plan.environment] = account
    assert names["prod"].startswith("demandforecastprod") and names["dev"].startswith("demandforecastdev")
    assert _by_name(prod, "-rg").inputs["resourceGroupName"] == "demand-forecast-prod-rg"
    again = synth(BLUEPRINT, "prod")
    assert [r.inputs for r in again.resources] == [r.inputs for r in prod.resources]


def test_vault_is_private_rbac_and_purge_protected(prod: SynthResult, dev: SynthResult) -> None:
    properties = _by_name(prod, "foundation-vault").inputs["properties"]
    assert properties["tenantId"] == "00000000-0000-0000-0000-000000000001"  # getClientConfig (mock)
    assert properties["enableRbacAuthorization"] is True
    assert properties["enableSoftDelete"] is True and properties["enablePurgeProtection"] is True
    assert properties["publicNetworkAccess"] == "Disabled"
    assert properties["networkAcls"] == {"bypass": "AzureServices", "defaultAction": "Deny"}
    assert properties["softDeleteRetentionInDays"] == 90
    assert _by_name(dev, "foundation-vault").inputs["properties"]["softDeleteRetentionInDays"] == 7


def test_key_rotates_on_the_plan_schedule(prod: SynthResult) -> None:
    key = _by_name(prod, "foundation-key")
    assert key.property_dependencies["vaultName"] == [_by_name(prod, "foundation-vault").urn]
    properties = key.inputs["properties"]
    assert properties["kty"] == "RSA" and properties["keySize"] >= 3072
    actions = {a["action"]["type"]: a["trigger"] for a in properties["rotationPolicy"]["lifetimeActions"]}
    assert actions["rotate"] == {"timeAfterCreate": f"P{prod.plan.key_rotation_days}D"}
    assert re.fullmatch(r"P\d+D", properties["rotationPolicy"]["attributes"]["expiryTime"])


def test_storage_encrypted_with_the_vault_key_through_the_identity(prod: SynthResult) -> None:
    account = _by_name(prod, "foundation-storage")
    identity, vault, key = (_by_name(prod, s) for s in ("foundation-identity", "foundation-vault", "foundation-key"))
    crypto = _by_name(prod, "vault-crypto-user")
    identity_id = f"{identity.name}-id"  # the mock's resource id
    encryption = account.inputs["encryption"]
    assert encryption["keySource"] == "Microsoft.Keyvault"
    assert encryption["keyVaultProperties"]["keyName"] == key.inputs["keyName"]
    assert "keyVersion" not in encryption["keyVaultProperties"]  # follows rotation
    assert encryption["encryptionIdentity"] == {"encryptionUserAssignedIdentity": identity_id}
    assert encryption["requireInfrastructureEncryption"] is True
    assert account.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity_id]}
    assert set(account.property_dependencies["encryption"]) >= {vault.urn, identity.urn}
    # The key exists and the identity may use it before the account is created.
    assert {key.urn, crypto.urn} <= set(account.dependencies)
    assert crypto.inputs["roleDefinitionId"] == (
        f"/subscriptions/{PROD_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{CRYPTO_USER}")
    assert crypto.property_dependencies == {"principalId": [identity.urn], "scope": [vault.urn]}


def test_storage_account_is_locked_down(prod: SynthResult) -> None:
    inputs = _by_name(prod, "foundation-storage").inputs
    assert inputs["kind"] == "StorageV2"
    assert inputs["minimumTlsVersion"] == "TLS1_2" and inputs["enableHttpsTrafficOnly"] is True
    assert inputs["allowBlobPublicAccess"] is False and inputs["allowSharedKeyAccess"] is False
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["networkRuleSet"]["defaultAction"] == "Deny"
    blob = _by_name(prod, "foundation-blob-service")
    assert blob.property_dependencies["accountName"] == [_by_name(prod, "foundation-storage").urn]
    assert blob.inputs["isVersioningEnabled"] is True
    assert blob.inputs["changeFeed"]["enabled"] is True
    assert blob.inputs["deleteRetentionPolicy"]["enabled"] is True
    for container in _of_type(prod, CONTAINER):
        assert container.inputs["publicAccess"] == "None", container.name


def test_identity_may_write_data_and_artifacts_only(prod: SynthResult) -> None:
    identity = _by_name(prod, "foundation-identity")
    grants = {r.name: r for r in _foundation(prod) if r.type == ROLE_ASSIGNMENT}
    scopes = {}
    for record in grants.values():
        assert record.property_dependencies["principalId"] == [identity.urn], record.name
        assert record.inputs["principalType"] == "ServicePrincipal"
        assert uuid.UUID(record.inputs["roleAssignmentName"])
        [scope] = record.property_dependencies["scope"]
        scopes[record.inputs["roleDefinitionId"].rsplit("/", 1)[1], scope.rsplit("::", 1)[1]] = record.name
    foundation = "demand-forecast-prod-foundation"
    assert set(scopes) == {
        (CRYPTO_USER, f"{foundation}-vault"),
        (BLOB_CONTRIBUTOR, f"{foundation}-data"),
        (BLOB_CONTRIBUTOR, f"{foundation}-artifacts"),
    }
    assert len({r.inputs["roleAssignmentName"] for r in grants.values()}) == 3


def test_outputs(prod: SynthResult) -> None:
    assert set(prod.outputs) >= {"key_id", "key_vault", "storage_account", "data_container", "artifact_container",
                                 "audit_storage_account", "execution_identity", "resource_group"}
    assert prod.outputs["storage_account"] == _by_name(prod, "foundation-storage").inputs["accountName"]
    assert (prod.outputs["data_container"], prod.outputs["artifact_container"]) == ("data", "artifacts")
    assert prod.outputs["audit_storage_account"] == _by_name(prod, "audit-storage").inputs["accountName"]
    assert prod.outputs["resource_group"] == "demand-forecast-prod-rg"
    # The role assignments grant the identity the outputs name.
    assert prod.outputs["execution_identity"] == _by_name(prod, "vault-crypto-user").inputs["principalId"]
    assert prod.outputs["key_id"] == f"{_by_name(prod, 'foundation-key').name}-id"
