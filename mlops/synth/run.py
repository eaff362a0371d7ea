"""Synth: run the real Pulumi program under the SDK's mocks and record the resource graph.

The program is `mlops.program.main`, the same function `pulumi up` runs through `__main__.py`;
only the engine differs. Stack config is set as the CLI would set it from `stacks/`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from mlops.blueprint import load_blueprint
from mlops.plan import Plan, plan_loaded
from mlops.policies import PolicyMode, Undecided, Violation, evaluate

from .recorder import PlatformMocks, PreviewMocks, Recorded, RecordingMonitor, plain

PROJECT = "mlops-blueprints"


class SynthError(Exception):
    """The program produced a graph the real engine would refuse (e.g. duplicate names)."""


@dataclass(frozen=True)
class SynthResult:
    blueprint: str
    plan: Plan
    resources: list[Recorded]
    outputs: dict[str, Any]
    violations: list[Violation]
    policy_mode: PolicyMode = "up"
    undecided: list[Undecided] = field(default_factory=list[Undecided])
    """Rules that stopped on an unknown value (preview mode only; the CLI shows them as advisories)."""
    config: dict[str, str] = field(default_factory=dict[str, str])
    """The further stack settings the program ran with (`synth(config=...)`; not in the manifest)."""

    def manifest(self) -> dict[str, Any]:
        """The manifest of ARCHITECTURE.md (fields are only ever added, never renamed).

        A preview-mode manifest adds `policy.mode` and `policy.undecided`; an `up` manifest is unchanged.
        """
        policy: dict[str, Any] = {"violations": [v.manifest() for v in self.violations]}
        if self.policy_mode != "up":
            policy |= {"mode": self.policy_mode, "undecided": [u.manifest() for u in self.undecided]}
        return {
            "blueprint": self.blueprint,
            "environment": self.plan.environment,
            "cloud": self.plan.cloud.value,
            "resources": [r.manifest() for r in self.resources],
            "outputs": self.outputs,
            "policy": policy,
        }

    def manifest_json(self) -> str:
        return json.dumps(self.manifest(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


def placeholder_secrets(plan: Plan) -> dict[str, str]:
    """Stand-ins for the config secrets the blueprint names (alert routes' `secret`), as `pulumi config
    set --secret` would hold them: offline synth has no real stack config. Recorded as `[secret]`."""
    return {f"mlops:{route.secret}": f"https://example.invalid/mlops-synth-placeholder/{route.secret}"
            for route in plan.alerts if route.secret}


def _run_program(blueprint_path: str, environment: str, secrets: dict[str, str] | None = None,
                 config: Mapping[str, str] | None = None,
                 mode: PolicyMode = "up") -> tuple[list[Recorded], dict[str, Any]]:
    """Run the program under mocks, as `pulumi up` (every output known) or as a first `pulumi preview`
    (a dry run: what the cloud would compute stays unknown, and `apply` does not run on it)."""
    from mlops.program import main

    # Each synth is a fresh stack: without this, a second run in the same process would parent
    # its resources to the first run's stack.
    pulumi_settings.ROOT.set(None)
    preview = mode == "preview"
    mocks = PreviewMocks() if preview else PlatformMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=environment, preview=preview, monitor=monitor)
    secrets = secrets or {}
    pulumi.runtime.set_all_config({**(config or {}), "mlops:blueprint": blueprint_path,
                                   "mlops:environment": environment, **secrets},
                                  secret_keys=sorted(secrets))

    # Registration happens on worker threads; the order programs construct resources in is the
    # stable one, so record it with a (no-op) stack transformation.
    construction: dict[tuple[str, str], int] = {}

    def remember(args: pulumi.ResourceTransformationArgs) -> None:
        construction.setdefault((args.type_, args.name), len(construction))
        return None

    pulumi.runtime.register_stack_transformation(remember)
    outputs: dict[str, Any] = {}

    def program() -> Any:
        main()
        root = pulumi_settings.get_root_resource()
        stack_outputs = getattr(root, "outputs", {})

        async def collect() -> None:
            for key in sorted(stack_outputs):
                outputs[key] = await pulumi.Output.from_input(stack_outputs[key]).future()

        return collect()

    runtime_settings: Any = pulumi_settings.SETTINGS  # typed as a context wrapper; holds the live settings
    runtime_settings.rpc_manager.clear()
    runtime_settings.outputs.clear()
    _sync_await(run_pulumi_func(program))
    # The root Stack is registered by set_mocks, before the transformation exists: it comes first.
    records = sorted(monitor.records, key=lambda r: -1 if r.type == "pulumi:pulumi:Stack"
                     else construction.get((r.type, r.name), len(construction)))
    for record in records:
        record.inputs = _sorted_keys(record.inputs)
    return records, _sorted_keys(plain(outputs))


def synth(blueprint_path: str, environment: str, config: Mapping[str, str] | None = None,
          policy_mode: PolicyMode = "up") -> SynthResult:
    """Load, plan and run the program for one environment; evaluate the policies on the graph.

    `config` holds further stack settings, as `pulumi config set` would (e.g. `mlops:endpoints`).
    `policy_mode` is `up` (the graph `pulumi up` registers, every value known) or `preview` (the graph of
    a first `pulumi preview`: values other resources compute are unknown, so the manifest shows them as
    `[unknown]`, and the rules see them as the analyzer would and may report they cannot decide).

    Raises BlueprintError (bad blueprint) before any Pulumi code runs, SynthError for a graph
    the engine would refuse.
    """
    plan = plan_loaded(load_blueprint(blueprint_path), environment)
    try:
        records, outputs = _run_program(blueprint_path, environment, placeholder_secrets(plan), config, policy_mode)
    except (pulumi.RunError, pulumi.ConfigMissingError) as exc:
        # What `pulumi up` would print as an error (no traceback there either).
        raise SynthError(str(exc)) from None
    duplicates = [key for key, n in Counter((r.type, r.name) for r in records).items() if n > 1]
    if duplicates:
        raise SynthError("duplicate resource names (the engine refuses these): "
                         + ", ".join(f"{t} {n}" for t, n in duplicates))
    report = evaluate(records)
    return SynthResult(blueprint_path, plan, records, outputs, report.violations, policy_mode, report.undecided,
                       dict(config or {}))
