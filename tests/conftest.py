"""Shared test helpers: the repository root and the example blueprints.

Test modules should not `import conftest`: once a sub-directory has its own conftest.py the
name is ambiguous. Use the `root` fixture, or take an `example` argument, which runs the test
once per example blueprint.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The rules package lives in the pack folder (pytest's `pythonpath` setting puts it on this process's path);
# commands the tests start in a subprocess (`python -m mlops synth`) get the same path.
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "policies"), *filter(None, [os.environ.get("PYTHONPATH")])])
EXAMPLES = sorted((ROOT / "blueprints").glob("*.yaml"))


def _names(argnames: str | list[str] | tuple[str, ...]) -> list[str]:
    return [n.strip() for n in argnames.split(",")] if isinstance(argnames, str) else list(argnames)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test with an `example` argument runs once per file in blueprints/ (unless it parametrizes it)."""
    marks = metafunc.definition.iter_markers("parametrize")
    explicit = any("example" in _names(mark.args[0]) for mark in marks)
    if "example" in metafunc.fixturenames and not explicit:
        metafunc.parametrize("example", EXAMPLES, ids=[path.stem for path in EXAMPLES])


@pytest.fixture
def root() -> Path:
    """The repository root (tests do not depend on the working directory)."""
    return ROOT


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/* from the current output (review the diff before committing)")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
