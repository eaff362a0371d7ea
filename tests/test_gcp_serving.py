"""Mock and pure tests for GCP serving and monitoring: endpoints, deployer workflow, monitors, alerting, batch."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_synth import synthesized

import mlops.synth.recorder as recorder
from components.gcp.deployer_workflow import CHECK_SECONDS, DeployerConfig, deployer_program
from components.gcp.machines import serving_machine
from components.gcp.names import deployer_workflow_name, endpoint_id
from components.gcp.quality import QUALITY_SQL, quality_query
from components.gcp.serving import log_dataset_id
from mlops.blueprint import load_blueprint
from mlops.blueprint.model import DeliveryStrategy, InstanceSize
from mlops.clouds.gcp_serving import GCP_QUALITY_METRICS, monitor_interval_hours
from mlops.plan import plan_loaded
from mlops.plan.model import DeliveryPlan
from mlops.plan.schedule import Schedule
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

ROOT = Path(__file__).resolve().parents[1]
BLUEPRINT = "blueprints/product-recommendations-gcp.yaml"
ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
DATASET = "gcp:bigquery/dataset:Dataset"
TABLE = "gcp:bigquery/table:Table"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
WORKFLOW = "gcp:workflows/workflow:Workflow"
JOB = "gcp:cloudscheduler/job:Job"
ACCOUNT = "gcp:serviceaccount/account:Account"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
MINE = ("mlops:index:GcpAlerting", "mlops:index:GcpWorkflowsAgent", "mlops:index:VertexEndpoint",
        "mlops:index:VertexDeployer", "mlops:index:VertexModelMonitoring", "mlops:index:VertexBatchPrediction")


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(BLUEPRINT, "prod")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(BLUEPRINT, "dev")


def named(result: SynthResult, suffix: str) -> Recorded:
    [record] = [r for r in result.resources if r.name.endswith(suffix)]
    return record


def under(result: SynthResult, component: str) -> list[Recorded]:
    """The resources a serving-area component created (direct children)."""
    parents = {r.urn for r in result.resources if r.type == component}
    return [r for r in result.resources if r.parent in parents]


def variant(tmp_path: Path, change: Any) -> str:
    """A copy of the GCP example with `change(data)` applied, as a file synth can read."""
    data = yaml.safe_load((ROOT / BLUEPRINT).read_text())
    change(data)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def keys(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield path, k
            yield from keys(v, f"{path}.{k}")
    elif isinstance(value, list):
        for v in value:
            yield from keys(v, path)


# --------------------------------------------------------------------------- the example's prod stack


def test_serving_area_resources_in_prod(prod: SynthResult) -> None:
    counts = Counter(r.type for component in MINE for r in under(prod, component))
    assert counts == {
        CHANNEL: 2,
        "gcp:projects/serviceIdentity:ServiceIdentity": 1, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": 2,
        DATASET: 1, "gcp:bigquery/datasetIamMember:DatasetIamMember": 2, ENDPOINT: 1, ALERT: 5,
        ACCOUNT: 1, PROJECT_MEMBER: 3, "gcp:serviceaccount/iAMMember:IAMMember": 1, WORKFLOW: 2,
        TABLE: 1, "gcp:monitoring/metricDescriptor:MetricDescriptor": 1, JOB: 1,
    }


def test_no_snake_case_keys_reach_the_engine(prod: SynthResult) -> None:
    """Untyped dicts with a typo keep their snake_case key; label maps and channel labels are data."""
    for component in MINE:
        for record in under(prod, component):
            for path, key in keys(record.inputs):
                if path.endswith(("labels", "Labels")) or path == ".headers":
                    continue
                assert "_" not in key, (record.name, path, key)


def test_alert_channels_follow_route_severity(prod: SynthResult) -> None:
    email, slack = named(prod, "alerting-route-0"), named(prod, "alerting-route-1")
    assert email.inputs["type"] == "email" and email.inputs["labels"] == {"email_address": "recs-team@example-shop.com"}
    # Slack's incoming webhook URL comes from the config secret and stays one.
    assert slack.inputs["type"] == "webhook_tokenauth" and slack.inputs["labels"] == {"url": "[secret]"}
    channels = {r.urn: r.name for r in (email, slack)}
    latency = named(prod, "serving-latency-alert")
    drift = named(prod, "monitoring-drift-alert")
    assert latency.inputs["notificationChannels"] == [f"{email.name}-id", f"{slack.name}-id"]
    assert drift.inputs["notificationChannels"] == [f"{email.name}-id"]  # only the warning route
    assert channels


def test_endpoint_is_cmek_private_logged_and_leaves_the_traffic_split_to_the_deployer(prod: SynthResult) -> None:
    plan = prod.plan
    endpoint = named(prod, "recs-ranker-serving-endpoint")
    assert endpoint.inputs["name"] == endpoint_id(plan, "recs-ranker")
    assert re.fullmatch(r"[1-9]\d{9}", endpoint.inputs["name"])
    assert endpoint.inputs["encryptionSpec"]["kmsKeyName"] == "product-recs-prod-foundation-key-id"
    psc = endpoint.inputs["privateServiceConnectConfig"]
    assert psc["enablePrivateServiceConnect"] is True and psc["projectAllowlists"] == ["exampleshop-recs-prod"]
    assert psc["pscAutomationConfigs"] == [{"network": "product-recs-prod-network-vpc-id",
                                            "projectId": "exampleshop-recs-prod"}]
    logging = endpoint.inputs["predictRequestResponseLoggingConfig"]
    assert logging["enabled"] is True and logging["samplingRate"] == pytest.approx(0.05)
    assert logging["bigqueryDestination"]["outputUri"] == (
        f"bq://exampleshop-recs-prod.{log_dataset_id(plan, 'recs-ranker')}.request_response_logging")
    assert "trafficSplit" not in endpoint.inputs
    # The Vertex agent's key grant and the PSC policy exist before the endpoint.
    deps = {next(r.name for r in prod.resources if r.urn == d) for d in endpoint.dependencies}
    assert {"product-recs-prod-identities-vertex-cmek", "product-recs-prod-network-vertex-psc",
            "product-recs-prod-recs-ranker-serving-logs-writer"} <= deps


def test_endpoint_ignores_traffic_split_changes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, list[str]] = {}
    original = recorder.RecordingMonitor.RegisterResource

    def register(self: recorder.RecordingMonitor, request: Any) -> Any:
        seen[request.name] = list(request.ignoreChanges)
        return original(self, request)

    monkeypatch.setattr(recorder.RecordingMonitor, "RegisterResource", register)
    synth(BLUEPRINT, "dev")
    assert seen["product-recs-dev-recs-ranker-serving-endpoint"] == ["trafficSplit"]


def test_log_dataset_is_cmek_and_protected_only_in_production(prod: SynthResult, dev: SynthResult) -> None:
    for result, production in ((prod, True), (dev, False)):
        dataset = named(result, "recs-ranker-serving-logs")
        assert dataset.inputs["defaultEncryptionConfiguration"]["kmsKeyName"].endswith("foundation-key-id")
        assert dataset.inputs["datasetId"] == f"product_recs_{result.plan.environment}_recs_ranker_predictions"
        assert (dataset.protect, dataset.retain_on_delete) == (production, production)
        truth = named(result, "monitoring-ground-truth")
        assert truth.inputs["encryptionConfiguration"]["kmsKeyName"].endswith("foundation-key-id")
        assert truth.protect == production


def test_dev_endpoint_is_not_private(dev: SynthResult) -> None:
    endpoint = named(dev, "serving-endpoint")
    assert "privateServiceConnectConfig" not in endpoint.inputs


def test_sre_alert_policies_use_the_slas(prod: SynthResult) -> None:
    ident = endpoint_id(prod.plan, "recs-ranker")
    latency = named(prod, "serving-latency-alert").inputs
    [condition] = latency["conditions"]
    t = condition["conditionThreshold"]
    assert latency["displayName"] == "product-recs-prod-recs-ranker-latency" and latency["severity"] == "CRITICAL"
    assert t["thresholdValue"] == 100 and t["comparison"] == "COMPARISON_GT"
    assert t["aggregations"][0]["perSeriesAligner"] == "ALIGN_PERCENTILE_99"
    assert f'resource.labels.endpoint_id = "{ident}"' in t["filter"] and 'latency_type = "model"' in t["filter"]
    errors = named(prod, "serving-errors-alert").inputs["conditions"][0]["conditionThreshold"]
    assert errors["thresholdValue"] == pytest.approx(0.01)
    assert "error_count" in errors["filter"] and "prediction_count" in errors["denominatorFilter"]
    utilization = named(prod, "serving-utilization-alert").inputs
    cpu = utilization["conditions"][0]["conditionThreshold"]
    assert cpu["thresholdValue"] == pytest.approx(0.8) and "cpu/utilization" in cpu["filter"]
    # Utilisation is an early signal (a warning, as in the design document); latency and errors page.
    assert utilization["severity"] == "WARNING"
    assert utilization["notificationChannels"] == ["product-recs-prod-alerting-route-0-id"]


def test_drift_alert_matches_the_endpoints_anomaly_log(prod: SynthResult) -> None:
    drift = named(prod, "monitoring-drift-alert").inputs
    log_filter = drift["conditions"][0]["conditionMatchedLog"]["filter"]
    assert "model_monitoring_anomaly" in log_filter and endpoint_id(prod.plan, "recs-ranker") in log_filter
    assert drift["alertStrategy"]["notificationRateLimit"]["period"] == "3600s"
    assert drift["severity"] == "WARNING"


# --------------------------------------------------------------------------- deployer workflow


def deployer(result: SynthResult) -> tuple[Recorded, dict[str, Any]]:
    workflow = named(result, "deployer-workflow")
    return workflow, yaml.safe_load(workflow.inputs["sourceContents"])


def step(steps: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [found] = [s[name] for s in steps if name in s]
    return found


def test_deployer_workflow_is_named_encrypted_and_runs_as_its_own_account(prod: SynthResult) -> None:
    workflow, _ = deployer(prod)
    identity = named(prod, "deployer-identity")
    assert workflow.inputs["name"] == deployer_workflow_name(prod.plan, "recs-ranker")
    assert workflow.inputs["cryptoKeyName"].endswith("foundation-key-id")
    assert workflow.inputs["serviceAccount"] == (
        f"{identity.inputs['accountId']}@exampleshop-recs-prod.iam.gserviceaccount.com")
    roles = sorted(r.inputs["role"] for r in under(prod, "mlops:index:VertexDeployer") if r.type == PROJECT_MEMBER)
    assert roles == ["roles/aiplatform.user", "roles/monitoring.viewer"]
    act_as = named(prod, "deployer-act-as-endpoints")
    assert act_as.inputs["role"] == "roles/iam.serviceAccountUser"
    assert act_as.inputs["serviceAccountId"].endswith("-endpoints@exampleshop-recs-prod.iam.gserviceaccount.com")
    assert workflow.inputs["deletionProtection"] is True


def test_deployer_deploys_with_the_plans_replicas_and_canary(prod: SynthResult) -> None:
    _, program = deployer(prod)
    main = program["main"]["steps"]
    init = {k: v for item in step(main, "init")["assign"] for k, v in item.items()}
    assert init["steps"] == [10, 100]
    assert init["endpoint"].endswith(f"/endpoints/{endpoint_id(prod.plan, 'recs-ranker')}")
    body = step(main, "deploy")["args"]["body"]["deployedModel"]
    resources = body["dedicatedResources"]
    assert resources["machineSpec"] == {"machineType": "n2-standard-4"}
    assert (resources["minReplicaCount"], resources["maxReplicaCount"]) == (2, 20)
    assert resources["autoscalingMetricSpecs"] == [
        {"metricName": "aiplatform.googleapis.com/prediction/online/cpu/utilization", "target": 60}]
    assert body["serviceAccount"].endswith("-endpoints@exampleshop-recs-prod.iam.gserviceaccount.com")
    # 1440 minutes of bake in 5-minute checks, each able to roll back.
    bake = step(step(main, "rollout")["for"]["steps"], "bake")
    assert bake["args"]["checks"] == 1440 * 60 // CHECK_SECONDS
    health = program["healthy"]["steps"]
    assert "> 0.01" in step(health, "check_errors")["switch"][0]["condition"]
    assert "> 100.0" in step(health, "check_latency")["switch"][0]["condition"]
    assert set(program) == {"main", "set_split", "bake", "healthy", "first_value", "roll_back",
                            "replace_monitoring_job"}


def test_deployer_takes_the_promotions_model_and_version(prod: SynthResult) -> None:
    """The promotion workflow (pipelines area) runs the deployer with {"model": …, "version": …}."""
    _, program = deployer(prod)
    versioned = step(program["main"]["steps"], "versioned")["switch"][0]
    assert versioned["condition"] == '${"version" in args}'
    assert versioned["steps"][0]["set"]["assign"] == [{"model": '${args.model + "@" + string(args.version)}'}]


def test_deployer_recreates_the_monitoring_job_for_the_new_version(prod: SynthResult) -> None:
    _, program = deployer(prod)
    job = step(program["main"]["steps"], "monitor")["args"]["job"]
    drift = job["modelDeploymentMonitoringObjectiveConfigs"][0]["objectiveConfig"]["predictionDriftDetectionConfig"]
    assert drift == {"driftThresholds": {"user_embedding": {"value": 0.1}, "item_embedding": {"value": 0.1}}}
    assert job["modelDeploymentMonitoringScheduleConfig"] == {"monitorInterval": "86400s"}
    assert job["loggingSamplingStrategy"] == {"randomSampleConfig": {"sampleRate": 0.05}}
    assert job["encryptionSpec"]["kmsKeyName"].endswith("foundation-key-id")
    assert job["modelMonitoringAlertConfig"] == {"enableLogging": True,
                                                 "notificationChannels": ["product-recs-prod-alerting-route-0-id"]}
    assert job["displayName"] == "product-recs-prod-recs-ranker-monitoring"
    assert job["endpoint"] == f"projects/exampleshop-recs-prod/locations/us-central1/endpoints/" \
                              f"{endpoint_id(prod.plan, 'recs-ranker')}"


def expressions(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from expressions(v)
    elif isinstance(value, list):
        for v in value:
            yield from expressions(v)
    elif isinstance(value, str):
        yield value


def test_deployer_expressions_are_balanced(prod: SynthResult) -> None:
    """Every `${...}` closes, and quotes inside expressions pair up (a cheap guard on the generated program)."""
    _, program = deployer(prod)
    for text in expressions(program):
        if "${" not in text:
            continue
        assert text.startswith("${") and text.endswith("}"), text
        inner = text[2:-1]
        assert inner.count("(") == inner.count(")"), text
        assert inner.count("[") == inner.count("]"), text
        assert (inner.count('"') - inner.count('\\"')) % 2 == 0, text


def config(strategy: DeliveryStrategy, **changes: Any) -> DeployerConfig:
    settings: dict[str, Any] = dict(
        project="p", region="europe-west4", endpoint_id="1234567890", model="m", serving_account="sa@p",
        machine=serving_machine(InstanceSize.gpu_small), min_replicas=2, max_replicas=4,
        target_utilization_percent=70, target_requests_per_replica=None, strategy=strategy,
        steps=DeliveryPlan.of(strategy, 25, 10, True).steps,
        bake_minutes=10, auto_rollback=True, latency_p99_ms=None, error_rate_percent=2, monitoring_job=None)
    return DeployerConfig(**{**settings, **changes})


@pytest.mark.parametrize("strategy", list(DeliveryStrategy))
def test_the_workflow_walks_the_plans_traffic_steps(strategy: DeliveryStrategy) -> None:
    init = step(deployer_program(config(strategy))["main"]["steps"], "init")
    walked = [a["steps"] for a in init["assign"] if "steps" in a]
    assert walked == [list(DeliveryPlan.of(strategy, 25, 10, True).steps)]


def test_blue_green_keeps_the_champion_warm_through_the_bake_and_gpu_models_scale_on_duty_cycle() -> None:
    program = deployer_program(config(DeliveryStrategy.blue_green))
    warm = step(program["set_split"]["steps"], "keep_old_warm")["switch"][0]["condition"]
    assert warm.endswith("and true}")
    canary = deployer_program(config(DeliveryStrategy.canary))
    assert step(canary["set_split"]["steps"], "keep_old_warm")["switch"][0]["condition"].endswith("and false}")
    deployed = step(program["main"]["steps"], "deploy")["args"]["body"]["deployedModel"]["dedicatedResources"]
    assert deployed["machineSpec"] == {"machineType": "n1-standard-8", "acceleratorType": "NVIDIA_TESLA_T4",
                                       "acceleratorCount": 1}
    assert deployed["autoscalingMetricSpecs"][0]["metricName"].endswith("accelerator/duty_cycle")
    # No latency SLA: only the error bar is checked; no monitor: no monitoring-job step.
    assert "check_latency" not in json.dumps(program["healthy"])
    assert "replace_monitoring_job" not in program


def test_requests_per_replica_autoscaling_and_no_rollback() -> None:
    program = deployer_program(config(DeliveryStrategy.canary, target_requests_per_replica=50, auto_rollback=False))
    deployed = step(program["main"]["steps"], "deploy")["args"]["body"]["deployedModel"]["dedicatedResources"]
    assert deployed["autoscalingMetricSpecs"] == [
        {"metricName": "aiplatform.googleapis.com/prediction/online/request_count", "target": 50}]
    stop = step(program["bake"]["steps"][0]["watch"]["for"]["steps"], "stop_early")
    assert stop["switch"][0]["condition"].endswith("and false}")


# --------------------------------------------------------------------------- quality


def test_quality_metrics_agree_with_the_plan_table() -> None:
    assert sorted(QUALITY_SQL) == sorted(GCP_QUALITY_METRICS)


def test_quality_query_scores_the_window_whose_labels_have_arrived(prod: SynthResult) -> None:
    [model] = prod.plan.models
    query = quality_query(model, project="p", dataset="d", log_table="request_response_logging", window_hours=1)
    assert query.startswith("SELECT AVG(y) AS score, COUNT(*) AS n")
    assert "INTERVAL 2 HOUR" in query and "INTERVAL 1 HOUR)" in query
    assert "`p.d.ground_truth`" in query and "USING (request_id)" in query


def test_quality_workflow_schedule_and_alert(prod: SynthResult) -> None:
    workflow = named(prod, "monitoring-quality-workflow")
    program = yaml.safe_load(workflow.inputs["sourceContents"])
    steps = program["main"]["steps"]
    query = step(steps, "score")["args"]["body"]["query"]
    assert "product_recs_prod_recs_ranker_predictions" in query
    metric = step(steps, "write")["args"]["body"]["timeSeries"][0]["metric"]["type"]
    assert metric == "custom.googleapis.com/mlops/product-recs-prod/recs-ranker/quality"
    assert workflow.inputs["serviceAccount"].startswith("product-recs-prod-monitoring@")
    schedule = named(prod, "monitoring-quality-schedule").inputs
    assert schedule["schedule"] == "0 * * * *" and schedule["timeZone"] == "Etc/UTC"
    assert schedule["httpTarget"]["uri"].endswith("monitoring-quality-workflow-id/executions")
    assert json.loads(base64.b64decode(schedule["httpTarget"]["body"])) == {"argument": "{}"}
    invoker = named(prod, "monitoring-quality-invoker").inputs
    assert invoker["role"] == "roles/workflows.invoker"
    assert invoker["condition"]["expression"].endswith('/workflows/product-recs-prod-recs-ranker-quality"')
    alert = named(prod, "monitoring-quality-alert").inputs["conditions"][0]["conditionThreshold"]
    assert alert["comparison"] == "COMPARISON_LT" and alert["thresholdValue"] == pytest.approx(0.025)
    assert metric in alert["filter"]


@pytest.mark.parametrize(("schedule", "hours"), [
    ("hourly", 1), ("daily", 24), ("weekly", 168), ("monthly", 720), ("0 */6 * * *", 6), ("0 3 * * *", 24),
    ("30 * * * *", None), ("0 0 * * 1", None), ("0 0 * * 0", 168), ("0 * * * *", 1), ("0 */7 * * *", 7),
])
def test_monitor_interval(schedule: str, hours: int | None) -> None:
    assert monitor_interval_hours(Schedule.of(schedule)) == hours


# --------------------------------------------------------------------------- variants of the example


def test_batch_models_get_a_scheduled_batch_prediction_job(tmp_path: Path) -> None:
    def batch(data: dict[str, Any]) -> None:
        model = data["models"][0]
        model["serving"] = {"mode": "batch", "schedule": "0 2 * * *", "output_uri": "bq://exampleshop-data.recs.top50"}
        model["monitoring"] = {"prediction_logging_percent": 5}
    result = synth(variant(tmp_path, batch), "prod")
    assert not [r for r in result.resources if r.type == ENDPOINT]
    job = named(result, "recs-ranker-batch-schedule").inputs
    assert job["schedule"] == "0 2 * * *"
    target = job["httpTarget"]
    assert target["uri"] == ("https://us-central1-aiplatform.googleapis.com/v1/projects/exampleshop-recs-prod/"
                             "locations/us-central1/batchPredictionJobs")
    identity = named(result, "recs-ranker-batch-identity").inputs["accountId"]
    assert len(identity) <= 30
    assert target["oauthToken"]["serviceAccountEmail"] == f"{identity}@exampleshop-recs-prod.iam.gserviceaccount.com"
    body = json.loads(base64.b64decode(target["body"]))
    assert body["model"] == "projects/exampleshop-recs-prod/locations/us-central1/models/" \
                            "product-recs-prod-recs-ranker@champion"
    assert body["outputConfig"] == {"predictionsFormat": "bigquery",
                                    "bigqueryDestination": {"outputUri": "bq://exampleshop-data.recs.top50"}}
    assert body["encryptionSpec"]["kmsKeyName"].endswith("foundation-key-id")
    assert body["dedicatedResources"]["maxReplicaCount"] == 2
    # Promotion runs the model's deployer, which for a batch model only reports the alias move.
    deployer_workflow = named(result, "recs-ranker-deployer-workflow").inputs
    program = yaml.safe_load(deployer_workflow["sourceContents"])
    assert set(program) == {"main"} and "champion alias" in json.dumps(program)
    assert not [r for r in under(result, "mlops:index:VertexDeployer") if r.type == PROJECT_MEMBER]
    output = named(result, "recs-ranker-batch-output").inputs
    assert (output["datasetId"], output["project"]) == ("recs", "exampleshop-data")
    assert result.violations == []


def test_a_route_with_a_pagerduty_key_and_a_webhook(tmp_path: Path) -> None:
    def routes(data: dict[str, Any]) -> None:
        data["alerts"] = [{"kind": "pagerduty", "secret": "pagerDutyKey"},
                          {"kind": "webhook", "target": "https://hooks.example.com/mlops", "severity": "warning"}]
    result = synth(variant(tmp_path, routes), "prod")
    pager, hook = named(result, "alerting-route-0"), named(result, "alerting-route-1")
    assert pager.inputs["type"] == "pagerduty" and pager.inputs["sensitiveLabels"] == {"serviceKey": "[secret]"}
    assert "labels" not in pager.inputs
    assert hook.inputs["labels"] == {"url": "https://hooks.example.com/mlops"}
    drift = named(result, "monitoring-drift-alert").inputs
    assert drift["notificationChannels"] == [f"{hook.name}-id"]
    assert result.violations == []


def test_synth_is_deterministic(dev: SynthResult) -> None:
    again = synth(BLUEPRINT, "dev")
    assert again.manifest_json() == dev.manifest_json()


def test_the_plan_and_the_example_agree_on_the_endpoint() -> None:
    plan = plan_loaded(load_blueprint(str(ROOT / BLUEPRINT)), "prod")
    [model] = plan.models
    assert model.serving is not None and model.serving.min_instances >= 2


def test_a_rollout_without_bake_does_not_watch() -> None:
    program = deployer_program(config(DeliveryStrategy.all_at_once, bake_minutes=0))
    bake = step(step(program["main"]["steps"], "rollout")["for"]["steps"], "bake")
    assert bake == {"assign": [{"healthy": True}]}


def test_health_reads_metrics_through_steps_that_tolerate_no_traffic() -> None:
    program = deployer_program(config(DeliveryStrategy.canary, latency_p99_ms=250))
    first = program["first_value"]["steps"]
    assert step(first, "none")["switch"][0] == {"condition": "${len(found) == 0}", "return": 0}
    health = program["healthy"]["steps"]
    assert step(health, "check_latency")["switch"][0]["condition"] == "${p99_ms > 250.0}"
    assert step(health, "check_errors")["switch"][0]["condition"] == "${error_ratio > 0.02}"
    queries = [s[name]["args"] for s in health for name in s if s[name].get("call", "").endswith("timeSeries.list")]
    assert len(queries) == 3
    assert all('metric.labels.deployed_model_id = \\"" + new_id' in q["filter"] for q in queries)
