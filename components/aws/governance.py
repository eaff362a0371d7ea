"""Governance on AWS: persona roles, the separation of approval, the audit trail and model cards."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.compliance import Control
from mlops.plan.vocabulary import RiskTier

from .account import account_arn, account_id
from .iam import Statement, policy_document
from .names import (
    arn,
    model_card_name,
    partition,
    role_name,
    tracking_server_name,
    trail_log_prefix,
    trail_name,
)

# --------------------------------------------------------------------------- who may assume a role

SSO_PERMISSION_SET = re.compile(r"^[\w+=,.@-]{1,32}$")
"""An IAM Identity Center permission set name (what a blueprint usually lists: a group's access)."""
IAM_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$")
"""An IAM role or user ARN, or an account root (`arn:aws:iam::<account>:root`), in any account."""


def trust_statements(plan: Plan, account: pulumi.Input[str], principals: Sequence[str]) -> list[Statement]:
    """Who may assume a persona role, from the blueprint's `governance.roles.<persona>` entries.

    Mapping (the blueprint rule `aws-role-principals` admits only these two forms on AWS):
    - an IAM ARN (role, user or account root, possibly in another account) is trusted as is;
    - a name is an IAM Identity Center permission set: its provisioned role in this account
      (`AWSReservedSSO_<name>_<suffix>`, under `/aws-reserved/sso.amazonaws.com/`) may assume the role,
      checked with `aws:PrincipalArn` on a trust in the account itself.
    """
    arns = [p for p in principals if p.startswith("arn:")]
    sets = [p for p in principals if not p.startswith("arn:")]
    statements: list[Statement] = []
    if arns:
        statements.append(Statement(Sid="TrustNamedPrincipals", Effect="Allow", Principal={"AWS": arns},
                                    Action="sts:AssumeRole"))
    if sets:
        root = pulumi.Output.concat("arn:", partition(plan.region), ":iam::", account, ":root")
        patterns = [pulumi.Output.concat("arn:", partition(plan.region), ":iam::", account,
                                         f":role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_{name}_*")
                    for name in sets]
        statements.append(Statement(Sid="TrustPermissionSets", Effect="Allow", Principal={"AWS": root},
                                    Action="sts:AssumeRole", Condition={"ArnLike": {"aws:PrincipalArn": patterns}}))
    return statements


# --------------------------------------------------------------------------- what each persona may do

MLFLOW_READ = ["GetExperiment", "GetExperimentByName", "SearchExperiments", "GetRun", "SearchRuns",
               "GetMetricHistory", "ListArtifacts", "GetRegisteredModel", "SearchRegisteredModels",
               "GetModelVersion", "SearchModelVersions", "GetLatestModelVersions"]
MLFLOW_WRITE = ["CreateExperiment", "UpdateExperiment", "SetExperimentTag", "CreateRun", "UpdateRun", "DeleteRun",
                "RestoreRun", "LogMetric", "LogParam", "LogBatch", "LogModel", "LogInputs", "SetTag", "DeleteTag"]
# List and search actions have no resource-level permission in IAM: they take Resource "*" (read only).
LISTS = ["sagemaker:ListTrainingJobs", "sagemaker:ListProcessingJobs", "sagemaker:ListHyperParameterTuningJobs",
         "sagemaker:ListFeatureGroups", "sagemaker:ListModelPackageGroups", "sagemaker:ListPipelines",
         "sagemaker:ListEndpoints", "sagemaker:ListModels", "sagemaker:ListModelCards",
         "sagemaker:ListMlflowTrackingServers", "sagemaker:Search", "cloudwatch:GetMetricData",
         "cloudwatch:ListMetrics"]
APPROVAL_STATUSES = ["Approved", "Rejected"]


class _Scope:
    """ARNs of this platform's resources, by the naming contract in `names` (prefix-scoped)."""

    def __init__(self, plan: Plan, *, data_bucket_arn: pulumi.Input[str], artifact_bucket_arn: pulumi.Input[str],
                 kms_key_arn: pulumi.Input[str], execution_role_arn: pulumi.Input[str]) -> None:
        p = plan.prefix

        def sm(resource: str) -> str:
            return arn(plan, "sagemaker", resource)

        self.plan = plan
        self.tracking_server = sm(f"mlflow-tracking-server/{tracking_server_name(plan)}")
        self.jobs: list[pulumi.Input[str]] = [sm(f"training-job/{p}-*"), sm(f"processing-job/{p}-*"),
                                              sm(f"hyper-parameter-tuning-job/{p}-*")]
        self.feature_groups = sm(f"feature-group/{p}-*")
        self.pipelines = sm(f"pipeline/{p}-*")  # executions are `pipeline/<name>/execution/<id>`
        self.serving: list[pulumi.Input[str]] = [sm(f"model/{p}-*"), sm(f"endpoint-config/{p}-*"),
                                                 sm(f"endpoint/{p}-*")]
        self.endpoints = sm(f"endpoint/{p}-*")
        self.model_cards = sm(f"model-card/{p}-*")
        # Every model's group is `<prefix>-<model>` (names.model_package_group_name): one pattern each
        # keeps the policies within IAM's 10,240 characters per role however many models there are.
        self.package_groups: list[pulumi.Input[str]] = [sm(f"model-package-group/{p}-*")]
        self.packages: list[pulumi.Input[str]] = [sm(f"model-package/{p}-*/*")]
        self.sagemaker_logs = arn(plan, "logs", "log-group:/aws/sagemaker/*")
        self.alarms = arn(plan, "cloudwatch", f"alarm:{p}-*")
        self.data = data_bucket_arn
        self.artifacts = artifact_bucket_arn
        self.key = kms_key_arn
        self.execution_role = execution_role_arn


def _mlflow(scope: _Scope, actions: list[str], vpc_id: pulumi.Input[str] | None) -> list[Statement]:
    # Inside an isolated environment MLflow answers only requests coming through the platform's VPC
    # (the AWS-documented way to keep the tracking server off the internet).
    inside: dict[str, dict[str, object]] = {"StringEquals": {"aws:SourceVpc": vpc_id}} if vpc_id is not None else {}
    ui = Statement(Sid="OpenMlflow", Effect="Allow",
                   Action=["sagemaker:CreatePresignedMlflowTrackingServerUrl",
                           "sagemaker:DescribeMlflowTrackingServer"],
                   Resource=scope.tracking_server)
    # AccessUI has no resource-level permission (IAM takes only "*"); the presigned URL it opens is
    # scoped to this server by the statement above.
    access = Statement(Sid="MlflowUi", Effect="Allow", Action="sagemaker-mlflow:AccessUI", Resource="*")
    use = Statement(Sid="UseMlflow", Effect="Allow", Action=[f"sagemaker-mlflow:{a}" for a in actions],
                    Resource=scope.tracking_server)
    if inside:
        access["Condition"] = inside
        use["Condition"] = inside
    return [ui, access, use]


def _read_objects(sid: str, buckets: list[pulumi.Input[str]], key: pulumi.Input[str], region: str) -> list[Statement]:
    return [
        Statement(Sid=f"List{sid}", Effect="Allow", Action=["s3:ListBucket", "s3:GetBucketLocation"],
                  Resource=list(buckets)),
        Statement(Sid=f"Read{sid}", Effect="Allow", Action="s3:GetObject",
                  Resource=[pulumi.Output.concat(b, "/*") for b in buckets]),
        Statement(Sid=f"Decrypt{sid}", Effect="Allow", Action=["kms:Decrypt", "kms:DescribeKey"], Resource=key,
                  Condition={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}),
    ]


def _pass_execution_role(scope: _Scope) -> Statement:
    return Statement(Sid="PassExecutionRoleToSageMaker", Effect="Allow", Action="iam:PassRole",
                     Resource=scope.execution_role,
                     Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})


