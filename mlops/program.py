"""The Pulumi program: read stack config, plan, build. `__main__.py` and synth both run `main()`."""

from __future__ import annotations

import pulumi

from mlops.blueprint import BlueprintError, load_blueprint
from mlops.plan import Plan, plan_loaded

from .providers import build_platform


def plan_from_config() -> Plan:
    """The Plan named by stack config `mlops:blueprint` and `mlops:environment` (default: the stack name)."""
    config = pulumi.Config("mlops")
    environment = config.get("environment") or pulumi.get_stack()
    try:
        return plan_loaded(load_blueprint(config.require("blueprint")), environment)
    except BlueprintError as exc:
        # RunError prints just the message: the located problems, no Python traceback.
        raise pulumi.RunError(str(exc)) from None


ENDPOINT_MODES = ("deploy", "defer")


def endpoints_deferred() -> bool:
    """Stack setting `mlops:endpoints`: `deploy` (default) or `defer` (first deployment, no model yet)."""
    mode = pulumi.Config("mlops").get("endpoints") or "deploy"
    if mode not in ENDPOINT_MODES:
        raise pulumi.RunError(f"mlops:endpoints: not a mode (got {mode!r}; allowed: {', '.join(ENDPOINT_MODES)})")
    return mode == "defer"


def main() -> None:
    """Build the platform of one environment and export its outputs."""
    for key, value in build_platform(plan_from_config(), defer_endpoints=endpoints_deferred()).items():
        pulumi.export(key, value)
