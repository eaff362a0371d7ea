"""What the Azure ML platform area can honour of a plan (no pulumi import).

`mlops.clouds.azure.platform` / `platform_model` return these. Azure facts behind them:

- A production Azure ML registry replicates to the Azure paired region of the platform's region
  (`mlops.clouds.azure_regions`); a region without a pair there cannot get a replicated registry.
- The Azure back end isolates with Azure ML's managed network (and Databricks' own network); it does
  not join an existing virtual network (`network.vpc`).
- Training clusters take Azure VM sizes (`Standard_…`) or the cloud-neutral sizes.
- Sweeps need a search space: built in for LightGBM and XGBoost; script frameworks define their own
  hyperparameters, so they cannot be searched without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops.blueprint.model import InstanceSize

from .azure_regions import AZURE_PAIRED_REGIONS, paired_region
from .types import Unsupported

if TYPE_CHECKING:
    from mlops.plan.model import ModelPlan, Plan

AZURE_SEARCH_FRAMEWORKS = ("lightgbm", "xgboost")
"""Frameworks with a built-in search space (components.azure.pipeline_job.SEARCH_SPACES; a test checks they agree)."""

AZURE_PLATFORM_FALLBACKS: dict[str, str] = {
    "audit lock": "Azure creates an account immutability policy Unlocked and locks it only on a later update: the "
                  "first `pulumi up` of a production stack runs with the stack setting "
                  "mlops:auditFirstDeployment=true (audit storage unlocked), every later one without it, which "
                  "locks the policy (Locked: irreversible, nobody can shorten the retention or delete records)",
    "hyperband search": "Azure ML has no Hyperband sampler: random sampling with Bandit early termination "
                        "(slack 10 %) stops weak trials instead",
    "bayesian early termination": "Azure ML does not combine early termination with Bayesian sampling: "
                                  "Bayesian sweeps run every trial to the end",
    "retraining cool-down": "drift and performance retraining share one workflow per model that runs one at a "
                            "time and waits min_interval_hours after starting a run; one breach during the wait "
                            "is kept and starts one run after it, further ones are dropped",
    "performance signal": "Azure ML monitors have no signal for the blueprint's quality metrics: the scheduled "
                          "quality job computes the metric and fails, tagging its run mlops_quality_breach=true, "
                          "when the bar is missed; only failed runs with that tag start retraining (a run that "
                          "fails without it, e.g. no labelled predictions, alerts but does not retrain)",
    "budget start": "Azure budgets start on the first of a month and never change it: the stack setting "
                    "mlops:budgetStart (YYYY-MM-01) sets it at the first deployment (default 2026-12-01)",
    "audit log retention": "diagnostic settings keep audit logs in Log Analytics for its retention "
                           "(log_retention_days, 30-730 days) and archive them, with the Activity Log, into the "
                           "immutable audit account for audit_retention_days",
}
"""Settings the Azure platform area honours through a documented fallback (README: Azure back end)."""


def _vm_size_ok(size: InstanceSize | str) -> bool:
    return isinstance(size, InstanceSize) or size in InstanceSize.__members__ or size.startswith("Standard_")


def platform(plan: Plan) -> list[Unsupported]:
    """Workspace, registry, network, Databricks: settings of the whole plan."""
    found: list[Unsupported] = []
    if plan.production and plan.model_registry and paired_region(plan.region) is None:
        found.append(Unsupported(
            ("cloud", "region"), "a production Azure ML registry replicates to the region's Azure pair, and this "
            "region has none", repr(plan.region), ", ".join(sorted(AZURE_PAIRED_REGIONS))))
    if plan.network.existing_vpc is not None:
        found.append(Unsupported(
            ("environments", plan.environment, "network", "vpc"), "the Azure back end isolates jobs and models with "
            "the Azure ML managed network and gives Databricks its own network; it does not join an existing "
            "virtual network", repr(plan.network.existing_vpc), "no vpc (set network.cidr for Databricks' network)"))
    # Both action groups (critical, warning) need a receiver, or their alerts reach nobody (policy
    # azure-action-group-has-receivers); a warning route receives both severities.
    if not any(route.severity.value == "warning" for route in plan.alerts):
        found.append(Unsupported(
            ("alerts",), "Azure Monitor action groups need a receiver: warnings (drift, quality, budget) and "
            "critical alerts each go to an action group", ", ".join(r.severity.value for r in plan.alerts) or "none",
            "at least one route with `severity: warning` (it receives warnings and critical alerts)"))
    return found


def platform_model(plan: Plan, i: int, m: ModelPlan) -> list[Unsupported]:
    """Per model: training cluster size and hyperparameter search."""
    found: list[Unsupported] = []
    t = m.training
    if t is None:
        return found
    if not _vm_size_ok(t.instance):
        found.append(Unsupported(("models", i, "training", "instance"), "not an Azure VM size", repr(t.instance),
                                 ", ".join(s.value for s in InstanceSize) + ", or a Standard_* size"))
    search = t.search
    if search is not None and m.framework not in AZURE_SEARCH_FRAMEWORKS:
        found.append(Unsupported(
            ("models", i, "training", "hyperparameter_search"),
            f"no built-in search space for {m.framework} on Azure: its hyperparameters are defined by the "
            "training script", repr(m.framework), ", ".join(AZURE_SEARCH_FRAMEWORKS)))
    elif search is not None and set(t.hyperparameters) >= _searchable(m.framework):
        found.append(Unsupported(("models", i, "training", "hyperparameters"),
                                 "every searchable hyperparameter is pinned: nothing is left to search",
                                 ", ".join(sorted(t.hyperparameters)), "leave one of them out"))
    if search is not None and t.instance_count > 1:
        # The sweep node's trials take the train component as it is: one node each.
        found.append(Unsupported(("models", i, "training", "instance_count"),
                                 "an Azure ML sweep trains each trial on one node", str(t.instance_count),
                                 "1 with hyperparameter_search (trials run in parallel instead), or no search"))
    return found


def _searchable(framework: str) -> set[str]:
    return {"lightgbm": {"learning_rate", "num_leaves", "feature_fraction", "min_data_in_leaf"},
            "xgboost": {"eta", "max_depth", "subsample", "colsample_bytree", "min_child_weight"}}[framework]
