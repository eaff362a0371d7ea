"""AWS serving: SageMaker real-time endpoints with guarded rollouts, and scheduled batch transforms.

Real-time (`SageMakerEndpoint`): the endpoint serves the champion artifact in the artifacts bucket
(`names.champion_model_key`), which the deploy-on-approval function (`deployment.py`) replaces with
each approved model before it rolls the endpoint forward; `pulumi up` and the deployer therefore
agree on what is served. SageMaker updates endpoints blue/green: the blueprint's strategy picks
the traffic shifting (canary: a share of the capacity first; blue_green and all_at_once: all
traffic at once; rolling: batches of the capacity), `bake_minutes` the watch time of each step,
and `auto_rollback` the alarms that roll a rollout back.

Request batching and caching go where SageMaker takes them, the container environment:
TorchServe (`SAGEMAKER_TS_BATCH_SIZE`, `SAGEMAKER_TS_MAX_BATCH_DELAY` in ms) and TensorFlow
Serving (`SAGEMAKER_TFS_ENABLE_BATCHING`, `SAGEMAKER_TFS_MAX_BATCH_SIZE`,
`SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS`) batch server-side; a team's own image (lightgbm, custom)
receives `MLOPS_MAX_BATCH_SIZE`, `MLOPS_MAX_BATCH_LATENCY_MS` and `MLOPS_CACHE_TTL_SECONDS`. What
an image cannot honour is a plan error (`mlops.clouds.aws`).

Batch (`SageMakerBatchTransform`): EventBridge Scheduler starts a SageMaker transform job of the
champion on the blueprint's schedule (an AWS SDK "universal target": no code to run), reading
`s3://<data>/batch/<model>/input/` and writing to the blueprint's `output_uri`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child, short_hash
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.model import ServingPlan
from mlops.plan.vocabulary import Batching, Caching, DeliveryStrategy

from .account import account_arn, account_id
from .cron import eventbridge_cron
from .iam import Statement, policy_document, sagemaker_role
from .image_repository import OwnImage
from .images import prebuilt
from .instances import is_gpu, ml_instance_type, vcpus
from .names import (
    CHAMPION_VARIANT,
    SHADOW_VARIANT,
    alarm_name,
    batch_input_prefix,
    batch_schedule_name,
    capture_prefix,
    challenger_model_key,
    champion_model_key,
    endpoint_name,
    partition,
    sagemaker_name,
)
from .network import VpcConfig

SAGEMAKER = "AWS/SageMaker"
ENDPOINT_METRICS = "/aws/sagemaker/Endpoints"
SCALE_OUT_COOLDOWN = 60
SCALE_IN_COOLDOWN = 300  # scale in slowly: a cold instance costs more latency than an idle one costs money


# --------------------------------------------------------------------------- pure helpers (tested directly)


def container_environment(framework: str, batching: Batching | None, caching: Caching | None) -> dict[str, str]:
    """Batching and caching settings as the serving image reads them (see the module docstring)."""
    env: dict[str, str] = {}
    own_image = prebuilt(framework, "inference") is None
    if batching is not None:
        if framework == "pytorch":
            env |= {"SAGEMAKER_TS_BATCH_SIZE": str(batching.max_batch_size),
                    "SAGEMAKER_TS_MAX_BATCH_DELAY": str(batching.max_latency_ms)}
        elif framework == "tensorflow":
            env |= {"SAGEMAKER_TFS_ENABLE_BATCHING": "true",
                    "SAGEMAKER_TFS_MAX_BATCH_SIZE": str(batching.max_batch_size),
                    "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS": str(batching.max_latency_ms * 1000)}
        elif own_image:
            env |= {"MLOPS_MAX_BATCH_SIZE": str(batching.max_batch_size),
                    "MLOPS_MAX_BATCH_LATENCY_MS": str(batching.max_latency_ms)}
        else:  # refused by the plan (mlops.clouds.aws); kept as a guard
            raise ValueError(f"the {framework} serving image does not batch requests")
    if caching is not None:
        if not own_image:
            raise ValueError("SageMaker endpoints do not cache responses")
        env["MLOPS_CACHE_TTL_SECONDS"] = str(caching.ttl_seconds)
    return env


def rollback_alarm_names(plan: Plan, model: ModelPlan) -> list[str]:
    """The alarms that roll a rollout back (created by SageMakerEndpoint; none without auto_rollback)."""
    s = model.serving
    if s is None or not s.delivery.auto_rollback:
        return []
    names = [alarm_name(plan, model.name, "errors")]
    if _latency_ms(model) is not None:
        names.insert(0, alarm_name(plan, model.name, "latency"))
    return names


def deployment_config(plan: Plan, model: ModelPlan) -> dict[str, Any] | None:
    """UpdateEndpoint's DeploymentConfig (the API's JSON) for a real-time model; None: SageMaker's default."""
    s = model.serving
    if s is None:
        return None
    d = s.delivery
    wait = d.bake_minutes * 60
    alarms = rollback_alarm_names(plan, model)
    config: dict[str, Any]
    if d.strategy == DeliveryStrategy.rolling:
        config = {"RollingUpdatePolicy": {
            # A share of the instances per batch: the plan's first step (SageMaker sizes batches, not traffic).
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": d.steps[0]},
            "WaitIntervalInSeconds": wait,
            "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 100},
        }}
    elif d.strategy == DeliveryStrategy.canary:
        config = {"BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": wait,
                                            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": d.steps[0]}},
            "TerminationWaitInSeconds": wait,
        }}
    elif d.strategy == DeliveryStrategy.blue_green or alarms:
        # All traffic at once, then a baking period during which the alarms can still roll back.
        config = {"BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": wait},
            "TerminationWaitInSeconds": wait if d.strategy == DeliveryStrategy.blue_green else 0,
        }}
    else:
        return None
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return config


