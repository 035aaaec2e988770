"""Bad input, everywhere: every command and input path answers with one clear line, a documented exit
code (0 ok, 1 a check failed, 2 bad usage or input, 130 interrupted) and never a traceback; nothing the
user had is overwritten or left half-written."""

from __future__ import annotations

import builtins
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from planner.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "pricing"
ACME = str(FIXTURES / "acme" / "2026-01-01.yaml")
COMMON = ["--prices", ACME, "--as-of", "2026-03-01"]
GOOD = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unhandled {result.exception!r} for {args}")
    return result.exit_code, result.stdout, result.stderr


def one_clean_line(err: str, out: str = "") -> None:
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("batchplan: error: "), err


# --- every command that reads a dataset, on every kind of bad dataset --------------------------------

DATA_COMMANDS: dict[str, Callable[[str, Path], list[str]]] = {
    "estimate": lambda data, tmp: ["estimate", data, "-m", "acme-small", *COMMON],
    "report": lambda data, tmp: ["report", data, "-m", "acme-small", "-o", str(tmp / "r.html"), *COMMON],
    "prepare": lambda data, tmp: ["prepare", data, "-m", "acme-small", "--vendor", "openai", "-o", str(tmp / "out"),
                                  *COMMON],
}


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, a fragment the error must contain)."""
    good = json.dumps(GOOD)
    cases: dict[str, tuple[str | bytes | None, str]] = {
        "truncated JSON": (good + "\n" + good[:20] + "\n", ":2: malformed JSON"),
        "messages not a list": (good + '\n{"messages": {"role": "user"}}\n', ":2: 'messages' must be a list"),
        "content an object": (
            good + '\n{"messages": [{"role": "user", "content": {"x": 1}}]}\n',
            ":2: messages[0].content must be a string or a list",
        ),
        "invalid UTF-8": ((good + "\n").encode() + b'{"messages": "\xff\xfe"}\n', ":2: not valid UTF-8"),
        "binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8\xff", "not UTF-8"),
        "empty file": ("", "no requests found"),
        "only blank lines": ("\n\n  \n", "no requests found"),
        "missing file": (None, "no such file"),
    }
    out: dict[str, tuple[Path, str]] = {}
    for i, (name, (content, fragment)) in enumerate(cases.items()):
        path = tmp / f"bad{i}.jsonl"
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        out[name] = (path, fragment)
    directory = tmp / "a-directory.jsonl"
    directory.mkdir()
    out["a directory"] = (directory, "is a directory")
    return out


@pytest.mark.parametrize("command", sorted(DATA_COMMANDS))
def test_every_bad_dataset_gets_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    for name, (path, fragment) in _bad_inputs(tmp_path).items():
        code, out, err = run(*DATA_COMMANDS[command](str(path), tmp_path))
        assert code == 2, (command, name, err)
        one_clean_line(err, out)
        assert fragment in err, (command, name, err)
        assert not (tmp_path / "r.html").exists() and not (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.parametrize("command", ["estimate", "report"])
def test_csv_missing_column(tmp_path: Path, command: str) -> None:
    data = tmp_path / "d.csv"
    data.write_text("id,text\n1,hello\n", encoding="utf-8")
    code, out, err = run(*DATA_COMMANDS[command](str(data), tmp_path), "--text-column", "body")
    assert code == 2
    one_clean_line(err, out)
    assert "d.csv:1: no column 'body'; columns are: id, text" in err


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, who can read anything: simulate the OS refusing this one file.
    data = tmp_path / "secret.jsonl"
    data.write_text(json.dumps(GOOD) + "\n")
    real_open = builtins.open

    def refusing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == str(data):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)
    code, out, err = run("estimate", str(data), "-m", "acme-small", *COMMON)
    assert code == 2
    one_clean_line(err, out)
    assert "secret.jsonl: permission denied" in err


@pytest.mark.parametrize(
    ("content", "expect_ok"),
    [
        ("\ufeff" + json.dumps(GOOD) + "\n", True),  # BOM
        (json.dumps(GOOD) + "\r\n" + json.dumps(GOOD) + "\r\n", True),  # CRLF
        ("\n\n" + json.dumps(GOOD) + "\n\n\n", True),  # blank lines
    ],
)
def test_harmless_variations_are_accepted(tmp_path: Path, content: str, expect_ok: bool) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(content, encoding="utf-8", newline="")
    code, out, err = run("estimate", str(data), "-m", "acme-small", "--json", *COMMON)
    assert code == 0, err
    assert json.loads(out)["estimates"][0]["requests"] >= 1


def test_a_50mb_single_line_is_counted(tmp_path: Path) -> None:
    data = tmp_path / "big.jsonl"
    text = "lorem ipsum dolor sit amet " * (50 * 1024 * 1024 // 27)
    data.write_text(json.dumps({"messages": [{"role": "user", "content": text}], "max_tokens": 1}) + "\n")
    assert data.stat().st_size > 50 * 1024 * 1024
    code, out, err = run("estimate", str(data), "-m", "acme-long", "--json", *COMMON)
    assert code == 0, err
    e = json.loads(out)["estimates"][0]
    assert e["input_tokens"] > 5_000_000
    # one request far past acme-long's 1M-token window: counted, listed, and disqualifying
    assert e["over_context_window"]["count"] == 1 and e["batch_eligible"] is False


# --- price tables: broken and hostile ----------------------------------------------------------------

HOSTILE_TABLES = {
    "bad YAML": ("provider: acme\nmodels: [\n", "not valid YAML"),
    "a python tag": ("!!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
    "negative price": (None, "greater than or equal to 0"),
    "huge number": (None, "less than or equal to 1000000"),
    "float price": (None, "as a quoted string"),
    "not a mapping": ("- just\n- a list\n", "must be a YAML mapping"),
}


def _table_with(tmp: Path, name: str) -> Path:
    base = Path(ACME).read_text(encoding="utf-8")
    content, _ = HOSTILE_TABLES[name]
    if content is None:
        replacement = {
            "negative price": 'input: "-1.00"',
            "huge number": 'input: "1e400"',
            "float price": "input: 1.25",
        }[name]
        content = base.replace('input: "1.00"', replacement, 1)
    path = tmp / f"{name.replace(' ', '-')}.yaml"
    path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(HOSTILE_TABLES))
def test_broken_or_hostile_price_tables(tmp_path: Path, name: str) -> None:
    table = _table_with(tmp_path, name)
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(GOOD) + "\n")
    for args in (
        ["prices", "validate", str(table)],
        ["estimate", str(data), "-m", "acme-small", "--prices", str(table), "--as-of", "2026-03-01"],
        ["check", "acme-small", "--prices", str(table), "--as-of", "2026-03-01"],
    ):
        code, out, err = run(*args)
        assert code == 2, (name, args, err, out)
        assert "Traceback" not in err + out
        assert HOSTILE_TABLES[name][1] in err + out, (name, args, err, out)
    assert not (tmp_path / "pwned").exists()


# --- dates, models, usage -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["estimate", "{data}", "-m", "acme-small", "--prices", ACME, "--as-of", "2026-02-30"],
        ["estimate", "{data}", "-m", "nope-model", *COMMON],
        ["check", "nope-model", *COMMON],
        ["check", "acme-small", "--prices", ACME, "--as-of", "not-a-date"],
        ["models", "--as-of", "1800-01-01"],
        ["prices", "show", "no-such-provider"],
        ["report", "{data}", "-m", "acme-small", "-o", "{tmp}/r.pdf", *COMMON],
        ["prepare", "{data}", "-m", "acme-small", "--vendor", "carrier-pigeon", "-o", "{tmp}/o", *COMMON],
        ["validate", "{tmp}/missing.jsonl"],
        ["history", "import", "{tmp}/missing.json"],
    ],
)
def test_bad_usage_is_exit_2(tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(GOOD) + "\n")
    argv = [a.format(data=data, tmp=tmp_path) for a in args]
    code, out, err = run(*argv)
    assert code == 2, (argv, err, out)
    one_clean_line(err, out)


def test_check_exit_codes(tmp_path: Path) -> None:
    assert run("check", "acme-small", *COMMON)[0] == 0
    assert run("check", "acme-live", *COMMON)[0] == 1


# --- nothing overwritten, nothing half-written --------------------------------------------------------


@pytest.mark.parametrize("command", ["report", "prepare"])
def test_existing_output_is_not_overwritten(tmp_path: Path, command: str) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(GOOD) + "\n")
    target = tmp_path / ("r.html" if command == "report" else "out/manifest.json")
    target.parent.mkdir(exist_ok=True)
    target.write_text("precious")
    code, out, err = run(*DATA_COMMANDS[command](str(data), tmp_path))
    assert code == 2
    one_clean_line(err, out)
    assert "--force" in err
    assert target.read_text() == "precious"


def _batchplan() -> list[str]:
    exe = Path(sys.executable).parent / "batchplan"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "planner"]


def test_ctrl_c_during_a_long_count_exits_130_and_leaves_no_file(tmp_path: Path) -> None:
    """The count reads standard input that this test keeps open, so it cannot finish before the signal
    however fast the machine is; the signal goes once the tool has drained a known amount of that input
    (an observable event: it is counting), never after a fixed sleep."""
    words = ["order", "refund", "shipping", "invoice", "warranty", "account", "password", "delivery", "package"]
    texts = (" ".join(words[(i + k) % 9] + str(i) for k in range(20)) for i in range(4_000))
    block = "".join(json.dumps({"messages": [{"role": "user", "content": t}]}) + "\n" for t in texts).encode()
    report = tmp_path / "report.html"
    proc = subprocess.Popen(
        [*_batchplan(), "report", "-", "-m", "acme-small", "--output-tokens", "5", "-o", str(report), *COMMON],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert proc.stdin is not None
    written = threading.Event()

    def feed() -> None:
        # a pipe buffers 64 KiB at most: once 4 blocks are written the tool has read at least 3 of them
        try:
            for _ in range(4):
                proc.stdin.write(block)  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
            written.set()
        except (BrokenPipeError, OSError):
            written.set()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    assert written.wait(timeout=120), "the tool never read its input"
    assert proc.poll() is None, "the tool exited while its input was still open"
    proc.send_signal(signal.SIGINT)
    _, err_bytes = proc.communicate(timeout=60)
    err = err_bytes.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines() == ["batchplan: interrupted"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []
