"""The `batchplan` command line: parses options, calls the Python API, renders. Nothing else.

Each command group lives in its own `planner/commands/*.py` module and registers itself on `app`.
"""

from __future__ import annotations

import typer

from planner.commands import register_all

app = typer.Typer(
    name="batchplan",
    help="Plan LLM batch jobs: realtime vs batch cost, turnaround and model eligibility from a sample.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from planner import __version__

        print(f"batchplan {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Plan LLM batch jobs: realtime vs batch cost, turnaround and model eligibility from a sample."""


register_all(app)


def main() -> None:
    app()
