"""The deployer workflow's program (Cloud Workflows YAML), built by a pure function (no pulumi import).

Contract (what the pipelines area's promotion workflow sends): run arguments
`{"model": "projects/<p>/locations/<r>/models/<id>", "version": "<version id>"}` (or the model with
`@<version>` and no `version`). For a real-time model the workflow:

1. reads the endpoint and finds the current champion (the deployed model with the most traffic);
2. deploys the version at 0 % traffic on dedicated replicas (the plan's machine, min/max replicas,
   autoscaling target, the endpoints service account), so it is warm before it takes traffic;
3. walks the plan's traffic steps (`DeliveryPlan.steps`, whole percentages: canary `p` then 100;
   rolling `p` more per step; blue_green and all_at_once: 100 at once), watching each step for `bake_minutes`:
   every `CHECK_SECONDS` it reads the new version's p99 model latency and error ratio from Cloud
   Monitoring (the same signals as the serving alert policies) and, with `auto_rollback`, puts the
   champion's traffic back and undeploys the new version when either passes its bar, then fails;
4. undeploys the previous champion (blue_green keeps it through the bake: rollback is instant), and
5. with drift monitoring, replaces the endpoint's model deployment monitoring job with one watching
   the new deployed model (pulumi_gcp has no monitoring-job resource, and a job is tied to the
   deployed model ids it watches: creating it here keeps it in step with every rollout).

For a batch model there is nothing to roll out: the promotion moved the `champion` alias, which the
next scheduled batch prediction job uses (`batch_program` only reports that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import yaml

from mlops.plan.vocabulary import DeliveryStrategy

from .alert_policies import ERRORS, LATENCIES, PREDICTIONS
from .machines import Machine
from .monitoring_job import MonitoringJob
from .workflow_literal import inert

CHECK_SECONDS = 300
"""How often a bake looks at the new version's metrics (Cloud Monitoring's data is about a minute late)."""
CPU_METRIC = "aiplatform.googleapis.com/prediction/online/cpu/utilization"
REQUESTS_METRIC = "aiplatform.googleapis.com/prediction/online/request_count"
Step = dict[str, Any]
JOBS = "googleapis.aiplatform.v1.projects.locations.modelDeploymentMonitoringJobs"


@dataclass(frozen=True)
class DeployerConfig:
    """Everything the deployer's program needs, resolved (project and accounts as plain strings)."""

    project: str
    region: str
    endpoint_id: str
    model: str
    serving_account: str
    machine: Machine
    min_replicas: int
    max_replicas: int
    target_utilization_percent: float
    target_requests_per_replica: int | None
    strategy: DeliveryStrategy
    steps: tuple[int, ...]
    """The new version's share of traffic after each step (the plan's `DeliveryPlan.steps`, ending at 100)."""
    bake_minutes: int
    auto_rollback: bool
    latency_p99_ms: int | None
    error_rate_percent: float
    monitoring_job: MonitoringJob | None
    """A ModelDeploymentMonitoringJob body (monitoring.py) without its deployed model id; None: no monitor."""

    @property
    def endpoint(self) -> str:
        return f"projects/{self.project}/locations/{self.region}/endpoints/{self.endpoint_id}"


def dedicated_resources(c: DeployerConfig) -> dict[str, Any]:
    """The deployed model's `dedicatedResources` (Vertex REST shape)."""
    spec: dict[str, Any] = {"machineType": c.machine.machine_type}
    if c.machine.accelerator:
        spec |= {"acceleratorType": c.machine.accelerator, "acceleratorCount": c.machine.accelerator_count}
    metrics = [{"metricName": "aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle"
                if c.machine.gpu else CPU_METRIC, "target": round(c.target_utilization_percent)}]
    if c.target_requests_per_replica is not None:
        metrics = [{"metricName": REQUESTS_METRIC, "target": c.target_requests_per_replica}]
    return {"machineSpec": spec, "minReplicaCount": c.min_replicas, "maxReplicaCount": c.max_replicas,
            "autoscalingMetricSpecs": metrics}


