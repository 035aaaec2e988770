"""Does a model qualify for its provider's batch API on a date? (placeholder until issue 3 lands)"""

from __future__ import annotations

from datetime import date

from planner.pricing import ResolvedModel


def model_reasons(resolved: ResolvedModel, as_of: date, endpoint: str | None = None) -> list[str]:
    reasons: list[str] = []
    table, model = resolved.table, resolved.model
    if not table.batch.supported:
        reasons.append(table.batch.reason or f"{table.name} has no batch API")
    elif not model.batch.supported:
        reasons.append(model.batch.reason or "not in the batch support list")
    if model.retired and model.retired <= as_of:
        reasons.append(f"retired on {model.retired}")
    return reasons
