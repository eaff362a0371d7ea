"""AWS deployment on approval: an approved model package rolls out to its endpoint (or batch champion)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from .account import account_arn, account_id
from .function import AwsFunction
from .iam import Statement, policy_document
from .names import (
    CHAMPION_VARIANT,
    SHADOW_VARIANT,
    baseline_prefix,
    challenger_model_key,
    champion_model_key,
    deployer_function_name,
    endpoint_name,
    model_package_group_name,
)
from .network import VpcConfig
from .serving import deployment_config_json, rollback_alarm_names

STATE_CHANGE = "SageMaker Model Package State Change"


def auto_approves(plan: Plan, model: ModelPlan) -> bool:
    """Where the environment requires no approval, the deployer approves what the pipeline registers
    (pipelines register PendingManualApproval everywhere). With a shadow variant a registered version
    stays pending: it is the challenger the shadow serves until someone approves it."""
    return plan.governance.approval is None and not _shadowed(model)


def approval_pattern(plan: Plan, model: ModelPlan) -> dict[str, object]:
    """EventBridge pattern: a package of this model's group reaching Approved (created so, or updated),
    and also one registered PendingManualApproval with a shadow variant (it becomes the challenger) or
    where the deployer approves automatically."""
    pending = _shadowed(model) or auto_approves(plan, model)
    statuses = ["Approved", "PendingManualApproval"] if pending else ["Approved"]
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [STATE_CHANGE],
        "detail": {"ModelPackageGroupName": [model_package_group_name(plan, model.name)],
                   "ModelApprovalStatus": statuses},
    }


def _shadowed(model: ModelPlan) -> bool:
    return model.serving is not None and model.serving.shadow is not None


def _joined(ids: pulumi.Input[Sequence[pulumi.Input[str]]]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(ids).apply(lambda values: ",".join(str(v) for v in values))


@builds(Capability.approval_workflow)
class SageMakerDeployer(pulumi.ComponentResource):
    """Deploys a model's approved packages: EventBridge rule → a small Lambda function shipped in the repo.

    Creates: `-function` (AwsFunction running `components/aws/lambdas/deployer.py`: reserved
    concurrency 1 so two approvals never race, KMS-encrypted environment, dead-letter queue,
    retries; its role may describe this group's packages, create models and endpoint
    configurations named after this endpoint, update this endpoint only, pass the serving role to
    SageMaker only, and write this model's champion and challenger artifacts and monitoring
    baselines; where it approves automatically, approve this group's packages and nothing else),
    `-rule` (EventBridge: "SageMaker Model Package State Change" to Approved in this model's package
    group, and to PendingManualApproval when the endpoint has a shadow (the pending candidate becomes
    the challenger the shadow serves) or where the environment requires no approval (the deployer
    approves it, and the Approved event then deploys it)), `-target` (the function; retries for a
    day, then the dead-letter queue), `-invoke-permission` (only this rule may invoke the function)
    and `-dlq-policy` (the rule may dead-letter into the function's queue; TLS only).

    For a batch model (`realtime` False) the function only stages the champion: the next scheduled
    transform uses it.

    Outputs: function_arn, rule_arn.
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, serving_role_arn: pulumi.Input[str],
                 kms_key_arn: pulumi.Input[str], artifact_bucket: aws.s3.Bucket, vpc: VpcConfig | None,
                 realtime: bool, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}SageMakerDeployer", name, None, opts)
        tags = dict(plan.tags)
        account = account_id(plan, self)
        group = model_package_group_name(plan, model.name)
        endpoint = endpoint_name(plan, model.name) if realtime else ""

        def sm(resource: str) -> pulumi.Output[str]:
            return account_arn(plan, account, "sagemaker", resource)

        statements = [
            Statement(Sid="ReadApprovedPackages", Effect="Allow", Action="sagemaker:DescribeModelPackage",
                      Resource=sm(f"model-package/{group}/*")),
            Statement(Sid="ReadPackageArtifacts", Effect="Allow", Action="s3:GetObject",
                      Resource=pulumi.Output.concat(artifact_bucket.arn, "/*")),
            Statement(Sid="StageChampionAndBaselines", Effect="Allow",
                      Action=["s3:PutObject", "s3:AbortMultipartUpload"],
                      Resource=[pulumi.Output.concat(artifact_bucket.arn, "/", champion_model_key(model.name)),
                                pulumi.Output.concat(artifact_bucket.arn, "/", challenger_model_key(model.name)),
                                pulumi.Output.concat(artifact_bucket.arn, "/", baseline_prefix(model.name), "/*")]),
        ]
        if auto_approves(plan, model):
            statements.append(Statement(
                Sid="ApproveWhereNoApprovalIsRequired", Effect="Allow", Action="sagemaker:UpdateModelPackage",
                Resource=sm(f"model-package/{group}/*"),
                Condition={"StringEquals": {"sagemaker:ModelApprovalStatus": "Approved"}}))
        if realtime:
            alarms: list[pulumi.Input[str]] = [account_arn(plan, account, "cloudwatch", f"alarm:{a}")
                                               for a in rollback_alarm_names(plan, model)]
            statements += [
                # SageMaker lower-cases names in ARNs; the platform's names are lower-case already.
                # UpdateEndpoint is authorised on the endpoint and on the endpoint config it switches to.
                Statement(Sid="RollOutThisEndpoint", Effect="Allow",
                          Action=["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpoint"],
                          Resource=[sm(f"endpoint/{endpoint}"), sm(f"endpoint-config/{endpoint}-*")]),
                Statement(Sid="CreateVersionedModelsAndConfigs", Effect="Allow",
                          Action=["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:CreateEndpointConfig",
                                  "sagemaker:DescribeEndpointConfig", "sagemaker:AddTags"],
                          Resource=[sm(f"model/{endpoint}-*"), sm(f"endpoint-config/{endpoint}-*")]),
                Statement(Sid="PassServingRoleToSageMaker", Effect="Allow", Action="iam:PassRole",
                          Resource=serving_role_arn,
                          Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
            ]
            if alarms:
                statements.append(Statement(Sid="ReadRollbackAlarms", Effect="Allow",
                                            Action="cloudwatch:DescribeAlarms", Resource=alarms))
        environment: dict[str, pulumi.Input[str]] = {
            "ENDPOINT_NAME": endpoint,
            "MODEL_PACKAGE_GROUP": group,
            "EXECUTION_ROLE_ARN": serving_role_arn,
            "ARTIFACT_BUCKET": artifact_bucket.bucket,
            "CHAMPION_KEY": champion_model_key(model.name),
            "BASELINE_PREFIX": baseline_prefix(model.name),
            "KMS_KEY_ARN": kms_key_arn,
            "CHALLENGER_KEY": challenger_model_key(model.name),
            "CHAMPION_VARIANT": CHAMPION_VARIANT,
            "SHADOW_VARIANT": SHADOW_VARIANT if realtime and _shadowed(model) else "",
            "NETWORK_ISOLATION": "true",
            "SUBNETS": _joined(vpc.subnet_ids) if vpc else "",
            "SECURITY_GROUPS": _joined(vpc.security_group_ids) if vpc else "",
            "DEPLOYMENT_CONFIG": deployment_config_json(plan, model) if realtime else "",
            "TAGS": json.dumps(tags, sort_keys=True),
            "AUTO_APPROVE": "true" if auto_approves(plan, model) else "false",
        }
        self.function = AwsFunction(
            f"{name}-function", plan, function_name=deployer_function_name(plan, model.name), source="deployer.py",
            description=f"Deploys approved {model.name} packages ({plan.prefix})", environment=environment,
            statements=statements, kms_key_arn=kms_key_arn, vpc=vpc, reserved_concurrency=1, timeout_seconds=300,
            opts=child(self))
        rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            aws.cloudwatch.EventRuleArgs(
                name=deployer_function_name(plan, model.name),
                description=f"Approved {model.name} packages → the deployer ({plan.prefix})",
                event_pattern=json.dumps(approval_pattern(plan, model), sort_keys=True), tags=tags),
            opts=child(self),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            aws.cloudwatch.EventTargetArgs(
                rule=rule.name, arn=self.function.function.arn, target_id="deployer",
                retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_event_age_in_seconds=86400,
                                                                       maximum_retry_attempts=24),
                dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.function.dlq.arn)),
            opts=child(self),
        )
        aws.lambda_.Permission(
            f"{name}-invoke-permission",
            aws.lambda_.PermissionArgs(action="lambda:InvokeFunction", function=self.function.function.name,
                                       principal="events.amazonaws.com", source_arn=rule.arn,
                                       source_account=account),
            opts=child(self),
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            aws.sqs.QueuePolicyArgs(queue_url=self.function.dlq.url, policy=policy_document(
                Statement(Sid="RuleDeadLetters", Effect="Allow", Principal={"Service": "events.amazonaws.com"},
                          Action="sqs:SendMessage", Resource=self.function.dlq.arn,
                          Condition={"ArnEquals": {"aws:SourceArn": rule.arn}}),
                Statement(Sid="DenyInsecureTransport", Effect="Deny", Principal="*", Action="sqs:*",
                          Resource=self.function.dlq.arn, Condition={"Bool": {"aws:SecureTransport": "false"}}),
            )),
            opts=child(self),
        )
        self.register_outputs({"function_arn": self.function.function.arn, "rule_arn": rule.arn})
