"""AWS platform services under mocks: experiment tracking, feature store, governance, audit trail, cost."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from evidence_checks import not_built
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from shared_synth import synthesized

from components.aws.cost import AwsBudget
from components.aws.feature_store import SageMakerFeatureStore
from components.aws.governance import (
    AWS_CONTROLS,
    _Scope,
    approver_policy,
    data_scientist_policy,
    ml_engineer_policy,
)
from components.aws.tracking import server_size
from mlops.blueprint import BlueprintError, load_blueprint
from mlops.blueprint.model import Cloud, Compliance
from mlops.evidence import builds
from mlops.plan import Capability, Plan, plan
from mlops.plan.compliance import CONTROL_CAPABILITIES, REGIME_CONTROLS, Control, compliance_gaps, required_controls
from mlops.plan.model import CostPlan
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import PlatformMocks, Recorded, RecordingMonitor

ROOT = Path(__file__).resolve().parents[1]
FRAUD = "blueprints/fraud-detection-aws.yaml"
READMISSION = "blueprints/readmission-risk-aws.yaml"
PLATFORM = {Capability.experiment_tracking, Capability.feature_store, Capability.freshness_alerts,
            Capability.rbac_roles, Capability.enforced_approval, Capability.model_cards, Capability.cost_controls}


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(FRAUD, "prod")


@pytest.fixture(scope="module")
def staging() -> SynthResult:
    return synthesized(FRAUD, "staging")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(FRAUD, "dev")


@pytest.fixture(scope="module")
def readmission() -> SynthResult:
    return synthesized(READMISSION, "prod")


def variant(tmp_path: Path, edit: Callable[[dict[str, Any]], None], source: str = FRAUD) -> str:
    doc = yaml.safe_load((ROOT / source).read_text())
    edit(doc)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def of(result: SynthResult | list[Recorded], type_: str) -> list[Recorded]:
    records = result.resources if isinstance(result, SynthResult) else result
    return [r for r in records if r.type == type_]


def one(result: SynthResult, suffix: str) -> Recorded:
    [found] = [r for r in result.resources if r.name.endswith(suffix)]
    return found


def policy(result: SynthResult, suffix: str) -> dict[str, dict[str, Any]]:
    """A role policy's statements by Sid."""
    return {s["Sid"]: s for s in json.loads(one(result, suffix).inputs["policy"])["Statement"]}