def _describe_registry(scope: _Scope) -> list[Statement]:
    return [Statement(Sid="ReadRegistry", Effect="Allow",
                      Action=["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage",
                              "sagemaker:ListModelPackages"],
                      Resource=[*scope.package_groups, *scope.packages]),
            Statement(Sid="ReadModelCards", Effect="Allow",
                      Action=["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"],
                      Resource=scope.model_cards)]


def _approve(scope: _Scope, sid: str) -> Statement:
    return Statement(Sid=sid, Effect="Allow", Action="sagemaker:UpdateModelPackage", Resource=list(scope.packages),
                     Condition={"StringEquals": {"sagemaker:ModelApprovalStatus": APPROVAL_STATUSES}})


def _no_self_approval() -> list[Statement]:
    """Explicit denies: whatever else a role is granted, it cannot set or change an approval status."""
    return [
        Statement(Sid="DenyChangingApprovalStatus", Effect="Deny", Action="sagemaker:UpdateModelPackage",
                  Resource="*", Condition={"Null": {"sagemaker:ModelApprovalStatus": "false"}}),
        Statement(Sid="DenyRegisteringAsApproved", Effect="Deny", Action="sagemaker:CreateModelPackage",
                  Resource="*", Condition={"StringEquals": {"sagemaker:ModelApprovalStatus": "Approved"}}),
    ]


