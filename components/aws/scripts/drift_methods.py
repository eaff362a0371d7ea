"""The blueprint's drift methods between two feature statistics (the drift baseline's and the current period's).

Used by the scheduled monitoring job (`monitor_job.py`), which summarises the period's requests with
the drift baseline's own code (`baseline.py`: per numerical feature a 10-bucket equal-width
histogram between its min and max, per string feature its category counts) and compares each
watched feature with the registered baseline. Per feature:

- psi: population stability index over the baseline's buckets (current data re-binned onto them,
  shares floored at 1e-4), sum of (q - p) · ln(q / p);
- jensen_shannon: Jensen-Shannon distance (square root of the divergence, base 2, 0..1) over the
  same buckets;
- ks: the two-sample Kolmogorov-Smirnov statistic, max |F_baseline - F_current| (the CDFs are
  piecewise linear between bucket bounds);
- l_infinity: the same distance for numerical features, and the largest difference of category
  shares for categorical ones;
- wasserstein: the integral of |F_baseline - F_current| (Wasserstein-1), divided by the baseline's
  standard deviation so that one threshold fits every feature.

Categorical features use psi and jensen_shannon over category shares, and the largest difference of
shares for ks, l_infinity and wasserstein. Precision is that of the 10 buckets the statistics keep.
Standard library only (the processing image's Python is enough).
"""

# It runs on the Python of the processing image, which may predate 3.10: no zip(strict=),
# itertools.pairwise or builtin generics at run time.
# ruff: noqa: B905, RUF007, UP006, UP035

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Tuple

METHODS = ("psi", "jensen_shannon", "ks", "l_infinity", "wasserstein")
PSI_FLOOR = 1e-4

Bucket = Tuple[float, float, float]  # lower bound, upper bound, count


# --------------------------------------------------------------------------- distributions


def numeric_buckets(feature: dict[str, Any]) -> list[Bucket] | None:
    kll = (((feature.get("numerical_statistics") or {}).get("distribution") or {}).get("kll") or {})
    buckets = [(float(b["lower_bound"]), float(b["upper_bound"]), float(b["count"])) for b in kll.get("buckets", [])]
    return buckets if sum(b[2] for b in buckets) > 0 else None


def categorical_counts(feature: dict[str, Any]) -> dict[str, float] | None:
    categorical = (((feature.get("string_statistics") or {}).get("distribution") or {}).get("categorical") or {})
    counts = {str(b["value"]): float(b["count"]) for b in categorical.get("buckets", [])}
    return counts if sum(counts.values()) > 0 else None


def cdf(buckets: Sequence[Bucket], x: float) -> float:
    """Share of the values at or below x, values spread evenly within each bucket."""
    total = sum(b[2] for b in buckets)
    below = 0.0
    for low, high, count in buckets:
        if x >= high:
            below += count
        elif x > low:
            below += count * (x - low) / (high - low)
    return below / total


def edges(buckets: Iterable[Bucket]) -> list[float]:
    return sorted({bound for low, high, _ in buckets for bound in (low, high)})


def rebinned_shares(baseline: Sequence[Bucket], current: Sequence[Bucket]) -> tuple[list[float], list[float]]:
    """Shares of both distributions in the baseline's bins; the outer bins are open-ended."""
    cuts = edges(baseline)[1:-1]  # inner edges: below the first and above the last go to the outer bins
    if not cuts:  # a constant baseline: at-or-below its value, and above it
        cuts = [edges(baseline)[0]]
    def shares(buckets: Sequence[Bucket]) -> list[float]:
        points = [cdf(buckets, c) for c in cuts]
        return [points[0], *(b - a for a, b in zip(points, points[1:])), 1.0 - points[-1]]
    return shares(baseline), shares(current)


# --------------------------------------------------------------------------- distances


def psi(p: Sequence[float], q: Sequence[float]) -> float:
    return sum((max(b, PSI_FLOOR) - max(a, PSI_FLOOR)) * math.log(max(b, PSI_FLOOR) / max(a, PSI_FLOOR))
               for a, b in zip(p, q))


