"""Every way to run the job on one model: standard, flex, priority and batch, and mixes of batch with one of
the synchronous modes.

A mode is the same model at other prices and speeds (planner.prices.schema.ModeTerms): flex is the normal API
at (about) batch prices that may refuse requests at peak; priority costs more for lower latency; batch is the
file-based queue. The one verdict (planner.plan.eligibility) still decides whether the model runs at all and
whether batch is offered; this module adds each synchronous mode's offer on top of it, and times each mode.

How each mode is judged, so that a plan holds on a bad day and never on a promise:
- standard: the tier's rate limits (and `--concurrency` with its latency), as before.
- flex: the same limits (times the vendor's stated multiplier), at least the vendor's latency target, and a
  stated share of requests refused at peak (`flex_refused`, an assumption, never a vendor figure): they are
  sent again at the standard price so the job still finishes, which costs that share the difference and
  sends that share twice.
- priority: the tier's limits, and the vendor's stated output speed-up where it states one.
- batch: the p90 of its waves (planner.plan.turnaround).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Literal, cast

from planner.core.units import duration
from planner.plan.deadline import Deadline
from planner.plan.eligibility import Eligibility, eligibility
from planner.plan.results import CostRange, ModeEstimate, ModeName
from planner.plan.timing import Plan, PlanOption, SyncMode, budget_ok, fits, pick, split_option
from planner.plan.turnaround import RealtimeDuration, Turnaround
from planner.prices.pricing import PriceSet, ResolvedModel
from planner.prices.schema import MODES, ModeTerms

SYNC_MODES: tuple[SyncMode, ...] = ("standard", "flex", "priority")


def _terms(resolved: ResolvedModel, mode: str) -> ModeTerms | None:
    return resolved.table.modes.get(mode) if mode in ("flex", "priority") else None  # type: ignore[call-overload]


def _label(resolved: ResolvedModel, mode: str) -> tuple[str | None, str | None]:
    terms = _terms(resolved, mode)
    if terms is not None:
        return terms.label, terms.request_field
    if mode == "batch" and resolved.table.batch.supported:
        return "Batch API", None
    return None, None


def mode_offer(resolved: ResolvedModel, verdict: Eligibility, mode: str, *, sheddable: bool = True) -> ModeEstimate:
    """One mode's offer and verdict for a model (no costs yet): what the table prices, and every reason the
    job cannot run in it. Batch's verdict is the eligibility's own; the synchronous modes share its date and
    workload limits (`blocking`) and add their own offer, and flex is left out when refusals are not
    tolerated (`sheddable` False)."""
    prices, basis = resolved.table.mode_prices(resolved.model, mode)
    terms = _terms(resolved, mode)
    label, field = _label(resolved, mode)
    is_sheddable = bool(terms and terms.sheddable)
    if mode == "batch":
        reasons = list(verdict.reasons)
        offered = verdict.batch_offered
        basis = verdict.basis
    else:
        offered = prices is not None and verdict.runs
        reasons = list(verdict.blocking) if verdict.runs else list(verdict.reasons)
        if verdict.runs and prices is None:
            reasons.insert(0, basis)
        if is_sheddable and not sheddable and offered:
            reasons.append("requests can be refused at peak, and the job cannot tolerate refusals (--no-sheddable)")
    return ModeEstimate(
        mode=cast(ModeName, mode), offered=offered, qualifies=offered and not reasons, reasons=reasons,
        price_basis=basis, sheddable=is_sheddable, label=label, request_field=field,
        vendor_target=mode == "batch" or bool(terms and (terms.latency_p50_s or terms.latency_p90_s)),
    )


def mode_offers(
    resolved: ResolvedModel, as_of: date, *, modes: Sequence[str] = MODES, sheddable: bool = True,
    endpoints: Sequence[str] = (),
) -> dict[str, ModeEstimate]:
    """Each mode's verdict for a model on `as_of`, without a workload (what `check` and `models` show)."""
    verdict = eligibility(resolved, as_of, endpoints=endpoints)
    return {m: mode_offer(resolved, verdict, m, sheddable=sheddable) for m in modes}


def mode_prices(resolved: ResolvedModel, mode: str) -> PriceSet | None:
    return resolved.table.mode_prices(resolved.model, mode)[0]


def with_fallback(flex: ModeEstimate, standard_cost: Decimal, standard_range: CostRange,
                  standard_ci: tuple[Decimal, Decimal], refused: float) -> ModeEstimate:
    """A sheddable mode's cost as a plan judges it: the refused share sent again at the standard price.
    Its range runs from nothing refused (the mode's own low) to the refused share at standard's high."""
    if flex.cost_usd is None or flex.cost_range is None or flex.cost_ci95 is None or not flex.sheddable:
        return flex
    r = Decimal(repr(refused))

    def mix(own: Decimal, std: Decimal) -> Decimal:
        return (1 - r) * own + r * std

    judged = mix(flex.cost_usd, standard_cost)
    rng = CostRange(low=flex.cost_range.low, expected=judged, high=mix(flex.cost_range.high, standard_range.high))
    ci = (mix(flex.cost_ci95[0], standard_ci[0]), mix(flex.cost_ci95[1], standard_ci[1]))
    note = (f"assumes {refused:.0%} of requests refused at peak and sent again at the standard price "
            "(--flex-refused; an assumption, not a vendor figure)")
    return flex.model_copy(update={"cost_usd": judged, "cost_range": rng, "cost_ci95": ci, "refused_share": refused,
                                   "notes": [*flex.notes, note]})


