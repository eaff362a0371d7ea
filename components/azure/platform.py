"""The Azure root component: one Azure ML platform per environment."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from components.base import TYPE_PREFIX, azure_tags, child
from components.capabilities import builds
from components.image_tags import image_tags
from mlops.plan import Plan
from mlops.plan.vocabulary import ServingMode

from .alerting import AzureAlerting
from .audit import AzureAuditTrail
from .batch import AzureMlBatchEndpoint
from .cost import AzureBudget
from .databricks import AzureDatabricks
from .deployer import AzureMlDeployer
from .endpoints import AzureMlOnlineEndpoint
from .feature_store import AzureMlFeatureStore
from .foundation import KEY_NAME, AzureFoundation
from .governance import AzureGovernance
from .images import TRAINED_MODELS
from .monitoring import AzureMlModelMonitor
from .naming import global_name, known_name
from .pipeline import AzureMlTrainingPipeline
from .pipeline import workspace_arm_id as ml_workspace_arm_id
from .quality import AzureMlQualityMonitor, collected_outputs
from .rbac import grant
from .registry import AzureMlModelRegistry
from .retraining import AzureMlRetrainingTriggers, event_triggered
from .roles import resource_group_scope
from .serving_names import AZUREML_DATA_SCIENTIST, served_model_id
from .workspace import AzureMlWorkspace


@builds()
class AzureMlPlatform(pulumi.ComponentResource):
    """Everything one environment of a blueprint builds on Azure, composed in dependency order.

    Creates: `-rg` (resource group `<prefix>-rg` in `plan.region`, protected in production) and,
    inside it, `-foundation` (AzureFoundation: identity, Key Vault and key, storage);
    `-ml` (AzureMlWorkspace: Log Analytics, Application Insights, container registry, the Azure ML
    workspace with MLflow tracking); `-databricks` (AzureDatabricks, with `data.databricks`);
    `-alerting` (AzureAlerting: critical and warning action groups); `-features`
    (AzureMlFeatureStore); `-registry` (AzureMlModelRegistry: the registry and the approver role);
    per trained model `-<model>-training` (AzureMlTrainingPipeline: cluster, components, pipeline job
    and its retraining schedule); per served model `-<model>-serving` (AzureMlOnlineEndpoint) with
    `-<model>-monitoring` (AzureMlModelMonitor) or `-<model>-batch` (AzureMlBatchEndpoint),
    `-<model>-quality` (AzureMlQualityMonitor) and, with a registry, `-<model>-deployer`
    (AzureMlDeployer); `-serving-jobs-access` (AzureML Data Scientist for the platform identity on the
    workspace); `-retraining` (AzureMlRetrainingTriggers: Event Grid on the workspace, Logic Apps that
    start pipelines on drift or quality breaches); `-governance` (AzureGovernance: persona roles,
    diagnostic settings to Log Analytics); `-audit` (AzureAuditTrail: the immutable audit account and the
    audit and Activity logs archived into it); `-cost` (AzureBudget). What is built follows the plan's
    gated capabilities.

    Outputs (`self.outputs`, exported as stack outputs):

    - key_id: resource id of the Key Vault key that encrypts storage.
    - key_vault: resource id of the Key Vault.
    - storage_account: name of the storage account.
    - data_container, artifact_container: container names in that account; audit_storage_account: the
      immutable audit account (AzureAuditTrail, `-audit`).
    - execution_identity: principal (object) id of the user-assigned managed identity.
    - resource_group: name of the resource group.
    - workspace_name, tracking_uri (the workspace's MLflow URI), container_registry,
      log_analytics_workspace, and with the capabilities model_registry and databricks_workspace_url.
    - deferred_endpoints: with `defer_endpoints` (stack setting `mlops:endpoints: defer`, a first
      deployment before any model version exists) the endpoints whose deployments were left out,
      with what needs them (traffic, monitors, batch schedules, quality checks).
    """

    deferred_endpoints: list[str]
    """Endpoints created without deployments because endpoints are deferred (first deployment)."""

    outputs: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, plan: Plan, *, defer_endpoints: bool = False,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AzureMlPlatform", name, None, opts)
        self.deferred_endpoints = []
        # Every trained model runs the team's training image at the tag the stack setting `mlops:imageTags`
        # gives it: read (and a bad setting refused) before any cloud resource is registered.
        trained = [model for model in plan.models if model.training is not None]
        tags = image_tags([model.name for model in trained], runs=TRAINED_MODELS)
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
        # `workspace` (AzureMlWorkspace) is always built: serving, monitoring and pipelines live in it.
        # Its attributes: workspace, name, id, log_analytics_id, app_insights_id, registry_id, tracking_uri.
        client = azure_native.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        subscription_id: pulumi.Input[str] = plan.account or client.subscription_id
        workspace = AzureMlWorkspace(f"{name}-ml", plan, foundation, resource_group_name=known_name(group, group_name),
                                     subscription_id=subscription_id, opts=child(self))
        self.outputs["workspace_name"] = workspace.name
        self.outputs["log_analytics_workspace"] = workspace.log_analytics_id
        self.outputs["container_registry"] = workspace.registry_name
        if plan.experiment_tracking:
            # The workspace's MLflow server (as AWS exports its managed MLflow server's URI).
            self.outputs["tracking_uri"] = workspace.tracking_uri
        workspace_arm_id = pulumi.Output.all(pulumi.Output.from_input(subscription_id), workspace.name).apply(
            lambda a: ml_workspace_arm_id(a[0], group_name, a[1]))
        if plan.databricks:
            lakehouse = AzureDatabricks(
                f"{name}-databricks", plan, resource_group_name=known_name(group, group_name),
                subscription_id=subscription_id, ml_workspace_id=workspace_arm_id,
                key_version=foundation.key.key_uri_with_version.apply(lambda uri: (uri or "").rsplit("/", 1)[-1]),
                opts=child(self))
            self.outputs["databricks_workspace_url"] = lakehouse.url

        # --- serving area: alerting (action group), feature store.
        # `alerting` (AzureAlerting): critical pages, warning informs; others use the two group ids
        # (`alerting.critical_action_group_id`, `alerting.warning_action_group_id`).
        alerting = AzureAlerting(f"{name}-alerting", plan, resource_group_name=known_name(group, group_name),
                                 opts=child(self))
        if plan.feature_store is not None:
            AzureMlFeatureStore(
                f"{name}-features", plan, plan.feature_store, resource_group_name=known_name(group, group_name),
                identity_id=foundation.identity.id, identity_client_id=foundation.identity.client_id,
                identity_principal_id=foundation.identity.principal_id, subscription_id=subscription_id,
                key_vault_id=foundation.vault.id, registry_id=workspace.registry_id,
                storage_account_id=foundation.account.id, storage_account=foundation.outputs["storage_account"],
                data_container=foundation.outputs["data_container"],
                app_insights_id=workspace.app_insights_id, log_analytics_id=workspace.log_analytics_id,
                action_group_id=alerting.warning_action_group_id, opts=child(self))

        # --- platform area: registry and approval, training pipelines and their schedules.
        # `model_registry` (AzureMlModelRegistry | None: promotion into it is the approval) and `pipelines`
        # (model name → AzureMlTrainingPipeline; each has `compute`, `schedule`, `job_body(triggered_by)`).
        role_scope = resource_group_scope(subscription_id, known_name(group, group_name))
        model_registry = AzureMlModelRegistry(
            f"{name}-registry", plan, resource_group_name=known_name(group, group_name), role_scope=role_scope,
            platform_identity=foundation.identity.principal_id, opts=child(self)) \
            if plan.model_registry else None
        if model_registry is not None:
            self.outputs["model_registry"] = model_registry.name
        pipelines: dict[str, AzureMlTrainingPipeline] = {
            model.name: AzureMlTrainingPipeline(
                f"{name}-{model.name}-training", plan, model, workspace=workspace,
                resource_group_name=known_name(group, group_name), subscription_id=subscription_id,
                storage_account_name=foundation.outputs["storage_account"],
                registry_name=global_name(plan) if model_registry is not None else None,
                image_tag=tags[model.name], opts=child(self))
            for model in trained
        }

        # --- serving area: online/batch endpoints, delivery, monitors, metric alerts.
        # Per model: a managed online endpoint (SRE alerts page) with its Azure ML monitor, or a
        # scheduled batch endpoint; then the quality job on what it predicted (warns). Streaming is
        # refused by the plan (mlops.clouds.azure).
        deploy_role: azure_native.authorization.RoleDefinition | None = None  # one deployer role, shared
        if any(m.serving is not None for m in plan.models):
            # Scheduled batch runs, monitors and quality jobs act in the workspace as the platform identity
            # (Azure ML's documented role for invoking batch endpoints and running monitors); one grant.
            grant(f"{name}-serving-jobs-access", plan, role=AZUREML_DATA_SCIENTIST,
                  principal_id=foundation.identity.principal_id, scope=workspace.id, subscription_id=subscription_id,
                  target="workspace/serving-jobs",
                  description=f"{plan.prefix}: the platform identity runs batch predictions and monitors",
                  opts=child(self))
        for model in plan.models:
            s = model.serving
            if s is None:
                continue
            served = served_model_id(model.name, workspace_id=workspace.id,
                                     registry_name=model_registry.name if model_registry is not None else None)
            if s.mode == ServingMode.realtime:
                online = AzureMlOnlineEndpoint(
                    f"{name}-{model.name}-serving", plan, model, resource_group_name=known_name(group, group_name),
                    workspace_name=workspace.name, model_id=served, identity_id=foundation.identity.id,
                    log_analytics_id=workspace.log_analytics_id,
                    action_group_id=alerting.critical_action_group_id, create_deployments=not defer_endpoints,
                    opts=child(self))
                if online.champion_id is None:
                    self.deferred_endpoints.append(online.endpoint_name)
                elif model.monitoring.drift is not None:
                    # The monitor reads what the champion's collector wrote: it follows the deployment.
                    AzureMlModelMonitor(
                        f"{name}-{model.name}-monitoring", plan, model,
                        resource_group_name=known_name(group, group_name), workspace_name=workspace.name,
                        endpoint_name=online.endpoint_name, deployment_id=online.champion_id,
                        identity_id=foundation.identity.id, opts=child(self, depends_on=[online]))
                predictions, endpoint = collected_outputs(online.endpoint_name), online.endpoint_name
            elif s.mode == ServingMode.batch:
                batch = AzureMlBatchEndpoint(
                    f"{name}-{model.name}-batch", plan, model, resource_group_name=known_name(group, group_name),
                    workspace_name=workspace.name, model_id=served, identity_id=foundation.identity.id,
                    identity_client_id=foundation.identity.client_id,
                    storage_account=foundation.outputs["storage_account"],
                    data_container=foundation.outputs["data_container"], subscription_id=subscription_id,
                    create_deployment=not defer_endpoints, opts=child(self))
                if batch.schedule_name is None:
                    self.deferred_endpoints.append(batch.endpoint_name)
                predictions, endpoint = batch.output_uri, batch.endpoint_name
            else:
                continue
            if model_registry is not None:
                # Approved (promoted) versions roll out: deployment on approval and progressive delivery.
                deployer = AzureMlDeployer(
                    f"{name}-{model.name}-deployer", plan, model, resource_group_name=known_name(group, group_name),
                    workspace_name=workspace.name, workspace_id=workspace_arm_id, registry_id=model_registry.id,
                    registry_name=model_registry.name,
                    endpoint=endpoint,
                    subscription_id=subscription_id, role_scope=role_scope, role=deploy_role, opts=child(self))
                deploy_role = deployer.role
            # Quality scores predictions, which exist only once a deployment serves: it follows the deployments.
            if model.monitoring.quality is not None and not defer_endpoints:
                AzureMlQualityMonitor(
                    f"{name}-{model.name}-quality", plan, model, resource_group_name=known_name(group, group_name),
                    workspace_name=workspace.name, workspace_id=workspace.id, predictions_uri=predictions,
                    storage_account=foundation.outputs["storage_account"],
                    data_container=foundation.outputs["data_container"], subscription_id=subscription_id,
                    identity_client_id=foundation.identity.client_id,
                    action_group_id=alerting.warning_action_group_id, opts=child(self))
        if self.deferred_endpoints:
            self.outputs["deferred_endpoints"] = pulumi.Output.from_input(", ".join(self.deferred_endpoints))

        # --- platform area: retraining triggers, governance (roles, diagnostic settings), cost.
        if any(event_triggered(m) for m in plan.models if m.name in pipelines):
            AzureMlRetrainingTriggers(
                f"{name}-retraining", plan, pipelines, resource_group_name=known_name(group, group_name),
                workspace_id=workspace.id, workspace_arm_id=workspace_arm_id, role_scope=role_scope,
                identity_id=foundation.identity.id, identity_principal_id=foundation.identity.principal_id,
                opts=child(self))
        AzureGovernance(
            f"{name}-governance", plan, role_scope=role_scope, workspace_id=workspace.id,
            vault_id=foundation.vault.id, storage_account_id=foundation.account.id,
            container_registry_id=workspace.registry_id, log_analytics_id=workspace.log_analytics_id,
            opts=child(self))
        audit = AzureAuditTrail(
            f"{name}-audit", plan, resource_group_name=known_name(group, group_name),
            identity_id=foundation.identity.id, vault_uri=foundation.vault.properties.vault_uri,
            key_name=KEY_NAME, workspace_id=workspace.id, vault_id=foundation.vault.id,
            storage_account_id=foundation.account.id,
            # The account encrypts with the platform key through the identity, which must hold the crypto role.
            opts=child(self, depends_on=[foundation.key, foundation.crypto_user]))
        self.outputs.update(audit.outputs)
        if plan.cost is not None:
            AzureBudget(f"{name}-cost", plan, plan.cost, scope=role_scope,
                        action_group_id=alerting.warning_action_group_id, opts=child(self))

        self.register_outputs(dict(self.outputs))
