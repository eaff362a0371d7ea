"""Google service agents that must use the platform key before their CMEK resources can exist."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .foundation import KEY_USER_ROLE


@builds(Capability.foundation)
class GcpServiceAgentKeyGrants(pulumi.ComponentResource):
    """Lets the service agents of some Google services encrypt and decrypt with the platform key.

    Creates, per service (e.g. `workflows`, `pubsub`, and the `without_key` ones such as `monitoring`):
    `-<service>-agent` (projects.ServiceIdentity: makes sure the service agent exists and gives its email)
    and, except for `without_key`, `-<service>-key` (CryptoKeyIAMMember:
    encrypter/decrypter on the platform key only). CMEK Workflows and Pub/Sub topics cannot be created
    before their agent may use the key: they list `grants[service]` in depends_on.

    Outputs: agents (service → agent email).
    """

    agents: dict[str, gcp.projects.ServiceIdentity]
    grants: dict[str, gcp.kms.CryptoKeyIAMMember]

    def __init__(self, name: str, plan: Plan, *, services: tuple[str, ...], kms_key_id: pulumi.Input[str],
                 without_key: tuple[str, ...] = (), opts: pulumi.ResourceOptions | None = None) -> None:
        """`without_key`: services whose agent is only needed as an IAM member (no key grant)."""
        super().__init__(f"{TYPE_PREFIX}GcpServiceAgentKeyGrants", name, None, opts)
        self.agents, self.grants = {}, {}
        for service in (*services, *without_key):
            self.agents[service] = gcp.projects.ServiceIdentity(
                f"{name}-{service}-agent",
                gcp.projects.ServiceIdentityArgs(service=f"{service}.googleapis.com", project=plan.account),
                opts=child(self))
        for service in services:
            agent = self.agents[service]
            self.grants[service] = gcp.kms.CryptoKeyIAMMember(
                f"{name}-{service}-key",
                gcp.kms.CryptoKeyIAMMemberArgs(crypto_key_id=kms_key_id, role=KEY_USER_ROLE, member=agent.member),
                opts=child(self))
        self.register_outputs({"agents": {s: a.email for s, a in self.agents.items()}})
