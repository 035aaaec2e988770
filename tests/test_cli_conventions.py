"""The conventions every command shares: -h/--help, shell completion, metavars that read, whole command
descriptions in the top-level help, --quiet and --no-color anywhere, one name per concept (-o/--output,
provider names as vendors, endpoint words)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from planner.cli.main import app
from planner.render.layout import Col, Grid, print_grid, print_plain

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


def test_the_command_table_names_every_command_in_help_order() -> None:
    """planner.cli.commands.COMMANDS maps each command to its module, so that `batchplan NAME` builds NAME alone."""
    from planner.cli.commands import COMMANDS

    root = typer.main.get_command(app)
    assert list(COMMANDS) == list(root.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", commands()[1:], ids=" ".join)
def test_a_command_built_alone_is_the_command_of_the_whole_app(path: list[str]) -> None:
    """What `batchplan NAME …` runs (planner.cli.main.build_app) has the same help, errors and conventions."""
    from planner.cli.main import build_app

    alone = build_app([*path, "--json"])
    assert path[0] in typer.main.get_command(alone).commands  # type: ignore[attr-defined]
    for argv in ([*path, "-h"], [*path, "--no-such-option"], ["-q", *path, "--help"]):
        whole = runner.invoke(app, argv, env={"COLUMNS": "100"})
        one = runner.invoke(alone, argv, env={"COLUMNS": "100"})
        assert (one.exit_code, one.stdout, one.stderr) == (whole.exit_code, whole.stdout, whole.stderr), argv


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["check", "gpt-4o"], "check"),
        (["-q", "--no-color", "models", "--json"], "models"),
        (["prices", "list"], "prices"),
        ([], None),
        (["--help"], None),
        (["-h", "check"], None),
        (["--version"], None),
        (["chek", "gpt-4o"], None),  # a typo: the whole app, for its "No such command" and suggestion
        (["--", "check"], None),
        (["-qh", "check"], None),
    ],
)
def test_which_command_argv_runs(argv: list[str], name: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.cli.main import invoked_command

    assert invoked_command(argv) == name
    monkeypatch.setenv("_BATCHPLAN_COMPLETE", "complete_bash")  # shell completion needs every command
    assert invoked_command(argv) is None


def test_shell_completion_through_the_entry_point() -> None:
    probe = "import sys; sys.argv[0] = 'batchplan'; from planner.cli.main import main; main()"
    cases = (("batchplan pri", "prices"), ("batchplan check --js", "--json"), ("batchplan prices l", "list"))
    for words, want in cases:
        env = {**os.environ, "_BATCHPLAN_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - 1)}
        res = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0 and want in res.stdout.split(), (words, res.stdout, res.stderr)


def test_values_are_converted_as_typer_converts_them(tmp_path: Path) -> None:
    """planner.cli.main hands plain strings through without typer's pydantic adapters; every parameter of
    every command still gets exactly what typer's own conversion gives (or the same error)."""
    from typer._click import Context
    from typer._coercion import build_runtime_param

    from planner.cli.main import _Verbatim

    (tmp_path / "file.txt").write_text("x")
    samples: list[object] = [None, "x", "", " 12 ", "1.5", "-3", "yes", "2026-01-01", b"bytes", b"\xff",
                             ("a", "b"), ["1", "2"], (), str(tmp_path), str(tmp_path / "file.txt"), 7, True]

    def outcome(convert: Callable[[], object]) -> object:
        try:
            return ("ok", convert())
        except Exception as exc:
            return ("error", type(exc), str(exc))

    root = typer.main.get_command(app)
    seen = 0
    for path in commands():
        cmd = root
        for name in path:
            cmd = cmd.commands[name]  # type: ignore[attr-defined]
        ctx = Context(cmd, info_name="batchplan")
        for param in cmd.get_params(ctx):
            lazy = param.get_runtime_param()
            assert isinstance(lazy, _Verbatim), (path, param.name)
            own = build_runtime_param(param.type_descriptor)
            for value in samples:
                got = outcome(lambda: lazy.coerce(value, param=param, ctx=ctx))  # noqa: B023
                assert got == outcome(lambda: own.coerce(value, param=param, ctx=ctx)), (path, param.name, value)  # noqa: B023
                seen += 1
    assert seen > 1000


def test_batchplan_as_of_is_the_default_date_and_a_bad_one_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """`BATCHPLAN_AS_OF` answers for that day (a table version from before it); a non-date is a one-line error."""
    from typer.testing import CliRunner

    from planner.cli.main import app

    monkeypatch.setenv("BATCHPLAN_AS_OF", "2026-07-10")
    old = CliRunner().invoke(app, ["check", "gpt-4o-mini", "--json"])
    monkeypatch.setenv("BATCHPLAN_AS_OF", "2026-12-06")
    new = CliRunner().invoke(app, ["check", "gpt-4o-mini", "--json"])
    assert '"as_of": "2026-07-10"' in old.stdout and '"as_of": "2026-12-06"' in new.stdout
    monkeypatch.setenv("BATCHPLAN_AS_OF", "next tuesday")
    bad = CliRunner().invoke(app, ["check", "gpt-4o-mini"])
    assert bad.exit_code == 2 and "BATCHPLAN_AS_OF='next tuesday' is not a date" in bad.output
    assert "Traceback" not in bad.output


def _rich_piped(grid: Grid) -> str:
    buf = io.StringIO()
    print_grid(Console(file=buf, force_terminal=False, soft_wrap=True, highlight=False), grid)
    return buf.getvalue()


def test_plain_rows_without_rich_are_what_rich_prints_piped() -> None:
    """Tables piped are plain full-width rows, written without Rich where Rich would print the same."""
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["estimate"], "batchplan: error: missing argument 'DATA'"),
        (["check", "gpt-4o", "--bogus"], "batchplan: error: no such option: --bogus"),
        (["check", "gpt-4o", "--as-of"], "batchplan: error: option '--as-of' requires an argument"),
        (["estimat"], "batchplan: error: no such command 'estimat'"),
    ],
)
def test_the_option_parsers_errors_read_like_every_other_error(args: list[str], message: str) -> None:
    """`batchplan: error: …` on one line, a usage hint after it, exit 2; never Click's `Error: Missing …`
    block with the usage first."""
    result = runner.invoke(app, args)
    lines = result.stderr.splitlines()
    assert result.exit_code == 2
    assert lines[0].startswith(message), result.stderr
    assert len(lines) == 2 and lines[1].startswith("usage: ")
    assert "Error:" not in result.stderr


def test_without_ctok_the_way_to_exact_claude_counts_is_said_once_without_verbose(
    write_jsonl: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Python 3.11 ctok is not installed with batchplan: the normal output says how to get it, once."""
    from planner.count import claude_tokens

    monkeypatch.setattr(claude_tokens, "_engine", lambda: None)
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}])
    result = runner.invoke(app, ["estimate", str(data), "-m", "claude-haiku-4-5", "-m", "claude-sonnet-4-5",
                                 "--as-of", "2026-12-01"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("pip install --ignore-requires-python ctok") == 1, result.stderr
