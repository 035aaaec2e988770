"""The Markdown report: what the HTML report says, as headings, lists and tables (no images).

Fit for a pull request or a wiki page. Cell text is escaped (`|`, `\\`, `<`, newlines) so a model name
or a path can't break a table or inject HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from planner import __version__
from planner.core.money import usd_display
from planner.plan.estimate import Estimate
from planner.render.cells import (
    MARK,
    MODES_NOTE,
    derived_batch_price,
    plan_saved_cell,
    plan_saving,
    plan_words,
    recommendation_of,
    saved_cell,
    savings_differ,
    shows_modes,
    token_groups,
    verdict_word,
)
from planner.render.tabular import (
    MODE_HEADERS,
    assumptions,
    hours,
    model_name,
    modes_table,
    summary,
    table,
    table_headers,
)

RIGHT = {
    "Requests", "Input tokens", "Output tokens", "Realtime", "Batch", "Savings", "Batch p50 / p90", "Realtime time",
    "Plan saves", "All batch saves", "Cost", "Time",
}
MARKS = {"fits": "✓", "unknown": "?"}


def md_escape(text: object) -> str:
    s = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")
    return " ".join(s.splitlines())


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[str] | None = None) -> list[str]:
    right = right or set()
    out = ["| " + " | ".join(md_escape(h) for h in headers) + " |"]
    out.append("|" + "|".join("---:" if h in right else "---" for h in headers) + "|")
    out.extend("| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows)
    return out


def _bar(value: float, vmax: float, width: int = 20) -> str:
    n = round(width * value / vmax) if vmax > 0 else 0
    return "█" * n or ("▏" if value > 0 else "")


def render_markdown(result: Estimate, *, generated: datetime | None = None) -> str:
    """The report's sections in reading order: what it decides first, the evidence, then the assumptions."""
    out = _heading(result, generated)
    out += _estimate(result)
    out += _cost_range(result)
    out += _savings(result)
    out += _token_tables(result)
    out += _turnaround(result)
    out += _assumptions_and_sign_off(result)
    return "\n".join(out)


def _heading(result: Estimate, generated: datetime | None) -> list[str]:
    s = summary(result)
    ds = result.dataset
    when = f" · generated {generated.isoformat(timespec='minutes')}" if generated else ""
    return [
        "# Batch vs realtime: cost report",
        "",
        f"Dataset {md_escape(ds.path)} ({md_escape(ds.format)}), {ds.requests:,} requests · "
        f"prices as of {result.as_of.isoformat()}{when}",
        "",
        "## Summary",
        "",
        f"**{MARKS.get(s.status, '✗')} {md_escape(s.headline)}**",
        "",
        md_escape(s.limits),
        "",
        *([f"- {MARK[status][0]} {md_escape(text)}" for status, text in s.verdicts] if len(s.verdicts) > 1 else []),
        "",
    ]


def _estimate(result: Estimate) -> list[str]:
    out = ["## Estimate", "", *md_table(table_headers(result), table(result), RIGHT)]
    if derived_batch_price(result):
        out += ["", "\\* batch price derived from the provider's default batch discount."]
    if shows_modes(result):
        out += ["", "### Processing modes", "", *md_table(MODE_HEADERS, modes_table(result), RIGHT), "",
                md_escape(MODES_NOTE)]
    return out


def _cost_range(result: Estimate) -> list[str]:
    rows = []
    for e in result.estimates:
        if e.cannot_run:
            continue
        r = e.realtime_cost_range
        rows.append([model_name(e), "realtime", usd_display(r.low), usd_display(r.expected), usd_display(r.high)])
        for mode in ("flex", "priority") if shows_modes(result) else ():
            m = e.modes.get(mode)
            if m is not None and m.offered and m.cost_range is not None:
                c = m.cost_range
                rows.append([model_name(e), mode, usd_display(c.low), usd_display(c.expected), usd_display(c.high)])
        if e.batch_cost_range is not None and e.batch_eligible:
            b = e.batch_cost_range
            rows.append([model_name(e), "batch", usd_display(b.low), usd_display(b.expected), usd_display(b.high)])
    return ["", "## Cost range", "", *md_table(["Model", "Mode", "Low", "Expected", "High"], rows,
                                               {"Low", "Expected", "High"})]


