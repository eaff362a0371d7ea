"""The mlops-blueprints policy rules: `pulumi_policy` objects for AWS, GCP and Azure.

This package is the whole rule set and depends on `pulumi_policy` only (see ../requirements.txt), so
the pack folder it lives in can be installed and published on its own. The pack's `__main__.py`
wraps ALL_POLICIES in a PolicyPack for `pulumi preview --policy-pack policies`; `mlops synth`
evaluates the very same objects offline (through `mlops.policies`).
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from .aws import AWS_POLICIES
from .aws_pipeline import AWS_PIPELINE_POLICIES
from .aws_platform import AWS_PLATFORM_POLICIES
from .aws_serving import AWS_SERVING_POLICIES
from .azure import AZURE_POLICIES
from .azure_platform import AZURE_PLATFORM_POLICIES
from .azure_serving import AZURE_SERVING_POLICIES
from .gcp import GCP_POLICIES
from .gcp_pipeline import GCP_PIPELINE_POLICIES
from .gcp_platform import GCP_PLATFORM_POLICIES
from .gcp_serving import GCP_SERVING_POLICIES

ALL_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
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

__all__ = ["ALL_POLICIES"]
