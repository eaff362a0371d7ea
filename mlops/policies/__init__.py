"""The policy rules (the `mlops_policies` package of the pack folder) and their offline evaluation.

The rules live in `policies/mlops_policies/` so that the pack is self-contained; this package only
adds what synth needs to run them the way `pulumi preview --policy-pack policies` does (engine.py).
"""

from __future__ import annotations

from mlops_policies import ALL_POLICIES

from .engine import PolicyMode, PolicyReport, Undecided, Violation, evaluate, policy_resources, run, run_policies

__all__ = ["ALL_POLICIES", "PolicyMode", "PolicyReport", "Undecided", "Violation", "evaluate", "policy_resources",
           "run", "run_policies"]
