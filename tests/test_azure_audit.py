"""Azure audit trail: the immutable audit account and the audit logs archived into it (components.azure.audit)."""

from __future__ import annotations

import pytest
from shared_synth import synthesized

from components.azure.audit import ACTIVITY_CATEGORIES, BLOB_CATEGORIES, VAULT_CATEGORIES, WORKSPACE_GROUPS
from mlops.clouds.azure_platform import AZURE_PLATFORM_FALLBACKS
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

FORECAST = "blueprints/demand-forecasting-azure.yaml"
STORAGE = "azure-native:storage:StorageAccount"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
ACTIVITY = "azure-native:monitor:SubscriptionDiagnosticSetting"
P = "demand-forecast-prod"


def _one(result: SynthResult, suffix: str) -> Recorded:
    [record] = [r for r in result.resources if r.name.endswith(suffix)]
    return record


def _policy(account: Recorded) -> dict[str, object]:
    return account.inputs["immutableStorageWithVersioning"]["immutabilityPolicy"]


def test_audit_account_is_immutable_and_locked_in_prod() -> None:
    prod = synthesized(FORECAST, "prod")
    assert prod.plan.governance.audit_lock_mode == "compliance"
    account = _one(prod, "-audit-storage")
    assert account.type == STORAGE and account.protect and account.retain_on_delete
    assert account.inputs["immutableStorageWithVersioning"]["enabled"] is True
    assert _policy(account) == {"immutabilityPeriodSinceCreationInDays": prod.plan.governance.audit_retention_days,
                                "allowProtectedAppendWrites": True, "state": "Locked"}
    assert account.inputs["allowSharedKeyAccess"] is False and account.inputs["publicNetworkAccess"] == "Disabled"
    assert account.inputs["networkRuleSet"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert account.inputs["accountName"] != _one(prod, "-foundation-storage").inputs["accountName"]
    assert prod.outputs["audit_storage_account"] == account.inputs["accountName"]
    # Version-level immutability needs blob versioning on the account.
    assert _one(prod, "-audit-blob-service").inputs["isVersioningEnabled"] is True


def test_audit_account_is_unlocked_outside_prod() -> None:
    dev = synthesized(FORECAST, "dev")
    assert dev.plan.governance.audit_lock_mode == "governance"
    account = _one(dev, "-audit-storage")
    assert _policy(account)["state"] == "Unlocked" and not account.protect


def test_the_first_production_deployment_creates_the_policy_unlocked() -> None:
    # Azure creates account policies Disabled or Unlocked only; Locked is a later update.
    first = synth(FORECAST, "prod", {"mlops:auditFirstDeployment": "true"})
    assert _policy(_one(first, "-audit-storage"))["state"] == "Unlocked"
    assert [v.policy for v in first.violations] == ["azure-audit-locked-in-production"]
    assert not first.violations[0].mandatory
    assert "mlops:auditFirstDeployment" in AZURE_PLATFORM_FALLBACKS["audit lock"]
    with pytest.raises(Exception, match="only applies where audit storage is locked"):
        synth(FORECAST, "dev", {"mlops:auditFirstDeployment": "true"})


def test_audit_logs_and_the_activity_log_are_archived_into_the_audit_account() -> None:
    prod = synthesized(FORECAST, "prod")
    account = _one(prod, "-audit-storage")
    archived: dict[str, set[str]] = {}
    for source in ("workspace", "vault", "storage"):
        setting = _one(prod, f"-audit-{source}-archive")
        assert setting.type == DIAGNOSTICS
        assert setting.property_dependencies["storageAccountId"] == [account.urn]
        archived[source] = {x.get("category") or x["categoryGroup"] for x in setting.inputs["logs"]}
        assert all(x["enabled"] for x in setting.inputs["logs"])
    assert archived == {"workspace": set(WORKSPACE_GROUPS), "vault": set(VAULT_CATEGORIES),
                        "storage": set(BLOB_CATEGORIES)}
    # The monitored resources: the workspace, the vault and the platform storage's blob service.
    ids = {s: _one(prod, f"-audit-{s}-archive").inputs["resourceUri"] for s in ("workspace", "vault", "storage")}
    assert ids["vault"] == f"{_one(prod, '-foundation-vault').name}-id"
    assert ids["storage"] == f"{_one(prod, '-foundation-storage').name}-id/blobServices/default"
    activity = _one(prod, "-audit-activity-log")
    assert activity.type == ACTIVITY and activity.property_dependencies["storageAccountId"] == [account.urn]
    assert [x["category"] for x in activity.inputs["logs"]] == list(ACTIVITY_CATEGORIES)
