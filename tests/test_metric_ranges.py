"""Well-known metric names carry their standard range; names nobody standardised are left to the team."""

from __future__ import annotations

import pytest

from mlops.blueprint.metrics import metric_range


@pytest.mark.parametrize(("metric", "inside", "outside"), [
    ("auc", 0.92, 92), ("AUROC", 1.0, 1.01), ("precision", 0.0, -0.1), ("brier_score", 0.12, 12),
    ("ndcg_at_10", 0.3, 30), ("recall@50", 0.55, 55), ("precision_at_k", 0.2, 2),
    ("rmse", 1200.0, -1), ("mape", 0.18, 18), ("smape", 1.5, 2.5), ("r2", -3.0, 1.2),
    ("abs_bias_percent", 5, 120), ("mcc", -0.5, -2),
])
def test_known_metrics_have_their_range(metric: str, inside: float, outside: float) -> None:
    bounds = metric_range(metric)
    assert bounds is not None
    assert bounds.holds(inside)
    assert not bounds.holds(outside)


@pytest.mark.parametrize("metric", ["mae_days", "revenue_uplift", "custom_score", "ndcg_at_x"])
def test_names_without_a_standard_range_are_not_checked(metric: str) -> None:
    assert metric_range(metric) is None
