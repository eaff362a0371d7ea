"""Policies for GCP network, tracking, feature store, governance and cost."""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

GCP_PLATFORM_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = []
