"""Event-driven retraining on Azure: monitor threshold breaches (workspace events) start the training pipeline.

Scheduled retraining is the pipeline's own `Schedule` (components.azure.pipeline).
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from mlops.plan import ModelPlan, Plan

from .naming import known_name, role_assignment_name
from .pipeline import AzureMlTrainingPipeline
from .retraining_workflow import TRIGGER, workflow_definition
from .roles import ML, custom_role, role_definition_guid
from .serving_names import schedule_name

eventgrid = azure_native.eventgrid
logic = azure_native.logic

RUNNER_ROLE = "pipeline runner"
RUNNER_ACTIONS = [f"{ML}/workspaces/read", f"{ML}/workspaces/jobs/read", f"{ML}/workspaces/jobs/write",
                  f"{ML}/workspaces/experiments/read", f"{ML}/workspaces/experiments/runs/write",
                  f"{ML}/workspaces/components/read", f"{ML}/workspaces/components/versions/read",
                  f"{ML}/workspaces/environments/read", f"{ML}/workspaces/environments/versions/read",
                  f"{ML}/workspaces/codes/read", f"{ML}/workspaces/codes/versions/read",
                  f"{ML}/workspaces/computes/read", f"{ML}/workspaces/datastores/read"]
"""Submitting a pipeline job that uses registered components on the platform's clusters, nothing else."""

TOPIC_TYPE = "Microsoft.MachineLearningServices.Workspaces"
RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
BREACH_TAG = "data.RunTags.azureml_modelmonitor_threshold_breached"
BREACH_TEXT = "violating metric thresholds"
"""Azure ML model monitoring tags a monitor run whose signals breach their thresholds with
`azureml_modelmonitor_threshold_breached` ("... failed due to one or more features violating metric
thresholds") and the workspace publishes the run's status change."""


def event_triggered(model: ModelPlan) -> bool:
    """Drift retraining starts on the model's monitor breaches. Performance retraining needs a model
    performance signal, which the Azure monitors do not have yet: not built (components.coverage)."""
    return model.retraining.on_drift


class AzureMlRetrainingTriggers(pulumi.ComponentResource):
    """Drift monitor breaches → the model's training pipeline, at most once per cool-down.

    Creates:

    - `-topic` (Event Grid system topic of the Azure ML workspace): the workspace's run events.
    - `-runner-role` (custom role `<prefix> pipeline runner`: submit jobs with registered components
      on the platform's clusters) and `-runner`: the platform identity holds it on the workspace.
    - per model that retrains on drift: `-<model>-workflow` (Logic App, the platform identity, see
      `retraining_workflow`: answers Event Grid's validation, submits the pipeline job with
      input `trigger=drift`, then waits `min_interval_hours`; one run at a time, one waiting)
      and `-<model>-events` (event subscription: RunStatusChanged of the model's monitor runs whose tags
      say a threshold was breached, Event Grid schema, one delivery attempt, delivered to the workflow's
      trigger callback URL).

    Outputs: `topic` (the system topic).
    """

    def __init__(self, name: str, plan: Plan, pipelines: dict[str, AzureMlTrainingPipeline], *,
                 resource_group_name: pulumi.Input[str], workspace_id: pulumi.Input[str],
                 workspace_arm_id: pulumi.Input[str], role_scope: pulumi.Input[str],
                 identity_id: pulumi.Input[str], identity_principal_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlRetrainingTriggers", name, None, opts)
        tags = azure_tags(plan.tags)
        self.topic = eventgrid.SystemTopic(
            f"{name}-topic",
            eventgrid.SystemTopicArgs(
                resource_group_name=resource_group_name, system_topic_name=f"{plan.prefix}-ml-events",
                location=plan.region, source=workspace_id, topic_type=TOPIC_TYPE, tags=tags),
            opts=child(self))
        runner = custom_role(f"{name}-runner-role", plan, role=RUNNER_ROLE, actions=RUNNER_ACTIONS, scope=role_scope,
                             description=f"{plan.prefix}: submits training pipeline jobs", opts=child(self))
        runner_grant = azure_native.authorization.RoleAssignment(
            f"{name}-runner",
            azure_native.authorization.RoleAssignmentArgs(
                role_assignment_name=role_assignment_name(plan, role_definition_guid(plan, RUNNER_ROLE),
                                                          "workspace/platform-identity"),
                principal_id=identity_principal_id,
                principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=runner.id,
                scope=workspace_id,
                description=f"{plan.prefix}: the platform identity starts retraining runs",
            ),
            opts=child(self))

        for model in plan.models:
            if model.name not in pipelines or not event_triggered(model):
                continue
            pipeline = pipelines[model.name]
            workflow_name = f"{plan.prefix}-{model.name}-retrain"
            definition = pulumi.Output.all(pulumi.Output.from_input(workspace_arm_id),
                                           pipeline.job_body("drift"),
                                           pulumi.Output.from_input(identity_id)).apply(
                lambda a, hours=model.retraining.min_interval_hours: workflow_definition(
                    workspace_id=a[0], job=dict(a[1]), identity_id=a[2], cooldown_hours=hours))
            workflow = logic.Workflow(
                f"{name}-{model.name}-workflow",
                logic.WorkflowArgs(
                    resource_group_name=resource_group_name, workflow_name=workflow_name, location=plan.region,
                    identity=logic.ManagedServiceIdentityArgs(
                        type=logic.ManagedServiceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity_id]),
                    state=logic.WorkflowState.ENABLED, definition=definition, tags=tags),
                opts=child(self, depends_on=[runner_grant]))
            callback = logic.list_workflow_trigger_callback_url_output(
                resource_group_name=resource_group_name, workflow_name=known_name(workflow, workflow_name),
                trigger_name=TRIGGER, opts=pulumi.InvokeOutputOptions(parent=self))
            eventgrid.SystemTopicEventSubscription(
                f"{name}-{model.name}-events",
                eventgrid.SystemTopicEventSubscriptionArgs(
                    resource_group_name=resource_group_name,
                    system_topic_name=known_name(self.topic, f"{plan.prefix}-ml-events"),
                    event_subscription_name=f"{model.name}-retraining",
                    event_delivery_schema=eventgrid.EventDeliverySchema.EVENT_GRID_SCHEMA,
                    destination=eventgrid.WebHookEventSubscriptionDestinationArgs(
                        # The callback URL carries the trigger's signature: a secret.
                        endpoint_type="WebHook", endpoint_url=pulumi.Output.secret(callback.value),
                        max_events_per_batch=1, minimum_tls_version_allowed=eventgrid.TlsVersion.TLS_VERSION_1_2),
                    filter=eventgrid.EventSubscriptionFilterArgs(
                        included_event_types=[RUN_STATUS_CHANGED],
                        advanced_filters=[
                            eventgrid.StringContainsAdvancedFilterArgs(
                                operator_type="StringContains", key=BREACH_TAG, values=[BREACH_TEXT]),
                            eventgrid.StringContainsAdvancedFilterArgs(
                                operator_type="StringContains", key="data.ExperimentName",
                                values=[schedule_name(plan, model.name, "monitor")]),
                        ]),
                    retry_policy=eventgrid.RetryPolicyArgs(max_delivery_attempts=1, event_time_to_live_in_minutes=60),
                ),
                opts=child(self))
        self.register_outputs({})
