"""GCP network: where Vertex jobs, pipelines and private endpoints reach Google APIs without the internet."""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .foundation import fit_name

NAME_MAX = 63
# private.googleapis.com: the VIPs Private Google Access answers on (reachable without internet access).
PRIVATE_GOOGLE_APIS = "199.36.153.8/30"
PRIVATE_GOOGLE_APIS_IPS = ("199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11")
# Service class under which Vertex AI creates Private Service Connect endpoints for private online
# prediction endpoints (PSC automation), inside the subnets a service connection policy names.
VERTEX_SERVICE_CLASS = "gcp-vertexai"
HTTPS = "443"
# Firewall priorities: explicit allows win over the explicit denies, which win over GCP's implied rules.
ALLOW_PRIORITY = 1000
DENY_PRIORITY = 65534
FLOW_SAMPLING = 0.5


def subnet_cidr(cidr: str) -> str:
    """The platform subnet: the first quarter of the plan's range (a /16 gives a /18)."""
    return str(next(ipaddress.ip_network(cidr).subnets(prefixlen_diff=2)))


def network_path(plan: Plan, network: str) -> str:
    """An existing network named in the blueprint as a resource path (a bare name is in the plan's project)."""
    return network if "/" in network else f"projects/{plan.account}/global/networks/{network}"


def subnet_path(plan: Plan, subnet: str) -> str:
    """An existing subnetwork as a resource path (a bare name is in the plan's project and region)."""
    return subnet if "/" in subnet else f"projects/{plan.account}/regions/{plan.region}/subnetworks/{subnet}"


