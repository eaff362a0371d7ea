"""Vertex AI model registry: promotion to `champion` only by the approvers, enforced by IAM."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, Plan

from .foundation import ACCOUNT_ID_MAX, fit_name
from .names import deployer_workflow_name, model_id, promotion_workflow_name
from .principals import iam_member
from .workflow_sources import PromotionTarget, promotion_source

INVOKER_ROLE = "roles/workflows.invoker"
TOKEN_CREATOR_ROLE = "roles/iam.serviceAccountTokenCreator"
# Moving an alias is `aiplatform.models.update`; no narrower predefined role holds it.
VERTEX_USER_ROLE = "roles/aiplatform.user"
LOG_WRITER_ROLE = "roles/logging.logWriter"
APPROVAL_LABEL = "mlops-approval"


def approval_mode(plan: Plan) -> str:
    """`enforced` (only approvers can promote), `manual` (approvers by convention) or `automatic`."""
    approval = plan.governance.approval
    if approval is None:
        return "automatic"
    return "enforced" if approval.enforced else "manual"


def promoters(plan: Plan) -> list[str]:
    """Who may promote: the environment's approvers and the approver role; where approval is not enforced
    (or not required), ML engineers too. IAM members, deduplicated, in blueprint order."""
    g = plan.governance
    names = [*(g.approval.approval.approvers if g.approval else []), *g.roles.approver]
    if g.approval is None or not g.approval.enforced:
        names += g.roles.ml_engineer
    members = [iam_member(n, g.roles.group_domain) for n in names]
    return list(dict.fromkeys(m for m in members if m))


@builds(Capability.model_registry, Capability.approval_workflow, Capability.enforced_approval)
class VertexModelRegistry(pulumi.ComponentResource):
    """Versioned models with aliases, and the only way to make a version `champion`.

    pulumi_gcp has no Vertex model resource: each model's versions are uploaded by its training pipeline
    (`register` step: model id `names.model_id`, alias `challenger`, never the default version). Promotion
    is a workflow per model, and Workflows IAM exists only at project level, so the gate is an identity:

    Creates: `-promotion` (service account the promotion workflows run as) with `-promotion-vertex`
    (aiplatform.user: move aliases), `-promotion-invoker` (workflows.invoker: run the deployer workflow)
    and `-promotion-logs`; `-promoter` (service account that alone may start promotions) with
    `-promoter-invoker` (workflows.invoker) and `-promoter-<i>` (serviceAccountTokenCreator on that
    account only, for each principal of `promoters(plan)`: the approvers where approval is enforced). An
    approver promotes with `gcloud workflows run <name> --impersonate-service-account=<promoter>
    --data='{"version": "3"}'`; the audit log records the approver behind the impersonation. Per model:
    `-<model>-promote` (workflows.Workflow `names.promotion_workflow_name`, CMEK, all calls logged: merges
    the `champion` alias onto the version and removes `challenger`, then runs the serving area's deployer
    workflow with the version).

    Outputs: promotion_workflows (by model), promoter (service account email), model_ids (by model).
    """

    workflows: dict[str, gcp.workflows.Workflow]

    def __init__(self, name: str, plan: Plan, *, project: pulumi.Input[str], kms_key_id: pulumi.Input[str],
                 depends_on: list[pulumi.Resource], opts: pulumi.ResourceOptions | None = None) -> None:
        """`depends_on`: the Workflows service agent's key grant (CMEK workflows need it first)."""
        super().__init__(f"{TYPE_PREFIX}VertexModelRegistry", name, None, opts)
        labels = gcp_labels({**plan.tags, APPROVAL_LABEL: approval_mode(plan)})

        def account(suffix: str, description: str) -> gcp.serviceaccount.Account:
            return gcp.serviceaccount.Account(
                f"{name}-{suffix}",
                gcp.serviceaccount.AccountArgs(account_id=fit_name(f"{plan.prefix}-{suffix}", ACCOUNT_ID_MAX),
                                               display_name=f"{plan.prefix} {suffix}",
                                               description=f"{plan.prefix}: {description}", project=plan.account),
                opts=child(self))

        def project_role(suffix: str, role: str, member: pulumi.Input[str]) -> None:
            gcp.projects.IAMMember(f"{name}-{suffix}",
                                   gcp.projects.IAMMemberArgs(project=project, role=role, member=member),
                                   opts=child(self))

        runner = account("promotion", "moves model aliases and starts deployments (promotion workflows)")
        project_role("promotion-vertex", VERTEX_USER_ROLE, runner.member)
        project_role("promotion-invoker", INVOKER_ROLE, runner.member)
        project_role("promotion-logs", LOG_WRITER_ROLE, runner.member)
        self.promoter = account("promoter", "starts promotions; only approvers may act as it")
        project_role("promoter-invoker", INVOKER_ROLE, self.promoter.member)
        for i, member in enumerate(promoters(plan)):
            gcp.serviceaccount.IAMMember(
                f"{name}-promoter-{i}",
                gcp.serviceaccount.IAMMemberArgs(service_account_id=self.promoter.name, role=TOKEN_CREATOR_ROLE,
                                                 member=member),
                opts=child(self))

        self.workflows = {}
        for model in plan.models:
            if model.training is None:
                continue
            deployer = deployer_workflow_name(plan, model.name) if model.serving is not None else None
            source = pulumi.Output.from_input(project).apply(lambda p, m=model.name, d=deployer: promotion_source(
                PromotionTarget(project=p, region=plan.region, model_id=model_id(plan, m), deployer_workflow=d)))
            self.workflows[model.name] = gcp.workflows.Workflow(
                f"{name}-{model.name}-promote",
                gcp.workflows.WorkflowArgs(
                    name=promotion_workflow_name(plan, model.name),
                    region=plan.region,
                    project=plan.account,
                    description=f"Promotes an approved {model.name} version to champion and deploys it "
                                f"({approval_mode(plan)} approval)",
                    source_contents=source,
                    service_account=runner.email,
                    crypto_key_name=kms_key_id,
                    # Every promotion is evidence for the audit trail.
                    call_log_level="LOG_ALL_CALLS",
                    deletion_protection=plan.protect,
                    labels=labels,
                ),
                opts=child(self, depends_on=list(depends_on)))
        self.register_outputs({
            "promotion_workflows": {m: w.name for m, w in self.workflows.items()},
            "promoter": self.promoter.email,
            "model_ids": {m.name: model_id(plan, m.name) for m in plan.models if m.training is not None},
        })