def _common(scope: _Scope) -> list[Statement]:
    return [
        Statement(Sid="ListPlatformResources", Effect="Allow", Action=list(LISTS), Resource="*"),
        Statement(Sid="ReadSageMakerLogs", Effect="Allow",
                  Action=["logs:FilterLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"],
                  Resource=[scope.sagemaker_logs, f"{scope.sagemaker_logs}:log-stream:*"]),
    ]


def data_scientist_policy(scope: _Scope, enforced: bool, vpc_id: pulumi.Input[str] | None) -> list[Statement]:
    """Experiments and training jobs of this platform, read data; never deploy, never approve.

    In production data scientists read results only: no jobs and no access to production data.
    """
    plan = scope.plan
    jobs = ["CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "CreateProcessingJob",
            "DescribeProcessingJob", "StopProcessingJob", "CreateHyperParameterTuningJob",
            "DescribeHyperParameterTuningJob", "StopHyperParameterTuningJob", "AddTags"]
    statements = [*_common(scope), *_describe_registry(scope)]
    if plan.production:
        statements += _mlflow(scope, MLFLOW_READ, vpc_id)
        statements.append(Statement(Sid="ReadJobs", Effect="Allow",
                                    Action=["sagemaker:DescribeTrainingJob", "sagemaker:DescribeProcessingJob",
                                            "sagemaker:DescribeHyperParameterTuningJob"], Resource=scope.jobs))
        statements += _read_objects("Artifacts", [scope.artifacts], scope.key, plan.region)
    else:
        statements += _mlflow(scope, MLFLOW_READ + MLFLOW_WRITE, vpc_id)
        statements += [
            Statement(Sid="RunJobs", Effect="Allow", Action=[f"sagemaker:{a}" for a in jobs], Resource=scope.jobs),
            _pass_execution_role(scope),
            Statement(Sid="ReadFeatures", Effect="Allow",
                      Action=["sagemaker:DescribeFeatureGroup", "sagemaker:GetRecord", "sagemaker:BatchGetRecord"],
                      Resource=scope.feature_groups),
            *_read_objects("PlatformData", [scope.data, scope.artifacts], scope.key, plan.region),
            Statement(Sid="UploadExperimentCode", Effect="Allow", Action="s3:PutObject",
                      Resource=pulumi.Output.concat(scope.artifacts, "/experiments/*")),
            Statement(Sid="EncryptUploads", Effect="Allow", Action="kms:GenerateDataKey", Resource=scope.key,
                      Condition={"StringEquals": {"kms:ViaService": f"s3.{plan.region}.amazonaws.com"}}),
        ]
    if enforced:
        statements += _no_self_approval()
    return statements


