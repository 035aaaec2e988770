"""`batchplan reconcile RESULTS… [--input FILE | --manifest FILE]`: billed vs estimated, for a finished batch.

The reconciled batch is stored in the history store (unless `--no-store`), so later estimates of the same
model can use its observed output tokens and, for approximate tokenizers, its billed/estimated ratio.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from planner.cli.commands._common import (
    AsOfOption,
    JsonOption,
    PricesOption,
    handle_errors,
    note,
    parse_date,
    print_json,
    stdout_console,
)
from planner.cli.commands.estimate import OutputRatioOption, OutputTokensOption

if TYPE_CHECKING:
    from planner.batch.reconcile import Reconciliation
    from planner.render.layout import Grid
    from planner.store.history import StoredReconciliation

#: The header of the difference column, and its reading: (actual − estimate) / estimate. The --json
#: fields carry the same figure as `actual_vs_estimate_pct` (input_tokens, output_tokens, cost_usd).
DIFFERENCE = "actual vs estimate"

ResultsArgument = Annotated[
    list[Path],
    typer.Argument(
        metavar="RESULTS",
        help="Vendor result files: OpenAI/Azure/Groq output and error JSONL, Anthropic results JSONL, Gemini or "
        "Vertex batch output, Bedrock .jsonl.out, or batch objects with usage (JSON).",
    ),
]
InputOption = Annotated[
    Path | None, typer.Option("--input", metavar="FILE", help="The batch's input file (joined by custom_id/key).")
]
ManifestOption = Annotated[
    Path | None,
    typer.Option("--manifest", metavar="FILE", help="The manifest.json `batchplan prepare` wrote for this batch."),
]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", metavar="MODEL", help="Price as this model (default: the one the results name)."),
]
StoreOption = Annotated[
    bool,
    typer.Option("--store/--no-store", help="Keep the reconciled batch in the history store to learn from."),
]


def reconcile_command(
    results: ResultsArgument,
    input: InputOption = None,
    manifest: ManifestOption = None,
    model: ModelOption = None,
    output_tokens: OutputTokensOption = None,
    output_ratio: OutputRatioOption = None,
    as_of: AsOfOption = None,
    prices: PricesOption = None,
    store: StoreOption = True,
    json_output: JsonOption = False,
) -> None:
    """Compare what a finished batch was billed with the estimate of its input, request by request."""
    _run(results, input, manifest, model, output_tokens, output_ratio, as_of, prices, store, json_output)


@handle_errors
def _run(
    results: list[Path],
    input: Path | None,
    manifest: Path | None,
    model: str | None,
    output_tokens: int | None,
    output_ratio: float | None,
    as_of: str | None,
    prices: list[Path] | None,
    store: bool,
    json_output: bool,
) -> None:
    from planner.batch.reconcile import ReconcileOptions, reconcile

    options = ReconcileOptions(
        input=input, manifest=manifest, model=model, as_of=parse_date(as_of), prices=tuple(prices or ()),
        output_tokens=output_tokens, output_ratio=output_ratio,
    )
    outcome = reconcile(results, options)
    stored = None
    if store:
        from planner.core.errors import BatchplanError
        from planner.store.history import record_reconciliation

        try:
            stored = record_reconciliation(outcome)
        except BatchplanError as exc:  # the report stands without the store: say it was not kept
            note(f"not stored in your history: {exc}", kind="warning")
    if json_output:
        doc = outcome.report.model_dump(mode="json")
        doc["stored"] = stored.model_dump(mode="json") if stored else None
        print_json(doc)
    else:
        render(outcome.report, stored)


def _tokens(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _pct(value: float | None, estimated: int | Decimal | None) -> str:
    """The "actual vs estimate" cell: (actual − estimate) / estimate, signed ("-" without an estimate)."""
    if estimated is None:
        return "-"
    if value is None:
        return "n/a"
    return f"{value:+.2f}%"


def _printable(text: str) -> str:
    """Text that quotes the results (error types, tiers, ids) with any control character shown as '?'."""
    return "".join(c if c.isprintable() else "?" for c in text)


def render(report: Reconciliation, stored: StoredReconciliation | None) -> None:
    """The human form, by the rules every command follows: a fitted table on a terminal and plain
    full-width rows when piped (stdout); the notes and where the batch was stored on stderr, silenced by -q."""
    from rich.text import Text

    from planner.core.money import usd_display
    from planner.render.layout import print_grid

    console = stdout_console()
    console.print(Text(f"{report.vendor} batch on {report.resolved_model}, priced with {report.price_table} "
                       f"({report.batch_price_basis}) as of {report.as_of} ({report.as_of_source})"))
    print_grid(console, _sides(report))
    r = report.requests
    lines = [
        f"requests: {r.results:,} results, {r.matched:,} matched to the input, {r.succeeded:,} succeeded, "
        f"{r.failed:,} failed" + (f", {r.missing_results:,} without a result" if r.missing_results else ""),
        *_per_request(report),
        *_tiers(report),
        f"realtime would have cost {usd_display(Decimal(report.cost_usd.realtime_equivalent))} for the billed tokens",
    ]
    for line in lines:
        console.print(Text(_printable(line)))
    for text in report.warnings:
        note(_printable(text), kind="warning")
    for text in report.notes:
        note(_printable(text))
    if stored is not None and stored.refused:
        note(f"not stored in your history ({stored.store}): later estimates must not learn from a comparison "
             "this doubtful", kind="")
    elif stored is not None:
        state = "stored in" if stored.added else "already in"
        note(f"{state} your history ({stored.store}): later estimates of {report.resolved_model} learn from it "
             f"(--no-history turns that off; `batchplan history forget {report.key}` removes it)", kind="")


def _sides(report: Reconciliation) -> Grid:
    """Estimated against actual: input and output tokens, and the batch cost."""
    from planner.core.money import usd_display
    from planner.render.layout import Col, Grid

    grid = Grid([Col("", key=True), *(Col(h, "right") for h in ("estimated", "actual", DIFFERENCE))])
    i, o, c = report.input_tokens, report.output_tokens, report.cost_usd
    grid.add("input tokens", _tokens(i.estimated), _tokens(i.actual), _pct(i.actual_vs_estimate_pct, i.estimated))
    if i.tool_use_prompt:  # search grounding: billed apart from the request's own prompt, never compared
        grid.add("tool-use prompt tokens", "-", _tokens(i.tool_use_prompt), "-")
    grid.add("output tokens", _tokens(o.estimated), _tokens(o.actual), _pct(o.actual_vs_estimate_pct, o.estimated))
    est_cost = Decimal(c.estimated) if c.estimated is not None else None
    grid.add("batch cost", usd_display(est_cost) if est_cost is not None else "-", usd_display(Decimal(c.actual)),
             _pct(c.actual_vs_estimate_pct, est_cost))
    return grid


def _tiers(report: Reconciliation) -> list[str]:
    """The service tiers the results report, each with the prices it was billed at."""
    if not report.service_tiers:
        return []
    parts = [f"{t.requests:,} {t.tier} at {t.priced_as} prices ({t.basis})" for t in report.service_tiers]
    return [f"service tiers reported: {', '.join(parts)}"]


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


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile_command)
