"""Compliance regimes → the concrete controls the platform builds (cloud-neutral, no pulumi import).

One table: for each regime the blueprint can name, the controls it asks of an ML platform, each with
the clause it comes from. `CONTROL_CAPABILITIES` says which planned capability delivers a control,
so `compliance_gaps(plan)` can tell what a regime asks that this environment's plan does not build.
Each back end says how it implements a control (AWS: `components.aws.governance.AWS_CONTROLS`).
Design documents read these tables; the blueprint rules (`mlops.blueprint.rules`) enforce the parts
that are settings (approval gates, model cards, fairness gates, audit retention).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mlops.blueprint.model import Compliance

from .gating import Capability
from .model import Plan


class Control(StrEnum):
    """What a regulator or auditor checks on an ML platform, independent of the cloud."""

    encryption_at_rest = "encryption_at_rest"
    """Data, artifacts, features, logs and audit records encrypted with customer-managed keys."""
    encryption_in_transit = "encryption_in_transit"
    """Storage refuses requests without TLS."""
    access_control = "access_control"
    """Least-privilege roles per persona, scoped to this platform; no shared administrator access."""
    separation_of_duties = "separation_of_duties"
    """Those who build a model cannot approve it for production."""
    approval_gate = "approval_gate"
    """A recorded, human approval before a model is promoted."""
    audit_logging = "audit_logging"
    """Every API call, and data access to models and features, recorded."""
    audit_retention = "audit_retention"
    """Audit records kept for the regime's period and locked against deletion."""
    model_documentation = "model_documentation"
    """A model card per model: purpose, risk rating, owner, evaluation."""
    fairness_testing = "fairness_testing"
    """Bias metrics gate every release."""
    model_monitoring = "model_monitoring"
    """Drift and quality of models in production are watched and alarmed."""
    network_isolation = "network_isolation"
    """Jobs, models and tracking run in private networks without internet access."""
    network_logging = "network_logging"
    """Network flows of the platform are logged."""
    reproducibility = "reproducibility"
    """Every run's code, data, parameters and metrics are tracked."""


@dataclass(frozen=True)
class Requirement:
    control: Control
    source: str
    """The clause that asks for it."""


def _r(control: Control, source: str) -> Requirement:
    return Requirement(control, source)


