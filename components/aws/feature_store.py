"""Feature store on AWS: SageMaker Feature Store feature groups, one per entity."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.vocabulary import Entity, FeatureStore

from .account import account_id
from .iam import Statement, sagemaker_role
from .names import alarm_name, arn, feature_group_name

OFFLINE_PREFIX = "feature-store"
"""Key prefix of the offline store in the data bucket."""
EVENT_TIME = "event_time"
"""The event-time feature every group gets (ISO-8601 string) for point-in-time correct training sets."""
GLUE_DATABASE = "sagemaker_featurestore"
"""Where Feature Store registers offline tables in the Glue catalog when it creates them itself."""

FEATURE_TYPES: dict[str, str] = {
    "int": "Integral",
    "float": "Fractional",
    "string": "String",
    # Feature Store knows Integral, Fractional and String only:
    "bool": "String",  # "true" / "false"
    "timestamp": "String",  # ISO-8601, the format Feature Store accepts for event times too
    # Vector collections need the in-memory online tier and a fixed dimension the blueprint does not
    # give: embeddings are stored as a JSON-encoded list.
    "embedding": "String",
}

# Freshness: SageMaker publishes `Invocations` per feature group and runtime operation (dimensions
# FeatureGroupName, OperationName; documented under "Amazon SageMaker Feature Store metrics"). No
# PutRecord for a whole SLA window means nothing new was ingested: the features are stale.
FRESHNESS_NAMESPACE = "AWS/SageMaker"
FRESHNESS_METRIC = "Invocations"


def feature_definitions(entity: Entity) -> list[aws.sagemaker.FeatureGroupFeatureDefinitionArgs]:
    """The entity's features, its id column (String unless declared) and the event time, each once."""
    declared = {f.name: f.type for f in entity.features}
    names = [entity.id_column, *(f.name for f in entity.features if f.name != entity.id_column)]
    if EVENT_TIME not in declared:
        names.append(EVENT_TIME)
    return [aws.sagemaker.FeatureGroupFeatureDefinitionArgs(
        feature_name=n, feature_type=FEATURE_TYPES[declared.get(n, "string")]) for n in names]


@builds(Capability.feature_store, Capability.freshness_alerts)
class SageMakerFeatureStore(pulumi.ComponentResource):
    """Feature groups for the blueprint's entities, their role, and freshness alarms.

    Creates: `-role` (assumed by SageMaker for this account only) with `-policy` (write the offline
    store under `s3://<data>/feature-store/`, read its manifests, keep the Glue tables of
    `sagemaker_featurestore` up to date, use the platform key through S3); per entity
    `-<entity>` (sagemaker.FeatureGroup: record identifier = the entity's id column, event time =
    `event_time`; online store encrypted with the platform key when `online`; offline store in the
    data bucket, encrypted with the platform key, registered in the Glue catalog when `offline`;
    protected in production) and, when the blueprint sets `freshness_sla_minutes`,
    `-<entity>-freshness` (CloudWatch alarm: no PutRecord within the SLA; actions to the alert
    topic when there is one).

    Outputs: feature_group_names.
    """

    def __init__(self, name: str, plan: Plan, store: FeatureStore, *, data_bucket: pulumi.Input[str],
                 data_bucket_arn: pulumi.Input[str], kms_key_arn: pulumi.Input[str],
                 alert_topic_arn: pulumi.Input[str] | None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}SageMakerFeatureStore", name, None, opts)
        tags = dict(plan.tags)
        account = account_id(plan, self)
        offline = pulumi.Output.concat(data_bucket_arn, f"/{OFFLINE_PREFIX}/*")
        self.role, policy = sagemaker_role(self, name, plan, account, "Feature Store offline store writes", [
                Statement(Sid="WriteOfflineStore", Effect="Allow",
                          Action=["s3:PutObject", "s3:PutObjectAcl", "s3:GetObject"], Resource=offline),
                Statement(Sid="CheckBucketOwnership", Effect="Allow", Action="s3:GetBucketAcl",
                          Resource=data_bucket_arn),
                Statement(Sid="MaintainOfflineTables", Effect="Allow", Action=["glue:GetTable", "glue:UpdateTable"],
                          Resource=[arn(plan, "glue", "catalog"), arn(plan, "glue", f"database/{GLUE_DATABASE}"),
                                    arn(plan, "glue", f"table/{GLUE_DATABASE}/*")]),
                Statement(Sid="UsePlatformKeyThroughS3", Effect="Allow",
                          Action=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], Resource=kms_key_arn,
                          Condition={"StringEquals": {"kms:ViaService": f"s3.{plan.region}.amazonaws.com"}}),
        ])
        freshness = store.freshness_sla_minutes  # None unless freshness alerts are on (the plan decides)
        actions: list[pulumi.Input[str]] = [alert_topic_arn] if alert_topic_arn is not None else []
        self.feature_groups: dict[str, aws.sagemaker.FeatureGroup] = {}
        for entity in store.entities:
            group_name = feature_group_name(plan, entity.name)
            group = aws.sagemaker.FeatureGroup(
                f"{name}-{entity.name}",
                aws.sagemaker.FeatureGroupArgs(
                    feature_group_name=group_name,
                    description=f"{plan.prefix}: features of {entity.name}",
                    record_identifier_feature_name=entity.id_column,
                    event_time_feature_name=EVENT_TIME,
                    feature_definitions=feature_definitions(entity),
                    role_arn=self.role.arn,
                    online_store_config=aws.sagemaker.FeatureGroupOnlineStoreConfigArgs(
                        enable_online_store=True,
                        security_config=aws.sagemaker.FeatureGroupOnlineStoreConfigSecurityConfigArgs(
                            kms_key_id=kms_key_arn),
                    ) if store.online else None,
                    offline_store_config=aws.sagemaker.FeatureGroupOfflineStoreConfigArgs(
                        s3_storage_config=aws.sagemaker.FeatureGroupOfflineStoreConfigS3StorageConfigArgs(
                            s3_uri=pulumi.Output.concat("s3://", data_bucket, f"/{OFFLINE_PREFIX}"),
                            kms_key_id=kms_key_arn),
                        disable_glue_table_creation=False,
                    ) if store.offline else None,
                    tags=tags,
                ),
                opts=child(self, stateful=True, protect=plan.protect, depends_on=[policy]),
            )
            self.feature_groups[entity.name] = group
            if freshness is not None:
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{entity.name}-freshness",
                    aws.cloudwatch.MetricAlarmArgs(
                        name=alarm_name(plan, entity.name, "freshness"),
                        alarm_description=(f"No record written to feature group {group_name} for "
                                           f"{freshness} minutes (freshness SLA): its features are stale."),
                        namespace=FRESHNESS_NAMESPACE,
                        metric_name=FRESHNESS_METRIC,
                        dimensions={"FeatureGroupName": group_name, "OperationName": "PutRecord"},
                        statistic="Sum",
                        # One window of the SLA (CloudWatch allows up to 7 days, the blueprint's maximum).
                        period=freshness * 60,
                        evaluation_periods=1,
                        threshold=1,
                        comparison_operator="LessThanThreshold",
                        # No data point at all is exactly the stale case.
                        treat_missing_data="breaching",
                        alarm_actions=actions,
                        ok_actions=actions,
                        tags=tags,
                    ),
                    opts=child(self, depends_on=[group]),
                )
        self.feature_group_names = {e: g.feature_group_name for e, g in self.feature_groups.items()}
        self.register_outputs({"feature_group_names": self.feature_group_names})
