"""Policies for Azure ML workspace, compute, pipelines, registry, retraining, governance, Databricks and cost."""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

AZURE_PLATFORM_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = []
