"""The monitoring job script: windows, captured and batch records, quality metrics by hand, and whole runs.

Whole runs use the Environment of the synthesized schedules' CreateProcessingJob requests, a fake S3 and a
fake CloudWatch whose PutMetricData requests are checked against botocore's model: what the job publishes
is exactly what the alarms watch.
"""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from botocore.model import Shape
from sagemaker_requests import walk
from sagemaker_stack_requests import SCHEDULER_SCHEDULED_TIME, service
from shared_synth import synthesized

from components.aws.scripts import monitor_job as job
from components.aws.scripts import quality_metrics as quality
from mlops.clouds.aws import AWS_QUALITY_METRICS

T = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


class FakeS3:
    """list_objects_v2 / get_object over a dict of bucket → key → (body, last modified)."""

    def __init__(self, objects: dict[str, dict[str, tuple[str, datetime]]]) -> None:
        self.objects = objects

    def list_objects_v2(self, Bucket: str, Prefix: str, **_: Any) -> dict[str, Any]:
        found = [{"Key": k, "LastModified": m} for k, (_, m) in sorted(self.objects.get(Bucket, {}).items())
                 if k.startswith(Prefix)]
        return {"Contents": found, "IsTruncated": False}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if Key not in self.objects.get(Bucket, {}):
            raise KeyError(f"NoSuchKey {Key}")
        return {"Body": io.BytesIO(self.objects[Bucket][Key][0].encode())}


class FakeCloudWatch:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **request: Any) -> None:
        shape = service("cloudwatch").operation_model("PutMetricData").input_shape
        problems = list(walk(cast(Shape, shape), request, "PutMetricData"))
        assert problems == [], problems
        self.calls.append(request)


def capture(ident: str, features: str, output: str) -> str:
    return json.dumps({"captureData": {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": features, "encoding": "CSV"},
        "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": output, "encoding": "CSV"}},
        "eventMetadata": {"eventId": f"event-{ident}", "inferenceId": ident, "inferenceTime": "2026-12-03T17:10:00Z"},
        "eventVersion": "0"})


# --------------------------------------------------------------------------- pieces


def test_window_is_one_period_that_ended_delay_hours_before_the_run() -> None:
    assert job.window(T, 1) == (T - timedelta(hours=1), T)
    assert job.window(T, 168, 720) == (T - timedelta(hours=888), T - timedelta(hours=720))
    assert job.parse_time(SCHEDULER_SCHEDULED_TIME) == datetime(2022, 3, 22, 18, 59, 43, tzinfo=UTC)


def test_captured_records_single_multi_and_base64() -> None:
    assert job.capture_records(capture("abc", "1.5,2,x", "0.9")) == [("abc", ["1.5", "2", "x"], "0.9")]
    assert job.capture_records(capture("r", "1,2\n3,4", "0.1\n0.7")) == [
        ("r:0", ["1", "2"], "0.1"), ("r:1", ["3", "4"], "0.7")]
    event = json.loads(capture("b", "", ""))
    event["captureData"]["endpointInput"] = {"data": "NSw2", "encoding": "BASE64"}  # "5,6"
    del event["captureData"]["endpointOutput"]
    del event["eventMetadata"]["inferenceId"]
    assert job.capture_records(json.dumps(event)) == [("event-b", ["5", "6"], None)]


def test_capture_keys_are_the_hours_of_the_period() -> None:
    prefix = "capture/m/ep/champion/"
    s3 = FakeS3({"d": {f"{prefix}2026/12/03/16/a.jsonl": ("", T), f"{prefix}2026/12/03/17/b.jsonl": ("", T),
                       f"{prefix}2026/12/03/18/c.jsonl": ("", T)}})
    assert job.capture_keys(s3, f"s3://d/{prefix}", T - timedelta(hours=1), T) == [f"{prefix}2026/12/03/17/b.jsonl"]


def test_batch_ids_are_the_input_key_and_line() -> None:
    assert job.batch_rows("1,2\n\n3,4\n", "2026/day.csv") == [("2026/day.csv:1", ["1", "2"]),
                                                               ("2026/day.csv:3", ["3", "4"])]


# --------------------------------------------------------------------------- quality metrics by hand

TRUTH = [1, 1, 1, 0, 0, 0, 0, 1]
SCORES = [0.9, 0.8, 0.3, 0.6, 0.2, 0.1, 0.4, 0.7]  # tp=3 (0.9, 0.8, 0.7), fn=1 (0.3), fp=1 (0.6), tn=3


