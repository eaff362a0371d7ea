"""The platform's scheduled drift or quality job of one model (a SageMaker processing job).

EventBridge Scheduler starts it on the blueprint's drift or quality schedule (SageMaker Model
Monitor is closed to new customers: see README). It runs on the pipeline's processing image with
this folder as its code (`baseline.py`, `drift_methods.py`, `quality_metrics.py` beside it), reads
S3 with boto3 (which the image ships) and publishes CloudWatch metrics in the platform's namespace.

drift (MLOPS_KIND=drift): the requests of the period that ended at the scheduled time: real-time
models' captured requests of the champion variant (`<capture>/<endpoint>/champion/yyyy/mm/dd/hh/`,
the hours of the period; CSV inputs), batch models' input files last modified in the period (CSV,
features only). They are summarised like the drift baseline (`baseline.feature_statistics`), each
watched feature is compared with the registered baseline statistics by the blueprint's method, and
`mlops_drift_<method>` is published with dimension Model (the largest score) and with Model and
Feature (each feature). Without a staged baseline the job fails; without requests it publishes nothing.

quality (MLOPS_KIND=quality): the predictions of the period that ended `label_delay_hours` before
the scheduled time (captured responses: the first CSV value; batch output files `<input>.out`
last modified in the period: one prediction a line) are joined on their id with the ground truth,
CSV files with a header `id,label` under `ground-truth/<model>/`, last modified since the period
began (labels come after predictions). Ids: a captured request's inference id (the `InferenceId`
the caller passed to InvokeEndpoint, else SageMaker's event id), `<id>:<n>` for the n-th record
(from 0) of a multi-record request; a batch prediction's `<input key below the input prefix>:<line>`
(from 1). The blueprint's metric is published as `mlops_quality_<metric>` (dimension Model), with
`mlops_quality_labelled` (how many predictions had a label); nothing is published without labels.

Both write a JSON report to /opt/ml/processing/output (uploaded, KMS-encrypted, to the model's report
prefix) and print it.
"""

# It runs on the processing image's Python, which may predate 3.10.
# ruff: noqa: UP006, UP017, UP035, UP045

from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

if __package__:  # imported from the repository (tests)
    from . import baseline, drift_methods, quality_metrics
else:  # the job: the three modules are shipped into the same code folder
    import baseline  # pyright: ignore[reportMissingImports]
    import drift_methods  # pyright: ignore[reportMissingImports]
    import quality_metrics  # pyright: ignore[reportMissingImports]

OUTPUT = "/opt/ml/processing/output"
CHAMPION = "champion"
"""The endpoint variant whose requests are monitored (the shadow variant's are mirrored copies)."""
METRIC_BATCH = 1000  # PutMetricData takes at most 1000 values per call

Record = Tuple[str, List[str], Optional[str]]  # id, feature values, prediction (None: no output captured)


class JobError(Exception):
    """The job cannot run (no baseline, a malformed setting): it fails with this message."""


# --------------------------------------------------------------------------- time and S3


def parse_time(text: str) -> datetime:
    """Scheduler's `<aws.scheduler.scheduled-time>` (`2022-03-22T18:59:43Z`)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def window(scheduled: datetime, period_hours: int, delay_hours: int = 0) -> Tuple[datetime, datetime]:
    """[start, end): one period that ended `delay_hours` before the scheduled time."""
    end = scheduled - timedelta(hours=delay_hours)
    return end - timedelta(hours=period_hours), end


def split_s3(uri: str) -> Tuple[str, str]:
    if not uri.startswith("s3://"):
        raise JobError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def listed(s3: Any, bucket: str, prefix: str) -> Iterator[Dict[str, Any]]:
    token: Optional[str] = None
    while True:
        request: Dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            request["ContinuationToken"] = token
        page = s3.list_objects_v2(**request)
        yield from page.get("Contents", [])
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return


def modified_between(s3: Any, uri: str, start: datetime, end: Optional[datetime]) -> List[str]:
    """Keys under `uri` last modified in [start, end) (no end: since start), sorted."""
    bucket, prefix = split_s3(uri)
    return sorted(o["Key"] for o in listed(s3, bucket, prefix)
                  if o["LastModified"] >= start and (end is None or o["LastModified"] < end))


def capture_keys(s3: Any, uri: str, start: datetime, end: datetime) -> List[str]:
    """The champion's capture files of the hours in [start, end) (SageMaker writes `yyyy/mm/dd/hh/`)."""
    bucket, prefix = split_s3(uri.rstrip("/") + "/")
    keys: List[str] = []
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        keys += sorted(o["Key"] for o in listed(s3, bucket, f"{prefix}{hour:%Y/%m/%d/%H}/"))
        hour += timedelta(hours=1)
    return keys


