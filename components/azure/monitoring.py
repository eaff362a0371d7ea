"""Azure ML model monitoring: a `CreateMonitor` schedule per real-time model (drift, data quality, prediction drift).

The monitor reads what the champion deployment's data collector records (the data assets Azure ML
registers as `<endpoint>-<deployment>-model_inputs` / `-model_outputs`). The reference is the same
data from the week before the monitored window ("recent past production data", one of Azure ML's
two reference choices), so the monitor needs no training-data asset of its own.

The blueprint's drift method maps onto Azure ML's metrics (`DRIFT_METRICS`): numerical features use
the method itself, categorical features the method where Azure has it, else Pearson's chi-squared
test; the blueprint's threshold applies to the metric that is the method, the others keep Azure's
default thresholds. `l_infinity` has no Azure metric: the plan refuses it (`mlops.clouds.azure`).
"""

from __future__ import annotations

from typing import NamedTuple

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.schedule import Schedule
from mlops.plan.vocabulary import AlertKind, DriftMethod

from .serving_names import CHAMPION_DEPLOYMENT, schedule_name

ml = azure_native.machinelearningservices


class DriftMetrics(NamedTuple):
    numerical: str
    categorical: str


DRIFT_METRICS: dict[DriftMethod, DriftMetrics] = {
    DriftMethod.psi: DriftMetrics("PopulationStabilityIndex", "PopulationStabilityIndex"),
    DriftMethod.jensen_shannon: DriftMetrics("JensenShannonDistance", "JensenShannonDistance"),
    DriftMethod.wasserstein: DriftMetrics("NormalizedWassersteinDistance", "PearsonsChiSquaredTest"),
    DriftMethod.ks: DriftMetrics("TwoSampleKolmogorovSmirnovTest", "PearsonsChiSquaredTest"),
}
"""Blueprint drift method → Azure ML (numerical, categorical) drift metric."""
QUALITY_METRICS = ("NullValueRate", "DataTypeErrorRate", "OutOfBoundsRate")
REGRESSION_METRICS = frozenset({"mae", "mse", "rmse", "r2", "mape", "smape", "wape", "abs_bias_percent", "rmsle"})
# Serverless Spark for the monitoring jobs: the smallest memory-optimised size Azure ML offers them.
MONITOR_INSTANCE = "standard_e4s_v3"
SPARK_RUNTIME = "3.4"
REFERENCE_WINDOW = "P7D"
EMAIL_LIMIT = 499
"""Azure ML's monitor e-mail list holds at most 499 characters in total."""


def task_type(model: ModelPlan) -> str:
    """Classification or Regression, from the model's metrics (quality gates, quality monitor)."""
    metrics = [m.metric for m in model.quality_gates.metrics]
    if model.monitoring.quality is not None:
        metrics.append(model.monitoring.quality.metric)
    return "Regression" if any(m.lower() in REGRESSION_METRICS for m in metrics) else "Classification"


def window(schedule: Schedule) -> str:
    """The monitored window: one schedule period, as an ISO 8601 duration (whole days as `P<n>D`)."""
    hours = schedule.period_hours
    return f"P{hours // 24}D" if hours % 24 == 0 else f"PT{hours}H"


def notification_emails(plan: Plan) -> list[str]:
    """The blueprint's plain e-mail routes, as many as fit Azure ML's 499-character list."""
    emails: list[str] = []
    for route in plan.alerts:
        fits = route.target is not None and len(",".join([*emails, route.target])) <= EMAIL_LIMIT
        if route.kind == AlertKind.email and route.target and route.secret is None and fits:
            emails.append(route.target)
    return emails


DataDriftThreshold = ml.NumericalDataDriftMetricThresholdArgs | ml.CategoricalDataDriftMetricThresholdArgs
PredictionDriftThreshold = (ml.NumericalPredictionDriftMetricThresholdArgs
                            | ml.CategoricalPredictionDriftMetricThresholdArgs)


def drift_thresholds(model: ModelPlan) -> tuple[list[DataDriftThreshold], list[PredictionDriftThreshold]]:
    """Data-drift and prediction-drift metric thresholds for the blueprint's method."""
    drift = model.monitoring.drift
    assert drift is not None
    metrics = DRIFT_METRICS[drift.method]

    def threshold(metric: str) -> ml.MonitoringThresholdArgs | None:
        native = metric == metrics.numerical
        return ml.MonitoringThresholdArgs(value=drift.threshold) if native else None

    data: list[DataDriftThreshold] = [
        ml.NumericalDataDriftMetricThresholdArgs(data_type="Numerical", metric=metrics.numerical,
                                                 threshold=threshold(metrics.numerical)),
        ml.CategoricalDataDriftMetricThresholdArgs(data_type="Categorical", metric=metrics.categorical,
                                                   threshold=threshold(metrics.categorical)),
    ]
    prediction: list[PredictionDriftThreshold] = [
        ml.NumericalPredictionDriftMetricThresholdArgs(data_type="Numerical", metric=metrics.numerical,
                                                       threshold=threshold(metrics.numerical)),
        ml.CategoricalPredictionDriftMetricThresholdArgs(data_type="Categorical", metric=metrics.categorical,
                                                         threshold=threshold(metrics.categorical)),
    ]
    return data, prediction


