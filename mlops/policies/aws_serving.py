"""AWS policies for the serving capabilities (see the module of each rule for its source)."""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

AWS_SERVING_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = []
