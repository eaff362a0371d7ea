"""Providers are built here, by the program, and handed to the root component of each cloud."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from mlops.blueprint.model import Cloud
from mlops.plan import Plan


def _aws(plan: Plan) -> tuple[pulumi.ProviderResource, Callable[..., pulumi.ComponentResource]]:
    import pulumi_aws as aws

    from components.aws import SageMakerPlatform

    provider = aws.Provider(
        f"{plan.prefix}-aws",
        aws.ProviderArgs(
            region=plan.region,
            # Refuses to run against any other account: a prod blueprint never lands in dev.
            allowed_account_ids=[plan.account] if plan.account else None,
        ),
    )
    return provider, SageMakerPlatform


def _gcp(plan: Plan) -> tuple[pulumi.ProviderResource, Callable[..., pulumi.ComponentResource]]:
    import pulumi_gcp as gcp

    from components.gcp import VertexPlatform

    provider = gcp.Provider(f"{plan.prefix}-gcp", gcp.ProviderArgs(project=plan.account, region=plan.region))
    return provider, VertexPlatform


def _azure(plan: Plan) -> tuple[pulumi.ProviderResource, Callable[..., pulumi.ComponentResource]]:
    import pulumi_azure_native as azure_native

    from components.azure import AzureMlPlatform

    provider = azure_native.Provider(
        f"{plan.prefix}-azure",
        azure_native.ProviderArgs(location=plan.region, subscription_id=plan.account),
    )
    return provider, AzureMlPlatform


_BACK_ENDS = {Cloud.aws: _aws, Cloud.gcp: _gcp, Cloud.azure: _azure}
GCP_NEEDS_NO_DEFERRAL = (
    "mlops:endpoints: 'defer' is not needed on GCP: Vertex AI endpoints are created without a model and "
    "the deployer deploys the first approved version, so the first `pulumi up` works before any model "
    "exists; remove the setting (pulumi config rm mlops:endpoints)")


def build_platform(plan: Plan, *, defer_endpoints: bool = False) -> dict[str, pulumi.Output[str]]:
    """Create the provider and the cloud's root component; return the stack outputs.

    `defer_endpoints` (stack setting `mlops:endpoints: defer`) leaves out, for a first deployment,
    what needs a trained model: SageMaker endpoints on AWS, Azure ML deployments on Azure. On GCP
    nothing does (Vertex endpoints exist without a model; the deployer deploys the first approved
    version), so the setting is refused there rather than silently ignored.
    """
    if defer_endpoints and plan.cloud == Cloud.gcp:
        raise pulumi.RunError(GCP_NEEDS_NO_DEFERRAL)
    provider, root = _BACK_ENDS[plan.cloud](plan)
    options = pulumi.ResourceOptions(providers=[provider])
    platform = root(plan.prefix, plan, defer_endpoints=True, opts=options) if defer_endpoints \
        else root(plan.prefix, plan, opts=options)
    return dict(platform.outputs)  # type: ignore[attr-defined]
