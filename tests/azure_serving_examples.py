"""The example blueprints moved to `cloud: azure`, for the Azure serving tests (written once per run).

The AWS and GCP examples exercise what the Azure example does not (real-time serving, canary, shadow,
psi and Jensen-Shannon drift, latency SLAs, PagerDuty and Slack routes, an online feature store).
Moving one changes only what is cloud-specific: the provider and region, subscription ids, and
principals (Entra ID object ids on Azure, derived deterministically from the original names); sweeps
are left out (their Azure limits belong to the pipeline tests).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SUBSCRIPTIONS = {"dev": "11111111-1111-4111-8111-111111111111", "staging": "22222222-2222-4222-8222-222222222222",
                 "prod": "33333333-3333-4333-8333-333333333333"}
DIRECTORY = Path(tempfile.gettempdir()) / "mlops-azure-serving-examples"


def _object_id(principal: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mlops-test-principal/{principal}"))


def as_azure(doc: dict[str, Any]) -> dict[str, Any]:
    """A blueprint document moved to Azure (westeurope)."""
    doc = dict(doc)
    doc["cloud"] = {"provider": "azure", "region": "westeurope"}
    for env, spec in (doc.get("environments") or {}).items():
        spec["account"] = SUBSCRIPTIONS[env]
        spec.pop("network", None)
    (doc.get("cost") or {}).pop("billing_account", None)
    governance = doc.get("governance") or {}
    roles = governance.get("roles") or {}
    for key in list(roles):
        if isinstance(roles[key], list):
            roles[key] = [_object_id(p) for p in roles[key]]
        else:
            del roles[key]  # settings of other clouds (e.g. a GCP group domain)
    for approval in (governance.get("approvals") or {}).values():
        approval["approvers"] = [_object_id(p) for p in approval["approvers"]]
    for model in doc.get("models") or []:
        # Sweeps have their own Azure limits (search spaces per framework), tested with the pipelines;
        # these copies exercise serving.
        (model.get("training") or {}).pop("hyperparameter_search", None)
    return doc


def azure_example(source: str) -> str:
    """Path of `source` (repository-relative) moved to Azure; the same path for the whole run."""
    doc = as_azure(yaml.safe_load((ROOT / source).read_text()))
    DIRECTORY.mkdir(parents=True, exist_ok=True)
    path = DIRECTORY / Path(source).name.replace("-aws", "-azure").replace("-gcp", "-azure")
    text = yaml.safe_dump(doc, sort_keys=False)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return str(path)


def write_variant(doc: dict[str, Any], directory: Path) -> str:
    path = directory / "variant.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)
