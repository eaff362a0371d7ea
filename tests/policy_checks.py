"""What the policy test modules share: run one policy on a synthesized graph after changing a resource."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from mlops.policies.engine import Violation, policy_resources, run_policies
from mlops.synth.recorder import Recorded

Policy = ResourceValidationPolicy | StackValidationPolicy


def run_changed(policy: Policy, records: list[Recorded], suffix: str | None = None,
                change: Callable[[Recorded], None] | None = None) -> tuple[list[Violation], str | None]:
    """The violations of `policy` on a copy of `records` after `change` to the resource named `...suffix`,
    and that resource's URN (None without a change)."""
    records = copy.deepcopy(records)
    urn = None
    if suffix is not None and change is not None:
        [target] = [r for r in records if r.name.endswith(suffix)]
        change(target)
        urn = target.urn
    return run_policies([policy], policy_resources(records)), urn


def set_input(path: str, value: Any) -> Callable[[Recorded], None]:
    """A change that sets (or, with value None, removes) a dotted input path."""
    def change(target: Recorded) -> None:
        *parents, last = path.split(".")
        inputs = target.inputs
        for key in parents:
            inputs = inputs.setdefault(key, {})
        if value is None:
            inputs.pop(last, None)
        else:
            inputs[last] = value
    return change