def _metric_query(metric: str, aligner: str, reducer: str, extra: str = "") -> Step:
    """A timeSeries.list call for the new deployed model over the last check window."""
    selector = (f'resource.type = "aiplatform.googleapis.com/Endpoint" AND metric.type = "{metric}" '
                'AND resource.labels.endpoint_id = "${endpoint_id}" '
                'AND metric.labels.deployed_model_id = "${new_id}"')
    return {
        "call": "googleapis.monitoring.v3.projects.timeSeries.list",
        "args": {
            "name": "${\"projects/\" + project}",
            "filter": "${" + _quote(selector + (" AND " + extra if extra else "")) + "}",
            "interval.startTime": "${time.format(sys.now() - " + str(CHECK_SECONDS) + ")}",
            "interval.endTime": "${time.format(sys.now())}",
            "aggregation.alignmentPeriod": f"{CHECK_SECONDS}s",
            "aggregation.perSeriesAligner": aligner,
            "aggregation.crossSeriesReducer": reducer,
        },
    }


def _quote(template: str) -> str:
    """A Workflows string expression for a filter with `${var}` holes: "…" + var + "…"."""
    parts: list[str] = []
    rest = template
    while "${" in rest:
        before, _, after = rest.partition("${")
        var, _, rest = after.partition("}")
        parts += [_literal(before), var]
    parts.append(_literal(rest))
    return " + ".join(p for p in parts if p != '""')


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _first_value() -> dict[str, Any]:
    """Subworkflow: the first point of a timeSeries.list result as a number, 0 when there is none (no traffic).

    Written as steps rather than one expression: a missing key fails an expression even in a branch
    that would not be taken.
    """
    return {"params": ["series"], "steps": [
        {"pick": {"assign": [{"found": "${default(map.get(series, \"timeSeries\"), [])}"}]}},
        {"none": {"switch": [{"condition": "${len(found) == 0}", "return": 0}]}},
        {"point": {"assign": [{"value": "${found[0].points[0].value}"}]}},
        {"as_double": {"switch": [{"condition": "${\"doubleValue\" in value}",
                                   "return": "${double(value.doubleValue)}"}]}},
        {"as_int": {"return": "${double(default(map.get(value, \"int64Value\"), 0))}"}},
    ]}


def _health_check(c: DeployerConfig) -> list[Step]:
    """Steps of the `healthy` subworkflow: false when the new version breaks the latency or error bar."""
    def first(series: str, into: str) -> Step:
        return {f"{into}_value": {"call": "first_value", "args": {"series": f"${{{series}}}"}, "result": into}}

    steps: list[Step] = [
        {"errors": {**_metric_query(ERRORS, "ALIGN_DELTA", "REDUCE_SUM"), "result": "errors"}},
        {"predictions": {**_metric_query(PREDICTIONS, "ALIGN_DELTA", "REDUCE_SUM"), "result": "predictions"}},
        first("errors", "error_count"),
        first("predictions", "prediction_count"),
        {"no_traffic": {"assign": [{"error_ratio": 0}]}},
        {"ratio": {"switch": [_when("${prediction_count > 0}",
                                    [{"error_ratio": "${error_count / prediction_count}"}])]}},
        {"check_errors": {"switch": [{"condition": f"${{error_ratio > {c.error_rate_percent / 100!r}}}",
                                      "return": False}]}},
    ]
    if c.latency_p99_ms is not None:
        steps += [
            {"latency": {**_metric_query(LATENCIES, "ALIGN_PERCENTILE_99", "REDUCE_MAX",
                                         'metric.labels.latency_type = "model"'), "result": "latency"}},
            first("latency", "p99_ms"),
            {"check_latency": {"switch": [{"condition": f"${{p99_ms > {float(c.latency_p99_ms)!r}}}",
                                           "return": False}]}},
        ]
    steps.append({"ok": {"return": True}})
    return steps


def _when(condition: str, assign: list[dict[str, Any]]) -> dict[str, Any]:
    """A switch case that assigns variables (as a nested step: the portable form)."""
    return {"condition": condition, "steps": [{"set": {"assign": assign}}]}


