"""A model's Vertex AI training pipeline: its compiled spec, stored where runs read it."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from . import pipeline_spec as spec_module
from .names import experiment_context, model_id

SPEC_CONTENT_TYPE = "application/json"


def spec_object_name(model: str) -> str:
    """Where a model's spec lives in the artifact bucket."""
    return f"pipelines/{model}/pipeline.json"


@builds(Capability.training_pipeline, Capability.hyperparameter_search, Capability.champion_challenger,
        Capability.model_cards)
class VertexTrainingPipeline(pulumi.ComponentResource):
    """The training pipeline of one model (see `pipeline_spec` for the DAG, parameters and code contract).

    pulumi_gcp has no Vertex pipeline resource: a pipeline on Vertex AI is a spec that each run carries.
    Creates: `-spec` (storage.BucketObject `pipelines/<model>/pipeline.json` in the artifact bucket,
    encrypted with the platform key: the KFP v2 PipelineSpec, checked against KFP's own type). The
    schedule (VertexRetrainingTriggers) embeds the same spec; the retraining workflow reads this object,
    and people start runs from it (`gcloud ai` / the Vertex SDK with `template_path=gs://…`). Runs execute
    as the pipelines service account, CMEK-encrypted, inside the platform network where the environment is
    isolated; with experiment tracking each run joins the model's Vertex AI experiment (backed by the
    platform TensorBoard) and its training job writes to it.

    The framework's prebuilt Vertex images (training and prediction, the same framework version) are
    pinned by digest, read from Artifact Registry at deploy time. A model without prebuilt images (lightgbm,
    custom) runs the team's `<container_registry>/<model>-training` and `-serving` images at `image_tag`
    (the stack setting `mlops:imageTags`, read once by the platform): in the preprocess and evaluate
    steps, the training or tuning job and the serving container the register step uploads the version with.

    Outputs: spec_uri, spec_object, model_id, pipeline_name.
    """

    spec: pulumi.Output[str]
    """The spec's JSON text."""
    object: gcp.storage.BucketObject
    spec_uri: pulumi.Output[str]

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, kms_key_id: pulumi.Input[str],
                 service_account: pulumi.Input[str], data_bucket: pulumi.Input[str],
                 artifact_bucket: pulumi.Input[str], network: pulumi.Input[str] | None,
                 project: pulumi.Input[str], container_registry: pulumi.Input[str],
                 image_tag: str | None = None, tensorboard: pulumi.Input[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`image_tag`: the tag of the team's own images, for a model in `pipeline_spec.own_image_models`
        (None otherwise). `tensorboard`: the platform TensorBoard (experiment tracking); runs then join the
        model's experiment."""
        super().__init__(f"{TYPE_PREFIX}VertexTrainingPipeline", name, None, opts)
        if model.training is None:
            raise ValueError(f"{model.name}: the plan builds no training pipeline for this model")
        if (image_tag is not None) != spec_module.brings_own_image(model.framework):
            raise ValueError(f"{model.name}: image_tag is required for, and only for, a model on the team's own "
                             "images (lightgbm, custom)")
        # Settings the spec cannot express fail here, before any resource is registered.
        spec_module.check(plan, model)
        labels = dict(plan.tags)
        self.model_id = model_id(plan, model.name)

        # Google's prebuilt images carry only the tag `latest`: each is pinned to the digest it names now, so
        # every run until the next `pulumi up` trains and serves with the same image.
        location = spec_module.prebuilt_location(plan.region)
        images = {image: gcp.artifactregistry.get_docker_image_output(
            location=location, project=spec_module.PREBUILT_PROJECT, repository_id=image.split("/", 1)[0],
            image_name=f"{image.split('/', 1)[1]}:latest", opts=pulumi.InvokeOutputOptions(parent=self)).self_link
            for image in spec_module.images_of(plan, model)}

        def render(values: list[Any]) -> str:
            project_id, key, account, data, artifacts, net, registry, board, pinned = values
            context = spec_module.SpecContext(
                project=project_id, kms_key=key, service_account=account, data_bucket=data,
                artifact_bucket=artifacts, model_id=self.model_id,
                own_images=registry, own_image_tag=image_tag,
                network=net or None, labels=gcp_labels(labels),
                experiment=experiment_context(project_id, plan, model.name) if board else None,
                tensorboard=board or None, images=dict(pinned))
            return spec_module.spec_json(plan, model, context)

        self.spec = pulumi.Output.all(project, kms_key_id, service_account, data_bucket, artifact_bucket,
                                      network or "", container_registry, tensorboard or "",
                                      pulumi.Output.all(**images)).apply(render)
        self.object = gcp.storage.BucketObject(
            f"{name}-spec",
            gcp.storage.BucketObjectArgs(
                bucket=artifact_bucket,
                name=spec_object_name(model.name),
                content=self.spec,
                content_type=SPEC_CONTENT_TYPE,
                kms_key_name=kms_key_id,
                metadata={"mlops-model": model.name, "mlops-environment": str(plan.environment)},
            ),
            opts=child(self))
        self.spec_uri = pulumi.Output.concat("gs://", artifact_bucket, "/", spec_object_name(model.name))
        self.register_outputs({"spec_uri": self.spec_uri, "spec_object": self.object.name,
                               "model_id": self.model_id,
                               "pipeline_name": f"{plan.prefix}-{model.name}-training"})
