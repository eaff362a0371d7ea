"""Cloud Workflows programs of the pipelines area, as JSON source (no pulumi import).

Workflows accepts its syntax as YAML or JSON; these functions build the JSON form from plain values
so the program is deterministic and testable. Expressions are Workflows `${...}` strings.

- `retraining_source`: starts a model's Vertex pipeline run from the stored spec, unless a run started
  within the cool-down (`retraining.min_interval_hours`); called by Eventarc (drift and performance
  messages on the model's topic) and by people (argument `{"triggered_by": "manual"}`).
- `promotion_source`: moves the `champion` alias to an approved version (Vertex REST
  `models.mergeVersionAliases`), then runs the serving area's deployer workflow with that version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .workflow_literal import inert

Json = dict[str, Any]
OAUTH = {"type": "OAuth2"}


def _api(region: str) -> str:
    return f"https://{region}-aiplatform.googleapis.com/v1"


def _source(steps: list[Json], param: str) -> str:
    return json.dumps({"main": {"params": [param], "steps": steps}}, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class RetrainingTarget:
    """What the retraining workflow needs to start one run (plain strings)."""

    project: str
    region: str
    display_name: str
    spec_bucket: str
    spec_object: str
    output_directory: str
    service_account: str
    kms_key: str
    min_interval_hours: int
    network: str | None = None


def retraining_source(t: RetrainingTarget) -> str:
    """The retraining workflow: who triggered (argument, or drift log entry vs. alert incident), cool-down, run."""
    parent = f"projects/{t.project}/locations/{t.region}"
    job: Json = {
        "displayName": t.display_name,
        "pipelineSpec": "${spec}",
        "runtimeConfig": {"gcsOutputDirectory": t.output_directory,
                          "parameterValues": {"triggered_by": "${triggered_by}"}},
        "serviceAccount": t.service_account,
        "encryptionSpec": {"kmsKeyName": t.kms_key},
        "labels": {"triggered-by": "${triggered_by}"},
    }
    if t.network:
        job["network"] = inert(t.network)  # blueprint text (network.vpc): never evaluated
    recent = (f'display_name="{t.display_name}" AND create_time>"${{time.format(sys.now() - '
              f'{t.min_interval_hours * 3600})}}"')
    steps: list[Json] = [
        {"init": {"assign": [
            # Eventarc delivers Pub/Sub messages: a Cloud Monitoring incident (an alert policy notified the
            # retraining channel) or a log entry (model-monitoring anomaly: drift). People pass
            # {"triggered_by": "manual"}.
            {"message": '${default(map.get(event, ["data", "message", "data"]), "")}'},
            {"body": '${if(message == "", "", text.decode(base64.decode(message)))}'},
            # An incident of the drift alert policy counts as drift; any other incident as performance.
            {"triggered_by": '${default(map.get(event, "triggered_by"), '
                             'if(len(text.find_all(body, "incident")) == 0 or len(text.find_all(body, "drift")) > 0, '
                             '"drift", "performance"))}'},
        ]}},
        {"recent_runs": {"call": "http.get", "args": {
            "url": f"{_api(t.region)}/{parent}/pipelineJobs", "auth": OAUTH,
            "query": {"filter": recent, "pageSize": 1}}, "result": "recent"}},
        {"cool_down": {"switch": [{
            "condition": '${triggered_by != "manual" and len(default(map.get(recent.body, "pipelineJobs"), [])) > 0}',
            "return": {"started": False, "reason": f"a run started less than {t.min_interval_hours} h ago"}}]}},
        {"read_spec": {"call": "googleapis.storage.v1.objects.get", "args": {
            "bucket": t.spec_bucket, "object": t.spec_object.replace("/", "%2F"), "alt": "media"},
            "result": "spec"}},
        {"start_run": {"call": "http.post", "args": {
            "url": f"{_api(t.region)}/{parent}/pipelineJobs", "auth": OAUTH, "body": job}, "result": "run"}},
        {"done": {"return": {"started": True, "pipeline_job": "${run.body.name}", "triggered_by": "${triggered_by}"}}},
    ]
    return _source(steps, "event")


@dataclass(frozen=True)
class PromotionTarget:
    """What the promotion workflow needs (plain strings)."""

    project: str
    region: str
    model_id: str
    deployer_workflow: str | None
    """The serving area's deployer workflow; None when the model is not served."""


def promotion_source(t: PromotionTarget) -> str:
    """The promotion workflow: argument `{"version": "<model version id>"}`."""
    model = f"projects/{t.project}/locations/{t.region}/models/{t.model_id}"
    steps: list[Json] = [
        {"init": {"assign": [{"version": "${string(args.version)}"}]}},
        # Aliases are unique within a model: adding `champion` here removes it from the previous champion.
        {"move_alias": {"call": "http.post", "args": {
            "url": f'${{"{_api(t.region)}/{model}@" + version + ":mergeVersionAliases"}}', "auth": OAUTH,
            "body": {"versionAliases": ["champion", "-challenger"]}}, "result": "aliases"}},
    ]
    if t.deployer_workflow:
        # Start the rollout and return its execution: a canary bakes for hours or days, longer than a
        # connector call should wait (the deployer's execution records the outcome).
        deployer = f"projects/{t.project}/locations/{t.region}/workflows/{t.deployer_workflow}"
        steps.append({"deploy_args": {"assign": [{"rollout": {"model": model, "version": "${version}"}}]}})
        steps.append({"deploy": {"call": "googleapis.workflowexecutions.v1.projects.locations.workflows.executions."
                                         "create",
                                 "args": {"parent": deployer,
                                          "body": {"argument": "${json.encode_to_string(rollout)}"}},
                                 "result": "deployment"}})
        steps.append({"done": {"return": {"model": model, "version": "${version}",
                                          "aliases": "${aliases.body.versionAliases}",
                                          "deployment": "${deployment.name}"}}})
    else:
        steps.append({"done": {"return": {"model": model, "version": "${version}",
                                          "aliases": "${aliases.body.versionAliases}"}}})
    return _source(steps, "args")
