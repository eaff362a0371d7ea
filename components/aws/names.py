"""Physical names several AWS components must agree on (one definition, so they cannot drift)."""

from __future__ import annotations

from typing import Literal

from mlops.plan import Plan

AlarmKind = Literal["drift", "quality", "latency", "errors", "invocation-errors", "utilization", "freshness"]


def alarm_name(plan: Plan, subject: str, kind: AlarmKind) -> str:
    """CloudWatch alarm names: `<prefix>-<model or entity>-<kind>`. Retraining rules match on these."""
    return f"{plan.prefix}-{subject}-{kind}"


def pipeline_name(plan: Plan, model: str) -> str:
    """SageMaker pipeline of a model: `<prefix>-<model>-training`."""
    return f"{plan.prefix}-{model}-training"


def model_package_group_name(plan: Plan, model: str) -> str:
    return f"{plan.prefix}-{model}"


def endpoint_name(plan: Plan, model: str) -> str:
    return f"{plan.prefix}-{model}"
