"""A resolved schedule: what the blueprint wrote, as five UTC cron fields, and the hours between runs (no pulumi).

Blueprint schedules are a keyword (`hourly`, `daily`, `weekly`, `monthly`) or five Unix cron fields in
UTC (minute hour day-of-month month day-of-week; months and days may be named, `JAN`, `MON-FRI`).
`Schedule.of(text)` resolves one once, in the plan;
back ends translate `cron` into their own syntax (EventBridge `cron(...)`, Cloud Scheduler, Azure ML
CronTrigger) and read `period_hours` where a cloud runs "every N hours" or a monitor scores one period.
No back end keeps a keyword table of its own.

Keywords mean what Vixie cron means by `@hourly` … `@monthly`: on the hour, midnight, Sunday midnight,
midnight on the first of the month.

`period_hours`, the hours between runs, is read from the fields (defined here and nowhere else):

- A field's spacing, in its own unit (hours, days of the month, days of the week, months) with its
  cycle (24, 30, 7, 12): one value runs once a cycle (the cycle); `*` or a range without a step runs
  every unit (1); a step (`*/N`, `A/N`, `A-B/N`) runs every N units, taken at its word even where N
  does not divide the cycle (the clouds that run every N hours read `*/7` as seven hours); a list
  shares the cycle evenly between its values (cycle / number of values).
- Several runs a day (the hour field is not one value): the spacing of the hour field. The day fields
  only say on which days that happens (`0 * * * 1` is hourly, on Mondays).
- One run a day (the hour field is one value): 24 times the days between runs. With both day fields `*`,
  one day; with one of them restricted, its spacing (a month counts 30 days: `monthly` is 720 hours,
  `weekly` 168); with both restricted (Unix cron runs when either matches) their runs add up:
  1 / (1 / day-of-month spacing + 1 / day-of-week spacing). A restricted month field multiplies the
  days by its spacing in months (`0 0 1 */3 *` runs every 90 days).
- Minutes are not counted: a schedule that runs several times an hour has a period of one hour (the
  monitoring limits refuse minutes other than 0 where a cloud cannot run them).
- Rounded to whole hours, at least one.

So: hourly 1, daily 24, weekly 168, monthly 720; `0 */6 * * *` 6; `0 3 * * *` 24; `0 9,17 * * *` 12;
`0 2 * * 1-5` 24; `0 3 * * 1` 168; `0 0 1,15 * *` 360.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mlops.blueprint.rules import CRON_BOUNDS, cron_values, numeric_cron

KEYWORDS: dict[str, str] = {
    "hourly": "0 * * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 0",
    "monthly": "0 0 1 * *",
}
"""Blueprint schedule keywords as five cron fields (UTC): the meaning Vixie cron gives @hourly … @monthly."""

# The cycle each field repeats in, in its own unit: hours a day, days a month (30), days a week, months a year.
_HOURS_A_DAY, _DAYS_A_MONTH, _DAYS_A_WEEK, _MONTHS_A_YEAR = 24, 30, 7, 12


def _spacing(field: str, values: set[int], cycle: int) -> float:
    """How many units of its own apart a field's values are (see the module docstring)."""
    if "," not in field:
        span, _, step = field.partition("/")
        if step:
            return int(step)
        if span == "*" or "-" in span:
            return 1
        return cycle
    return cycle / len(values)


def period_hours(cron: str) -> int:
    """Hours between runs of five cron fields (the rules in the module docstring)."""
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"expected five cron fields, got {len(fields)}")
    _, hour, day_of_month, month, day_of_week = fields
    values = [cron_values(f, low, high) for f, (low, high) in zip(fields, CRON_BOUNDS, strict=True)]
    hours = values[1]
    if len(hours) > 1:
        return max(1, round(_spacing(hour, hours, _HOURS_A_DAY)))
    weekdays = {d % 7 for d in values[4]}
    by_month = _spacing(day_of_month, values[2], _DAYS_A_MONTH)
    by_week = _spacing(day_of_week, weekdays, _DAYS_A_WEEK)
    if day_of_month != "*" and day_of_week != "*":
        days = 1 / (1 / by_month + 1 / by_week)
    elif day_of_month != "*":
        days = by_month
    elif day_of_week != "*":
        days = by_week
    else:
        days = 1.0
    if month != "*":
        days *= _spacing(month, values[3], _MONTHS_A_YEAR)
    return max(1, round(_HOURS_A_DAY * days))


class Schedule(BaseModel):
    """When something runs, resolved: the blueprint's words, five UTC cron fields and the hours between runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    """As the blueprint wrote it (`daily`, `0 4 * * *`): descriptions and documents quote it."""
    cron: str
    """Five cron fields in UTC, keywords expanded (`daily` → `0 0 * * *`), month and day names as numbers
    (`MON-FRI` → `1-5`), single spaces between fields."""
    period_hours: int
    """Hours between runs (hourly 1, daily 24, weekly 168, monthly 720; cron as the module docstring says)."""

    @classmethod
    def of(cls, text: str) -> Schedule:
        """Resolve a blueprint schedule. Raises ValueError for text that is neither a keyword nor five cron fields."""
        cron = KEYWORDS.get(text) or numeric_cron(text)
        return cls(text=text, cron=cron, period_hours=period_hours(cron))

    def fields(self) -> tuple[str, str, str, str, str]:
        """The five cron fields: minute, hour, day of month, month, day of week."""
        minute, hour, day_of_month, month, day_of_week = self.cron.split()
        return minute, hour, day_of_month, month, day_of_week
