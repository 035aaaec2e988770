"""Every `batchplan …` command in the shell blocks of the README and of the pages its examples moved to
(docs/cli.md, docs/names.md) runs as written and exits 0."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Where the `planner` this test run imports lives: the subprocesses run the same code (the installed wheel
#: in CI, a worktree's checkout when its tests run with PYTHONPATH set), never another copy.
CODE = str(Path(__import__("planner").__file__).resolve().parents[1])
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: The pages whose `bash` blocks are run: the README and the reference its examples moved to.
DOCUMENTED = [ROOT / "README.md", ROOT / "docs" / "cli.md", ROOT / "docs" / "names.md"]


def readme_commands() -> list[str]:
    """Every `batchplan …` line of the documented pages' `bash` blocks, in order, each once."""
    commands: list[str] = []
    text = "\n".join(page.read_text(encoding="utf-8") for page in DOCUMENTED)
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("pip install ") and "&& batchplan " in line:
                line = line.split("&& ", 1)[1]
            if line.startswith("batchplan ") and line not in commands:
                commands.append(line)
    return commands


def test_readme_has_the_two_setup_commands_first() -> None:
    first = re.search(r"```bash\n(.*?)```", README, flags=re.S)
    assert first is not None
    lines = [line for line in first.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert lines[0].startswith("pip install . && batchplan estimate examples/tickets.jsonl")
    # The test command is CI's own: .ci/run installs the same extras and runs the same pytest.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    installs = re.findall(r"^pip install --quiet '(\.\[[^']*\])'$", ci, flags=re.M)
    assert installs, ".ci/run no longer installs the package with its extras"
    assert lines[1] == f"pip install '{installs[0]}' && pytest"
    assert re.search(r"^pytest$", ci, flags=re.M)


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(command: str, tmp_path: Path) -> None:
    argv = shlex.split(command)
    exe = Path(sys.executable).parent / "batchplan"
    proc = subprocess.run(
        [str(exe), *argv[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "BATCHPLAN_HOME": str(tmp_path), "COLUMNS": "120", "PYTHONPATH": CODE},
    )
    assert proc.returncode == 0, (command, proc.stderr[-800:])
    assert "Traceback" not in proc.stderr


CONSOLE = re.compile(r"```console\n\$ (batchplan [^\n]*)\n(.*?)```", re.S)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def terminal_output(command: str, home: Path, columns: int = 80) -> str:
    """What `command` prints on stdout in a terminal of `columns` columns (Rich sees a terminal via
    FORCE_COLOR; NO_COLOR and the stripped escapes leave the text), trailing spaces removed."""
    exe = Path(sys.executable).parent / "batchplan"
    proc = subprocess.run(
        [str(exe), *shlex.split(command)[1:]],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "BATCHPLAN_HOME": str(home), "COLUMNS": str(columns), "FORCE_COLOR": "1",
             "NO_COLOR": "1", "PYTHONPATH": CODE},
    )
    assert proc.returncode == 0, (command, proc.stderr[-800:])
    return "\n".join(line.rstrip() for line in ANSI.sub("", proc.stdout).splitlines()) + "\n"


def test_readme_shows_real_80_column_output(tmp_path: Path) -> None:
    """The README's console blocks are what the command prints at 80 columns today.

    BATCHPLAN_UPDATE_README=1 rewrites them from the real output (then review the diff)."""
    blocks = CONSOLE.findall(README)
    assert blocks, "the README shows no real output"
    from planner.count import claude_tokens

    if any("claude" in command for command, _ in blocks) and not claude_tokens.available():
        if os.environ.get("BATCHPLAN_REQUIRE_CTOK"):
            pytest.fail("ctok is required here: the README's Claude counts are ctok's")
        pytest.skip("the README shows Claude counts made with ctok, which is not installed (Python 3.11)")
    text = README
    for command, shown in blocks:
        real = terminal_output(command, tmp_path)
        assert max(len(line) for line in real.splitlines()) <= 80
        if os.environ.get("BATCHPLAN_UPDATE_README"):
            text = text.replace(f"$ {command}\n{shown}", f"$ {command}\n{real}", 1)
            continue
        assert shown == real, f"README output of `{command}` is stale; rerun with BATCHPLAN_UPDATE_README=1"
    if text != README:
        (ROOT / "README.md").write_text(text, encoding="utf-8")


def test_the_readme_is_an_overview_that_points_to_the_rest() -> None:
    """Under ~200 lines: what it answers, the two commands, one real output, the commands, where to read more."""
    assert len(README.splitlines()) <= 200
    for page in ("docs/cli.md", "docs/formats.md", "docs/names.md", "docs/json.md", "docs/accuracy.md",
                 "docs/benchmarks.md"):
        assert f"]({page})" in README, page
    assert "## Processing modes" in README and "[docs/modes.md](docs/modes.md)" in README
    modes = README.split("## Processing modes", 1)[1].split("\n## ", 1)[0]
    assert len(modes.strip().splitlines()) <= 10
    for page in DOCUMENTED[1:]:
        assert "```bash" in page.read_text(encoding="utf-8"), page


def test_the_docs_link_only_to_pages_that_exist() -> None:
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(((?:docs/)?[a-z_]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if target.endswith("accuracy.md"):
                continue  # another change writes it
            assert (page.parent / target).exists(), (page.name, target)
