"""Feature store on GCP: BigQuery offline tables, a Vertex AI feature online store, freshness alerts."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.vocabulary import FeatureStore

from .feature_schema import FEATURE_TIMESTAMP, sync_cron, table_schema
from .foundation import KEY_USER_ROLE, fit_name
from .network import GcpNetwork
from .project import project_id

ONLINE_STORE_NAME_MAX = 60
ENDPOINT_NAME_MAX = 63
METRIC_NAME_MAX = 100
# Bigtable online store nodes per environment (min, max): dev is one node, production scales out.
BIGTABLE_NODES = {"dev": (1, 1), "staging": (1, 3), "prod": (2, 10)}
BIGTABLE_CPU_TARGET = 70
DATA_VIEWER = "roles/bigquery.dataViewer"
DATA_EDITOR = "roles/bigquery.dataEditor"
FEATURE_VIEW_READER = "roles/aiplatform.featurestoreDataViewer"
# BigQuery writes a TableDataChange entry in its Data Access audit log (always on for BigQuery) for every
# load, DML statement or streaming insert that changes a table's rows: the freshness signal.
TABLE_WRITES_FILTER = ('resource.type="bigquery_dataset" AND resource.labels.dataset_id="{dataset}" '
                       'AND protoPayload.metadata.tableDataChange:*')
TABLE_LABEL_EXTRACTOR = r'REGEXP_EXTRACT(protoPayload.resourceName, "tables/([^/]+)$")'
ALIGNMENT_SECONDS = 300


def dataset_id(prefix: str) -> str:
    """The offline store's dataset id (letters, digits and underscores only)."""
    return re.sub(r"[^a-z0-9_]", "_", f"{prefix}_features".lower())


def uses_optimized_store(store: FeatureStore) -> bool:
    """Optimized online serving (in-memory, vector retrieval) when an entity has embeddings, else Bigtable
    (large key-value feature sets at low cost per GB, scaling in nodes)."""
    return any(f.type == "embedding" for e in store.entities for f in e.features)