def collected(endpoint: str, collection: str, size: str, offset: str) -> ml.RollingInputDataArgs:
    """A rolling window of what the champion's data collector recorded."""
    return ml.RollingInputDataArgs(
        input_data_type="Rolling", job_input_type=ml.JobInputType.MLTABLE,
        uri=f"azureml:{endpoint}-{CHAMPION_DEPLOYMENT}-{collection}:1",
        window_size=size, window_offset=offset, data_context=collection)


@builds(Capability.drift_monitoring, Capability.sre_alarms)
class AzureMlModelMonitor(pulumi.ComponentResource):
    """Azure ML model monitoring of one real-time model.

    Creates `-monitor` (Schedule with a CreateMonitor action on the drift schedule, in UTC):
    signals `data-drift` (the blueprint's method on the watched features, or all features),
    `data-quality` (null, type-error and out-of-bounds rates) and `prediction-drift` (the same
    method on the model's outputs); serverless Spark running as the platform identity; monitoring
    target = the champion deployment and the model's task type; Azure ML e-mail notifications to
    the blueprint's e-mail routes (threshold breaches are also workspace events, which retraining
    triggers subscribe to).

    Outputs: schedule_name.
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, resource_group_name: pulumi.Input[str],
                 workspace_name: pulumi.Input[str], endpoint_name: str, deployment_id: pulumi.Input[str],
                 identity_id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlModelMonitor", name, None, opts)
        drift = model.monitoring.drift
        if drift is None:
            raise ValueError(f"{model.name}: AzureMlModelMonitor needs drift monitoring")
        size = window(drift.schedule)
        production_inputs = collected(endpoint_name, "model_inputs", size, "P0D")
        reference_inputs = collected(endpoint_name, "model_inputs", REFERENCE_WINDOW, size)
        production_outputs = collected(endpoint_name, "model_outputs", size, "P0D")
        reference_outputs = collected(endpoint_name, "model_outputs", REFERENCE_WINDOW, size)
        features: ml.AllFeaturesArgs | ml.FeatureSubsetArgs = (
            ml.FeatureSubsetArgs(filter_type="FeatureSubset", features=list(drift.features)) if drift.features
            else ml.AllFeaturesArgs(filter_type="AllFeatures"))
        data_metrics, prediction_metrics = drift_thresholds(model)
        notify = [ml.MonitoringNotificationType.AML_NOTIFICATION]
        quality = [
            *(ml.NumericalDataQualityMetricThresholdArgs(data_type="Numerical", metric=m) for m in QUALITY_METRICS),
            *(ml.CategoricalDataQualityMetricThresholdArgs(data_type="Categorical", metric=m)
              for m in QUALITY_METRICS),
        ]
        signals: dict[str, ml.DataDriftMonitoringSignalArgs | ml.DataQualityMonitoringSignalArgs
                      | ml.PredictionDriftMonitoringSignalArgs] = {
            "data-drift": ml.DataDriftMonitoringSignalArgs(
                signal_type="DataDrift", metric_thresholds=data_metrics, production_data=production_inputs,
                reference_data=reference_inputs, features=features, notification_types=notify),
            "data-quality": ml.DataQualityMonitoringSignalArgs(
                signal_type="DataQuality", metric_thresholds=quality, production_data=production_inputs,
                reference_data=reference_inputs, features=features, notification_types=notify),
            "prediction-drift": ml.PredictionDriftMonitoringSignalArgs(
                signal_type="PredictionDrift", metric_thresholds=prediction_metrics,
                production_data=production_outputs, reference_data=reference_outputs, notification_types=notify),
        }
        emails = notification_emails(plan)
        self.schedule_name = schedule_name(plan, model.name, "monitor")
        ml.Schedule(
            f"{name}-monitor",
            ml.ScheduleArgs(
                resource_group_name=resource_group_name,
                workspace_name=workspace_name,
                name=self.schedule_name,
                properties=ml.SchedulePropertiesArgs(
                    display_name=f"{model.name} monitoring",
                    description=f"Drift and data quality of {model.name} ({plan.prefix})",
                    is_enabled=True,
                    tags=azure_tags(plan.tags),
                    trigger=ml.CronTriggerArgs(trigger_type="Cron", expression=drift.schedule.cron,
                                               time_zone="UTC"),
                    action=ml.CreateMonitorActionArgs(
                        action_type="CreateMonitor",
                        monitor_definition=ml.MonitorDefinitionArgs(
                            compute_configuration=ml.MonitorServerlessSparkComputeArgs(
                                compute_type="ServerlessSpark", instance_type=MONITOR_INSTANCE,
                                runtime_version=SPARK_RUNTIME,
                                compute_identity=ml.ManagedComputeIdentityArgs(
                                    compute_identity_type="ManagedIdentity",
                                    identity=ml.ManagedServiceIdentityArgs(
                                        type=ml.ManagedServiceIdentityType.USER_ASSIGNED,
                                        user_assigned_identities=[identity_id]))),
                            signals=signals,
                            monitoring_target=ml.MonitoringTargetArgs(task_type=task_type(model),
                                                                      deployment_id=deployment_id),
                            alert_notification_settings=ml.MonitorNotificationSettingsArgs(
                                email_notification_settings=ml.MonitorEmailNotificationSettingsArgs(emails=emails))
                            if emails else None,
                        ),
                    ),
                ),
            ),
            opts=child(self),
        )
        self.register_outputs({"schedule_name": self.schedule_name})
