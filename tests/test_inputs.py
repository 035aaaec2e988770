"""Hostile and unusual inputs, through the one input layer (planner/io/inputs.py): read once (pipes, FIFOs,
`<(cmd)`), bounded (no runaway line), and every failure one line naming the file and line, exit 2."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import resource
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import ACME, COMMON, run

from planner.core.errors import InputError, UsageError
from planner.count import counting
from planner.io.inputs import MAX_LINE_ENV, from_bytes, max_line_bytes, open_input
from planner.plan.estimate import estimate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def one_error(err: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("batchplan: error: "), err
    assert "Traceback" not in err
    assert fragment in lines[0], err


def counted(out: str) -> int:
    return int(json.loads(out)["estimates"][0]["requests"])


def estimate_args(data: str, *extra: str) -> list[str]:
    return ["estimate", data, "-m", "acme-small", "--output-tokens", "5", "--json", *COMMON, *extra]


@pytest.fixture
def pipe() -> Iterator[callable]:  # type: ignore[valid-type]
    """A path like `<(cmd)` gives: /dev/fd/N, the read end of a pipe a thread writes `data` into."""
    threads: list[threading.Thread] = []
    fds: list[int] = []

    def make(data: bytes) -> str:
        r, w = os.pipe()
        fds.append(r)

        def write() -> None:
            with os.fdopen(w, "wb") as f:
                f.write(data)

        t = threading.Thread(target=write, daemon=True)
        t.start()
        threads.append(t)
        return f"/dev/fd/{r}"

    yield make
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    for t in threads:
        t.join(timeout=10)


# --- read once ------------------------------------------------------------------------------------


def test_a_process_substitution_is_read_once_whole(pipe: callable) -> None:  # type: ignore[valid-type]
    """`estimate <(cat big.txt)`: every line of the pipe counted (the format was detected from the same
    bytes, not from a second open that lost the first buffer)."""
    data = "".join(f"prompt number {i}\n" for i in range(200_000)).encode()
    code, out, err = run(*estimate_args(pipe(data)))
    assert code == 0, err
    assert counted(out) == 200_000


def test_prompts_through_a_pipe_are_all_counted(pipe: callable) -> None:  # type: ignore[valid-type]
    code, out, err = run(*estimate_args(pipe((EXAMPLES / "prompts.txt").read_bytes())))
    assert code == 0, err
    assert counted(out) == 50


@pytest.mark.parametrize("command", ["estimate", "prepare"])
def test_a_named_fifo_is_read_once_and_does_not_hang(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "requests.jsonl"
    os.mkfifo(fifo)
    data = (EXAMPLES / "tickets.jsonl").read_bytes()

    def write() -> None:
        with open(fifo, "wb") as f:  # blocks until the tool opens the FIFO: it must do so once
            f.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    exe = Path(sys.executable).parent / "batchplan"
    args = (
        estimate_args(str(fifo))
        if command == "estimate"
        else ["prepare", str(fifo), "-m", "acme-small", "--vendor", "openai", "--output-tokens", "5",
              "-o", str(tmp_path / "out"), *COMMON]
    )
    try:
        done = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        with open(fifo, "wb"):  # unblock our writer
            pass
        raise AssertionError("the tool hung on a named FIFO") from None
    writer.join(timeout=10)
    assert done.returncode == 0, done.stderr
    if command == "estimate":
        assert counted(done.stdout) == 300
    else:
        manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
        assert sum(f["requests"] for f in manifest["files"]) == 300


def test_a_named_fifo_with_a_claude_model_is_not_opened_twice(tmp_path: Path) -> None:
    """ctok counts Claude by reading the dataset again: a FIFO cannot be, so the main pass's count stands
    (said in a note) instead of waiting forever for a writer that has gone."""
    pytest.importorskip("ctok")
    fifo = tmp_path / "requests.jsonl"
    os.mkfifo(fifo)
    data = (EXAMPLES / "tickets.jsonl").read_bytes()

    def write() -> None:
        with open(fifo, "wb") as f:
            f.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    exe = Path(sys.executable).parent / "batchplan"
    cmd = [str(exe), "estimate", str(fifo), "-m", "claude-haiku-4-5", "--output-tokens", "5", "--json"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError("the tool hung re-opening a named FIFO") from None
    writer.join(timeout=10)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["dataset"]["requests"] == 300
    assert any("cannot be re-read to count with ctok" in note for note in doc["notes"])


def test_sample_of_a_pipe_is_drawn_in_one_pass(pipe: callable) -> None:  # type: ignore[valid-type]
    code, out, err = run(*estimate_args(pipe((EXAMPLES / "tickets.jsonl").read_bytes()), "--sample", "20"))
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["dataset"]["counted_requests"], doc["dataset"]["requests"]) == (20, 300)


def test_a_file_truncated_while_it_is_read_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file shrinks after the first counted block (an observable event: the progress callback): the
    count would be partial, so it is an error, not an estimate. In-process and with workers."""
    line = json.dumps({"messages": [{"role": "user", "content": "lorem ipsum dolor sit amet " * 20}]}) + "\n"
    data = tmp_path / "shrinks.jsonl"
    for small in (True, False):
        data.write_text(line * (6_000_000 // len(line)))  # 6 MB: several blocks beyond what is read ahead
        monkeypatch.setattr(counting, "SMALL_BYTES", 10**9 if small else 0)

        def shrink(done: int) -> None:
            if data.stat().st_size > 1_000_000:
                os.truncate(data, 1_000_000)

        with pytest.raises(InputError, match="changed while it was being read"):
            estimate(str(data), ["acme-small"], output_tokens=5, prices=[Path(ACME)], as_of=_date(), progress=shrink)


def _date() -> object:
    from datetime import date

    return date(2026, 3, 1)


# --- bounded --------------------------------------------------------------------------------------


def _limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def test_dev_zero_is_an_error_on_line_1_with_bounded_memory() -> None:
    """/dev/zero never ends a line: the default 64 MiB limit stops it (it grew to 11 GB before)."""
    exe = Path(sys.executable).parent / "batchplan"
    done = subprocess.run(
        [str(exe), *estimate_args("/dev/zero")], capture_output=True, text=True, timeout=120,
        preexec_fn=_limited_memory, env={k: v for k, v in os.environ.items() if k != MAX_LINE_ENV},
    )
    assert done.returncode == 2, done.stderr
    one_error(done.stderr, "/dev/zero:1: line is longer than 64 MiB, the line limit")
    assert MAX_LINE_ENV in done.stderr


def test_a_huge_single_line_gz_is_an_error_not_a_crash(tmp_path: Path) -> None:
    big = tmp_path / "one-line.jsonl.gz"
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip framing
    with open(big, "wb") as f:
        f.write(compressor.compress(b'{"messages": [{"role": "user", "content": "'))
        chunk = b"a" * (1 << 20)
        for _ in range(96):  # a 96 MiB line in ~100 KB of gzip
            f.write(compressor.compress(chunk))
        f.write(compressor.compress(b'"}]}\n') + compressor.flush())
    assert big.stat().st_size < 2_000_000
    code, _, err = run(*estimate_args(str(big)))
    assert code == 2
    one_error(err, "one-line.jsonl.gz:1: line is longer than 64 MiB")


def test_the_line_limit_is_overridable_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "d.jsonl"
    row = json.dumps({"messages": [{"role": "user", "content": "x" * 5000}]}) + "\n"
    data.write_text(row * 3)
    monkeypatch.setenv(MAX_LINE_ENV, "4K")
    code, _, err = run(*estimate_args(str(data)))
    assert code == 2
    one_error(err, "d.jsonl:1: line is longer than 4 KiB, the line limit")
    monkeypatch.setenv(MAX_LINE_ENV, "8K")
    code, out, err = run(*estimate_args(str(data)))
    assert code == 0 and counted(out) == 3, err
    for bad in ("lots", "12Q", "10"):
        monkeypatch.setenv(MAX_LINE_ENV, bad)
        with pytest.raises(UsageError, match=MAX_LINE_ENV):
            max_line_bytes()


def test_bounded_reads_never_hold_a_line_over_the_limit() -> None:
    src = from_bytes(b"short\n" + b"x" * 5000 + b"\nend\n", "mem", max_line=1024)
    assert src.readline() == b"short\n"
    with pytest.raises(InputError, match="mem:2: line is longer than 1 KiB"):
        src.readline()


def test_a_csv_record_that_never_closes_its_quote_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quote opened on line 3 never closes. Where the rest of the file fits in the block being cut,
    that is the error; past the cutter's bound (ODD_RUN_BLOCKS blocks) the records are read one by one,
    and none may run past the line limit: memory stays bounded either way."""
    data = tmp_path / "open.csv"
    data.write_text('id,text\n1,hello\n2,"an open quote\n' + "".join(f"{i},more text\n" for i in range(3, 30_000)))
    monkeypatch.setenv(MAX_LINE_ENV, "64K")
    code, _, err = run(*estimate_args(str(data), "--text-column", "text"))
    assert code == 2
    one_error(err, "open.csv:3: unterminated quoted field")
    monkeypatch.setattr(counting, "SPAN_BYTES", 1024)  # the cutter gives up after 32 KB
    code, _, err = run(*estimate_args(str(data), "--text-column", "text"))
    assert code == 2
    one_error(err, "open.csv:3: a quoted field runs on for more than 64 KiB")


# --- one line, never a traceback ------------------------------------------------------------------


def _gzip_cases(tmp: Path) -> dict[str, tuple[Path, str]]:
    body = "".join(json.dumps({"messages": [{"role": "user", "content": f"row {i}"}]}) + "\n" for i in range(20_000))
    packed = gzip.compress(body.encode())
    corrupt = bytearray(packed)
    corrupt[len(packed) // 2] ^= 0xFF
    cases = {
        "truncated": (packed[: len(packed) // 2], "truncated gzip"),
        "corrupt in the middle": (bytes(corrupt), "corrupt gzip data"),
        "not gzip at all": (b"plain text, not gzip\n", "not a gzip file"),
    }
    out = {}
    for name, (content, fragment) in cases.items():
        path = tmp / f"{name.replace(' ', '-')}.jsonl.gz"
        path.write_bytes(content)
        out[name] = (path, fragment)
    return out


@pytest.mark.parametrize("mode", ["exact", "sample"])
def test_broken_gzip_files_are_one_line(tmp_path: Path, mode: str) -> None:
    for name, (path, fragment) in _gzip_cases(tmp_path).items():
        extra = ["--sample", "5"] if mode == "sample" else []
        code, _, err = run(*estimate_args(str(path), *extra))
        assert code == 2, (name, err)
        one_error(err, fragment)


@pytest.mark.parametrize("extra", [[], ["--sample", "3"]])
def test_a_symlink_loop_is_one_line(tmp_path: Path, extra: list[str]) -> None:
    (tmp_path / "a.jsonl").symlink_to(tmp_path / "b.jsonl")
    (tmp_path / "b.jsonl").symlink_to(tmp_path / "a.jsonl")
    code, _, err = run(*estimate_args(str(tmp_path / "a.jsonl"), *extra))
    assert code == 2
    one_error(err, "symlink loop")


def test_standard_input_closed_is_one_line() -> None:
    exe = Path(sys.executable).parent / "batchplan"
    done = subprocess.run(
        [str(exe), *estimate_args("-")], capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.close(0)
    )
    assert done.returncode == 2, done.stderr
    one_error(done.stderr, "<stdin>: standard input is closed")


@pytest.mark.parametrize(
    "args",
    [
        ["estimate", str(EXAMPLES / "tickets.jsonl"), "-m", "acme-small", "--output-tokens", "5", *COMMON],  # table
        estimate_args(str(EXAMPLES / "tickets.jsonl")),  # --json
        ["check", "acme-small", *COMMON],
        ["models", *COMMON],
    ],
    ids=["table", "json", "check", "models"],
)
def test_standard_output_closed_is_one_line_never_silent(args: list[str]) -> None:
    """`batchplan … >&-`: the answer cannot be delivered, so the tool says so and fails (before: a
    traceback for the table, exit 0 with nothing shown for check and models)."""
    exe = Path(sys.executable).parent / "batchplan"
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.close(1))
    assert done.returncode == 2, done.stderr
    one_error(done.stderr, "cannot write to standard output: it is closed")


def test_standard_error_closed_keeps_the_exit_codes(tmp_path: Path) -> None:
    """`batchplan … 2>&-`: messages have nowhere to go, but a good run still exits 0 with its answer
    and a bad one 2 (before: 1 for both, from a crash nobody could see), and no file we open takes
    descriptor 2's place."""
    exe = Path(sys.executable).parent / "batchplan"
    ok = subprocess.run([str(exe), *estimate_args(str(EXAMPLES / "tickets.jsonl"))], capture_output=True,
                        text=True, timeout=120, preexec_fn=lambda: os.close(2))
    assert ok.returncode == 0
    assert counted(ok.stdout) > 0
    bad = subprocess.run([str(exe), *estimate_args(str(tmp_path / "missing.jsonl"))], capture_output=True,
                         text=True, timeout=120, preexec_fn=lambda: os.close(2))
    assert bad.returncode == 2 and bad.stdout == ""


GOOD = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"messages": [{"role": "user", "content": "hi"}], "max_tokens": ' + "9" * 30 + "}",
         ":2: 'max_tokens' is " + "9" * 30 + ", more than any model can produce"),
        ('{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 18446744073709551617}',
         "more than any model can produce"),
        ('{"messages": [{"role": "user", "content": "hi"}], "unused": ' + "7" * 5000 + ", \"max_tokens\": 1}",
         ":2: malformed JSON: Exceeds the limit (4300 digits) for integer string conversion"),
        ('{"messages": [{"role": "user", "content": "hi"}], "a": ' + "[" * 100_000 + "]" * 100_000 + "}",
         ":2: malformed JSON: nested too deeply"),
    ],
    ids=["max_tokens past 64 bits", "max_tokens 2**64+1", "5000-digit unused field", "100k-deep JSON"],
)
@pytest.mark.parametrize("workers", ["in-process", "workers"])
def test_numbers_and_nesting_no_parser_can_hold_are_one_line(
    tmp_path: Path, line: str, fragment: str, workers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counting, "SMALL_BYTES", 10**9 if workers == "in-process" else 0)
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(GOOD) + "\n" + line + "\n" + json.dumps(GOOD) + "\n")
    code, out, err = run("estimate", str(data), "-m", "acme-small", "--json", *COMMON)
    assert code == 2, err
    one_error(err, fragment)
    code, out, err = run("estimate", str(data), "-m", "acme-small", "--json", "--skip-bad", *COMMON)
    assert code == 0, err
    assert counted(out) == 2


