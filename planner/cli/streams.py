"""Standard streams closed at start (`>&-`, `2>&-`, `<&-`), held before anything opens a file.

Python sets sys.stdout (or stderr, stdin) to None for a closed stream and leaves its descriptor free,
so the next file the program opens would take its number and silently become "standard output"
(`report -o FILE` would write the report over it). The entry point (planner.cli.main.main) calls
`hold_closed_streams` first, before a command can open anything.
"""

from __future__ import annotations

import os
import sys


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
