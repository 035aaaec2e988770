"""What every command shares: error handling, dates, JSON printing, consoles, stderr notes and common options.

Results go to stdout; warnings and notes go to stderr (silenced by `--quiet`), errors always do. On a
terminal output is Rich (colour unless `--no-color` or `NO_COLOR`); piped, it is plain text that is
never wrapped or cut (planner.render.layout).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from planner.core.errors import EXIT_INTERRUPTED, BatchplanError, OutputError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class OutputSettings:
    """`--quiet` and `--no-color`, given before or after the command (planner.cli.main wires both), and
    the `--alias` names of the command being parsed (`handle_errors` hands them to the price books)."""

    quiet: bool = False
    no_color: bool = False
    aliases: dict[str, str] = field(default_factory=dict)


SETTINGS = OutputSettings()

#: Problems listed one by one before the rest are summarised (`history import` of a wrong file).
FIRST_PROBLEMS = 10


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program stands so that it unwinds like Ctrl-C (temporary
    files removed, worker processes stopped)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_INTERRUPT_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
REPEAT_GRACE_S = 2.0  # more presses this soon after the first let the clean-up finish


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP all interrupt (KeyboardInterrupt). Presses within REPEAT_GRACE_S of
    the first are ignored, so a second or third Ctrl-C does not break the clean-up off halfway (temp
    files, worker processes) with a traceback; a later one interrupts again, in case the first landed
    where Python swallows exceptions. Only the main thread can set handlers; elsewhere this does nothing."""
    import signal
    import threading
    import time

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from planner.cli.streams import IGNORED_AT_START

    # a signal the launcher ignored (nohup, a script's background job) stays ignored
    wanted = [getattr(signal, n) for n in _INTERRUPT_SIGNALS if hasattr(signal, n)]
    wanted = [sig for sig in wanted if sig not in IGNORED_AT_START]
    last: list[float] = []

    def interrupt(signum: int, frame: object) -> None:
        now = time.monotonic()
        if last and now - last[-1] < REPEAT_GRACE_S:
            return
        last.append(now)
        raise KeyboardInterrupt() if signum == signal.SIGINT else Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in wanted}
    try:
        yield
    finally:
        if not last:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _deaf_to_interrupts() -> None:
    """Interrupted and on the way out: nothing may break off the message and the exit (SIG_IGN, unlike
    a Python handler, also holds while the interpreter shuts down)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        for name in _INTERRUPT_SIGNALS:
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn our errors into one line on stderr and their exit code; Ctrl-C, SIGTERM and SIGHUP into
    128 + the signal's number (130 for Ctrl-C) after the same clean-up. No tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from planner.core import notes
        from planner.io.atomic import flush_stdout, silence_stdout, stdout_error

        notes.sink = note  # the lower layers' notes follow --quiet like every other note

        aliases, SETTINGS.aliases = SETTINGS.aliases, {}
        try:
            with _signals_interrupt(), _aliases_in_force(aliases):
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
        except Interrupted as exc:
            import signal

            _deaf_to_interrupts()
            with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
                print(f"batchplan: interrupted ({signal.Signals(exc.signum).name})", file=sys.stderr)
            raise typer.Exit(128 + exc.signum) from None
        except KeyboardInterrupt:
            _deaf_to_interrupts()
            with contextlib.suppress(OSError):
                print("batchplan: interrupted", file=sys.stderr)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            silence_stdout()
            raise typer.Exit(0) from None

    return wrapper


@contextlib.contextmanager
def _aliases_in_force(aliases: dict[str, str]) -> Iterator[None]:
    """The command's `--alias` names, for every price book loaded while it runs (none: nothing imported)."""
    if not aliases:
        yield
        return
    from planner.prices.pricing import using_aliases

    with using_aliases(aliases):
        yield