def _deployment_args(config: dict[str, Any] | None) -> aws.sagemaker.EndpointDeploymentConfigArgs | None:
    """The same configuration as the provider's typed arguments."""
    if config is None:
        return None
    rollback = config.get("AutoRollbackConfiguration")
    rollback_args = aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationArgs(
        alarms=[aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationAlarmArgs(alarm_name=a["AlarmName"])
                for a in rollback["Alarms"]]) if rollback else None
    if "RollingUpdatePolicy" in config:
        r = config["RollingUpdatePolicy"]
        return aws.sagemaker.EndpointDeploymentConfigArgs(
            rolling_update_policy=aws.sagemaker.EndpointDeploymentConfigRollingUpdatePolicyArgs(
                maximum_batch_size=aws.sagemaker.EndpointDeploymentConfigRollingUpdatePolicyMaximumBatchSizeArgs(
                    type=r["MaximumBatchSize"]["Type"], value=r["MaximumBatchSize"]["Value"]),
                wait_interval_in_seconds=r["WaitIntervalInSeconds"],
                rollback_maximum_batch_size=aws.sagemaker.
                EndpointDeploymentConfigRollingUpdatePolicyRollbackMaximumBatchSizeArgs(
                    type=r["RollbackMaximumBatchSize"]["Type"], value=r["RollbackMaximumBatchSize"]["Value"]),
            ),
            auto_rollback_configuration=rollback_args,
        )
    b = config["BlueGreenUpdatePolicy"]
    t = b["TrafficRoutingConfiguration"]
    canary = t.get("CanarySize")
    return aws.sagemaker.EndpointDeploymentConfigArgs(
        blue_green_update_policy=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyArgs(
            traffic_routing_configuration=aws.sagemaker.
            EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationArgs(
                type=t["Type"], wait_interval_in_seconds=t["WaitIntervalInSeconds"],
                canary_size=aws.sagemaker.
                EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationCanarySizeArgs(
                    type=canary["Type"], value=canary["Value"]) if canary else None),
            termination_wait_in_seconds=b["TerminationWaitInSeconds"],
        ),
        auto_rollback_configuration=rollback_args,
    )


def _latency_ms(model: ModelPlan) -> int | None:
    sre = model.monitoring.sre
    if sre is not None and sre.latency_p99_ms is not None:
        return sre.latency_p99_ms
    return model.serving.latency_p99_ms if model.serving else None


def _error_rate(model: ModelPlan) -> float:
    sre = model.monitoring.sre
    return sre.error_rate_percent if sre is not None else 1.0


