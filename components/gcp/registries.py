"""Artifact stores on GCP: Artifact Registry repositories for containers (Docker) and pipeline templates (KFP)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .foundation import KEY_USER_ROLE, fit_name
from .project import project_id

REPOSITORY_ID_MAX = 63
READER = "roles/artifactregistry.reader"
WRITER = "roles/artifactregistry.writer"
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Retention:
    """Cleanup of one environment's repositories: how many versions of a package to keep at least,
    and after how many days untagged versions (superseded pushes) are deleted."""

    keep_versions: int
    untagged_days: int


# Dev churns and is cheap to rebuild; production keeps enough history to roll back and to audit.
RETENTION = {"dev": Retention(10, 7), "staging": Retention(20, 30), "prod": Retention(50, 90)}


def cleanup_policies(environment: str) -> list[gcp.artifactregistry.RepositoryCleanupPolicyArgs]:
    """Delete untagged versions older than the environment's window; always keep the newest versions
    (Artifact Registry applies KEEP before DELETE, so a recent or tagged release is never removed)."""
    keep = RETENTION[environment]
    return [
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="keep-recent", action="KEEP",
            most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(
                keep_count=keep.keep_versions)),
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="delete-untagged", action="DELETE",
            condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(
                tag_state="UNTAGGED", older_than=f"{keep.untagged_days * SECONDS_PER_DAY}s")),
    ]


@builds(Capability.training_pipeline)
class GcpArtifactStorage(pulumi.ComponentResource):
    """Private, CMEK-encrypted Artifact Registry repositories for the platform's images and pipeline templates.

    Creates: `-agent` (projects.ServiceIdentity for Artifact Registry) with `-agent-key` (the agent may
    use the platform key: CMEK repositories need it first); `-containers` (DOCKER repository: training
    and serving images, tags immutable in every environment, as on ECR: the stack runs the tag
    `mlops:imageTags` names, so that tag must always name the same image) and
    `-pipelines` (KFP repository: compiled pipeline templates the schedules run), both CMEK with cleanup
    policies per environment (RETENTION), protected in production. Grants (repository level only):
    `-containers-pipelines` (reader: jobs pull their images), `-containers-endpoints` (reader: prediction
    containers), `-containers-vertex-agent` (reader: Vertex pulls serving images) and
    `-pipelines-pipelines` (writer: pipeline runs publish templates).

    Outputs: container_registry (Docker host/path prefix for images), pipeline_registry (KFP template URL).
    """

    containers: gcp.artifactregistry.Repository
    pipelines: gcp.artifactregistry.Repository
    container_registry: pulumi.Output[str]
    pipeline_registry: pulumi.Output[str]

    def __init__(self, name: str, plan: Plan, *, kms_key_id: pulumi.Input[str],
                 pipelines_member: pulumi.Input[str], endpoints_member: pulumi.Input[str],
                 vertex_agent_member: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}GcpArtifactStorage", name, None, opts)
        labels = gcp_labels(dict(plan.tags))
        agent = gcp.projects.ServiceIdentity(
            f"{name}-agent",
            gcp.projects.ServiceIdentityArgs(service="artifactregistry.googleapis.com", project=plan.account),
            opts=child(self))
        agent_key = gcp.kms.CryptoKeyIAMMember(
            f"{name}-agent-key",
            gcp.kms.CryptoKeyIAMMemberArgs(crypto_key_id=kms_key_id, role=KEY_USER_ROLE, member=agent.member),
            opts=child(self))

        def repository(suffix: str, fmt: str, description: str,
                       docker: gcp.artifactregistry.RepositoryDockerConfigArgs | None,
                       ) -> gcp.artifactregistry.Repository:
            return gcp.artifactregistry.Repository(
                f"{name}-{suffix}",
                gcp.artifactregistry.RepositoryArgs(
                    repository_id=fit_name(f"{plan.prefix}-{suffix}", REPOSITORY_ID_MAX), format=fmt,
                    location=plan.region, project=plan.account, description=f"{plan.prefix}: {description}",
                    kms_key_name=kms_key_id, labels=labels, docker_config=docker,
                    cleanup_policies=cleanup_policies(plan.environment), cleanup_policy_dry_run=False,
                ),
                opts=child(self, stateful=True, protect=plan.protect, depends_on=[agent_key]),
            )

        self.containers = repository(
            "containers", "DOCKER", "training and serving container images",
            # Immutable tags cannot be moved or deleted; new tags can still be pushed, and the cleanup policies
            # still delete untagged versions.
            gcp.artifactregistry.RepositoryDockerConfigArgs(immutable_tags=True))
        self.pipelines = repository("pipelines", "KFP", "compiled Vertex AI pipeline templates", None)
        for suffix, repo, role, member in (
            ("containers-pipelines", self.containers, READER, pipelines_member),
            ("containers-endpoints", self.containers, READER, endpoints_member),
            ("containers-vertex-agent", self.containers, READER, vertex_agent_member),
            ("pipelines-pipelines", self.pipelines, WRITER, pipelines_member),
        ):
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-{suffix}",
                gcp.artifactregistry.RepositoryIamMemberArgs(
                    repository=repo.repository_id, location=plan.region, project=plan.account, role=role,
                    member=member),
                opts=child(self))
        project = project_id(plan, self)
        self.container_registry = pulumi.Output.concat(
            f"{plan.region}-docker.pkg.dev/", project, "/", self.containers.repository_id)
        self.pipeline_registry = pulumi.Output.concat(
            f"https://{plan.region}-kfp.pkg.dev/", project, "/", self.pipelines.repository_id)
        self.register_outputs({"container_registry": self.container_registry,
                               "pipeline_registry": self.pipeline_registry})
