"""The Azure platform area under mocks: workspace and its dependencies, registry and approval, governance,
retraining triggers, Databricks, budget; its cloud limits and coverage; an AWS example moved to Azure."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from evidence_checks import not_built
from shared_synth import synthesized

from components.azure.cost import DEFAULT_START, notifications
from components.azure.databricks import subnet_ranges
from components.azure.governance import AZURE_CONTROLS
from components.azure.principals import Principal, principal, unique
from components.azure.registry import REGISTRY_WRITE, registry_regions
from components.azure.retraining import FAILED, QUALITY_BREACH_KEY, STATUS_KEY, performance_triggered
from components.azure.retraining_workflow import (
    QUALITY_BREACH_TAG,
    TRIGGERED_BY,
    VALIDATION_EVENT,
    literal,
    workflow_definition,
)
from components.azure.roles import PRIVILEGED_BUILT_IN_ROLES
from components.azure.workspace import log_retention_days, tracking_uri, workspace_name
from components.payload import decode
from mlops.blueprint import BlueprintError, load_blueprint
from mlops.blueprint.model import Cloud
from mlops.clouds.azure_regions import AZURE_PAIRED_REGIONS
from mlops.evidence import builds
from mlops.plan import Capability, Plan, plan_loaded
from mlops.plan.compliance import Control
from mlops.plan.model import CostPlan
from mlops.synth import SynthError, SynthResult, synth
from mlops.synth.recorder import Recorded

FORECAST = "blueprints/demand-forecasting-azure.yaml"
PROD_SUBSCRIPTION = "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
ENGINE_TYPES = ("pulumi:pulumi:Stack", "pulumi:providers:")
AREA_COMPONENTS = ("AzureMlWorkspace", "AzureMlModelRegistry", "AzureMlTrainingPipeline", "AzureMlCompute",
                   "AzureGovernance", "AzureDatabricks", "AzureBudget", "AzureMlRetrainingTriggers")


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(FORECAST, "prod")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(FORECAST, "dev")


def moved_to_azure(tmp_path: Path, source: str = "blueprints/fraud-detection-aws.yaml") -> Path:
    """An AWS example on Azure: region, subscriptions and principals (Entra object ids) changed."""
    text = Path(source).read_text()
    text = text.replace("cloud: {provider: aws, region: us-east-1}", "cloud: {provider: azure, region: eastus}")
    for n in "123":
        text = text.replace(f'"{n * 12}"', f'"{n * 8}-{n * 4}-4{n * 3}-8{n * 3}-{n * 12}"')
    for name in ("fraud-data-scientists", "ml-platform-engineers", "model-risk-committee", "fraud-business-owner",
                 "ml-engineering-leads"):
        text = text.replace(name, f'"group:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"')
    path = tmp_path / "fraud-azure.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def fraud(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synth(str(moved_to_azure(tmp_path_factory.mktemp("fraud"))), "prod")


def _one(result: SynthResult, suffix: str) -> Recorded:
    [record] = [r for r in result.resources if r.name.endswith(suffix)]
    return record


def _of_type(result: SynthResult, type_: str) -> list[Recorded]:
    return [r for r in result.resources if r.type == type_]


def _area(result: SynthResult) -> list[Recorded]:
    """Resources of the platform area (descendants of its components)."""
    by_urn = {r.urn: r for r in result.resources}
    roots = {r.urn for r in result.resources if r.type.removeprefix("mlops:index:") in AREA_COMPONENTS}
    found = []
    for record in result.resources:
        chain: Recorded | None = record
        while chain is not None and chain.urn not in roots:
            chain = by_urn.get(chain.parent) if chain.parent else None
        if chain is not None:
            found.append(record)
    return found


# --------------------------------------------------------------------------- inventory and conventions


def test_inventory(prod: SynthResult) -> None:
    counts = Counter(r.type for r in _area(prod))
    assert counts == {
        "mlops:index:AzureMlWorkspace": 1, "azure-native:operationalinsights:Workspace": 1,
        "azure-native:applicationinsights:Component": 1, "azure-native:containerregistry:Registry": 1,
        ROLE_ASSIGNMENT: 11, WORKSPACE: 1, "azure-native:machinelearningservices:Datastore": 2,
        "mlops:index:AzureDatabricks": 1, "azure-native:network:NetworkSecurityGroup": 1,
        "azure-native:network:VirtualNetwork": 1, "azure-native:databricks:Workspace": 1,
        "azure-native:network:PrivateEndpoint": 1, "azure-native:privatedns:PrivateZone": 1,
        "azure-native:privatedns:VirtualNetworkLink": 1, "azure-native:network:PrivateDnsZoneGroup": 1,
        "mlops:index:AzureMlModelRegistry": 1, "azure-native:machinelearningservices:Registry": 1,
        ROLE_DEFINITION: 4, "mlops:index:AzureMlTrainingPipeline": 1, "mlops:index:AzureMlCompute": 1,
        "azure-native:machinelearningservices:Compute": 1, "azure-native:machinelearningservices:CodeVersion": 1,
        "azure-native:machinelearningservices:EnvironmentVersion": 1,
        "azure-native:machinelearningservices:ComponentVersion": 5,
        "azure-native:machinelearningservices:Schedule": 1, "mlops:index:AzureGovernance": 1, DIAGNOSTICS: 4,
        "mlops:index:AzureBudget": 1, "azure-native:consumption:Budget": 1,
    }


def test_no_violations_on_any_environment(prod: SynthResult, dev: SynthResult, fraud: SynthResult) -> None:
    assert prod.violations == [] and dev.violations == [] and fraud.violations == []


def test_names_tags_and_parents(prod: SynthResult) -> None:
    by_urn = {r.urn: r for r in prod.resources}
    for record in _area(prod):
        parent = by_urn[record.parent] if record.parent else None
        assert parent is not None and record.name.startswith(parent.name), record.name
        tags = record.inputs.get("tags")
        if record.custom and tags is not None:
            assert tags["environment"] == "prod" and tags["mlops-blueprint"] == "demand-forecast", record.name
    # Every taggable resource of the area carries tags (role assignments, definitions, diagnostics, budgets,
    # datastores' envelope, DNS zone groups and schedules' envelope take none).
    untaggable = {ROLE_ASSIGNMENT, ROLE_DEFINITION, DIAGNOSTICS, "azure-native:consumption:Budget",
                  "azure-native:network:PrivateDnsZoneGroup", "azure-native:machinelearningservices:Datastore",
                  "azure-native:machinelearningservices:Schedule", "azure-native:machinelearningservices:CodeVersion",
                  "azure-native:machinelearningservices:EnvironmentVersion",
                  "azure-native:machinelearningservices:ComponentVersion"}
    for record in _area(prod):
        if record.custom and record.type not in untaggable:
            assert "tags" in record.inputs, record.name


def test_stateful_resources_are_protected_only_in_prod(prod: SynthResult, dev: SynthResult) -> None:
    stateful = {WORKSPACE, "azure-native:operationalinsights:Workspace", "azure-native:containerregistry:Registry",
                "azure-native:machinelearningservices:Registry", "azure-native:databricks:Workspace"}
    for record in _area(prod):
        assert (record.protect and record.retain_on_delete) == (record.type in stateful), record.name
    assert not any(r.protect or r.retain_on_delete for r in _area(dev))


def test_synth_is_deterministic(prod: SynthResult) -> None:
    again = synth(FORECAST, "prod")
    assert [(r.name, r.inputs) for r in again.resources] == [(r.name, r.inputs) for r in prod.resources]


# --------------------------------------------------------------------------- workspace and tracking


def test_workspace_is_private_encrypted_and_uses_the_foundation(prod: SynthResult, dev: SynthResult) -> None:
    ws = _one(prod, "-ml-workspace").inputs
    identity = f"{_one(prod, 'foundation-identity').name}-id"
    assert ws["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity]}
    assert ws["primaryUserAssignedIdentity"] == identity
    assert ws["publicNetworkAccess"] == "Disabled" and ws["allowPublicAccessWhenBehindVnet"] is False
    assert ws["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert ws["hbiWorkspace"] is True and ws["systemDatastoresAuthMode"] == "Identity"
    assert ws["keyVault"] == f"{_one(prod, 'foundation-vault').name}-id"
    assert ws["storageAccount"] == f"{_one(prod, 'foundation-storage').name}-id"
    assert ws["encryption"]["status"] == "Enabled"
    assert ws["encryption"]["keyVaultProperties"]["keyIdentifier"] == (
        f"https://{_one(prod, 'foundation-vault').inputs['vaultName']}.vault.azure.net/keys/platform-cmk")
    dev_ws = _one(dev, "-ml-workspace").inputs
    assert dev_ws["managedNetwork"]["isolationMode"] == "AllowInternetOutbound"
    assert "encryption" not in dev_ws and dev_ws["hbiWorkspace"] is False
    assert dev_ws["publicNetworkAccess"] == "Disabled"


def test_app_insights_on_log_analytics_and_registry_hardened(prod: SynthResult, dev: SynthResult) -> None:
    logs = _one(prod, "-ml-logs").inputs
    assert logs["retentionInDays"] == log_retention_days(prod.plan) and logs["features"]["disableLocalAuth"] is True
    insights = _one(prod, "-ml-insights")
    assert insights.inputs["workspaceResourceId"] == f"{_one(prod, '-ml-logs').name}-id"
    assert insights.inputs["disableLocalAuth"] is True and insights.inputs["ingestionMode"] == "LogAnalytics"
    acr = _one(prod, "-ml-acr").inputs
    assert acr["sku"]["name"] == "Premium" and acr["adminUserEnabled"] is False
    assert acr["anonymousPullEnabled"] is False and acr["publicNetworkAccess"] == "Disabled"
    assert acr["encryption"]["status"] == "enabled" and acr["zoneRedundancy"] == "Enabled"
    dev_acr = _one(dev, "-ml-acr").inputs
    assert dev_acr["sku"]["name"] == "Standard" and "encryption" not in dev_acr


def test_workspace_identity_holds_data_plane_roles_only(prod: SynthResult) -> None:
    grants = [r for r in _of_type(prod, ROLE_ASSIGNMENT) if "-ml-identity-" in r.name]
    assert len(grants) == 5
    for grant in grants:
        role = grant.inputs["roleDefinitionId"].rsplit("/", 1)[1]
        assert role not in PRIVILEGED_BUILT_IN_ROLES
    # The workspace waits for its identity's grants.
    assert {g.urn for g in grants} <= set(_one(prod, "-ml-workspace").dependencies)


def test_tracking_uri_and_outputs(prod: SynthResult) -> None:
    assert prod.outputs["tracking_uri"] == tracking_uri(
        "westeurope", PROD_SUBSCRIPTION, "demand-forecast-prod-rg", "demand-forecast-prod-mlw")
    assert prod.outputs["tracking_uri"].startswith("azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/")
    assert prod.outputs["workspace_name"] == "demand-forecast-prod-mlw"
    assert {"model_registry", "container_registry", "log_analytics_workspace"} <= set(prod.outputs)


def test_workspace_names_fit_azure_ml(prod: SynthResult) -> None:
    long = prod.plan.model_copy(update={"prefix": "a-very-long-blueprint-name-for-tests-prod"})
    assert len(workspace_name(long)) <= 33 and workspace_name(long) != workspace_name(prod.plan)
    assert workspace_name(prod.plan) == "demand-forecast-prod-mlw"


# --------------------------------------------------------------------------- registry and approval


def test_registry_replicates_to_the_paired_region_in_prod(prod: SynthResult, dev: SynthResult) -> None:
    regions = [d["location"] for d in _one(prod, "-registry-registry").inputs["regionDetails"]]
    assert regions == ["westeurope", "northeurope"] == registry_regions(prod.plan)
    assert [d["location"] for d in _one(dev, "-registry-registry").inputs["regionDetails"]] == ["westeurope"]
    assert AZURE_PAIRED_REGIONS["eastus"] == "westus" and AZURE_PAIRED_REGIONS["westus3"] == "eastus"


def test_only_approvers_may_write_into_the_registry(prod: SynthResult) -> None:
    roles = {r.inputs["roleName"]: r for r in _of_type(prod, ROLE_DEFINITION)}
    writers = {name for name, r in roles.items()
               if any(a in REGISTRY_WRITE for p in r.inputs["permissions"] for a in p["actions"])}
    assert writers == {"demand-forecast-prod model approver"}
    approver = roles["demand-forecast-prod model approver"]
    holders = [r for r in _of_type(prod, ROLE_ASSIGNMENT) if approver.urn in r.property_dependencies.get(
        "roleDefinitionId", [])]
    assert {h.inputs["principalId"] for h in holders} == {"5d0c7e2a-3b4f-4e6a-9c1d-7f8e9a0b1c2d"}
    assert all(h.inputs["principalType"] == "Group" for h in holders)
    # The other personas' roles exclude registry writes explicitly.
    for name in ("demand-forecast-prod data scientist", "demand-forecast-prod ml engineer"):
        assert "Microsoft.MachineLearningServices/registries/assets/write" in \
            roles[name].inputs["permissions"][0]["notActions"]


def test_without_approval_ml_engineers_promote(dev: SynthResult) -> None:
    roles = {r.inputs["roleName"]: r for r in _of_type(dev, ROLE_DEFINITION)}
    approver = roles["demand-forecast-dev model approver"]
    holders = {r.inputs["principalId"] for r in _of_type(dev, ROLE_ASSIGNMENT)
               if approver.urn in r.property_dependencies.get("roleDefinitionId", [])}
    assert holders == {"5d0c7e2a-3b4f-4e6a-9c1d-7f8e9a0b1c2d", "3b5d7f9a-2c4e-4a6b-9d8f-0e1a2b3c4d5e"}


def test_principals() -> None:
    group = "2a4c6e8f-1b3d-4f5a-8c7e-9d0f1a2b3c4d"
    assert principal(group.upper()) == Principal(group, "Group")
    assert principal("user:2a4c6e8f-1b3d-4f5a-8c7e-9d0f1a2b3c4d").type == "User"
    assert principal("sp:2a4c6e8f-1b3d-4f5a-8c7e-9d0f1a2b3c4d").type == "ServicePrincipal"
    assert len(unique(["group:2a4c6e8f-1b3d-4f5a-8c7e-9d0f1a2b3c4d", "2a4c6e8f-1b3d-4f5a-8c7e-9d0f1a2b3c4d"])) == 1
    with pytest.raises(ValueError, match="not an Azure principal"):
        principal("team:2a4c6e8f-1b3d-4f5a-8c7e-9d0f1a2b3c4d")


def test_plain_principal_names_are_refused_on_azure(tmp_path: Path) -> None:
    text = Path(FORECAST).read_text().replace('["group:2a4c6e8f-1b3d-4f5a-8c7e-9d0f1a2b3c4d"]',
                                              "[demand-data-scientists]")
    path = tmp_path / "names.yaml"
    path.write_text(text)
    with pytest.raises(BlueprintError, match=r"governance\.roles\.data_scientist\[0\]"):
        load_blueprint(path)


# --------------------------------------------------------------------------- governance


def test_no_privileged_roles_and_custom_roles_scoped(prod: SynthResult, fraud: SynthResult) -> None:
    for result in (prod, fraud):
        for assignment in _of_type(result, ROLE_ASSIGNMENT):
            assert assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1] not in PRIVILEGED_BUILT_IN_ROLES
            assert uuid.UUID(assignment.inputs["roleAssignmentName"])
        names = [a.inputs["roleAssignmentName"] for a in _of_type(result, ROLE_ASSIGNMENT)]
        assert len(names) == len(set(names))
        for role in _of_type(result, ROLE_DEFINITION):
            assert role.inputs["assignableScopes"] == [role.inputs["scope"]]
            assert role.inputs["scope"].endswith(f"/resourceGroups/{result.plan.prefix}-rg")


def test_data_scientists_only_read_in_production(prod: SynthResult, dev: SynthResult) -> None:
    def actions(result: SynthResult) -> list[str]:
        [role] = [r for r in _of_type(result, ROLE_DEFINITION) if r.inputs["roleName"].endswith("data scientist")]
        return role.inputs["permissions"][0]["actions"]

    assert all(a.endswith("read") for a in actions(prod))
    assert "Microsoft.MachineLearningServices/workspaces/jobs/*" in actions(dev)


def test_every_compliance_control_says_how_azure_implements_it() -> None:
    assert set(AZURE_CONTROLS) == set(Control)
    assert all(AZURE_CONTROLS.values())


def test_diagnostic_settings_send_audit_logs_to_log_analytics(prod: SynthResult) -> None:
    logs = f"{_one(prod, '-ml-logs').name}-id"
    settings = {r.name.rsplit("-governance-", 1)[1]: r.inputs for r in _of_type(prod, DIAGNOSTICS)
                if "-governance-" in r.name}
    assert set(settings) == {"workspace-diagnostics", "vault-diagnostics", "storage-diagnostics", "acr-diagnostics"}
    for inputs in settings.values():
        assert inputs["workspaceId"] == logs and inputs["logAnalyticsDestinationType"] == "Dedicated"
    assert settings["workspace-diagnostics"]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert settings["vault-diagnostics"]["logs"] == [{"categoryGroup": "audit", "enabled": True}]
    assert settings["storage-diagnostics"]["resourceUri"].endswith("/blobServices/default")


# --------------------------------------------------------------------------- retraining triggers


def test_drift_retraining_on_the_moved_fraud_example(fraud: SynthResult) -> None:
    topic = _one(fraud, "-retraining-topic").inputs
    assert topic["topicType"] == "Microsoft.MachineLearningServices.Workspaces"
    events = _one(fraud, "-retraining-fraud-scorer-events").inputs
    assert events["filter"]["includedEventTypes"] == ["Microsoft.MachineLearningServices.RunStatusChanged"]
    keys = {f["key"]: f["values"] for f in events["filter"]["advancedFilters"]}
    assert keys["data.ExperimentName"] == ["fraud-detection-prod-fraud-scorer-monitor"]
    assert events["retryPolicy"]["maxDeliveryAttempts"] == 1
    definition = _one(fraud, "-retraining-fraud-scorer-workflow").inputs["definition"]
    start = definition["actions"]["route"]["else"]["actions"]["submit"]["inputs"]
    assert start["method"] == "PUT" and "/jobs/@{guid()}?api-version=" in start["uri"]
    # The event says what started the run: drift here, performance for a quality breach.
    assert start["body"]["properties"]["inputs"]["trigger"] == {"jobInputType": "literal", "value": TRIGGERED_BY}
    assert start["authentication"]["type"] == "ManagedServiceIdentity"
    wait = definition["actions"]["route"]["else"]["actions"]["cooldown"]["inputs"]["interval"]
    assert wait == {"count": fraud.plan.models[0].retraining.min_interval_hours, "unit": "Hour"}
    assert Capability.drift_retraining not in not_built(fraud)


def test_performance_retraining_on_the_moved_fraud_example(fraud: SynthResult) -> None:
    """Level 3 monitoring with on_performance: the quality job's breached runs start the same workflow."""
    [model] = fraud.plan.models
    assert model.retraining.on_performance and performance_triggered(model)
    assert Capability.performance_retraining in fraud.plan.capabilities
    assert Capability.performance_retraining not in not_built(fraud)
    events = _one(fraud, "-retraining-fraud-scorer-quality-events")
    inputs = events.inputs
    assert inputs["eventSubscriptionName"] == "fraud-scorer-performance"
    assert inputs["filter"]["includedEventTypes"] == ["Microsoft.MachineLearningServices.RunStatusChanged"]
    filters = {f["key"]: (f["operatorType"], f["values"]) for f in inputs["filter"]["advancedFilters"]}
    quality_job = _one(fraud, "-fraud-scorer-quality-schedule").inputs["properties"]["action"]["jobDefinition"]
    assert filters == {"data.ExperimentName": ("StringIn", [quality_job["experimentName"]]),
                       STATUS_KEY: ("StringIn", [FAILED]), QUALITY_BREACH_KEY: ("StringIn", ["true"])}
    assert QUALITY_BREACH_KEY == "data.RunTags.mlops_quality_breach"
    assert inputs["retryPolicy"]["maxDeliveryAttempts"] == 1
    assert inputs["destination"]["endpointType"] == "WebHook"
    assert inputs["destination"]["minimumTlsVersionAllowed"] == "1.2"
    # Both subscriptions post to the one workflow of the model (a shared cool-down) on the one topic.
    drift = _one(fraud, "-retraining-fraud-scorer-events").inputs
    assert drift["destination"]["endpointUrl"] == inputs["destination"]["endpointUrl"]
    assert drift["systemTopicName"] == inputs["systemTopicName"] == _one(fraud, "-retraining-topic").inputs[
        "systemTopicName"]
    assert len(_of_type(fraud, "azure-native:logic:Workflow")) == 1
    [triggers] = [r for r in fraud.resources if r.type == "mlops:index:AzureMlRetrainingTriggers"]
    assert events.parent == triggers.urn
    assert not [k for k in inputs if "_" in k]  # camelCase wire names only (a snake_case key is a typo)


