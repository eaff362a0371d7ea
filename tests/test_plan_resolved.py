"""The plan is fully resolved: schedules as `Schedule` (cron and period once) and delivery as whole-percent steps."""

from __future__ import annotations

import pytest

from mlops.blueprint import BlueprintError, format_path, load_text
from mlops.blueprint.model import DeliveryStrategy
from mlops.plan import plan
from mlops.plan.model import DeliveryPlan
from mlops.plan.schedule import KEYWORDS, Schedule, period_hours

# --------------------------------------------------------------------------- schedules


@pytest.mark.parametrize(("text", "cron", "hours"), [
    ("hourly", "0 * * * *", 1),
    ("daily", "0 0 * * *", 24),
    ("weekly", "0 0 * * 0", 168),
    ("monthly", "0 0 1 * *", 720),
])
def test_keywords_expand_with_the_vixie_meaning(text: str, cron: str, hours: int) -> None:
    assert Schedule.of(text) == Schedule(text=text, cron=cron, period_hours=hours)
    # the keyword written out is the same schedule (only the words quoted in descriptions differ)
    assert period_hours(cron) == hours


@pytest.mark.parametrize(("cron", "hours"), [
    ("0 * * * *", 1),          # hour `*`
    ("*/15 * * * *", 1),       # several runs an hour still count as hourly
    ("0 */6 * * *", 6),        # a step is its period
    ("0 */7 * * *", 7),        # … even where it does not divide the day (Vertex and AWS run every 7 hours)
    ("0 3/6 * * *", 6),
    ("0 */24 * * *", 24),
    ("0 9-17 * * *", 1),       # every hour of a range
    ("0 9,17 * * *", 12),      # a list shares the day
    ("0 3 * * *", 24),         # a fixed hour, every day
    ("30 2 * * 1-5", 24),      # weekdays: daily on the days it runs
    ("0 3 * * 1", 168),        # one weekday
    ("0 3 * * 7", 168),        # 7 is Sunday
    ("0 0 * * 1,4", 84),       # two weekdays share the week (3.5 days apart on average)
    ("0 0 15 * *", 720),       # one day of the month (a month counts 30 days)
    ("0 0 1,15 * *", 360),
    ("0 0 */2 * *", 48),
    ("0 0 1 */3 *", 2160),     # quarterly
    ("0 0 1 1 *", 8640),       # yearly (12 months of 30 days)
    ("0 0 1 * 1", 136),        # both day fields: Unix cron runs on either (1 / (1/30 + 1/7) days)
    ("0 * * * 1", 1),          # hourly, on Mondays
])
def test_cron_period_hours(cron: str, hours: int) -> None:
    assert period_hours(cron) == hours
    assert Schedule.of(cron).period_hours == hours


def test_the_text_is_kept_as_written_and_the_cron_normalised() -> None:
    schedule = Schedule.of("0  4 * *  *")
    assert (schedule.text, schedule.cron, schedule.period_hours) == ("0  4 * *  *", "0 4 * * *", 24)
    assert schedule.fields() == ("0", "4", "*", "*", "*")


@pytest.mark.parametrize(("text", "cron", "hours"), [
    ("0 2 * * MON-FRI", "0 2 * * 1-5", 24),
    ("0 2 * * SUN", "0 2 * * 0", 168),
    ("0 6 * * mon,Thu", "0 6 * * 1,4", 84),    # names are case-insensitive, as in cron
    ("0 0 1 JAN,JUL *", "0 0 1 1,7 *", 4320),
    ("0 0 * * SAT-SUN", None, None),           # a range that runs backwards in numbers (6-0) too
])
def test_month_and_day_names_become_numbers(text: str, cron: str | None, hours: int | None) -> None:
    if cron is None:
        with pytest.raises(ValueError):
            Schedule.of(text)
        return
    schedule = Schedule.of(text)
    assert (schedule.text, schedule.cron, schedule.period_hours) == (text, cron, hours)


@pytest.mark.parametrize("text", ["every day", "0 3 * *", "0 24 * * *", "61 * * * *", "0 0 5-1 * *", "0 0 * * */0",
                                  "0 2 * * MONDAY", "0 2 MON * *", "0 2 * * FOO"])
def test_what_is_not_a_schedule_does_not_resolve(text: str) -> None:
    with pytest.raises(ValueError):
        Schedule.of(text)


def test_keywords_are_the_only_table() -> None:
    assert set(KEYWORDS) == {"hourly", "daily", "weekly", "monthly"}


