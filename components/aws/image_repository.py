"""The ECR repository of a model that brings its own image (LightGBM, custom), and the tag the stack runs.

SageMaker runs one image per such model: `train` in the training pipeline, `serve` behind the endpoint
or the batch transform. The team's CI pushes it to `<container_registry>/<model>:<tag>`
(`names.image_repository_name`); tags are immutable, so a tag names one image for good and a new image
is a new tag. Which tag the stack runs is the stack setting `mlops:imageTags` (components.image_tags,
the same on every cloud), read once by the platform; the pipeline, the endpoint's model and the batch
model switch to it together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from .account import account_id
from .iam import Statement
from .images import brings_own_image
from .names import image_repository_name

UNTAGGED_DAYS = {"dev": 7, "staging": 30, "prod": 90}
"""Untagged images (layers no tag points at any more) are expired after this many days. Tagged images are
never expired: models, endpoint configurations and registered packages refer to them by tag."""


def own_image_models(plan: Plan) -> list[ModelPlan]:
    """The models that run the team's own image (trained or served here)."""
    return [m for m in plan.models if brings_own_image(m.framework) and (m.training or m.serving)]


OWN_IMAGE_MODELS = "a model that brings its own image"
"""How an `mlops:imageTags` error names the models `own_image_models` returns."""


def registry_host(plan: Plan, account: pulumi.Input[str]) -> pulumi.Output[str]:
    """The account's private registry in the environment's region (what ECR's `repositoryUrl` starts with)."""
    suffix = ".amazonaws.com.cn" if plan.region.startswith("cn-") else ".amazonaws.com"
    return pulumi.Output.concat(account, ".dkr.ecr.", plan.region, suffix)


def container_registry(plan: Plan, account: pulumi.Input[str]) -> pulumi.Output[str]:
    """Stack output `container_registry`: the path the environment's model repositories share
    (`<registry>/<prefix>`; a model's images are `<container_registry>/<model>:<tag>`)."""
    return pulumi.Output.concat(registry_host(plan, account), "/", plan.prefix)


def lifecycle_policy(environment: str) -> str:
    return json.dumps({"rules": [{
        "rulePriority": 1,
        "description": f"expire untagged images after {UNTAGGED_DAYS[environment]} days",
        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                      "countNumber": UNTAGGED_DAYS[environment]},
        "action": {"type": "expire"},
    }]}, sort_keys=True)


@dataclass(frozen=True)
class OwnImage:
    """What the components that run a model's own image need: its URI at the stack's tag, and who may pull."""

    uri: pulumi.Output[str]
    repository_arn: pulumi.Output[str]

    def pull_statements(self) -> list[Statement]:
        """Pull this image (AWS's pull-only actions): the roles that run it carry these, and no other role."""
        return [
            Statement(Sid="PullOwnImage", Effect="Allow", Action=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                      Resource=self.repository_arn),
            # ecr:GetAuthorizationToken has no resource-level permission (it returns a registry login).
            Statement(Sid="LogInToRegistry", Effect="Allow", Action="ecr:GetAuthorizationToken", Resource="*"),
        ]


@builds(Capability.training_pipeline, Capability.serving)
class AwsImageRepository(pulumi.ComponentResource):
    """The private ECR repository of one model's own image.

    Creates: `-repository` (ecr.Repository `names.image_repository_name`: IMMUTABLE tags, scan on push,
    KMS encryption with the platform key, protected and retained in production: the images models and
    registered packages refer to) and `-lifecycle` (expire untagged images after UNTAGGED_DAYS of the
    environment; tagged images are kept). No repository policy: pulls are granted in the identity
    policies of exactly the roles that run the image (the training pipeline's, the endpoint's or batch
    model's), with `OwnImage.pull_statements`.

    Outputs: repository_url, repository_arn, image (the URI at the stack's tag, `components.image_tags`).
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, tag: str, kms_key_arn: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsImageRepository", name, None, opts)
        self.repository = aws.ecr.Repository(
            f"{name}-repository",
            aws.ecr.RepositoryArgs(
                name=image_repository_name(plan, model.name),
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                    encryption_type="KMS", kms_key=kms_key_arn)],
                # Deleting the stack must not delete images that registered packages still refer to.
                force_delete=False,
                tags=dict(plan.tags),
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            aws.ecr.LifecyclePolicyArgs(repository=self.repository.name, policy=lifecycle_policy(plan.environment)),
            opts=child(self),
        )
        # The URL ECR gives the repository (`repositoryUrl`), from its name: known in a preview too.
        self.repository_url = pulumi.Output.concat(registry_host(plan, account_id(plan, self)), "/",
                                                   self.repository.name)
        self.image = OwnImage(uri=pulumi.Output.concat(self.repository_url, ":", tag),
                              repository_arn=self.repository.arn)
        self.register_outputs({"repository_url": self.repository_url,
                               "repository_arn": self.repository.arn, "image": self.image.uri})
