"""Azure ML training clusters: one per trained model, scaled to zero when idle."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child, short_hash
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from .vm_sizes import vm_size

ml = azure_native.machinelearningservices

# Azure ML compute names: 2-16 characters, letters, digits and hyphens, starting with a letter.
COMPUTE_NAME_MAX = 16
# A cluster gives its nodes back after this long without work (ISO 8601 duration).
IDLE_SCALE_DOWN = "PT10M"


def cluster_name(model: str) -> str:
    """`<model>` when it fits Azure ML's 16 characters, else its start plus a hash (stable, unique per model)."""
    if len(model) <= COMPUTE_NAME_MAX:
        return model
    suffix = short_hash(model)
    return f"{model[:COMPUTE_NAME_MAX - len(suffix) - 1].rstrip('-')}-{suffix}"


def max_nodes(model: ModelPlan) -> int:
    """Nodes one run may use at once: the training nodes, times the trials a sweep runs in parallel."""
    training = model.training
    assert training is not None
    parallel = min(training.search.max_parallel_trials, training.search.max_trials) if training.search else 1
    return max(1, training.instance_count * parallel)


@builds(Capability.training_pipeline)
class AzureMlCompute(pulumi.ComponentResource):
    """The training cluster of one model.

    Creates `-cluster` (machinelearningservices.Compute, AmlCompute): the model's training VM size,
    0 nodes when idle (scale-down after 10 minutes) up to the nodes a run uses at once (training nodes
    times parallel sweep trials), low-priority VMs when the blueprint asks for spot, no public IP on
    the nodes, SSH closed, local (key) authentication off, Linux, the platform's user-assigned identity
    (jobs read data and write artifacts as that identity). Nodes live in the workspace's managed
    network, which decides their outbound access.

    Outputs: `compute` (the resource), `name` (the compute name jobs refer to), `id`.
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, resource_group_name: pulumi.Input[str],
                 workspace_name: pulumi.Input[str], identity_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlCompute", name, None, opts)
        training = model.training
        if training is None:
            raise ValueError(f"model {model.name} has no training plan")
        self.name = cluster_name(model.name)
        self.compute = ml.Compute(
            f"{name}-cluster",
            ml.ComputeArgs(
                resource_group_name=resource_group_name,
                workspace_name=workspace_name,
                compute_name=self.name,
                location=plan.region,
                identity=ml.ManagedServiceIdentityArgs(
                    type=ml.ManagedServiceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity_id]),
                properties=ml.AmlComputeArgs(
                    compute_type="AmlCompute",
                    description=f"{model.name}: training cluster of {plan.prefix}",
                    disable_local_auth=True,
                    properties=ml.AmlComputePropertiesArgs(
                        vm_size=vm_size(training.instance),
                        vm_priority=ml.VmPriority.LOW_PRIORITY if training.spot else ml.VmPriority.DEDICATED,
                        os_type=ml.OsType.LINUX,
                        enable_node_public_ip=False,
                        remote_login_port_public_access=ml.RemoteLoginPortPublicAccess.DISABLED,
                        scale_settings=ml.ScaleSettingsArgs(
                            min_node_count=0, max_node_count=max_nodes(model),
                            node_idle_time_before_scale_down=IDLE_SCALE_DOWN),
                    ),
                ),
                tags=azure_tags({**plan.tags, "model": model.name}),
            ),
            opts=child(self),
        )
        self.id: pulumi.Output[str] = self.compute.id
        self.register_outputs({"name": self.name, "id": self.id})
