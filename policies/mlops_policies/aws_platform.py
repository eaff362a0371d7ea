"""AWS policies for the platform capabilities: IAM, audit trail, network, feature store, MLflow, cost.

Sources: checkov's IAM checks (CKV_AWS_1/62/63/286-290, CKV2_AWS_40: no `*` or whole-service actions,
no writes on `*`; CKV_AWS_274: no AdministratorAccess), its CloudTrail checks (CKV_AWS_35 KMS,
CKV_AWS_36 log file validation, CKV_AWS_67 all regions), its VPC checks (CKV2_AWS_11 flow logs,
CKV2_AWS_12 default security group closed, CKV_AWS_130 no public IPs on launch, CKV_AWS_24/25/260/277
no ingress from the internet), Security Hub CloudTrail.1/2/4, EC2.2/6, SageMaker controls, and the
SageMaker MLflow and Feature Store security guides.
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
    Unknowns,
    as_list,
    attached,
    document,
    in_production,
    is_set,
    known,
    mappings,
    of_type,
    plain,
    set_at,
)

MANDATORY = EnforcementLevel.MANDATORY

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IDENTITY_POLICIES = {ROLE_POLICY: "policy", "aws:iam/policy:Policy": "policy",
                     "aws:iam/userPolicy:UserPolicy": "policy", "aws:iam/groupPolicy:GroupPolicy": "policy"}
ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment",
               "aws:iam/userPolicyAttachment:UserPolicyAttachment",
               "aws:iam/groupPolicyAttachment:GroupPolicyAttachment")
TRAIL = "aws:cloudtrail/trail:Trail"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SUBNET = "aws:ec2/subnet:Subnet"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
FEATURE_GROUP = "aws:sagemaker/featureGroup:FeatureGroup"
MLFLOW = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"
MODEL_CARD = "aws:sagemaker/modelCard:ModelCard"
BUDGET = "aws:budgets/budget:Budget"

READ_VERBS = ("Describe", "List", "Get", "Search", "BatchGet", "Query", "Lookup", "View", "Head", "Select")
"""Action names starting with these only read."""
NO_RESOURCE_LEVEL_WRITES: dict[str, str] = {
    # Allowed on `*` because IAM offers no resource-level permission for them (say why for each).
    "sagemaker-mlflow:AccessUI": "opens the MLflow UI; the presigned URL it needs is granted per server",
    "cloudwatch:PutMetricData": "metrics have no ARN; scope with the cloudwatch:namespace condition",
    "xray:PutTraceSegments": "X-Ray trace data has no resource-level permission (Lambda active tracing)",
    "xray:PutTelemetryRecords": "X-Ray telemetry has no resource-level permission (Lambda active tracing)",
}
INTERNET = ("0.0.0.0/0", "::/0")


def _statements(text: Any) -> list[Mapping[str, Any]]:
    return mappings((document(text) or {}).get("Statement"))


def _standalone_statements(resource_type: str, props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _statements(props.get(IDENTITY_POLICIES[resource_type]))


def _inline_policies(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return mappings(props.get("inlinePolicies"))


def _inline_statements(inline: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _statements(inline.get("policy"))


def _identity_documents(resource_type: str, props: Mapping[str, Any],
                        unknowns: Unknowns) -> Iterator[list[Mapping[str, Any]]]:
    """Statements of every identity policy a resource carries (standalone, or inline in a role's
    `inlinePolicies`); a document unknown in a preview (rendered from ARNs) is left undecided in `unknowns`."""
    if resource_type in IDENTITY_POLICIES:
        yield unknowns.read([], _standalone_statements, resource_type, props)
    if resource_type == ROLE:
        for inline in unknowns.read([], _inline_policies, props):
            yield unknowns.read([], _inline_statements, inline)


def _allows(statements: list[Mapping[str, Any]]) -> Iterator[tuple[str, list[str], list[Any], Mapping[str, Any]]]:
    for statement in statements:
        if statement.get("Effect") == "Allow":
            actions = [str(a) for a in as_list(statement.get("Action"))]
            yield str(statement.get("Sid", "?")), actions, as_list(statement.get("Resource")), statement


# --------------------------------------------------------------------------- IAM


def _no_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for statements in _identity_documents(args.resource_type, args.props, unknowns):
        for sid, actions, _, statement in _allows(statements):
            wide = [a for a in actions if a == "*" or a.endswith(":*")]
            if wide:
                report(f"statement {sid} allows whole services: {', '.join(wide)}", None)
            if "NotAction" in statement:
                report(f"statement {sid} allows everything except a list (NotAction)", None)
    unknowns.settle()


def is_read(action: str) -> bool:
    return action.split(":", 1)[-1].startswith(READ_VERBS)


def _no_star_writes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for statements in _identity_documents(args.resource_type, args.props, unknowns):
        for sid, actions, resources, _ in _allows(statements):
            if "*" not in resources:
                continue
            writes = [a for a in actions if not is_read(a) and a not in NO_RESOURCE_LEVEL_WRITES]
            if writes:
                report(f"statement {sid} allows {', '.join(writes)} on every resource (`*`)", None)
    unknowns.settle()


def _full_access(arn: Any) -> bool:
    name = str(arn).rsplit("/", 1)[-1]
    return ":iam::aws:policy/" in str(arn) and (
        name.endswith("FullAccess") or name in ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess"))


def _no_managed_full_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # AWS-managed policies are named by literal ARNs: an ARN unknown in a preview is one of this stack's own
    # policies, never an AWS-managed one, so it cannot change the verdict.
    arns = [known(args.props, "policyArn")] if args.resource_type in ATTACHMENTS else []
    if args.resource_type == ROLE:
        arns += [arn for arn in as_list(known(args.props, "managedPolicyArns")) if isinstance(arn, str)]
    for arn in arns:
        if _full_access(arn):
            report(f"AWS-managed broad policy attached: {arn}", None)


INLINE_POLICY_LIMIT = 10_240
"""IAM's limit on the inline policies of one role, in characters not counting white space."""


