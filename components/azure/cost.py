"""Azure cost controls: a monthly consumption budget on the platform's resource group."""

from __future__ import annotations

import re

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.model import CostPlan
from mlops.plan.vocabulary import AlertKind

consumption = azure_native.consumption

MAX_NOTIFICATIONS = 5
"""Azure budgets take at most five notifications (the blueprint rule azure-budget-notifications)."""
DEFAULT_START = "2026-12-01"
"""Budget start when the stack sets no `mlops:budgetStart` (fixed, so that synth is deterministic)."""
START_SETTING = "budgetStart"
_FIRST_OF_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-01$")


def budget_start() -> str:
    """Stack setting `mlops:budgetStart` (YYYY-MM-01), else DEFAULT_START.

    Azure requires the first of a month, not before the current month at creation, and never changes
    it afterwards: set it once, at the first deployment (`pulumi config set mlops:budgetStart 2027-03-01`).
    """
    start = pulumi.Config("mlops").get(START_SETTING) or DEFAULT_START
    if not _FIRST_OF_MONTH.match(start):
        raise pulumi.RunError(f"mlops:{START_SETTING}: a budget starts on the first of a month "
                              f"(got {start!r}; allowed: YYYY-MM-01)")
    return start


def notifications(cost: CostPlan, emails: list[str],
                  action_group_id: pulumi.Input[str] | None) -> dict[str, consumption.NotificationArgs]:
    """One notification per threshold on actual spend, plus forecast spend reaching the budget if room is left."""
    groups = [action_group_id] if action_group_id is not None else None

    def notification(threshold: float, kind: consumption.ThresholdType) -> consumption.NotificationArgs:
        return consumption.NotificationArgs(
            enabled=True, operator=consumption.OperatorType.GREATER_THAN_OR_EQUAL_TO, threshold=threshold,
            threshold_type=kind, contact_emails=emails, contact_groups=groups)

    found = {f"actual-{threshold:g}": notification(threshold, consumption.ThresholdType.ACTUAL)
             for threshold in sorted(cost.alert_thresholds_percent)}
    if len(found) < MAX_NOTIFICATIONS:
        found["forecast-100"] = notification(100, consumption.ThresholdType.FORECASTED)
    return found


@builds(Capability.cost_controls)
class AzureBudget(pulumi.ComponentResource):
    """A monthly cost budget for the platform's resource group.

    Creates `-budget` (consumption.Budget, scope: the resource group): the blueprint's monthly budget
    in the billing currency, a notification per alert threshold on actual spend and, when fewer than
    five thresholds are set, one on forecast spend reaching 100 %; sent to the email alert routes and
    to the warning action group (its other routes). The start date is the stack setting
    `mlops:budgetStart` (Azure never changes it after creation, so later edits are ignored).

    Outputs: `budget` (the resource).
    """

    def __init__(self, name: str, plan: Plan, cost: CostPlan, *, scope: pulumi.Input[str],
                 action_group_id: pulumi.Input[str] | None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureBudget", name, None, opts)
        emails = sorted({a.target for a in plan.alerts if a.kind == AlertKind.email and a.target})
        options = child(self)
        options.ignore_changes = ["timePeriod"]
        self.budget = consumption.Budget(
            f"{name}-budget",
            consumption.BudgetArgs(
                scope=scope,
                budget_name=f"{plan.prefix}-monthly",
                amount=cost.monthly_budget_usd,
                category=consumption.CategoryType.COST,
                time_grain=consumption.TimeGrainType.MONTHLY,
                time_period=consumption.BudgetTimePeriodArgs(start_date=f"{budget_start()}T00:00:00Z"),
                notifications=notifications(cost, emails, action_group_id),
            ),
            opts=options,
        )
        self.register_outputs({})
