"""Where the lower layers' one-line notes go: the CLI points `sink` at its own note printer (which follows
`--quiet`); without one (the Python API), they go to stderr as `batchplan: note: …`. A module of its own so
that a command need not import the layer that may speak (the history store) just to route its notes."""

from __future__ import annotations

import sys
from collections.abc import Callable

sink: Callable[[str], None] | None = None


def note(message: str) -> None:
    if sink is not None:
        sink(message)
    else:
        print(f"batchplan: note: {message}", file=sys.stderr)
