"""Azure model-quality monitoring: a scheduled job scores production predictions against ground truth.

Azure ML's monitor API has no model-performance signal for the blueprint's metrics (its stable
version has none at all; the preview one computes a few classification and regression metrics, not
e.g. MAPE), and a custom signal's component needs code uploaded to storage, which a storage account
without shared keys refuses to `pulumi up` (pulumi-azure-native#2015). So the check is a small
command job whose code travels in the job definition (`scripts/model_quality.py`, standard library
only, plus the environment's MLflow to tag its run), scheduled like the monitors: it reads the
predictions of one period that ended `label_delay_hours` ago and the labels that arrived since,
computes the metric, and *fails* when the bar is missed, tagging its run `mlops_quality_breach=true`
first (performance retraining listens for failed runs with that tag: components.azure.retraining).
The workspace's run events already go to Log Analytics (governance's diagnostic setting), so a log
alert on that experiment's failed runs warns the team.

Ground truth contract: CSV files with columns `id` and `label` under `ground-truth/<model>/` in the
platform's data container. Predictions: batch models' output folder (CSV with `id` and
`prediction`), online models' collected `model_outputs` (the `x-request-id` header is the id).
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.vocabulary import InstanceSize

from .alerting import AZURE_SEVERITY
from .batch import datastore_name
from .images import RUNNER_ENVIRONMENT
from .serving_names import CHAMPION_DEPLOYMENT, alert_rule_name, schedule_name
from .vm_sizes import vm_size

ml = azure_native.machinelearningservices
monitor = azure_native.monitor

SCRIPT = Path(__file__).parent / "scripts" / "model_quality.py"
# Settings travel as environment variables, each expanded inside double quotes: the shell neither splits
# nor globs them, and never reads their contents as syntax (the metric is blueprint text).
COMMAND = ('python -c "$MLOPS_SCRIPT" --predictions ${{inputs.predictions}} --labels ${{inputs.labels}} '
           '--metric "$MLOPS_METRIC" --direction "$MLOPS_DIRECTION" --threshold "$MLOPS_THRESHOLD" '
           '--delay-hours "$MLOPS_DELAY_HOURS" --window-hours "$MLOPS_WINDOW_HOURS"')
RUN_EVENTS = "AmlRunStatusChangedEvent"


def collected_outputs(endpoint: str) -> str:
    """Where the champion's data collector writes model outputs (the workspace's default blob datastore)."""
    return f"azureml://datastores/workspaceblobstore/paths/modelDataCollector/{endpoint}/{CHAMPION_DEPLOYMENT}/model_outputs/"


def experiment(model: str) -> str:
    return f"{model}-quality"


def failed_runs_query(model: str) -> str:
    """KQL over the workspace's own run events (resource-centric): failed quality runs in the window."""
    return (f'{RUN_EVENTS}\n| where ExperimentName == "{experiment(model)}" and Status == "Failed"\n'
            "| summarize failed = count()")


