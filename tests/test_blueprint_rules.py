"""Cross-field rules: for every rule in RULES, a blueprint that breaks it and the fix that passes.

Each case edits BASE (a valid blueprint) with `breaks`, expects exactly one problem, from that
rule, at `path`; then applies `fixes` on top and expects the blueprint to load cleanly.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import botocore.loaders
import pytest
import yaml

from mlops.blueprint import BlueprintError, format_path, load_text
from mlops.blueprint.model import Cloud
from mlops.blueprint.rules import CLOUD_TAG_LIMITS, RESERVED_TAGS, RULES, aws_tag_forbidden

FILE = "rules.yaml"
DELETE = object()
"""A value in `breaks`/`fixes` that removes the key."""

BASE: dict[str, Any] = {
    "name": "demo",
    "use_case": "Rule tests",
    "organisation": {"name": "Acme"},
    "cloud": {"provider": "aws", "region": "us-east-1"},
    "maturity": {"target": 2},
    "models": [{"name": "scorer", "quality_gates": {"metrics": [{"metric": "auc", "threshold": 0.8}]}}],
}

PROD_APPROVAL = {"governance.approvals": {"prod": {"approvers": ["risk-committee"]}},
                 "governance.roles.approver": ["risk-committee"]}


def apply(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of `doc` with `changes` applied; keys are dotted paths, list indices are numbers.

    An index one past the end of a list appends to it."""
    doc = copy.deepcopy(doc)
    for dotted, value in changes.items():
        *parents, last = [int(p) if p.isdigit() else p for p in dotted.split(".")]
        node: Any = doc
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list) and last == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[last] = copy.deepcopy(value)
    return doc


def load(doc: dict[str, Any]) -> None:
    load_text(yaml.safe_dump(doc, sort_keys=False), FILE)


@dataclass(frozen=True)
class Case:
    rule: str
    breaks: dict[str, Any]
    path: str
    fixes: dict[str, Any]
    says: tuple[str, ...] = field(default=())
    """Extra fragments the message must contain (values found, allowed values, regime details)."""
    name: str = ""

    @property
    def id(self) -> str:
        return f"{self.rule}{'-' + self.name if self.name else ''}"


