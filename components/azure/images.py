"""Which images Azure ML runs: the team's training image at a pinned tag, curated environments at a version.

The team's CI pushes each trained model's image to `<registry>.azurecr.io/<model>/training:<tag>`. A tag
names one image only if nobody pushes it again, so the stack never runs `latest`: the tag is the stack
setting `mlops:imageTags` (a map from model to tag: `pulumi config set --path 'mlops:imageTags.<model>'
<tag>`), `OWN_IMAGE_TAG` for a model it does not name (the same setting and default as on AWS). A new tag
is a new environment version (its version hashes the image), hence new component versions.

Serving needs no image of ours: online and batch deployments serve the MLflow model the pipeline
registered, and Azure ML builds their environment from the model's own MLmodel/conda.yaml, which the
training run logged — so a model serves on the very framework versions it was trained with.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi

from mlops.plan import Plan

TAGS_SETTING = "imageTags"
OWN_IMAGE_TAG = "1"
"""The tag of a model's training image unless `mlops:imageTags` names another: the first image the team pushes."""
# ACR's tag rule (letters, digits, `_ . -`, at most 128, not starting with `.` or `-`); `latest` names no image.
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

RUNNER_ENVIRONMENT = "azureml://registries/azureml/environments/sklearn-1.5/versions/54"
"""The curated environment the platform's own small jobs run in (batch invocation, deployer, quality check):
a fixed version of Azure ML's `sklearn-1.5` environment, never its moving `latest` label. Their scripts use
the standard library (and the environment's MLflow), so a newer version is a deliberate change here."""


def image_tags(plan: Plan) -> dict[str, str]:
    """The training image tag of each trained model: stack setting `mlops:imageTags`, else OWN_IMAGE_TAG.

    Raises RunError for a setting that names a model this stack does not train, or a tag that is not one."""
    setting: Any = pulumi.Config("mlops").get_object(TAGS_SETTING) or {}
    trained = {m.name for m in plan.models if m.training is not None}
    if not isinstance(setting, dict):
        raise pulumi.RunError(f"mlops:{TAGS_SETTING}: expected a map from model to image tag (got {setting!r})")
    problems = [f"{name!r} is not a model this stack trains (those are: {', '.join(sorted(trained)) or 'none'})"
                for name in setting if name not in trained]
    problems += [f"{name}: {tag!r} is not a pinned image tag (letters, digits, '_', '.', '-'; at most 128; "
                 "not 'latest')" for name, tag in setting.items()
                 if name in trained and (not isinstance(tag, str) or not _TAG.match(tag) or tag == "latest")]
    if problems:
        raise pulumi.RunError(f"mlops:{TAGS_SETTING}: " + "; ".join(problems))
    return {name: str(setting.get(name, OWN_IMAGE_TAG)) for name in sorted(trained)}
