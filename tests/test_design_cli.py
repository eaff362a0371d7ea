"""`mlops design` as a user runs it: files written atomically, clean failures, byte-identical reruns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlops.cli import app

ROOT = Path(__file__).resolve().parents[1]
FRAUD = "blueprints/fraud-detection-aws.yaml"
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlops.cli.main as cli

    for console in (cli.out, cli.err):
        monkeypatch.setattr(console, "width", 220)


def mlops(*args: str, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, "-m", "mlops", *args], cwd=ROOT, capture_output=True, text=True, env=env)


def test_writes_the_design_and_the_picture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "design"
    result = runner.invoke(app, ["design", FRAUD, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["architecture.svg", "design.md"]
    text = (out / "design.md").read_text()
    assert text.startswith("# MLOps design: fraud-detection\n")
    assert "![Architecture of fraud-detection-prod](architecture.svg)" in text
    for number, title in enumerate(["Maturity scorecard", "Architecture", "Pipeline specifications",
                                    "Monitoring framework", "Governance model", "Implementation roadmap"], start=1):
        assert f"\n## {number}. {title}\n" in text
    assert (out / "architecture.svg").read_text().startswith("<?xml")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "the staging directory is removed"


def test_html_format_is_one_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["design", "blueprints/demand-forecasting-azure.yaml", "--out", str(tmp_path),
                                 "--format", "html", "--env", "staging"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "design.html").read_text()
    assert "<svg" in page and "environment</td><td><code>staging</code>" in page
    assert not (tmp_path / "design.md").exists()


def test_bad_blueprint_fails_cleanly_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / FRAUD).read_text().replace("target: 3", "target: 7"))
    out = tmp_path / "out"
    result = mlops("design", str(bad), "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{bad}:" in result.stderr and "maturity.target: out of range (got 7; allowed: <= 3)" in result.stderr
    assert not out.exists()


def test_unknown_environment_and_format_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["design", FRAUD, "--out", str(tmp_path / "o"), "--env", "qa"])
    assert result.exit_code == 2
    assert "environments: the blueprint does not declare this environment (got 'qa'" in result.output
    result = runner.invoke(app, ["design", FRAUD, "--out", str(tmp_path / "o"), "--format", "pdf"])
    assert result.exit_code == 2 and "allowed: md, html" in result.output
    assert not (tmp_path / "o").exists()


def test_reruns_are_byte_identical_across_processes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert mlops("design", FRAUD, "--out", str(first), seed="1").returncode == 0
    assert mlops("design", FRAUD, "--out", str(second), seed="2").returncode == 0
    for name in ("design.md", "architecture.svg"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_design_sections_do_not_import_pulumi() -> None:
    code = ("import sys; from mlops.design import render_markdown; from mlops.design.run import design_input; "
            f"render_markdown(design_input({FRAUD!r}, 'prod'), ['scorecard', 'pipelines', 'monitoring', "
            "'governance', 'roadmap']); loaded = [m for m in sys.modules if m.split('.')[0] == 'pulumi']; "
            "print(loaded); sys.exit(1 if loaded else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
