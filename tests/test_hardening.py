"""Bad input, everywhere: every command and input path answers with one clear line, a documented exit
code (0 ok, 1 a check failed, 2 bad usage or input, 130 interrupted) and never a traceback; nothing the
user had is overwritten or left half-written."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _cli import ACME, COMMON, run

GOOD = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}


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
    real_open = os.open

    def refusing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == str(data):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
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
    assert code == 1, err  # counted, and no model asked about can run it (docs/names.md, "Retired models")
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


# === Round two (issue 17): outputs, data dir and config, numbers, user tables, history, images ========
# Each class below failed on the main of 2026-12-01 (a traceback, a silent wrong answer, lost data or a
# hang); the tests say what the user would see.


def _cli() -> list[str]:
    exe = Path(sys.executable).parent / "batchplan"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "planner"]


def _rows(n: int, text: str = "hello") -> str:
    return "".join(json.dumps({"messages": [{"role": "user", "content": f"{text} {i}"}], "max_tokens": 5}) + "\n"
                   for i in range(n))


def _temps(where: Path) -> list[str]:
    return sorted(p.name for p in where.rglob("*.tmp")) if where.exists() else []


def _snapshot(where: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(where.iterdir())} if where.exists() else {}


PREPARE = ["prepare", "-m", "acme-small", "--vendor", "openai", "--output-tokens", "5", *COMMON]


# --- outputs: one layer for every file and for stdout -------------------------------------------------


def test_output_paths_that_are_not_regular_files_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(2))
    a_file = tmp_path / "a-file"
    a_file.write_text("precious")
    (tmp_path / "null.html").symlink_to("/dev/null")
    os.mkfifo(tmp_path / "fifo.html")
    report = ["report", str(data), "-m", "acme-small", "--output-tokens", "5", *COMMON, "--force", "-o"]
    cases = {
        "report into a FIFO": ([*report, str(tmp_path / "fifo.html")], "is a FIFO"),
        "report through a link to /dev/null": ([*report, str(tmp_path / "null.html")], "is a character device"),
        "report under a file": ([*report, str(a_file / "r.html")], f"{a_file} is not a directory"),
        "prepare into a file": ([*PREPARE, str(data), "-o", str(a_file)], "is not a directory (a file)"),
        "prepare into /dev/null": ([*PREPARE, str(data), "-o", "/dev/null", "--force"], "a character device"),
        "prepare under a file": ([*PREPARE, str(data), "-o", str(a_file / "out")], f"{a_file} is not a directory"),
    }
    for name, (args, fragment) in cases.items():
        code, out, err = run(*args)
        assert code == 2, (name, err)
        one_clean_line(err, out)
        assert fragment in err, (name, err)
    assert a_file.read_text() == "precious"
    assert Path("/dev/null").is_char_device() and (tmp_path / "fifo.html").is_fifo()
    assert _temps(tmp_path) == []


def test_report_to_a_symbolic_link_needs_force_and_keeps_the_link(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(1))
    link = tmp_path / "latest.html"
    target = tmp_path / "reports" / "2026-12-01.html"
    target.parent.mkdir()
    link.symlink_to(target)  # dangling until the report is written
    args = ["report", str(data), "-m", "acme-small", "--output-tokens", "5", *COMMON, "-o", str(link)]
    code, out, err = run(*args)
    assert code == 2
    one_clean_line(err, out)
    assert "already exists (a symbolic link)" in err and "--force" in err
    assert link.is_symlink() and not target.exists()
    code, _, err = run(*args, "--force")
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)  # the link is kept, its file written
    assert "<html" in target.read_text()


@pytest.mark.parametrize("alias", ["same path", "symbolic link", "hard link"])
def test_prepare_never_deletes_or_replaces_its_input(tmp_path: Path, alias: str) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(5))
    out = tmp_path / "out"
    code, _, err = run(*PREPARE, str(data), "-o", str(out), "--max-requests", "1")
    assert code == 0, err
    before = _snapshot(out)
    assert len(before) == 6
    for name in ("batch-0003.jsonl", "batch-0001.jsonl", "manifest.json"):  # stale, replaced, replaced
        source = out / name
        if alias == "symbolic link":
            source = tmp_path / f"via-link-{name}"
            source.symlink_to(out / name)
        elif alias == "hard link":
            source = tmp_path / f"hard-{name}"
            os.link(out / name, source)
        code, out_text, err = run(*PREPARE, str(source), "-o", str(out), "--force")
        assert code == 2, (name, err)
        one_clean_line(err, out_text)
        assert "an input is never deleted" in err, err
        assert _snapshot(out) == before, name
    assert _temps(tmp_path) == []


def _small_filesystem(where: Path, kib: int) -> None:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(where)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root); the RLIMIT_FSIZE test covers full files")


@pytest.fixture
def full_disk(tmp_path: Path) -> Any:
    where = tmp_path / "small"
    _small_filesystem(where, 64)
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_disk_full_report_and_prepare_at_the_first_and_a_middle_file(tmp_path: Path, full_disk: Path) -> None:
    """A real full file system (a 64 KiB tmpfs): one line naming the file, exit 2, no temporary file left,
    and whatever was there before is unchanged."""
    big = tmp_path / "big.jsonl"
    big.write_text(_rows(1, "x" * 200_000))
    code, out, err = run("report", str(big), "-m", "acme-long", "--output-tokens", "5", *COMMON,
                         "-o", str(full_disk / "r.json"))
    # the report of one request is small: it fits; a report of a 200 KB prompt's estimate is small too,
    # so fill the disk with the batch file instead
    assert code == 0, err
    old = _snapshot(full_disk)
    for name, data, extra in (
        ("first", big, []),
        ("middle", tmp_path / "twenty.jsonl", ["--max-requests", "1"]),
    ):
        if name == "middle":
            data.write_text(_rows(20, "y" * 5_000))
        out_dir = full_disk / f"out-{name}"
        code, out, err = run(*PREPARE, str(data), "-o", str(out_dir), *extra)
        assert code == 2, (name, err)
        one_clean_line(err, out)
        assert "No space left on device" in err and "nothing in" in err and "was changed" in err, err
        assert "batch-" in err
        if name == "middle":
            assert "batch-0001" not in err  # it failed after some files were complete
        assert not out_dir.exists(), name  # nothing half-written: not even the directory it made
        assert _temps(full_disk) == []
        assert _snapshot(full_disk) == old
    filler = full_disk / "filler"
    with open(filler, "wb") as fh, contextlib.suppress(OSError):
        fh.write(b"\0" * 128 * 1024)
    code, out, err = run("report", str(big), "-m", "acme-long", "--output-tokens", "5", *COMMON,
                         "-o", str(full_disk / "r.json"), "--force")
    assert code == 2
    one_clean_line(err, out)
    assert "No space left on device" in err and "r.json was left as it was" in err
    assert _snapshot(full_disk)["r.json"] == old["r.json"]
    assert _temps(full_disk) == []


def _limited(max_bytes: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write(2) then fails with EFBIG instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return apply


@pytest.mark.parametrize("where", ["first", "middle"])
def test_a_file_that_cannot_grow_fails_prepare_cleanly_and_keeps_the_old_files(tmp_path: Path, where: str) -> None:
    """The kernel refusing a write (RLIMIT_FSIZE, works without root): one line naming the batch file, and
    the files of the previous run (which --force was about to replace) are all still there, unchanged."""
    out = tmp_path / "out"
    data = tmp_path / "d.jsonl"
    rows = _rows(5)
    if where == "middle":  # the third row alone makes a file over the limit
        lines = rows.splitlines(keepends=True)
        lines[2] = json.dumps({"messages": [{"role": "user", "content": "z" * 40_000}], "max_tokens": 5}) + "\n"
        rows = "".join(lines)
    data.write_text(rows)
    # written; exit 1 in the middle case: its third request is over acme-small's context window (✗ says so)
    assert run(*PREPARE, str(data), "-o", str(out), "--max-requests", "1")[0] == (1 if where == "middle" else 0)
    before = _snapshot(out)
    limit = 100 if where == "first" else 20_000
    proc = subprocess.run([*_cli(), *PREPARE, str(data), "-o", str(out), "--max-requests", "1", "--force"],
                          capture_output=True, text=True, preexec_fn=_limited(limit), timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    one_clean_line(proc.stderr, proc.stdout)
    assert "File too large" in proc.stderr and "nothing in" in proc.stderr, proc.stderr
    assert ("batch-0001.jsonl" if where == "first" else "batch-0003.jsonl") in proc.stderr
    assert _snapshot(out) == before
    assert _temps(tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["estimate", "{data}", "-m", "acme-small", "--output-tokens", "5", *COMMON],
        ["estimate", "{data}", "-m", "acme-small", "--output-tokens", "5", "--json", *COMMON],
        ["validate", "{data}"],
        ["prices", "list"],
        ["check", "acme-small", *COMMON, "--json"],
    ],
)
def test_stdout_to_a_full_device_is_one_line(tmp_path: Path, args: list[str]) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(3))
    argv = [a.format(data=data) for a in args]
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([*_cli(), *argv], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
                              env={**os.environ, "BATCHPLAN_HOME": str(tmp_path / "home")}, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == ["batchplan: error: cannot write to standard output: "
                                                "No space left on device"], proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_prepare_leaves_no_temporary_file(tmp_path: Path, sig: signal.Signals) -> None:
    """prepare reads standard input that this test keeps open; the signal goes once the first temporary
    batch file exists (an observable event), never after a fixed sleep."""
    out = tmp_path / "out"
    proc = subprocess.Popen([*_cli(), *PREPARE, "-", "-o", str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        proc.stdin.write(_rows(50).encode())
        proc.stdin.flush()
        deadline = time.monotonic() + 120
        while not _temps(out):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no temporary batch file appeared"
            time.sleep(0.02)  # polling for the event, not waiting for time to pass
        proc.send_signal(sig)
        _, err_bytes = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = err_bytes.decode()
    assert "Traceback" not in err
    assert proc.returncode > 0, (proc.returncode, err)  # exited by itself, after cleaning up
    assert _temps(tmp_path) == []
    assert not out.exists()  # the directory it made is gone too


# --- the data directory and the config ----------------------------------------------------------------


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Any:
    where = tmp_path / "ro"
    if os.geteuid() != 0:
        where.mkdir()
        where.chmod(0o555)
        yield where
        where.chmod(0o755)
        return
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(where)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("root, and no read-only mount possible: a read-only directory cannot be made here")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def _batch(i: int, **changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"object": "batch", "id": f"batch_{i}", "status": "completed", "created_at": 1_780_000_000,
                           "completed_at": 1_780_003_600, "model": "acme-small",
                           "request_counts": {"total": 10, "completed": 10, "failed": 0}}
    obj.update(changes)
    return obj


@pytest.mark.parametrize("kind", ["a file", "/dev/null", "no such user", "read-only"])
def test_a_bad_batchplan_home_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str,
                                          request: pytest.FixtureRequest) -> None:
    if kind == "a file":
        home = tmp_path / "home-file"
        home.write_text("not a directory")
        value = str(home)
    elif kind == "/dev/null":
        value = "/dev/null"
    elif kind == "no such user":
        value = "~no-such-user-batchplan/data"
    else:
        value = str(request.getfixturevalue("read_only_dir") / "home")
    monkeypatch.setenv("BATCHPLAN_HOME", value)
    objects = tmp_path / "b.json"
    objects.write_text(json.dumps(_batch(1)))
    code, out, err = run("history", "import", str(objects))
    assert code == 2, err
    one_clean_line(err, out)
    assert "BATCHPLAN_HOME" in err
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(1))
    code, out, err = run("estimate", str(data), "-m", "acme-small", "--output-tokens", "5", *COMMON)
    # an estimate only reads the store, and history is optional to it: it works, and says why history was not used
    assert code == 0, err
    if kind == "no such user":
        assert "history not used: BATCHPLAN_HOME '~no-such-user-batchplan/data' names no home directory" in err
    assert Path("/dev/null").is_char_device()


def test_a_tampered_history_row_is_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    objects = tmp_path / "b.json"
    objects.write_text(json.dumps([_batch(i) for i in range(3)]))
    assert run("history", "import", str(objects))[0] == 0
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(1))
    estimate = ["estimate", str(data), "-m", "acme-small", "--output-tokens", "5", *COMMON]
    for column, value in (("created_at", "last tuesday"), ("requests", -5), ("hours", "many")):
        with sqlite3.connect(tmp_path / "home" / "history.sqlite3") as conn:
            conn.execute(f"UPDATE batches SET {column} = ? WHERE id = 'batch_1'", (value,))
        code, out, err = run("history", "show")
        assert code == 2, (column, err)
        one_clean_line(err, out)
        assert "openai/batch_1" in err and column in err and "changed outside batchplan" in err, err
        code, out, err = run(*estimate)  # history is optional to an estimate: one note, and it goes on
        assert code == 0, (column, err)
        said = [line for line in err.splitlines() if "history not used" in line]
        assert len(said) == 1 and "openai/batch_1" in said[0] and column in said[0], err
        assert run(*estimate, "--no-history")[0] == 0
        with sqlite3.connect(tmp_path / "home" / "history.sqlite3") as conn:
            conn.execute("DELETE FROM batches WHERE id = 'batch_1'")
        assert run("history", "import", str(objects))[0] == 0


@pytest.mark.parametrize(("loader", "depth"), [("StrictLoader", 100_000), ("StrictPyLoader", 20_000)])
def test_deep_duplicate_and_exploding_yaml_are_one_line(tmp_path: Path, loader: str, depth: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """For libyaml's loader (100,000 deep) and the pure-Python one (20,000 deep: it is slow to scan, and
    fails the same way past Python's recursion limit): a deep document, a key written twice, and an
    alias bomb, in a price table and in the config."""
    import planner.io.safeyaml as safeyaml

    monkeypatch.setattr(safeyaml, "SAFE_LOADER", getattr(safeyaml, loader))
    base = Path(ACME).read_text(encoding="utf-8")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True))
    docs = {
        "deep": ("models: " + "[" * depth + "\n", "nested too deeply|maximum nesting depth"),
        "duplicate provider": (base.replace("name: Acme AI", "name: Acme AI\nprovider: evil", 1),
                               r"duplicate key 'provider' \(first on line 2\)"),
        "alias bomb": (bomb, "expands to more than 1,000,000 values"),
    }
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(1))
    for name, (text, fragment) in docs.items():
        table = tmp_path / f"{name.replace(' ', '-')}.yaml"
        table.write_text(text, encoding="utf-8")
        code, out, err = run("prices", "validate", str(table))
        assert code == 2, (name, err)
        one_clean_line(err, out)
        assert re.search(fragment, err), (name, err)
        home = tmp_path / f"home-{name.replace(' ', '-')}"
        home.mkdir()
        (home / "config.yaml").write_text(text if name != "duplicate provider" else "prices: []\nprices: [x]\n")
        monkeypatch.setenv("BATCHPLAN_HOME", str(home))
        code, out, err = run("estimate", str(data), "-m", "acme-small", "--output-tokens", "5", *COMMON)
        assert code == 2, (name, err)
        one_clean_line(err, out)
        assert "config.yaml" in err and re.search(fragment.replace("'provider'", "'prices'").replace("2", "1"), err)


# --- numbers: bounded on the way in, flagged on the way out -------------------------------------------

HUGE = str(10**30)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--rows", HUGE], "--rows must be at most"),
        (["--sample", HUGE], "--sample must be at most"),
        (["--seed", HUGE], "--seed must be at most"),
        (["--concurrency", HUGE], "--concurrency must be at most"),
        (["--cache-prefix", HUGE], "--cache-prefix"),
        (["--budget", "1e999999999"], "--budget '1e999999999' is above"),
        (["--budget", "1e-999999999"], "is below $0.000001"),
        (["--deadline", "3000000d"], "more than 100 years away"),
        (["--deadline", "1" + "0" * 400 + "h"], "more than 100 years away"),
        (["--deadline", "0001-01-01"], "is in the past"),
        (["--deadline", "0001-01-01T00:00"], "is in the past"),
        (["--deadline", "9999-12-31T23:59"], "more than 100 years away"),
    ],
)
def test_estimate_numbers_out_of_range_are_one_line(tmp_path: Path, extra: list[str], fragment: str) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(2))
    code, out, err = run("estimate", str(data), "-m", "acme-small", "--output-tokens", "5", *COMMON, *extra)
    assert code == 2, (extra, err)
    one_clean_line(err, out)
    assert fragment in err, (extra, err)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--temperature", "nan"], "--temperature must be a finite number"),
        (["--temperature", "inf"], "--temperature must be a finite number"),
        (["--temperature=-inf"], "--temperature must be a finite number"),
        (["--temperature", "7"], "--temperature must be at most 2"),
        (["--max-tokens", HUGE], "--max-tokens must be at most"),
        (["--max-requests", HUGE], "--max-requests must be at most"),
        (["--max-bytes", HUGE], "--max-bytes must be at most"),
        (["--body", '{"top_p": NaN}'], "--body: NaN is not a finite number"),
        (["--body", '{"top_p": Infinity}'], "--body: Infinity is not a finite number"),
        (["--body", '{"top_p": 1e999}'], "--body: 1e999 is beyond the range of a 64-bit float"),
        (["--body", '{"seed": ' + "9" * 5000 + "}"], "does not fit in 64 bits"),
    ],
)
def test_prepare_rejects_non_finite_and_huge_numbers_before_writing(tmp_path: Path, extra: list[str],
                                                                    fragment: str) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(2))
    code, out, err = run(*PREPARE, str(data), "-o", str(tmp_path / "out"), *extra)
    assert code == 2, (extra, err)
    one_clean_line(err, out)
    assert fragment in err, (extra, err)
    assert not (tmp_path / "out").exists()


def test_non_finite_and_huge_numbers_in_data_never_reach_a_batch_file(tmp_path: Path) -> None:
    for i, value in enumerate(("NaN", "Infinity", "-Infinity", "1e999", "1" + "0" * 30)):
        data = tmp_path / f"d{i}.jsonl"
        data.write_text(_rows(1) + '{"messages": [{"role": "user", "content": "x"}], "max_tokens": 5, '
                        f'"top_p": {value}}}\n')
        code, out, err = run(*PREPARE, str(data), "-o", str(tmp_path / "out"))
        if code == 2 and "row 'line-2'" not in err:
            # the dataset reader refused the line itself (5,000 digits): one line naming it, nothing written
            one_clean_line(err, out)
            assert ":2:" in err and not (tmp_path / "out").exists(), err
            continue
        assert code == 2, (value, err)
        one_clean_line(err, out)
        assert ":2:" in err and ("finite" in err or "64 bits" in err), (value, err)
        assert not (tmp_path / "out").exists()


def test_validate_flags_numbers_no_vendor_accepts(tmp_path: Path) -> None:
    def line(i: int, value: str) -> str:
        body = '{"model": "acme-small", "messages": [{"role": "user", "content": "x"}], "temperature": ' + value + "}"
        return f'{{"custom_id": "r{i}", "method": "POST", "url": "/v1/chat/completions", "body": {body}}}\n'

    path = tmp_path / "batch.jsonl"
    values = ["0.5", "NaN", "Infinity", "-Infinity", "1e999", "1" + "0" * 25, "9" * 5000]
    path.write_text("".join(line(i, v) for i, v in enumerate(values)))
    code, out, err = run("validate", str(path), "--json", *COMMON, "--output-tokens", "5")
    assert code == 1, err
    doc = json.loads(out)
    flagged = {p["line"]: p["message"] for p in doc["problems"]}
    assert sorted(flagged) == [2, 3, 4, 5, 6, 7], flagged
    assert "NaN is not a finite number" in flagged[2] and "Infinity is not a finite number" in flagged[3]
    assert "64-bit float" in flagged[5] and "does not fit in 64 bits" in flagged[6] and "digits" in flagged[7]
    assert doc["valid_requests"] == 1


HOSTILE_NUMBERS = {
    "message_overhead: 3": ["message_overhead: -1000000", "message_overhead: 1000000000000000000000000000000",
                            "message_overhead: true"],
    "context_window: 1000\n": ["context_window: 0\n", "context_window: 1000000000000000000000000000000\n",
                               "context_window: true\n", "context_window: -1\n"],
    "max_requests: 50000": ["max_requests: 0", "max_requests: 1000000000000000000000000000000"],
    "min_tokens: 50": ["min_tokens: -50", "min_tokens: 1000000000000000000000000000000"],
    "priority: 10": ["priority: 1000000000000000000000000000000"],
}


def test_every_numeric_field_of_a_table_is_bounded(tmp_path: Path) -> None:
    base = Path(ACME).read_text(encoding="utf-8").replace(
        "    method: exact\n", "    method: exact\n    message_overhead: 3\n", 1)
    extra = {
        "turnaround p50 NaN": base.replace("  limits:", "  turnaround: {completion_window_hours: 24, expiry_hours: "
                                           "24, p50_hours: .nan, p90_hours: 8, source: x}\n  limits:"),
        "turnaround p90 below p50": base.replace("  limits:", "  turnaround: {completion_window_hours: 24, "
                                                 "expiry_hours: 24, p50_hours: 9, p90_hours: 2, source: x}\n  limits:"),
        "rate limit past 64 bits": base.replace("cache:", "rate_limits: {tier-1: {rpm: " + "9" * 30 + "}}\ncache:"),
        "image size zero": base.replace("    method: exact\n", "    method: exact\n    images: {kind: tile, "
                                        "assumed_size: [0, -5]}\n", 1),
    }
    cases = {f"{old.strip()} -> {new.strip()}": base.replace(old, new, 1)
             for old, news in HOSTILE_NUMBERS.items() for new in news}
    cases.update(extra)
    for name, text in cases.items():
        assert text != base, name
        table = tmp_path / "2026-01-01.yaml"
        table.write_text(text, encoding="utf-8")
        code, out, err = run("prices", "validate", str(table))
        assert code == 2, (name, out, err)
        one_clean_line(err, out)
    assert run("prices", "validate", ACME)[0] == 0


# --- the user's tables: labelled as theirs, every field applied ----------------------------------------


def _user_openai(tmp_path: Path, extra: str = "") -> Path:
    """A user's OpenAI table pricing gpt-4o-mini at $999,999 per 1M tokens, over the shipped one."""
    text = f"""provider: openai
name: OpenAI (negotiated)
version: 2026-11-20
verified: 2026-11-20
sources: [https://example.test/our-contract]
batch:
  supported: true
  default_multiplier: "0.5"
{extra}tokenizers:
  ours: {{encoding: o200k_base, method: exact}}
models:
  - id: gpt-4o-mini
    tokenizer: ours
    context_window: 128000
    max_output: 16384
    realtime: {{input: "999999", output: "999999"}}
    source: https://example.test/our-contract
    verified: 2026-11-20
"""
    path = tmp_path / "negotiated.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_users_table_is_labelled_as_theirs_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "400")  # the label is long: keep the terminal table from wrapping it
    mine = _user_openai(tmp_path)
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(3))
    common = ["-m", "gpt-4o-mini", "--prices", str(mine), "--as-of", "2026-11-25", "--output-tokens", "5"]
    label = f"+ your table {mine}"
    code, out, err = run("estimate", str(data), *common, "--json")
    assert code == 0, err
    e = json.loads(out)["estimates"][0]
    assert e["price_table"].startswith("openai@") and e["price_table"].endswith(label), e["price_table"]
    assert Decimal(e["realtime_cost_usd"]) > 10  # tens of tokens at $999,999 per 1M: the user's price applies
    code, out, err = run("estimate", str(data), *common)
    assert code == 0 and label in out, out
    code, _, err = run("report", str(data), *common, "-o", str(tmp_path / "r.md"))
    md = (tmp_path / "r.md").read_text()
    assert code == 0 and "+ your table" in md and "negotiated.yaml" in md, err  # (Markdown escapes the path's _)
    code, out, err = run("prepare", str(data), *common, "--vendor", "openai", "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["price_table"].endswith(label)
    code, out, err = run("validate", str(tmp_path / "out" / "batch-0001.jsonl"), *common[2:], "--json")
    assert code == 0, err
    assert json.loads(out)["estimate"]["price_table"].endswith(label)
    code, out, err = run("check", "gpt-4o-mini", "--prices", str(mine), "--as-of", "2026-11-25")
    assert "your table" in out, out
    shipped = run("estimate", str(data), "-m", "gpt-4o-mini", "--as-of", "2026-11-25", "--output-tokens", "5",
                  "--json")[1]
    assert "your table" not in json.loads(shipped)["estimates"][0]["price_table"]


def test_every_field_a_users_table_sets_is_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    mine = _user_openai(tmp_path, extra="""  limits: {max_requests: 1}
  turnaround: {completion_window_hours: 24, expiry_hours: 24, p50_hours: 7, p90_hours: 11, source: our SLA}
default_tier: ours
rate_limits:
  ours: {rpm: 6, tpm: 100000000}
""")
    data = tmp_path / "d.jsonl"
    data.write_text(_rows(30))
    common = ["-m", "gpt-4o-mini", "--prices", str(mine), "--as-of", "2026-11-25", "--output-tokens", "5"]
    code, _, err = run("prepare", str(data), *common, "--vendor", "openai", "-o", str(tmp_path / "out"))
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["totals"]["files"] == 30 and manifest["limits"]["max_requests"] == 1  # batch.limits
    code, out, err = run("estimate", str(data), *common, "--json")
    t = json.loads(out)["estimates"][0]["turnaround"]
    assert t["tier"] == "ours"  # default_tier and rate_limits
    assert t["realtime"]["bound_by"] == "rpm" and t["realtime"]["hours"] == pytest.approx(30 / 6 / 60, rel=0.01)
    assert t["batch"]["p50_hours"] >= 7 and "our SLA" in json.dumps(t)  # batch.turnaround


def test_a_users_table_that_breaks_the_merged_table_is_one_line(tmp_path: Path) -> None:
    mine = _user_openai(tmp_path)
    mine.write_text(mine.read_text().replace("    tokenizer: ours\n", "    aliases: [gpt-4o]\n    tokenizer: ours\n"))
    assert run("prices", "validate", str(mine))[0] == 0  # valid alone; its alias clashes with a shipped model
    code, out, err = run("check", "gpt-4o-mini", "--prices", str(mine), "--as-of", "2026-11-25")
    assert code == 2, err
    one_clean_line(err, out)
    assert "negotiated.yaml" in err and "'gpt-4o'" in err


def test_a_users_tokenizer_never_changes_how_shipped_models_count(tmp_path: Path) -> None:
    """A user's table defining `o200k` (the name OpenAI's shipped table counts gpt-4o with) would have
    silently dropped gpt-4o's image and tool rules: refused, with what to do."""
    mine = _user_openai(tmp_path)
    mine.write_text(mine.read_text().replace("  ours:", "  o200k:").replace("tokenizer: ours", "tokenizer: o200k"))
    code, out, err = run("check", "gpt-4o-mini", "--prices", str(mine), "--as-of", "2026-11-25")
    assert code == 2, err
    one_clean_line(err, out)
    assert "tokenizer 'o200k' differs from the shipped openai@" in err and "another name" in err


def test_prices_list_of_a_missing_or_empty_root_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for root, fragment in (("/nonexistent", "no such folder"), (str(tmp_path / "empty"), "no price tables under")):
        for args in (["prices", "list", "--root", root], ["prices", "show", "openai", "--root", root]):
            code, out, err = run(*args)
            assert code == 2, (args, out)
            one_clean_line(err, out)
            if args[1] == "list":
                assert fragment in err, err


# --- history objects -----------------------------------------------------------------------------------


def test_hostile_history_objects_are_skipped_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    counts = {"total": 10, "completed": 10, "failed": 0}
    hostile = {
        "created_at true": (_batch(1, created_at=True), "created_at"),
        "created_at 1.5e9": (_batch(2, created_at=1.5e9), "created_at"),
        "created_at past 64 bits": (_batch(3, created_at=10**30), "created_at"),
        "created_at 5,000 digits": (None, "created_at"),
        "created_at 1970": (_batch(5, created_at=1, completed_at=2), "created_at"),
        "total below completed": (_batch(6, request_counts={**counts, "total": 1}), "exceed total"),
        "a count past 64 bits": (_batch(7, request_counts={**counts, "total": 10**30}), "request_counts.total"),
        "a count NaN": (_batch(8, request_counts={**counts, "failed": float("nan")}), "request_counts.failed"),
        "an Anthropic year 1": ({"type": "message_batch", "id": "m1", "processing_status": "ended",
                                 "created_at": "0001-01-01T00:00:00Z", "ended_at": "0001-01-02T00:00:00Z",
                                 "request_counts": {"processing": 0, "succeeded": 1, "errored": 0, "canceled": 0,
                                                    "expired": 0}}, "created_at"),
    }
    lines = []
    for obj, _ in hostile.values():
        text = json.dumps(obj) if obj is not None else json.dumps(_batch(4)).replace("1780000000", "9" * 5000)
        lines.append(text)
    lines.append(json.dumps(_batch(99, unused=10**40)))  # a huge number in a field nobody reads: fine
    path = tmp_path / "hostile.jsonl"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")  # with a byte-order mark
    code, out, err = run("history", "import", str(path), "--json")
    assert code == 1, err
    assert "Traceback" not in err
    report = json.loads(out)["files"][0]
    assert report["added"] == 1
    skipped = {s["where"].rsplit(":", 1)[1]: s["reason"] for s in report["skipped"]}
    for number, (name, (_, fragment)) in enumerate(hostile.items(), 1):
        assert fragment in skipped[str(number)], (name, skipped.get(str(number)))
    assert len(skipped) == len(hostile)


def test_the_same_id_with_other_content_is_a_conflict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    running = _batch(1, status="in_progress", request_counts={"total": 10, "completed": 3, "failed": 0})
    del running["completed_at"]
    for name, obj in (("running", running), ("done", _batch(1)), ("again", _batch(1)),
                      ("other", _batch(1, completed_at=1_780_009_999))):
        (tmp_path / f"{name}.json").write_text(json.dumps(obj))
    assert "1 imported" in run("history", "import", str(tmp_path / "running.json"))[1]
    code, out, _ = run("history", "import", str(tmp_path / "done.json"))
    assert code == 0 and "1 updated" in out  # the batch finished: its later state replaces the row
    code, out, _ = run("history", "import", str(tmp_path / "again.json"))
    assert code == 0 and "1 already known" in out
    code, out, err = run("history", "import", str(tmp_path / "other.json"))
    assert code == 1 and "1 conflicting" in out, out
    assert "batch 'batch_1' is stored already with a different ended_at, hours; kept the stored one" in err
    code, out, _ = run("history", "show", "--json")
    assert json.loads(out)["groups"][0]["max_hours"] == 1.0  # the stored one


def test_history_and_validate_read_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/dev/zero never ends and has no newline: both stop at their cap with one line, memory bounded."""
    import planner.store.history as history

    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(history, "HISTORY_MAX_BYTES", 1 << 20)  # the real caps are 64 MiB: same code, less time
    monkeypatch.setenv("BATCHPLAN_MAX_LINE_BYTES", "1M")
    code, out, err = run("history", "import", "/dev/zero")
    assert code == 2
    one_clean_line(err, out)
    assert "/dev/zero" in err and "1 MiB" in err
    code, out, err = run("validate", "/dev/zero")
    assert code == 2
    one_clean_line(err, out)
    assert "/dev/zero:1: line is longer than 1 MiB" in err and "BATCHPLAN_MAX_LINE_BYTES" in err


# --- images: data never names a file for the tool to open ----------------------------------------------


def test_a_dataset_naming_local_files_and_a_fifo_does_not_hang_or_read_them(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    parts = [{"type": "image_url", "image_url": {"url": url}}
             for url in ("file:///etc/shadow", "/etc/shadow", fifo.as_uri(), str(fifo))]
    data = tmp_path / "img.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": parts}], "max_tokens": 5}) + "\n")
    proc = subprocess.run([*_cli(), "estimate", str(data), "-m", "gpt-4o", "--as-of", "2026-11-25", "--json"],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "BATCHPLAN_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["estimates"][0]["assumed_images"] == 4
    assert any("4 image(s)" in n and "1024×1024" in n and "never opens" in n for n in doc["notes"])


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
