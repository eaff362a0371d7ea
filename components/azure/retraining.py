"""Event-driven retraining on Azure: monitor threshold breaches and quality-bar misses (workspace events)
start the training pipeline.

Scheduled retraining is the pipeline's own `Schedule` (components.azure.pipeline).
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from .naming import known_name, role_assignment_name
from .pipeline import AzureMlTrainingPipeline
from .quality import experiment as quality_experiment
from .retraining_workflow import QUALITY_BREACH_TAG, TRIGGER, workflow_definition
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
EXPERIMENT_KEY = "data.ExperimentName"
STATUS_KEY = "data.RunStatus"
FAILED = "Failed"
"""RunStatus of a run that ended in failure (Azure ML run statuses: Completed, Failed, Canceled, ...)."""
QUALITY_BREACH_KEY = f"data.RunTags.{QUALITY_BREACH_TAG}"
"""The event field holding the quality job's breach tag (`true` only when the metric missed the bar)."""


def performance_triggered(model: ModelPlan) -> bool:
    """Performance retraining listens to the model's quality job (components.azure.quality), which the
    serving area builds for a served model with quality monitoring (the blueprint requires quality
    monitoring for `on_performance`)."""
    return model.retraining.on_performance and model.monitoring.quality is not None and model.serving is not None


def event_triggered(model: ModelPlan) -> bool:
    """Drift retraining starts on the model's monitor breaches, performance retraining on its quality job's."""
    return model.retraining.on_drift or performance_triggered(model)



@builds(Capability.drift_retraining, Capability.performance_retraining)
class AzureMlRetrainingTriggers(pulumi.ComponentResource):
    """Drift monitor breaches → the model's training pipeline, at most once per cool-down.

    Creates:

    - `-topic` (Event Grid system topic of the Azure ML workspace): the workspace's run events.
    - `-runner-role` (custom role `<prefix> pipeline runner`: submit jobs with registered components
      on the platform's clusters) and `-runner`: the platform identity holds it on the workspace.
    - per model that retrains on drift or performance: `-<model>-workflow` (Logic App, the platform
      identity, see `retraining_workflow`: answers Event Grid's validation, submits the pipeline job
      with input `trigger=drift` or `trigger=performance` as the event says, then waits
      `min_interval_hours`; one run at a time, one waiting: drift and performance share the cool-down).
    - on drift: `-<model>-events` (event subscription: RunStatusChanged of the model's monitor runs whose
      tags say a threshold was breached).
    - on performance: `-<model>-quality-events` (event subscription: RunStatusChanged of the model's
      quality job runs (experiment `<model>-quality`) that ended Failed *and* carry the tag
      `mlops_quality_breach=true`, which the job sets only when the metric missed the bar: a run that
      fails for another reason (no labelled predictions, an error) alerts but does not retrain).
    Both subscriptions: Event Grid schema, one delivery attempt, delivered to the workflow's trigger
    callback URL.

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
            # The submitted job's `trigger` input is set from the event by the workflow (drift | performance).
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
            # The callback URL carries the trigger's signature: a secret.
            endpoint = pulumi.Output.secret(callback.value)
            if model.retraining.on_drift:
                self._subscription(f"{name}-{model.name}-events", plan, resource_group_name, endpoint,
                                   subscription=f"{model.name}-retraining", filters=[
                    eventgrid.StringContainsAdvancedFilterArgs(
                        operator_type="StringContains", key=BREACH_TAG, values=[BREACH_TEXT]),
                    eventgrid.StringContainsAdvancedFilterArgs(
                        operator_type="StringContains", key=EXPERIMENT_KEY,
                        values=[schedule_name(plan, model.name, "monitor")]),
                ])
            if performance_triggered(model):
                self._subscription(f"{name}-{model.name}-quality-events", plan, resource_group_name, endpoint,
                                   subscription=f"{model.name}-performance", filters=[
                    # Exact matches: the quality job's experiment, a failed run, tagged as a missed bar.
                    eventgrid.StringInAdvancedFilterArgs(
                        operator_type="StringIn", key=EXPERIMENT_KEY, values=[quality_experiment(model.name)]),
                    eventgrid.StringInAdvancedFilterArgs(operator_type="StringIn", key=STATUS_KEY, values=[FAILED]),
                    eventgrid.StringInAdvancedFilterArgs(
                        operator_type="StringIn", key=QUALITY_BREACH_KEY, values=["true"]),
                ])
        self.register_outputs({})

    def _subscription(self, resource: str, plan: Plan, resource_group_name: pulumi.Input[str],
                      endpoint: pulumi.Output[str], *, subscription: str,
                      filters: list[eventgrid.StringContainsAdvancedFilterArgs]
                      | list[eventgrid.StringInAdvancedFilterArgs]) -> None:
        """One RunStatusChanged subscription on the workspace's topic, posting to a workflow's trigger."""
        eventgrid.SystemTopicEventSubscription(
            resource,
            eventgrid.SystemTopicEventSubscriptionArgs(
                resource_group_name=resource_group_name,
                system_topic_name=known_name(self.topic, f"{plan.prefix}-ml-events"),
                event_subscription_name=subscription,
                event_delivery_schema=eventgrid.EventDeliverySchema.EVENT_GRID_SCHEMA,
                destination=eventgrid.WebHookEventSubscriptionDestinationArgs(
                    endpoint_type="WebHook", endpoint_url=endpoint, max_events_per_batch=1,
                    minimum_tls_version_allowed=eventgrid.TlsVersion.TLS_VERSION_1_2),
                filter=eventgrid.EventSubscriptionFilterArgs(
                    included_event_types=[RUN_STATUS_CHANGED], advanced_filters=filters),
                # One attempt: a refused delivery (the workflow is cooling down) is not retried.
                retry_policy=eventgrid.RetryPolicyArgs(max_delivery_attempts=1, event_time_to_live_in_minutes=60),
            ),
            opts=child(self))