def deployer_program(c: DeployerConfig) -> dict[str, Any]:
    """The workflow as data (main and subworkflows), in Workflows' YAML structure."""
    region = c.region
    bake_checks = math.ceil(c.bake_minutes * 60 / CHECK_SECONDS) if c.bake_minutes else 0
    keep_old_through_bake = c.strategy == DeliveryStrategy.blue_green
    main: list[Step] = [
        {"init": {"assign": [
            {"project": c.project}, {"region": region}, {"endpoint_id": c.endpoint_id}, {"endpoint": c.endpoint},
            {"model": "${args.model}"}, {"steps": list(c.steps)},
            {"old_id": ""}, {"old_traffic": 0}]}},
        {"versioned": {"switch": [_when("${\"version\" in args}",
                                        [{"model": "${args.model + \"@\" + string(args.version)}"}])]}},
        {"read_endpoint": {"call": "googleapis.aiplatform.v1.projects.locations.endpoints.get",
                           "args": {"name": "${endpoint}", "region": region}, "result": "before"}},
        {"find_champion": {"for": {"value": "id", "in": "${keys(default(map.get(before, \"trafficSplit\"), {}))}",
                                   "steps": [{"take_larger": {"switch": [_when(
                                       "${before.trafficSplit[id] > old_traffic}",
                                       [{"old_id": "${id}"}, {"old_traffic": "${before.trafficSplit[id]}"}])]}}]}}},
        {"initial_split": {"assign": [{"split": {"0": 0}}]}},
        {"keep_champion": {"switch": [_when("${old_id != \"\"}", [{"split[old_id]": 100}])]}},
        {"first_version": {"switch": [_when("${old_id == \"\"}", [{"split": {"0": 100}}])]}},
        # Deploy warm at 0 % (or 100 % when nothing serves yet): traffic moves only after replicas are up.
        {"deploy": {"call": "googleapis.aiplatform.v1.projects.locations.endpoints.deployModel",
                    "args": {"endpoint": "${endpoint}", "region": region, "body": {
                        "deployedModel": {"model": "${model}", "displayName": "${text.split(model, \"/\")[5]}",
                                          "serviceAccount": c.serving_account,
                                          "dedicatedResources": dedicated_resources(c)},
                        "trafficSplit": "${split}"}},
                    "result": "deployed"}},
        {"new_version": {"assign": [{"new_id": "${deployed.deployedModel.id}"}]}},
        {"rollout": {"for": {"value": "percent", "in": "${steps}", "steps": [
            {"shift": {"call": "set_split", "args": {"endpoint": "${endpoint}", "region": region,
                                                       "new_id": "${new_id}", "old_id": "${old_id}",
                                                       "percent": "${percent}"}}},
            # Without a bake there is nothing to watch: the step counts as healthy.
            {"bake": {"call": "bake", "args": {"project": "${project}", "endpoint_id": "${endpoint_id}",
                                                "new_id": "${new_id}", "checks": bake_checks},
                      "result": "healthy"} if bake_checks else {"assign": [{"healthy": True}]}},
            {"decide": {"switch": [{"condition": "${not healthy}", "steps": [
                {"roll_back": {"call": "roll_back", "args": {"endpoint": "${endpoint}", "region": region,
                                                              "new_id": "${new_id}", "old_id": "${old_id}"}}},
                {"fail": {"raise": {"code": 409, "message": "${\"rolled back \" + model + \": the new version "
                                                             "broke the latency or error bar\"}"}}}]}]}},
        ]}}},
        {"retire_champion": {"switch": [{"condition": "${old_id != \"\"}", "steps": [
            {"undeploy_old": {"call": "googleapis.aiplatform.v1.projects.locations.endpoints.undeployModel",
                              "args": {"endpoint": "${endpoint}", "region": region,
                                       "body": {"deployedModelId": "${old_id}"}}}}]}]}},
    ]
    if c.monitoring_job is not None:
        # The job holds blueprint text (drift feature names are keys of its thresholds): kept a literal.
        main.append({"monitor": {"call": "replace_monitoring_job", "args": {
            "project": "${project}", "region": region, "new_id": "${new_id}", "job": inert(c.monitoring_job)}}})
    main.append({"done": {"return": {"model": "${model}", "deployedModelId": "${new_id}",
                                     "previous": "${old_id}"}}})
    program: dict[str, Any] = {
        "main": {"params": ["args"], "steps": main},
        "set_split": {"params": ["endpoint", "region", "new_id", "old_id", "percent"], "steps": [
            {"only_new": {"assign": [{"split": {}}, {"split[new_id]": 100}]}},
            {"with_old": {"switch": [_when("${old_id != \"\" and percent < 100}",
                                            [{"split[new_id]": "${percent}"},
                                             {"split[old_id]": "${100 - percent}"}])]}},
            {"keep_old_warm": {"switch": [_when(f"${{old_id != \"\" and percent == 100 and "
                                                 f"{str(keep_old_through_bake).lower()}}}",
                                                 [{"split[old_id]": 0}])]}},
            {"patch": {"call": "googleapis.aiplatform.v1.projects.locations.endpoints.patch",
                       "args": {"name": "${endpoint}", "region": "${region}", "updateMask": "trafficSplit",
                                "body": {"trafficSplit": "${split}"}}}},
        ]},
        "bake": {"params": ["project", "endpoint_id", "new_id", "checks"], "steps": [
            {"watch": {"for": {"value": "i", "range": [1, "${checks}"], "steps": [
                {"wait": {"call": "sys.sleep", "args": {"seconds": CHECK_SECONDS}}},
                {"look": {"call": "healthy", "args": {"project": "${project}", "endpoint_id": "${endpoint_id}",
                                                       "new_id": "${new_id}"}, "result": "ok"}},
                {"stop_early": {"switch": [{"condition": f"${{not ok and {str(c.auto_rollback).lower()}}}",
                                            "return": False}]}},
            ]}}},
            {"passed": {"return": True}},
        ]},
        "healthy": {"params": ["project", "endpoint_id", "new_id"], "steps": _health_check(c)},
        "first_value": _first_value(),
        "roll_back": {"params": ["endpoint", "region", "new_id", "old_id"], "steps": [
            {"restore": {"switch": [{"condition": "${old_id != \"\"}", "steps": [
                {"champion_only": {"assign": [{"split": {}}, {"split[old_id]": 100}]}},
                {"patch": {"call": "googleapis.aiplatform.v1.projects.locations.endpoints.patch",
                           "args": {"name": "${endpoint}", "region": "${region}", "updateMask": "trafficSplit",
                                    "body": {"trafficSplit": "${split}"}}}}]}]}},
            {"undeploy_new": {"call": "googleapis.aiplatform.v1.projects.locations.endpoints.undeployModel",
                              "args": {"endpoint": "${endpoint}", "region": "${region}",
                                       "body": {"deployedModelId": "${new_id}"}}}},
        ]},
    }
    if c.monitoring_job is not None:
        program["replace_monitoring_job"] = _replace_monitoring_job()
    return program


