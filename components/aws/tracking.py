"""Experiment tracking on AWS: SageMaker managed MLflow."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .account import account_id
from .iam import Statement, sagemaker_role
from .names import tracking_server_name

# Where MLflow keeps run artifacts in the artifact bucket.
ARTIFACT_PREFIX = "mlflow"
# Sunday night, UTC: the weekly window AWS may patch the server in.
MAINTENANCE_WINDOW = "Sun:02:00"
# Server sizes by the number of people using it (AWS sizing guidance: Small up to 25 users,
# Medium up to 50, Large up to 100 and beyond).
SIZES: tuple[tuple[int, str], ...] = ((25, "Small"), (50, "Medium"))
LARGEST = "Large"


RUN_LOGGING_ACTIONS = ("GetExperimentByName", "GetExperiment", "CreateExperiment", "SearchRuns", "GetRun",
                       "CreateRun", "UpdateRun", "LogBatch", "LogMetric", "LogParam", "LogInputs", "SetTag",
                       "ListArtifacts")
"""`sagemaker-mlflow` actions a job needs to log runs (IAM service reference, "Amazon SageMaker with
MLflow"): experiments and runs, no model registration (models reach the registry through the pipeline)."""


def tracking_statements(tracking_server_arn: pulumi.Input[str], artifact_bucket_arn: pulumi.Input[str],
                        vpc_id: pulumi.Input[str] | None) -> list[Statement]:
    """What a role whose jobs log to MLflow needs: run logging on this tracking server only, and its run
    artifacts under `mlflow/` in the artifacts bucket (the MLflow client writes them to S3 itself).
    Inside an isolated environment only through the platform network (its `mlflow` interface endpoint)."""
    logging = Statement(Sid="LogRunsToMlflow", Effect="Allow",
                        Action=[f"sagemaker-mlflow:{a}" for a in RUN_LOGGING_ACTIONS], Resource=tracking_server_arn)
    if vpc_id is not None:
        logging["Condition"] = {"StringEquals": {"aws:SourceVpc": vpc_id}}
    return [
        logging,
        Statement(Sid="ReadWriteMlflowArtifacts", Effect="Allow", Action=["s3:GetObject", "s3:PutObject"],
                  Resource=pulumi.Output.concat(artifact_bucket_arn, f"/{ARTIFACT_PREFIX}/*")),
    ]


def server_size(team_size: int) -> str:
    """Small, Medium or Large for a team of this size."""
    return next((size for limit, size in SIZES if team_size <= limit), LARGEST)


@builds(Capability.experiment_tracking)
class SageMakerExperimentTracking(pulumi.ComponentResource):
    """A managed MLflow tracking server whose artifacts live in the platform's encrypted artifact bucket.

    Creates: `-role` (assumed by SageMaker for this account only) with `-policy` (read/write under
    `s3://<artifacts>/mlflow/` and use of the platform key through S3, nothing else) and `-server`
    (sagemaker.MlflowTrackingServer sized by team size, weekly maintenance window, automatic model
    registration off: models reach the registry only through the gated training pipeline). The
    server holds run metadata, so it is protected in production.

    Access is IAM: people reach MLflow through the governance roles (`sagemaker-mlflow:*` actions
    on this server); inside the network through the `mlflow` interface endpoint.

    Outputs: tracking_server_arn, tracking_uri (the ARN, which the sagemaker-mlflow plugin takes as
    MLflow tracking URI), artifact_uri.
    """

    def __init__(self, name: str, plan: Plan, *, artifact_bucket: pulumi.Input[str],
                 artifact_bucket_arn: pulumi.Input[str], kms_key_arn: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}SageMakerExperimentTracking", name, None, opts)
        tags = dict(plan.tags)
        account = account_id(plan, self)
        objects = pulumi.Output.concat(artifact_bucket_arn, f"/{ARTIFACT_PREFIX}/*")
        self.role, policy = sagemaker_role(
            self, name, plan, account, "MLflow tracking server (artifact store access)", [
                Statement(Sid="ListArtifactPrefix", Effect="Allow", Action="s3:ListBucket",
                          Resource=artifact_bucket_arn,
                          Condition={"StringLike": {"s3:prefix": [f"{ARTIFACT_PREFIX}/*", ARTIFACT_PREFIX]}}),
                Statement(Sid="LocateArtifactBucket", Effect="Allow", Action="s3:GetBucketLocation",
                          Resource=artifact_bucket_arn),
                Statement(Sid="ReadWriteArtifacts", Effect="Allow",
                          Action=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], Resource=objects),
                Statement(Sid="UsePlatformKeyThroughS3", Effect="Allow",
                          Action=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], Resource=kms_key_arn,
                          Condition={"StringEquals": {"kms:ViaService": f"s3.{plan.region}.amazonaws.com"}}),
        ])
        self.artifact_uri = pulumi.Output.concat("s3://", artifact_bucket, f"/{ARTIFACT_PREFIX}")
        self.server = aws.sagemaker.MlflowTrackingServer(
            f"{name}-server",
            aws.sagemaker.MlflowTrackingServerArgs(
                tracking_server_name=tracking_server_name(plan),
                artifact_store_uri=self.artifact_uri,
                role_arn=self.role.arn,
                tracking_server_size=server_size(plan.team_size),
                weekly_maintenance_window_start=MAINTENANCE_WINDOW,
                automatic_model_registration=False,
                tags=tags,
            ),
            # The server checks its role's access to the artifact store when it starts.
            opts=child(self, stateful=True, protect=plan.protect, depends_on=[policy]),
        )
        self.tracking_server_arn = self.server.arn
        self.register_outputs({"tracking_server_arn": self.server.arn, "tracking_uri": self.server.arn,
                               "artifact_uri": self.artifact_uri})
