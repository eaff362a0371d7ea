"""The Azure ML workspace and what it depends on: Log Analytics, Application Insights, a container registry.

Experiment tracking on Azure is the workspace's built-in MLflow server; its tracking URI is an output.
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child, short_hash
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .foundation import KEY_NAME, AzureFoundation
from .naming import global_name, known_name
from .rbac import STORAGE_BLOB_DATA_CONTRIBUTOR, grant

ml = azure_native.machinelearningservices
acr = azure_native.containerregistry
insights = azure_native.applicationinsights
logs = azure_native.operationalinsights

# Built-in roles the workspace identity needs on the workspace's own dependencies (the same GUID in
# every tenant). Azure ML's documentation suggests Contributor on each; these are the data-plane roles
# that cover what the service does with them, nothing that manages the resources themselves.
STORAGE_FILE_DATA_PRIVILEGED_CONTRIBUTOR = "69566ab7-960f-475b-8e7c-b3118f30c6bd"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"

# Log Analytics keeps data 30-730 days on the PerGB2018 tier.
LOG_RETENTION_MIN_DAYS = 30
LOG_RETENTION_MAX_DAYS = 730
# Datastore names of the foundation's containers (pipeline jobs refer to them).
DATA_DATASTORE = "platform_data"
ARTIFACTS_DATASTORE = "platform_artifacts"
# Azure ML workspace names: 3-33 characters.
WORKSPACE_NAME_MAX = 33


def workspace_name(plan: Plan) -> str:
    """`<prefix>-mlw`, cut to Azure ML's 33 characters (with a hash when cut, so that it stays unique)."""
    name = f"{plan.prefix}-mlw"
    if len(name) <= WORKSPACE_NAME_MAX:
        return name
    suffix = short_hash(plan.prefix)
    return f"{plan.prefix[:WORKSPACE_NAME_MAX - len(suffix) - 1].rstrip('-')}-{suffix}"


def log_retention_days(plan: Plan) -> int:
    """The plan's log retention within what Log Analytics accepts (30-730 days)."""
    return max(LOG_RETENTION_MIN_DAYS, min(LOG_RETENTION_MAX_DAYS, plan.log_retention_days))


def key_identifier(plan: Plan) -> str:
    """The versionless URI of the foundation's key (public Azure cloud DNS suffix).

    Written from the vault's deterministic name rather than read from the key, so that it is known in
    preview and policies can check it; versionless, so that services follow the key's rotation.
    """
    return f"https://{global_name(plan)}.vault.azure.net/keys/{KEY_NAME}"


def tracking_uri(region: str, subscription_id: str, resource_group: str, workspace: str) -> str:
    """The MLflow tracking URI of an Azure ML workspace (`azureml://<region>.api.azureml.ms/mlflow/v1.0/...`)."""
    return (f"azureml://{region}.api.azureml.ms/mlflow/v1.0/subscriptions/{subscription_id}"
            f"/resourceGroups/{resource_group}/providers/Microsoft.MachineLearningServices/workspaces/{workspace}")


