"""The Markdown report: what the HTML report says, as headings, lists and tables (no images).

Fit for a pull request or a wiki page. Cell text is escaped (`|`, `\\`, `<`, newlines) so a model name
or a path can't break a table or inject HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from planner import __version__
from planner.estimate import Estimate
from planner.money import usd_display
from planner.render.tabular import TABLE_HEADERS, assumptions, hours, model_name, summary, table

RIGHT = {"Requests", "Input tokens", "Output tokens", "Realtime", "Batch", "Savings"}


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
        f"**{md_escape(s.headline)}**",
        "",
        f"**{md_escape(s.saving)}**",
        "",
        *[f"- {md_escape(d)}" for d in s.details],
        "",
        "## Estimate",
        "",
        *md_table(TABLE_HEADERS, table(result), RIGHT),
    ]
    if any(e.batch_cost_usd is not None and e.batch_price_basis != "explicit" for e in result.estimates):
        out += ["", "\\* batch price derived from the provider's default batch discount."]

    out += ["", "## Cost range", ""]
    rows = []
    for e in result.estimates:
        r = e.realtime_cost_range
        rows.append([model_name(e), "realtime", usd_display(r.low), usd_display(r.expected), usd_display(r.high)])
        if e.batch_cost_range is not None:
            b = e.batch_cost_range
            rows.append([model_name(e), "batch", usd_display(b.low), usd_display(b.expected), usd_display(b.high)])
    out += md_table(["Model", "Mode", "Low", "Expected", "High"], rows, {"Low", "Expected", "High"})

    savers = [e for e in result.estimates if e.savings_usd is not None]
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

    seen: dict[tuple[tuple[int, ...], tuple[int, ...]], list[str]] = {}
    for e in result.estimates:
        h = e.input_tokens_histogram
        if h is not None and any(h.counts):
            seen.setdefault((tuple(h.edges), tuple(h.counts)), []).append(model_name(e))
    if seen:
        out += ["", "## Input tokens per request", ""]
    for (edges, counts), names in seen.items():
        top_count = max(counts)
        out += [f"Counted sample, tokenizer of {md_escape(', '.join(names))}:", ""]
        out += md_table(
            ["Input tokens", "Requests", ""],
            [[f"{edges[i]:,}–{edges[i + 1] - 1:,}", f"{c:,}", _bar(c, top_count)] for i, c in enumerate(counts)],
            {"Requests"},
        )
        out.append("")

    timed = [e for e in result.estimates if e.turnaround is not None]
    if timed:
        deadline = next((e.plan.deadline_hours for e in timed if e.plan and e.plan.deadline_hours is not None), None)
        out += ["", "## Turnaround", ""]
        if deadline is not None:
            out += [f"Deadline: {hours(deadline)}.", ""]
        trows = []
        for e in timed:
            t = e.turnaround
            assert t is not None
            tb = t.batch
            worst = "never expires" if tb.never_expires else hours(tb.worst_hours)
            batch = [hours(tb.p50_hours), hours(tb.p90_hours), worst] if tb.supported else ["—", "—", "—"]
            plan = e.plan.summary if e.plan is not None else ""
            trows.append([model_name(e), t.tier or "—", *batch, hours(t.realtime.hours), plan])
        out += md_table(["Model", "Tier", "Batch p50", "Batch p90", "Batch worst", "Realtime", "Plan"], trows)

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