@builds(Capability.foundation)
class GcpNetwork(pulumi.ComponentResource):
    """Private network for the platform: no route to the internet, Google APIs through Private Google Access.

    With `network.vpc` (an existing network, e.g. a Shared VPC) it creates nothing and uses that network
    and its first listed subnet: the network's owner keeps its routes, firewall, DNS and Private Google
    Access (a platform must not rewrite a shared network's rules).

    Otherwise it creates `-vpc` (custom subnets, regional routing, the default internet route deleted on
    creation), `-subnet` (the first quarter of the plan's range in the plan's region, Private Google
    Access on, VPC flow logs with all metadata), `-googleapis-route` (the only route out: to the
    private.googleapis.com VIPs, which never leave Google's network), `-googleapis-dns` (private zone for
    googleapis.com on this network) with `-googleapis-a` and `-googleapis-cname` (every *.googleapis.com
    name resolves to those VIPs), firewall `-deny-ingress` and `-deny-egress` (everything, logged),
    `-allow-internal` (traffic inside the subnet: distributed training) and `-allow-googleapis` (HTTPS
    to the VIPs). In production, `-vertex-psc` (service connection policy: Vertex AI may create Private
    Service Connect endpoints for private prediction endpoints in the subnet, so endpoints are served
    on internal addresses only).

    Outputs: network_id, subnet_id (resource paths / self links for Vertex's `network` settings).
    """

    network_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]
    psc_policy: gcp.networkconnectivity.ServiceConnectionPolicy | None
    """Vertex PSC automation policy (production, created network); private endpoints depend on it."""

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}GcpNetwork", name, None, opts)
        net = plan.network
        self.psc_policy = None
        if net.existing_vpc:
            self.network_id = pulumi.Output.from_input(network_path(plan, net.existing_vpc))
            # The plan's rules require subnets with an existing network; the first hosts the platform.
            self.subnet_id = pulumi.Output.from_input(subnet_path(plan, net.subnets[0]) if net.subnets else "")
            self.register_outputs({"network_id": self.network_id, "subnet_id": self.subnet_id})
            return
        labels = gcp_labels(dict(plan.tags))
        vpc = gcp.compute.Network(
            f"{name}-vpc",
            gcp.compute.NetworkArgs(
                name=fit_name(f"{plan.prefix}-vpc", NAME_MAX), project=plan.account,
                auto_create_subnetworks=False, routing_mode="REGIONAL",
                # No default route to the internet gateway: nothing in the platform needs the internet.
                delete_default_routes_on_create=True,
                description=f"{plan.prefix}: private network for Vertex AI jobs and endpoints",
            ),
            opts=child(self),
        )
        cidr = subnet_cidr(net.cidr)
        subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            gcp.compute.SubnetworkArgs(
                name=fit_name(f"{plan.prefix}-private", NAME_MAX), project=plan.account, region=plan.region,
                network=vpc.id, ip_cidr_range=cidr, private_ip_google_access=True,
                log_config=gcp.compute.SubnetworkLogConfigArgs(
                    aggregation_interval="INTERVAL_5_SEC", flow_sampling=FLOW_SAMPLING,
                    metadata="INCLUDE_ALL_METADATA"),
                description=f"{plan.prefix}: private subnet (Private Google Access, flow logs)",
            ),
            opts=child(self),
        )
        gcp.compute.Route(
            f"{name}-googleapis-route",
            gcp.compute.RouteArgs(
                network=vpc.id, project=plan.account, dest_range=PRIVATE_GOOGLE_APIS,
                next_hop_gateway="default-internet-gateway", priority=ALLOW_PRIORITY,
                name=fit_name(f"{plan.prefix}-googleapis", NAME_MAX),
                description="Private Google Access: the private.googleapis.com VIPs stay inside Google's network",
            ),
            opts=child(self),
        )
        zone = gcp.dns.ManagedZone(
            f"{name}-googleapis-dns",
            gcp.dns.ManagedZoneArgs(
                name=fit_name(f"{plan.prefix}-googleapis", NAME_MAX), project=plan.account,
                dns_name="googleapis.com.", visibility="private", labels=labels,
                description="googleapis.com on private.googleapis.com for the platform network",
                private_visibility_config=gcp.dns.ManagedZonePrivateVisibilityConfigArgs(
                    networks=[gcp.dns.ManagedZonePrivateVisibilityConfigNetworkArgs(network_url=vpc.id)]),
            ),
            opts=child(self),
        )
        gcp.dns.RecordSet(
            f"{name}-googleapis-a",
            gcp.dns.RecordSetArgs(managed_zone=zone.name, project=plan.account, name="private.googleapis.com.",
                                  type="A", ttl=300, rrdatas=list(PRIVATE_GOOGLE_APIS_IPS)),
            opts=child(self),
        )
        gcp.dns.RecordSet(
            f"{name}-googleapis-cname",
            gcp.dns.RecordSetArgs(managed_zone=zone.name, project=plan.account, name="*.googleapis.com.",
                                  type="CNAME", ttl=300, rrdatas=["private.googleapis.com."]),
            opts=child(self),
        )
        self._firewall(name, plan, vpc, cidr)
        if plan.production:
            self.psc_policy = gcp.networkconnectivity.ServiceConnectionPolicy(
                f"{name}-vertex-psc",
                gcp.networkconnectivity.ServiceConnectionPolicyArgs(
                    name=fit_name(f"{plan.prefix}-vertex-psc", NAME_MAX), project=plan.account,
                    location=plan.region, service_class=VERTEX_SERVICE_CLASS, network=vpc.id, labels=labels,
                    description="Vertex AI private endpoints get Private Service Connect addresses in the subnet",
                    psc_config=gcp.networkconnectivity.ServiceConnectionPolicyPscConfigArgs(
                        subnetworks=[subnet.id]),
                ),
                opts=child(self),
            )
        self.network_id = vpc.id
        self.subnet_id = subnet.id
        self.register_outputs({"network_id": self.network_id, "subnet_id": self.subnet_id})

    def _firewall(self, name: str, plan: Plan, vpc: gcp.compute.Network, cidr: str) -> None:
        # Deny by default in both directions (GCP's implied rules allow all egress); log what is denied.
        logged = gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA")
        everything = [gcp.compute.FirewallDenyArgs(protocol="all")]
        gcp.compute.Firewall(
            f"{name}-deny-ingress",
            gcp.compute.FirewallArgs(
                network=vpc.id, project=plan.account, name=fit_name(f"{plan.prefix}-deny-ingress", NAME_MAX),
                direction="INGRESS", priority=DENY_PRIORITY, source_ranges=["0.0.0.0/0"], denies=everything,
                log_config=logged, description="Nothing reaches the platform from outside"),
            opts=child(self),
        )
        gcp.compute.Firewall(
            f"{name}-deny-egress",
            gcp.compute.FirewallArgs(
                network=vpc.id, project=plan.account, name=fit_name(f"{plan.prefix}-deny-egress", NAME_MAX),
                direction="EGRESS", priority=DENY_PRIORITY, destination_ranges=["0.0.0.0/0"], denies=everything,
                log_config=logged, description="No egress but the explicit allows (overrides the implied allow)"),
            opts=child(self),
        )
        gcp.compute.Firewall(
            f"{name}-allow-internal",
            gcp.compute.FirewallArgs(
                network=vpc.id, project=plan.account, name=fit_name(f"{plan.prefix}-allow-internal", NAME_MAX),
                direction="INGRESS", priority=ALLOW_PRIORITY, source_ranges=[cidr],
                allows=[gcp.compute.FirewallAllowArgs(protocol="all")], log_config=logged,
                description="Workers of one job talk to one another (distributed training)"),
            opts=child(self),
        )
        gcp.compute.Firewall(
            f"{name}-allow-internal-egress",
            gcp.compute.FirewallArgs(
                network=vpc.id, project=plan.account,
                name=fit_name(f"{plan.prefix}-allow-internal-egress", NAME_MAX),
                direction="EGRESS", priority=ALLOW_PRIORITY, destination_ranges=[cidr],
                allows=[gcp.compute.FirewallAllowArgs(protocol="all")], log_config=logged,
                description="Workers of one job talk to one another (distributed training)"),
            opts=child(self),
        )
        gcp.compute.Firewall(
            f"{name}-allow-googleapis",
            gcp.compute.FirewallArgs(
                network=vpc.id, project=plan.account, name=fit_name(f"{plan.prefix}-allow-googleapis", NAME_MAX),
                direction="EGRESS", priority=ALLOW_PRIORITY, destination_ranges=[PRIVATE_GOOGLE_APIS],
                allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[HTTPS])], log_config=logged,
                description="HTTPS to Google APIs through Private Google Access"),
            opts=child(self),
        )
