"""GCP model monitoring: drift (Vertex model monitoring, created by the deployer) and quality alerts.

Drift: the deployer workflow (re)creates the endpoint's model deployment monitoring job after every
rollout (`monitoring_job.py`); the job logs anomalies to Cloud Logging and notifies the warning
channels. `VertexModelMonitoring` adds the alert policy on those anomaly log entries (warning
channels, plus the pipelines area's retraining channel when drift retrains).

Quality: a workflow scheduled by Cloud Scheduler scores the logged predictions against ground truth
(`quality.py`) and writes the score to a custom metric; an alert policy compares it with the
blueprint's threshold.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp
import yaml

from components.base import TYPE_PREFIX, child, gcp_labels
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan
from mlops.plan.vocabulary import Direction

from .alert_policies import policy_args, threshold
from .foundation import fit_name
from .names import endpoint_id
from .quality import GROUND_TRUTH_SCHEMA, GROUND_TRUTH_TABLE, quality_query
from .serving import DATASET_VIEWER, LOG_TABLE, alert_policy_name

ANOMALY_LOG = "aiplatform.googleapis.com%2Fmodel_monitoring_anomaly"
WORKFLOW_NAME_MAX = 64
INVOKER = "roles/workflows.invoker"


def quality_metric_type(plan: Plan, model: str) -> str:
    """The custom metric a model's quality score is written to."""
    return f"custom.googleapis.com/mlops/{plan.prefix}/{model}/quality"


def quality_workflow_name(plan: Plan, model: str) -> str:
    return fit_name(f"{plan.prefix}-{model}-quality", WORKFLOW_NAME_MAX)


def quality_program(*, project: str, query: str, metric_type: str, model: str) -> dict[str, Any]:
    """The quality workflow: run the query, write the score (skipped when no labelled predictions)."""
    return {"main": {"steps": [
        {"score": {"call": "googleapis.bigquery.v2.jobs.query",
                   "args": {"projectId": project, "body": {"query": query, "useLegacySql": False,
                                                            "timeoutMs": 600000}},
                   "result": "result"}},
        {"empty": {"switch": [{"condition": "${int(result.totalRows) == 0 or "
                                            "result.rows[0].f[1].v == \"0\"}", "return": "no labelled predictions"}]}},
        {"write": {"call": "googleapis.monitoring.v3.projects.timeSeries.create",
                   "args": {"name": f"projects/{project}", "body": {"timeSeries": [{
                       "metric": {"type": metric_type, "labels": {"model": model}},
                       "resource": {"type": "global", "labels": {"project_id": project}},
                       "points": [{"interval": {"endTime": "${time.format(sys.now())}"},
                                   "value": {"doubleValue": "${double(result.rows[0].f[0].v)}"}}]}]}}}},
        {"done": {"return": "${result.rows[0].f[0].v}"}},
    ]}}


