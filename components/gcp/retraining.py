"""What starts a model's Vertex training pipeline besides people: a schedule, drift and performance."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.schedule import Schedule

from .foundation import ACCOUNT_ID_MAX, fit_name
from .names import endpoint_id, retraining_workflow_name
from .pipeline import VertexTrainingPipeline, spec_object_name
from .workflow_sources import RetrainingTarget, retraining_source

PUBLISHER_ROLE = "roles/pubsub.publisher"
INVOKER_ROLE = "roles/workflows.invoker"
RECEIVER_ROLE = "roles/eventarc.eventReceiver"
VERTEX_USER_ROLE = "roles/aiplatform.user"
ACT_AS_ROLE = "roles/iam.serviceAccountUser"
OBJECT_VIEWER_ROLE = "roles/storage.objectViewer"
LOG_WRITER_ROLE = "roles/logging.logWriter"
MESSAGE_RETENTION = "604800s"
"""Undelivered trigger messages are kept a week (Pub/Sub's default), then dropped."""
ANOMALY_LOG = "aiplatform.googleapis.com%2Fmodel_monitoring_anomaly"


def schedule_cron(schedule: Schedule) -> str:
    """A plan schedule as a colab.Schedule cron: its five fields, always in UTC."""
    return f"TZ=UTC {schedule.cron}"


def drift_filter(project: str, plan: Plan, model: str) -> str:
    """Vertex model-monitoring anomaly log entries that name this model's endpoint."""
    return (f'logName="projects/{project}/logs/{ANOMALY_LOG}" AND '
            f'"endpoints/{endpoint_id(plan, model)}"')


@builds(Capability.scheduled_retraining, Capability.drift_retraining, Capability.performance_retraining)
class VertexRetrainingTriggers(pulumi.ComponentResource):
    """What starts a model's training pipeline: a schedule, and drift / performance signals.

    Creates, when `retraining.schedule` is set: `-schedule` (colab.Schedule: the blueprint's cron in UTC,
    one run at a time, a CreatePipelineJobRequest carrying the spec, run as the pipelines service account,
    CMEK, in the platform network where isolated, triggered_by=schedule).

    When `on_drift` or `on_performance` is set: `-topic` (Pub/Sub topic, CMEK) that signals land on;
    `-runner` (service account of the workflow: aiplatform.user `-runner-vertex`, act as the pipelines
    account only `-runner-act-as`, read the artifact bucket `-runner-spec`, `-runner-logs`); `-workflow`
    (workflows.Workflow `names.retraining_workflow_name`, CMEK: skips when a run of this pipeline started
    less than `min_interval_hours` ago, else starts one from the stored spec); `-eventarc` (service
    account of the trigger: `-eventarc-invoker`, `-eventarc-receiver`) and `-trigger` (eventarc.Trigger:
    messages on the topic run the workflow). On drift: `-drift-sink` (logging.ProjectSink: the Vertex
    model-monitoring anomaly entries naming the model's endpoint, `names.endpoint_id`) with
    `-drift-sink-publisher`. And `-channel` (monitoring.NotificationChannel of type pubsub to the topic:
    the serving area's drift and quality alert policies notify it when they retrain) with
    `-channel-publisher` (the Cloud Monitoring notification agent may publish to this topic only). A drift
    anomaly can arrive twice (log sink and drift alert): the cool-down starts one run.

    Outputs: schedule (name or None), topic, workflow, channel_id (or None).
    """

    topic: gcp.pubsub.Topic | None
    channel_id: pulumi.Output[str] | None
    """Notification channel for the serving area's performance (quality) alert policy."""

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, pipeline: VertexTrainingPipeline,
                 project: pulumi.Input[str], kms_key_id: pulumi.Input[str], service_account: pulumi.Input[str],
                 service_account_name: pulumi.Input[str], artifact_bucket: pulumi.Input[str],
                 network: pulumi.Input[str] | None, agent_grants: list[pulumi.Resource],
                 monitoring_agent: pulumi.Input[str] | None, opts: pulumi.ResourceOptions | None = None) -> None:
        """`service_account` / `service_account_name`: email and resource name of the pipelines account;
        `agent_grants`: the Workflows and Pub/Sub service agents' key grants; `monitoring_agent`: the Cloud
        Monitoring notification agent's IAM member (publishes alert notifications to the topic)."""
        super().__init__(f"{TYPE_PREFIX}VertexRetrainingTriggers", name, None, opts)
        r = model.retraining
        labels = gcp_labels(plan.tags)
        display = f"{plan.prefix}-{model.name}-training"
        runs = pulumi.Output.concat("gs://", artifact_bucket, "/", model.name, "/runs")
        self.schedule: gcp.colab.Schedule | None = None
        if r.schedule is not None:
            job = gcp.colab.ScheduleCreatePipelineJobRequestPipelineJobArgs(
                display_name=display,
                pipeline_spec=pipeline.spec,
                runtime_config=gcp.colab.ScheduleCreatePipelineJobRequestPipelineJobRuntimeConfigArgs(
                    gcs_output_directory=runs, parameter_values={"triggered_by": "schedule"},
                    failure_policy="PIPELINE_FAILURE_POLICY_FAIL_FAST"),
                service_account=service_account,
                encryption_spec=gcp.colab.ScheduleCreatePipelineJobRequestPipelineJobEncryptionSpecArgs(
                    kms_key_name=kms_key_id),
                network=network,
                labels={**labels, "triggered-by": "schedule"},
            )
            self.schedule = gcp.colab.Schedule(
                f"{name}-schedule",
                gcp.colab.ScheduleArgs(
                    display_name=f"{plan.prefix}-{model.name}-retraining",
                    location=plan.region,
                    project=plan.account,
                    cron=schedule_cron(r.schedule),
                    # One run at a time: a slow run delays the next instead of racing it.
                    max_concurrent_run_count="1",
                    allow_queueing=True,
                    create_pipeline_job_request=gcp.colab.ScheduleCreatePipelineJobRequestArgs(
                        parent=pulumi.Output.concat("projects/", project, "/locations/", plan.region),
                        pipeline_job=job),
                ),
                opts=child(self))

        self.topic = None
        self.channel_id = None
        self.workflow: gcp.workflows.Workflow | None = None
        if not (r.on_drift or r.on_performance):
            self.register_outputs({"schedule": self.schedule.name if self.schedule else None})
            return
        if monitoring_agent is None:
            raise ValueError(f"{model.name}: drift and performance triggers need the Cloud Monitoring agent's member")

        self.topic = gcp.pubsub.Topic(
            f"{name}-topic",
            gcp.pubsub.TopicArgs(name=fit_name(f"{plan.prefix}-{model.name}-retraining", 255),
                                 project=plan.account, kms_key_name=kms_key_id,
                                 message_retention_duration=MESSAGE_RETENTION, labels=labels),
            opts=child(self, depends_on=list(agent_grants)))

        def account(suffix: str, description: str) -> gcp.serviceaccount.Account:
            return gcp.serviceaccount.Account(
                f"{name}-{suffix}",
                gcp.serviceaccount.AccountArgs(
                    account_id=fit_name(f"{plan.prefix}-{model.name}-{suffix}", ACCOUNT_ID_MAX),
                    display_name=f"{plan.prefix} {model.name} {suffix}",
                    description=f"{plan.prefix}: {description}", project=plan.account),
                opts=child(self))

        def project_role(suffix: str, role: str, member: pulumi.Input[str]) -> None:
            gcp.projects.IAMMember(f"{name}-{suffix}",
                                   gcp.projects.IAMMemberArgs(project=project, role=role, member=member),
                                   opts=child(self))

        runner = account("runner", f"starts {model.name} retraining runs (workflow)")
        project_role("runner-vertex", VERTEX_USER_ROLE, runner.member)
        project_role("runner-logs", LOG_WRITER_ROLE, runner.member)
        gcp.serviceaccount.IAMMember(
            f"{name}-runner-act-as",
            gcp.serviceaccount.IAMMemberArgs(service_account_id=service_account_name, role=ACT_AS_ROLE,
                                             member=runner.member),
            opts=child(self))
        gcp.storage.BucketIAMMember(
            f"{name}-runner-spec",
            gcp.storage.BucketIAMMemberArgs(bucket=artifact_bucket, role=OBJECT_VIEWER_ROLE, member=runner.member),
            opts=child(self))

        def source(values: list[Any]) -> str:
            project_id, bucket, key, account_email, net = values
            return retraining_source(RetrainingTarget(
                project=project_id, region=plan.region, display_name=display, spec_bucket=bucket,
                spec_object=spec_object_name(model.name), output_directory=f"gs://{bucket}/{model.name}/runs",
                service_account=account_email, kms_key=key, min_interval_hours=r.min_interval_hours,
                network=net or None))

        self.workflow = gcp.workflows.Workflow(
            f"{name}-workflow",
            gcp.workflows.WorkflowArgs(
                name=retraining_workflow_name(plan, model.name),
                region=plan.region,
                project=plan.account,
                description=f"Starts a {model.name} training run on drift or performance signals "
                            f"(at most one per {r.min_interval_hours} h)",
                source_contents=pulumi.Output.all(project, artifact_bucket, kms_key_id, service_account,
                                                  network or "").apply(source),
                service_account=runner.email,
                crypto_key_name=kms_key_id,
                call_log_level="LOG_ERRORS_ONLY",
                deletion_protection=plan.protect,
                labels=labels,
            ),
            opts=child(self, depends_on=list(agent_grants)))

        trigger_account = account("eventarc", f"delivers {model.name} retraining signals to the workflow")
        project_role("eventarc-invoker", INVOKER_ROLE, trigger_account.member)
        project_role("eventarc-receiver", RECEIVER_ROLE, trigger_account.member)
        gcp.eventarc.Trigger(
            f"{name}-trigger",
            gcp.eventarc.TriggerArgs(
                name=fit_name(f"{plan.prefix}-{model.name}-retraining", 63),
                location=plan.region,
                project=plan.account,
                matching_criterias=[gcp.eventarc.TriggerMatchingCriteriaArgs(
                    attribute="type", value="google.cloud.pubsub.topic.v1.messagePublished")],
                transport=gcp.eventarc.TriggerTransportArgs(
                    pubsub=gcp.eventarc.TriggerTransportPubsubArgs(topic=self.topic.id)),
                destination=gcp.eventarc.TriggerDestinationArgs(workflow=self.workflow.id),
                service_account=trigger_account.email,
                labels=labels,
            ),
            opts=child(self))

        if r.on_drift:
            sink = gcp.logging.ProjectSink(
                f"{name}-drift-sink",
                gcp.logging.ProjectSinkArgs(
                    name=fit_name(f"{plan.prefix}-{model.name}-drift", 100),
                    project=plan.account,
                    description=f"Vertex model-monitoring anomalies of {model.name}'s endpoint start retraining",
                    destination=pulumi.Output.concat("pubsub.googleapis.com/", self.topic.id),
                    filter=pulumi.Output.from_input(project).apply(lambda p: drift_filter(p, plan, model.name)),
                    unique_writer_identity=True,
                ),
                opts=child(self))
            gcp.pubsub.TopicIAMMember(
                f"{name}-drift-sink-publisher",
                gcp.pubsub.TopicIAMMemberArgs(topic=self.topic.name, role=PUBLISHER_ROLE,
                                              member=sink.writer_identity, project=plan.account),
                opts=child(self))
        # The serving area's drift and quality alert policies notify this channel when they retrain.
        channel = gcp.monitoring.NotificationChannel(
            f"{name}-channel",
            gcp.monitoring.NotificationChannelArgs(
                type="pubsub",
                display_name=f"{plan.prefix} {model.name} retraining",
                description=f"Drift and performance alerts of {model.name} start retraining",
                labels={"topic": self.topic.id},
                user_labels=labels,
                project=plan.account,
            ),
            opts=child(self))
        self.channel_id = channel.id
        gcp.pubsub.TopicIAMMember(
            f"{name}-channel-publisher",
            gcp.pubsub.TopicIAMMemberArgs(topic=self.topic.name, role=PUBLISHER_ROLE, member=monitoring_agent,
                                          project=plan.account),
            opts=child(self))
        self.register_outputs({
            "schedule": self.schedule.name if self.schedule else None,
            "topic": self.topic.id,
            "workflow": self.workflow.name,
            "channel_id": self.channel_id,
        })