# ---------------------------------------------------------------------------------------------
# Time per mode


def _sync_hours(mode: str, terms: ModeTerms | None, duration_: RealtimeDuration | None, refused: float
                ) -> tuple[float | None, str, list[str]]:
    """A synchronous mode's judged hours from its duration under the limits, and what they rest on."""
    if duration_ is None or duration_.hours is None:
        return None, "rate limits unknown", []
    hours = duration_.hours
    basis = f"{duration_.bound_by} of {duration_.tier}" if duration_.tier else duration_.bound_by
    notes: list[str] = []
    target = _target(terms)
    if terms is not None and terms.latency_p90_s is not None and target is not None:
        tail = float(terms.latency_p90_s) / 3600
        if tail > hours:
            hours, basis = tail, "the vendor's latency target"
        notes.append(f"{mode}: the vendor's target latency per request is {_latency_range(target)} "
                     f"({terms.latency_source}); a target, not a promise")
    if terms is not None and terms.sheddable:
        hours *= 1 + refused
        basis += f", {refused:.0%} sent again"
    return round(hours, 3), basis, notes


def _target(terms: ModeTerms | None) -> tuple[float, float] | None:
    if terms is None or (terms.latency_p50_s is None and terms.latency_p90_s is None):
        return None
    lo = terms.latency_p50_s if terms.latency_p50_s is not None else terms.latency_p90_s
    hi = terms.latency_p90_s if terms.latency_p90_s is not None else terms.latency_p50_s
    assert lo is not None and hi is not None
    return float(lo), float(hi)


def _latency_range(target: tuple[float, float]) -> str:
    """'8 min to 15 min', or '15 min' when the vendor states one figure."""
    return " to ".join(dict.fromkeys(duration(v / 3600) for v in target))


def timed(modes: Mapping[str, ModeEstimate], resolved: ResolvedModel, turnaround: Turnaround, refused: float
          ) -> dict[str, ModeEstimate]:
    """Each mode with the hours a plan judges it on (see the module docstring)."""
    out: dict[str, ModeEstimate] = {}
    for name, m in modes.items():
        if name == "batch":
            b = turnaround.batch
            hours = b.p90_hours if b.supported else None
            basis = f"p90 of {b.waves:,} wave(s)" if b.supported and b.waves else "no batch"
            out[name] = m.model_copy(update={"hours": hours, "hours_basis": basis})
            continue
        if not m.offered:
            out[name] = m
            continue
        dur = turnaround.realtime if name == "standard" else turnaround.by_mode.get(name)
        terms = _terms(resolved, name)
        hours, basis, notes = _sync_hours(name, terms, dur, refused)
        out[name] = m.model_copy(update={"hours": hours, "hours_basis": basis, "notes": [*m.notes, *notes],
                                         "latency_target_s": _target(terms)})
    return out


# ---------------------------------------------------------------------------------------------
# Plans across modes


def plan_options(modes: Mapping[str, ModeEstimate], turnaround: Turnaround | None, *, limit: float | None,
                 budget: Decimal | None) -> list[PlanOption]:
    """Every way to run the job on one model: each qualifying mode alone, and batch mixed with each
    qualifying synchronous mode (the largest batch share whose waves finish, p90, by the deadline)."""
    options: list[PlanOption] = []
    for name, m in modes.items():
        if not m.qualifies or m.cost_usd is None:
            continue
        plan = cast(Literal["batch", "realtime", "flex", "priority"], "realtime" if name == "standard" else name)
        hours = m.hours if turnaround is not None else None
        options.append(PlanOption(plan=plan, batch_share=1.0 if name == "batch" else 0.0, cost_usd=m.cost_usd,
                                  hours=hours, fits_deadline=fits(hours, limit),
                                  fits_budget=budget_ok(m.cost_usd, budget)))
    batch = modes.get("batch")
    if turnaround is None or batch is None or not batch.qualifies or batch.cost_usd is None:
        return options
    for name in SYNC_MODES:
        sync = modes.get(name)
        if sync is None or not sync.qualifies or sync.cost_usd is None:
            continue
        split = split_option(turnaround, sync_hours=sync.hours, sync_cost=sync.cost_usd, batch_cost=batch.cost_usd,
                             limit=limit, budget=budget, split_with=name)
        if split is not None:
            options.append(split)
    return options


