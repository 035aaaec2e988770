"""The date an answer is for, when the user names none: today, or `$BATCHPLAN_AS_OF`.

Price tables change on dated versions, so every answer depends on a date. `--as-of` names it; without
that, `BATCHPLAN_AS_OF` (a YYYY-MM-DD date) is the default, which lets a script or a test suite get the
same answer on any day. Nothing else in the planner calls `date.today()`.
"""

from __future__ import annotations

import os
from datetime import date

from planner.core.errors import UsageError


def today() -> date:
    """`$BATCHPLAN_AS_OF` when set, else the calendar date."""
    raw = os.environ.get("BATCHPLAN_AS_OF", "").strip()
    if not raw:
        return date.today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"BATCHPLAN_AS_OF={raw!r} is not a date (YYYY-MM-DD)") from None
