"""Policies for GCP serving, delivery, monitoring and alerting.

Vertex endpoints carry customer-managed keys, are private (Private Service Connect or a peered
network) and log requests in production; notification channels deliver over TLS only; alert
policies notify someone; Cloud Scheduler jobs calling Google APIs authenticate with OAuth over
HTTPS; every production endpoint has its latency and error alert policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .support import Unknowns, in_production, is_set, mapping_at, mappings, of_type, set_at

ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
SCHEDULER_JOB = "gcp:cloudscheduler/job:Job"
MANDATORY = EnforcementLevel.MANDATORY
WEBHOOK_TYPES = ("webhook_tokenauth", "webhook_basicauth")
# What the mock engine (and `pulumi preview`) shows for a secret value: nothing to check.
SECRET = "[secret]"
LATENCY_METRIC = "aiplatform.googleapis.com/prediction/online/prediction_latencies"
ERROR_METRIC = "aiplatform.googleapis.com/prediction/online/error_count"


def _endpoint_cmek(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == ENDPOINT and not set_at(args.props, "encryptionSpec", "kmsKeyName"):
        report("Vertex endpoint is not encrypted with a customer-managed key: set encryption_spec.kms_key_name",
               None)


def _endpoint_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ENDPOINT or not in_production(args.props):
        return
    psc = mapping_at(args.props, "privateServiceConnectConfig").get("enablePrivateServiceConnect") is True
    if not psc and not is_set(args.props, "network"):
        report("production Vertex endpoint is reachable from the internet: enable Private Service Connect "
               "(private_service_connect_config) or peer it with the platform network", None)


def _endpoint_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ENDPOINT or not in_production(args.props):
        return
    logging = mapping_at(args.props, "predictRequestResponseLoggingConfig")
    rate = logging.get("samplingRate")
    if logging.get("enabled") is not True or not isinstance(rate, int | float) or rate <= 0:
        report("production Vertex endpoint does not log requests and responses: enable "
               "predict_request_response_logging_config with a sampling rate above 0", None)
    elif not str(mapping_at(logging, "bigqueryDestination").get("outputUri", "")).startswith("bq://"):
        report("production Vertex endpoint logs requests without a BigQuery destination", None)


def _channel_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CHANNEL or args.props.get("type") not in WEBHOOK_TYPES:
        return
    url = mapping_at(args.props, "labels").get("url")
    if url == SECRET:
        return  # a config secret: the URL is checked where it is set (its owner keeps it https)
    if not isinstance(url, str) or not url.startswith("https://"):
        report(f"webhook notification channel delivers to {url!r}: alerts must go over https://", None)


def _alert_policy_notifies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ALERT_POLICY:
        return
    if args.props.get("enabled") is False:
        report("alert policy is disabled: it notifies nobody", None)
    elif not is_set(args.props, "notificationChannels"):
        report("alert policy has no notification channels: it notifies nobody", None)


def _scheduler_oauth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SCHEDULER_JOB:
        return
    target = mapping_at(args.props, "httpTarget")
    if not target:
        return
    uri = str(target.get("uri", ""))
    if not uri.startswith("https://"):
        report(f"Cloud Scheduler job calls {uri!r} over plain HTTP: use https://", None)
    elif ".googleapis.com/" in uri and not set_at(target, "oauthToken", "serviceAccountEmail"):
        report("Cloud Scheduler job calls a Google API without an OAuth token of a dedicated service account", None)


def _alert_filters(policy: Mapping[str, Any]) -> list[str]:
    """The threshold filters of an enabled alert policy."""
    if policy.get("enabled") is False:
        return []
    return [str(mapping_at(c, "conditionThreshold").get("filter", "")) for c in mappings(policy.get("conditions"))]


def _production_endpoints_alert(args: StackValidationArgs, report: ReportViolation) -> None:
    # A policy whose filter is unknown in a preview may be the one an endpoint needs: those endpoints are
    # undecided rather than reported.
    unknowns = Unknowns()
    filters = [f for policy in of_type(args, ALERT_POLICY) for f in unknowns.read([], _alert_filters, policy.props)]
    undecided = Unknowns()
    for endpoint in of_type(args, ENDPOINT):
        with undecided.skip():
            if not in_production(endpoint.props):
                continue
            ident = f'resource.labels.endpoint_id = "{endpoint.props.get("name")}"'
            for metric, what in ((LATENCY_METRIC, "latency"), (ERROR_METRIC, "error rate")):
                if not any(ident in f and metric in f for f in filters):
                    unknowns.settle()
                    report(f"production Vertex endpoint {endpoint.props.get('name')} has no {what} alert policy",
                           endpoint.urn)
    undecided.settle()


GCP_SERVING_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy("gcp-vertex-endpoint-cmek", "Vertex endpoints use customer-managed keys.",
                             _endpoint_cmek, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-vertex-endpoint-private-in-production",
                             "Production Vertex endpoints are private (Private Service Connect or a peered network).",
                             _endpoint_private, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-vertex-endpoint-request-logging",
                             "Production Vertex endpoints log sampled requests and responses to BigQuery.",
                             _endpoint_logging, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-notification-channel-tls", "Webhook notification channels deliver over HTTPS.",
                             _channel_tls, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-alert-policy-notifies", "Alert policies are enabled and notify a channel.",
                             _alert_policy_notifies, enforcement_level=MANDATORY),
    ResourceValidationPolicy("gcp-scheduler-oauth-https",
                             "Cloud Scheduler jobs call HTTPS targets, and Google APIs with an OAuth token.",
                             _scheduler_oauth, enforcement_level=MANDATORY),
    StackValidationPolicy("gcp-vertex-endpoint-alerts-in-production",
                          "Every production Vertex endpoint has p99 latency and error-rate alert policies.",
                          _production_endpoints_alert, enforcement_level=MANDATORY),
]
