"""The AWS root component: one SageMaker platform per environment."""

from __future__ import annotations

import pulumi

from components.base import TYPE_PREFIX, child
from mlops.plan import Plan

from .foundation import AwsFoundation
from .network import VpcConfig


class SageMakerPlatform(pulumi.ComponentResource):
    """Everything one environment of a blueprint builds on AWS.

    Creates: `-foundation` (AwsFoundation). Later capabilities (tracking, registry, pipelines,
    serving, monitoring, governance) hang off the same root.

    Outputs: the foundation's outputs (key_arn, data_bucket, artifact_bucket, audit_bucket,
    execution_role_arn).
    """

    outputs: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}SageMakerPlatform", name, None, opts)
        foundation = AwsFoundation(f"{name}-foundation", plan, opts=child(self))
        self.outputs = {
            "key_arn": foundation.key.arn,
            "data_bucket": foundation.data.bucket.bucket,
            "artifact_bucket": foundation.artifacts.bucket.bucket,
            "audit_bucket": foundation.audit.bucket.bucket,
            "execution_role_arn": foundation.execution_role.arn,
        }

        # --- network [platform helper]: AwsNetwork; sets `vpc` (None when the plan is not isolated).
        vpc: VpcConfig | None = None

        # --- alerting [serving helper]: AwsAlerting (SNS topic + routes); sets `alert_topic_arn`.
        alert_topic_arn: pulumi.Output[str] | None = None

        # --- experiment tracking, feature store [platform helper]

        # --- model registry, training pipelines [pipelines helper]

        # --- serving, deployment on approval, monitoring [serving helper]

        # --- retraining triggers [pipelines helper]

        # --- governance roles, audit trail, cost [platform helper]

        del vpc, alert_topic_arn  # consumed by the sections above as they are built
        self.register_outputs(dict(self.outputs))
