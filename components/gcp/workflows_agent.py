"""The Cloud Workflows service agent's use of the platform key (every CMEK workflow needs it)."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .foundation import KEY_USER_ROLE

WORKFLOWS_API = "workflows.googleapis.com"


@builds(Capability.foundation)
class GcpWorkflowsAgent(pulumi.ComponentResource):
    """Lets Cloud Workflows encrypt workflow sources and execution data with the platform key.

    Creates: `-agent` (projects.ServiceIdentity: makes sure the Workflows service agent exists) and
    `-key` (the agent may encrypt and decrypt with the platform key). Created once per platform;
    every workflow with `crypto_key_name` (the deployers, quality checks, the pipelines area's
    promotion and retraining workflows) lists `key_grant` in its depends_on.

    Outputs: member (the agent's IAM member).
    """

    key_grant: gcp.kms.CryptoKeyIAMMember

    def __init__(self, name: str, plan: Plan, *, kms_key_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}GcpWorkflowsAgent", name, None, opts)
        agent = gcp.projects.ServiceIdentity(
            f"{name}-agent", gcp.projects.ServiceIdentityArgs(service=WORKFLOWS_API, project=plan.account),
            opts=child(self))
        self.key_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-key",
            gcp.kms.CryptoKeyIAMMemberArgs(crypto_key_id=kms_key_id, role=KEY_USER_ROLE, member=agent.member),
            opts=child(self),
        )
        self.register_outputs({"member": agent.member})
