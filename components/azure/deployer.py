"""Azure deployment on approval: a scheduled job rolls the newest approved version out, as `traffic.py` describes.

Azure ML registries raise no event when a version is promoted into them (the approval), so the
deployer polls: an Azure ML schedule runs `scripts/deploy_approved.py` every hour on a small
cluster that scales to zero. The job compares the newest approved version with what the champion
serves and, when newer, walks the blueprint's rollout (canary, blue/green) with auto-rollback on
fired alerts, or updates in place (all at once, rolling, batch). It runs as its own identity, which
may change this platform's endpoints and deployments and read approved models, nothing else.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TypedDict

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.vocabulary import InstanceSize, ServingMode

from .images import RUNNER_ENVIRONMENT
from .naming import role_assignment_name
from .roles import ML, custom_role, role_definition_guid
from .serving_names import compute_name
from .traffic import TrafficStep, rollout_steps
from .vm_sizes import vm_size

ml = azure_native.machinelearningservices

SCRIPT = Path(__file__).parent / "scripts" / "deploy_approved.py"
COMMAND = 'python -c "$MLOPS_SCRIPT"'
DEPLOYER_ROLE = "deployer"
DEPLOYER_ACTIONS = [
    f"{ML}/workspaces/read",
    f"{ML}/workspaces/onlineEndpoints/read", f"{ML}/workspaces/onlineEndpoints/write",
    f"{ML}/workspaces/onlineEndpoints/deployments/read", f"{ML}/workspaces/onlineEndpoints/deployments/write",
    f"{ML}/workspaces/onlineEndpoints/deployments/delete",
    f"{ML}/workspaces/batchEndpoints/read", f"{ML}/workspaces/batchEndpoints/deployments/read",
    f"{ML}/workspaces/batchEndpoints/deployments/write",
    f"{ML}/workspaces/models/read", f"{ML}/workspaces/models/versions/read",
    f"{ML}/registries/read", f"{ML}/registries/assets/read",
    # Endpoints and deployments run as the platform identity: updating them assigns it again.
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    "Microsoft.AlertsManagement/alerts/read",
]
"""What the deployer may do: change endpoints and deployments, read approved models and fired alerts."""
POLL_HOURS = 1


class DeployerConfig(TypedDict):
    """What `scripts/deploy_approved.py` reads from MLOPS_CONFIG."""

    subscription: str
    workspace_id: str
    source_id: str
    registry: str
    model: str
    kind: str
    endpoint: str
    steps: list[TrafficStep]
    auto_rollback: bool


def timeout(model: ModelPlan) -> str:
    """Every bake of the rollout plus two hours for provisioning (the job sleeps through the bakes)."""
    minutes = sum(s["bake_minutes"] for s in rollout_steps(model)) + 120
    return f"PT{math.ceil(minutes / 60)}H"


def deployer_config(model: ModelPlan, *, subscription: str, workspace_id: str, source_id: str, registry: str,
                    endpoint: str) -> DeployerConfig:
    serving = model.serving
    assert serving is not None
    online = serving.mode == ServingMode.realtime
    return DeployerConfig(subscription=subscription, workspace_id=workspace_id, source_id=source_id,
                          registry=registry, model=model.name, kind="online" if online else "batch",
                          endpoint=endpoint, steps=rollout_steps(model) if online else [],
                          auto_rollback=serving.delivery.auto_rollback)


@builds(Capability.progressive_delivery, Capability.approval_workflow)
class AzureMlDeployer(pulumi.ComponentResource):
    """Deployment on approval (and progressive delivery) for one served model.

    Creates: `-identity` (user-assigned identity of the deployer), `-role` (custom role `<prefix>
    deployer`: `DEPLOYER_ACTIONS`; created once per platform by the first model's deployer, shared by
    the others) with `-access` (the identity holds it on the resource group), `-cluster` (AmlCompute
    0-1 node of the small size, the deployer identity, no public IP, no SSH, no local auth) and
    `-schedule` (Schedule, hourly: the command job running `scripts/deploy_approved.py` as the
    deployer identity, its configuration as JSON, a timeout covering every bake).

    It is created while endpoints are deferred (stack setting `mlops:endpoints: defer`) too, so that
    its identity and role are in place for the first version: until IaC creates the champion
    deployment the job finds none and succeeds without a change.

    Outputs: schedule_name.
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, resource_group_name: pulumi.Input[str],
                 workspace_name: pulumi.Input[str], workspace_id: pulumi.Input[str],
                 registry_id: pulumi.Input[str] | None, registry_name: pulumi.Input[str] | None, endpoint: str,
                 subscription_id: pulumi.Input[str], role_scope: pulumi.Input[str],
                 role: azure_native.authorization.RoleDefinition | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlDeployer", name, None, opts)
        tags = azure_tags(plan.tags)
        identity = azure_native.managedidentity.UserAssignedIdentity(
            f"{name}-identity", resource_group_name=resource_group_name,
            resource_name_=f"{plan.prefix}-{model.name}-deployer", location=plan.region, tags=tags,
            opts=child(self))
        self.role = role or custom_role(
            f"{name}-role", plan, role=DEPLOYER_ROLE, actions=DEPLOYER_ACTIONS, scope=role_scope,
            description=f"{plan.prefix}: rolls approved model versions out to the endpoints", opts=child(self))
        access = azure_native.authorization.RoleAssignment(
            f"{name}-access",
            azure_native.authorization.RoleAssignmentArgs(
                role_assignment_name=role_assignment_name(plan, role_definition_guid(plan, DEPLOYER_ROLE),
                                                          f"resource-group/{model.name}-deployer"),
                principal_id=identity.principal_id,
                principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=self.role.id,
                scope=role_scope,
                description=f"{plan.prefix}: the {model.name} deployer changes endpoints and deployments",
            ),
            opts=child(self),
        )
        uai = ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.USER_ASSIGNED,
                                            user_assigned_identities=[identity.id])
        cluster = ml.Compute(
            f"{name}-cluster",
            ml.ComputeArgs(
                resource_group_name=resource_group_name, workspace_name=workspace_name,
                compute_name=compute_name(model.name, "deploy"), location=plan.region, identity=uai,
                properties=ml.AmlComputeArgs(
                    compute_type="AmlCompute", description=f"rollouts of {model.name}", disable_local_auth=True,
                    properties=ml.AmlComputePropertiesArgs(
                        vm_size=vm_size(InstanceSize.small), vm_priority=ml.VmPriority.DEDICATED,
                        enable_node_public_ip=False,
                        remote_login_port_public_access=ml.RemoteLoginPortPublicAccess.DISABLED,
                        scale_settings=ml.ScaleSettingsArgs(min_node_count=0, max_node_count=1,
                                                            node_idle_time_before_scale_down="PT5M"),
                    ),
                ),
                tags=tags,
            ),
            opts=child(self),
        )
        source = registry_id if registry_id is not None else workspace_id
        config = pulumi.Output.all(pulumi.Output.from_input(subscription_id), pulumi.Output.from_input(workspace_id),
                                   pulumi.Output.from_input(source),
                                   pulumi.Output.from_input(registry_name or "")).apply(
            lambda v: json.dumps(deployer_config(model, subscription=v[0], workspace_id=v[1], source_id=v[2],
                                                 registry=v[3], endpoint=endpoint), sort_keys=True))
        self.schedule_name = f"{plan.prefix}-{model.name}-deploy"
        ml.Schedule(
            f"{name}-schedule",
            ml.ScheduleArgs(
                resource_group_name=resource_group_name, workspace_name=workspace_name, name=self.schedule_name,
                properties=ml.SchedulePropertiesArgs(
                    display_name=f"{model.name} deployment on approval",
                    description=f"Rolls the newest approved {model.name} out ({plan.prefix})",
                    is_enabled=True,
                    trigger=ml.RecurrenceTriggerArgs(trigger_type="Recurrence", frequency="Hour",
                                                     interval=POLL_HOURS, time_zone="UTC"),
                    action=ml.JobScheduleActionArgs(
                        action_type="CreateJob",
                        job_definition=ml.CommandJobArgs(
                            job_type="Command", display_name=f"{model.name}-deploy",
                            experiment_name=f"{model.name}-deploy", compute_id=cluster.id,
                            environment_id=RUNNER_ENVIRONMENT, command=COMMAND,
                            identity=ml.ManagedIdentityArgs(identity_type="Managed", client_id=identity.client_id),
                            limits=ml.CommandJobLimitsArgs(job_limits_type="Command", timeout=timeout(model)),
                            environment_variables={"MLOPS_SCRIPT": SCRIPT.read_text(encoding="utf-8"),
                                                   "MLOPS_CONFIG": config, "MLOPS_CLIENT_ID": identity.client_id},
                            tags=tags,
                        ),
                    ),
                    tags=tags,
                ),
            ),
            opts=child(self, depends_on=[access]),
        )
        self.register_outputs({"schedule_name": self.schedule_name})
