"""Every `batchplan …` command in the README's shell blocks runs as written and exits 0."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("pip install ") and "&& batchplan " in line:
                line = line.split("&& ", 1)[1]
            if line.startswith("batchplan "):
                commands.append(line)
    return commands


def test_readme_has_the_two_setup_commands_first() -> None:
    first = re.search(r"```bash\n(.*?)```", README, flags=re.S)
    assert first is not None
    lines = [line for line in first.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert lines[0].startswith("pip install . && batchplan estimate examples/tickets.jsonl")
    assert lines[1] == "pip install '.[test]' && pytest"


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
        env={"PATH": "/usr/bin:/bin", "BATCHPLAN_HOME": str(tmp_path), "COLUMNS": "120"},
    )
    assert proc.returncode == 0, (command, proc.stderr[-800:])
    assert "Traceback" not in proc.stderr
