"""GCP network: where Vertex jobs, pipelines and private endpoints reach Google APIs without the internet."""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .foundation import fit_name
from .project import project_id

NAME_MAX = 63
# private.googleapis.com: the VIPs Private Google Access answers on (reachable without internet access).
PRIVATE_GOOGLE_APIS = "199.36.153.8/30"
PRIVATE_GOOGLE_APIS_IPS = ("199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11")
# Service class under which Vertex AI creates Private Service Connect endpoints for private online
# prediction endpoints (PSC automation), inside the subnets a service connection policy names.
VERTEX_SERVICE_CLASS = "gcp-vertexai"
HTTPS = "443"
# Private services access: Vertex jobs and pipelines (CustomJob / PipelineJob `network`) run in Google's
# producer network, peered to this one through Service Networking over a range reserved here.
SERVICE_NETWORKING = "servicenetworking.googleapis.com"
# Firewall priorities: explicit allows win over the explicit denies, which win over GCP's implied rules.
ALLOW_PRIORITY = 1000
DENY_PRIORITY = 65534
FLOW_SAMPLING = 0.5


def subnet_cidr(cidr: str) -> str:
    """The platform subnet: the first quarter of the plan's range (a /16 gives a /18)."""
    return str(next(ipaddress.ip_network(cidr).subnets(prefixlen_diff=2)))


def peering_cidr(cidr: str) -> str:
    """The range reserved for private services access: the second half of the plan's range (the platform
    subnet is its first quarter); the plan refuses a range whose half is smaller than Vertex's minimum /24."""
    return str(list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=1))[1])


def network_project(plan: Plan, network: str) -> str | None:
    """The project that owns a network named in the blueprint (None: the plan's, or the provider's)."""
    return network.split("/")[1] if network.startswith("projects/") else plan.account


def vertex_network(number: str, network_name: str) -> str:
    """A network as Vertex's `network` fields take it: by project NUMBER (CustomJobSpec, PipelineJob)."""
    return f"projects/{number}/global/networks/{network_name}"


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
    Access (a platform must not rewrite a shared network's rules) and must have configured private
    services access on it (a range reserved for and a Service Networking connection to
    servicenetworking.googleapis.com): Vertex jobs and pipelines peer with it.

    Otherwise it creates `-vpc` (custom subnets, regional routing, the default internet route deleted on
    creation), `-subnet` (the first quarter of the plan's range in the plan's region, Private Google
    Access on, VPC flow logs with all metadata), `-googleapis-route` (the only route out: to the
    private.googleapis.com VIPs, which never leave Google's network), `-googleapis-dns` (private zone for
    googleapis.com on this network) with `-googleapis-a` and `-googleapis-cname` (every *.googleapis.com
    name resolves to those VIPs), firewall `-deny-ingress` and `-deny-egress` (everything, logged),
    `-allow-internal` (traffic inside the subnet: distributed training) and `-allow-googleapis` (HTTPS
    to the VIPs). In production, `-vertex-psc` (service connection policy: Vertex AI may create Private
    Service Connect endpoints for private prediction endpoints in the subnet, so endpoints are served
    on internal addresses only). For private services access, which Vertex training and pipeline jobs
    need to run in the network: `-vertex-range` (compute.GlobalAddress, purpose VPC_PEERING, the second
    half of the plan's range) and `-vertex-peering` (servicenetworking.Connection to
    servicenetworking.googleapis.com over that range; the Service Networking API must be enabled, as the
    other APIs the platform uses).

    Peering rather than a Private Service Connect interface: every Vertex job kind the platform submits
    (CustomJob, HyperparameterTuningJob, PipelineJob and the jobs a pipeline launches) takes `network`,
    and one connection serves them all; a PSC interface needs a network attachment per region and is
    set per job (`pscInterfaceConfig`), which the pipeline's launchers would each have to carry.

    Outputs: network_id, subnet_id (resource paths / self links), vertex_network
    (`projects/<project number>/global/networks/<name>`: the form Vertex's `network` fields take, the
    number read from the cloud).
    """

    network_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]
    vertex_network: pulumi.Output[str]
    psc_policy: gcp.networkconnectivity.ServiceConnectionPolicy | None
    """Vertex PSC automation policy (production, created network); private endpoints depend on it."""
    peering: gcp.servicenetworking.Connection | None
    """Private services access of a created network; Vertex jobs in the network depend on it."""

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}GcpNetwork", name, None, opts)
        net = plan.network
        self.psc_policy = None
        self.peering = None
        if net.existing_vpc:
            self.network_id = pulumi.Output.from_input(network_path(plan, net.existing_vpc))
            # The plan's rules require subnets with an existing network; the first hosts the platform.
            self.subnet_id = pulumi.Output.from_input(subnet_path(plan, net.subnets[0]) if net.subnets else "")
            owner = network_project(plan, net.existing_vpc)
            self.vertex_network = self._number(plan, owner).apply(
                lambda n, vpc=net.existing_vpc: vertex_network(n, vpc.rsplit("/", 1)[-1]))
            self.register_outputs({"network_id": self.network_id, "subnet_id": self.subnet_id,
                                   "vertex_network": self.vertex_network})
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
        peering_range = peering_cidr(net.cidr)
        reserved = gcp.compute.GlobalAddress(
            f"{name}-vertex-range",
            gcp.compute.GlobalAddressArgs(
                name=fit_name(f"{plan.prefix}-vertex-psa", NAME_MAX), project=plan.account,
                purpose="VPC_PEERING", address_type="INTERNAL", network=vpc.id,
                address=str(ipaddress.ip_network(peering_range).network_address),
                prefix_length=ipaddress.ip_network(peering_range).prefixlen,
                description=f"{plan.prefix}: private services access range for Vertex AI jobs and pipelines",
            ),
            opts=child(self),
        )
        self.peering = gcp.servicenetworking.Connection(
            f"{name}-vertex-peering",
            gcp.servicenetworking.ConnectionArgs(
                network=vpc.id, service=SERVICE_NETWORKING, reserved_peering_ranges=[reserved.name]),
            opts=child(self),
        )
        self.network_id = vpc.id
        self.subnet_id = subnet.id
        # Through the connection's id: whatever runs a Vertex job in the network waits for the peering.
        self.vertex_network = pulumi.Output.all(self._number(plan, plan.account), vpc.name, self.peering.id).apply(
            lambda v: vertex_network(v[0], v[1]))
        self.register_outputs({"network_id": self.network_id, "subnet_id": self.subnet_id,
                               "vertex_network": self.vertex_network})

    def _number(self, plan: Plan, project: str | None) -> pulumi.Output[str]:
        """A project's number, from the cloud (the stack's project when None)."""
        return gcp.organizations.get_project_output(
            project_id=project if project is not None else project_id(plan, self),
            opts=pulumi.InvokeOutputOptions(parent=self)).number

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
