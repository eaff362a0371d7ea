"""Cost controls on AWS: a monthly budget with the blueprint's alert thresholds."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.model import CostPlan
from mlops.plan.vocabulary import AlertKind

from .names import budget_name


@builds(Capability.cost_controls)
class AwsBudget(pulumi.ComponentResource):
    """A monthly cost budget for the environment's account.

    Creates: `-budget` (budgets.Budget, COST, MONTHLY, limit = the plan's monthly budget in USD) with
    one notification per alert threshold on actual spend, plus one on forecast spend reaching the
    budget. Notifications go to the alert topic when the platform has one, else directly to the
    blueprint's email routes (the topic fans out to them itself, so never both).

    The budget covers the whole account: each environment of the examples has its own account. A
    budget filtered on the platform's tags would count nothing until someone activates those tags as
    cost allocation tags in the organisation's payer account, and a budget that silently counts
    nothing is worse than one that counts a little too much.

    Outputs: budget_name.
    """

    def __init__(self, name: str, plan: Plan, cost: CostPlan, *, alert_topic_arn: pulumi.Input[str] | None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsBudget", name, None, opts)
        topics: list[pulumi.Input[str]] = [alert_topic_arn] if alert_topic_arn is not None else []
        emails = [] if topics else sorted({r.target for r in plan.alerts if r.kind == AlertKind.email and r.target})
        if not topics and not emails:
            # Reached only if the blueprint rule `cost-alerts-need-a-route` was bypassed.
            raise ValueError(f"{plan.prefix}: budget alerts have nowhere to go (no alert topic, no email route)")

        def notify(threshold: float, kind: str) -> aws.budgets.BudgetNotificationArgs:
            return aws.budgets.BudgetNotificationArgs(
                comparison_operator="GREATER_THAN", threshold=threshold, threshold_type="PERCENTAGE",
                notification_type=kind, subscriber_sns_topic_arns=topics or None,
                subscriber_email_addresses=emails or None)

        thresholds = sorted(set(cost.alert_thresholds_percent))
        notifications = [notify(t, "ACTUAL") for t in thresholds]
        # Warn before the month is spent: forecast spend crossing the budget itself.
        notifications.append(notify(100.0, "FORECASTED"))
        self.budget = aws.budgets.Budget(
            f"{name}-budget",
            aws.budgets.BudgetArgs(
                name=budget_name(plan),
                budget_type="COST",
                time_unit="MONTHLY",
                limit_amount=f"{cost.monthly_budget_usd:.2f}",
                limit_unit="USD",
                notifications=notifications,
                tags=dict(plan.tags),
            ),
            opts=child(self),
        )
        self.register_outputs({"budget_name": self.budget.name})
