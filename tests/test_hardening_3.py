"""Hardening, round three (issue #27): the same promises on every file a command reads or writes.

Every file a command reads goes through the one way in (planner/io/inputs.py: bounded, read once, a
FIFO never waited on where a regular file is expected) and every file it writes through the one way out
(planner/io/atomic.py), which never replaces a file the same command reads, `--force` or not, under any
name. Each class of failure the third hostile pass found is a test here; reconcile and history have
their own (tests/test_reconcile.py, tests/test_history.py).
"""

from __future__ import annotations

import gzip
import json
import os
import pwd
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from _cli import ACME, COMMON, run

from planner.count import counting
from planner.count.encodings import LONG_TEXT, get_encoding, pieces, token_counter
from planner.io import inputs
from planner.prices import tablecache
from planner.store import config

GOOD = {"messages": [{"role": "user", "content": "hello there"}], "max_tokens": 5}
ACME_BYTES = Path(ACME).read_bytes()


def one_line(err: str, out: str = "") -> str:
    """The single error line (no traceback, nothing else on stderr)."""
    assert "Traceback" not in err + out
    lines = [line for line in err.strip().splitlines() if not line.startswith("batchplan: note:")]
    assert len(lines) == 1 and lines[0].startswith("batchplan: error: "), err
    return lines[0]


def _cli() -> list[str]:
    exe = Path(sys.executable).parent / "batchplan"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "planner"]


def _data(tmp: Path, name: str = "data.jsonl", rows: int = 3) -> Path:
    path = tmp / name
    path.write_text("".join(json.dumps(GOOD) + "\n" for _ in range(rows)), encoding="utf-8")
    return path


# --- data loss: no command replaces a file it reads, --force or not, under any name ---------------------

def _report_inputs(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[Path, list[str]]]:
    """role -> (the file report reads in that role, the arguments that make it read it). Every file is
    named .json, a name report would write."""
    data = _data(tmp, "data.json")
    table = tmp / "table.json"
    table.write_bytes(ACME_BYTES)
    listed = tmp / "listed.json"
    listed.write_bytes(ACME_BYTES)
    cfg = tmp / "config.json"
    cfg.write_text("prices: [listed.json]\n", encoding="utf-8")
    monkeypatch.setenv("BATCHPLAN_CONFIG", str(cfg))
    base = ["-m", "acme-small", "--as-of", "2026-03-01"]
    return {
        "the dataset": (data, [str(data), *base, "--prices", str(table)]),
        "a --prices table": (table, [str(data), *base, "--prices", str(table)]),
        "a table the config lists": (listed, [str(data), *base]),
        "the config": (cfg, [str(data), *base]),
    }


ALIASES: dict[str, Callable[[Path, Path], Path]] = {
    "itself": lambda target, tmp: target,
    "a symlink to it": lambda target, tmp: _link(tmp / "out-link.json", target, os.symlink),
    "a hard link to it": lambda target, tmp: _link(tmp / "out-hard.json", target, os.link),
}


def _link(path: Path, target: Path, how: Callable[[Path, Path], None]) -> Path:
    how(target, path)
    return path


@pytest.mark.parametrize("alias", sorted(ALIASES))
@pytest.mark.parametrize("role", ["the dataset", "a --prices table", "a table the config lists", "the config"])
def test_report_never_replaces_a_file_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, role: str, alias: str
) -> None:
    target, args = _report_inputs(tmp_path, monkeypatch)[role]
    before = target.read_bytes()
    out = ALIASES[alias](target, tmp_path)
    code, stdout, err = run("report", *args, "-o", str(out), "--force")
    assert code == 2, (role, alias, err)
    assert "is an input of this command" in one_line(err, stdout)
    assert target.read_bytes() == before, (role, alias)


def test_report_refuses_an_output_the_dataset_is_a_symlink_to(tmp_path: Path) -> None:
    real = _data(tmp_path, "real.json")
    link = _link(tmp_path / "link.jsonl", real, os.symlink)
    before = real.read_bytes()
    code, out, err = run("report", str(link), "-m", "acme-small", *COMMON, "-o", str(real), "--force")
    assert code == 2 and "is an input of this command" in one_line(err, out)
    assert real.read_bytes() == before


def test_report_still_overwrites_its_own_earlier_report(tmp_path: Path) -> None:
    data = _data(tmp_path)
    out = tmp_path / "r.json"
    out.write_text("an old report", encoding="utf-8")
    code, _, err = run("report", str(data), "-m", "acme-small", *COMMON, "-o", str(out), "--force")
    assert code == 0, err
    assert json.loads(out.read_text(encoding="utf-8"))["dataset"]["requests"] == 3


