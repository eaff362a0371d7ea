"""Blueprint text stays data in every command the Azure back end generates.

Azure ML substitutes `${{inputs.X}}` / `${{outputs.X}}` with the literal value verbatim, drops a
`$[[…]]` group whose optional input is absent, then runs the command in a shell. These tests do
exactly that with hostile blueprints (tests/hostile.py) and run the result in a real bash in a temporary
directory: nothing may happen but the script run, and the script must receive the exact value.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hostile import ONE_LINE, all_hostile

from components.azure import pipeline_job as pj
from components.azure import quality
from components.azure.batch import RUNNER_COMMAND
from components.azure.deployer import COMMAND as DEPLOYER_COMMAND
from components.payload import ALPHABET, decode
from mlops.blueprint import load_text
from mlops.plan import Plan, plan_loaded

FORECAST = "blueprints/demand-forecasting-azure.yaml"
FRAUD = "blueprints/fraud-detection-aws.yaml"  # fairness, model cards, latency: the pure documents take any plan
WS = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
CTX = pj.JobContext(
    workspace_id=WS, compute="trainer", code_id=f"{WS}/codes/m-code/versions/1", identity_id="identity",
    environment_id=f"{WS}/environments/m-training/versions/1", data_datastore="platform_data",
    artifacts_datastore="platform_artifacts", registry="registry")
_BINDING = re.compile(r"\$\{\{(inputs|outputs)\.(\w+)\}\}")
_OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]")
TEAM_STUB = ("import json, sys; "
             "open('argv-' + sys.argv[0].removesuffix('.py') + '.json', 'w').write(json.dumps(sys.argv[1:]))")
MLFLOW_STUB = '''"""A stand-in for mlflow: records what the register step would register."""
import contextlib, json, types
@contextlib.contextmanager
def start_run():
    yield types.SimpleNamespace(info=types.SimpleNamespace(run_id="run"))
def log_artifacts(path, artifact_path=None):
    pass
def register_model(uri, name, tags=None):
    open("registered.json", "w").write(json.dumps({"name": name, "tags": tags}))
    return types.SimpleNamespace(version="1")
'''


def azure_substitute(command: str, values: dict[str, str]) -> str:
    """What Azure ML does before running a command: optional groups, then each binding verbatim (one pass)."""
    def optional(match: re.Match[str]) -> str:
        wanted = [name for _, name in _BINDING.findall(match.group(1))]
        return match.group(1) if all(name in values for name in wanted) else ""
    return _BINDING.sub(lambda m: values[m.group(2)], _OPTIONAL.sub(optional, command))


def _azure_check(plan: Plan) -> None:
    for model in plan.models:
        if model.training is not None:
            pj.check(plan, model)


@cache
def hostile_plan(path: str, offset: int) -> Plan:
    """An example with every free-text field hostile at once; `offset` rotates which payload goes where."""
    data = all_hostile(path, offset=offset, check=_azure_check)
    return plan_loaded(load_text(yaml.safe_dump(data, sort_keys=False)), "prod")


CASES = [(path, offset) for path in (FORECAST, FRAUD) for offset in range(0, len(ONE_LINE), 3)]


def _workspace(tmp: Path) -> dict[str, str]:
    """A temporary working directory with `python` on PATH, the team's scripts stubbed and mlflow faked."""
    (tmp / "bin").mkdir()
    (tmp / "bin" / "python").symlink_to(sys.executable)
    for script in ("validate.py", "train.py", "evaluate.py"):
        (tmp / script).write_text(TEAM_STUB)
    (tmp / "fake" / "mlflow").mkdir(parents=True)
    (tmp / "fake" / "mlflow" / "__init__.py").write_text(MLFLOW_STUB)
    return {"PATH": f"{tmp / 'bin'}:{os.environ['PATH']}", "PYTHONPATH": str(tmp / "fake"),
            "PYTHONDONTWRITEBYTECODE": "1"}


def _run(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=60)


def _no_side_effect(tmp: Path) -> None:
    stray = [p for p in tmp.rglob("*") if "pwned" in p.name]
    assert not stray, f"a hostile value ran as a command: {stray}"


def _values(body: dict[str, Any], node: dict[str, Any], spec: pj.ComponentSpec, tmp: Path) -> dict[str, str]:
    """The values Azure ML substitutes for one step: literal inputs resolved, folders as temporary paths."""
    values: dict[str, str] = {}
    for name, given in node["inputs"].items():
        value = given["value"]
        if value.startswith("${{parent.inputs."):
            parent = body["inputs"][value.removeprefix("${{parent.inputs.").removesuffix("}}")]
            value = parent.get("value", str(tmp / "data"))
        elif value.startswith("${{parent.jobs."):
            value = str(tmp / value.removeprefix("${{parent.jobs.").removesuffix("}}").replace(".outputs.", "-"))
        values[name] = value
    for name in spec["inputs"]:
        if spec["inputs"][name]["type"] == "number":
            values.setdefault(name, "0.1")  # a sweep trial's sampled value
    for name in spec["outputs"]:
        values[name] = str(tmp / f"{node['name']}-{name}")
    return values


