"""The HTML report: one self-contained, printable file. Summary, table, charts (inline SVG), assumptions.

No scripts, no external fonts, styles or images: a Content-Security-Policy in the page forbids fetching
anything, and URLs (price sources) appear only as text. Everything from the estimate is escaped.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from html import escape

from planner import __version__
from planner.core.money import usd_display
from planner.plan.estimate import Estimate
from planner.render import charts
from planner.render.cells import MARK, derived_batch_price, recommendation_of, token_groups
from planner.render.tabular import TABLE_HEADERS, assumptions, model_name, summary, table

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f6f4; color: #222; font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; overflow-wrap: break-word; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; margin: 18px 0 4px; }
.meta { color: #595959; margin: 0; }
.summary { background: #eef4fb; border-left: 5px solid #2b6cb0; padding: 12px 18px; margin-top: 20px; }
.summary.miss { background: #fdf0ef; border-left-color: #c53030; }
.summary.unknown { background: #fdf8e8; border-left-color: #b7791f; }
.summary .headline { font-size: 18px; font-weight: 600; margin: 4px 0; }
.summary .limits { margin: 4px 0 8px; color: #444; }
.verdicts { list-style: none; margin: 6px 0 4px; padding: 0; }
.verdicts li { margin: 3px 0; padding-left: 1.4em; text-indent: -1.4em; overflow-wrap: break-word; }
.mark { display: inline-block; width: 1.4em; text-indent: 0; font-weight: 700; }
.v-fits .mark, .yes { color: #1f6f3a; }
.v-late .mark, .v-over_budget .mark, .v-cannot_run .mark, .no { color: #b00020; }
.v-unknown .mark, .maybe { color: #8a5a00; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 5px 7px; vertical-align: top; }
thead th { background: #f0f0ee; text-align: left; }
tbody th { font-weight: 600; text-align: left; }
td.num { text-align: right; }
.nw { white-space: nowrap; }
td.yes, td.no, td.maybe { font-weight: 600; white-space: nowrap; }
.cards { display: none; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; margin: 10px 0; }
.card h3 { margin: 0 0 2px; font-size: 15px; overflow-wrap: anywhere; }
.card .verdict { margin: 0 0 6px; font-weight: 600; }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 0; font-size: 14px; }
.card dt { color: #595959; } .card dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 14px 0 22px; break-inside: avoid; page-break-inside: avoid; }
figcaption { color: #555; font-size: 13px; margin-top: 2px; }
svg.chart { display: block; width: 100%; height: auto;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.wide svg.chart { max-width: 720px; } .narrow { display: none; } .narrow svg.chart { max-width: 480px; }
.assumptions li { margin: 2px 0; overflow-wrap: anywhere; }
.signoff { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 24px; margin-top: 28px; }
.signoff div { border-top: 1px solid #444; padding-top: 4px; color: #555; font-size: 13px; }
footer { margin-top: 32px; color: #595959; font-size: 12px; }
@media (max-width: 779px) {
  main { padding: 16px 12px 32px; }
  h1 { font-size: 22px; }
  .table-wrap { display: none; }
  .cards { display: block; }
  .wide { display: none; } .narrow { display: block; }
  .signoff { grid-template-columns: 1fr; gap: 14px; }
}
@media print {
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, .summary, figure, .card { break-inside: avoid; page-break-inside: avoid; }
  .summary { border-left-color: #000; background: none; }
  .table-wrap, .wide { display: block; } .cards, .narrow { display: none; }
  @page { margin: 15mm; }
}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


#: '60 h' never breaks between the number and its unit.
_DURATION = re.compile(r"(\d) (min|h|d)\b")


def _unbroken(cell: str) -> str:
    return _DURATION.sub("\\1\u00a0\\2", cell)


_CELL_CLASS = {"✓": "yes", "✗": "no", "?": "maybe"}


def _verdict_class(cell: str) -> str:
    return _CELL_CLASS.get(cell[:1], "")


def _table(result: Estimate) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in TABLE_HEADERS)
    body = []
    for row in table(result):
        cells = [f'<th scope="row">{_model_cell(row[0])}</th>']
        for header, cell in zip(TABLE_HEADERS[1:], row[1:], strict=True):
            cls = _verdict_class(cell) if header == "Verdict" else "num"
            cells.append(f'<td class="{cls}">{_e(_unbroken(cell))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _model_cell(name: str) -> str:
    """A model name that may break only after its provider's slash, never inside the id."""
    head, sep, tail = name.rpartition("/")
    if not sep:
        return f'<span class="nw">{_e(name)}</span>'
    return f'<span class="nw">{_e(head)}/</span><wbr><span class="nw">{_e(tail)}</span>'