@builds(Capability.drift_monitoring, Capability.quality_monitoring, Capability.sre_alarms)
class VertexModelMonitoring(pulumi.ComponentResource):
    """Drift and quality alerting for one real-time model.

    Creates, with drift monitoring: `-drift-alert` (alert policy on the Vertex anomaly log entries of
    this endpoint, warning channels and the retraining channel). With quality monitoring:
    `-ground-truth` (BigQuery table for labels in the log dataset, CMEK, protected in prod),
    `-quality-reader` (the monitoring account may read the log dataset), `-quality-metric` (the
    custom metric descriptor), `-quality-workflow` (CMEK workflow running as the monitoring
    account), `-quality-invoker` (the monitoring account may run that workflow only: an IAM
    condition on its name), `-quality-schedule` (Cloud Scheduler, the quality schedule in UTC, OAuth
    as the monitoring account) and `-quality-alert` (score below/above the threshold).

    Outputs: drift_alert, quality_alert (alert policy names, empty when not monitored).
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, project: pulumi.Input[str],
                 kms_key_id: pulumi.Input[str], dataset: gcp.bigquery.Dataset,
                 monitoring_identity: gcp.serviceaccount.Account, warning_channels: Sequence[pulumi.Input[str]],
                 retraining_channel: pulumi.Input[str] | None = None, depends_on: Sequence[pulumi.Resource] = (),
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`retraining_channel`: notified with the warning channels when drift or quality retrains the
        model (the pipelines area's channel). `depends_on`: the Workflows service agent's key grant."""
        super().__init__(f"{TYPE_PREFIX}VertexModelMonitoring", name, None, opts)
        ident = endpoint_id(plan, model.name)
        mon = model.monitoring
        outputs: dict[str, pulumi.Input[str]] = {"drift_alert": "", "quality_alert": ""}
        runbook = (f"{model.name} on endpoint {ident} ({plan.prefix}): see the monitoring job's anomalies in the "
                   "Vertex AI console; retrain or roll back.")
        if mon.drift is not None:
            retrains = model.retraining.on_drift and retraining_channel is not None
            channels = [*warning_channels, *([retraining_channel] if retrains and retraining_channel else [])]
            # The anomaly entries name the monitored endpoint: match this endpoint's id anywhere in them.
            log_filter = f'logName : "/logs/{ANOMALY_LOG}" AND "{ident}"'
            drift = gcp.monitoring.AlertPolicy(
                f"{name}-drift-alert",
                policy_args(plan, display_name=alert_policy_name(plan, model.name, "drift"), severity="WARNING",
                            channels=channels, runbook=runbook, rate_limit="3600s",
                            condition=gcp.monitoring.AlertPolicyConditionArgs(
                                display_name=f"{mon.drift.method.value} drift above {mon.drift.threshold:g}",
                                condition_matched_log=gcp.monitoring.AlertPolicyConditionConditionMatchedLogArgs(
                                    filter=log_filter))),
                opts=child(self))
            outputs["drift_alert"] = drift.name
        if mon.quality is not None:
            outputs["quality_alert"] = self._quality(name, plan, model, project=project, kms_key_id=kms_key_id,
                                                     dataset=dataset, identity=monitoring_identity,
                                                     channels=[*warning_channels, *(
                                                         [retraining_channel] if model.retraining.on_performance
                                                         and retraining_channel else [])],
                                                     depends_on=depends_on)
        self.register_outputs(outputs)

    def _quality(self, name: str, plan: Plan, model: ModelPlan, *, project: pulumi.Input[str],
                 kms_key_id: pulumi.Input[str], dataset: gcp.bigquery.Dataset, identity: gcp.serviceaccount.Account,
                 channels: list[pulumi.Input[str]], depends_on: Sequence[pulumi.Resource]) -> pulumi.Output[str]:
        q = model.monitoring.quality
        assert q is not None
        labels = gcp_labels(dict(plan.tags))
        gcp.bigquery.Table(
            f"{name}-ground-truth",
            gcp.bigquery.TableArgs(
                dataset_id=dataset.dataset_id, table_id=GROUND_TRUTH_TABLE, project=plan.account,
                description=f"Ground truth for {model.name}: request_id as logged by Vertex, label",
                schema=GROUND_TRUTH_SCHEMA,
                encryption_configuration=gcp.bigquery.TableEncryptionConfigurationArgs(kms_key_name=kms_key_id),
                deletion_protection=plan.protect, labels=labels),
            opts=child(self, stateful=True, protect=plan.protect))
        reader = gcp.bigquery.DatasetIamMember(
            f"{name}-quality-reader",
            gcp.bigquery.DatasetIamMemberArgs(dataset_id=dataset.dataset_id, role=DATASET_VIEWER,
                                              member=identity.member, project=plan.account),
            opts=child(self))
        metric_type = quality_metric_type(plan, model.name)
        descriptor = gcp.monitoring.MetricDescriptor(
            f"{name}-quality-metric",
            gcp.monitoring.MetricDescriptorArgs(
                type=metric_type, metric_kind="GAUGE", value_type="DOUBLE", project=plan.account,
                display_name=f"{plan.prefix} {model.name} {q.metric}",
                description=f"{q.metric} of {model.name} on labelled predictions ({q.label_delay_hours} h label delay)",
                labels=[gcp.monitoring.MetricDescriptorLabelArgs(key="model", value_type="STRING",
                                                                 description="model name")]),
            opts=child(self))
        # Each run scores the labelled predictions of one schedule period.
        window = q.schedule.period_hours
        workflow_name = quality_workflow_name(plan, model.name)
        program = pulumi.Output.all(project, dataset.dataset_id).apply(lambda v: yaml.safe_dump(quality_program(
            project=v[0], metric_type=metric_type, model=model.name,
            query=quality_query(model, project=v[0], dataset=v[1], log_table=LOG_TABLE, window_hours=window)),
            sort_keys=False, width=120))
        workflow = gcp.workflows.Workflow(
            f"{name}-quality-workflow",
            gcp.workflows.WorkflowArgs(
                name=workflow_name, region=plan.region, project=plan.account,
                description=f"Scores {model.name}'s labelled predictions ({q.metric}) into {metric_type}",
                service_account=identity.email, crypto_key_name=kms_key_id, call_log_level="LOG_ERRORS_ONLY",
                deletion_protection=plan.protect, source_contents=program, labels=labels),
            opts=child(self, depends_on=[reader, descriptor, *depends_on]))
        invoker = gcp.projects.IAMMember(
            f"{name}-quality-invoker",
            gcp.projects.IAMMemberArgs(
                project=project, role=INVOKER, member=identity.member,
                condition=gcp.projects.IAMMemberConditionArgs(
                    title=f"{workflow_name} only",
                    expression=pulumi.Output.concat('resource.name == "projects/', project, "/locations/",
                                                    plan.region, "/workflows/", workflow_name, '"'))),
            opts=child(self))
        body = base64.b64encode(json.dumps({"argument": "{}"}).encode()).decode()
        gcp.cloudscheduler.Job(
            f"{name}-quality-schedule",
            gcp.cloudscheduler.JobArgs(
                name=fit_name(f"{plan.prefix}-{model.name}-quality", 500), region=plan.region, project=plan.account,
                description=f"Quality check of {model.name} ({plan.prefix})", schedule=q.schedule.cron,
                time_zone="Etc/UTC", attempt_deadline="320s",
                retry_config=gcp.cloudscheduler.JobRetryConfigArgs(retry_count=3),
                http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                    uri=pulumi.Output.concat("https://workflowexecutions.googleapis.com/v1/", workflow.id,
                                             "/executions"),
                    http_method="POST", body=body, headers={"Content-Type": "application/json"},
                    oauth_token=gcp.cloudscheduler.JobHttpTargetOauthTokenArgs(
                        service_account_email=identity.email,
                        scope="https://www.googleapis.com/auth/cloud-platform"))),
            opts=child(self, depends_on=[invoker]))
        below = q.direction == Direction.at_least
        alert = gcp.monitoring.AlertPolicy(
            f"{name}-quality-alert",
            policy_args(plan, display_name=alert_policy_name(plan, model.name, "quality"), severity="WARNING",
                        channels=channels, runbook=f"{model.name}'s {q.metric} on labelled predictions is "
                        f"{'below' if below else 'above'} {q.threshold:g}: inspect recent data, retrain or roll back.",
                        condition=threshold(
                            f"{q.metric} {'below' if below else 'above'} {q.threshold:g}",
                            f'resource.type = "global" AND metric.type = "{metric_type}"',
                            value=float(q.threshold), comparison="COMPARISON_LT" if below else "COMPARISON_GT",
                            aligner="ALIGN_MEAN", duration="0s")),
            opts=child(self, depends_on=[descriptor]))
        return alert.name
