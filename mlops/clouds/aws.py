"""The AWS facts: what the SageMaker back end can honour of a plan, its defaults and fallbacks (no pulumi).

`plan()` consults `unsupported(plan)` after gating (through `mlops.clouds.facts`): a setting the cloud
cannot honour is a PlanError naming the YAML path, the value and what the cloud allows, never a silent
drop. Settings the back end honours through a documented fallback are listed too (`AWS_FALLBACKS`), so
that `mlops plan` readers, the design and the README say the same thing.

AWS (SageMaker) facts behind the table:

- Deployment guardrails: `WaitIntervalInSeconds` is 0-3600 s (bake time at most 60 minutes); a
  canary is at most 50 % of the variant's instances, a rolling batch at most 50 %; rolling updates
  exclude multi-variant endpoints (a shadow variant makes two); sizes are whole percentages.
- Data capture samples whole percentages (`InitialSamplingPercentage` is an integer); drift and
  quality monitoring read captured requests, so they need a sampling percentage above 0.
- SageMaker Model Monitor is closed to new customers (MODEL_MONITOR_AVAILABILITY): drift and quality are
  the platform's own scheduled processing jobs (components/aws/scripts/monitor_job.py), started by
  EventBridge Scheduler on the blueprint's cron, for real-time (captured requests) and batch models alike.
  Their schedules are EventBridge cron (eventbridge_cron_problem).
- The quality job computes the metrics of AWS_QUALITY_METRICS (its script's table); others are errors.
- Drift features are CSV column names `_c0`, `_c1`, …: requests and batch inputs carry no header, so that
  is what the drift baseline and the drift job call them.
- SageMaker endpoints have no response cache, and only the TorchServe (PyTorch) and TensorFlow
  Serving images batch requests server-side; the XGBoost and scikit-learn servers do not.
- Streaming serving (a consumer in front of an endpoint) is not built on AWS.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mlops.blueprint.model import Cloud, DeliveryStrategy, DriftMethod, ServingMode
from mlops.plan.schedule import Schedule

from .types import CloudFacts, Unsupported

if TYPE_CHECKING:
    from mlops.plan.model import Caution, ModelPlan, Plan

AWS_QUALITY_METRICS: tuple[str, ...] = (
    "accuracy", "auc", "auroc", "ctr", "f0_5", "f1", "f2", "false_negative_rate", "false_positive_rate", "fpr",
    "mae", "mape", "mse", "precision", "r2", "recall", "rmse", "roc_auc", "tpr", "true_negative_rate",
    "true_positive_rate",
)
"""Metrics the quality job computes (components/aws/scripts/quality_metrics.py METRICS; a test holds them equal)."""

# Frameworks whose SageMaker serving image batches requests itself (environment variables).
AWS_BATCHING_FRAMEWORKS = ("pytorch", "tensorflow")
# Frameworks served from the team's own image, which may honour the MLOPS_* variables it is given.
AWS_OWN_IMAGE_FRAMEWORKS = ("lightgbm", "custom")
AWS_MAX_BAKE_MINUTES = 60
AWS_MAX_STEP_PERCENT = 50

MODEL_MONITOR_AVAILABILITY = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-availability-change.html",
    "Amazon SageMaker Model Monitor is no longer open to new customers. Existing customers can continue to use "
    "the service as normal.",
)
"""AWS's notice, on the Model Monitor pages of the SageMaker developer guide (undated there; looked up
2026-12-03; SageMaker Clarify pages carry the same notice for Clarify). So this back end builds no Model
Monitor resource: drift and quality are scheduled processing jobs of the platform's own."""

AWS_FALLBACKS: dict[str, str] = {
    "drift and quality mechanism": "the platform's own scheduled SageMaker processing jobs, not SageMaker Model "
                                   "Monitor, which is closed to new customers (AWS: \"no longer open to new "
                                   "customers\", sagemaker/latest/dg/model-monitor-availability-change.html): "
                                   "EventBridge Scheduler starts a job per model on the drift / quality cron "
                                   "(CreateProcessingJob, the pipeline's scikit-learn processing image, the shipped "
                                   "components/aws/scripts/monitor_job.py); it reads the period's captured requests "
                                   "(real-time) or batch input and output (batch), compares them with the baseline "
                                   "the training pipeline's Baseline step registers, joins predictions with ground "
                                   "truth, and publishes CloudWatch metrics the drift and quality alarms watch. The "
                                   "job calls S3 and CloudWatch, so it is not network-isolated: where the "
                                   "environment is isolated it runs in the platform's private subnets, which reach "
                                   "AWS through VPC endpoints only",
    "drift methods": "psi, ks, jensen_shannon, l_infinity and wasserstein are computed by the drift job from "
                     "10-bucket histograms of the baseline and of the period (components/aws/scripts/"
                     "drift_methods.py)",
    "retraining cool-down": "drift and performance retraining start when the model's alarm enters ALARM "
                            "(a persistent alarm starts one run); min_interval_hours is not enforced between "
                            "runs of a monitor that flaps between OK and ALARM",
}

