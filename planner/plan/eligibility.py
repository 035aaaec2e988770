"""The one verdict: may this model run as a batch on this date, at what batch price, and why not.

Every surface (`models`, `check`, `estimate`, `report`, `prepare`, `validate`, turnaround and plans)
asks `eligibility()` and never re-derives any part of it. The verdict is in three layers:

- `runs`: the model can run at all on the date (released, not retired). A model that cannot run
  gets no batch price and no realtime recommendation: "retired on DATE: cannot run".
- `batch_prices`: what the batch would cost per 1M tokens (explicit, or the provider's default
  multiplier), or None when there is no batch offer for this model on this date.
- `qualifies`: a batch price exists and nothing about the endpoint, the fine-tune or the workload
  (context window, max output) stops the job; `reasons` lists every reason it does not, in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from planner.prices.pricing import PriceSet, ResolvedModel

#: `basis` when the table publishes a model's batch price / derives it from the default discount.
EXPLICIT = "explicit"
DEFAULT_MULTIPLIER = "default multiplier"


@dataclass(frozen=True)
class OverLimit:
    """Requests over one of the model's limits: how many, and the ids of the first few."""

    count: int = 0
    first_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkloadShape:
    """Per-request token counts of the job (the counted sample), for the context and output checks."""

    inputs: Sequence[int]
    outputs: Sequence[int]
    ids: Sequence[str] = ()


@dataclass(frozen=True)
class Eligibility:
    """The verdict for one resolved model on one date (see the module docstring)."""

    qualifies: bool
    reasons: tuple[str, ...]
    batch_prices: PriceSet | None
    basis: str
    runs: bool = True
    over_context_window: OverLimit = field(default_factory=OverLimit)
    over_max_output: OverLimit = field(default_factory=OverLimit)
    #: the reasons that stop the job running at all, batch or realtime (the date, requests over the
    #: model's limits): a model with any is never recommended
    blocking: tuple[str, ...] = ()

    @property
    def batch_offered(self) -> bool:
        """A batch price exists for this model today (the workload may still rule the job out)."""
        return self.batch_prices is not None


def is_fine_tuned(resolved: ResolvedModel) -> bool:
    return resolved.model.fine_tuned or resolved.requested.strip().lower().startswith("ft:")


def _over(values: Sequence[int], limit: int | None, ids: Sequence[str]) -> OverLimit:
    if limit is None:
        return OverLimit()
    hits = [i for i, v in enumerate(values) if v > limit]
    return OverLimit(len(hits), tuple(ids[i] for i in hits[:5] if i < len(ids)))


def eligibility(
    resolved: ResolvedModel,
    as_of: date,
    *,
    endpoints: Sequence[str] = (),
    workload: WorkloadShape | None = None,
) -> Eligibility:
    """Whether `resolved` may run as a batch on `as_of` (to every one of `endpoints`, with `workload`).

    >>> from planner.prices.pricing import load_pricebook
    >>> book = load_pricebook(date(2026, 11, 25))
    >>> eligibility(book.resolve("claude-2"), book.as_of).reasons
    ('retired on 2025-07-21: cannot run',)
    """
    reasons = _date_reasons(resolved, as_of)
    runs = not reasons
    blocking = list(reasons)
    prices, basis = _batch_offer(resolved)
    if not runs:
        prices, basis = None, reasons[0]
    elif prices is None:
        reasons.append(basis)
    else:
        reasons += _offer_reasons(resolved, endpoints)
    over_ctx = over_out = OverLimit()
    if workload is not None:
        over_ctx, over_out, limits = _workload_limits(resolved, workload)
        reasons += limits
        blocking += limits
    return Eligibility(
        qualifies=not reasons,
        reasons=tuple(reasons),
        batch_prices=prices,
        basis=basis,
        runs=runs,
        over_context_window=over_ctx,
        over_max_output=over_out,
        blocking=tuple(blocking),
    )


def _date_reasons(resolved: ResolvedModel, as_of: date) -> list[str]:
    """Why the model cannot run at all on `as_of` (retired, not yet released); empty when it can."""
    model = resolved.model
    reasons: list[str] = []
    if model.retired and model.retired <= as_of:
        reasons.append(f"retired on {model.retired}: cannot run")
    if model.released and model.released > as_of:
        reasons.append(f"not released until {model.released}: cannot run on {as_of}")
    return reasons


def _batch_offer(resolved: ResolvedModel) -> tuple[PriceSet | None, str]:
    """The batch prices the table gives the model (explicit, or the default discount) and their basis;
    no prices, and why, when there is no batch offer."""
    table, model = resolved.table, resolved.model
    if not table.batch.supported:
        return None, table.batch.reason or f"{table.name} has no batch API"
    if not model.batch.supported:
        return None, model.batch.reason or f"not in the {table.name} batch support list"
    if model.batch.prices is not None:
        return model.batch.prices, EXPLICIT
    if table.batch.default_multiplier is not None:
        return model.realtime.scaled(table.batch.default_multiplier), DEFAULT_MULTIPLIER
    return None, "no batch price published"


def _offer_reasons(resolved: ResolvedModel, endpoints: Sequence[str]) -> list[str]:
    """What stops a batch that is offered: an endpoint the batch API does not take, a fine-tune it does not."""
    table, model = resolved.table, resolved.model
    allowed = model.batch.endpoints or table.batch.endpoints
    reasons = [f"endpoint {endpoint} is not allowed for batch (allowed: {', '.join(allowed)})"
               for endpoint in dict.fromkeys(endpoints) if allowed and endpoint not in allowed]
    if is_fine_tuned(resolved) and not table.batch.fine_tuned_supported:
        src = f" ({table.batch.fine_tuned_source})" if table.batch.fine_tuned_source else ""
        reasons.append(f"fine-tuned models are not supported by {table.name} batch{src}")
    return reasons


def _workload_limits(resolved: ResolvedModel, workload: WorkloadShape) -> tuple[OverLimit, OverLimit, list[str]]:
    """The requests over the model's context window (input + output) and over its output limit, and the
    reasons they give: they stop the job, batch or realtime."""
    model = resolved.model
    totals = [i + o for i, o in zip(workload.inputs, workload.outputs, strict=True)]
    over_ctx = _over(totals, model.context_window, workload.ids)
    over_out = _over(workload.outputs, model.max_output, workload.ids)
    limits = []
    if over_ctx.count:
        limits.append(
            f"{over_ctx.count:,} request(s) exceed the {model.context_window:,}-token context window "
            f"(input + output), e.g. {', '.join(over_ctx.first_ids)}"
        )
    if over_out.count:
        limits.append(
            f"{over_out.count:,} request(s) ask for more than the {model.max_output:,}-token output limit, "
            f"e.g. {', '.join(over_out.first_ids)}"
        )
    return over_ctx, over_out, limits


def model_reasons(resolved: ResolvedModel, as_of: date, endpoint: str | None = None) -> list[str]:
    """The reasons of `eligibility()` alone (kept for callers that only print them)."""
    return list(eligibility(resolved, as_of, endpoints=[endpoint] if endpoint else ()).reasons)
