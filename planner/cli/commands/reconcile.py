"""`batchplan reconcile RESULTS… [--input FILE | --manifest FILE]`: billed vs estimated, for a finished batch.

The reconciled batch is stored in the history store (unless `--no-store`), so later estimates of the same
model can use its observed output tokens and, for approximate tokenizers, its billed/estimated ratio.
"""

from __future__ import annotations

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
    from planner.store.history import StoredReconciliation


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
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE",
                 help="Also write the answer as a file for whoever pays the bill: .html, .md or .csv."),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")]
#: The forms `-o` writes, by the file's ending.
FORMS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".csv": "csv"}
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
    output: OutputOption = None,
    force: ForceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Compare what a finished batch was billed with the estimate of its input, request by request."""
    _run(results, input, manifest, model, output_tokens, output_ratio, as_of, prices, store, json_output,
         (output, force))


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
    written: tuple[Path | None, bool] = (None, False),
) -> None:
    from planner.batch.reconcile import ReconcileOptions, reconcile

    output, force = written
    form = _form_of(output, force) if output is not None else None  # a bad -o fails before any reading

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
    if output is not None and form is not None:
        _write(outcome.report, output, form, force)


def _form_of(output: Path, force: bool) -> str:
    from planner.core.errors import UsageError
    from planner.io.atomic import check_destination

    form = FORMS.get(output.suffix.lower())
    if form is None:
        raise UsageError(f"can't tell the form from '{output.name}': use a file ending in .html, .md or .csv")
    check_destination(output, force=force)
    return form


def _write(report: Reconciliation, output: Path, form: str, force: bool) -> None:
    """The answer as a file, written all or nothing, never over a file this command read."""
    from planner.io.atomic import write_text
    from planner.render.reconciliation import render_file

    write_text(output, render_file(report, form), force=force)
    note(f"wrote {form} reconciliation {output} ({output.stat().st_size:,} bytes)", kind="")


def render(report: Reconciliation, stored: StoredReconciliation | None) -> None:
    """The human form, by the rules every command follows: a fitted table on a terminal and plain
    full-width rows when piped (stdout); the notes and where the batch was stored on stderr, silenced by -q."""
    from rich.text import Text

    from planner.render.layout import Col, Grid, print_grid
    from planner.render.reconciliation import DIFFERENCE, detail_lines, headline, printable, side_rows, title

    console = stdout_console()
    console.print(Text(printable(title(report))))
    grid = Grid([Col("", key=True), *(Col(h, "right") for h in ("estimated", "actual", DIFFERENCE))])
    for row in side_rows(report):
        grid.add(*row)
    print_grid(console, grid)
    for line in [*detail_lines(report), headline(report)]:
        console.print(Text(line))
    for text in report.warnings:
        note(printable(text), kind="warning")
    for text in report.notes:
        note(printable(text))
    if stored is not None and stored.refused:
        note(f"not stored in your history ({stored.store}): later estimates must not learn from a comparison "
             "this doubtful", kind="")
    elif stored is not None:
        state = "stored in" if stored.added else "already in"
        note(f"{state} your history ({stored.store}): later estimates of {report.resolved_model} learn from it "
             f"(--no-history turns that off; `batchplan history forget {report.key}` removes it)", kind="")


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile_command)