# Training pipelines (components/aws/pipeline_definition.py keeps the same tables; a test checks they agree).
AWS_SEARCH_STRATEGIES = ("bayesian", "random")
"""SageMaker grid search takes only categorical ranges (the built-in search spaces are continuous), and
the published pipeline definition schema takes Bayesian and Random tuning only (no Hyperband)."""
AWS_TUNABLE_FRAMEWORKS = ("xgboost",)
"""Frameworks with a built-in search space (script frameworks define their hyperparameters in the script)."""

# A feature column of a header-less CSV request or batch input, as the drift baseline and drift job name it.
_CSV_COLUMN = re.compile(r"^_c(0|[1-9]\d*)$")


def _whole(value: float) -> bool:
    return float(value).is_integer()


def _aws_model(i: int, m: ModelPlan) -> list[Unsupported]:
    found: list[Unsupported] = []
    at = ("models", i)
    s = m.serving
    if s is not None:
        if s.mode == ServingMode.streaming:
            found.append(Unsupported(
                (*at, "serving", "mode"), "streaming serving is not built on AWS",
                "'streaming'", "realtime (with your own Kinesis consumer calling the endpoint) or batch"))
        if s.batching and m.framework not in (*AWS_BATCHING_FRAMEWORKS, *AWS_OWN_IMAGE_FRAMEWORKS):
            found.append(Unsupported(
                (*at, "serving", "batching"),
                f"the SageMaker {m.framework} serving image does not batch requests",
                repr(m.framework), "frameworks pytorch, tensorflow, or your own image (lightgbm, custom)"))
        if s.caching and m.framework not in AWS_OWN_IMAGE_FRAMEWORKS:
            found.append(Unsupported(
                (*at, "serving", "caching"), "SageMaker endpoints do not cache responses",
                repr(m.framework), "remove caching (cache in the caller), or serve your own image "
                "(lightgbm, custom) that reads MLOPS_CACHE_TTL_SECONDS"))
        if s.mode == ServingMode.batch and s.output_uri and not s.output_uri.startswith("s3://"):
            found.append(Unsupported((*at, "serving", "output_uri"), "SageMaker batch transform writes to S3",
                                     repr(s.output_uri), "an s3:// URI"))
        d = s.delivery
        if s.mode == ServingMode.realtime:
            if d.bake_minutes > AWS_MAX_BAKE_MINUTES:
                found.append(Unsupported(
                    (*at, "serving", "delivery", "bake_minutes"),
                    "SageMaker waits at most 3600 s between deployment steps", str(d.bake_minutes),
                    f"0-{AWS_MAX_BAKE_MINUTES}"))
            stepped = d.strategy in (DeliveryStrategy.canary, DeliveryStrategy.rolling)
            if stepped and d.steps[0] > AWS_MAX_STEP_PERCENT:
                found.append(Unsupported(
                    (*at, "serving", "delivery", "canary_percent"),
                    "SageMaker shifts a whole percentage of at most 50 % of the instances per step",
                    str(d.steps[0]), "a whole number from 1 to 50"))
            if d.strategy == DeliveryStrategy.rolling and s.shadow is not None:
                found.append(Unsupported(
                    (*at, "serving", "delivery", "strategy"),
                    "SageMaker rolling updates exclude endpoints with more than one variant (the shadow is one)",
                    "'rolling'", "canary or blue_green with a shadow, or remove the shadow"))
    mon = m.monitoring
    realtime = s is not None and s.mode == ServingMode.realtime
    logging = mon.prediction_logging_percent
    if logging is not None and not _whole(logging):
        found.append(Unsupported((*at, "monitoring", "prediction_logging_percent"),
                                 "SageMaker data capture samples whole percentages", f"{logging:g}",
                                 "a whole number from 0 to 100"))
    watched = [("drift", mon.drift.schedule if mon.drift else None),
               ("quality", mon.quality.schedule if mon.quality else None)]
    for kind, schedule in watched:
        if schedule is None:
            continue
        if realtime and logging is not None and logging == 0:
            found.append(Unsupported((*at, "monitoring", "prediction_logging_percent"),
                                     f"{kind} monitoring reads the captured requests; none are captured at 0 %",
                                     "0", "1-100"))
        problem = eventbridge_cron_problem(schedule)
        if problem:
            found.append(Unsupported((*at, "monitoring", kind, "schedule"), problem, repr(schedule.text),
                                     "hourly, daily, weekly, monthly, or cron with day of month or day of week "
                                     "`*` (days of the week as a list or range)"))
    if mon.drift is not None:
        named = [f for f in mon.drift.features if not _CSV_COLUMN.match(f)]
        if named:
            found.append(Unsupported(
                (*at, "monitoring", "drift", "features"),
                "requests and batch inputs are header-less CSV: the drift baseline and the drift job name their "
                "columns `_c0`, `_c1`, … (features only, the label is not sent); other names would never be watched",
                ", ".join(named), "`_c<N>` (N counts the features from 0, after the label column of the train "
                "split), or no features (every feature)"))
    if mon.quality is not None and mon.quality.metric not in AWS_QUALITY_METRICS:
        found.append(Unsupported(
            (*at, "monitoring", "quality", "metric"),
            "the AWS quality job does not compute this model-quality metric", repr(mon.quality.metric),
            ", ".join(AWS_QUALITY_METRICS)))
    return found


