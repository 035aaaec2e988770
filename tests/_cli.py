"""Running the CLI as the tests do: in-process with `run`, which fails the test on any exception other
than the command's own exit (a traceback a user would see), against the acme fixture table; or as the
installed program, `batchplan()`."""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from planner.cli.main import app

FIXTURES = Path(__file__).parent / "fixtures" / "pricing"
ACME = str(FIXTURES / "acme" / "2026-01-01.yaml")
COMMON = ["--prices", ACME, "--as-of", "2026-03-01"]
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unhandled {result.exception!r} for {args}")
    return result.exit_code, result.stdout, result.stderr


def batchplan() -> list[str]:
    """The installed `batchplan` program beside this interpreter (else `python -m planner`)."""
    exe = Path(sys.executable).parent / "batchplan"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "planner"]
