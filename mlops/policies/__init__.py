"""Policy rules (pulumi_policy objects) for every cloud, and their offline evaluation.

`policies/__main__.py` wraps ALL_POLICIES in a PolicyPack for `pulumi preview --policy-pack policies`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .aws import AWS_POLICIES
from .aws_pipeline import AWS_PIPELINE_POLICIES
from .aws_platform import AWS_PLATFORM_POLICIES
from .aws_serving import AWS_SERVING_POLICIES
from .azure import AZURE_POLICIES
from .azure_platform import AZURE_PLATFORM_POLICIES
from .azure_serving import AZURE_SERVING_POLICIES
from .engine import Violation, policy_resources, run_policies
from .gcp import GCP_POLICIES
from .gcp_pipeline import GCP_PIPELINE_POLICIES
from .gcp_platform import GCP_PLATFORM_POLICIES
from .gcp_serving import GCP_SERVING_POLICIES

if TYPE_CHECKING:
    from mlops.plan import Plan
    from mlops.synth.recorder import Recorded

ALL_POLICIES = [
    *AWS_POLICIES,
    *AWS_PIPELINE_POLICIES,
    *AWS_SERVING_POLICIES,
    *AWS_PLATFORM_POLICIES,
    *GCP_POLICIES,
    *GCP_PIPELINE_POLICIES,
    *GCP_SERVING_POLICIES,
    *GCP_PLATFORM_POLICIES,
    *AZURE_POLICIES,
    *AZURE_PLATFORM_POLICIES,
    *AZURE_SERVING_POLICIES,
]


def evaluate(records: Sequence[Recorded], plan: Plan | None = None) -> list[Violation]:
    """Every violation of ALL_POLICIES on a recorded stack."""
    return run_policies(ALL_POLICIES, policy_resources(records))


__all__ = ["ALL_POLICIES", "Violation", "evaluate"]
