"""AWS policies for the pipeline capabilities: model registry, training pipelines, retraining triggers.

Sources: checkov's SageMaker checks (CKV_AWS_370 training jobs encrypted, inter-container encryption,
network isolation), AWS Security Hub SageMaker controls (SageMaker.x: network isolation, inter-container
traffic encryption, VPC), checkov's IAM checks (CKV_AWS_62/63/286-290: no `*` actions, no writes on `*`),
and the platform's own governance rules (approval, tags). Training jobs live inside the pipeline
definition JSON, so the rules read it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .support import (
    ENVIRONMENT_TAG,
    Unknowns,
    as_list,
    attached,
    document,
    in_production,
    is_set,
    labels,
    mappings,
    of_type,
    set_at,
)

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
SCHEDULE = "aws:scheduler/schedule:Schedule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
APPROVAL_TAG = "mlops-approval"
MANDATORY = EnforcementLevel.MANDATORY

# Actions AWS offers no resource-level permission for: `Resource: "*"` is the only way to grant them.
NO_RESOURCE_LEVEL = frozenset({
    "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
})


def _definition(props: Mapping[str, Any]) -> dict[str, Any]:
    try:
        document = json.loads(props.get("pipelineDefinition") or "{}")
    except (TypeError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _steps(steps: list[Any]) -> Iterator[dict[str, Any]]:
    """Every step, including those nested in condition branches."""
    for step in steps:
        if not isinstance(step, dict):
            continue
        yield step
        arguments = step.get("Arguments") or {}
        if step.get("Type") == "Condition":
            yield from _steps([*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])])


def _jobs(props: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(step name, kind, job settings) of every training, tuning and processing step of a pipeline."""
    for step in _steps(_definition(props).get("Steps", [])):
        arguments = step.get("Arguments") or {}
        kind = step.get("Type")
        if kind == "Training":
            yield step.get("Name", "?"), "training", arguments
        elif kind == "Tuning":
            yield step.get("Name", "?"), "training", arguments.get("TrainingJobDefinition") or {}
        elif kind == "Processing":
            yield step.get("Name", "?"), "processing", arguments


def _pipeline_rule(check: Any) -> Any:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type == PIPELINE:
            for message in check(args.props):
                report(message, None)
    return validate


def _encrypted(props: Mapping[str, Any]) -> Iterator[str]:
    for name, kind, job in _jobs(props):
        if kind == "training":
            output = (job.get("OutputDataConfig") or {}).get("KmsKeyId")
            volume = (job.get("ResourceConfig") or {}).get("VolumeKmsKeyId")
        else:
            output = (job.get("ProcessingOutputConfig") or {}).get("KmsKeyId")
            volume = ((job.get("ProcessingResources") or {}).get("ClusterConfig") or {}).get("VolumeKmsKeyId")
        if not output or not volume:
            yield f"step {name}: job output and volume must be encrypted with the platform KMS key " \
                  "(KmsKeyId, VolumeKmsKeyId)"


def _inter_container(props: Mapping[str, Any]) -> Iterator[str]:
    for name, kind, job in _jobs(props):
        settings = job if kind == "training" else job.get("NetworkConfig") or {}
        if settings.get("EnableInterContainerTrafficEncryption") is not True:
            yield f"step {name}: traffic between job containers is not encrypted " \
                  "(EnableInterContainerTrafficEncryption)"


def _isolated(props: Mapping[str, Any]) -> Iterator[str]:
    if not in_production(props):
        return
    for name, kind, job in _jobs(props):
        if kind == "training" and job.get("EnableNetworkIsolation") is not True:
            yield f"step {name}: production training runs without network isolation (EnableNetworkIsolation)"
        network = job.get("NetworkConfig") or {}
        if kind == "processing" and network.get("EnableNetworkIsolation") is not True and not network.get("VpcConfig"):
            yield f"step {name}: production processing job has neither network isolation nor the platform's VPC"


def _manual_approval(props: Mapping[str, Any]) -> Iterator[str]:
    if labels(props).get(APPROVAL_TAG) != "manual":
        return
    for step in _steps(_definition(props).get("Steps", [])):
        # Without a status SageMaker registers a versioned package PendingManualApproval.
        if step.get("Type") == "RegisterModel":
            status = (step.get("Arguments") or {}).get("ModelApprovalStatus", "PendingManualApproval")
            if status != "PendingManualApproval":
                yield f"step {step.get('Name')}: approval is required here, but versions register as " \
                      f"{json.dumps(status)} instead of PendingManualApproval"


def _group_tagged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == GROUP:
        missing = [t for t in (ENVIRONMENT_TAG, "mlops-blueprint", APPROVAL_TAG) if not labels(args.props).get(t)]
        if missing:
            report(f"model package group without the tags {', '.join(missing)}", None)


