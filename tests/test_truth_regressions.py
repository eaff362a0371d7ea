"""Known cases where the tool said more than it built (issue: one source of truth), each pinned.

Each case is a blueprint a user could write; the tool must refuse it with a located error that says what
the cloud offers instead, or plan exactly what it asked for. Evidence in the synthesized graph is
checked by tests/test_capability_matrix.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from accounts import environments
from typer.testing import CliRunner

from mlops.blueprint import BlueprintError, format_path, load_text
from mlops.cli import app
from mlops.plan import PlanError, plan, plan_environments

REGION = {"aws": "us-east-1", "gcp": "europe-west4", "azure": "westeurope"}


def model(**sections: Any) -> dict[str, Any]:
    return {"name": "scorer", "quality_gates": {"metrics": [{"metric": "auc", "threshold": 0.8}]}, **sections}


def document(cloud: str, *models: dict[str, Any], **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "truth", "use_case": "Regression cases", "organisation": {"name": "Acme"},
        "cloud": {"provider": cloud, "region": REGION[cloud]}, "maturity": {"target": 2},
        "environments": environments(cloud),
        "models": list(models) or [model()],
        "alerts": [{"kind": "email", "target": "ml@example.com", "severity": "warning"}],
        "cost": {"monthly_budget_usd": 5000, **({"billing_account": "012345-6789AB-CDEF01"} if cloud == "gcp" else {})},
    }
    doc.update(top)
    return {k: v for k, v in doc.items() if v is not None}


def problems(doc: dict[str, Any], env: str = "prod") -> list[tuple[str, str]]:
    """(YAML path, message) of every plan error of one environment."""
    bp = load_text(yaml.safe_dump(doc, sort_keys=False), "truth.yaml").blueprint
    with pytest.raises(PlanError) as caught:
        plan(bp, env)
    return [(format_path(d.path), d.message) for d in caught.value.diagnostics]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_two_gates_on_one_metric_are_a_located_error_on_every_cloud(cloud: str) -> None:
    gates = {"metrics": [{"metric": "auc", "threshold": 0.8}, {"metric": "auc", "threshold": 0.85}]}
    doc = document(cloud, model(quality_gates=gates))
    with pytest.raises(BlueprintError) as caught:
        load_text(yaml.safe_dump(doc, sort_keys=False), "truth.yaml")
    [line] = [line for line in caught.value.lines() if "unique-quality-gates" in line]
    assert "models[0].quality_gates.metrics[1].metric" in line and "got 'auc'" in line


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_several_approvals_are_refused_where_one_call_approves(cloud: str) -> None:
    governance = {"approvals": {"prod": {"approvers": ["risk", "owners"], "min_approvals": 2}},
                  "roles": {"approver": ["risk", "owners"]}}
    if cloud == "azure":
        governance["roles"]["approver"] = ["00000000-0000-0000-0000-000000000001"]
        governance["approvals"]["prod"]["approvers"] = ["00000000-0000-0000-0000-000000000001",
                                                        "00000000-0000-0000-0000-000000000002"]
    if cloud == "gcp":
        governance["roles"]["group_domain"] = "example.com"
    found = problems(document(cloud, governance=governance))
    assert [p for p, _ in found] == ["governance.approvals.prod.min_approvals"]
    assert "several approvals cannot be enforced" in found[0][1]


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_databricks_is_refused_where_it_is_not_built(cloud: str) -> None:
    found = problems(document(cloud, data={"databricks": True}))
    assert found == [("data.databricks", found[0][1])]
    assert f"Databricks is not built on {cloud}" in found[0][1]


def test_gcp_refuses_batching_and_caching_instead_of_ignoring_them() -> None:
    found = problems(document("gcp", model(serving={"batching": {"max_batch_size": 8},
                                                    "caching": {"ttl_seconds": 30}})))
    assert [p for p, _ in found] == ["models[0].serving.batching", "models[0].serving.caching"]


def test_aws_monitors_drift_and_quality_of_a_batch_model() -> None:
    # Refused while monitoring was Model Monitor (real-time endpoints only); the platform's own jobs read the
    # batch input and output (tests/test_aws_monitoring.py shows what is built).
    batch = model(serving={"mode": "batch", "schedule": "daily", "output_uri": "s3://out/preds/"},
                  monitoring={"drift": {"method": "psi"}, "quality": {"metric": "auc", "threshold": 0.7}})
    bp = load_text(yaml.safe_dump(document("aws", batch), sort_keys=False), "truth.yaml").blueprint
    monitoring = plan(bp, "prod").models[0].monitoring
    assert monitoring.drift is not None and monitoring.quality is not None


def test_drift_null_switches_the_default_drift_monitor_off() -> None:
    default = document("aws")
    off = document("aws", model(monitoring={"drift": None}))
    load = lambda doc: load_text(yaml.safe_dump(doc, sort_keys=False), "truth.yaml").blueprint  # noqa: E731
    assert plan(load(default), "prod").models[0].monitoring.drift is not None
    assert plan(load(off), "prod").models[0].monitoring.drift is None


def test_aws_prod_without_a_budget_is_a_located_error_not_a_policy_failure() -> None:
    found = problems(document("aws", cost=None))
    assert [p for p, _ in found] == ["cost"]
    assert "aws-budget-in-production" in found[0][1]


def test_azure_without_a_warning_route_is_a_located_error_not_an_empty_action_group() -> None:
    found = problems(document("azure", alerts=[{"kind": "email", "target": "oncall@example.com"}]))
    assert [p for p, _ in found] == ["alerts"]


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_audit_storage_is_locked_in_prod_below_governance_2(cloud: str) -> None:
    doc = document(cloud, maturity={"target": {"experiment_tracking": 2, "model_versioning": 2, "deployment": 2,
                                               "monitoring": 2, "governance": 1}})
    bp = load_text(yaml.safe_dump(doc, sort_keys=False), "truth.yaml").blueprint
    assert plan(bp, "prod").governance.audit_lock_mode == "compliance"


def test_validate_reports_every_problem_of_every_environment(tmp_path: Path) -> None:
    # A staging-only approval problem and a prod-only budget problem: both in one run.
    doc = document("aws", cost=None,
                   governance={"approvals": {"staging": {"approvers": ["a", "b"], "min_approvals": 2}},
                               "roles": {"approver": ["a", "b"]}})
    path = tmp_path / "truth.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    loaded = load_text(path.read_text(), str(path))
    with pytest.raises(BlueprintError) as caught:
        plan_environments(loaded)
    messages = [d.message for d in caught.value.diagnostics]
    assert any("several approvals" in m and m.endswith("(in staging)") for m in messages)
    assert any("aws-budget-in-production" in m and m.endswith("(in prod)") for m in messages)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "2 problems" in result.output


def test_aws_roles_are_evidenced_for_the_personas_the_blueprint_names(tmp_path: Path) -> None:
    # AwsGovernance builds a role only where a persona has principals (a trust policy needs one); the evidence
    # once expected all three, so a blueprint naming only approvers showed rbac_roles "not built".
    from mlops.evidence import evidence
    from mlops.plan import Capability
    from mlops.synth import synth

    approver = "arn:aws:iam::333333333333:role/ReliabilityLeads"
    doc = document("aws", governance={"approvals": {"prod": {"approvers": [approver]}},
                                      "roles": {"approver": [approver]}})
    path = tmp_path / "truth.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = synth(str(path), "prod")
    rbac = evidence(result.plan, result.resources)[Capability.rbac_roles]
    assert rbac.built and rbac.found == ("aws:iam/role:Role truth-prod-governance-approver",)
    # Nobody named at all: nothing to build, and nothing claimed.
    doc = document("aws")
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = synth(str(path), "prod")
    assert not evidence(result.plan, result.resources)[Capability.rbac_roles].applies