CASES = [
    Case("environments-present", {"environments": {}}, "environments", {"environments": {"dev": {}}},
         ("at least one environment is needed", "allowed: dev, staging, prod")),
    Case("progressive-delivery-needs-realtime",
         {"models.0.serving": {"mode": "batch", "schedule": "daily", "delivery": {"strategy": "canary"}}},
         "models[0].serving.delivery.strategy", {"models.0.serving.delivery.strategy": "all_at_once"},
         ("got 'canary'", "allowed: all_at_once for batch and streaming")),
    Case("delivery-step-percent", {"models.0.serving.delivery": {"strategy": "canary", "canary_percent": 12.5}},
         "models[0].serving.delivery.canary_percent", {"models.0.serving.delivery.canary_percent": 12},
         ("got 12.5", "allowed: a whole number from 1 to 99")),
    Case("delivery-step-percent", {"models.0.serving.delivery": {"strategy": "rolling", "canary_percent": 0}},
         "models[0].serving.delivery.canary_percent", {"models.0.serving.delivery.canary_percent": 25},
         ("got 0",), name="zero"),
    Case("delivery-step-percent", {"models.0.serving.delivery.canary_percent": 100},
         "models[0].serving.delivery.canary_percent", {"models.0.serving.delivery.canary_percent": 99},
         ("got 100",), name="all"),
    Case("shadow-needs-realtime", {"models.0.serving": {"mode": "batch", "schedule": "daily", "shadow": {}}},
         "models[0].serving.shadow", {"models.0.serving.shadow": DELETE}, ("got 'batch'",)),
    Case("batching-caching-need-realtime",
         {"models.0.serving": {"mode": "streaming", "stream": "kinesis://events",
                               "caching": {"ttl_seconds": 30}}},
         "models[0].serving.caching",
         {"models.0.serving.mode": "realtime", "models.0.serving.stream": DELETE},
         ("got 'streaming'",)),
    Case("batch-needs-schedule", {"models.0.serving": {"mode": "batch"}}, "models[0].serving.schedule",
         {"models.0.serving.schedule": "daily"}, ("got null", "allowed: hourly, daily, weekly, monthly")),
    Case("schedule-only-for-batch", {"models.0.serving.output_uri": "s3://bucket/predictions/"},
         "models[0].serving.output_uri",
         {"models.0.serving.mode": "batch", "models.0.serving.schedule": "daily"},
         ("got 'realtime'",)),
    Case("schedule-only-for-batch", {"models.0.serving.schedule": "daily"}, "models[0].serving.schedule",
         {"models.0.serving.schedule": DELETE}, name="schedule"),
    Case("streaming-needs-stream", {"models.0.serving.mode": "streaming"}, "models[0].serving.stream",
         {"models.0.serving.stream": "kinesis://events"}),
    Case("streaming-needs-stream", {"models.0.serving.stream": "kinesis://events"},
         "models[0].serving.stream", {"models.0.serving.mode": "streaming"}, ("got 'realtime'",),
         name="only-streaming"),
    Case("instance-bounds", {"models.0.serving": {"min_instances": 3, "max_instances": 2}},
         "models[0].serving.min_instances", {"models.0.serving.max_instances": 4}, ("got 3",)),
    Case("instance-bounds", {"environments": {"dev": {"serving": {"min_instances": 3, "max_instances": 2}}}},
         "environments.dev.serving.min_instances", {"environments.dev.serving.max_instances": 3},
         name="environment"),
    Case("realtime-needs-an-instance", {"models.0.serving.min_instances": 0},
         "models[0].serving.min_instances", {"models.0.serving.min_instances": 1}, ("got 0; allowed: >= 1",)),
    Case("realtime-needs-an-instance", {"environments": {"dev": {"serving": {"min_instances": 0}}}},
         "environments.dev.serving.min_instances",
         {"models.0.serving": {"mode": "batch", "schedule": "daily"}}, ("got 0; allowed: >= 1",),
         name="environment-override"),
    Case("spot-needs-checkpoints", {"models.0.training.spot": True}, "models[0].training.checkpointing",
         {"models.0.training.checkpointing": True}, ("got false; allowed: true",)),
    Case("spot-needs-checkpoints", {"environments": {"dev": {"training": {"spot": True}}}},
         "models[0].training.checkpointing", {"models.0.training.max_runtime_hours": 1},
         ("environments.dev.training.spot turns spot on",), name="environment-override"),
    Case("unique-quality-gates",
         {"models.0.quality_gates.metrics": [{"metric": "auc", "threshold": 0.8},
                                             {"metric": "auc", "threshold": 0.9}]},
         "models[0].quality_gates.metrics[1].metric",
         {"models.0.quality_gates.metrics.1.direction": "at_most"}, ("auc at least is already gated",)),
    Case("metric-threshold-range", {"models.0.quality_gates.metrics.0.threshold": 92},
         "models[0].quality_gates.metrics[0].threshold", {"models.0.quality_gates.metrics.0.threshold": 0.92},
         ("got 92", "auc is a score or rate between 0 and 1", "allowed: 0-1")),
    Case("metric-threshold-range",
         {"models.0.monitoring.quality": {"metric": "MAPE", "threshold": 18, "direction": "at_most"}},
         "models[0].monitoring.quality.threshold", {"models.0.monitoring.quality.threshold": 0.18},
         ("MAPE is a fraction of the actual value (0.18 = 18 %)",), name="mape-in-percent"),
    Case("metric-threshold-range", {"models.0.quality_gates.metrics.1": {"metric": "ndcg_at_10", "threshold": 30}},
         "models[0].quality_gates.metrics[1].threshold", {"models.0.quality_gates.metrics.1.threshold": 0.3},
         name="ranking-at-k"),
    Case("metric-threshold-range", {"models.0.quality_gates.metrics.1": {"metric": "r2", "threshold": 1.5}},
         "models[0].quality_gates.metrics[1].threshold", {"models.0.quality_gates.metrics.1.threshold": -0.5},
         ("allowed: <= 1",), name="r2"),
    Case("metric-threshold-range",
         {"models.0.quality_gates.fairness": [{"metric": "disparate_impact_ratio", "threshold": 80,
                                               "protected_attributes": ["age"]}]},
         "models[0].quality_gates.fairness[0].threshold", {"models.0.quality_gates.fairness.0.threshold": 0.8},
         name="fairness"),
    Case("metric-threshold-range", {"models.0.monitoring.drift": {"method": "ks", "threshold": 5}},
         "models[0].monitoring.drift.threshold", {"models.0.monitoring.drift": {"method": "psi", "threshold": 5}},
         ("ks is a distance between distributions that is at most 1",), name="drift"),
    Case("search-parallelism",
         {"models.0.training.hyperparameter_search": {"objective_metric": "auc", "max_trials": 2,
                                                      "max_parallel_trials": 4}},
         "models[0].training.hyperparameter_search.max_parallel_trials",
         {"models.0.training.hyperparameter_search.max_trials": 8}, ("got 4",)),
    Case("champion-needs-metric", {"models.0.quality_gates.metrics": [],
                                   "models.0.quality_gates.compare_to_champion": True},
         "models[0].quality_gates.metrics",
         {"models.0.quality_gates.compare_to_champion": False,
          "models.0.retraining.champion_challenger": False},
         ("got an empty list",)),
    Case("drift-retraining-needs-drift-monitoring", {"models.0.retraining.on_drift": True},
         "models[0].retraining.on_drift", {"models.0.monitoring.drift": {"method": "ks"}}, ("got true",)),
    Case("performance-retraining-needs-quality-monitoring", {"models.0.retraining.on_performance": True},
         "models[0].retraining.on_performance",
         {"models.0.monitoring.quality": {"metric": "auc", "threshold": 0.75}}),
    Case("schedule-format", {"models.0.retraining.schedule": "every day"}, "models[0].retraining.schedule",
         {"models.0.retraining.schedule": "0 3 * * 1"},
         ("got 'every day'",
          "allowed: hourly, daily, weekly, monthly, or five cron fields such as '0 3 * * 1'")),
    Case("schedule-format", {"models.0.monitoring.drift": {"schedule": "0 3 * *"}},
         "models[0].monitoring.drift.schedule", {"models.0.monitoring.drift.schedule": "*/15 * * * *"},
         name="four-cron-fields"),
    Case("schedule-format", {"models.0.serving": {"mode": "batch", "schedule": "0 24 * * *"}},
         "models[0].serving.schedule", {"models.0.serving.schedule": "0 23 * * *"},
         ("got '0 24 * * *'", "hour 0-23"), name="hour-out-of-range"),
    Case("schedule-format", {"models.0.retraining.schedule": "0 3 * * 5-1"}, "models[0].retraining.schedule",
         {"models.0.retraining.schedule": "0 3 * * 1-5"}, name="backwards-range"),
    Case("schedule-format", {"models.0.retraining.schedule": "0 3 * * MON-FRY"}, "models[0].retraining.schedule",
         {"models.0.retraining.schedule": "0 3 * * MON-FRI"}, ("day of week 0-7 or SUN-SAT",), name="day-names"),
    Case("target-not-below-current",
         {"maturity": {"current": 2, "target": {"experiment_tracking": 2, "model_versioning": 2,
                                                "deployment": 1, "monitoring": 2, "governance": 2}}},
         "maturity.target.deployment", {"maturity.target.deployment": 2},
         ("got 1; allowed: >= maturity.current",)),
    Case("deployment-needs-monitoring", {"maturity.target": {"deployment": 3, "monitoring": 1}},
         "maturity.target.monitoring", {"maturity.target.monitoring": 2}, ("got 1; allowed: >= 2",)),
    Case("approvals-for-declared-environments",
         {"environments": {"dev": {}, "prod": {}},
          "governance.approvals": {"staging": {"approvers": ["leads"]}},
          "governance.roles.approver": ["leads"]},
         "governance.approvals.staging", {"environments.staging": {}},
         ("got 'staging'", "allowed: the keys of `environments`")),
    Case("approvals-need-approver-role", {"governance.approvals": {"prod": {"approvers": ["leads"]}}},
         "governance.roles.approver", {"governance.roles.approver": ["leads"]}, ("got an empty list",)),
    Case("min-approvals-reachable",
         {**PROD_APPROVAL, "governance.approvals.prod.min_approvals": 2},
         "governance.approvals.prod.min_approvals",
         {"governance.approvals.prod.approvers": ["risk-committee", "business-owner"]}, ("got 2",)),
    Case("compliance-requires-prod-approval", {"governance.compliance": ["soc2"]}, "governance.approvals",
         PROD_APPROVAL, ("allowed: add governance.approvals.prod",)),
    Case("compliance-requires-prod-approval",
         {"governance.compliance": ["eu_ai_act"], "governance.risk_tier": "high",
          "governance.model_card_required": True},
         "governance.approvals", PROD_APPROVAL, name="eu-ai-act-high-risk"),
    Case("compliance-requires-model-cards",
         {**PROD_APPROVAL, "governance.compliance": ["eu_ai_act"], "governance.risk_tier": "high"},
         "governance.model_card_required", {"governance.model_card_required": True},
         ("got false; allowed: true",)),
    Case("fair-lending-requires-fairness-gate", {"governance.compliance": ["fair_lending"]},
         "models[0].quality_gates.fairness",
         {"models.0.quality_gates.fairness": [{"metric": "disparate_impact_ratio", "threshold": 0.8,
                                               "protected_attributes": ["age_band"]}]}),
    Case("compliance-audit-retention", {"governance.compliance": ["hipaa"]},
         "governance.audit_retention_days",
         {"governance.audit_retention_days": 2190},
         ("audit retention is shorter than a named compliance regime requires: "
          "HIPAA keeps required documentation for 6 years (>= 2190 days)", "got 365")),
    Case("pii-needs-a-regime",
         {"data.sources": [{"name": "users", "kind": "database", "uri": "postgresql://db/users",
                            "contains_pii": True}]},
         "governance.compliance", {"governance.compliance": ["gdpr"]},
         ("got an empty list; allowed: gdpr, hipaa, pci_dss, fair_lending or sr_11_7",)),
    Case("alert-targets", {"alerts": [{"kind": "slack", "target": "http://hooks.example.com/x"}]},
         "alerts[0].target", {"alerts.0.target": DELETE, "alerts.0.secret": "slackWebhook"},
         ("got 'http://hooks.example.com/x'",)),
    Case("alert-targets", {"alerts": [{"kind": "email", "target": "ml-team"}]}, "alerts[0].target",
         {"alerts.0.target": "ml-team@example.com"}, name="email"),
    Case("unique-names", {"models.1": {"name": "scorer", "quality_gates": {"compare_to_champion": False},
                                       "retraining": {"champion_challenger": False}}},
         "models[1].name", {"models.1.name": "scorer-two"}, ("names must be unique", "got 'scorer'")),
    Case("reserved-tags", {"tags": {"environment": "prod"}}, "tags.environment", {"tags": {"team": "risk"}},
         ("got 'environment'", "allowed: any key except environment")),
    # Alarm topics and channels carry their route's severity, model packages their approval mode: a blueprint
    # tag of that name would be overwritten on those resources.
    Case("reserved-tags", {"tags": {"severity": "low"}}, "tags.severity", {"tags": {"team": "risk"}},
         ("got 'severity'", "mlops-approval, severity"), name="component"),
    Case("instance-types-fit-cloud", {"models.0.training.instance": "n1-standard-8"},
         "models[0].training.instance", {"models.0.training.instance": "ml.m5.xlarge"},
         ("got 'n1-standard-8'", "(ml.<family>.<size>, e.g. ml.m5.xlarge)")),
    Case("instance-types-fit-cloud", {"environments": {"dev": {"serving": {"instance": "Standard_DS3_v2"}}}},
         "environments.dev.serving.instance", {"environments.dev.serving.instance": "small"},
         name="environment"),
    Case("accounts-fit-cloud", {"environments": {"dev": {"account": "12345"}}}, "environments.dev.account",
         {"environments.dev.account": "123456789012"}, ("got '12345'",)),
    Case("regions-fit-cloud", {"cloud.region": "europe-west4"}, "cloud.region", {"cloud.region": "eu-west-1"},
         ("got 'europe-west4'",)),
    Case("network-subnets", {"environments": {"prod": {"network": {"vpc": "vpc-0abc", "subnets": ["subnet-1"]}}}},
         "environments.prod.network.subnets",
         {"environments.prod.network.subnets": ["subnet-1", "subnet-2"]}, ("got ['subnet-1']",)),
    Case("network-subnets", {"environments": {"dev": {"network": {"subnets": ["subnet-1", "subnet-2"]}}}},
         "environments.dev.network.subnets", {"environments.dev.network.vpc": "vpc-0abc"}, name="without-vpc"),
    Case("azure-budget-notifications",
         {"cloud": {"provider": "azure", "region": "westeurope"},
          "cost": {"monthly_budget_usd": 1000, "alert_thresholds_percent": [10, 20, 30, 40, 50, 60]}},
         "cost.alert_thresholds_percent", {"cost.alert_thresholds_percent": [50, 80, 100]},
         ("got 6; allowed: <= 5",)),
    Case("network-cidr", {"environments": {"prod": {"network": {"cidr": "8.8.0.0/16"}}}},
         "environments.prod.network.cidr", {"environments.prod.network.cidr": "10.20.0.0/16"},
         ("got '8.8.0.0/16'", "allowed: e.g. 10.40.0.0/16")),
    Case("network-cidr", {"environments": {"prod": {"network": {"cidr": "10.20.0.0/27"}}}},
         "environments.prod.network.cidr", {"environments.prod.network.cidr": "10.20.0.0/24"}, name="too-small"),
    Case("network-cidr", {"environments": {"prod": {"network": {"cidr": "10.20.0.1/16"}}}},
         "environments.prod.network.cidr", {"environments.prod.network.cidr": "10.20.0.0/16"},
         ("not a network address",), name="host-bits"),
    Case("aws-role-principals", {"governance.roles.data_scientist": ["group:ds@example.com"]},
         "governance.roles.data_scientist[0]",
         {"governance.roles.data_scientist": ["DataScientists", "arn:aws:iam::123456789012:role/ds-breakglass"]},
         ("got 'group:ds@example.com'", "allowed: arn:aws:iam::<account>:role/<name>")),
    Case("aws-role-principals", {**PROD_APPROVAL, "governance.approvals.prod.approvers": ["Risk Committee"]},
         "governance.approvals.prod.approvers[0]", {"governance.approvals.prod.approvers": ["RiskCommittee"]},
         ("got 'Risk Committee'",), name="approvers"),
    Case("feature-definitions",
         {"feature_store": {"entities": [{"name": "card", "id_column": "card_id",
                                          "features": [{"name": "event_time", "type": "float"}]}]}},
         "feature_store.entities[0].features[0].type",
         {"feature_store.entities.0.features.0.type": "timestamp"}, ("`event_time` is the event time",)),
    Case("feature-definitions",
         {"feature_store": {"entities": [{"name": "card", "id_column": "card_id",
                                          "features": [{"name": "write_time", "type": "timestamp"}]}]}},
         "feature_store.entities[0].features[0].name",
         {"feature_store.entities.0.features.0.name": "last_write"}, ("SageMaker reserves",), name="reserved"),
    Case("feature-definitions",
         {"feature_store": {"entities": [{"name": "card", "id_column": "card_id",
                                          "features": [{"name": "card_id"}]}]}},
         "feature_store.entities[0].features[0].type",
         {"feature_store.entities.0.features.0.type": "string"}, ("the id column is an int or a string",),
         name="id-type"),
    Case("feature-definitions",
         {"feature_store": {"entities": [{"name": "card", "id_column": "card_id",
                                          "features": [{"name": "spend"}, {"name": "spend"}]}]}},
         "feature_store.entities[0].features[1].name",
         {"feature_store.entities.0.features.1.name": "spend_7d"}, ("declared twice",), name="duplicate"),
    Case("feature-definitions",
         {"feature_store": {"online": False, "offline": False,
                            "entities": [{"name": "card", "id_column": "card_id", "features": [{"name": "x"}]}]}},
         "feature_store.offline", {"feature_store.offline": True}, ("needs an online or an offline store",),
         name="no-store"),
    Case("aws-budget-notifications",
         {"cost": {"monthly_budget_usd": 1000, "alert_thresholds_percent": list(range(10, 110, 10))},
          "alerts": [{"kind": "email", "target": "ml@example.com"}]},
         "cost.alert_thresholds_percent", {"cost.alert_thresholds_percent": [50, 80, 100]},
         ("got 10; allowed: <= 9",)),
    Case("aws-cost-alerts-need-a-route", {"cost": {"monthly_budget_usd": 1000}}, "alerts",
         {"alerts": [{"kind": "email", "target": "ml@example.com"}]}, ("got an empty list",)),
    Case("gcp-role-principals",
         {"cloud": {"provider": "gcp", "region": "us-central1"}, "governance.roles.data_scientist": ["ds-team"]},
         "governance.roles.data_scientist[0]", {"governance.roles.group_domain": "example.com"},
         ("needs `governance.roles.group_domain`", "got 'ds-team'")),
    Case("gcp-role-principals",
         {"cloud": {"provider": "gcp", "region": "us-central1"},
          "governance.roles.approver": ["arn:aws:iam::123456789012:role/approver"]},
         "governance.roles.approver[0]", {"governance.roles.approver": ["group:approvers@example.com"]},
         ("allowed: group:<email>",), name="not-a-member"),
    Case("azure-role-principals",
         {"cloud": {"provider": "azure", "region": "westeurope"}, "governance.roles.data_scientist": ["ds-team"]},
         "governance.roles.data_scientist[0]",
         {"governance.roles.data_scientist": ["0b3e5a1c-2d4f-4a6b-8c9d-1e2f3a4b5c6d",
                                              "user:1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"]},
         ("got 'ds-team'", "allowed: 00000000-0000-0000-0000-000000000000")),
    Case("azure-role-principals",
         {"cloud": {"provider": "azure", "region": "westeurope"}, **PROD_APPROVAL,
          "governance.roles.approver": ["group:0b3e5a1c-2d4f-4a6b-8c9d-1e2f3a4b5c6d"]},
         "governance.approvals.prod.approvers[0]",
         {"governance.approvals.prod.approvers": ["sp:0b3e5a1c-2d4f-4a6b-8c9d-1e2f3a4b5c6d"]},
         ("got 'risk-committee'",), name="approvers"),
    Case("billing-account-fits-cloud",
         {"cloud": {"provider": "gcp", "region": "us-central1"}, "cost": {"monthly_budget_usd": 1000}},
         "cost.billing_account", {"cost.billing_account": "012345-6789AB-CDEF01"},
         ("needs the billing account",)),
    Case("billing-account-fits-cloud",
         {"cost": {"monthly_budget_usd": 1000, "billing_account": "012345-6789AB-CDEF01"},
          "alerts": [{"kind": "email", "target": "ml@example.com"}]},
         "cost.billing_account", {"cost.billing_account": DELETE}, ("only GCP budgets",), name="aws"),
    # Cloud limits: AWS takes 50 tags a resource, GCP 64 labels; the platform sets up to four of them.
    Case("cloud-tag-limits", {"tags": {f"t{i}": "x" for i in range(47)}}, "tags",
         {"tags": {f"t{i}": "x" for i in range(46)}},
         ("got 47", "allowed: at most 46 blueprint tags (AWS takes 50 tags a resource; the platform sets 4)")),
    Case("cloud-tag-limits", {"cloud": {"provider": "gcp", "region": "us-central1"},
                              "tags": {f"t{i}": "x" for i in range(61)}}, "tags",
         {"tags": {f"t{i}": "x" for i in range(60)}},
         ("got 61", "allowed: at most 60 blueprint tags (GCP takes 64 labels a resource; the platform sets 4)"),
         name="gcp"),
    Case("aws-tag-characters", {"tags": {"team": "risk & fraud"}}, "tags.team", {"tags": {"team": "risk-fraud"}},
         ("got 'risk & fraud'", "'&' is not allowed", "allowed: letters, digits, spaces and _ . : / = + - @")),
    Case("unique-budget-thresholds",
         {"cost": {"monthly_budget_usd": 1000, "alert_thresholds_percent": [50, 80, 80.0]},
          "alerts": [{"kind": "email", "target": "ml@example.com"}]},
         "cost.alert_thresholds_percent[2]", {"cost.alert_thresholds_percent": [50, 80, 100]},
         ("got 80", "80 % is already a threshold")),
    Case("drift-features-in-feature-store",
         {"cloud": {"provider": "gcp", "region": "us-central1"},
          "feature_store": {"entities": [{"name": "customer", "id_column": "customer_id",
                                          "features": [{"name": "customer_id", "type": "string"},
                                                       {"name": "age"}]}]},
          "models.0.monitoring": {"drift": {"features": ["age", "income"]}}},
         "models[0].monitoring.drift.features[1]", {"models.0.monitoring.drift.features": ["age"]},
         ("got 'income'", "allowed: age, customer_id")),
]


def test_base_blueprint_is_valid() -> None:
    load(BASE)


def test_every_rule_has_a_case() -> None:
    untested = {rule.id for rule in RULES} - {case.rule for case in CASES}
    assert not untested, f"rules without a test case here: {sorted(untested)}"
    unknown = {case.rule for case in CASES} - {rule.id for rule in RULES}
    assert not unknown, f"cases for rules that do not exist: {sorted(unknown)}"


def test_rule_ids_are_unique_and_kebab_case() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_is_broken_then_fixed(case: Case) -> None:
    broken = apply(BASE, case.breaks)
    with pytest.raises(BlueprintError) as caught:
        load(broken)
    error = caught.value
    assert len(error.diagnostics) == 1, error.lines()
    (diagnostic,), (line,) = error.diagnostics, error.lines()
    assert diagnostic.message.endswith(f"[{case.rule}]"), line
    assert format_path(diagnostic.path) == case.path, line
    assert re.match(rf"{FILE}:\d+:\d+: {re.escape(case.path)}: ", line), line
    rule = next(r for r in RULES if r.id == case.rule)
    assert rule.message in line
    for fragment in case.says:
        assert fragment in line, f"{fragment!r} not in {line!r}"

    load(apply(broken, case.fixes))


def test_every_violation_is_reported_at_once() -> None:
    broken = apply(BASE, {"models.0.training.spot": True, "cloud.region": "westeurope",
                          "alerts": [{"kind": "webhook"}]})
    with pytest.raises(BlueprintError) as caught:
        load(broken)
    found = [(format_path(d.path), d.message.rsplit("[", 1)[-1]) for d in caught.value.diagnostics]
    assert found == [
        ("models[0].training.checkpointing", "spot-needs-checkpoints]"),
        ("alerts[0].target", "alert-targets]"),
        ("cloud.region", "regions-fit-cloud]"),
    ]