def plan(modes: Mapping[str, ModeEstimate], turnaround: Turnaround, *, deadline_hours: float | None,
         budget: Decimal | None, base: Plan) -> Plan:
    """The plan of one runnable model against the deadline and the budget (planner.plan.timing.pick decides)."""
    options = plan_options(modes, turnaround, limit=deadline_hours, budget=budget)
    batch, standard = modes.get("batch"), modes.get("standard")
    batch_hours = batch.hours if batch is not None and batch.qualifies else None
    base = base.model_copy(update={
        "batch_fits": (False if deadline_hours is not None and (batch is None or not batch.qualifies)
                       else fits(batch_hours, deadline_hours)),
        "realtime_fits": fits(standard.hours if standard is not None else None, deadline_hours),
        "options": options,
    })
    chosen = pick(options, limit=deadline_hours, budget=budget)
    if chosen.status in ("unknown", "late", "none") or chosen.option is None:
        unknown = chosen.status == "unknown"
        why = ("the limits or turnaround figures needed to judge it are unknown" if unknown
               else ", ".join(f"{name} {_hrs(m.hours)}" for name, m in modes.items() if m.qualifies))
        return base.model_copy(update={"choice": "unknown" if unknown else "none",
                                       "summary": f"nothing is known to finish within {_hrs(deadline_hours)} ({why})"})
    best = chosen.option
    return base.model_copy(update={
        "choice": best.plan, "batch_share": best.batch_share, "split_with": best.split_with,
        "cost_usd": best.cost_usd, "hours": best.hours, "within_budget": budget_ok(best.cost_usd, budget),
        "summary": _summary(best, deadline_hours, budget, flex=any("flex" in (o.plan, o.split_with) for o in options)),
    })


def _hrs(h: float | None) -> str:
    return "unknown time" if h is None else duration(h)


def option_words(o: PlanOption) -> str:
    """'all batch', 'all flex', 'split: 60% batch, 40% flex'."""
    if o.plan == "split":
        other = "realtime" if o.split_with in (None, "standard") else o.split_with
        return f"split: {o.batch_share:.0%} batch, {1 - o.batch_share:.0%} {other}"
    return f"all {o.plan}"


def _summary(best: PlanOption, limit: float | None, budget: Decimal | None, *, flex: bool) -> str:
    from planner.core.money import usd_display

    summary = f"{option_words(best)}, {usd_display(best.cost_usd)}, about {_hrs(best.hours)}"
    if limit is not None:
        summary += f" (deadline {_hrs(limit)}; batch judged on p90{', flex on its refusals' if flex else ''})"
    if budget is not None:
        within = best.cost_usd <= budget
        summary += (f"; within the {usd_display(budget)} budget" if within
                    else f"; over the {usd_display(budget)} budget")
    return summary


def why_mode(m: ModeEstimate, batch_low: Decimal | None) -> str:
    """One line on what a mode trades (the recommendation's reason when it picks flex or priority):
    'flex: batch price, results as they finish, no batch window, but requests can be refused at peak: expect
    retries'. Flex is "batch price" when, with nothing refused, it costs what batch does (`batch_low`: the low
    end of the batch cost range, which carries the same token band), whether or not batch was asked about."""
    if m.mode == "flex":
        low = m.cost_range.low if m.cost_range is not None else m.cost_usd
        same = batch_low is not None and low is not None and abs(low - batch_low) <= batch_low * Decimal("0.005")
        price = "batch price" if same else "a discount on standard"
        speed = "results as they finish, no batch window"
        risk = "but requests can be refused at peak: expect retries" if m.sheddable else "no refusals stated"
        return f"flex: {price}, {speed}, {risk}"
    if m.mode == "priority":
        return "priority: a premium over standard for lower latency"
    return ""


def plan_for(turnaround: Turnaround, *, realtime_cost: Decimal, batch_cost: Decimal | None,
             deadline: Deadline | None = None, budget: Decimal | None = None) -> Plan:
    """The plan of a job offered standard and (with `batch_cost`) batch only: for callers that price those two
    themselves (a batch file's ETA, the tests of the plan rules)."""
    std = ModeEstimate(mode="standard", offered=True, qualifies=True, price_basis="explicit", cost_usd=realtime_cost,
                       hours=turnaround.realtime.hours)
    offered = batch_cost is not None and turnaround.batch.supported
    batch = ModeEstimate(mode="batch", offered=offered, qualifies=offered, price_basis="explicit",
                         cost_usd=batch_cost, hours=turnaround.batch.p90_hours if offered else None,
                         reasons=[] if offered else ["no batch"])
    limit = deadline.hours if deadline else None
    base = Plan(deadline=deadline.at if deadline else None, deadline_hours=limit, budget_usd=budget, choice="none",
                summary="")
    return plan({"standard": std, "batch": batch}, turnaround, deadline_hours=limit, budget=budget, base=base)
