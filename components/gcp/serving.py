"""GCP serving: a Vertex AI endpoint per real-time model, its request-response log and its SRE alerts.

pulumi_gcp has no "deployed model" resource: what an endpoint serves, and how traffic is split
between versions, is owned by the model's deployer workflow (`deployer.py`), which the approval
(promotion) workflow calls with the approved version. The endpoint resource therefore ignores
changes to `trafficSplit`: the split the deployer set (10 % canary, then 100 %, or a rollback) is
the truth, and a `pulumi up` after a refresh must not put back whatever the stack last recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PURPOSE_TAG, TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.vocabulary import ServingMode

from .alert_policies import CPU, ERRORS, LATENCIES, PREDICTIONS, endpoint_filter, policy_args, threshold
from .foundation import KEY_USER_ROLE
from .names import endpoint_id

LOG_TABLE = "request_response_logging"
"""The table Vertex creates in the log dataset (its request-response logging schema)."""
DATASET_EDITOR = "roles/bigquery.dataEditor"
DATASET_VIEWER = "roles/bigquery.dataViewer"
DATASET_ID_MAX = 1024


def log_dataset_id(plan: Plan, model: str) -> str:
    """BigQuery dataset of a model's logged predictions: letters, digits and underscores only."""
    return f"{plan.prefix}_{model}_predictions".replace("-", "_")[:DATASET_ID_MAX]


def latency_sla_ms(model: ModelPlan) -> int | None:
    """The p99 latency bar: the SRE threshold, else the serving SLA."""
    sre = model.monitoring.sre
    if sre is not None and sre.latency_p99_ms is not None:
        return sre.latency_p99_ms
    return model.serving.latency_p99_ms if model.serving else None


def error_rate_percent(model: ModelPlan) -> float:
    sre = model.monitoring.sre
    return sre.error_rate_percent if sre is not None else 1.0


def alert_policy_name(plan: Plan, model: str, kind: str) -> str:
    """Alert policy display names: `<prefix>-<model>-<kind>` (the AWS alarm names)."""
    return f"{plan.prefix}-{model}-{kind}"


