"""Azure serving under mocks: alerting, feature store, online and batch endpoints, monitors, SRE alerts, limits."""

from __future__ import annotations

import importlib.util
import json
import math
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from accounts import environments
from azure_serving_examples import ROOT, as_azure, azure_example
from evidence_checks import not_built
from shared_synth import synthesized

from components.azure import deployer, monitoring, quality, traffic
from components.azure.batch import SCRIPT, batch_uri, output_target
from components.azure.endpoints import request_timeout, sampling_rate, shadow_instances
from components.azure.feature_store import iso_minutes, materialization_hours, store_type
from components.azure.serving_names import ENDPOINT_NAME_MAX, ONLINE_SKUS, compute_name, endpoint_name, online_sku
from mlops.blueprint import format_path, load_text
from mlops.blueprint.model import DeliveryStrategy, DriftMethod, InstanceSize
from mlops.clouds.azure import AZURE_DRIFT_METHODS, AZURE_QUALITY_METRICS
from mlops.plan import Capability, ModelPlan, PlanError, plan
from mlops.plan.model import DeliveryPlan
from mlops.synth import SynthResult
from mlops.synth.recorder import Recorded

DEMAND = "blueprints/demand-forecasting-azure.yaml"
FRAUD = "blueprints/fraud-detection-aws.yaml"
RECS = "blueprints/product-recommendations-gcp.yaml"

ML = "azure-native:machinelearningservices:"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
ARM_DEPLOYMENT = "azure-native:resources:Deployment"
MY_COMPONENTS = ("AzureAlerting", "AzureMlFeatureStore", "AzureMlOnlineEndpoint", "AzureMlBatchEndpoint",
                 "AzureMlModelMonitor", "AzureMlQualityMonitor", "AzureMlDeployer")


@pytest.fixture(scope="module")
def demand() -> SynthResult:
    return synthesized(DEMAND, "prod")


@pytest.fixture(scope="module")
def demand_dev() -> SynthResult:
    return synthesized(DEMAND, "dev")


@pytest.fixture(scope="module")
def fraud() -> SynthResult:
    return synthesized(azure_example(FRAUD), "prod")


@pytest.fixture(scope="module")
def fraud_dev() -> SynthResult:
    return synthesized(azure_example(FRAUD), "dev")


@pytest.fixture(scope="module")
def recs() -> SynthResult:
    return synthesized(azure_example(RECS), "prod")


def one(result: SynthResult, type_: str, suffix: str) -> Recorded:
    [found] = [r for r in result.resources if r.type == type_ and r.name.endswith(suffix)]
    return found


def of_type(result: SynthResult, type_: str) -> list[Recorded]:
    return [r for r in result.resources if r.type == type_]


def children(result: SynthResult, component: str) -> list[tuple[str, str]]:
    """(type, name suffix) of the children of the one component of that class."""
    [parent] = of_type(result, f"mlops:index:{component}")
    return sorted((r.type.rsplit(":", 1)[-1], r.name.removeprefix(parent.name)) for r in result.resources
                  if r.parent == parent.urn)


def mine(result: SynthResult) -> list[Recorded]:
    """Resources of this area: the children of its components."""
    parents = {r.urn for r in result.resources if r.type.removeprefix("mlops:index:") in MY_COMPONENTS}
    return [r for r in result.resources if r.parent in parents]


# --------------------------------------------------------------------------- inventory, hygiene


def test_demand_prod_inventory(demand: SynthResult) -> None:
    assert children(demand, "AzureAlerting") == [("ActionGroup", "-critical"), ("ActionGroup", "-warning")]
    assert children(demand, "AzureMlFeatureStore") == sorted([
        ("Workspace", "-workspace"), ("WorkspaceConnection", "-offline-store"),
        ("FeaturestoreEntityContainerEntity", "-sku_plant-entity"),
        ("FeaturestoreEntityVersion", "-sku_plant-entity-v1"),
        ("FeaturesetContainerEntity", "-sku_plant-features"), ("FeaturesetVersion", "-sku_plant-features-v1"),
        ("DiagnosticSetting", "-diagnostics"), ("ScheduledQueryRule", "-freshness-alert"),
        ("RoleAssignment", "-materialization-access")])
    assert children(demand, "AzureMlBatchEndpoint") == sorted([
        ("Compute", "-cluster"), ("Datastore", "-input-store"), ("Datastore", "-output-store"),
        ("BatchEndpoint", "-endpoint"), ("BatchDeployment", "-deployment"), ("Schedule", "-schedule")])
    access = one(demand, "azure-native:authorization:RoleAssignment", "serving-jobs-access")
    assert access.property_dependencies["scope"] == [one(demand, f"{ML}Workspace", "ml-workspace").urn]
    assert access.inputs["roleDefinitionId"].endswith("/f6c7c914-8db3-469d-8ca1-694a8f32e121")
    assert children(demand, "AzureMlQualityMonitor") == sorted([
        ("Datastore", "-labels-store"), ("Schedule", "-schedule"), ("ScheduledQueryRule", "-alert")])
    assert not of_type(demand, "mlops:index:AzureMlOnlineEndpoint")


def test_fraud_prod_inventory(fraud: SynthResult) -> None:
    assert children(fraud, "AzureMlOnlineEndpoint") == sorted([
        ("OnlineEndpoint", "-endpoint"), ("OnlineDeployment", "-blue"), ("OnlineDeployment", "-shadow"),
        ("Deployment", "-traffic"), ("DiagnosticSetting", "-diagnostics"), ("MetricAlert", "-latency-alert"),
        ("MetricAlert", "-utilization-alert"), ("ScheduledQueryRule", "-errors-alert")])
    assert children(fraud, "AzureMlModelMonitor") == [("Schedule", "-monitor")]
    assert ("Redis", "-online-cache") in children(fraud, "AzureMlFeatureStore")


