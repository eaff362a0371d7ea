"""The drift methods of the monitoring job: each on small, hand-checkable distributions."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

from components.aws.scripts import drift_methods as drift


def numeric(name: str, buckets: list[tuple[float, float, int]], std_dev: float | None = None) -> dict[str, Any]:
    stats: dict[str, Any] = {"distribution": {"kll": {"buckets": [
        {"lower_bound": lo, "upper_bound": hi, "count": n} for lo, hi, n in buckets]}}}
    if std_dev is not None:
        stats["std_dev"] = std_dev
    return {"name": name, "inferred_type": "Fractional", "numerical_statistics": stats}


def categorical(name: str, counts: dict[str, int]) -> dict[str, Any]:
    return {"name": name, "inferred_type": "String", "string_statistics": {"distribution": {"categorical": {
        "buckets": [{"value": v, "count": n} for v, n in counts.items()]}}}}


def histogram(values: list[float], low: float, high: float, n: int = 10) -> list[tuple[float, float, int]]:
    """Model Monitor's KLL buckets: n equal-width buckets between the data's min and max."""
    width = (high - low) / n
    counts = [0] * n
    for v in values:
        counts[min(int((v - low) / width), n - 1)] += 1
    return [(low + i * width, low + (i + 1) * width, counts[i]) for i in range(n)]


# Two buckets each, so every score can be checked by hand.
BASE = numeric("x", [(0, 1, 50), (1, 2, 50)], std_dev=0.5)
SHIFTED = numeric("x", [(0, 1, 20), (1, 2, 80)])


def test_identical_distributions_do_not_drift() -> None:
    for method in drift.METHODS:
        assert drift.feature_score(method, BASE, BASE) == pytest.approx(0.0, abs=1e-12)


def test_psi_by_hand() -> None:
    # Bins [≤1] and [>1]: p = (.5, .5), q = (.2, .8).
    expected = (0.2 - 0.5) * math.log(0.2 / 0.5) + (0.8 - 0.5) * math.log(0.8 / 0.5)
    assert drift.feature_score("psi", BASE, SHIFTED) == pytest.approx(expected)


def test_jensen_shannon_distance_by_hand() -> None:
    p, q = (0.5, 0.5), (0.2, 0.8)
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    divergence = sum(a * math.log2(a / c) for a, c in zip(p, m, strict=True)) / 2 + \
        sum(b * math.log2(b / c) for b, c in zip(q, m, strict=True)) / 2
    assert drift.feature_score("jensen_shannon", BASE, SHIFTED) == pytest.approx(math.sqrt(divergence))


def test_ks_and_l_infinity_are_the_largest_cdf_gap() -> None:
    # F_base(1) = .5, F_shifted(1) = .2: the largest gap.
    assert drift.feature_score("ks", BASE, SHIFTED) == pytest.approx(0.3)
    assert drift.feature_score("l_infinity", BASE, SHIFTED) == pytest.approx(0.3)


def test_wasserstein_is_the_area_between_the_cdfs_over_the_baseline_spread() -> None:
    # |F_b - F_c| rises linearly from 0 to .3 on [0, 1] and falls back to 0 on [1, 2]: area .3; / std .5.
    assert drift.feature_score("wasserstein", BASE, SHIFTED) == pytest.approx(0.6)


def test_a_pure_shift_of_a_uniform_distribution() -> None:
    base = numeric("x", [(0, 1, 100)], std_dev=1.0)
    moved = numeric("x", [(0.5, 1.5, 100)])
    assert drift.feature_score("wasserstein", base, moved) == pytest.approx(0.5)  # W1 of a shift is the shift
    assert drift.feature_score("ks", base, moved) == pytest.approx(0.5)


def test_current_data_outside_the_baseline_range_lands_in_the_outer_bins() -> None:
    p, q = drift.rebinned_shares([(0, 1, 10), (1, 2, 10), (2, 3, 10)], [(5, 6, 10)])
    assert p == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert q == pytest.approx([0, 0, 1])


def test_sampled_normals_match_known_values() -> None:
    rng = random.Random(7)
    a = [rng.gauss(0, 1) for _ in range(20_000)]
    b = [rng.gauss(0.5, 1) for _ in range(20_000)]
    base = numeric("x", histogram(a, min(a), max(a)), std_dev=1.0)
    shifted = numeric("x", histogram(b, min(b), max(b)))
    # Two-sample KS of N(0,1) vs N(.5,1) is 2Φ(.25) - 1 ≈ 0.197; W1 of a shift is the shift.
    assert drift.feature_score("ks", base, shifted) == pytest.approx(0.197, abs=0.02)
    assert drift.feature_score("wasserstein", base, shifted) == pytest.approx(0.5, abs=0.05)
    assert 0.2 < drift.feature_score("psi", base, shifted) < 0.35  # the textbook ≈ 0.25 for half a std


def test_categorical_features() -> None:
    base = categorical("c", {"a": 50, "b": 50})
    current = categorical("c", {"a": 20, "b": 60, "new": 20})
    assert drift.feature_score("l_infinity", base, current) == pytest.approx(0.3)
    assert drift.feature_score("ks", base, current) == pytest.approx(0.3)
    expected_psi = sum((max(q, 1e-4) - max(p, 1e-4)) * math.log(max(q, 1e-4) / max(p, 1e-4))
                       for p, q in ((0.5, 0.2), (0.5, 0.6), (0.0, 0.2)))
    assert drift.feature_score("psi", base, current) == pytest.approx(expected_psi)


def test_scores_cover_the_watched_features_and_report_the_rest() -> None:
    baseline = {"features": [BASE, categorical("c", {"a": 1}), {"name": "empty"}]}
    current = {"features": [SHIFTED, categorical("c", {"a": 1}), {"name": "empty"}]}
    scores, skipped = drift.drift_scores("ks", baseline, current)
    assert scores == {"c": 0.0, "x": pytest.approx(0.3)} and skipped == ["empty"]
    scores, skipped = drift.drift_scores("ks", baseline, current, ["x", "missing"])
    assert list(scores) == ["x"] and skipped == ["missing"]
    with pytest.raises(ValueError, match="unknown drift method"):
        drift.drift_scores("chi2", baseline, current)


@pytest.mark.parametrize("module", ["drift_methods", "quality_metrics", "monitor_job", "baseline"])
def test_the_scripts_run_on_older_processing_image_pythons(module: str) -> None:
    import ast

    source = (Path(drift.__file__).parent / f"{module}.py").read_text()
    ast.parse(source, feature_version=(3, 7))  # no walrus-era-only syntax, no match statements …
    code = "\n".join(line for line in source.split('"""', 2)[2].splitlines() if not line.lstrip().startswith("#"))
    for newer in ("strict=", "pairwise(", "removeprefix(", "removesuffix("):
        assert newer not in code, newer  # … and no 3.9+/3.10+ calls in the code
