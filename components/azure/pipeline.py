"""A model's Azure ML training pipeline: its components, training cluster and retraining schedule."""

from __future__ import annotations

from typing import cast

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child, short_hash
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from . import pipeline_job as job
from .compute import AzureMlCompute
from .workspace import AzureMlWorkspace

ml = azure_native.machinelearningservices

# Where the team's code and image live (the contract in pipeline_job's docstring and the README).
CODE_CONTAINER = "artifacts"


def code_uri(account_name: str, model: str) -> str:
    """`https://<account>.blob.core.windows.net/artifacts/<model>/code`: the team uploads its scripts here."""
    return f"https://{account_name}.blob.core.windows.net/{CODE_CONTAINER}/{model}/code"


def training_image(registry_name: str, model: str, tag: str) -> str:
    """`<registry>.azurecr.io/<model>/training:<tag>`: the team's CI pushes the training image here
    (`tag` from the stack setting `mlops:imageTags`, components.image_tags: never `latest`)."""
    return f"{registry_name}.azurecr.io/{model}/training:{tag}"


def workspace_arm_id(subscription_id: str, resource_group: str, workspace: str) -> str:
    return (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace}")


def job_definition(body: job.PipelineJobBody) -> ml.PipelineJobArgs:
    """The typed CreateJob definition of a pipeline job body (nodes and settings stay Azure ML's own format)."""
    inputs: dict[str, ml.LiteralJobInputArgs | ml.UriFolderJobInputArgs] = {}
    for key, value in body["inputs"].items():
        if value["jobInputType"] == "uri_folder":
            folder = cast(job.UriFolderInput, value)
            inputs[key] = ml.UriFolderJobInputArgs(job_input_type="uri_folder", uri=folder["uri"], mode=folder["mode"])
        else:
            literal = cast(job.LiteralInput, value)
            inputs[key] = ml.LiteralJobInputArgs(job_input_type="literal", value=literal["value"])
    return ml.PipelineJobArgs(
        job_type="Pipeline",
        display_name=body["displayName"],
        description=body["description"],
        experiment_name=body["experimentName"],
        compute_id=body["computeId"],
        identity=ml.ManagedIdentityArgs(identity_type="Managed", resource_id=body["identity"]["resourceId"]),
        inputs=inputs,
        jobs=dict(body["jobs"]),
        settings=dict(body["settings"]),
        tags=azure_tags(body["tags"]),
    )


MANUAL_CRON = "0 0 1 1 *"
"""The trigger of a disabled schedule that only keeps a pipeline job for manual runs (it never fires)."""

@builds(Capability.training_pipeline, Capability.hyperparameter_search, Capability.champion_challenger,
        Capability.scheduled_retraining, Capability.model_cards)
