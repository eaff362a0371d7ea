"""Policies for GCP network, tracking, feature store, governance and cost.

IAM rules read every IAM member / binding / policy resource of pulumi_gcp (classes `<X>IamMember`,
`<X>IAMMember`, `<X>IamBinding`, `<X>IAMBinding`, `<X>IamPolicy`, `<X>IAMPolicy`: the provider spells them
both ways): `member`, the `members` list, and the bindings of a policy's `policyData` document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .support import (
    Unknowns,
    as_list,
    document,
    in_production,
    is_set,
    known,
    known_items,
    mapping_at,
    mappings,
    of_type,
    set_at,
)

MANDATORY = EnforcementLevel.MANDATORY
_IAM_GRANT = re.compile(r"^gcp:[a-zA-Z]+/[a-zA-Z]+:[a-zA-Z]*(IAM|Iam)(Member|Binding|Policy)$")
PRIMITIVE_ROLES = ("roles/owner", "roles/editor", "roles/viewer")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
SERVICE_ACCOUNT_KEY = "gcp:serviceaccount/key:Key"
BQ_DATASET = "gcp:bigquery/dataset:Dataset"
BQ_TABLE = "gcp:bigquery/table:Table"
AR_REPOSITORY = "gcp:artifactregistry/repository:Repository"
METADATA_STORE = "gcp:vertex/aiMetadataStore:AiMetadataStore"
TENSORBOARD = "gcp:vertex/aiTensorboard:AiTensorboard"
ONLINE_STORE = "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
FIREWALL = "gcp:compute/firewall:Firewall"
AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"
DATA_ACCESS = ("DATA_READ", "DATA_WRITE")
# The audit config a stack needs, by the resources it holds: what reads and writes models, data and features.
AUDITED_BY_PREFIX = {"gcp:vertex/": "aiplatform.googleapis.com", "gcp:storage/bucket:": "storage.googleapis.com",
                     "gcp:bigquery/": "bigquery.googleapis.com"}
PLATFORM_STATEFUL = (BQ_DATASET, BQ_TABLE, AR_REPOSITORY, METADATA_STORE, TENSORBOARD, ONLINE_STORE)
ANYWHERE = ("0.0.0.0/0", "::/0")


def _bindings(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """What an IAM grant grants, as bindings (role, members): the resource itself (a member or a binding), or
    each binding of a policy's `policyData` (unknown in a preview when rendered from outputs: undecided)."""
    if "policyData" in props:
        return mappings((document(props.get("policyData")) or {}).get("bindings"))
    return [props]


def _members(binding: Mapping[str, Any]) -> list[str]:
    # Public members are literals: a member unknown in a preview (another resource's e-mail) is never one.
    members = [known(binding, "member"), *known_items(known(binding, "members"))]
    return [m for m in members if isinstance(m, str)]


