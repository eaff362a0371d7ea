"""SageMaker's prebuilt framework images, per framework: the one table of repositories and tags.

No pulumi import. The registry account differs per region; the component resolves the full image URI
with the provider's `aws.sagemaker.get_prebuilt_ecr_image` (which knows the account map), so only
repository names and tags live here. Every tag names an exact framework version, and one model trains
and serves on the same version (tests/test_aws_images.py holds both). Tags follow the SageMaker Python
SDK's `image_uris.retrieve` (its `image_uri_config/<framework>.json` lists the versions that exist).

Frameworks without a SageMaker-maintained image (LightGBM, custom) run the team's own image from the
platform's ECR repository of the model (`image_repository.AwsImageRepository`), at the tag the stack
setting `mlops:imageTags` gives it (components.image_tags, `1` by default): repositories keep tags
immutable, so a tag always names the same image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["training", "inference"]


@dataclass(frozen=True)
class PrebuiltImage:
    repository: str
    tag: str
    gpu_tag: str | None = None
    """The tag on GPU instances (None: the image runs on CPU only)."""

    def tag_for(self, gpu: bool) -> str:
        return self.gpu_tag if gpu and self.gpu_tag else self.tag


# Pinned versions: upgrading an image is a reviewed change here, never a silent drift.
PREBUILT: dict[str, dict[Role, PrebuiltImage]] = {
    # The XGBoost image runs the built-in algorithm (no training script) and serves its models.
    "xgboost": {
        "training": PrebuiltImage("sagemaker-xgboost", "1.7-1"),
        "inference": PrebuiltImage("sagemaker-xgboost", "1.7-1"),
    },
    "sklearn": {
        "training": PrebuiltImage("sagemaker-scikit-learn", "1.2-1-cpu-py3"),
        "inference": PrebuiltImage("sagemaker-scikit-learn", "1.2-1-cpu-py3"),
    },
    "pytorch": {
        "training": PrebuiltImage("pytorch-training", "2.3.0-cpu-py311-ubuntu20.04-sagemaker",
                                  "2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker"),
        "inference": PrebuiltImage("pytorch-inference", "2.3.0-cpu-py311-ubuntu20.04-sagemaker",
                                   "2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker"),
    },
    # TensorFlow 2.18.0: SageMaker publishes it for training and for inference alike (2.16 was trained on
    # 2.16.2 and served on 2.16.1: no 2.16 version has both images).
    "tensorflow": {
        "training": PrebuiltImage("tensorflow-training", "2.18.0-cpu-py310", "2.18.0-gpu-py310"),
        "inference": PrebuiltImage("tensorflow-inference", "2.18.0-cpu", "2.18.0-gpu"),
    },
}

PROCESSING = PrebuiltImage("sagemaker-scikit-learn", "1.2-1-cpu-py3")
"""Data validation, preprocessing, the drift baseline and the drift and quality jobs run in the scikit-learn
image (pandas, numpy, scikit-learn, boto3)."""


BUILT_IN_ALGORITHMS = frozenset({"xgboost"})
"""Frameworks trained by SageMaker's built-in algorithm: no training script, metrics emitted as `validation:<name>`."""


def prebuilt(framework: str, role: Role) -> PrebuiltImage | None:
    """The prebuilt image of a framework, or None when the team brings its own image."""
    return PREBUILT.get(framework, {}).get(role)


def brings_own_image(framework: str) -> bool:
    """The team's image trains and serves the model (one image: SageMaker runs it as `train` or `serve`).
    These are `mlops.clouds.aws.AWS_OWN_IMAGE_FRAMEWORKS` (tests/test_aws_images.py holds them equal)."""
    return framework not in PREBUILT
