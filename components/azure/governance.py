"""Azure governance: persona roles on the workspace and diagnostic settings (audit logs) to Log Analytics."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, Plan
from mlops.plan.compliance import Control

from .principals import unique
from .roles import ML, assign, custom_role

monitor = azure_native.monitor

DATA_SCIENTIST_ROLE = "data scientist"
ML_ENGINEER_ROLE = "ml engineer"

WORKSPACE_READ = [f"{ML}/workspaces/read", f"{ML}/workspaces/*/read"]
EXPERIMENTING = [f"{ML}/workspaces/experiments/*", f"{ML}/workspaces/jobs/*", f"{ML}/workspaces/components/*",
                 f"{ML}/workspaces/environments/*", f"{ML}/workspaces/codes/*", f"{ML}/workspaces/data/*",
                 f"{ML}/workspaces/computes/start/action", f"{ML}/workspaces/computes/stop/action"]
"""Running experiments and jobs on the platform's clusters (not creating or resizing clusters)."""
OPERATING = [*EXPERIMENTING, f"{ML}/workspaces/schedules/*", f"{ML}/workspaces/onlineEndpoints/*",
             f"{ML}/workspaces/batchEndpoints/*", f"{ML}/workspaces/models/*"]
"""Operating the platform: schedules, endpoints and deployments, workspace model versions."""
NEVER = [f"{ML}/workspaces/write", f"{ML}/workspaces/delete", f"{ML}/workspaces/computes/write",
         f"{ML}/workspaces/computes/delete", f"{ML}/workspaces/listKeys/action", f"{ML}/registries/assets/write",
         f"{ML}/workspaces/connections/listsecrets/action"]
"""What no persona may do: change the workspace or its clusters (that is the IaC's job), read keys and
connection secrets, or promote into the registry (the approver's role, components.azure.registry)."""

AUDIT_GROUP = "audit"
ALL_LOGS_GROUP = "allLogs"

AZURE_CONTROLS: dict[Control, str] = {
    Control.encryption_at_rest: "Key Vault customer-managed key (rotation) on storage, the Azure ML workspace and "
                                "its container registry in prod; infrastructure encryption on storage",
    Control.encryption_in_transit: "storage accepts HTTPS and TLS 1.2 only",
    Control.access_control: "custom roles per persona (data scientist, ML engineer, approver) on the workspace and "
                            "registry; never Owner, Contributor or User Access Administrator; the platform identity "
                            "holds data-plane roles only",
    Control.separation_of_duties: "only the approver role may write into the Azure ML registry (promotion is the "
                                  "approval); other personas' roles exclude registry asset write",
    Control.approval_gate: "candidates register in the workspace; an approver promotes them into the registry",
    Control.audit_logging: "diagnostic settings (audit and allLogs category groups) of the workspace, Key Vault, "
                           "storage and container registry to Log Analytics; the workspace's, vault's and blob "
                           "service's audit logs and the Activity Log (Administrative, Security, Policy) archived "
                           "into the audit storage account",
    Control.audit_retention: "audit storage account with account-level time-based immutability of the governance "
                             "retention over every container (Locked in prod)",
    Control.model_documentation: "draft model card attached to each registered version (model_card tag) for the "
                                 "approver to complete",
    Control.fairness_testing: "fairness metrics in the training pipeline's quality gate step",
    Control.model_monitoring: "Azure ML model monitors and Azure Monitor alerts",
    Control.network_isolation: "workspace managed network (approved outbound only in isolated environments), "
                               "public network access disabled on workspace, vault, storage and registry",
    Control.network_logging: "the workspace managed network's firewall and private endpoints are Azure-managed; "
                             "flow logs are not built",
    Control.reproducibility: "Azure ML workspace MLflow tracking, versioned components and environments, "
                             "versioned artifact container",
}
"""How the Azure back end implements each control of `mlops.plan.compliance`."""


def data_scientist_actions(production: bool) -> list[str]:
    """Data scientists experiment outside production; in production they only read."""
    return list(WORKSPACE_READ) if production else [*WORKSPACE_READ, *EXPERIMENTING]


def ml_engineer_actions() -> list[str]:
    return [*WORKSPACE_READ, *OPERATING]


@builds(Capability.rbac_roles, Capability.audit_trail)
class AzureGovernance(pulumi.ComponentResource):
    """Who may do what in the workspace, and the audit record of what happened.

    Creates:

    - `-data-scientist-role` (custom role `<prefix> data scientist`: read the workspace; outside
      production also run experiments and jobs, register components and environments) and
      `-data-scientist-<n>` assignments on the workspace to `governance.roles.data_scientist`.
    - `-ml-engineer-role` (custom role `<prefix> ml engineer`: also schedules, endpoints and workspace
      model versions) and `-ml-engineer-<n>` assignments to `governance.roles.ml_engineer`.
      Neither role may change the workspace or its clusters, read keys or connection secrets, or write
      into the registry (explicit NotActions). Approvers: components.azure.registry.
    - `-workspace-diagnostics` (allLogs), `-vault-diagnostics` (audit), `-storage-diagnostics` (blob
      service, audit) and `-acr-diagnostics` (audit): diagnostic settings to the Log Analytics
      workspace (resource-specific tables), kept for its retention.

    Outputs: `role_ids` (persona → role definition id).
    """

    def __init__(self, name: str, plan: Plan, *, role_scope: pulumi.Input[str], workspace_id: pulumi.Input[str],
                 vault_id: pulumi.Input[str], storage_account_id: pulumi.Input[str],
                 container_registry_id: pulumi.Input[str], log_analytics_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureGovernance", name, None, opts)
        roles = plan.governance.roles
        personas = {
            "data-scientist": (DATA_SCIENTIST_ROLE, data_scientist_actions(plan.production), roles.data_scientist,
                               "experiments and trains models"),
            "ml-engineer": (ML_ENGINEER_ROLE, ml_engineer_actions(), roles.ml_engineer,
                            "operates pipelines, schedules and endpoints"),
        }
        self.role_ids: dict[str, pulumi.Output[str]] = {}
        for persona, (role_key, actions, principals, what) in personas.items():
            role = custom_role(f"{name}-{persona}-role", plan, role=role_key, actions=actions, not_actions=NEVER,
                               scope=role_scope, description=f"{plan.prefix}: {what}", opts=child(self))
            self.role_ids[persona] = role.id
            for n, who in enumerate(unique(principals)):
                assign(f"{name}-{persona}-{n}", plan, role=role, role_key=role_key, principal=who,
                       scope=workspace_id, target="workspace", description=f"{plan.prefix}: {persona}",
                       opts=child(self))

        def diagnostics(suffix: str, resource: pulumi.Input[str], group: str) -> monitor.DiagnosticSetting:
            return monitor.DiagnosticSetting(
                f"{name}-{suffix}-diagnostics",
                monitor.DiagnosticSettingArgs(
                    name=f"{plan.prefix}-{group.lower()}",
                    resource_uri=resource,
                    workspace_id=log_analytics_id,
                    log_analytics_destination_type="Dedicated",
                    logs=[monitor.DiagnosticsLogSettingsArgs(category_group=group, enabled=True)],
                ),
                opts=child(self),
            )

        diagnostics("workspace", workspace_id, ALL_LOGS_GROUP)
        diagnostics("vault", vault_id, AUDIT_GROUP)
        diagnostics("storage", pulumi.Output.concat(storage_account_id, "/blobServices/default"), AUDIT_GROUP)
        diagnostics("acr", container_registry_id, AUDIT_GROUP)
        self.register_outputs({})
