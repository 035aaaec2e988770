"""A finished batch reconciled (planner.batch.reconcile) in words: the rows and lines the terminal shows, and
the same answer as a file for whoever pays the bill (`reconcile -o report.html|.md|.csv`), headed by one
sentence: "You paid $X against an estimate of $Y".

Every form reads the same rows, so a number never differs between the terminal, the page and the CSV; the
difference always reads `actual vs estimate` = (actual − estimate) / estimate.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import PurePath

from planner.batch.reconcile import Reconciliation
from planner.core.money import usd_display

#: The header of the difference column, and its reading: (actual − estimate) / estimate. The --json
#: fields carry the same figure as `actual_vs_estimate_pct` (input_tokens, output_tokens, cost_usd).
DIFFERENCE = "actual vs estimate"
#: The CSV's columns (docs/reconcile.md documents them): one row per measure.
CSV_COLUMNS = ("measure", "estimated", "actual", "actual_vs_estimate_pct")


def _tokens(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"



def _pct(value: float | None, estimated: int | Decimal | None) -> str:
    """The "actual vs estimate" cell: (actual − estimate) / estimate, signed ("-" without an estimate)."""
    if estimated is None:
        return "-"
    if value is None:
        return "n/a"
    return f"{value:+.2f}%"



def printable(text: str) -> str:
    """Text that quotes the results (error types, tiers, ids) with any control character shown as '?'."""
    return "".join(c if c.isprintable() else "?" for c in text)




def headline(report: Reconciliation) -> str:
    """'You paid $12.34 against an estimate of $11.90 (actual vs estimate +3.70%).' — or, without an
    input to estimate from, what was paid and what realtime would have cost."""
    c = report.cost_usd
    paid = usd_display(Decimal(c.actual))
    if c.estimated is None:
        return (f"You paid {paid} for {report.requests.succeeded:,} requests on {report.resolved_model}; no estimate "
                "to compare (give the batch's --input or --manifest).")
    est = usd_display(Decimal(c.estimated))
    return f"You paid {paid} against an estimate of {est} ({DIFFERENCE} {_pct(c.actual_vs_estimate_pct, 1)})."


def side_rows(report: Reconciliation) -> list[tuple[str, str, str, str]]:
    """Estimated against actual: input and output tokens, and the batch cost (label, estimated, actual, diff)."""
    i, o, c = report.input_tokens, report.output_tokens, report.cost_usd
    rows = [("input tokens", _tokens(i.estimated), _tokens(i.actual), _pct(i.actual_vs_estimate_pct, i.estimated))]
    if i.tool_use_prompt:  # search grounding: billed apart from the request's own prompt, never compared
        rows.append(("tool-use prompt tokens", "-", _tokens(i.tool_use_prompt), "-"))
    rows.append(("output tokens", _tokens(o.estimated), _tokens(o.actual), _pct(o.actual_vs_estimate_pct, o.estimated)))
    est_cost = Decimal(c.estimated) if c.estimated is not None else None
    rows.append(("batch cost", usd_display(est_cost) if est_cost is not None else "-", usd_display(Decimal(c.actual)),
                 _pct(c.actual_vs_estimate_pct, est_cost)))
    return rows


def title(report: Reconciliation) -> str:
    return (f"{report.vendor} batch on {report.resolved_model}, priced with {report.price_table} "
            f"({report.batch_price_basis}) as of {report.as_of} ({report.as_of_source})")


def detail_lines(report: Reconciliation) -> list[str]:
    """What the table does not hold: the requests, the per-request view, the tiers, realtime's price."""
    r = report.requests
    return [printable(line) for line in [
        f"requests: {r.results:,} results, {r.matched:,} matched to the input, {r.succeeded:,} succeeded, "
        f"{r.failed:,} failed" + (f", {r.missing_results:,} without a result" if r.missing_results else ""),
        *_per_request(report),
        *_tiers(report),
        f"realtime would have cost {usd_display(Decimal(report.cost_usd.realtime_equivalent))} for the billed tokens",
    ]]


