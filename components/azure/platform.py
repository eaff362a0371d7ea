"""The Azure root component: one Azure ML platform per environment."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from mlops.plan import Plan

from .foundation import AzureFoundation
from .naming import known_name


class AzureMlPlatform(pulumi.ComponentResource):
    """Everything one environment of a blueprint builds on Azure.

    Creates: `-rg` (resource group `<prefix>-rg` in `plan.region`, protected in production) and
    `-foundation` (AzureFoundation) inside it. Later capabilities (workspace and tracking, registry,
    pipelines, serving, monitoring, governance) hang off the same root and resource group.

    Outputs (`self.outputs`, exported as stack outputs):

    - key_id: resource id of the Key Vault key that encrypts storage.
    - key_vault: resource id of the Key Vault.
    - storage_account: name of the storage account.
    - data_container, artifact_container, audit_container: container names in that account.
    - execution_identity: principal (object) id of the user-assigned managed identity.
    - resource_group: name of the resource group.
    """

    outputs: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlPlatform", name, None, opts)
        group_name = f"{plan.prefix}-rg"
        group = azure_native.resources.ResourceGroup(
            f"{name}-rg",
            azure_native.resources.ResourceGroupArgs(
                resource_group_name=group_name, location=plan.region, tags=azure_tags(plan.tags)),
            opts=child(self, stateful=True, protect=plan.protect),
        )
        foundation = AzureFoundation(f"{name}-foundation", plan,
                                     resource_group_name=known_name(group, group_name), opts=child(self))
        self.outputs = dict(foundation.outputs)

        # --- platform area: monitoring workspace, App Insights, container registry, Azure ML workspace
        #     (MLflow tracking), compute clusters, Databricks.

        # --- serving area: alerting (action group), feature store.

        # --- platform area: registry and approval, training pipelines and their schedules.

        # --- serving area: online/batch endpoints, delivery, monitors, metric alerts.

        # --- platform area: retraining triggers, governance (roles, diagnostic settings), cost.

        self.register_outputs(dict(self.outputs))
