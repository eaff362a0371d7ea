"""AWS: models that bring their own image (lightgbm, custom) get an ECR repository they are run from."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from accounts import ACCOUNTS
from capability_matrix import base, base_model
from shared_synth import synthesized

from components.aws.image_repository import UNTAGGED_DAYS
from mlops.synth import SynthError, SynthResult, synth

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
PULLS = {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}


def _blueprint(tmp: Path) -> str:
    doc = base("aws", name="ownimages")
    doc["models"] = [
        {**base_model("scorer"), "framework": "custom"},  # trained, served real-time
        {**base_model("ranker"), "framework": "lightgbm",
         "serving": {"mode": "batch", "schedule": "daily", "output_uri": "s3://scores/out/"}},
        base_model("plain"),  # xgboost: SageMaker's image, no repository
    ]
    path = tmp / "ownimages.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return str(path)


@cache
def _synth(environment: str, tags: str | None = None) -> SynthResult:
    import tempfile

    path = _blueprint(Path(tempfile.mkdtemp()))
    return synth(path, environment, config={"mlops:imageTags": tags} if tags else None)


def _of(result: SynthResult, kind: str) -> dict[str, Any]:
    return {r.name: r for r in result.resources if r.type == kind}


def _policies(result: SynthResult) -> dict[str, list[dict[str, Any]]]:
    """Inline role policies by resource name: their statements."""
    return {r.name: json.loads(r.inputs["policy"])["Statement"] for r in result.resources
            if r.type == "aws:iam/rolePolicy:RolePolicy"}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_a_repository_per_own_image_model_immutable_scanned_encrypted_kept(environment: str) -> None:
    result = _synth(environment)
    prefix = f"ownimages-{environment}"
    repositories = _of(result, REPOSITORY)
    assert set(repositories) == {f"{prefix}-scorer-images-repository", f"{prefix}-ranker-images-repository"}
    for model in ("scorer", "ranker"):
        r = repositories[f"{prefix}-{model}-images-repository"]
        assert r.inputs["name"] == f"{prefix}/{model}"
        assert r.inputs["imageTagMutability"] == "IMMUTABLE"
        assert r.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert r.inputs["encryptionConfigurations"] == [
            {"encryptionType": "KMS", "kmsKey": f"arn:mock:aws:kms/key:Key:{prefix}-foundation-key"}]
        assert r.inputs["forceDelete"] is False
        assert (r.protect, r.retain_on_delete) == ((True, True) if environment == "prod" else (False, False))
        rules = json.loads(_of(result, LIFECYCLE)[f"{prefix}-{model}-images-lifecycle"].inputs["policy"])["rules"]
        assert [rule["selection"] for rule in rules] == [{"tagStatus": "untagged", "countType": "sinceImagePushed",
                                                          "countUnit": "days",
                                                          "countNumber": UNTAGGED_DAYS[environment]}]
    account = ACCOUNTS["aws"][environment]  # the environment's account (capability_matrix.base pins each)
    assert result.outputs["container_registry"] == f"{account}.dkr.ecr.us-east-1.amazonaws.com/{prefix}"


def test_pipelines_endpoints_and_batch_models_run_the_image_at_the_default_tag() -> None:
    result = _synth("prod")
    registry = result.outputs["container_registry"]
    models = _of(result, "aws:sagemaker/model:Model")
    assert models["ownimages-prod-scorer-serving-model"].inputs["primaryContainer"]["image"] == f"{registry}/scorer:1"
    assert models["ownimages-prod-ranker-batch-model"].inputs["primaryContainer"]["image"] == f"{registry}/ranker:1"
    pipeline = _of(result, "aws:sagemaker/pipeline:Pipeline")["ownimages-prod-scorer-training-pipeline"]
    assert f'"TrainingImage":"{registry}/scorer:1"' in pipeline.inputs["pipelineDefinition"]
    assert f'"Image":"{registry}/scorer:1"' in pipeline.inputs["pipelineDefinition"]  # the registered version


def test_the_stack_setting_names_the_tag_of_each_model() -> None:
    result = _synth("prod", json.dumps({"scorer": "2024.06.1"}))
    registry = result.outputs["container_registry"]
    models = _of(result, "aws:sagemaker/model:Model")
    assert models["ownimages-prod-scorer-serving-model"].inputs["primaryContainer"]["image"] == \
        f"{registry}/scorer:2024.06.1"
    assert models["ownimages-prod-ranker-batch-model"].inputs["primaryContainer"]["image"] == f"{registry}/ranker:1"


def test_a_tag_set_with_path_as_a_number_is_that_tag() -> None:
    # `pulumi config set --path 'mlops:imageTags.scorer' 2` stores the number 2, not the string "2".
    result = _synth("prod", json.dumps({"scorer": 2}))
    image = _of(result, "aws:sagemaker/model:Model")["ownimages-prod-scorer-serving-model"].inputs["primaryContainer"]
    assert image["image"] == f"{result.outputs['container_registry']}/scorer:2"


@pytest.mark.parametrize(("tags", "message"), [
    ({"plain": "2"}, "'plain' is not a model that brings its own image (those are: ranker, scorer)"),
    ({"scorer": "latest"}, "scorer: 'latest' is not a pinned image tag"),
    ({"scorer": "a b"}, "scorer: 'a b' is not a pinned image tag"),
    (["scorer"], "expected a map from model to image tag"),
    # `pulumi config set mlops:imageTags 2024.06.1`, without --path: not a map (and not JSON).
    ("2024.06.1", "expected a map from model to image tag (got '2024.06.1')"),
])
def test_a_setting_that_cannot_be_honoured_is_an_error(tags: object, message: str) -> None:
    with pytest.raises(SynthError, match="mlops:imageTags: ") as error:
        _synth("dev", tags if isinstance(tags, str) else json.dumps(tags))
    assert message in str(error.value)


def test_exactly_the_roles_that_run_an_own_image_may_pull_it() -> None:
    result = _synth("prod")
    pulling = {name: [s for s in statements if PULLS & set(_actions(s))]
               for name, statements in _policies(result).items()}
    pulling = {name: found for name, found in pulling.items() if found}
    assert set(pulling) == {"ownimages-prod-scorer-training-policy", "ownimages-prod-scorer-serving-policy",
                            "ownimages-prod-ranker-training-policy", "ownimages-prod-ranker-batch-policy"}
    for name, (statement,) in pulling.items():
        model = name.split("-")[2]
        assert set(_actions(statement)) == PULLS
        repository = f"ownimages-prod-{model}-images-repository"
        assert statement["Resource"] == f"arn:mock:aws:ecr/repository:Repository:{repository}"
    tokens = {name for name, statements in _policies(result).items()
              if any("ecr:GetAuthorizationToken" in _actions(s) for s in statements)}
    assert tokens == set(pulling)


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


@pytest.mark.parametrize("blueprint", ["blueprints/fraud-detection-aws.yaml", "blueprints/readmission-risk-aws.yaml"])
def test_stacks_of_sagemaker_images_only_have_no_repository(blueprint: str) -> None:
    result = synthesized(blueprint, "prod")
    assert not _of(result, REPOSITORY) and "container_registry" not in result.outputs
