"""Quality gate step of the Azure ML training pipeline: pass every gate or fail the run (stdlib only).

Reads `<evaluation>/evaluation.json` (written by the team's evaluate.py) and the gates (`--gates`: JSON in
base64url, as every value from the blueprint reaches a command: components/payload.py): each gate
is `{"label", "path", "direction", "threshold"}` with `path` a dotted path into the report and direction
`at_least` or `at_most`; `champion` (optional) is `{"min_improvement"}`: when the report says a champion
exists, `champion.improvement` must reach it. Exits 1 with a message listing every gate's value and bar
when one fails, so the register step (which consumes this step's verdict) never runs. On success writes
`<verdict>/verdict.json`.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any


def decode(text: str) -> Any:
    """base64url JSON (components.payload.encode): blueprint text reaches the command only in this form."""
    return json.loads(base64.urlsafe_b64decode(text.encode("ascii")).decode("utf-8"))


def _lookup(report: dict[str, Any], path: str) -> Any:
    value: Any = report
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def failures(report: dict[str, Any], gates: dict[str, Any]) -> list[str]:
    """Every gate the report misses, as readable lines (empty: all pass)."""
    found: list[str] = []
    for gate in gates.get("gates", []):
        value = _lookup(report, gate["path"])
        at_least = gate["direction"] == "at_least"
        sign = ">=" if at_least else "<="
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            found.append(f"{gate['label']}: missing from the evaluation report (needs {sign} {gate['threshold']})")
        elif (value < gate["threshold"]) if at_least else (value > gate["threshold"]):
            found.append(f"{gate['label']} = {value} (needs {sign} {gate['threshold']})")
    champion = gates.get("champion")
    if champion is not None and _lookup(report, "champion.exists") is True:
        improvement = _lookup(report, "champion.improvement")
        if not isinstance(improvement, (int, float)) or improvement < champion["min_improvement"]:
            found.append(f"improvement over the champion = {improvement} "
                         f"(needs >= {champion['min_improvement']} when a champion exists)")
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evaluation", required=True)
    parser.add_argument("--gates", required=True)
    parser.add_argument("--verdict", required=True)
    args = parser.parse_args(argv)
    report = json.loads((Path(args.evaluation) / "evaluation.json").read_text())
    gates = decode(args.gates)
    missed = failures(report, gates)
    if missed:
        print(f"Quality gates not met for {gates.get('model', 'the model')}: " + "; ".join(missed), file=sys.stderr)
        return 1
    Path(args.verdict).mkdir(parents=True, exist_ok=True)
    (Path(args.verdict) / "verdict.json").write_text(json.dumps({"passed": True, "report": report}, sort_keys=True))
    print("every quality gate passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
