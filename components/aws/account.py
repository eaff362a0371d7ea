"""The account a stack deploys to, and ARNs built in it (for policies that name what is not in the stack)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops.plan import Plan

from .names import partition


def account_id(plan: Plan, parent: pulumi.Resource) -> pulumi.Input[str]:
    """The environment's account id: the blueprint's `account`, else asked of STS through the stack's provider.

    Only blueprints without an account pay for the look-up (an invoke, answered by the mocks offline).
    """
    if plan.account:
        return plan.account
    return aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id


def account_arn(plan: Plan, account: pulumi.Input[str], service: str, resource: str, *,
        regional: bool = True) -> pulumi.Output[str]:
    """`arn:<partition>:<service>:<region>:<account>:<resource>` (IAM ARNs are not regional)."""
    region = plan.region if regional else ""
    return pulumi.Output.concat("arn:", partition(plan.region), ":", service, ":", region, ":", account, ":",
                                resource)