def test_only_failed_runs_tagged_as_a_breach_start_performance_retraining(fraud: SynthResult) -> None:
    """Event Grid's advanced filters are ANDed: evaluate them on events as the workspace publishes them."""
    filters = _one(fraud, "-retraining-fraud-scorer-quality-events").inputs["filter"]["advancedFilters"]

    def delivered(data: dict[str, Any]) -> bool:
        event = {"data": data}

        def value(key: str) -> Any:
            found: Any = event
            for part in key.split("."):
                found = found.get(part) if isinstance(found, dict) else None
            return found

        return all(f["operatorType"] == "StringIn" and value(f["key"]) in f["values"] for f in filters)

    missed = {"ExperimentName": "fraud-scorer-quality", "RunStatus": "Failed",
              "RunTags": {QUALITY_BREACH_TAG: "true", "model": "fraud-scorer"}}
    assert delivered(missed)
    assert not delivered({**missed, "RunTags": {"model": "fraud-scorer"}})  # failed for another reason
    assert not delivered({**missed, "RunStatus": "Completed"})
    assert not delivered({**missed, "ExperimentName": "other-model-quality"})


def test_workflow_says_which_event_started_the_run() -> None:
    """The `trigger` input is an expression on the event: a quality breach → performance, else drift."""
    definition: dict[str, Any] = json.loads(json.dumps(workflow_definition(
        workspace_id="/ws", job={"inputs": {"trigger": {"jobInputType": "literal", "value": "drift"}}},
        identity_id="/id", cooldown_hours=6)))
    trigger = definition["actions"]["route"]["else"]["actions"]["submit"]["inputs"]["body"]["properties"][
        "inputs"]["trigger"]
    assert trigger == {"jobInputType": "literal", "value": TRIGGERED_BY}
    assert TRIGGERED_BY.startswith("@if(") and f"['RunTags']?['{QUALITY_BREACH_TAG}']" in TRIGGERED_BY
    assert "'performance', 'drift')" in TRIGGERED_BY


