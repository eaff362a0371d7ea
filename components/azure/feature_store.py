"""Azure ML managed feature store: a feature-store workspace, entities, feature sets and freshness alerts.

The blueprint declares entities and their features; a feature set's transformation code and source
live in its *feature set specification* (`FeaturesetSpec.yaml` with the source, timestamp column and
feature list), which the data team publishes under `feature-store/specs/<entity>/` in the platform's
data container (storage that refuses shared keys cannot be written by `pulumi up`, and the
transformation is the team's code, not the platform's). The feature set version points at it.

Freshness: materialisation runs are Azure ML jobs of the feature-store workspace. Its run-status
events go to Log Analytics (a diagnostic setting), and a scheduled query rule raises a warning when
no materialisation run completed within the blueprint's `freshness_sla_minutes` (at most two days,
the longest window a log alert evaluates: the plan refuses more).
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.vocabulary import Entity, FeatureStore

from .alerting import AZURE_SEVERITY
from .naming import global_name, known_name
from .rbac import grant
from .serving_names import AZUREML_DATA_SCIENTIST, alert_rule_name
from .workspace import key_identifier

ml = azure_native.machinelearningservices
monitor = azure_native.monitor

OFFLINE_CONNECTION = "mlops-offline-store"
ONLINE_CONNECTION = "mlops-online-store"
SPEC_PREFIX = "feature-store/specs"
SPARK_RUNTIME = "3.4"
MATERIALIZATION_INSTANCE = "standard_e8s_v3"
RUN_EVENTS = "AmlRunStatusChangedEvent"
MAX_FRESHNESS_MINUTES = 2880
FEATURE_TYPES = {"int": "Long", "float": "Double", "string": "String", "bool": "Boolean",
                 "timestamp": "Datetime", "embedding": "String"}
"""Blueprint feature type → Azure ML feature data type (index columns)."""


def index_type(entity: Entity) -> str:
    """The id column's type: as declared among the features, else a string."""
    declared = {f.name: f.type for f in entity.features}
    return FEATURE_TYPES[declared.get(entity.id_column, "string")]


def store_type(store: FeatureStore) -> str:
    if store.online and store.offline:
        return "OnlineAndOffline"
    return "Online" if store.online else "Offline"


