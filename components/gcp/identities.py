"""GCP workload identities: a service account per workload, and the Vertex AI service agent's use of the key."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .foundation import ACCOUNT_ID_MAX, KEY_USER_ROLE, fit_name
from .project import project_id

VERTEX_API = "aiplatform.googleapis.com"
OBJECT_ADMIN = "roles/storage.objectAdmin"
OBJECT_VIEWER = "roles/storage.objectViewer"


@dataclass(frozen=True)
class Workload:
    """One workload's identity: what it is for and the narrow project roles it cannot do without."""

    suffix: str
    description: str
    project_roles: tuple[str, ...]
    data: str | None
    """Role on the data bucket (None: no access)."""
    artifacts: str | None
    """Role on the artifact bucket (None: no access)."""


# Project roles are only those whose resources do not exist yet when the stack is built (jobs,
# pipeline runs, log entries, metrics); everything that exists gets a resource-level grant instead.
WORKLOADS: tuple[Workload, ...] = (
    Workload("pipelines", "Vertex AI pipeline runs, training and tuning jobs",
             # Pipeline runs create custom jobs, upload models and read features with BigQuery jobs.
             ("roles/aiplatform.user", "roles/bigquery.jobUser", "roles/logging.logWriter"),
             data=OBJECT_ADMIN, artifacts=OBJECT_ADMIN),
    Workload("endpoints", "Vertex AI prediction containers",
             # A serving container writes its logs and metrics; it reads the model it serves.
             ("roles/logging.logWriter", "roles/monitoring.metricWriter"),
             data=None, artifacts=OBJECT_VIEWER),
    Workload("monitoring", "Vertex AI model monitoring and batch evaluation",
             # Monitoring compares logged predictions (BigQuery) with the training baseline (data bucket).
             ("roles/bigquery.jobUser", "roles/logging.logWriter", "roles/monitoring.metricWriter"),
             data=OBJECT_VIEWER, artifacts=OBJECT_VIEWER),
)


def workload_account_id(prefix: str, workload: str) -> str:
    """A workload's service account id: 6-30 characters of [a-z0-9-]."""
    return fit_name(f"{prefix}-{workload}", ACCOUNT_ID_MAX)


@builds(Capability.foundation)
class GcpWorkloadIdentity(pulumi.ComponentResource):
    """The service accounts the platform's workloads run as, each with only what it needs.

    Creates: `-vertex-agent` (projects.ServiceIdentity: makes sure the Vertex AI service agent exists)
    and `-vertex-cmek` (the agent may encrypt and decrypt with the platform key: Vertex CMEK resources,
    i.e. metadata store, TensorBoard, endpoints, feature online store, pipeline runs, need it before
    they can be created). Per workload in WORKLOADS (`pipelines`, `endpoints`, `monitoring`):
    `-<workload>` (service account, never a key), `-<workload>-<role>` (project IAM members for the
    roles in WORKLOADS), `-<workload>-data` / `-<workload>-artifacts` (bucket-level grants) and
    `-<workload>-key` (use of the platform key). `-pipelines-act-as-endpoints` lets the pipelines
    account deploy models that run as the endpoints account (serviceAccountUser on that account only).

    Outputs: pipelines, endpoints, monitoring (service account emails).
    """

    pipelines: gcp.serviceaccount.Account
    endpoints: gcp.serviceaccount.Account
    monitoring: gcp.serviceaccount.Account
    vertex_cmek: gcp.kms.CryptoKeyIAMMember
    """The Vertex AI service agent's grant on the key: Vertex CMEK resources list it in depends_on."""
    vertex_agent: gcp.projects.ServiceIdentity

    def __init__(self, name: str, plan: Plan, *, kms_key_id: pulumi.Input[str], data_bucket: pulumi.Input[str],
                 artifact_bucket: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}GcpWorkloadIdentity", name, None, opts)
        project = project_id(plan, self)
        self.vertex_agent = gcp.projects.ServiceIdentity(
            f"{name}-vertex-agent", gcp.projects.ServiceIdentityArgs(service=VERTEX_API, project=plan.account),
            opts=child(self))
        self.vertex_cmek = gcp.kms.CryptoKeyIAMMember(
            f"{name}-vertex-cmek",
            gcp.kms.CryptoKeyIAMMemberArgs(crypto_key_id=kms_key_id, role=KEY_USER_ROLE,
                                           member=self.vertex_agent.member),
            opts=child(self),
        )
        accounts: dict[str, gcp.serviceaccount.Account] = {}
        for workload in WORKLOADS:
            account = gcp.serviceaccount.Account(
                f"{name}-{workload.suffix}",
                gcp.serviceaccount.AccountArgs(
                    account_id=workload_account_id(plan.prefix, workload.suffix),
                    display_name=f"{plan.prefix} {workload.suffix}",
                    description=f"{plan.prefix}: {workload.description}", project=plan.account),
                opts=child(self),
            )
            accounts[workload.suffix] = account
            for role in workload.project_roles:
                gcp.projects.IAMMember(
                    f"{name}-{workload.suffix}-{role.removeprefix('roles/').replace('.', '-').lower()}",
                    gcp.projects.IAMMemberArgs(project=project, role=role, member=account.member),
                    opts=child(self),
                )
            for purpose, bucket, role in (("data", data_bucket, workload.data),
                                          ("artifacts", artifact_bucket, workload.artifacts)):
                if role is not None:
                    gcp.storage.BucketIAMMember(
                        f"{name}-{workload.suffix}-{purpose}",
                        gcp.storage.BucketIAMMemberArgs(bucket=bucket, role=role, member=account.member),
                        opts=child(self),
                    )
            gcp.kms.CryptoKeyIAMMember(
                f"{name}-{workload.suffix}-key",
                gcp.kms.CryptoKeyIAMMemberArgs(crypto_key_id=kms_key_id, role=KEY_USER_ROLE, member=account.member),
                opts=child(self),
            )
        self.pipelines = accounts["pipelines"]
        self.endpoints = accounts["endpoints"]
        self.monitoring = accounts["monitoring"]
        gcp.serviceaccount.IAMMember(
            f"{name}-pipelines-act-as-endpoints",
            gcp.serviceaccount.IAMMemberArgs(service_account_id=self.endpoints.name,
                                             role="roles/iam.serviceAccountUser", member=self.pipelines.member),
            opts=child(self),
        )
        self.register_outputs({"pipelines": self.pipelines.email, "endpoints": self.endpoints.email,
                               "monitoring": self.monitoring.email})
