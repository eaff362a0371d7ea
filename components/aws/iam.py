"""IAM policy documents as typed dictionaries, serialised to the JSON AWS expects, and service roles.

The SDK's PolicyDocumentArgs does not serialise lists of Outputs at this version, so documents are
built from these TypedDicts (a mistyped key is a type error) and passed as JSON strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.base import child
from mlops.plan import Plan


class Statement(TypedDict):
    Sid: NotRequired[str]
    Effect: Literal["Allow", "Deny"]
    Action: str | list[str]
    Resource: NotRequired[pulumi.Input[str] | list[pulumi.Input[str]]]
    Principal: NotRequired[str | Mapping[str, pulumi.Input[str] | Sequence[pulumi.Input[str]]]]
    Condition: NotRequired[dict[str, dict[str, Any]]]


def policy_document(*statements: Statement) -> pulumi.Output[str]:
    """A policy document (version 2012-10-17) as a JSON string Output."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def sagemaker_role(parent: pulumi.Resource, name: str, plan: Plan, account: pulumi.Input[str], description: str,
                   statements: Sequence[Statement]) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """An execution role SageMaker assumes for this account only, with exactly `statements`."""
    trust = Statement(Effect="Allow", Principal={"Service": "sagemaker.amazonaws.com"}, Action="sts:AssumeRole",
                      Condition={"StringEquals": {"aws:SourceAccount": account}})
    role = aws.iam.Role(
        f"{name}-role",
        aws.iam.RoleArgs(description=f"{plan.prefix}: {description}", assume_role_policy=policy_document(trust),
                         max_session_duration=3600, tags=dict(plan.tags)),
        opts=child(parent),
    )
    policy = aws.iam.RolePolicy(f"{name}-policy",
                                aws.iam.RolePolicyArgs(role=role.id, policy=policy_document(*statements)),
                                opts=child(parent))
    return role, policy
