"""Deploy on approval: EventBridge "SageMaker Model Package State Change" → this function.

An Approved package of this model's group becomes the champion:
1. its model artifact is staged as the champion (`CHAMPION_KEY` in `ARTIFACT_BUCKET`), so a
   re-created endpoint or batch job serves the approved model (and, with a shadow variant and no
   challenger yet, as the challenger too), and its baselines under `BASELINE_PREFIX` for the
   monitors: data-quality statistics and constraints (the package's DriftCheckBaselines, else the
   ModelMetrics.ModelDataQuality the training pipeline's Baseline step registers) and model-quality
   constraints;
2. a SageMaker model is created from the package (the package's image and artifact; the serving
   role, network isolation and subnets) and an endpoint configuration copied from the one the
   endpoint runs, with the champion variant switched to the new model at its current instance count
   (autoscaling may have changed it);
3. UpdateEndpoint rolls it out with the blueprint's deployment configuration (canary, linear or
   all-at-once traffic shifting, automatic rollback on the endpoint's alarms).

With a shadow variant (`SHADOW_VARIANT`), a package registered PendingManualApproval becomes the
challenger the same way (staged at `CHALLENGER_KEY`, the shadow variant switched to it): it sees
mirrored live traffic while it waits for its approvers. Where the environment requires no approval
(`AUTO_APPROVE` "true"; never with a shadow), a pending package is approved here instead, and its
Approved event deploys it.

Re-delivered events are harmless: names derive from the package version and existing resources are
reused. An endpoint that is not InService raises, so Lambda retries, then the dead-letter queue
keeps the event. No endpoint yet (first deployment): the artifacts are staged and `pulumi up`
creates the endpoint from them. A batch model (`ENDPOINT_NAME` empty) only stages the champion.

Environment: ENDPOINT_NAME, MODEL_PACKAGE_GROUP, EXECUTION_ROLE_ARN, ARTIFACT_BUCKET, CHAMPION_KEY,
CHALLENGER_KEY, BASELINE_PREFIX, KMS_KEY_ARN, CHAMPION_VARIANT, SHADOW_VARIANT (empty without a
shadow), NETWORK_ISOLATION ("true"/"false"), SUBNETS and SECURITY_GROUPS (comma-separated, empty
outside a VPC), DEPLOYMENT_CONFIG (JSON, UpdateEndpoint's DeploymentConfig; empty for none), TAGS
(JSON object), AUTO_APPROVE ("true"/"false").
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
NAME_LIMIT = 63


class EndpointBusy(Exception):
    """The endpoint is being created or updated: raise so Lambda retries later."""


def _name(base: str, suffix: str) -> str:
    name = f"{base}-{suffix}"
    if len(name) <= NAME_LIMIT:
        return name
    return f"{name[:NAME_LIMIT - 7]}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def _not_found(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    message = response.get("Error", {}).get("Message", "")
    return code in ("ValidationException", "ResourceNotFound") and (
        "not found" in message.lower() or "could not find" in message.lower() or "does not exist" in message.lower())


def _tags() -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(json.loads(os.environ.get("TAGS") or "{}").items())]


def _copy(s3: Any, source_uri: str, key: str) -> None:
    bucket, source_key = _split_s3(source_uri)
    s3.copy({"Bucket": bucket, "Key": source_key}, os.environ["ARTIFACT_BUCKET"], key,
            ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": os.environ["KMS_KEY_ARN"]})


def _exists(s3: Any, key: str) -> bool:
    try:
        s3.head_object(Bucket=os.environ["ARTIFACT_BUCKET"], Key=key)
        return True
    except Exception as error:
        code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def stage_artifacts(s3: Any, package: dict[str, Any], role: str) -> list[str]:
    """Copy the package's artifact (and, for a champion, its drift-check baselines) where serving and
    monitoring read them."""
    staged = []
    container = package["InferenceSpecification"]["Containers"][0]
    keys = [os.environ["CHAMPION_KEY"]] if role == "champion" else [os.environ["CHALLENGER_KEY"]]
    if role == "champion" and os.environ.get("SHADOW_VARIANT") and not _exists(s3, os.environ["CHALLENGER_KEY"]):
        keys.append(os.environ["CHALLENGER_KEY"])  # the shadow needs something to serve from the start
    if container.get("ModelDataUrl"):
        for key in keys:
            _copy(s3, container["ModelDataUrl"], key)
            staged.append(key)
    if role != "champion":
        return staged
    baselines = package.get("DriftCheckBaselines") or {}
    # The training pipeline registers its drift baseline as the package's data-quality metrics (the
    # published pipeline definition schema has no DriftCheckBaselines); explicit drift-check baselines
    # (a package registered another way) take precedence.
    metrics = package.get("ModelMetrics") or {}
    data_quality = baselines.get("ModelDataQuality") or metrics.get("ModelDataQuality") or {}
    prefix = os.environ["BASELINE_PREFIX"]
    wanted = {
        f"{prefix}/statistics.json": data_quality.get("Statistics"),
        f"{prefix}/constraints.json": data_quality.get("Constraints"),
        f"{prefix}/model-quality/constraints.json": (baselines.get("ModelQuality") or {}).get("Constraints"),
    }
    for key, source in wanted.items():
        if source and source.get("S3Uri"):
            _copy(s3, source["S3Uri"], key)
            staged.append(key)
    return staged


def _ensure_model(sagemaker: Any, name: str, package_arn: str) -> None:
    try:
        sagemaker.describe_model(ModelName=name)
        return
    except Exception as error:  # botocore ClientError; the name says whether it exists
        if not _not_found(error):
            raise
    request: dict[str, Any] = {
        "ModelName": name,
        "PrimaryContainer": {"ModelPackageName": package_arn},
        "ExecutionRoleArn": os.environ["EXECUTION_ROLE_ARN"],
        "EnableNetworkIsolation": os.environ.get("NETWORK_ISOLATION", "true") == "true",
        "Tags": _tags(),
    }
    subnets = [s for s in os.environ.get("SUBNETS", "").split(",") if s]
    groups = [g for g in os.environ.get("SECURITY_GROUPS", "").split(",") if g]
    if subnets:
        request["VpcConfig"] = {"Subnets": subnets, "SecurityGroupIds": groups}
    sagemaker.create_model(**request)


# Fields of DescribeEndpointConfig that CreateEndpointConfig accepts again.
_CONFIG_FIELDS = ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig", "ExplainerConfig",
                  "ShadowProductionVariants", "ExecutionRoleArn", "VpcConfig", "EnableNetworkIsolation")


def endpoint_config_request(current: dict[str, Any], endpoint: dict[str, Any], name: str, model_name: str,
                            variant_name: str) -> dict[str, Any]:
    """The new configuration: the current one, with `variant_name` serving `model_name` (a production
    variant keeps the instance count it runs at now)."""
    counts = {v["VariantName"]: v.get("CurrentInstanceCount") for v in endpoint.get("ProductionVariants", [])}
    found = False

    def switched(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
        nonlocal found
        result = []
        for variant in variants:
            variant = {k: v for k, v in variant.items() if k != "VariantStatus"}
            if variant["VariantName"] == variant_name:
                found = True
                variant["ModelName"] = model_name
                if counts.get(variant_name):
                    variant["InitialInstanceCount"] = counts[variant_name]
            result.append(variant)
        return result

    request: dict[str, Any] = {"EndpointConfigName": name, "Tags": _tags(),
                               "ProductionVariants": switched(current["ProductionVariants"])}
    request.update({k: current[k] for k in _CONFIG_FIELDS if current.get(k)})
    if current.get("ShadowProductionVariants"):
        request["ShadowProductionVariants"] = switched(current["ShadowProductionVariants"])
    if not found:
        raise ValueError(f"endpoint configuration {current['EndpointConfigName']} has no variant {variant_name!r}")
    return request


# Approval status of the event → what the package becomes.
ROLES = {"Approved": "champion", "PendingManualApproval": "challenger"}


def handler(event: dict[str, Any], context: Any, sagemaker: Any = None, s3: Any = None) -> dict[str, Any]:
    if sagemaker is None or s3 is None:
        import boto3  # the Lambda runtime provides it; tests pass fakes

        sagemaker = sagemaker or boto3.client("sagemaker")
        s3 = s3 or boto3.client("s3")
    detail = event.get("detail") or {}
    group = os.environ["MODEL_PACKAGE_GROUP"]
    status = detail.get("ModelApprovalStatus")
    role = ROLES.get(status or "")
    shadow = os.environ.get("SHADOW_VARIANT", "")
    endpoint_name = os.environ.get("ENDPOINT_NAME", "")
    auto_approve = os.environ.get("AUTO_APPROVE") == "true"
    if detail.get("ModelPackageGroupName") == group and role == "challenger" and auto_approve and not shadow:
        package_arn = detail["ModelPackageArn"]
        package = sagemaker.describe_model_package(ModelPackageName=package_arn)
        if package.get("ModelApprovalStatus") != status:  # changed since the event was sent
            return {"status": "ignored"}
        sagemaker.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved",
                                       ApprovalDescription="approved automatically: this environment requires "
                                                           "no approval")
        LOG.info("approved %s: its Approved event deploys it", package_arn)
        return {"status": "approved"}
    if detail.get("ModelPackageGroupName") != group or role is None or (role == "challenger" and not shadow):
        LOG.info("ignored: %s in %s is not for this deployer", status, detail.get("ModelPackageGroupName"))
        return {"status": "ignored"}
    package_arn = detail["ModelPackageArn"]
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    if package.get("ModelApprovalStatus") != status:  # changed since the event was sent
        LOG.info("ignored: %s is %s now", package_arn, package.get("ModelApprovalStatus"))
        return {"status": "ignored"}
    version = package.get("ModelPackageVersion") or package_arn.rsplit("/", 1)[-1]
    staged = stage_artifacts(s3, package, role)
    if not endpoint_name:  # a batch model: the next scheduled transform uses the staged champion
        return {"status": "staged", "staged": staged}
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except Exception as error:
        if not _not_found(error):
            raise
        LOG.info("endpoint %s does not exist yet: %s staged for `pulumi up`", endpoint_name, role)
        return {"status": "staged", "staged": staged}
    if endpoint["EndpointStatus"] != "InService":
        raise EndpointBusy(f"{endpoint_name} is {endpoint['EndpointStatus']}: retry later")
    variant = os.environ.get("CHAMPION_VARIANT", "champion") if role == "champion" else shadow
    model_name = _name(endpoint_name, f"v{version}")
    _ensure_model(sagemaker, model_name, package_arn)
    config_name = _name(endpoint_name, f"v{version}" if role == "champion" else f"v{version}-{variant}")
    if endpoint["EndpointConfigName"] == config_name:
        return {"status": "already-deployed", "endpoint_config": config_name}
    try:
        sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    except Exception as error:
        if not _not_found(error):
            raise
        current = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        sagemaker.create_endpoint_config(**endpoint_config_request(current, endpoint, config_name, model_name,
                                                                   variant))
    update: dict[str, Any] = {"EndpointName": endpoint_name, "EndpointConfigName": config_name}
    deployment = os.environ.get("DEPLOYMENT_CONFIG")
    if deployment:
        update["DeploymentConfig"] = json.loads(deployment)
    sagemaker.update_endpoint(**update)
    LOG.info("deploying %s as %s of %s with %s", package_arn, role, endpoint_name, config_name)
    return {"status": "deploying", "role": role, "endpoint_config": config_name, "model": model_name,
            "staged": staged}