@pytest.mark.parametrize(("path", "offset"), CASES)
def test_every_pipeline_command_keeps_hostile_text_as_data(path: str, offset: int, tmp_path: Path) -> None:
    plan = hostile_plan(path, offset)
    model = plan.models[0]
    specs = pj.components(plan, model, CTX)
    body = json.loads(json.dumps(pj.pipeline_job(plan, model, CTX)))
    env = _workspace(tmp_path)
    builder = pj._Builder(plan, model, CTX)
    (tmp_path / "evaluate-evaluation").mkdir()
    (tmp_path / "evaluate-evaluation" / "evaluation.json").write_text("{}")  # every gate missing: each is listed
    (tmp_path / "quality_gates-verdict").mkdir()
    (tmp_path / "quality_gates-verdict" / "verdict.json").write_text('{"passed": true}')
    for step, spec in specs.items():
        line = azure_substitute(spec["command"], _values(body, body["jobs"][step], spec, tmp_path))
        result = _run(line, tmp_path, env)
        _no_side_effect(tmp_path)
        if step == pj.GATES:
            assert result.returncode == 1, result.stderr
            for gate in builder.gates()["gates"]:  # type: ignore[union-attr]
                assert f"{gate['label']}: missing from the evaluation report" in result.stderr  # exact label
            continue
        assert result.returncode == 0, (step, result.stderr)
        if step == pj.REGISTER:
            registered = json.loads((tmp_path / "registered.json").read_text())
            card = builder.model_card()
            assert (json.loads(registered["tags"]["model_card"]) if card else None) == card
    argv = {s: json.loads((tmp_path / f"argv-{s}.json").read_text()) for s in ("train", "evaluate")}
    given = dict(zip(argv["train"][::2], argv["train"][1::2], strict=False))
    assert decode(given["--hyperparameters"]) == dict(model.training.hyperparameters)  # type: ignore[union-attr]
    spec_arg = argv["evaluate"][argv["evaluate"].index("--spec") + 1]
    assert decode(spec_arg) == json.loads(json.dumps(builder.evaluation_spec()))


