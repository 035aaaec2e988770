"""Deadlines and budgets: does batch fit, does realtime fit, and the cheapest plan that meets them.

A plan sends a share of the requests through batch and the rest realtime, both at once (batch has
its own quota). Batch time is judged on its p90 (waves × per-wave p90): a deadline plan should hold
on a bad day, not only on a typical one. Money stays Decimal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from planner.core.clock import today
from planner.core.money import usd
from planner.plan.options import TimingOptions
from planner.plan.turnaround import (
    DEFAULT_DECODE_TOKENS_PER_S,
    DEFAULT_LATENCY_BASE_S,
    ENVELOPE_BYTES,
    RealtimeDuration,
    Turnaround,
    default_latency_s,
    estimate_turnaround,
    find_tier,
    realtime_duration,
)
from planner.prices.pricing import ModelEntry, PriceTable, RateLimits, ResolvedModel
from planner.prices.schema import ModeTerms

USD = Annotated[Decimal, PlainSerializer(usd, return_type=str, when_used="json")]

PlanChoice = Literal["batch", "realtime", "split", "flex", "priority", "none", "unknown"]
#: The synchronous modes a split sends its non-batch share through (standard is `realtime` in a plan).
SyncMode = Literal["standard", "flex", "priority"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class PlanOption(_Model):
    """One way to run the job: a mode alone (`realtime` is standard), or a split of batch and `split_with`."""

    plan: Literal["batch", "realtime", "split", "flex", "priority"]
    batch_share: float
    split_with: SyncMode | None = None
    cost_usd: USD
    hours: float | None
    fits_deadline: bool | None
    fits_budget: bool | None


class Plan(_Model):
    deadline: datetime | None = None
    deadline_hours: float | None = None
    budget_usd: USD | None = None
    batch_fits: bool | None = None
    realtime_fits: bool | None = None
    choice: PlanChoice
    batch_share: float | None = None
    split_with: SyncMode | None = None
    cost_usd: USD | None = None
    hours: float | None = None
    within_budget: bool | None = None
    options: list[PlanOption] = Field(default_factory=list)
    summary: str


def fits(hours: float | None, limit: float | None) -> bool | None:
    """Whether `hours` meet the deadline `limit`; None when either is unknown (no deadline, no time)."""
    return None if limit is None or hours is None else hours <= limit


def budget_ok(cost: Decimal, budget: Decimal | None) -> bool | None:
    return None if budget is None else cost <= budget


PickStatus = Literal["fits", "over_budget", "unknown", "late", "none"]


class Pick(_Model):
    """What one model's plan comes to: the option chosen and how it stands against the limits.

    `fits`: meets the deadline and the budget (each when given). `over_budget`: the cheapest option
    that meets the deadline costs more than the budget. `unknown`: nothing is known to meet the
    deadline, but an option's time is unknown. `late`: every option misses the deadline; `option` is
    the closest (the least late within budget, else the least late). `none`: no option at all."""

    status: PickStatus
    option: PlanOption | None = None
    late_by_hours: float | None = None
    over_budget_usd: USD | None = None


def pick(options: Sequence[PlanOption], *, limit: float | None = None, budget: Decimal | None = None) -> Pick:
    """The one decision of a model's plan (the recommendation and every surface read it).

    The cheapest option meeting the deadline, checked against the budget; when nothing is known to meet
    the deadline, the closest option and by how much it misses."""
    if not options:
        return Pick(status="none")

    def cheapest(these: Sequence[PlanOption]) -> PlanOption:
        return min(these, key=lambda o: (o.cost_usd, o.hours if o.hours is not None else math.inf))

    def over(o: PlanOption) -> Decimal | None:
        return o.cost_usd - budget if budget is not None and o.cost_usd > budget else None

    meeting = [o for o in options if limit is None or o.fits_deadline]
    if meeting:
        best = cheapest(meeting)
        if budget is not None and best.cost_usd > budget:
            return Pick(status="over_budget", option=best, over_budget_usd=over(best))
        return Pick(status="fits", option=best)
    assert limit is not None
    unknown = [o for o in options if o.fits_deadline is None]
    if unknown:
        best = cheapest(unknown)
        return Pick(status="unknown", option=best, over_budget_usd=over(best))
    affordable = [o for o in options if budget is None or o.cost_usd <= budget] or list(options)
    best = min(affordable, key=lambda o: (o.hours if o.hours is not None else math.inf, o.cost_usd))
    late = round(best.hours - limit, 2) if best.hours is not None else None
    return Pick(status="late", option=best, late_by_hours=late, over_budget_usd=over(best))


def split_option(
    t: Turnaround, *, sync_hours: float | None, sync_cost: Decimal, batch_cost: Decimal, limit: float | None,
    budget: Decimal | None, split_with: SyncMode = "standard",
) -> PlanOption | None:
    """The largest batch share whose waves finish (p90) by the deadline, the rest sent in `split_with` at the
    same time (batch has its own quota); None when no batch fits, or all of it does (not a split)."""
    b = t.batch
    if (limit is None or sync_hours is None or b.waves is None
            or b.per_wave_p90_hours is None or b.per_wave_p90_hours <= 0):
        return None
    usable = limit - (b.creation_hours or 0.0)
    waves_fit = max(0, math.floor(usable / b.per_wave_p90_hours + 1e-9))
    if waves_fit == 0 or waves_fit >= b.waves:
        return None
    share = Decimal(waves_fit) / Decimal(b.waves)
    rest_hours = float(1 - share) * sync_hours
    if rest_hours > limit:
        return None
    cost = share * batch_cost + (1 - share) * sync_cost
    hours = round(max(rest_hours, waves_fit * b.per_wave_p90_hours + (b.creation_hours or 0.0)), 2)
    return PlanOption(plan="split", batch_share=round(float(share), 4), split_with=split_with, cost_usd=cost,
                      hours=hours, fits_deadline=True, fits_budget=budget_ok(cost, budget))


# ---------------------------------------------------------------------------------------------
# Wiring for `estimate()`: one call per model, kept here so estimate.py only adds a line or two.


def _tier_values(tiers: str | Sequence[str] | None) -> list[str]:
    if tiers is None:
        return []
    return [tiers] if isinstance(tiers, str) else list(tiers)


def check_tiers(
    tiers: str | Sequence[str] | None, asked: Sequence[PriceTable], known: Mapping[str, PriceTable]
) -> None:
    """Refuse a `--tier` that names no tier: `PROVIDER=TIER` with an unknown provider or tier, or a bare
    `TIER` no table asked about knows. The error lists the known values and the nearest one.

    Spellings people use are one tier: `1`, `tier1`, `Tier 1`, `tier-1` (planner.plan.turnaround.tier_key).
    A bare tier known to some of the providers asked about is kept; the others say so in their notes."""
    from planner.core.errors import UsageError
    from planner.plan.turnaround import match_tier, tier_key, tier_names

    def nearest(value: str, names: Sequence[str]) -> str:
        import difflib

        keyed = {tier_key(n): n for n in names}
        close = difflib.get_close_matches(tier_key(value), list(keyed), n=1, cutoff=0.5)
        return f"; nearest: {keyed[close[0]]}" if close else ""

    for value in _tier_values(tiers):
        head, sep, rest = value.partition("=")
        if sep:
            provider, tier = head.strip(), rest.strip()
            if provider not in known:
                names = sorted(known)
                raise UsageError(f"--tier {value}: unknown provider '{provider}'; known: {', '.join(names)}"
                                 f"{nearest(provider, names)}")
            names = tier_names(known[provider])
            if not names:
                raise UsageError(f"--tier {value}: {known[provider].name} publishes no rate-limit tiers in its table")
            if not tier or match_tier(names, tier) is None:
                raise UsageError(f"--tier {value}: {provider} has no tier '{tier}'; known: {', '.join(names)}"
                                 f"{nearest(tier, names)}")
            continue
        tier = value.strip()
        tables = list({t.provider: t for t in asked}.values())
        if any(match_tier(tier_names(t), tier) is not None for t in tables):
            continue
        per = "; ".join(f"{t.provider}: {', '.join(tier_names(t)) or 'none published'}" for t in tables)
        every = [n for t in tables for n in tier_names(t)]
        raise UsageError(f"--tier '{tier}' is not a tier of {', '.join(t.provider for t in tables)} (known: {per})"
                         f"{nearest(tier, every)}")


def tier_for(provider: str, tiers: str | Sequence[str] | None) -> str | None:
    """`--tier` values are `TIER` (every provider) or `PROVIDER=TIER`; the provider-specific one wins."""
    if tiers is None:
        return None
    values = [tiers] if isinstance(tiers, str) else list(tiers)
    general: str | None = None
    for v in values:
        head, sep, rest = v.partition("=")
        if sep and head.strip() == provider:
            return rest.strip()
        if not sep:
            general = v.strip()
    return general


class PayloadMeter:
    """What the batch files will weigh: requests, their bodies' bytes (plus the batch-line envelope) and
    the max_tokens they reserve, summed as the dataset streams past."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        self.max_tokens = 0
        self.with_max_tokens = 0

    def add_many(self, requests: int, body_bytes: int, max_tokens: Sequence[int | None]) -> None:
        """Count `requests` requests whose bodies total `body_bytes`, with their max_tokens."""
        self.requests += requests
        self.bytes += body_bytes + requests * ENVELOPE_BYTES
        given = [m for m in max_tokens if m is not None]
        self.max_tokens += sum(given)
        self.with_max_tokens += len(given)

    def scaled_bytes(self, job_requests: int) -> int | None:
        if not self.requests:
            return None
        return math.ceil(self.bytes * job_requests / self.requests)

    def scaled_max_tokens(self, job_requests: int) -> int | None:
        """The max_tokens the limiter reserves, when every counted request sets one."""
        if not self.requests or self.with_max_tokens < self.requests:
            return None
        return math.ceil(self.max_tokens * job_requests / self.requests)


