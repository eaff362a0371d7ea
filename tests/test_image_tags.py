"""The stack setting `mlops:imageTags`, parsed once for the three back ends (components/image_tags.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pulumi
import pytest

from components.image_tags import DEFAULT_TAG, SETTING, parse_image_tags

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("ranker", "scorer")
RUNS = "a model that brings its own image"


@pytest.mark.parametrize(("setting", "tags"), [
    (None, {"ranker": DEFAULT_TAG, "scorer": DEFAULT_TAG}),
    ({}, {"ranker": "1", "scorer": "1"}),
    ({"scorer": "2024.06.1"}, {"ranker": "1", "scorer": "2024.06.1"}),
    ({"scorer": "v2_rc-1", "ranker": "A" * 128}, {"ranker": "A" * 128, "scorer": "v2_rc-1"}),
    # `pulumi config set --path 'mlops:imageTags.scorer' 2` stores the number 2 (the CLI's rule for paths).
    ({"scorer": 2}, {"ranker": "1", "scorer": "2"}),
])
def test_a_tag_per_model_the_default_for_the_others(setting: object, tags: dict[str, str]) -> None:
    assert parse_image_tags(setting, MODELS, runs=RUNS) == tags


@pytest.mark.parametrize(("setting", "message"), [
    ({"scorer": "latest"}, "scorer: 'latest' is not a pinned image tag"),
    ({"scorer": "a b"}, "scorer: 'a b' is not a pinned image tag"),
    ({"scorer": ".x"}, "scorer: '.x' is not a pinned image tag"),
    ({"scorer": "-x"}, "scorer: '-x' is not a pinned image tag"),
    ({"scorer": "A" * 129}, "is not a pinned image tag"),
    ({"scorer": True}, "scorer: True is not a pinned image tag"),
    ({"scorer": 1.5}, "scorer: 1.5 is not a pinned image tag"),
    ({"scorer": -1}, "scorer: -1 is not a pinned image tag"),
    ({"scorer": None}, "scorer: None is not a pinned image tag"),
    ({"plain": "2"}, f"'plain' is not {RUNS} (those are: ranker, scorer)"),
    (["scorer"], "expected a map from model to image tag (got ['scorer'])"),
    # `pulumi config set mlops:imageTags 2024.06.1` (without --path): a string, not a map.
    ("2024.06.1", "expected a map from model to image tag (got '2024.06.1')"),
])
def test_what_cannot_be_honoured_is_an_error_naming_the_setting_and_what_is_allowed(setting: object,
                                                                                 message: str) -> None:
    with pytest.raises(pulumi.RunError) as error:
        parse_image_tags(setting, MODELS, runs=RUNS)
    text = str(error.value)
    assert text.startswith("mlops:imageTags: ") and message in text, text
    if "pinned image tag" in text:
        assert "letters, digits, '_', '.', '-', at most 128 characters" in text and "not 'latest'" in text


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(pulumi.RunError) as error:
        parse_image_tags({"plain": "2", "scorer": "latest", "ranker": "a b"}, MODELS, runs=RUNS)
    text = str(error.value)
    assert text.count("; ") == 2 and all(f"{name}: " in text for name in ("scorer", "ranker")) and "'plain'" in text


def test_a_stack_without_such_models_takes_no_tag() -> None:
    assert parse_image_tags(None, [], runs=RUNS) == {}
    with pytest.raises(pulumi.RunError, match=r"'scorer' is not .* \(those are: none\)"):
        parse_image_tags({"scorer": "2"}, [], runs=RUNS)


def test_one_reader_of_the_setting_for_the_three_back_ends() -> None:
    # The setting's name appears as a string only in the shared module: no back end parses it itself.
    readers = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "components").rglob("*.py")
                     if re.search(rf"""["']{SETTING}["']""", path.read_text(encoding="utf-8")))
    assert readers == ["components/image_tags.py"]
    for cloud in ("aws", "gcp", "azure"):
        assert "from components.image_tags import image_tags" in (
            ROOT / "components" / cloud / "platform.py").read_text(encoding="utf-8"), cloud
