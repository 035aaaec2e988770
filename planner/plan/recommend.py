"""The answer: what to do with the job, what it costs and by when, for each model and overall.

One decision, one function. `recommend()` turns the per-model estimates (costs, cost ranges, turnaround,
and the plan that `planner.plan.timing.pick` chose against `--deadline`/`--budget`) into typed verdicts and a
headline. The terminal, the HTML and Markdown reports and the JSON (`Estimate.recommendation`) all read
this result and never re-derive it, so they cannot disagree with each other or with the plan.

Rules:
- A model that cannot run the job at all (retired, not yet released, requests over its context window or
  output limit) is never recommended, not even realtime.
- Each model's choice is `plan.pick`'s: the cheapest option meeting the deadline, checked against the
  budget; batch is judged on its p90 time. When nothing meets them, the closest option and what it
  misses by (hours late, dollars over).
- Overall: the cheapest model choice that meets every limit given; else the closest miss, saying so.
  Money is Decimal; an approximate cost carries its band (`≈$5.22 ±15%`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal

from planner.core.money import usd_approx, usd_display
from planner.core.units import duration
from planner.plan.modes import plan_options, why_mode
from planner.plan.results import (
    Choice,
    ModeEstimate,
    ModelEstimate,
    OverallStatus,
    Recommendation,
    Verdict,
    VerdictStatus,
)
from planner.plan.timing import PlanOption, pick

#: The recommendation's types live in planner.plan.results; named here too for the callers that read them
#: with the function that makes them.
__all__ = ["Choice", "Recommendation", "Verdict", "cost_text", "display_name", "recommend"]


def display_name(e: ModelEstimate) -> str:
    """`provider/id` with the id the vendor's API takes (docs/names.md, "Names shown")."""
    return f"{e.provider}/{e.api_id or e.resolved_model}"


def _range(e: ModelEstimate, mode: str) -> tuple[Decimal, Decimal] | None:
    m = e.modes.get(mode)
    if m is not None and m.cost_range is not None:
        return m.cost_range.low, m.cost_range.high
    legacy = {"standard": e.realtime_cost_range, "batch": e.batch_cost_range}.get(mode)
    return (legacy.low, legacy.high) if legacy is not None else None


def _band(e: ModelEstimate, option: PlanOption) -> tuple[Decimal, Decimal]:
    """Low and high cost of an option: its mode's cost range, or its two parts' ranges, share-weighted."""
    fallback = (option.cost_usd, option.cost_usd)
    if option.plan != "split":
        mode = "standard" if option.plan == "realtime" else option.plan
        return _range(e, mode) or fallback
    share = Decimal(str(option.batch_share))
    b = _range(e, "batch") or fallback
    o = _range(e, option.split_with or "standard") or fallback
    return share * b[0] + (1 - share) * o[0], share * b[1] + (1 - share) * o[1]


def _two_modes(e: ModelEstimate) -> dict[str, ModeEstimate]:
    """Standard and batch from the realtime/batch fields, for an estimate made without modes."""
    std = ModeEstimate(mode="standard", offered=e.runs, qualifies=not e.cannot_run, price_basis="explicit",
                       cost_usd=e.realtime_cost_usd, cost_range=e.realtime_cost_range,
                       hours=e.turnaround.realtime.hours if e.turnaround else None)
    batch = ModeEstimate(mode="batch", offered=e.batch_cost_usd is not None, qualifies=e.batch_eligible,
                         reasons=list(e.reasons), price_basis=e.batch_price_basis, cost_usd=e.batch_cost_usd,
                         cost_range=e.batch_cost_range,
                         hours=e.turnaround.batch.p90_hours if e.turnaround and e.turnaround.batch.supported else None)
    return {"standard": std, "batch": batch}


def _options(e: ModelEstimate, limit: float | None, budget: Decimal | None) -> list[PlanOption]:
    if e.plan is not None and e.plan.options:
        return list(e.plan.options)
    return plan_options(e.modes or _two_modes(e), e.turnaround, limit=limit, budget=budget)


def _how(choice: Choice) -> str:
    if choice.plan == "batch":
        return "as a batch job"
    if choice.plan == "realtime":
        return "realtime"
    if choice.plan in ("flex", "priority"):
        return f"with {choice.plan} processing"
    other = "realtime" if choice.split_with in (None, "standard") else choice.split_with
    return f"as a split ({choice.batch_share:.0%} batch, {1 - choice.batch_share:.0%} {other})"


def _when(choice: Choice) -> str:
    if choice.hours is None:
        return "time unknown"
    if choice.plan == "batch":
        return f"done within {duration(choice.hours)} (p90)"
    if choice.plan == "split":
        return f"done in {_about(choice.hours)} (batch part on p90)"
    if choice.plan == "flex":
        return f"done in {_about(choice.hours)} (with refusals sent again)"
    return f"done in {_about(choice.hours)}"


