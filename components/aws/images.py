"""SageMaker's prebuilt framework images, per framework: the one table of repositories and tags.

No pulumi import. The registry account differs per region; the component resolves the full image URI
with the provider's `aws.sagemaker.get_prebuilt_ecr_image` (which knows the account map), so only
repository names and tags live here. Frameworks without a SageMaker-maintained image (LightGBM,
custom) use the platform's own ECR repository, `names.image_repository_name(plan, model)`.
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
    "tensorflow": {
        "training": PrebuiltImage("tensorflow-training", "2.16.2-cpu-py310-ubuntu20.04-sagemaker",
                                  "2.16.2-gpu-py310-cu123-ubuntu20.04-sagemaker"),
        "inference": PrebuiltImage("tensorflow-inference", "2.16.1-cpu-py310-ubuntu20.04-sagemaker",
                                   "2.16.1-gpu-py310-cu122-ubuntu20.04-sagemaker"),
    },
}

PROCESSING = PrebuiltImage("sagemaker-scikit-learn", "1.2-1-cpu-py3")
"""Data validation and preprocessing run in the scikit-learn image (pandas, numpy, scikit-learn)."""

BUILT_IN_ALGORITHMS = frozenset({"xgboost"})
"""Frameworks trained by SageMaker's built-in algorithm: no training script, metrics emitted as `validation:<name>`."""


def prebuilt(framework: str, role: Role) -> PrebuiltImage | None:
    """The prebuilt image of a framework, or None when the team brings its own image."""
    return PREBUILT.get(framework, {}).get(role)
