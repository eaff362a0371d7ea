"""Azure ML real-time serving: a managed online endpoint per model, its deployments and SRE alerts.

The endpoint serves MLflow models (no scoring script or environment: Azure ML builds both for
MLflow models). IaC creates the champion deployment (`blue`) on version 1 of the model named after
the blueprint's model (`serving_names.served_model_id`: from the registry, i.e. approved, when the
plan has one); the deploy step rolls later approved versions into it (`ignore_changes` on the
deployment's model: the deploy step owns it). Pulumi's `ignore_changes` keeps the model it last
*read*: run `pulumi up --refresh` (or `options: refresh: always` in Pulumi.yaml) so that a later
change to a deployment (its size, scaling, tags) keeps the approved version the deploy step rolled
in instead of sending version 1 again. The traffic split's ownership is described in `traffic.py`.
"""

from __future__ import annotations

import math

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from .alerting import AZURE_SEVERITY
from .serving_names import CHAMPION_DEPLOYMENT, SHADOW_DEPLOYMENT, alert_rule_name, endpoint_name, online_sku
from .traffic import ENDPOINT_OWNED_ELSEWHERE, endpoint_description, initial_split_template, rollout_steps

ml = azure_native.machinelearningservices
monitor = azure_native.monitor

ENDPOINT_METRICS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_METRICS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
# Managed online endpoints time a request out after 5 s by default and after 180 s at most.
DEFAULT_TIMEOUT_MS = 5_000
MAX_TIMEOUT_MS = 180_000
# The endpoint logs each request here when its diagnostic setting sends them to Log Analytics.
TRAFFIC_LOG = "AmlOnlineEndpointTrafficLog"
SCALE_POLLING = "PT1M"


def _latency_ms(model: ModelPlan) -> int | None:
    sre = model.monitoring.sre
    if sre is not None and sre.latency_p99_ms is not None:
        return sre.latency_p99_ms
    return model.serving.latency_p99_ms if model.serving else None


def request_timeout(model: ModelPlan) -> str:
    """Twice the p99 SLA (a slow request still answers), at least Azure's 5 s default, at most 180 s."""
    latency = _latency_ms(model) or 0
    ms = min(MAX_TIMEOUT_MS, max(DEFAULT_TIMEOUT_MS, 2 * latency))
    return f"PT{math.ceil(ms / 1000)}S"


def sampling_rate(model: ModelPlan) -> float | None:
    """Share of requests the data collector keeps (0-1); None: no collection.

    Prediction logging sets the share; drift and quality monitoring read the collected inputs and
    outputs, so a monitored model with prediction logging gated off still collects them, all of them.
    """
    mon = model.monitoring
    if mon.prediction_logging_percent is not None:
        return mon.prediction_logging_percent / 100 if mon.prediction_logging_percent > 0 else None
    return 1.0 if mon.drift is not None or mon.quality is not None else None


def error_rate_query(endpoint: str) -> str:
    """KQL: the percentage of the endpoint's requests that failed with a 5xx status, per window."""
    return (f'{TRAFFIC_LOG}\n| where EndpointName == "{endpoint}"\n'
            "| summarize requests = count(), errors = countif(tostring(ResponseCode) startswith \"5\")\n"
            "| extend error_rate = iff(requests > 0, 100.0 * errors / requests, 0.0)")


def shadow_instances(model: ModelPlan) -> int:
    """Capacity of the shadow deployment: its mirrored share of the champion's, at least one instance."""
    s = model.serving
    if s is None or s.shadow is None:
        return 0
    return max(1, math.ceil(s.min_instances * s.shadow.sample_percent / 100))