def _about(hours: float) -> str:
    """'about 6.4 h', or '< 1 min' as it stands (never 'about < 1 min')."""
    text = duration(hours)
    return text if text.startswith("<") else f"about {text}"


def cost_text(choice: Choice) -> str:
    return usd_approx(choice.cost_usd, choice.cost_low_usd, choice.cost_high_usd)


def _phrase(choice: Choice) -> str:
    """'as a batch job, ≈$5.22 ±15%, done within 6 h (p90)'."""
    return f"{_how(choice)}, {cost_text(choice)}, {_when(choice)}"


def _limits(limit: float | None, budget: Decimal | None) -> str:
    parts = []
    if limit is not None:
        parts.append(f"the {duration(limit)} deadline")
    if budget is not None:
        parts.append(f"the {usd_display(budget)} budget")
    return " and ".join(parts)


def _misses(choice: Choice) -> str:
    parts = []
    if choice.late_by_hours is not None and choice.late_by_hours > 0:
        parts.append(f"{duration(choice.late_by_hours)} late")
    elif choice.meets_deadline is None and choice.hours is None:
        parts.append("its time is unknown")
    if choice.over_budget_usd is not None:
        parts.append(f"{usd_display(choice.over_budget_usd)} over budget")
    return " and ".join(parts)


def cannot_run_text(reasons: Sequence[str]) -> str:
    """'cannot run: retired on 2025-10-28; …': the one way to say why a model cannot run, said once
    whatever the reasons end with (eligibility's read 'retired on DATE: cannot run', for `check`)."""
    return "cannot run: " + _reasons_said(reasons)


def _reasons_said(reasons: Sequence[str]) -> str:
    """The reasons without the ': cannot run' each ends with in eligibility's words."""
    return "; ".join(re.sub(r":\s*cannot run( on \S+)?$", "", r) for r in reasons)


def _verdict(e: ModelEstimate, limit: float | None, budget: Decimal | None) -> Verdict:
    name = display_name(e)
    cannot = list(e.cannot_run)
    if cannot:
        return Verdict(model=e.model, name=name, status="cannot_run", choice=None, reasons=cannot,
                       batch_eligible=False, text=f"{name}: {cannot_run_text(cannot)}")
    options = _options(e, limit, budget)
    chosen = pick(options, limit=limit, budget=budget)
    assert chosen.option is not None  # a runnable model always has its realtime option
    o = chosen.option
    low, high = _band(e, o)
    choice = Choice(
        plan=o.plan, batch_share=o.batch_share, split_with=o.split_with, cost_usd=o.cost_usd,
        cost_low_usd=low, cost_high_usd=high,
        hours=o.hours, meets_deadline=o.fits_deadline, within_budget=o.fits_budget,
        late_by_hours=chosen.late_by_hours, over_budget_usd=chosen.over_budget_usd,
    )
    status: VerdictStatus = "fits" if chosen.status in ("fits", "none") else chosen.status  # type: ignore[assignment]
    reasons = [] if e.batch_eligible else (list(e.reasons) or [e.batch_price_basis])
    no_batch = f" (no batch: {'; '.join(reasons)})" if reasons else ""
    limits = _limits(limit, budget)
    if status == "fits":
        text = f"{name}: run {_phrase(choice)}"
        if limits:
            text += f"; meets {limits}"
        elif o.plan == "batch" and e.savings_usd is not None and e.savings_usd > 0:
            text += f"; saves {usd_display(e.savings_usd)} ({e.savings_pct or 0:.0f}%) against realtime"
        text += _mode_why(e, choice) + no_batch
    elif status == "over_budget":
        over = usd_display(choice.over_budget_usd or Decimal(0))
        if limit is not None:
            text = f"{name}: over budget: {_phrase(choice)}, meets the deadline but is {over} over the budget"
        else:
            text = f"{name}: over budget: the cheapest, {_phrase(choice)}, is {over} over the budget"
        text += no_batch
    elif status == "unknown":
        text = f"{name}: can't tell whether it meets {limits}: {_phrase(choice)}{no_batch}"
    else:
        text = f"{name}: misses {limits}: the closest, {_phrase(choice)}, is {_misses(choice)}{no_batch}"
    return Verdict(model=e.model, name=name, status=status, choice=choice, reasons=reasons,
                   batch_eligible=e.batch_eligible, text=text)


def _mode_why(e: ModelEstimate, choice: Choice) -> str:
    """'; flex: batch price, …, but requests can be refused at peak: expect retries' when the choice uses
    flex or priority (for the whole job or beside batch); empty otherwise."""
    mode = choice.plan if choice.plan in ("flex", "priority") else choice.split_with
    m = e.modes.get(mode) if mode in ("flex", "priority") else None
    batch_low = e.batch_cost_range.low if e.batch_cost_range is not None else None
    return f"; {why_mode(m, batch_low)}" if m is not None else ""


