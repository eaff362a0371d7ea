"""Cost controls on GCP: a monthly Cloud Billing budget with the blueprint's alert thresholds."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.model import CostPlan

from .project import project_id

VERTEX_AI_SERVICE = "services/C7E2-9256-1C43"
"""Vertex AI's Cloud Billing service id (training, pipelines, prediction, feature online store, metadata)."""
# Cloud Billing sends a budget's alerts to at most five Cloud Monitoring notification channels.
MAX_BUDGET_CHANNELS = 5
DISPLAY_NAME_MAX = 60


@builds(Capability.cost_controls)
class GcpBudget(pulumi.ComponentResource):
    """A monthly budget on the environment's project, counting Vertex AI spend.

    Creates: `-budget` (billing.Budget on the blueprint's `cost.billing_account`: amount = the plan's
    monthly budget in USD, filtered to this project and the Vertex AI service, monthly calendar period;
    one threshold rule per alert threshold on current spend plus one on forecast spend reaching the
    budget; alerts to the warning notification channels (the first five, Cloud Billing's maximum) and to
    the billing account's administrators).

    The filter is Vertex AI only, where an ML platform's spend is: training and tuning jobs, pipelines,
    endpoints, the feature online store and metadata. Cloud Storage, BigQuery and networking costs of the
    project are not counted. The amount is in USD: the billing account must bill in USD.

    Outputs: budget (the budget's id).
    """

    def __init__(self, name: str, plan: Plan, cost: CostPlan, *, alert_channels: Sequence[pulumi.Input[str]],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}GcpBudget", name, None, opts)
        if cost.billing_account is None:
            # Reached only if the blueprint rule `billing-account-fits-cloud` was bypassed.
            raise ValueError(f"{plan.prefix}: a GCP budget needs cost.billing_account")
        number = gcp.organizations.get_project_output(
            project_id=project_id(plan, self), opts=pulumi.InvokeOutputOptions(parent=self)).number
        rules = [gcp.billing.BudgetThresholdRuleArgs(threshold_percent=t / 100, spend_basis="CURRENT_SPEND")
                 for t in sorted(set(cost.alert_thresholds_percent))]
        # Warn before the month is spent: forecast spend crossing the budget itself.
        rules.append(gcp.billing.BudgetThresholdRuleArgs(threshold_percent=1.0, spend_basis="FORECASTED_SPEND"))
        units, cents = divmod(round(cost.monthly_budget_usd * 100), 100)
        self.budget = gcp.billing.Budget(
            f"{name}-budget",
            gcp.billing.BudgetArgs(
                billing_account=cost.billing_account,
                display_name=f"{plan.prefix} Vertex AI"[:DISPLAY_NAME_MAX],
                amount=gcp.billing.BudgetAmountArgs(specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(
                    currency_code="USD", units=str(units), nanos=cents * 10_000_000)),
                budget_filter=gcp.billing.BudgetBudgetFilterArgs(
                    projects=[pulumi.Output.concat("projects/", number)], services=[VERTEX_AI_SERVICE],
                    calendar_period="MONTH", credit_types_treatment="INCLUDE_ALL_CREDITS"),
                threshold_rules=rules,
                all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                    monitoring_notification_channels=list(alert_channels)[:MAX_BUDGET_CHANNELS],
                    disable_default_iam_recipients=False),
            ),
            opts=child(self),
        )
        self.register_outputs({"budget": self.budget.id})