def parse_aliases(values: Sequence[str]) -> dict[str, str]:
    """`NAME=PROVIDER/MODEL` each (`my-gpt4o-prod=azure/gpt-4o`): a name of yours for a model, such as
    an Azure deployment name. The last of two for one name wins."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise typer.BadParameter(f"'{value}' is not NAME=PROVIDER/MODEL (e.g. my-gpt4o-prod=azure/gpt-4o)")
        if name.strip().lower() == target.strip().lower():
            raise typer.BadParameter(f"'{value}' names a model as itself")
        out[name.strip()] = target.strip()
    return out


def _set_aliases(values: list[str] | None) -> None:
    SETTINGS.aliases = parse_aliases(values or [])


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


def _reader_gone() -> None:
    """`batchplan … | head`: the reader has what it wanted; handle_errors ends quietly with exit 0."""
    raise BrokenPipeError(32, "Broken pipe")


def _console(stderr: bool) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr, no_color=True if SETTINGS.no_color else None, highlight=False)
    console.on_broken_pipe = _reader_gone  # type: ignore[method-assign]  # (Rich's own exits 1)
    if not console.is_terminal:
        console.soft_wrap = True  # piped: never wrap or cut a line; the reader's tools do that
    return console


def piped_stdout() -> bool:
    """Whether stdout is no terminal, as Rich's console would decide (FORCE_COLOR or TTY_COMPATIBLE
    make it one), answered without importing Rich; when in doubt, False (Rich then decides)."""
    if sys.stdout is None or os.environ.get("FORCE_COLOR") is not None or os.environ.get("TTY_COMPATIBLE"):
        return False
    try:
        return not sys.stdout.isatty()
    except ValueError:
        return False


def stdout_console() -> Console:
    """The console for results: Rich on a terminal, plain unwrapped text when piped."""
    return _console(stderr=False)


def stderr_console() -> Console:
    return _console(stderr=True)


def note(message: str, *, kind: str = "note") -> None:
    """One warning or note on stderr (`batchplan: warning: …`), word-wrapped on a terminal; nothing with --quiet."""
    if SETTINGS.quiet:
        return
    text = f"batchplan: {kind}: {message}" if kind else f"batchplan: {message}"
    if sys.stderr.isatty():
        from rich.text import Text

        stderr_console().print(Text(text, style="yellow" if kind == "warning" else "dim"))
    else:
        print(text, file=sys.stderr)


def notes_summarised(messages: Sequence[str], *, kind: str = "skipped", more: str = "--json lists them all") -> None:
    """The first FIRST_PROBLEMS messages on stderr, then one line counting the rest."""
    if SETTINGS.quiet:
        return
    for m in messages[:FIRST_PROBLEMS]:
        print(f"batchplan: {kind} {m}", file=sys.stderr)
    rest = len(messages) - FIRST_PROBLEMS
    if rest > 0:
        print(f"batchplan: … and {rest:,} more {kind} ({more})", file=sys.stderr)


#: `--endpoint` values, the same words in `prepare` and `check`: a short name or the URL path itself.
ENDPOINT_NAMES = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "embeddings": "/v1/embeddings"}
ENDPOINT_HELP = "chat, responses or embeddings (or the URL path, e.g. /v1/responses)"


def endpoint_url(value: str | None) -> str | None:
    """`chat` → /v1/chat/completions (also chat-completions, chat.completions); a URL path passes as is."""
    if value is None:
        return None
    key = value.strip().lower().replace("_", "-")
    if key in ("chat-completions", "chat.completions"):
        key = "chat"
    return ENDPOINT_NAMES.get(key, value.strip())


#: `--vendor` values: the provider ids of the price tables; other spellings people use are aliases.
VENDOR_ALIASES = {"gemini": "google"}
VENDOR_HELP = (
    "openai, azure, anthropic, google (alias gemini), vertex, bedrock, mistral, groq, together, fireworks, xai"
)


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", metavar="DATE", help="Use the price tables in force on this date (YYYY-MM-DD). Default: today."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Every assumption and source in full, and every note.")
]
PricesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--prices", metavar="FILE", help="Your own price table (YAML) layered over the shipped ones. Repeatable."
    ),
]


AliasOption = Annotated[
    list[str] | None,
    typer.Option(
        "--alias", metavar="NAME=PROVIDER/MODEL", callback=_set_aliases, expose_value=False,
        help="A name of yours for a model, e.g. an Azure deployment: my-gpt4o-prod=azure/gpt-4o. Repeatable.",
    ),
]


@contextlib.contextmanager
def progress_reporter(label: str, *, enabled: bool = True) -> Iterator[Callable[[int], None] | None]:
    """A Rich progress line on stderr when it is a terminal; nothing when piped, in CI, or with --json."""
    if not enabled or SETTINGS.quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} requests"),
        TimeElapsedColumn(),
        console=Console(stderr=True, no_color=True if SETTINGS.no_color else None),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int) -> None:
            bar.update(task, completed=done)

        yield advance
