"""AWS alerting: where every alarm of the platform goes (SNS topics per severity, routes as subscriptions)."""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.vocabulary import AlertKind, AlertRoute, Severity

from .account import account_arn, account_id
from .iam import Statement, policy_document
from .names import alert_topic_name

SeverityName = Literal["critical", "warning"]
SEVERITIES: tuple[SeverityName, ...] = ("critical", "warning")
# A route receives its own severity and everything more severe.
RECEIVES: dict[Severity, tuple[SeverityName, ...]] = {
    Severity.critical: ("critical",),
    Severity.warning: ("critical", "warning"),
}
# PagerDuty's Amazon CloudWatch/SNS integration confirms subscriptions itself.
AUTO_CONFIRMING = (AlertKind.pagerduty,)


def route_endpoint(route: AlertRoute) -> pulumi.Input[str]:
    """Where a route delivers: the email address or https URL of `target`, else the Pulumi config
    secret named by `secret` (`pulumi config set --secret mlops:<secret> https://…`)."""
    if route.secret is not None:
        return pulumi.Config("mlops").require_secret(route.secret)
    if route.target is None:  # the blueprint rules make this unreachable
        raise ValueError(f"alert route of kind {route.kind.value} has neither target nor secret")
    return route.target


def route_protocol(route: AlertRoute) -> Literal["email", "https"]:
    """email routes mail; PagerDuty, Slack and webhooks receive HTTPS POSTs of the SNS message.

    An https endpoint must confirm the SNS subscription (PagerDuty's integration URL does; a Slack
    incoming webhook does not: point Slack routes at an SNS-capable relay such as AWS Chatbot's
    or your own, see README).
    """
    return "email" if route.kind == AlertKind.email else "https"


@builds(Capability.sre_alarms)
class AwsAlerting(pulumi.ComponentResource):
    """The platform's alert topics and the blueprint's routes.

    Creates: `-critical` and `-warning` (SNS topics encrypted with the platform key; alarms that
    page publish to `critical`, the rest to `warning`), `-critical-policy` and `-warning-policy`
    (topic policies: only this account's CloudWatch alarms, EventBridge rules and Budgets may
    publish, and only over TLS), and per route `-route-<i>-<severity>` subscriptions: a route
    subscribes to its own severity and every more severe one (`severity: warning` receives both
    topics, `critical` only the critical one).

    The platform key's policy must let cloudwatch.amazonaws.com, events.amazonaws.com and
    budgets.amazonaws.com use it (kms:GenerateDataKey, kms:Decrypt): publishers to an encrypted
    topic encrypt with the key themselves (see AwsFoundation's key policy).

    Outputs: critical_topic_arn, warning_topic_arn.
    """

    topics: dict[SeverityName, aws.sns.Topic]

    def __init__(self, name: str, plan: Plan, *, kms_key_arn: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsAlerting", name, None, opts)
        tags = dict(plan.tags)
        account = account_id(plan, self)
        self.topics = {}
        for severity in SEVERITIES:
            topic = aws.sns.Topic(
                f"{name}-{severity}",
                aws.sns.TopicArgs(
                    name=alert_topic_name(plan, severity),
                    display_name=f"{plan.prefix} {severity} alerts",
                    kms_master_key_id=kms_key_arn,
                    tags={**tags, "severity": severity},
                ),
                opts=child(self),
            )
            aws.sns.TopicPolicy(
                f"{name}-{severity}-policy",
                aws.sns.TopicPolicyArgs(arn=topic.arn, policy=self._topic_policy(plan, account, topic.arn)),
                opts=child(self),
            )
            self.topics[severity] = topic

        for i, route in enumerate(plan.alerts):
            endpoint = route_endpoint(route)
            for severity in RECEIVES[route.severity]:
                aws.sns.TopicSubscription(
                    f"{name}-route-{i}-{severity}",
                    aws.sns.TopicSubscriptionArgs(
                        topic=self.topics[severity].arn,
                        protocol=route_protocol(route),
                        endpoint=endpoint,
                        endpoint_auto_confirms=True if route.kind in AUTO_CONFIRMING else None,
                    ),
                    opts=child(self),
                )
        self.critical_topic_arn = self.topics["critical"].arn
        self.warning_topic_arn = self.topics["warning"].arn
        self.register_outputs({"critical_topic_arn": self.critical_topic_arn,
                               "warning_topic_arn": self.warning_topic_arn})

    @staticmethod
    def _topic_policy(plan: Plan, account: pulumi.Input[str], topic_arn: pulumi.Output[str]) -> pulumi.Output[str]:
        # Same-account people and roles publish through their IAM policies; the topic policy admits
        # only the AWS services that raise alerts, each for this account's own alarms/rules/budgets.
        def service(sid: str, principal: str, source: pulumi.Input[str]) -> Statement:
            return Statement(Sid=sid, Effect="Allow", Principal={"Service": principal}, Action="sns:Publish",
                             Resource=topic_arn,
                             Condition={"StringEquals": {"aws:SourceAccount": account},
                                        "ArnLike": {"aws:SourceArn": source}})
        return policy_document(
            service("CloudWatchAlarmsPublish", "cloudwatch.amazonaws.com",
                    account_arn(plan, account, "cloudwatch", "alarm:*")),
            service("EventBridgeRulesPublish", "events.amazonaws.com",
                    account_arn(plan, account, "events", "rule/*")),
            service("BudgetsPublish", "budgets.amazonaws.com",
                    account_arn(plan, account, "budgets", "budget/*", regional=False)),
            Statement(Sid="DenyInsecureTransport", Effect="Deny", Principal="*", Action="sns:Publish",
                      Resource=topic_arn, Condition={"Bool": {"aws:SecureTransport": "false"}}),
        )
