"""GCP alerting: Cloud Monitoring notification channels for the blueprint's alert routes.

Cloud Monitoring has no topic between an alert policy and its receivers: a policy lists the
channels it notifies. So each route becomes one channel, and the platform hands out two lists:
`critical_channels` (every route: a critical alert reaches every route, as on AWS) and
`warning_channels` (the routes whose `severity` is warning). Policies that page use the first,
the rest the second.
"""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.vocabulary import AlertKind, AlertRoute, Severity

ChannelType = Literal["email", "pagerduty", "webhook_tokenauth"]
CHANNEL_TYPES: dict[AlertKind, ChannelType] = {
    AlertKind.email: "email",
    AlertKind.pagerduty: "pagerduty",
    # Cloud Monitoring's Slack channel type needs an OAuth token from its own Slack app; an incoming
    # webhook URL (what the blueprint holds) is delivered as a generic HTTPS webhook instead.
    AlertKind.slack: "webhook_tokenauth",
    AlertKind.webhook: "webhook_tokenauth",
}


def route_value(route: AlertRoute) -> pulumi.Input[str]:
    """What a route delivers to: `target` (email address, https URL, PagerDuty key), else the Pulumi
    config secret named by `secret` (`pulumi config set --secret mlops:<secret> …`), which stays a
    secret in the state."""
    if route.secret is not None:
        return pulumi.Config("mlops").require_secret(route.secret)
    if route.target is None:  # the blueprint rules make this unreachable
        raise ValueError(f"alert route of kind {route.kind.value} has neither target nor secret")
    return route.target


def channel_args(plan: Plan, i: int, route: AlertRoute) -> gcp.monitoring.NotificationChannelArgs:
    """One route as a notification channel. The label keys (`email_address`, `url`) are the
    channel type's own, defined by Cloud Monitoring's channel descriptors."""
    kind = CHANNEL_TYPES[route.kind]
    value = route_value(route)
    labels: dict[str, pulumi.Input[str]] | None = None
    sensitive: gcp.monitoring.NotificationChannelSensitiveLabelsArgs | None = None
    if kind == "email":
        labels = {"email_address": value}
    elif kind == "pagerduty":
        # The integration key is a credential: sensitive labels are write-only in the API.
        sensitive = gcp.monitoring.NotificationChannelSensitiveLabelsArgs(service_key=value)
    else:
        labels = {"url": value}
    return gcp.monitoring.NotificationChannelArgs(
        type=kind,
        display_name=f"{plan.prefix} {route.kind.value} route {i} ({route.severity.value} and above)",
        description=f"{plan.prefix}: receives {'every' if route.severity == Severity.warning else 'critical'} "
                    "alert of the platform",
        labels=labels,
        sensitive_labels=sensitive,
        user_labels=gcp_labels({**plan.tags, "severity": route.severity.value}),
        project=plan.account,
        enabled=True,
        # Deleting a channel still referenced by a policy would silently drop alerts: refuse instead.
        force_delete=False,
    )


@builds(Capability.sre_alarms)
class GcpAlerting(pulumi.ComponentResource):
    """Where every alert of the platform goes: one notification channel per blueprint route.

    Creates: `-route-<i>` (monitoring.NotificationChannel) per `alerts` route: `email` (address),
    `pagerduty` (integration key as a sensitive label), `slack` and `webhook` as
    `webhook_tokenauth` (HTTPS POST of the incident JSON to the URL; Slack needs a relay that
    turns it into a Slack message, see README). URLs and keys come from `target` or from the
    Pulumi config secret named by `secret`.

    Outputs: critical_channels (every route's channel id, `projects/<p>/notificationChannels/<n>`, what
    alert policies take) and warning_channels (routes with
    severity warning) — what AWS calls the critical and warning topics.
    """

    channels: list[gcp.monitoring.NotificationChannel]
    critical_channels: list[pulumi.Output[str]]
    warning_channels: list[pulumi.Output[str]]

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}GcpAlerting", name, None, opts)
        self.channels = []
        self.critical_channels = []
        self.warning_channels = []
        for i, route in enumerate(plan.alerts):
            channel = gcp.monitoring.NotificationChannel(f"{name}-route-{i}", channel_args(plan, i, route),
                                                         opts=child(self))
            self.channels.append(channel)
            # A route receives its own severity and everything more severe.
            self.critical_channels.append(channel.id)
            if route.severity == Severity.warning:
                self.warning_channels.append(channel.id)
        self.register_outputs({"critical_channels": self.critical_channels,
                               "warning_channels": self.warning_channels})
