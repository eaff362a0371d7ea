"""GCP serving policies: each rule passes on the compliant prod graph and fails when one property is broken."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from mlops_policies.gcp_serving import GCP_SERVING_POLICIES
from shared_synth import synthesized

from mlops.policies.engine import policy_resources, run_policies
from mlops.synth.recorder import Recorded

BLUEPRINT = "blueprints/product-recommendations-gcp.yaml"
POLICIES = {p.name: p for p in GCP_SERVING_POLICIES}
Breaker = Callable[[list[Recorded]], list[Recorded]]
ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
JOB = "gcp:cloudscheduler/job:Job"


@pytest.fixture(scope="module")
def prod_graph() -> list[Recorded]:
    return synthesized(BLUEPRINT, "prod").resources


def _only(records: list[Recorded], type_: str, suffix: str) -> Recorded:
    [found] = [r for r in records if r.type == type_ and r.name.endswith(suffix)]
    return found


def edit(type_: str, suffix: str, change: Callable[[Recorded], None]) -> Breaker:
    def apply(records: list[Recorded]) -> list[Recorded]:
        changed = copy.deepcopy(records)
        change(_only(changed, type_, suffix))
        return changed
    return apply


def drop(*path: str) -> Callable[[Recorded], None]:
    def change(record: Recorded) -> None:
        target = record.inputs
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


def put(value: object, *path: str) -> Callable[[Recorded], None]:
    def change(record: Recorded) -> None:
        target = record.inputs
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return change


def channel_url(url: str) -> Callable[[Recorded], None]:
    """A plain webhook channel (the example's Slack route holds a secret, which the rule cannot read)."""
    def change(record: Recorded) -> None:
        record.inputs["type"] = "webhook_tokenauth"
        record.inputs["labels"] = {"url": url}
    return change


# policy → cases: (how to break the compliant prod graph, the resource the violation names, message fragment)
BREAKS: dict[str, list[tuple[Breaker, str, str]]] = {
    "gcp-vertex-endpoint-cmek": [
        (edit(ENDPOINT, "serving-endpoint", drop("encryptionSpec")), "serving-endpoint", "customer-managed"),
    ],
    "gcp-vertex-endpoint-private-in-production": [
        (edit(ENDPOINT, "serving-endpoint", drop("privateServiceConnectConfig")), "serving-endpoint", "internet"),
        (edit(ENDPOINT, "serving-endpoint", put(False, "privateServiceConnectConfig", "enablePrivateServiceConnect")),
         "serving-endpoint", "Private Service Connect"),
    ],
    "gcp-vertex-endpoint-request-logging": [
        (edit(ENDPOINT, "serving-endpoint", drop("predictRequestResponseLoggingConfig")), "serving-endpoint",
         "does not log"),
        (edit(ENDPOINT, "serving-endpoint", put(0, "predictRequestResponseLoggingConfig", "samplingRate")),
         "serving-endpoint", "sampling rate"),
        (edit(ENDPOINT, "serving-endpoint", drop("predictRequestResponseLoggingConfig", "bigqueryDestination")),
         "serving-endpoint", "BigQuery"),
    ],
    "gcp-notification-channel-tls": [
        (edit(CHANNEL, "alerting-route-0", channel_url("http://hooks.example.com/x")), "alerting-route-0",
         "https://"),
    ],
    "gcp-alert-policy-notifies": [
        (edit(ALERT, "serving-latency-alert", put([], "notificationChannels")), "serving-latency-alert",
         "no notification channels"),
        (edit(ALERT, "monitoring-drift-alert", put(False, "enabled")), "monitoring-drift-alert", "disabled"),
    ],
    "gcp-scheduler-oauth-https": [
        (edit(JOB, "monitoring-quality-schedule", drop("httpTarget", "oauthToken")), "monitoring-quality-schedule",
         "OAuth"),
        (edit(JOB, "monitoring-quality-schedule", put("http://example.com/run", "httpTarget", "uri")),
         "monitoring-quality-schedule", "plain HTTP"),
    ],
    "gcp-vertex-endpoint-alerts-in-production": [
        (edit(ALERT, "serving-latency-alert", put(False, "enabled")), "serving-endpoint", "latency"),
        (edit(ALERT, "serving-errors-alert", put([], "conditions")), "serving-endpoint", "error rate"),
    ],
}
CASES = [(name, i) for name, cases in BREAKS.items() for i in range(len(cases))]


def test_at_least_five_policies_each_with_a_violating_case() -> None:
    assert set(BREAKS) == set(POLICIES)
    assert len(POLICIES) >= 5
    assert all(name.startswith("gcp-") for name in POLICIES)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policy_passes_on_compliant_graph(prod_graph: list[Recorded], name: str) -> None:
    assert run_policies([POLICIES[name]], policy_resources(prod_graph)) == []


@pytest.mark.parametrize(("name", "case"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_policy_fails_on_violating_graph(prod_graph: list[Recorded], name: str, case: int) -> None:
    breaker, culprit, fragment = BREAKS[name][case]
    violations = run_policies([POLICIES[name]], policy_resources(breaker(prod_graph)))
    assert [v.policy for v in violations] == [name]
    assert violations[0].urn is not None and violations[0].urn.endswith(culprit)
    assert fragment in violations[0].message
    assert violations[0].mandatory


def test_a_secret_webhook_url_is_not_judged(prod_graph: list[Recorded]) -> None:
    secret = edit(CHANNEL, "alerting-route-1", channel_url("[secret]"))(prod_graph)
    assert run_policies([POLICIES["gcp-notification-channel-tls"]], policy_resources(secret)) == []


def test_production_only_rules_leave_dev_alone() -> None:
    dev = synthesized(BLUEPRINT, "dev").resources
    [endpoint] = [r for r in dev if r.type == ENDPOINT]
    assert "privateServiceConnectConfig" not in endpoint.inputs
    public = edit(ENDPOINT, "serving-endpoint", drop("predictRequestResponseLoggingConfig"))(dev)
    names = ("gcp-vertex-endpoint-private-in-production", "gcp-vertex-endpoint-request-logging")
    assert run_policies([POLICIES[n] for n in names], policy_resources(public)) == []
