"""A model's SageMaker training pipeline and the least-privilege role it runs as."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from . import pipeline_definition as definition
from .account import account_arn, account_id
from .function import AwsFunction
from .iam import Statement, policy_document
from .image_repository import OwnImage
from .images import PROCESSING, PrebuiltImage, prebuilt
from .instances import is_gpu, ml_instance_type
from .names import model_package_group_name, pipeline_name, pipeline_steps_function_name
from .network import VpcConfig
from .registry import APPROVAL_TAG, approval_mode
from .tracking import tracking_statements

# The DAG is a chain: one step at a time is all it needs, and it caps what an edited definition can spend.
MAX_PARALLEL_STEPS = 1
BASELINE_SCRIPT = Path(__file__).parent / "scripts" / definition.BASELINE_SCRIPT


@builds(Capability.training_pipeline, Capability.hyperparameter_search, Capability.champion_challenger)
class SageMakerTrainingPipeline(pulumi.ComponentResource):
    """The training pipeline of one model (see `pipeline_definition` for the DAG and its parameters).

    Creates: `-role` (IAM role assumed by SageMaker for this account only; it runs the pipeline and
    its jobs) with `-policy` (inline, least privilege: create this pipeline's processing, training and
    tuning jobs only with KMS-encrypted output, inter-container encryption, network isolation and the
    platform subnets where the environment asks; pass itself to SageMaker only; register versions in
    this model's group without setting an approval status (they register PendingManualApproval); invoke
    the steps function; read the data bucket, read/write the model's prefix of the artifact bucket; use
    the platform key; job logs; pull the model's own image where it brings one; with experiment tracking,
    where one of its jobs can reach the server (`pipeline_definition.tracked_steps`), log runs on that
    tracking server only (through the platform VPC where isolated) and write run artifacts under
    `mlflow/` in the artifacts bucket), `-steps` (AwsFunction
    running `components/aws/lambdas/pipeline_steps.py` for the definition's Lambda steps; it may read
    this model's evaluation reports only), `-evaluation-spec` (the Evaluate step's spec, a KMS-encrypted
    object under the model's prefix of the artifacts bucket: SageMaker caps environment values at 256
    characters), `-baseline-script` (where the model is drift-monitored and registered: the Baseline
    step's script `components/aws/scripts/baseline.py`, KMS-encrypted, under
    `<model>/pipeline-scripts/`) and `-pipeline` (sagemaker.Pipeline with the definition JSON).

    Outputs: pipeline_name, pipeline_arn, role_arn, steps_function_arn.
    """

    pipeline: aws.sagemaker.Pipeline
    role: aws.iam.Role

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, kms_key_arn: pulumi.Input[str],
                 data_bucket: aws.s3.Bucket, artifact_bucket: aws.s3.Bucket,
                 model_package_group: aws.sagemaker.ModelPackageGroup | None, vpc: VpcConfig | None,
                 own_image: OwnImage | None = None, tracking_server_arn: pulumi.Input[str] | None = None,
                 vpc_id: pulumi.Input[str] | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}SageMakerTrainingPipeline", name, None, opts)
        self.own_image = own_image
        if model.training is None:
            raise ValueError(f"{model.name}: the plan builds no training pipeline for this model")
        # Settings the definition cannot express fail here, before any resource is registered.
        definition.check(plan, model)
        tags = dict(plan.tags)
        account = account_id(plan, self)
        gpu = is_gpu(ml_instance_type(model.training.instance))

        trust = Statement(Effect="Allow", Principal={"Service": "sagemaker.amazonaws.com"}, Action="sts:AssumeRole",
                          Condition={"StringEquals": {"aws:SourceAccount": account}})
        self.role = aws.iam.Role(
            f"{name}-role",
            aws.iam.RoleArgs(description=f"{plan.prefix}: runs the {model.name} training pipeline and its jobs",
                             assume_role_policy=policy_document(trust), max_session_duration=3600, tags=tags),
            opts=child(self),
        )

        runs = pulumi.Output.concat(artifact_bucket.arn, "/", model.name, "/runs/*")
        self.steps = AwsFunction(
            f"{name}-steps", plan, function_name=pipeline_steps_function_name(plan, model.name),
            source="pipeline_steps.py",
            description=f"Lambda steps of the {model.name} training pipeline ({plan.prefix})",
            environment={}, kms_key_arn=kms_key_arn, vpc=vpc,
            statements=[Statement(Sid="ReadEvaluationReports", Effect="Allow", Action="s3:GetObject", Resource=runs)],
            # Pipeline runs of this model share it; SageMaker calls it synchronously (no retries to make).
            reserved_concurrency=2, timeout_seconds=60, retries=0, opts=child(self))

        images = {
            "training": self._image(plan, model, "training", gpu),
            # The registered version is served on the serving instances (the RegisterModel step lists them
            # as its supported instance types; `medium` without serving): their image, not the training one's.
            "inference": self._image(plan, model, "inference", is_gpu(ml_instance_type(
                model.serving.instance if model.serving else "medium"))),
            "processing": self._prebuilt(plan, PROCESSING, gpu=False),
        }
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            aws.iam.RolePolicyArgs(role=self.role.id, policy=self._policy(
                plan, model, account, kms_key_arn, data_bucket, artifact_bucket, model_package_group, vpc,
                self.steps.function.arn, tracking_server_arn, vpc_id)),
            opts=child(self),
        )

        network: pulumi.Output[Any] = pulumi.Output.from_input(None)
        if vpc is not None:
            network = pulumi.Output.all(pulumi.Output.from_input(vpc.subnet_ids),
                                        pulumi.Output.from_input(vpc.security_group_ids))
        group_name: pulumi.Input[str] = model_package_group.model_package_group_name if model_package_group else ""
        tracking: pulumi.Input[str] = tracking_server_arn if tracking_server_arn is not None else ""

        def document(values: list[Any]) -> str:
            role_arn, steps_arn, key_arn, data, artifacts, training, inference, processing, group, net, server = values
            context = definition.PipelineContext(
                role_arn=role_arn, steps_function_arn=steps_arn, kms_key_arn=key_arn, data_bucket=data,
                artifact_bucket=artifacts,
                training_image=training, inference_image=inference, processing_image=processing,
                model_package_group=group or None,
                network=definition.Network(tuple(net[0]), tuple(net[1])) if net else None,
                tracking_server_arn=server or None)
            return definition.definition_json(plan, model, context)

        def spec(values: list[Any]) -> str:
            # Only the champion's package group comes from the context; the rest is the plan's.
            context = definition.PipelineContext(
                role_arn="", steps_function_arn="", kms_key_arn="", data_bucket="", artifact_bucket="",
                training_image="", inference_image="", processing_image="", model_package_group=values[0] or None)
            return definition.evaluation_spec_json(plan, model, context)

        self.evaluation_spec = aws.s3.BucketObjectv2(
            f"{name}-evaluation-spec",
            aws.s3.BucketObjectv2Args(
                bucket=artifact_bucket.id, key=definition.evaluation_spec_key(model.name),
                content=pulumi.Output.all(group_name).apply(spec), content_type="application/json",
                server_side_encryption="aws:kms", kms_key_id=kms_key_arn, tags=tags),
            opts=child(self),
        )
        scripts: list[pulumi.Resource] = [self.evaluation_spec]
        if definition.builds_baseline(model, model_package_group is not None):
            scripts.append(aws.s3.BucketObjectv2(
                f"{name}-baseline-script",
                aws.s3.BucketObjectv2Args(
                    bucket=artifact_bucket.id,
                    key=f"{definition.scripts_prefix(model.name)}/{definition.BASELINE_SCRIPT}",
                    content=BASELINE_SCRIPT.read_text(encoding="utf-8"), content_type="text/x-python",
                    server_side_encryption="aws:kms", kms_key_id=kms_key_arn, tags=tags),
                opts=child(self)))
        pipeline_definition = pulumi.Output.all(
            self.role.arn, self.steps.function.arn, kms_key_arn, data_bucket.bucket, artifact_bucket.bucket,
            images["training"], images["inference"], images["processing"], group_name, network, tracking,
        ).apply(document)
        self.pipeline = aws.sagemaker.Pipeline(
            f"{name}-pipeline",
            aws.sagemaker.PipelineArgs(
                pipeline_name=pipeline_name(plan, model.name),
                pipeline_display_name=pipeline_name(plan, model.name),
                pipeline_description=f"Trains, evaluates, gates and registers {model.name} ({plan.prefix})",
                pipeline_definition=pipeline_definition,
                role_arn=self.role.arn,
                parallelism_configuration=aws.sagemaker.PipelineParallelismConfigurationArgs(
                    max_parallel_execution_steps=MAX_PARALLEL_STEPS),
                tags={**tags, APPROVAL_TAG: approval_mode(plan)},
            ),
            # The role must be able to act, and the Evaluate step's spec (and the Baseline step's script)
            # be there, before a run can start.
            opts=child(self, depends_on=[policy, *scripts]),
        )
        self.register_outputs({
            "pipeline_name": self.pipeline.pipeline_name,
            "pipeline_arn": self.pipeline.arn,
            "role_arn": self.role.arn,
            "steps_function_arn": self.steps.function.arn,
        })

    # ----------------------------------------------------------------- images

    def _prebuilt(self, plan: Plan, image: PrebuiltImage, *, gpu: bool) -> pulumi.Output[str]:
        return aws.sagemaker.get_prebuilt_ecr_image_output(
            repository_name=image.repository, image_tag=image.tag_for(gpu), region=plan.region,
            opts=pulumi.InvokeOutputOptions(parent=self)).registry_path

    def _image(self, plan: Plan, model: ModelPlan, role: Any, gpu: bool) -> pulumi.Output[str]:
        image = prebuilt(model.framework, role)
        if image is not None:
            return self._prebuilt(plan, image, gpu=gpu)
        # The team's own image at the stack's tag, in the model's repository (pushed by the team's CI).
        if self.own_image is None:
            raise ValueError(f"{model.name}: the {model.framework} framework needs its image repository")
        return self.own_image.uri

    # ----------------------------------------------------------------- the role's policy

    def _policy(self, plan: Plan, model: ModelPlan, account: pulumi.Input[str], kms_key_arn: pulumi.Input[str],
                data_bucket: aws.s3.Bucket, artifact_bucket: aws.s3.Bucket,
                group: aws.sagemaker.ModelPackageGroup | None, vpc: VpcConfig | None,
                steps_function_arn: pulumi.Input[str],
                tracking_server_arn: pulumi.Input[str] | None,
                vpc_id: pulumi.Input[str] | None) -> pulumi.Output[str]:
        def sm(resource: str) -> pulumi.Output[str]:
            return account_arn(plan, account, "sagemaker", resource)

        # SageMaker Pipelines names its processing and training jobs `pipelines-<execution>-<step>-…`;
        # tuning job names are generated (32 characters at most, no fixed prefix).
        processing, training, tuning = (sm("processing-job/pipelines-*"), sm("training-job/pipelines-*"),
                                        sm("hyper-parameter-tuning-job/*"))
        encrypted: dict[str, dict[str, Any]] = {
            "Bool": {"sagemaker:InterContainerTrafficEncryption": "true"},
            "ArnEquals": {"sagemaker:OutputKmsKey": kms_key_arn},
        }
        if vpc is not None:
            encrypted["Null"] = {"sagemaker:VpcSubnets": "false"}
        isolated_training: dict[str, dict[str, Any]] = {
            **encrypted, "Bool": {**encrypted["Bool"], "sagemaker:NetworkIsolation": "true"},
        } if plan.network.isolated else encrypted
        statements = [
            # SageMaker calls the Lambda steps with the pipeline's role.
            Statement(Sid="InvokePipelineSteps", Effect="Allow", Action="lambda:InvokeFunction",
                      Resource=steps_function_arn),
            Statement(Sid="CreateProcessingJobsEncrypted", Effect="Allow", Action="sagemaker:CreateProcessingJob",
                      Resource=[processing], Condition=encrypted),
            Statement(Sid="CreateTrainingJobsEncrypted", Effect="Allow",
                      Action=["sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob"],
                      Resource=[training, tuning], Condition=isolated_training),
            Statement(Sid="FollowPipelineJobs", Effect="Allow",
                      Action=["sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob",
                              "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                              "sagemaker:DescribeHyperParameterTuningJob", "sagemaker:StopHyperParameterTuningJob",
                              "sagemaker:ListTrainingJobsForHyperParameterTuningJob", "sagemaker:AddTags"],
                      Resource=[processing, training, tuning]),
            Statement(Sid="PassOwnRoleToSageMakerJobs", Effect="Allow", Action="iam:PassRole",
                      Resource=[self.role.arn],
                      Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
            Statement(Sid="ListPlatformBuckets", Effect="Allow", Action=["s3:ListBucket", "s3:GetBucketLocation"],
                      Resource=[data_bucket.arn, artifact_bucket.arn]),
            Statement(Sid="ReadTrainingData", Effect="Allow", Action="s3:GetObject",
                      Resource=[pulumi.Output.concat(data_bucket.arn, "/*")]),
            Statement(Sid="ReadWriteModelArtifacts", Effect="Allow",
                      Action=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                      Resource=[pulumi.Output.concat(artifact_bucket.arn, f"/{model.name}/*")]),
            Statement(Sid="UsePlatformKey", Effect="Allow",
                      Action=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                      Resource=[kms_key_arn]),
            # Encrypted training and processing volumes are attached through a grant to the EC2 service.
            Statement(Sid="GrantKeyToJobVolumes", Effect="Allow", Action="kms:CreateGrant", Resource=[kms_key_arn],
                      Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
            Statement(Sid="WriteJobLogs", Effect="Allow",
                      Action=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                              "logs:DescribeLogStreams"],
                      Resource=[account_arn(plan, account, "logs", f"log-group:/aws/sagemaker/{kind}:*")
                                for kind in ("ProcessingJobs", "TrainingJobs")]),
            # cloudwatch:PutMetricData has no resource-level permission: limited to SageMaker's namespaces.
            Statement(Sid="PublishJobMetrics", Effect="Allow", Action="cloudwatch:PutMetricData", Resource="*",
                      Condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}),
        ]
        if tracking_server_arn is not None and definition.logs_to_mlflow(plan, model, group is not None):
            # The jobs that get MLFLOW_TRACKING_URI log runs to this server and write run artifacts
            # straight into its artifact store (the MLflow client writes them, not the server).
            statements += tracking_statements(tracking_server_arn, artifact_bucket.arn, vpc_id)
        if group is not None:
            versions = sm(f"model-package/{model_package_group_name(plan, model.name)}/*")
            # No approval status in the request: versions register PendingManualApproval, so even an
            # edited definition cannot approve its own model (an approver, or the deployer where the
            # environment requires no approval, does).
            statements.append(Statement(
                Sid="RegisterModelVersions", Effect="Allow", Action="sagemaker:CreateModelPackage",
                Resource=[group.arn, versions], Condition={"Null": {"sagemaker:ModelApprovalStatus": "true"}}))
            if model.quality_gates.compare_to_champion:
                statements.append(Statement(
                    Sid="FindChampion", Effect="Allow",
                    Action=["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage",
                            "sagemaker:DescribeModelPackageGroup"],
                    Resource=[group.arn, versions]))
        if prebuilt(model.framework, "training") is None and self.own_image is not None:
            statements += self.own_image.pull_statements()
        if vpc is not None:
            subnets = pulumi.Output.from_input(vpc.subnet_ids).apply(
                lambda ids: [account_arn(plan, account, "ec2", f"subnet/{i}") for i in ids])
            groups = pulumi.Output.from_input(vpc.security_group_ids).apply(
                lambda ids: [account_arn(plan, account, "ec2", f"security-group/{i}") for i in ids])
            interfaces = account_arn(plan, account, "ec2", "network-interface/*")
            statements += [
                # The subnet list is itself an Output: the document serialiser resolves it in place.
                Statement(Sid="AttachJobsToPlatformSubnets", Effect="Allow", Action="ec2:CreateNetworkInterface",
                          Resource=cast(list[pulumi.Input[str]], pulumi.Output.all(subnets, groups, interfaces).apply(
                              lambda v: [*v[0], *v[1], v[2]]))),
                Statement(Sid="ManageJobNetworkInterfaces", Effect="Allow",
                          Action=["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
                                  "ec2:DeleteNetworkInterfacePermission"],
                          Resource=[interfaces]),
                # EC2 Describe* calls have no resource-level permissions.
                Statement(Sid="DescribeNetwork", Effect="Allow",
                          Action=["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                                  "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
                          Resource="*"),
            ]
        return policy_document(*statements)
