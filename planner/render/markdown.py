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
from planner.render.cells import MARK, derived_batch_price, recommendation_of, token_groups, verdict_word
from planner.render.tabular import TABLE_HEADERS, assumptions, hours, model_name, summary, table

RIGHT = {
    "Requests", "Input tokens", "Output tokens", "Realtime", "Batch", "Savings", "Batch p50 / p90", "Realtime time"
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
    s = summary(result)
    ds = result.dataset
    when = f" · generated {generated.isoformat(timespec='minutes')}" if generated else ""
    out = [
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
        "## Estimate",
        "",
        *md_table(TABLE_HEADERS, table(result), RIGHT),
    ]
    if derived_batch_price(result):
        out += ["", "\\* batch price derived from the provider's default batch discount."]

    out += ["", "## Cost range", ""]
    rows = []
    for e in result.estimates:
        if e.cannot_run:
            continue
        r = e.realtime_cost_range
        rows.append([model_name(e), "realtime", usd_display(r.low), usd_display(r.expected), usd_display(r.high)])
        if e.batch_cost_range is not None and e.batch_eligible:
            b = e.batch_cost_range
            rows.append([model_name(e), "batch", usd_display(b.low), usd_display(b.expected), usd_display(b.high)])
    out += md_table(["Model", "Mode", "Low", "Expected", "High"], rows, {"Low", "Expected", "High"})

    savers = [e for e in result.estimates if e.savings_usd is not None and e.batch_eligible and not e.cannot_run]
    if savers:
        top = max(float(e.savings_usd or 0) for e in savers)
        out += ["", "## Savings", ""]
        out += md_table(
            ["Model", "Savings", ""],
            [
                [
                    model_name(e),
                    f"{usd_display(e.savings_usd or Decimal(0))} ({e.savings_pct:.0f}%)",
                    _bar(float(e.savings_usd or 0), top),
                ]
                for e in savers
            ],
            {"Savings"},
        )

    groups = token_groups(result.estimates)
    if groups:
        out += ["", "## Input tokens per request", ""]
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

    timed = [e for e in result.estimates if e.turnaround is not None]
    rec = recommendation_of(result)
    verdicts = {id(e): verdict_word(v) for e, v in zip(result.estimates, rec.verdicts, strict=True)}
    if timed:
        deadline = recommendation_of(result).deadline_hours
        out += ["", "## Turnaround", ""]
        if deadline is not None:
            out += [f"Deadline: {hours(deadline)}.", ""]
        trows = []
        for e in timed:
            t = e.turnaround
            assert t is not None
            tb = t.batch
            worst = "never expires" if tb.never_expires else hours(tb.worst_hours)
            ok = tb.supported and not e.cannot_run
            batch = [hours(tb.p50_hours), hours(tb.p90_hours), worst] if ok else ["—", "—", "—"]
            realtime = "—" if e.cannot_run else hours(t.realtime.hours)
            trows.append([model_name(e), t.tier or "—", *batch, realtime, verdicts.get(id(e), "")])
        out += md_table(["Model", "Tier", "Batch p50", "Batch p90", "Batch worst", "Realtime", "Verdict"], trows)

    out += ["", "## Assumptions", ""]
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
    return "\n".join(out)
