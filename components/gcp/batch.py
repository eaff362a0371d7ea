"""GCP batch serving: Vertex AI batch prediction jobs of the champion on the blueprint's schedule."""

from __future__ import annotations

import base64
import json
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from .foundation import ACCOUNT_ID_MAX, fit_name
from .machines import serving_machine
from .names import model_id

OBJECT_VIEWER = "roles/storage.objectViewer"
OBJECT_CREATOR = "roles/storage.objectCreator"


def batch_input_prefix(model: str) -> str:
    """Where the team drops a batch's instances (JSON lines) in the data bucket."""
    return f"batch/{model}/input"


def batch_job(plan: Plan, model: ModelPlan, *, project: str, kms_key_id: str, data_bucket: str,
              account: str) -> dict[str, Any]:
    """The BatchPredictionJob body (Vertex REST v1) for the champion version of a model."""
    s = model.serving
    assert s is not None
    machine = serving_machine(s.instance)
    spec: dict[str, Any] = {"machineType": machine.machine_type}
    if machine.accelerator:
        spec |= {"acceleratorType": machine.accelerator, "acceleratorCount": machine.accelerator_count}
    output = s.output_uri or f"gs://{data_bucket}/batch/{model.name}/output/"
    destination = ({"predictionsFormat": "bigquery", "bigqueryDestination": {"outputUri": output}}
                   if output.startswith("bq://") else
                   {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": output}})
    return {
        "displayName": f"{plan.prefix}-{model.name}-batch",
        # The alias moves with each promotion: every run scores with the current champion.
        "model": f"projects/{project}/locations/{plan.region}/models/{model_id(plan, model.name)}@champion",
        "inputConfig": {"instancesFormat": "jsonl",
                        "gcsSource": {"uris": [f"gs://{data_bucket}/{batch_input_prefix(model.name)}/*.jsonl"]}},
        "outputConfig": destination,
        "dedicatedResources": {"machineSpec": spec, "startingReplicaCount": s.min_instances or 1,
                               "maxReplicaCount": max(s.max_instances, s.min_instances or 1)},
        "serviceAccount": account,
        "encryptionSpec": {"kmsKeyName": kms_key_id},
        "labels": gcp_labels(dict(plan.tags)),
    }


@builds(Capability.serving)
class VertexBatchPrediction(pulumi.ComponentResource):
    """Scheduled batch predictions for one model: Cloud Scheduler creates a Vertex batch prediction job.

    Creates: `-identity` (the job's own service account, never a key) with `-aiplatform-user` (create
    batch prediction jobs), `-act-as-self` (the scheduler's token may start jobs running as it),
    `-input` (read the data bucket's `batch/<model>/input/` prefix only: an IAM condition) and
    `-output` (gs://: create objects in the output bucket; bq://: edit the output dataset, with
    `-bigquery-job-user`); `-schedule` (Cloud Scheduler, the
    blueprint's cron in UTC, OAuth as that account, POST `batchPredictionJobs` with the champion
    alias, CMEK, the plan's machine and replicas; output to `output_uri`, gs:// or bq://).

    Outputs: schedule_name, identity.
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, project: pulumi.Input[str],
                 kms_key_id: pulumi.Input[str], data_bucket: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}VertexBatchPrediction", name, None, opts)
        s = model.serving
        if s is None or s.schedule is None:
            raise ValueError(f"{model.name}: VertexBatchPrediction needs a scheduled batch model")
        account = gcp.serviceaccount.Account(
            f"{name}-identity",
            gcp.serviceaccount.AccountArgs(account_id=fit_name(f"{plan.prefix}-{model.name}-batch", ACCOUNT_ID_MAX),
                                           display_name=f"{plan.prefix} {model.name} batch", project=plan.account,
                                           description=f"{plan.prefix}: batch predictions of {model.name}"),
            opts=child(self))
        grants: list[pulumi.Resource] = [
            gcp.projects.IAMMember(f"{name}-aiplatform-user", gcp.projects.IAMMemberArgs(
                project=project, role="roles/aiplatform.user", member=account.member), opts=child(self)),
            gcp.serviceaccount.IAMMember(f"{name}-act-as-self", gcp.serviceaccount.IAMMemberArgs(
                service_account_id=account.name, role="roles/iam.serviceAccountUser", member=account.member),
                opts=child(self)),
            gcp.storage.BucketIAMMember(f"{name}-input", gcp.storage.BucketIAMMemberArgs(
                bucket=data_bucket, role=OBJECT_VIEWER, member=account.member,
                condition=gcp.storage.BucketIAMMemberConditionArgs(
                    title="batch input only",
                    expression=pulumi.Output.concat('resource.name.startsWith("projects/_/buckets/', data_bucket,
                                                    "/objects/", batch_input_prefix(model.name), '/")'))),
                opts=child(self)),
        ]
        if s.output_uri and s.output_uri.startswith("gs://"):
            bucket = s.output_uri.removeprefix("gs://").split("/", 1)[0]
            grants.append(gcp.storage.BucketIAMMember(f"{name}-output", gcp.storage.BucketIAMMemberArgs(
                bucket=bucket, role=OBJECT_CREATOR, member=account.member), opts=child(self)))
        if s.output_uri and s.output_uri.startswith("bq://"):
            # bq://project.dataset[.table]: write that dataset only, and run the load jobs in the project.
            target_project, dataset = s.output_uri.removeprefix("bq://").split(".")[:2]
            grants += [
                gcp.bigquery.DatasetIamMember(f"{name}-output", gcp.bigquery.DatasetIamMemberArgs(
                    dataset_id=dataset, project=target_project, role="roles/bigquery.dataEditor",
                    member=account.member), opts=child(self)),
                gcp.projects.IAMMember(f"{name}-bigquery-job-user", gcp.projects.IAMMemberArgs(
                    project=project, role="roles/bigquery.jobUser", member=account.member), opts=child(self)),
            ]
        body = pulumi.Output.all(project, kms_key_id, data_bucket, account.email).apply(
            lambda v: base64.b64encode(json.dumps(batch_job(plan, model, project=v[0], kms_key_id=v[1],
                                                            data_bucket=v[2], account=v[3]),
                                                  sort_keys=True).encode()).decode())
        schedule = gcp.cloudscheduler.Job(
            f"{name}-schedule",
            gcp.cloudscheduler.JobArgs(
                name=fit_name(f"{plan.prefix}-{model.name}-batch", 500), region=plan.region, project=plan.account,
                description=f"Batch predictions of {model.name} ({plan.prefix})", schedule=s.schedule.cron,
                time_zone="Etc/UTC", attempt_deadline="60s",
                retry_config=gcp.cloudscheduler.JobRetryConfigArgs(retry_count=3),
                http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                    uri=pulumi.Output.concat(f"https://{plan.region}-aiplatform.googleapis.com/v1/projects/", project,
                                             f"/locations/{plan.region}/batchPredictionJobs"),
                    http_method="POST", body=body, headers={"Content-Type": "application/json"},
                    oauth_token=gcp.cloudscheduler.JobHttpTargetOauthTokenArgs(
                        service_account_email=account.email,
                        scope="https://www.googleapis.com/auth/cloud-platform"))),
            opts=child(self, depends_on=grants))
        self.register_outputs({"schedule_name": schedule.name, "identity": account.email})