def test_rule_position_points_at_the_offending_line() -> None:
    text = yaml.safe_dump(apply(BASE, {"models.0.serving": {"mode": "batch"}}), sort_keys=False)
    serving_line = text.splitlines().index("  serving:") + 1
    with pytest.raises(BlueprintError) as caught:
        load_text(text, FILE)
    # `schedule` is absent, so the position is that of its nearest written ancestor, `serving`
    # (safe_dump writes list items flush with their parent key: `- name:` then `  serving:`).
    assert caught.value.lines()[0].startswith(f"{FILE}:{serving_line}:3: models[0].serving.schedule: ")


def test_aws_tag_rules_follow_botocore() -> None:
    # The limits come from AWS's published service model, which the mocks never check.
    shapes = botocore.loaders.Loader().load_service_model("sagemaker", "service-2")["shapes"]
    assert shapes["TagList"]["max"] == CLOUD_TAG_LIMITS[Cloud.aws][2]
    assert shapes["TagValue"]["pattern"] == r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"
    assert shapes["TagValue"]["max"] >= 63, "the model caps tag values at 63 characters (GCP labels)"


@pytest.mark.parametrize(("value", "forbidden"), [
    ("risk-fraud_2 team:a/b=c+d@e.f", None), ("Équipe 中文 ٣", None), ("a\u00a0b", None),
    ("a&b", "&"), ("a,b", ","), ("<b>", "<"), ("50%", "%"), ("a#b", "#"), ("a'b", "'"), ("a*b", "*"),
])
def test_aws_tag_characters_are_the_letters_separators_digits_and_punctuation_aws_allows(
        value: str, forbidden: str | None) -> None:
    assert aws_tag_forbidden(value) == forbidden


def test_reserved_tags_name_the_tags_components_add() -> None:
    from components.aws.registry import APPROVAL_TAG
    from components.base import PURPOSE_TAG
    from components.gcp.registry import APPROVAL_LABEL

    assert {PURPOSE_TAG, APPROVAL_TAG, APPROVAL_LABEL, "severity"} <= set(RESERVED_TAGS)
