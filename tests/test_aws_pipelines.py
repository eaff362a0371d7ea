"""AWS registry, training pipelines and retraining triggers under mocks: inventory, wiring, IAM, isolation."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from mlops_policies.aws_pipeline import AWS_PIPELINE_POLICIES
from shared_synth import synthesized

from components.aws.names import AlarmKind, alarm_name, model_package_group_name, pipeline_name
from mlops.blueprint import load_blueprint
from mlops.plan import plan_loaded
from mlops.synth import SynthResult, synth
from mlops.synth.recorder import Recorded

FRAUD = "blueprints/fraud-detection-aws.yaml"
READMISSION = "blueprints/readmission-risk-aws.yaml"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"


@pytest.fixture(scope="module")
def prod() -> SynthResult:
    return synthesized(FRAUD, "prod")


@pytest.fixture(scope="module")
def dev() -> SynthResult:
    return synthesized(FRAUD, "dev")


def _one(result: SynthResult, suffix: str, type_: str | None = None) -> Recorded:
    [record] = [r for r in result.resources if r.name.endswith(suffix) and (type_ is None or r.type == type_)]
    return record


def _policy(result: SynthResult, suffix: str) -> dict:  # type: ignore[type-arg]
    return json.loads(_one(result, suffix, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])


def _statement(policy: dict, sid: str) -> dict:  # type: ignore[type-arg]
    [statement] = [s for s in policy["Statement"] if s.get("Sid") == sid]
    return statement


def test_inventory(prod: SynthResult) -> None:
    counts = Counter(r.type for r in prod.resources)
    assert counts["mlops:index:AwsModelRegistry"] == 1
    assert counts["aws:sagemaker/modelPackageGroup:ModelPackageGroup"] == 1
    assert counts["mlops:index:SageMakerTrainingPipeline"] == 1
    assert counts[PIPELINE] == 1
    assert counts["mlops:index:AwsRetrainingTriggers"] == 1
    assert counts["aws:scheduler/scheduleGroup:ScheduleGroup"] == 1
    # The retraining schedule, and the drift and quality monitoring jobs' schedules (serving area).
    schedules = {r.name.removeprefix("fraud-detection-prod-fraud-scorer-") for r in prod.resources
                 if r.type == "aws:scheduler/schedule:Schedule"}
    assert schedules == {"retraining-schedule", "monitoring-drift-schedule", "monitoring-quality-schedule"}
    assert counts["aws:cloudwatch/eventRule:EventRule"] >= 2
    assert len([r for r in prod.resources if r.name.endswith(("-on-drift-target", "-on-performance-target"))]) == 2


def test_registry_group_is_named_tagged_and_protected(prod: SynthResult, dev: SynthResult) -> None:
    group = _one(prod, "fraud-scorer-group")
    plan = prod.plan
    assert group.inputs["modelPackageGroupName"] == model_package_group_name(plan, "fraud-scorer")
    assert group.inputs["tags"]["mlops-approval"] == "manual" and group.inputs["tags"]["cost-center"] == "fraud-ml"
    assert group.protect and group.retain_on_delete
    dev_group = _one(dev, "fraud-scorer-group")
    assert not dev_group.protect and dev_group.inputs["tags"]["mlops-approval"] == "automatic"


def test_pipeline_resource(prod: SynthResult) -> None:
    pipeline = _one(prod, "fraud-scorer-training-pipeline")
    assert pipeline.inputs["pipelineName"] == pipeline_name(prod.plan, "fraud-scorer")
    assert pipeline.inputs["roleArn"].endswith("fraud-scorer-training-role")
    assert pipeline.inputs["parallelismConfiguration"] == {"maxParallelExecutionSteps": 1}
    definition = json.loads(pipeline.inputs["pipelineDefinition"])
    assert definition["Version"] == "2020-12-01"
    steps = {step["Name"]: step for step in definition["Steps"]}
    tune = steps["Tune"]
    assert tune["Type"] == "Tuning"
    job = tune["Arguments"]["TrainingJobDefinition"]
    key = _one(prod, "foundation-key", "aws:kms/key:Key")
    assert job["OutputDataConfig"]["KmsKeyId"] == f"arn:mock:aws:kms/key:Key:{key.name}"
    assert job["RoleArn"] == pipeline.inputs["roleArn"]
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:1.7-1")
    # Jobs attach to the platform network's subnets.
    assert job["VpcConfig"]["Subnets"] and all(s.endswith("-id") for s in job["VpcConfig"]["Subnets"])
    register = steps["QualityGates"]["Arguments"]["IfSteps"][0]["Arguments"]
    assert register["ModelPackageGroupName"] == model_package_group_name(prod.plan, "fraud-scorer")
    # The Lambda steps call the model's steps function, in the platform's subnets.
    function = _one(prod, "fraud-scorer-training-steps-function", "aws:lambda/function:Function")
    assert steps["RunContext"]["FunctionArn"] == f"arn:mock:aws:lambda/function:Function:{function.name}"
    assert function.inputs["handler"] == "pipeline_steps.handler" and function.inputs["vpcConfig"]["subnetIds"]
    reads = _statement(_policy(prod, "fraud-scorer-training-steps-policy"), "ReadEvaluationReports")
    assert reads["Action"] == "s3:GetObject" and reads["Resource"].endswith("artifacts-bucket/fraud-scorer/runs/*")


def test_pipeline_role_is_least_privilege(prod: SynthResult) -> None:
    role = _one(prod, "fraud-scorer-training-role", "aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "333333333333"}}
    policy = _policy(prod, "fraud-scorer-training-policy")
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(a != "*" and not a.endswith(":*") for a in actions), statement["Sid"]
    passrole = _statement(policy, "PassOwnRoleToSageMakerJobs")
    assert passrole["Resource"] == [f"arn:mock:aws:iam/role:Role:{role.name}"]
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    # No status in the request: versions register PendingManualApproval; the pipeline cannot approve.
    register = _statement(policy, "RegisterModelVersions")
    assert register["Condition"] == {"Null": {"sagemaker:ModelApprovalStatus": "true"}}
    invoke = _statement(policy, "InvokePipelineSteps")
    assert invoke["Action"] == "lambda:InvokeFunction" and invoke["Resource"].endswith("training-steps-function")
    training = _statement(policy, "CreateTrainingJobsEncrypted")
    assert training["Condition"]["Bool"] == {"sagemaker:InterContainerTrafficEncryption": "true",
                                             "sagemaker:NetworkIsolation": "true"}
    artifacts = _statement(policy, "ReadWriteModelArtifacts")
    assert artifacts["Resource"][0].endswith("artifacts-bucket/fraud-scorer/*")
    assert "audit" not in json.dumps(policy)


def test_dev_pipeline_cannot_approve_either_and_needs_no_network(dev: SynthResult) -> None:
    policy = _policy(dev, "fraud-scorer-training-policy")
    register = _statement(policy, "RegisterModelVersions")
    assert register["Condition"] == {"Null": {"sagemaker:ModelApprovalStatus": "true"}}
    assert "sagemaker:NetworkIsolation" not in json.dumps(_statement(policy, "CreateTrainingJobsEncrypted"))
    assert not any(s.get("Sid") == "AttachJobsToPlatformSubnets" for s in policy["Statement"])
    definition = json.loads(_one(dev, "fraud-scorer-training-pipeline").inputs["pipelineDefinition"])
    assert "VpcConfig" not in json.dumps(definition)
    assert "ModelApprovalStatus" not in {p["Name"] for p in definition["Parameters"]}


def test_schedule(prod: SynthResult) -> None:
    schedule = _one(prod, "fraud-scorer-retraining-schedule", "aws:scheduler/schedule:Schedule")
    pipeline = _one(prod, "fraud-scorer-training-pipeline")
    assert schedule.inputs["scheduleExpression"] == "cron(0 0 ? * SUN *)"  # weekly
    assert schedule.inputs["scheduleExpressionTimezone"] == "UTC"
    assert schedule.inputs["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule.inputs["kmsKeyArn"].endswith("foundation-key")
    target = schedule.inputs["target"]
    assert target["arn"] == f"arn:mock:{PIPELINE}:{pipeline.name}"
    assert target["sagemakerPipelineParameters"] == {
        "pipelineParameters": [{"name": "TriggeredBy", "value": "schedule"}]}
    assert target["roleArn"].endswith("retraining-scheduler-role")
    trust = json.loads(_one(prod, "retraining-scheduler-role", "aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    policy = _policy(prod, "retraining-scheduler-policy")
    assert _statement(policy, "StartThisPipeline")["Resource"] == [target["arn"]]


def test_alarm_rules_start_the_pipeline(prod: SynthResult) -> None:
    pipeline = _one(prod, "fraud-scorer-training-pipeline")
    kinds: tuple[tuple[str, AlarmKind], ...] = (("drift", "drift"), ("performance", "quality"))
    for trigger, kind in kinds:
        rule = _one(prod, f"retraining-on-{trigger}", "aws:cloudwatch/eventRule:EventRule")
        pattern = json.loads(rule.inputs["eventPattern"])
        assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
        assert pattern["detail"] == {"alarmName": [alarm_name(prod.plan, "fraud-scorer", kind)],
                                     "state": {"value": ["ALARM"]}}
        target = _one(prod, f"retraining-on-{trigger}-target")
        assert target.inputs["arn"] == f"arn:mock:{PIPELINE}:{pipeline.name}"
        assert target.inputs["sagemakerPipelineTarget"] == {
            "pipelineParameterLists": [{"name": "TriggeredBy", "value": trigger}]}
        assert target.inputs["roleArn"].endswith("retraining-events-role")
    trust = json.loads(_one(prod, "retraining-events-role", "aws:iam/role:Role").inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]
    assert len(condition["ArnEquals"]["aws:SourceArn"]) == 2


def test_triggers_follow_each_model() -> None:
    result = synth(READMISSION, "prod")
    names = {r.name for r in result.resources}
    assert "readmission-risk-prod-los-forecast-retraining-schedule" in names
    assert not any(n.startswith("readmission-risk-prod-los-forecast-retraining-on-") for n in names)
    assert "readmission-risk-prod-readmit-risk-retraining-on-drift" in names
    schedule = _one(result, "readmit-risk-retraining-schedule", "aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "cron(0 0 1 * ? *)"  # monthly
    ours = {p.name for p in AWS_PIPELINE_POLICIES}
    assert [v for v in result.violations if v.policy in ours] == []


def test_every_pipeline_area_resource_is_tagged(prod: SynthResult) -> None:
    ours = [r for r in prod.resources if r.custom and ("-training-" in r.name or "-retraining-" in r.name
                                                         or r.name.endswith("-group"))]
    taggable = [r for r in ours if r.type not in ("aws:iam/rolePolicy:RolePolicy", "aws:scheduler/schedule:Schedule",
                                                  "aws:cloudwatch/eventTarget:EventTarget",
                                                  "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")]
    assert len(taggable) >= 7
    for record in taggable:
        assert record.inputs["tags"]["environment"] == "prod", record.name


def test_changing_one_threshold_changes_only_that_pipeline(tmp_path: Path) -> None:
    source = yaml.safe_load(Path(READMISSION).read_text())
    source["models"][1]["quality_gates"]["metrics"][0]["threshold"] = 1.25
    changed = tmp_path / "readmission-risk-aws.yaml"
    changed.write_text(yaml.safe_dump(source, sort_keys=False))
    assert plan_loaded(load_blueprint(changed), "prod").models[1].quality_gates.metrics[0].threshold == 1.25
    before = {(r.type, r.name): r.inputs for r in synth(READMISSION, "prod").resources}
    after = {(r.type, r.name): r.inputs for r in synth(str(changed), "prod").resources}
    assert before.keys() == after.keys()
    differing = [key for key in before if before[key] != after[key]]
    # Among pipelines only that model's changes; anything else that changed is that model's own (its card).
    assert [key for key in differing if key[0] == PIPELINE] == [
        (PIPELINE, "readmission-risk-prod-los-forecast-training-pipeline")]
    assert all("-los-forecast" in name for _, name in differing)
    [bar] = [p for p in json.loads(after[(PIPELINE, "readmission-risk-prod-los-forecast-training-pipeline")]
                                   ["pipelineDefinition"])["Parameters"] if p["Name"] == "Max-mae_days"]
    assert bar["DefaultValue"] == 1.25