def _compact_size(text: Any) -> int:
    parsed = document(text)
    return len(json.dumps(plain(parsed), separators=(",", ":"))) if parsed is not None else len(str(text or ""))


def _inline_size(args: StackValidationArgs, role: PolicyResource) -> int:
    """Characters of a role's inline policies: its `inlinePolicies` and the RolePolicy resources on it."""
    size = sum(_compact_size(p.get("policy")) for p in _inline_policies(role.props))
    return size + sum(_compact_size(p.props.get("policy")) for p in attached(args, role, ROLE_POLICY, "role"))


def _inline_policy_size(args: StackValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for role in of_type(args, ROLE):
        size = unknowns.read(0, _inline_size, args, role)
        if size > INLINE_POLICY_LIMIT:
            report(f"inline policies of this role total {size} characters; IAM refuses more than "
                   f"{INLINE_POLICY_LIMIT}", role.urn)
    unknowns.settle()


def _no_open_trust(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ROLE:
        return
    for statement in _statements(args.props.get("assumeRolePolicy")):
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, Mapping) else principal
        if statement.get("Effect") == "Allow" and "*" in as_list(aws) and not statement.get("Condition"):
            report("trust policy lets anyone (`*`) assume the role", None)


# --------------------------------------------------------------------------- audit trail


def _trail_rule(check: str) -> Any:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type != TRAIL:
            return
        props = args.props
        if check == "validation" and props.get("enableLogFileValidation") is not True:
            report("CloudTrail trail without log file validation (enable_log_file_validation)", None)
        if check == "kms" and not is_set(props, "kmsKeyId"):
            report("CloudTrail trail not encrypted with a customer-managed KMS key (kms_key_id)", None)
        if check == "regions" and not (props.get("isMultiRegionTrail") is True
                                       and props.get("includeGlobalServiceEvents") is not False):
            report("CloudTrail trail does not record every region and global services", None)
    return validate


def _aws_stack(args: StackValidationArgs) -> bool:
    return any(r.resource_type.startswith("aws:") for r in args.resources)


def _trail_exists(args: StackValidationArgs, report: ReportViolation) -> None:
    if not _aws_stack(args):
        return
    trails = list(of_type(args, TRAIL))
    if not trails:
        report("AWS stack without a CloudTrail trail recording the platform's API activity", None)
    unknowns = Unknowns()
    for trail in trails:
        missing = unknowns.read([], _unrecorded_data_events, trail.props)
        if missing:
            report(f"CloudTrail trail does not record SageMaker data events: {', '.join(missing)}", trail.urn)
    unknowns.settle()


def _unrecorded_data_events(props: Mapping[str, Any]) -> list[str]:
    """The SageMaker resource types whose data events a trail's advanced event selectors leave out."""
    fields = [f for s in mappings(props.get("advancedEventSelectors")) for f in mappings(s.get("fieldSelectors"))]
    types = {v for f in fields if f.get("field") == "resources.type" for v in as_list(f.get("equals"))}
    return [t for t in ("AWS::SageMaker::Endpoint", "AWS::SageMaker::FeatureGroup") if t not in types]


# --------------------------------------------------------------------------- network


def _flow_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    for vpc in of_type(args, VPC):
        if not attached(args, vpc, FLOW_LOG, "vpcId"):
            report("VPC without flow logs", vpc.urn)


def _default_sg_closed(args: StackValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for vpc in of_type(args, VPC):
        with unknowns.skip():
            groups = attached(args, vpc, DEFAULT_SG, "vpcId")
            if not groups or any(g.props.get("ingress") or g.props.get("egress") for g in groups):
                report("the VPC's default security group is not stripped of all rules", vpc.urn)
    unknowns.settle()


def _no_internet_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    sources: list[Any] = []
    if args.resource_type == SECURITY_GROUP:
        for rule in mappings(props.get("ingress")):
            sources += as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))
    elif args.resource_type == SG_RULE and props.get("type") == "ingress":
        sources += as_list(props.get("cidrBlocks")) + as_list(props.get("ipv6CidrBlocks"))
    elif args.resource_type == SG_INGRESS:
        sources += [props.get("cidrIpv4"), props.get("cidrIpv6")]
    if any(s in INTERNET for s in sources):
        report("security group admits traffic from the whole internet", None)