class AzureMlTrainingPipeline(pulumi.ComponentResource):
    """The training pipeline of one model (see `pipeline_job` for the DAG and the team's code contract).

    Creates, in the workspace:

    - `-compute` (AzureMlCompute): the model's training cluster (scales to zero).
    - `-code` (code version `<model>-code`): the team's scripts in the artifacts container under
      `<model>/code` (uploaded by the team's CI; the version is named after the location).
    - `-environment` (environment version `<model>-training`): the team's training image in the
      platform's container registry, at `image_tag` (the stack setting `mlops:imageTags`, read once by
      the platform: components.image_tags).
    - `-validate`, `-train`, `-evaluate`, `-quality-gates`, `-register` (component versions, versioned
      by content): the steps of the DAG; the gate and register steps carry the platform's own scripts.
    - `-retraining` (Schedule with a CreateJob action, cron in UTC) when the blueprint retrains on a
      schedule: it submits the pipeline job with input `trigger=schedule`; without a schedule or event
      triggers, the same schedule disabled (never fires) keeps the job with `trigger=manual` for runs by hand.

    Outputs: `compute_name`, `job` (the pipeline job body as an Output, for event-driven triggers:
    `job_body(triggered_by)`), `schedule_name`.
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, workspace: AzureMlWorkspace,
                 resource_group_name: pulumi.Input[str], subscription_id: pulumi.Input[str],
                 storage_account_name: pulumi.Input[str], registry_name: str | None, image_tag: str,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`image_tag`: the tag of the model's training image the stack runs (`mlops:imageTags`)."""
        super().__init__(f"{TYPE_PREFIX}AzureMlTrainingPipeline", name, None, opts)
        if model.training is None:
            raise ValueError(f"{model.name}: the plan builds no training pipeline for this model")
        # Settings the job cannot express fail here, before any resource is registered.
        job.check(plan, model)
        self.plan, self.model = plan, model
        tags = azure_tags({**plan.tags, "model": model.name})

        self.compute = AzureMlCompute(f"{name}-compute", plan, model, resource_group_name=resource_group_name,
                                      workspace_name=workspace.name, identity_id=workspace.identity.id,
                                      opts=child(self))

        uri = pulumi.Output.from_input(storage_account_name).apply(lambda account: code_uri(account, model.name))
        code_version = uri.apply(lambda u: short_hash(u, length=10))
        self.code = ml.CodeVersion(
            f"{name}-code",
            ml.CodeVersionArgs(
                resource_group_name=resource_group_name, workspace_name=workspace.name,
                name=f"{model.name}-code", version=code_version,
                properties=ml.CodeVersionPropertiesArgs(
                    code_uri=uri, description=f"{model.name}: the team's validate, train and evaluate scripts",
                    tags=tags),
            ),
            opts=child(self),
        )
        image = workspace.registry_name.apply(lambda registry: training_image(registry, model.name, image_tag))
        environment_version = image.apply(lambda i: short_hash(i, length=10))
        self.environment = ml.EnvironmentVersion(
            f"{name}-environment",
            ml.EnvironmentVersionArgs(
                resource_group_name=resource_group_name, workspace_name=workspace.name,
                name=f"{model.name}-training", version=environment_version,
                properties=ml.EnvironmentVersionPropertiesArgs(
                    image=image, os_type=ml.OperatingSystemType.LINUX,
                    description=f"{model.name}: the training image (with mlflow and azureml-mlflow)", tags=tags),
            ),
            opts=child(self),
        )

        workspace_id = pulumi.Output.all(pulumi.Output.from_input(subscription_id),
                                         pulumi.Output.from_input(resource_group_name), workspace.name) \
            .apply(lambda a: workspace_arm_id(a[0], a[1], a[2]))
        self.context: pulumi.Output[job.JobContext] = pulumi.Output.all(
            workspace_id, workspace.identity.id, self.code.id, self.environment.id,
            code_version, environment_version,
        ).apply(lambda a: job.JobContext(
            workspace_id=a[0], compute=self.compute.name, identity_id=a[1],
            code_id=f"{a[0]}/codes/{model.name}-code/versions/{a[4]}",
            environment_id=f"{a[0]}/environments/{model.name}-training/versions/{a[5]}",
            data_datastore=workspace.data_datastore, artifacts_datastore=workspace.artifacts_datastore,
            registry=registry_name))
        specs = self.context.apply(lambda ctx: job.components(plan, model, ctx))

        self.components: list[ml.ComponentVersion] = []
        for step in job.STEPS:
            spec = specs.apply(lambda s, step=step: s[step])
            self.components.append(ml.ComponentVersion(
                f"{name}-{step.replace('_', '-')}",
                ml.ComponentVersionArgs(
                    resource_group_name=resource_group_name, workspace_name=workspace.name,
                    name=job.component_name(model.name, step), version=spec.apply(lambda s: s["version"]),
                    properties=ml.ComponentVersionPropertiesArgs(
                        component_spec=spec, description=spec.apply(lambda s: s["description"]), tags=tags),
                ),
                opts=child(self),
            ))

        self.schedule: ml.Schedule | None = None
        r = model.retraining
        schedule = r.schedule
        # Azure ML has no pipeline-definition resource: a schedule keeps the job. Without a retraining schedule
        # or event triggers it is kept disabled, so the team runs the pipeline by hand (`az ml schedule enable`,
        # or `az ml job create` from the schedule's job definition) with the very gates the blueprint set.
        manual = schedule is None and not (r.on_drift or r.on_performance)
        if schedule is not None or manual:
            self.schedule = ml.Schedule(
                f"{name}-retraining",
                ml.ScheduleArgs(
                    resource_group_name=resource_group_name, workspace_name=workspace.name,
                    name=f"{model.name}-retraining",
                    properties=ml.SchedulePropertiesArgs(
                        display_name=f"{model.name}: " + ("manual training" if manual else "scheduled retraining"),
                        description=(f"Holds the {model.name} pipeline job for manual runs (the blueprint sets no "
                                     "retraining schedule); enable it or submit its job definition" if manual else
                                     f"Retrains {model.name} on the blueprint's schedule "
                                     f"({schedule.text if schedule else ''}, UTC)"),
                        is_enabled=not manual,
                        trigger=ml.CronTriggerArgs(trigger_type="Cron",
                                                   expression=schedule.cron if schedule else MANUAL_CRON,
                                                   time_zone="UTC"),
                        action=ml.JobScheduleActionArgs(
                            action_type="CreateJob",
                            job_definition=self.job_body("manual" if manual else "schedule").apply(job_definition)),
                        tags=tags,
                    ),
                ),
                # The job refers to the cluster and the component versions by id.
                opts=child(self, depends_on=[self.compute.compute, *self.components]),
            )
        self.register_outputs({"compute_name": self.compute.name})

    def job_body(self, triggered_by: str) -> pulumi.Output[job.PipelineJobBody]:
        """The pipeline job body a trigger submits (`triggered_by`: schedule, drift or performance)."""
        return self.context.apply(lambda ctx: job.pipeline_job(self.plan, self.model, ctx, triggered_by=triggered_by))
