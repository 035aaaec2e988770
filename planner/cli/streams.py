"""The standard streams and signals as the program found them, set up once by the entry point.

- **Closed streams** (`>&-`, `2>&-`, `<&-`) are held before anything opens a file. Python sets sys.stdout
  (or stderr, stdin) to None for a closed stream and leaves its descriptor free, so the next file the
  program opens would take its number and silently become "standard output" (`report -o FILE` would
  write the report over it). The entry point (planner.cli.main.main) calls `hold_closed_streams` first.
- **What is printed is safe** (`guard_streams`): control characters from data (a file name, a CSV
  header) never reach a terminal raw (planner.core.text); stderr that cannot be written (`2>/dev/full`)
  loses its messages but never changes the exit code; stdout that cannot encode a character
  (`PYTHONIOENCODING=ascii`) shows it escaped instead of failing.
- **Ignored signals stay ignored**: `IGNORED_AT_START` holds SIGINT/SIGTERM/SIGHUP that the launcher set
  to SIG_IGN (`nohup`, a script's background job); commands install handlers only for the others.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any, TextIO

from planner.core.text import printable, terminal_safe

#: Signals that interrupt a command (planner.cli.commands._common), unless ignored when batchplan started.
INTERRUPT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
IGNORED_AT_START = frozenset(sig for sig in INTERRUPT_SIGNALS if signal.getsignal(sig) is signal.SIG_IGN)


class SafeText:
    """A standard text stream that escapes control characters from data: all of them when it is not a
    terminal (`plain`), all but Rich's own styling on a terminal. With `lossy` (stderr) a write that
    fails is dropped and the descriptor pointed at /dev/null, so neither this message nor the
    interpreter's last flush can turn an exit code into 120."""

    def __init__(self, stream: TextIO, *, lossy: bool, plain: bool) -> None:
        self._stream = stream
        self._lossy = lossy
        self._clean = printable if plain else terminal_safe

    def write(self, text: str) -> int:
        try:
            self._stream.write(self._clean(text))
        except OSError:
            if not self._lossy:
                raise
            self._lose()
        return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            if not self._lossy:
                raise
            self._lose()

    def _lose(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False


def guard_streams() -> None:
    """stderr always, stdout when it is a terminal, go through `SafeText`; stdout escapes what its
    encoding cannot hold. (Piped stdout is data, JSON or CSV, written as it is.)"""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    if sys.stderr is not None and not isinstance(sys.stderr, SafeText):
        sys.stderr = SafeText(sys.stderr, lossy=True, plain=not _is_terminal(sys.stderr))  # type: ignore[assignment]
    if sys.stdout is not None and not isinstance(sys.stdout, SafeText) and _is_terminal(sys.stdout):
        sys.stdout = SafeText(sys.stdout, lossy=False, plain=False)  # type: ignore[assignment]


def hold_closed_streams() -> None:
    """Each closed standard stream is held by /dev/null: stdout read-only, so that writing output fails
    as any unwritable stdout does (one line, exit 2: nothing is silently dropped); stderr writable
    (messages are lost, exit codes are not); stdin held but left None, which the input layer reports
    as closed when `-` is read."""
    for fd, name, flags in ((0, "stdin", os.O_RDONLY), (1, "stdout", os.O_RDONLY), (2, "stderr", os.O_WRONLY)):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
            continue  # open after all (an embedding host set sys.stdout to None itself)
        except OSError:
            pass
        try:
            held = os.open(os.devnull, flags)
        except OSError:
            continue
        if held != fd:  # a lower descriptor was free too and took the slot first
            os.dup2(held, fd)
            os.close(held)
        if name != "stdin":
            setattr(sys, name, open(fd, "w", encoding="utf-8", errors="replace", closefd=False))  # noqa: SIM115 (it lives as long as the process)
