"""What the design needs to know about each compliance regime, beyond the controls table.

The controls each regime asks for, and the capability that builds each control, are the plan's
table (`mlops.plan.compliance`: `REGIME_CONTROLS`, `CONTROL_CAPABILITIES`); this module adds only
what a design document and a roadmap need: the regime's display name, whether its decisions are
high-stakes (the use case then needs maturity level 3), the independent validation it asks for
before go-live (a roadmap phase of its own), and the organisational steps no stack can build.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops.blueprint.model import Compliance, RiskTier


@dataclass(frozen=True)
class Step:
    text: str
    before_data: bool = False
    """Must be done before the regime's data lands on the platform (else: before go-live)."""


@dataclass(frozen=True)
class RegimeInfo:
    title: str
    high_stakes: bool
    """Decisions under this regime are high-stakes: the use case needs maturity level 3."""
    validation: str | None
    """The independent validation or assessment the regime asks for before go-live; None: none."""
    organisational: tuple[Step, ...] = ()
    """Steps outside the stack (agreements, assessments) the roadmap schedules."""
    high_risk_only: bool = False
    """High stakes and validation apply to high-risk systems only (EU AI Act)."""


REGIMES: dict[Compliance, RegimeInfo] = {
    Compliance.sr_11_7: RegimeInfo(
        "SR 11-7 model risk management", True,
        "independent model validation report, signed off by model risk management (SR 11-7 §V)",
        (Step("models entered in the bank's model inventory with their risk rating (SR 11-7 §VI)"),)),
    Compliance.fair_lending: RegimeInfo(
        "fair lending (ECOA / Regulation B)", True,
        "fair lending review: disparate impact analysis and search for less discriminatory alternatives"),
    Compliance.hipaa: RegimeInfo(
        "HIPAA", True, "security risk analysis updated for the platform (45 CFR 164.308(a)(1))",
        (Step("business associate agreement with the cloud provider (45 CFR 164.308(b))", before_data=True),)),
    Compliance.gdpr: RegimeInfo(
        "GDPR", False, None,
        (Step("data protection impact assessment for profiling, before processing starts (GDPR Art. 35)",
              before_data=True),)),
    Compliance.eu_ai_act: RegimeInfo(
        "EU AI Act", True, "conformity assessment of the high-risk system (EU AI Act Art. 43)",
        high_risk_only=True),
    Compliance.pci_dss: RegimeInfo(
        "PCI DSS v4.0", False, "PCI DSS assessment of the cardholder data environment (QSA report or SAQ)"),
    Compliance.soc2: RegimeInfo("SOC 2", False, None),
}


def title(regime: Compliance) -> str:
    return REGIMES[regime].title


def is_high_stakes(regime: Compliance, risk_tier: RiskTier) -> bool:
    info = REGIMES[regime]
    return info.high_stakes and (not info.high_risk_only or risk_tier == RiskTier.high)


def validation(regime: Compliance, risk_tier: RiskTier) -> str | None:
    """The pre-go-live validation this regime asks of this system, if any."""
    info = REGIMES[regime]
    if info.high_risk_only and risk_tier != RiskTier.high:
        return None
    return info.validation


def outside_steps(regime: Compliance, risk_tier: RiskTier) -> tuple[str, ...]:
    """Organisational steps, then the pre-go-live validation, of a regime for this system."""
    check = validation(regime, risk_tier)
    return tuple(s.text for s in REGIMES[regime].organisational) + ((check,) if check else ())
