"""Plan schedules (five Unix cron fields, UTC, keywords already expanded) → EventBridge `cron(...)` expressions.

No pulumi import: the same conversion serves EventBridge Scheduler (retraining, batch transforms, the
drift and quality jobs) and EventBridge rules.
EventBridge cron has six fields (minutes hours day-of-month month day-of-week year), one of
day-of-month / day-of-week must be `?`, and days of the week count 1-7 from Sunday (Unix: 0-6, 7 = Sunday).
"""

from __future__ import annotations

from mlops.plan.schedule import Schedule

_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


class ScheduleError(ValueError):
    """A schedule EventBridge cannot express (the message says why and what would work)."""


def _day(number: str) -> int:
    value = int(number)
    if not 0 <= value <= 7:
        raise ScheduleError(f"day of week {value} is out of range 0-7")
    return value % 7


def _days_of_week(field: str) -> str:
    """Unix day-of-week list/ranges → EventBridge day names (ranges that end on 7 = Sunday are split)."""
    parts: list[str] = []
    for item in field.split(","):
        if "/" in item:
            raise ScheduleError("EventBridge cron has no step (`/`) in the day-of-week field; list the days instead")
        if "-" in item:
            low, high = (int(v) for v in item.split("-"))
            if high == 7:
                parts.append("SUN")
                high = 6
            if low > high:
                raise ScheduleError(f"day-of-week range {item} runs backwards")
            parts.append(_DAY_NAMES[low % 7] if low % 7 == high else f"{_DAY_NAMES[low % 7]}-{_DAY_NAMES[high]}")
        else:
            parts.append(_DAY_NAMES[_day(item)])
    return ",".join(dict.fromkeys(parts))


def eventbridge_cron(schedule: Schedule) -> str:
    """`cron(...)` for a plan schedule. Raises ScheduleError when EventBridge cannot express it."""
    minute, hour, day_of_month, month, day_of_week = schedule.fields()
    if day_of_week == "*":
        day_of_week = "?"
    elif day_of_month == "*":
        day_of_month = "?"
        day_of_week = _days_of_week(day_of_week)
    else:
        # Unix cron runs when EITHER field matches; EventBridge cannot say "either".
        raise ScheduleError("EventBridge cron cannot restrict both day of month and day of week; "
                            "set one of them to *")
    return f"cron({minute} {hour} {day_of_month} {month} {day_of_week} *)"
