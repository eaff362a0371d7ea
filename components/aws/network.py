"""AWS network: where jobs, models, endpoints and the tracking server run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class VpcConfig:
    """The subnets and security groups SageMaker resources attach to (None when not isolated)."""

    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