def _no_public_ips(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == SUBNET and args.props.get("mapPublicIpOnLaunch") is True:
        report("subnet gives instances public IP addresses (map_public_ip_on_launch)", None)


# --------------------------------------------------------------------------- feature store, MLflow, model cards


def _online_store_kms(args: ResourceValidationArgs, report: ReportViolation) -> None:
    online = args.props.get("onlineStoreConfig") or {}
    if args.resource_type == FEATURE_GROUP and online.get("enableOnlineStore") and \
            not set_at(online, "securityConfig", "kmsKeyId"):
        report("feature group online store not encrypted with a customer-managed KMS key", None)


def _offline_store_kms(args: ResourceValidationArgs, report: ReportViolation) -> None:
    offline = args.props.get("offlineStoreConfig")
    if args.resource_type == FEATURE_GROUP and offline and not set_at(offline, "s3StorageConfig", "kmsKeyId"):
        report("feature group offline store not encrypted with a customer-managed KMS key", None)


def _mlflow_conditioned(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    keys = {k.lower() for operator in condition.values() if isinstance(operator, Mapping) for k in operator}
    return bool(keys & {"aws:sourcevpc", "aws:sourcevpce"})


def _mlflow_private(args: StackValidationArgs, report: ReportViolation) -> None:
    servers = list(of_type(args, MLFLOW))
    isolated = any(True for _ in of_type(args, SECURITY_GROUP))
    if not servers or not isolated:
        return  # not network-isolated (dev): MLflow is reached through IAM-authenticated APIs only
    if any(True for _ in of_type(args, VPC)):
        endpoints = [e for e in of_type(args, VPC_ENDPOINT)
                     if str(e.props.get("serviceName", "")).endswith(".experiments")
                     and e.props.get("privateDnsEnabled") is True]
        if not endpoints:
            report("MLflow tracking server without an interface VPC endpoint (private DNS) in the platform network",
                   servers[0].urn)
    unknowns = Unknowns()
    for resource in args.resources:
        for statements in _identity_documents(resource.resource_type, resource.props, unknowns):
            for sid, actions, _, statement in _allows(statements):
                if any(a.startswith("sagemaker-mlflow:") for a in actions) and not _mlflow_conditioned(statement):
                    report(f"statement {sid} reaches MLflow from outside the platform network "
                           "(no aws:SourceVpc / aws:SourceVpce condition)", resource.urn)
    unknowns.settle()


def _mlflow_gated_registration(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == MLFLOW and args.props.get("automaticModelRegistration") is True:
        report("MLflow registers models in the model registry by itself, around the pipeline's quality gates", None)


def _model_card_kms(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == MODEL_CARD and not set_at(args.props, "securityConfig", "kmsKeyId"):
        report("model card not encrypted with a customer-managed KMS key", None)


# --------------------------------------------------------------------------- cost


def _budget_in_production(args: StackValidationArgs, report: ReportViolation) -> None:
    resources: list[PolicyResource] = [r for r in args.resources if r.resource_type.startswith("aws:")]
    if not any(in_production(r.props) for r in resources):
        return
    budgets = list(of_type(args, BUDGET))
    if not budgets:
        report("production AWS stack without a cost budget (add `cost` to the blueprint)", None)
    unknowns = Unknowns()
    for budget in budgets:
        with unknowns.skip():
            notifications = mappings(budget.props.get("notifications"))
            if not notifications or not all(is_set(n, "subscriberSnsTopicArns") or is_set(n, "subscriberEmailAddresses")
                                            for n in notifications):
                report("budget without notifications that reach someone", budget.urn)
    unknowns.settle()


AWS_PLATFORM_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy("aws-iam-no-wildcard-actions",
                             "IAM policies grant named actions: no `*`, no whole-service `service:*`, no NotAction.",
                             _no_wildcard_actions, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-iam-no-star-resource-writes",
                             "IAM policies grant writes on named resources, never on `*` (reads may use `*`).",
                             _no_star_writes, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-iam-no-managed-full-access",
                             "No AWS-managed FullAccess, AdministratorAccess or PowerUserAccess policies.",
                             _no_managed_full_access, enforcement_level=MANDATORY),
    StackValidationPolicy("aws-iam-inline-policy-size",
                          "A role's inline policies fit IAM's 10,240-character limit (else the deployment fails).",
                          _inline_policy_size, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-iam-trust-no-wildcard-principal",
                             "Role trust policies name who may assume them.", _no_open_trust,
                             enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-cloudtrail-log-validation", "CloudTrail trails validate their log files.",
                             _trail_rule("validation"), enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-cloudtrail-kms", "CloudTrail trails are encrypted with a customer-managed key.",
                             _trail_rule("kms"), enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-cloudtrail-multi-region",
                             "CloudTrail trails record every region and global service events.",
                             _trail_rule("regions"), enforcement_level=MANDATORY),
    StackValidationPolicy("aws-audit-trail",
                          "Every AWS stack has a trail recording SageMaker endpoint and feature group data events.",
                          _trail_exists, enforcement_level=MANDATORY),
    StackValidationPolicy("aws-vpc-flow-logs", "Every VPC logs its network flows.", _flow_logs,
                          enforcement_level=MANDATORY),
    StackValidationPolicy("aws-vpc-default-security-group-closed",
                          "The default security group of every VPC has no rules.", _default_sg_closed,
                          enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-security-group-no-internet-ingress",
                             "No security group admits traffic from 0.0.0.0/0 or ::/0.", _no_internet_ingress,
                             enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-subnet-no-public-ip", "Subnets do not hand out public IP addresses.",
                             _no_public_ips, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-feature-group-online-kms",
                             "Feature group online stores are encrypted with a customer-managed key.",
                             _online_store_kms, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-feature-group-offline-kms",
                             "Feature group offline stores are encrypted with a customer-managed key.",
                             _offline_store_kms, enforcement_level=MANDATORY),
    StackValidationPolicy("aws-mlflow-private",
                          "In isolated environments MLflow is reached only from the platform network.",
                          _mlflow_private, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-mlflow-gated-registration",
                             "MLflow does not register models itself; the gated pipeline does.",
                             _mlflow_gated_registration, enforcement_level=MANDATORY),
    ResourceValidationPolicy("aws-model-card-kms", "Model cards are encrypted with a customer-managed key.",
                             _model_card_kms, enforcement_level=MANDATORY),
    StackValidationPolicy("aws-budget-in-production",
                          "Production AWS stacks have a cost budget whose notifications reach someone.",
                          _budget_in_production, enforcement_level=MANDATORY),
]
