"""Golden outputs: what the README's commands (and the report's files) print, byte for byte.

Refactoring must not change what a user sees. Each command below runs as the installed program, piped and in
an 80-column terminal, on the fixed date of the suite; stdout, stderr and the exit code are compared with
tests/golden/. A change of output that is meant is recorded with BATCHPLAN_UPDATE_GOLDEN=1 (then review the diff).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.prices.tablefiles import shipped_pricing_dir

ROOT = Path(__file__).resolve().parents[1]
#: Where the `planner` this test run imports lives: the subprocesses run the same code (the installed wheel
#: in CI, a worktree's checkout when its tests run with PYTHONPATH set), never another copy.
CODE = str(Path(__import__("planner").__file__).resolve().parents[1])
GOLDEN = Path(__file__).parent / "golden"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
OUT = "out"  # relative to the folder each test runs in, its own
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)")

COMMANDS = [
    "batchplan estimate examples/tickets.jsonl -m gpt-5.4-mini -m claude-haiku-4-5 --output-tokens 150 --rows 200000 "
    "--tier openai=tier-3 --deadline 5h --budget 150 --as-of 2026-12-06",
    "batchplan estimate examples/tickets.jsonl -m gpt-4o-mini -m claude-haiku-4-5 -m gemini-2.5-flash "
    "--output-tokens 150 --rows 200000 --deadline 12h --budget 25 --as-of 2026-12-01",
    "batchplan estimate examples/tickets.jsonl --model gpt-4o-mini --model claude-haiku-4-5 --output-tokens 150",
    "batchplan estimate examples/tickets.jsonl -m gpt-4o-mini -m claude-haiku-4-5 --output-tokens 150 --json",
    'batchplan estimate examples/tickets.csv --text-column body --system "Categorize this ticket." -m gpt-4o-mini '
    "--output-tokens 80",
    "batchplan estimate examples/prompts.txt -m gpt-4o-mini --output-ratio 1.5 --json",
    "batchplan estimate examples/tickets.jsonl -m gpt-4o-mini --rows 2000000 --output-tokens 150",
    "batchplan estimate examples/tickets.jsonl -m gpt-4o-mini --sample 100 --seed 7 --output-tokens 150",
    "batchplan estimate tests/fixtures/shapes/sharegpt_glaive.jsonl -m gpt-4o-mini --output-column conversations",
    "batchplan estimate tests/fixtures/shapes/vertex_text.jsonl -m gemini-2.0-flash --output-tokens 500",
    "batchplan estimate examples/tickets.jsonl -m gpt-6-sol --output-tokens 150 --rows 1000000 --tier tier-1 "
    "--deadline 12h --budget 500",
    "batchplan estimate examples/tickets.jsonl -m gpt-6-sol -m claude-sonnet-5 --output-tokens 150 --rows 1000000 "
    "--tier openai=tier-3 --tier anthropic=build",
    "batchplan prices list",
    "batchplan prices list --json",
    "batchplan prices show anthropic --as-of 2026-03-01",
    "batchplan prices diff openai 2026-08-01 2026-11-25",
    "batchplan prices validate pricing/openai/2026-11-17.yaml",
    "batchplan models --provider openai --batch-only",
    "batchplan models --json --provider anthropic",
    "batchplan check gpt-4o-mini-2024-07-18",
    "batchplan check ft:gpt-4o-mini:acme::abc123 --endpoint chat",
    "batchplan check azure/gpt-4o --as-of 2026-11-01 --json",
    "batchplan check claude-sonnet-4-5-20250929 --as-of 2026-11-20",
    "batchplan check us.anthropic.claude-sonnet-4-5-20250929-v1:0 --as-of 2026-11-20",
    "batchplan check models/gemini-2.5-flash",
    "batchplan check publishers/google/models/gemini-2.5-flash",
    "batchplan check vertex/claude-fable-5-2",
    "batchplan check gpt-4o-minii",
    "batchplan check gpt-4o-mini claude-haiku-4-5 bedrock/claude-opus-5 --as-of 2026-12-01",
    "batchplan check my-gpt4o-prod --alias my-gpt4o-prod=azure/gpt-4o",
    'batchplan prepare examples/tickets.csv --text-column body --system "Categorize this ticket." -m gpt-4o-mini '
    "--vendor openai --max-tokens 100 -o out/openai --force",
    "batchplan validate out/openai/batch-0001.jsonl --vendor openai",
    "batchplan prepare examples/tickets.jsonl -m claude-haiku-4-5 --vendor anthropic --max-tokens 200 "
    "-o out/anthropic --force",
    "batchplan prepare examples/tickets.csv --text-column body --id-column id -m gpt-4o-mini --vendor openai "
    "--max-tokens 100 -o out/ids --force",
    "batchplan reconcile tests/fixtures/real/openai_gpt4o_output.jsonl "
    "--input tests/fixtures/real/openai_gpt4o_input.jsonl",
    "batchplan reconcile tests/fixtures/real/gemini_output.jsonl --input tests/fixtures/real/gemini_input.jsonl "
    "--as-of 2026-11-30 --output-tokens 20 --json",
    "batchplan report examples/tickets.jsonl -m gpt-4o-mini -m claude-haiku-4-5 --output-tokens 150 "
    "--deadline 12h -o out/report.md --force",
    "batchplan report examples/tickets.jsonl -m gpt-4o-mini -m claude-haiku-4-5 --output-tokens 150 "
    "--deadline 12h -o out/report.csv --force",
    "batchplan report examples/tickets.jsonl -m gpt-4o-mini -m claude-haiku-4-5 --output-tokens 150 "
    "--deadline 12h -o out/report.json --force",
]
#: files the commands write, compared too (the HTML report names its own path, so it is left to the browser test)
FILES = ["report.md", "report.csv", "report.json", "openai/batch-0001.jsonl", "anthropic/batch-0001.jsonl"]


def _slug(command: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", command.removeprefix("batchplan ").lower()).strip("-")
    return f"{words[:70]}-{hashlib.sha1(command.encode()).hexdigest()[:6]}"


def run(command: str, home: Path, *, terminal: bool) -> str:
    env = {"PATH": "/usr/bin:/bin", "BATCHPLAN_HOME": str(home), "BATCHPLAN_AS_OF": "2026-12-06",
           "BATCHPLAN_CACHE_DIR": str(home / "cache"), "COLUMNS": "80",
           "PYTHONPATH": CODE}  # the code this test run imports (a worktree's, or the installed wheel in CI)
    if terminal:
        env |= {"FORCE_COLOR": "1", "NO_COLOR": "1"}
    exe = Path(sys.executable).parent / "batchplan"
    work = home / "work"  # the repository's inputs, seen from a folder of the test's own
    if not work.exists():
        work.mkdir()
        (work / OUT).mkdir()
        for name in ("examples", "tests", "pricing"):
            (work / name).symlink_to(ROOT / name)
    proc = subprocess.run([str(exe), *shlex.split(command)[1:]], cwd=work, capture_output=True, text=True,
                          timeout=300, env=env)
    clean = [ANSI.sub("", s).replace(str(home), "$HOME").replace(str(shipped_pricing_dir()), "$PRICING")
             for s in (proc.stdout, proc.stderr)]
    return f"$ {command}\n[exit {proc.returncode}]\n{clean[0]}--- stderr ---\n{clean[1]}"


def _compare(name: str, real: str) -> None:
    path = GOLDEN / name
    if os.environ.get("BATCHPLAN_UPDATE_GOLDEN"):
        path.write_text(real, encoding="utf-8")
        return
    assert path.exists(), f"no golden output {path.name}: record it with BATCHPLAN_UPDATE_GOLDEN=1"
    assert real == path.read_text(encoding="utf-8"), f"{name} changed; if meant, BATCHPLAN_UPDATE_GOLDEN=1"


@pytest.fixture
def home() -> Iterator[Path]:
    """A data directory whose path has the same length on every run (outputs wrap it at 80 columns)."""
    path = Path(tempfile.mkdtemp(prefix="bpgolden-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "tty80"])
@pytest.mark.parametrize("command", COMMANDS, ids=[_slug(c)[:60] for c in COMMANDS])
def test_output_is_unchanged(command: str, terminal: bool, home: Path) -> None:
    if "claude" in command:
        pytest.importorskip("ctok", reason="the golden Claude counts are ctok's")
    if f" {OUT}/" in command and " -o " not in command:  # reads what an earlier command wrote
        for earlier in COMMANDS[: COMMANDS.index(command)]:
            if " -o " in earlier:
                run(earlier, home, terminal=False)
    real = run(command, home, terminal=terminal)
    _compare(f"{_slug(command)}.{'tty' if terminal else 'pipe'}.txt", real)


def test_written_files_are_unchanged(home: Path) -> None:
    pytest.importorskip("ctok", reason="the golden Claude counts are ctok's")
    for command in COMMANDS:
        if " -o " in command:
            run(command, home, terminal=False)
    for file in FILES:
        text = (home / "work" / OUT / file).read_text(encoding="utf-8")
        _compare("file-" + _slug(file), STAMP.sub("<time>", text))


def test_every_golden_command_is_a_documented_example() -> None:
    """The goldens record what the documented examples print: a command moved from the README to
    docs/cli.md stays recorded, and one dropped from both is dropped here too."""
    import test_readme

    pages = "\n".join(page.read_text(encoding="utf-8") for page in test_readme.DOCUMENTED)
    shown = re.findall(r"^\$ (batchplan .*)$", pages, flags=re.M)  # commands shown with their output
    documented = {_loosely(c) for c in [*test_readme.readme_commands(), *shown]}
    for command in COMMANDS:
        assert _loosely(command) in documented, f"{command} is in no documented example (README, docs/cli.md)"


def _loosely(command: str) -> str:
    """A command without where it writes (the goldens write under out/, the docs under /tmp)."""
    return re.sub(r"(-o|--output) \S+|\S+/batch-0001\.jsonl", "", command)
