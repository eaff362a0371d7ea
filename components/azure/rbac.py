"""Azure RBAC grants for the platform identity: built-in roles by their well-known ids."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from mlops.plan import Plan

from .naming import role_assignment_name

# Built-in role definitions (the same GUID in every tenant).
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def grant(name: str, plan: Plan, *, role: str, principal_id: pulumi.Input[str], scope: pulumi.Input[str],
          subscription_id: pulumi.Input[str], target: str, description: str,
          opts: pulumi.ResourceOptions) -> azure_native.authorization.RoleAssignment:
    """Give a managed identity one built-in role on one scope.

    The assignment's name is a GUID derived from (environment, role, target), so it is stable.
    `principal_type` is set so that Azure does not look the new identity up in Entra ID first
    (which fails for a few minutes after the identity is created).
    """
    return azure_native.authorization.RoleAssignment(
        name,
        azure_native.authorization.RoleAssignmentArgs(
            role_assignment_name=role_assignment_name(plan, role, target),
            principal_id=principal_id,
            principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=pulumi.Output.concat(
                "/subscriptions/", subscription_id,
                "/providers/Microsoft.Authorization/roleDefinitions/", role),
            scope=scope,
            description=description,
        ),
        opts=opts,
    )
