"""Text cells every human output shares (terminal tables, HTML and Markdown reports), so they agree.

Money carries its band when it is a range (`≈$5.22 ±15%`), durations and counts follow planner.core.units,
and a model that cannot run the job shows no cost to act on.
"""

from __future__ import annotations

from planner.core.money import usd_approx, usd_display
from planner.plan.estimate import Estimate, ModelEstimate
from planner.plan.recommend import Recommendation, Verdict, recommend

MARK = {"fits": ("✓", "green"), "over_budget": ("✗", "red"), "late": ("✗", "red"),
        "unknown": ("?", "yellow"), "cannot_run": ("✗", "red")}


def recommendation_of(result: Estimate) -> Recommendation:
    """The estimate's recommendation (computed by `estimate()`; recomputed for an older document)."""
    if result.recommendation is not None:
        return result.recommendation
    plan = next((e.plan for e in result.estimates if e.plan is not None), None)
    return recommend(result.estimates, deadline_hours=plan.deadline_hours if plan else None,
                     budget=plan.budget_usd if plan else None)


def name_of(e: ModelEstimate) -> str:
    """`provider/id` with the id the vendor's API takes (docs/names.md, "Names shown")."""
    return f"{e.provider}/{e.api_id or e.resolved_model}"


def verdict_word(v: Verdict) -> str:
    """The verdict in a word or two, for a table cell: '✓ batch', '✗ late', '✗ cannot run'."""
    mark = MARK[v.status][0]
    if v.status == "cannot_run":
        return f"{mark} cannot run"
    if v.status == "late":
        return f"{mark} late"
    if v.status == "over_budget":
        return f"{mark} over budget"
    if v.status == "unknown":
        return f"{mark} unknown"
    assert v.choice is not None
    if v.choice.plan == "split":
        return f"{mark} split {v.choice.batch_share:.0%}"
    if v.choice.plan == "realtime" and not v.batch_eligible:
        return f"{mark} realtime only"
    return f"{mark} {v.choice.plan}"


def realtime_cell(e: ModelEstimate) -> str:
    if e.cannot_run:
        return "—"
    r = e.realtime_cost_range
    return usd_approx(e.realtime_cost_usd, r.low, r.high)


def batch_cell(e: ModelEstimate) -> str:
    if e.batch_cost_usd is None or e.cannot_run:
        return "—"
    r = e.batch_cost_range
    cell = usd_approx(e.batch_cost_usd, r.low if r else None, r.high if r else None)
    return cell + " *" if e.batch_price_basis != "explicit" else cell


def derived_batch_price(result: Estimate) -> bool:
    """Whether some batch cell shows a price derived from a default discount (the '*' cells)."""
    return any(batch_cell(e).endswith(" *") for e in result.estimates)


def saved_cell(e: ModelEstimate) -> str:
    if e.savings_usd is None or not e.batch_eligible:
        return "—"
    return f"{usd_display(e.savings_usd)} ({e.savings_pct or 0:.0f}%)"


def token_groups(ests: list[ModelEstimate]) -> list[tuple[ModelEstimate, list[ModelEstimate]]]:
    """One histogram per encoding that counted: (the model drawn, every model counted with it).

    Approximate counts are the encoding's count × a factor, so they share the exact model's chart."""
    groups: dict[str, list[ModelEstimate]] = {}
    for e in ests:
        h = e.input_tokens_histogram
        if h is not None and any(h.counts):
            groups.setdefault(e.tokenizer or repr((h.edges, h.counts)), []).append(e)
    return [(next((e for e in es if e.token_method == "exact"), es[0]), es) for es in groups.values()]