@pytest.mark.parametrize("name", ["manifest.json", "batch-0002.jsonl"])
def test_prepare_force_never_replaces_a_prices_table_kept_in_its_output(tmp_path: Path, name: str) -> None:
    data = _data(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    table = out / name
    table.write_bytes(ACME_BYTES)
    code, stdout, err = run("prepare", str(data), "-m", "acme-small", "--vendor", "openai", "--prices", str(table),
                            "--as-of", "2026-03-01", "-o", str(out), "--force")
    assert code == 2, err
    assert f"the input {table} is in {out}" in one_line(err, stdout)
    assert table.read_bytes() == ACME_BYTES
    assert sorted(p.name for p in out.iterdir()) == [name]


# --- unbounded memory and hangs -------------------------------------------------------------------------

def _subprocess(argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The installed program; a hang fails the test (TimeoutExpired) instead of hanging the suite."""
    return subprocess.run([*_cli(), *argv], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)


@pytest.mark.parametrize("planted", ["a FIFO", "/dev/zero", "a directory"])
def test_a_cache_entry_that_is_no_regular_file_is_neither_waited_on_nor_read(tmp_path: Path, planted: str) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    entry = tablecache._entry(cache, ACME_BYTES)
    if planted == "a FIFO":
        os.mkfifo(entry)
    elif planted == "/dev/zero":
        os.symlink("/dev/zero", entry)
    else:
        entry.mkdir()
    data = _data(tmp_path)
    proc = _subprocess(["estimate", str(data), "-m", "acme-small", *COMMON, "--json"],
                       {"BATCHPLAN_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dataset"]["requests"] == 3


@pytest.mark.parametrize("planted", ["a FIFO", "/dev/zero"])
@pytest.mark.parametrize("where", ["a table the config lists", "the config"])
def test_a_config_or_listed_table_that_is_no_regular_file_is_refused_at_once(
    tmp_path: Path, planted: str, where: str
) -> None:
    special = tmp_path / "special.yaml"
    if planted == "a FIFO":
        os.mkfifo(special)
    else:
        os.symlink("/dev/zero", special)
    cfg = tmp_path / "config.yaml"
    if where == "the config":
        cfg = special
    else:
        cfg.write_text(f"prices: [{special.name}]\n", encoding="utf-8")
    data = _data(tmp_path)
    proc = _subprocess(["estimate", str(data), "-m", "acme-small", *COMMON], {"BATCHPLAN_CONFIG": str(cfg)})
    assert proc.returncode == 2, proc.stderr
    kind = "a FIFO" if planted == "a FIFO" else "a character device"
    assert f"{special}: is {kind}, not a regular file" in one_line(proc.stderr, proc.stdout)


def test_a_prices_table_on_the_command_line_may_be_a_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "table.fifo"
    os.mkfifo(fifo)
    data = _data(tmp_path)

    def feed() -> None:
        with open(fifo, "wb") as fh:
            fh.write(ACME_BYTES)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    proc = _subprocess(["estimate", str(data), "-m", "acme-small", "--prices", str(fifo), "--as-of", "2026-03-01",
                        "--json"], {})
    writer.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dataset"]["requests"] == 3


def test_dev_zero_as_a_prices_table_is_bounded(tmp_path: Path) -> None:
    data = _data(tmp_path)
    code, out, err = run("estimate", str(data), "-m", "acme-small", "--prices", "/dev/zero", "--as-of", "2026-03-01")
    assert code == 2
    assert "/dev/zero: over 4 MiB: not a price table" in one_line(err, out)


def test_a_gzip_of_blank_lines_is_refused_as_a_bomb(tmp_path: Path) -> None:
    """32 MiB of newlines compress to ~32 KB: refused once past the 1 MiB floor, instead of handing out
    tens of millions of empty lines (the 200 MiB version cost minutes)."""
    bomb = tmp_path / "blank.jsonl.gz"
    with gzip.open(bomb, "wb") as fh:
        fh.write(json.dumps(GOOD).encode() + b"\n")
        for _ in range(32):
            fh.write(b"\n" * (1 << 20))
    assert bomb.stat().st_size < 100_000
    code, out, err = run("estimate", str(bomb), "-m", "acme-small", *COMMON)
    assert code == 2
    assert "decompresses to over 500 times its size" in one_line(err, out)


def test_a_gzip_of_ordinary_data_is_not_taken_for_a_bomb(tmp_path: Path) -> None:
    """The same request repeated (~300:1, the most compressible real dataset) passes the ratio bound."""
    path = tmp_path / "same.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write((json.dumps(GOOD) + "\n").encode() * 300_000)  # ~21 MiB
    code, out, err = run("estimate", str(path), "-m", "acme-small", *COMMON, "--json")
    assert code == 0, err
    assert json.loads(out)["dataset"]["requests"] == 300_000


def test_a_long_text_is_counted_in_pieces_with_the_same_count() -> None:
    """One long line is tokenized in pieces no longer than LONG_TEXT (memory bounded: a 16 MiB line of
    one letter peaked near 1 GB whole), cut where the pre-tokenizer cuts, so the count is exact."""
    words = ["hello", "world,", "the", "Über", "日本語", "don't", "123", "x.", "\n", "  ", "\t", "!!", "a"]
    text = "".join(words[(i * 7) % len(words)] + (" " if i % 3 else "") for i in range(800_000))
    assert len(text) > 2 * LONG_TEXT
    cut = list(pieces(text))
    assert len(cut) > 2 and all(len(p) <= LONG_TEXT for p in cut) and "".join(cut) == text
    for name in ("o200k_base", "cl100k_base"):
        assert token_counter(name)(text) == len(get_encoding(name).encode_ordinary(text))
    run_of_one_letter = "a" * (2 * LONG_TEXT + 5)
    assert all(len(p) <= LONG_TEXT for p in pieces(run_of_one_letter))
    assert token_counter("o200k_base")(run_of_one_letter) == len(get_encoding("o200k_base").encode_ordinary(
        run_of_one_letter))


# --- signals ---------------------------------------------------------------------------------------------

def _ignore_hup_and_term() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _feed_then_signal(tmp_path: Path, preexec: Callable[[], None] | None, sig: int) -> tuple[int, str, str]:
    """Start a count on standard input that this test holds open (it cannot finish before the signal),
    send `sig` once the tool is draining the input (an observable event), then end the input."""
    block = "".join(json.dumps({"messages": [{"role": "user", "content": f"text {i} " * 20}]}) + "\n"
                    for i in range(2_000)).encode()
    proc = subprocess.Popen([*_cli(), "estimate", "-", "-m", "acme-small", "--output-tokens", "5", *COMMON],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=preexec)  # (a signal disposition is what is inherited)
    assert proc.stdin is not None
    for _ in range(4):  # a pipe buffers 64 KiB: once 4 blocks are in, the tool has read at least 3
        proc.stdin.write(block)
        proc.stdin.flush()
    assert proc.poll() is None
    proc.send_signal(sig)
    out, err = proc.communicate(block, timeout=120)  # the rest of the input, then its end
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_ignored_by_the_launcher_stays_ignored(tmp_path: Path, sig: int) -> None:
    """`nohup batchplan …` survives the terminal closing: SIG_IGN inherited at start is respected."""
    code, out, err = _feed_then_signal(tmp_path, _ignore_hup_and_term, sig)
    assert code == 0, err
    assert "interrupted" not in err and "10,000 requests" in out


def _default_hup_and_term() -> None:
    """Whatever this test run inherited (a CI under nohup ignores SIGHUP), the tool starts with defaults."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_a_signal_not_ignored_still_interrupts(tmp_path: Path) -> None:
    code, _, err = _feed_then_signal(tmp_path, _default_hup_and_term, signal.SIGHUP)
    assert code == 128 + signal.SIGHUP
    assert err.strip().splitlines()[-1] == "batchplan: interrupted (SIGHUP)"


# --- wrong answers: a descriptor's name is a stream -----------------------------------------------------

def _large(tmp: Path) -> Path:
    """Over counting's in-process size (SMALL_BYTES), so workers would be used for a regular file."""
    path = tmp / "large.jsonl"
    line = json.dumps({"messages": [{"role": "user", "content": "w " * 40}], "max_tokens": 5}) + "\n"
    rows = counting.SMALL_BYTES // len(line) + 2_000
    path.write_text(line * rows, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["/dev/stdin", "/proc/self/fd/0", "/dev/fd/N"])
@pytest.mark.parametrize("given", ["a regular file", "a pipe"])
def test_a_descriptor_path_is_read_once_as_a_stream(tmp_path: Path, name: str, given: str) -> None:
    data = _large(tmp_path)
    rows = data.read_text(encoding="utf-8").count("\n")
    feeder = None
    with open(data, "rb") as fh:
        if given == "a regular file":
            fd = fh.fileno()
        else:
            feeder = subprocess.Popen(["cat", str(data)], stdout=subprocess.PIPE)
            fd = feeder.stdout.fileno()  # type: ignore[union-attr]
        path = name.replace("N", str(fd))
        stdin = fd if name != "/dev/fd/N" else subprocess.DEVNULL
        proc = subprocess.run([*_cli(), "estimate", path, "-m", "acme-small", *COMMON, "--json"], stdin=stdin,
                              capture_output=True, text=True, timeout=120, pass_fds=(fd,), check=False)
        if feeder is not None:
            feeder.stdout.close()  # type: ignore[union-attr]
            feeder.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dataset"]["requests"] == rows


def test_names_a_descriptor() -> None:
    assert inputs.names_a_descriptor("/dev/stdin") and inputs.names_a_descriptor("/proc/self/fd/0")
    assert inputs.names_a_descriptor("/dev/fd/7") and not inputs.names_a_descriptor("/tmp/data.jsonl")


# --- process limits --------------------------------------------------------------------------------------

def test_when_no_worker_can_be_forked_the_count_runs_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _large(tmp_path)
    rows = data.read_text(encoding="utf-8").count("\n")
    forks: list[int] = []

    def refused() -> int:
        forks.append(1)
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(counting, "default_workers", lambda: 2)
    monkeypatch.setattr(os, "fork", refused)
    code, out, err = run("estimate", str(data), "-m", "acme-small", *COMMON, "--json")
    assert forks, "the pool was never tried: the test would prove nothing"
    assert code == 0, err
    assert "standard output" not in err
    assert json.loads(out)["dataset"]["requests"] == rows


# --- tracebacks ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "expected"), [
    (lambda t: t.replace("version: 2026-01-01", "version: 2026-02-30"),
     ":4: not valid YAML: '2026-02-30' is not a valid date"),
    (lambda t: t.replace("context_window: 1000", "context_window: " + "7" * 4_400),
     "is not a valid integer: Exceeds the limit (4300 digits)"),
])
def test_a_price_table_scalar_python_cannot_build_is_one_line(
    tmp_path: Path, change: Callable[[str], str], expected: str
) -> None:
    table = tmp_path / "acme.yaml"
    table.write_text(change(ACME_BYTES.decode()), encoding="utf-8")
    code, out, err = run("estimate", str(_data(tmp_path)), "-m", "acme-small", "--prices", str(table),
                         "--as-of", "2026-03-01")
    assert code == 2
    assert expected in one_line(err, out)