def actions(statements: dict[str, dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for s in statements.values():
        if s["Effect"] == "Allow":
            found |= set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    return found


def record(build: Callable[[], None]) -> list[Recorded]:
    """Run `build` (component constructors) under the recording mocks; return what it registered."""
    pulumi_settings.ROOT.set(None)
    monitor = RecordingMonitor(PlatformMocks())
    pulumi.runtime.set_mocks(PlatformMocks(), project="test", stack="test", preview=False, monitor=monitor)
    settings: Any = pulumi_settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()
    _sync_await(run_pulumi_func(build))
    return monitor.records


def fraud_plan(env: str = "prod") -> Plan:
    return plan(load_blueprint(ROOT / FRAUD).blueprint, env)


# --------------------------------------------------------------------------- experiment tracking


def test_tracking_server(prod: SynthResult, dev: SynthResult) -> None:
    server = one(prod, "tracking-server")
    assert server.inputs == {
        "artifactStoreUri": "s3://fraud-detection-prod-artifacts-333333333333/mlflow",
        "automaticModelRegistration": False,
        "roleArn": "arn:mock:aws:iam/role:Role:fraud-detection-prod-tracking-role",
        "tags": server.inputs["tags"],
        "trackingServerName": "fraud-detection-prod-mlflow",
        "trackingServerSize": "Large",  # 120 people
        "weeklyMaintenanceWindowStart": "Sun:02:00",
    }
    assert server.inputs["tags"]["environment"] == "prod"
    assert server.protect and server.retain_on_delete
    assert not one(dev, "tracking-server").protect
    assert prod.outputs["tracking_server_arn"] == prod.outputs["tracking_uri"] == \
        "arn:mock:aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer:fraud-detection-prod-tracking-server"


def test_tracking_server_size_follows_team_size(readmission: SynthResult) -> None:
    assert one(readmission, "tracking-server").inputs["trackingServerSize"] == "Small"  # 18 people
    assert [server_size(n) for n in (1, 25, 26, 50, 51, 5000)] == ["Small", "Small", "Medium", "Medium",
                                                                   "Large", "Large"]


def test_tracking_role_reaches_only_its_artifact_prefix(prod: SynthResult) -> None:
    trust = json.loads(one(prod, "tracking-role").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "333333333333"}}
    statements = policy(prod, "tracking-policy")
    bucket = "arn:mock:aws:s3/bucket:Bucket:fraud-detection-prod-foundation-artifacts-bucket"
    assert statements["ReadWriteArtifacts"]["Resource"] == f"{bucket}/mlflow/*"
    assert statements["ListArtifactPrefix"]["Condition"] == {"StringLike": {"s3:prefix": ["mlflow/*", "mlflow"]}}
    assert "s3:DeleteObject" not in actions(statements)
    assert statements["UsePlatformKeyThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_no_tracking_server_below_experiment_tracking_level_1(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["maturity"] = {"current": {"experiment_tracking": 0, "model_versioning": 2, "deployment": 1,
                                       "monitoring": 1, "governance": 1},
                           "target": {"experiment_tracking": 0, "model_versioning": 3, "deployment": 3,
                                      "monitoring": 3, "governance": 3}}
        doc["models"][0].pop("training")
        doc["models"][0].pop("retraining")
    result = synth(variant(tmp_path, edit), "prod")
    assert not result.plan.enabled(Capability.experiment_tracking)
    assert not of(result, "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
    assert "tracking_uri" not in result.outputs


# --------------------------------------------------------------------------- feature store


def test_feature_group_per_entity(prod: SynthResult) -> None:
    [group] = of(prod, "aws:sagemaker/featureGroup:FeatureGroup")
    inputs = group.inputs
    assert inputs["featureGroupName"] == "fraud-detection-prod-card"
    assert inputs["recordIdentifierFeatureName"] == "card_id"
    assert inputs["eventTimeFeatureName"] == "event_time"
    assert inputs["featureDefinitions"] == [
        {"featureName": "card_id", "featureType": "String"},
        {"featureName": "txn_count_1h", "featureType": "Fractional"},
        {"featureName": "avg_amount_7d", "featureType": "Fractional"},
        {"featureName": "merchant_risk_score", "featureType": "Fractional"},
        {"featureName": "event_time", "featureType": "String"},
    ]
    key = "arn:mock:aws:kms/key:Key:fraud-detection-prod-foundation-key"
    assert inputs["onlineStoreConfig"] == {"enableOnlineStore": True, "securityConfig": {"kmsKeyId": key}}
    assert inputs["offlineStoreConfig"] == {
        "disableGlueTableCreation": False,
        "s3StorageConfig": {"kmsKeyId": key, "s3Uri": "s3://fraud-detection-prod-data-333333333333/feature-store"}}
    assert inputs["roleArn"] == "arn:mock:aws:iam/role:Role:fraud-detection-prod-features-role"
    assert group.protect and group.retain_on_delete


def test_feature_types_map_to_what_feature_store_knows(readmission: SynthResult, tmp_path: Path) -> None:
    [group] = of(readmission, "aws:sagemaker/featureGroup:FeatureGroup")
    types = {d["featureName"]: d["featureType"] for d in group.inputs["featureDefinitions"]}
    assert types == {"patient_id": "String", "admissions_12m": "Integral", "charlson_index": "Fractional",
                     "event_time": "String"}

    def edit(doc: dict[str, Any]) -> None:
        doc["feature_store"] = {"online": False, "entities": [{"name": "card_account", "id_column": "card_id",
                                                               "features": [
            {"name": "card_id", "type": "int"}, {"name": "is_business", "type": "bool"},
            {"name": "opened_at", "type": "timestamp"}, {"name": "merchant_vector", "type": "embedding"},
            {"name": "event_time", "type": "timestamp"}]}]}
    result = synth(variant(tmp_path, edit), "prod")
    [group] = of(result, "aws:sagemaker/featureGroup:FeatureGroup")
    assert group.inputs["featureGroupName"] == "fraud-detection-prod-card-account"
    assert group.inputs["featureDefinitions"] == [
        {"featureName": "card_id", "featureType": "Integral"},
        {"featureName": "is_business", "featureType": "String"},
        {"featureName": "opened_at", "featureType": "String"},
        {"featureName": "merchant_vector", "featureType": "String"},
        {"featureName": "event_time", "featureType": "String"},
    ]
    assert "onlineStoreConfig" not in group.inputs and "offlineStoreConfig" in group.inputs
    # No freshness SLA in this variant: no alarm.
    assert not of(result, "aws:cloudwatch/metricAlarm:MetricAlarm") or not [
        a for a in of(result, "aws:cloudwatch/metricAlarm:MetricAlarm") if a.name.endswith("-freshness")]


def test_freshness_alarm_watches_ingestion(prod: SynthResult) -> None:
    alarm = one(prod, "features-card-freshness")
    topic = "arn:mock:aws:sns/topic:Topic:fraud-detection-prod-alerting-warning"
    assert {k: v for k, v in alarm.inputs.items() if k not in ("tags", "alarmDescription")} == {
        "name": "fraud-detection-prod-card-freshness",
        "namespace": "AWS/SageMaker", "metricName": "Invocations",
        "dimensions": {"FeatureGroupName": "fraud-detection-prod-card", "OperationName": "PutRecord"},
        "statistic": "Sum", "period": 900, "evaluationPeriods": 1, "threshold": 1,
        "comparisonOperator": "LessThanThreshold", "treatMissingData": "breaching",
        "alarmActions": [topic], "okActions": [topic],
    }


def test_freshness_alarm_without_a_topic_has_no_actions() -> None:
    the_plan = fraud_plan()
    assert the_plan.feature_store is not None
    store = the_plan.feature_store

    def build() -> None:
        SageMakerFeatureStore("t-features", the_plan, store, data_bucket="data", data_bucket_arn="arn:aws:s3:::data",
                              kms_key_arn="arn:aws:kms:us-east-1:333333333333:key/k", alert_topic_arn=None)
    [alarm] = of(record(build), "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert "alarmActions" not in alarm.inputs or alarm.inputs["alarmActions"] == []


def test_feature_store_role(prod: SynthResult) -> None:
    statements = policy(prod, "features-policy")
    data = "arn:mock:aws:s3/bucket:Bucket:fraud-detection-prod-foundation-data-bucket"
    assert statements["WriteOfflineStore"]["Resource"] == f"{data}/feature-store/*"
    assert statements["CheckBucketOwnership"] == {"Sid": "CheckBucketOwnership", "Effect": "Allow",
                                                  "Action": "s3:GetBucketAcl", "Resource": data}
    assert statements["MaintainOfflineTables"]["Resource"] == [
        "arn:aws:glue:us-east-1:333333333333:catalog",
        "arn:aws:glue:us-east-1:333333333333:database/sagemaker_featurestore",
        "arn:aws:glue:us-east-1:333333333333:table/sagemaker_featurestore/*"]


# --------------------------------------------------------------------------- governance


def test_persona_roles_trust_permission_sets(prod: SynthResult) -> None:
    for persona, groups in (("data-scientist", ["fraud-data-scientists"]), ("ml-engineer", ["ml-platform-engineers"]),
                            ("approver", ["model-risk-committee", "fraud-business-owner"])):  # + approvals.prod
        role = one(prod, f"governance-{persona}")
        assert role.inputs["name"] == f"fraud-detection-prod-{persona}"
        assert role.inputs["maxSessionDuration"] == 3600
        [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"AWS": "arn:aws:iam::333333333333:root"}
        assert trust["Condition"] == {"ArnLike": {"aws:PrincipalArn": [
            f"arn:aws:iam::333333333333:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_{group}_*"
            for group in groups]}}


def test_an_environments_approvers_may_act_as_its_approver(staging: SynthResult, dev: SynthResult) -> None:
    def trusted(result: SynthResult) -> list[str]:
        [trust] = json.loads(one(result, "governance-approver").inputs["assumeRolePolicy"])["Statement"]
        return [p.split("AWSReservedSSO_")[1][:-2] for p in trust["Condition"]["ArnLike"]["aws:PrincipalArn"]]
    assert trusted(staging) == ["model-risk-committee", "ml-engineering-leads"]  # approvals.staging
    assert trusted(dev) == ["model-risk-committee"]  # no approval into dev


def test_persona_roles_trust_iam_arns_as_given(tmp_path: Path) -> None:
    principal = "arn:aws:iam::999999999999:role/central-approvers"

    def edit(doc: dict[str, Any]) -> None:
        doc["governance"]["roles"] = {"approver": [principal, "ModelRisk"]}
    result = synth(variant(tmp_path, edit), "prod")
    trust = json.loads(one(result, "governance-approver").inputs["assumeRolePolicy"])["Statement"]
    assert trust[0] == {"Sid": "TrustNamedPrincipals", "Effect": "Allow", "Principal": {"AWS": [principal]},
                        "Action": "sts:AssumeRole"}
    assert trust[1]["Condition"]["ArnLike"]["aws:PrincipalArn"][0].endswith("AWSReservedSSO_ModelRisk_*")
    # Nobody listed for the other personas: no role to trust nobody.
    assert not [r for r in result.resources if r.name.endswith(("governance-data-scientist", "governance-ml-engineer"))]


def test_only_the_approver_can_change_approval_status(prod: SynthResult) -> None:
    approver = policy(prod, "governance-approver-policy")
    approve = approver["ApproveModelVersions"]
    assert approve["Action"] == "sagemaker:UpdateModelPackage"
    assert approve["Resource"] == ["arn:aws:sagemaker:us-east-1:333333333333:model-package/fraud-detection-prod-*/*"]
    assert approve["Condition"] == {"StringEquals": {"sagemaker:ModelApprovalStatus": ["Approved", "Rejected"]}}
    assert "DenyChangingApprovalStatus" not in approver
    for persona in ("data-scientist", "ml-engineer"):
        statements = policy(prod, f"governance-{persona}-policy")
        assert "sagemaker:UpdateModelPackage" not in actions(statements)
        deny = statements["DenyChangingApprovalStatus"]
        assert (deny["Effect"], deny["Action"], deny["Resource"]) == ("Deny", "sagemaker:UpdateModelPackage", "*")
        assert deny["Condition"] == {"Null": {"sagemaker:ModelApprovalStatus": "false"}}
        assert statements["DenyRegisteringAsApproved"]["Condition"] == {
            "StringEquals": {"sagemaker:ModelApprovalStatus": "Approved"}}


def test_without_a_required_approval_ml_engineers_record_approvals(dev: SynthResult) -> None:
    assert dev.plan.governance.approval is None
    statements = policy(dev, "governance-ml-engineer-policy")
    assert "RecordApproval" in statements and "DenyChangingApprovalStatus" not in statements


def test_data_scientists_experiment_but_never_deploy(prod: SynthResult, staging: SynthResult) -> None:
    in_staging = actions(policy(staging, "governance-data-scientist-policy"))
    assert {"sagemaker:CreateTrainingJob", "sagemaker-mlflow:CreateRun", "s3:GetObject", "iam:PassRole"} <= in_staging
    in_prod = actions(policy(prod, "governance-data-scientist-policy"))
    assert "sagemaker:CreateTrainingJob" not in in_prod and "sagemaker-mlflow:CreateRun" not in in_prod
    for granted in (in_staging, in_prod):
        assert not {a for a in granted if a.startswith(("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint",
                                                        "sagemaker:CreateModel", "sagemaker:CreatePipeline"))}
    # Production data (personal data) is out of reach: only the artifact bucket.
    data = "arn:mock:aws:s3/bucket:Bucket:fraud-detection-prod-foundation-data-bucket"
    assert data not in json.dumps(policy(prod, "governance-data-scientist-policy"))


def test_ml_engineers_deploy_outside_production_only(prod: SynthResult, staging: SynthResult) -> None:
    deploy = {"sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:CreatePipeline"}
    assert deploy <= actions(policy(staging, "governance-ml-engineer-policy"))
    in_prod = actions(policy(prod, "governance-ml-engineer-policy"))
    assert not deploy & in_prod
    assert {"sagemaker:StartPipelineExecution", "sagemaker:StopPipelineExecution"} <= in_prod
    scoped = policy(staging, "governance-ml-engineer-policy")["DeployOutsideProduction"]["Resource"]
    assert scoped == ["arn:aws:sagemaker:us-east-1:222222222222:model/fraud-detection-staging-*",
                      "arn:aws:sagemaker:us-east-1:222222222222:endpoint-config/fraud-detection-staging-*",
                      "arn:aws:sagemaker:us-east-1:222222222222:endpoint/fraud-detection-staging-*"]


def test_mlflow_only_from_the_platform_network_in_isolated_environments(prod: SynthResult,
                                                                         dev: SynthResult) -> None:
    vpc = f"{one(prod, 'network-vpc').name}-id"
    for persona in ("data-scientist", "ml-engineer", "approver"):
        statements = policy(prod, f"governance-{persona}-policy")
        for sid in ("UseMlflow", "MlflowUi"):
            assert statements[sid]["Condition"] == {"StringEquals": {"aws:SourceVpc": vpc}}
        assert statements["UseMlflow"]["Resource"] == \
            "arn:aws:sagemaker:us-east-1:333333333333:mlflow-tracking-server/fraud-detection-prod-mlflow"
        assert "Condition" not in policy(dev, f"governance-{persona}-policy")["UseMlflow"]


def _mlflow_actions_without_resource_types() -> set[str]:
    """sagemaker-mlflow actions that IAM grants only on "*", per AWS's published authorization model
    (the copy parliament ships; the Service Authorization Reference lists AccessUI with no resource type)."""
    import parliament
    model = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
    [service] = [s for s in model if s["prefix"] == "sagemaker-mlflow"]
    return {f"sagemaker-mlflow:{p['privilege']}" for p in service["privileges"]
            if all(not t["resource_type"] for t in p["resource_types"])}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_mlflow_actions_are_scoped_to_the_tracking_server(env: str, prod: SynthResult, dev: SynthResult) -> None:
    result = {"dev": dev, "prod": prod}[env]
    server = f"arn:aws:sagemaker:us-east-1:{result.plan.account}:mlflow-tracking-server/fraud-detection-{env}-mlflow"
    unscopable = _mlflow_actions_without_resource_types()
    assert unscopable == {"sagemaker-mlflow:AccessUI"}  # if AWS adds a resource type, scope it here
    for persona in ("data-scientist", "ml-engineer", "approver"):
        for statement in policy(result, f"governance-{persona}-policy").values():
            granted = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in (a for a in granted if a.startswith("sagemaker-mlflow:")):
                expected = "*" if action in unscopable else server
                assert statement["Resource"] == expected, (persona, action)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_persona_policies_are_least_privilege(env: str, prod: SynthResult, staging: SynthResult,
                                              dev: SynthResult) -> None:
    result = {"dev": dev, "staging": staging, "prod": prod}[env]
    for persona in ("data-scientist", "ml-engineer", "approver"):
        document = one(result, f"governance-{persona}-policy").inputs["policy"]
        assert len(document) < 10_240, "IAM limits a role's inline policies to 10,240 characters"
        for statement in json.loads(document)["Statement"]:
            granted = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [a for a in granted if a == "*" or a.endswith(":*")], statement["Sid"]
            if statement["Effect"] == "Allow" and statement["Resource"] == "*":
                assert statement["Sid"] in ("ListPlatformResources", "MlflowUi"), statement["Sid"]


def test_persona_policies_stay_within_iam_limits_however_many_models(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["models"] = [{**doc["models"][0], "name": f"model-{i:03d}"} for i in range(1, 51)]
    many = plan(load_blueprint(variant(tmp_path, edit)).blueprint, "staging")
    scope = _Scope(many, data_bucket_arn="arn:aws:s3:::data", artifact_bucket_arn="arn:aws:s3:::artifacts",
                   kms_key_arn="arn:aws:kms:us-east-1:222222222222:key/k",
                   execution_role_arn="arn:aws:iam::222222222222:role/execution")
    for statements in (data_scientist_policy(scope, True, "vpc-1"), ml_engineer_policy(scope, True, "vpc-1"),
                       approver_policy(scope, "vpc-1")):
        # Values still to be resolved (bucket object ARNs) count as 80-character ARNs.
        size = len(json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"),
                              default=lambda _: "a" * 80))
        assert size < 10_240
    [approve] = [s for s in approver_policy(scope, None) if s.get("Sid") == "ApproveModelVersions"]
    assert approve["Resource"] == ["arn:aws:sagemaker:us-east-1:222222222222:model-package/fraud-detection-staging-*/*"]


def test_audit_trail(prod: SynthResult) -> None:
    trail = one(prod, "governance-trail")
    inputs = trail.inputs
    assert inputs["name"] == "fraud-detection-prod-audit"
    assert inputs["s3BucketName"] == "fraud-detection-prod-audit-333333333333"
    assert inputs["s3KeyPrefix"] == "cloudtrail"
    assert inputs["isMultiRegionTrail"] is True and inputs["includeGlobalServiceEvents"] is True
    assert inputs["enableLogFileValidation"] is True
    assert inputs["kmsKeyId"] == "arn:mock:aws:kms/key:Key:fraud-detection-prod-foundation-key"
    assert inputs["cloudWatchLogsGroupArn"].endswith("fraud-detection-prod-governance-trail-logs:*")
    selected = {s["name"]: s["fieldSelectors"] for s in inputs["advancedEventSelectors"]}
    assert selected["Management events"] == [{"field": "eventCategory", "equals": ["Management"]}]
    types = {f["equals"][0] for fields in selected.values() for f in fields if f["field"] == "resources.type"}
    assert types == {"AWS::SageMaker::Endpoint", "AWS::SageMaker::FeatureGroup", "AWS::S3::Object"}
    assert trail.protect and trail.retain_on_delete
    # It waits for the audit bucket's policy, which admits the trail (depending on the bucket component
    # expands to its children).
    assert one(prod, "audit-tls-only").urn in trail.dependencies


def test_audit_bucket_and_key_admit_only_this_trail(prod: SynthResult) -> None:
    trail_arn = "arn:aws:cloudtrail:us-east-1:333333333333:trail/fraud-detection-prod-audit"
    bucket = {s["Sid"]: s for s in json.loads(one(prod, "audit-tls-only").inputs["policy"])["Statement"]}
    assert bucket["DenyInsecureTransport"]["Effect"] == "Deny"
    write = bucket["CloudTrailWrite"]
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert write["Resource"] == ("arn:mock:aws:s3/bucket:Bucket:fraud-detection-prod-foundation-audit-bucket"
                                 "/cloudtrail/AWSLogs/333333333333/*")
    assert write["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn,
                                                   "s3:x-amz-acl": "bucket-owner-full-control"}}
    assert bucket["CloudTrailAclCheck"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    # The data and artifact buckets admit nobody extra.
    assert len(json.loads(one(prod, "data-tls-only").inputs["policy"])["Statement"]) == 1
    key = {s["Sid"]: s for s in json.loads(one(prod, "foundation-key").inputs["policy"])["Statement"]}
    assert key["CloudTrailEncryptLogs"]["Condition"]["StringEquals"] == {"aws:SourceArn": trail_arn}


def test_platform_key_serves_the_publishers_of_encrypted_topics(prod: SynthResult) -> None:
    key = {s["Sid"]: s for s in json.loads(one(prod, "foundation-key").inputs["policy"])["Statement"]}
    alarms = key["AlarmsPublishToEncryptedTopics"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    # Only this account's alarms, and only the platform's (confused deputy).
    assert alarms["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "333333333333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:333333333333:alarm:fraud-detection-prod-*"}}
    # EventBridge's KMS requests carry no source keys: a condition on them would drop every notification.
    rules = key["RulesPublishToEncryptedTopics"]
    assert rules["Principal"] == {"Service": "events.amazonaws.com"} and "Condition" not in rules
    # Every alarm of the stack falls under that pattern, else it could not publish to its encrypted topic.
    alarm_names = [r.inputs["alarmName"] if "alarmName" in r.inputs else r.inputs["name"]
                   for r in of(prod, "aws:cloudwatch/metricAlarm:MetricAlarm")]
    event_rules = of(prod, "aws:cloudwatch/eventRule:EventRule")
    assert alarm_names and event_rules
    assert all(n.startswith("fraud-detection-prod-") for n in alarm_names), alarm_names
    assert all(r.inputs["name"].startswith("fraud-detection-prod-") and "eventBusName" not in r.inputs
               for r in event_rules)
    budgets = key["BudgetsPublishToEncryptedTopics"]
    assert budgets["Condition"] == {"StringEquals": {"aws:SourceAccount": "333333333333"}}
    # Only the account (through IAM) may administer or use the key beyond these service grants.
    assert [s["Sid"] for s in key.values() if s["Action"] == "kms:*"] == ["AccountAdministersKeyThroughIam"]


def test_model_cards(prod: SynthResult, readmission: SynthResult) -> None:
    [card] = of(prod, "aws:sagemaker/modelCard:ModelCard")
    assert card.inputs["modelCardName"] == "fraud-detection-prod-fraud-scorer"
    assert card.inputs["modelCardStatus"] == "Draft"
    assert card.inputs["securityConfig"] == {"kmsKeyId": "arn:mock:aws:kms/key:Key:fraud-detection-prod-foundation-key"}
    content = json.loads(card.inputs["content"])
    assert content["intended_uses"]["risk_rating"] == "High"
    assert content["model_overview"]["algorithm_type"] == "xgboost"
    assert "auc >= 0.92" in content["additional_information"]["caveats_and_recommendations"]
    assert "disparate_impact_ratio within 0.8" in content["additional_information"]["ethical_considerations"]
    assert card.protect
    assert len(of(readmission, "aws:sagemaker/modelCard:ModelCard")) == 2


def test_no_model_cards_unless_required(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["governance"]["model_card_required"] = False
        doc["governance"]["compliance"] = ["fair_lending", "pci_dss", "soc2"]
    result = synth(variant(tmp_path, edit), "prod")
    assert not result.plan.enabled(Capability.model_cards)
    assert not of(result, "aws:sagemaker/modelCard:ModelCard")


# --------------------------------------------------------------------------- cost


def test_budget_with_a_notification_per_threshold(prod: SynthResult, dev: SynthResult) -> None:
    budget = one(prod, "cost-budget")
    topic = "arn:mock:aws:sns/topic:Topic:fraud-detection-prod-alerting-warning"
    assert (budget.inputs["limitAmount"], budget.inputs["limitUnit"]) == ("60000.00", "USD")  # prod override
    assert (budget.inputs["budgetType"], budget.inputs["timeUnit"]) == ("COST", "MONTHLY")
    assert budget.inputs["name"] == "fraud-detection-prod-monthly"
    assert [(n["notificationType"], n["threshold"]) for n in budget.inputs["notifications"]] == [
        ("ACTUAL", 50), ("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)]
    for notification in budget.inputs["notifications"]:
        assert notification["subscriberSnsTopicArns"] == [topic]
        assert "subscriberEmailAddresses" not in notification
    assert one(dev, "cost-budget").inputs["limitAmount"] == "80000.00"


def test_budget_without_a_topic_emails_the_routes() -> None:
    the_plan = fraud_plan()

    def build() -> None:
        AwsBudget("t-cost", the_plan, CostPlan(monthly_budget_usd=100, alert_thresholds_percent=(90.0, 50.0)),
                  alert_topic_arn=None)
    [budget] = of(record(build), "aws:budgets/budget:Budget")
    assert [n["threshold"] for n in budget.inputs["notifications"]] == [50, 90, 100]
    assert {tuple(n["subscriberEmailAddresses"]) for n in budget.inputs["notifications"]} == {
        ("ml-platform@example-bank.com",)}


def test_budget_needs_somewhere_to_send_alerts() -> None:
    the_plan = fraud_plan().model_copy(update={"alerts": ()})
    with pytest.raises(Exception, match="budget alerts have nowhere to go"):
        record(lambda: AwsBudget("t-cost", the_plan, CostPlan(monthly_budget_usd=1, alert_thresholds_percent=(50.0,)),
                                 alert_topic_arn=None) and None)


def test_no_budget_without_cost(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc.pop("cost")
        doc["environments"]["prod"].pop("monthly_budget_usd")
    path = variant(tmp_path, edit)
    result = synth(path, "staging")
    assert not of(result, "aws:budgets/budget:Budget")
    assert not [v for v in result.violations if v.mandatory]
    # In prod the policy would fail the stack: validate says what to add before anything runs.
    with pytest.raises(BlueprintError, match="a production AWS stack needs a cost budget"):
        synth(path, "prod")


# --------------------------------------------------------------------------- compliance, coverage, outputs


def test_every_control_has_a_capability_and_an_aws_implementation() -> None:
    assert set(CONTROL_CAPABILITIES) == set(Control) == set(AWS_CONTROLS)
    assert set(REGIME_CONTROLS) == set(Compliance)
    for requirements in REGIME_CONTROLS.values():
        assert requirements and all(r.source for r in requirements)


def test_regimes_map_to_controls(prod: SynthResult, dev: SynthResult) -> None:
    required = required_controls(prod.plan.governance.compliance)  # sr_11_7, fair_lending, pci_dss, soc2
    assert required[Control.fairness_testing] == [
        "ECOA / Regulation B (12 CFR 1002.4): no discrimination in credit decisions"]
    assert len(required[Control.approval_gate]) == 2  # SR 11-7 and SOC 2
    assert compliance_gaps(prod.plan) == {}
    # Dev runs outside a private network: the network controls PCI DSS and SOC 2 ask for are not there.
    assert set(compliance_gaps(dev.plan)) == {Control.network_isolation, Control.network_logging}


def test_coverage_lists_what_the_platform_area_builds(prod: SynthResult) -> None:
    assert builds(Cloud.aws) >= PLATFORM
    assert not PLATFORM & not_built(prod)
    assert set(prod.plan.capabilities) >= PLATFORM


def test_stack_outputs(prod: SynthResult) -> None:
    assert {"tracking_server_arn", "tracking_uri", "trail_arn"} <= set(prod.outputs)
