"""Retirement dates from a vendor's own machine-readable list, held against the tables' `retired`.

Anthropic's Python SDK warns about models it knows to be retiring (its DEPRECATED_MODELS table); every
release's table is kept in `pricing/_lifecycles/anthropic.yaml` (written by scripts/sdk_lifecycles.py). The
releases do not always agree with each other or with our reviewed date: Claude Sonnet 4.5 is listed for
2026-11-30 by 1.11.0-2.14.0 and no longer listed from 2.15.0. Where they disagree, the model says so, with
the releases, rather than picking one silently.
"""

from __future__ import annotations

import functools
import itertools
from datetime import date
from typing import Any

from planner.io.safeyaml import load_yaml
from planner.prices.matching import matches
from planner.prices.schema import ModelEntry
from planner.prices.tablefiles import shipped_pricing_dir


@functools.cache
def _releases(provider: str) -> tuple[str, str, tuple[tuple[str, dict[str, date]], ...]]:
    """(whose list, where it comes from, (release, {model name: retirement date}) oldest first) for a
    provider that has a `pricing/_lifecycles/<provider>.yaml`; empty releases for the others."""
    path = shipped_pricing_dir() / "_lifecycles" / f"{provider}.yaml"
    if not path.is_file():
        return "", "", ()
    raw: dict[str, Any] = load_yaml(path.read_text(encoding="utf-8"))
    releases = tuple(
        (str(version), {str(name): date.fromisoformat(str(day)) for name, day in (table or {}).items()})
        for version, table in raw["releases"].items()
    )
    return str(raw["list"]), str(raw["source"]), releases


def _listed(model: ModelEntry, table: dict[str, date]) -> date | None:
    """The date a release's table gives the model (under its id or any name its match rules accept)."""
    return next((day for name, day in table.items() if name == model.id or matches(model.match, name)), None)


def _cleaned_up(table: dict[str, date], day: date) -> bool:
    """Whether a release that stopped listing a model dated `day` dropped every entry up to that date: a
    release tidying away retirements that have passed, not one that changed its mind about this model."""
    return all(other > day for other in table.values())


def _runs(values: list[tuple[str, date | None]]) -> list[tuple[str, str, date | None]]:
    """Consecutive releases giving the same answer, as (first, last, date)."""
    runs: list[tuple[str, str, date | None]] = []
    for version, day in values:
        if runs and runs[-1][2] == day:
            runs[-1] = (runs[-1][0], version, day)
        else:
            runs.append((version, version, day))
    return runs


def lifecycle_note(provider: str, model: ModelEntry) -> str | None:
    """One note when the vendor's list (if the provider has one) and our table disagree on the model's
    retirement, else None."""
    whose, where, releases = _releases(provider)
    runs = _runs([(version, _listed(model, table)) for version, table in releases])
    while runs and runs[0][2] is None:  # releases from before the retirement was announced say nothing
        runs.pop(0)
    if not runs:
        return None
    dates = {day for _, _, day in runs if day is not None}
    tables = dict(releases)
    unexplained_drop = any(
        day is not None and following[2] is None and not _cleaned_up(tables[following[0]], day)
        for (_, _, day), following in itertools.pairwise(runs)
    )
    if len(dates) == 1 and model.retired in dates and not unexplained_drop:
        return None
    said = "; ".join(
        f"{first}{'' if first == last else f'-{last}'} {'list ' + str(day) if day else 'do not list it'}"
        for first, last, day in runs
    )
    ours = f"this table says {model.retired}" if model.retired else "this table gives no retirement date"
    return f"retirement dates disagree: {whose} {said}; {ours} (source: {where})"
