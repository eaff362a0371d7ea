"""The `mlops` command as a user runs it: exit codes, messages without tracebacks, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlops.cli import app

ROOT = Path(__file__).resolve().parents[1]
FRAUD = "blueprints/fraud-detection-aws.yaml"
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables are checked by content: give rich room so cells are not wrapped."""
    import mlops.cli.main as cli

    for console in (cli.out, cli.err):
        monkeypatch.setattr(console, "width", 220)


def mlops(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlops", *args], cwd=cwd, capture_output=True, text=True)


BROKEN = {
    "syntax": ("name: [unclosed\n", "2:1: (document): YAML syntax error: expected ',' or ']', but got "
               "'<stream end>' while parsing a flow sequence started at line 1, column 7"),
    "empty": ("", "1:1: (document): the file is empty"),
    "list-at-top": ("- a\n- b\n", "(document): expected a mapping of blueprint sections"),
    "unknown-key": (Path(ROOT / FRAUD).read_text().replace("use_case:", "usecase:"),
                    "usecase: unknown key; did you mean 'use_case'?"),
    "bad-level": (Path(ROOT / FRAUD).read_text().replace("target: 3", "target: 7"),
                  "maturity.target: out of range (got 7; allowed: <= 3)"),
    "mapping-for-list": (Path(ROOT / FRAUD).read_text().replace("models:\n  - name: fraud-scorer",
                                                                "models:\n  first:\n    name: fraud-scorer"),
                         "models: expected a list"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_blueprints_exit_2_with_a_located_message(tmp_path: Path, case: str) -> None:
    text, expected = BROKEN[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    for command in (["validate", str(path)], ["plan", str(path)], ["synth", str(path), "--env", "prod"]):
        result = mlops(*command)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout
        assert f"{path}:" in result.stderr and expected in result.stderr, result.stderr


def test_validate_reports_every_file_and_fails_if_one_is_bad(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    result = mlops("validate", FRAUD, str(bad))
    assert result.returncode == 2
    assert f"valid {FRAUD}" in result.stdout.replace("\n", " ")
    assert f"{bad}:1:1: use_case: required key is missing" in result.stderr


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_validate_and_plan_do_not_import_pulumi(command: str) -> None:
    code = ("import sys; from mlops.cli import app\n"
            f"try:\n    app(['{command}', 'blueprints/fraud-detection-aws.yaml'])\n"
            "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
            "loaded = [m for m in sys.modules if m.startswith('pulumi')]\n"
            "assert not loaded, loaded\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)


def test_unknown_environment_is_a_located_error() -> None:
    result = mlops("synth", FRAUD, "--env", "qa")
    assert result.returncode == 2
    assert "environments: the blueprint does not declare this environment (got 'qa'; allowed: dev, staging, prod)" \
        in result.stderr


def test_plan_shows_gates_and_what_is_on_without_claiming_built(monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["plan", "blueprints/demand-forecasting-azure.yaml", "--env", "prod"],
                           terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "progressive_delivery" in result.output and "off: needs maturity.target.deployment >= 2" in result.output
    # `plan` runs no synth, so it cannot have seen anything built: only synth and design say "built".
    assert " on " in result.output and "built" not in result.output
    # A capability the back end has no evidence table for is marked, never hidden.
    from mlops.cli import render
    from mlops.evidence import builds
    from mlops.plan import Capability
    from mlops.plan.model import Cloud

    monkeypatch.setattr(render, "builds", lambda cloud: builds(cloud) - {Capability.training_pipeline})
    result = runner.invoke(app, ["plan", "blueprints/demand-forecasting-azure.yaml", "--env", "prod"],
                           terminal_width=200)
    assert f"not built on {Cloud.azure.value}" in result.output


def test_synth_prints_the_evidence_of_what_it_built() -> None:
    result = runner.invoke(app, ["synth", FRAUD, "--env", "prod", "-q", "--strict"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "evidence: 25 of 25 capabilities built" in result.output


def test_plan_json_is_the_plan() -> None:
    result = runner.invoke(app, ["plan", FRAUD, "--env", "prod", "--json"])
    [plan] = json.loads(result.stdout)
    assert plan["environment"] == "prod" and plan["protect"] is True
    assert plan["models"][0]["serving"]["min_instances"] == 2


def test_synth_writes_the_manifest_to_stdout(tmp_path: Path) -> None:
    result = mlops("synth", FRAUD, "--env", "dev", "--json", "-")
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["environment"] == "dev" and manifest["cloud"] == "aws"
    assert "resources" in result.stderr  # the summary goes to stderr when stdout carries JSON


def test_synth_strict_fails_on_a_mandatory_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlops.synth.run as synth_run
    from mlops.policies import PolicyReport, Violation

    def one_violation(records: object) -> PolicyReport:
        return PolicyReport([Violation("aws-s3-versioning", "urn:x", "S3 bucket without versioning enabled",
                                       "mandatory")])

    monkeypatch.setattr(synth_run, "evaluate", one_violation)
    strict = runner.invoke(app, ["synth", FRAUD, "--env", "dev", "--strict", "-q"], terminal_width=200)
    assert strict.exit_code == 1
    assert "aws-s3-versioning" in strict.output
    relaxed = runner.invoke(app, ["synth", FRAUD, "--env", "dev", "-q"], terminal_width=200)
    assert relaxed.exit_code == 0


def test_synth_json_file_is_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "m.json"
    result = runner.invoke(app, ["synth", FRAUD, "--env", "staging", "--json", str(target), "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["environment"] == "staging"
    assert [p.name for p in target.parent.iterdir()] == ["m.json"]


def test_init_copies_an_example_under_a_new_name(tmp_path: Path) -> None:
    target = tmp_path / "team" / "payments.yaml"
    target.parent.mkdir()
    result = runner.invoke(app, ["init", "payments-risk", "--from", "fraud-detection-aws", "--out", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert yaml.safe_load(text)["name"] == "payments-risk"
    schema_line = text.splitlines()[0]
    schema = (target.parent / schema_line.split("$schema=")[1]).resolve()
    assert schema == ROOT / "blueprints" / "blueprint.schema.json"
    again = runner.invoke(app, ["init", "payments-risk", "--from", "fraud-detection-aws", "--out", str(target)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_init_rejects_bad_names_and_unknown_examples(tmp_path: Path) -> None:
    bad_name = runner.invoke(app, ["init", "Payments_Risk", "--from", "fraud-detection-aws",
                                   "--out", str(tmp_path / "x.yaml")])
    assert bad_name.exit_code == 2 and "name: not a valid name" in bad_name.output
    assert not (tmp_path / "x.yaml").exists()
    unknown = runner.invoke(app, ["init", "x", "--from", "nope", "--out", str(tmp_path / "y.yaml")])
    assert unknown.exit_code == 2 and "fraud-detection-aws" in unknown.output


@pytest.mark.parametrize("command", ["validate", "plan", "synth", "init", "schema"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) > 5


def test_an_aws_canary_on_few_instances_is_a_located_warning_not_an_error(tmp_path: Path) -> None:
    # 5 % of the fraud endpoint's 2 production instances is one instance: about half of the traffic.
    result = runner.invoke(app, ["validate", FRAUD])
    assert result.exit_code == 0
    canary_line = 1 + Path(ROOT / FRAUD).read_text().splitlines().index(
        next(line for line in Path(ROOT / FRAUD).read_text().splitlines() if "canary_percent" in line))
    assert f"{FRAUD}:{canary_line}:" in result.output
    assert "models[0].serving.delivery.canary_percent: warning: on AWS the canary is a share of the endpoint's " \
           "instances, not of its traffic: 5 % of 2 instances is 1 instance, about 50 % of the traffic" in result.output
    assert "(in staging, prod)" in result.output
    # Enough instances for the share to be exact: no warning.
    doc = yaml.safe_load(Path(ROOT / FRAUD).read_text())
    for env in doc["environments"].values():
        env.setdefault("serving", {}).update(min_instances=20, max_instances=40)
    path = tmp_path / "fraud.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = runner.invoke(app, ["plan", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert [p["cautions"] for p in json.loads(result.stdout)] == [[], [], []]


def test_synth_help_says_how_to_pin_the_teams_image_on_every_cloud() -> None:
    output = runner.invoke(app, ["synth", "--help"], terminal_width=200).output
    text = " ".join(output.replace("│", " ").split())  # rich boxes and wraps the option's help
    assert "mlops:imageTags=" in text and "on every cloud (AWS and GCP: lightgbm and custom models; Azure: every " \
        "trained model; default 1; latest is refused)" in text, text


def test_synth_refuses_a_latest_image_tag_without_a_traceback() -> None:
    result = mlops("synth", "blueprints/product-recommendations-gcp.yaml", "--env", "dev", "--quiet",
                   "--config", 'mlops:imageTags={"recs-ranker": "latest"}')
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "mlops:imageTags: 'recs-ranker' is not a model this stack trains on the team's own image" in \
        " ".join(result.stderr.split())