BLUEPRINT = """
name: demo
use_case: resolved plans
organisation: {name: Acme}
cloud: {provider: aws, region: us-east-1}
maturity: {target: 3}
environments: {prod: {account: "123456789012", monthly_budget_usd: 100}}
alerts: [{kind: email, target: ops@example.com}]
models:
  - name: scorer
    quality_gates: {metrics: [{metric: auc, threshold: 0.8}]}
    serving: {delivery: {strategy: rolling, canary_percent: 25}, multi_az: false}
    monitoring:
      drift: {schedule: hourly}
      quality: {metric: auc, threshold: 0.8, schedule: "0 */6 * * *"}
    retraining: {schedule: "0 3 * * 1", on_drift: true}
  - name: nightly
    serving: {mode: batch, schedule: "0 2 * * *", output_uri: "s3://bucket/out/"}
"""


def test_every_schedule_in_the_plan_is_resolved() -> None:
    p = plan(load_text(BLUEPRINT, "demo.yaml").blueprint, "prod")
    scorer, nightly = p.models
    drift, quality = scorer.monitoring.drift, scorer.monitoring.quality
    assert drift is not None and quality is not None and nightly.serving is not None
    assert drift.schedule == Schedule(text="hourly", cron="0 * * * *", period_hours=1)
    assert quality.schedule == Schedule(text="0 */6 * * *", cron="0 */6 * * *", period_hours=6)
    assert scorer.retraining.schedule == Schedule(text="0 3 * * 1", cron="0 3 * * 1", period_hours=168)
    assert nightly.serving.schedule == Schedule(text="0 2 * * *", cron="0 2 * * *", period_hours=24)
    assert scorer.serving is not None and scorer.serving.delivery.steps == (25, 50, 75, 100)
    assert nightly.serving.delivery == DeliveryPlan(strategy=DeliveryStrategy.all_at_once, steps=(100,),
                                                    bake_minutes=10, auto_rollback=True)
    # the plan prints as plain data, schedules included
    assert '"cron":"0 3 * * 1"' in p.model_dump_json()


# --------------------------------------------------------------------------- delivery steps


@pytest.mark.parametrize(("strategy", "percent", "steps"), [
    (DeliveryStrategy.canary, 5, (5, 100)),
    (DeliveryStrategy.canary, 99, (99, 100)),
    (DeliveryStrategy.rolling, 25, (25, 50, 75, 100)),
    (DeliveryStrategy.rolling, 30, (30, 60, 90, 100)),
    (DeliveryStrategy.rolling, 50, (50, 100)),
    (DeliveryStrategy.rolling, 60, (60, 100)),
    (DeliveryStrategy.blue_green, 10, (100,)),
    (DeliveryStrategy.all_at_once, 10, (100,)),
])
def test_delivery_steps_per_strategy(strategy: DeliveryStrategy, percent: float, steps: tuple[int, ...]) -> None:
    delivery = DeliveryPlan.of(strategy, percent, 15, False)
    assert delivery == DeliveryPlan(strategy=strategy, steps=steps, bake_minutes=15, auto_rollback=False)
    assert all(isinstance(step, int) for step in delivery.steps)


@pytest.mark.parametrize("percent", [12.5, 0, 100])
def test_a_step_that_is_not_a_whole_percent_from_1_to_99_is_refused(percent: float) -> None:
    with pytest.raises(ValueError, match="whole number from 1 to 99"):
        DeliveryPlan.of(DeliveryStrategy.canary, percent, 10, True)
    # where the strategy takes no step, the share is not used
    assert DeliveryPlan.of(DeliveryStrategy.blue_green, percent, 10, True).steps == (100,)


@pytest.mark.parametrize("cloud", [("aws", "us-east-1"), ("gcp", "europe-west4"), ("azure", "westeurope")])
def test_a_fractional_canary_is_a_located_blueprint_error_on_every_cloud(cloud: tuple[str, str]) -> None:
    text = BLUEPRINT.replace("provider: aws, region: us-east-1", f"provider: {cloud[0]}, region: {cloud[1]}") \
        .replace("strategy: rolling, canary_percent: 25", "strategy: canary, canary_percent: 12.5")
    with pytest.raises(BlueprintError) as caught:
        load_text(text, "demo.yaml")
    found = [(format_path(d.path), d.got) for d in caught.value.diagnostics if "delivery-step-percent" in d.message]
    assert found == [("models[0].serving.delivery.canary_percent", "12.5")]
    assert caught.value.lines()[0].startswith("demo.yaml:")
