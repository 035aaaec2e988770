"""Table commands start fast (issue #14), with the same output: what they import on a warm cache.

Timing lives in benchmarks/run.py; these tests guard what costs most at start-up and must not come
back unnoticed: the YAML parser and validation (served by planner.prices.tablecache), typer's pydantic
adapters (planner.cli.main converts plain values itself), the other commands' modules (only the command
run is built), the counting engine and its head start (planner.count.prewarm), pydantic itself for `check`
and `models` (the schema's records come from the cache unvalidated), and, for `prices list` piped,
Rich and the price schema altogether.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from planner.render.layout import Col, Grid, print_grid, print_plain

PROBE = """
import sys
sys.argv = ["batchplan", *sys.argv[1:]]
from planner.cli.launch import main  # the `batchplan` program's entry point
try:
    main()
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""
NEVER = {"yaml", "typer._adapters", "pydantic.plugin._loader", "planner.cli.commands.estimate", "planner.read.datasets",
         "planner.count.prewarm", "planner.count.counting"}  # workers started ahead are for the commands that count
NO_PYDANTIC = {"pydantic", "pydantic_core", "planner.prices.validation"}
NO_SCHEMA = NO_PYDANTIC | {"planner.prices.pricing", "rich", "rich.console"}


def _run(argv: list[str], cache: Path) -> tuple[str, set[str]]:
    env = {**os.environ, "BATCHPLAN_CACHE_DIR": str(cache), "COLUMNS": "80"}
    env.pop("FORCE_COLOR", None)
    env.pop("TTY_COMPATIBLE", None)
    res = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, timeout=120)
    errors, _, modules = res.stderr.rpartition("\nMODULES ")
    assert "Traceback" not in errors, errors
    return res.stdout, set(modules.split())


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (["check", "gpt-4o-mini"], NEVER | NO_PYDANTIC | {"rich"}),
        (["check", "claude-haiku-4-5", "--json", "--as-of", "2026-12-01"], NEVER | NO_PYDANTIC | {"rich"}),
        (["check", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"], NEVER | NO_PYDANTIC | {"rich"}),
        (["models", "--json"], NEVER | NO_PYDANTIC | {"rich"}),
        (["models", "--provider", "openai"], NEVER | NO_PYDANTIC),
        (["prices", "list"], NEVER | NO_SCHEMA),
        (["prices", "list", "--json"], NEVER | NO_SCHEMA),
    ],
    ids=" ".join,
)
def test_a_table_command_on_a_warm_cache_imports_only_what_it_uses(
    argv: list[str], absent: set[str], tmp_path: Path
) -> None:
    cold, cold_modules = _run(argv, tmp_path / "cache")  # parses the tables and fills the cache
    warm, modules = _run(argv, tmp_path / "cache")
    assert warm == cold and warm.strip()
    assert not absent & modules, absent & modules
    if "planner.prices.pricing" not in absent:
        assert "pydantic" in cold_modules  # the tables were validated when first read


def _rich_piped(grid: Grid) -> str:
    buf = io.StringIO()
    print_grid(Console(file=buf, force_terminal=False, soft_wrap=True, highlight=False), grid)
    return buf.getvalue()


def test_plain_rows_without_rich_are_what_rich_prints_piped() -> None:
    grid = Grid([Col("Provider", key=True), Col("Versions\n(from)"), Col("Price", "right", drop=True)], title="T")
    for row in (("openai", "2026-11-17", "$1"), ("通义千问", "2026-10-14, 2026-12-01", "$0.075"), ("xai", "", "")):
        grid.add(*row)
    out = io.StringIO()
    assert print_plain(grid, out)
    assert out.getvalue() == _rich_piped(grid)
    assert "通义千问  2026-10-14" in out.getvalue()  # wide characters padded by their width
    empty = Grid([Col("A")], title="nothing")
    out = io.StringIO()
    assert print_plain(empty, out) and out.getvalue() == _rich_piped(empty) == ""
    for odd in ("a\tb", "carriage\rreturn", "bell\x07"):  # characters Rich changes: left to Rich
        grid = Grid([Col("A")])
        grid.add(odd)
        out = io.StringIO()
        assert not print_plain(grid, out) and out.getvalue() == ""