@builds(Capability.quality_monitoring)
class AzureMlQualityMonitor(pulumi.ComponentResource):
    """Model-quality monitoring of one model: a scheduled scoring job and the alert on its failures.

    Creates `-labels-store` (identity-based blob datastore on the data container, where ground truth
    lands), `-schedule` (Schedule, CreateJob action on the quality cron in UTC: a serverless command
    job running `scripts/model_quality.py` as the platform identity, predictions and labels mounted
    read-only, the metric, direction, threshold, label delay and window as arguments) and `-alert`
    (log alert on the workspace: a failed run of the `<model>-quality` experiment, i.e. the bar was
    missed or could not be measured, warns).

    Outputs: schedule_name.
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, resource_group_name: pulumi.Input[str],
                 workspace_name: pulumi.Input[str], workspace_id: pulumi.Input[str], predictions_uri: str,
                 storage_account: pulumi.Input[str], data_container: pulumi.Input[str],
                 subscription_id: pulumi.Input[str], identity_client_id: pulumi.Input[str],
                 action_group_id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlQualityMonitor", name, None, opts)
        quality = model.monitoring.quality
        if quality is None:
            raise ValueError(f"{model.name}: AzureMlQualityMonitor needs quality monitoring")
        tags = azure_tags(plan.tags)
        labels_store = datastore_name(model.name, "labels")
        ml.Datastore(
            f"{name}-labels-store",
            ml.DatastoreArgs(
                resource_group_name=resource_group_name, workspace_name=workspace_name, name=labels_store,
                properties=ml.AzureBlobDatastoreArgs(
                    datastore_type="AzureBlob", account_name=storage_account, container_name=data_container,
                    credentials=ml.NoneDatastoreCredentialsArgs(credentials_type="None"),
                    subscription_id=subscription_id, resource_group=resource_group_name,
                    service_data_access_auth_identity=ml.ServiceDataAccessAuthIdentity.WORKSPACE_USER_ASSIGNED_IDENTITY,
                    description=f"ground truth of {model.name}", tags=tags),
            ),
            opts=child(self),
        )
        mount = ml.InputDeliveryMode.READ_ONLY_MOUNT
        self.schedule_name = schedule_name(plan, model.name, "quality")
        ml.Schedule(
            f"{name}-schedule",
            ml.ScheduleArgs(
                resource_group_name=resource_group_name, workspace_name=workspace_name, name=self.schedule_name,
                properties=ml.SchedulePropertiesArgs(
                    display_name=f"{model.name} quality",
                    description=f"{quality.metric} of {model.name} against ground truth ({plan.prefix})",
                    is_enabled=True,
                    trigger=ml.CronTriggerArgs(trigger_type="Cron", expression=quality.schedule.cron,
                                               time_zone="UTC"),
                    action=ml.JobScheduleActionArgs(
                        action_type="CreateJob",
                        job_definition=ml.CommandJobArgs(
                            job_type="Command",
                            display_name=f"{model.name}-quality",
                            experiment_name=experiment(model.name),
                            environment_id=RUNNER_ENVIRONMENT,
                            command=COMMAND,
                            # Serverless compute: nothing to keep running between checks.
                            resources=ml.JobResourceConfigurationArgs(instance_count=1,
                                                                      instance_type=vm_size(InstanceSize.small)),
                            limits=ml.CommandJobLimitsArgs(job_limits_type="Command", timeout="PT1H"),
                            identity=ml.ManagedIdentityArgs(identity_type="Managed", client_id=identity_client_id),
                            inputs={
                                "predictions": ml.UriFolderJobInputArgs(job_input_type="uri_folder",
                                                                        uri=predictions_uri, mode=mount),
                                "labels": ml.UriFolderJobInputArgs(
                                    job_input_type="uri_folder", mode=mount,
                                    uri=f"azureml://datastores/{labels_store}/paths/ground-truth/{model.name}/"),
                            },
                            environment_variables={
                                "MLOPS_SCRIPT": SCRIPT.read_text(encoding="utf-8"),
                                "MLOPS_METRIC": quality.metric,
                                "MLOPS_DIRECTION": quality.direction.value,
                                "MLOPS_THRESHOLD": f"{quality.threshold:g}",
                                "MLOPS_DELAY_HOURS": str(quality.label_delay_hours),
                                "MLOPS_WINDOW_HOURS": str(quality.schedule.period_hours),
                            },
                            tags=tags,
                        ),
                    ),
                    tags=tags,
                ),
            ),
            opts=child(self),
        )
        window = "PT1H" if quality.schedule.period_hours == 1 else "P1D"
        monitor.ScheduledQueryRule(
            f"{name}-alert",
            monitor.ScheduledQueryRuleArgs(
                resource_group_name=resource_group_name,
                rule_name=alert_rule_name(plan, model.name, "quality"),
                location=plan.region,
                description=f"{model.name}: {quality.metric} missed {quality.direction.value} "
                            f"{quality.threshold:g}, or could not be measured (failed quality run)",
                enabled=True,
                severity=AZURE_SEVERITY["warning"],
                kind=monitor.Kind.LOG_ALERT,
                scopes=[workspace_id],
                evaluation_frequency=window,
                window_size=window,
                auto_mitigate=False,  # a failed run stays failed: each one alerts once
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                    query=failed_runs_query(model.name), time_aggregation=monitor.TimeAggregation.TOTAL,
                    metric_measure_column="failed", operator=monitor.ConditionOperator.GREATER_THAN, threshold=0,
                    failing_periods=monitor.ConditionFailingPeriodsArgs(
                        number_of_evaluation_periods=1, min_failing_periods_to_alert=1))]),
                actions=monitor.ActionsArgs(action_groups=[action_group_id]),
                tags=tags,
            ),
            opts=child(self),
        )
        self.register_outputs({"schedule_name": self.schedule_name})
