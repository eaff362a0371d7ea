"""AWS policies for the platform capabilities (see the module of each rule for its source)."""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

AWS_PLATFORM_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = []
