"""Register step of the Azure ML training pipeline: the candidate that passed the gates becomes a workspace
model version (MLflow, which the job's environment provides: mlflow and azureml-mlflow).

The version is tagged with who started the run, the gate verdict and, where governance requires model
cards, a draft model card (`model_card_status=draft`) that the approver completes before promoting the
version into the Azure ML registry (promotion is the approval: only the approver role may write there).
The card arrives as base64url JSON (`--model-card`), as every value from the blueprint reaches a command
(components/payload.py).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path


def decode(text: str) -> dict[str, object]:
    """base64url JSON (components.payload.encode): blueprint text reaches the command only in this form."""
    return json.loads(base64.urlsafe_b64decode(text.encode("ascii")).decode("utf-8"))


def tags(verdict: dict[str, object], triggered_by: str, card: dict[str, object] | None) -> dict[str, str]:
    """The tags of the registered version (strings only, as MLflow stores them)."""
    values = {"quality_gates": "passed" if verdict.get("passed") else "failed", "triggered_by": triggered_by}
    if card is not None:
        values["model_card_status"] = "draft"
        values["model_card"] = json.dumps(card, sort_keys=True)
    return values


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--verdict", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--triggered-by", default="manual")
    parser.add_argument("--model-card", default="")
    args = parser.parse_args(argv)
    verdict = json.loads((Path(args.verdict) / "verdict.json").read_text())
    card = decode(args.model_card) if args.model_card else None
    import mlflow  # pyright: ignore[reportMissingImports]  # the training image has it; tests need none

    with mlflow.start_run() as run:
        mlflow.log_artifacts(args.model, artifact_path="model")
        version = mlflow.register_model(f"runs:/{run.info.run_id}/model", args.name,
                                        tags=tags(verdict, args.triggered_by, card))
    print(f"registered {args.name} version {version.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