def test_no_snake_case_keys_and_unique_names(demand: SynthResult, fraud: SynthResult, recs: SynthResult) -> None:
    data_keys = (".tags", ".environmentVariables", ".collections", ".signals", ".traffic", ".mirrorTraffic",
                 ".userAssignedIdentities", ".parameters")

    def snake(value: Any, path: str) -> list[str]:
        if isinstance(value, dict):
            found = []
            for key, item in value.items():
                if "_" in key and not path.endswith(data_keys):
                    found.append(f"{path}.{key}")
                found += snake(item, f"{path}.{key}")
            return found
        if isinstance(value, list):
            return [k for item in value for k in snake(item, path)]
        return []

    for result in (demand, fraud, recs):
        for record in mine(result):
            assert snake(record.inputs, record.name) == []
        counts = Counter((r.type, r.name) for r in result.resources)
        assert [k for k, n in counts.items() if n > 1] == []


def test_tags_on_every_taggable_child(demand: SynthResult, fraud: SynthResult) -> None:
    untaggable = {f"{ML}WorkspaceConnection", f"{ML}Datastore", DIAGNOSTICS,
                  "azure-native:authorization:RoleDefinition", "azure-native:authorization:RoleAssignment"}
    for result in (demand, fraud):
        for record in mine(result):
            if record.type in untaggable:
                continue
            tags = record.inputs.get("tags") or record.inputs.get("properties", {}).get("tags")
            assert tags and tags["environment"] == "prod" and tags["mlops-blueprint"], record.name


# --------------------------------------------------------------------------- alerting


def test_action_groups_route_by_severity(fraud: SynthResult, demand: SynthResult) -> None:
    critical = one(fraud, ACTION_GROUP, "alerting-critical").inputs
    warning = one(fraud, ACTION_GROUP, "alerting-warning").inputs
    # PagerDuty (critical) pages only; the warning e-mail route receives both severities.
    [hook] = critical["webhookReceivers"]
    assert (hook["name"], hook["serviceUri"], hook["useCommonAlertSchema"]) == ("pagerduty-0", "[secret]", True)
    assert [r["emailAddress"] for r in critical["emailReceivers"]] == ["ml-platform@example-bank.com"]
    assert warning["webhookReceivers"] == []
    assert [r["name"] for r in warning["emailReceivers"]] == ["email-1"]
    for group in (critical, warning):
        assert group["location"] == "Global" and group["enabled"] is True
        assert len(group["groupShortName"]) <= 12
    assert one(demand, ACTION_GROUP, "alerting-critical").inputs["actionGroupName"] == "demand-forecast-prod-critical"


def test_slack_route_is_a_secret_webhook(recs: SynthResult) -> None:
    [hook] = one(recs, ACTION_GROUP, "alerting-critical").inputs["webhookReceivers"]
    assert (hook["name"], hook["serviceUri"], hook["useCommonAlertSchema"]) == ("slack-1", "[secret]", True)


# --------------------------------------------------------------------------- feature store


