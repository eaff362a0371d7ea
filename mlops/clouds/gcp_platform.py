"""What the GCP platform back end (network, tracking, feature store, governance, cost) can honour (no pulumi).

Facts behind the table:

- Vertex AI Feature Store serves online features from BigQuery tables or views: an online store without
  the offline (BigQuery) tables has nothing to sync from.
- The freshness alert is a Cloud Monitoring metric-absence condition, whose absence window is at most
  23.5 hours.
- An existing network (`network.vpc`) hosts the platform in one of its subnets: at least one is named.
- A Cloud Billing budget notifies at most five Cloud Monitoring notification channels; budget alerts go to
  the warning routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops.blueprint.model import Severity

from .types import Unsupported

if TYPE_CHECKING:
    from mlops.plan.model import Plan

MAX_ABSENCE_MINUTES = 1410
"""Cloud Monitoring's longest metric-absence window (23.5 hours)."""
MAX_BUDGET_CHANNELS = 5


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
    warning_routes = [r for r in plan.alerts if r.severity == Severity.warning]
    if plan.cost is not None and len(warning_routes) > MAX_BUDGET_CHANNELS:
        found.append(Unsupported(
            ("alerts",), "budget alerts go to the warning routes, and a Cloud Billing budget notifies at most "
            f"{MAX_BUDGET_CHANNELS} channels", f"{len(warning_routes)} warning routes",
            f"<= {MAX_BUDGET_CHANNELS} routes with severity warning"))
    return found
