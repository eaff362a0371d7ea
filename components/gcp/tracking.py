"""Experiment tracking on GCP: Vertex AI Experiments (metadata store) with a CMEK TensorBoard."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .names import METADATA_STORE

# Vertex AI Experiments records runs in the location's metadata store named `default`; created here first,
# it is encrypted with the platform key (Vertex would otherwise create it on first use, Google-encrypted).
DEFAULT_METADATA_STORE = METADATA_STORE


@builds(Capability.experiment_tracking)
class VertexExperimentTracking(pulumi.ComponentResource):
    """Vertex AI Experiments and TensorBoard, encrypted with the platform key.

    Creates: `-metadata` (vertex.AiMetadataStore `default` in the plan's region, CMEK: the store Vertex
    AI Experiments and pipeline lineage write to) and `-tensorboard` (vertex.AiTensorboard, CMEK, the
    experiments' backing TensorBoard for time-series metrics). Both hold run history, so they are
    protected and retained in production; both wait for the Vertex AI service agent's grant on the key.

    Access is IAM: data scientists and ML engineers reach them through roles/aiplatform.user (governance).
    Training pipeline runs attach to them (components/gcp/pipeline_spec.py): each run joins its model's
    experiment (`names.experiment_id`, backed by this TensorBoard) and its training job names that
    experiment, tuning trials this TensorBoard; the pipelines account writes with roles/aiplatform.user.

    Outputs: tracking_uri (the metadata store's resource name: what `aiplatform.init(experiment=...)`
    writes to in this project and region), tensorboard (the TensorBoard's resource name, passed as
    `experiment_tensorboard`).
    """

    tracking_uri: pulumi.Output[str]
    tensorboard: pulumi.Output[str]

    def __init__(self, name: str, plan: Plan, *, kms_key_id: pulumi.Input[str], vertex_cmek: pulumi.Resource,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}VertexExperimentTracking", name, None, opts)
        store = gcp.vertex.AiMetadataStore(
            f"{name}-metadata",
            gcp.vertex.AiMetadataStoreArgs(
                name=DEFAULT_METADATA_STORE, project=plan.account, region=plan.region,
                description=f"{plan.prefix}: Vertex AI Experiments and pipeline lineage",
                encryption_spec=gcp.vertex.AiMetadataStoreEncryptionSpecArgs(kms_key_name=kms_key_id),
            ),
            opts=child(self, stateful=True, protect=plan.protect, depends_on=[vertex_cmek]),
        )
        board = gcp.vertex.AiTensorboard(
            f"{name}-tensorboard",
            gcp.vertex.AiTensorboardArgs(
                display_name=f"{plan.prefix}-experiments", project=plan.account, region=plan.region,
                description=f"{plan.prefix}: training metrics of every experiment run",
                encryption_spec=gcp.vertex.AiTensorboardEncryptionSpecArgs(kms_key_name=kms_key_id),
                labels=gcp_labels(dict(plan.tags)),
            ),
            opts=child(self, stateful=True, protect=plan.protect, depends_on=[vertex_cmek]),
        )
        self.tracking_uri = store.id
        self.tensorboard = board.id
        self.register_outputs({"tracking_uri": self.tracking_uri, "tensorboard": self.tensorboard})
