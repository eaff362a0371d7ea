"""The Logic Apps workflow that starts a model's training pipeline on a monitor event (no pulumi import).

`workflow_definition(...)` returns the workflow definition (Logic Apps workflow definition language,
schema 2016-06-01) as typed data. Event Grid posts the workspace's events to its HTTP request trigger:

    event ─▶ SubscriptionValidationEvent? ─ yes ─▶ answer the validation code (Event Grid's handshake)
                                          └ no ──▶ 202 Accepted
                                                   → PUT <workspace>/jobs/<guid> (the pipeline job, as the
                                                     platform identity, Entra ID token for Azure Resource Manager)
                                                   → wait `min_interval_hours` (the cool-down)

One workflow per model serves both kinds of event, so drift and performance share the model's
cool-down: the job's `trigger` input says which one started it (`performance` when the run that
failed carries the quality job's breach tag, `drift` otherwise).

The trigger runs one workflow at a time with at most one waiting: during a cool-down one more event
is kept (it starts one run when the cool-down ends) and further ones are refused (Event Grid does not
retry them: the subscription makes one delivery attempt).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

WORKFLOW_SCHEMA = "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#"
ARM = "https://management.azure.com"
JOBS_API_VERSION = "2024-04-01"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
TRIGGER = "monitor_event"
"""The request trigger's name (the Event Grid subscriptions post to its callback URL)."""
QUALITY_BREACH_TAG = "mlops_quality_breach"
"""Run tag the quality job (`scripts/model_quality.py`) sets to `true` before it fails on a missed bar."""
TRIGGER_INPUT = "trigger"
"""The pipeline job's input that records what started the run (components.azure.pipeline_job)."""
TRIGGERED_BY = (f"@if(equals(triggerBody()?[0]?['data']?['RunTags']?['{QUALITY_BREACH_TAG}'], 'true'), "
                "'performance', 'drift')")
"""Workflow expression: `performance` for a quality breach event, `drift` for a monitor breach."""


class Concurrency(TypedDict):
    runs: int
    maximumWaitingRuns: int


class RuntimeConfiguration(TypedDict):
    concurrency: Concurrency


class RequestInputs(TypedDict):
    schema: dict[str, str]


class RequestTrigger(TypedDict):
    type: Literal["Request"]
    kind: Literal["Http"]
    inputs: RequestInputs
    runtimeConfiguration: RuntimeConfiguration


class ResponseInputs(TypedDict):
    statusCode: int
    body: NotRequired[dict[str, str]]


class ResponseAction(TypedDict):
    type: Literal["Response"]
    kind: Literal["Http"]
    inputs: ResponseInputs
    runAfter: dict[str, list[str]]


class ManagedIdentityAuthentication(TypedDict):
    type: Literal["ManagedServiceIdentity"]
    identity: str
    audience: str


class HttpInputs(TypedDict):
    method: Literal["PUT"]
    uri: str
    headers: dict[str, str]
    body: dict[str, Any]
    authentication: ManagedIdentityAuthentication


class HttpAction(TypedDict):
    type: Literal["Http"]
    inputs: HttpInputs
    runAfter: dict[str, list[str]]


class WaitInterval(TypedDict):
    count: int
    unit: Literal["Hour"]


class WaitInputs(TypedDict):
    interval: WaitInterval


class WaitAction(TypedDict):
    type: Literal["Wait"]
    inputs: WaitInputs
    runAfter: dict[str, list[str]]


class ElseBranch(TypedDict):
    actions: dict[str, ResponseAction | HttpAction | WaitAction]


# `else` is a Python keyword: the functional TypedDict form carries it under its wire name.
IfWithElse = TypedDict("IfWithElse", {
    "type": Literal["If"],
    "expression": dict[str, list[dict[str, list[str]]]],
    "actions": dict[str, ResponseAction],
    "else": ElseBranch,
    "runAfter": dict[str, list[str]],
})


WorkflowDefinition = TypedDict("WorkflowDefinition", {
    "$schema": str,
    "contentVersion": str,
    "triggers": dict[str, RequestTrigger],
    "actions": dict[str, IfWithElse],
    "outputs": dict[str, str],
})


def literal(value: Any) -> Any:
    """`value` with every string escaped for the workflow language (a leading `@` or `@{` is an expression)."""
    if isinstance(value, str):
        return value.replace("@", "@@") if value.startswith("@") or "@{" in value else value
    if isinstance(value, dict):
        return {k: literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [literal(v) for v in value]
    return value


def workflow_definition(*, workspace_id: str, job: dict[str, Any], identity_id: str,
                        cooldown_hours: int) -> WorkflowDefinition:
    """The workflow: answer Event Grid's validation, else submit `job` (a pipeline job body) and cool down.

    The job's `trigger` input, when it has one, becomes `TRIGGERED_BY` (the event decides it)."""
    event = "@triggerBody()?[0]"
    properties = literal(job)
    if TRIGGER_INPUT in properties.get("inputs", {}):
        properties["inputs"][TRIGGER_INPUT] = {**properties["inputs"][TRIGGER_INPUT], "value": TRIGGERED_BY}
    return {
        "$schema": WORKFLOW_SCHEMA,
        "contentVersion": "1.0.0.0",
        "triggers": {TRIGGER: {
            "type": "Request", "kind": "Http", "inputs": {"schema": {"type": "array"}},
            "runtimeConfiguration": {"concurrency": {"runs": 1, "maximumWaitingRuns": 1}},
        }},
        "actions": {"route": {
            "type": "If",
            "expression": {"and": [{"equals": [f"{event}?['eventType']", VALIDATION_EVENT]}]},
            "actions": {"validate": {
                "type": "Response", "kind": "Http", "runAfter": {},
                "inputs": {"statusCode": 200, "body": {"validationResponse": f"{event}?['data']?['validationCode']"}},
            }},
            "else": {"actions": {
                "accepted": {"type": "Response", "kind": "Http", "runAfter": {}, "inputs": {"statusCode": 202}},
                "submit": {
                    "type": "Http", "runAfter": {"accepted": ["Succeeded"]},
                    "inputs": {
                        "method": "PUT",
                        "uri": f"{ARM}{literal(workspace_id)}/jobs/@{{guid()}}?api-version={JOBS_API_VERSION}",
                        "headers": {"Content-Type": "application/json"},
                        "body": {"properties": properties},
                        "authentication": {"type": "ManagedServiceIdentity", "identity": literal(identity_id),
                                           "audience": f"{ARM}/"},
                    },
                },
                "cooldown": {
                    "type": "Wait", "runAfter": {"submit": ["Succeeded", "Failed"]},
                    "inputs": {"interval": {"count": cooldown_hours, "unit": "Hour"}},
                },
            }},
            "runAfter": {},
        }},
        "outputs": {},
    }
