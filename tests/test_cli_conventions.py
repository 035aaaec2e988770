"""The conventions every command shares: -h/--help, shell completion, metavars that read, whole command
descriptions in the top-level help, --quiet and --no-color anywhere, one name per concept (-o/--output,
provider names as vendors, endpoint words)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from planner.cli import app

runner = CliRunner()
ACME = str(Path(__file__).parent / "fixtures" / "pricing" / "acme" / "2026-01-01.yaml")


def commands() -> list[list[str]]:
    """Every command path, from the Click tree Typer builds (so a new command is covered automatically)."""
    root = typer.main.get_command(app)
    out: list[list[str]] = [[]]

    def walk(group: object, path: list[str]) -> None:
        for name, cmd in getattr(group, "commands", {}).items():
            out.append([*path, name])
            walk(cmd, [*path, name])

    walk(root, [])
    return out


@pytest.mark.parametrize("path", commands(), ids=lambda p: " ".join(p) or "batchplan")
def test_help_reads(path: list[str]) -> None:
    short = runner.invoke(app, [*path, "-h"], env={"COLUMNS": "100"})
    long = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert short.exit_code == 0 and short.stdout == long.stdout, short.stderr
    text = short.stdout
    assert not re.search(r"<[a-zA-Z\[\]]+>", text), text  # never <str>, <list[Path]>, <file>
    assert "{" not in text.split("\n", 1)[0]  # the usage line says DATA, not {DATA}
    assert "-q, --quiet" in text and "--no-color" in text  # before or after any command


def test_top_level_help_gives_whole_descriptions() -> None:
    text = runner.invoke(app, ["--help"], env={"COLUMNS": "80"}).stdout
    flat = "".join(text.split())  # the wrapping may break a line at a space or a hyphen
    root = typer.main.get_command(app)
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        first = "".join((cmd.help or "").split("\n\n", 1)[0].split())
        assert f"{name}{first}" in flat, name
    assert "..." not in text.split("Commands:", 1)[1]
    for option in ("--install-completion", "--show-completion", "-h, --help", "-q, --quiet", "--no-color"):
        assert option in text, option


def test_shell_completion_script() -> None:
    res = runner.invoke(app, ["--show-completion", "bash"])
    assert res.exit_code == 0 and "complete" in res.stdout and "batchplan" in res.stdout.lower()


def test_prepare_takes_output_and_the_old_out(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}])
    base = ["prepare", str(data), "-m", "acme-small", "--vendor", "openai", "--prices", ACME, "--as-of", "2026-03-01"]
    for flag in ("-o", "--output", "--out"):
        out = tmp_path / flag.strip("-")
        res = runner.invoke(app, [*base, flag, str(out), "--json"])
        assert res.exit_code == 0, res.stderr
        assert (out / "manifest.json").exists()
    help_text = runner.invoke(app, ["prepare", "--help"]).stdout
    assert "-o, --output DIR" in help_text and "--out " not in help_text  # the old name is a hidden alias
    missing = runner.invoke(app, base)
    assert missing.exit_code == 2 and "-o/--output DIR" in missing.stderr


def test_vendor_is_the_provider_id_with_aliases(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}])
    docs = {}
    for vendor in ("google", "gemini", None):
        out = tmp_path / (vendor or "guessed")
        argv = ["prepare", str(data), "-m", "gemini-2.5-flash", "-o", str(out), "--as-of", "2026-12-01", "--json"]
        res = runner.invoke(app, [*argv, *(["--vendor", vendor] if vendor else [])])
        assert res.exit_code == 0, res.stderr
        docs[vendor] = json.loads(res.stdout)
        assert (out / "batch-0001.jsonl").read_text() == (tmp_path / "google" / "batch-0001.jsonl").read_text()
    assert docs["google"]["totals"] == docs["gemini"]["totals"] == docs[None]["totals"]
    human = runner.invoke(app, ["prepare", str(data), "-m", "gemini-2.5-flash", "-o", str(tmp_path / "h"),
                                "--as-of", "2026-12-01"])
    assert human.stdout.startswith("google batch files for gemini-2.5-flash")
    help_text = " ".join(runner.invoke(app, ["prepare", "--help"], env={"COLUMNS": "200"}).stdout.split())
    assert "google (alias gemini)" in help_text


@pytest.mark.parametrize(("word", "url"), [("chat", "/v1/chat/completions"), ("responses", "/v1/responses"),
                                           ("embeddings", "/v1/embeddings")])
def test_check_takes_the_endpoint_words_prepare_takes(word: str, url: str) -> None:
    by_word = runner.invoke(app, ["check", "gpt-4o-mini", "--endpoint", word, "--as-of", "2026-12-01", "--json"])
    by_url = runner.invoke(app, ["check", "gpt-4o-mini", "--endpoint", url, "--as-of", "2026-12-01", "--json"])
    assert json.loads(by_word.stdout) == json.loads(by_url.stdout)
    assert json.loads(by_word.stdout)["endpoint"] == url


def test_quiet_and_no_color_anywhere(write_jsonl: Callable[..., Path]) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}])
    argv = ["estimate", str(data), "-m", "acme-small", "--prices", ACME, "--as-of", "2026-03-01"]
    loud = runner.invoke(app, argv)
    assert loud.exit_code == 0 and "batchplan: " in loud.stderr  # the fixture table has no tiers: a warning
    for quiet in (["-q", *argv], ["--quiet", *argv], [*argv, "-q"]):
        res = runner.invoke(app, quiet)
        assert res.exit_code == 0 and res.stderr == "" and res.stdout == loud.stdout
    # errors are never silenced
    bad = runner.invoke(app, ["-q", "estimate", "missing.jsonl", "-m", "acme-small", "--prices", ACME])
    assert bad.exit_code == 2 and "no such file" in bad.stderr
    env = {"FORCE_COLOR": "1", "COLUMNS": "100"}
    assert "\x1b[" in runner.invoke(app, argv, env=env).stdout
    for plain in ([*argv, "--no-color"], ["--no-color", *argv]):
        assert not re.search(r"\x1b\[[0-9;]*3\dm", runner.invoke(app, plain, env=env).stdout)
    assert not re.search(r"\x1b\[[0-9;]*3\dm", runner.invoke(app, argv, env=env | {"NO_COLOR": "1"}).stdout)
