"""Azure serving names and ids: endpoints, deployments, served models, monitors, alert rules, roles.

Deterministic and within Azure ML's rules: endpoint names are 3-32 characters (letters, digits,
hyphens, starting with a letter) and unique per *region* across subscriptions, so they end with a
hash of the subscription, the environment prefix and the model.
"""

from __future__ import annotations

import re

import pulumi

from components.base import short_hash
from mlops.plan import Plan
from mlops.plan.vocabulary import InstanceSize

from .vm_sizes import vm_size

AZUREML_DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
"""Built-in role (the same GUID in every tenant): run jobs and read assets in a workspace, no compute
or workspace management."""
ENDPOINT_NAME_MAX = 32
ONLINE_SKUS: dict[InstanceSize, str] = {
    # Managed online endpoints run on their own SKU list (DSv2, Fsv2, Esv3, Dav4/Dasv4, NC … series),
    # narrower than what compute clusters take (`vm_sizes.AZURE_VM_SIZES`): the same sizes in DSv2.
    InstanceSize.small: "Standard_DS2_v2",        # 2 vCPU, 7 GiB
    InstanceSize.medium: "Standard_DS3_v2",       # 4 vCPU, 14 GiB
    InstanceSize.large: "Standard_DS4_v2",        # 8 vCPU, 28 GiB
    InstanceSize.xlarge: "Standard_DS5_v2",       # 16 vCPU, 56 GiB
    InstanceSize.gpu_small: "Standard_NC4as_T4_v3",   # 1 NVIDIA T4
    InstanceSize.gpu_large: "Standard_NC64as_T4_v3",  # 4 NVIDIA T4
}
CHAMPION_DEPLOYMENT = "blue"
"""The deployment that serves (all traffic when IaC creates the endpoint)."""
SHADOW_DEPLOYMENT = "shadow"
"""The challenger receiving mirrored traffic; its answers are never returned."""

def online_sku(size: InstanceSize | str) -> str:
    """The managed online deployment SKU of a size; an explicit `Standard_*` size passes through."""
    if isinstance(size, InstanceSize) or size in InstanceSize.__members__:
        return ONLINE_SKUS[InstanceSize(size)]
    return vm_size(size)  # validates the explicit size


def _bounded(base: str, limit: int, *salt: str) -> str:
    """`base` cut so that `-<hash>` fits in `limit`, hash over the salt and the full base."""
    digest = short_hash(*salt, base)
    head = re.sub(r"-+$", "", base[:limit - len(digest) - 1])
    return f"{head}-{digest}"


def endpoint_name(plan: Plan, model: str, kind: str = "online") -> str:
    """Online or batch endpoint name: `<prefix>-<model>` cut to fit, plus a hash (regional namespace)."""
    base = f"{plan.prefix}-{model}" if kind == "online" else f"{plan.prefix}-{model}-batch"
    return _bounded(base, ENDPOINT_NAME_MAX, plan.account or "", kind)


COMPUTE_NAME_MAX = 16


def compute_name(model: str, purpose: str) -> str:
    """An Azure ML compute name (2-16 characters): `<model>-<purpose>`, cut with a hash when longer."""
    base = f"{model}-{purpose}"
    if len(base) <= COMPUTE_NAME_MAX:
        return base
    return _bounded(base, COMPUTE_NAME_MAX)


def schedule_name(plan: Plan, model: str, purpose: str) -> str:
    """An Azure ML schedule name (workspace scope): `<prefix>-<model>-<purpose>`."""
    return f"{plan.prefix}-{model}-{purpose}"


def alert_rule_name(plan: Plan, subject: str, kind: str) -> str:
    """Azure Monitor alert rule name (resource-group scope)."""
    return f"{plan.prefix}-{subject}-{kind}"


def action_group_name(plan: Plan, severity: str) -> str:
    return f"{plan.prefix}-{severity}"


def action_group_short_name(plan: Plan, severity: str) -> str:
    """The sender name in e-mails and SMS: at most 12 characters."""
    return f"{re.sub(r'[^a-z0-9]', '', plan.prefix.lower())[:7]}-{severity[:4]}"


FIRST_VERSION = "1"
"""The version IaC creates deployments with; the deploy step rolls later versions in (`ignore_changes`)."""


def served_model_id(model: str, *, workspace_id: pulumi.Input[str],
                    registry_name: pulumi.Input[str] | None) -> pulumi.Output[str]:
    """What a deployment serves: an approved version from the registry when the plan has one (promotion
    into it is the approval), else the workspace's registered version."""
    if registry_name is not None:
        return pulumi.Output.concat("azureml://registries/", registry_name, f"/models/{model}/versions/{FIRST_VERSION}")
    return pulumi.Output.concat(workspace_id, f"/models/{model}/versions/{FIRST_VERSION}")
