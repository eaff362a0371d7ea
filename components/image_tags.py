"""The stack setting `mlops:imageTags`: which tag of the team's own image each model runs, on every cloud.

Models without an image the cloud maintains (AWS, GCP: `lightgbm`, `custom`; Azure: every trained model)
run an image the team's CI pushes to the platform's registry. The stack runs the tag this setting gives
the model, `DEFAULT_TAG` where it names none, so the image a pipeline, endpoint or batch job runs changes
only when the stack's configuration does. `latest` is refused: it names whatever was pushed last.

Set per model: `pulumi config set --path 'mlops:imageTags.<model>' <tag>`, or the whole map at once:
`pulumi config set mlops:imageTags '{"<model>": "<tag>"}'`. With `--path` the Pulumi CLI stores a value
that looks like an integer (`2`) as a number, so an integer is taken as the tag it spells.

Each back end says which of the plan's models it runs an own image for (`image_tags(models, runs=...)`);
the setting naming any other model is an error rather than a tag silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection

import pulumi

SETTING = "imageTags"
QUALIFIED = f"mlops:{SETTING}"
DEFAULT_TAG = "1"
"""The tag a model runs unless the setting names another: the first image the team pushes."""
MOVING_TAG = "latest"
TAG_GRAMMAR = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
"""Docker's tag grammar (distribution/reference `tag`; ECR, Artifact Registry and ACR take the same)."""
ALLOWED = f"letters, digits, '_', '.', '-', at most 128 characters, not starting with '.' or '-', not '{MOVING_TAG}'"


def image_tags(models: Collection[str], *, runs: str) -> dict[str, str]:
    """The tag each of `models` runs, read from the stack setting (`DEFAULT_TAG` for a model it does not name).

    `models`: the plan's models whose own image this back end runs; `runs`: how an error names them
    (e.g. "a model that brings its own image"). Raises pulumi.RunError, naming the setting, each bad key
    or value and what is allowed, for a setting that is not a map from those models to pinned tags."""
    raw = pulumi.Config("mlops").get(SETTING)
    if raw is None:
        return parse_image_tags({}, models, runs=runs)
    try:
        setting: object = json.loads(raw)
    except ValueError:
        setting = raw
    return parse_image_tags(setting, models, runs=runs)


def _tag(value: object) -> str | None:
    """The tag a setting's value spells, None if it is not one (an integer counts: `--path` stores `2` so)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if isinstance(value, str) and TAG_GRAMMAR.match(value) and value != MOVING_TAG:
        return value
    return None


def parse_image_tags(setting: object, models: Collection[str], *, runs: str) -> dict[str, str]:
    """`image_tags` on a setting already read (None or {} when unset); pure, for tests and other readers."""
    if setting is None:
        setting = {}
    if not isinstance(setting, dict):
        raise pulumi.RunError(f"{QUALIFIED}: expected a map from model to image tag (got {setting!r}), "
                              f"e.g. pulumi config set --path '{QUALIFIED}.<model>' 2024.06.1")
    own = sorted(models)
    tags = {name: _tag(value) for name, value in setting.items()}
    problems = [f"{name!r} is not {runs} (those are: {', '.join(own) or 'none'})"
                for name in setting if name not in own]
    problems += [f"{name}: {setting[name]!r} is not a pinned image tag ({ALLOWED})"
                 for name, tag in tags.items() if name in own and tag is None]
    if problems:
        raise pulumi.RunError(f"{QUALIFIED}: " + "; ".join(problems))
    return {name: tags.get(name) or DEFAULT_TAG for name in own}
