"""The training pipeline's Baseline step: drift baseline statistics and constraints of the train split.

Runs as a SageMaker processing job (the pipeline's `Baseline` step, on the scikit-learn processing
image) after Preprocess. It reads the train split the team's `preprocess.py` wrote (CSV files, label
first, no header) under `/opt/ml/processing/input/train`, drops the label, and writes to
`/opt/ml/processing/baseline`:

- `statistics.json`: per feature (named `_c0`, `_c1`, … in column order, as Model Monitor names the
  columns of header-less CSV requests) its type, counts, and for numbers mean, sum, standard
  deviation, min, max and a 10-bucket distribution (`distribution.kll.buckets`, equal-width between
  min and max), for strings the category counts (`distribution.categorical.buckets`);
- `constraints.json`: per feature its inferred type, completeness and (numbers) non-negativity or
  (strings) its domain, with monitoring settings.

Both use the layout of SageMaker Model Monitor's baseline files (a familiar, documented format), and the
scheduled drift job (`monitor_job.py`) summarises each period with this module's own `feature_statistics`,
so the two sides are computed alike; SageMaker Model Monitor itself is not used because it is closed to
new customers (see README).

Why not Model Monitor's `QualityCheck` step: it runs the Model Monitor analyzer image, which the
availability change above covers. Standard library only: the processing image's Python is enough.
"""

# ruff: noqa: UP006, UP035

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Dict, List

TRAIN = "/opt/ml/processing/input/train"
OUTPUT = "/opt/ml/processing/baseline"
BUCKETS = 10
MAX_CATEGORIES = 1000
"""A string column with more distinct values is summarised by its most frequent ones."""


def rows(folder: str) -> Iterator[List[str]]:
    """Every CSV row of every file under `folder` (sorted, so two runs read the same order)."""
    for root, _, files in sorted(os.walk(folder)):
        for name in sorted(files):
            with open(os.path.join(root, name), newline="", encoding="utf-8") as handle:
                for row in csv.reader(handle):
                    if row:
                        yield row


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class Column:
    """Running summary of one feature column."""

    def __init__(self) -> None:
        self.present = self.missing = 0
        self.numbers: List[float] = []
        self.strings: Dict[str, int] = {}
        self.integral = True

    def add(self, text: str) -> None:
        text = text.strip()
        if text == "":
            self.missing += 1
            return
        self.present += 1
        value = _number(text)
        if value is None:
            self.strings[text] = self.strings.get(text, 0) + 1
        else:
            self.numbers.append(value)
            # Integral as written (`3`), not as valued (`3.0` is Fractional), as Model Monitor infers.
            self.integral = self.integral and text.lstrip("+-").isdigit()

    @property
    def numeric(self) -> bool:
        """Numeric when every present value is a number (Model Monitor infers the same way)."""
        return bool(self.numbers) and not self.strings


def summarise(data: Iterable[List[str]]) -> List[Column]:
    columns: List[Column] = []
    for row in data:
        features = row[1:]  # the label comes first
        while len(columns) < len(features):
            columns.append(Column())
        for i, column in enumerate(columns):
            column.add(features[i] if i < len(features) else "")
    return columns


def buckets(values: List[float]) -> List[Dict[str, float]]:
    low, high = min(values), max(values)
    if high == low:
        return [{"lower_bound": low, "upper_bound": high, "count": float(len(values))}]
    width = (high - low) / BUCKETS
    counts = [0] * BUCKETS
    for v in values:
        counts[min(int((v - low) / width), BUCKETS - 1)] += 1
    return [{"lower_bound": low + i * width, "upper_bound": high if i == BUCKETS - 1 else low + (i + 1) * width,
             "count": float(c)} for i, c in enumerate(counts)]


def feature_statistics(name: str, column: Column) -> Dict[str, Any]:
    common = {"num_present": column.present, "num_missing": column.missing}
    if column.numeric:
        values = column.numbers
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        return {"name": name, "inferred_type": "Integral" if column.integral else "Fractional",
                "numerical_statistics": {"common": common, "mean": mean, "sum": sum(values), "std_dev": std,
                                         "min": min(values), "max": max(values),
                                         "distribution": {"kll": {"buckets": buckets(values)}}}}
    counts = dict(column.strings)
    for v in column.numbers:  # a mixed column is a string column: its numbers are categories too
        key = f"{v:g}"
        counts[key] = counts.get(key, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CATEGORIES]
    return {"name": name, "inferred_type": "String",
            "string_statistics": {"common": common, "distinct_count": float(len(counts)),
                                  "distribution": {"categorical": {"buckets": [
                                      {"value": v, "count": float(c)} for v, c in top]}}}}


def feature_constraints(stats: Dict[str, Any]) -> Dict[str, Any]:
    kind = stats["inferred_type"]
    section = stats["numerical_statistics" if kind != "String" else "string_statistics"]
    common = section["common"]
    total = common["num_present"] + common["num_missing"]
    constraint: Dict[str, Any] = {"name": stats["name"], "inferred_type": kind,
                                  "completeness": common["num_present"] / total if total else 0.0}
    if kind == "String":
        constraint["string_constraints"] = {"domains": sorted(
            b["value"] for b in section["distribution"]["categorical"]["buckets"])}
    else:
        constraint["num_constraints"] = {"is_non_negative": section["min"] >= 0}
    return constraint


def baseline(data: Iterable[List[str]]) -> tuple[Dict[str, Any], Dict[str, Any]]:
    """(statistics, constraints) of the feature columns of `data` (label first)."""
    columns = summarise(data)
    if not columns:
        raise ValueError("the train split has no feature column: nothing to baseline")
    features = [feature_statistics(f"_c{i}", c) for i, c in enumerate(columns)]
    items = max(c.present + c.missing for c in columns)
    statistics = {"version": 0.0, "dataset": {"item_count": items}, "features": features}
    constraints = {
        "version": 0.0,
        "features": [feature_constraints(f) for f in features],
        "monitoring_config": {
            "evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0, "domain_content_threshold": 1.0,
            "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": 0.1,
                                         "comparison_method": "Robust"},
        },
    }
    return statistics, constraints


def main(train: str = TRAIN, output: str = OUTPUT) -> None:
    statistics, constraints = baseline(rows(train))
    os.makedirs(output, exist_ok=True)
    for name, document in (("statistics.json", statistics), ("constraints.json", constraints)):
        with open(os.path.join(output, name), "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
    print(json.dumps({"baseline": {"features": len(statistics["features"]),
                                   "items": statistics["dataset"]["item_count"]}}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
