"""Blueprint text stays text in the design documents (Markdown and HTML), and bad characters are refused.

Each hostile document is compared with its benign twin (the same blueprint with every payload replaced
by a plain word): the Markdown must have the same block structure line by line (no heading, table row,
image or fence of its own) and no HTML outside code, and the HTML page the same elements.
"""

from __future__ import annotations

import re
import signal
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hostile import CONTROL, MULTI_LINE, ONE_LINE, all_hostile, example

from mlops.blueprint import load_text
from mlops.blueprint.diagnostics import BlueprintError
from mlops.design.document import render_html, render_markdown
from mlops.design.markdown import code, text, to_html
from mlops.design.run import design_input

EXAMPLES = ("blueprints/demand-forecasting-azure.yaml", "blueprints/fraud-detection-aws.yaml",
            "blueprints/product-recommendations-gcp.yaml")
CASES = [(path, offset) for path in EXAMPLES for offset in range(0, len(MULTI_LINE), 4)]


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: the Markdown converter once looped forever on some use cases."""
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"did not finish within {seconds} s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _benign(value: Any) -> Any:
    """The same data with every payload (or a payload cut to a length limit) replaced by a plain word."""
    def plain(s: str) -> str:
        return "plain" if len(s) >= 8 and any(p.startswith(s) for p in MULTI_LINE) else s
    if isinstance(value, dict):
        return {plain(k) if isinstance(k, str) else k: _benign(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_benign(v) for v in value]
    return plain(value) if isinstance(value, str) else value


def _design(data: dict[str, Any], tmp: Path, name: str) -> tuple[str, str]:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    inp = design_input(path, "prod")
    with deadline(20):
        return render_markdown(inp), render_html(inp)


_PIPE = re.compile(r"(?<!\\)\|")


def _structure(markdown: str) -> list[str]:
    """Each line's block kind: what a Markdown renderer decides from its start (and a row's cell count)."""
    kinds = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            kinds.append("fence")
        elif fenced:
            kinds.append("code")
        elif m := re.match(r"(#{1,6}) ", line):
            kinds.append(f"h{len(m.group(1))}")
        elif line.startswith("|"):
            kinds.append(f"row{len(_PIPE.findall(line))}")
        else:
            kinds.append(next((k for k, p in (("quote", "> "), ("item", "- "), ("image", "![")) if line.startswith(p)),
                              "blank" if not line.strip() else "text"))
    return kinds


def _html_outside_code(markdown: str) -> list[str]:
    """Raw HTML tags in the Markdown outside fences and code spans (ours: only <br>)."""
    prose = re.sub(r"```.*?```", "", markdown, flags=re.S)
    prose = re.sub(r"(`+).+?\1", "", prose)
    prose = re.sub(r"\\.", "", prose)  # backslash escapes are literal characters
    return [t for t in re.findall(r"<[A-Za-z/!?][^>]*>?", prose) if t != "<br>"]


def _elements(page: str) -> list[str]:
    root = ET.fromstring(page.split("\n", 1)[1])
    return [f"{e.tag}{sorted(e.attrib)}" for e in root.iter()]


@pytest.mark.parametrize(("path", "offset"), CASES)
def test_hostile_text_stays_text_in_the_design(path: str, offset: int, tmp_path: Path) -> None:
    hostile = all_hostile(path, offset=offset)
    markdown, page = _design(hostile, tmp_path, "hostile")
    twin_markdown, twin_page = _design(_benign(hostile), tmp_path, "benign")
    assert _structure(markdown) == _structure(twin_markdown)
    assert _html_outside_code(markdown) == []
    assert _elements(page) == _elements(twin_page)
    # The use case is shown as written (line breaks become spaces).
    shown = "".join(ET.fromstring(page.split("\n", 1)[1]).itertext())
    assert " ".join(hostile["use_case"].split()) in " ".join(shown.split())


@pytest.mark.parametrize("use_case", ["Forecasts\n| per SKU", "Forecasts\n![x", "a\n|", "x\n![y](z", "\n|\n|"])
def test_html_terminates_on_any_line_start(use_case: str) -> None:
    with deadline(5):
        page = to_html(f"> {use_case}\n\n{use_case}\n", "t")
    ET.fromstring(page.split("\n", 1)[1])


def test_html_design_terminates_on_a_use_case_with_a_table_line(tmp_path: Path) -> None:
    data = example(EXAMPLES[0])
    data["use_case"] = "Forecasts\n| per SKU | and plant |\n![x"
    _design(data, tmp_path, "loop")


@pytest.mark.parametrize("value", ONE_LINE)
def test_text_and_code_round_trip_through_the_html_converter(value: str) -> None:
    page = to_html(f"{text(value)} and {code(value)}\n\n| a |\n|---|\n| {text(value)} |\n", "t")
    root = ET.fromstring(page.split("\n", 1)[1])
    paragraph, cell = root.find(".//{*}p"), root.find(".//{*}td")
    assert paragraph is not None and cell is not None
    assert "".join(paragraph.itertext()) == f"{value} and {value}"
    assert "".join(cell.itertext()) == value


def _blueprint_with(path: tuple[str | int, ...], value: str) -> str:
    data = example(EXAMPLES[0])
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@pytest.mark.parametrize("value", CONTROL)
@pytest.mark.parametrize(("path", "shown"), [
    (("use_case",), "use_case"), (("organisation", "name"), "organisation.name"),
    (("models", 0, "quality_gates", "metrics", 0, "metric"), "models[0].quality_gates.metrics[0].metric"),
    (("models", 0, "description"), "models[0].description"), (("tags", "team"), "tags.team"),
    (("models", 0, "training", "instance"), "models[0].training.instance"),
])
def test_control_characters_are_refused_where_they_stand(path: tuple[str | int, ...], shown: str,
                                                         value: str) -> None:
    with pytest.raises(BlueprintError) as refused:
        load_text(_blueprint_with(path, value), "bp.yaml")
    [line] = refused.value.lines()
    assert re.match(rf"bp\.yaml:\d+:\d+: {re.escape(shown)}: control character U\+00[0-9A-F]{{2}} is not allowed", line)


def test_tabs_and_line_breaks_are_prose_only() -> None:
    assert load_text(_blueprint_with(("use_case",), "a\n\tb")).blueprint.use_case == "a\n\tb"
    with pytest.raises(BlueprintError, match=r"organisation\.name: control character U\+000A"):
        load_text(_blueprint_with(("organisation", "name"), "a\nb"))


def test_a_control_character_in_a_key_is_shown_escaped() -> None:
    data = example(EXAMPLES[0])
    data["models"][0]["training"]["hyperparameters"] = {"lr\x1b[2J": 1}
    with pytest.raises(BlueprintError) as refused:
        load_text(yaml.safe_dump(data, allow_unicode=True), "bp.yaml")
    assert "hyperparameters.lr\\x1b[2J" in str(refused.value) and "\x1b" not in str(refused.value)
