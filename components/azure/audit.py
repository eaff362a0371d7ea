"""Azure audit trail: an immutable audit storage account and the audit logs exported into it.

Diagnostic settings with a storage destination write each log category into a container Azure names
and creates itself: `insights-logs-<category>` for resource logs, `insights-activity-logs` for the
subscription's Activity Log (learn.microsoft.com/azure/azure-monitor/platform/resource-logs, "Send to
Azure Storage"). A container-level policy cannot cover containers the stack does not create, so the
audit account has *account-level version-level immutability*: every container in it, those Azure
creates included, inherits the account's default time-based policy (ImmutableStorageAccount: "All the
containers under such an account have object-level immutability enabled by default"). Azure Monitor
writes append blobs, hence protected append writes.

Locking: an account policy is Locked (nobody may shorten or delete it, irreversible) by a property of
the account, which `pulumi up` can set; Azure only *creates* policies Disabled or Unlocked and moves
Unlocked → Locked on a later update (AccountImmutabilityPolicyProperties.state). So the first `pulumi
up` of a production stack runs with the stack setting `mlops:auditFirstDeployment=true` (Unlocked);
every later run leaves it out and the policy is Locked (mlops.clouds.azure_platform "audit lock").
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import PURPOSE_TAG, TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .naming import audit_account_name, known_name

storage = azure_native.storage
monitor = azure_native.monitor

FIRST_DEPLOYMENT_SETTING = "auditFirstDeployment"
ARCHIVE = "audit-archive"
"""Name of every diagnostic setting that archives into the audit account (unique per monitored resource)."""

# Log categories per resource type, as Azure Monitor's reference lists them:
# - Azure ML workspaces: the `audit` category group ("Supported logs for
#   Microsoft.MachineLearningServices/workspaces"; its tables AmlModelsEvent, AmlRunEvent … are "Audit").
# - Key Vault: category AuditEvent (learn.microsoft.com/azure/key-vault/general/logging).
# - Blob service: StorageRead, StorageWrite, StorageDelete ("Azure Blob Storage monitoring data reference").
# - Activity Log: Administrative, Security and Policy of its eight categories (Administrative,
#   ServiceHealth, ResourceHealth, Alert, Autoscale, Recommendation, Security, Policy; "Azure Activity
#   Log event schema"): who changed what, security alerts and policy decisions.
WORKSPACE_GROUPS = ("audit",)
VAULT_CATEGORIES = ("AuditEvent",)
BLOB_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")
ACTIVITY_CATEGORIES = ("Administrative", "Security", "Policy")


def locked_state(plan: Plan) -> storage.AccountImmutabilityPolicyState:
    """Locked where the plan says compliance (prod), except on the stack's first deployment."""
    first = pulumi.Config("mlops").get_bool(FIRST_DEPLOYMENT_SETTING)
    if plan.governance.audit_lock_mode != "compliance":
        if first is not None:
            raise ValueError(f"mlops:{FIRST_DEPLOYMENT_SETTING} only applies where audit storage is locked "
                             f"(production); {plan.environment} keeps it unlocked: remove the setting")
        return storage.AccountImmutabilityPolicyState.UNLOCKED
    return storage.AccountImmutabilityPolicyState.UNLOCKED if first else storage.AccountImmutabilityPolicyState.LOCKED


