"""Mock tests for the GCP platform area: network, identities, tracking, registries, feature store, governance, cost."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from accounts import environments
from shared_synth import synthesized

import mlops.program
from components.gcp.feature_schema import sync_cron, table_fields, table_schema
from components.gcp.feature_store import dataset_id, uses_optimized_store
from components.gcp.governance import GCP_CONTROLS, GRANTS, member_slug
from components.gcp.identities import WORKLOADS, workload_account_id
from components.gcp.network import network_path, subnet_cidr, subnet_path
from components.gcp.principals import iam_member, persona_members
from components.gcp.registries import RETENTION
from mlops.blueprint import format_path, load_blueprint, load_text
from mlops.blueprint.model import Entity, Feature, FeatureStore
from mlops.clouds.gcp_platform import platform as platform_limits
from mlops.evidence import builds
from mlops.plan import Capability, Plan, PlanError, plan, plan_loaded
from mlops.plan.compliance import Control
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

BLUEPRINT = str(Path(__file__).resolve().parents[1] / "blueprints" / "product-recommendations-gcp.yaml")
PRIMITIVE = {"roles/owner", "roles/editor", "roles/viewer"}
MINE = ("-network", "-identities", "-tracking", "-registries", "-features", "-governance", "-cost")


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(BLUEPRINT, "prod")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(BLUEPRINT, "dev")


def synth_changed(monkeypatch: pytest.MonkeyPatch, environment: str, **changes: Any) -> SynthResult:
    """Synth the example with some Plan fields replaced (the program builds from the changed Plan)."""
    base: Plan = plan_loaded(load_blueprint(BLUEPRINT), environment)
    changed = base.model_copy(update=changes)
    monkeypatch.setattr(mlops.program, "plan_from_config", lambda: changed)
    return synth(BLUEPRINT, environment)


def named(result: SynthResult, suffix: str) -> Recorded:
    [record] = [r for r in result.resources if r.name.endswith(suffix)]
    return record


def of_type(result: SynthResult, resource_type: str) -> list[Recorded]:
    return [r for r in result.resources if r.type == resource_type]


MY_NAME = re.compile(r"-(dev|staging|prod)(" + "|".join(MINE) + r")(-|$)")


def mine(result: SynthResult) -> list[Recorded]:
    return [r for r in result.resources if MY_NAME.search(r.name)]


def example_plan(environment: str) -> Plan:
    return plan_loaded(load_blueprint(BLUEPRINT), environment)


# ---- shared shape ---------------------------------------------------------------------------------

def test_components_and_children_follow_the_house_style(prod: SynthResult) -> None:
    components = {r.type for r in mine(prod) if not r.custom}
    assert components >= {"mlops:index:GcpNetwork", "mlops:index:GcpWorkloadIdentity",
                          "mlops:index:VertexExperimentTracking", "mlops:index:GcpArtifactStorage",
                          "mlops:index:VertexFeatureStore", "mlops:index:GcpGovernance", "mlops:index:GcpBudget"}
    by_urn = {r.urn: r for r in prod.resources}
    for record in mine(prod):
        parent = by_urn[record.parent] if record.parent else None
        assert parent is not None and record.name.startswith(parent.name), record.name
    keys = [(r.type, r.name) for r in prod.resources]
    assert len(keys) == len(set(keys))


def test_no_untyped_nested_inputs(prod: SynthResult, dev: SynthResult) -> None:
    def keys(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                if key not in ("labels", "userLabels", "labelExtractors"):
                    yield from keys(item)
        elif isinstance(value, list):
            for item in value:
                yield from keys(item)

    for result in (prod, dev):
        for record in mine(result):
            assert not [k for k in keys(record.inputs) if "_" in k], record.name


def test_taggable_children_carry_the_platform_labels(prod: SynthResult) -> None:
    labelled = [r for r in mine(prod) if "labels" in r.inputs or "userLabels" in r.inputs]
    assert len(labelled) >= 10
    for record in labelled:
        labels = record.inputs.get("labels") or record.inputs["userLabels"]
        assert labels["environment"] == "prod" and labels["team"] == "recs", record.name


def test_no_primitive_roles_and_no_keys_anywhere(prod: SynthResult, dev: SynthResult) -> None:
    for result in (prod, dev):
        roles = [r.inputs["role"] for r in mine(result) if "role" in r.inputs]
        assert roles and not PRIMITIVE & set(roles)
        assert not of_type(result, "gcp:serviceaccount/key:Key")


def test_zero_violations(prod: SynthResult, dev: SynthResult) -> None:
    assert prod.violations == [] and dev.violations == []


def test_coverage_lists_what_the_area_builds() -> None:
    platform = {Capability.experiment_tracking, Capability.feature_store, Capability.freshness_alerts,
                Capability.rbac_roles, Capability.cost_controls}
    assert builds(example_plan("prod").cloud) >= platform
    assert set(example_plan("prod").capabilities) >= platform


def test_outputs(prod: SynthResult) -> None:
    outputs = prod.outputs
    assert outputs["tracking_uri"] == "product-recs-prod-tracking-metadata-id"
    assert outputs["tensorboard"] == "product-recs-prod-tracking-tensorboard-id"
    project = "exampleshop-recs-prod"
    assert outputs["container_registry"] == f"us-central1-docker.pkg.dev/{project}/product-recs-prod-containers"
    assert outputs["pipeline_registry"] == f"https://us-central1-kfp.pkg.dev/{project}/product-recs-prod-pipelines"
    assert outputs["feature_dataset"] == "product_recs_prod_features"


# ---- network --------------------------------------------------------------------------------------

def test_production_network_is_private(prod: SynthResult) -> None:
    vpc = named(prod, "-network-vpc").inputs
    assert vpc["autoCreateSubnetworks"] is False and vpc["deleteDefaultRoutesOnCreate"] is True
    subnet = named(prod, "-network-subnet").inputs
    assert subnet["ipCidrRange"] == subnet_cidr(example_plan("prod").network.cidr)
    assert subnet["privateIpGoogleAccess"] is True
    assert subnet["logConfig"]["metadata"] == "INCLUDE_ALL_METADATA"
    [route] = of_type(prod, "gcp:compute/route:Route")
    assert route.inputs["destRange"] == "199.36.153.8/30"  # private.googleapis.com only, never 0.0.0.0/0
    cname = named(prod, "-network-googleapis-cname").inputs
    assert cname["name"] == "*.googleapis.com." and cname["rrdatas"] == ["private.googleapis.com."]


def test_firewall_denies_by_default_and_allows_only_internal_and_google_apis(prod: SynthResult) -> None:
    rules = {r.name.rsplit("-network-", 1)[1]: r.inputs for r in of_type(prod, "gcp:compute/firewall:Firewall")}
    assert set(rules) == {"deny-ingress", "deny-egress", "allow-internal", "allow-internal-egress",
                          "allow-googleapis"}
    assert rules["deny-ingress"]["denies"] == [{"protocol": "all"}]
    assert rules["deny-egress"]["direction"] == "EGRESS" and rules["deny-egress"]["destinationRanges"] == ["0.0.0.0/0"]
    assert rules["allow-googleapis"]["allows"] == [{"protocol": "tcp", "ports": ["443"]}]
    assert all(r["logConfig"] for r in rules.values())
    assert all(r["priority"] < rules["deny-egress"]["priority"] for k, r in rules.items() if k.startswith("allow"))


def test_vertex_private_service_connect_policy_only_in_production(prod: SynthResult, monkeypatch:
                                                                  pytest.MonkeyPatch) -> None:
    policy = named(prod, "-network-vertex-psc").inputs
    assert policy["serviceClass"] == "gcp-vertexai"
    assert policy["pscConfig"]["subnetworks"] == ["product-recs-prod-network-subnet-id"]
    staging = synthesized(BLUEPRINT, "staging")
    assert of_type(staging, "gcp:compute/network:Network")
    assert not of_type(staging, "gcp:networkconnectivity/serviceConnectionPolicy:ServiceConnectionPolicy")


def test_dev_runs_without_a_network(dev: SynthResult) -> None:
    assert not [r for r in dev.resources if "-network" in r.name]


def test_an_existing_network_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    base = example_plan("prod")
    network = base.network.model_copy(update={"existing_vpc": "shared-vpc", "subnets": ("ml",)})
    result = synth_changed(monkeypatch, "prod", network=network)
    component = [r for r in result.resources if r.name.endswith("-network")]
    assert [r.type for r in component] == ["mlops:index:GcpNetwork"]
    assert not [r for r in result.resources if r.parent == component[0].urn]
    assert network_path(base, "shared-vpc") == "projects/exampleshop-recs-prod/global/networks/shared-vpc"
    assert subnet_path(base, "ml") == "projects/exampleshop-recs-prod/regions/us-central1/subnetworks/ml"
    assert subnet_path(base, "projects/h/regions/r/subnetworks/s") == "projects/h/regions/r/subnetworks/s"


# ---- identities -----------------------------------------------------------------------------------

def test_a_service_account_per_workload_with_narrow_roles(prod: SynthResult) -> None:
    accounts = {r.name.rsplit("-identities-", 1)[1]: r.inputs["accountId"]
                for r in of_type(prod, "gcp:serviceaccount/account:Account") if "-identities-" in r.name}
    assert accounts == {"pipelines": "product-recs-prod-pipelines", "endpoints": "product-recs-prod-endpoints",
                        "monitoring": "product-recs-prod-monitoring"}
    project_roles = {r.inputs["member"].split(":")[1].split("@")[0].rsplit("-", 1)[1]: set()
                     for r in of_type(prod, "gcp:projects/iAMMember:IAMMember") if "-identities-" in r.name}
    for r in of_type(prod, "gcp:projects/iAMMember:IAMMember"):
        if "-identities-" in r.name:
            project_roles[r.inputs["member"].split(":")[1].split("@")[0].rsplit("-", 1)[1]].add(r.inputs["role"])
    assert project_roles == {w.suffix: set(w.project_roles) for w in WORKLOADS}
    assert "roles/aiplatform.user" in project_roles["pipelines"]
    assert "roles/aiplatform.user" not in project_roles["endpoints"]
    act_as = named(prod, "-identities-pipelines-act-as-endpoints").inputs
    assert act_as["role"] == "roles/iam.serviceAccountUser"
    assert act_as["serviceAccountId"] == ("projects/exampleshop-recs-prod/serviceAccounts/"
                                          "product-recs-prod-endpoints@exampleshop-recs-prod.iam.gserviceaccount.com")


def test_vertex_service_agent_may_use_the_key(prod: SynthResult) -> None:
    agent = named(prod, "-identities-vertex-agent").inputs
    assert agent["service"] == "aiplatform.googleapis.com"
    grant = named(prod, "-identities-vertex-cmek").inputs
    assert grant["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant["member"] == "serviceAccount:service-exampleshop-recs-prod@gcp-sa-aiplatform.iam.gserviceaccount.com"
    assert grant["cryptoKeyId"] == "product-recs-prod-foundation-key-id"


@pytest.mark.parametrize("prefix", ["product-recs-staging", "a-very-long-blueprint-name-prod"])
def test_workload_account_ids_are_valid(prefix: str) -> None:
    for workload in WORKLOADS:
        account = workload_account_id(prefix, workload.suffix)
        assert 6 <= len(account) <= 30 and account[0].isalpha() and account.replace("-", "").isalnum()


# ---- tracking -------------------------------------------------------------------------------------

def test_tracking_stores_are_cmek_protected_and_wait_for_the_key_grant(prod: SynthResult, dev: SynthResult) -> None:
    cmek = named(prod, "-identities-vertex-cmek").urn
    for suffix in ("-tracking-metadata", "-tracking-tensorboard"):
        store = named(prod, suffix)
        assert store.inputs["encryptionSpec"] == {"kmsKeyName": "product-recs-prod-foundation-key-id"}
        assert cmek in store.dependencies
        assert store.protect and store.retain_on_delete
        assert not named(dev, suffix).protect
    assert named(prod, "-tracking-metadata").inputs["name"] == "default"


# ---- registries -----------------------------------------------------------------------------------

def test_repositories_are_cmek_with_cleanup_per_environment(prod: SynthResult, dev: SynthResult) -> None:
    for result, environment in ((prod, "prod"), (dev, "dev")):
        key_grant = named(result, "-registries-agent-key")
        assert named(result, "-registries-agent").inputs["service"] == "artifactregistry.googleapis.com"
        for suffix, fmt in (("-registries-containers", "DOCKER"), ("-registries-pipelines", "KFP")):
            repo = named(result, suffix)
            assert repo.inputs["format"] == fmt and repo.inputs["kmsKeyName"]
            assert key_grant.urn in repo.dependencies
            keep, delete = repo.inputs["cleanupPolicies"]
            assert keep["mostRecentVersions"]["keepCount"] == RETENTION[environment].keep_versions
            assert delete["condition"] == {"tagState": "UNTAGGED",
                                           "olderThan": f"{RETENTION[environment].untagged_days * 86400}s"}
            assert repo.inputs["cleanupPolicyDryRun"] is False
    # Tags immutable in every environment: the stack runs the tag `mlops:imageTags` names (as ECR's IMMUTABLE).
    for result in (prod, dev):
        assert named(result, "-registries-containers").inputs["dockerConfig"] == {"immutableTags": True}


def test_repository_grants(prod: SynthResult) -> None:
    grants = {r.name.rsplit("-registries-", 1)[1]: (r.inputs["repository"], r.inputs["role"])
              for r in of_type(prod, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
              if "-registries-" in r.name}
    assert grants == {
        "containers-pipelines": ("product-recs-prod-containers", "roles/artifactregistry.reader"),
        "containers-endpoints": ("product-recs-prod-containers", "roles/artifactregistry.reader"),
        "containers-vertex-agent": ("product-recs-prod-containers", "roles/artifactregistry.reader"),
        "pipelines-pipelines": ("product-recs-prod-pipelines", "roles/artifactregistry.writer"),
    }


# ---- feature store --------------------------------------------------------------------------------

def test_offline_tables_are_typed_point_in_time_and_cmek(prod: SynthResult) -> None:
    dataset = named(prod, "-features-offline")
    assert dataset.inputs["datasetId"] == "product_recs_prod_features"
    assert dataset.inputs["defaultEncryptionConfiguration"]["kmsKeyName"]
    assert "accesses" not in dataset.inputs and dataset.protect
    assert named(prod, "-features-bq-agent-key").urn in dataset.dependencies
    user = named(prod, "-features-user").inputs
    assert json.loads(user["schema"]) == [
        {"name": "user_id", "type": "STRING", "mode": "REQUIRED", "description": "Identifies the user (entity id)"},
        {"name": "feature_timestamp", "type": "TIMESTAMP", "mode": "REQUIRED",
         "description": "When the feature values were observed (point-in-time joins, online sync)"},
        {"name": "sessions_7d", "type": "INT64", "mode": "NULLABLE", "description": "int feature of user"},
        {"name": "user_embedding", "type": "FLOAT64", "mode": "REPEATED", "description": "embedding feature of user"},
    ]
    assert user["timePartitioning"] == {"type": "DAY", "field": "feature_timestamp"}
    assert user["clusterings"] == ["user_id"] and user["deletionProtection"] is True
    product = json.loads(named(prod, "-features-product").inputs["schema"])
    product_types = {f["name"]: (f["type"], f["mode"]) for f in product}
    assert product_types["ctr_7d"] == ("FLOAT64", "NULLABLE") and product_types["price_band"] == ("STRING", "NULLABLE")


def test_table_fields_declared_id_type_and_no_duplicates() -> None:
    entity = Entity(name="card", id_column="card_id", features=[
        Feature(name="card_id", type="int"), Feature(name="feature_timestamp", type="timestamp"),
        Feature(name="seen", type="bool"), Feature(name="last", type="timestamp")])
    assert [(f["name"], f["type"], f["mode"]) for f in table_fields(entity)] == [
        ("card_id", "INT64", "REQUIRED"), ("feature_timestamp", "TIMESTAMP", "REQUIRED"),
        ("seen", "BOOL", "NULLABLE"), ("last", "TIMESTAMP", "NULLABLE")]
    assert json.loads(table_schema(entity))[0]["name"] == "card_id"


def test_online_store_is_optimized_private_in_production_and_views_sync_from_the_tables(prod: SynthResult,
                                                                                        dev: SynthResult) -> None:
    online = named(prod, "-features-online")
    assert online.inputs["optimized"] == {} and "bigtable" not in online.inputs
    assert online.inputs["dedicatedServingEndpoint"]["privateServiceConnectConfig"] == {
        "enablePrivateServiceConnect": True, "projectAllowlists": ["exampleshop-recs-prod"]}
    assert named(prod, "-identities-vertex-cmek").urn in online.dependencies
    forwarding = named(prod, "-features-online-psc").inputs
    assert forwarding["target"].endswith("/serviceAttachments/product_recs_prod_online")
    assert forwarding["ipAddress"] == "product-recs-prod-features-online-psc-address-id"
    assert "dedicatedServingEndpoint" not in named(dev, "-features-online").inputs
    assert not [r for r in dev.resources if r.name.endswith("-online-psc")]
    view = named(prod, "-features-user-view").inputs
    assert view["bigQuerySource"] == {"uri": "bq://exampleshop-recs-prod.product_recs_prod_features.user",
                                      "entityIdColumns": ["user_id"]}
    assert view["syncConfig"] == {"cron": "TZ=UTC */30 * * * *"}
    reader = named(prod, "-features-user-view-endpoints").inputs
    assert reader["featureView"] == "user" and "endpoints@" in reader["member"]


def test_bigtable_serves_entities_without_embeddings(monkeypatch: pytest.MonkeyPatch) -> None:
    store = FeatureStore(entities=[Entity(name="user", id_column="user_id", features=[Feature(name="age")])])
    assert not uses_optimized_store(store)
    result = synth_changed(monkeypatch, "prod", feature_store=store)
    online = named(result, "-features-online").inputs
    assert online["bigtable"]["autoScaling"] == {"minNodeCount": 2, "maxNodeCount": 10, "cpuUtilizationTarget": 70}
    assert "optimized" not in online and "dedicatedServingEndpoint" not in online
    assert named(result, "-features-user-view").inputs["syncConfig"] == {"cron": "TZ=UTC 0 0 * * *"}
    assert not [r for r in result.resources if r.name.endswith(("-freshness", "-features-writes"))]
    assert result.violations == []


def test_offline_only_store_has_no_online_store(monkeypatch: pytest.MonkeyPatch) -> None:
    store = FeatureStore(online=False, entities=[Entity(name="u", id_column="u_id", features=[Feature(name="x")])])
    result = synth_changed(monkeypatch, "dev", feature_store=store)
    assert named(result, "-features-u").type == "gcp:bigquery/table:Table"
    assert not of_type(result, "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore")


def test_freshness_alert_per_entity_to_the_warning_channels(prod: SynthResult) -> None:
    metric = named(prod, "-features-writes")
    assert 'resource.labels.dataset_id="product_recs_prod_features"' in metric.inputs["filter"]
    assert "tableDataChange" in metric.inputs["filter"]
    # The example's only warning route is its first (email); the Slack route is critical.
    warning = ["product-recs-prod-alerting-route-0-id"]
    for entity in ("user", "product"):
        policy = named(prod, f"-features-{entity}-freshness")
        [condition] = policy.inputs["conditions"]
        assert condition["conditionAbsent"]["duration"] == "3600s"
        assert f'metric.label.table="{entity}"' in condition["conditionAbsent"]["filter"]
        assert "logging.googleapis.com/user/product-recs-prod-feature-writes" in condition["conditionAbsent"]["filter"]
        assert policy.inputs["notificationChannels"] == warning
        assert metric.urn in policy.dependencies


@pytest.mark.parametrize(("sla", "cron"), [
    (None, "TZ=UTC 0 0 * * *"), (1, "TZ=UTC */5 * * * *"), (14, "TZ=UTC */6 * * * *"), (60, "TZ=UTC */30 * * * *"),
    (50, "TZ=UTC */20 * * * *"), (120, "TZ=UTC 0 */1 * * *"), (600, "TZ=UTC 0 */4 * * *"),
    (1410, "TZ=UTC 0 */8 * * *"), (10_080, "TZ=UTC 0 0 * * *"),
])
def test_sync_schedule_is_twice_per_freshness_window(sla: int | None, cron: str) -> None:
    assert sync_cron(sla) == cron


def test_dataset_ids_are_valid() -> None:
    assert dataset_id("product-recs-staging") == "product_recs_staging_features"


# ---- governance -----------------------------------------------------------------------------------

def test_principals_map_to_iam_members() -> None:
    assert iam_member("group:a@b.com") == "group:a@b.com"
    assert iam_member("user:me@b.com", "x.com") == "user:me@b.com"
    assert iam_member("team@b.com") == "group:team@b.com"
    assert iam_member("recs-team", "example.com") == "group:recs-team@example.com"
    assert iam_member("recs-team") is None
    assert persona_members(example_plan("prod"), "approver") == ["group:recs-team-lead@example-shop.com"]


def persona_roles(result: SynthResult) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for r in mine(result):
        if "-governance-" in r.name and "role" in r.inputs and "audit" not in r.name:
            persona = next(p for p in ("data-scientist", "ml-engineer", "approver") if f"-governance-{p}-" in r.name)
            found.setdefault((persona, r.inputs["member"]), set()).add(r.inputs["role"])
    return found


def test_personas_build_outside_production_and_only_look_in_production(prod: SynthResult, dev: SynthResult) -> None:
    ds = ("data-scientist", "group:recs-data-scientists@example-shop.com")
    mle = ("ml-engineer", "group:recs-ml-engineers@example-shop.com")
    lead = ("approver", "group:recs-team-lead@example-shop.com")
    assert persona_roles(prod) == {
        ds: {"roles/aiplatform.viewer"},
        mle: {"roles/aiplatform.viewer", "roles/logging.viewer", "roles/monitoring.viewer"},
        lead: {"roles/aiplatform.viewer"},
    }
    in_dev = persona_roles(dev)
    assert "roles/aiplatform.user" in in_dev[ds] and "roles/bigquery.dataViewer" in in_dev[ds]
    assert "roles/artifactregistry.writer" in in_dev[mle] and "roles/bigquery.dataEditor" in in_dev[mle]
    assert in_dev[lead] == {"roles/aiplatform.viewer"}
    assert not PRIMITIVE & {g.role for g in GRANTS}


def test_audit_configs_and_locked_sink(prod: SynthResult) -> None:
    configs = {r.inputs["service"]: [c["logType"] for c in r.inputs["auditLogConfigs"]]
               for r in of_type(prod, "gcp:projects/iAMAuditConfig:IAMAuditConfig")}
    assert configs == {s: ["ADMIN_READ", "DATA_READ", "DATA_WRITE"]
                       for s in ("aiplatform.googleapis.com", "storage.googleapis.com", "bigquery.googleapis.com")}
    sink = named(prod, "-governance-audit-sink").inputs
    audit_bucket = named(prod, "-foundation-audit-bucket").inputs
    assert sink["destination"] == f"storage.googleapis.com/{audit_bucket['name']}"
    assert sink["uniqueWriterIdentity"] is True and "cloudaudit.googleapis.com" in sink["filter"]
    assert audit_bucket["retentionPolicy"] == {"retentionPeriod": str(730 * 86400), "isLocked": True}
    writer = named(prod, "-governance-audit-sink-writer").inputs
    assert writer["role"] == "roles/storage.objectCreator"
    assert writer["member"].endswith("gcp-sa-logging.iam.gserviceaccount.com")


def test_every_control_says_how_gcp_implements_it() -> None:
    assert set(GCP_CONTROLS) == set(Control)


def test_member_slugs_are_stable_and_short() -> None:
    assert member_slug("group:a@b.com") == "group-a-b-com"
    long = member_slug("group:" + "x" * 80 + "@example.com")
    assert len(long) <= 40 and long == member_slug("group:" + "x" * 80 + "@example.com")


# ---- cost -----------------------------------------------------------------------------------------

def test_budget_watches_vertex_ai_in_the_project(prod: SynthResult, dev: SynthResult) -> None:
    budget = named(prod, "-cost-budget").inputs
    assert budget["billingAccount"] == "012345-6789AB-CDEF01"
    assert budget["amount"] == {"specifiedAmount": {"currencyCode": "USD", "units": "24000", "nanos": 0}}
    assert budget["budgetFilter"]["services"] == ["services/C7E2-9256-1C43"]
    [project] = budget["budgetFilter"]["projects"]
    assert project.startswith("projects/") and project.removeprefix("projects/").isdigit()
    assert [(r["thresholdPercent"], r["spendBasis"]) for r in budget["thresholdRules"]] == [
        (0.5, "CURRENT_SPEND"), (0.8, "CURRENT_SPEND"), (1, "CURRENT_SPEND"), (1, "FORECASTED_SPEND")]
    assert budget["allUpdatesRule"]["monitoringNotificationChannels"]
    assert named(dev, "-cost-budget").inputs["amount"]["specifiedAmount"]["units"] == "30000"


# ---- cloud limits ---------------------------------------------------------------------------------

def gcp_blueprint(**extra: Any) -> str:
    return yaml.safe_dump({
        "name": "demo", "use_case": "Limits", "organisation": {"name": "Acme"},
        "cloud": {"provider": "gcp", "region": "europe-west4"}, "maturity": {"target": 3},
        "environments": environments("gcp"),
        "models": [{"name": "scorer", "quality_gates": {"metrics": [{"metric": "auc", "threshold": 0.8}]}}],
        **extra}, sort_keys=False)


FEATURES = {"entities": [{"name": "user", "id_column": "user_id", "features": [{"name": "age"}]}]}


@pytest.mark.parametrize(("extra", "path", "words"), [
    ({"feature_store": {**FEATURES, "offline": False}}, "feature_store.offline", "syncs online features"),
    ({"feature_store": {**FEATURES, "freshness_sla_minutes": 1440}}, "feature_store.freshness_sla_minutes",
     "at most 23.5 hours"),
    ({"environments": {"prod": {"account": "acme-ml-prod", "network": {"vpc": "shared"}}}},
     "environments.prod.network.subnets",
     "name at least one"),
    ({"cost": {"monthly_budget_usd": 100, "billing_account": "012345-6789AB-CDEF01"},
      "alerts": [{"kind": "email", "target": f"t{i}@x.com", "severity": "warning"} for i in range(6)]},
     "alerts", "at most 5 channels"),
])
def test_limits_are_located_plan_errors(extra: dict[str, Any], path: str, words: str) -> None:
    bp = load_text(gcp_blueprint(**extra), "limits.yaml").blueprint
    with pytest.raises(PlanError) as caught:
        plan(bp, "prod")
    found = [(format_path(d.path), d.message) for d in caught.value.diagnostics]
    assert any(p == path and words in m for p, m in found), found


def test_example_plans_within_the_limits() -> None:
    for environment in ("dev", "staging", "prod"):
        assert platform_limits(example_plan(environment)) == []
