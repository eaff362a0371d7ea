"""Policies for Azure ML serving, delivery, monitoring, alerting and feature store."""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

AZURE_SERVING_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = []
