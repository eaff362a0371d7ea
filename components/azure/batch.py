"""Azure ML batch serving: a batch endpoint per batch model, its deployment, cluster, datastores and daily run.

The run: Azure ML schedules can start jobs (`CreateJob`) but document no body for invoking a batch
endpoint, so the schedule starts a small command job (`scripts/invoke_batch.py`, standard library
only) that calls the endpoint's documented REST invocation with the platform identity's token. The
job runs inside the workspace's network, so a private workspace's endpoint is reachable.

Outputs go to the blueprint's `output_uri`: an `abfss://<filesystem>@<account>.dfs.core.windows.net/<path>`
URI becomes an identity-based ADLS Gen2 datastore plus a path; an `azureml://datastores/...` URI is
used as it is. Inputs are read from `batch/<model>/input/` in the platform's data container.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from .images import RUNNER_ENVIRONMENT
from .serving_names import compute_name, endpoint_name, schedule_name
from .vm_sizes import vm_size

ml = azure_native.machinelearningservices

SCRIPT = Path(__file__).parent / "scripts" / "invoke_batch.py"
RUNNER_COMMAND = 'python -c "$MLOPS_SCRIPT"'
OUTPUT_FILE = "predictions.csv"
_ABFSS = re.compile(r"^abfss://(?P<filesystem>[a-z0-9-]{3,63})@(?P<account>[a-z0-9]{3,24})\.dfs\.core\.windows\.net"
                    r"(?:/(?P<path>.*))?$")


class OutputTarget(NamedTuple):
    """Where predictions land: an ADLS Gen2 filesystem to register as a datastore (or None), and a path."""

    account: str | None
    filesystem: str | None
    path: str


def output_target(output_uri: str | None, model: str) -> OutputTarget:
    """Parse the blueprint's `output_uri` (the plan refuses other schemes)."""
    if output_uri is None:
        return OutputTarget(None, None, f"batch/{model}/output")
    match = _ABFSS.match(output_uri)
    if match:
        return OutputTarget(match["account"], match["filesystem"], (match["path"] or "").strip("/"))
    if output_uri.startswith("azureml://"):
        return OutputTarget(None, None, output_uri)
    raise ValueError(f"{model}: batch output must be an abfss:// or azureml:// URI (got {output_uri!r})")


