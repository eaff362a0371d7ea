"""Every container image an AWS stack runs is pinned, and a model trains and serves on one framework version.

`image_problems(result)` finds every ECR image URI anywhere in a synthesized graph — resource inputs and
the JSON documents they carry (pipeline definitions, Cloud Control desired states, Scheduler inputs) —
and reports:
- an image without a tag or digest, or tagged `latest`;
- a SageMaker prebuilt image whose tag does not start with an exact framework version (`1.7-1`,
  `2.18.0-cpu`);
- a model whose training image, registered inference image and served image(s) are not on the same
  framework version (for a team's own image: not the very same image), or whose registered inference
  image (what the deployer serves) is not the image its endpoint or batch model serves.

No image is allowed untagged (Model Monitor's analyzer, the one image AWS publishes without versions, is no
longer used: SageMaker Model Monitor is closed to new customers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

ECR_IMAGE = re.compile(r"^(?P<registry>\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)/"
                       r"(?P<repository>[a-z0-9._/-]+)"
                       r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")
VERSION = re.compile(r"^(?P<version>\d+\.\d+(?:\.\d+)?(?:-\d+)?)(?:-|$)")
UNVERSIONED: frozenset[str] = frozenset()


def images(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(where, image URI) for every ECR image in a value, JSON documents inside strings included."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from images(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from images(v, f"{path}[{i}]")
    elif isinstance(value, str):
        if ECR_IMAGE.match(value):
            yield path, value
        elif value[:1] in "{[" and ".dkr.ecr." in value:
            try:
                yield from images(json.loads(value), path)
            except ValueError:
                return


def unpinned(uri: str, own_prefix: str) -> str | None:
    """Why an image URI is not pinned (None: it is)."""
    m = ECR_IMAGE.match(uri)
    if m is None:
        return "not an ECR image URI"
    repository, tag, digest = m["repository"], m["tag"], m["digest"]
    if digest:
        return None
    if tag is None:
        return None if repository in UNVERSIONED else "no tag or digest (that is `latest`)"
    if tag == "latest":
        return "tagged `latest`"
    if repository.startswith(f"{own_prefix}/"):
        return None  # the platform's repository: tags are immutable (tests/test_aws_image_repository.py)
    if VERSION.match(tag) is None:
        return f"tag {tag!r} names no exact framework version"
    return None


def framework_version(uri: str, own_prefix: str) -> str:
    """What must match between training and serving: the framework version, or the whole own image."""
    m = ECR_IMAGE.match(uri)
    assert m is not None, uri
    if m["repository"].startswith(f"{own_prefix}/"):
        return uri
    version = VERSION.match(m["tag"] or "")
    return version["version"] if version else uri


def _model_images(result: Any, model: str) -> dict[str, list[str]]:
    """The images one model runs: `training` (pipeline), `registered` (RegisterModel), `serving` (models)."""
    prefix = result.plan.prefix
    found: dict[str, list[str]] = {"training": [], "registered": [], "serving": []}
    for r in result.resources:
        if r.type == "aws:sagemaker/pipeline:Pipeline" and r.name == f"{prefix}-{model}-training-pipeline":
            for where, uri in images(r.inputs.get("pipelineDefinition")):
                if "TrainingImage" in where:
                    found["training"].append(uri)
                elif "InferenceSpecification" in where:
                    found["registered"].append(uri)
        if r.type == "aws:sagemaker/model:Model" and r.name.startswith(f"{prefix}-{model}-"):
            found["serving"] += [uri for _, uri in images(r.inputs)]
    return found


def image_problems(result: Any) -> list[str]:
    """Every unpinned image of a synthesized AWS stack and every model whose images disagree on the version."""
    prefix = result.plan.prefix
    problems = [f"{r.name}{where}: {uri}: {why}" for r in result.resources for where, uri in images(r.inputs)
                if (why := unpinned(uri, prefix))]
    for model in result.plan.models:
        found = _model_images(result, model.name)
        versions = {kind: {framework_version(u, prefix) for u in uris} for kind, uris in found.items() if uris}
        if versions and len(set().union(*versions.values())) > 1:
            problems.append(f"{model.name}: training and serving run different versions: {versions}")
        # The deployer serves a registered version with the package's image, where `pulumi up` serves the
        # champion with the endpoint model's: the same instances, so the same image.
        if found["registered"] and found["serving"] and set(found["registered"]) != set(found["serving"]):
            problems.append(f"{model.name}: registers {sorted(set(found['registered']))} but serves "
                            f"{sorted(set(found['serving']))}")
    return problems
