"""The ranges well-known metrics take, so that a gate on a value the metric can never reach is an error.

Blueprint metrics are free text: the team's training and evaluation code reports them, and the gates
compare what it reports. A name with a standard meaning, though, has a standard range, and a threshold
outside it is a typo (an AUC gate of 92 meant 0.92, and would block every model forever; a MAPE gate of
18 meant 18 %, and would pass every model). Names nobody standardised (`mae_days`) are not checked.

Ranges follow the usual definitions (scikit-learn, SageMaker Model Monitor, Vertex AI, Azure ML):
scores and rates are fractions in 0-1, errors are non-negative, R² is at most 1, MAPE/WAPE are
fractions of the actual value (0.18 = 18 %: Azure's quality job computes it so), `*_percent` is 0-100.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricRange:
    low: float | None
    high: float | None
    meaning: str
    """What the range means, said in the error (`a fraction`, `a non-negative error`)."""

    def holds(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def text(self) -> str:
        if self.high is None:
            return f">= {self.low:g}"
        if self.low is None:
            return f"<= {self.high:g}"
        return f"{self.low:g}-{self.high:g}"


FRACTION = MetricRange(0, 1, "a score or rate between 0 and 1")
ERROR = MetricRange(0, None, "a non-negative error")
PERCENT = MetricRange(0, 100, "a percentage")
RELATIVE_ERROR = MetricRange(0, 1, "a fraction of the actual value (0.18 = 18 %)")

_FRACTIONS = (
    "accuracy", "balanced_accuracy", "precision", "recall", "f1", "f0_5", "f2", "auc", "auroc", "roc_auc",
    "pr_auc", "auprc", "aucpr", "average_precision", "true_positive_rate", "true_negative_rate",
    "false_positive_rate", "false_negative_rate", "tpr", "tnr", "fpr", "fnr", "specificity", "sensitivity",
    "ctr", "conversion_rate", "brier_score", "hit_rate", "mrr", "ndcg", "map", "coverage", "jaccard", "iou",
    "top_k_accuracy", "top_1_accuracy", "top_5_accuracy",
)
_EXACT: dict[str, MetricRange] = {
    **{name: FRACTION for name in _FRACTIONS},
    **{f"weighted_{name}": FRACTION for name in ("precision", "recall", "f0_5", "f1", "f2", "auc")},
    **{f"{avg}_{name}": FRACTION for avg in ("macro", "micro") for name in ("precision", "recall", "f1", "auc")},
    **{name: ERROR for name in ("mae", "mse", "rmse", "rmsle", "msle", "log_loss", "logloss", "cross_entropy",
                                "mdape", "pinball_loss", "quantile_loss", "mase")},
    "mape": RELATIVE_ERROR, "wape": RELATIVE_ERROR,
    "smape": MetricRange(0, 2, "a symmetric fraction of the actual value (0 to 2)"),
    "r2": MetricRange(None, 1, "at most 1 (1 is a perfect fit)"),
    "gini": MetricRange(-1, 1, "between -1 and 1"),
    "mcc": MetricRange(-1, 1, "between -1 and 1"),
    "ks_statistic": FRACTION,
}
# Ranking metrics at a cut-off: ndcg_at_10, recall@50, precision_at_k, map_at_12, hit_rate_at_5.
_AT_K = re.compile(r"^(?P<base>[a-z_]+?)(_at_|@)(\d+|k)$")


def metric_range(metric: str) -> MetricRange | None:
    """The range of a well-known metric name (case-insensitive), or None for a name with no standard range."""
    name = metric.strip().lower()
    if name in _EXACT:
        return _EXACT[name]
    at_k = _AT_K.match(name)
    if at_k and at_k.group("base") in _EXACT:
        return _EXACT[at_k.group("base")]
    if name.endswith("_percent") or name.endswith("_pct"):
        return PERCENT
    return None