@pytest.mark.parametrize("column", ["input_tokens", "max_tokens"])
def test_a_counts_file_with_an_impossible_count_is_one_line(tmp_path: Path, column: str) -> None:
    counts = tmp_path / "counts.csv"
    values = {"input_tokens": "12", "max_tokens": "5", column: "1" * 32}
    counts.write_text(f"id,input_tokens,max_tokens\na,{values['input_tokens']},{values['max_tokens']}\n",
                      encoding="utf-8")
    code, out, err = run("estimate", str(counts), "-m", "acme-small", *COMMON)
    assert code == 2
    assert f"counts.csv:2: column '{column}' says 111111111111… (32 characters)" in one_line(err, out)


def test_output_tokens_of_ten_to_the_thirty_is_one_line(tmp_path: Path) -> None:
    code, out, err = run("estimate", str(_data(tmp_path)), "-m", "acme-small", *COMMON,
                         "--output-tokens", "1" + "0" * 30)
    assert code == 2
    assert "--output-tokens must be at most" in one_line(err, out)


def test_no_home_directory_degrades(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HOME unset and a uid without a passwd entry (`env -i` under a foreign uid): no config and no
    table cache (there is nowhere to look), and a command that needs neither answers."""
    for name in ("HOME", "BATCHPLAN_HOME", "BATCHPLAN_CONFIG", "BATCHPLAN_CACHE_DIR", "XDG_DATA_HOME",
                 "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    with pytest.raises(RuntimeError):
        Path.home()
    assert config.config_path() is None and config.configured_price_tables() == []
    assert config.load_config() == config.Config()
    assert tablecache.cache_dir() is None
    code, out, err = run("check", "acme-small", "--prices", ACME, "--as-of", "2026-03-01")
    assert code in (0, 1) and "Traceback" not in err and "acme-small" in out


def test_a_stdout_that_cannot_encode_escapes_instead_of_failing(tmp_path: Path) -> None:
    proc = _subprocess(["estimate", str(_data(tmp_path)), "-m", "acme-small", *COMMON], {"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "\\xb7" in proc.stdout


@pytest.mark.parametrize("module", ["typer", "planner.cli.commands.estimate"])
def test_ctrl_c_while_starting_is_one_line(tmp_path: Path, module: str) -> None:
    """Ctrl-C in the first milliseconds lands while Python imports: made deterministic by an import
    hook that raises KeyboardInterrupt where the signal would (the heavy imports, then the command's)."""
    script = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "sys.argv = ['batchplan', 'estimate', 'x.jsonl', '-m', 'acme-small']\n"
        "from planner.cli.main import main\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "batchplan: interrupted"


# --- messages ------------------------------------------------------------------------------------------

def test_stderr_that_cannot_be_written_keeps_the_exit_code(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*_cli(), "estimate", str(tmp_path / "missing.jsonl"), "-m", "acme-small", *COMMON],
                              stdout=subprocess.PIPE, stderr=full, timeout=120, check=False)
    assert proc.returncode == 2


def test_escape_sequences_from_data_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    header = tmp_path / "esc.csv"
    header.write_text("a,\x1b[31mred,b\n1,2,3\n", encoding="utf-8")
    code, out, err = run("estimate", str(header), "-m", "acme-small", *COMMON, "--text-column", "nope")
    assert code == 2 and "\x1b" not in err and "columns are: a, \\x1b[31mred, b" in one_line(err, out)
    named = tmp_path / "x\x1b]0;owned\x07\x1b[2J.jsonl"
    code, out, err = run("estimate", str(named), "-m", "acme-small", *COMMON)
    assert code == 2 and "\x1b" not in err and "\x07" not in err
    assert "x\\x1b]0;owned\\x07\\x1b[2J.jsonl: no such file" in one_line(err, out)
    code, out, err = run("check", "acme-\x1b[2Jsmall\nbatchplan: error: forged", "--prices", ACME, "--as-of",
                         "2026-03-01")
    assert code != 0 and "\x1b" not in err and one_line(err, out).count("batchplan:") == 2


def test_notes_on_stderr_are_escaped_too(tmp_path: Path) -> None:
    """Notes and warnings pass through the guarded stderr of the installed program, not just errors."""
    table = tmp_path / "acme\x1b[2J.yaml"
    table.write_bytes(ACME_BYTES)
    proc = _subprocess(["estimate", str(_data(tmp_path)), "-m", "acme-small", "--prices", str(table), "--as-of",
                        "2026-03-01"], {})
    assert proc.returncode == 0, proc.stderr
    assert "acme\\x1b[2J.yaml" in proc.stderr and "\x1b" not in proc.stderr


def test_duplicate_csv_column_names_are_an_error_naming_them(tmp_path: Path) -> None:
    data = tmp_path / "dup.csv"
    data.write_text("prompt,id,prompt,id,,\nhi,1,there,2,,\n", encoding="utf-8")
    code, out, err = run("estimate", str(data), "-m", "acme-small", *COMMON, "--text-column", "prompt",
                         "--output-tokens", "5")
    assert code == 2
    assert "dup.csv:1: duplicate column names 'prompt', 'id' in the header" in one_line(err, out)


def test_temporary_files_of_a_killed_prepare_are_removed_by_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = [out / ".batch-0001.jsonl.0a1b2c3d.tmp", out / ".manifest.json.deadbeef.tmp"]
    for path in stale:
        path.write_text("half a file", encoding="utf-8")
    foreign = out / ".notes.txt.0a1b2c3d.tmp"
    foreign.write_text("not ours", encoding="utf-8")
    code, _, err = run("prepare", str(_data(tmp_path)), "-m", "acme-small", "--vendor", "openai", *COMMON,
                       "-o", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [".notes.txt.0a1b2c3d.tmp", "batch-0001.jsonl",
                                                      "manifest.json"]


def test_a_temporary_file_of_a_live_run_is_left_alone(tmp_path: Path) -> None:
    from planner.io.atomic import DirectoryClaim

    live = DirectoryClaim(tmp_path)  # another run, writing here now
    try:
        temp = tmp_path / ".r.md.0a1b2c3d.tmp"
        temp.write_text("being written", encoding="utf-8")
        code, _, err = run("report", str(_data(tmp_path)), "-m", "acme-small", *COMMON, "-o", str(tmp_path / "r.md"))
        assert code == 0, err
        assert temp.exists()
    finally:
        live.release()


@pytest.mark.parametrize(("variable", "where"), [("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data")])
def test_a_relative_xdg_directory_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str,
                                             where: str) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(variable, "relative/dir")
    monkeypatch.delenv("BATCHPLAN_CACHE_DIR", raising=False)
    monkeypatch.delenv("BATCHPLAN_HOME", raising=False)
    if sys.platform in ("win32", "darwin"):
        pytest.skip("XDG directories are for the other platforms")
    if where == "cache":
        assert tablecache.cache_dir() == tmp_path / ".cache" / "batchplan" / "tables"
    else:
        assert config.home() == tmp_path / ".local" / "share" / "batchplan"
    monkeypatch.setenv(variable, str(tmp_path / "absolute"))
    assert (tablecache.cache_dir() if where == "cache" else config.home()).is_relative_to(tmp_path / "absolute")


def test_one_mapping_of_os_errors() -> None:
    """io/inputs.unreadable words every reader's OSError the same way (pricing, config, datasets)."""
    import errno

    from planner.core.errors import PricingError

    gone = inputs.unreadable(FileNotFoundError(errno.ENOENT, "x"), "t.yaml", "price table", error=PricingError)
    assert isinstance(gone, PricingError) and str(gone) == "t.yaml: no such price table"
    assert str(inputs.unreadable(IsADirectoryError(errno.EISDIR, "x"), "d", "config file")) == (
        "d: is a directory, not a config file")
    assert str(inputs.unreadable(PermissionError(errno.EACCES, "x"), "p")) == "p: permission denied"


def test_on_a_terminal_data_is_escaped_and_our_styling_is_not(tmp_path: Path) -> None:
    """stdout and stderr on a terminal (a pty): Rich's own colours pass, an escape from a file name does not."""
    import pty

    table = tmp_path / "ac\x1b[2J\x1b]0;title\x07me.yaml"
    table.write_bytes(ACME_BYTES)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*_cli(), "estimate", str(_data(tmp_path)), "-m", "acme-small", "--prices", str(table),
                             "--as-of", "2026-03-01"], stdout=follower, stderr=follower, stdin=subprocess.DEVNULL,
                            env={**os.environ, "COLUMNS": "200"})
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    text = seen.decode("utf-8", "replace")
    assert "\x1b[2J" not in text and "\x1b]0;" not in text and "\x07" not in text
    assert "\\x1b[2J\\x1b]0;title" in text  # (Rich drops the BEL itself)
    assert "\x1b[1m" in text or "\x1b[2m" in text  # Rich still styles its own output