def timing(
    resolved: ResolvedModel,
    *,
    requests: int,
    input_tokens: int,
    output_tokens: int,
    meter: PayloadMeter | None = None,
    options: TimingOptions | None = None,
    as_of: date | None = None,
) -> Turnaround:
    """Turnaround of one model's job (observed history figures when there are enough), with the duration of
    each synchronous mode beside standard under its own limits and latency.

    The model's verdict on `as_of` (planner.plan.eligibility) decides whether batch is offered at all."""
    from planner.plan.eligibility import eligibility

    options = options or TimingOptions()
    table, model = resolved.table, resolved.model
    verdict = eligibility(resolved, as_of or today())
    kwargs: dict[str, Any] = {
        "requests": requests,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "payload_bytes": meter.scaled_bytes(requests) if meter else None,
        "reserved_output_tokens": meter.scaled_max_tokens(requests) if meter else None,
        "tier": tier_for(table.provider, options.tier),
        "concurrency": options.concurrency,
        "latency_s": options.latency_s,
        "verdict": verdict,
    }
    result = estimate_turnaround(table, model, **kwargs)
    if options.use_history and result.batch.supported:
        result = _with_history(resolved, result, kwargs)
    by_mode = {mode: mode_duration(table, model, terms, **kwargs)
               for mode, terms in table.modes.items() if terms.supported}
    return result.model_copy(update={"by_mode": by_mode})


