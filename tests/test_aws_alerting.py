"""AWS alerting under mocks: severity topics, their policies, and the blueprint's routes as subscriptions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_synth import synthesized

from components.aws.alerting import RECEIVES, route_protocol
from mlops.blueprint.model import AlertKind, AlertRoute, Severity
from mlops.plan import plan
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded
from mlops.synth.run import placeholder_secrets

ROOT = Path(__file__).resolve().parents[1]
FRAUD = "blueprints/fraud-detection-aws.yaml"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(FRAUD, "prod")


def variant(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> SynthResult:
    doc = yaml.safe_load((ROOT / FRAUD).read_text())
    edit(doc)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return synth(str(path), "prod")


def one(result: SynthResult, type_: str, suffix: str) -> Recorded:
    [found] = [r for r in result.resources if r.type == type_ and r.name.endswith(suffix)]
    return found


def subscriptions(result: SynthResult) -> dict[str, dict[str, Any]]:
    return {r.name.split("alerting-")[1]: r.inputs for r in result.resources if r.type == SUBSCRIPTION}


def test_two_encrypted_topics(prod: SynthResult) -> None:
    key = one(prod, "aws:kms/key:Key", "foundation-key")
    for severity in ("critical", "warning"):
        topic = one(prod, TOPIC, f"alerting-{severity}").inputs
        assert topic["name"] == f"fraud-detection-prod-alerts-{severity}"
        assert topic["kmsMasterKeyId"] == f"arn:mock:aws:kms/key:Key:{key.name}"
        assert topic["tags"]["severity"] == severity and topic["tags"]["environment"] == "prod"


def test_only_this_accounts_alarms_rules_and_budgets_publish(prod: SynthResult) -> None:
    policy = json.loads(one(prod, "aws:sns/topicPolicy:TopicPolicy", "alerting-critical-policy").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    expected = {"CloudWatchAlarmsPublish": ("cloudwatch.amazonaws.com",
                                            "arn:aws:cloudwatch:us-east-1:333333333333:alarm:*"),
                "EventBridgeRulesPublish": ("events.amazonaws.com", "arn:aws:events:us-east-1:333333333333:rule/*"),
                "BudgetsPublish": ("budgets.amazonaws.com", "arn:aws:budgets::333333333333:budget/*")}
    for sid, (service, source) in expected.items():
        statement = statements[sid]
        assert statement["Principal"] == {"Service": service} and statement["Action"] == "sns:Publish"
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "333333333333"},
                                          "ArnLike": {"aws:SourceArn": source}}
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_routes_subscribe_to_their_severity_and_above(prod: SynthResult) -> None:
    subs = subscriptions(prod)
    # Route 0: PagerDuty (critical, from the config secret); route 1: email (warning → both topics).
    assert sorted(subs) == ["route-0-critical", "route-1-critical", "route-1-warning"]
    pagerduty = subs["route-0-critical"]
    assert pagerduty["protocol"] == "https" and pagerduty["endpointAutoConfirms"] is True
    assert pagerduty["endpoint"] == "[secret]"  # the config secret stays secret in the manifest
    assert pagerduty["topic"].endswith("alerting-critical")
    assert subs["route-1-warning"] == {"endpoint": "ml-platform@example-bank.com", "protocol": "email",
                                       "topic": "arn:mock:aws:sns/topic:Topic:fraud-detection-prod-alerting-warning"}


def test_synth_supplies_placeholders_for_the_secrets_a_blueprint_names() -> None:
    from mlops.blueprint import load_blueprint

    p = plan(load_blueprint(ROOT / FRAUD).blueprint, "prod")
    assert placeholder_secrets(p) == {
        "mlops:pagerdutyEventsUrl": "https://example.invalid/mlops-synth-placeholder/pagerdutyEventsUrl"}


def test_webhook_and_slack_targets_post_over_https(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["alerts"] = [{"kind": "webhook", "target": "https://hooks.example.com/ml", "severity": "warning"},
                         {"kind": "slack", "secret": "slackRelayUrl"}]
    subs = subscriptions(variant(tmp_path, edit))
    assert sorted(subs) == ["route-0-critical", "route-0-warning", "route-1-critical"]
    assert subs["route-0-warning"]["endpoint"] == "https://hooks.example.com/ml"
    assert subs["route-0-warning"]["protocol"] == "https" and "endpointAutoConfirms" not in subs["route-0-warning"]
    assert subs["route-1-critical"] == {"endpoint": "[secret]", "protocol": "https",
                                        "topic": "arn:mock:aws:sns/topic:Topic:fraud-detection-prod-alerting-critical"}


def test_without_routes_the_topics_still_exist(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["alerts"] = [{"kind": "email", "target": "only-budget@example-bank.com"}]
    result = variant(tmp_path, edit)
    assert len([r for r in result.resources if r.type == TOPIC]) == 2
    assert list(subscriptions(result)) == ["route-0-critical"]


def test_severity_routing_table() -> None:
    assert RECEIVES[Severity.critical] == ("critical",)
    assert RECEIVES[Severity.warning] == ("critical", "warning")
    assert route_protocol(AlertRoute(kind=AlertKind.email, target="a@b.co")) == "email"
    assert route_protocol(AlertRoute(kind=AlertKind.pagerduty, secret="pd")) == "https"


def test_alarms_go_to_the_topic_of_their_severity(prod: SynthResult) -> None:
    critical = one(prod, TOPIC, "alerting-critical")
    warning = one(prod, TOPIC, "alerting-warning")
    prefix = "fraud-detection-prod-fraud-scorer-"
    by_kind = {r.inputs["name"].removeprefix(prefix): r.inputs["alarmActions"] for r in prod.resources
               if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm" and r.inputs["name"].startswith(prefix)}
    assert sorted(by_kind) == ["drift", "errors", "invocation-errors", "latency", "quality", "utilization"]
    pages, warns = [f"arn:mock:aws:sns/topic:Topic:{critical.name}"], [f"arn:mock:aws:sns/topic:Topic:{warning.name}"]
    assert by_kind["latency"] == by_kind["errors"] == pages
    assert by_kind["drift"] == by_kind["quality"] == by_kind["utilization"] == by_kind["invocation-errors"] == warns