@builds(Capability.audit_trail)
class AzureAuditTrail(pulumi.ComponentResource):
    """The platform's audit record, immutable for `governance.audit_retention_days`.

    Creates, in the resource group it is given:

    - `-storage` (StorageV2 account: the platform's hardening — TLS 1.2, no shared keys, no public
      access, Deny by default with trusted Azure services (Azure Monitor) let in, the platform's
      customer-managed key — and account-level version-level immutability: a default time-based
      policy of the retention with protected append writes, Locked in production) and
      `-blob-service` (versioning, which version-level immutability needs).
    - `-workspace-archive`, `-vault-archive`, `-storage-archive`: diagnostic settings of the Azure ML
      workspace (audit group), the Key Vault (AuditEvent) and the platform storage's blob service
      (StorageRead/Write/Delete) into the audit account.
    - `-activity-log` (subscription diagnostic setting): the Activity Log's Administrative, Security
      and Policy records into the audit account.

    The account and the four diagnostic settings are protected and retained on delete in production.
    Outputs: `audit_storage_account`.
    """

    def __init__(self, name: str, plan: Plan, *, resource_group_name: pulumi.Input[str],
                 identity_id: pulumi.Input[str], vault_uri: pulumi.Input[str], key_name: str,
                 workspace_id: pulumi.Input[str], vault_id: pulumi.Input[str],
                 storage_account_id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureAuditTrail", name, None, opts)
        tags = azure_tags(plan.tags)
        account_key = storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT)
        account_name = audit_account_name(plan)
        self.account = storage.StorageAccount(
            f"{name}-storage",
            storage.StorageAccountArgs(
                resource_group_name=resource_group_name,
                account_name=account_name,
                location=plan.region,
                kind=storage.Kind.STORAGE_V2,
                sku=storage.SkuArgs(name=storage.SkuName.STANDARD_ZRS if plan.production
                                    else storage.SkuName.STANDARD_LRS),
                access_tier=storage.AccessTier.HOT,
                minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
                enable_https_traffic_only=True,
                allow_blob_public_access=False,
                allow_shared_key_access=False,
                default_to_o_auth_authentication=True,
                allow_cross_tenant_replication=False,
                is_local_user_enabled=False,
                is_sftp_enabled=False,
                public_network_access=storage.PublicNetworkAccess.DISABLED,
                # Azure Monitor delivers as a trusted Microsoft service through the firewall.
                network_rule_set=storage.NetworkRuleSetArgs(default_action=storage.DefaultAction.DENY,
                                                            bypass=storage.Bypass.AZURE_SERVICES),
                identity=storage.IdentityArgs(type=storage.IdentityType.USER_ASSIGNED,
                                              user_assigned_identities=[identity_id]),
                encryption=storage.EncryptionArgs(
                    key_source=storage.KeySource.MICROSOFT_KEYVAULT,
                    require_infrastructure_encryption=True,
                    encryption_identity=storage.EncryptionIdentityArgs(encryption_user_assigned_identity=identity_id),
                    key_vault_properties=storage.KeyVaultPropertiesArgs(key_name=key_name, key_vault_uri=vault_uri),
                    services=storage.EncryptionServicesArgs(
                        blob=account_key, file=account_key, queue=account_key, table=account_key),
                ),
                # Enabled only at creation; covers every container, the ones Azure Monitor creates included.
                immutable_storage_with_versioning=storage.ImmutableStorageAccountArgs(
                    enabled=True,
                    immutability_policy=storage.AccountImmutabilityPolicyPropertiesArgs(
                        immutability_period_since_creation_in_days=plan.governance.audit_retention_days,
                        allow_protected_append_writes=True,
                        state=locked_state(plan),
                    ),
                ),
                tags={**tags, PURPOSE_TAG: "audit-storage"},
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        account_name_out = known_name(self.account, account_name)
        storage.BlobServiceProperties(
            f"{name}-blob-service",
            storage.BlobServicePropertiesArgs(
                resource_group_name=resource_group_name, account_name=account_name_out,
                blob_services_name="default", is_versioning_enabled=True),
            opts=child(self),
        )

        def archive(suffix: str, resource: pulumi.Input[str], *, groups: tuple[str, ...] = (),
                    categories: tuple[str, ...] = ()) -> None:
            logs = [monitor.DiagnosticsLogSettingsArgs(category_group=g, enabled=True) for g in groups]
            logs += [monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in categories]
            monitor.DiagnosticSetting(
                f"{name}-{suffix}-archive",
                monitor.DiagnosticSettingArgs(name=f"{plan.prefix}-{ARCHIVE}", resource_uri=resource,
                                              storage_account_id=self.account.id, logs=logs),
                # The audit trail's pipe into the locked account: in production it outlives the stack.
                opts=child(self, stateful=True, protect=plan.protect),
            )

        archive("workspace", workspace_id, groups=WORKSPACE_GROUPS)
        archive("vault", vault_id, categories=VAULT_CATEGORIES)
        archive("storage", pulumi.Output.concat(storage_account_id, "/blobServices/default"),
                categories=BLOB_CATEGORIES)
        monitor.SubscriptionDiagnosticSetting(
            f"{name}-activity-log",
            monitor.SubscriptionDiagnosticSettingArgs(
                name=f"{plan.prefix}-{ARCHIVE}", storage_account_id=self.account.id,
                logs=[monitor.SubscriptionLogSettingsArgs(category=c, enabled=True) for c in ACTIVITY_CATEGORIES]),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        self.outputs = {"audit_storage_account": account_name_out}
        self.register_outputs(dict(self.outputs))
