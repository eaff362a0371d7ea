"""What the GCP platform back end (network, tracking, feature store, governance, cost) can honour (no pulumi).

Facts behind the table:

- Vertex AI Feature Store serves online features from BigQuery tables or views: an online store without
  the offline (BigQuery) tables has nothing to sync from.
- The freshness alert is a Cloud Monitoring metric-absence condition, whose absence window is at most
  23.5 hours.
- An existing network (`network.vpc`) hosts the platform in one of its subnets: at least one is named.
  Network and subnetwork names are RFC 1035 labels (a-z, 0-9, `-`, at most 63 characters), or resource
  paths built of them and the host project's id; only those are accepted, because the name reaches the
  pipeline spec (where KFP resolves `{{$…}}`) and workflow sources (where Workflows evaluates `${…}`)
  verbatim.
- A created platform network gives the second half of `network.cidr` to private services access (Vertex
  training and pipeline jobs peer through it), and Service Networking takes ranges of /24 or larger.
- A Cloud Billing budget notifies at most five Cloud Monitoring notification channels; budget alerts go to
  the warning routes.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from mlops.blueprint.model import Severity

from .types import Unsupported

if TYPE_CHECKING:
    from mlops.plan.model import Plan

MAX_ABSENCE_MINUTES = 1410
"""Cloud Monitoring's longest metric-absence window (23.5 hours)."""
MAX_BUDGET_CHANNELS = 5
_LABEL = r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?"
_PROJECT = r"[a-z][-a-z0-9]{4,28}[a-z0-9]"
NETWORK_NAME = re.compile(rf"{_LABEL}|projects/{_PROJECT}/global/networks/{_LABEL}")
SUBNETWORK_NAME = re.compile(rf"{_LABEL}|projects/{_PROJECT}/regions/[a-z]+-[a-z]+[0-9]+/subnetworks/{_LABEL}")


def platform(plan: Plan) -> list[Unsupported]:
    """Every platform setting of a GCP plan that the Vertex AI back end cannot honour."""
    found: list[Unsupported] = []
    store = plan.feature_store
    if store is not None and store.online and not store.offline:
        found.append(Unsupported(
            ("feature_store", "offline"), "Vertex AI Feature Store syncs online features from the BigQuery "
            "offline tables: an online store needs them", "False", "true (or online: false)"))
    sla = store.freshness_sla_minutes if store is not None else None
    # The plan keeps the SLA only where the freshness alert is on.
    if sla is not None and sla > MAX_ABSENCE_MINUTES:
        found.append(Unsupported(
            ("feature_store", "freshness_sla_minutes"), "the freshness alert is a Cloud Monitoring metric-absence "
            "condition, which looks back at most 23.5 hours", str(sla), f"<= {MAX_ABSENCE_MINUTES}"))
    if plan.network.existing_vpc is not None and not plan.network.subnets:
        found.append(Unsupported(
            ("environments", plan.environment, "network", "subnets"), "the platform runs in a subnet of the "
            "named network: name at least one (in the environment's region)", "[]",
            "a subnetwork name or projects/<p>/regions/<r>/subnetworks/<name>"))
    found += _network_names(plan)
    net = plan.network
    if net.isolated and net.existing_vpc is None and ipaddress.ip_network(net.cidr, strict=False).prefixlen > 23:
        found.append(Unsupported(
            ("environments", plan.environment, "network", "cidr"), "the platform network reserves the second half "
            "of its range for Vertex AI's private services access, which needs at least a /24", net.cidr,
            "a /23 or larger range (e.g. 10.40.0.0/16)"))
    warning_routes = [r for r in plan.alerts if r.severity == Severity.warning]
    if plan.cost is not None and len(warning_routes) > MAX_BUDGET_CHANNELS:
        found.append(Unsupported(
            ("alerts",), "budget alerts go to the warning routes, and a Cloud Billing budget notifies at most "
            f"{MAX_BUDGET_CHANNELS} channels", f"{len(warning_routes)} warning routes",
            f"<= {MAX_BUDGET_CHANNELS} routes with severity warning"))
    return found


def _network_names(plan: Plan) -> list[Unsupported]:
    """An existing network and its subnets must be GCP names (see the module doc: they reach documents verbatim)."""
    at = ("environments", plan.environment, "network")
    found: list[Unsupported] = []
    vpc = plan.network.existing_vpc
    if vpc is not None and not NETWORK_NAME.fullmatch(vpc):
        found.append(Unsupported((*at, "vpc"), "not a GCP VPC network name", repr(vpc),
                                 "a network name (a-z, 0-9, -) or projects/<host project>/global/networks/<name>"))
    for i, subnet in enumerate(plan.network.subnets):
        if not SUBNETWORK_NAME.fullmatch(subnet):
            found.append(Unsupported((*at, "subnets", i), "not a GCP subnetwork name", repr(subnet),
                                     "a subnetwork name (a-z, 0-9, -) or projects/<p>/regions/<r>/subnetworks/<name>"))
    return found