def _starts_pipeline(target: Mapping[str, Any], parameters: str) -> bool:
    """Whether a schedule or EventBridge target starts a pipeline (its ARN may be unknown in a preview:
    callers first rule out what decides without it)."""
    return parameters in target or "pipeline" in str(target.get("arn", "")).lower()


def _schedule_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == SCHEDULE and not is_set(args.props, "kmsKeyArn") \
            and _starts_pipeline(args.props.get("target") or {}, "sagemakerPipelineParameters"):
        report("retraining schedule payload is not encrypted with the platform KMS key (kms_key_arn)", None)


def _target_role(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == EVENT_TARGET and not is_set(args.props, "roleArn") \
            and _starts_pipeline(args.props, "sagemakerPipelineTarget"):
        report("EventBridge target starting a SageMaker pipeline without a role of its own (role_arn)", None)
    if args.resource_type == SCHEDULE and not set_at(args.props, "target", "roleArn"):
        report("schedule target without an execution role (role_arn)", None)


def _roles_starting_or_running_pipelines(args: StackValidationArgs) -> list[PolicyResource]:
    """Roles pipelines run as, and roles schedules and EventBridge targets start them with."""
    users = [*of_type(args, PIPELINE), *of_type(args, SCHEDULE), *of_type(args, EVENT_TARGET)]
    found: dict[str, PolicyResource] = {}
    for user in users:
        for key in ("roleArn", "target"):
            for dependency in user.property_dependencies.get(key, []):
                if dependency.resource_type == ROLE:
                    found[dependency.urn] = dependency
    return list(found.values())


def _policy_text(props: Mapping[str, Any]) -> Any:
    return props.get("policy")


def _inline_policies(args: StackValidationArgs, role: PolicyResource,
                     unknowns: Unknowns) -> list[tuple[str, Any]]:
    """(URN to report on, policy document) of each inline policy of a role: the RolePolicy resources on it and
    its own `inlinePolicies`. A document unknown in a preview is left undecided in `unknowns`."""
    found = [(a.urn, unknowns.read(None, _policy_text, a.props)) for a in attached(args, role, ROLE_POLICY, "role")]
    inline = unknowns.read([], mappings, role.props.get("inlinePolicies"))
    found += [(role.urn, unknowns.read(None, _policy_text, p)) for p in inline]
    return [(urn, text) for urn, text in found if text is not None]


def _broad_grants(policy: Mapping[str, Any]) -> list[str]:
    """What a policy's Allow statements grant too broadly: whole services, or actions with resource-level
    permissions on `*`."""
    found: list[str] = []
    for statement in mappings(policy.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid", "?")
        actions = [str(a) for a in as_list(statement.get("Action"))]
        wildcards = [a for a in actions if a == "*" or a.endswith(":*")]
        if wildcards:
            found.append(f"statement {sid} grants whole services: {', '.join(wildcards)}")
        broad = [a for a in actions if a not in NO_RESOURCE_LEVEL] if "*" in as_list(statement.get("Resource")) else []
        if broad:
            found.append(f"statement {sid} grants {', '.join(broad)} on every resource (`*`); only actions "
                         "without resource-level permissions may")
    return found


def _least_privilege(args: StackValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for role in _roles_starting_or_running_pipelines(args):
        for urn, text in _inline_policies(args, role, unknowns):
            parsed = document(text)
            if parsed is None:
                report("role policy is not a JSON policy document", urn)
                continue
            for message in unknowns.read([], _broad_grants, parsed):
                report(message, urn)
    unknowns.settle()


AWS_PIPELINE_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy("aws-pipeline-jobs-encrypted",
                             "Pipeline training, tuning and processing jobs encrypt output and volumes with KMS.",
                             _pipeline_rule(_encrypted), enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-pipeline-inter-container-encryption",
                             "Pipeline jobs encrypt traffic between their containers.",
                             _pipeline_rule(_inter_container), enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-pipeline-network-isolation",
                             "Production training jobs run network-isolated; processing jobs isolated or in the VPC.",
                             _pipeline_rule(_isolated), enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-pipeline-manual-approval",
                             "Where approval is required, pipelines register versions as PendingManualApproval.",
                             _pipeline_rule(_manual_approval), enforcement_level=MANDATORY),
    StackValidationPolicy("aws-pipeline-role-least-privilege",
                          "Roles that run or start pipelines grant no whole services and no writes on `*`.",
                          _least_privilege, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-model-package-group-tagged",
                             "Model package groups carry the environment, blueprint and approval tags.",
                             _group_tagged, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-retraining-schedule-encrypted",
                             "Retraining schedules encrypt their payload with the platform KMS key.",
                             _schedule_encrypted, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-pipeline-trigger-role",
                             "Schedules and EventBridge targets start pipelines with a role of their own.",
                             _target_role, enforcement_level=MANDATORY),
]