def _replace_monitoring_job() -> dict[str, Any]:
    """Delete the endpoint's previous monitoring job(s) by display name, then create one for the new version."""
    parent = "${\"projects/\" + project + \"/locations/\" + region}"
    return {"params": ["project", "region", "new_id", "job"], "steps": [
        {"list": {"call": f"{JOBS}.list",
                  "args": {"parent": parent, "region": "${region}",
                           "filter": "${\"display_name=\\\"\" + job.displayName + \"\\\"\"}"},
                  "result": "found"}},
        {"delete_old": {"for": {"value": "old",
                                "in": "${default(map.get(found, \"modelDeploymentMonitoringJobs\"), [])}",
                                "steps": [{"delete": {
                                    "call": f"{JOBS}.delete",
                                    "args": {"name": "${old.name}", "region": "${region}"}}}]}}},
        {"bind": {"assign": [{"objective": "${job.modelDeploymentMonitoringObjectiveConfigs[0]}"},
                             {"objective.deployedModelId": "${new_id}"},
                             {"job.modelDeploymentMonitoringObjectiveConfigs": "${[objective]}"}]}},
        {"create": {"call": f"{JOBS}.create",
                    "args": {"parent": parent, "region": "${region}", "body": "${job}"}}},
    ]}


def batch_program(model: str) -> dict[str, Any]:
    """The deployer of a batch model: the promotion already moved the alias its scheduled jobs score with."""
    return {"main": {"params": ["args"], "steps": [
        {"done": {"return": {"model": "${args.model}", "deployment": f"batch: the next scheduled {model} batch "
                                                                      "prediction job uses the champion alias"}}},
    ]}}


def yaml_dump(program: dict[str, Any]) -> str:
    """A workflow's `source_contents` (YAML; stable key order, so the same plan gives the same text)."""
    return yaml.safe_dump(program, sort_keys=False, width=120, allow_unicode=True)


def deployer_source(c: DeployerConfig) -> str:
    """The real-time deployer's `source_contents`."""
    return yaml_dump(deployer_program(c))