# --- silently wrong, now said ---------------------------------------------------------------------


def test_output_column_on_plain_text_is_an_error() -> None:
    code, _, err = run("estimate", str(EXAMPLES / "prompts.txt"), "-m", "acme-small", "--output-column", "x", *COMMON)
    assert code == 2
    one_error(err, "--output-column 'x' names a column, but")


@pytest.mark.parametrize("size", ["small", "large"])
def test_a_csv_with_an_unterminated_quote_on_row_2_names_the_line(tmp_path: Path, size: str) -> None:
    rows = 3 if size == "small" else 60_000  # large: counted by workers in blocks
    data = tmp_path / "t.csv"
    data.write_text('id,text\n1,"hello\n' + "".join(f"{i},world number {i}\n" for i in range(2, rows)))
    code, _, err = run(*estimate_args(str(data), "--text-column", "text"))
    assert code == 2
    one_error(err, "t.csv:2: unterminated quoted field")


def test_open_input_names_every_failure(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_input(str(tmp_path / "missing.jsonl"))
    with pytest.raises(InputError, match="is a directory, not a price table"):
        open_input(str(tmp_path), "price table")
    src = open_input(str(EXAMPLES / "prompts.txt"))
    assert (src.kind, src.rereadable, src.path) == ("file", True, str(EXAMPLES / "prompts.txt"))
    first = src.peek_line()
    assert src.readline() == first and src.line == 1  # peeking consumed nothing
    src.close()


# --- small whole files (read_small) and the files a command reads ----------------------------------------


def test_read_small_refuses_what_is_not_a_regular_file_without_waiting(tmp_path: Path) -> None:
    from planner.io.inputs import read_small

    fifo = tmp_path / "table.yaml"
    os.mkfifo(fifo)  # no writer: a blocking open would wait for ever
    with pytest.raises(InputError, match="is a FIFO, not a regular file; a price table must be one"):
        read_small(fifo, "price table", limit=1024, regular=True)
    with pytest.raises(InputError, match="is a character device, not a regular file"):
        read_small("/dev/zero", "cache entry", limit=1024, regular=True)
    with pytest.raises(InputError, match="is a directory, not a config file"):
        read_small(tmp_path, "config file", limit=1024, regular=True)
    with pytest.raises(InputError, match="/dev/zero: over 1 KiB: not a price table"):
        read_small("/dev/zero", "price table", limit=1024)  # a stream is allowed, but bounded
    ok = tmp_path / "ok.yaml"
    ok.write_bytes(b"x" * 1024)
    assert read_small(ok, "price table", limit=1024, regular=True) == b"x" * 1024


def test_a_file_read_is_remembered_under_every_name(tmp_path: Path) -> None:
    from planner.io import inputs

    data = tmp_path / "data.jsonl"
    data.write_text("{}\n", encoding="utf-8")
    os.symlink(data, tmp_path / "soft.jsonl")
    os.link(data, tmp_path / "hard.jsonl")
    other = tmp_path / "other.jsonl"
    other.write_text("{}\n", encoding="utf-8")
    inputs.forget_inputs()
    try:
        with open_input(str(tmp_path / "soft.jsonl")) as src:
            src.read()
        for name in ("data.jsonl", "soft.jsonl", "hard.jsonl"):
            assert inputs.read_by_this_command(tmp_path / name) == str(tmp_path / "soft.jsonl")
        assert inputs.read_by_this_command(other) is None
        inputs.declare_inputs([other, "-", None, tmp_path / "missing"])
        assert inputs.read_by_this_command(other) == str(other)
        # the name must still lead to the file: an inode freed and reused by a new file is not the input
        other.rename(tmp_path / "moved.jsonl")
        assert inputs.read_by_this_command(tmp_path / "moved.jsonl") is None
    finally:
        inputs.forget_inputs()
    assert inputs.read_by_this_command(data) is None


def test_a_gzip_bomb_on_a_pipe_is_bounded_too(tmp_path: Path) -> None:
    """A FIFO has no size to compare with: the compressed bytes are counted as they are read."""
    from planner.io import inputs

    bomb = gzip.compress(b"\n" * (inputs.GZIP_RATIO_FLOOR + (4 << 20)), compresslevel=9)
    fifo = tmp_path / "bomb.jsonl.gz"
    os.mkfifo(fifo)

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), open(fifo, "wb") as fh:
            fh.write(bomb)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    with open_input(str(fifo)) as src, pytest.raises(InputError, match="decompresses to over 500 times its size"):
        assert src.kind == "pipe"
        while src.read(1 << 20):
            pass
    writer.join(timeout=60)
