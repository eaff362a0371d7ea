"""Foundation policies for Azure: storage hardening, customer-managed keys, Key Vault, key rotation,
audit immutability, production protection.

Props are the azure-native wire names (camelCase) as `pulumi preview` sends them; Key Vault
settings are nested under `properties`.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .support import PURPOSE_TAG, Unknowns, attached, in_production, mappings, of_type, purpose, set_at, value_at

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
CONTAINER = "azure-native:storage:BlobContainer"
IMMUTABILITY_POLICY = "azure-native:storage:BlobContainerImmutabilityPolicy"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
# Container metadata names must be C# identifiers, so containers carry the purpose as mlops_purpose.
PURPOSE_METADATA = PURPOSE_TAG.replace("-", "_")
MANDATORY = EnforcementLevel.MANDATORY


def _storage_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    if args.props.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
        report("storage account accepts TLS below 1.2: set minimum_tls_version=TLS1_2", None)
    if args.props.get("enableHttpsTrafficOnly") is not True:
        report("storage account accepts plain HTTP: set enable_https_traffic_only=True", None)


def _no_public_blob_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == STORAGE_ACCOUNT and args.props.get("allowBlobPublicAccess") is not False:
        report("storage account allows public blob access: set allow_blob_public_access=False", None)
    elif args.resource_type == CONTAINER and args.props.get("publicAccess") not in (None, "None"):
        report(f"blob container is public (public_access={args.props.get('publicAccess')}): "
               "set public_access=None", None)


def _no_shared_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == STORAGE_ACCOUNT and args.props.get("allowSharedKeyAccess") is not False:
        report("storage account accepts shared keys: set allow_shared_key_access=False (Entra ID only)", None)


def _storage_private_network(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    if args.props.get("publicNetworkAccess") != "Disabled":
        report("storage account is reachable from public networks: set public_network_access=Disabled", None)
    if value_at(args.props, "networkRuleSet", "defaultAction") != "Deny":
        report("storage account network rules do not default to Deny", None)


def _storage_cmk(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    encryption = args.props.get("encryption") or {}
    by_vault_key = encryption.get("keySource") == "Microsoft.Keyvault"
    if not by_vault_key or not set_at(encryption, "keyVaultProperties", "keyName"):
        report("storage account is not encrypted with a customer-managed Key Vault key "
               "(encryption.key_source=Microsoft.Keyvault with key_vault_properties)", None)


def _blob_versioning(args: StackValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for account in of_type(args, STORAGE_ACCOUNT):
        with unknowns.skip():
            services = attached(args, account, BLOB_SERVICE, "accountName")
            if not any(s.props.get("isVersioningEnabled") is True for s in services):
                report("storage account without blob versioning "
                       "(BlobServiceProperties is_versioning_enabled=True)", account.urn)
    unknowns.settle()


def _vault_purge_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != VAULT:
        return
    properties = args.props.get("properties") or {}
    if properties.get("enablePurgeProtection") is not True or properties.get("enableSoftDelete") is False:
        report("Key Vault without soft delete and purge protection: a deleted key would make data unreadable",
               None)


def _vault_rbac(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == VAULT and value_at(args.props, "properties", "enableRbacAuthorization") is not True:
        report("Key Vault uses access policies: set enable_rbac_authorization=True", None)


def _vault_private_network(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != VAULT:
        return
    properties = args.props.get("properties") or {}
    if properties.get("publicNetworkAccess") != "Disabled":
        report("Key Vault is reachable from public networks: set public_network_access=Disabled", None)
    if value_at(properties, "networkAcls", "defaultAction") != "Deny":
        report("Key Vault network ACLs do not default to Deny", None)


def _key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != KEY:
        return
    actions = mappings(value_at(args.props, "properties", "rotationPolicy", "lifetimeActions"))
    rotates = [a for a in actions if value_at(a, "action", "type") in ("rotate", "Rotate")
               and (value_at(a, "trigger", "timeAfterCreate") or value_at(a, "trigger", "timeBeforeExpiry"))]
    if not rotates:
        report("Key Vault key without a rotation policy that rotates it "
               "(rotation_policy with a 'rotate' lifetime action)", None)


def _audit_immutability(args: StackValidationArgs, report: ReportViolation) -> None:
    """The audit account keeps every container immutable (account-level version-level immutability with a
    time-based default policy): diagnostic settings write into containers Azure creates, so a container
    policy could not cover them. A stack that builds no audit account has nothing of it to check."""
    unknowns = Unknowns()
    for account in of_type(args, STORAGE_ACCOUNT):
        with unknowns.skip():
            if purpose(account.props) != "audit-storage":
                continue
            immutable = account.props.get("immutableStorageWithVersioning") or {}
            policy = immutable.get("immutabilityPolicy") or {}
            if immutable.get("enabled") is not True or (policy.get("immutabilityPeriodSinceCreationInDays") or 0) <= 0:
                report("audit storage account without account-level immutability (immutable_storage_with_versioning "
                       "enabled with a time-based immutability policy)", account.urn)
            elif policy.get("allowProtectedAppendWrites") is not True:
                report("audit storage account refuses appends: Azure Monitor writes append blobs "
                       "(allow_protected_append_writes=True)", account.urn)
    for container in of_type(args, CONTAINER):
        with unknowns.skip():
            if (container.props.get("metadata") or {}).get(PURPOSE_METADATA) != "audit":
                continue
            policies = attached(args, container, IMMUTABILITY_POLICY, "containerName")
            if not any((p.props.get("immutabilityPeriodSinceCreationInDays") or 0) > 0 for p in policies):
                report("audit container without a time-based immutability policy", container.urn)
    unknowns.settle()


def _audit_locked(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != STORAGE_ACCOUNT or purpose(args.props) != "audit-storage" \
            or not in_production(args.props):
        return
    state = value_at(args.props, "immutableStorageWithVersioning", "immutabilityPolicy", "state")
    if state != "Locked":
        report(f"production audit storage immutability policy is {state}, not Locked (only the first deployment, "
               "with mlops:auditFirstDeployment, may leave it unlocked)", None)


STATEFUL = (RESOURCE_GROUP, STORAGE_ACCOUNT, VAULT, KEY)


def _protected_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in STATEFUL and in_production(args.props) and not args.opts.protect:
        report("stateful production resource is not protected (protect=True, retain_on_delete=True)", None)



DIAGNOSTIC_SETTINGS = ("azure-native:monitor:DiagnosticSetting", "azure-native:monitor:SubscriptionDiagnosticSetting")


def _audit_pipeline_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    """In production the diagnostic settings writing into the audit account are protected like it
    (they carry no tags, so production is the account's)."""
    unknowns = Unknowns()
    for account in of_type(args, STORAGE_ACCOUNT):
        with unknowns.skip():
            if purpose(account.props) != "audit-storage" or not in_production(account.props):
                continue
            for setting in (s for t in DIAGNOSTIC_SETTINGS for s in attached(args, account, t, "storageAccountId")):
                if not setting.opts.protect:
                    report("production audit diagnostic setting is not protected (protect=True, "
                           "retain_on_delete=True)", setting.urn)
    unknowns.settle()


AZURE_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy("azure-storage-tls", "Storage accounts require HTTPS and TLS 1.2 or later.",
                             _storage_tls, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-storage-no-public-blob-access",
                             "Storage accounts and containers allow no anonymous blob access.",
                             _no_public_blob_access, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-storage-no-shared-key",
                             "Storage accounts accept Entra ID only, no shared keys.",
                             _no_shared_key, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-storage-private-network",
                             "Storage accounts are closed to public networks.",
                             _storage_private_network, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-storage-cmk",
                             "Storage accounts are encrypted with a customer-managed key.",
                             _storage_cmk, enforcement_level=MANDATORY),
    StackValidationPolicy("azure-storage-versioning", "Storage accounts keep blob versions.",
                          _blob_versioning, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-keyvault-purge-protection",
                             "Key Vaults have soft delete and purge protection.",
                             _vault_purge_protection, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-keyvault-rbac", "Key Vaults authorize with Azure RBAC.",
                             _vault_rbac, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-keyvault-private-network", "Key Vaults are closed to public networks.",
                             _vault_private_network, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-keyvault-key-rotation", "Key Vault keys have a rotation policy.",
                             _key_rotation, enforcement_level=MANDATORY),
    StackValidationPolicy("azure-audit-immutability",
                          "Audit storage has a time-based immutability (WORM) policy over every container.",
                          _audit_immutability, enforcement_level=MANDATORY),
    # Advisory: Azure creates the policy Unlocked, so a new production stack's first deployment must pass.
    ResourceValidationPolicy("azure-audit-locked-in-production",
                             "Production audit storage has a Locked immutability policy.", _audit_locked,
                             enforcement_level=EnforcementLevel.ADVISORY),
    ResourceValidationPolicy("azure-protect-production", "Stateful production resources are protected.",
                             _protected_in_production, enforcement_level=MANDATORY),
    StackValidationPolicy("azure-protect-audit-pipeline",
                          "In production the diagnostic settings feeding the audit account are protected.",
                          _audit_pipeline_protected, enforcement_level=MANDATORY),
]
