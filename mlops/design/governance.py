"""Section 5, the governance model: approvals per stage, roles, documentation, audit, compliance matrix.

The compliance matrix reads the plan's controls table (`mlops.plan.compliance`) and says, for
each control, what builds it here: the resources of the synthesized graph when its evidence holds there,
"planned, not yet built on <cloud>" when it does not (mlops/evidence), or why this environment's plan
leaves it out. It never claims more than the stack builds.
"""

from __future__ import annotations

from mlops.blueprint.model import Cloud, Dimension, RiskTier
from mlops.plan import Capability
from mlops.plan.compliance import CONTROL_CAPABILITIES, REGIME_CONTROLS, Control, compliance_gaps

from . import compliance
from .architecture import AREA_OF, Architecture, architecture
from .clouds import AUDIT_LOCK, SERVICE
from .inputs import DesignInput
from .markdown import blocks, bullets, code, codes, table, years

AUDIT_NOTE = {
    Cloud.azure: " Azure creates an immutability policy unlocked and locks it on a later update: the first "
                 "`pulumi up` of a production stack runs with `mlops:auditFirstDeployment=true`, the next one "
                 "without it locks the policy (irreversibly).",
}


def high_stakes(inp: DesignInput) -> bool:
    gov = inp.plan.governance
    return gov.risk_tier == RiskTier.high or any(compliance.is_high_stakes(r, gov.risk_tier) for r in gov.compliance)


def _approvals(inp: DesignInput) -> str:
    plan = inp.plan
    level = plan.maturity_target.level(Dimension.governance)
    kind = ("**enforced**: only the approver role can approve, and builders cannot approve their own models"
            if plan.enabled(Capability.enforced_approval) else
            "**basic**: promotion needs a recorded approval (raise `maturity.target.governance` to 2 to enforce "
            "who may approve)" if plan.enabled(Capability.approval_workflow) else
            "**none**: promotion needs no approval at this governance target")
    rows = []
    for env_plan in inp.plans:
        a = env_plan.governance.approval
        if a is None:
            rows.append([env_plan.environment, "—", "—", "automatic promotion", "—"])
            continue
        mechanism = SERVICE["approval"][env_plan.cloud]
        enforcement = (f"enforced by {SERVICE['rbac'][env_plan.cloud]}: only the approver role" if a.enforced
                       else "recorded; not restricted to a role")
        rows.append([env_plan.environment, codes(a.approval.approvers), a.approval.min_approvals,
                     f"{mechanism}; {enforcement}", inp.status(Capability.approval_workflow)])
    return blocks(
        "### Approval workflow",
        f"Workflow at governance target {level}: {kind}.",
        table(["promotion into", "approvers", "approvals needed", "how", "status"], rows),
    )


def _roles(inp: DesignInput) -> str:
    plan = inp.plan
    roles = plan.governance.roles
    approval_envs = [p.environment for p in inp.plans if p.governance.approval]
    status = inp.status(Capability.rbac_roles)
    rows = [
        ["data scientist", codes(roles.data_scientist) or "—",
         "explore data, run experiments and training pipelines, register candidate models",
         "deploy, approve, or touch production data outside the pipelines"],
        ["ML engineer", codes(roles.ml_engineer) or "—",
         "deploy to " + ", ".join(p.environment for p in inp.plans if not p.production) + ", operate the platform, "
         "roll back", "approve a promotion that needs approval" if plan.enabled(Capability.enforced_approval)
         else "—"],
        ["approver", codes(roles.approver) or "—",
         "approve promotion into " + (", ".join(approval_envs) or "no environment (no approval configured)"),
         "change code, data or thresholds"],
    ]
    return blocks("### Roles and permissions",
                  f"Least-privilege roles with {SERVICE['rbac'][plan.cloud]} ({status}).",
                  table(["role", "principals", "may", "may not"], rows))


