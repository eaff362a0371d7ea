"""The AWS root component: one SageMaker platform per environment."""

from __future__ import annotations

import pulumi

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from components.image_tags import image_tags
from mlops.plan import Plan
from mlops.plan.vocabulary import ServingMode

from .account import account_id
from .alerting import AwsAlerting
from .cost import AwsBudget
from .deployment import SageMakerDeployer
from .feature_store import SageMakerFeatureStore
from .foundation import AwsFoundation
from .governance import AwsGovernance
from .image_repository import OWN_IMAGE_MODELS, AwsImageRepository, container_registry, own_image_models
from .monitoring import SageMakerMonitor
from .names import endpoint_name
from .network import AwsNetwork, VpcConfig
from .pipeline import SageMakerTrainingPipeline
from .registry import AwsModelRegistry
from .retraining import AwsRetrainingTriggers
from .serving import SageMakerBatchTransform, SageMakerEndpoint
from .tracking import SageMakerExperimentTracking


@builds()
class SageMakerPlatform(pulumi.ComponentResource):
    """Everything one environment of a blueprint builds on AWS, composed in dependency order.

    Creates: `-foundation` (AwsFoundation: key, data/artifact/audit buckets, execution role);
    `-network` (AwsNetwork, isolated environments); `-alerting` (AwsAlerting: critical and warning
    topics with the blueprint's routes); `-tracking` (SageMakerExperimentTracking: managed MLflow);
    `-features` (SageMakerFeatureStore); per model that brings its own image (LightGBM, custom)
    `-<model>-images` (AwsImageRepository: ECR, the image at the stack's tag `mlops:imageTags`);
    `-registry` (AwsModelRegistry); per model
    `-<model>-training` (SageMakerTrainingPipeline), `-<model>-serving` (SageMakerEndpoint) or
    `-<model>-batch` (SageMakerBatchTransform), each with `-<model>-monitoring` (SageMakerMonitor: the
    scheduled drift and quality jobs and the alarms),
    `-<model>-deployer` (SageMakerDeployer) and `-<model>-retraining` (AwsRetrainingTriggers);
    `-governance` (AwsGovernance: persona roles, CloudTrail, model cards); `-cost` (AwsBudget).
    What is built follows the plan's gated capabilities. With `defer_endpoints` (stack setting
    `mlops:endpoints: defer`, for the first deployment, before any model is trained) real-time
    models get their role, model and endpoint configuration but no endpoint, alarms, autoscaling
    or monitoring jobs; the stack output `deferred_endpoints` lists them.

    Outputs: key_arn, data_bucket, artifact_bucket, audit_bucket, execution_role_arn, trail_arn; with
    experiment tracking, tracking_server_arn and tracking_uri; with an own-image model, container_registry
    (`<registry>/<prefix>`: a model's image is `<container_registry>/<model>:<tag>`).
    """

    outputs: dict[str, pulumi.Output[str]]
    deferred_endpoints: list[str]
    """Real-time endpoints not created because endpoints are deferred (first deployment)."""

    def __init__(self, name: str, plan: Plan, *, defer_endpoints: bool = False,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}SageMakerPlatform", name, None, opts)
        self.deferred_endpoints = []
        # The stack setting `mlops:imageTags` is read, and a bad one refused, before any cloud resource is
        # registered.
        tags = image_tags([m.name for m in own_image_models(plan)], runs=OWN_IMAGE_MODELS)
        foundation = AwsFoundation(f"{name}-foundation", plan, opts=child(self))
        self.outputs = {
            "key_arn": foundation.key.arn,
            "data_bucket": foundation.data.bucket.bucket,
            "artifact_bucket": foundation.artifacts.bucket.bucket,
            "audit_bucket": foundation.audit.bucket.bucket,
            "execution_role_arn": foundation.execution_role.arn,
        }

        # --- network: AwsNetwork; sets `vpc` (None when the plan is not isolated).
        vpc: VpcConfig | None = None
        network: AwsNetwork | None = None
        if plan.network.isolated:
            network = AwsNetwork(f"{name}-network", plan, kms_key_arn=foundation.key.arn, opts=child(self))
            vpc = network.config

        # --- alerting: AwsAlerting (SNS topic + routes); sets `alert_topic_arn`.
        alert_topic_arn: pulumi.Output[str] | None = None
        # Two topics: `critical` pages (its routes: every route), `warning` reaches the routes whose
        # severity is warning. Budget and freshness alarms use `alert_topic_arn` (warning); alarms
        # that must page use `critical_alert_topic_arn`.
        alerting = AwsAlerting(f"{name}-alerting", plan, kms_key_arn=foundation.key.arn, opts=child(self))
        alert_topic_arn = alerting.warning_topic_arn
        critical_alert_topic_arn: pulumi.Output[str] = alerting.critical_topic_arn

        # --- experiment tracking, feature store; sets `tracking_server_arn` (None without tracking).
        tracking_server_arn: pulumi.Output[str] | None = None
        if plan.experiment_tracking:
            tracking = SageMakerExperimentTracking(
                f"{name}-tracking", plan, artifact_bucket=foundation.artifacts.bucket.bucket,
                artifact_bucket_arn=foundation.artifacts.bucket.arn, kms_key_arn=foundation.key.arn,
                opts=child(self))
            self.outputs["tracking_server_arn"] = tracking.tracking_server_arn
            # The SageMaker MLflow plugin takes the tracking server's ARN as its tracking URI.
            self.outputs["tracking_uri"] = tracking.tracking_server_arn
            tracking_server_arn = tracking.tracking_server_arn
        if plan.feature_store is not None:
            SageMakerFeatureStore(f"{name}-features", plan, plan.feature_store,
                                  data_bucket=foundation.data.bucket.bucket, data_bucket_arn=foundation.data.bucket.arn,
                                  kms_key_arn=foundation.key.arn, alert_topic_arn=alert_topic_arn, opts=child(self))

        # --- images: an ECR repository per model that brings its own image (LightGBM, custom); its
        # pipeline, endpoint or batch model run it at the stack's tag (`mlops:imageTags`).
        images = {
            m.name: AwsImageRepository(f"{name}-{m.name}-images", plan, m, tag=tags[m.name],
                                       kms_key_arn=foundation.key.arn, opts=child(self))
            for m in own_image_models(plan)
        }
        own_images = {model: repository.image for model, repository in images.items()}
        if images:
            self.outputs["container_registry"] = container_registry(plan, account_id(plan, self))

        # --- model registry, training pipelines
        # A model package group per model; a training pipeline per model the plan trains. Other sections
        # read `registry` (None below model_versioning 1) and `pipelines` (by model name).
        registry = AwsModelRegistry(f"{name}-registry", plan, opts=child(self)) \
            if plan.model_registry else None
        pipelines: dict[str, SageMakerTrainingPipeline] = {
            model.name: SageMakerTrainingPipeline(
                f"{name}-{model.name}-training", plan, model, kms_key_arn=foundation.key.arn,
                data_bucket=foundation.data.bucket, artifact_bucket=foundation.artifacts.bucket,
                model_package_group=registry.groups[model.name] if registry else None, vpc=vpc,
                own_image=own_images.get(model.name), tracking_server_arn=tracking_server_arn,
                vpc_id=network.vpc_id if network else None, opts=child(self))
            for model in plan.models if model.training is not None
        }

        # --- serving, deployment on approval, monitoring
        # Per model: a real-time endpoint (its rollback alarms page) or a scheduled batch transform, each with
        # its drift and quality jobs and alarms (these warn); with a registry, approved packages deploy.
        for model in plan.models:
            s = model.serving
            if s is None:
                continue
            served: SageMakerEndpoint | SageMakerBatchTransform
            if s.mode == ServingMode.realtime:
                served = SageMakerEndpoint(
                    f"{name}-{model.name}-serving", plan, model, kms_key_arn=foundation.key.arn,
                    artifact_bucket=foundation.artifacts.bucket, data_bucket=foundation.data.bucket, vpc=vpc,
                    alarm_topic_arn=critical_alert_topic_arn, create_endpoint=not defer_endpoints,
                    own_image=own_images.get(model.name), opts=child(self))
                if served.endpoint is None:
                    self.deferred_endpoints.append(endpoint_name(plan, model.name))
            elif s.mode == ServingMode.batch:
                served = SageMakerBatchTransform(
                    f"{name}-{model.name}-batch", plan, model, kms_key_arn=foundation.key.arn,
                    artifact_bucket=foundation.artifacts.bucket, data_bucket=foundation.data.bucket, vpc=vpc,
                    own_image=own_images.get(model.name), opts=child(self))
            else:  # streaming: refused by the plan (mlops.clouds.aws)
                continue
            # A real-time model is monitored once its endpoint exists (its SRE alarms watch the endpoint); a
            # batch model where it has drift or quality monitoring.
            watched = model.monitoring.drift is not None or model.monitoring.quality is not None
            if served.endpoint is not None if isinstance(served, SageMakerEndpoint) else watched:
                SageMakerMonitor(
                    f"{name}-{model.name}-monitoring", plan, model, kms_key_arn=foundation.key.arn,
                    artifact_bucket=foundation.artifacts.bucket, data_bucket=foundation.data.bucket, vpc=vpc,
                    alarm_topic_arn=alert_topic_arn, opts=child(self))
            if registry is not None:
                SageMakerDeployer(
                    f"{name}-{model.name}-deployer", plan, model, serving_role_arn=served.role.arn,
                    kms_key_arn=foundation.key.arn, artifact_bucket=foundation.artifacts.bucket, vpc=vpc,
                    realtime=s.mode == ServingMode.realtime, opts=child(self))

        # --- retraining triggers
        for model in plan.models:
            r = model.retraining
            if model.name in pipelines and (r.schedule is not None or r.on_drift or r.on_performance):
                AwsRetrainingTriggers(f"{name}-{model.name}-retraining", plan, model,
                                      pipeline_arn=pipelines[model.name].pipeline.arn,
                                      kms_key_arn=foundation.key.arn, opts=child(self))

        # --- governance roles, audit trail, cost
        governance = AwsGovernance(
            f"{name}-governance", plan, kms_key_arn=foundation.key.arn, audit_bucket=foundation.audit.bucket.bucket,
            audit_store=foundation.audit, data_bucket_arn=foundation.data.bucket.arn,
            artifact_bucket_arn=foundation.artifacts.bucket.arn, execution_role_arn=foundation.execution_role.arn,
            vpc_id=network.vpc_id if network else None, opts=child(self))
        self.outputs["trail_arn"] = governance.trail.arn
        if plan.cost is not None:
            AwsBudget(f"{name}-cost", plan, plan.cost, alert_topic_arn=alert_topic_arn, opts=child(self))

        if self.deferred_endpoints:
            self.outputs["deferred_endpoints"] = pulumi.Output.from_input(", ".join(self.deferred_endpoints))
        self.register_outputs(dict(self.outputs))
