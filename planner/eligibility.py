"""Does a model qualify for its provider's batch API on a date? Every reason it does not, in words."""

from __future__ import annotations

from datetime import date

from planner.pricing import ResolvedModel


def is_fine_tuned(resolved: ResolvedModel) -> bool:
    return resolved.model.fine_tuned or resolved.requested.strip().lower().startswith("ft:")


def model_reasons(resolved: ResolvedModel, as_of: date, endpoint: str | None = None) -> list[str]:
    """Why `resolved` cannot be sent as a batch on `as_of` (to `endpoint`); empty when it qualifies."""
    reasons: list[str] = []
    table, model = resolved.table, resolved.model
    if not table.batch.supported:
        reasons.append(table.batch.reason or f"{table.name} has no batch API")
        return reasons
    if not model.batch.supported:
        reasons.append(model.batch.reason or f"not in the {table.name} batch support list")
    if endpoint is not None:
        allowed = model.batch.endpoints or table.batch.endpoints
        if allowed and endpoint not in allowed:
            reasons.append(f"endpoint {endpoint} is not allowed for batch (allowed: {', '.join(allowed)})")
    if model.retired and model.retired <= as_of:
        reasons.append(f"retired on {model.retired}")
    if model.released and model.released > as_of:
        reasons.append(f"not released until {model.released}")
    if is_fine_tuned(resolved) and not table.batch.fine_tuned_supported:
        src = f" ({table.batch.fine_tuned_source})" if table.batch.fine_tuned_source else ""
        reasons.append(f"fine-tuned models are not supported by {table.name} batch{src}")
    return reasons
