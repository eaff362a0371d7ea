"""Policies for Azure ML serving, delivery, monitoring, alerting and feature store.

Sources: the Azure security benchmark and Azure Policy built-ins for Azure ML (online endpoints
and workspaces disable public network access; Entra ID authentication instead of keys), Azure
ML's managed online endpoint limits (mirror traffic at most 50 % to one deployment), checkov's
Redis checks (CKV_AZURE_89 no public access, CKV_AZURE_91 no non-TLS port, CKV_AZURE_148 TLS
1.2), Azure Monitor guidance (alert rules have action groups; action groups reach someone), and the
platform's own rules (no egress from production deployments, at least two instances serving in
production, data collection well formed).

Props are the azure-native wire names (camelCase) as `pulumi preview` sends them; Azure ML
settings are nested under `properties`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from .support import in_production, is_set, labels, mapping_at, mappings, number

ONLINE_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
BATCH_ENDPOINT = "azure-native:machinelearningservices:BatchEndpoint"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
ARM_DEPLOYMENT = "azure-native:resources:Deployment"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
REDIS = "azure-native:redis:Redis"
ENDPOINT_ARM_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
MAX_MIRROR_PERCENT = 50
PRODUCTION_MIN_INSTANCES = 2
RECEIVERS = ("emailReceivers", "webhookReceivers", "smsReceivers", "voiceReceivers", "azureAppPushReceivers",
             "logicAppReceivers", "azureFunctionReceivers", "eventHubReceivers", "itsmReceivers",
             "automationRunbookReceivers", "armRoleReceivers", "incidentReceivers")
MANDATORY = EnforcementLevel.MANDATORY


def _properties(props: Mapping[str, Any]) -> Mapping[str, Any]:
    value = props.get("properties")
    return value if isinstance(value, Mapping) else {}


def _endpoint_properties(args: ResourceValidationArgs) -> Iterator[Mapping[str, Any]]:
    """An online endpoint's properties: the resource's own, and those an ARM deployment applies to one."""
    if args.resource_type == ONLINE_ENDPOINT:
        yield _properties(args.props)
    elif args.resource_type == ARM_DEPLOYMENT:
        template = _properties(args.props).get("template")
        resources = template.get("resources") if isinstance(template, Mapping) else None
        for resource in resources or []:
            if isinstance(resource, Mapping) and resource.get("type") == ENDPOINT_ARM_TYPE:
                yield _properties(resource)


def _endpoint_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for properties in _endpoint_properties(args):
        if properties.get("publicNetworkAccess") != "Disabled":
            report("online endpoint is reachable from public networks: set public_network_access=Disabled "
                   "(clients come through the workspace's private endpoint)", None)


def _entra_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == BATCH_ENDPOINT:
        found: list[Mapping[str, Any]] = [_properties(args.props)]
    else:
        found = list(_endpoint_properties(args))
    production = in_production(args.props)
    for properties in found:
        mode = properties.get("authMode")
        if mode != "AADToken" and (production or args.resource_type == BATCH_ENDPOINT or mode is None):
            report(f"endpoint authenticates with {mode or 'nothing'}: use Entra ID tokens (auth_mode=AADToken), "
                   "not keys that leak and never expire", None)


def _mirror_traffic(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for properties in _endpoint_properties(args):
        mirror = properties.get("mirrorTraffic") or {}
        if not isinstance(mirror, Mapping):
            continue
        if len(mirror) > 1:
            report(f"mirror traffic goes to {len(mirror)} deployments: Azure ML mirrors to one", None)
        for deployment, share in mirror.items():
            if not isinstance(share, int | float) or not 0 <= share <= MAX_MIRROR_PERCENT:
                report(f"deployment {deployment} receives {number(share)} % mirrored traffic: at most "
                       f"{MAX_MIRROR_PERCENT} %", None)


def _deployment_egress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ONLINE_DEPLOYMENT or not in_production(args.props):
        return
    if _properties(args.props).get("egressPublicNetworkAccess") != "Disabled":
        report("production online deployment can reach the internet: set egress_public_network_access=Disabled "
               "(a model must not send data anywhere)", None)


def _deployment_capacity(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ONLINE_DEPLOYMENT or not in_production(args.props):
        return
    if labels(args.props).get("deployment") == "shadow":
        return  # the shadow never answers a caller
    scale = _properties(args.props).get("scaleSettings") or {}
    if isinstance(scale, Mapping) and scale.get("scaleType") == "TargetUtilization":
        least = scale.get("minInstances") or 0
    else:
        sku = args.props.get("sku")
        least = (sku.get("capacity") if isinstance(sku, Mapping) else None) or 1
    if least < PRODUCTION_MIN_INSTANCES:
        report(f"production online deployment may run {number(least)} instance(s): at least {PRODUCTION_MIN_INSTANCES} "
               "so that one failure or update does not stop serving", None)


def _data_collection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ONLINE_DEPLOYMENT:
        return
    properties = _properties(args.props)
    if properties.get("appInsightsEnabled") is not True:
        report("online deployment without Application Insights (app_insights_enabled=True): its requests "
               "and failures are invisible", None)
    collector = properties.get("dataCollector")
    if collector is None:
        return
    collections = collector.get("collections") if isinstance(collector, Mapping) else None
    if not isinstance(collections, Mapping) or not {"model_inputs", "model_outputs"} <= set(collections):
        report("data collector must record model_inputs and model_outputs (drift and audit read both)", None)
        return
    for key, collection in collections.items():
        rate = collection.get("samplingRate") if isinstance(collection, Mapping) else None
        enabled = isinstance(collection, Mapping) and collection.get("dataCollectionMode") == "Enabled"
        if not enabled or not isinstance(rate, int | float) or not 0 < rate <= 1:
            report(f"data collection {key} is off or samples {number(rate)}: enable it with a rate in (0, 1]", None)


def _feature_store_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != WORKSPACE or args.props.get("kind") != "FeatureStore":
        return
    if args.props.get("publicNetworkAccess") != "Disabled":
        report("feature store is reachable from public networks: set public_network_access=Disabled", None)
    if in_production(args.props) and args.props.get("encryption") is None:
        report("production feature store is not encrypted with the platform's customer-managed key", None)


def _action_group_receivers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ACTION_GROUP:
        return
    if args.props.get("enabled") is False:
        report("action group is disabled: its alerts reach nobody", None)
    if not any(is_set(args.props, key) for key in RECEIVERS):
        report("action group has no receiver: add an alert route (alerts: in the blueprint)", None)


def _alert_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == METRIC_ALERT:
        # Action group ids are other resources' outputs: unknown in a preview, and set all the same.
        notifies = any(is_set(a, "actionGroupId") for a in mappings(args.props.get("actions")))
    elif args.resource_type == QUERY_RULE:
        notifies = is_set(mapping_at(args.props, "actions"), "actionGroups")
    else:
        return
    if not notifies or args.props.get("enabled") is False:
        report("alert rule is disabled or notifies no action group", None)


def _redis_hardened(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != REDIS:
        return
    props = args.props
    if props.get("minimumTlsVersion") not in ("1.2", "1.3") or props.get("enableNonSslPort") is True:
        report("Redis cache accepts non-TLS or TLS below 1.2 connections", None)
    if props.get("publicNetworkAccess") != "Disabled":
        report("Redis cache is reachable from public networks: set public_network_access=Disabled", None)
    if props.get("disableAccessKeyAuthentication") is not True:
        report("Redis cache accepts access keys: disable them (Entra ID only)", None)


AZURE_SERVING_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy("azure-online-endpoint-private",
                             "Online endpoints are closed to public networks.",
                             _endpoint_private, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-endpoint-entra-auth",
                             "Batch endpoints, and online endpoints in production, authenticate with Entra ID tokens.",
                             _entra_auth, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-mirror-traffic-limit",
                             "Shadow (mirrored) traffic goes to one deployment, at most 50 %.",
                             _mirror_traffic, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-deployment-no-egress-in-production",
                             "Production online deployments have no public egress.",
                             _deployment_egress, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-deployment-two-instances-in-production",
                             "Production online deployments serve on at least two instances.",
                             _deployment_capacity, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-deployment-telemetry",
                             "Online deployments report to Application Insights and collect data well formed.",
                             _data_collection, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-feature-store-private",
                             "Feature stores are private, and encrypted with the platform key in production.",
                             _feature_store_private, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-action-group-has-receivers",
                             "Action groups are enabled and reach at least one receiver.",
                             _action_group_receivers, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-alert-rules-have-actions",
                             "Metric and log alert rules are enabled and notify an action group.",
                             _alert_actions, enforcement_level=MANDATORY),
    ResourceValidationPolicy("azure-redis-hardened",
                             "Redis caches (online feature store) take TLS 1.2+, Entra ID only, privately.",
                             _redis_hardened, enforcement_level=MANDATORY),
]