def _strings(value: Any, where: str = "") -> list[tuple[str, str]]:
    """Every (location, string) in a document, map keys included."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [(f"{where}.{k}", str(k)), *_strings(v, f"{where}.{k}")]]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{where}[{i}]")]
    return [(where, value)] if isinstance(value, str) else []


def foreign_bindings(specs: dict[str, pj.ComponentSpec], body: dict[str, Any]) -> list[str]:
    """Every `${{…}}` / `$[[…]]` in the documents that our code did not write (empty: all ours).

    Ours: in a command, a binding of a declared input or output (optional ones inside `$[[…]]`); in a
    node input, exactly `${{parent.inputs.<declared>}}` or `${{parent.jobs.<step>.outputs.<declared>}}`.
    Tags are not bindings (Azure ML resolves commands and inputs) and are left out.
    """
    found: list[str] = []
    for step, spec in specs.items():
        declared = {("inputs", n) for n in spec["inputs"]} | {("outputs", n) for n in spec["outputs"]}
        command = _OPTIONAL.sub(lambda m: m.group(1) if _BINDING.fullmatch(m.group(1).split(" ")[-1]) else "$[[?",
                                spec["command"])
        rest = _BINDING.sub(lambda m, ours=declared: "" if (m.group(1), m.group(2)) in ours else "${{?", command)
        found += [f"{step}.command"] if "${{" in rest or "$[[" in rest else []
        found += [f"{step}{w}" for w, s in _strings({k: v for k, v in spec.items() if k not in ("command", "tags")})
                  if "${{" in s or "$[["in s]
    node_binding = re.compile(r"\$\{\{parent\.(inputs\.(\w+)|jobs\.(\w+)\.outputs\.(\w+))\}\}")
    for step, node in body["jobs"].items():
        for name, given in node["inputs"].items():
            match = node_binding.fullmatch(given["value"])
            ours = match is not None and (match.group(2) in body["inputs"] if match.group(2) else
                                          match.group(4) in specs[match.group(3)]["outputs"])
            if not ours and ("${{" in given["value"] or "$[[" in given["value"]):
                found.append(f"jobs.{step}.inputs.{name}")
        outside = {k: v for k, v in node.items() if k != "inputs"}
        found += [f"jobs.{step}{w}" for w, s in _strings(outside) if "${{" in s or "$[[" in s]
    found += [f"{w}" for w, s in _strings({k: v for k, v in body.items() if k not in ("jobs", "tags")})
              if "${{" in s or "$[[" in s]
    return found


@pytest.mark.parametrize(("path", "offset"), CASES)
def test_no_binding_but_ours_in_the_job_documents(path: str, offset: int) -> None:
    plan = hostile_plan(path, offset)
    model = plan.models[0]
    specs = pj.components(plan, model, CTX)
    body = json.loads(json.dumps(pj.pipeline_job(plan, model, CTX)))
    assert foreign_bindings(specs, body) == []
    for name, given in body["inputs"].items():
        if name in ("hyperparameters", "evaluation", "gates", "card"):
            assert ALPHABET.match(given["value"]), name


def test_the_checker_finds_a_foreign_binding() -> None:
    plan = plan_loaded(load_text(Path(FORECAST).read_text()), "prod")
    specs = pj.components(plan, plan.models[0], CTX)
    body = json.loads(json.dumps(pj.pipeline_job(plan, plan.models[0], CTX)))
    assert foreign_bindings(specs, body) == []
    body["inputs"]["gates"]["value"] = "${{parent.inputs.data}}"
    specs[pj.GATES]["command"] += " ${{inputs.secret}}"
    assert foreign_bindings(specs, body) == [f"{pj.GATES}.command", ".inputs.gates.value"]
    body["jobs"][pj.GATES]["inputs"]["gates"]["value"] = "x${{parent.inputs.data}}"
    assert f"jobs.{pj.GATES}.inputs.gates" in foreign_bindings(specs, body)


def test_a_run_cannot_be_triggered_by_anything_but_our_words() -> None:
    plan = plan_loaded(load_text(Path(FORECAST).read_text()), "prod")
    with pytest.raises(ValueError, match="triggered_by must be one of"):
        pj.pipeline_job(plan, plan.models[0], CTX, triggered_by="x;touch pwned")


@pytest.mark.parametrize("metric", ["x';touch pwned;'", "$(touch pwned)", "a b", "*"])
def test_quality_monitor_command_passes_the_metric_as_one_argument(metric: str, tmp_path: Path) -> None:
    env = {**_workspace(tmp_path), "MLOPS_SCRIPT": "import json, sys; print(json.dumps(sys.argv[1:]))",
           "MLOPS_METRIC": metric, "MLOPS_DIRECTION": "at_most", "MLOPS_THRESHOLD": "0.2",
           "MLOPS_DELAY_HOURS": "24", "MLOPS_WINDOW_HOURS": "24"}
    line = azure_substitute(quality.COMMAND, {"predictions": str(tmp_path / "p"), "labels": str(tmp_path / "l")})
    result = _run(line, tmp_path, env)
    _no_side_effect(tmp_path)
    argv = json.loads(result.stdout)
    assert argv[argv.index("--metric") + 1] == metric


@pytest.mark.parametrize("command", [RUNNER_COMMAND, DEPLOYER_COMMAND])
def test_runner_commands_read_everything_from_the_environment(command: str, tmp_path: Path) -> None:
    # No binding and no blueprint text in the command itself: the script reads its settings from env vars.
    assert _BINDING.search(command) is None and command == 'python -c "$MLOPS_SCRIPT"'
    env = {**_workspace(tmp_path), "MLOPS_SCRIPT": "import os; print(os.environ['MLOPS_CONFIG'])",
           "MLOPS_CONFIG": "x';touch pwned;'$(touch pwned)"}
    assert _run(command, tmp_path, env).stdout.strip() == "x';touch pwned;'$(touch pwned)"
    _no_side_effect(tmp_path)


def test_the_sweep_objective_must_be_a_metric_mlflow_can_log() -> None:
    from mlops.blueprint.model import HyperparameterSearch
    from mlops.plan import PlanError

    plan = plan_loaded(load_text(Path(FORECAST).read_text()), "prod")
    model = plan.models[0]
    assert model.training is not None
    training = model.training.model_copy(update={"search": HyperparameterSearch(objective_metric="x${{inputs.a}}")})
    changed = model.model_copy(update={"training": training})
    with pytest.raises(PlanError, match="not a metric name MLflow can log") as refused:
        pj.check(plan.model_copy(update={"models": (changed,)}), changed)
    [diagnostic] = refused.value.diagnostics
    assert diagnostic.path == ("models", 0, "training", "hyperparameter_search", "objective_metric")
