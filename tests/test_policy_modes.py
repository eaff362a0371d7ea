"""The rules as the analyzer runs them: pulumi_policy's proxies and, in a first preview, unknown values.

Synth evaluates the pack through pulumi_policy's own deserialization (mlops.policies.engine); these tests
also replay graphs through pulumi_policy's analyzer servicer itself (tests/analyzer_replay.py), the code
`pulumi preview --policy-pack policies` runs, and check that both agree.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from analyzer_replay import Finding, analyze
from pulumi_policy.proxy import UnknownValueError
from shared_synth import previewed, synthesized

from mlops.blueprint import load_blueprint
from mlops.policies import ALL_POLICIES, policy_resources, run
from mlops.synth import SynthResult
from mlops.synth.recorder import Recorded

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "blueprints").glob("*.yaml"))
CASES = [(str(p.relative_to(ROOT)), env) for p in EXAMPLES for env in load_blueprint(p).blueprint.environments]
IDS = [f"{Path(p).stem}-{env}" for p, env in CASES]
POLICIES = {p.name: p for p in ALL_POLICIES}
FRAUD = "blueprints/fraud-detection-aws.yaml"
GCP = "blueprints/product-recommendations-gcp.yaml"
CANT_RUN = re.compile(r"^can't run policy '([a-z0-9-]+)' during preview: .+ can't be known during preview$")


def _result(blueprint: str, env: str, mode: str) -> SynthResult:
    return synthesized(blueprint, env) if mode == "up" else previewed(blueprint, env)


@pytest.mark.parametrize("mode", ["up", "preview"])
@pytest.mark.parametrize(("blueprint", "env"), CASES, ids=IDS)
def test_every_rule_runs_on_every_example(blueprint: str, env: str, mode: str) -> None:
    """No rule raises (but for the analyzer's "unknown" signal) on an example in either mode, and none is
    violated: unknown values never make a rule report what it would not report on the deployed values."""
    result = _result(blueprint, env, mode)
    resources = policy_resources(result.resources)
    for policy in ALL_POLICIES:
        report = run([policy], resources)  # raises whatever the rule raises but UnknownValueError
        assert report.violations == [], (policy.name, report.violations)
        if mode == "up":
            assert report.undecided == [], (policy.name, report.undecided)
        for undecided in report.undecided:
            assert CANT_RUN.match(undecided.message) and undecided.policy == policy.name, undecided


@pytest.mark.parametrize(("blueprint", "env"), [(FRAUD, "prod"), (GCP, "prod"),
                                                 ("blueprints/demand-forecasting-azure.yaml", "prod")])
@pytest.mark.parametrize("mode", ["up", "preview"])
def test_synth_reports_what_the_analyzer_reports(blueprint: str, env: str, mode: str) -> None:
    result = _result(blueprint, env, mode)
    expected = analyze(ALL_POLICIES, result.resources)
    found: list[Finding] = [(v.policy, v.urn, v.message, v.enforcement) for v in result.violations]
    found += [(u.policy, u.urn, u.message, "advisory") for u in result.undecided]
    assert sorted(found, key=lambda f: (f[0], f[1] or "", f[2])) == expected


def test_preview_mode_sends_unknowns_as_the_engine_does() -> None:
    """A first preview's graph carries unknown values (a bucket's id, a key's ARN), and rules read them
    through pulumi_policy's proxies, which raise UnknownValueError."""
    records = previewed(FRAUD, "prod").resources
    [encryption] = [r for r in records if r.name.endswith("foundation-data-encryption")]
    assert encryption.inputs["bucket"] == "[unknown]"
    [resource] = [r for r in policy_resources(records) if r.urn == encryption.urn]
    with pytest.raises(UnknownValueError):
        resource.props.get("bucket")
    assert resource.props.get("rules")[0]["bucketKeyEnabled"] is True  # what is known stays readable


def test_preview_manifest_adds_fields_and_is_deterministic() -> None:
    from mlops.synth import synth

    first = previewed(FRAUD, "dev").manifest_json()
    assert synth(FRAUD, "dev", policy_mode="preview").manifest_json() == first
    manifest = json.loads(first)
    assert list(manifest) == ["blueprint", "environment", "cloud", "resources", "outputs", "policy"]
    assert list(manifest["policy"]) == ["violations", "mode", "undecided"]
    assert manifest["policy"]["mode"] == "preview"
    assert "[unknown]" in first
    assert "[unknown]" not in synthesized(FRAUD, "dev").manifest_json()


# --------------------------------------------------------------------------- regressions (issue #11)


@pytest.mark.parametrize("name", ["aws-audit-trail", "aws-budget-in-production"])
def test_aws_stack_rules_run_under_the_analyzer(name: str) -> None:
    """Both used to raise AttributeError ('_ListProxy' object has no attribute 'get') on every AWS stack."""
    assert analyze([POLICIES[name]], synthesized(FRAUD, "prod").resources) == []


def test_aws_audit_trail_still_reports_missing_data_events_under_the_analyzer() -> None:
    records = copy.deepcopy(synthesized(FRAUD, "prod").resources)
    [trail] = [r for r in records if r.type == "aws:cloudtrail/trail:Trail"]
    for selector in trail.inputs["advancedEventSelectors"]:
        for field in selector["fieldSelectors"]:
            if field["field"] == "resources.type":
                field["equals"] = [t for t in field["equals"] if t != "AWS::SageMaker::FeatureGroup"]
    assert [(f[0], f[1]) for f in analyze([POLICIES["aws-audit-trail"]], records)] == [("aws-audit-trail", trail.urn)]


def test_budget_without_subscribers_is_reported_under_the_analyzer() -> None:
    records = copy.deepcopy(synthesized(FRAUD, "prod").resources)
    [budget] = [r for r in records if r.type == "aws:budgets/budget:Budget"]
    for notification in budget.inputs["notifications"]:
        notification.pop("subscriberSnsTopicArns", None)
        notification.pop("subscriberEmailAddresses", None)
    findings = analyze([POLICIES["aws-budget-in-production"]], records)
    assert [(f[0], f[1], f[3]) for f in findings] == [("aws-budget-in-production", budget.urn, "mandatory")]


def _grant(type_: str, inputs: dict[str, Any]) -> Recorded:
    return Recorded(urn=f"urn:pulumi:prod::mlops-blueprints::{type_}::grant", type=type_, name="grant", parent=None,
                    custom=True, inputs=inputs, protect=False, retain_on_delete=False, dependencies=[],
                    property_dependencies={}, provider=None)


@pytest.mark.parametrize(("type_", "inputs"), [
    ("gcp:projects/iAMBinding:IAMBinding", {"project": "p", "role": "roles/aiplatform.user", "members": ["allUsers"]}),
    ("gcp:storage/bucketIAMBinding:BucketIAMBinding",
     {"bucket": "b", "role": "roles/storage.objectViewer",
      "members": ["group:ml@example.com", "allAuthenticatedUsers"]}),
    ("gcp:projects/iAMPolicy:IAMPolicy", {"project": "p", "policyData": json.dumps(
        {"bindings": [{"role": "roles/viewer", "members": ["allUsers"]}]})}),
], ids=["project-binding", "bucket-binding", "project-policy"])
def test_public_members_in_a_members_list_are_reported(type_: str, inputs: dict[str, Any]) -> None:
    """`members: ["allUsers"]` used to pass: the rule tested `isinstance(members, list)`, false for a proxy."""
    findings = analyze([POLICIES["gcp-iam-no-public-members"]], [_grant(type_, inputs)])
    assert [(f[0], f[3]) for f in findings] == [("gcp-iam-no-public-members", "mandatory")]
    assert "all" in findings[0][2]


def test_unknown_members_are_never_public() -> None:
    inputs = {"project": "p", "role": "roles/aiplatform.user", "members": ["[unknown]", "serviceAccount:a@p.iam"]}
    assert analyze([POLICIES["gcp-iam-no-public-members"]], [_grant("gcp:projects/iAMBinding:IAMBinding", inputs)]) \
        == []


def _role_with_inline_policy(records: list[Recorded], statement: dict[str, Any]) -> Recorded:
    role = next(r for r in records if r.type == "aws:iam/role:Role")
    role.inputs["inlinePolicies"] = [{"name": "extra", "policy": json.dumps(
        {"Version": "2012-10-17", "Statement": [statement]})}]
    return role


@pytest.mark.parametrize(("name", "statement"), [
    ("aws-iam-no-wildcard-actions", {"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::x"}),
    ("aws-iam-no-star-resource-writes",
     {"Sid": "Put", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "*"}),
])
def test_role_inline_policies_are_checked_under_the_analyzer(name: str, statement: dict[str, Any]) -> None:
    """A role's `inlinePolicies` used to be skipped: the rules tested `isinstance(inline, dict)`."""
    records = copy.deepcopy(synthesized(FRAUD, "prod").resources)
    role = _role_with_inline_policy(records, statement)
    findings = analyze([POLICIES[name]], records)
    assert [(f[0], f[1]) for f in findings] == [(name, role.urn)]


def test_pipeline_role_inline_policies_are_checked() -> None:
    """aws-pipeline-role-least-privilege read RolePolicy resources only, never a role's own inlinePolicies."""
    records = copy.deepcopy(synthesized(FRAUD, "prod").resources)
    [pipeline] = [r for r in records if r.type == "aws:sagemaker/pipeline:Pipeline"]
    [role_urn] = pipeline.property_dependencies["roleArn"]
    [role] = [r for r in records if r.urn == role_urn]
    role.inputs["inlinePolicies"] = [{"name": "extra", "policy": json.dumps(
        {"Statement": [{"Sid": "Wide", "Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]})}]
    findings = analyze([POLICIES["aws-pipeline-role-least-privilege"]], records)
    assert {(f[0], f[1]) for f in findings} == {("aws-pipeline-role-least-privilege", role.urn)}


def test_stack_rules_decide_the_rest_of_a_preview() -> None:
    """In a first preview a stack rule that meets an unknown value still decides every other resource:
    a bucket without encryption is reported although every key ARN is unknown (the rule used to stop)."""
    records = copy.deepcopy(previewed(FRAUD, "prod").resources)
    [dropped] = [r for r in records if r.name.endswith("foundation-data-encryption")]
    [bucket_urn] = dropped.property_dependencies["bucket"]
    records.remove(dropped)
    findings = analyze([POLICIES["aws-s3-kms-encryption"]], records)
    assert [(f[0], f[1], f[3]) for f in findings] == [("aws-s3-kms-encryption", bucket_urn, "mandatory")]


# --------------------------------------------------------------------------- the pack is self-contained


def test_the_pack_needs_nothing_outside_its_folder() -> None:
    pack = ROOT / "policies"
    main = (pack / "__main__.py").read_text()
    assert "sys.path" not in main and "import sys" not in main
    assert "from mlops_policies import ALL_POLICIES" in main
    runtime = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())["runtime"]
    virtualenv = Path(runtime["options"]["virtualenv"])
    assert not virtualenv.is_absolute() and ".." not in virtualenv.parts, virtualenv
    requirements = (pack / "requirements.txt").read_text()
    assert re.search(r"^pulumi-policy\b", requirements, re.M)
    assert not re.search(r"^(-e|\.|/)|file:", requirements, re.M), "the pack must install from an index alone"


def test_the_rules_import_nothing_of_the_project() -> None:
    for module in (ROOT / "policies" / "mlops_policies").glob("*.py"):
        source = module.read_text()
        assert not re.search(r"^\s*(from|import) (mlops|components)\b", source, re.M), module.name


def test_synth_evaluates_the_packs_rule_objects() -> None:
    import mlops_policies

    import mlops.policies

    assert mlops.policies.ALL_POLICIES is mlops_policies.ALL_POLICIES
