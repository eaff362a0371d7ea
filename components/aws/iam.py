"""IAM policy documents as typed dictionaries, serialised to the JSON AWS expects.

The SDK's PolicyDocumentArgs does not serialise lists of Outputs at this version, so documents are
built from these TypedDicts (a mistyped key is a type error) and passed as JSON strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict

import pulumi


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