def _no_primitive_roles(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _IAM_GRANT.match(args.resource_type):
        return
    for binding in _bindings(args.props):
        if binding.get("role") in PRIMITIVE_ROLES:
            report(f"IAM grant of the primitive role {binding.get('role')}: grant a predefined or custom role "
                   "with only the permissions needed", None)


def _no_public_members(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _IAM_GRANT.match(args.resource_type):
        return
    public = [m for binding in _bindings(args.props) for m in _members(binding) if m in PUBLIC_MEMBERS]
    if public:
        report(f"IAM grant to {', '.join(public)}: the platform's resources are never public", None)


def _no_service_account_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == SERVICE_ACCOUNT_KEY:
        report("service account key: long-lived keys leak; use attached service accounts, impersonation or "
               "workload identity federation", None)


def _bigquery_cmek(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == BQ_DATASET and not set_at(args.props, "defaultEncryptionConfiguration", "kmsKeyName"):
        report("BigQuery dataset without a customer-managed default key: set "
               "default_encryption_configuration.kms_key_name", None)
    if args.resource_type == BQ_TABLE and not args.props.get("view") \
            and not set_at(args.props, "encryptionConfiguration", "kmsKeyName"):
        report("BigQuery table without a customer-managed key: set encryption_configuration.kms_key_name", None)


def _artifact_registry_cmek(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == AR_REPOSITORY and not is_set(args.props, "kmsKeyName"):
        report("Artifact Registry repository without a customer-managed key: set kms_key_name", None)


def _vertex_cmek(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in (METADATA_STORE, TENSORBOARD, ONLINE_STORE) \
            and not set_at(args.props, "encryptionSpec", "kmsKeyName"):
        report("Vertex AI store without a customer-managed key: set encryption_spec.kms_key_name", None)


def _subnet_private_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SUBNETWORK:
        return
    if args.props.get("privateIpGoogleAccess") is not True:
        report("subnet without Private Google Access: jobs without external addresses cannot reach Google "
               "APIs; set private_ip_google_access=True", None)
    if not mapping_at(args.props, "logConfig"):
        report("subnet without VPC flow logs: set log_config", None)


def _firewall_no_open_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FIREWALL or args.props.get("direction", "INGRESS") != "INGRESS":
        return
    sources = as_list(args.props.get("sourceRanges"))
    if args.props.get("allows") and any(s in ANYWHERE for s in sources):
        report("firewall rule allows ingress from anywhere: allow only the platform's own ranges", None)


def _audit_data_access(args: StackValidationArgs, report: ReportViolation) -> None:
    configured: dict[str, set[str]] = {}
    unknowns = Unknowns()
    for config in of_type(args, AUDIT_CONFIG):
        with unknowns.skip():
            types = {str(c.get("logType")) for c in mappings(config.props.get("auditLogConfigs"))}
            configured.setdefault(str(config.props.get("service")), set()).update(types)
    needed = sorted({service for r in args.resources for prefix, service in AUDITED_BY_PREFIX.items()
                     if r.resource_type.startswith(prefix)})
    for service in needed:
        missing = [t for t in DATA_ACCESS if t not in configured.get(service, set())]
        if missing:
            report(f"Data Access audit logs of {service} are off ({', '.join(missing)}): add a "
                   "projects.IAMAuditConfig for it with DATA_READ and DATA_WRITE", None)
    unknowns.settle()


def _online_store_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ONLINE_STORE or not in_production(args.props):
        return
    if args.props.get("bigtable"):
        return  # served through the Vertex AI API only (IAM), no dedicated endpoint to expose
    psc = mapping_at(args.props, "dedicatedServingEndpoint", "privateServiceConnectConfig")
    if psc.get("enablePrivateServiceConnect") is not True:
        report("production feature online store serves on a public endpoint: enable Private Service Connect on "
               "dedicated_serving_endpoint", None)


def _platform_stores_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    # Metadata stores carry no labels: a stack is production when any of its labelled resources says so.
    if not any(isinstance(r.props.get("labels"), Mapping) and in_production(r.props) for r in args.resources):
        return
    for r in args.resources:
        if r.resource_type in PLATFORM_STATEFUL and not r.opts.protect:
            report(f"{r.resource_type} {r.name} holds production data but is not protected "
                   "(protect=True, retain_on_delete=True)", r.urn)


GCP_PLATFORM_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy("gcp-iam-no-primitive-roles",
                             "IAM grants never use roles/owner, roles/editor or roles/viewer.",
                             _no_primitive_roles, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-iam-no-public-members", "IAM grants never name allUsers or allAuthenticatedUsers.",
                             _no_public_members, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-no-service-account-keys", "No service account keys are created.",
                             _no_service_account_keys, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-bigquery-cmek", "BigQuery datasets and tables use customer-managed keys.",
                             _bigquery_cmek, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-artifact-registry-cmek", "Artifact Registry repositories use customer-managed keys.",
                             _artifact_registry_cmek, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-vertex-stores-cmek",
                             "Vertex AI metadata stores, TensorBoards and feature online stores use "
                             "customer-managed keys.", _vertex_cmek, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-subnet-private-access-flow-logs",
                             "Subnets have Private Google Access and VPC flow logs.",
                             _subnet_private_access, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-firewall-no-open-ingress", "No firewall rule allows ingress from anywhere.",
                             _firewall_no_open_ingress, enforcement_level=MANDATORY),
    StackValidationPolicy("gcp-audit-data-access",
                          "Data Access audit logs are on for Vertex AI, Cloud Storage and BigQuery when the stack "
                          "uses them.", _audit_data_access, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-feature-online-store-private",
                             "Production feature online stores serve only through Private Service Connect.",
                             _online_store_private, enforcement_level=MANDATORY),
    StackValidationPolicy("gcp-platform-stores-protected",
                          "Production BigQuery, Artifact Registry and Vertex AI stores are protected.",
                          _platform_stores_protected, enforcement_level=MANDATORY),
]
