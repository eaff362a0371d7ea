"""Accounts for test blueprints: staging and prod must name theirs (plan error otherwise), per cloud.

`pinned(doc)` gives every environment of a blueprint document (all three when it lists none) the test
account of its cloud, replacing any account of another cloud (tests that move an example to another cloud).
"""

from __future__ import annotations

import copy
from typing import Any

ACCOUNTS: dict[str, dict[str, str]] = {
    "aws": {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"},
    "gcp": {"dev": "acme-ml-dev", "staging": "acme-ml-staging", "prod": "acme-ml-prod"},
    "azure": {"dev": "00000000-0000-4000-8000-000000000001", "staging": "00000000-0000-4000-8000-000000000002",
              "prod": "00000000-0000-4000-8000-000000000003"},
}


def environments(cloud: str, *names: str) -> dict[str, dict[str, Any]]:
    """`environments` for a blueprint of `cloud` (default: dev, staging and prod), each with its account."""
    return {name: {"account": ACCOUNTS[cloud][name]} for name in names or ("dev", "staging", "prod")}


def pinned(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a blueprint document whose environments carry the test accounts of its cloud."""
    doc = copy.deepcopy(doc)
    cloud = doc["cloud"]["provider"]
    envs = doc.get("environments") or {name: {} for name in ("dev", "staging", "prod")}
    doc["environments"] = {name: {**(spec or {}), "account": ACCOUNTS[cloud][name]} for name, spec in envs.items()}
    return doc
