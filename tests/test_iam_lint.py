"""Every IAM policy document in every AWS example's stacks, linted by parliament (a real IAM linter).

Documents: role trust policies, inline role policies, standalone policies, bucket, topic, queue,
repository and VPC endpoint policies, KMS key policies. Unknown actions, unknown condition keys,
malformed or mismatched ARNs and mistyped conditions fail; the few findings allowed below say why.

The mocks return ARNs like `arn:mock:aws:s3/bucket:Bucket:<name>`; they are rewritten into the ARN
AWS would return (from the resource's physical name, the plan's account and region) before linting,
so that the linter checks the ARN formats the real stack will have.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import parliament
import pytest
from mlops_policies.aws_platform import NO_RESOURCE_LEVEL_WRITES, is_read
from parliament import analyze_policy_string
from shared_synth import synthesized

from mlops.blueprint import load_blueprint
from mlops.synth import SynthResult
from mlops.synth.recorder import Recorded

ROOT = Path(__file__).resolve().parents[1]
AWS_EXAMPLES = [p for p in sorted((ROOT / "blueprints").glob("*.yaml"))
                if load_blueprint(p).blueprint.cloud.provider.value == "aws"]
CASES = [(p, env) for p in AWS_EXAMPLES for env in load_blueprint(p).blueprint.environments]
IDS = [f"{p.stem}-{env}" for p, env in CASES]
MOCK_ACCOUNT = "123456789012"  # what the mocks' getCallerIdentity answers

# Physical-name inputs, by resource type (else the logical name is the physical one).
NAME_INPUTS = ("name", "bucket", "pipelineName", "modelPackageGroupName", "endpointName", "endpointConfigName",
               "featureGroupName", "trackingServerName", "modelCardName", "monitoringScheduleName", "jobDefinitionName",
               "topicName")
# type token → ARN template ({p} partition, {r} region, {a} account, {n} physical name, {k} a key id).
ARN_FORMATS: dict[str, str] = {
    "aws:s3/bucket:Bucket": "arn:{p}:s3:::{n}",
    "aws:iam/role:Role": "arn:{p}:iam::{a}:role/{n}",
    "aws:iam/policy:Policy": "arn:{p}:iam::{a}:policy/{n}",
    "aws:kms/key:Key": "arn:{p}:kms:{r}:{a}:key/{k}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{n}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{n}",
    "aws:cloudwatch/eventRule:EventRule": "arn:{p}:events:{r}:{a}:rule/{n}",
    "aws:cloudtrail/trail:Trail": "arn:{p}:cloudtrail:{r}:{a}:trail/{n}",
    "aws:sns/topic:Topic": "arn:{p}:sns:{r}:{a}:{n}",
    "aws:sqs/queue:Queue": "arn:{p}:sqs:{r}:{a}:{n}",
    "aws:ecr/repository:Repository": "arn:{p}:ecr:{r}:{a}:repository/{n}",
    "aws:kinesis/stream:Stream": "arn:{p}:kinesis:{r}:{a}:stream/{n}",
    "aws:lambda/function:Function": "arn:{p}:lambda:{r}:{a}:function:{n}",
    "aws:scheduler/schedule:Schedule": "arn:{p}:scheduler:{r}:{a}:schedule/default/{n}",
    "aws:sagemaker/pipeline:Pipeline": "arn:{p}:sagemaker:{r}:{a}:pipeline/{n}",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "arn:{p}:sagemaker:{r}:{a}:model-package-group/{n}",
    "aws:sagemaker/model:Model": "arn:{p}:sagemaker:{r}:{a}:model/{n}",
    "aws:sagemaker/endpoint:Endpoint": "arn:{p}:sagemaker:{r}:{a}:endpoint/{n}",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "arn:{p}:sagemaker:{r}:{a}:endpoint-config/{n}",
    "aws:sagemaker/featureGroup:FeatureGroup": "arn:{p}:sagemaker:{r}:{a}:feature-group/{n}",
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer":
        "arn:{p}:sagemaker:{r}:{a}:mlflow-tracking-server/{n}",
    "aws:sagemaker/modelCard:ModelCard": "arn:{p}:sagemaker:{r}:{a}:model-card/{n}",
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": "arn:{p}:sagemaker:{r}:{a}:monitoring-schedule/{n}",
}
MOCK_ARN = re.compile(r"arn:mock:(aws:[A-Za-z0-9]+/[A-Za-z0-9]+:[A-Za-z0-9]+):([A-Za-z0-9._-]+)")

# (document kind, parliament issue, detail fragment) → why it is acceptable.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("trust", "MALFORMED", "neither Resource nor NotResource"):
        "a role's trust policy names principals, never resources: it has no Resource element by definition",
    ("aws:kms/key:Key", "RESOURCE_STAR", ""):
        "in a key policy `Resource: \"*\"` means the key the policy is attached to, nothing else",
}

# Findings in other areas' documents, reported to their owners and tolerated until fixed:
# (resource-name suffix, issue, detail fragment) → the finding. `test_reported_findings_still_exist`
# fails as soon as one is fixed, so that the entry is removed and the linter guards it again.
REPORTED: dict[tuple[str, str, str], str] = {}
_reported_seen: set[tuple[str, str, str]] = set()


def synthesized_example(path: Path, env: str) -> SynthResult:
    return synthesized(str(path.relative_to(ROOT)), env)


def _physical(record: Recorded) -> str:
    return next((str(record.inputs[k]) for k in NAME_INPUTS if isinstance(record.inputs.get(k), str)), record.name)


def realistic(text: str, result: SynthResult) -> str:
    """Mock ARNs rewritten into real ones; an unknown resource type fails loudly (add it to ARN_FORMATS)."""
    records = {(r.type, r.name): r for r in result.resources}
    plan = result.plan
    partition = "aws-us-gov" if plan.region.startswith("us-gov-") else "aws-cn" if plan.region.startswith(
        "cn-") else "aws"

    def rewrite(match: re.Match[str]) -> str:
        type_, name = match.group(1), match.group(2)
        assert type_ in ARN_FORMATS, f"no real ARN format for {type_}: add it to ARN_FORMATS"
        record = records[(type_, name)]
        return ARN_FORMATS[type_].format(p=partition, r=plan.region, a=plan.account or MOCK_ACCOUNT,
                                         n=_physical(record), k=uuid.uuid5(uuid.NAMESPACE_URL, name))
    return MOCK_ARN.sub(rewrite, text)


def documents(result: SynthResult) -> Iterator[tuple[Recorded, str, str]]:
    """(resource, kind, JSON text): every policy document the stack carries."""
    for record in result.resources:
        for key, kind in (("assumeRolePolicy", "trust"), ("policy", record.type)):
            text = record.inputs.get(key)
            if isinstance(text, str) and text.strip().startswith("{"):
                yield record, kind, text
        for inline in record.inputs.get("inlinePolicies") or []:
            if isinstance(inline, dict) and isinstance(inline.get("policy"), str):
                yield record, record.type, inline["policy"]


def lint(kind: str, text: str, resource_name: str = "") -> list[str]:
    """Parliament's findings on one document, less the allowed (and the reported) ones."""
    found = []
    for finding in analyze_policy_string(text).findings:
        detail = json.dumps(finding.detail, default=str)
        allowed = any(k in (kind, "*") and issue == finding.issue and fragment in detail
                      for (k, issue, fragment) in ALLOWED)
        reported = [key for key in REPORTED if resource_name.endswith(key[0]) and key[1] == finding.issue
                    and key[2] in detail]
        _reported_seen.update(reported)
        if not allowed and not reported:
            found.append(f"{finding.issue}: {detail[:400]}")
    return found


