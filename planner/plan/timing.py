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
from planner.core.money import usd, usd_display
from planner.core.units import duration
from planner.plan.deadline import Deadline
from planner.plan.options import TimingOptions
from planner.plan.turnaround import ENVELOPE_BYTES, Turnaround, estimate_turnaround
from planner.prices.pricing import PriceTable, ResolvedModel

USD = Annotated[Decimal, PlainSerializer(usd, return_type=str, when_used="json")]

PlanChoice = Literal["batch", "realtime", "split", "none", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class PlanOption(_Model):
    plan: Literal["batch", "realtime", "split"]
    batch_share: float
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
    cost_usd: USD | None = None
    hours: float | None = None
    within_budget: bool | None = None
    options: list[PlanOption] = Field(default_factory=list)
    summary: str


def _fits(hours: float | None, limit: float | None) -> bool | None:
    if limit is None:
        return None
    if hours is None:
        return None
    return hours <= limit


def _budget_ok(cost: Decimal, budget: Decimal | None) -> bool | None:
    return None if budget is None else cost <= budget


def _hrs(h: float | None) -> str:
    return "unknown time" if h is None else duration(h)


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


def plan_options(
    turnaround: Turnaround,
    *,
    realtime_cost: Decimal,
    batch_cost: Decimal | None,
    limit: float | None = None,
    budget: Decimal | None = None,
) -> list[PlanOption]:
    """Every way to run the job on one model: all batch (judged on p90), all realtime, and a split."""
    b = turnaround.batch
    rt_hours = turnaround.realtime.hours
    batch_ok = batch_cost is not None and b.supported
    options: list[PlanOption] = [
        PlanOption(plan="realtime", batch_share=0.0, cost_usd=realtime_cost, hours=rt_hours,
                   fits_deadline=_fits(rt_hours, limit), fits_budget=_budget_ok(realtime_cost, budget))
    ]
    if batch_ok and batch_cost is not None:
        options.insert(0, PlanOption(plan="batch", batch_share=1.0, cost_usd=batch_cost, hours=b.p90_hours,
                                     fits_deadline=_fits(b.p90_hours, limit),
                                     fits_budget=_budget_ok(batch_cost, budget)))
        split = _split(turnaround, realtime_cost, batch_cost, limit, budget)
        if split is not None:
            options.append(split)
    return options


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


def plan_for(
    turnaround: Turnaround,
    *,
    realtime_cost: Decimal,
    batch_cost: Decimal | None,
    deadline: Deadline | None = None,
    budget: Decimal | None = None,
    cannot_run: Sequence[str] = (),
) -> Plan:
    """The cheapest plan meeting the deadline (all batch, all realtime, or a split), checked against the budget.

    `cannot_run`: why the model cannot take the job at all (retired, requests over its limits): then
    there is no plan, and the summary says why."""
    limit = deadline.hours if deadline else None
    b = turnaround.batch
    batch_ok = batch_cost is not None and b.supported
    base = Plan(deadline=deadline.at if deadline else None, deadline_hours=limit, budget_usd=budget,
                choice="none", summary="")
    if cannot_run:
        return base.model_copy(update={
            "batch_fits": False if limit is not None else None,
            "realtime_fits": False if limit is not None else None,
            "summary": f"cannot run: {'; '.join(cannot_run)}",
        })
    options = plan_options(turnaround, realtime_cost=realtime_cost, batch_cost=batch_cost, limit=limit,
                           budget=budget)
    batch_hours = b.p90_hours if batch_ok else None
    rt_hours = turnaround.realtime.hours
    base = base.model_copy(update={
        "batch_fits": False if (limit is not None and not batch_ok) else _fits(batch_hours, limit),
        "realtime_fits": _fits(rt_hours, limit),
        "options": options,
    })
    chosen = pick(options, limit=limit, budget=budget)
    if chosen.status in ("unknown", "late", "none") or chosen.option is None:
        choice: PlanChoice = "unknown" if chosen.status == "unknown" else "none"
        why = ("the limits or turnaround figures needed to judge it are unknown" if choice == "unknown"
               else f"batch p90 {_hrs(batch_hours)}, realtime {_hrs(rt_hours)}")
        return base.model_copy(update={
            "choice": choice,
            "summary": f"nothing is known to finish within {_hrs(limit)} ({why})",
        })
    best = chosen.option
    within = _budget_ok(best.cost_usd, budget)
    what = {
        "batch": "all batch",
        "realtime": "all realtime",
        "split": f"split: {best.batch_share:.0%} batch, {1 - best.batch_share:.0%} realtime",
    }[best.plan]
    summary = f"{what}, {usd_display(best.cost_usd)}, about {_hrs(best.hours)}"
    if limit is not None:
        summary += f" (deadline {_hrs(limit)}; batch judged on p90)"
    if budget is not None:
        summary += (f"; within the {usd_display(budget)} budget" if within
                    else f"; over the {usd_display(budget)} budget")
    return base.model_copy(update={
        "choice": best.plan, "batch_share": best.batch_share, "cost_usd": best.cost_usd,
        "hours": best.hours, "within_budget": within, "summary": summary,
    })


def _split(
    t: Turnaround, realtime_cost: Decimal, batch_cost: Decimal | None, limit: float | None, budget: Decimal | None
) -> PlanOption | None:
    """The largest batch share whose waves finish (p90) by the deadline, the rest realtime in parallel."""
    b, rt = t.batch, t.realtime.hours
    if (limit is None or batch_cost is None or rt is None or b.waves is None
            or b.per_wave_p90_hours is None or b.per_wave_p90_hours <= 0):
        return None
    usable = limit - (b.creation_hours or 0.0)
    waves_fit = max(0, math.floor(usable / b.per_wave_p90_hours + 1e-9))
    if waves_fit == 0 or waves_fit >= b.waves:
        return None  # no batch fits at all, or all of it does: not a split
    share = Decimal(waves_fit) / Decimal(b.waves)
    rt_hours = float(1 - share) * rt
    if rt_hours > limit:
        return None
    cost = share * batch_cost + (1 - share) * realtime_cost
    hours = round(max(rt_hours, waves_fit * b.per_wave_p90_hours + (b.creation_hours or 0.0)), 2)
    return PlanOption(plan="split", batch_share=round(float(share), 4), cost_usd=cost, hours=hours,
                      fits_deadline=True, fits_budget=_budget_ok(cost, budget))


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
    realtime_cost: Decimal,
    batch_cost: Decimal | None,
    meter: PayloadMeter | None = None,
    options: TimingOptions | None = None,
    as_of: date | None = None,
    cannot_run: Sequence[str] = (),
) -> tuple[Turnaround, Plan | None]:
    """Turnaround of one model's job (observed history figures when there are enough), and its plan.

    The model's verdict on `as_of` (planner.plan.eligibility) decides whether batch is offered at all; a
    model that cannot run on that date (retired, not released) gets no plan but the reason."""
    from planner.plan.eligibility import eligibility

    if options is None:
        options = TimingOptions()
    tier, concurrency, latency_s = options.tier, options.concurrency, options.latency_s
    deadline, budget, use_history = options.deadline, options.budget, options.use_history
    table, model = resolved.table, resolved.model
    verdict = eligibility(resolved, as_of or today())
    kwargs: dict[str, Any] = {
        "requests": requests,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "payload_bytes": meter.scaled_bytes(requests) if meter else None,
        "reserved_output_tokens": meter.scaled_max_tokens(requests) if meter else None,
        "tier": tier_for(table.provider, tier),
        "concurrency": concurrency,
        "latency_s": latency_s,
        "verdict": verdict,
    }
    result = estimate_turnaround(table, model, **kwargs)
    if use_history and result.batch.supported:
        from planner.store.history import observed_for

        observed = observed_for(table.provider, [model.id, *model.aliases], result.batch.requests_per_file)
        if observed is not None:
            result = estimate_turnaround(table, model, observed=observed, **kwargs)
            batch = result.batch.model_copy(
                update={"notes": [f"per-wave p50/p90 observed: {observed.source}", *result.batch.notes]}
            )
            result = result.model_copy(update={"batch": batch})
    plan = None
    if (deadline is not None or budget is not None) and not verdict.runs:
        plan = Plan(deadline=deadline.at if deadline else None, deadline_hours=deadline.hours if deadline else None,
                    budget_usd=budget, batch_fits=False, realtime_fits=False, choice="none",
                    summary=f"no plan: {verdict.reasons[0]}")
    elif deadline is not None or budget is not None:
        plan = plan_for(result, realtime_cost=realtime_cost, batch_cost=batch_cost, deadline=deadline, budget=budget,
                        cannot_run=cannot_run)
    return result, plan