def test_quality_job_tags_its_run_only_when_the_bar_is_missed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import os
    import time

    from components.azure.quality import SCRIPT
    spec = importlib.util.spec_from_file_location("model_quality", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.BREACH_TAG == QUALITY_BREACH_TAG  # the script travels alone in the job definition
    predictions, labels = tmp_path / "predictions", tmp_path / "labels"
    predictions.mkdir()
    labels.mkdir()
    served = predictions / "predictions.csv"
    served.write_text("id,prediction\na,0.9\nb,0.8\n")
    (labels / "truth.csv").write_text("id,label\na,1\nb,0\n")
    old = time.time() - 1.5 * 3600  # inside the hour that ended an hour ago
    os.utime(served, (old, old))
    marks: list[bool] = []

    def mark() -> bool:
        marks.append(True)
        return True

    args = ["--predictions", str(predictions), "--labels", str(labels), "--metric", "precision", "--direction",
            "at_least", "--delay-hours", "1", "--window-hours", "1"]
    assert script.main([*args, "--threshold", "0.5"], mark=mark) == 0 and marks == []  # precision 0.5: met
    assert script.main([*args, "--threshold", "0.9"], mark=mark) == 1 and marks == [True]  # missed: tagged
    os.utime(served, None)  # nothing labelled in the window: fails, not a breach
    assert script.main([*args, "--threshold", "0.5"], mark=mark) == 1 and marks == [True]
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    assert script.mark_breach() is False  # no MLflow run here: the failure still alerts, says why


def test_workflow_definition_answers_the_validation_handshake() -> None:
    definition: dict[str, Any] = json.loads(json.dumps(workflow_definition(
        workspace_id="/ws", job={"tags": {"x": "@admin"}}, identity_id="/id", cooldown_hours=6)))
    route = definition["actions"]["route"]
    assert route["expression"]["and"][0]["equals"][1] == VALIDATION_EVENT
    assert route["actions"]["validate"]["inputs"]["statusCode"] == 200
    trigger = definition["triggers"]["monitor_event"]
    assert trigger["runtimeConfiguration"]["concurrency"] == {"runs": 1, "maximumWaitingRuns": 1}
    # Literal strings that look like expressions are escaped.
    assert route["else"]["actions"]["submit"]["inputs"]["body"]["properties"]["tags"]["x"] == "@@admin"
    assert literal("${{parent.inputs.x}}") == "${{parent.inputs.x}}"


def test_no_event_triggers_without_drift_or_performance_retraining(prod: SynthResult) -> None:
    assert not any(performance_triggered(m) or m.retraining.on_drift for m in prod.plan.models)
    assert not [r for r in prod.resources if "eventgrid" in r.type or "logic:" in r.type]
    assert [r.name for r in prod.resources if r.name.endswith("-retraining")] == [
        "demand-forecast-prod-demand-forecaster-training-retraining"]


# --------------------------------------------------------------------------- Databricks and cost


def test_databricks_is_private_premium_and_linked(prod: SynthResult, dev: SynthResult) -> None:
    ws = _one(prod, "-databricks-workspace").inputs
    assert ws["sku"] == {"name": "premium"} and ws["publicNetworkAccess"] == "Disabled"
    assert ws["requiredNsgRules"] == "NoAzureDatabricksRules"
    assert ws["parameters"]["enableNoPublicIp"] == {"value": True}
    assert ws["parameters"]["amlWorkspaceId"]["value"].endswith("/workspaces/demand-forecast-prod-mlw")
    assert ws["parameters"]["customVirtualNetworkId"]["value"] == f"{_one(prod, '-databricks-vnet').name}-id"
    assert ws["encryption"]["entities"]["managedServices"]["keySource"] == "Microsoft.Keyvault"
    assert ws["encryption"]["entities"]["managedDisk"]["rotationToLatestKeyVersionEnabled"] is True
    subnets = {s["name"]: s for s in _one(prod, "-databricks-vnet").inputs["subnets"]}
    assert subnets["host"]["delegations"][0]["serviceName"] == "Microsoft.Databricks/workspaces"
    endpoint = _one(prod, "-databricks-endpoint").inputs
    assert endpoint["privateLinkServiceConnections"][0]["groupIds"] == ["databricks_ui_api"]
    dev_ws = _one(dev, "-databricks-workspace").inputs
    assert dev_ws["parameters"]["enableNoPublicIp"] == {"value": True} and "encryption" not in dev_ws
    assert not [r for r in dev.resources if r.name.endswith("-databricks-vnet")]
    assert subnet_ranges("10.40.0.0/16") == {"host": "10.40.0.0/18", "container": "10.40.64.0/18",
                                             "endpoints": "10.40.128.0/18"}


def test_budget(prod: SynthResult) -> None:
    budget = _one(prod, "-cost-budget").inputs
    assert budget["amount"] == 4000 and budget["timeGrain"] == "Monthly"
    assert budget["timePeriod"] == {"startDate": f"{DEFAULT_START}T00:00:00Z"}
    assert budget["scope"] == f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/demand-forecast-prod-rg"
    assert sorted(budget["notifications"]) == ["actual-100", "actual-120", "actual-50", "actual-80", "forecast-100"]
    for notification in budget["notifications"].values():
        assert notification["contactEmails"] == ["demand-planning-ml@example-mfg.com"]
        assert notification["contactGroups"] == [f"{_one(prod, '-alerting-warning').name}-id"]


def test_budget_keeps_five_notifications_at_most() -> None:
    five = notifications(CostPlan(monthly_budget_usd=10, alert_thresholds_percent=(10, 20, 30, 40, 50)), [], None)
    assert len(five) == 5 and "forecast-100" not in five


def test_budget_start_setting() -> None:
    result = synth(FORECAST, "prod", {"mlops:budgetStart": "2027-03-01"})
    assert _one(result, "-cost-budget").inputs["timePeriod"]["startDate"] == "2027-03-01T00:00:00Z"
    with pytest.raises(SynthError, match="first of a month"):
        synth(FORECAST, "prod", {"mlops:budgetStart": "2027-03-15"})


# --------------------------------------------------------------------------- limits and coverage


def _plan(path: str | Path, env: str = "prod") -> Plan:
    return plan_loaded(load_blueprint(path), env)


def test_a_region_without_a_pair_is_a_located_error(tmp_path: Path) -> None:
    text = Path(FORECAST).read_text().replace("region: westeurope", "region: qatarcentral")
    path = tmp_path / "qatar.yaml"
    path.write_text(text)
    with pytest.raises(BlueprintError, match=r"qatar.yaml:\d+:\d+: cloud.region: a production Azure ML registry "
                                             r"replicates to the region's Azure pair.*got 'qatarcentral'"):
        _plan(path)
    assert _plan(path, "dev").region == "qatarcentral"  # dev registries have one region


def test_search_without_a_search_space_is_a_located_error(tmp_path: Path) -> None:
    path = moved_to_azure(tmp_path)
    custom = path.read_text().replace("  - name: fraud-scorer\n", "  - name: fraud-scorer\n    framework: custom\n")
    path.write_text(custom)
    with pytest.raises(BlueprintError, match=r"models\[0\].training.hyperparameter_search: no built-in search space "
                                             r"for custom on Azure.*allowed: lightgbm, xgboost"):
        _plan(path)


def test_an_existing_network_is_refused(tmp_path: Path) -> None:
    text = Path(FORECAST).read_text().replace(
        'prod: {account: "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f", monthly_budget_usd: 4000}',
        'prod: {account: "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f", monthly_budget_usd: 4000, '
        'network: {vpc: /subscriptions/x/vnets/corp, subnets: [a, b]}}')
    path = tmp_path / "vnet.yaml"
    path.write_text(text)
    with pytest.raises(BlueprintError, match=r"environments.prod.network.vpc: the Azure back end isolates"):
        _plan(path)


def test_coverage_lists_what_the_platform_builds(prod: SynthResult) -> None:
    assert {Capability.experiment_tracking, Capability.training_pipeline, Capability.model_registry,
            Capability.scheduled_retraining, Capability.rbac_roles, Capability.cost_controls,
            Capability.hyperparameter_search, Capability.champion_challenger, Capability.enforced_approval,
            Capability.model_cards, Capability.drift_retraining, Capability.performance_retraining} <= builds(
        Cloud.azure)
    assert not {Capability.experiment_tracking, Capability.training_pipeline, Capability.model_registry,
                Capability.scheduled_retraining, Capability.rbac_roles, Capability.cost_controls} & not_built(prod)


def test_model_cards_and_enforced_approval_on_the_moved_fraud_example(fraud: SynthResult) -> None:
    job = _one(fraud, "-fraud-scorer-training-retraining").inputs["properties"]["action"]["jobDefinition"]
    card = decode(job["inputs"]["card"]["value"])  # base64url JSON: blueprint text never meets a shell
    assert card["model"] == "fraud-scorer" and card["status"] == "draft"
    assert job["jobs"]["train"]["type"] == "sweep"
    cluster = _one(fraud, "-fraud-scorer-training-compute-cluster").inputs["properties"]["properties"]
    assert cluster["vmPriority"] == "LowPriority" and cluster["scaleSettings"]["maxNodeCount"] == 4
