"""The Azure ML registry: where approved model versions live; promotion into it is the approval gate."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from mlops.clouds.azure_regions import paired_region
from mlops.plan import Capability, Plan

from .naming import global_name, known_name, role_assignment_name
from .principals import Principal, unique
from .roles import ML, assign, custom_role, role_definition_guid

ml = azure_native.machinelearningservices

APPROVER_ROLE = "model approver"
READER_ROLE = "model reader"

REGISTRY_READ = [f"{ML}/registries/read", f"{ML}/registries/assets/read"]
REGISTRY_WRITE = [f"{ML}/registries/assets/write"]
"""Writing assets into a registry: what promoting (sharing) a model version into it needs."""
APPROVER_ACTIONS = [*REGISTRY_READ, *REGISTRY_WRITE, f"{ML}/workspaces/read", f"{ML}/workspaces/models/*/read",
                    f"{ML}/workspaces/jobs/read", f"{ML}/workspaces/experiments/*/read"]
"""Approvers read the candidate (its model version, run and evaluation) and promote it into the registry."""


def registry_regions(plan: Plan) -> list[str]:
    """The platform's region, plus its Azure pair in production (the registry replicates there)."""
    if not plan.production:
        return [plan.region]
    pair = paired_region(plan.region)
    if pair is None:  # refused by the plan (mlops.clouds.azure.platform)
        raise ValueError(f"no paired region for {plan.region}")
    return [plan.region, pair]


def promoters(plan: Plan) -> list[Principal]:
    """Who may write into the registry: approvers; ML engineers too where the environment needs no approval."""
    roles = plan.governance.roles
    approval = plan.governance.approval
    names = [*roles.approver, *(approval.approval.approvers if approval else [])]
    if approval is None:
        names += roles.ml_engineer
    return unique(names)


@builds(Capability.model_registry, Capability.enforced_approval)
class AzureMlModelRegistry(pulumi.ComponentResource):
    """An Azure ML registry and the roles that separate reading it from promoting into it.

    Creates:

    - `-registry` (machinelearningservices.Registry, system-assigned identity): replicated to the
      platform's region and, in production, its Azure paired region (system-created ZRS storage and
      Premium container registry per region); public network access disabled where the network is
      isolated. Pipelines register candidates in the workspace; promoting a version into this registry
      (`az ml model share`/`create --registry-name`) is the approval.
    - `-approver-role` (custom role `<prefix> model approver`: registry asset write, plus reading the
      candidate's model, run and evaluation in the workspace) and `-approver-<n>` assignments on the
      resource group (registry and workspace) to the approvers (blueprint `governance.roles.approver`
      and the environment's approvers); where the environment requires no approval, ML engineers
      promote too.
    - `-reader-role` (custom role `<prefix> model reader`: registry read only) and `-reader-<n>`
      assignments to data scientists and ML engineers, `-reader-platform` to the platform identity
      (the evaluate step compares with the champion; deployments pull approved versions). No one else
      may write into the registry.

    The registry is protected in production. Registries encrypt with Microsoft-managed keys (Azure ML
    registries take no customer-managed key).

    Outputs: `registry` (the resource), `name`, `id`.
    """

    def __init__(self, name: str, plan: Plan, *, resource_group_name: pulumi.Input[str],
                 role_scope: pulumi.Input[str], platform_identity: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlModelRegistry", name, None, opts)
        tags = azure_tags(plan.tags)
        storage_type = "Standard_ZRS" if plan.production else "Standard_LRS"
        registry_name = global_name(plan)
        self.registry = ml.Registry(
            f"{name}-registry",
            ml.RegistryArgs(
                resource_group_name=resource_group_name,
                registry_name=registry_name,
                location=plan.region,
                identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
                public_network_access="Disabled" if plan.network.isolated else "Enabled",
                region_details=[
                    ml.RegistryRegionArmDetailsArgs(
                        location=region,
                        acr_details=[ml.AcrDetailsArgs(
                            system_created_acr_account=ml.SystemCreatedAcrAccountArgs(acr_account_sku="Premium"))],
                        storage_account_details=[ml.StorageAccountDetailsArgs(
                            system_created_storage_account=ml.SystemCreatedStorageAccountArgs(
                                storage_account_type=storage_type, allow_blob_public_access=False,
                                storage_account_hns_enabled=False))],
                    ) for region in registry_regions(plan)
                ],
                tags=tags,
            ),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        self.name: pulumi.Output[str] = known_name(self.registry, registry_name)
        self.id: pulumi.Output[str] = self.registry.id

        approver_role = custom_role(
            f"{name}-approver-role", plan, role=APPROVER_ROLE, actions=APPROVER_ACTIONS, scope=role_scope,
            description=f"{plan.prefix}: promotes model versions into the registry (the approval)",
            opts=child(self))
        reader_role = custom_role(
            f"{name}-reader-role", plan, role=READER_ROLE, actions=REGISTRY_READ, scope=role_scope,
            description=f"{plan.prefix}: reads approved model versions from the registry", opts=child(self))
        for n, who in enumerate(promoters(plan)):
            # On the resource group: the registry (promotion) and the workspace (reading the candidate).
            assign(f"{name}-approver-{n}", plan, role=approver_role, role_key=APPROVER_ROLE, principal=who,
                   scope=role_scope, target="resource-group",
                   description=f"{plan.prefix}: may promote models into the registry", opts=child(self))
        roles = plan.governance.roles
        readers = unique([*roles.data_scientist, *roles.ml_engineer])
        for n, who in enumerate(readers):
            assign(f"{name}-reader-{n}", plan, role=reader_role, role_key=READER_ROLE, principal=who,
                   scope=self.registry.id, target="registry",
                   description=f"{plan.prefix}: reads approved models", opts=child(self))
        # The platform identity runs the pipelines (champion lookup) and deployments (pulling approved versions).
        azure_native.authorization.RoleAssignment(
            f"{name}-reader-platform",
            azure_native.authorization.RoleAssignmentArgs(
                role_assignment_name=role_assignment_name(plan, role_definition_guid(plan, READER_ROLE),
                                                          "registry/platform-identity"),
                principal_id=platform_identity,
                principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=reader_role.id,
                scope=self.registry.id,
                description=f"{plan.prefix}: the platform identity reads approved models",
            ),
            opts=child(self),
        )
        self.register_outputs({"name": self.name, "id": self.id})
