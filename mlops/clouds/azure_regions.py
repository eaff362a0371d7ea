"""Azure region pairs (no pulumi import): where the production model registry keeps its second replica.

Azure pairs most regions with another in the same geography (Microsoft's "Azure region pairs" list);
a prod Azure ML registry replicates to the pair of the platform's region. Regions without a pair here
are a plan error in production (mlops.clouds.azure.platform), never a silent single-region registry.
"""

from __future__ import annotations

_PAIRS: tuple[tuple[str, str], ...] = (
    ("eastus", "westus"),
    ("eastus2", "centralus"),
    ("westus2", "westcentralus"),
    ("westus3", "eastus"),
    ("northcentralus", "southcentralus"),
    ("canadacentral", "canadaeast"),
    ("brazilsouth", "southcentralus"),
    ("northeurope", "westeurope"),
    ("uksouth", "ukwest"),
    ("francecentral", "francesouth"),
    ("germanywestcentral", "germanynorth"),
    ("switzerlandnorth", "switzerlandwest"),
    ("norwayeast", "norwaywest"),
    ("swedencentral", "swedensouth"),
    ("australiaeast", "australiasoutheast"),
    ("japaneast", "japanwest"),
    ("koreacentral", "koreasouth"),
    ("southeastasia", "eastasia"),
    ("centralindia", "southindia"),
    ("southafricanorth", "southafricawest"),
    ("uaenorth", "uaecentral"),
)

def _pairs() -> dict[str, str]:
    # Each pair works both ways, except where Azure pairs asymmetrically (westus3 → eastus, brazilsouth →
    # southcentralus): the partner keeps its own, first-listed pair.
    pairs: dict[str, str] = {}
    for a, b in _PAIRS:
        pairs.setdefault(a, b)
        pairs.setdefault(b, a)
    return pairs


AZURE_PAIRED_REGIONS: dict[str, str] = _pairs()
"""Region → its paired region."""


def paired_region(region: str) -> str | None:
    """The region Azure pairs with `region`, or None when it has no pair (in this table)."""
    return AZURE_PAIRED_REGIONS.get(region)
