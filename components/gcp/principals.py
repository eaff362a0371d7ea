"""Blueprint principals (people and groups in `governance`) as GCP IAM members (no pulumi import).

The mapping (the blueprint rule `gcp-role-principals` admits exactly these forms on GCP):
- an IAM member (`user:`, `group:`, `serviceAccount:`, `domain:`, `principal:`, `principalSet:`) as written;
- an email address as a Google group (personas are groups);
- a plain name as the group `<name>@<governance.roles.group_domain>`.
"""

from __future__ import annotations

from mlops.plan import Plan

IAM_PREFIXES = ("user:", "group:", "serviceAccount:", "domain:", "principal:", "principalSet:")
PERSONAS = ("data_scientist", "ml_engineer", "approver")


def iam_member(principal: str, group_domain: str | None = None) -> str | None:
    """`group:x@y` and the other IAM member forms as written; an email address as a Google group
    (personas are groups); a plain name as a group of `group_domain` (None without a domain: the blueprint
    rule `gcp-role-principals` refuses such a blueprint)."""
    if principal.startswith(IAM_PREFIXES):
        return principal
    if "@" in principal:
        return f"group:{principal}"
    if group_domain is not None:
        return f"group:{principal}@{group_domain}"
    return None


def gcp_member(principal: str, group_domain: str | None) -> str:
    """`iam_member`, failing loudly where it has no answer (only reached if the blueprint rule was bypassed)."""
    member = iam_member(principal, group_domain)
    if member is None:
        raise ValueError(f"{principal!r}: a plain group name needs governance.roles.group_domain")
    return member


def persona_members(plan: Plan, persona: str) -> list[str]:
    """A persona's IAM members, sorted, each once; approvers include this environment's approval approvers."""
    roles = plan.governance.roles
    principals = list(getattr(roles, persona))
    if persona == "approver" and plan.governance.approval is not None:
        principals += plan.governance.approval.approval.approvers
    return sorted({gcp_member(p, roles.group_domain) for p in principals})