def _documentation(inp: DesignInput) -> str:
    plan = inp.plan
    if plan.governance.model_card_required:
        if high_stakes(inp):
            card = ("**full model card** at registration (high-stakes use): intended use and limitations, owner "
                    "and risk rating, training data and lineage, evaluation including fairness by protected "
                    "attribute, validation findings, monitoring plan")
        else:
            card = ("**lightweight model card** at registration: intended use, owner, offline metrics against "
                    "the gates, data sources")
        cards = f"{card} ({inp.status(Capability.model_cards)})."
    else:
        cards = ("No model card required at this governance target (`model_card_required` needs governance ≥ 2); "
                 "document models where the team keeps its documentation.")
    lineage = (f"Lineage: every registered version links to its training run, code and data version "
               f"({SERVICE['tracking'][plan.cloud]} and {SERVICE['registry'][plan.cloud]}).")
    return blocks("### Documentation requirements", cards, lineage)


def _audit(inp: DesignInput) -> str:
    rows = []
    for env_plan in inp.plans:
        g = env_plan.governance
        mechanism, meaning = AUDIT_LOCK[env_plan.cloud][g.audit_lock_mode]
        rows.append([env_plan.environment, years(g.audit_retention_days), f"{mechanism}: {meaning}"])
    cloud = inp.plan.cloud
    note = AUDIT_NOTE.get(cloud, "") if any(p.governance.audit_lock_mode == "compliance" for p in inp.plans) else ""
    return blocks(
        "### Audit trail",
        f"Audit records are kept in the platform's audit store, locked with {SERVICE['audit'][cloud]} "
        f"({inp.status(Capability.audit_trail)}).{note}",
        table(["environment", "retention", "lock"], rows),
    )


def _built_by(inp: DesignInput, arch: Architecture | None, control: Control, capability: Capability) -> str:
    """`built: <how the back end says it does it> (<the components in the graph that do it>)`."""
    how = inp.controls.get(control)
    where = ""
    if arch is not None:
        resources = [b for a in arch.areas for b in a.boxes if b.kind == "resources"]
        exact = [b for b in resources if capability in b.capabilities]
        area = next((a for a in arch.areas if a.key == AREA_OF[capability]), None)
        # Without the back end's own words, the capability's area says at least where to look.
        boxes = exact or ([] if how else [b for b in (area.boxes if area else ()) if b.kind == "resources"])
        where = "; ".join(f"{b.title} {code(b.lines[0])}" for b in boxes)
    if how and where:
        return f"built: {how} ({where})"
    return f"built: {how or where}" if how or where else "built"


def _why_missing(inp: DesignInput, control: Control, capability: Capability) -> str:
    plan = inp.plan
    decision = next(g for g in plan.gates if g.capability == capability)
    if not decision.enabled:
        return f"⚠ not in this plan: `{capability.value}` is off ({decision.reason})"
    if control in (Control.network_isolation, Control.network_logging):
        return f"⚠ not in this plan: `{plan.environment}` is not network-isolated"
    return f"⚠ not in this plan: no approval configured for `{plan.environment}`"


def _matrix(inp: DesignInput) -> str:
    plan = inp.plan
    gov = plan.governance
    if not gov.compliance:
        return blocks("### Compliance matrix", "The blueprint names no compliance regime.")
    gaps = compliance_gaps(plan)
    cloud = plan.cloud.value
    arch = architecture(plan, inp.graph, inp.covered) if inp.graph else None
    rows = []
    for regime in gov.compliance:
        for requirement in REGIME_CONTROLS[regime]:
            capability = CONTROL_CAPABILITIES[requirement.control]
            if requirement.control in gaps:
                state = _why_missing(inp, requirement.control, capability)
            elif capability in inp.unused:
                state = f"on, unused in {inp.environment}"
            elif capability not in inp.built:
                state = f"planned, not yet built on {cloud}"
            else:
                state = _built_by(inp, arch, requirement.control, capability)
            rows.append([compliance.title(regime), code(requirement.control.value), requirement.source,
                         code(capability.value), state])
    outside = [f"{compliance.title(r)}: {step}" for r in gov.compliance
               for step in compliance.outside_steps(r, gov.risk_tier)]
    return blocks(
        "### Compliance matrix",
        f"Each regime → the controls it asks for → the capability that builds each control → what this stack "
        f"has for it on {cloud} in `{plan.environment}`.",
        table(["regime", "control", "asked by", "capability", f"in this stack ({cloud})"], rows),
        "Outside the stack (organisational steps the roadmap schedules):" if outside else "",
        bullets(outside),
    )


def render(inp: DesignInput) -> str:
    return blocks("## 5. Governance model", _approvals(inp), _roles(inp), _documentation(inp), _audit(inp),
                  _matrix(inp))