def test_report_into_a_directory_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "r.html").mkdir()
    code, out, err = run("report", str(_data(tmp_path)), "-m", "acme-small", *COMMON, "-o", str(tmp_path / "r.html"))
    assert code == 2
    assert one_line(err, out).endswith("r.html is a directory; give a file name")


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`batchplan estimate … | head -c 10` under `set -o pipefail`: a Rich console meeting the closed pipe
    ends the command with exit 0, as every other write to a closed pipe does (Rich's own answer: exit 1)."""
    import io

    import typer

    from planner.cli.commands import _common

    spare = os.open(os.devnull, os.O_WRONLY)

    class ReaderGone(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            return spare  # Rich points this at /dev/null

    @_common.handle_errors
    def show() -> None:
        _common.stdout_console().print("the answer")

    monkeypatch.setattr(sys, "stdout", ReaderGone())
    try:
        with pytest.raises(typer.Exit) as ended:
            show()
    finally:
        os.close(spare)
    assert ended.value.exit_code == 0


def test_no_home_directory_is_said_once_on_stderr(tmp_path: Path) -> None:
    """The program itself (not only the functions): HOME unset and no passwd entry, one note, then the answer."""
    script = (
        "import os, pwd, sys\n"
        "def no_entry(uid):\n"
        "    raise KeyError(uid)\n"
        "pwd.getpwuid = no_entry\n"
        "for name in ('HOME', 'BATCHPLAN_HOME', 'BATCHPLAN_CONFIG', 'BATCHPLAN_CACHE_DIR'):\n"
        "    os.environ.pop(name, None)\n"
        f"sys.argv = ['batchplan', 'check', 'acme-small', '--prices', {ACME!r}, '--as-of', '2026-03-01']\n"
        "from planner.cli.main import main\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("there is no home directory") == 1 and "acme-small" in proc.stdout