def shadow_instances(serving: ServingPlan) -> int:
    """Capacity of the shadow variant: its share of the champion's, at least one instance."""
    if serving.shadow is None:
        return 0
    return max(1, math.ceil(serving.min_instances * serving.shadow.sample_percent / 100))


# --------------------------------------------------------------------------- shared building blocks


def serving_image(parent: pulumi.Resource, plan: Plan, model: ModelPlan, instance_type: str,
                  own_image: OwnImage | None) -> pulumi.Output[str]:
    """SageMaker's inference image of the framework, or the team's own image (its repository, the stack's tag)."""
    image = prebuilt(model.framework, "inference")
    if image is not None:
        return aws.sagemaker.get_prebuilt_ecr_image_output(
            repository_name=image.repository, image_tag=image.tag_for(is_gpu(instance_type)), region=plan.region,
            opts=pulumi.InvokeOutputOptions(parent=parent)).registry_path
    if own_image is None:
        raise ValueError(f"{model.name}: the {model.framework} framework needs its image repository")
    return own_image.uri


def network_statements(plan: Plan, account: pulumi.Input[str], vpc: VpcConfig | None) -> list[Statement]:
    """What SageMaker needs to attach a model's or job's instances to the platform's subnets."""
    if vpc is None:
        return []
    ec2 = f"arn:{partition(plan.region)}:ec2:{plan.region}"
    interfaces = account_arn(plan, account, "ec2", "network-interface/*")
    attach = pulumi.Output.all(interfaces, pulumi.Output.from_input(vpc.subnet_ids),
                               pulumi.Output.from_input(vpc.security_group_ids), account).apply(
        lambda v: [v[0], *(f"{ec2}:{v[3]}:subnet/{i}" for i in v[1]),
                   *(f"{ec2}:{v[3]}:security-group/{i}" for i in v[2])])
    return [
        # One flat list of ARNs: the platform's subnets and security groups, and the interfaces.
        Statement(Sid="AttachToPlatformSubnets", Effect="Allow", Action="ec2:CreateNetworkInterface",
                  Resource=cast(Any, attach)),
        Statement(Sid="ManageNetworkInterfaces", Effect="Allow",
                  Action=["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
                          "ec2:DeleteNetworkInterfacePermission"],
                  Resource=interfaces),
        # EC2 Describe* calls have no resource-level permissions.
        Statement(Sid="DescribeNetwork", Effect="Allow",
                  Action=["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                          "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"], Resource="*"),
    ]


def own_image_statements(model: ModelPlan, own_image: OwnImage | None) -> list[Statement]:
    """Pulls of the team's own image, for the role that serves it (SageMaker pulls its prebuilt images itself)."""
    if prebuilt(model.framework, "inference") is not None or own_image is None:
        return []
    return own_image.pull_statements()


def _s3(bucket: pulumi.Input[str], key: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("s3://", bucket, "/", key)


def _object_arns(bucket_arn: pulumi.Input[str], *prefixes: str) -> list[pulumi.Input[str]]:
    return [pulumi.Output.concat(bucket_arn, "/", p) for p in prefixes]


def _model_args(plan: Plan, model: ModelPlan, *, model_name: str, image: pulumi.Input[str],
                model_data_url: pulumi.Input[str], role_arn: pulumi.Input[str], vpc: VpcConfig | None,
                environment: dict[str, str]) -> aws.sagemaker.ModelArgs:
    return aws.sagemaker.ModelArgs(
        name=model_name,
        execution_role_arn=role_arn,
        primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
            image=image, model_data_url=model_data_url, environment=environment or None, mode="SingleModel"),
        # The container gets no network at all: it cannot send data anywhere, whatever its code does.
        enable_network_isolation=True,
        vpc_config=aws.sagemaker.ModelVpcConfigArgs(subnets=vpc.subnet_ids, security_group_ids=vpc.security_group_ids)
        if vpc is not None else None,
        tags=dict(plan.tags),
    )


# --------------------------------------------------------------------------- real-time endpoint


@builds(Capability.serving, Capability.autoscaling, Capability.progressive_delivery, Capability.shadow_deployment,
        Capability.prediction_logging)
class SageMakerEndpoint(pulumi.ComponentResource):
    """A real-time SageMaker endpoint for one model, with guarded rollouts and autoscaling.

    Creates: `-role` + `-policy` (the models' execution role: read this model's artifacts, write
    its captured requests and endpoint logs, the platform key, the platform subnets),
    `-logs` (the endpoint's log group `/aws/sagemaker/Endpoints/<endpoint>`, KMS, the plan's
    retention, protected in prod), `-model` (the champion: framework image, champion artifact,
    network isolation, VPC when isolated), `-challenger-model` (when shadow testing), `-config`
    (endpoint configuration: KMS, the `champion` production variant with the plan's instance type
    and count, the `shadow` variant with the sample share, data capture of the logged share,
    KMS-encrypted), the rollback alarms `-latency-alarm` (p99 ModelLatency against the SLA, in
    microseconds) and `-errors-alarm` (5xx rate) when SRE alarms or auto-rollback are on,
    `-endpoint` (deployment configuration from the blueprint's delivery), and with autoscaling
    `-scaling-target` (min/max instances) and `-scaling-policy` (target tracking on invocations per
    instance, or on CPU utilisation normalised per vCPU).

    With `create_endpoint=False` (endpoints deferred for a first deployment) it stops after the
    configuration: no alarms, endpoint or autoscaling.

    Outputs: endpoint_name, endpoint_arn (endpoint_config_name while deferred).
    """

    endpoint: aws.sagemaker.Endpoint | None
    """None while endpoints are deferred (stack setting `mlops:endpoints: defer`)."""

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, kms_key_arn: pulumi.Input[str],
                 artifact_bucket: aws.s3.Bucket, data_bucket: aws.s3.Bucket, vpc: VpcConfig | None,
                 alarm_topic_arn: pulumi.Input[str] | None, create_endpoint: bool = True,
                 own_image: OwnImage | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}SageMakerEndpoint", name, None, opts)
        serving = model.serving
        if serving is None or serving.mode.value != "realtime":
            raise ValueError(f"{model.name}: SageMakerEndpoint serves real-time models only")
        tags = dict(plan.tags)
        account = account_id(plan, self)
        endpoint = endpoint_name(plan, model.name)
        instance_type = ml_instance_type(serving.instance)
        logging_percent = model.monitoring.prediction_logging_percent

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            aws.cloudwatch.LogGroupArgs(name=f"/aws/sagemaker/Endpoints/{endpoint}", kms_key_id=kms_key_arn,
                                        retention_in_days=plan.log_retention_days, tags=tags),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        statements = [
            Statement(Sid="ReadModelArtifacts", Effect="Allow", Action="s3:GetObject",
                      Resource=_object_arns(artifact_bucket.arn, f"models/{model.name}/*")),
            Statement(Sid="WriteCapturedRequests", Effect="Allow", Action=["s3:PutObject", "s3:AbortMultipartUpload"],
                      Resource=_object_arns(data_bucket.arn, f"{capture_prefix(model.name)}/*")),
            Statement(Sid="UsePlatformKey", Effect="Allow",
                      Action=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                      Resource=kms_key_arn),
            # Encrypted instance volumes are attached through a grant to the EC2 service.
            Statement(Sid="GrantKeyToInstanceVolumes", Effect="Allow", Action="kms:CreateGrant",
                      Resource=kms_key_arn, Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
            Statement(Sid="WriteEndpointLogs", Effect="Allow",
                      Action=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                      Resource=pulumi.Output.concat(log_group.arn, ":*")),
            # cloudwatch:PutMetricData has no resource-level permission: limited to SageMaker's namespaces.
            Statement(Sid="PublishEndpointMetrics", Effect="Allow", Action="cloudwatch:PutMetricData", Resource="*",
                      Condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}),
            *own_image_statements(model, own_image),
            *network_statements(plan, account, vpc),
        ]
        role, policy = sagemaker_role(self, name, plan, account, f"serves {model.name}", statements)
        self.role = role
        image = serving_image(self, plan, model, instance_type, own_image)
        environment = container_environment(model.framework, serving.batching, serving.caching)
        # Models and endpoint configurations cannot change in place: their names carry a digest of
        # what the plan sets, so a change creates the new one before the old one is deleted.
        # Only what the model or configuration hold goes into the digest: a quality-gate or alarm change
        # leaves the endpoint alone.
        digest = short_hash(model.framework, instance_type, json.dumps(environment, sort_keys=True),
                            str(vpc is not None))
        config_digest = short_hash(digest, str(serving.min_instances), str(logging_percent),
                                   serving.shadow.model_dump_json() if serving.shadow else "")
        champion = aws.sagemaker.Model(
            f"{name}-model",
            _model_args(plan, model, model_name=sagemaker_name(f"{endpoint}-{digest}"), image=image,
                        model_data_url=_s3(artifact_bucket.bucket, champion_model_key(model.name)),
                        role_arn=role.arn, vpc=vpc, environment=environment),
            opts=child(self, depends_on=[policy]),
        )
        variants = [aws.sagemaker.EndpointConfigurationProductionVariantArgs(
            variant_name=CHAMPION_VARIANT, model_name=champion.name, instance_type=instance_type,
            initial_instance_count=serving.min_instances, initial_variant_weight=1.0)]
        shadows: list[aws.sagemaker.EndpointConfigurationShadowProductionVariantArgs] | None = None
        if serving.shadow is not None:
            challenger = aws.sagemaker.Model(
                f"{name}-challenger-model",
                _model_args(plan, model, model_name=sagemaker_name(f"{endpoint}-challenger-{digest}"), image=image,
                            model_data_url=_s3(artifact_bucket.bucket, challenger_model_key(model.name)),
                            role_arn=role.arn, vpc=vpc, environment=environment),
                opts=child(self, depends_on=[policy]),
            )
            # A shadow's weight relative to the production variant's is the share of requests copied to it.
            shadows = [aws.sagemaker.EndpointConfigurationShadowProductionVariantArgs(
                variant_name=SHADOW_VARIANT, model_name=challenger.name, instance_type=instance_type,
                initial_instance_count=shadow_instances(serving),
                initial_variant_weight=serving.shadow.sample_percent / 100)]
        capture = aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
            enable_capture=True, initial_sampling_percentage=int(logging_percent),
            destination_s3_uri=_s3(data_bucket.bucket, capture_prefix(model.name)), kms_key_id=kms_key_arn,
            capture_options=[aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode=m)
                             for m in ("Input", "Output")],
        ) if logging_percent else None
        config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            aws.sagemaker.EndpointConfigurationArgs(
                name=sagemaker_name(f"{endpoint}-{config_digest}"), kms_key_arn=kms_key_arn,
                production_variants=variants,
                shadow_production_variants=shadows, data_capture_config=capture, tags=tags),
            opts=child(self),
        )
        if not create_endpoint:
            # First deployment: no champion artifact exists yet, so an endpoint could not start. Its
            # role, model and configuration are ready; the deployer stages the first approved version
            # and the next `pulumi up` (endpoints no longer deferred) creates the endpoint.
            self.endpoint = None
            self.register_outputs({"endpoint_config_name": config.name})
            return
        alarms = self._rollback_alarms(name, plan, model, endpoint, alarm_topic_arn)
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            aws.sagemaker.EndpointArgs(name=endpoint, endpoint_config_name=config.name,
                                       deployment_config=_deployment_args(deployment_config(plan, model)), tags=tags),
            # The rollback alarms must exist before a rollout can watch them.
            opts=child(self, depends_on=[*alarms, log_group]),
        )
        if serving.autoscaling is not None:
            self._autoscaling(name, plan, serving, endpoint, instance_type, self.endpoint)
        self.register_outputs({"endpoint_name": self.endpoint.name, "endpoint_arn": self.endpoint.arn})

    def _rollback_alarms(self, name: str, plan: Plan, model: ModelPlan, endpoint: str,
                         topic_arn: pulumi.Input[str] | None) -> list[aws.cloudwatch.MetricAlarm]:
        """Latency and 5xx alarms: SRE alarms that page, and the signals a rollout rolls back on."""
        if model.monitoring.sre is None and not rollback_alarm_names(plan, model):
            return []
        actions = [topic_arn] if topic_arn is not None else None
        dims = {"EndpointName": endpoint, "VariantName": CHAMPION_VARIANT}
        created = []
        latency = _latency_ms(model)
        if latency is not None:
            created.append(aws.cloudwatch.MetricAlarm(
                f"{name}-latency-alarm",
                aws.cloudwatch.MetricAlarmArgs(
                    name=alarm_name(plan, model.name, "latency"),
                    alarm_description=f"{model.name}: p99 model latency above the {latency} ms SLA",
                    namespace=SAGEMAKER, metric_name="ModelLatency", dimensions=dims,
                    extended_statistic="p99", period=60, evaluation_periods=5, datapoints_to_alarm=3,
                    threshold=latency * 1000.0,  # ModelLatency is reported in microseconds
                    comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
                    alarm_actions=actions, ok_actions=actions, tags=dict(plan.tags)),
                opts=child(self)))
        created.append(aws.cloudwatch.MetricAlarm(
            f"{name}-errors-alarm",
            aws.cloudwatch.MetricAlarmArgs(
                name=alarm_name(plan, model.name, "errors"),
                alarm_description=f"{model.name}: more than {_error_rate(model):g} % of requests fail with 5xx",
                metric_queries=error_rate_queries(dims, ["Invocation5XXErrors"]),
                evaluation_periods=5, datapoints_to_alarm=3, threshold=_error_rate(model),
                comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
                alarm_actions=actions, ok_actions=actions, tags=dict(plan.tags)),
            opts=child(self)))
        return created

    def _autoscaling(self, name: str, plan: Plan, serving: ServingPlan, endpoint: str, instance_type: str,
                     created: aws.sagemaker.Endpoint) -> None:
        assert serving.autoscaling is not None
        resource_id = f"endpoint/{endpoint}/variant/{CHAMPION_VARIANT}"
        target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            aws.appautoscaling.TargetArgs(service_namespace="sagemaker", resource_id=resource_id,
                                          scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                                          min_capacity=serving.min_instances, max_capacity=serving.max_instances,
                                          tags=dict(plan.tags)),
            opts=child(self, depends_on=[created]),
        )
        scaling = serving.autoscaling
        if scaling.target_requests_per_instance is not None:
            tracking = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=float(scaling.target_requests_per_instance),
                predefined_metric_specification=aws.appautoscaling.
                PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="SageMakerVariantInvocationsPerInstance"),
                scale_in_cooldown=SCALE_IN_COOLDOWN, scale_out_cooldown=SCALE_OUT_COOLDOWN)
        else:
            # CPUUtilization sums the cores (up to 100 % per vCPU): track the per-vCPU average.
            metric = aws.appautoscaling
            tracking = metric.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=float(scaling.target_utilization_percent),
                customized_metric_specification=metric.
                PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationArgs(metrics=[
                    metric.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArgs(
                        id="cpu", return_data=False,
                        metric_stat=metric.
                        PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatArgs(
                            stat="Average",
                            metric=metric.
                            PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricArgs(
                                namespace=ENDPOINT_METRICS, metric_name="CPUUtilization",
                                dimensions=[
                                    metric.
                                    PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArgs(
                                        name=k, value=v)
                                    for k, v in (("EndpointName", endpoint), ("VariantName", CHAMPION_VARIANT))]))),
                    metric.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArgs(
                        id="cpu_per_vcpu", expression=f"cpu / {vcpus(instance_type)}", return_data=True,
                        label="CPU utilisation per vCPU"),
                ]),
                scale_in_cooldown=SCALE_IN_COOLDOWN, scale_out_cooldown=SCALE_OUT_COOLDOWN)
        aws.appautoscaling.Policy(
            f"{name}-scaling-policy",
            aws.appautoscaling.PolicyArgs(
                name=f"{endpoint}-target-tracking", policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace, resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                target_tracking_scaling_policy_configuration=tracking),
            opts=child(self),
        )


