"""Azure foundation: the platform's identity, Key Vault key and storage account."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import PURPOSE_TAG, TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .naming import global_name, known_name
from .rbac import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, STORAGE_BLOB_DATA_CONTRIBUTOR, grant

keyvault = azure_native.keyvault
storage = azure_native.storage

# Container metadata names must be C# identifiers (no hyphen), so the purpose tag's name is adapted.
PURPOSE_METADATA = PURPOSE_TAG.replace("-", "_")
KEY_NAME = "platform-cmk"
# A key version expires this long after its scheduled rotation; the vault notifies half-way there.
KEY_EXPIRY_MARGIN_DAYS = 60
KEY_EXPIRY_NOTICE_DAYS = 30


@builds(Capability.foundation)
class AzureFoundation(pulumi.ComponentResource):
    """Identity, keys and storage every other Azure capability builds on.

    Creates, in the resource group it is given:

    - `-identity` (user-assigned managed identity): the platform's execution identity.
    - `-vault` (Key Vault: RBAC authorization, soft delete and purge protection, public network
      access disabled, network ACLs default Deny with the trusted-Azure-services bypass) and
      `-key` (RSA 3072, wrap/unwrap only, rotated every `plan.key_rotation_days`).
    - `-vault-crypto-user`: the identity may wrap and unwrap with the vault's keys
      (Key Vault Crypto Service Encryption User).
    - `-storage` (StorageV2 account: TLS 1.2, HTTPS only, no public blob access, no shared keys,
      public network access disabled, infrastructure encryption, encrypted with `-key` through the
      identity) and `-blob-service` (versioning, change feed, blob and container soft delete).
    - `-data`, `-artifacts` (private blob containers). Audit records go to their own immutable
      account (components.azure.audit).
    - `-data-contributor`, `-artifacts-contributor`: Storage Blob Data Contributor for the identity
      on the data and artifacts containers only.

    The vault, key, storage account and containers are protected and retained on
    delete in production.

    Outputs: key_id, key_vault, storage_account, data_container, artifact_container,
    execution_identity, resource_group.
    """

    def __init__(self, name: str, plan: Plan, *, resource_group_name: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureFoundation", name, None, opts)
        tags = azure_tags(plan.tags)
        client = azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self))
        subscription_id: pulumi.Input[str] = plan.account or client.subscription_id

        # The SDK's UserAssignedIdentityArgs cannot carry the physical name (its `resource_name`
        # collides with the resource's own argument), hence keyword arguments here.
        identity_name = f"{plan.prefix}-identity"
        self.identity = azure_native.managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_group_name=resource_group_name,
            resource_name_=identity_name,
            location=plan.region,
            tags=tags,
            opts=child(self),
        )

        vault_name = global_name(plan)
        self.vault = keyvault.Vault(
            f"{name}-vault",
            keyvault.VaultArgs(
                resource_group_name=resource_group_name,
                vault_name=vault_name,
                location=plan.region,
                properties=keyvault.VaultPropertiesArgs(
                    tenant_id=client.tenant_id,
                    sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                    enable_rbac_authorization=True,
                    enable_soft_delete=True,
                    # Purge protection cannot be turned off again; the short dev retention keeps a
                    # deleted dev vault from blocking its own name for long.
                    enable_purge_protection=True,
                    soft_delete_retention_in_days=90 if plan.production else 7,
                    enabled_for_deployment=False,
                    enabled_for_disk_encryption=False,
                    enabled_for_template_deployment=False,
                    public_network_access="Disabled",
                    # Storage reaches the key as a trusted Azure service; nothing else does.
                    network_acls=keyvault.NetworkRuleSetArgs(
                        default_action=keyvault.NetworkRuleAction.DENY,
                        bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                    ),
                ),
                tags=tags,
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        vault_name_out = known_name(self.vault, vault_name)

        rotate_after = plan.key_rotation_days
        self.key = keyvault.Key(
            f"{name}-key",
            keyvault.KeyArgs(
                resource_group_name=resource_group_name,
                vault_name=vault_name_out,
                key_name=KEY_NAME,
                properties=keyvault.KeyPropertiesArgs(
                    kty=keyvault.JsonWebKeyType.RSA,
                    key_size=3072,
                    key_ops=[keyvault.JsonWebKeyOperation.WRAP_KEY, keyvault.JsonWebKeyOperation.UNWRAP_KEY],
                    attributes=keyvault.KeyAttributesArgs(enabled=True, exportable=False),
                    rotation_policy=keyvault.RotationPolicyArgs(
                        attributes=keyvault.KeyRotationPolicyAttributesArgs(
                            expiry_time=f"P{rotate_after + KEY_EXPIRY_MARGIN_DAYS}D"),
                        lifetime_actions=[
                            keyvault.LifetimeActionArgs(
                                action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE),
                                trigger=keyvault.TriggerArgs(time_after_create=f"P{rotate_after}D"),
                            ),
                            keyvault.LifetimeActionArgs(
                                action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.NOTIFY),
                                trigger=keyvault.TriggerArgs(time_before_expiry=f"P{KEY_EXPIRY_NOTICE_DAYS}D"),
                            ),
                        ],
                    ),
                ),
                tags=tags,
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )

        self.crypto_user = crypto_user = grant(
            f"{name}-vault-crypto-user", plan,
            role=KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, principal_id=self.identity.principal_id,
            scope=self.vault.id, subscription_id=subscription_id, target="vault",
            description=f"{plan.prefix}: the platform identity wraps storage keys with the vault's key",
            opts=child(self),
        )

        account_name = global_name(plan)
        account_key = storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT)
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
                network_rule_set=storage.NetworkRuleSetArgs(
                    default_action=storage.DefaultAction.DENY,
                    bypass=storage.Bypass.AZURE_SERVICES,
                ),
                identity=storage.IdentityArgs(
                    type=storage.IdentityType.USER_ASSIGNED,
                    user_assigned_identities=[self.identity.id],
                ),
                encryption=storage.EncryptionArgs(
                    key_source=storage.KeySource.MICROSOFT_KEYVAULT,
                    require_infrastructure_encryption=True,
                    encryption_identity=storage.EncryptionIdentityArgs(
                        encryption_user_assigned_identity=self.identity.id),
                    # No key version: storage follows the key's rotation automatically. The key name
                    # is given as a plain string so that policies can read it during preview.
                    key_vault_properties=storage.KeyVaultPropertiesArgs(
                        key_name=KEY_NAME,
                        key_vault_uri=self.vault.properties.vault_uri,
                    ),
                    # Queue and table keys are account-scoped at creation, or they stay Microsoft-managed.
                    services=storage.EncryptionServicesArgs(
                        blob=account_key, file=account_key, queue=account_key, table=account_key),
                ),
                tags={**tags, PURPOSE_TAG: "platform-storage"},
            ),
            # The key must exist, and the identity hold the crypto role, before the account uses it.
            opts=child(self, stateful=True, protect=plan.protect, depends_on=[self.key, crypto_user]),
        )
        account_name_out = known_name(self.account, account_name)

        retention_days = 30 if plan.production else 7
        storage.BlobServiceProperties(
            f"{name}-blob-service",
            storage.BlobServicePropertiesArgs(
                resource_group_name=resource_group_name,
                account_name=account_name_out,
                blob_services_name="default",
                is_versioning_enabled=True,
                change_feed=storage.ChangeFeedArgs(enabled=True, retention_in_days=plan.log_retention_days),
                delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=retention_days),
                container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                    enabled=True, days=retention_days),
            ),
            opts=child(self),
        )

        def container(purpose: str) -> storage.BlobContainer:
            return storage.BlobContainer(
                f"{name}-{purpose}",
                storage.BlobContainerArgs(
                    resource_group_name=resource_group_name,
                    account_name=account_name_out,
                    container_name=purpose,
                    public_access=storage.PublicAccess.NONE,
                    metadata={PURPOSE_METADATA: purpose},
                ),
                opts=child(self, stateful=True, protect=plan.protect),
            )

        self.data = container("data")
        self.artifacts = container("artifacts")
        for purpose, store in (("data", self.data), ("artifacts", self.artifacts)):
            grant(
                f"{name}-{purpose}-contributor", plan,
                role=STORAGE_BLOB_DATA_CONTRIBUTOR, principal_id=self.identity.principal_id,
                scope=store.id, subscription_id=subscription_id, target=f"container/{purpose}",
                description=f"{plan.prefix}: the platform identity reads and writes {purpose}",
                opts=child(self),
            )

        self.outputs: dict[str, pulumi.Output[str]] = {
            "key_id": self.key.id,
            "key_vault": self.vault.id,
            "storage_account": account_name_out,
            "data_container": known_name(self.data, "data"),
            "artifact_container": known_name(self.artifacts, "artifacts"),
            "execution_identity": self.identity.principal_id,
            "resource_group": pulumi.Output.from_input(resource_group_name),
        }
        self.register_outputs(dict(self.outputs))