@pytest.mark.parametrize(("metric", "expected"), [
    ("accuracy", 6 / 8), ("precision", 3 / 4), ("recall", 3 / 4), ("tpr", 3 / 4), ("true_negative_rate", 3 / 4),
    ("false_positive_rate", 1 / 4), ("false_negative_rate", 1 / 4), ("f1", 0.75),
    ("f2", 5 * 3 / (5 * 3 + 4 * 1 + 1)), ("f0_5", 1.25 * 3 / (1.25 * 3 + 0.25 * 1 + 1)),
    # 16 positive-negative pairs; the positive wins all but (0.3 vs 0.6) and (0.3 vs 0.4): 14/16.
    ("auc", 14 / 16), ("ctr", 0.5),
])
def test_classification_metrics_by_hand(metric: str, expected: float) -> None:
    assert quality.METRICS[metric](TRUTH, SCORES) == pytest.approx(expected)


def test_auc_counts_ties_half_and_regression_metrics_by_hand() -> None:
    assert quality.METRICS["auc"]([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    truth, predicted = [2.0, 4.0, 6.0], [3.0, 4.0, 3.0]
    assert quality.METRICS["mae"](truth, predicted) == pytest.approx(4 / 3)
    assert quality.METRICS["mse"](truth, predicted) == pytest.approx(10 / 3)
    assert quality.METRICS["rmse"](truth, predicted) == pytest.approx(math.sqrt(10 / 3))
    assert quality.METRICS["r2"](truth, predicted) == pytest.approx(1 - 10 / 8)
    assert quality.METRICS["mape"](truth, predicted) == pytest.approx((0.5 + 0 + 0.5) / 3)


def test_the_plan_accepts_exactly_the_metrics_the_job_computes() -> None:
    assert sorted(AWS_QUALITY_METRICS) == sorted(quality.METRICS)
    with pytest.raises(ValueError, match="unknown quality metric"):
        quality.evaluate({"a": 1.0}, {"a": 1.0}, "weighted_f1")
    assert quality.evaluate({"a": 0.9, "b": 0.2}, {"a": 1.0, "c": 0.0}, "accuracy") == (1.0, 1)


# --------------------------------------------------------------------------- whole runs


def schedule_environment(blueprint: str, suffix: str) -> dict[str, str]:
    [schedule] = [r for r in synthesized(blueprint, "prod").resources if r.name.endswith(suffix)]
    env = json.loads(schedule.inputs["target"]["input"])["Environment"]
    return {**env, "MLOPS_SCHEDULED_TIME": "2026-12-03T18:00:00Z"}


def alarm(blueprint: str, suffix: str) -> dict[str, Any]:
    [found] = [r.inputs for r in synthesized(blueprint, "prod").resources if r.name.endswith(suffix)]
    return found


def statistics(values: list[float]) -> dict[str, Any]:
    from components.aws.scripts import baseline

    column = baseline.Column()
    for v in values:
        column.add(f"{v:g}")
    return {"features": [baseline.feature_statistics("_c0", column)]}


def test_a_drift_run_publishes_what_the_drift_alarm_watches(tmp_path: Path) -> None:
    env = schedule_environment("blueprints/fraud-detection-aws.yaml", "fraud-scorer-monitoring-drift-schedule")
    data_bucket, capture_prefix = job.split_s3(env["MLOPS_INPUT_URI"])
    artifacts, baseline_key = job.split_s3(env["MLOPS_BASELINE_URI"])
    reference = statistics([i / 10 for i in range(100)])  # 0 … 9.9
    lines = "\n".join(capture(f"r{i}", f"{5 + i / 20:g}", "0.5") for i in range(100))  # 5 … 9.95: shifted
    s3 = FakeS3({artifacts: {baseline_key: (json.dumps(reference), T)},
                 data_bucket: {f"{capture_prefix}2026/12/03/17/part.jsonl": (lines, T),
                               f"{capture_prefix}2026/12/03/15/old.jsonl": (capture("old", "0", "0"), T)}})
    cloudwatch = FakeCloudWatch()
    result = job.run(env, s3, cloudwatch, output=str(tmp_path))
    assert result["rows"] == 100 and result["drifted"] == ["_c0"] and result["max"] > 0.2
    watched = alarm("blueprints/fraud-detection-aws.yaml", "fraud-scorer-monitoring-drift-alarm")
    [call] = cloudwatch.calls
    assert call["Namespace"] == watched["namespace"]
    top = call["MetricData"][0]
    assert (top["MetricName"], top["Dimensions"]) == (watched["metricName"], [
        {"Name": k, "Value": v} for k, v in watched["dimensions"].items()])
    assert top["Value"] == result["max"] and top["Timestamp"] == datetime(2026, 12, 3, 18, tzinfo=UTC)
    assert call["MetricData"][1]["Dimensions"][1] == {"Name": "Feature", "Value": "_c0"}
    assert json.loads((tmp_path / "drift-20261203T180000Z.json").read_text())["window"] == [
        "2026-12-03T17:00:00Z", "2026-12-03T18:00:00Z"]


def test_a_drift_run_without_a_baseline_fails_and_without_requests_publishes_nothing(tmp_path: Path) -> None:
    env = schedule_environment("blueprints/fraud-detection-aws.yaml", "fraud-scorer-monitoring-drift-schedule")
    with pytest.raises(job.JobError, match="no drift baseline"):
        job.run(env, FakeS3({}), FakeCloudWatch(), output=str(tmp_path))
    artifacts, key = job.split_s3(env["MLOPS_BASELINE_URI"])
    cloudwatch = FakeCloudWatch()
    result = job.run(env, FakeS3({artifacts: {key: (json.dumps(statistics([1, 2])), T)}}), cloudwatch,
                     output=str(tmp_path))
    assert (result["rows"], result["published"], cloudwatch.calls) == (0, 0, [])


def test_a_quality_run_joins_the_delayed_period_with_ground_truth(tmp_path: Path) -> None:
    env = schedule_environment("blueprints/fraud-detection-aws.yaml", "fraud-scorer-monitoring-quality-schedule")
    data_bucket, prefix = job.split_s3(env["MLOPS_PREDICTIONS_URI"])
    _, truth = job.split_s3(env["MLOPS_GROUND_TRUTH_URI"])
    # Labels an hour late: the run at 18:00 scores 16:00-17:00.
    scored = "\n".join(capture(f"r{i}", "1", str(s)) for i, s in enumerate(SCORES))
    labels = "id,label\n" + "\n".join(f"r{i},{t}" for i, t in enumerate(TRUTH))
    s3 = FakeS3({data_bucket: {f"{prefix}2026/12/03/16/a.jsonl": (scored, T),
                               f"{prefix}2026/12/03/17/b.jsonl": (capture("r0", "1", "0.0"), T),
                               f"{truth}2026-12-03.csv": (labels, T),
                               f"{truth}ancient.csv": ("id,label\nr0,0\n", T - timedelta(days=30))}})
    cloudwatch = FakeCloudWatch()
    result = job.run(env, s3, cloudwatch, output=str(tmp_path))
    assert (result["value"], result["labelled"], result["passes"]) == (0.75, 8, False)  # precision 3/4 < 0.85
    watched = alarm("blueprints/fraud-detection-aws.yaml", "fraud-scorer-monitoring-quality-alarm")
    [call] = cloudwatch.calls
    assert (call["Namespace"], call["MetricData"][0]["MetricName"], call["MetricData"][0]["Value"]) == \
        (watched["namespace"], watched["metricName"], 0.75)
    assert call["MetricData"][1] | {"Timestamp": None} == {
        "MetricName": "mlops_quality_labelled", "Dimensions": [{"Name": "Model", "Value": "fraud-scorer"}],
        "Timestamp": None, "Value": 8.0, "Unit": "Count"}


def test_a_batch_quality_run_reads_the_transform_output(tmp_path: Path) -> None:
    settings = {"MLOPS_KIND": "quality", "MLOPS_MODEL": "los", "MLOPS_NAMESPACE": "mlops/x", "MLOPS_REGION": "r",
                "MLOPS_SCHEDULED_TIME": "2026-12-03T18:00:00Z", "MLOPS_PERIOD_HOURS": "24", "MLOPS_SOURCE": "batch",
                "MLOPS_PREDICTIONS_URI": "s3://out/los/", "MLOPS_GROUND_TRUTH_URI": "s3://d/ground-truth/los/",
                "MLOPS_METRIC": "mae", "MLOPS_THRESHOLD": "1.5", "MLOPS_DIRECTION": "at_most",
                "MLOPS_LABEL_DELAY_HOURS": "0"}
    s3 = FakeS3({"out": {"los/2026/day.csv.out": ("3\n4\n", T - timedelta(hours=2)),
                         "los/2026/stale.csv.out": ("9\n", T - timedelta(days=3))},
                 "d": {"ground-truth/los/l.csv": ("id,label\n2026/day.csv:1,2\n2026/day.csv:2,6\n", T)}})
    result = job.run(settings, s3, FakeCloudWatch(), output=str(tmp_path))
    assert (result["value"], result["labelled"], result["passes"]) == (1.5, 2, True)  # |3-2| and |4-6|