def test_feature_store_workspace_is_private_and_encrypted_in_prod(demand: SynthResult,
                                                                   demand_dev: SynthResult) -> None:
    record = one(demand, f"{ML}Workspace", "features-workspace")
    inputs = record.inputs
    assert inputs["kind"] == "FeatureStore"
    assert inputs["publicNetworkAccess"] == "Disabled" and inputs["allowPublicAccessWhenBehindVnet"] is False
    assert inputs["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert inputs["hbiWorkspace"] is True and inputs["systemDatastoresAuthMode"] == "Identity"
    assert inputs["encryption"]["status"] == "Enabled"
    assert inputs["encryption"]["keyVaultProperties"]["keyIdentifier"].endswith("/keys/platform-cmk")
    assert inputs["featureStoreSettings"] == {"computeRuntime": {"sparkRuntimeVersion": "3.4"},
                                              "offlineStoreConnectionName": "mlops-offline-store"}
    assert record.protect and record.retain_on_delete
    # Same dependencies as the main workspace.
    main = one(demand, f"{ML}Workspace", "ml-workspace").inputs
    for key in ("keyVault", "storageAccount", "applicationInsights", "containerRegistry",
                "primaryUserAssignedIdentity"):
        assert inputs[key] == main[key], key
    dev = one(demand_dev, f"{ML}Workspace", "features-workspace")
    assert "encryption" not in dev.inputs and dev.inputs["hbiWorkspace"] is False and not dev.protect


def test_entities_and_feature_sets(demand: SynthResult, fraud: SynthResult) -> None:
    entity = one(demand, f"{ML}FeaturestoreEntityVersion", "sku_plant-entity-v1").inputs
    assert entity["properties"]["indexColumns"] == [{"columnName": "sku_plant_id", "dataType": "String"}]
    assert entity["workspaceName"] == "demand-forecast-prod-features"
    features = one(demand, f"{ML}FeaturesetVersion", "sku_plant-features-v1").inputs["properties"]
    assert features["entities"] == ["azureml:sku_plant:1"]
    settings = features["materializationSettings"]
    assert settings["storeType"] == "Offline"
    assert settings["schedule"] == {"triggerType": "Recurrence", "frequency": "Hour", "interval": 12,
                                    "timeZone": "UTC"}
    assert settings["notification"]["emails"] == ["demand-planning-ml@example-mfg.com"]
    assert re.fullmatch(r"abfss://data@[a-z0-9]{3,24}\.dfs\.core\.windows\.net/feature-store/specs/sku_plant",
                        features["specification"]["path"])
    fraud_settings = one(fraud, f"{ML}FeaturesetVersion", "card-features-v1").inputs["properties"]
    assert fraud_settings["materializationSettings"]["storeType"] == "OnlineAndOffline"
    assert fraud_settings["materializationSettings"]["schedule"]["interval"] == 1  # 15 min SLA: hourly at most


def test_platform_identity_materialises_features(demand: SynthResult) -> None:
    access = one(demand, "azure-native:authorization:RoleAssignment", "materialization-access")
    assert access.inputs["roleDefinitionId"].endswith("/roleDefinitions/f6c7c914-8db3-469d-8ca1-694a8f32e121")
    assert access.property_dependencies["scope"] == [one(demand, f"{ML}Workspace", "features-workspace").urn]
    assert access.property_dependencies["principalId"] == [
        one(demand, "azure-native:managedidentity:UserAssignedIdentity", "foundation-identity").urn]


def test_online_store_is_a_hardened_redis(fraud: SynthResult) -> None:
    cache = one(fraud, "azure-native:redis:Redis", "online-cache")
    assert cache.inputs["minimumTlsVersion"] == "1.2" and cache.inputs["enableNonSslPort"] is False
    assert cache.inputs["disableAccessKeyAuthentication"] is True
    assert cache.inputs["publicNetworkAccess"] == "Disabled"
    assert cache.protect
    connection = one(fraud, f"{ML}WorkspaceConnection", "online-store")
    assert connection.inputs["properties"] == {"authType": "AAD", "category": "Redis",
                                               "target": f"{cache.name}-id"}
    settings = one(fraud, f"{ML}Workspace", "features-workspace").inputs["featureStoreSettings"]
    assert settings["onlineStoreConnectionName"] == "mlops-online-store"


def test_freshness_alert_watches_materialisation_runs(demand: SynthResult) -> None:
    workspace = one(demand, f"{ML}Workspace", "features-workspace")
    diagnostics = one(demand, DIAGNOSTICS, "features-diagnostics").inputs
    assert diagnostics["logs"] == [{"category": "AmlRunStatusChangedEvent", "enabled": True}]
    assert diagnostics["resourceUri"] == f"{workspace.name}-id"
    rule = one(demand, QUERY_RULE, "freshness-alert").inputs
    assert rule["scopes"] == [f"{workspace.name}-id"] and rule["windowSize"] == "P1D"
    assert rule["actions"]["actionGroups"] == [f"{one(demand, ACTION_GROUP, 'alerting-warning').name}-id"]
    [condition] = rule["criteria"]["allOf"]
    assert (condition["operator"], condition["threshold"], condition["metricMeasureColumn"]) == ("lt", 1, "completed")
    assert rule["severity"] == 2


@pytest.mark.parametrize(("minutes", "iso"), [(15, "PT15M"), (60, "PT1H"), (90, "PT90M"), (1440, "P1D"),
                                              (2880, "P2D"), (720, "PT12H")])
def test_iso_minutes(minutes: int, iso: str) -> None:
    assert iso_minutes(minutes) == iso


# --------------------------------------------------------------------------- online serving


def test_online_endpoint_is_private_with_entra_auth(fraud: SynthResult) -> None:
    endpoint = one(fraud, f"{ML}OnlineEndpoint", "serving-endpoint").inputs
    assert endpoint["properties"]["authMode"] == "AADToken"
    assert endpoint["properties"]["publicNetworkAccess"] == "Disabled"
    assert "traffic" not in endpoint["properties"] and "mirrorTraffic" not in endpoint["properties"]
    assert endpoint["identity"]["type"] == "UserAssigned"
    name = endpoint["endpointName"]
    assert len(name) <= ENDPOINT_NAME_MAX and re.fullmatch(r"[a-z][a-z0-9-]+[a-z0-9]", name)


def test_champion_deployment_scales_collects_and_has_no_egress(fraud: SynthResult, fraud_dev: SynthResult) -> None:
    blue = one(fraud, f"{ML}OnlineDeployment", "serving-blue")
    properties = blue.inputs["properties"]
    assert properties["instanceType"] == "Standard_DS4_v2"  # `large`, from the online SKU list
    assert properties["scaleSettings"] == {"scaleType": "TargetUtilization", "minInstances": 2, "maxInstances": 12,
                                           "targetUtilizationPercentage": 70, "pollingInterval": "PT1M"}
    assert blue.inputs["sku"] == {"name": "Default", "capacity": 2}
    collections = properties["dataCollector"]["collections"]
    assert collections == {c: {"dataCollectionMode": "Enabled", "samplingRate": 0.2}
                           for c in ("model_inputs", "model_outputs")}
    assert properties["egressPublicNetworkAccess"] == "Disabled" and properties["appInsightsEnabled"] is True
    registry = one(fraud, f"{ML}Registry", "registry-registry").inputs["registryName"]
    # Deployments serve approved versions: promotion into the registry is the approval.
    assert properties["model"] == f"azureml://registries/{registry}/models/fraud-scorer/versions/1"
    endpoint = one(fraud, f"{ML}OnlineEndpoint", "serving-endpoint")
    assert endpoint.urn in blue.dependencies
    dev = one(fraud_dev, f"{ML}OnlineDeployment", "serving-blue").inputs
    assert dev["properties"]["egressPublicNetworkAccess"] == "Enabled"
    assert dev["sku"]["capacity"] == 1


def test_shadow_gets_mirrored_traffic_after_the_deployments_exist(fraud: SynthResult,
                                                                  fraud_dev: SynthResult) -> None:
    shadow = one(fraud, f"{ML}OnlineDeployment", "serving-shadow").inputs
    assert shadow["sku"]["capacity"] == math.ceil(2 * 0.2) and shadow["properties"]["scaleSettings"] == {
        "scaleType": "Default"}
    split = one(fraud, ARM_DEPLOYMENT, "serving-traffic")
    deployments = {one(fraud, f"{ML}OnlineDeployment", s).urn for s in ("serving-blue", "serving-shadow")}
    assert deployments <= set(split.dependencies)
    [resource] = split.inputs["properties"]["template"]["resources"]
    assert resource["type"] == "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
    assert resource["properties"] == {
        "authMode": "AADToken", "publicNetworkAccess": "Disabled", "traffic": {"blue": 100},
        "mirrorTraffic": {"shadow": 20}, "description": one(fraud, f"{ML}OnlineEndpoint", "serving-endpoint").inputs[
            "properties"]["description"]}
    assert resource["tags"] == one(fraud, f"{ML}OnlineEndpoint", "serving-endpoint").inputs["tags"]
    endpoint = one(fraud, f"{ML}OnlineEndpoint", "serving-endpoint").inputs
    assert resource["name"].endswith(f"'{endpoint['endpointName']}')]")
    assert split.inputs["properties"]["mode"] == "Incremental"
    assert split.inputs["properties"]["parameters"]["workspace"] == {"value": endpoint["workspaceName"]}
    # Dev has no real traffic to mirror: no shadow there.
    assert not [r for r in fraud_dev.resources if r.name.endswith("serving-shadow")]
    [dev_resource] = one(fraud_dev, ARM_DEPLOYMENT, "serving-traffic").inputs["properties"]["template"]["resources"]
    assert dev_resource["properties"]["mirrorTraffic"] == {}


def test_rollout_steps_per_strategy() -> None:
    fraud_plan = plan(load_text(Path(azure_example(FRAUD)).read_text(), "fraud.yaml").blueprint, "prod")
    [model] = fraud_plan.models
    assert traffic.rollout_steps(model) == [
        {"traffic": {"blue": 95, "green": 5}, "bake_minutes": 30},
        {"traffic": {"blue": 0, "green": 100}, "bake_minutes": 30},
        {"traffic": {"blue": 100}, "bake_minutes": 0},
    ]
    assert model.serving is not None
    def delivered(strategy: DeliveryStrategy, percent: float = 5) -> ModelPlan:
        assert model.serving is not None
        return model.model_copy(update={"serving": model.serving.model_copy(update={
            "delivery": DeliveryPlan.of(strategy, percent, 30, True)})})

    blue_green = delivered(DeliveryStrategy.blue_green)
    assert traffic.rollout_steps(blue_green) == [{"traffic": {"blue": 0, "green": 100}, "bake_minutes": 30},
                                                 {"traffic": {"blue": 100}, "bake_minutes": 0}]
    in_place = delivered(DeliveryStrategy.all_at_once)
    assert traffic.rollout_steps(in_place) == [{"traffic": {"blue": 100}, "bake_minutes": 0}]
    # rolling walks the plan's steps: 30, 60, 90, then all
    assert [s["traffic"].get("green") for s in traffic.rollout_steps(delivered(DeliveryStrategy.rolling, 30))] == [
        30, 60, 90, 100, None]
    assert shadow_instances(model) == 1 and sampling_rate(model) == 0.2
    assert request_timeout(model) == "PT5S"


def test_sre_alerts_page_the_critical_group(fraud: SynthResult) -> None:
    critical = f"{one(fraud, ACTION_GROUP, 'alerting-critical').name}-id"
    endpoint = one(fraud, f"{ML}OnlineEndpoint", "serving-endpoint")
    latency = one(fraud, METRIC_ALERT, "latency-alert").inputs
    [criterion] = latency["criteria"]["allOf"]
    assert (criterion["metricName"], criterion["threshold"], criterion["operator"]) == (
        "RequestLatency_P99", 50, "GreaterThan")
    assert latency["scopes"] == [f"{endpoint.name}-id"] and latency["location"] == "global"
    assert latency["actions"] == [{"actionGroupId": critical}] and latency["severity"] == 1
    utilization = one(fraud, METRIC_ALERT, "utilization-alert").inputs
    assert utilization["scopes"] == [f"{one(fraud, f'{ML}OnlineDeployment', 'serving-blue').name}-id"]
    assert utilization["criteria"]["allOf"][0]["threshold"] == 80
    errors = one(fraud, QUERY_RULE, "errors-alert").inputs
    [condition] = errors["criteria"]["allOf"]
    assert condition["threshold"] == 1 and condition["metricMeasureColumn"] == "error_rate"
    assert f'EndpointName == "{endpoint.inputs["endpointName"]}"' in condition["query"]
    assert errors["actions"]["actionGroups"] == [critical]
    diagnostics = one(fraud, DIAGNOSTICS, "serving-diagnostics").inputs
    assert diagnostics["logs"] == [{"category": "AmlOnlineEndpointTrafficLog", "enabled": True}]


# --------------------------------------------------------------------------- monitoring


def test_monitor_maps_psi_and_reads_the_collected_data(fraud: SynthResult) -> None:
    schedule = one(fraud, f"{ML}Schedule", "monitoring-monitor").inputs["properties"]
    assert schedule["trigger"] == {"triggerType": "Cron", "expression": "0 * * * *", "timeZone": "UTC"}
    definition = schedule["action"]["monitorDefinition"]
    assert definition["monitoringTarget"] == {
        "taskType": "Classification",
        "deploymentId": f"{one(fraud, f'{ML}OnlineDeployment', 'serving-blue').name}-id"}
    drift = definition["signals"]["data-drift"]
    assert drift["metricThresholds"] == [
        {"dataType": "Numerical", "metric": "PopulationStabilityIndex", "threshold": {"value": 0.2}},
        {"dataType": "Categorical", "metric": "PopulationStabilityIndex", "threshold": {"value": 0.2}}]
    endpoint = one(fraud, f"{ML}OnlineEndpoint", "serving-endpoint").inputs["endpointName"]
    assert drift["productionData"]["uri"] == f"azureml:{endpoint}-blue-model_inputs:1"
    assert (drift["productionData"]["windowSize"], drift["referenceData"]["windowOffset"]) == ("PT1H", "PT1H")
    assert definition["signals"]["prediction-drift"]["productionData"]["dataContext"] == "model_outputs"
    assert {m["metric"] for m in definition["signals"]["data-quality"]["metricThresholds"]} == set(
        monitoring.QUALITY_METRICS)
    assert definition["alertNotificationSettings"]["emailNotificationSettings"]["emails"] == [
        "ml-platform@example-bank.com"]
    assert definition["computeConfiguration"]["computeIdentity"]["computeIdentityType"] == "ManagedIdentity"


def test_monitor_maps_jensen_shannon_on_the_watched_features(recs: SynthResult) -> None:
    signals = one(recs, f"{ML}Schedule", "monitoring-monitor").inputs["properties"]["action"][
        "monitorDefinition"]["signals"]
    assert signals["data-drift"]["features"] == {"filterType": "FeatureSubset",
                                                 "features": ["user_embedding", "item_embedding"]}
    assert {m["metric"] for m in signals["data-drift"]["metricThresholds"]} == {"JensenShannonDistance"}


def test_every_drift_method_maps_or_is_refused() -> None:
    assert {m.value for m in monitoring.DRIFT_METRICS} == set(AZURE_DRIFT_METHODS)
    assert set(DriftMethod) - set(monitoring.DRIFT_METRICS) == {DriftMethod.l_infinity}
    assert monitoring.DRIFT_METRICS[DriftMethod.ks].numerical == "TwoSampleKolmogorovSmirnovTest"
    assert monitoring.DRIFT_METRICS[DriftMethod.wasserstein] == ("NormalizedWassersteinDistance",
                                                                 "PearsonsChiSquaredTest")


# --------------------------------------------------------------------------- batch


def test_batch_endpoint_runs_daily_into_the_blueprint_output(demand: SynthResult) -> None:
    cluster = one(demand, f"{ML}Compute", "batch-cluster").inputs["properties"]
    assert cluster["computeType"] == "AmlCompute" and cluster["disableLocalAuth"] is True
    assert cluster["properties"]["enableNodePublicIp"] is False
    assert cluster["properties"]["scaleSettings"]["minNodeCount"] == 0
    assert cluster["properties"]["vmSize"] == "Standard_D8s_v3"
    endpoint = one(demand, f"{ML}BatchEndpoint", "batch-endpoint").inputs
    assert endpoint["properties"]["authMode"] == "AADToken"
    deployment = one(demand, f"{ML}BatchDeployment", "batch-deployment")
    assert deployment.inputs["properties"]["compute"] == f"{one(demand, f'{ML}Compute', 'batch-cluster').name}-id"
    registry = one(demand, f"{ML}Registry", "registry-registry").inputs["registryName"]
    assert deployment.inputs["properties"]["model"]["assetId"] == (
        f"azureml://registries/{registry}/models/demand-forecaster/versions/1")
    output_store = one(demand, f"{ML}Datastore", "batch-output-store").inputs
    assert output_store["properties"]["datastoreType"] == "AzureDataLakeGen2"
    assert (output_store["properties"]["accountName"], output_store["properties"]["filesystem"]) == (
        "examplemfgsynapse", "forecasts")
    assert output_store["properties"]["credentials"] == {"credentialsType": "None"}
    schedule = one(demand, f"{ML}Schedule", "batch-schedule").inputs["properties"]
    assert schedule["trigger"]["expression"] == "0 4 * * *" and schedule["trigger"]["timeZone"] == "UTC"
    job = schedule["action"]["jobDefinition"]
    assert job["jobType"] == "Command" and job["identity"]["identityType"] == "Managed"
    env = job["environmentVariables"]
    assert env["MLOPS_BATCH_OUTPUT"] == f"azureml://datastores/{output_store['name']}/paths/demand/daily"
    assert env["MLOPS_BATCH_URI"] == batch_uri(endpoint["endpointName"], "westeurope")
    assert env["MLOPS_SCRIPT"] == SCRIPT.read_text(encoding="utf-8")


def test_output_targets() -> None:
    assert output_target("abfss://out@acct.dfs.core.windows.net/a/b/", "m") == ("acct", "out", "a/b")
    assert output_target("azureml://datastores/x/paths/y", "m") == (None, None, "azureml://datastores/x/paths/y")
    assert output_target(None, "m") == (None, None, "batch/m/output")
    with pytest.raises(ValueError):
        output_target("s3://bucket/x", "m")


def test_invocation_script_body() -> None:
    spec = importlib.util.spec_from_file_location("invoke_batch", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    body = module.invocation("azureml://datastores/in/paths/x/", "azureml://datastores/out/paths/y/",
                             "predictions.csv", date(2026, 1, 2))
    assert body == {"properties": {
        "InputData": {"input": {"JobInputType": "UriFolder", "Uri": "azureml://datastores/in/paths/x/"}},
        "OutputData": {"score": {"JobOutputType": "UriFile",
                                 "Uri": "azureml://datastores/out/paths/y/2026-01-02/predictions.csv"}}}}


# --------------------------------------------------------------------------- names, coverage, limits


def test_endpoint_names_fit_and_differ_per_subscription() -> None:
    bp = load_text(Path(azure_example(FRAUD)).read_text(), "fraud.yaml").blueprint
    prod, dev = plan(bp, "prod"), plan(bp, "dev")
    names = {endpoint_name(p, "fraud-scorer", kind) for p in (prod, dev) for kind in ("online", "batch")}
    assert len(names) == 4 and all(len(n) <= ENDPOINT_NAME_MAX for n in names)
    assert endpoint_name(prod, "fraud-scorer") == endpoint_name(prod, "fraud-scorer")


def test_compute_names_fit() -> None:
    assert compute_name("fraud", "batch") == "fraud-batch"
    long = compute_name("demand-forecaster", "batch")
    assert len(long) <= 16 and long != compute_name("demand-forecaster", "deploy")
    assert re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", long)


def test_online_skus() -> None:
    assert set(ONLINE_SKUS) == set(InstanceSize)
    assert online_sku("gpu_small") == "Standard_NC4as_T4_v3" and online_sku(InstanceSize.medium) == "Standard_DS3_v2"
    assert online_sku("Standard_F8s_v2") == "Standard_F8s_v2"  # the blueprint's own size
    with pytest.raises(ValueError):
        online_sku("ml.m5.large")


def test_feature_store_helpers() -> None:
    bp = load_text((ROOT / DEMAND).read_text(), "demand.yaml").blueprint
    store = bp.feature_store
    assert store is not None
    assert store_type(store) == "Offline" and materialization_hours(store) == 12
    assert materialization_hours(store.model_copy(update={"freshness_sla_minutes": None})) == 24


def test_the_azure_example_builds_its_serving_capabilities(demand: SynthResult, fraud: SynthResult) -> None:
    assert not not_built(demand) & {Capability.serving, Capability.feature_store,
                                                  Capability.freshness_alerts, Capability.quality_monitoring}
    assert not not_built(fraud) & {
        Capability.progressive_delivery, Capability.approval_workflow, Capability.shadow_deployment,
        Capability.drift_monitoring, Capability.sre_alarms, Capability.autoscaling, Capability.prediction_logging}


def _azure_problems(edit: Any, env: str = "prod") -> list[tuple[str, str, str]]:
    doc = as_azure(yaml.safe_load((ROOT / FRAUD).read_text()))
    edit(doc)
    bp = load_text(yaml.safe_dump(doc, sort_keys=False), "variant.yaml").blueprint
    with pytest.raises(PlanError) as caught:
        plan(bp, env)
    return [(format_path(d.path), str(d.got), d.message) for d in caught.value.diagnostics]


def _serving(**values: Any) -> Any:
    return lambda doc: doc["models"][0]["serving"].update(values)


def _monitoring(**values: Any) -> Any:
    return lambda doc: doc["models"][0]["monitoring"].update(values)


LIMITS = [
    ("streaming", _serving(mode="streaming", stream="eventhub://events", shadow=None,
                           delivery={"strategy": "all_at_once"}), "models[0].serving.mode", "'streaming'",
     "streaming serving is not built on Azure"),
    ("shadow-over-50", _serving(shadow={"sample_percent": 60}), "models[0].serving.shadow.sample_percent", "60",
     "Azure ML mirrors a whole percentage of at most 50 % of the traffic"),
    ("shadow-fraction", _serving(shadow={"sample_percent": 12.5}), "models[0].serving.shadow.sample_percent",
     "12.5", "Azure ML mirrors a whole percentage of at most 50 % of the traffic"),
    ("requests-per-instance", _serving(autoscaling={"target_requests_per_instance": 100}),
     "models[0].serving.autoscaling.target_requests_per_instance", "100",
     "Azure ML target-utilisation scaling follows CPU utilisation only"),
    ("caching", _serving(caching={"ttl_seconds": 30}), "models[0].serving.caching", "caching",
     "Azure ML managed online deployments of MLflow models neither batch nor cache requests"),
    ("l-infinity", _monitoring(drift={"method": "l_infinity"}), "models[0].monitoring.drift.method",
     "'l_infinity'", "Azure ML model monitoring has no L-infinity distance"),
    ("no-collection", _monitoring(prediction_logging_percent=0), "models[0].monitoring.prediction_logging_percent",
     "0", "drift monitoring reads the collected requests; none are collected at 0 %"),
    ("batch-to-s3", _serving(mode="batch", schedule="daily", output_uri="s3://bucket/out/", shadow=None,
                             delivery={"strategy": "all_at_once"}),
     "models[0].serving.output_uri", "'s3://bucket/out/'",
     "Azure ML batch endpoints write to datastores (ADLS Gen2 or azureml://)"),
    ("drift-on-batch", _serving(mode="batch", schedule="daily", shadow=None, delivery={"strategy": "all_at_once"}),
     "models[0].monitoring.drift", "'batch'",
     "Azure ML monitors read what an online deployment's data collector records; batch and streaming models "
     "have none"),
    ("quality-metric", _monitoring(quality={"metric": "precision_at_k", "threshold": 0.5}),
     "models[0].monitoring.quality.metric", "'precision_at_k'", "the Azure quality job does not compute this metric"),
    ("freshness-over-two-days", lambda doc: doc["feature_store"].update(freshness_sla_minutes=4320),
     "feature_store.freshness_sla_minutes", "4320", "Azure Monitor log alerts look back at most two days"),
]


@pytest.mark.parametrize(("edit", "path", "got", "message"), [c[1:] for c in LIMITS], ids=[c[0] for c in LIMITS])
def test_azure_serving_limits_are_plan_errors_at_the_yaml_path(edit: Any, path: str, got: str, message: str) -> None:
    assert (path, got, message) in _azure_problems(edit)


def test_quality_of_an_online_model_needs_collected_outputs() -> None:
    doc = {"name": "demo", "use_case": "limits", "organisation": {"name": "Acme"},
           "cloud": {"provider": "azure", "region": "westeurope"}, "maturity": {"target": 1},
           "environments": environments("azure"),
           "models": [{"name": "scorer", "monitoring": {"prediction_logging_percent": 0,
                                                        "quality": {"metric": "auc", "threshold": 0.8}}}],
           "alerts": [{"kind": "email", "target": "ml@example.com", "severity": "warning"}]}
    bp = load_text(yaml.safe_dump(doc), "demo.yaml").blueprint
    with pytest.raises(PlanError) as caught:
        plan(bp, "prod")
    assert [(format_path(d.path), d.message) for d in caught.value.diagnostics] == [
        ("models[0].monitoring.prediction_logging_percent",
         "quality monitoring of an online model reads its collected outputs; none are collected at 0 %")]


@pytest.mark.parametrize("source", [DEMAND, FRAUD, RECS])
def test_examples_moved_to_azure_plan_without_serving_errors(source: str) -> None:
    bp = load_text(Path(azure_example(source)).read_text(), "example.yaml").blueprint
    for env in ("dev", "staging", "prod"):
        plan(bp, env)  # raises PlanError on any limit


def test_prod_stacks_have_no_mandatory_violations(demand: SynthResult, fraud: SynthResult, recs: SynthResult) -> None:
    for result in (demand, fraud, recs):
        assert [v for v in result.violations if v.mandatory] == []


def test_deploy_step_owns_traffic_and_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """IaC ignores what the deploy step changes after creation: the split and the deployed model."""
    import pulumi

    from mlops.synth import synth

    ignored: dict[str, list[str]] = {}
    register = pulumi.runtime.register_stack_transformation

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        if args.opts is not None and args.opts.ignore_changes:
            ignored[args.name] = list(args.opts.ignore_changes)

    def both(transformation: Any) -> None:
        register(transformation)
        register(capture)

    monkeypatch.setattr(pulumi.runtime, "register_stack_transformation", both)
    synth(azure_example(FRAUD), "staging")
    prefix = "fraud-detection-staging-fraud-scorer"
    assert ignored[f"{prefix}-serving-endpoint"] == ["properties", "tags"]
    assert ignored[f"{prefix}-serving-blue"] == ["properties.model"]
    assert ignored[f"{prefix}-serving-shadow"] == ["properties.model"]
    assert not [n for n in ignored if n.endswith("serving-traffic")]  # IaC re-applies the resting split


def test_dev_stacks_have_no_mandatory_violations(demand_dev: SynthResult, fraud_dev: SynthResult) -> None:
    for result in (demand_dev, fraud_dev):
        assert [v for v in result.violations if v.mandatory] == []


def test_synth_is_deterministic(fraud: SynthResult) -> None:
    from mlops.synth import synth
    again = synth(azure_example(FRAUD), "prod")
    assert [(r.type, r.name, r.inputs, r.dependencies) for r in mine(again)] == [
        (r.type, r.name, r.inputs, r.dependencies) for r in mine(fraud)]


# --------------------------------------------------------------------------- quality


def _quality_script() -> Any:
    spec = importlib.util.spec_from_file_location("model_quality", quality.SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quality_job_scores_batch_predictions(demand: SynthResult) -> None:
    schedule = one(demand, f"{ML}Schedule", "quality-schedule").inputs["properties"]
    assert schedule["trigger"]["expression"] == "0 0 * * *"
    job = schedule["action"]["jobDefinition"]
    assert job["experimentName"] == "demand-forecaster-quality" and job["identity"]["identityType"] == "Managed"
    assert "computeId" not in job and job["resources"]["instanceType"].startswith("Standard_")
    env = job["environmentVariables"]
    assert (env["MLOPS_METRIC"], env["MLOPS_DIRECTION"], env["MLOPS_THRESHOLD"], env["MLOPS_DELAY_HOURS"],
            env["MLOPS_WINDOW_HOURS"]) == ("mape", "at_most", "0.2", "24", "24")
    assert env["MLOPS_SCRIPT"] == quality.SCRIPT.read_text(encoding="utf-8")
    batch_env = one(demand, f"{ML}Schedule", "batch-schedule").inputs["properties"]["action"]["jobDefinition"][
        "environmentVariables"]
    assert job["inputs"]["predictions"] == {"jobInputType": "uri_folder", "mode": "ReadOnlyMount",
                                            "uri": batch_env["MLOPS_BATCH_OUTPUT"]}
    labels = one(demand, f"{ML}Datastore", "quality-labels-store").inputs["name"]
    assert job["inputs"]["labels"]["uri"] == f"azureml://datastores/{labels}/paths/ground-truth/demand-forecaster/"
    assert "${{inputs.predictions}}" in job["command"] and "${{inputs.labels}}" in job["command"]
    alert = one(demand, QUERY_RULE, "quality-alert").inputs
    assert alert["scopes"] == [f"{one(demand, f'{ML}Workspace', 'ml-workspace').name}-id"]
    assert alert["actions"]["actionGroups"] == [f"{one(demand, ACTION_GROUP, 'alerting-warning').name}-id"]
    assert 'ExperimentName == "demand-forecaster-quality"' in alert["criteria"]["allOf"][0]["query"]


def test_quality_job_scores_collected_online_outputs(fraud: SynthResult) -> None:
    endpoint = one(fraud, f"{ML}OnlineEndpoint", "serving-endpoint").inputs["endpointName"]
    job = one(fraud, f"{ML}Schedule", "quality-schedule").inputs["properties"]["action"]["jobDefinition"]
    assert job["inputs"]["predictions"]["uri"] == quality.collected_outputs(endpoint)
    assert job["environmentVariables"]["MLOPS_WINDOW_HOURS"] == "1"
    assert one(fraud, QUERY_RULE, "quality-alert").inputs["windowSize"] == "PT1H"


def test_quality_metrics_agree_with_the_plan() -> None:
    assert set(_quality_script().METRICS) == set(AZURE_QUALITY_METRICS)


@pytest.mark.parametrize(("metric", "truth", "predicted", "expected"), [
    ("mape", [100, 200], [110, 180], 0.1),
    ("mae", [1, 2], [2, 4], 1.5),
    ("rmse", [0, 0], [3, 4], math.sqrt(12.5)),
    ("precision", [1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], 0.5),
    ("recall", [1, 1, 0], [0.9, 0.1, 0.2], 0.5),
    ("accuracy", [1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], 0.5),
    ("auc", [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], 0.75),
    ("ctr", [1, 0, 0, 0], [0.9, 0.8, 0.7, 0.1], 0.25),
])
def test_quality_metrics(metric: str, truth: list[float], predicted: list[float], expected: float) -> None:
    assert _quality_script().METRICS[metric](truth, predicted) == pytest.approx(expected)


def test_quality_job_fails_when_the_bar_is_missed(tmp_path: Path) -> None:
    import os
    import time

    script = _quality_script()
    predictions, labels = tmp_path / "predictions", tmp_path / "labels"
    (predictions / "2026-01-01").mkdir(parents=True)
    labels.mkdir()
    served = predictions / "2026-01-01" / "predictions.csv"
    served.write_text("id,prediction\na,110\nb,180\nc,50\n")
    (labels / "truth.csv").write_text("id,label\na,100\nb,200\n")
    old = time.time() - 30 * 3600  # served 30 h ago: inside the day that ended 24 h ago
    os.utime(served, (old, old))
    args = ["--predictions", str(predictions), "--labels", str(labels), "--metric", "mape", "--direction",
            "at_most", "--delay-hours", "24", "--window-hours", "24"]
    assert script.main([*args, "--threshold", "0.2"]) == 0
    assert script.main([*args, "--threshold", "0.05"]) == 1
    os.utime(served, None)  # served now: its labels have not had time to arrive
    assert script.main([*args, "--threshold", "0.2"]) == 1


def test_collected_outputs_are_read_by_request_id(tmp_path: Path) -> None:
    path = tmp_path / "outputs.jsonl"
    path.write_text('{"correlationid": "r1", "data": [{"score": 0.9}]}\n{"correlationid": "r2", "data": [[0.1]]}\n')
    assert _quality_script().read_predictions([str(path)]) == {"r1": 0.9, "r2": 0.1}


# --------------------------------------------------------------------------- deployment on approval


def _deploy_script() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_approved", deployer.SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeArm:
    """Azure Resource Manager as the deployer sees it: resources by path, alerts on demand."""

    def __init__(self, *, served: str, latest: str, kind: str = "online", alerts: bool = False) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.alerts = alerts
        self.workspace = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w"
        model = (f"azureml://registries/r/models/m/versions/{served}" if kind == "online"
                 else {"referenceType": "Id", "assetId": f"azureml://registries/r/models/m/versions/{served}"})
        kind_path = "onlineEndpoints" if kind == "online" else "batchEndpoints"
        self.endpoint = f"{self.workspace}/{kind_path}/e"
        champion = "blue" if kind == "online" else "champion"
        self.resources: dict[str, dict[str, Any]] = {
            f"{self.endpoint}/deployments/{champion}": {
                "id": "x", "name": champion, "location": "westeurope", "sku": {"name": "Default", "capacity": 2},
                "properties": {"model": model, "instanceType": "Standard_DS3_v2", "provisioningState": "Succeeded"}},
            self.endpoint: {"location": "westeurope", "properties": {
                "authMode": "AADToken", "traffic": {"blue": 100}, "mirrorTraffic": {"shadow": 20},
                "provisioningState": "Succeeded", "scoringUri": "https://e"}},
        }
        self.latest = latest

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resource = path.split("?", 1)[0]
        self.calls.append((method, resource.removeprefix(self.endpoint), body))
        if resource.endswith("/models/m/versions"):
            return {"value": [{"name": self.latest}]}
        if resource.endswith("Microsoft.AlertsManagement/alerts"):
            return {"value": [{"name": "latency"}] if self.alerts else []}
        if method == "PUT":
            assert body is not None and "provisioningState" not in body["properties"]
            self.resources[resource] = {**body, "properties": {**body["properties"], "provisioningState": "Succeeded"}}
            return body
        if method == "DELETE":
            del self.resources[resource]
            return {}
        return self.resources[resource]

    def config(self, steps: list[Any], kind: str = "online") -> dict[str, Any]:
        return {"subscription": "s", "workspace_id": self.workspace, "source_id": "/registries/r", "registry": "r",
                "model": "m", "kind": kind, "endpoint": "e", "steps": steps, "auto_rollback": True}

    def writes(self) -> list[tuple[str, str, Any]]:
        return [(m, p, (b or {}).get("properties", {}).get("traffic") or (b or {}).get("properties", {}).get("model"))
                for m, p, b in self.calls if m != "GET"]


CANARY = [{"traffic": {"blue": 95, "green": 5}, "bake_minutes": 30},
          {"traffic": {"blue": 0, "green": 100}, "bake_minutes": 30}, {"traffic": {"blue": 100}, "bake_minutes": 0}]
NEW = "azureml://registries/r/models/m/versions/7"


def test_deployer_walks_the_canary_and_settles_into_blue() -> None:
    arm, slept = FakeArm(served="6", latest="7"), []
    assert _deploy_script().Deployer(arm.config(CANARY), arm, sleep=slept.append, log=lambda _: None).run() == 0
    assert arm.writes() == [
        ("PUT", "/deployments/green", NEW),
        ("PUT", "", {"blue": 95, "green": 5}),
        ("PUT", "", {"blue": 0, "green": 100}),
        ("PUT", "/deployments/blue", NEW),
        ("PUT", "", {"blue": 100}),
        ("DELETE", "/deployments/green", None),
    ]
    assert slept == [1800, 1800]
    assert arm.resources[arm.endpoint]["properties"]["mirrorTraffic"] == {"shadow": 20}  # the shadow keeps mirroring


def test_deployer_rolls_back_when_alerts_fire() -> None:
    arm = FakeArm(served="6", latest="7", alerts=True)
    assert _deploy_script().Deployer(arm.config(CANARY), arm, sleep=lambda _: None, log=lambda _: None).run() == 1
    assert arm.writes() == [("PUT", "/deployments/green", NEW), ("PUT", "", {"blue": 95, "green": 5}),
                            ("PUT", "", {"blue": 100}), ("DELETE", "/deployments/green", None)]
    assert served_version(arm) == "6"


def served_version(arm: FakeArm) -> str:
    return str(arm.resources[f"{arm.endpoint}/deployments/blue"]["properties"]["model"]).rsplit("/", 1)[-1]


def test_deployer_updates_in_place_or_not_at_all() -> None:
    script = _deploy_script()
    arm = FakeArm(served="6", latest="7")
    assert script.Deployer(arm.config([{"traffic": {"blue": 100}, "bake_minutes": 0}]), arm,
                           sleep=lambda _: None, log=lambda _: None).run() == 0
    assert arm.writes() == [("PUT", "/deployments/blue", NEW)]
    same = FakeArm(served="7", latest="7")
    assert script.Deployer(same.config(CANARY), same, sleep=lambda _: None, log=lambda _: None).run() == 0
    assert same.writes() == []
    batch = FakeArm(served="1", latest="2", kind="batch")
    assert script.Deployer(batch.config([], "batch"), batch, sleep=lambda _: None, log=lambda _: None).run() == 0
    [(method, path, model)] = batch.writes()
    assert (method, path) == ("PUT", "/deployments/champion")
    assert model == {"referenceType": "Id", "assetId": "azureml://registries/r/models/m/versions/2"}


def test_deployer_component(fraud: SynthResult, demand: SynthResult) -> None:
    assert children(fraud, "AzureMlDeployer") == sorted([
        ("UserAssignedIdentity", "-identity"), ("RoleDefinition", "-role"), ("RoleAssignment", "-access"),
        ("Compute", "-cluster"), ("Schedule", "-schedule")])
    role = one(fraud, "azure-native:authorization:RoleDefinition", "deployer-role").inputs
    assert role["permissions"] == [{"actions": sorted(deployer.DEPLOYER_ACTIONS), "notActions": []}]
    identity = one(fraud, "azure-native:managedidentity:UserAssignedIdentity", "deployer-identity")
    access = one(fraud, "azure-native:authorization:RoleAssignment", "deployer-access")
    assert access.property_dependencies["principalId"] == [identity.urn]
    job = one(fraud, f"{ML}Schedule", "deployer-schedule").inputs["properties"]
    assert job["trigger"] == {"triggerType": "Recurrence", "frequency": "Hour", "interval": 1, "timeZone": "UTC"}
    definition = job["action"]["jobDefinition"]
    config = json.loads(definition["environmentVariables"]["MLOPS_CONFIG"])
    endpoint = one(fraud, f"{ML}OnlineEndpoint", "serving-endpoint").inputs["endpointName"]
    registry = one(fraud, f"{ML}Registry", "registry-registry").inputs["registryName"]
    assert (config["kind"], config["endpoint"], config["registry"], config["auto_rollback"]) == (
        "online", endpoint, registry, True)
    assert config["steps"][0] == {"traffic": {"blue": 95, "green": 5}, "bake_minutes": 30}
    assert config["workspace_id"].endswith("/providers/Microsoft.MachineLearningServices/workspaces/"
                                           "fraud-detection-prod-mlw")
    assert definition["limits"]["timeout"] == "PT3H"  # two 30-minute bakes and two hours
    assert definition["environmentVariables"]["MLOPS_SCRIPT"] == deployer.SCRIPT.read_text(encoding="utf-8")
    batch_config = json.loads(one(demand, f"{ML}Schedule", "deployer-schedule").inputs["properties"]["action"][
        "jobDefinition"]["environmentVariables"]["MLOPS_CONFIG"])
    assert (batch_config["kind"], batch_config["steps"]) == ("batch", [])
