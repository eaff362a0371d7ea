"""Retraining triggers of one model: a schedule, and drift / quality alarms, each starting its pipeline."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child
from components.capabilities import builds
from mlops.plan import Capability, ModelPlan, Plan

from .account import account_id
from .cron import eventbridge_cron
from .iam import Statement, policy_document
from .names import AlarmKind, alarm_name, sagemaker_name

# Which alarm starts retraining for which blueprint setting, and what the run records as its trigger.
ALARM_TRIGGERS: dict[str, AlarmKind] = {"drift": "drift", "performance": "quality"}
# Starting an execution is retried for an hour at most: a later start is a different decision.
RETRY = {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 3}


def retraining_name(plan: Plan, model: str) -> str:
    return sagemaker_name(f"{plan.prefix}-{model}-retraining")


@builds(Capability.scheduled_retraining, Capability.drift_retraining, Capability.performance_retraining)
class AwsRetrainingTriggers(pulumi.ComponentResource):
    """What starts a model's training pipeline besides people.

    Creates, when `retraining.schedule` is set: `-schedules` (scheduler.ScheduleGroup, tagged: schedules
    themselves take no tags), `-scheduler-role` (assumed by EventBridge Scheduler for this account, may
    only start this pipeline and decrypt the schedule's payload with the platform key) with
    `-scheduler-policy`, and `-schedule` (scheduler.Schedule: the blueprint's cron in UTC, no flexible
    window, payload encrypted with the platform key, the pipeline as a templated SageMaker target with
    TriggeredBy=schedule).

    When `on_drift` / `on_performance` is set: `-events-role` (assumed by EventBridge for these rules
    only, may only start this pipeline) with `-events-policy`, and per trigger `-on-<drift|performance>`
    (cloudwatch.EventRule matching the model's drift / quality alarm — `names.alarm_name`, created by
    the monitoring component — entering ALARM) with `-on-<…>-target` (the pipeline, TriggeredBy=<trigger>).

    Cool-down (`retraining.min_interval_hours`): an alarm emits an event only when it *enters* ALARM, so a
    persistent drift starts one run, not one per evaluation; a monitor that flaps between OK and ALARM is
    not held back for `min_interval_hours` on AWS (see `mlops.clouds.aws.AWS_FALLBACKS`).

    Outputs: schedule_arn (or None), rule_arns (by trigger).
    """

    def __init__(self, name: str, plan: Plan, model: ModelPlan, *, pipeline_arn: pulumi.Input[str],
                 kms_key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AwsRetrainingTriggers", name, None, opts)
        tags = dict(plan.tags)
        account = account_id(plan, self)
        r = model.retraining
        start = Statement(Sid="StartThisPipeline", Effect="Allow", Action="sagemaker:StartPipelineExecution",
                          Resource=[pipeline_arn])
        self.schedule: aws.scheduler.Schedule | None = None
        if r.schedule is not None:
            group = aws.scheduler.ScheduleGroup(
                f"{name}-schedules",
                aws.scheduler.ScheduleGroupArgs(name=retraining_name(plan, model.name), tags=tags),
                opts=child(self))
            role = self._role(f"{name}-scheduler", plan, "scheduler.amazonaws.com", account, tags, [
                start,
                # A schedule encrypted with a customer-managed key is decrypted with its execution role.
                Statement(Sid="DecryptSchedulePayload", Effect="Allow", Action="kms:Decrypt", Resource=[kms_key_arn]),
            ])
            self.schedule = aws.scheduler.Schedule(
                f"{name}-schedule",
                aws.scheduler.ScheduleArgs(
                    name=retraining_name(plan, model.name),
                    group_name=group.name,
                    description=f"Retrains {model.name} on the blueprint's schedule ({r.schedule.text}, UTC)",
                    schedule_expression=eventbridge_cron(r.schedule),
                    schedule_expression_timezone="UTC",
                    flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                    kms_key_arn=kms_key_arn,
                    state="ENABLED",
                    target=aws.scheduler.ScheduleTargetArgs(
                        arn=pipeline_arn,
                        role_arn=role.arn,
                        sagemaker_pipeline_parameters=aws.scheduler.ScheduleTargetSagemakerPipelineParametersArgs(
                            pipeline_parameters=[aws.scheduler.ScheduleTargetSagemakerPipelineParametersPipelineParameterArgs(
                                name="TriggeredBy", value="schedule")]),
                        retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(**RETRY),
                    ),
                ),
                opts=child(self),
            )

        triggers = [t for t, on in (("drift", r.on_drift), ("performance", r.on_performance)) if on]
        self.rules: dict[str, aws.cloudwatch.EventRule] = {}
        for trigger in triggers:
            alarm = alarm_name(plan, model.name, ALARM_TRIGGERS[trigger])
            self.rules[trigger] = aws.cloudwatch.EventRule(
                f"{name}-on-{trigger}",
                aws.cloudwatch.EventRuleArgs(
                    name=sagemaker_name(f"{plan.prefix}-{model.name}-retrain-on-{trigger}"),
                    description=f"Retrains {model.name} when its {ALARM_TRIGGERS[trigger]} alarm enters ALARM",
                    event_pattern=json.dumps({
                        "source": ["aws.cloudwatch"],
                        "detail-type": ["CloudWatch Alarm State Change"],
                        "detail": {"alarmName": [alarm], "state": {"value": ["ALARM"]}},
                    }),
                    state="ENABLED",
                    tags=tags,
                ),
                opts=child(self))
        if triggers:
            rule_arns = [rule.arn for rule in self.rules.values()]
            role = self._role(f"{name}-events", plan, "events.amazonaws.com", account, tags, [start],
                              source_arns=rule_arns)
            for trigger, rule in self.rules.items():
                aws.cloudwatch.EventTarget(
                    f"{name}-on-{trigger}-target",
                    aws.cloudwatch.EventTargetArgs(
                        rule=rule.name,
                        arn=pipeline_arn,
                        role_arn=role.arn,
                        sagemaker_pipeline_target=aws.cloudwatch.EventTargetSagemakerPipelineTargetArgs(
                            pipeline_parameter_lists=[
                                aws.cloudwatch.EventTargetSagemakerPipelineTargetPipelineParameterListArgs(
                                    name="TriggeredBy", value=trigger)]),
                        retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(**RETRY),
                    ),
                    opts=child(self))
        self.register_outputs({
            "schedule_arn": self.schedule.arn if self.schedule else None,
            "rule_arns": {t: rule.arn for t, rule in self.rules.items()},
        })

    def _role(self, name: str, plan: Plan, service: str, account: pulumi.Input[str], tags: dict[str, str],
              statements: list[Statement], source_arns: list[pulumi.Output[str]] | None = None) -> aws.iam.Role:
        condition: dict[str, dict[str, object]] = {"StringEquals": {"aws:SourceAccount": account}}
        if source_arns:
            condition["ArnEquals"] = {"aws:SourceArn": source_arns}
        role = aws.iam.Role(
            f"{name}-role",
            aws.iam.RoleArgs(
                description=f"{plan.prefix}: {service.split('.')[0]} starts a training pipeline",
                assume_role_policy=policy_document(Statement(
                    Effect="Allow", Principal={"Service": service}, Action="sts:AssumeRole", Condition=condition)),
                max_session_duration=3600, tags=tags),
            opts=child(self))
        aws.iam.RolePolicy(f"{name}-policy",
                           aws.iam.RolePolicyArgs(role=role.id, policy=policy_document(*statements)),
                           opts=child(self))
        return role