def materialization_hours(store: FeatureStore) -> int:
    """Materialise at least twice per freshness SLA (hourly at most often, daily at least); daily without one."""
    if store.freshness_sla_minutes is None:
        return 24
    return max(1, min(24, store.freshness_sla_minutes // 120))


def iso_minutes(minutes: int) -> str:
    """An ISO-8601 duration in the coarsest exact unit (Azure Monitor normalises to these)."""
    if minutes % 1440 == 0:
        return f"P{minutes // 1440}D"
    if minutes % 60 == 0:
        return f"PT{minutes // 60}H"
    return f"PT{minutes}M"


def freshness_query() -> str:
    """KQL over the feature store's own run events (resource-centric): completed runs in the window."""
    return f'{RUN_EVENTS}\n| where Status == "Completed"\n| summarize completed = count()'


@builds(Capability.feature_store, Capability.freshness_alerts)
class AzureMlFeatureStore(pulumi.ComponentResource):
    """The blueprint's feature store as an Azure ML managed feature store.

    Creates: `-workspace` (Workspace of kind FeatureStore: the platform identity, Key Vault, storage,
    Application Insights and container registry; public network access disabled; managed network
    with approved outbound only where the plan isolates the network, as the main workspace; high
    business impact and the platform's customer-managed key in production; Spark runtime for
    materialisation; offline and online store connections by name), `-materialization-access`
    (AzureML Data Scientist for the platform identity on the feature store: it runs the
    materialisation jobs), `-offline-store` (AAD connection to the platform's data container, when
    `offline`), `-online-cache` (Azure Cache for Redis: TLS 1.2, no access keys, Entra ID auth,
    private, when `online`) with `-online-store` (its AAD connection); per entity `-<entity>-entity`
    + `-<entity>-entity-v1` (index column = the entity's id column) and `-<entity>-features` +
    `-<entity>-features-v1` (feature set on the published spec, materialised to the configured
    stores on a recurrence derived from the freshness SLA, failures e-mailed to the blueprint's
    e-mail routes); with freshness alerts, `-diagnostics` (run events to Log Analytics) and
    `-freshness-alert` (scheduled query rule: no completed materialisation run within the SLA →
    warning action group). The workspace and the cache are protected in production.

    Outputs: feature_store_name, feature_store_id.
    """

    def __init__(self, name: str, plan: Plan, store: FeatureStore, *, resource_group_name: pulumi.Input[str],
                 identity_id: pulumi.Input[str], identity_client_id: pulumi.Input[str],
                 identity_principal_id: pulumi.Input[str], subscription_id: pulumi.Input[str],
                 key_vault_id: pulumi.Input[str], registry_id: pulumi.Input[str], storage_account_id: pulumi.Input[str],
                 storage_account: pulumi.Input[str],
                 data_container: pulumi.Input[str], app_insights_id: pulumi.Input[str],
                 log_analytics_id: pulumi.Input[str], action_group_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlFeatureStore", name, None, opts)
        tags = azure_tags(plan.tags)
        self.feature_store_name = f"{plan.prefix}-features"
        identity = ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.USER_ASSIGNED,
                                                 user_assigned_identities=[identity_id])
        self.workspace = ml.Workspace(
            f"{name}-workspace",
            ml.WorkspaceArgs(
                resource_group_name=resource_group_name,
                workspace_name=self.feature_store_name,
                kind="FeatureStore",
                location=plan.region,
                friendly_name=f"{plan.prefix} feature store",
                identity=identity,
                primary_user_assigned_identity=identity_id,
                key_vault=key_vault_id,
                storage_account=storage_account_id,
                application_insights=app_insights_id,
                container_registry=registry_id,
                system_datastores_auth_mode=ml.SystemDatastoresAuthMode.IDENTITY,
                allow_public_access_when_behind_vnet=False,
                v1_legacy_mode=False,
                public_network_access=ml.PublicNetworkAccessType.DISABLED,
                managed_network=ml.ManagedNetworkSettingsArgs(
                    isolation_mode=ml.IsolationMode.ALLOW_ONLY_APPROVED_OUTBOUND if plan.network.isolated
                    else ml.IsolationMode.ALLOW_INTERNET_OUTBOUND),
                hbi_workspace=plan.production,
                encryption=ml.EncryptionPropertyArgs(
                    status=ml.EncryptionStatus.ENABLED,
                    key_vault_properties=ml.KeyVaultPropertiesArgs(key_vault_arm_id=key_vault_id,
                                                                   key_identifier=key_identifier(plan),
                                                                   identity_client_id=identity_client_id),
                    identity=ml.IdentityForCmkArgs(user_assigned_identity=identity_id),
                ) if plan.production else None,
                # Azure ML resolves the store connections by name when it materialises, so the
                # workspace can name them before they are created (they are children of it).
                feature_store_settings=ml.FeatureStoreSettingsArgs(
                    compute_runtime=ml.ComputeRuntimeDtoArgs(spark_runtime_version=SPARK_RUNTIME),
                    offline_store_connection_name=OFFLINE_CONNECTION if store.offline else None,
                    online_store_connection_name=ONLINE_CONNECTION if store.online else None,
                ),
                tags=tags,
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        # Materialisation jobs run as the platform identity in the feature store (Azure ML's own setup
        # gives the materialisation identity this role there; it already writes the data container).
        grant(f"{name}-materialization-access", plan, role=AZUREML_DATA_SCIENTIST,
              principal_id=identity_principal_id, scope=self.workspace.id, subscription_id=subscription_id,
              target="feature-store", description=f"{plan.prefix}: the platform identity materialises features",
              opts=child(self))
        self._group = resource_group_name
        self._tags = tags
        self._account = storage_account
        self._workspace_name = known_name(self.workspace, self.feature_store_name)
        if store.offline:
            ml.WorkspaceConnection(
                f"{name}-offline-store",
                ml.WorkspaceConnectionArgs(
                    resource_group_name=self._group, workspace_name=self._workspace_name,
                    connection_name=OFFLINE_CONNECTION,
                    properties=ml.AADAuthTypeWorkspaceConnectionPropertiesArgs(
                        auth_type="AAD", category=ml.ConnectionCategory.ADLS_GEN2,
                        target=pulumi.Output.concat(storage_account_id, "/blobServices/default/containers/",
                                                    data_container)),
                ),
                opts=child(self),
            )
        if store.online:
            cache = azure_native.redis.Redis(
                f"{name}-online-cache",
                azure_native.redis.RedisArgs(
                    resource_group_name=resource_group_name,
                    name=f"{global_name(plan)}-features",
                    location=plan.region,
                    sku=azure_native.redis.SkuArgs(name="Premium" if plan.production else "Standard",
                                                   family="P" if plan.production else "C", capacity=1),
                    minimum_tls_version=azure_native.redis.TlsVersion.TLS_VERSION_1_2,
                    enable_non_ssl_port=False,
                    disable_access_key_authentication=True,
                    public_network_access=azure_native.redis.PublicNetworkAccess.DISABLED,
                    redis_configuration=azure_native.redis.RedisCommonPropertiesRedisConfigurationArgs(
                        aad_enabled="true"),
                    tags=tags,
                ),
                opts=child(self, stateful=True, protect=plan.protect),
            )
            ml.WorkspaceConnection(
                f"{name}-online-store",
                ml.WorkspaceConnectionArgs(
                    resource_group_name=self._group, workspace_name=self._workspace_name,
                    connection_name=ONLINE_CONNECTION,
                    properties=ml.AADAuthTypeWorkspaceConnectionPropertiesArgs(
                        auth_type="AAD", category=ml.ConnectionCategory.REDIS, target=cache.id),
                ),
                opts=child(self),
            )
        emails = [r.target for r in plan.alerts if r.kind.value == "email" and r.target and r.secret is None]
        hours = materialization_hours(store)
        for entity in store.entities:
            self._entity(name, entity, store, hours, emails, data_container)
        freshness = store.freshness_sla_minutes  # None unless freshness alerts are on (the plan decides)
        if freshness is not None:
            self._freshness(name, plan, freshness, resource_group_name, log_analytics_id, action_group_id, tags)
        self.feature_store_id = self.workspace.id
        self.register_outputs({"feature_store_name": self.feature_store_name,
                               "feature_store_id": self.feature_store_id})

    def _entity(self, name: str, entity: Entity, store: FeatureStore, hours: int, emails: list[str],
                data_container: pulumi.Input[str]) -> None:
        container = ml.FeaturestoreEntityContainerEntity(
            f"{name}-{entity.name}-entity",
            ml.FeaturestoreEntityContainerEntityArgs(
                resource_group_name=self._group, workspace_name=self._workspace_name,
                name=entity.name,
                properties=ml.FeaturestoreEntityContainerPropertiesArgs(description=f"entity {entity.name}",
                                                                        tags=self._tags)),
            opts=child(self),
        )
        ml.FeaturestoreEntityVersion(
            f"{name}-{entity.name}-entity-v1",
            ml.FeaturestoreEntityVersionArgs(
                resource_group_name=self._group, workspace_name=self._workspace_name,
                name=entity.name, version="1",
                properties=ml.FeaturestoreEntityVersionPropertiesArgs(
                    description=f"{entity.name}, identified by {entity.id_column}",
                    index_columns=[ml.IndexColumnArgs(column_name=entity.id_column, data_type=index_type(entity))],
                    tags=self._tags),
            ),
            opts=child(self, depends_on=[container]),
        )
        features = ml.FeaturesetContainerEntity(
            f"{name}-{entity.name}-features",
            ml.FeaturesetContainerEntityArgs(
                resource_group_name=self._group, workspace_name=self._workspace_name,
                name=entity.name,
                properties=ml.FeaturesetContainerPropertiesArgs(description=f"features of {entity.name}",
                                                                tags=self._tags)),
            opts=child(self),
        )
        ml.FeaturesetVersion(
            f"{name}-{entity.name}-features-v1",
            ml.FeaturesetVersionArgs(
                resource_group_name=self._group, workspace_name=self._workspace_name,
                name=entity.name, version="1",
                properties=ml.FeaturesetVersionPropertiesArgs(
                    description=", ".join(f.name for f in entity.features),
                    entities=[f"azureml:{entity.name}:1"],
                    specification=ml.FeaturesetSpecificationArgs(path=pulumi.Output.concat(
                        "abfss://", data_container, "@", self._account,
                        f".dfs.core.windows.net/{SPEC_PREFIX}/{entity.name}")),
                    materialization_settings=ml.MaterializationSettingsArgs(
                        store_type=store_type(store),
                        schedule=ml.RecurrenceTriggerArgs(trigger_type="Recurrence", frequency="Hour",
                                                          interval=hours, time_zone="UTC"),
                        resource=ml.MaterializationComputeResourceArgs(instance_type=MATERIALIZATION_INSTANCE),
                        notification=ml.NotificationSettingArgs(email_on=["JobFailed"], emails=emails)
                        if emails else None,
                    ),
                    tags={**self._tags, "entity": entity.name},
                ),
            ),
            opts=child(self, depends_on=[features]),
        )

    def _freshness(self, name: str, plan: Plan, minutes: int, resource_group_name: pulumi.Input[str],
                   log_analytics_id: pulumi.Input[str], action_group_id: pulumi.Input[str],
                   tags: dict[str, str]) -> None:
        if minutes > MAX_FRESHNESS_MINUTES:  # refused by the plan (mlops.clouds.azure)
            raise ValueError(f"freshness SLA of {minutes} minutes exceeds the two-day log alert window")
        diagnostics = monitor.DiagnosticSetting(
            f"{name}-diagnostics",
            monitor.DiagnosticSettingArgs(
                name="mlops-run-events", resource_uri=self.workspace.id, workspace_id=log_analytics_id,
                log_analytics_destination_type="Dedicated",
                logs=[monitor.DiagnosticsLogSettingsArgs(category=RUN_EVENTS, enabled=True)]),
            opts=child(self),
        )
        window = iso_minutes(minutes)
        monitor.ScheduledQueryRule(
            f"{name}-freshness-alert",
            monitor.ScheduledQueryRuleArgs(
                resource_group_name=resource_group_name,
                rule_name=alert_rule_name(plan, "features", "freshness"),
                location=plan.region,
                description=f"No feature materialisation completed in {minutes} minutes (freshness SLA): "
                            "features are stale.",
                enabled=True,
                severity=AZURE_SEVERITY["warning"],
                kind=monitor.Kind.LOG_ALERT,
                scopes=[self.workspace.id],
                evaluation_frequency=iso_minutes(min(minutes, 60)),
                window_size=window,
                auto_mitigate=True,
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                    query=freshness_query(), time_aggregation=monitor.TimeAggregation.TOTAL,
                    metric_measure_column="completed", operator=monitor.ConditionOperator.LESS_THAN, threshold=1,
                    failing_periods=monitor.ConditionFailingPeriodsArgs(
                        number_of_evaluation_periods=1, min_failing_periods_to_alert=1))]),
                actions=monitor.ActionsArgs(action_groups=[action_group_id]),
                tags=tags,
            ),
            opts=child(self, depends_on=[diagnostics]),
        )
