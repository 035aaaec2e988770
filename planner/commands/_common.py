"""What every command shares: error handling, dates, JSON printing, consoles and common options."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from planner.errors import EXIT_INTERRUPTED, BatchplanError, OutputError, UsageError

P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn our errors into one line on stderr and their exit code; Ctrl-C into exit 130. No tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from planner.atomic import flush_stdout, silence_stdout, stdout_error

        try:
            try:
                try:
                    result = fn(*args, **kwargs)
                except typer.Exit:
                    flush_stdout()
                    raise
                flush_stdout()  # a full device is reported here, not by the interpreter at exit
                return result
            except BrokenPipeError:
                raise
            except OSError as exc:  # our files are Input/OutputErrors already: this is stdout, or a stray
                if exc.filename is not None:
                    raise BatchplanError(exc.strerror or str(exc), path=exc.filename) from None
                raise stdout_error(exc) from None
        except BatchplanError as exc:
            print(f"batchplan: error: {exc}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            print("batchplan: interrupted", file=sys.stderr)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            silence_stdout()
            raise typer.Exit(0) from None

    return wrapper


def parse_date(value: str | None, *, option: str = "--as-of") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} '{value}' is not a date; use YYYY-MM-DD, e.g. 2026-11-01") from None


def print_json(data: Any) -> None:
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        raise OutputError("cannot write to standard output: it is closed")
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def stdout_console() -> Any:
    from rich.console import Console

    return Console()


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", metavar="DATE", help="Use the price tables in force on this date (YYYY-MM-DD). Default: today."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]
PricesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--prices", metavar="FILE", help="Your own price table (YAML) layered over the shipped ones. Repeatable."
    ),
]


@contextlib.contextmanager
def progress_reporter(label: str, *, enabled: bool = True) -> Iterator[Callable[[int], None] | None]:
    """A Rich progress line on stderr when it is a terminal; nothing when piped, in CI, or with --json."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} requests"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int) -> None:
            bar.update(task, completed=done)

        yield advance