@builds(Capability.experiment_tracking, Capability.foundation)
class AzureMlWorkspace(pulumi.ComponentResource):
    """The Azure ML workspace (with MLflow experiment tracking) and its monitoring and image dependencies.

    Creates, in the foundation's resource group:

    - `-logs` (Log Analytics workspace, PerGB2018, retention from the plan within 30-730 days):
      where Application Insights and every diagnostic setting of the platform write.
    - `-insights` (Application Insights, workspace-based on `-logs`, local authentication disabled
      so that telemetry is accepted only with Entra ID tokens): the workspace's App Insights.
    - `-acr` (container registry for training and serving images): admin user and anonymous pull
      disabled, Entra ID only; Premium where the network is isolated (private endpoints from the
      managed network need it) with public network access disabled, zone redundancy and the
      foundation's customer-managed key in production; Standard otherwise.
    - `-workspace` (Azure ML workspace): the foundation's user-assigned identity as its primary
      identity; the foundation's Key Vault and storage account; system datastores reached with that
      identity (the account has no shared keys); public network access disabled; managed network
      with approved outbound only where the plan is isolated (staging, prod), internet outbound
      otherwise; customer-managed key (the foundation's) and high business impact in production.
    - `-data-store`, `-artifacts-store` (datastores `platform_data`, `platform_artifacts`): the
      foundation's containers, reached with the workspace identity (no stored credentials).
    - `-identity-blob`, `-identity-files`, `-identity-secrets`, `-identity-images`,
      `-identity-metrics`: the workspace identity's data-plane roles on the storage account, the
      vault, the registry and App Insights (never Contributor).

    The workspace, registry and Log Analytics workspace are protected in production.

    Attributes: `workspace` (the machinelearningservices.Workspace), `name`, `id`, `log_analytics_id`,
    `app_insights_id`, `registry_id`, `registry_name`, `tracking_uri`, `data_datastore`,
    `artifacts_datastore`, `identity` (the foundation's user-assigned identity the workspace runs as).
    """

    def __init__(self, name: str, plan: Plan, foundation: AzureFoundation, *,
                 resource_group_name: pulumi.Input[str], subscription_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlWorkspace", name, None, opts)
        tags = azure_tags(plan.tags)
        isolated = plan.network.isolated
        identity = foundation.identity
        self.identity = identity

        self.log_analytics = logs.Workspace(
            f"{name}-logs",
            logs.WorkspaceArgs(
                resource_group_name=resource_group_name,
                workspace_name=f"{plan.prefix}-logs",
                location=plan.region,
                sku=logs.WorkspaceSkuArgs(name=logs.WorkspaceSkuNameEnum.PER_GB2018),
                retention_in_days=log_retention_days(plan),
                # Queries only with Entra ID (no workspace shared keys for reading).
                features=logs.WorkspaceFeaturesArgs(disable_local_auth=True),
                tags=tags,
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        self.log_analytics_id: pulumi.Output[str] = self.log_analytics.id

        # ComponentArgs cannot carry the physical name (its `resource_name` collides with the resource's
        # own argument), hence keyword arguments here.
        self.insights = insights.Component(
            f"{name}-insights",
            resource_group_name=resource_group_name,
            resource_name_=f"{plan.prefix}-insights",
            location=plan.region,
            kind="web",
            application_type=insights.ApplicationType.WEB,
            ingestion_mode=insights.IngestionMode.LOG_ANALYTICS,
            workspace_resource_id=self.log_analytics.id,
            disable_local_auth=True,
            retention_in_days=log_retention_days(plan),
            tags=tags,
            opts=child(self),
        )
        self.app_insights_id: pulumi.Output[str] = self.insights.id

        # Private endpoints from the workspace's managed network and customer-managed keys need Premium.
        premium = isolated or plan.production
        registry_name = global_name(plan)
        self.registry = acr.Registry(
            f"{name}-acr",
            acr.RegistryArgs(
                resource_group_name=resource_group_name,
                registry_name=registry_name,
                location=plan.region,
                sku=acr.SkuArgs(name=acr.SkuName.PREMIUM if premium else acr.SkuName.STANDARD),
                admin_user_enabled=False,
                anonymous_pull_enabled=False,
                public_network_access=acr.PublicNetworkAccess.DISABLED if premium else acr.PublicNetworkAccess.ENABLED,
                network_rule_bypass_options=acr.NetworkRuleBypassOptions.AZURE_SERVICES,
                zone_redundancy=acr.ZoneRedundancy.ENABLED if plan.production else acr.ZoneRedundancy.DISABLED,
                identity=acr.IdentityPropertiesArgs(
                    type=acr.ResourceIdentityType.USER_ASSIGNED,
                    user_assigned_identities=identity.id.apply(lambda i: {i: acr.UserIdentityPropertiesArgs()}),
                ) if plan.production else None,
                encryption=acr.EncryptionPropertyArgs(
                    status=acr.EncryptionStatus.ENABLED,
                    key_vault_properties=acr.KeyVaultPropertiesArgs(
                        key_identifier=key_identifier(plan), identity=identity.client_id),
                ) if plan.production else None,
                tags=tags,
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        self.registry_id: pulumi.Output[str] = self.registry.id
        self.registry_name: pulumi.Output[str] = known_name(self.registry, registry_name)

        grants = [
            ("identity-blob", STORAGE_BLOB_DATA_CONTRIBUTOR, foundation.account.id, "storage",
             "the workspace identity uses the platform storage account (blob)"),
            ("identity-files", STORAGE_FILE_DATA_PRIVILEGED_CONTRIBUTOR, foundation.account.id, "storage/files",
             "the workspace identity keeps notebooks and code snapshots in the file share"),
            ("identity-secrets", KEY_VAULT_SECRETS_OFFICER, foundation.vault.id, "vault/secrets",
             "the workspace identity keeps connection secrets in the vault"),
            ("identity-images", ACR_PUSH, self.registry.id, "registry",
             "the workspace identity builds and pulls environment images"),
            ("identity-metrics", MONITORING_METRICS_PUBLISHER, self.insights.id, "insights",
             "the workspace identity sends telemetry to App Insights (local auth is off)"),
        ]
        assignments: list[pulumi.Resource] = [
            grant(f"{name}-{suffix}", plan, role=role, principal_id=identity.principal_id, scope=scope,
                  subscription_id=subscription_id, target=f"workspace/{target}",
                  description=f"{plan.prefix}: {why}", opts=child(self))
            for suffix, role, scope, target, why in grants
        ]

        ws_name = workspace_name(plan)
        foundation_account_name = foundation.outputs["storage_account"]
        encryption = ml.EncryptionPropertyArgs(
            status=ml.EncryptionStatus.ENABLED,
            identity=ml.IdentityForCmkArgs(user_assigned_identity=identity.id),
            key_vault_properties=ml.KeyVaultPropertiesArgs(
                key_identifier=key_identifier(plan), key_vault_arm_id=foundation.vault.id,
                identity_client_id=identity.client_id),
        ) if plan.production else None
        self.workspace = ml.Workspace(
            f"{name}-workspace",
            ml.WorkspaceArgs(
                resource_group_name=resource_group_name,
                workspace_name=ws_name,
                location=plan.region,
                friendly_name=f"{plan.blueprint} ({plan.environment})",
                description=plan.use_case[:256],
                sku=ml.SkuArgs(name="Basic", tier=ml.SkuTier.BASIC),
                identity=ml.ManagedServiceIdentityArgs(
                    type=ml.ManagedServiceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]),
                primary_user_assigned_identity=identity.id,
                key_vault=foundation.vault.id,
                storage_account=foundation.account.id,
                container_registry=self.registry.id,
                application_insights=self.insights.id,
                # The storage account takes no shared keys: datastores use the workspace identity.
                system_datastores_auth_mode=ml.SystemDatastoresAuthMode.IDENTITY,
                public_network_access=ml.PublicNetworkAccessType.DISABLED,
                allow_public_access_when_behind_vnet=False,
                managed_network=ml.ManagedNetworkSettingsArgs(
                    isolation_mode=ml.IsolationMode.ALLOW_ONLY_APPROVED_OUTBOUND if isolated
                    else ml.IsolationMode.ALLOW_INTERNET_OUTBOUND),
                encryption=encryption,
                hbi_workspace=plan.production,
                v1_legacy_mode=False,
                tags=tags,
            ),
            opts=child(self, stateful=True, protect=plan.protect, depends_on=assignments),
        )
        self.name: pulumi.Output[str] = known_name(self.workspace, ws_name)

        # The foundation's data and artifacts containers as datastores, read with the workspace identity
        # (no account keys or SAS tokens are stored: the account accepts none).
        def datastore(purpose: str, container: str) -> ml.Datastore:
            return ml.Datastore(
                f"{name}-{purpose}-store",
                ml.DatastoreArgs(
                    resource_group_name=resource_group_name,
                    workspace_name=self.name,
                    name=f"platform_{purpose}",  # DATA_DATASTORE, ARTIFACTS_DATASTORE
                    properties=ml.AzureBlobDatastoreArgs(
                        datastore_type="AzureBlob",
                        credentials=ml.NoneDatastoreCredentialsArgs(credentials_type="None"),
                        account_name=foundation_account_name,
                        container_name=container,
                        service_data_access_auth_identity=ml.ServiceDataAccessAuthIdentity.WORKSPACE_USER_ASSIGNED_IDENTITY,
                        description=f"{plan.prefix}: the platform's {purpose} container",
                        tags=tags,
                    ),
                ),
                opts=child(self),
            )

        datastore("data", "data")
        datastore("artifacts", "artifacts")
        self.data_datastore = DATA_DATASTORE
        self.artifacts_datastore = ARTIFACTS_DATASTORE
        self.id: pulumi.Output[str] = self.workspace.id
        self.tracking_uri: pulumi.Output[str] = pulumi.Output.all(
            pulumi.Output.from_input(subscription_id), pulumi.Output.from_input(resource_group_name), self.name,
        ).apply(lambda a: tracking_uri(plan.region, a[0], a[1], a[2]))
        self.register_outputs({
            "name": self.name, "id": self.id, "log_analytics_id": self.log_analytics_id,
            "app_insights_id": self.app_insights_id, "registry_id": self.registry_id,
            "tracking_uri": self.tracking_uri,
        })