def read_text(s3: Any, bucket: str, key: str) -> str:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")


# --------------------------------------------------------------------------- records


def _decoded(content: Optional[Mapping[str, Any]]) -> Optional[str]:
    if not content or content.get("data") is None:
        return None
    data = str(content["data"])
    if content.get("encoding") == "BASE64":
        return base64.b64decode(data).decode("utf-8")
    return data


def _csv(text: str) -> List[List[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row]


def capture_records(line: str) -> List[Record]:
    """The records of one captured request (one JSON line of a data-capture file)."""
    event = json.loads(line)
    data = event.get("captureData") or {}
    meta = event.get("eventMetadata") or {}
    ident = str(meta.get("inferenceId") or meta.get("eventId") or "")
    requests = _csv(_decoded(data.get("endpointInput")) or "")
    outputs = _csv(_decoded(data.get("endpointOutput")) or "")
    ids = [ident] if len(requests) == 1 else [f"{ident}:{i}" for i in range(len(requests))]
    return [(ids[i], row, outputs[i][0] if i < len(outputs) and outputs[i] else None)
            for i, row in enumerate(requests)]


def batch_rows(text: str, name: str) -> List[Tuple[str, List[str]]]:
    """(id, values) of each line of a batch input or output file; ids `<name>:<line>` from 1."""
    return [(f"{name}:{i}", row) for i, row in enumerate(csv.reader(io.StringIO(text)), start=1) if row]


def relative(key: str, prefix: str) -> str:
    return key[len(prefix):].lstrip("/") if key.startswith(prefix) else key


# --------------------------------------------------------------------------- drift


def current_statistics(rows: List[List[str]]) -> Dict[str, Any]:
    """The period's feature statistics, computed as the baseline's are (features only: no label)."""
    columns: List[baseline.Column] = []
    for row in rows:
        while len(columns) < len(row):
            columns.append(baseline.Column())
        for i, column in enumerate(columns):
            column.add(row[i] if i < len(row) else "")
    return {"features": [baseline.feature_statistics(f"_c{i}", c) for i, c in enumerate(columns)]}


def drift_result(settings: Mapping[str, str], reference: Dict[str, Any], rows: List[List[str]]) -> Dict[str, Any]:
    method = settings["MLOPS_METHOD"]
    features = [f for f in settings.get("MLOPS_FEATURES", "").split(",") if f]
    result = drift_methods.report(method, float(settings["MLOPS_THRESHOLD"]),
                                  *drift_methods.drift_scores(method, reference, current_statistics(rows), features))
    result["rows"] = len(rows)
    return result


def drift_rows(s3: Any, settings: Mapping[str, str], start: datetime, end: datetime) -> List[List[str]]:
    uri = settings["MLOPS_INPUT_URI"]
    bucket, _ = split_s3(uri)
    if settings["MLOPS_SOURCE"] == "capture":
        return [features for key in capture_keys(s3, uri, start, end)
                for line in read_text(s3, bucket, key).splitlines() if line.strip()
                for _, features, _ in capture_records(line)]
    _, prefix = split_s3(uri)
    return [row for key in modified_between(s3, uri, start, end)
            for _, row in batch_rows(read_text(s3, bucket, key), relative(key, prefix))]


# --------------------------------------------------------------------------- quality


def predictions(s3: Any, settings: Mapping[str, str], start: datetime, end: datetime) -> Dict[str, float]:
    uri = settings["MLOPS_PREDICTIONS_URI"]
    bucket, prefix = split_s3(uri)
    found: Dict[str, float] = {}
    if settings["MLOPS_SOURCE"] == "capture":
        for key in capture_keys(s3, uri, start, end):
            for line in read_text(s3, bucket, key).splitlines():
                for ident, _, prediction in capture_records(line) if line.strip() else []:
                    if prediction is not None:
                        found[ident] = float(prediction)
        return found
    for key in modified_between(s3, uri, start, end):
        name = relative(key, prefix)
        if not name.endswith(".out"):  # batch transform names each output `<input>.out`
            continue
        for ident, row in batch_rows(read_text(s3, bucket, key), name[:-len(".out")]):
            found[ident] = float(row[0])
    return found


def labels(s3: Any, uri: str, since: datetime) -> Dict[str, float]:
    bucket, _ = split_s3(uri)
    found: Dict[str, float] = {}
    for key in modified_between(s3, uri, since, None):
        if key.endswith(".csv"):
            for row in csv.DictReader(io.StringIO(read_text(s3, bucket, key))):
                found[row["id"]] = float(row["label"])
    return found


def quality_result(settings: Mapping[str, str], predicted: Dict[str, float],
                   truth: Dict[str, float]) -> Dict[str, Any]:
    metric = settings["MLOPS_METRIC"]
    value, labelled = quality_metrics.evaluate(predicted, truth, metric)
    threshold = float(settings["MLOPS_THRESHOLD"])
    measured = not math.isnan(value)
    return {"metric": metric, "value": round(value, 6) if measured else None, "labelled": labelled,
            "predictions": len(predicted), "threshold": threshold, "direction": settings["MLOPS_DIRECTION"],
            "passes": quality_metrics.passes(value, threshold, settings["MLOPS_DIRECTION"]) if measured else None}


# --------------------------------------------------------------------------- metrics and the job


def metric_data(settings: Mapping[str, str], result: Dict[str, Any], stamp: datetime) -> List[Dict[str, Any]]:
    """What PutMetricData receives for a result (nothing when nothing was measured)."""
    model = [{"Name": "Model", "Value": settings["MLOPS_MODEL"]}]

    def datum(name: str, value: float, dimensions: List[Dict[str, str]]) -> Dict[str, Any]:
        return {"MetricName": name, "Dimensions": dimensions, "Timestamp": stamp, "Value": float(value),
                "Unit": "None" if name != "mlops_quality_labelled" else "Count"}
    if settings["MLOPS_KIND"] == "drift":
        if not result["features"]:
            return []
        name = f"mlops_drift_{result['method']}"
        return [datum(name, result["max"], model),
                *(datum(name, score, [*model, {"Name": "Feature", "Value": feature}])
                  for feature, score in sorted(result["features"].items()))]
    if result["value"] is None:
        return []
    return [datum(f"mlops_quality_{result['metric']}", result["value"], model),
            datum("mlops_quality_labelled", result["labelled"], model)]


def run(settings: Mapping[str, str], s3: Any, cloudwatch: Any, output: str = OUTPUT) -> Dict[str, Any]:
    kind = settings["MLOPS_KIND"]
    scheduled = parse_time(settings["MLOPS_SCHEDULED_TIME"])
    period = int(settings["MLOPS_PERIOD_HOURS"])
    if kind == "drift":
        start, end = window(scheduled, period)
        bucket, key = split_s3(settings["MLOPS_BASELINE_URI"])
        try:
            reference = json.loads(read_text(s3, bucket, key))
        except Exception as error:  # botocore's NoSuchKey: no version approved yet
            raise JobError(f"no drift baseline at {settings['MLOPS_BASELINE_URI']} (is a version approved?): "
                           f"{error}") from error
        result = drift_result(settings, reference, drift_rows(s3, settings, start, end))
    elif kind == "quality":
        start, end = window(scheduled, period, int(settings.get("MLOPS_LABEL_DELAY_HOURS", "0")))
        result = quality_result(settings, predictions(s3, settings, start, end),
                                labels(s3, settings["MLOPS_GROUND_TRUTH_URI"], start))
    else:
        raise JobError(f"MLOPS_KIND must be drift or quality (got {kind!r})")
    result.update({"model": settings["MLOPS_MODEL"], "kind": kind, "scheduled_time": settings["MLOPS_SCHEDULED_TIME"],
                   "window": [f"{start:%Y-%m-%dT%H:%M:%SZ}", f"{end:%Y-%m-%dT%H:%M:%SZ}"]})
    data = metric_data(settings, result, scheduled)
    for i in range(0, len(data), METRIC_BATCH):
        cloudwatch.put_metric_data(Namespace=settings["MLOPS_NAMESPACE"], MetricData=data[i:i + METRIC_BATCH])
    result["published"] = len(data)
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, f"{kind}-{scheduled:%Y%m%dT%H%M%SZ}.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2, sort_keys=True)
    print(json.dumps({"mlops_monitor": result}, sort_keys=True))
    return result


def main() -> None:
    import boto3  # in the processing image; tests pass fakes to run()

    region = os.environ["MLOPS_REGION"]
    try:
        run(os.environ, boto3.client("s3", region_name=region), boto3.client("cloudwatch", region_name=region))
    except JobError as error:
        print(f"mlops monitor: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