C = Control
REGIME_CONTROLS: dict[Compliance, tuple[Requirement, ...]] = {
    Compliance.sr_11_7: (
        _r(C.model_documentation, "SR 11-7 §VI: documentation of model development and use"),
        _r(C.approval_gate, "SR 11-7 §V: validation before a model is put into use"),
        _r(C.separation_of_duties, "SR 11-7 §V: validation independent of development"),
        _r(C.model_monitoring, "SR 11-7 §V: ongoing monitoring of model performance"),
        _r(C.reproducibility, "SR 11-7 §IV: development records sufficient to replicate the model"),
        _r(C.audit_logging, "SR 11-7 §VI: records of model use and changes"),
        _r(C.audit_retention, "SR 11-7 §VI: model records kept on the bank's record horizon"),
    ),
    Compliance.fair_lending: (
        _r(C.fairness_testing, "ECOA / Regulation B (12 CFR 1002.4): no discrimination in credit decisions"),
        _r(C.model_documentation, "Regulation B (12 CFR 1002.9): principal reasons for adverse action"),
        _r(C.audit_logging, "Regulation B (12 CFR 1002.12): record retention"),
    ),
    Compliance.hipaa: (
        _r(C.encryption_at_rest, "45 CFR 164.312(a)(2)(iv): encryption of ePHI"),
        _r(C.encryption_in_transit, "45 CFR 164.312(e)(1): transmission security"),
        _r(C.access_control, "45 CFR 164.312(a)(1): access control"),
        _r(C.audit_logging, "45 CFR 164.312(b): audit controls"),
        _r(C.audit_retention, "45 CFR 164.316(b)(2): documentation kept six years"),
        _r(C.network_isolation, "45 CFR 164.312(e)(1): guard against unauthorised access in transmission"),
    ),
    Compliance.gdpr: (
        _r(C.encryption_at_rest, "GDPR Art. 32(1)(a): encryption of personal data"),
        _r(C.encryption_in_transit, "GDPR Art. 32(1)(a): encryption of personal data"),
        _r(C.access_control, "GDPR Art. 25 and 32(4): data protection by design, access on need"),
        _r(C.audit_logging, "GDPR Art. 5(2) and 30: accountability, records of processing"),
    ),
    Compliance.eu_ai_act: (
        _r(C.model_documentation, "EU AI Act Art. 11 and Annex IV: technical documentation"),
        _r(C.audit_logging, "EU AI Act Art. 12: automatic recording of events"),
        _r(C.audit_retention, "EU AI Act Art. 19: logs kept at least six months"),
        _r(C.approval_gate, "EU AI Act Art. 14: human oversight"),
        _r(C.fairness_testing, "EU AI Act Art. 10(2)(f): examination for possible biases"),
        _r(C.model_monitoring, "EU AI Act Art. 72: post-market monitoring"),
    ),
    Compliance.pci_dss: (
        _r(C.encryption_at_rest, "PCI DSS v4.0 3.5: stored account data protected by strong cryptography"),
        _r(C.encryption_in_transit, "PCI DSS v4.0 4.2: strong cryptography in transmission"),
        _r(C.access_control, "PCI DSS v4.0 7.2: access by least privilege"),
        _r(C.audit_logging, "PCI DSS v4.0 10.2: audit logs of all access"),
        _r(C.audit_retention, "PCI DSS v4.0 10.5.1: audit log history for at least 12 months"),
        _r(C.network_isolation, "PCI DSS v4.0 1.3: network access to the cardholder data environment restricted"),
        _r(C.network_logging, "PCI DSS v4.0 10.2.1: logs of network access to system components"),
    ),
    Compliance.soc2: (
        _r(C.approval_gate, "SOC 2 CC8.1: changes authorised, tested and approved"),
        _r(C.separation_of_duties, "SOC 2 CC5.1 / CC8.1: segregation of incompatible duties"),
        _r(C.access_control, "SOC 2 CC6.1 and CC6.3: logical access by role"),
        _r(C.encryption_at_rest, "SOC 2 CC6.1: protection of information at rest"),
        _r(C.encryption_in_transit, "SOC 2 CC6.7: protection of information in transmission"),
        _r(C.audit_logging, "SOC 2 CC7.2: monitoring of system components"),
        _r(C.network_isolation, "SOC 2 CC6.6: boundaries against threats from outside"),
    ),
}

CONTROL_CAPABILITIES: dict[Control, Capability] = {
    C.encryption_at_rest: Capability.foundation,
    C.encryption_in_transit: Capability.foundation,
    C.access_control: Capability.rbac_roles,
    C.separation_of_duties: Capability.enforced_approval,
    C.approval_gate: Capability.approval_workflow,
    C.audit_logging: Capability.audit_trail,
    C.audit_retention: Capability.audit_trail,
    C.model_documentation: Capability.model_cards,
    C.fairness_testing: Capability.training_pipeline,
    C.model_monitoring: Capability.drift_monitoring,
    C.network_isolation: Capability.foundation,
    C.network_logging: Capability.foundation,
    C.reproducibility: Capability.experiment_tracking,
}
"""The capability that builds each control (network isolation and flow logs come with the foundation's
network in isolated environments)."""


def required_controls(regimes: tuple[Compliance, ...] | list[Compliance]) -> dict[Control, list[str]]:
    """Every control the regimes ask for, with the clauses asking, in Control order."""
    found: dict[Control, list[str]] = {}
    for regime in regimes:
        for requirement in REGIME_CONTROLS[regime]:
            found.setdefault(requirement.control, []).append(requirement.source)
    return {c: found[c] for c in Control if c in found}


def compliance_gaps(plan: Plan) -> dict[Control, list[str]]:
    """Controls the plan's regimes ask for that this environment's plan does not build.

    Network controls are built only where the environment is isolated (not in dev).
    """
    gaps: dict[Control, list[str]] = {}
    for control, sources in required_controls(plan.governance.compliance).items():
        built = plan.enabled(CONTROL_CAPABILITIES[control])
        if control in (C.network_isolation, C.network_logging):
            built = built and plan.network.isolated
        if control is C.approval_gate:
            built = built and (plan.governance.approval is not None or plan.environment != "prod")
        if not built:
            gaps[control] = sources
    return gaps
