"""Names the clouds accept, checked against their own lists: regions and SageMaker instance types.

A region or instance type outside its cloud's list is a located error with the closest names as the
suggestion ("did you mean"); the blueprint rules only check the shape of a name, these check the name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from mlops.blueprint.diagnostics import YamlPath
from mlops.blueprint.model import Blueprint, Cloud, InstanceSize, ServingMode

from . import aws_names
from .region_names import AZURE_REGIONS, GCP_REGIONS
from .types import Unsupported

REGIONS: dict[Cloud, frozenset[str]] = {Cloud.aws: aws_names.REGIONS, Cloud.gcp: GCP_REGIONS,
                                        Cloud.azure: AZURE_REGIONS}


def suggest(value: str, names: frozenset[str]) -> str:
    """`did you mean a, b?`, or the first names of the list when nothing is close."""
    close = difflib.get_close_matches(value, sorted(names), n=3, cutoff=0.6)
    return ("did you mean " + ", ".join(close) + "?") if close else "e.g. " + ", ".join(sorted(names)[:4]) + " …"


def _region(bp: Blueprint, environment: str) -> tuple[YamlPath, str]:
    """The environment's region and where it is written (its override, else `cloud.region`)."""
    override = bp.environments[environment].region  # type: ignore[index]
    return (("environments", environment, "region"), override) if override else (("cloud", "region"), bp.cloud.region)


def _aws_instances(bp: Blueprint, environment: str) -> Iterator[tuple[YamlPath, str, frozenset[str], str]]:
    """Each SageMaker instance type the environment uses, where it is written, and the list it must be in."""
    env = bp.environments[environment]  # type: ignore[index]
    for i, m in enumerate(bp.models):
        batch = m.serving.mode == ServingMode.batch
        training_path: YamlPath = ("environments", environment, "training", "instance") if env.training.instance \
            else ("models", i, "training", "instance")
        serving_path: YamlPath = ("environments", environment, "serving", "instance") if env.serving.instance \
            else ("models", i, "serving", "instance")
        yield (training_path, str(env.training.instance or m.training.instance), aws_names.TRAINING_INSTANCE_TYPES,
               "a SageMaker training instance type")
        yield (serving_path, str(env.serving.instance or m.serving.instance),
               aws_names.TRANSFORM_INSTANCE_TYPES if batch else aws_names.ENDPOINT_INSTANCE_TYPES,
               "a SageMaker batch transform instance type" if batch else "a SageMaker endpoint instance type")


def problems(bp: Blueprint, environment: str) -> list[Unsupported]:
    """Every region and (on AWS) instance type the environment names that its cloud does not have."""
    cloud = bp.cloud.provider
    found: list[Unsupported] = []
    path, region = _region(bp, environment)
    if region not in REGIONS[cloud]:
        found.append(Unsupported(path, f"not a region of {cloud.value}", repr(region), suggest(region, REGIONS[cloud])))
    if cloud == Cloud.aws:
        for path, value, names, what in _aws_instances(bp, environment):
            # Cloud-neutral sizes map to types the back end picks; only the cloud's own types are looked up.
            if value not in InstanceSize.__members__ and value not in names:
                found.append(Unsupported(path, f"not {what}", repr(value), suggest(value, names)))
    return found