@builds(Capability.feature_store, Capability.freshness_alerts)
class VertexFeatureStore(pulumi.ComponentResource):
    """The blueprint's entities as BigQuery feature tables, served online by Vertex AI Feature Store.

    Creates: `-bq-agent-key` (the project's BigQuery encryption service account may use the platform
    key); `-offline` (bigquery.Dataset in the plan's region, CMEK by default, no public members, labels;
    protected in production) with `-offline-pipelines` (data editor: pipelines write features) and
    `-offline-vertex` (data viewer: the Vertex AI service agent syncs feature views); per entity
    `-<entity>` (bigquery.Table: the entity's id column, `feature_timestamp` and one typed column per
    feature, embeddings ARRAY<FLOAT64>; day partitions on feature_timestamp, clustered by id, CMEK,
    deletion protection in production). When `online`: `-online` (vertex.AiFeatureOnlineStore, CMEK;
    optimized when entities have embeddings (Private Service Connect-only serving when isolated),
    otherwise Bigtable with autoscaling per environment); with optimized serving in an isolated environment
    `-online-psc-address` and `-online-psc` (Private Service Connect endpoint in the platform subnet: the
    store's dedicated endpoint answers only there); per entity `-<entity>-view`
    (AiFeatureOnlineStoreFeatureview from the entity's table, synced on the freshness-derived
    schedule, see `sync_cron`) with `-<entity>-view-endpoints` (the endpoints account reads it).
    When the blueprint sets `freshness_sla_minutes` and freshness alerts are on: `-writes` (log-based
    metric: rows written per table, from BigQuery's audit log) and `-<entity>-freshness` (alert
    policy: no write to the entity's table for the SLA, to the warning channels).

    Outputs: dataset (offline dataset id), online_store (online store name or empty).
    """

    def __init__(self, name: str, plan: Plan, store: FeatureStore, *, kms_key_id: pulumi.Input[str],
                 vertex_cmek: pulumi.Resource, vertex_agent_member: pulumi.Input[str],
                 pipelines_member: pulumi.Input[str], endpoints_member: pulumi.Input[str],
                 alert_channels: Sequence[pulumi.Input[str]], network: GcpNetwork | None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`network`: the platform network (isolated environments); optimized online serving is then reachable
        only through a Private Service Connect endpoint in its subnet."""
        super().__init__(f"{TYPE_PREFIX}VertexFeatureStore", name, None, opts)
        labels = gcp_labels(dict(plan.tags))
        project = project_id(plan, self)
        bq_agent = gcp.bigquery.get_default_service_account_output(
            project=plan.account, opts=pulumi.InvokeOutputOptions(parent=self))
        bq_key = gcp.kms.CryptoKeyIAMMember(
            f"{name}-bq-agent-key",
            gcp.kms.CryptoKeyIAMMemberArgs(crypto_key_id=kms_key_id, role=KEY_USER_ROLE, member=bq_agent.member),
            opts=child(self))
        dataset_name = dataset_id(plan.prefix)
        dataset = gcp.bigquery.Dataset(
            f"{name}-offline",
            gcp.bigquery.DatasetArgs(
                dataset_id=dataset_name, project=plan.account, location=plan.region,
                description=f"{plan.prefix}: offline feature store (one table per entity, point-in-time rows)",
                default_encryption_configuration=gcp.bigquery.DatasetDefaultEncryptionConfigurationArgs(
                    kms_key_name=kms_key_id),
                delete_contents_on_destroy=False, labels=labels,
            ),
            opts=child(self, stateful=True, protect=plan.protect, depends_on=[bq_key]),
        )
        for suffix, role, member in (("pipelines", DATA_EDITOR, pipelines_member),
                                     ("vertex", DATA_VIEWER, vertex_agent_member)):
            gcp.bigquery.DatasetIamMember(
                f"{name}-offline-{suffix}",
                gcp.bigquery.DatasetIamMemberArgs(dataset_id=dataset.dataset_id, project=plan.account,
                                                  role=role, member=member),
                opts=child(self))
        tables: dict[str, gcp.bigquery.Table] = {}
        for entity in store.entities:
            tables[entity.name] = gcp.bigquery.Table(
                f"{name}-{entity.name}",
                gcp.bigquery.TableArgs(
                    dataset_id=dataset.dataset_id, project=plan.account, table_id=entity.name,
                    description=f"Features of {entity.name}, one row per {entity.id_column} and {FEATURE_TIMESTAMP}",
                    schema=table_schema(entity),
                    time_partitioning=gcp.bigquery.TableTimePartitioningArgs(type="DAY", field=FEATURE_TIMESTAMP),
                    clusterings=[entity.id_column],
                    encryption_configuration=gcp.bigquery.TableEncryptionConfigurationArgs(kms_key_name=kms_key_id),
                    deletion_protection=plan.protect, labels=labels,
                ),
                opts=child(self, stateful=True, protect=plan.protect),
            )
        self.dataset = dataset.dataset_id
        self.online_store: pulumi.Output[str] = pulumi.Output.from_input("")
        if store.online:
            self._online(name, plan, store, tables, project, kms_key_id, vertex_cmek, endpoints_member, labels,
                         dataset_name, network)
        freshness = store.freshness_sla_minutes  # None unless freshness alerts are on (the plan decides)
        if freshness is not None:
            self._freshness(name, plan, store, dataset_name, freshness, alert_channels, labels)
        self.register_outputs({"dataset": self.dataset, "online_store": self.online_store})

    def _online(self, name: str, plan: Plan, store: FeatureStore, tables: dict[str, gcp.bigquery.Table],
                project: pulumi.Input[str], kms_key_id: pulumi.Input[str], vertex_cmek: pulumi.Resource,
                endpoints_member: pulumi.Input[str], labels: dict[str, str], dataset_name: str,
                network: GcpNetwork | None) -> None:
        optimized = uses_optimized_store(store)
        low, high = BIGTABLE_NODES[plan.environment]
        bigtable = None if optimized else gcp.vertex.AiFeatureOnlineStoreBigtableArgs(
            auto_scaling=gcp.vertex.AiFeatureOnlineStoreBigtableAutoScalingArgs(
                min_node_count=low, max_node_count=high, cpu_utilization_target=BIGTABLE_CPU_TARGET))
        # In isolated environments optimized serving answers only through Private Service Connect, from the
        # platform's own project; elsewhere (dev without a network) on its IAM-protected public endpoint.
        private = gcp.vertex.AiFeatureOnlineStoreDedicatedServingEndpointArgs(
            private_service_connect_config=gcp.vertex
            .AiFeatureOnlineStoreDedicatedServingEndpointPrivateServiceConnectConfigArgs(
                enable_private_service_connect=True, project_allowlists=[project])) \
            if optimized and network is not None else None
        online = gcp.vertex.AiFeatureOnlineStore(
            f"{name}-online",
            gcp.vertex.AiFeatureOnlineStoreArgs(
                name=fit_name(f"{plan.prefix}_online", ONLINE_STORE_NAME_MAX, allowed="a-z0-9_").replace("-", "_"),
                project=plan.account, region=plan.region, labels=labels, force_destroy=False,
                encryption_spec=gcp.vertex.AiFeatureOnlineStoreEncryptionSpecArgs(kms_key_name=kms_key_id),
                optimized=gcp.vertex.AiFeatureOnlineStoreOptimizedArgs() if optimized else None,
                dedicated_serving_endpoint=private, bigtable=bigtable,
            ),
            opts=child(self, stateful=True, protect=plan.protect, depends_on=[vertex_cmek]),
        )
        self.online_store = online.name
        if private is not None and network is not None:
            self._psc_endpoint(name, plan, online, network, labels)
        cron = sync_cron(store.freshness_sla_minutes)
        for entity in store.entities:
            view = gcp.vertex.AiFeatureOnlineStoreFeatureview(
                f"{name}-{entity.name}-view",
                gcp.vertex.AiFeatureOnlineStoreFeatureviewArgs(
                    feature_online_store=online.name, name=entity.name, project=plan.account, region=plan.region,
                    labels=labels,
                    big_query_source=gcp.vertex.AiFeatureOnlineStoreFeatureviewBigQuerySourceArgs(
                        uri=pulumi.Output.concat("bq://", project, f".{dataset_name}.", tables[entity.name].table_id),
                        entity_id_columns=[entity.id_column]),
                    sync_config=gcp.vertex.AiFeatureOnlineStoreFeatureviewSyncConfigArgs(cron=cron),
                ),
                opts=child(self, depends_on=[tables[entity.name]]),
            )
            gcp.vertex.AiFeatureOnlineStoreFeatureviewIamMember(
                f"{name}-{entity.name}-view-endpoints",
                gcp.vertex.AiFeatureOnlineStoreFeatureviewIamMemberArgs(
                    feature_online_store=online.name, feature_view=view.name, project=plan.account,
                    region=plan.region, role=FEATURE_VIEW_READER, member=endpoints_member),
                opts=child(self))

    def _psc_endpoint(self, name: str, plan: Plan, online: gcp.vertex.AiFeatureOnlineStore, network: GcpNetwork,
                      labels: dict[str, str]) -> None:
        # The consumer side of Private Service Connect: an internal address in the platform subnet forwarding
        # to the service attachment Vertex publishes for the store's dedicated serving endpoint.
        address = gcp.compute.Address(
            f"{name}-online-psc-address",
            gcp.compute.AddressArgs(
                name=fit_name(f"{plan.prefix}-features-psc", ENDPOINT_NAME_MAX), project=plan.account,
                region=plan.region, address_type="INTERNAL", subnetwork=network.subnet_id, labels=labels,
                description="Private address of the feature online store's serving endpoint"),
            opts=child(self))
        gcp.compute.ForwardingRule(
            f"{name}-online-psc",
            gcp.compute.ForwardingRuleArgs(
                name=fit_name(f"{plan.prefix}-features-psc", ENDPOINT_NAME_MAX), project=plan.account,
                region=plan.region, network=network.network_id, ip_address=address.id,
                load_balancing_scheme="", labels=labels,
                target=online.dedicated_serving_endpoint.apply(lambda e: e.service_attachment if e else None),
                description="Private Service Connect endpoint of the feature online store"),
            opts=child(self))

    def _freshness(self, name: str, plan: Plan, store: FeatureStore, dataset_name: str, sla_minutes: int,
                   alert_channels: Sequence[pulumi.Input[str]], labels: dict[str, str]) -> None:
        metric = gcp.logging.Metric(
            f"{name}-writes",
            gcp.logging.MetricArgs(
                name=fit_name(f"{plan.prefix}-feature-writes", METRIC_NAME_MAX), project=plan.account,
                description="Rows written to the offline feature tables (BigQuery TableDataChange audit entries)",
                filter=TABLE_WRITES_FILTER.format(dataset=dataset_name),
                label_extractors={"table": TABLE_LABEL_EXTRACTOR},
                metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(
                    metric_kind="DELTA", value_type="INT64", unit="1",
                    labels=[gcp.logging.MetricMetricDescriptorLabelArgs(
                        key="table", value_type="STRING", description="Feature table written")]),
            ),
            opts=child(self),
        )
        duration = sla_minutes * 60
        for entity in store.entities:
            gcp.monitoring.AlertPolicy(
                f"{name}-{entity.name}-freshness",
                gcp.monitoring.AlertPolicyArgs(
                    display_name=f"{plan.prefix} {entity.name} features stale",
                    project=plan.account, combiner="OR", severity="WARNING", user_labels=labels,
                    notification_channels=list(alert_channels),
                    conditions=[gcp.monitoring.AlertPolicyConditionArgs(
                        display_name=f"No write to {dataset_name}.{entity.name} for {sla_minutes} minutes",
                        condition_absent=gcp.monitoring.AlertPolicyConditionConditionAbsentArgs(
                            filter=pulumi.Output.concat(
                                'metric.type="logging.googleapis.com/user/', metric.name,
                                f'" AND resource.type="bigquery_dataset" AND metric.label.table="{entity.name}"'),
                            duration=f"{duration}s",
                            aggregations=[gcp.monitoring.AlertPolicyConditionConditionAbsentAggregationArgs(
                                alignment_period=f"{min(ALIGNMENT_SECONDS, duration)}s",
                                per_series_aligner="ALIGN_SUM")],
                        ),
                    )],
                    documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                        mime_type="text/markdown", subject=f"{plan.prefix}: {entity.name} features are stale",
                        content=(f"No rows were written to the offline feature table `{dataset_name}.{entity.name}` "
                                 f"for {sla_minutes} minutes (freshness SLA). Models read stale features; "
                                 "check the feature ingestion job.")),
                ),
                opts=child(self, depends_on=[metric]),
            )
