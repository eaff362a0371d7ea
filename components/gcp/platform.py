"""The GCP root component: one Vertex AI platform per environment."""

from __future__ import annotations

import pulumi

from components.base import TYPE_PREFIX, child
from mlops.plan import Plan

from .foundation import GcpFoundation


class VertexPlatform(pulumi.ComponentResource):
    """Everything one environment of a blueprint builds on GCP.

    Creates: `-foundation` (GcpFoundation). Later capabilities (tracking, registry, pipelines,
    serving, monitoring, governance) hang off the same root.

    Outputs: key_id (Cloud KMS crypto key id), data_bucket, artifact_bucket, audit_bucket (bucket
    names) and execution_identity (service account email). The bucket outputs share their names
    with AWS; the key and the identity are named for what GCP has (AWS exports key_arn and
    execution_role_arn).
    """

    outputs: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}VertexPlatform", name, None, opts)
        foundation = GcpFoundation(f"{name}-foundation", plan, opts=child(self))
        self.outputs = {
            "key_id": foundation.key.id,
            "data_bucket": foundation.data.bucket.name,
            "artifact_bucket": foundation.artifacts.bucket.name,
            "audit_bucket": foundation.audit.bucket.name,
            "execution_identity": foundation.execution_identity.email,
        }

        # --- platform area: network, experiment tracking, artifact registries, feature store.

        # --- pipelines area: model registry and approval, training pipelines, schedules.

        # --- serving area: endpoints, delivery, batch, monitoring, alerting.

        # --- pipelines area: retraining triggers.

        # --- platform area: governance (service accounts, IAM bindings, audit configs, log sink), cost.

        self.register_outputs(dict(self.outputs))
