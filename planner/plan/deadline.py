"""A deadline and a budget as the user gives them (`--deadline 12h`, `--budget $1,200`), parsed and bounded.

Their own module, below both the options (which validate them) and the plans (which judge against them),
so that neither has to import the other.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict

from planner.core.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)\s*$", re.I)
_UNIT_HOURS = {"m": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0}

#: Bounds that keep every later date and sum in range: a deadline within a century, a budget from a
#: micro-dollar (the precision of every amount printed) to 10^12 USD.
MAX_DEADLINE_YEARS = 100
MAX_DEADLINE_HOURS = MAX_DEADLINE_YEARS * 366 * 24
MAX_BUDGET_USD = Decimal(10) ** 12
MIN_BUDGET_USD = Decimal("0.000001")


class Deadline(BaseModel):
    """When the job must be done: the text given, the moment it names, and the hours from now to it."""

    model_config = ConfigDict(frozen=True)

    text: str
    at: datetime
    hours: float


def parse_deadline(value: str, *, now: datetime | None = None) -> Deadline:
    """`12h`, `90m`, `2d`, `1w` from now, or an ISO date-time (`2026-12-01T09:00`, `…Z`, `…+01:00`).

    A date-time without an offset is local time; a bare date means its midnight (local).
    """
    now = now or datetime.now(UTC).astimezone()
    text = value.strip()
    too_far = f"--deadline '{value}' is more than {MAX_DEADLINE_YEARS} years away; give a nearer one (or none)"
    m = _DURATION.match(text)
    if m:
        hours = float(m.group(1)) * _UNIT_HOURS[m.group(2)[0].lower()]
        if hours <= 0:
            raise UsageError(f"--deadline '{value}' must be in the future")
        if hours > MAX_DEADLINE_HOURS:
            raise UsageError(too_far)
        return Deadline(text=text, at=now + timedelta(hours=hours), hours=round(hours, 4))
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        try:
            at = datetime.combine(date.fromisoformat(iso), datetime.min.time())
        except ValueError:
            raise UsageError(
                f"--deadline '{value}' is neither a duration (e.g. 12h, 90m, 2d) "
                "nor an ISO date-time (e.g. 2026-12-01T09:00Z)"
            ) from None
    past = f"--deadline '{value}' is in the past (now is {now.isoformat(timespec='minutes')})"
    if at.tzinfo is None:
        try:
            at = at.astimezone()  # local time
        except (OverflowError, ValueError):  # year 1 or 9999 shifted out of range by the local offset
            raise UsageError(past if at.year < now.year else too_far) from None
    hours = (at - now).total_seconds() / 3600
    if hours <= 0:
        raise UsageError(past)
    if hours > MAX_DEADLINE_HOURS:
        raise UsageError(too_far)
    return Deadline(text=text, at=at, hours=round(hours, 4))


def parse_budget(value: str | Decimal | int | None) -> Decimal | None:
    """A budget in USD, e.g. `250`, `99.50` or `$1,200`; must be more than zero."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        raise UsageError(f"--budget '{value}' is not an amount in USD (e.g. 250 or 99.50)") from None
    if not amount.is_finite() or amount <= 0:
        raise UsageError(f"--budget '{value}' must be an amount above zero")
    if amount < MIN_BUDGET_USD:
        raise UsageError(f"--budget '{value}' is below ${MIN_BUDGET_USD}, the smallest amount batchplan reports")
    if amount > MAX_BUDGET_USD:
        raise UsageError(f"--budget '{value}' is above ${MAX_BUDGET_USD:,}, more than any batch job costs")
    return amount