def _saving(e: ModelEstimate, choice: Choice) -> Decimal | None:
    saved = e.realtime_cost_usd - choice.cost_usd
    return saved if saved > 0 else None


def recommend(
    estimates: Sequence[ModelEstimate], *, deadline_hours: float | None = None, budget: Decimal | None = None
) -> Recommendation:
    """Every model's verdict and the overall pick (see the module docstring for the rules)."""
    verdicts = [_verdict(e, deadline_hours, budget) for e in estimates]
    estimate_of = dict(zip((id(v) for v in verdicts), estimates, strict=True))
    limits = _limits(deadline_hours, budget)
    fits = [v for v in verdicts if v.status == "fits"]
    runnable = [v for v in verdicts if v.status != "cannot_run"]
    status: OverallStatus
    best: Verdict | None
    if fits:
        best = min(fits, key=_cost)
        status, headline = "fits", _fits_headline(best, estimate_of[id(best)], limits, several=len(estimates) > 1)
    elif not runnable:
        why = "; ".join(f"{v.name} ({_reasons_said(v.reasons)})" for v in verdicts)
        status, best, headline = "nothing_runs", None, f"No model asked about can run this job: {why}."
    else:
        status, best, headline = _closest(runnable, deadline_hours, budget, limits)
    e = estimate_of[id(best)] if best is not None else None
    choice = best.choice if best is not None else None
    return Recommendation(
        status=status, deadline_hours=deadline_hours, budget_usd=budget,
        model=best.model if best else None, name=best.name if best else None, choice=choice,
        saving_usd=_saving(e, choice) if e is not None and choice is not None else None,
        headline=headline, verdicts=verdicts,
    )


def _cost(v: Verdict) -> tuple[Decimal, float]:
    assert v.choice is not None
    return v.choice.cost_usd, v.choice.hours if v.choice.hours is not None else math.inf


def _fits_headline(best: Verdict, e: ModelEstimate, limits: str, *, several: bool) -> str:
    """'Cheapest that meets the 12 h deadline: run openai/gpt-4o-mini as a batch job, …; saves …'."""
    assert best.choice is not None
    lead = f"Cheapest that meets {limits}" if limits and several else "Cheapest" if several else ""
    head = f"{lead}: run " if lead else "Run "
    headline = f"{head}{best.name} {_phrase(best.choice)}"
    if limits and not several:
        headline += f"; meets {limits}"
    saved = _saving(e, best.choice)
    if saved is not None:
        pct = float(saved / e.realtime_cost_usd * 100) if e.realtime_cost_usd else 0.0
        headline += f"; saves {usd_display(saved)} ({pct:.0f}%) against realtime"
    return headline + _mode_why(e, best.choice) + "."


def _closest(
    runnable: Sequence[Verdict], deadline_hours: float | None, budget: Decimal | None, limits: str
) -> tuple[OverallStatus, Verdict, str]:
    """Nothing fits: the closest miss (meeting the deadline beats meeting only the budget; then the smaller
    relative miss, then cost), and any model whose unknown time might still fit."""

    def closeness(v: Verdict) -> tuple[int, float, Decimal]:
        c = v.choice
        assert c is not None
        late = c.late_by_hours or 0.0
        over = c.over_budget_usd or Decimal(0)
        rel = max(late / deadline_hours if deadline_hours else 0.0, float(over / budget) if budget else 0.0)
        return (0 if c.late_by_hours is None or c.late_by_hours <= 0 else 1, rel, c.cost_usd)

    misses = [v for v in runnable if v.status in ("over_budget", "late")]
    unknown = [v for v in runnable if v.status == "unknown"]
    u = min(unknown, key=_cost) if unknown else None
    if not misses:
        assert u is not None and u.choice is not None
        return "unknown", u, (
            f"Can't tell whether anything meets {limits}: the times are unknown (no tier limits or "
            f"turnaround figures in the tables). Cheapest: {u.name} {_how(u.choice)}, {cost_text(u.choice)}.")
    closest = min(misses, key=closeness)
    assert closest.choice is not None
    headline = (f"Nothing is known to meet {limits}. Closest: {closest.name} {_phrase(closest.choice)}: "
                f"{_misses(closest.choice)}.")
    if u is None:
        return "nothing_fits", closest, headline
    assert u.choice is not None
    what = "batch turnaround" if u.choice.plan != "realtime" else "realtime duration"
    headline += (f" {u.name} {_how(u.choice)} ({cost_text(u.choice)}) might, but its {what} is unknown"
                 " (no tier limits or turnaround figures in its table).")
    return "unknown", closest, headline