def _cards(result: Estimate) -> str:
    """One card per model for narrow screens: the verdict and the costs first, nothing to scroll sideways."""
    out = ['<div class="cards">']
    for e, row in zip(result.estimates, table(result), strict=True):
        pairs = "".join(f"<dt>{_e(h)}</dt><dd>{_e(c)}</dd>" for h, c in zip(TABLE_HEADERS[2:], row[2:], strict=True))
        why = f": {'; '.join(e.cannot_run)}" if e.cannot_run else ""
        out.append(
            f'<article class="card"><h3>{_e(row[0])}</h3>'
            f'<p class="verdict {_verdict_class(row[1])}">{_e(row[1] + why)}</p><dl>{pairs}</dl></article>'
        )
    out.append("</div>")
    return "".join(out)


def _figure(wide: str, narrow: str, caption: str) -> str:
    return (f'<figure><div class="wide">{wide}</div><div class="narrow">{narrow}</div>'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def chart_svgs(result: Estimate, width: int = charts.WIDTH, suffix: str = "") -> list[tuple[str, str]]:
    """(svg, caption) for every chart the estimate has data for, in report order, drawn `width` wide."""
    rec = recommendation_of(result)
    out = [_cost_chart(result, rec.budget_usd, width, suffix)]
    out += _range_chart(result, width, suffix)
    out += _token_charts(result, width, suffix)
    out += _turnaround_chart(result, rec.deadline_hours, width, suffix)
    return out


def _cost_chart(result: Estimate, budget_usd: Decimal | None, width: int, suffix: str) -> tuple[str, str]:
    bars = []
    for e in result.estimates:
        if e.cannot_run:
            bars.append(charts.CostBar(model_name(e), None, None, "cannot run: " + "; ".join(e.cannot_run)))
        else:
            batch = e.batch_cost_usd if e.batch_eligible else None
            bars.append(charts.CostBar(model_name(e), e.realtime_cost_usd, batch, "" if batch else "no batch"))
    budget = ""
    if budget_usd is not None:
        budget = f"; the budget ({usd_display(budget_usd)}) as a line (marked at the right when far off the scale)"
    return (
        charts.cost_bars(f"chart-cost{suffix}", bars, budget=budget_usd, width=width),
        f"Expected cost of the whole job per model, realtime and batch{budget}.",
    )


def _range_chart(result: Estimate, width: int, suffix: str) -> list[tuple[str, str]]:
    ranges = []
    for e in result.estimates:
        if e.cannot_run:
            continue
        r = e.realtime_cost_range
        ranges.append(charts.CostRangeRow(model_name(e), "realtime", r.low, r.expected, r.high))
        if e.batch_cost_range is not None and e.batch_eligible:
            b = e.batch_cost_range
            ranges.append(charts.CostRangeRow(model_name(e), "batch", b.low, b.expected, b.high))
    if not ranges:
        return []
    return [(
        charts.cost_ranges(f"chart-range{suffix}", ranges, width=width),
        "Low and high cost from the tokenizer band (approximate token counts) and cache assumptions; "
        "the dark mark is the expected cost.",
    )]


def _token_charts(result: Estimate, width: int, suffix: str) -> list[tuple[str, str]]:
    """One histogram per counted sample; the caption says which models it is exact or scaled for."""
    out = []
    for k, (drawn, group) in enumerate(token_groups(result.estimates)):
        h = drawn.input_tokens_histogram
        assert h is not None
        enc = drawn.tokenizer or "its tokenizer"
        exact = [model_name(e) for e in group if e.token_method == "exact"]
        approx = [f"{model_name(e)} (×{e.tokenizer_factor})" for e in group if e.token_method != "exact"]
        who = []
        if exact:
            who.append(f"exact for {', '.join(exact)}")
        if approx:
            who.append(f"{'scaled' if exact else 'approximate'} for {', '.join(approx)}")
        out.append((
            charts.histogram(f"chart-tokens-{k}{suffix}", enc, h.edges, h.counts, width=width),
            f"Input tokens per request in the counted sample ({sum(h.counts):,} requests), counted with {enc}"
            + (f": {'; '.join(who)}." if who else "."),
        ))
    return out


def _turnaround_chart(
    result: Estimate, deadline: float | None, width: int, suffix: str
) -> list[tuple[str, str]]:
    """The turnaround chart, when some model that can run has a known time."""
    rows = []
    for e in result.estimates:
        t = e.turnaround
        if t is None:
            continue
        tb = t.batch
        note = "cannot run: " + "; ".join(e.cannot_run) if e.cannot_run else ""
        rows.append(charts.TurnaroundRow(
            model_name(e), tb.p50_hours, tb.p90_hours, tb.worst_hours, t.realtime.hours,
            tb.supported and e.batch_eligible, tb.never_expires, note,
        ))
    known = any(v is not None for r in rows if not r.note for v in (r.p50, r.p90, r.worst, r.realtime))
    if not (rows and known):
        return []
    what = "against the deadline (red line)" if deadline is not None else "(no deadline given)"
    return [(
        charts.turnaround(f"chart-turnaround{suffix}", rows, deadline, width=width),
        f"Batch turnaround for the whole job (p50, p90, worst before expiry) and realtime duration {what}; "
        "hours on a log scale when they span orders of magnitude.",
    )]


def render_html(result: Estimate, *, generated: datetime | None = None) -> str:
    s = summary(result)
    ds = result.dataset
    when = f" · generated {generated.isoformat(timespec='minutes')}" if generated else ""
    tone = {"fits": "", "unknown": " unknown"}.get(s.status, " miss")
    mark = {"fits": "✓", "unknown": "?"}.get(s.status, "✗")
    verdicts = "".join(
        f'<li class="v-{_e(status)}"><span class="mark">{_e(MARK[status][0])}</span>{_e(text)}</li>'
        for status, text in s.verdicts
    )
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
        f'<section class="summary{tone}" id="summary" aria-label="Summary"><h2 style="border:0;margin:0">Summary</h2>',
        f'<p class="headline">{_e(mark)} {_e(s.headline)}</p>',
        f'<p class="limits">{_e(s.limits)}</p>',
        f'<ul class="verdicts">{verdicts}</ul></section>' if len(s.verdicts) > 1 else "</section>",
        '<section id="estimate"><h2>Estimate</h2>',
        _table(result),
        _cards(result),
    ]
    if derived_batch_price(result):
        parts.append('<p class="meta">* batch price derived from the provider\'s default batch discount.</p>')
    parts.append('</section><section id="charts"><h2>Charts</h2>')
    wide = chart_svgs(result)
    narrow = chart_svgs(result, charts.NARROW, "-narrow")
    parts.extend(_figure(w, n, caption) for (w, caption), (n, _) in zip(wide, narrow, strict=True))
    if not any(e.turnaround is not None for e in result.estimates):
        parts.append("<p>Turnaround was not estimated.</p>")
    elif not any("chart-turnaround" in svg for svg, _ in wide):
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