@builds(Capability.serving, Capability.autoscaling, Capability.shadow_deployment, Capability.prediction_logging)
class AzureMlOnlineEndpoint(pulumi.ComponentResource):
    """A managed online endpoint for one real-time model, its deployments and its SRE alerts.

    Creates: `-endpoint` (OnlineEndpoint: Entra ID token auth, public network access disabled, the
    platform's user-assigned identity; traffic owned as described in `traffic.py`), `-blue`
    (ManagedOnlineDeployment: the plan's size on the online SKU list, target-utilisation autoscaling between the
    plan's min and max instances (at least two in production) or a fixed count, Application
    Insights, data collection of inputs and outputs at the logged share, egress public network
    access disabled in production), `-shadow` (the challenger, same settings, a share of the
    capacity) when shadow testing, `-traffic` (incremental ARM deployment applying the resting
    split and the mirrored share once the deployments exist) and, with SRE alerts, `-diagnostics`
    (the endpoint's request log to Log Analytics), `-latency-alert` (metric alert: p99 request
    latency above the SLA), `-errors-alert` (scheduled query: 5xx share of requests above the
    blueprint's error rate) and `-utilization-alert` (metric alert: the champion's CPU above the
    blueprint's utilisation), all to the critical action group.

    With `create_deployments=False` (stack setting `mlops:endpoints: defer`: a first deployment, before
    any model version exists) only the endpoint, its request log and the alerts on the endpoint are
    created: no deployments (they need version 1 of the model), no `-traffic` (it names them) and no
    `-utilization-alert` (it watches `blue`). An endpoint without deployments costs nothing and keeps
    its name and scoring URI; the next `pulumi up` without the setting adds the rest.

    Outputs: endpoint_name, endpoint_id, scoring_uri, champion_id (the `blue` deployment's id; None
    while deployments are deferred).
    """

    champion_id: pulumi.Output[str] | None
    """The `blue` deployment's id; None while deployments are deferred."""

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, resource_group_name: pulumi.Input[str],
                 workspace_name: pulumi.Input[str], model_id: pulumi.Input[str],
                 identity_id: pulumi.Input[str], log_analytics_id: pulumi.Input[str],
                 action_group_id: pulumi.Input[str], create_deployments: bool = True,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlOnlineEndpoint", name, None, opts)
        serving = model.serving
        if serving is None or serving.mode.value != "realtime":
            raise ValueError(f"{model.name}: AzureMlOnlineEndpoint needs a real-time model")
        tags = azure_tags(plan.tags)
        self.endpoint_name = endpoint_name(plan, model.name)
        identity = ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.USER_ASSIGNED,
                                                 user_assigned_identities=[identity_id])
        self.endpoint = ml.OnlineEndpoint(
            f"{name}-endpoint",
            ml.OnlineEndpointArgs(
                resource_group_name=resource_group_name,
                workspace_name=workspace_name,
                endpoint_name=self.endpoint_name,
                location=plan.region,
                identity=identity,
                properties=ml.OnlineEndpointPropertiesArgs(
                    auth_mode=ml.EndpointAuthMode.AAD_TOKEN,
                    public_network_access=ml.PublicNetworkAccessType.DISABLED,
                    description=endpoint_description(plan.prefix, model.name),
                ),
                tags=tags,
            ),
            # The split names deployments that exist only later, and an update would empty it: after
            # creation `-traffic` carries the endpoint's definition, then the deploy step the split.
            opts=pulumi.ResourceOptions.merge(child(self), pulumi.ResourceOptions(
                ignore_changes=ENDPOINT_OWNED_ELSEWHERE)),
        )
        self.rollout = rollout_steps(model)
        self.endpoint_id = self.endpoint.id
        self.scoring_uri = self.endpoint.properties.scoring_uri
        self.champion_id = None
        outputs: dict[str, pulumi.Input[str]] = {"endpoint_name": self.endpoint_name, "endpoint_id": self.endpoint_id,
                                                 "scoring_uri": self.scoring_uri}
        blue = self._deployments(name, plan, model, resource_group_name, workspace_name, model_id, identity_id,
                                 tags) if create_deployments else None
        if blue is not None:
            self.champion_id = outputs["champion_id"] = blue.id
        if model.monitoring.sre is not None:
            self._sre_alerts(name, plan, model, resource_group_name, blue, log_analytics_id, action_group_id, tags)
        self.register_outputs(outputs)

    def _deployments(self, name: str, plan: Plan, model: ModelPlan, resource_group_name: pulumi.Input[str],
                     workspace_name: pulumi.Input[str], model_id: pulumi.Input[str], identity_id: pulumi.Input[str],
                     tags: dict[str, str]) -> ml.OnlineDeployment:
        """`blue`, `shadow` when shadow testing, and `-traffic` once they exist; returns `blue`."""
        serving = model.serving
        assert serving is not None
        blue = self._deployment(name, plan, model, CHAMPION_DEPLOYMENT, serving.min_instances,
                                resource_group_name, workspace_name, model_id, tags)
        deployments: list[pulumi.Resource] = [blue]
        if serving.shadow is not None:
            deployments.append(self._deployment(name, plan, model, SHADOW_DEPLOYMENT, shadow_instances(model),
                                                resource_group_name, workspace_name, model_id, tags))
        azure_native.resources.Deployment(
            f"{name}-traffic",
            azure_native.resources.DeploymentArgs(
                resource_group_name=resource_group_name,
                deployment_name=f"{self.endpoint_name}-traffic",
                properties=azure_native.resources.DeploymentPropertiesArgs(
                    mode=azure_native.resources.DeploymentMode.INCREMENTAL,
                    template=initial_split_template(
                        model, endpoint=self.endpoint_name, region=plan.region, tags=tags,
                        description=endpoint_description(plan.prefix, model.name)),
                    parameters={
                        "workspace": azure_native.resources.DeploymentParameterArgs(value=workspace_name),
                        "identity": azure_native.resources.DeploymentParameterArgs(value=identity_id),
                    },
                ),
                tags=tags,
            ),
            opts=child(self, depends_on=deployments),
        )
        return blue

    def _deployment(self, name: str, plan: Plan, model: ModelPlan, deployment: str, instances: int,
                    resource_group_name: pulumi.Input[str], workspace_name: pulumi.Input[str],
                    model_id: pulumi.Input[str], tags: dict[str, str]) -> ml.OnlineDeployment:
        serving = model.serving
        assert serving is not None
        scaling = serving.autoscaling
        champion = deployment == CHAMPION_DEPLOYMENT
        scale: ml.TargetUtilizationScaleSettingsArgs | ml.DefaultScaleSettingsArgs
        if scaling is not None and champion:
            scale = ml.TargetUtilizationScaleSettingsArgs(
                scale_type="TargetUtilization", min_instances=serving.min_instances,
                max_instances=serving.max_instances,
                target_utilization_percentage=round(scaling.target_utilization_percent),
                polling_interval=SCALE_POLLING)
        else:
            scale = ml.DefaultScaleSettingsArgs(scale_type="Default")
        rate = sampling_rate(model)
        collector = ml.DataCollectorArgs(
            collections={c: ml.CollectionArgs(data_collection_mode=ml.DataCollectionMode.ENABLED, sampling_rate=rate)
                         for c in ("model_inputs", "model_outputs")},
            # The correlation id joins inputs, outputs and later ground truth.
            request_logging=ml.RequestLoggingArgs(capture_headers=["x-request-id"]),
        ) if rate is not None else None
        return ml.OnlineDeployment(
            f"{name}-{deployment}",
            ml.OnlineDeploymentArgs(
                resource_group_name=resource_group_name,
                workspace_name=workspace_name,
                endpoint_name=self.endpoint_name,
                deployment_name=deployment,
                location=plan.region,
                # Initial instance count; target-utilisation scaling moves it between min and max.
                sku=ml.SkuArgs(name="Default", capacity=instances),
                properties=ml.ManagedOnlineDeploymentArgs(
                    endpoint_compute_type="Managed",
                    description=f"{model.name} ({'champion' if champion else 'shadow challenger'})",
                    model=model_id,
                    instance_type=online_sku(serving.instance),
                    scale_settings=scale,
                    app_insights_enabled=True,
                    data_collector=collector,
                    egress_public_network_access=ml.EgressPublicNetworkAccessType.DISABLED if plan.production
                    else ml.EgressPublicNetworkAccessType.ENABLED,
                    request_settings=ml.OnlineRequestSettingsArgs(request_timeout=request_timeout(model)),
                ),
                tags={**tags, "deployment": deployment},
            ),
            # The deploy step rolls approved versions into the deployment (see the module docstring).
            opts=pulumi.ResourceOptions.merge(child(self, depends_on=[self.endpoint]),
                                              pulumi.ResourceOptions(ignore_changes=["properties.model"])),
        )

    def _sre_alerts(self, name: str, plan: Plan, model: ModelPlan, resource_group_name: pulumi.Input[str],
                    blue: ml.OnlineDeployment | None, log_analytics_id: pulumi.Input[str],
                    action_group_id: pulumi.Input[str], tags: dict[str, str]) -> None:
        sre = model.monitoring.sre
        assert sre is not None
        severity = AZURE_SEVERITY["critical"]
        monitor.DiagnosticSetting(
            f"{name}-diagnostics",
            monitor.DiagnosticSettingArgs(
                name="mlops-requests",
                resource_uri=self.endpoint.id,
                workspace_id=log_analytics_id,
                log_analytics_destination_type="Dedicated",
                logs=[monitor.DiagnosticsLogSettingsArgs(category=TRAFFIC_LOG, enabled=True)],
            ),
            opts=child(self),
        )

        def metric_alert(suffix: str, scope: pulumi.Input[str], namespace: str, metric: str,
                         threshold: float, description: str) -> None:
            monitor.MetricAlert(
                f"{name}-{suffix}-alert",
                monitor.MetricAlertArgs(
                    resource_group_name=resource_group_name,
                    rule_name=alert_rule_name(plan, model.name, suffix),
                    location="global",
                    description=description,
                    enabled=True,
                    severity=severity,
                    scopes=[scope],
                    evaluation_frequency="PT1M",
                    window_size="PT5M",
                    auto_mitigate=True,
                    criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                        odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                        all_of=[monitor.MetricCriteriaArgs(
                            criterion_type="StaticThresholdCriterion", name=suffix, metric_namespace=namespace,
                            metric_name=metric, operator=monitor.Operator.GREATER_THAN, threshold=threshold,
                            time_aggregation=monitor.AggregationTypeEnum.AVERAGE)],
                    ),
                    actions=[monitor.MetricAlertActionArgs(action_group_id=action_group_id)],
                    tags=tags,
                ),
                opts=child(self),
            )

        latency = _latency_ms(model)
        if latency is not None:
            metric_alert("latency", self.endpoint.id, ENDPOINT_METRICS, "RequestLatency_P99", float(latency),
                         f"{model.name}: p99 request latency above the {latency} ms SLA")
        if blue is not None:  # no champion while deployments are deferred
            metric_alert("utilization", blue.id, DEPLOYMENT_METRICS, "CpuUtilizationPercentage",
                         float(sre.utilization_percent),
                         f"{model.name}: champion CPU above {sre.utilization_percent:g} %")
        # Metric alerts cannot divide two metrics: the 5xx share is computed from the request log.
        monitor.ScheduledQueryRule(
            f"{name}-errors-alert",
            monitor.ScheduledQueryRuleArgs(
                resource_group_name=resource_group_name,
                rule_name=alert_rule_name(plan, model.name, "errors"),
                location=plan.region,
                description=f"{model.name}: more than {sre.error_rate_percent:g} % of requests fail with 5xx",
                enabled=True,
                severity=severity,
                kind=monitor.Kind.LOG_ALERT,
                scopes=[log_analytics_id],
                evaluation_frequency="PT5M",
                window_size="PT5M",
                auto_mitigate=True,
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                    query=error_rate_query(self.endpoint_name),
                    time_aggregation=monitor.TimeAggregation.MAXIMUM,
                    metric_measure_column="error_rate",
                    operator=monitor.ConditionOperator.GREATER_THAN,
                    threshold=float(sre.error_rate_percent),
                    failing_periods=monitor.ConditionFailingPeriodsArgs(
                        number_of_evaluation_periods=1, min_failing_periods_to_alert=1),
                )]),
                actions=monitor.ActionsArgs(action_groups=[action_group_id]),
                tags=tags,
            ),
            opts=child(self),
        )
