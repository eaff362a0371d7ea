"""Azure alerting: where every alert of the platform goes (an action group per severity, routes as receivers)."""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.vocabulary import AlertKind, AlertRoute, Severity

from .serving_names import action_group_name, action_group_short_name

monitor = azure_native.monitor

SeverityName = Literal["critical", "warning"]
SEVERITIES: tuple[SeverityName, ...] = ("critical", "warning")
# A route receives its own severity and everything more severe (as on AWS).
RECEIVES: dict[Severity, tuple[SeverityName, ...]] = {
    Severity.critical: ("critical",),
    Severity.warning: ("critical", "warning"),
}
# Azure Monitor alert severities (0 = critical … 4 = verbose) the platform's rules use.
AZURE_SEVERITY: dict[SeverityName, int] = {"critical": 1, "warning": 2}


def route_endpoint(route: AlertRoute) -> pulumi.Input[str]:
    """Where a route delivers: the e-mail address or https URL of `target`, else the Pulumi config
    secret named by `secret` (`pulumi config set --secret mlops:<secret> https://…`)."""
    if route.secret is not None:
        return pulumi.Config("mlops").require_secret(route.secret)
    if route.target is None:  # the blueprint rules make this unreachable
        raise ValueError(f"alert route of kind {route.kind.value} has neither target nor secret")
    return route.target


def receiver_name(i: int, route: AlertRoute) -> str:
    """Receiver names are unique within an action group: kind and position in `alerts`."""
    return f"{route.kind.value}-{i}"


@builds(Capability.sre_alarms)
class AzureAlerting(pulumi.ComponentResource):
    """The platform's action groups and the blueprint's alert routes.

    Creates `-critical` and `-warning` (monitor.ActionGroup, location Global, enabled): alerts that
    page use `critical`, the rest `warning`. Each route is a receiver of its own severity's group
    and of every more severe one (`severity: warning` is in both, `critical` only in the critical
    group): e-mail routes are e-mail receivers; PagerDuty, Slack and webhook routes are webhook
    receivers posting the common alert schema to the route's URL (from a Pulumi config secret
    when the route names one, so a URL carrying a key never lands in the program or the state in
    clear). PagerDuty's and Slack's inbound webhooks accept the common alert schema through their
    Azure Monitor integrations (PagerDuty "Microsoft Azure" integration; Slack through a workflow
    or relay URL).

    An action group without any receiver is still created (alert rules reference it) and the
    `azure-action-group-has-receivers` policy reports it, so a stack without routes is visible.

    Outputs: critical_action_group_id, warning_action_group_id.
    """

    groups: dict[SeverityName, monitor.ActionGroup]

    def __init__(self, name: str, plan: Plan, *, resource_group_name: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureAlerting", name, None, opts)
        tags = azure_tags(plan.tags)
        self.groups = {}
        for severity in SEVERITIES:
            routes = [(i, r) for i, r in enumerate(plan.alerts) if severity in RECEIVES[r.severity]]
            emails = [monitor.MicrosoftCommonEmailReceiverArgs(
                name=receiver_name(i, r), email_address=route_endpoint(r), use_common_alert_schema=True)
                for i, r in routes if r.kind == AlertKind.email]
            hooks = [monitor.WebhookReceiverArgs(
                name=receiver_name(i, r), service_uri=route_endpoint(r), use_common_alert_schema=True)
                for i, r in routes if r.kind != AlertKind.email]
            self.groups[severity] = monitor.ActionGroup(
                f"{name}-{severity}",
                monitor.ActionGroupInitArgs(
                    resource_group_name=resource_group_name,
                    action_group_name=action_group_name(plan, severity),
                    group_short_name=action_group_short_name(plan, severity),
                    enabled=True,
                    location="Global",
                    email_receivers=emails,
                    webhook_receivers=hooks,
                    tags={**tags, "severity": severity},
                ),
                opts=child(self),
            )
        self.critical_action_group_id = self.groups["critical"].id
        self.warning_action_group_id = self.groups["warning"].id
        self.register_outputs({"critical_action_group_id": self.critical_action_group_id,
                               "warning_action_group_id": self.warning_action_group_id})