def error_rate_queries(dims: dict[str, str], errors: Sequence[str],
                  period: int = 60) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """Metric math: 100 · (sum of `errors`) / Invocations, per minute."""
    def stat(metric_id: str, metric: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=metric_id, return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(namespace=SAGEMAKER, metric_name=metric,
                                                                   dimensions=dims, stat="Sum", period=period))
    ids = [f"e{i}" for i in range(len(errors))]
    return [
        stat("invocations", "Invocations"),
        *(stat(i, m) for i, m in zip(ids, errors, strict=True)),
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="rate", return_data=True, label="error rate (%)",
            expression=f"IF(invocations > 0, 100 * ({' + '.join(ids)}) / invocations, 0)"),
    ]


# --------------------------------------------------------------------------- batch transform


@builds(Capability.serving)
class SageMakerBatchTransform(pulumi.ComponentResource):
    """Scheduled batch predictions for one model: SageMaker transform jobs of the champion.

    Creates: `-role` + `-policy` (the model's execution role: read the champion and the batch
    input, write the output, the platform key and subnets), `-model` (framework image, champion
    artifact, network isolation, VPC when isolated), `-scheduler-role` + `-scheduler-policy`
    (EventBridge Scheduler may start this model's transform jobs, nothing else), `-dlq` (SQS, KMS:
    schedule invocations that failed) and `-schedule` (EventBridge Scheduler, the blueprint's cron
    in UTC, universal target `sagemaker:createTransformJob`: input
    `s3://<data>/batch/<model>/input/`, output `output_uri`, KMS on volumes and output).

    Outputs: model_name, schedule_name.
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, kms_key_arn: pulumi.Input[str],
                 artifact_bucket: aws.s3.Bucket, data_bucket: aws.s3.Bucket, vpc: VpcConfig | None,
                 own_image: OwnImage | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}SageMakerBatchTransform", name, None, opts)
        serving = model.serving
        if serving is None or serving.mode.value != "batch" or serving.schedule is None:
            raise ValueError(f"{model.name}: SageMakerBatchTransform needs a scheduled batch model")
        tags = dict(plan.tags)
        account = account_id(plan, self)
        instance_type = ml_instance_type(serving.instance)
        output_uri: pulumi.Input[str] = serving.output_uri or _s3(artifact_bucket.bucket, f"batch/{model.name}/output/")
        output_arn = batch_output_arn(plan, serving.output_uri, artifact_bucket.arn, model.name)
        statements = [
            Statement(Sid="ReadModelAndInput", Effect="Allow", Action="s3:GetObject",
                      Resource=[*_object_arns(artifact_bucket.arn, f"models/{model.name}/*"),
                                *_object_arns(data_bucket.arn, f"{batch_input_prefix(model.name)}/*")]),
            Statement(Sid="ListInput", Effect="Allow", Action="s3:ListBucket", Resource=data_bucket.arn,
                      Condition={"StringLike": {"s3:prefix": f"{batch_input_prefix(model.name)}/*"}}),
            Statement(Sid="WritePredictions", Effect="Allow", Action=["s3:PutObject", "s3:AbortMultipartUpload"],
                      Resource=output_arn),
            Statement(Sid="UsePlatformKey", Effect="Allow",
                      Action=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                      Resource=kms_key_arn),
            Statement(Sid="GrantKeyToInstanceVolumes", Effect="Allow", Action="kms:CreateGrant",
                      Resource=kms_key_arn, Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
            Statement(Sid="WriteJobLogs", Effect="Allow",
                      Action=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                              "logs:DescribeLogStreams"],
                      Resource=account_arn(plan, account, "logs", "log-group:/aws/sagemaker/TransformJobs:*")),
            Statement(Sid="PublishJobMetrics", Effect="Allow", Action="cloudwatch:PutMetricData", Resource="*",
                      Condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}),
            *own_image_statements(model, own_image),
            *network_statements(plan, account, vpc),
        ]
        role, policy = sagemaker_role(self, name, plan, account, f"batch predictions of {model.name}", statements)
        self.role = role
        environment = container_environment(model.framework, serving.batching, None)
        digest = short_hash(model.framework, instance_type, json.dumps(environment, sort_keys=True),
                            str(vpc is not None))
        model_name = sagemaker_name(f"{plan.prefix}-{model.name}-batch-{digest}")
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            _model_args(plan, model, model_name=model_name,
                        image=serving_image(self, plan, model, instance_type, own_image),
                        model_data_url=_s3(artifact_bucket.bucket, champion_model_key(model.name)),
                        role_arn=role.arn, vpc=vpc, environment=environment),
            opts=child(self, depends_on=[policy]),
        )
        dlq = aws.sqs.Queue(
            f"{name}-dlq",
            aws.sqs.QueueArgs(name=sagemaker_name(f"{plan.prefix}-{model.name}-batch-dlq"),
                              kms_master_key_id=kms_key_arn, kms_data_key_reuse_period_seconds=300,
                              message_retention_seconds=14 * 24 * 3600, tags=tags),
            opts=child(self),
        )
        jobs = account_arn(plan, account, "sagemaker", f"transform-job/{model.name}-{plan.environment}-*")
        scheduler_trust = Statement(Effect="Allow", Principal={"Service": "scheduler.amazonaws.com"},
                                    Action="sts:AssumeRole",
                                    Condition={"StringEquals": {"aws:SourceAccount": account}})
        scheduler_role = aws.iam.Role(
            f"{name}-scheduler-role",
            aws.iam.RoleArgs(description=f"{plan.prefix}: starts the batch predictions of {model.name}",
                             assume_role_policy=policy_document(scheduler_trust), max_session_duration=3600,
                             tags=tags),
            opts=child(self),
        )
        scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            aws.iam.RolePolicyArgs(role=scheduler_role.id, policy=policy_document(
                Statement(Sid="StartTransformJobs", Effect="Allow",
                          Action=["sagemaker:CreateTransformJob", "sagemaker:AddTags"], Resource=jobs),
                Statement(Sid="DeadLetter", Effect="Allow", Action="sqs:SendMessage", Resource=dlq.arn),
                Statement(Sid="UsePlatformKey", Effect="Allow", Action=["kms:GenerateDataKey", "kms:Decrypt"],
                          Resource=kms_key_arn),
            )),
            opts=child(self),
        )
        volume = {"VolumeKmsKeyId": kms_key_arn}
        job = pulumi.Output.json_dumps({
            # Scheduler fills in its execution id: a fresh, valid job name per run.
            "TransformJobName": f"{model.name}-{plan.environment}-<aws.scheduler.execution-id>",
            "ModelName": self.model.name,
            "BatchStrategy": "MultiRecord",
            "TransformInput": {
                "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": _s3(data_bucket.bucket, f"{batch_input_prefix(model.name)}/")}},
                "ContentType": "text/csv", "SplitType": "Line"},
            "TransformOutput": {"S3OutputPath": output_uri, "KmsKeyId": kms_key_arn, "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": instance_type, "InstanceCount": serving.max_instances, **volume},
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        })
        self.schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            aws.scheduler.ScheduleArgs(
                name=batch_schedule_name(plan, model.name),
                description=f"Batch predictions of {model.name} ({plan.prefix})",
                schedule_expression=eventbridge_cron(serving.schedule), schedule_expression_timezone="UTC",
                kms_key_arn=kms_key_arn,  # the job request (bucket names, key ARN) is encrypted at rest
                flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                target=aws.scheduler.ScheduleTargetArgs(
                    arn="arn:aws:scheduler:::aws-sdk:sagemaker:createTransformJob",
                    role_arn=scheduler_role.arn, input=job,
                    retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(maximum_retry_attempts=3,
                                                                             maximum_event_age_in_seconds=3600),
                    dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(arn=dlq.arn)),
            ),
            opts=child(self, depends_on=[scheduler_policy]),
        )
        self.register_outputs({"model_name": self.model.name, "schedule_name": self.schedule.name})


def batch_output_arn(plan: Plan, output_uri: str | None, artifact_bucket_arn: pulumi.Output[str],
                model: str) -> pulumi.Input[str]:
    """ARN pattern of the objects a batch job writes (the blueprint's `output_uri`, else the artifacts)."""
    if output_uri is None:
        return pulumi.Output.concat(artifact_bucket_arn, f"/batch/{model}/output/*")
    bucket, _, prefix = output_uri.removeprefix("s3://").partition("/")
    return f"arn:{partition(plan.region)}:s3:::{bucket}/{prefix.rstrip('/') + '/' if prefix else ''}*"


def deployment_config_json(plan: Plan, model: ModelPlan) -> str:
    """The deployment configuration the deployer passes to UpdateEndpoint (empty: SageMaker's default)."""
    config = deployment_config(plan, model)
    return json.dumps(config, sort_keys=True) if config else ""