def _with_history(resolved: ResolvedModel, result: Turnaround, kwargs: dict[str, Any]) -> Turnaround:
    """The turnaround again with the per-wave figures your reconciled batches observed, when there are enough."""
    from planner.store.history import observed_for

    table, model = resolved.table, resolved.model
    observed = observed_for(table.provider, [model.id, *model.aliases], result.batch.requests_per_file)
    if observed is None:
        return result
    result = estimate_turnaround(table, model, observed=observed, **kwargs)
    batch = result.batch.model_copy(
        update={"notes": [f"per-wave p50/p90 observed: {observed.source}", *result.batch.notes]}
    )
    return result.model_copy(update={"batch": batch})


def mode_duration(table: PriceTable, model: ModelEntry, terms: ModeTerms, **kwargs: Any) -> RealtimeDuration:
    """A synchronous mode's duration: the tier's limits times the mode's multiplier; with `--concurrency`, a
    latency of at least the mode's target (p50) per request, or quicker by its stated output speed-up."""
    name, limits, note = find_tier(table, model, kwargs["tier"])
    factor = terms.rate_limit_multiplier
    if limits is not None and factor != 1:
        scaled = {k: (int(v * factor) if isinstance(v, int) else v) for k, v in limits.model_dump().items()}
        limits = RateLimits(**scaled)
    latency = kwargs["latency_s"]
    if terms.latency_p50_s is not None and kwargs["concurrency"] is not None:
        # a queued mode answers in its target time, however fast the model decodes
        requests = max(1, kwargs["requests"])
        own = latency if latency is not None else default_latency_s(kwargs["output_tokens"] / requests)
        latency = max(own, float(terms.latency_p50_s))
    if terms.output_speedup is not None and kwargs["concurrency"] is not None:
        requests = max(1, kwargs["requests"])
        per_request = kwargs["output_tokens"] / requests
        decode = per_request / DEFAULT_DECODE_TOKENS_PER_S
        base = (latency - decode) if latency is not None and latency > decode else DEFAULT_LATENCY_BASE_S
        latency = base + decode / float(terms.output_speedup)
    return realtime_duration(
        table, limits, name, note, requests=kwargs["requests"], input_tokens=kwargs["input_tokens"],
        output_tokens=kwargs["output_tokens"], reserved_output_tokens=kwargs["reserved_output_tokens"],
        concurrency=kwargs["concurrency"], latency_s=latency,
    )