def ml_engineer_policy(scope: _Scope, enforced: bool, vpc_id: pulumi.Input[str] | None) -> list[Statement]:
    """Pipelines and endpoints of this platform outside production; in production, operate only.

    Production changes reach endpoints through approval and the deployment automation, never by hand:
    here ML engineers run, stop and retry pipelines and read everything of the platform.
    """
    plan = scope.plan
    operate = ["DescribePipeline", "DescribePipelineExecution", "DescribePipelineDefinitionForExecution",
               "ListPipelineExecutions", "ListPipelineExecutionSteps", "ListPipelineParametersForExecution",
               "StartPipelineExecution", "StopPipelineExecution", "RetryPipelineExecution"]
    statements = [
        *_common(scope), *_describe_registry(scope), *_mlflow(scope, MLFLOW_READ, vpc_id),
        Statement(Sid="OperatePipelines", Effect="Allow", Action=[f"sagemaker:{a}" for a in operate],
                  Resource=scope.pipelines),
        Statement(Sid="ReadServing", Effect="Allow",
                  Action=["sagemaker:DescribeModel", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeEndpoint"],
                  Resource=scope.serving),
        Statement(Sid="ReadAlarms", Effect="Allow", Action="cloudwatch:DescribeAlarms", Resource=scope.alarms),
        *_read_objects("Artifacts", [scope.artifacts], scope.key, plan.region),
    ]
    if not plan.production:
        statements += [
            Statement(Sid="ChangePipelines", Effect="Allow",
                      Action=["sagemaker:CreatePipeline", "sagemaker:UpdatePipeline", "sagemaker:AddTags"],
                      Resource=scope.pipelines),
            Statement(Sid="DeployOutsideProduction", Effect="Allow",
                      Action=["sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "sagemaker:CreateEndpoint",
                              "sagemaker:UpdateEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities",
                              "sagemaker:DeleteEndpoint", "sagemaker:DeleteEndpointConfig", "sagemaker:DeleteModel",
                              "sagemaker:AddTags"],
                      Resource=scope.serving),
            Statement(Sid="TestEndpoints", Effect="Allow", Action="sagemaker:InvokeEndpoint", Resource=scope.endpoints),
            _pass_execution_role(scope),
        ]
    statements += _no_self_approval() if enforced else [_approve(scope, "RecordApproval")]
    return statements


def approver_policy(scope: _Scope, vpc_id: pulumi.Input[str] | None) -> list[Statement]:
    """Approve or reject this platform's model versions (approval status only) and their model cards."""
    return [
        *_common(scope), *_describe_registry(scope), *_mlflow(scope, MLFLOW_READ, vpc_id),
        _approve(scope, "ApproveModelVersions"),
        Statement(Sid="ReviewModelCards", Effect="Allow", Action="sagemaker:UpdateModelCard",
                  Resource=scope.model_cards),
        *_read_objects("EvaluationReports", [scope.artifacts], scope.key, scope.plan.region),
    ]


PERSONAS = ("data-scientist", "ml-engineer", "approver")

# --------------------------------------------------------------------------- model cards

RISK_RATINGS = {RiskTier.high: "High", RiskTier.limited: "Medium", RiskTier.minimal: "Low"}


def model_card_content(plan: Plan, model_name: str) -> str:
    """Model card JSON (SageMaker model card schema): what the blueprint knows before the first training."""
    model = next(m for m in plan.models if m.name == model_name)
    gates = model.quality_gates
    criteria = [f"{g.metric} {'>=' if g.direction.value == 'at_least' else '<='} {g.threshold}" for g in gates.metrics]
    fairness = [f"{f.metric.value} within {f.threshold} across {', '.join(f.protected_attributes)}"
                for f in gates.fairness]
    content = {
        "model_overview": {
            "model_description": f"{model.name} ({plan.blueprint}, {plan.environment})",
            "model_owner": plan.organisation,
            "algorithm_type": model.framework,
        },
        "intended_uses": {
            "purpose_of_model": plan.use_case,
            "risk_rating": RISK_RATINGS[plan.governance.risk_tier],
            "explanations_for_risk_rating": f"risk tier '{plan.governance.risk_tier.value}' in the blueprint",
        },
        "business_details": {"business_problem": plan.use_case, "line_of_business": plan.organisation},
        "additional_information": {
            "caveats_and_recommendations": "Release criteria: " + ("; ".join(criteria) or "none set"),
            "ethical_considerations": "Fairness gates: " + ("; ".join(fairness) or "none set"),
            "custom_details": {"compliance": ", ".join(c.value for c in plan.governance.compliance) or "none"},
        },
    }
    return json.dumps(content, sort_keys=True)


# --------------------------------------------------------------------------- compliance → AWS

AWS_CONTROLS: dict[Control, str] = {
    Control.encryption_at_rest: "KMS customer-managed key (rotation) on S3, feature groups, MLflow artifacts, "
                                "model cards, CloudTrail and log groups",
    Control.encryption_in_transit: "S3 bucket policies deny aws:SecureTransport=false",
    Control.access_control: "IAM roles per persona (data scientist, ML engineer, approver) with inline policies "
                            "scoped to the platform prefix; execution roles per service with SourceAccount trust",
    Control.separation_of_duties: "only the approver role may change ModelApprovalStatus (IAM condition "
                                  "sagemaker:ModelApprovalStatus); explicit Deny for the other personas",
    Control.approval_gate: "model package groups register versions as PendingManualApproval",
    Control.audit_logging: "multi-region CloudTrail trail with log file validation, SageMaker endpoint and feature "
                           "group data events, S3 data events on the data bucket, CloudWatch Logs copy",
    Control.audit_retention: "audit bucket with S3 Object Lock default retention (COMPLIANCE mode in prod)",
    Control.model_documentation: "SageMaker model card per model (KMS-encrypted, Draft until approved)",
    Control.fairness_testing: "fairness metrics in the training pipeline's condition step",
    Control.model_monitoring: "scheduled drift and quality jobs (EventBridge Scheduler, SageMaker processing) "
                              "and CloudWatch alarms",
    Control.network_isolation: "private subnets without internet gateway, interface VPC endpoints, "
                               "SageMaker resources in the platform security group",
    Control.network_logging: "VPC flow logs (all traffic) to a KMS-encrypted log group",
    Control.reproducibility: "SageMaker managed MLflow tracking server, versioned artifact bucket",
}
"""How the AWS back end implements each control of `mlops.plan.compliance`."""


# --------------------------------------------------------------------------- the component


@builds(Capability.rbac_roles, Capability.audit_trail, Capability.enforced_approval, Capability.model_cards)
class AwsGovernance(pulumi.ComponentResource):
    """Who may do what on the platform, the record of what they did, and model documentation.

    Creates, per persona with principals in `governance.roles` (data scientist, ML engineer,
    approver; the approver role also trusts this environment's `governance.approvals.<env>.approvers`):
    `-<persona>` (IAM role; trust per `trust_statements`; one-hour sessions) and
    `-<persona>-policy` (inline least-privilege policy: see the `*_policy` functions). When the
    environment requires approval and governance enforces it, only the approver role can change a
    model version's approval status (the others carry explicit Denies); otherwise ML engineers may
    record approvals too.

    `-trail` (CloudTrail: multi-region, global service events, log file validation, KMS, into the
    audit bucket under `cloudtrail/`; management events plus data events of SageMaker endpoints
    and feature groups and of the data bucket's objects), `-trail-logs` (KMS-encrypted log group
    receiving a copy), `-trail-role` + `-trail-role-policy` (delivery to that log group). The trail
    and its log group are protected in production.

    When model cards are required: `-card-<model>` (sagemaker.ModelCard, Draft, KMS-encrypted,
    protected in production).

    Outputs: role_arns (persona → ARN), trail_arn.
    """

    def __init__(self, name: str, plan: Plan, *, kms_key_arn: pulumi.Input[str], audit_bucket: pulumi.Input[str],
                 audit_store: pulumi.Resource, data_bucket_arn: pulumi.Input[str],
                 artifact_bucket_arn: pulumi.Input[str], execution_role_arn: pulumi.Input[str],
                 vpc_id: pulumi.Input[str] | None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsGovernance", name, None, opts)
        tags = dict(plan.tags)
        account = account_id(plan, self)
        scope = _Scope(plan, data_bucket_arn=data_bucket_arn, artifact_bucket_arn=artifact_bucket_arn,
                       kms_key_arn=kms_key_arn, execution_role_arn=execution_role_arn)
        enforced = plan.governance.approval is not None and plan.governance.approval.enforced
        roles = plan.governance.roles
        # Who approves promotion into this environment (governance.approvals.<env>.approvers) may
        # act as its approver, beside the platform-wide approver principals.
        approval = plan.governance.approval
        approvers = list(dict.fromkeys([*roles.approver, *(approval.approval.approvers if approval else [])]))
        policies = {
            "data-scientist": (roles.data_scientist, data_scientist_policy(scope, enforced, vpc_id)),
            "ml-engineer": (roles.ml_engineer, ml_engineer_policy(scope, enforced, vpc_id)),
            "approver": (approvers, approver_policy(scope, vpc_id)),
        }
        self.roles: dict[str, aws.iam.Role] = {}
        for persona, (principals, statements) in policies.items():
            if not principals:
                continue  # nobody to trust: no role (a trust policy needs a principal)
            role = aws.iam.Role(
                f"{name}-{persona}",
                aws.iam.RoleArgs(
                    name=role_name(plan, persona),
                    description=f"{plan.prefix}: {persona.replace('-', ' ')}s",
                    assume_role_policy=policy_document(*trust_statements(plan, account, principals)),
                    max_session_duration=3600,
                    tags=tags,
                ),
                opts=child(self),
            )
            aws.iam.RolePolicy(f"{name}-{persona}-policy",
                               aws.iam.RolePolicyArgs(role=role.id, policy=policy_document(*statements)),
                               opts=child(self))
            self.roles[persona] = role

        self.trail = self._trail(name, plan, account, kms_key_arn, audit_bucket, audit_store, data_bucket_arn, tags)

        if plan.governance.model_card_required:
            for model in plan.models:
                aws.sagemaker.ModelCard(
                    f"{name}-card-{model.name}",
                    aws.sagemaker.ModelCardArgs(
                        model_card_name=model_card_name(plan, model.name),
                        model_card_status="Draft",
                        content=model_card_content(plan, model.name),
                        security_config=aws.sagemaker.ModelCardSecurityConfigArgs(kms_key_id=kms_key_arn),
                        tags=tags,
                    ),
                    opts=child(self, stateful=True, protect=plan.protect),
                )
        self.role_arns = {persona: role.arn for persona, role in self.roles.items()}
        self.register_outputs({"role_arns": self.role_arns, "trail_arn": self.trail.arn})

    def _trail(self, name: str, plan: Plan, account: pulumi.Input[str], kms_key_arn: pulumi.Input[str],
               audit_bucket: pulumi.Input[str], audit_store: pulumi.Resource, data_bucket_arn: pulumi.Input[str],
               tags: dict[str, str]) -> aws.cloudtrail.Trail:
        group = aws.cloudwatch.LogGroup(
            f"{name}-trail-logs",
            aws.cloudwatch.LogGroupArgs(name=f"/mlops/{plan.prefix}/cloudtrail", kms_key_id=kms_key_arn,
                                        retention_in_days=max(plan.log_retention_days, 365), tags=tags),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        trail_arn = account_arn(plan, account, "cloudtrail", f"trail/{trail_name(plan)}")
        role = aws.iam.Role(
            f"{name}-trail-role",
            aws.iam.RoleArgs(
                description=f"{plan.prefix}: CloudTrail delivery to CloudWatch Logs",
                assume_role_policy=policy_document(Statement(
                    Effect="Allow", Principal={"Service": "cloudtrail.amazonaws.com"}, Action="sts:AssumeRole",
                    Condition={"StringEquals": {"aws:SourceArn": trail_arn}})),
                max_session_duration=3600, tags=tags),
            opts=child(self),
        )
        delivery = aws.iam.RolePolicy(
            f"{name}-trail-role-policy",
            aws.iam.RolePolicyArgs(role=role.id, policy=policy_document(Statement(
                Sid="DeliverTrailToLogs", Effect="Allow", Action=["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource=pulumi.Output.concat(group.arn, ":log-stream:*")))),
            opts=child(self),
        )

        def data_events(label: str, resource_type: str, starts_with: list[pulumi.Input[str]] | None = None
                        ) -> aws.cloudtrail.TrailAdvancedEventSelectorArgs:
            selector = aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs
            fields = [selector(field="eventCategory", equals=["Data"]),
                      selector(field="resources.type", equals=[resource_type])]
            if starts_with:
                fields.append(selector(field="resources.ARN", starts_withs=starts_with))
            return aws.cloudtrail.TrailAdvancedEventSelectorArgs(name=label, field_selectors=fields)

        return aws.cloudtrail.Trail(
            f"{name}-trail",
            aws.cloudtrail.TrailArgs(
                name=trail_name(plan),
                s3_bucket_name=audit_bucket,
                s3_key_prefix=trail_log_prefix(plan),
                is_multi_region_trail=True,
                include_global_service_events=True,
                enable_log_file_validation=True,
                kms_key_id=kms_key_arn,
                cloud_watch_logs_group_arn=pulumi.Output.concat(group.arn, ":*"),
                cloud_watch_logs_role_arn=role.arn,
                advanced_event_selectors=[
                    aws.cloudtrail.TrailAdvancedEventSelectorArgs(
                        name="Management events",
                        field_selectors=[aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                            field="eventCategory", equals=["Management"])]),
                    data_events("SageMaker endpoint invocations", "AWS::SageMaker::Endpoint"),
                    data_events("Feature Store record access", "AWS::SageMaker::FeatureGroup"),
                    data_events("Data bucket object access", "AWS::S3::Object",
                                [pulumi.Output.concat(data_bucket_arn, "/")]),
                ],
                tags=tags,
            ),
            # The audit bucket's policy must admit the trail before CloudTrail checks it.
            opts=child(self, stateful=True, protect=plan.protect, depends_on=[audit_store, delivery]),
        )
