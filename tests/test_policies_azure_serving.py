"""Azure serving policies: each rule passes on the compliant prod graphs and fails when one property is broken."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from azure_serving_examples import azure_example
from mlops_policies.azure_serving import AZURE_SERVING_POLICIES
from pulumi_policy import EnforcementLevel
from shared_synth import synthesized

from mlops.policies import ALL_POLICIES
from mlops.policies.engine import policy_resources, run_policies
from mlops.synth.recorder import Recorded

POLICIES = {p.name: p for p in AZURE_SERVING_POLICIES}
Breaker = Callable[[list[Recorded]], list[Recorded]]

ML = "azure-native:machinelearningservices:"
ENDPOINT = f"{ML}OnlineEndpoint"
DEPLOYMENT = f"{ML}OnlineDeployment"
BATCH = f"{ML}BatchEndpoint"
WORKSPACE = f"{ML}Workspace"
ARM = "azure-native:resources:Deployment"
GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
REDIS = "azure-native:redis:Redis"


@pytest.fixture(scope="module")
def prod_graph() -> list[Recorded]:
    return synthesized(azure_example("blueprints/fraud-detection-aws.yaml"), "prod").resources


def _only(records: list[Recorded], type_: str, suffix: str) -> Recorded:
    [found] = [r for r in records if r.type == type_ and r.name.endswith(suffix)]
    return found


def _set(type_: str, suffix: str, path: str, value: Any) -> Breaker:
    """Copy the graph and set one (dotted) input of one resource; `...` deletes it."""
    def apply(records: list[Recorded]) -> list[Recorded]:
        changed = copy.deepcopy(records)
        *parents, last = path.split(".")
        target: Any = _only(changed, type_, suffix).inputs
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is ...:
            del target[last]
        else:
            target[last] = value
        return changed
    return apply


def _template(key: str, value: Any) -> Breaker:
    """Set one property of the endpoint the traffic ARM deployment applies."""
    return _set(ARM, "serving-traffic", f"properties.template.resources.0.properties.{key}", value)


# policy name → (how to break the compliant prod graph, the resource the violation names)
BREAKS: dict[str, tuple[Breaker, str]] = {
    "azure-online-endpoint-private": (_set(ENDPOINT, "serving-endpoint", "properties.publicNetworkAccess", "Enabled"),
                                      "serving-endpoint"),
    "azure-endpoint-entra-auth": (_set(ENDPOINT, "serving-endpoint", "properties.authMode", "Key"),
                                  "serving-endpoint"),
    "azure-mirror-traffic-limit": (_template("mirrorTraffic", {"shadow": 60}), "serving-traffic"),
    "azure-deployment-no-egress-in-production": (
        _set(DEPLOYMENT, "serving-blue", "properties.egressPublicNetworkAccess", "Enabled"), "serving-blue"),
    "azure-deployment-two-instances-in-production": (
        _set(DEPLOYMENT, "serving-blue", "properties.scaleSettings.minInstances", 1), "serving-blue"),
    "azure-deployment-telemetry": (
        _set(DEPLOYMENT, "serving-blue", "properties.dataCollector.collections.model_outputs.samplingRate", 0),
        "serving-blue"),
    "azure-feature-store-private": (_set(WORKSPACE, "features-workspace", "publicNetworkAccess", "Enabled"),
                                    "features-workspace"),
    "azure-action-group-has-receivers": (_set(GROUP, "alerting-warning", "emailReceivers", []), "alerting-warning"),
    "azure-alert-rules-have-actions": (_set(METRIC_ALERT, "latency-alert", "actions", []), "latency-alert"),
    "azure-redis-hardened": (_set(REDIS, "online-cache", "disableAccessKeyAuthentication", False), "online-cache"),
}

# More ways to break some rules (each must be caught too).
MORE_BREAKS: list[tuple[str, Breaker, str]] = [
    ("azure-online-endpoint-private", _template("publicNetworkAccess", "Enabled"), "serving-traffic"),
    ("azure-endpoint-entra-auth", _template("authMode", "Key"), "serving-traffic"),
    ("azure-mirror-traffic-limit", _set(ENDPOINT, "serving-endpoint", "properties.mirrorTraffic",
                                        {"shadow": 10, "green": 10}), "serving-endpoint"),
    ("azure-deployment-two-instances-in-production",
     lambda records: _set(DEPLOYMENT, "serving-blue", "sku.capacity", 1)(
         _set(DEPLOYMENT, "serving-blue", "properties.scaleSettings", {"scaleType": "Default"})(records)),
     "serving-blue"),
    ("azure-deployment-telemetry", _set(DEPLOYMENT, "serving-blue", "properties.appInsightsEnabled", False),
     "serving-blue"),
    ("azure-deployment-telemetry", _set(DEPLOYMENT, "serving-blue", "properties.dataCollector.collections",
                                        {"model_inputs": {"dataCollectionMode": "Enabled", "samplingRate": 1}}),
     "serving-blue"),
    ("azure-feature-store-private", _set(WORKSPACE, "features-workspace", "encryption", ...), "features-workspace"),
    ("azure-action-group-has-receivers", _set(GROUP, "alerting-critical", "enabled", False), "alerting-critical"),
    ("azure-alert-rules-have-actions", _set(QUERY_RULE, "errors-alert", "actions", {"actionGroups": []}),
     "errors-alert"),
    ("azure-redis-hardened", _set(REDIS, "online-cache", "enableNonSslPort", True), "online-cache"),
    ("azure-redis-hardened", _set(REDIS, "online-cache", "publicNetworkAccess", "Enabled"), "online-cache"),
]


def _violations(name: str, records: list[Recorded]) -> list[str]:
    return [v.urn or "" for v in run_policies([POLICIES[name]], policy_resources(records))]


def test_every_policy_has_a_break() -> None:
    assert set(BREAKS) == set(POLICIES)
    assert len(POLICIES) >= 5
    assert all(p.name.startswith("azure-") for p in AZURE_SERVING_POLICIES)
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in AZURE_SERVING_POLICIES)
    assert {p.name for p in AZURE_SERVING_POLICIES} <= {p.name for p in ALL_POLICIES}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_compliant_prod_graph_passes(name: str, prod_graph: list[Recorded]) -> None:
    assert _violations(name, prod_graph) == []


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_broken_graph_is_reported(name: str, prod_graph: list[Recorded]) -> None:
    breaker, suffix = BREAKS[name]
    found = _violations(name, breaker(prod_graph))
    assert found and all(urn.endswith(suffix) for urn in found), found


@pytest.mark.parametrize(("name", "breaker", "suffix"), MORE_BREAKS,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(MORE_BREAKS)])
def test_other_breaks_are_reported(name: str, breaker: Breaker, suffix: str, prod_graph: list[Recorded]) -> None:
    found = _violations(name, breaker(prod_graph))
    assert found and all(urn.endswith(suffix) for urn in found), found


def test_dev_may_use_key_auth_and_one_instance(prod_graph: list[Recorded]) -> None:
    dev = _set(ENDPOINT, "serving-endpoint", "tags.environment", "dev")(prod_graph)
    assert _violations("azure-endpoint-entra-auth", _set(ENDPOINT, "serving-endpoint", "properties.authMode",
                                                         "Key")(dev)) == []
    one_instance = _set(DEPLOYMENT, "serving-blue", "properties.scaleSettings.minInstances", 1)(prod_graph)
    assert _violations("azure-deployment-two-instances-in-production",
                       _set(DEPLOYMENT, "serving-blue", "tags.environment", "dev")(one_instance)) == []
    # The shadow never answers a caller: one instance is enough.
    assert _only(prod_graph, DEPLOYMENT, "serving-shadow").inputs["sku"]["capacity"] == 1
    assert _violations("azure-deployment-two-instances-in-production", prod_graph) == []


def test_batch_endpoints_use_entra_tokens() -> None:
    graph = synthesized("blueprints/demand-forecasting-azure.yaml", "prod").resources
    assert _violations("azure-endpoint-entra-auth", graph) == []
    found = _violations("azure-endpoint-entra-auth", _set(BATCH, "batch-endpoint", "properties.authMode", "Key")(graph))
    assert found and all(urn.endswith("batch-endpoint") for urn in found)
