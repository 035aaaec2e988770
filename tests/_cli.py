"""Running the CLI in-process as the hostile-input tests do: the acme fixture table, and `run`, which
fails the test on any exception other than the command's own exit (a traceback a user would see)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from planner.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "pricing"
ACME = str(FIXTURES / "acme" / "2026-01-01.yaml")
COMMON = ["--prices", ACME, "--as-of", "2026-03-01"]
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unhandled {result.exception!r} for {args}")
    return result.exit_code, result.stdout, result.stderr
