"""Custom Azure RBAC roles of the platform and their assignments to blueprint principals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pulumi
import pulumi_azure_native as azure_native

from mlops.plan import Plan

from .naming import role_assignment_name
from .principals import Principal

authorization = azure_native.authorization

# uuid5 namespace for custom role definition ids (a role definition's name must be a GUID).
_ROLE_DEFINITION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://mlops-blueprints/azure/role-definition")

ML = "Microsoft.MachineLearningServices"

# Built-in roles no platform assignment may use (they manage everything, or grant access to others).
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
PRIVILEGED_BUILT_IN_ROLES = frozenset({OWNER, CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR})


def role_definition_guid(plan: Plan, role: str) -> str:
    """A stable GUID for one custom role of one environment (re-running never creates a duplicate)."""
    return str(uuid.uuid5(_ROLE_DEFINITION_NAMESPACE, f"{plan.account or ''}/{plan.prefix}/{role}"))


def resource_group_scope(subscription_id: pulumi.Input[str], resource_group: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat("/subscriptions/", subscription_id, "/resourceGroups/", resource_group)


def custom_role(name: str, plan: Plan, *, role: str, description: str, actions: Sequence[str],
                scope: pulumi.Input[str], not_actions: Sequence[str] = (),
                opts: pulumi.ResourceOptions) -> authorization.RoleDefinition:
    """A custom role `<prefix> <role>` assignable within `scope` (the platform's resource group)."""
    return authorization.RoleDefinition(
        name,
        authorization.RoleDefinitionArgs(
            role_definition_id=role_definition_guid(plan, role),
            role_name=f"{plan.prefix} {role}",
            description=description,
            role_type="CustomRole",
            scope=scope,
            assignable_scopes=[scope],
            permissions=[authorization.PermissionArgs(actions=sorted(actions), not_actions=sorted(not_actions))],
        ),
        opts=opts,
    )


def assign(name: str, plan: Plan, *, role: authorization.RoleDefinition, role_key: str, principal: Principal,
           scope: pulumi.Input[str], target: str, description: str,
           opts: pulumi.ResourceOptions) -> authorization.RoleAssignment:
    """Give one principal the custom role `role_key` on one scope (stable GUID per environment, role, target
    and principal)."""
    return authorization.RoleAssignment(
        name,
        authorization.RoleAssignmentArgs(
            role_assignment_name=role_assignment_name(plan, role_definition_guid(plan, role_key),
                                                      f"{target}/{principal.object_id}"),
            principal_id=principal.object_id,
            principal_type=principal.type,
            role_definition_id=role.id,
            scope=scope,
            description=description,
        ),
        opts=opts,
    )
