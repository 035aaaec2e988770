"""The HTML report: one self-contained, printable file. Summary, table, charts (inline SVG), assumptions.

No scripts, no external fonts, styles or images: a Content-Security-Policy in the page forbids fetching
anything; price sources are plain links (followed only when clicked). Everything from the estimate is escaped.

Nothing a decision needs is cut, at 1280 px, on a phone or on A4: the estimate is two tables (costs; time
and tokens) narrow enough for a printed page, long model ids break after their dots and slashes, and no
amount, duration or date breaks across lines.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from html import escape
from pathlib import PurePath

from planner import __version__
from planner.core.money import usd_display
from planner.plan.estimate import Estimate, ModelEstimate
from planner.plan.recommend import cannot_run_text
from planner.render import charts
from planner.render.cells import (
    MARK,
    MODES_NOTE,
    derived_batch_price,
    mode_cost_cell,
    mode_time_cell,
    mode_verdict_cell,
    modes_asked,
    recommendation_of,
    shows_modes,
    token_groups,
)
from planner.render.tabular import MODE_HEADERS, assumptions, model_name, modes_table, summary, table, table_headers

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f6f4; color: #222; font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; overflow-wrap: break-word; }
a { color: #1f4e8c; }
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
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums;
  margin: 0 0 14px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #ddd; padding: 5px 7px; vertical-align: top; }
thead th { background: #f0f0ee; text-align: left; }
tbody th { font-weight: 600; text-align: left; min-width: 8em; }
td.num { text-align: right; }
td.basis { color: #444; }
.nw { white-space: nowrap; }
td.yes, td.no, td.maybe { font-weight: 600; white-space: nowrap; }
.cards { display: none; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; margin: 10px 0; }
.card h3 { margin: 0 0 2px; font-size: 15px; overflow-wrap: anywhere; }
.card .verdict { margin: 0 0 6px; font-weight: 600; }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 0; font-size: 14px; }
.card dt { color: #595959; } .card dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.card h4 { margin: 8px 0 2px; font-size: 14px; }
figure { margin: 14px 0 22px; break-inside: avoid; page-break-inside: avoid; }
figcaption { color: #555; font-size: 13px; margin-top: 2px; }
svg.chart { display: block; width: 100%; height: auto;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.wide svg.chart { max-width: 720px; } .narrow { display: none; } .narrow svg.chart { max-width: 480px; }
.assumptions li { margin: 2px 0; overflow-wrap: anywhere; }
.note { color: #444; font-size: 13px; }
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
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  table { font-size: 9pt; }
  th, td { padding: 3px 5px; }
  a { color: inherit; }
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


#: What never breaks across lines: an amount with its band, a count with its band, a duration, a date
#: (with its time), a percentage in brackets.
_WHOLE = re.compile(
    r"[\w.-]+@\d{4}-\d\d-\d\d"
    r"|≈?\$[\d,]+(?:\.\d+)?(?: ±\d+%)?(?: \*)?"
    r"|\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d)?(?:Z|[+-]\d\d:\d\d)?)?"
    r"|[<≈]? ?\d[\d,]*(?:\.\d+)? ?(?:min|h|d)\b(?: [†])?"
    r"|\d[\d,]*(?: ±[\d,]+)?"
    r"|\(\d+%\)"
)
_URL = re.compile(r"https?://[^\s\"'<>()]+[^\s\"'<>().,;:]")


def _unbroken(text: str) -> str:
    """Escaped `text` with every amount, count, duration and date kept on one line."""
    out, last = [], 0
    for m in _WHOLE.finditer(text):
        out += [_e(text[last:m.start()]), f'<span class="nw">{_e(m.group())}</span>']
        last = m.end()
    return "".join(out) + _e(text[last:])


def _prose(text: str) -> str:
    """Escaped `text` for a sentence: its URLs as links, its numbers unbroken."""
    out, last = [], 0
    for m in _URL.finditer(text):
        url = m.group()
        out += [_unbroken(text[last:m.start()]), f'<a href="{_e(url)}" rel="noreferrer noopener">{_e(url)}</a>']
        last = m.end()
    return "".join(out) + _unbroken(text[last:])


_CELL_CLASS = {"✓": "yes", "✗": "no", "?": "maybe"}


def _verdict_class(cell: str) -> str:
    return _CELL_CLASS.get(cell[:1], "")


#: The estimate's columns in two tables, each narrow enough for an A4 page: what it costs, then how long
#: and how many tokens.
_TIME_AND_TOKENS = ("Batch p50 / p90", "Realtime time", "Input tokens", "Output tokens")


def _table(result: Estimate) -> str:
    headers = table_headers(result)
    rows = table(result)
    costs = [h for h in headers if h not in _TIME_AND_TOKENS]
    times = ["Model", *_TIME_AND_TOKENS]
    out = ['<div class="table-wrap">']
    for caption, which in (("Cost", costs), ("Time and tokens", times)):
        idx = [headers.index(h) for h in which]
        out.append(_html_table(caption, which, [[row[i] for i in idx] for row in rows]))
    out.append("</div>")
    return "".join(out)


def _html_table(caption: str, headers: list[str] | tuple[str, ...], rows: list[list[str]], *,
                repeat_names: bool = True) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    body = []
    for row in rows:
        name = _model_cell(row[0]) if repeat_names or row[0] else ""
        cells = [f'<th scope="row">{name}</th>']
        for header, cell in zip(headers[1:], row[1:], strict=True):
            cls = _verdict_class(cell) if header == "Verdict" else "basis" if header == "Time judged on" else (
                "" if header == "Mode" else "num")
            cells.append(f'<td class="{cls}">{_unbroken(cell)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _modes_table(result: Estimate) -> str:
    """Every processing mode asked about, per model (the terminal's 'Processing modes' table)."""
    rows = modes_table(result)
    shown: set[str] = set()
    for row in rows:  # the model's name once, on its first mode
        if row[0] in shown:
            row[0] = ""
        shown.add(row[0])
    note = f'<p class="note">{_e(MODES_NOTE)}</p>'
    return (f'<div class="table-wrap">{_html_table("Processing modes", MODE_HEADERS, rows, repeat_names=False)}'
            f"{note}</div>")


def _model_cell(name: str) -> str:
    """A model name that may break after a slash, dot, colon or '@' (a long Bedrock profile id), never
    elsewhere inside the id."""
    parts = re.split(r"(?<=[/.:@])", name)
    return '<span class="id">' + "<wbr>".join(_e(p) for p in parts if p) + "</span>"


def _cards(result: Estimate) -> str:
    """One card per model for narrow screens: the verdict and the costs first, nothing to scroll sideways;
    then each processing mode asked about, when the modes are shown."""
    headers = table_headers(result)
    rec = recommendation_of(result)
    modes = shows_modes(result)
    out = ['<div class="cards">']
    for e, row in zip(result.estimates, table(result), strict=True):
        pairs = "".join(f"<dt>{_e(h)}</dt><dd>{_unbroken(c)}</dd>" for h, c in zip(headers[2:], row[2:], strict=True))
        why = f": {'; '.join(e.cannot_run)}" if e.cannot_run else ""
        out.append(
            f'<article class="card"><h3>{_model_cell(row[0])}</h3>'
            f'<p class="verdict {_verdict_class(row[1])}">{_prose(row[1] + why)}</p><dl>{pairs}</dl>'
            + (_card_modes(e, rec.deadline_hours, rec.budget_usd, modes_asked(result)) if modes else "")
            + "</article>"
        )
    out.append("</div>")
    return "".join(out)


def _card_modes(e: ModelEstimate, deadline: float | None, budget: Decimal | None, asked: list[str]) -> str:
    pairs = []
    for name in asked:
        m = e.modes.get(name)
        if m is None:
            continue
        cost = mode_cost_cell(m)
        value = mode_verdict_cell(m, deadline, budget) + (f" · {cost} · {mode_time_cell(m)}" if cost != "—" else "")
        pairs.append(f"<dt>{_e(name)}</dt><dd>{_unbroken(value)}</dd>")
    return f"<h4>Processing modes</h4><dl>{''.join(pairs)}</dl>"


def _figure(wide: str, narrow: str, caption: str) -> str:
    return (f'<figure><div class="wide">{wide}</div><div class="narrow">{narrow}</div>'
            f"<figcaption>{_prose(caption)}</figcaption></figure>")


def chart_svgs(result: Estimate, width: int = charts.WIDTH, suffix: str = "") -> list[tuple[str, str]]:
    """(svg, caption) for every chart the estimate has data for, in report order, drawn `width` wide."""
    rec = recommendation_of(result)
    out = [_cost_chart(result, rec.budget_usd, width, suffix)]
    out += _range_chart(result, width, suffix)
    out += _token_charts(result, width, suffix)
    out += _turnaround_chart(result, rec.deadline_hours, width, suffix)
    return out


def _cost_chart(result: Estimate, budget_usd: Decimal | None, width: int, suffix: str) -> tuple[str, str]:
    modes = modes_asked(result) if shows_modes(result) else []
    bars = []
    for e in result.estimates:
        if e.cannot_run:
            bars.append(charts.CostBar(model_name(e), None, None, cannot_run_text(e.cannot_run)))
        else:
            batch = e.batch_cost_usd if e.batch_eligible else None
            bars.append(charts.CostBar(model_name(e), e.realtime_cost_usd, batch, "" if batch else "no batch",
                                       modes=_mode_bars(e, modes)))
    budget = ""
    if budget_usd is not None:
        budget = f"; the budget ({usd_display(budget_usd)}) as a line (marked at the right when far off the scale)"
    what = ("each processing mode asked about (flex with its refused requests re-sent at standard)" if modes
            else "realtime and batch")
    return (
        charts.cost_bars(f"chart-cost{suffix}", bars, budget=budget_usd, width=width),
        f"Expected cost of the whole job per model, {what}{budget}.",
    )


def _mode_bars(e: ModelEstimate, modes: list[str]) -> tuple[tuple[str, Decimal | None, str], ...]:
    """(mode, cost, why none) per mode asked about; empty when the modes are not shown."""
    out = []
    for name in modes:
        m = e.modes.get(name)
        if m is None:
            continue
        cost = m.cost_usd if m.offered and m.qualifies else None
        why = "" if cost is not None else ("not offered" if not m.offered else "does not qualify")
        out.append((name, cost, why))
    return tuple(out)


def _range_chart(result: Estimate, width: int, suffix: str) -> list[tuple[str, str]]:
    ranges = []
    for e in result.estimates:
        if e.cannot_run:
            continue
        r = e.realtime_cost_range
        ranges.append(charts.CostRangeRow(model_name(e), "realtime", r.low, r.expected, r.high))
        for name in ("flex", "priority") if shows_modes(result) else ():
            m = e.modes.get(name)
            if m is not None and m.offered and m.qualifies and m.cost_range is not None:
                c = m.cost_range
                ranges.append(charts.CostRangeRow(model_name(e), name, c.low, c.expected, c.high))
        if e.batch_cost_range is not None and e.batch_eligible:
            b = e.batch_cost_range
            ranges.append(charts.CostRangeRow(model_name(e), "batch", b.low, b.expected, b.high))
    if not ranges:
        return []
    return [(
        charts.cost_ranges(f"chart-range{suffix}", ranges, width=width),
        "Low and high cost from the tokenizer band (approximate token counts) and cache assumptions"
        + ("; flex from nothing refused to its refused share re-sent at standard" if shows_modes(result) else "")
        + "; the dark mark is the expected cost.",
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
    modes = shows_modes(result)
    rows = []
    for e in result.estimates:
        t = e.turnaround
        if t is None:
            continue
        tb = t.batch
        note = cannot_run_text(e.cannot_run) if e.cannot_run else ""
        extra = tuple((name, m.hours) for name in ("flex", "priority")
                      if (m := e.modes.get(name)) is not None and m.offered and m.qualifies) if modes else ()
        rows.append(charts.TurnaroundRow(
            model_name(e), tb.p50_hours, tb.p90_hours, tb.worst_hours, t.realtime.hours,
            tb.supported and e.batch_eligible, tb.never_expires, note, extra,
        ))
    known = any(v is not None for r in rows if not r.note for v in (r.p50, r.p90, r.worst, r.realtime))
    if not (rows and known):
        return []
    what = "against the deadline (red line)" if deadline is not None else "(no deadline given)"
    return [(
        charts.turnaround(f"chart-turnaround{suffix}", rows, deadline, width=width),
        "Batch turnaround for the whole job (p50, p90, worst before expiry) and realtime duration"
        + (" (and flex, priority: the hours each is judged on)" if modes else "")
        + f" {what}; hours on a log scale when they span orders of magnitude.",
    )]


def render_html(result: Estimate, *, generated: datetime | None = None) -> str:
    s = summary(result)
    ds = result.dataset
    when = f" · generated {generated.isoformat(timespec='minutes')}" if generated else ""
    tone = {"fits": "", "unknown": " unknown"}.get(s.status, " miss")
    mark = {"fits": "✓", "unknown": "?"}.get(s.status, "✗")
    verdicts = "".join(
        f'<li class="v-{_e(status)}"><span class="mark">{_e(MARK[status][0])}</span>{_prose(text)}</li>'
        for status, text in s.verdicts
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>batchplan report: {_e(PurePath(ds.path).name)}</title>",  # never the user's folders
        f"<style>{CSS}</style></head><body><main>",
        "<header><h1>Batch vs realtime: cost report</h1>",
        f'<p class="meta">Dataset {_e(ds.path)} ({_e(ds.format)}), {_unbroken(f"{ds.requests:,}")} requests · '
        f"prices as of {_unbroken(result.as_of.isoformat())}{_unbroken(when)}</p></header>",
        f'<section class="summary{tone}" id="summary" aria-label="Summary"><h2 style="border:0;margin:0">Summary</h2>',
        f'<p class="headline">{_e(mark)} {_prose(s.headline)}</p>',
        f'<p class="limits">{_prose(s.limits)}</p>',
        f'<ul class="verdicts">{verdicts}</ul></section>' if len(s.verdicts) > 1 else "</section>",
        '<section id="estimate"><h2>Estimate</h2>',
        _table(result),
        _modes_table(result) if shows_modes(result) else "",
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
        parts.append(f"<h3>{_e(title)}</h3><ul>" + "".join(f"<li>{_prose(x)}</li>" for x in lines) + "</ul>")
    parts.append(
        '</section><section aria-label="Sign-off"><h2>Sign-off</h2>'
        '<div class="signoff"><div>Approved by</div><div>Role</div><div>Date</div></div></section>'
        f"<footer>Generated by batchplan {_e(__version__)}. Estimates, not quotes: "
        "vendors bill what they measure.</footer></main></body></html>\n"
    )
    return "\n".join(parts)
