"""`batchplan prices …`: list, show, diff, validate and sync the price tables (filled in by issue 3)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
