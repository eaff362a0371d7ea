"""GCP deployment on approval: a Cloud Workflows workflow per model that rolls a version onto its endpoint.

The pipelines area's promotion workflow (invokable by approvers only) moves the `champion` alias and
runs this workflow with the approved version; the program is in `deployer_workflow.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.vocabulary import ServingMode

from .deployer_workflow import DeployerConfig, batch_program, deployer_source, yaml_dump
from .foundation import ACCOUNT_ID_MAX, fit_name
from .machines import serving_machine
from .monitoring_job import MonitoringJob
from .names import deployer_workflow_name, endpoint_id
from .serving import error_rate_percent, latency_sla_ms

# Predefined roles only: deploy/undeploy/patch endpoints and monitoring jobs; read metrics.
DEPLOYER_PROJECT_ROLES = ("roles/aiplatform.user", "roles/monitoring.viewer")
ACT_AS = "roles/iam.serviceAccountUser"


def deployer_account_id(plan: Plan, model: str) -> str:
    return fit_name(f"{plan.prefix}-{model}-deployer", ACCOUNT_ID_MAX)


@builds(Capability.progressive_delivery, Capability.approval_workflow)
class VertexDeployer(pulumi.ComponentResource):
    """Rolls approved versions of one real-time model onto its Vertex endpoint, guarded and reversible.

    Creates: `-identity` (the workflow's own service account, never a key), `-<role>` (project IAM
    members: Vertex AI user to deploy, undeploy and split traffic and to manage monitoring jobs;
    Monitoring viewer to read the version's latency and errors), `-act-as-endpoints` (it may deploy
    models that run as the endpoints service account, and no other) and `-workflow` (workflows.Workflow
    named `names.deployer_workflow_name`, CMEK, errors logged, running the program of
    `deployer_workflow.py` with the plan's machine, replicas, autoscaling, delivery strategy,
    rollback bars and, with drift monitoring, the monitoring job to (re)create). For a batch model only
    the identity and a workflow that reports the promotion: batch jobs score with the `champion` alias.

    Outputs: workflow_id, workflow_name, identity (service account email).
    """

    workflow: gcp.workflows.Workflow
    identity: gcp.serviceaccount.Account

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, project: pulumi.Input[str],
                 kms_key_id: pulumi.Input[str], serving_identity: gcp.serviceaccount.Account,
                 monitoring_job: pulumi.Input[MonitoringJob | None] | None = None,
                 depends_on: Sequence[pulumi.Resource] = (), opts: pulumi.ResourceOptions | None = None) -> None:
        """`serving_identity`: the account deployed models run as. `monitoring_job`: the job body
        (monitoring.py). `depends_on`: the Workflows service agent's key grant."""
        super().__init__(f"{TYPE_PREFIX}VertexDeployer", name, None, opts)
        serving = model.serving
        if serving is None:
            raise ValueError(f"{model.name}: nothing to deploy")
        self.identity = gcp.serviceaccount.Account(
            f"{name}-identity",
            gcp.serviceaccount.AccountArgs(
                account_id=deployer_account_id(plan, model.name), display_name=f"{plan.prefix} {model.name} deployer",
                description=f"{plan.prefix}: rolls approved {model.name} versions onto its endpoint",
                project=plan.account),
            opts=child(self),
        )
        if serving.mode == ServingMode.batch:
            # Nothing to roll out: the workflow exists so that promotion works the same for every model.
            self.workflow = self._workflow(name, plan, model, kms_key_id, [*depends_on],
                                           pulumi.Output.from_input(yaml_dump(batch_program(model.name))),
                                           f"Promotion of {model.name} (batch): the next scheduled run scores "
                                           "with the champion alias")
            self.register_outputs({"workflow_id": self.workflow.id, "workflow_name": self.workflow.name,
                                   "identity": self.identity.email})
            return
        grants: list[pulumi.Resource] = [
            gcp.projects.IAMMember(
                f"{name}-{role.removeprefix('roles/').replace('.', '-')}",
                gcp.projects.IAMMemberArgs(project=project, role=role, member=self.identity.member),
                opts=child(self))
            for role in DEPLOYER_PROJECT_ROLES
        ]
        grants.append(gcp.serviceaccount.IAMMember(
            f"{name}-act-as-endpoints",
            gcp.serviceaccount.IAMMemberArgs(service_account_id=serving_identity.name, role=ACT_AS,
                                             member=self.identity.member),
            opts=child(self)))
        scaling = serving.autoscaling
        d = serving.delivery

        def source(values: list[Any]) -> str:
            resolved_project, serving_email, job = values
            return deployer_source(DeployerConfig(
                project=resolved_project, region=plan.region, endpoint_id=endpoint_id(plan, model.name),
                model=model.name, serving_account=serving_email, machine=serving_machine(serving.instance),
                min_replicas=serving.min_instances, max_replicas=serving.max_instances,
                target_utilization_percent=scaling.target_utilization_percent if scaling else 60,
                target_requests_per_replica=scaling.target_requests_per_instance if scaling else None,
                strategy=d.strategy, steps=d.steps, bake_minutes=d.bake_minutes,
                auto_rollback=d.auto_rollback, latency_p99_ms=latency_sla_ms(model),
                error_rate_percent=error_rate_percent(model), monitoring_job=job))

        self.workflow = self._workflow(
            name, plan, model, kms_key_id, [*grants, *depends_on],
            pulumi.Output.all(project, serving_identity.email, monitoring_job).apply(source),
            f"Rolls approved {model.name} versions onto endpoint {endpoint_id(plan, model.name)} "
            f"({d.strategy.value}, {d.bake_minutes} min bake, rollback {'on' if d.auto_rollback else 'off'})")
        self.register_outputs({"workflow_id": self.workflow.id, "workflow_name": self.workflow.name,
                               "identity": self.identity.email})

    def _workflow(self, name: str, plan: Plan, model: ModelPlan, kms_key_id: pulumi.Input[str],
                  depends_on: list[pulumi.Resource], source: pulumi.Output[str],
                  description: str) -> gcp.workflows.Workflow:
        return gcp.workflows.Workflow(
            f"{name}-workflow",
            gcp.workflows.WorkflowArgs(
                name=deployer_workflow_name(plan, model.name), description=description,
                region=plan.region, project=plan.account,
                service_account=self.identity.email,
                crypto_key_name=kms_key_id,
                call_log_level="LOG_ERRORS_ONLY",
                deletion_protection=plan.protect,
                source_contents=source,
                labels=gcp_labels(dict(plan.tags)),
            ),
            opts=child(self, depends_on=depends_on),
        )
