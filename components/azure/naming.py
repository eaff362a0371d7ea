"""Azure physical names: deterministic, within Azure's length and character rules, nothing random."""

from __future__ import annotations

import re
import uuid

import pulumi

from components.base import short_hash
from mlops.plan import Plan

# uuid5 namespace for role assignment names (a role assignment's name must be a GUID).
_ROLE_ASSIGNMENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://mlops-blueprints/azure/role-assignment")


def _stem(plan: Plan, length: int) -> str:
    return re.sub(r"[^a-z0-9]", "", plan.prefix.lower())[:length]


def global_name(plan: Plan) -> str:
    """A globally unique name of 3-24 lower-case letters and digits: prefix stem + hash.

    Storage accounts (3-24, lower-case alphanumeric) and key vaults (3-24, alphanumeric and
    hyphens, starting with a letter) live in global namespaces (separate ones, so both may carry
    this name): the prefix without hyphens, cut to 18 characters, then a hash of the subscription
    and the full prefix. Blueprint names start with a letter, so the result does too.
    """
    suffix = short_hash(plan.account or "", plan.prefix)
    return _stem(plan, 24 - len(suffix)) + suffix


def audit_account_name(plan: Plan) -> str:
    """The audit storage account's globally unique name: like `global_name`, with a hash that also covers
    "audit", so that it differs from the platform account's."""
    suffix = short_hash(plan.account or "", plan.prefix, "audit")
    return _stem(plan, 24 - len(suffix)) + suffix


def role_assignment_name(plan: Plan, role_definition: str, target: str) -> str:
    """A stable GUID for one (environment, role, target) grant: re-running never creates a duplicate."""
    key = f"{plan.account or ''}/{plan.prefix}/{role_definition}/{target}"
    return str(uuid.uuid5(_ROLE_ASSIGNMENT_NAMESPACE, key))


def known_name(resource: pulumi.CustomResource, physical: str) -> pulumi.Output[str]:
    """The physical name this program gave `resource`, carrying a dependency on it.

    Equal to `resource.name` once deployed (every name here is explicit), but known offline: the
    SDK's mocks do not echo Azure names back, so `resource.name` would be empty under synth and
    drop required inputs (resource group, account and vault names) from the recorded graph.
    """
    return resource.id.apply(lambda _: physical)