def jensen_shannon(p: Sequence[float], q: Sequence[float]) -> float:
    def kl(a: Sequence[float], m: Sequence[float]) -> float:
        return sum(x * math.log2(x / y) for x, y in zip(a, m) if x > 0)
    m = [(a + b) / 2 for a, b in zip(p, q)]
    return math.sqrt(max(0.0, (kl(p, m) + kl(q, m)) / 2))


def l_infinity(p: Sequence[float], q: Sequence[float]) -> float:
    return max((abs(a - b) for a, b in zip(p, q)), default=0.0)


def ks(baseline: Sequence[Bucket], current: Sequence[Bucket]) -> float:
    """max |F_b - F_c|: both CDFs are piecewise linear, so the maximum is at a bucket bound."""
    return max(abs(cdf(baseline, x) - cdf(current, x)) for x in edges([*baseline, *current]))


def wasserstein(baseline: Sequence[Bucket], current: Sequence[Bucket], scale: float) -> float:
    """∫ |F_b - F_c| dx (exact for piecewise-linear CDFs), divided by `scale`."""
    xs = edges([*baseline, *current])
    area = 0.0
    for a, b in zip(xs, xs[1:]):
        da, db = cdf(baseline, a) - cdf(current, a), cdf(baseline, b) - cdf(current, b)
        if da * db >= 0:
            area += (abs(da) + abs(db)) / 2 * (b - a)
        else:  # the difference changes sign inside: two triangles
            area += (da * da + db * db) / (2 * (abs(da) + abs(db))) * (b - a)
    return area / scale if scale > 0 else area


def _std_dev(feature: dict[str, Any], buckets: Sequence[Bucket]) -> float:
    std = (feature.get("numerical_statistics") or {}).get("std_dev")
    if std:
        return float(std)
    bounds = edges(buckets)
    return bounds[-1] - bounds[0]


def feature_score(method: str, baseline: dict[str, Any], current: dict[str, Any]) -> float | None:
    """The drift of one feature by `method`; None when the feature lacks a distribution in either."""
    b_num, c_num = numeric_buckets(baseline), numeric_buckets(current)
    if b_num and c_num:
        if method == "psi":
            return psi(*rebinned_shares(b_num, c_num))
        if method == "jensen_shannon":
            return jensen_shannon(*rebinned_shares(b_num, c_num))
        if method in ("ks", "l_infinity"):
            return ks(b_num, c_num)
        return wasserstein(b_num, c_num, _std_dev(baseline, b_num))
    b_cat, c_cat = categorical_counts(baseline), categorical_counts(current)
    if b_cat and c_cat:
        values = sorted(set(b_cat) | set(c_cat))
        p = [b_cat.get(v, 0.0) / sum(b_cat.values()) for v in values]
        q = [c_cat.get(v, 0.0) / sum(c_cat.values()) for v in values]
        if method == "psi":
            return psi(p, q)
        if method == "jensen_shannon":
            return jensen_shannon(p, q)
        return l_infinity(p, q)
    return None


def drift_scores(method: str, baseline: dict[str, Any], current: dict[str, Any],
                 features: Sequence[str] = ()) -> tuple[dict[str, float], list[str]]:
    """Scores of the watched features (all common ones when none are named) and the names skipped."""
    if method not in METHODS:
        raise ValueError(f"unknown drift method {method!r} (allowed: {', '.join(METHODS)})")
    by_name_b = {f["name"]: f for f in baseline.get("features", [])}
    by_name_c = {f["name"]: f for f in current.get("features", [])}
    watched = list(features) or sorted(set(by_name_b) & set(by_name_c))
    scores: dict[str, float] = {}
    skipped: list[str] = []
    for name in watched:
        score = feature_score(method, by_name_b[name], by_name_c[name]) \
            if name in by_name_b and name in by_name_c else None
        if score is None:
            skipped.append(name)
        else:
            scores[name] = round(score, 6)
    return scores, skipped


# --------------------------------------------------------------------------- the report


def report(method: str, threshold: float, scores: dict[str, float], skipped: list[str]) -> dict[str, Any]:
    worst = max(scores.values(), default=0.0)
    return {"method": method, "threshold": threshold, "max": worst, "features": scores,
            "drifted": sorted(n for n, s in scores.items() if s > threshold), "skipped": skipped}
