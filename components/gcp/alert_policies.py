"""Cloud Monitoring alert policies the serving and monitoring components share (typed builders).

Vertex AI online prediction metrics live on the monitored resource `aiplatform.googleapis.com/Endpoint`
(label `endpoint_id`); the names below are the metric types Cloud Monitoring lists for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pulumi
import pulumi_gcp as gcp

from components.base import gcp_labels
from mlops.plan import Plan

ENDPOINT_RESOURCE = "aiplatform.googleapis.com/Endpoint"
LATENCIES = "aiplatform.googleapis.com/prediction/online/prediction_latencies"
"""Distribution in milliseconds, label `latency_type` (`model`: time in the model container)."""
ERRORS = "aiplatform.googleapis.com/prediction/online/error_count"
PREDICTIONS = "aiplatform.googleapis.com/prediction/online/prediction_count"
CPU = "aiplatform.googleapis.com/prediction/online/cpu/utilization"
"""Per replica, a fraction of the allocated CPU (0.6 = 60 %)."""
WINDOW = "300s"
"""Conditions hold for five minutes before they fire (the AWS alarms: 3 of 5 one-minute periods)."""
ALIGNMENT = "60s"
Comparison = Literal["COMPARISON_GT", "COMPARISON_LT"]
Severity = Literal["CRITICAL", "WARNING"]


def endpoint_filter(endpoint_id: str, metric: str, extra: str = "") -> str:
    """A Monitoring filter for one metric of one Vertex endpoint."""
    return (f'resource.type = "{ENDPOINT_RESOURCE}" AND resource.labels.endpoint_id = "{endpoint_id}" '
            f'AND metric.type = "{metric}"{" AND " + extra if extra else ""}')


def _grouping(reducer: str | None) -> list[str] | None:
    return ["resource.labels.endpoint_id"] if reducer else None


def _aggregation(aligner: str, reducer: str | None) -> \
        gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs:
    return gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
        alignment_period=ALIGNMENT, per_series_aligner=aligner, cross_series_reducer=reducer,
        group_by_fields=_grouping(reducer))


def _denominator(aligner: str, reducer: str | None) -> \
        gcp.monitoring.AlertPolicyConditionConditionThresholdDenominatorAggregationArgs:
    return gcp.monitoring.AlertPolicyConditionConditionThresholdDenominatorAggregationArgs(
        alignment_period=ALIGNMENT, per_series_aligner=aligner, cross_series_reducer=reducer,
        group_by_fields=_grouping(reducer))


def threshold(display_name: str, filter_: str, *, value: float, comparison: Comparison, aligner: str,
              reducer: str | None = None, denominator: str | None = None,
              duration: str = WINDOW) -> gcp.monitoring.AlertPolicyConditionArgs:
    """A threshold condition; with `denominator` a ratio (numerator and denominator aggregated alike)."""
    aggregation = _aggregation(aligner, reducer)
    return gcp.monitoring.AlertPolicyConditionArgs(
        display_name=display_name,
        condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
            filter=filter_, comparison=comparison, threshold_value=value, duration=duration,
            aggregations=[aggregation],
            denominator_filter=denominator,
            denominator_aggregations=[_denominator(aligner, reducer)] if denominator else None,
            # No traffic is not an outage of the model: missing points never fire.
            evaluation_missing_data="EVALUATION_MISSING_DATA_INACTIVE",
            trigger=gcp.monitoring.AlertPolicyConditionConditionThresholdTriggerArgs(count=1)),
    )


def policy_args(plan: Plan, *, display_name: str, condition: gcp.monitoring.AlertPolicyConditionArgs,
                channels: Sequence[pulumi.Input[str]], severity: Severity, runbook: str,
                rate_limit: str | None = None) -> gcp.monitoring.AlertPolicyArgs:
    """An enabled single-condition policy notifying `channels`, with a runbook and the plan's labels.

    `rate_limit`: log-match conditions must say how often they may notify (at least every 300 s).
    """
    strategy = gcp.monitoring.AlertPolicyAlertStrategyArgs(
        notification_rate_limit=gcp.monitoring.AlertPolicyAlertStrategyNotificationRateLimitArgs(period=rate_limit),
        auto_close="86400s") if rate_limit else gcp.monitoring.AlertPolicyAlertStrategyArgs(auto_close="86400s")
    return gcp.monitoring.AlertPolicyArgs(
        display_name=display_name,
        combiner="OR",
        conditions=[condition],
        notification_channels=list(channels),
        severity=severity,
        enabled=True,
        alert_strategy=strategy,
        documentation=gcp.monitoring.AlertPolicyDocumentationArgs(content=runbook, mime_type="text/markdown",
                                                                  subject=display_name),
        user_labels=gcp_labels(dict(plan.tags)),
        project=plan.account,
    )
