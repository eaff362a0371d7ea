"""AWS pipeline-area policies: each rule passes on the compliant prod graph and fails on a broken one."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from mlops_policies.aws_pipeline import AWS_PIPELINE_POLICIES
from shared_synth import synthesized

from mlops.policies.engine import policy_resources, run_policies
from mlops.synth import synth
from mlops.synth.recorder import Recorded

POLICIES = {p.name: p for p in AWS_PIPELINE_POLICIES}
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
PIPELINE_NAME = "fraud-scorer-training-pipeline"


@pytest.fixture(scope="module")
def prod_graph() -> list[Recorded]:
    return synthesized("blueprints/fraud-detection-aws.yaml", "prod").resources


def _only(records: list[Recorded], type_: str, suffix: str) -> Recorded:
    [found] = [r for r in records if r.type == type_ and r.name.endswith(suffix)]
    return found


def _edit(type_: str, suffix: str, change: Callable[[Recorded], None]) -> Callable[[list[Recorded]], list[Recorded]]:
    def apply(records: list[Recorded]) -> list[Recorded]:
        changed = copy.deepcopy(records)
        change(_only(changed, type_, suffix))
        return changed
    return apply


def _definition(change: Callable[[dict[str, Any]], None]) -> Callable[[Recorded], None]:
    def edit(record: Recorded) -> None:
        document = json.loads(record.inputs["pipelineDefinition"])
        change(document)
        record.inputs["pipelineDefinition"] = json.dumps(document)
    return edit


def _step(document: dict[str, Any], name: str) -> dict[str, Any]:
    for step in document["Steps"]:
        if step["Name"] == name:
            return step
        for nested in [*step["Arguments"].get("IfSteps", []), *step["Arguments"].get("ElseSteps", [])]:
            if nested["Name"] == name:
                return nested
    raise KeyError(name)


def _tuning_job(document: dict[str, Any]) -> dict[str, Any]:
    return _step(document, "Tune")["Arguments"]["TrainingJobDefinition"]


def _drop_volume_key(document: dict[str, Any]) -> None:
    del _step(document, "Evaluate")["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"]


def _plain_traffic(document: dict[str, Any]) -> None:
    _tuning_job(document)["EnableInterContainerTrafficEncryption"] = False


def _not_isolated(document: dict[str, Any]) -> None:
    _tuning_job(document)["EnableNetworkIsolation"] = False


def _self_approving(document: dict[str, Any]) -> None:
    _step(document, "Register")["Arguments"]["ModelApprovalStatus"] = {"Get": "Parameters.ModelApprovalStatus"}


def _grant_everything(record: Recorded) -> None:
    document = json.loads(record.inputs["policy"])
    document["Statement"].append({"Sid": "Oops", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    record.inputs["policy"] = json.dumps(document)


def _untag(record: Recorded) -> None:
    record.inputs["tags"] = {k: v for k, v in record.inputs["tags"].items() if k != "mlops-approval"}


def _set(key: str, value: object) -> Callable[[Recorded], None]:
    def change(record: Recorded) -> None:
        if value is None:
            record.inputs.pop(key, None)
        else:
            record.inputs[key] = value
    return change


# policy name → (how to break the compliant prod graph, the resource the violation names, what it says)
BREAKS: dict[str, tuple[Callable[[list[Recorded]], list[Recorded]], str, str]] = {
    "aws-pipeline-jobs-encrypted": (_edit(PIPELINE, PIPELINE_NAME, _definition(_drop_volume_key)),
                                    PIPELINE_NAME, "step Evaluate"),
    "aws-pipeline-inter-container-encryption": (_edit(PIPELINE, PIPELINE_NAME, _definition(_plain_traffic)),
                                                PIPELINE_NAME, "step Tune"),
    "aws-pipeline-network-isolation": (_edit(PIPELINE, PIPELINE_NAME, _definition(_not_isolated)),
                                       PIPELINE_NAME, "without network isolation"),
    "aws-pipeline-manual-approval": (_edit(PIPELINE, PIPELINE_NAME, _definition(_self_approving)),
                                     PIPELINE_NAME, "PendingManualApproval"),
    "aws-pipeline-role-least-privilege": (_edit("aws:iam/rolePolicy:RolePolicy", "fraud-scorer-training-policy",
                                                _grant_everything), "fraud-scorer-training-policy", "s3:PutObject"),
    "aws-model-package-group-tagged": (_edit("aws:sagemaker/modelPackageGroup:ModelPackageGroup",
                                             "fraud-scorer-group", _untag), "fraud-scorer-group", "mlops-approval"),
    "aws-retraining-schedule-encrypted": (_edit("aws:scheduler/schedule:Schedule", "retraining-schedule",
                                                _set("kmsKeyArn", None)), "retraining-schedule", "KMS"),
    "aws-pipeline-trigger-role": (_edit("aws:cloudwatch/eventTarget:EventTarget", "on-drift-target",
                                        _set("roleArn", None)), "on-drift-target", "role"),
}


def test_every_policy_has_a_violating_case() -> None:
    assert set(BREAKS) == set(POLICIES)
    assert len(POLICIES) >= 6


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_policy_passes_on_compliant_graph(prod_graph: list[Recorded], name: str) -> None:
    assert run_policies([POLICIES[name]], policy_resources(prod_graph)) == []


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_policy_fails_on_violating_graph(prod_graph: list[Recorded], name: str) -> None:
    breaker, culprit, says = BREAKS[name]
    violations = run_policies([POLICIES[name]], policy_resources(breaker(prod_graph)))
    assert [v.policy for v in violations] == [name]
    assert violations[0].urn is not None and violations[0].urn.endswith(culprit)
    assert says in violations[0].message
    assert violations[0].mandatory


def test_isolation_is_required_in_production_only() -> None:
    dev = synth("blueprints/fraud-detection-aws.yaml", "dev").resources
    broken = _edit(PIPELINE, PIPELINE_NAME, _definition(_not_isolated))(dev)
    assert run_policies([POLICIES["aws-pipeline-network-isolation"]], policy_resources(broken)) == []


def test_whole_service_actions_are_refused(prod_graph: list[Recorded]) -> None:
    def wildcard(record: Recorded) -> None:
        document = json.loads(record.inputs["policy"])
        document["Statement"][0]["Action"] = "sagemaker:*"
        record.inputs["policy"] = json.dumps(document)

    graph = _edit("aws:iam/rolePolicy:RolePolicy", "retraining-events-policy", wildcard)(prod_graph)
    violations = run_policies([POLICIES["aws-pipeline-role-least-privilege"]], policy_resources(graph))
    assert [v.message for v in violations] == ["statement StartThisPipeline grants whole services: sagemaker:*"]


def test_actions_without_resource_level_permissions_may_use_star(prod_graph: list[Recorded]) -> None:
    policy = json.loads(_only(prod_graph, "aws:iam/rolePolicy:RolePolicy", "fraud-scorer-training-policy")
                        .inputs["policy"])
    stars = [s for s in policy["Statement"] if s["Resource"] == "*"]
    assert stars and all(s["Sid"] in ("PublishJobMetrics", "DescribeNetwork") for s in stars)