@pytest.mark.parametrize(("path", "env"), CASES, ids=IDS)
def test_every_policy_document_lints_clean(path: Path, env: str) -> None:
    result = synthesized_example(path, env)
    problems = []
    count = 0
    for record, kind, text in documents(result):
        count += 1
        problems += [f"{record.type} {record.name}: {p}" for p in lint(kind, realistic(text, result), record.name)]
    assert count >= 10, "expected the roles, role policies, bucket and key policies of an AWS stack"
    assert not problems, "\n".join(problems)


def test_reported_findings_still_exist() -> None:
    for path, env in CASES:
        for record, kind, text in documents(synthesized_example(path, env)):
            lint(kind, realistic(text, synthesized_example(path, env)), record.name)
    fixed = set(REPORTED) - _reported_seen
    assert not fixed, f"fixed, remove from REPORTED: {sorted(fixed)}"


def test_the_linter_catches_what_it_should() -> None:
    bad = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:CreateTrainingJobs"], "Resource": "arn:aws:sagemaker:::x"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:mock:aws:s3/bucket:Bucket:data"},
        {"Effect": "Allow", "Action": "sagemaker:UpdateModelPackage", "Resource": "arn:aws:s3:::bucket/*"},
    ]})
    issues = {line.split(":")[0] for line in lint("aws:iam/rolePolicy:RolePolicy", bad)}
    assert {"UNKNOWN_ACTION", "INVALID_ARN", "RESOURCE_MISMATCH"} <= issues


def test_allowed_findings_are_narrow() -> None:
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    assert lint("trust", trust) == []
    # The same document as an identity policy is malformed: the allowance is for trust policies only.
    assert any(p.startswith("MALFORMED") for p in lint("aws:iam/rolePolicy:RolePolicy", trust))


def test_mock_arns_become_real_ones() -> None:
    result = synthesized_example(*CASES[0])
    for _, _, text in documents(result):
        assert "arn:mock" not in realistic(text, result)


def _definitions() -> dict[str, dict[str, Any]]:
    data = json.loads((Path(os.path.dirname(parliament.__file__)) / "iam_definition.json").read_text())
    return {f"{svc['prefix']}:{p['privilege']}": p for svc in data for p in svc["privileges"]}


@pytest.mark.parametrize(("path", "env"), CASES, ids=IDS)
def test_star_resources_only_for_reads_or_actions_without_resource_level(path: Path, env: str) -> None:
    """Cross-checks the policy pack's read/write split against AWS's own access levels (parliament's data)."""
    definitions = _definitions()
    result = synthesized_example(path, env)
    for record, kind, text in documents(result):
        if kind in ("trust", "aws:kms/key:Key") or not record.type.startswith("aws:iam/"):
            continue
        for statement in json.loads(text)["Statement"]:
            resources = statement.get("Resource")
            if statement["Effect"] != "Allow" or "*" not in (resources if isinstance(resources, list) else [resources]):
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                level = definitions[action]["access_level"]
                if action in NO_RESOURCE_LEVEL_WRITES:
                    assert [r["resource_type"] for r in definitions[action]["resource_types"]] == [""], action
                else:
                    assert level in ("Read", "List") and is_read(action), f"{record.name}: {action} ({level})"
