"""One way to write durations and token counts for people, used by every output (terminal, reports, notes).

Durations: `< 1 min`, `25 min`, `6 h`, `12.5 h`, then days from 72 h on (`5.6 d`). Token and request
counts are written in full with thousands separators (`999,966`), never abbreviated (`1,000.0K` reads
as a million to some and hides the digits a reader checks against a bill). Money is in planner.core.money.
"""

from __future__ import annotations

import math

#: From this many hours on, durations are written in days.
DAYS_FROM_HOURS = 72.0


def _trim(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def duration(hours: float | None) -> str:
    """Hours for people: '< 1 min', '25 min', '6 h', '12.5 h', '5.6 d'; 'unknown' for None."""
    if hours is None or not math.isfinite(hours):
        return "unknown"
    if hours < 1 / 60:
        return "< 1 min"
    if hours < 1:
        minutes = round(hours * 60)
        return "1 h" if minutes >= 60 else f"{minutes} min"
    if hours < DAYS_FROM_HOURS:
        return f"{_trim(hours)} h"
    return f"{_trim(hours / 24)} d"


def count(n: int | float) -> str:
    """A count in full with thousands separators: 999,966 (never 1,000.0K)."""
    return f"{n:,.0f}"


def counted(n: int, ci: tuple[int, int]) -> str:
    """A count with the half-width of its 95% interval when it has one: '2,000,000 ±12,345'."""
    half = (ci[1] - ci[0]) // 2
    return count(n) if half == 0 else f"{count(n)} ±{count(half)}"