@builds(Capability.serving, Capability.autoscaling, Capability.prediction_logging)
class VertexEndpoint(pulumi.ComponentResource):
    """A Vertex AI endpoint for one real-time model, with request-response logging and SRE alerts.

    Creates: `-logs` (BigQuery dataset `<prefix>_<model>_predictions`, CMEK, protected in prod: Vertex
    writes the sampled requests and responses into its `request_response_logging` table),
    `-logs-key` (the BigQuery service agent may use the platform key: a CMEK dataset needs it),
    `-logs-writer` (the Vertex AI service agent may write that dataset, nothing else),
    `-endpoint` (vertex.AiEndpoint with the id from `names.endpoint_id`, CMEK, request-response
    logging at `prediction_logging_percent`, private through Private Service Connect where the
    network is isolated — with the platform network's PSC automation when it has one — and
    `trafficSplit` ignored: the deployer owns it), and with SRE alarms the alert policies
    `-latency-alert` (p99 model latency above the SLA) and `-errors-alert` (errors per prediction
    above `error_rate_percent`) to the critical channels (they page, and the deployer rolls back on
    the same signals), and `-utilization-alert` (replica CPU above `utilization_percent`) to the
    warning channels (an early signal, as in the design document: autoscaling should absorb it).

    Outputs: endpoint_id, endpoint_name (resource name), log_table (`bq://` URI).
    """

    endpoint: gcp.vertex.AiEndpoint
    dataset: gcp.bigquery.Dataset
    log_table: pulumi.Output[str]

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, project: pulumi.Input[str],
                 kms_key_id: pulumi.Input[str], vertex_agent_member: pulumi.Input[str],
                 critical_channels: Sequence[pulumi.Input[str]], warning_channels: Sequence[pulumi.Input[str]],
                 network_id: pulumi.Input[str] | None = None,
                 psc_automation: bool = False, depends_on: Sequence[pulumi.Resource] = (),
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`vertex_agent_member`: the Vertex AI service agent (writes the log). `network_id` with
        `psc_automation`: the network whose service connection policy lets Vertex create the endpoint's
        PSC forwarding rule. `depends_on`: the Vertex agent's grant on the key (CMEK endpoints need it)."""
        super().__init__(f"{TYPE_PREFIX}VertexEndpoint", name, None, opts)
        serving = model.serving
        if serving is None or serving.mode != ServingMode.realtime:
            raise ValueError(f"{model.name}: VertexEndpoint serves real-time models only")
        labels = gcp_labels(dict(plan.tags))
        ident = endpoint_id(plan, model.name)
        logging_percent = model.monitoring.prediction_logging_percent or 0.0

        bq_agent = gcp.bigquery.get_default_service_account_output(
            project=plan.account, opts=pulumi.InvokeOutputOptions(parent=self))
        key_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-logs-key",
            gcp.kms.CryptoKeyIAMMemberArgs(crypto_key_id=kms_key_id, role=KEY_USER_ROLE, member=bq_agent.member),
            opts=child(self),
        )
        self.dataset = gcp.bigquery.Dataset(
            f"{name}-logs",
            gcp.bigquery.DatasetArgs(
                dataset_id=log_dataset_id(plan, model.name),
                friendly_name=f"{plan.prefix} {model.name} predictions",
                description=f"Sampled requests and responses of {model.name} ({plan.prefix}): drift, quality, "
                            "shadow replay and audit read them",
                location=plan.region, project=plan.account,
                default_encryption_configuration=gcp.bigquery.DatasetDefaultEncryptionConfigurationArgs(
                    kms_key_name=kms_key_id),
                delete_contents_on_destroy=False,
                labels=gcp_labels({**plan.tags, PURPOSE_TAG: "prediction-logs"}),
            ),
            opts=child(self, stateful=True, protect=plan.protect, depends_on=[key_grant]),
        )
        writer = gcp.bigquery.DatasetIamMember(
            f"{name}-logs-writer",
            gcp.bigquery.DatasetIamMemberArgs(dataset_id=self.dataset.dataset_id, role=DATASET_EDITOR,
                                              member=vertex_agent_member, project=plan.account),
            opts=child(self),
        )
        self.log_table = pulumi.Output.concat("bq://", project, ".", self.dataset.dataset_id, ".", LOG_TABLE)

        private = plan.network.isolated
        psc = gcp.vertex.AiEndpointPrivateServiceConnectConfigArgs(
            enable_private_service_connect=True,
            project_allowlists=[project],
            psc_automation_configs=[gcp.vertex.AiEndpointPrivateServiceConnectConfigPscAutomationConfigArgs(
                project_id=project, network=network_id)] if psc_automation and network_id is not None else None,
        ) if private else None
        logging = gcp.vertex.AiEndpointPredictRequestResponseLoggingConfigArgs(
            enabled=True, sampling_rate=logging_percent / 100,
            bigquery_destination=gcp.vertex.AiEndpointPredictRequestResponseLoggingConfigBigqueryDestinationArgs(
                output_uri=self.log_table),
        ) if logging_percent > 0 else None
        self.endpoint = gcp.vertex.AiEndpoint(
            f"{name}-endpoint",
            gcp.vertex.AiEndpointArgs(
                name=ident,
                display_name=f"{plan.prefix}-{model.name}",
                description=f"{model.name} ({plan.prefix}); versions are deployed by the "
                            f"{plan.prefix}-{model.name}-deploy workflow",
                location=plan.region, region=plan.region, project=plan.account,
                encryption_spec=gcp.vertex.AiEndpointEncryptionSpecArgs(kms_key_name=kms_key_id),
                private_service_connect_config=psc,
                predict_request_response_logging_config=logging,
                labels=labels,
            ),
            # The deployer workflow owns the traffic split (canary steps, rollbacks): see the module docstring.
            opts=pulumi.ResourceOptions.merge(
                child(self, depends_on=[writer, *depends_on]), pulumi.ResourceOptions(ignore_changes=["trafficSplit"])),
        )
        if model.monitoring.sre is not None:
            self._alerts(name, plan, model, ident, critical_channels, warning_channels)
        self.register_outputs({"endpoint_id": ident, "endpoint_name": self.endpoint.name,
                               "log_table": self.log_table})

    def _alerts(self, name: str, plan: Plan, model: ModelPlan, ident: str, channels: Sequence[pulumi.Input[str]],
                warning_channels: Sequence[pulumi.Input[str]]) -> None:
        sre = model.monitoring.sre
        assert sre is not None
        runbook = (f"{model.name} on endpoint {ident} ({plan.prefix}). During a rollout the deployer workflow "
                   f"{plan.prefix}-{model.name}-deploy rolls back on the same signal; otherwise check the "
                   "deployed version's logs and roll back by promoting the previous champion.")
        latency = latency_sla_ms(model)
        if latency is not None:
            gcp.monitoring.AlertPolicy(
                f"{name}-latency-alert",
                policy_args(plan, display_name=alert_policy_name(plan, model.name, "latency"), severity="CRITICAL",
                            channels=channels, runbook=runbook, condition=threshold(
                                f"p99 model latency above {latency} ms",
                                endpoint_filter(ident, LATENCIES, 'metric.labels.latency_type = "model"'),
                                value=float(latency), comparison="COMPARISON_GT",
                                aligner="ALIGN_PERCENTILE_99")),
                opts=child(self))
        rate = error_rate_percent(model)
        gcp.monitoring.AlertPolicy(
            f"{name}-errors-alert",
            policy_args(plan, display_name=alert_policy_name(plan, model.name, "errors"), severity="CRITICAL",
                        channels=channels, runbook=runbook, condition=threshold(
                            f"more than {rate:g} % of predictions fail",
                            endpoint_filter(ident, ERRORS), denominator=endpoint_filter(ident, PREDICTIONS),
                            value=rate / 100, comparison="COMPARISON_GT", aligner="ALIGN_RATE",
                            reducer="REDUCE_SUM")),
            opts=child(self))
        gcp.monitoring.AlertPolicy(
            f"{name}-utilization-alert",
            policy_args(plan, display_name=alert_policy_name(plan, model.name, "utilization"), severity="WARNING",
                        channels=warning_channels,
                        runbook=runbook + " Sustained high utilisation at the replica maximum means max_instances "
                        "is too low.", condition=threshold(
                            f"replica CPU above {sre.utilization_percent:g} %",
                            endpoint_filter(ident, CPU), value=sre.utilization_percent / 100,
                            comparison="COMPARISON_GT", aligner="ALIGN_MEAN", reducer="REDUCE_MEAN")),
            opts=child(self))
