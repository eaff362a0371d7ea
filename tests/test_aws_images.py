"""AWS images are pinned: exact framework versions (or digests), never `latest`; one model, one version.

The same checks run on the capability matrix blueprints (tests/test_capability_matrix.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from aws_image_pins import VERSION, image_problems, images
from capability_matrix import MODEL_OPTIONS, with_model_option
from shared_synth import synthesized

from components.aws.images import PREBUILT, PROCESSING, brings_own_image
from mlops.clouds.aws import AWS_OWN_IMAGE_FRAMEWORKS
from mlops.synth import synth

AWS_EXAMPLES = ("blueprints/fraud-detection-aws.yaml", "blueprints/readmission-risk-aws.yaml")
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("blueprint", AWS_EXAMPLES)
def test_every_image_of_the_examples_is_pinned(blueprint: str, environment: str) -> None:
    result = synthesized(blueprint, environment)
    assert any(True for r in result.resources for _ in images(r.inputs)), "no image found: the search is broken"
    assert image_problems(result) == []


@pytest.mark.parametrize("framework", sorted(PREBUILT))
def test_a_framework_trains_and_serves_on_one_exact_version(framework: str) -> None:
    # TensorFlow once trained on 2.16.2 and served on 2.16.1 (SageMaker has no 2.16 version with both).
    versions = set()
    for role, image in PREBUILT[framework].items():
        for tag in {image.tag, image.gpu_tag or image.tag}:
            found = VERSION.match(tag)
            assert found, f"{framework} {role}: {tag!r} names no exact version"
            versions.add(found["version"])
    assert len(versions) == 1, f"{framework}: {versions}"
    assert VERSION.match(PROCESSING.tag)


def test_the_frameworks_without_a_sagemaker_image_are_the_plans_own_image_frameworks() -> None:
    own = {f for f in ("xgboost", "sklearn", "lightgbm", "pytorch", "tensorflow", "custom") if brings_own_image(f)}
    assert own == set(AWS_OWN_IMAGE_FRAMEWORKS)


def _uri(repository: str, tag: str) -> str:
    return f"000000000000.dkr.ecr.us-east-1.amazonaws.com/{repository}{tag}"


def _graph(prefix: str, *resources: tuple[str, str, dict[str, object]]) -> SimpleNamespace:
    return SimpleNamespace(plan=SimpleNamespace(prefix=prefix, models=[SimpleNamespace(name="m")]),
                           resources=[SimpleNamespace(type=t, name=n, inputs=i) for t, n, i in resources])


def test_the_check_finds_unpinned_and_mismatched_images() -> None:
    pipeline = {"pipelineDefinition": json.dumps({"Steps": [
        {"Arguments": {"AlgorithmSpecification": {"TrainingImage": _uri("tensorflow-training", ":2.16.2-cpu-py310")}}},
        {"Arguments": {"InferenceSpecification": {"Containers": [{"Image": _uri("tensorflow-inference",
                                                                                ":2.16.1-cpu")}]}}},
    ]})}
    found = image_problems(_graph(
        "p",
        ("aws:sagemaker/pipeline:Pipeline", "p-m-training-pipeline", pipeline),
        ("aws:sagemaker/model:Model", "p-m-serving-model", {"primaryContainer": {"image": _uri("p/m", ":latest")}}),
        ("aws:sagemaker/model:Model", "p-other-model", {"primaryContainer": {"image": _uri("xgboost", "")}}),
        ("aws:sagemaker/model:Model", "p-more-model", {"primaryContainer": {"image": _uri("sklearn", ":cpu")}}),
    ))
    assert any("p/m:latest" in p and "tagged `latest`" in p for p in found), found
    assert any("xgboost" in p and "no tag or digest" in p for p in found), found
    assert any("sklearn:cpu" in p and "no exact framework version" in p for p in found), found
    assert any(p.startswith("m: training and serving run different versions") for p in found), found
    assert any(p.startswith("m: registers") for p in found), found


def test_the_team_image_and_digests_are_pinned_and_no_image_is_untagged() -> None:
    ok = image_problems(_graph(
        "p",
        ("aws:sagemaker/model:Model", "p-m-serving-model", {"primaryContainer": {"image": _uri("p/m", ":7")}}),
        ("x", "pinned", {"imageUri": _uri("anything", "@" + DIGEST)}),
    ))
    assert ok == []
    # Model Monitor's analyzer was the one untagged image; the monitoring jobs run the pinned processing image.
    found = image_problems(_graph("p", ("x", "monitor", {"imageUri": _uri("sagemaker-model-monitor-analyzer", "")})))
    assert any("no tag or digest" in p for p in found), found


def test_a_gpu_trained_model_registers_the_image_its_cpu_endpoint_serves(tmp_path: Path) -> None:
    # The pipeline once registered the GPU inference image (the training instance's) for a model served on
    # CPU instances: the deployer would have put a CUDA image on ml.m5 instances.
    option = next(o for o in MODEL_OPTIONS if o.id == "gpu")
    path = tmp_path / "gpu.yaml"
    path.write_text(yaml.safe_dump(with_model_option("aws", option)), encoding="utf-8")
    result = synth(str(path), "prod")
    assert image_problems(result) == []
    served = {uri for r in result.resources if r.type == "aws:sagemaker/model:Model" for _, uri in images(r.inputs)}
    assert served and all("-cpu-" in uri for uri in served), served
