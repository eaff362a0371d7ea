"""The GCP root component: one Vertex AI platform per environment."""

from __future__ import annotations

import pulumi

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from components.image_tags import image_tags
from mlops.plan import Plan
from mlops.plan.vocabulary import ServingMode

from .agents import GcpServiceAgentKeyGrants
from .alerting import GcpAlerting
from .batch import VertexBatchPrediction
from .cost import GcpBudget
from .deployer import VertexDeployer
from .feature_store import VertexFeatureStore
from .foundation import GcpFoundation
from .governance import GcpGovernance
from .identities import GcpWorkloadIdentity
from .monitoring import VertexModelMonitoring
from .monitoring_job import monitoring_job
from .names import endpoint_id
from .network import GcpNetwork
from .pipeline import VertexTrainingPipeline
from .pipeline_spec import OWN_IMAGE_MODELS, own_image_models
from .project import project_id
from .registries import GcpArtifactStorage
from .registry import VertexModelRegistry
from .retraining import VertexRetrainingTriggers
from .serving import VertexEndpoint
from .tracking import VertexExperimentTracking
from .workflows_agent import GcpWorkflowsAgent


@builds()
class VertexPlatform(pulumi.ComponentResource):
    """Everything one environment of a blueprint builds on GCP, composed in dependency order.

    Creates: `-foundation` (GcpFoundation: key, data/artifact/audit buckets, execution identity);
    `-alerting` (GcpAlerting: notification channels per route) and `-workflows` (GcpWorkflowsAgent:
    the Workflows service agent's key grant); `-network` (GcpNetwork, isolated environments);
    `-identities` (GcpWorkloadIdentity: pipelines, endpoints and monitoring service accounts and the
    Vertex service agent's key grant); `-tracking` (VertexExperimentTracking: metadata store,
    TensorBoard); `-registries` (GcpArtifactStorage: Docker and KFP repositories); `-features`
    (VertexFeatureStore); per trained model `-<model>-training` (VertexTrainingPipeline: the KFP spec);
    `-registry` (VertexModelRegistry: promotion workflows, approver-only promoter identity); `-agents`
    (GcpServiceAgentKeyGrants); per model `-<model>-retraining` (VertexRetrainingTriggers: schedule,
    topic, workflow, Eventarc trigger, drift sink, channel); per served model `-<model>-serving`
    (VertexEndpoint) with `-<model>-deployer` (VertexDeployer) and `-<model>-monitoring`
    (VertexModelMonitoring), or `-<model>-batch` (VertexBatchPrediction); `-governance` (GcpGovernance:
    persona grants, audit configs, audit log sink); `-cost` (GcpBudget). What is built follows the
    plan's gated capabilities.

    Outputs: key_id (Cloud KMS crypto key id), data_bucket, artifact_bucket, audit_bucket (bucket
    names), execution_identity and pipelines_identity (service account emails), container_registry,
    pipeline_registry and, with the capabilities, tracking_uri, tensorboard and feature_dataset. The
    bucket and tracking outputs share their names with AWS; the key and the identity are named for
    what GCP has (AWS exports key_arn and execution_role_arn).
    """

    outputs: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, plan: Plan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}VertexPlatform", name, None, opts)
        # The team's own images (lightgbm, custom) run at the tag the stack setting `mlops:imageTags` gives
        # each model: read (and a bad setting refused) before any cloud resource is registered.
        own_tags = image_tags([m.name for m in own_image_models(plan)], runs=OWN_IMAGE_MODELS)
        foundation = GcpFoundation(f"{name}-foundation", plan, opts=child(self))
        self.outputs = {
            "key_id": foundation.key.id,
            "data_bucket": foundation.data.bucket.name,
            "artifact_bucket": foundation.artifacts.bucket.name,
            "audit_bucket": foundation.audit.bucket.name,
            "execution_identity": foundation.execution_identity.email,
        }

        # --- serving area: alerting (notification channels for the blueprint's routes), used by all areas.
        # `alerting.critical_channels` (every route) for alerts that page, `alerting.warning_channels`
        # (routes with severity warning) for the rest: lists of notification channel ids.
        alerting = GcpAlerting(f"{name}-alerting", plan, opts=child(self))
        # `workflows_key_grant`: the Cloud Workflows service agent's grant on the key; every CMEK workflow
        # (deployers, quality checks, promotion, retraining) lists it in depends_on.
        workflows_key_grant = GcpWorkflowsAgent(f"{name}-workflows", plan, kms_key_id=foundation.key.id,
                                                opts=child(self)).key_grant

        # --- platform area: network, Vertex service agent's CMEK grant, experiment tracking, artifact
        #     registries, feature store.
        # `network` (GcpNetwork or None when not isolated: `network.network_id`, `network.subnet_id`,
        # `network.psc_policy`); `vertex_cmek` (the Vertex AI service agent's grant on the key: every Vertex
        # CMEK resource lists it in depends_on); `identities.pipelines` / `.endpoints` / `.monitoring`
        # (service accounts per workload).
        network = GcpNetwork(f"{name}-network", plan, opts=child(self)) if plan.network.isolated else None
        identities = GcpWorkloadIdentity(
            f"{name}-identities", plan, kms_key_id=foundation.key.id, data_bucket=foundation.data.bucket.name,
            artifact_bucket=foundation.artifacts.bucket.name, opts=child(self))
        vertex_cmek = identities.vertex_cmek
        self.outputs["pipelines_identity"] = identities.pipelines.email
        tracking: VertexExperimentTracking | None = None
        if plan.experiment_tracking:
            tracking = VertexExperimentTracking(f"{name}-tracking", plan, kms_key_id=foundation.key.id,
                                                vertex_cmek=vertex_cmek, opts=child(self))
            self.outputs["tracking_uri"] = tracking.tracking_uri
            self.outputs["tensorboard"] = tracking.tensorboard
        # `registries.containers` (Docker) and `registries.pipelines` (KFP) repositories;
        # `registries.container_registry` / `.pipeline_registry` are their URLs.
        registries = GcpArtifactStorage(
            f"{name}-registries", plan, kms_key_id=foundation.key.id, pipelines_member=identities.pipelines.member,
            endpoints_member=identities.endpoints.member, vertex_agent_member=identities.vertex_agent.member,
            opts=child(self))
        self.outputs["container_registry"] = registries.container_registry
        self.outputs["pipeline_registry"] = registries.pipeline_registry
        features: VertexFeatureStore | None = None
        if plan.feature_store is not None:
            features = VertexFeatureStore(
                f"{name}-features", plan, plan.feature_store, kms_key_id=foundation.key.id, vertex_cmek=vertex_cmek,
                vertex_agent_member=identities.vertex_agent.member, pipelines_member=identities.pipelines.member,
                endpoints_member=identities.endpoints.member, alert_channels=alerting.warning_channels,
                network=network, opts=child(self))
            self.outputs["feature_dataset"] = features.dataset

        # --- pipelines area: model registry and approval, training pipelines, schedules, retraining
        #     triggers (topic + workflow per model; serving's alert policies and monitors feed them).
        # `pipelines` (VertexTrainingPipeline by model: `.spec_uri`, `.model_id`); `retraining`
        # (VertexRetrainingTriggers by model: `.channel_id`, the notification channel the drift and quality
        # alert policies notify when the blueprint retrains on them; None without such triggers).
        pipelines_project = project_id(plan, self)
        # Vertex jobs and pipelines take the network by project number (private services access on it).
        network_id = network.vertex_network if network else None
        pipelines: dict[str, VertexTrainingPipeline] = {
            model.name: VertexTrainingPipeline(
                f"{name}-{model.name}-training", plan, model, kms_key_id=foundation.key.id,
                service_account=identities.pipelines.email, data_bucket=foundation.data.bucket.name,
                artifact_bucket=foundation.artifacts.bucket.name, network=network_id, project=pipelines_project,
                container_registry=registries.container_registry, image_tag=own_tags.get(model.name),
                tensorboard=tracking.tensorboard if tracking else None, opts=child(self))
            for model in plan.models if model.training is not None
        }
        if plan.model_registry and pipelines:
            VertexModelRegistry(f"{name}-registry", plan, project=pipelines_project, kms_key_id=foundation.key.id,
                                depends_on=[workflows_key_grant], opts=child(self))
        retraining: dict[str, VertexRetrainingTriggers] = {}
        triggered = [m for m in plan.models if m.name in pipelines
                     and (m.retraining.schedule is not None or m.retraining.on_drift or m.retraining.on_performance)]
        # Drift and performance signals travel over a CMEK topic per model: Pub/Sub's agent needs the key.
        agents = GcpServiceAgentKeyGrants(f"{name}-agents", plan, services=("pubsub",), without_key=("monitoring",),
                                          kms_key_id=foundation.key.id, opts=child(self)) \
            if any(m.retraining.on_drift or m.retraining.on_performance for m in triggered) else None
        for model in triggered:
            retraining[model.name] = VertexRetrainingTriggers(
                f"{name}-{model.name}-retraining", plan, model, pipeline=pipelines[model.name],
                project=pipelines_project, kms_key_id=foundation.key.id,
                service_account=identities.pipelines.email, service_account_name=identities.pipelines.name,
                artifact_bucket=foundation.artifacts.bucket.name, network=network_id,
                agent_grants=[workflows_key_grant, *([agents.grants["pubsub"]] if agents else [])],
                monitoring_agent=agents.agents["monitoring"].member if agents else None, opts=child(self))

        # --- serving area: endpoints, delivery, batch, monitoring, alerting.
        # Per real-time model: an endpoint (SRE alerts page), its deployer workflow (the promotion
        # workflow calls it) and its drift/quality alerting; per batch model: scheduled batch predictions.
        project = project_id(plan, self)
        for model in plan.models:
            s = model.serving
            if s is None:
                continue
            if s.mode == ServingMode.batch:
                VertexBatchPrediction(
                    f"{name}-{model.name}-batch", plan, model, project=project, kms_key_id=foundation.key.id,
                    data_bucket=foundation.data.bucket.name, opts=child(self))
                # Promotion runs every served model's deployer; a batch model's only reports the alias move.
                VertexDeployer(f"{name}-{model.name}-deployer", plan, model, project=project,
                               kms_key_id=foundation.key.id, serving_identity=identities.endpoints,
                               depends_on=[workflows_key_grant], opts=child(self))
                continue
            if s.mode != ServingMode.realtime:  # streaming: refused by the plan (mlops.clouds.gcp)
                continue
            endpoint = VertexEndpoint(
                f"{name}-{model.name}-serving", plan, model, project=project, kms_key_id=foundation.key.id,
                vertex_agent_member=identities.vertex_agent.member, critical_channels=alerting.critical_channels,
                warning_channels=alerting.warning_channels,
                network_id=network.network_id if network else None,
                psc_automation=network is not None and network.psc_policy is not None,
                depends_on=[vertex_cmek, *([network.psc_policy] if network and network.psc_policy else [])],
                opts=child(self))
            job = pulumi.Output.all(project, foundation.key.id, foundation.artifacts.bucket.name,
                                    *alerting.warning_channels).apply(
                lambda v, m=model: monitoring_job(
                    plan, m, endpoint=f"projects/{v[0]}/locations/{plan.region}/endpoints/{endpoint_id(plan, m.name)}",
                    kms_key_id=v[1], artifact_bucket=v[2], channels=list(v[3:]), labels=gcp_labels(plan.tags)))
            VertexDeployer(
                f"{name}-{model.name}-deployer", plan, model, project=project, kms_key_id=foundation.key.id,
                serving_identity=identities.endpoints,
                monitoring_job=job if model.monitoring.drift is not None else None,
                depends_on=[workflows_key_grant, endpoint.endpoint], opts=child(self))
            if model.monitoring.drift is not None or model.monitoring.quality is not None:
                VertexModelMonitoring(
                    f"{name}-{model.name}-monitoring", plan, model, project=project, kms_key_id=foundation.key.id,
                    dataset=endpoint.dataset, monitoring_identity=identities.monitoring,
                    warning_channels=alerting.warning_channels,
                    retraining_channel=retraining[model.name].channel_id if model.name in retraining else None,
                    depends_on=[workflows_key_grant], opts=child(self))

        # --- platform area: governance (service accounts, IAM bindings, audit configs, log sink), cost.
        GcpGovernance(
            f"{name}-governance", plan, audit_bucket=foundation.audit.bucket.name,
            data_bucket=foundation.data.bucket.name,
            feature_dataset=features.dataset if features is not None else None,
            container_repository=registries.containers.repository_id, pipelines_account=identities.pipelines.name,
            opts=child(self))
        if plan.cost is not None:
            GcpBudget(f"{name}-cost", plan, plan.cost, alert_channels=alerting.warning_channels, opts=child(self))

        self.register_outputs(dict(self.outputs))
