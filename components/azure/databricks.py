"""Azure Databricks for data engineering, linked to the Azure ML workspace."""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Plan

from .foundation import KEY_NAME
from .naming import global_name

databricks = azure_native.databricks
network = azure_native.network
privatedns = azure_native.privatedns

DELEGATION = "Microsoft.Databricks/workspaces"
PRIVATE_DNS_ZONE = "privatelink.azuredatabricks.net"
SUBNETS = ("host", "container", "endpoints")
"""The network's range in quarters: Databricks' host (public) and container (private) subnets, and one for
private endpoints (the fourth quarter stays free)."""


def subnet_ranges(cidr: str) -> dict[str, str]:
    """The first three quarters of the platform range, by subnet."""
    quarters = ipaddress.ip_network(cidr).subnets(prefixlen_diff=2)
    return {name: str(net) for name, net in zip(SUBNETS, quarters, strict=False)}


@builds()
class AzureDatabricks(pulumi.ComponentResource):
    """An Azure Databricks workspace (premium) for the blueprint's data engineering, linked to Azure ML.

    Always: premium SKU, secure cluster connectivity (no public IPs on cluster nodes), linked to the
    Azure ML workspace (`amlWorkspaceId`: Databricks runs log to the Azure ML workspace's MLflow).
    Where the network is isolated (staging, prod) it is injected into a platform network and reached
    only privately:

    - `-nsg` (network security group; Databricks manages its rules) and `-vnet` (the plan's range:
      `host` and `container` subnets delegated to Databricks, an `endpoints` subnet).
    - `-workspace` with public network access disabled and no Azure Databricks NSG rules (clusters
      reach the control plane over back-end Private Link).
    - `-endpoint` (private endpoint, `databricks_ui_api`), `-dns` (private zone
      privatelink.azuredatabricks.net), `-dns-link` (to the network) and `-dns-group` (records).

    Elsewhere `-workspace` keeps public network access (no network to reach it privately from).
    In production the workspace encrypts managed services and managed disks with the foundation's key
    and requires infrastructure encryption; the AzureDatabricks first-party application must be granted
    Key Vault Crypto Service Encryption User on the vault once per tenant (its object id differs per
    tenant; README, Azure table, Databricks row).

    Outputs: `workspace` (the resource), `url` (workspace URL), `id`.
    """

    def __init__(self, name: str, plan: Plan, *, resource_group_name: pulumi.Input[str],
                 subscription_id: pulumi.Input[str], ml_workspace_id: pulumi.Input[str],
                 key_version: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureDatabricks", name, None, opts)
        tags = azure_tags(plan.tags)
        isolated = plan.network.isolated
        vault_uri = f"https://{global_name(plan)}.vault.azure.net/"

        vnet: network.VirtualNetwork | None = None
        if isolated:
            nsg = network.NetworkSecurityGroup(
                f"{name}-nsg",
                network.NetworkSecurityGroupInitArgs(resource_group_name=resource_group_name,
                                                 network_security_group_name=f"{plan.prefix}-databricks-nsg",
                                                 location=plan.region, tags=tags),
                opts=child(self))
            ranges = subnet_ranges(plan.network.cidr)
            delegated = [network.DelegationArgs(name="databricks", service_name=DELEGATION)]
            vnet = network.VirtualNetwork(
                f"{name}-vnet",
                network.VirtualNetworkInitArgs(
                    resource_group_name=resource_group_name,
                    virtual_network_name=f"{plan.prefix}-databricks-vnet",
                    location=plan.region,
                    address_space=network.AddressSpaceArgs(address_prefixes=[plan.network.cidr]),
                    subnets=[
                        *(network.SubnetArgs(name=subnet, address_prefix=ranges[subnet], delegations=delegated,
                                             network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
                                             default_outbound_access=False)
                          for subnet in ("host", "container")),
                        network.SubnetArgs(name="endpoints", address_prefix=ranges["endpoints"],
                                           default_outbound_access=False),
                    ],
                    tags=tags,
                ),
                opts=child(self))

        parameters = databricks.WorkspaceCustomParametersArgs(
            enable_no_public_ip=databricks.WorkspaceNoPublicIPBooleanParameterArgs(value=True),
            aml_workspace_id=databricks.WorkspaceCustomStringParameterArgs(value=ml_workspace_id),
            require_infrastructure_encryption=databricks.WorkspaceCustomBooleanParameterArgs(value=True)
            if plan.production else None,
            custom_virtual_network_id=databricks.WorkspaceCustomStringParameterArgs(value=vnet.id) if vnet else None,
            custom_public_subnet_name=databricks.WorkspaceCustomStringParameterArgs(value="host") if vnet else None,
            custom_private_subnet_name=databricks.WorkspaceCustomStringParameterArgs(value="container")
            if vnet else None,
        )
        encryption = databricks.WorkspacePropertiesEncryptionArgs(
            entities=databricks.EncryptionEntitiesDefinitionArgs(
                managed_services=databricks.EncryptionV2Args(
                    key_source=databricks.EncryptionKeySource.MICROSOFT_KEYVAULT,
                    key_vault_properties=databricks.EncryptionV2KeyVaultPropertiesArgs(
                        key_name=KEY_NAME, key_vault_uri=vault_uri, key_version=key_version)),
                managed_disk=databricks.ManagedDiskEncryptionArgs(
                    key_source=databricks.EncryptionKeySource.MICROSOFT_KEYVAULT,
                    key_vault_properties=databricks.ManagedDiskEncryptionKeyVaultPropertiesArgs(
                        key_name=KEY_NAME, key_vault_uri=vault_uri, key_version=key_version),
                    rotation_to_latest_key_version_enabled=True),
            )) if plan.production else None
        self.workspace = databricks.Workspace(
            f"{name}-workspace",
            databricks.WorkspaceArgs(
                resource_group_name=resource_group_name,
                workspace_name=f"{plan.prefix}-databricks",
                location=plan.region,
                sku=databricks.SkuArgs(name="premium"),
                managed_resource_group_id=pulumi.Output.concat(
                    "/subscriptions/", subscription_id, f"/resourceGroups/{plan.prefix}-databricks-managed-rg"),
                parameters=parameters,
                public_network_access=databricks.PublicNetworkAccess.DISABLED if isolated
                else databricks.PublicNetworkAccess.ENABLED,
                required_nsg_rules=databricks.RequiredNsgRules.NO_AZURE_DATABRICKS_RULES if isolated
                else databricks.RequiredNsgRules.ALL_RULES,
                encryption=encryption,
                tags=tags,
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )

        if vnet is not None:
            endpoint = network.PrivateEndpoint(
                f"{name}-endpoint",
                network.PrivateEndpointArgs(
                    resource_group_name=resource_group_name,
                    private_endpoint_name=f"{plan.prefix}-databricks-endpoint",
                    location=plan.region,
                    subnet=network.SubnetArgs(id=pulumi.Output.concat(vnet.id, "/subnets/endpoints")),
                    private_link_service_connections=[network.PrivateLinkServiceConnectionArgs(
                        name="databricks-ui-api", private_link_service_id=self.workspace.id,
                        group_ids=["databricks_ui_api"])],
                    tags=tags,
                ),
                opts=child(self))
            zone = privatedns.PrivateZone(
                f"{name}-dns",
                privatedns.PrivateZoneArgs(resource_group_name=resource_group_name, private_zone_name=PRIVATE_DNS_ZONE,
                                           location="global", tags=tags),
                opts=child(self))
            privatedns.VirtualNetworkLink(
                f"{name}-dns-link",
                privatedns.VirtualNetworkLinkArgs(
                    resource_group_name=resource_group_name, private_zone_name=PRIVATE_DNS_ZONE,
                    virtual_network_link_name=f"{plan.prefix}-databricks", location="global",
                    registration_enabled=False, virtual_network=privatedns.SubResourceArgs(id=vnet.id), tags=tags),
                opts=child(self, depends_on=[zone]))
            network.PrivateDnsZoneGroup(
                f"{name}-dns-group",
                network.PrivateDnsZoneGroupArgs(
                    resource_group_name=resource_group_name,
                    private_endpoint_name=f"{plan.prefix}-databricks-endpoint",
                    private_dns_zone_group_name="default",
                    private_dns_zone_configs=[network.PrivateDnsZoneConfigArgs(name="databricks",
                                                                               private_dns_zone_id=zone.id)],
                ),
                opts=child(self, depends_on=[endpoint]))

        self.id: pulumi.Output[str] = self.workspace.id
        self.url: pulumi.Output[str] = self.workspace.workspace_url
        self.register_outputs({"id": self.id})
