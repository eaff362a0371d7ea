"""Policies for GCP serving, delivery, monitoring and alerting."""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

GCP_SERVING_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = []
