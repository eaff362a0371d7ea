"""Foundation policies for Azure (filled in by the Azure back end work)."""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

AZURE_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = []
