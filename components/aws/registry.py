"""AWS model registry: one SageMaker model package group per model."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .names import model_package_group_name

APPROVAL_TAG = "mlops-approval"
"""`manual` where registering needs an approver (models register PendingManualApproval), else `automatic`."""


def approval_mode(plan: Plan) -> str:
    return "manual" if plan.governance.approval is not None else "automatic"


@builds(Capability.model_registry)
class AwsModelRegistry(pulumi.ComponentResource):
    """Versioned model registry of an environment.

    Creates, per model: `-<model>-group` (sagemaker.ModelPackageGroup named
    `names.model_package_group_name`, tagged, protected and retained in production: it holds every
    registered version and its approval history). No resource policy: the group is used from this
    account only, and who may register or approve is decided by IAM (the pipeline role may only
    register, with the environment's approval status; the approver role alone may update it).

    Outputs: group_names, group_arns (by model).
    """

    groups: dict[str, aws.sagemaker.ModelPackageGroup]

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsModelRegistry", name, None, opts)
        tags = {**plan.tags, APPROVAL_TAG: approval_mode(plan)}
        approval = plan.governance.approval
        rule = (f"promotion needs {approval.approval.min_approvals} approval(s) from "
                f"{', '.join(approval.approval.approvers)}" if approval else "versions register as Approved")
        self.groups = {
            model.name: aws.sagemaker.ModelPackageGroup(
                f"{name}-{model.name}-group",
                aws.sagemaker.ModelPackageGroupArgs(
                    model_package_group_name=model_package_group_name(plan, model.name),
                    model_package_group_description=f"{model.name} in {plan.prefix}: {rule}"[:1024],
                    tags=tags,
                ),
                opts=child(self, stateful=True, protect=plan.protect),
            )
            for model in plan.models
        }
        self.register_outputs({
            "group_names": {m: g.model_package_group_name for m, g in self.groups.items()},
            "group_arns": {m: g.arn for m, g in self.groups.items()},
        })