def _savings(result: Estimate) -> list[str]:
    if savings_differ(result, recommendation_of(result)):
        return _plan_savings(result)
    savers = [e for e in result.estimates if e.savings_usd is not None and e.batch_eligible and not e.cannot_run]
    if not savers:
        return []
    top = max(float(e.savings_usd or 0) for e in savers)
    rows = [
        [
            model_name(e),
            f"{usd_display(e.savings_usd or Decimal(0))} ({e.savings_pct:.0f}%)",
            _bar(float(e.savings_usd or 0), top),
        ]
        for e in savers
    ]
    return ["", "## Savings", "", *md_table(["Model", "Savings", ""], rows, {"Savings"})]


def _plan_savings(result: Estimate) -> list[str]:
    """Each model's plan saving against all realtime, and beside it, labelled, the all-batch saving."""
    rec = recommendation_of(result)
    rows = [(e, v) for e, v in zip(result.estimates, rec.verdicts, strict=True) if not e.cannot_run]
    top = max((float(s[0]) for e, v in rows if (s := plan_saving(e, v)) is not None), default=0.0)
    table_rows = [
        [model_name(e), plan_words(v), plan_saved_cell(e, v),
         _bar(float(s[0]) if (s := plan_saving(e, v)) else 0.0, top), saved_cell(e)]
        for e, v in rows
    ]
    return ["", "## Savings", "", "What each model's plan saves against running it all realtime; the all-batch "
            "saving is shown apart.", "",
            *md_table(["Model", "Plan", "Plan saves", "", "All batch saves"], table_rows,
                      {"Plan saves", "All batch saves"})]


def _token_tables(result: Estimate) -> list[str]:
    """One histogram table per counted sample (models that share a tokenizer share it)."""
    groups = token_groups(result.estimates)
    out = ["", "## Input tokens per request", ""] if groups else []
    for drawn, group in groups:
        h = drawn.input_tokens_histogram
        assert h is not None
        edges, counts = h.edges, h.counts
        top_count = max(counts)
        scaled = [f"{model_name(e)} (×{e.tokenizer_factor})" for e in group if e.token_method != "exact"]
        names = ", ".join(model_name(e) for e in group if e.token_method == "exact") or model_name(drawn)
        also = f"; scaled for {', '.join(scaled)}" if scaled and drawn.token_method == "exact" else ""
        out += [f"Counted sample, {md_escape(drawn.tokenizer or 'tokenizer')}: {md_escape(names)}{md_escape(also)}", ""]
        out += md_table(
            ["Input tokens", "Requests", ""],
            [[f"{edges[i]:,}–{edges[i + 1] - 1:,}", f"{c:,}", _bar(c, top_count)] for i, c in enumerate(counts)],
            {"Requests"},
        )
        out.append("")
    return out


def _turnaround(result: Estimate) -> list[str]:
    timed = [e for e in result.estimates if e.turnaround is not None]
    rec = recommendation_of(result)
    if not timed:
        return []
    verdicts = {id(e): verdict_word(v) for e, v in zip(result.estimates, rec.verdicts, strict=True)}
    out = ["", "## Turnaround", ""]
    if rec.deadline_hours is not None:
        out += [f"Deadline: {hours(rec.deadline_hours)}.", ""]
    rows = []
    for e in timed:
        t = e.turnaround
        assert t is not None
        tb = t.batch
        worst = "never expires" if tb.never_expires else hours(tb.worst_hours)
        ok = tb.supported and not e.cannot_run
        batch = [hours(tb.p50_hours), hours(tb.p90_hours), worst] if ok else ["—", "—", "—"]
        realtime = "—" if e.cannot_run else hours(t.realtime.hours)
        rows.append([model_name(e), t.tier or "—", *batch, realtime, verdicts.get(id(e), "")])
    return out + md_table(["Model", "Tier", "Batch p50", "Batch p90", "Batch worst", "Realtime", "Verdict"], rows)


def _assumptions_and_sign_off(result: Estimate) -> list[str]:
    out = ["", "## Assumptions", ""]
    for title, lines in assumptions(result):
        out += [f"### {md_escape(title)}", "", *[f"- {md_escape(x)}" for x in lines], ""]
    out += [
        "## Sign-off",
        "",
        "| Approved by | Role | Date |",
        "|---|---|---|",
        "|  |  |  |",
        "",
        f"_Generated by batchplan {__version__}. Estimates, not quotes: vendors bill what they measure._",
        "",
    ]
    return out
