"""`batchplan history import FILE…`, `history show` and `history forget BATCH`: learn turnaround from your own
batches, and take one back out.

The store lives in `$BATCHPLAN_HOME` (default: the platform's user data directory). Import exits 1
when some objects were skipped or conflict with what is stored (each is reported on stderr); the good
ones are stored regardless.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from planner.cli.commands._common import (
    JsonOption,
    PricesOption,
    handle_errors,
    notes_summarised,
    print_json,
    stdout_console,
)
from planner.core.errors import EXIT_CHECK_FAILED

history_app = typer.Typer(
    help="Your own past batches: import vendor batch objects, show observed turnaround.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

FilesArgument = Annotated[
    list[Path],
    typer.Argument(metavar="FILE", help="JSON or JSONL files of OpenAI batch / Anthropic message-batch objects "
                   "(- for standard input)."),
]
ProviderOption = Annotated[
    str | None,
    typer.Option(
        "--provider", metavar="PROVIDER", help="Store under this provider (e.g. azure for Azure OpenAI batch objects)."
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", metavar="MODEL", help="The model these batches ran on (Anthropic objects do not name it)."
    ),
]


@history_app.command("import")
def import_command(
    files: FilesArgument,
    provider: ProviderOption = None,
    model: ModelOption = None,
    prices: PricesOption = None,
    json_output: JsonOption = False,
) -> None:
    """Import past batch objects; bad, foreign or conflicting ones are reported and skipped, duplicates ignored."""
    _import(files, provider, model, json_output, prices)


def known_provider(provider: str | None, prices: list[Path] | None = None) -> str | None:
    """`--provider` as a price-table provider id (the ids estimates look history up by: the shipped tables,
    those your config lists and `--prices`); any other name is a UsageError listing them, so that a typo
    cannot file batches under a provider nothing reads."""
    if provider is None:
        return None
    from planner.core.clock import today
    from planner.core.errors import UsageError
    from planner.prices.pricing import load_pricebook
    from planner.prices.tablefiles import list_versions

    book = load_pricebook(today(), user_tables=prices or ())
    known = sorted(set(list_versions()) | set(book.tables) | set(book.missing))
    name = provider.strip().lower()
    name = {"gemini": "google"}.get(name, name)
    if name not in known:
        shown = "".join(c if c.isprintable() else "?" for c in provider)[:40]
        raise UsageError(f"--provider '{shown}' is not a provider batchplan knows; use one of {', '.join(known)}")
    return name


@handle_errors
def _import(files: list[Path], provider: str | None, model: str | None, json_output: bool,
            prices: list[Path] | None = None) -> None:
    from planner.store.history import db_path, import_file

    provider = known_provider(provider, prices)
    if sum(1 for f in files if str(f) == "-") > 1:
        from planner.core.errors import UsageError

        raise UsageError("standard input (-) can be read only once; name it once")

    def waiting() -> None:
        print("batchplan: the history store is in use by another batchplan; waiting for it…", file=sys.stderr)

    reports = [import_file(f, provider=provider, model=model, on_wait=waiting) for f in files]
    if json_output:
        print_json({"store": str(db_path()), "files": [r.model_dump(mode="json") for r in reports]})
    for r in reports:
        _print_report(r, json_output)
    if not json_output:
        print(f"History store: {db_path()}")
    if any(r.skipped or r.conflicts for r in reports):
        raise typer.Exit(EXIT_CHECK_FAILED)


def _printable(text: str, limit: int = 300) -> str:
    """A message quoting the user's data, safe for a terminal: control characters shown as '?', shortened."""
    shown = "".join(c if c.isprintable() else "?" for c in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _print_report(r: Any, json_output: bool) -> None:
    """One file's skipped and conflicting objects on stderr, then (without --json) its counts."""
    # the first few skipped objects, then a count: a wrong file must not print one line per row
    notes_summarised([_printable(f"{s.where}: {s.reason}") for s in r.skipped], kind="skipped",
                     more="--json lists every one")
    notes_summarised(
        [_printable(f"{c.where}: batch '{c.id}' is stored already with a different {', '.join(c.fields)}; "
                    "kept the stored one") for c in r.conflicts],
        kind="conflict", more="--json lists every one",
    )
    if not json_output:
        updated = f"{r.updated} updated, " if r.updated else ""
        conflicts = f"{len(r.conflicts)} conflicting, " if r.conflicts else ""
        print(f"{r.file}: {r.added} imported, {updated}{r.duplicates} already known, {conflicts}"
              f"{len(r.skipped)} skipped")


@history_app.command("show")
def show_command(json_output: JsonOption = False) -> None:
    """Summarise imported batches (counts, expiries, observed p50/p90) and reconciled ones (billed vs estimated)."""
    _show(json_output)


def _h(value: float | None) -> str:
    from planner.core.units import duration

    return "—" if value is None else duration(value)


@handle_errors
def _show(json_output: bool) -> None:
    from planner.store.history import db_path, reconciled_batches, reconciled_summary, summary

    rows = summary()
    reconciled = reconciled_summary()
    if json_output:
        print_json({"store": str(db_path()), "groups": [s.model_dump(mode="json") for s in rows],
                    "reconciled": [r.model_dump(mode="json") for r in reconciled],
                    "reconciled_batches": [b.model_dump(mode="json") for b in reconciled_batches()]})
        return
    if not rows and not reconciled:
        print(f"No batches imported or reconciled yet (store: {db_path()}). Use: batchplan history import FILE, "
              "or batchplan reconcile RESULTS")
        return
    from rich.text import Text

    console = stdout_console()
    if rows:
        _print_imported(console, rows)
    if reconciled:
        _print_reconciled(console, reconciled)
    console.print(Text(f"Store: {db_path()}"), soft_wrap=True)


def _print_imported(console: Any, rows: list[Any]) -> None:
    from planner.render.layout import Col, Grid, print_grid

    grid = Grid(
        [Col("Provider", key=True), Col("Model", key=True),
         *(Col(n, "right") for n in ("Batches", "Completed", "Expired", "Requests", "p50", "p90", "Max"))],
        title="batchplan history (time from creation to completion)",
    )
    for s in rows:
        grid.add(s.provider, s.model or "(not named)", f"{s.batches:,}", f"{s.completed:,}",
                 f"{s.expired:,}", f"{s.requests:,}", _h(s.p50_hours), _h(s.p90_hours), _h(s.max_hours))
    print_grid(console, grid)


def _print_reconciled(console: Any, reconciled: list[Any]) -> None:
    from planner.core.money import usd_display
    from planner.render.layout import Col, Grid, print_grid

    grid = Grid(
        [Col("Provider", key=True), Col("Model", key=True),
         *(Col(n, "right") for n in ("Batches", "Requests", "Input est.", "Input billed", "Output billed",
                                     "Cost est.", "Cost billed"))],
        title="reconciled batches (batchplan reconcile: billed against estimated)",
    )
    for r in reconciled:
        grid.add(r.provider, r.model, f"{r.batches:,}", f"{r.requests:,}",
                 "—" if r.input_estimated is None else f"{r.input_estimated:,}", f"{r.input_actual:,}",
                 f"{r.output_actual:,}", "—" if r.cost_estimated_usd is None else usd_display(r.cost_estimated_usd),
                 usd_display(r.cost_actual_usd))
    print_grid(console, grid)


BatchArgument = Annotated[
    str,
    typer.Argument(metavar="BATCH", help="The vendor batch id (batch_…, msgbatch_…) or the key reconcile printed."),
]


@history_app.command("forget")
def forget_command(batch: BatchArgument, json_output: JsonOption = False) -> None:
    """Remove one batch from your history (imported or reconciled): later estimates stop learning from it."""
    _forget(batch, json_output)


@handle_errors
def _forget(batch: str, json_output: bool) -> None:
    from planner.store.history import forget

    done = forget(batch)
    if json_output:
        print_json(done.model_dump(mode="json"))
        return
    print(f"Removed {done.batch}: {done.imported} imported batch object(s), {done.reconciled} reconciled batch(es) "
          f"with {done.requests:,} request(s). Store: {done.store}")


def register(app: typer.Typer) -> None:
    app.add_typer(history_app, name="history")
