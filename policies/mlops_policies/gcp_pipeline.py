"""Policies for GCP training pipelines, registry, schedules and retraining triggers.

Cloud Workflows, Pub/Sub topics, stored pipeline specs and scheduled Vertex pipeline runs carry
customer-managed keys; workflows and scheduled runs act as dedicated service accounts, never the
Compute Engine default account; trigger and promotion identities are never granted to the public.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from .support import is_set, known, mapping_at, set_at

WORKFLOW = "gcp:workflows/workflow:Workflow"
TOPIC = "gcp:pubsub/topic:Topic"
BUCKET_OBJECT = "gcp:storage/bucketObject:BucketObject"
SCHEDULE = "gcp:colab/schedule:Schedule"
ACCOUNT_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
TOPIC_MEMBER = "gcp:pubsub/topicIAMMember:TopicIAMMember"
MANDATORY = EnforcementLevel.MANDATORY
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
DEFAULT_COMPUTE_SUFFIX = "-compute@developer.gserviceaccount.com"
# An identity unknown in a preview is the e-mail of a service account this stack creates: Google creates the
# Compute Engine default account (and public members are literals), so such a value is never one of them.
OWN_ACCOUNT = "(a service account of this stack)"


def _pipeline_job(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping_at(props, "createPipelineJobRequest", "pipelineJob")


def _dedicated(account: object) -> bool:
    return isinstance(account, str) and bool(account) and not account.endswith(DEFAULT_COMPUTE_SUFFIX)


def _workflow_cmek(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == WORKFLOW and not is_set(args.props, "cryptoKeyName"):
        report("Cloud Workflows workflow is not encrypted with a customer-managed key: set crypto_key_name", None)


def _workflow_identity(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == WORKFLOW and not _dedicated(known(args.props, "serviceAccount", OWN_ACCOUNT)):
        report("Cloud Workflows workflow runs as the Compute Engine default service account: set service_account "
               "to a dedicated, least-privilege account", None)


def _topic_cmek(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == TOPIC and not is_set(args.props, "kmsKeyName"):
        report("Pub/Sub topic is not encrypted with a customer-managed key: set kms_key_name", None)


def _object_cmek(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == BUCKET_OBJECT and not is_set(args.props, "kmsKeyName"):
        report("Cloud Storage object (e.g. a pipeline spec) does not name the customer-managed key it is "
               "encrypted with: set kms_key_name", None)


def _schedule_cmek(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SCHEDULE or not _pipeline_job(args.props):
        return
    if not set_at(_pipeline_job(args.props), "encryptionSpec", "kmsKeyName"):
        report("scheduled Vertex pipeline runs are not encrypted with a customer-managed key: set "
               "create_pipeline_job_request.pipeline_job.encryption_spec.kms_key_name", None)


def _schedule_identity(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SCHEDULE or not _pipeline_job(args.props):
        return
    if not _dedicated(known(_pipeline_job(args.props), "serviceAccount", OWN_ACCOUNT)):
        report("scheduled Vertex pipeline runs would act as the Compute Engine default service account: set "
               "create_pipeline_job_request.pipeline_job.service_account to the pipelines account", None)


def _no_public_members(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in (ACCOUNT_MEMBER, TOPIC_MEMBER) \
            and known(args.props, "member", OWN_ACCOUNT) in PUBLIC_MEMBERS:
        what = "a service account (impersonation or act-as)" if args.resource_type == ACCOUNT_MEMBER else \
            "a Pub/Sub topic (publishing starts retraining)"
        report(f"{args.props.get('member')} is granted {args.props.get('role')} on {what}: grant named "
               "principals only", None)


GCP_PIPELINE_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy("gcp-workflows-cmek", "Cloud Workflows workflows are encrypted with a "
                             "customer-managed key.", _workflow_cmek, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-workflows-dedicated-identity", "Cloud Workflows workflows run as a dedicated "
                             "service account, not the Compute Engine default one.", _workflow_identity,
                             enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-pubsub-cmek", "Pub/Sub topics are encrypted with a customer-managed key.",
                             _topic_cmek, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-storage-object-cmek", "Stored objects (pipeline specs) name the "
                             "customer-managed key they are encrypted with.", _object_cmek,
                             enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-pipeline-schedule-cmek", "Scheduled Vertex pipeline runs are encrypted with "
                             "a customer-managed key.", _schedule_cmek, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-pipeline-schedule-identity", "Scheduled Vertex pipeline runs act as a "
                             "dedicated service account.", _schedule_identity, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-no-public-trigger-grants", "Service accounts and Pub/Sub topics are never "
                             "granted to allUsers or allAuthenticatedUsers.", _no_public_members,
                             enforcement_level=MANDATORY),
]
