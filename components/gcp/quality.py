"""Model quality on GCP: the query that scores logged predictions against ground truth (no pulumi import).

Vertex model monitoring watches drift and skew, not quality against labels. The platform's quality
check is a scheduled workflow that runs this query over the predictions logged one schedule period
before `label_delay_hours` ago (their labels have arrived by then), and writes the score to a
custom Cloud Monitoring metric with an alert policy on the blueprint's threshold.

Team contract: requests carry one instance, the response's first prediction is a number (a score
or probability; thresholded at 0.5 for classification metrics), and ground truth is written to the
`ground_truth` table of the model's log dataset (`request_id` as logged by Vertex, `label`).
"""

from __future__ import annotations

from mlops.plan import ModelPlan

PREDICTION = "SAFE_CAST(JSON_VALUE(l.response_payload[SAFE_OFFSET(0)]) AS FLOAT64)"
_TP = "COUNTIF(p >= 0.5 AND y >= 0.5)"
QUALITY_SQL: dict[str, str] = {
    # Click-through rate: share of served recommendations that were clicked (label 1).
    "ctr": "AVG(y)",
    "accuracy": "AVG(IF((p >= 0.5) = (y >= 0.5), 1, 0))",
    "precision": f"SAFE_DIVIDE({_TP}, COUNTIF(p >= 0.5))",
    "recall": f"SAFE_DIVIDE({_TP}, COUNTIF(y >= 0.5))",
    "f1": f"SAFE_DIVIDE(2 * {_TP}, COUNTIF(p >= 0.5) + COUNTIF(y >= 0.5))",
    "mae": "AVG(ABS(p - y))",
    "mse": "AVG(POW(p - y, 2))",
    "rmse": "SQRT(AVG(POW(p - y, 2)))",
}
"""Metrics the quality query computes (p: prediction, y: label); others are a plan error."""
GROUND_TRUTH_TABLE = "ground_truth"
GROUND_TRUTH_SCHEMA = ('[{"name": "request_id", "type": "STRING", "mode": "REQUIRED"}, '
                       '{"name": "label", "type": "FLOAT64", "mode": "REQUIRED"}, '
                       '{"name": "label_time", "type": "TIMESTAMP", "mode": "NULLABLE"}]')


def quality_query(model: ModelPlan, *, project: str, dataset: str, log_table: str, window_hours: int) -> str:
    """Standard SQL returning one row (`score`, `n`) for the window that ended `label_delay_hours` ago."""
    q = model.monitoring.quality
    if q is None or q.metric not in QUALITY_SQL:
        raise ValueError(f"{model.name}: no quality query for {q.metric if q else None!r}")
    delay = q.label_delay_hours
    return (
        f"SELECT {QUALITY_SQL[q.metric]} AS score, COUNT(*) AS n FROM ("
        f"SELECT {PREDICTION} AS p, g.label AS y "
        f"FROM `{project}.{dataset}.{log_table}` AS l "
        f"JOIN `{project}.{dataset}.{GROUND_TRUTH_TABLE}` AS g USING (request_id) "
        f"WHERE l.logging_time >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL {delay + window_hours} HOUR) "
        f"AND l.logging_time < TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL {delay} HOUR))"
    )
