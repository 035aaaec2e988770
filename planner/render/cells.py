"""Text cells every human output shares (terminal tables, HTML and Markdown reports), so they agree.

Money carries its band when it is a range (`≈$5.22 ±15%`), durations and counts follow planner.core.units,
and a model that cannot run the job shows no cost to act on.
"""

from __future__ import annotations

import re
from decimal import Decimal

from planner.core.money import usd_approx, usd_display
from planner.core.units import duration
from planner.plan.estimate import Estimate, ModelEstimate
from planner.plan.recommend import Recommendation, Verdict, recommend
from planner.plan.results import ModeEstimate

#: The processing modes in the order every surface shows them.
MODE_ORDER = ("standard", "flex", "priority", "batch")
#: Marks a time that rests on the vendor's stated target (a batch window, a flex latency), not a promise.
TARGET = "†"
#: What the marks of a modes table mean, under it in every report.
MODES_NOTE = ("† the vendor's target (a batch window, a flex latency), not a promise; * price derived from a "
              "stated or default discount or premium (none published for the model). Flex cost and time include "
              "refused requests re-sent at standard.")

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
        other = v.choice.split_with
        return f"{mark} split {v.choice.batch_share:.0%}" + (f" +{other}" if other in ("flex", "priority") else "")
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


def plan_saving(e: ModelEstimate, v: Verdict) -> tuple[Decimal, float] | None:
    """What the model's own plan (its verdict's choice) saves against running it all realtime, and the
    share of realtime; None when it has no plan or saves nothing."""
    c = v.choice
    if c is None or e.cannot_run or e.realtime_cost_usd <= 0:
        return None
    if c.plan == "batch" and e.savings_usd is not None and c.cost_usd == e.batch_cost_usd:
        return e.savings_usd, e.savings_pct or 0.0
    saved = e.realtime_cost_usd - c.cost_usd
    return (saved, float(saved / e.realtime_cost_usd * 100)) if saved > 0 else None


def plan_saved_cell(e: ModelEstimate, v: Verdict) -> str:
    saving = plan_saving(e, v)
    return "—" if saving is None else f"{usd_display(saving[0])} ({saving[1]:.0f}%)"


def savings_differ(result: Estimate, rec: Recommendation) -> bool:
    """Whether some model's plan saves other than running it all as a batch (a split, flex, realtime):
    then the two savings are shown apart, each labelled, so that no number tells another story."""
    return any(plan_saved_cell(e, v) != saved_cell(e) for e, v in zip(result.estimates, rec.verdicts, strict=True))


def modes_asked(result: Estimate) -> list[str]:
    """The modes asked about, in the order shown (the union over the models)."""
    seen = {m for e in result.estimates for m in e.modes}
    return [m for m in MODE_ORDER if m in seen]


def shows_modes(result: Estimate) -> bool:
    """The modes are shown when some model offers flex or priority, or `--mode` narrowed them; a job on
    models sold only standard and batch reads as it always has."""
    asked = modes_asked(result)
    offered = any(m.offered for e in result.estimates for k, m in e.modes.items() if k in ("flex", "priority"))
    return bool(asked) and (offered or asked != list(MODE_ORDER))


def short_reason(text: str, *, offered: bool = True) -> str:
    """A reason for a table cell, never cut with an ellipsis: its first clause; 'not offered' for a mode the
    table lacks when the vendor's own words are long (the whole reason is in --verbose, --json and the
    report's assumptions)."""
    if "--no-sheddable" in text:
        return "--no-sheddable"
    first = re.split(r"; | \(|: ", text, maxsplit=1)[0].strip()
    if not offered:
        return first if len(first) <= 28 and not re.search(r"offers no \w+ mode", first) else "not offered"
    return first if len(first) <= 40 else first.split(", ", 1)[0]


def mode_cost_cell(m: ModeEstimate) -> str:
    """The mode's judged cost with its band ('≈$97.28 ±17%'); '*' when the price is derived from a stated
    discount or premium; '—' when the model is not sold in the mode."""
    if not m.offered or m.cost_usd is None:
        return "—"
    r = m.cost_range
    cell = usd_approx(m.cost_usd, r.low if r else None, r.high if r else None)
    return cell if m.price_basis == "explicit" else cell + " *"


def mode_time_cell(m: ModeEstimate) -> str:
    """The hours the mode is judged on, '†' when they rest on a vendor's target."""
    if not m.offered:
        return "—"
    return duration(m.hours) + (f" {TARGET}" if m.vendor_target and m.hours is not None else "")


def mode_verdict_cell(m: ModeEstimate, deadline_hours: float | None, budget: Decimal | None) -> str:
    """'✓', '✗ late', '✗ over budget', '? time unknown', or the first reason it cannot be used, short."""
    if not m.offered:
        return "— " + short_reason(m.reasons[0] if m.reasons else m.price_basis, offered=False)
    if not m.qualifies:
        return "✗ " + short_reason(m.reasons[0] if m.reasons else "does not qualify")
    if deadline_hours is not None and m.hours is None:
        return "? time unknown"
    if deadline_hours is not None and m.hours is not None and m.hours > deadline_hours:
        return "✗ late"
    if budget is not None and m.cost_usd is not None and m.cost_usd > budget:
        return "✗ over budget"
    return "✓"


def mode_judged_on(m: ModeEstimate) -> str:
    return m.hours_basis or "—" if m.offered else "—"


def flex_assumption(result: Estimate) -> str | None:
    """The flex line of the assumptions: the refused share assumed and the vendor's latency target."""
    flexes = [m for e in result.estimates if (m := e.modes.get("flex")) is not None and m.offered]
    if not flexes:
        return None
    shares = sorted({f"{m.refused_share:.0%}" for m in flexes if m.refused_share is not None})
    targets = sorted({duration(m.latency_target_s[1] / 3600) for m in flexes if m.latency_target_s is not None})
    share = " / ".join(shares) or "a share"
    line = (f"Flex: {share} of requests assumed refused at peak and re-sent at standard (--flex-refused), "
            "an assumption, not a vendor figure")
    if targets:
        line += f"; the vendor's latency target (up to {', '.join(targets)} per request) is a target, not a promise"
    return line + "."


def plan_words(v: Verdict) -> str:
    """'split 3% batch', 'flex', 'batch': the plan a saving belongs to."""
    c = v.choice
    if c is None:
        return "no plan"
    if c.plan == "split":
        other = c.split_with if c.split_with in ("flex", "priority") else "realtime"
        return f"split {c.batch_share:.0%} batch, rest {other}"
    return c.plan


def mode_lines(e: ModelEstimate, name: str) -> list[str]:
    """Each flex or priority mode's reasons, price basis and notes in full (`--verbose`, the reports' notes)."""
    lines: list[str] = []
    for mode in ("flex", "priority"):
        m = e.modes.get(mode)
        if m is None:
            continue
        if not m.offered or not m.qualifies:
            lines.extend(f"{name}: {mode}: {r}" for r in m.reasons or [m.price_basis])
            continue
        field = f" ({m.request_field})" if m.request_field else ""
        lines.append(f"{name}: {mode}{field}: price {m.price_basis}; time: {m.hours_basis}.")
        lines.extend(f"{name}: {n}" if n.startswith(f"{mode}:") else f"{name}: {mode}: {n}" for n in m.notes)
    return lines
