"""The project a GCP stack deploys into (project-level IAM, audit configs and budgets need its id)."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlops.plan import Plan


def project_id(plan: Plan, parent: pulumi.Resource) -> pulumi.Input[str]:
    """The environment's project: the blueprint's `account`, else the provider's configured project."""
    if plan.account:
        return plan.account
    # No account in the blueprint: the stack's `gcp:project` setting decides, as for every other resource.
    return gcp.organizations.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=parent)).project
