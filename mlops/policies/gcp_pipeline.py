"""Policies for GCP training pipelines, registry, schedules and retraining triggers."""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

GCP_PIPELINE_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = []
