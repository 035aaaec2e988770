"""The `batchplan` program's entry point: what has to happen before the command line is imported.

Importing the CLI (typer, and for most commands pydantic and the price schema) takes a few hundred
milliseconds. Two things cannot wait for it: a standard stream closed at start must be held before
anything opens a file (`hold_closed_streams`), and a command that counts tokens starts its workers
now, so that they build the encoding meanwhile (planner.count.prewarm). Then planner.cli.main runs the command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

#: Options of `batchplan` itself that may come before the command name and take no value.
LEADING_FLAGS = frozenset({"-q", "--quiet", "--no-color"})
#: Commands that count a dataset (planner.plan.estimate's engine), the only ones given a head start.
COUNTING_COMMANDS = frozenset({"estimate", "report", "validate"})


def command_word(argv: Sequence[str]) -> str | None:
    """The first word of `argv` (without the program name) that is not a leading flag: the command's
    name when there is one (planner.cli.main.invoked_command checks it against the commands)."""
    for arg in argv:
        if arg not in LEADING_FLAGS:
            return arg
    return None


def hold_closed_streams() -> None:
    """Started with a standard stream closed (`>&-`, `2>&-`, `<&-`), Python sets sys.stdout (or stderr,
    stdin) to None and leaves the descriptor free, so the next file we open would take its number and
    become "standard output". Each closed one is held by /dev/null instead: stdout read-only, so that
    writing output fails as any unwritable stdout does (one line, exit 2: nothing is silently dropped);
    stderr writable (messages are lost, exit codes are not); stdin held but left None, which the input
    layer reports as closed when `-` is read."""
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


def main() -> None:
    hold_closed_streams()
    argv = sys.argv[1:]
    command = command_word(argv)
    if (
        command in COUNTING_COMMANDS
        and not any(arg in ("-h", "--help") for arg in argv)
        and not any(k.endswith("_COMPLETE") for k in os.environ)
    ):
        from planner.count import prewarm

        prewarm.start(command)
    from planner.cli import main as cli

    cli.main()
