"""Score a model's production predictions against ground truth; fail the job when the quality bar is missed.

Runs as the scheduled quality job of one model (an Azure ML command job; pandas and scikit-learn come
with the curated environment). Inputs are mounted folders:

- `--predictions`: CSV files with columns `id` and `prediction` (batch models: what the scoring model
  writes), or the data collector's JSON-lines `model_outputs` (online models: `correlationid` is the
  id, the first value of the first output row the prediction).
- `--labels`: CSV files with columns `id` and `label` (the team's ground truth).

Only files last modified in the window that ended `--delay-hours` ago and lasted `--window-hours`
are read, so each run scores the predictions whose labels have had time to arrive. The job fails
(exit 1) when the metric is on the wrong side of the threshold: the failure is the alert. Before
failing on a missed bar (and only then: not when nothing could be measured), it tags its run
`mlops_quality_breach=true` through the job's MLflow tracking (the curated environment has mlflow
and azureml-mlflow): the workspace's RunStatusChanged event carries the run's tags, and performance
retraining listens for failed quality runs with that tag only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence

Metric = Callable[[Sequence[float], Sequence[float]], float]
BREACH_TAG = "mlops_quality_breach"
"""components.azure.retraining_workflow.QUALITY_BREACH_TAG (the script travels alone: a test checks they agree)."""


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _positives(truth: Sequence[float], predicted: Sequence[float], threshold: float = 0.5) -> tuple[int, int, int]:
    tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t >= threshold and p >= threshold)
    fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t < threshold <= p)
    fn = sum(1 for t, p in zip(truth, predicted, strict=True) if p < threshold <= t)
    return tp, fp, fn


def _precision(t: Sequence[float], p: Sequence[float]) -> float:
    tp, fp, _ = _positives(t, p)
    return tp / (tp + fp) if tp + fp else 0.0


def _recall(t: Sequence[float], p: Sequence[float]) -> float:
    tp, _, fn = _positives(t, p)
    return tp / (tp + fn) if tp + fn else 0.0


def _f1(t: Sequence[float], p: Sequence[float]) -> float:
    precision, recall = _precision(t, p), _recall(t, p)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _auc(t: Sequence[float], p: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    positives = [s for y, s in zip(t, p, strict=True) if y >= 0.5]
    negatives = [s for y, s in zip(t, p, strict=True) if y < 0.5]
    if not positives or not negatives:
        return float("nan")
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in positives for b in negatives)
    return wins / (len(positives) * len(negatives))


def _r2(t: Sequence[float], p: Sequence[float]) -> float:
    mean = _mean(t)
    total = sum((y - mean) ** 2 for y in t)
    return 1 - sum((y - q) ** 2 for y, q in zip(t, p, strict=True)) / total if total else float("nan")


METRICS: dict[str, Metric] = {
    "accuracy": lambda t, p: _mean([1.0 if (y >= 0.5) == (q >= 0.5) else 0.0 for y, q in zip(t, p, strict=True)]),
    "precision": _precision,
    "recall": _recall,
    "f1": _f1,
    "auc": _auc,
    "auroc": _auc,
    "roc_auc": _auc,
    "ctr": lambda t, p: _mean(list(t)),
    "mae": lambda t, p: _mean([abs(y - q) for y, q in zip(t, p, strict=True)]),
    "mse": lambda t, p: _mean([(y - q) ** 2 for y, q in zip(t, p, strict=True)]),
    "rmse": lambda t, p: math.sqrt(_mean([(y - q) ** 2 for y, q in zip(t, p, strict=True)])),
    "r2": _r2,
    "mape": lambda t, p: _mean([abs((y - q) / y) for y, q in zip(t, p, strict=True) if y != 0]),
}
"""Blueprint quality metric → how it is computed (probabilities and labels thresholded at 0.5)."""


def _files(root: str, start: float, end: float) -> Iterator[str]:
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            path = os.path.join(folder, name)
            if start <= os.path.getmtime(path) < end:
                yield path


def _csv_rows(path: str) -> Iterator[dict[str, str]]:
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _first_value(data: object) -> float:
    """The prediction in a collected record: the first value of the first output row."""
    while isinstance(data, list | dict):
        if not data:
            raise ValueError("collected record without outputs")
        data = data[0] if isinstance(data, list) else next(iter(data.values()))
    if not isinstance(data, int | float | str):
        raise ValueError(f"not a prediction: {data!r}")
    return float(data)


def read_predictions(paths: Sequence[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for path in paths:
        if path.endswith(".csv"):
            for row in _csv_rows(path):
                found[row["id"]] = float(row["prediction"])
        elif path.endswith((".jsonl", ".json")):
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
                    found[str(record.get("correlationid"))] = _first_value(record.get("data"))
    return found


def read_labels(paths: Sequence[str]) -> dict[str, float]:
    return {row["id"]: float(row["label"]) for path in paths if path.endswith(".csv") for row in _csv_rows(path)}


def evaluate(predictions: dict[str, float], labels: dict[str, float], metric: str) -> tuple[float, int]:
    """The metric over the predictions that have a label, and how many there were."""
    ids = sorted(set(predictions) & set(labels))
    if not ids:
        return float("nan"), 0
    return METRICS[metric]([labels[i] for i in ids], [predictions[i] for i in ids]), len(ids)


def passes(value: float, threshold: float, direction: str) -> bool:
    return value >= threshold if direction == "at_least" else value <= threshold


def mark_breach() -> bool:
    """Tag this job's run as a quality breach (MLflow run of the Azure ML job); False when it cannot."""
    run_id = os.environ.get("MLFLOW_RUN_ID")
    try:
        from mlflow.tracking import MlflowClient  # pyright: ignore[reportMissingImports]
    except ImportError:
        return False
    if not run_id:
        return False
    try:
        MlflowClient().set_tag(run_id, BREACH_TAG, "true")
    except Exception as error:  # the failed run still alerts: say why retraining will not start
        print(f"could not tag the run as a quality breach: {error}", file=sys.stderr)
        return False
    return True


def main(argv: Sequence[str] | None = None, *, mark: Callable[[], bool] = mark_breach) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    for flag in ("--predictions", "--labels", "--metric", "--direction"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--threshold", type=float, required=True)
    parser.add_argument("--delay-hours", type=float, required=True)
    parser.add_argument("--window-hours", type=float, required=True)
    args = parser.parse_args(argv)
    end = time.time() - args.delay_hours * 3600
    start = end - args.window_hours * 3600
    predictions = read_predictions(list(_files(args.predictions, start, end)))
    labels = read_labels(list(_files(args.labels, start, time.time())))
    value, count = evaluate(predictions, labels, args.metric)
    print(json.dumps({"metric": args.metric, "value": value, "labelled_predictions": count,
                      "threshold": args.threshold, "direction": args.direction}))
    if count == 0:
        print("no labelled predictions in the window: quality cannot be measured", file=sys.stderr)
        return 1
    if not passes(value, args.threshold, args.direction):
        print(f"{args.metric} = {value:.4g} misses the bar ({args.direction} {args.threshold:g})", file=sys.stderr)
        if not mark():
            print(f"run not tagged {BREACH_TAG}=true: performance retraining will not start", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
