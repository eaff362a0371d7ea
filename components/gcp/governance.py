"""Governance on GCP: persona IAM grants, data-access audit logs and their locked copy in the audit bucket."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, short_hash
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.compliance import Control

from .principals import PERSONAS, persona_members
from .project import project_id

AUDITED_SERVICES = ("aiplatform.googleapis.com", "storage.googleapis.com", "bigquery.googleapis.com")
"""Services whose Data Access audit logs (reads and writes of models, features and data) are turned on."""
AUDIT_LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")
# Every Cloud Audit Logs stream (admin activity, data access, system event, policy denied) of the project.
AUDIT_SINK_FILTER = 'logName:"cloudaudit.googleapis.com"'
SINK_WRITER_ROLE = "roles/storage.objectCreator"
MEMBER_SLUG_MAX = 40

Target = Literal["project", "data", "features", "containers", "pipelines_account"]


@dataclass(frozen=True)
class Grant:
    """A role a persona holds, on what, and in which environments."""

    persona: str
    role: str
    target: Target
    production: bool | None = None
    """True: locked environments only (production, and any environment whose approval is enforced); False:
    every other environment; None: every environment."""


# Predefined roles only, never owner/editor/viewer. Outside production data scientists and ML engineers
# build (run Vertex jobs and pipelines as the pipelines account, read data and features, push images);
# in production — and wherever an enforced approval gates promotion, since roles/aiplatform.user would let
# them move the `champion` alias themselves — they only look (Vertex viewer, logs and metrics). Approvers
# review models and evaluations; they promote through the pipelines area's promotion workflow, whose invoker
# role only they hold.
GRANTS: tuple[Grant, ...] = (
    Grant("data_scientist", "roles/aiplatform.user", "project", production=False),
    Grant("data_scientist", "roles/bigquery.jobUser", "project", production=False),
    Grant("data_scientist", "roles/storage.objectViewer", "data", production=False),
    Grant("data_scientist", "roles/bigquery.dataViewer", "features", production=False),
    Grant("data_scientist", "roles/iam.serviceAccountUser", "pipelines_account", production=False),
    Grant("data_scientist", "roles/aiplatform.viewer", "project", production=True),
    Grant("ml_engineer", "roles/aiplatform.user", "project", production=False),
    Grant("ml_engineer", "roles/bigquery.jobUser", "project", production=False),
    Grant("ml_engineer", "roles/storage.objectViewer", "data", production=False),
    Grant("ml_engineer", "roles/bigquery.dataEditor", "features", production=False),
    Grant("ml_engineer", "roles/artifactregistry.writer", "containers", production=False),
    Grant("ml_engineer", "roles/iam.serviceAccountUser", "pipelines_account", production=False),
    Grant("ml_engineer", "roles/aiplatform.viewer", "project", production=True),
    Grant("ml_engineer", "roles/logging.viewer", "project"),
    Grant("ml_engineer", "roles/monitoring.viewer", "project"),
    Grant("approver", "roles/aiplatform.viewer", "project"),
)


def grants_for(plan: Plan) -> list[Grant]:
    """The grants that apply to this environment."""
    return [g for g in GRANTS if g.production is None or g.production == plan.guarded]


def member_slug(member: str) -> str:
    """A stable resource-name part for an IAM member (long ones cut and suffixed by their hash)."""
    slug = re.sub(r"[^a-z0-9]+", "-", member.lower()).strip("-")
    return slug if len(slug) <= MEMBER_SLUG_MAX else f"{slug[:MEMBER_SLUG_MAX - 7].rstrip('-')}-{short_hash(member)}"


def role_slug(role: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", role.removeprefix("roles/").lower())


GCP_CONTROLS: dict[Control, str] = {
    Control.encryption_at_rest: "Cloud KMS customer-managed key (rotation) on Cloud Storage, BigQuery feature "
                                "tables, Artifact Registry, Vertex metadata store, TensorBoard, feature online "
                                "store and endpoints",
    Control.encryption_in_transit: "Google APIs accept TLS only; private.googleapis.com and Private Service "
                                   "Connect keep traffic on Google's network",
    Control.access_control: "a service account per workload (pipelines, endpoints, monitoring) with predefined "
                            "roles, resource-level where possible; persona grants for data scientists, ML "
                            "engineers and approvers; no owner/editor/viewer, no service account keys",
    Control.separation_of_duties: "only approvers may invoke the promotion workflow (IAM on the workflow); "
                                  "data scientists and ML engineers only view production",
    Control.approval_gate: "models register as challengers; the champion alias moves only through the "
                           "approvers' promotion workflow",
    Control.audit_logging: "Cloud Audit Logs: admin activity plus Data Access (ADMIN_READ, DATA_READ, DATA_WRITE) "
                           "for Vertex AI, Cloud Storage and BigQuery",
    Control.audit_retention: "log sink of every audit log to the audit bucket, whose retention policy is sized "
                             "from governance and locked in production",
    Control.model_documentation: "model card per model registered with the model version",
    Control.fairness_testing: "fairness metrics in the training pipeline's quality gate",
    Control.model_monitoring: "Vertex AI model monitoring and Cloud Monitoring alert policies",
    Control.network_isolation: "custom VPC without internet route, Private Google Access, deny-all firewall, "
                               "Private Service Connect for Vertex endpoints in production",
    Control.network_logging: "VPC flow logs on the platform subnet, firewall rule logging",
    Control.reproducibility: "Vertex AI Experiments (CMEK metadata store) and TensorBoard, versioned artifact "
                             "bucket, immutable container tags in production",
}
"""How the GCP back end implements each control of `mlops.plan.compliance`."""


@builds(Capability.rbac_roles, Capability.audit_trail, Capability.enforced_approval)
class GcpGovernance(pulumi.ComponentResource):
    """Who may do what on the platform, and the locked record of what they did.

    Creates, for each grant of GRANTS that applies to the environment and each member of its persona
    (`components.gcp.principals`: IAM members as given, plain names as groups of `group_domain`):
    `-<persona>-<member>-<role>` (project IAM member, or a grant on the data bucket, the feature dataset,
    the container repository or the pipelines service account). Per service in AUDITED_SERVICES:
    `-audit-<service>` (projects.IAMAuditConfig: ADMIN_READ, DATA_READ, DATA_WRITE). `-audit-sink`
    (logging.ProjectSink of every Cloud Audit Logs entry to the audit bucket, own writer identity) with
    `-audit-sink-writer` (that identity may create objects in the audit bucket, nothing else). The audit
    bucket (foundation) keeps objects for `audit_retention_days`, locked in production. The audit configs
    and the sink are protected and retained on delete in production, like the bucket they feed.

    Outputs: audit_sink_writer (the sink's writer identity).
    """

    def __init__(self, name: str, plan: Plan, *, audit_bucket: pulumi.Input[str], data_bucket: pulumi.Input[str],
                 feature_dataset: pulumi.Input[str] | None, container_repository: pulumi.Input[str],
                 pipelines_account: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        """`pipelines_account`: the pipelines service account's resource name (`projects/…/serviceAccounts/…`)."""
        super().__init__(f"{TYPE_PREFIX}GcpGovernance", name, None, opts)
        project = project_id(plan, self)
        members = {persona: persona_members(plan, persona) for persona in PERSONAS}
        for grant in grants_for(plan):
            for member in members[grant.persona]:
                self._grant(f"{name}-{grant.persona.replace('_', '-')}-{member_slug(member)}-{role_slug(grant.role)}",
                            plan, grant, member, project=project, data_bucket=data_bucket,
                            feature_dataset=feature_dataset, container_repository=container_repository,
                            pipelines_account=pipelines_account)
        for service in AUDITED_SERVICES:
            gcp.projects.IAMAuditConfig(
                f"{name}-audit-{service.split('.')[0]}",
                gcp.projects.IAMAuditConfigArgs(
                    project=project, service=service,
                    audit_log_configs=[gcp.projects.IAMAuditConfigAuditLogConfigArgs(log_type=t)
                                       for t in AUDIT_LOG_TYPES]),
                # Part of the audit record's pipeline: in production neither a stack edit nor a
                # destroy may switch audit logging off.
                opts=child(self, stateful=True, protect=plan.protect))
        sink = gcp.logging.ProjectSink(
            f"{name}-audit-sink",
            gcp.logging.ProjectSinkArgs(
                name=f"{plan.prefix}-audit", project=plan.account,
                destination=pulumi.Output.concat("storage.googleapis.com/", audit_bucket),
                filter=AUDIT_SINK_FILTER, unique_writer_identity=True,
                description=f"{plan.prefix}: every audit log entry, kept in the locked audit bucket"),
            opts=child(self, stateful=True, protect=plan.protect))
        gcp.storage.BucketIAMMember(
            f"{name}-audit-sink-writer",
            gcp.storage.BucketIAMMemberArgs(bucket=audit_bucket, role=SINK_WRITER_ROLE, member=sink.writer_identity),
            opts=child(self))
        self.audit_sink_writer = sink.writer_identity
        self.register_outputs({"audit_sink_writer": self.audit_sink_writer})

    def _grant(self, resource_name: str, plan: Plan, grant: Grant, member: str, *, project: pulumi.Input[str],
               data_bucket: pulumi.Input[str], feature_dataset: pulumi.Input[str] | None,
               container_repository: pulumi.Input[str], pipelines_account: pulumi.Input[str]) -> None:
        opts = child(self)
        if grant.target == "project":
            gcp.projects.IAMMember(resource_name, gcp.projects.IAMMemberArgs(
                project=project, role=grant.role, member=member), opts=opts)
        elif grant.target == "data":
            gcp.storage.BucketIAMMember(resource_name, gcp.storage.BucketIAMMemberArgs(
                bucket=data_bucket, role=grant.role, member=member), opts=opts)
        elif grant.target == "features":
            if feature_dataset is not None:
                gcp.bigquery.DatasetIamMember(resource_name, gcp.bigquery.DatasetIamMemberArgs(
                    dataset_id=feature_dataset, project=plan.account, role=grant.role, member=member), opts=opts)
        elif grant.target == "containers":
            gcp.artifactregistry.RepositoryIamMember(resource_name, gcp.artifactregistry.RepositoryIamMemberArgs(
                repository=container_repository, location=plan.region, project=plan.account, role=grant.role,
                member=member), opts=opts)
        else:
            gcp.serviceaccount.IAMMember(resource_name, gcp.serviceaccount.IAMMemberArgs(
                service_account_id=pipelines_account, role=grant.role, member=member), opts=opts)
