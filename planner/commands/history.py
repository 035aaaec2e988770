"""`batchplan history import FILE…` and `batchplan history show`: learn turnaround from your own batches.

The store lives in `$BATCHPLAN_HOME` (default: the platform's user data directory). Import exits 1
when some objects were skipped or conflict with what is stored (each is reported on stderr); the good
ones are stored regardless.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from planner.commands._common import JsonOption, handle_errors, print_json, stdout_console
from planner.errors import EXIT_CHECK_FAILED

history_app = typer.Typer(
    help="Your own past batches: import vendor batch objects, show observed turnaround.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

FilesArgument = Annotated[
    list[Path], typer.Argument(help="JSON or JSONL files of OpenAI batch / Anthropic message-batch objects.")
]
ProviderOption = Annotated[
    str | None,
    typer.Option("--provider", help="Store under this provider (e.g. azure for Azure OpenAI batch objects)."),
]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="The model these batches ran on (Anthropic objects do not name it)."),
]


@history_app.command("import")
def import_command(
    files: FilesArgument,
    provider: ProviderOption = None,
    model: ModelOption = None,
    json_output: JsonOption = False,
) -> None:
    """Import past batch objects; bad, foreign or conflicting ones are reported and skipped, duplicates ignored."""
    _import(files, provider, model, json_output)


@handle_errors
def _import(files: list[Path], provider: str | None, model: str | None, json_output: bool) -> None:
    from planner.history import db_path, import_file

    def waiting() -> None:
        print("batchplan: the history store is in use by another batchplan; waiting for it…", file=sys.stderr)

    reports = [import_file(f, provider=provider, model=model, on_wait=waiting) for f in files]
    if json_output:
        print_json({"store": str(db_path()), "files": [r.model_dump(mode="json") for r in reports]})
    for r in reports:
        for s in r.skipped:
            print(f"batchplan: skipped {s.where}: {s.reason}", file=sys.stderr)
        for c in r.conflicts:
            print(f"batchplan: conflict {c.where}: batch '{c.id}' is stored already with a different "
                  f"{', '.join(c.fields)}; kept the stored one", file=sys.stderr)
        if not json_output:
            updated = f"{r.updated} updated, " if r.updated else ""
            conflicts = f"{len(r.conflicts)} conflicting, " if r.conflicts else ""
            print(f"{r.file}: {r.added} imported, {updated}{r.duplicates} already known, {conflicts}"
                  f"{len(r.skipped)} skipped")
    if not json_output:
        print(f"History store: {db_path()}")
    if any(r.skipped or r.conflicts for r in reports):
        raise typer.Exit(EXIT_CHECK_FAILED)


@history_app.command("show")
def show_command(json_output: JsonOption = False) -> None:
    """Summarise imported batches per provider and model: counts, expiries, observed p50/p90."""
    _show(json_output)


def _h(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


@handle_errors
def _show(json_output: bool) -> None:
    from planner.history import db_path, summary

    rows = summary()
    if json_output:
        print_json({"store": str(db_path()), "groups": [s.model_dump(mode="json") for s in rows]})
        return
    if not rows:
        print(f"No batches imported yet (store: {db_path()}). Use: batchplan history import FILE")
        return
    from rich.table import Table

    table = Table(title="batchplan history (hours from creation to completion)", title_justify="left")
    for name in ("Provider", "Model", "Batches", "Completed", "Expired", "Requests", "p50 h", "p90 h", "Max h"):
        table.add_column(name, justify="left" if name in ("Provider", "Model") else "right")
    for s in rows:
        table.add_row(s.provider, s.model or "(not named)", f"{s.batches:,}", f"{s.completed:,}",
                      f"{s.expired:,}", f"{s.requests:,}", _h(s.p50_hours), _h(s.p90_hours), _h(s.max_hours))
    console = stdout_console()
    console.print(table)
    console.print(f"Store: {db_path()}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(history_app, name="history")