def _per_request(report: Reconciliation) -> list[str]:
    """The per-request view: input error, output spread, and the failures with a rerun's cost."""
    from planner.core.money import usd_display

    lines: list[str] = []
    i, o, c = report.input_tokens, report.output_tokens, report.cost_usd
    if i.per_request is not None:
        p = i.per_request
        err = p.relative_error
        spread = (f"; estimate vs bill p50 {err.p50:+.2%}, p90 {err.p90:+.2%}, worst {p.max_abs_tokens:,} tokens"
                  if err else "")
        lines.append(f"input per request ({i.token_method}): {p.exact:,} of {p.requests:,} exact, "
                     f"{p.within_1pct:,} within 1%, {p.undercounted:,} under{spread}")
    if o.actual_distribution is not None:
        a = o.actual_distribution
        assumed = ""
        if o.estimated_distribution is not None:
            assumed = f"; assumed mean {o.estimated_distribution.mean:,.0f} ({o.assumption})"
        lines.append(f"output per request: mean {a.mean:,.0f}, p50 {a.p50:,.0f}, p90 {a.p90:,.0f}, "
                     f"max {a.max:,.0f}{assumed}")
    f = report.failures
    if f.count:
        kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(f.by_type.items()))
        rerun = f"; rerunning them would cost about {usd_display(Decimal(c.failed_rerun_estimate))}" if (
            c.failed_rerun_estimate is not None) else ""
        lines.append(f"failures: {kinds} (billed $0){rerun}")
    return lines



def _tiers(report: Reconciliation) -> list[str]:
    """The service tiers the results report, each with the prices it was billed at."""
    if not report.service_tiers:
        return []
    parts = [f"{t.requests:,} {t.tier} at {t.priced_as} prices ({t.basis})" for t in report.service_tiers]
    return [f"service tiers reported: {', '.join(parts)}"]




def to_markdown(report: Reconciliation) -> str:
    rows = "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in side_rows(report))
    bullets = "\n".join(f"- {line}" for line in detail_lines(report))
    said = "\n".join(f"- **Warning:** {w}" for w in report.warnings) + ("\n" if report.warnings else "")
    said += "\n".join(f"- {n}" for n in report.notes)
    return (f"# Reconciled batch\n\n**{printable(headline(report))}**\n\n{printable(title(report))}\n\n"
            f"| | estimated | actual | {DIFFERENCE} |\n|---|---:|---:|---:|\n{rows}\n\n{bullets}\n\n"
            + (f"## Warnings and notes\n\n{printable(said)}\n\n" if said.strip() else "")
            + f"Results: {', '.join(PurePath(p).name for p in report.results)}. Key: `{report.key}`.\n")


def to_html(report: Reconciliation) -> str:
    from planner.render.html import CSP, CSS, _e, _prose, _unbroken

    head = ["", "estimated", "actual", DIFFERENCE]
    body = "".join("<tr>" + "".join(f'<td class="{"" if k == 0 else "num"}">{_unbroken(v)}</td>'
                                    for k, v in enumerate(row)) + "</tr>" for row in side_rows(report))
    items = "".join(f"<li>{_prose(line)}</li>" for line in detail_lines(report))
    warnings = "".join(f"<li><strong>Warning:</strong> {_prose(printable(w))}</li>" for w in report.warnings)
    notes = "".join(f"<li>{_prose(printable(n))}</li>" for n in report.notes)
    name = PurePath(report.results[0]).name if report.results else "batch"
    return "".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>batchplan reconcile: {_e(name)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        "<header><h1>Reconciled batch</h1>",
        f'<p class="meta">{_prose(printable(title(report)))}</p></header>',
        f'<section class="summary" id="summary"><p class="headline">{_prose(printable(headline(report)))}</p>'
        "</section>",
        '<section id="comparison"><h2>Estimate and bill</h2><div class="wrap"><table>',
        "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead>",
        f"<tbody>{body}</tbody></table></div><ul>{items}</ul></section>",
        f'<section id="notes"><h2>Warnings and notes</h2><ul>{warnings}{notes}</ul></section>'
        if warnings or notes else "",
        f'<footer><p class="meta">Key {_e(report.key)}: <code>batchplan history forget {_e(report.key)}</code> '
        "removes it from what later estimates learn.</p></footer></main></body></html>\n",
    ])


def to_csv(report: Reconciliation) -> str:
    """One row per measure: input_tokens, tool_use_prompt_tokens (when billed), output_tokens, cost_usd;
    plain numbers (tokens as integers, money as decimal strings), empty when there is no estimate."""
    i, o, c = report.input_tokens, report.output_tokens, report.cost_usd
    rows: list[tuple[str, object, object, object]] = [("input_tokens", i.estimated, i.actual, i.actual_vs_estimate_pct)]
    if i.tool_use_prompt:
        rows.append(("tool_use_prompt_tokens", None, i.tool_use_prompt, None))
    rows += [("output_tokens", o.estimated, o.actual, o.actual_vs_estimate_pct),
             ("cost_usd", c.estimated, c.actual, c.actual_vs_estimate_pct)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


def render_file(report: Reconciliation, form: str) -> str:
    return {"html": to_html, "md": to_markdown, "csv": to_csv}[form](report)
