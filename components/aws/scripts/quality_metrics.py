"""The blueprint's model-quality metrics over labelled predictions (used by `monitor_job.py`).

A prediction is one number: the positive-class probability or score of a binary classifier, or the
value of a regressor. Classification metrics threshold both the prediction and the label at 0.5, as
Azure's quality job (components/azure/scripts/model_quality.py) does; `auc` ranks the raw scores.
The table is `mlops.clouds.aws.AWS_QUALITY_METRICS` (a test holds them equal): another metric is a
plan error. Standard library only.
"""

# It runs on the processing image's Python, which may predate 3.10: no zip(strict=) or builtin generics.
# ruff: noqa: B905, UP006, UP035

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Dict, Tuple

Metric = Callable[[Sequence[float], Sequence[float]], float]
THRESHOLD = 0.5


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def confusion(truth: Sequence[float], predicted: Sequence[float]) -> Tuple[int, int, int, int]:
    """(true positives, false positives, true negatives, false negatives) at THRESHOLD."""
    tp = fp = tn = fn = 0
    for t, p in zip(truth, predicted):
        actual, said = t >= THRESHOLD, p >= THRESHOLD
        if said and actual:
            tp += 1
        elif said:
            fp += 1
        elif actual:
            fn += 1
        else:
            tn += 1
    return tp, fp, tn, fn


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


def _precision(t: Sequence[float], p: Sequence[float]) -> float:
    tp, fp, _, _ = confusion(t, p)
    return _ratio(tp, tp + fp)


def _recall(t: Sequence[float], p: Sequence[float]) -> float:
    tp, _, _, fn = confusion(t, p)
    return _ratio(tp, tp + fn)


def _f_beta(beta: float) -> Metric:
    def score(t: Sequence[float], p: Sequence[float]) -> float:
        tp, fp, _, fn = confusion(t, p)
        b2 = beta * beta
        if not tp + fp + fn:  # only true negatives: precision and recall are undefined
            return float("nan")
        return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)
    return score


def _true_negative_rate(t: Sequence[float], p: Sequence[float]) -> float:
    _, fp, tn, _ = confusion(t, p)
    return _ratio(tn, tn + fp)


def _false_positive_rate(t: Sequence[float], p: Sequence[float]) -> float:
    _, fp, tn, _ = confusion(t, p)
    return _ratio(fp, fp + tn)


def _false_negative_rate(t: Sequence[float], p: Sequence[float]) -> float:
    tp, _, _, fn = confusion(t, p)
    return _ratio(fn, fn + tp)


def _accuracy(t: Sequence[float], p: Sequence[float]) -> float:
    tp, fp, tn, fn = confusion(t, p)
    return _ratio(tp + tn, tp + fp + tn + fn)


def _auc(t: Sequence[float], p: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half), by ranks."""
    pairs = sorted(zip(p, t))
    positives = sum(1 for _, y in pairs if y >= THRESHOLD)
    negatives = len(pairs) - positives
    if not positives or not negatives:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(pairs):  # tied scores share their mean rank
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mean_rank = (i + 1 + j) / 2
        rank_sum += mean_rank * sum(1 for _, y in pairs[i:j] if y >= THRESHOLD)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _mse(t: Sequence[float], p: Sequence[float]) -> float:
    return _mean([(y - q) ** 2 for y, q in zip(t, p)])


def _r2(t: Sequence[float], p: Sequence[float]) -> float:
    mean = _mean(t)
    total = sum((y - mean) ** 2 for y in t)
    return 1 - sum((y - q) ** 2 for y, q in zip(t, p)) / total if total else float("nan")


METRICS: Dict[str, Metric] = {
    "accuracy": _accuracy,
    "precision": _precision,
    "recall": _recall,
    "true_positive_rate": _recall,
    "tpr": _recall,
    "true_negative_rate": _true_negative_rate,
    "false_positive_rate": _false_positive_rate,
    "fpr": _false_positive_rate,
    "false_negative_rate": _false_negative_rate,
    "f0_5": _f_beta(0.5),
    "f1": _f_beta(1.0),
    "f2": _f_beta(2.0),
    "auc": _auc,
    "auroc": _auc,
    "roc_auc": _auc,
    "ctr": lambda t, p: _mean([1.0 if y >= THRESHOLD else 0.0 for y in t]),
    "mae": lambda t, p: _mean([abs(y - q) for y, q in zip(t, p)]),
    "mse": _mse,
    "rmse": lambda t, p: math.sqrt(_mse(t, p)) if t else float("nan"),
    "r2": _r2,
    "mape": lambda t, p: _mean([abs((y - q) / y) for y, q in zip(t, p) if y != 0]),
}
"""Blueprint quality metric → how it is computed. `ctr` is the observed click-through rate of the labelled
predictions (the share of positive labels), as on Azure and GCP. NaN: the period had nothing to measure."""


def evaluate(predictions: Dict[str, float], labels: Dict[str, float], metric: str) -> Tuple[float, int]:
    """The metric over the predictions that have a label, and how many there were."""
    if metric not in METRICS:
        raise ValueError(f"unknown quality metric {metric!r} (allowed: {', '.join(sorted(METRICS))})")
    ids = sorted(set(predictions) & set(labels))
    if not ids:
        return float("nan"), 0
    return METRICS[metric]([labels[i] for i in ids], [predictions[i] for i in ids]), len(ids)


def passes(value: float, threshold: float, direction: str) -> bool:
    """The bar: `at_least` (accuracy, auc …) or `at_most` (error rates, mae …)."""
    return value >= threshold if direction == "at_least" else value <= threshold
