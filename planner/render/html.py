"""The HTML report: one self-contained, printable file. Summary, table, charts (inline SVG), assumptions.

No scripts, no external fonts, styles or images: a Content-Security-Policy in the page forbids fetching
anything, and URLs (price sources) appear only as text. Everything from the estimate is escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from planner import __version__
from planner.estimate import Estimate
from planner.render import charts
from planner.render.tabular import TABLE_HEADERS, assumptions, model_name, summary, table

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f6f4; color: #222; font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; margin: 18px 0 4px; }
.meta { color: #666; margin: 0; }
.summary { background: #eef4fb; border-left: 5px solid #2b6cb0; padding: 12px 18px; margin-top: 20px; }
.summary .headline { font-size: 18px; font-weight: 600; margin: 4px 0; }
.summary .saving { font-size: 17px; margin: 4px 0 8px; color: #1f5132; }
.summary ul { margin: 6px 0 4px; padding-left: 20px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 5px 8px; vertical-align: top; }
th { background: #f0f0ee; text-align: left; }
td.num { text-align: right; }
.table-wrap { overflow-x: auto; }
td.no { color: #b00020; font-weight: 600; } td.yes { color: #1f6f3a; font-weight: 600; }
figure { margin: 14px 0 22px; break-inside: avoid; page-break-inside: avoid; }
figcaption { color: #555; font-size: 13px; margin-top: 2px; }
svg.chart { display: block; width: 100%; height: auto; max-width: 720px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.assumptions li { margin: 2px 0; overflow-wrap: anywhere; }
.signoff { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 24px; margin-top: 28px; }
.signoff div { border-top: 1px solid #444; padding-top: 4px; color: #555; font-size: 13px; }
footer { margin-top: 32px; color: #777; font-size: 12px; }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, .summary, figure { break-inside: avoid; page-break-inside: avoid; }
  .summary { border-left-color: #000; background: none; }
  @page { margin: 15mm; }
}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _table(result: Estimate) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in TABLE_HEADERS)
    body = []
    for row in table(result):
        cells = [f'<th scope="row">{_e(row[0])}</th>']
        for header, cell in zip(TABLE_HEADERS[1:], row[1:], strict=True):
            cls = "num"
            if header == "Batch OK":
                cls = "yes" if cell == "yes" else "no"
            cells.append(f'<td class="{cls}">{_e(cell)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def chart_svgs(result: Estimate) -> list[tuple[str, str]]:
    """(svg, caption) for every chart the estimate has data for, in report order."""
    out: list[tuple[str, str]] = []
    ests = result.estimates
    out.append(
        (
            charts.cost_bars(
                "chart-cost",
                [
                    charts.CostBar(
                        model_name(e),
                        e.realtime_cost_usd,
                        e.batch_cost_usd,
                        "no batch" if e.batch_cost_usd is None else "",
                    )
                    for e in ests
                ],
            ),
            "Expected cost of the whole job per model, realtime and batch.",
        )
    )
    ranges = []
    for e in ests:
        r = e.realtime_cost_range
        ranges.append(charts.CostRangeRow(model_name(e), "realtime", r.low, r.expected, r.high))
        if e.batch_cost_range is not None:
            b = e.batch_cost_range
            ranges.append(charts.CostRangeRow(model_name(e), "batch", b.low, b.expected, b.high))
    out.append(
        (
            charts.cost_ranges("chart-range", ranges),
            "Low and high cost from the tokenizer band (approximate token counts) and cache assumptions; "
            "the dark mark is the expected cost.",
        )
    )
    groups: dict[tuple[tuple[int, ...], tuple[int, ...]], list[str]] = {}
    for e in ests:
        h = e.input_tokens_histogram
        if h is not None and any(h.counts):
            groups.setdefault((tuple(h.edges), tuple(h.counts)), []).append(model_name(e))
    for k, ((edges, counts), names) in enumerate(groups.items()):
        out.append(
            (
                charts.histogram(f"chart-tokens-{k}", ", ".join(names), edges, counts),
                f"Input tokens per request in the counted sample ({sum(counts):,} requests), "
                f"as counted by the tokenizer of {', '.join(names)}.",
            )
        )
    rows = []
    for e in ests:
        t = e.turnaround
        if t is None:
            continue
        tb = t.batch
        rows.append(
            charts.TurnaroundRow(
                model_name(e),
                tb.p50_hours,
                tb.p90_hours,
                tb.worst_hours,
                t.realtime.hours,
                tb.supported,
                tb.never_expires,
            )
        )
    deadline = next((e.plan.deadline_hours for e in ests if e.plan and e.plan.deadline_hours is not None), None)
    known = any(v is not None for r in rows for v in (r.p50, r.p90, r.worst, r.realtime))
    if rows and known:
        what = "against the deadline (red line)" if deadline is not None else "(no deadline given)"
        out.append(
            (
                charts.turnaround("chart-turnaround", rows, deadline),
                f"Batch turnaround for the whole job (p50, p90, worst before expiry) and realtime duration {what}.",
            )
        )
    return out


def render_html(result: Estimate, *, generated: datetime | None = None) -> str:
    s = summary(result)
    ds = result.dataset
    when = f" · generated {generated.isoformat(timespec='minutes')}" if generated else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>batchplan report: {_e(ds.path)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        "<header><h1>Batch vs realtime: cost report</h1>",
        f'<p class="meta">Dataset {_e(ds.path)} ({_e(ds.format)}), {ds.requests:,} requests · '
        f"prices as of {_e(result.as_of.isoformat())}{_e(when)}</p></header>",
        '<section class="summary" aria-label="Summary"><h2 style="border:0;margin:0">Summary</h2>',
        f'<p class="headline">{_e(s.headline)}</p>',
        f'<p class="saving">{_e(s.saving)}</p>',
        "<ul>" + "".join(f"<li>{_e(d)}</li>" for d in s.details) + "</ul></section>",
        "<section><h2>Estimate</h2>",
        _table(result),
    ]
    if any(e.batch_cost_usd is not None and e.batch_price_basis != "explicit" for e in result.estimates):
        parts.append('<p class="meta">* batch price derived from the provider\'s default batch discount.</p>')
    parts.append("</section><section><h2>Charts</h2>")
    parts.extend(_figure(svg, caption) for svg, caption in chart_svgs(result))
    if not any(e.turnaround is not None for e in result.estimates):
        parts.append("<p>Turnaround was not estimated.</p>")
    elif not any("chart-turnaround" in svg for svg, _ in chart_svgs(result)):
        parts.append(
            "<p>Turnaround unknown: the price tables give no turnaround figures or tier limits "
            "for these models (see the assumptions).</p>"
        )
    parts.append('</section><section class="assumptions"><h2>Assumptions</h2>')
    for title, lines in assumptions(result):
        parts.append(f"<h3>{_e(title)}</h3><ul>" + "".join(f"<li>{_e(x)}</li>" for x in lines) + "</ul>")
    parts.append(
        '</section><section aria-label="Sign-off"><h2>Sign-off</h2>'
        '<div class="signoff"><div>Approved by</div><div>Role</div><div>Date</div></div></section>'
        f"<footer>Generated by batchplan {_e(__version__)}. Estimates, not quotes: "
        "vendors bill what they measure.</footer></main></body></html>\n"
    )
    return "\n".join(parts)