def datastore_name(model: str, purpose: str) -> str:
    """Datastore names take letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", f"{model}_batch_{purpose}")


def batch_uri(endpoint: str, region: str) -> str:
    """The documented REST invocation URI of a batch endpoint."""
    return f"https://{endpoint}.{region}.inference.ml.azure.com/jobs"


@builds(Capability.serving)
class AzureMlBatchEndpoint(pulumi.ComponentResource):
    """Scheduled batch predictions for one model on an Azure ML batch endpoint.

    Creates: `-cluster` (AmlCompute in the plan's VM size, 0 to max instances so it costs nothing
    between runs, no public IP, SSH closed, local auth disabled, the platform identity),
    `-input-store` (identity-based blob datastore on the platform's data container),
    `-output-store` (identity-based ADLS Gen2 datastore on the `output_uri` filesystem, when the
    output is abfss://), `-endpoint` (BatchEndpoint: Entra ID token auth, the only mode batch
    endpoints have; default deployment `champion`), `-deployment` (BatchDeployment of version 1
    of the served model (`serving_names.served_model_id`), mini batches of 10 files, 3 retries;
    the deploy step rolls approved versions into it: `ignore_changes` on its model) and `-schedule`
    (Schedule, CreateJob action: the invoking command job on the blueprint's cron in UTC). The
    platform identity invokes with the platform's `-serving-jobs-access` grant (AzureMlPlatform); it
    also needs Storage Blob Data Contributor on an abfss:// output's filesystem, which lives outside
    the platform (the team grants it).

    With `create_deployment=False` (stack setting `mlops:endpoints: defer`: a first deployment, before
    any model version exists) `-deployment` (it needs version 1 of the model) and `-schedule` (it
    would invoke an endpoint with nothing to run) are left out; the cluster, datastores and endpoint
    need no model and are created. The next `pulumi up` without the setting adds the two.

    Outputs: endpoint_name, schedule_name (None while the deployment is deferred), output_uri.
    """

    schedule_name: str | None
    """The daily run's schedule; None while the deployment is deferred."""

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, resource_group_name: pulumi.Input[str],
                 workspace_name: pulumi.Input[str], model_id: pulumi.Input[str],
                 identity_id: pulumi.Input[str], identity_client_id: pulumi.Input[str],
                 storage_account: pulumi.Input[str],
                 data_container: pulumi.Input[str], subscription_id: pulumi.Input[str],
                 create_deployment: bool = True, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlBatchEndpoint", name, None, opts)
        serving = model.serving
        if serving is None or serving.mode.value != "batch" or serving.schedule is None:
            raise ValueError(f"{model.name}: AzureMlBatchEndpoint needs a scheduled batch model")
        tags = azure_tags(plan.tags)
        identity = ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.USER_ASSIGNED,
                                                 user_assigned_identities=[identity_id])
        cluster_name = compute_name(model.name, "batch")
        cluster = ml.Compute(
            f"{name}-cluster",
            ml.ComputeArgs(
                resource_group_name=resource_group_name, workspace_name=workspace_name,
                compute_name=cluster_name, location=plan.region, identity=identity,
                properties=ml.AmlComputeArgs(
                    compute_type="AmlCompute",
                    description=f"batch predictions of {model.name}",
                    disable_local_auth=True,
                    properties=ml.AmlComputePropertiesArgs(
                        vm_size=vm_size(serving.instance),
                        vm_priority=ml.VmPriority.DEDICATED,
                        enable_node_public_ip=False,
                        remote_login_port_public_access=ml.RemoteLoginPortPublicAccess.DISABLED,
                        scale_settings=ml.ScaleSettingsArgs(min_node_count=0, max_node_count=serving.max_instances,
                                                            node_idle_time_before_scale_down="PT10M"),
                    ),
                ),
                tags=tags,
            ),
            opts=child(self),
        )
        none = ml.NoneDatastoreCredentialsArgs(credentials_type="None")
        input_store = datastore_name(model.name, "in")
        ml.Datastore(
            f"{name}-input-store",
            ml.DatastoreArgs(
                resource_group_name=resource_group_name, workspace_name=workspace_name,
                name=input_store,
                properties=ml.AzureBlobDatastoreArgs(
                    datastore_type="AzureBlob", account_name=storage_account, container_name=data_container,
                    credentials=none, subscription_id=subscription_id, resource_group=resource_group_name,
                    # Jobs read with their own identity; the workspace never holds a storage key.
                    service_data_access_auth_identity=ml.ServiceDataAccessAuthIdentity.WORKSPACE_USER_ASSIGNED_IDENTITY,
                    description=f"batch inputs of {model.name}", tags=tags),
            ),
            opts=child(self),
        )
        target = output_target(serving.output_uri, model.name)
        if target.account is not None and target.filesystem is not None:
            output_store = datastore_name(model.name, "out")
            ml.Datastore(
                f"{name}-output-store",
                ml.DatastoreArgs(
                    resource_group_name=resource_group_name, workspace_name=workspace_name,
                name=output_store,
                    properties=ml.AzureDataLakeGen2DatastoreArgs(
                        datastore_type="AzureDataLakeGen2", account_name=target.account,
                        filesystem=target.filesystem, credentials=none,
                        service_data_access_auth_identity=ml.ServiceDataAccessAuthIdentity
                        .WORKSPACE_USER_ASSIGNED_IDENTITY,
                        description=f"batch predictions of {model.name}", tags=tags),
                ),
                opts=child(self),
            )
            output = f"azureml://datastores/{output_store}/paths/{target.path}"
        elif target.path.startswith("azureml://"):
            output = target.path
        else:
            output = f"azureml://datastores/{input_store}/paths/{target.path}"
        self.output_uri = output

        self.endpoint_name = endpoint_name(plan, model.name, "batch")
        endpoint = ml.BatchEndpoint(
            f"{name}-endpoint",
            ml.BatchEndpointArgs(
                resource_group_name=resource_group_name, workspace_name=workspace_name,
                endpoint_name=self.endpoint_name, location=plan.region, identity=identity,
                properties=ml.BatchEndpointPropertiesArgs(
                    auth_mode=ml.EndpointAuthMode.AAD_TOKEN,
                    description=f"{plan.prefix}: batch predictions of {model.name}",
                    defaults=ml.BatchEndpointDefaultsArgs(deployment_name="champion"),
                ),
                tags=tags,
            ),
            opts=child(self),
        )
        self.schedule_name = None
        if not create_deployment:
            self.register_outputs({"endpoint_name": self.endpoint_name, "output_uri": self.output_uri})
            return
        ml.BatchDeployment(
            f"{name}-deployment",
            ml.BatchDeploymentArgs(
                resource_group_name=resource_group_name, workspace_name=workspace_name,
                endpoint_name=self.endpoint_name, deployment_name="champion", location=plan.region,
                properties=ml.BatchDeploymentPropertiesArgs(
                    description=f"{model.name} champion",
                    model=ml.IdAssetReferenceArgs(
                        reference_type="Id",
                        asset_id=model_id),
                    compute=cluster.id,
                    resources=ml.DeploymentResourceConfigurationArgs(instance_count=serving.max_instances),
                    mini_batch_size=10,
                    max_concurrency_per_instance=1,
                    output_action=ml.BatchOutputAction.APPEND_ROW,
                    output_file_name=OUTPUT_FILE,
                    error_threshold=-1,
                    retry_settings=ml.BatchRetrySettingsArgs(max_retries=3, timeout="PT30M"),
                    logging_level=ml.BatchLoggingLevel.INFO,
                ),
                tags=tags,
            ),
            opts=pulumi.ResourceOptions.merge(child(self, depends_on=[endpoint]),
                                              pulumi.ResourceOptions(ignore_changes=["properties.model"])),
        )
        self.schedule_name = schedule = schedule_name(plan, model.name, "batch")
        ml.Schedule(
            f"{name}-schedule",
            ml.ScheduleArgs(
                resource_group_name=resource_group_name, workspace_name=workspace_name,
                name=schedule,
                properties=ml.SchedulePropertiesArgs(
                    display_name=f"{model.name} batch predictions",
                    description=f"Daily predictions of {model.name} ({plan.prefix})",
                    is_enabled=True,
                    trigger=ml.CronTriggerArgs(trigger_type="Cron", expression=serving.schedule.cron,
                                               time_zone="UTC"),
                    action=ml.JobScheduleActionArgs(
                        action_type="CreateJob",
                        job_definition=ml.CommandJobArgs(
                            job_type="Command",
                            display_name=f"{model.name}-batch-run",
                            experiment_name=f"{model.name}-batch",
                            compute_id=cluster.id,
                            environment_id=RUNNER_ENVIRONMENT,
                            command=RUNNER_COMMAND,
                            identity=ml.ManagedIdentityArgs(identity_type="Managed", client_id=identity_client_id),
                            environment_variables={
                                "MLOPS_SCRIPT": SCRIPT.read_text(encoding="utf-8"),
                                "MLOPS_BATCH_URI": batch_uri(self.endpoint_name, plan.region),
                                "MLOPS_BATCH_INPUT": f"azureml://datastores/{input_store}/paths/batch/{model.name}/input/",
                                "MLOPS_BATCH_OUTPUT": output,
                                "MLOPS_OUTPUT_FILE": OUTPUT_FILE,
                                "MLOPS_IDENTITY_CLIENT_ID": identity_client_id,
                            },
                            tags=tags,
                        ),
                    ),
                    tags=tags,
                ),
            ),
            opts=child(self, depends_on=[endpoint]),
        )
        self.register_outputs({"endpoint_name": self.endpoint_name, "schedule_name": self.schedule_name,
                               "output_uri": self.output_uri})