def eventbridge_cron_problem(schedule: Schedule) -> str | None:
    """Why EventBridge cron (six fields, `?` in day-of-month or day-of-week) cannot run a schedule, or None."""
    _, _, day_of_month, _, day_of_week = schedule.fields()
    if day_of_month != "*" and day_of_week != "*":
        return "EventBridge cron cannot restrict both day of month and day of week"
    if "/" in day_of_week:
        return "EventBridge cron has no step (`/`) in the day-of-week field"
    return None


def _aws_training(i: int, m: ModelPlan) -> list[Unsupported]:
    found: list[Unsupported] = []
    at = ("models", i)
    search = m.training.search if m.training else None
    if search is not None:
        if search.strategy.value not in AWS_SEARCH_STRATEGIES:
            why = ("SageMaker grid search takes only categorical ranges; the built-in search space is continuous"
                   if search.strategy.value == "grid" else
                   "SageMaker Pipelines' published definition schema takes Bayesian and Random tuning only")
            found.append(Unsupported((*at, "training", "hyperparameter_search", "strategy"), why,
                                     repr(search.strategy.value), ", ".join(AWS_SEARCH_STRATEGIES)))
        if m.framework not in AWS_TUNABLE_FRAMEWORKS:
            found.append(Unsupported(
                (*at, "training", "hyperparameter_search"),
                f"no built-in search space for {m.framework} on AWS: its hyperparameters live in the training script",
                repr(m.framework), f"framework {', '.join(AWS_TUNABLE_FRAMEWORKS)}, or remove hyperparameter_search"))
    schedule = m.retraining.schedule
    problem = eventbridge_cron_problem(schedule) if schedule else None
    if schedule is not None and problem:
        found.append(Unsupported((*at, "retraining", "schedule"), problem, repr(schedule.text),
                                 "hourly, daily, weekly, monthly, or cron with day of month or day of week `*` "
                                 "(days of the week as a list or range)"))
    return found


def _aws_platform(plan: Plan) -> list[Unsupported]:
    """Production AWS stacks carry a budget (policy aws-budget-in-production)."""
    if plan.production and plan.cost is None:
        return [Unsupported(("cost",), "a production AWS stack needs a cost budget (policy "
                                       "aws-budget-in-production)", "no budget for prod",
                            "cost.monthly_budget_usd, or environments.prod.monthly_budget_usd")]
    return []


def unsupported(plan: Plan) -> list[Unsupported]:
    """Everything in an AWS plan the SageMaker back end cannot honour (empty when all is well)."""
    return _aws_platform(plan) + [
        problem for i, m in enumerate(plan.models) for problem in (*_aws_model(i, m), *_aws_training(i, m))]


def instance_share(percent: int, instances: int) -> int:
    """Instances SageMaker turns on for a canary or rolling batch of `percent` % of `instances`: whole instances,
    at least one (CapacitySize sizes capacity, not traffic; it cannot turn on a fraction of an instance)."""
    return max(1, percent * instances // 100)


def cautions(plan: Plan) -> list[Caution]:
    """Canaries and rolling batches are shares of instances on SageMaker, not of traffic: with few instances the
    first step carries far more traffic than the blueprint's percentage (5 % of 2 instances is 1 = 50 %)."""
    from mlops.plan.model import Caution  # the plan imports this module: import its types when called

    found: list[Caution] = []
    for i, m in enumerate(plan.models):
        s = m.serving
        if s is None or s.mode != ServingMode.realtime:
            continue
        d = s.delivery
        if d.strategy not in (DeliveryStrategy.canary, DeliveryStrategy.rolling):
            continue
        step, fleet = d.steps[0], s.min_instances
        on = instance_share(step, fleet)
        real = round(100 * on / fleet)
        if real != step:
            what = "the canary" if d.strategy == DeliveryStrategy.canary else "each rolling batch"
            needed = -(-100 // step)  # the fleet on which the step is one whole instance
            found.append(Caution(path=("models", i, "serving", "delivery", "canary_percent"), message=(
                f"on AWS {what} is a share of the endpoint's instances, not of its traffic: {step} % of "
                f"{fleet} instance{'s' if fleet > 1 else ''} is {on} instance{'s' if on > 1 else ''}, about "
                f"{real} % of the traffic (SageMaker turns on whole instances; with autoscaling, more instances "
                f"make the share smaller). For {step} % of the traffic run at least {needed} instances "
                "(serving.min_instances), or accept the larger share")))
    return found


FACTS = CloudFacts(
    cloud=Cloud.aws, name="AWS (SageMaker)", unsupported=unsupported, fallbacks=AWS_FALLBACKS, cautions=cautions,
    default_drift_method=DriftMethod.psi, locks_audit_storage=True, builds_databricks=False,
    approval_mechanism="a SageMaker model package is approved by one UpdateModelPackage call of one approver")
