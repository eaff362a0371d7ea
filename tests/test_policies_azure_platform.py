"""Azure platform policies: each rule passes on the compliant prod graph and fails when one property is broken."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from mlops_policies.azure_platform import AZURE_PLATFORM_POLICIES
from shared_synth import synthesized

from mlops.policies.engine import policy_resources, run_policies
from mlops.synth.recorder import Recorded

FORECAST = "blueprints/demand-forecasting-azure.yaml"
POLICIES = {p.name: p for p in AZURE_PLATFORM_POLICIES}
Breaker = Callable[[list[Recorded]], list[Recorded]]

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
ACR = "azure-native:containerregistry:Registry"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
DEFINITION = "azure-native:authorization:RoleDefinition"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
DATABRICKS = "azure-native:databricks:Workspace"
BUDGET = "azure-native:consumption:Budget"
SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


@pytest.fixture(scope="module")
def prod_graph() -> list[Recorded]:
    return synthesized(FORECAST, "prod").resources


@pytest.fixture(scope="module")
def dev_graph() -> list[Recorded]:
    return synthesized(FORECAST, "dev").resources


def _only(records: list[Recorded], type_: str, suffix: str) -> Recorded:
    [found] = [r for r in records if r.type == type_ and r.name.endswith(suffix)]
    return found


def edit(type_: str, suffix: str, change: Callable[[Recorded], None]) -> Breaker:
    def apply(records: list[Recorded]) -> list[Recorded]:
        changed = copy.deepcopy(records)
        change(_only(changed, type_, suffix))
        return changed
    return apply


def remove(type_: str, suffix: str) -> Breaker:
    def apply(records: list[Recorded]) -> list[Recorded]:
        gone = _only(records, type_, suffix)
        return [copy.deepcopy(r) for r in records if r is not gone]
    return apply


def drop(*path: str | int) -> Callable[[Recorded], None]:
    def change(record: Recorded) -> None:
        target: Any = record.inputs
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


def put(value: object, *path: str | int) -> Callable[[Recorded], None]:
    def change(record: Recorded) -> None:
        target: Any = record.inputs
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def with_subscription(change: Callable[[Recorded], None] | None = None) -> Breaker:
    """The graph plus a retraining event subscription as the retraining triggers record it (the forecast
    example retrains on a schedule only), changed by `change`."""
    def apply(records: list[Recorded]) -> list[Recorded]:
        [parent] = [r for r in records if r.type == "mlops:index:AzureMlPlatform"]
        urn = f"{parent.urn.rsplit('::', 1)[0]}::{SUBSCRIPTION}::x-retraining-m-quality-events"
        added = Recorded(
            urn=urn, type=SUBSCRIPTION, name="x-retraining-m-quality-events", parent=parent.urn, custom=True,
            inputs={"resourceGroupName": "rg", "systemTopicName": "x-ml-events",
                    "eventSubscriptionName": "m-performance", "eventDeliverySchema": "EventGridSchema",
                    "destination": {"endpointType": "WebHook", "endpointUrl": "https://logic/trigger",
                                    "maxEventsPerBatch": 1, "minimumTlsVersionAllowed": "1.2"},
                    "filter": {"includedEventTypes": ["Microsoft.MachineLearningServices.RunStatusChanged"],
                               "advancedFilters": [{"operatorType": "StringIn", "key": "data.RunStatus",
                                                    "values": ["Failed"]}]},
                    "retryPolicy": {"maxDeliveryAttempts": 1, "eventTimeToLiveInMinutes": 60}},
            protect=False, retain_on_delete=False, dependencies=[], property_dependencies={}, provider=None)
        if change is not None:
            change(added)
        return [*copy.deepcopy(records), added]
    return apply


# policy → cases: (how to break the compliant prod graph, the resource the violation names, message fragment)
BREAKS: dict[str, list[tuple[Breaker, str, str]]] = {
    "azure-ml-workspace-private": [
        (edit(WORKSPACE, "-ml-workspace", put("Enabled", "publicNetworkAccess")), "-ml-workspace", "public networks"),
    ],
    "azure-ml-workspace-managed-network": [
        (edit(WORKSPACE, "-ml-workspace", drop("managedNetwork")), "-ml-workspace", "no managed network"),
        (edit(WORKSPACE, "-ml-workspace", put("AllowInternetOutbound", "managedNetwork", "isolationMode")),
         "-ml-workspace", "allows internet outbound"),
    ],
    "azure-ml-workspace-cmk-in-production": [
        (edit(WORKSPACE, "-ml-workspace", drop("encryption")), "-ml-workspace", "customer-managed key"),
        (edit(WORKSPACE, "-ml-workspace", put(False, "hbiWorkspace")), "-ml-workspace", "high business impact"),
    ],
    "azure-container-registry-hardened": [
        (edit(ACR, "-ml-acr", put(True, "adminUserEnabled")), "-ml-acr", "admin user"),
        (edit(ACR, "-ml-acr", put(True, "anonymousPullEnabled")), "-ml-acr", "anonymous pull"),
        (edit(ACR, "-ml-acr", put("Enabled", "publicNetworkAccess")), "-ml-acr", "public networks"),
    ],
    "azure-ml-compute-hardened": [
        (edit(COMPUTE, "-training-compute-cluster", put(False, "properties", "disableLocalAuth")),
         "-training-compute-cluster", "local (key) authentication"),
        (edit(COMPUTE, "-training-compute-cluster", put(True, "properties", "properties", "enableNodePublicIp")),
         "-training-compute-cluster", "public IPs"),
        (edit(COMPUTE, "-training-compute-cluster",
              put("Enabled", "properties", "properties", "remoteLoginPortPublicAccess")),
         "-training-compute-cluster", "SSH"),
        (edit(COMPUTE, "-training-compute-cluster",
              put(1, "properties", "properties", "scaleSettings", "minNodeCount")),
         "-training-compute-cluster", "min_node_count=0"),
    ],
    "azure-no-privileged-role-assignments": [
        (edit(ASSIGNMENT, "-governance-data-scientist-0",
              put(f"/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/{OWNER}", "roleDefinitionId")),
         "-governance-data-scientist-0", "Owner"),
        (edit(ASSIGNMENT, "-ml-identity-blob",
              put(f"/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}",
                  "roleDefinitionId")),
         "-ml-identity-blob", "Contributor"),
    ],
    "azure-custom-roles-least-privilege": [
        (edit(DEFINITION, "-governance-ml-engineer-role", put(["*"], "permissions", 0, "actions")),
         "-governance-ml-engineer-role", "'*'"),
        (edit(DEFINITION, "-registry-approver-role",
              put(["Microsoft.Authorization/roleAssignments/write"], "permissions", 0, "actions")),
         "-registry-approver-role", "Microsoft.Authorization"),
        (edit(DEFINITION, "-governance-data-scientist-role", put(["/subscriptions/x"], "assignableScopes")),
         "-governance-data-scientist-role", "beyond a resource group"),
    ],
    "azure-ml-workspace-diagnostics": [
        (remove(DIAGNOSTICS, "-governance-workspace-diagnostics"), "-ml-workspace", "no logs"),
        (edit(DIAGNOSTICS, "-governance-workspace-diagnostics", put(False, "logs", 0, "enabled")),
         "-ml-workspace", "no logs"),
    ],
    "azure-ml-registry-replicated-in-production": [
        (edit(ML_REGISTRY, "-registry-registry", drop("regionDetails", 1)), "-registry-registry", "one region"),
    ],
    "azure-databricks-hardened": [
        (edit(DATABRICKS, "-databricks-workspace", put({"value": False}, "parameters", "enableNoPublicIp")),
         "-databricks-workspace", "public IPs"),
        (edit(DATABRICKS, "-databricks-workspace", put({"name": "standard"}, "sku")), "-databricks-workspace",
         "premium"),
        (edit(DATABRICKS, "-databricks-workspace", put("Enabled", "publicNetworkAccess")), "-databricks-workspace",
         "public networks"),
        (edit(DATABRICKS, "-databricks-workspace", drop("encryption")), "-databricks-workspace",
         "customer-managed key"),
    ],
    "azure-budget-notifies": [
        (edit(BUDGET, "-cost-budget", put({}, "notifications")), "-cost-budget", "no notifications"),
        (edit(BUDGET, "-cost-budget", lambda r: r.inputs["notifications"]["actual-50"].update(
            contactEmails=[], contactGroups=[])), "-cost-budget", "actual-50 reaches nobody"),
        (edit(BUDGET, "-cost-budget", lambda r: r.inputs["notifications"].update(
            {f"extra-{n}": r.inputs["notifications"]["actual-50"] for n in range(2)})),
         "-cost-budget", "at most 5"),
    ],
    "azure-event-subscriptions-scoped": [
        (with_subscription(put([], "filter", "includedEventTypes")), "-quality-events", "every event type"),
        (with_subscription(drop("filter")), "-quality-events", "every event type"),
        (with_subscription(put("1.1", "destination", "minimumTlsVersionAllowed")), "-quality-events", "TLS below 1.2"),
        (with_subscription(drop("destination", "minimumTlsVersionAllowed")), "-quality-events", "TLS below 1.2"),
    ],
}
CASES = [(name, i) for name, cases in sorted(BREAKS.items()) for i in range(len(cases))]


def test_every_policy_has_a_violating_case() -> None:
    assert set(BREAKS) == set(POLICIES)
    assert len(POLICIES) >= 5
    assert all(name.startswith("azure-") for name in POLICIES)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policy_passes_on_compliant_graph(prod_graph: list[Recorded], dev_graph: list[Recorded], name: str) -> None:
    assert run_policies([POLICIES[name]], policy_resources(prod_graph)) == []
    assert run_policies([POLICIES[name]], policy_resources(dev_graph)) == []


@pytest.mark.parametrize(("name", "case"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_policy_fails_on_violating_graph(prod_graph: list[Recorded], name: str, case: int) -> None:
    breaker, culprit, fragment = BREAKS[name][case]
    violations = run_policies([POLICIES[name]], policy_resources(breaker(prod_graph)))
    assert [v.policy for v in violations] == [name]
    assert violations[0].urn is not None and violations[0].urn.endswith(culprit)
    assert fragment in violations[0].message
    assert violations[0].mandatory


def test_a_scoped_event_subscription_passes(prod_graph: list[Recorded]) -> None:
    policy = POLICIES["azure-event-subscriptions-scoped"]
    assert run_policies([policy], policy_resources(with_subscription()(prod_graph))) == []


def test_production_only_rules_leave_dev_alone(dev_graph: list[Recorded]) -> None:
    # Dev: internet outbound, no customer-managed key, a single-region registry, public Databricks: compliant.
    workspace = _only(dev_graph, WORKSPACE, "-ml-workspace")
    assert workspace.inputs["managedNetwork"]["isolationMode"] == "AllowInternetOutbound"
    assert "encryption" not in workspace.inputs
    names = ("azure-ml-workspace-managed-network", "azure-ml-workspace-cmk-in-production",
             "azure-ml-registry-replicated-in-production", "azure-databricks-hardened",
             "azure-container-registry-hardened")
    assert run_policies([POLICIES[n] for n in names], policy_resources(dev_graph)) == []
