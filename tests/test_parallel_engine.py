"""The engine (workers read, parse and count their own blocks) gives exactly what the plain readers give:
JSONL and text line by line, CSV/TSV exactly as `csv.reader` over the whole file, in every mode (in
process, workers reading blocks by offset, workers sent the bytes of a pipe)."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from _cli import batchplan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.core.errors import InputError
from planner.count import counting
from planner.count.counting import Counted, _blocks, _numbered, count_file, count_stream_described
from planner.io.inputs import Input, from_bytes, open_input
from planner.prices.pricing import ImageRule, Tokenizer
from planner.read.datasets import ReadOptions, SkipLog, csv_block_records, csv_records, open_dataset, read_requests

GPT = Tokenizer(
    encoding="o200k_base",
    method="exact",
    images=ImageRule(kind="tile", base_tokens=85, tile_tokens=170, max_side=2048, short_side=768),
)
CLAUDE = Tokenizer(encoding="o200k_base", method="approximate", factor="1.2", band="0.15", chat_format="anthropic")


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def dataset(path: Path) -> Path:
    image = "data:image/png;base64," + base64.b64encode(png(1024, 1024)).decode()
    lines = []
    for i in range(157):
        system = {"role": "system", "content": "Classify the ticket. " * 30}
        user: dict[str, object] = {"role": "user", "content": f"ticket {i}: " + "words " * (i % 17)}
        if i % 11 == 0:
            image_part = {"type": "image_url", "image_url": {"url": image}}
            user["content"] = [{"type": "text", "text": "see image"}, image_part]
        if i % 13 == 0:
            user["name"] = "customer"
        row: dict[str, object] = {"id": f"r{i}", "messages": [system, user], "answer": "short reply " * (i % 5)}
        if i % 3:
            row["max_tokens"] = 100 + i
        lines.append(json.dumps(row))
        if i % 40 == 7:
            lines.append('{"messages": "broken"}')
        if i % 50 == 3:
            lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def flatten(chunks: list[Counted], n_toks: int = 2) -> dict[str, object]:
    """What the estimate takes from the chunks, independent of how the stream was cut."""
    return {
        "lines": [n for c in chunks for n in c.lines],
        "ids": [i for c in chunks for i in c.ids],
        "max_tokens": [m for c in chunks for m in c.max_tokens],
        "tokens": [[t for c in chunks for t in c.tokens[j]] for j in range(n_toks)],
        "outputs": [[t for c in chunks for t in (c.output_tokens or [[]] * n_toks)[j]] for j in range(n_toks)],
        "assumed_images": [sum(c.assumed_images[j] for c in chunks) for j in range(n_toks)],
        "prefixes": {(c.prefix, c.prefix_shared, tuple(c.prefix_tokens)) for c in chunks},
    }


def run_file(
    src: Input, fmt: str, options: ReadOptions, toks: list[Tokenizer], *, workers: int, span: int, **kw: object
) -> tuple[list[Counted], list[tuple[int, str]]]:
    got: list[Counted] = []
    errors: list[tuple[int, str]] = []
    with src:
        for chunk, errs in count_file(src, fmt, options, toks, workers=workers, span_bytes=span, **kw):  # type: ignore[arg-type]
            got.append(chunk)
            errors.extend(errs)
    return got, errors


MODES = [("in-process", 1, False), ("workers read by offset", 2, False), ("workers sent the bytes", 2, True)]


@pytest.mark.parametrize(("mode", "workers", "as_pipe"), MODES)
def test_file_engine_equals_stream_engine(
    tmp_path: Path, mode: str, workers: int, as_pipe: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counting, "SMALL_BYTES", 0)  # a pool even for this small file
    path = dataset(tmp_path / "d.jsonl")
    options = ReadOptions(output_column="answer")
    toks = [GPT, CLAUDE]
    skip = SkipLog()
    _, stream = read_requests(str(path), options, skip)
    expected = [c for c, _ in count_stream_described(stream, toks, workers=2, chunk_size=10, want_prefix=True)]
    src = from_bytes(path.read_bytes(), str(path)) if as_pipe else open_input(str(path))
    got, errors = run_file(src, "chat", options, toks, workers=workers, span=1500, want_prefix=True)
    assert len(got) > 10  # many blocks, lines cut anywhere
    assert flatten(got) == flatten(expected)
    assert sum(len(c) for c in got) == 157
    assert [line for line, _ in errors] == [n for n, _ in skip.first]
    assert len(errors) == skip.count == 4
    assert all("'messages' must be a list" in message for _, message in errors)
    # one shared system prompt recognised in every chunk; the image counted by its rule (765 tokens)
    (prefix,) = flatten(got)["prefixes"]  # type: ignore[misc]
    assert prefix[1] is True and prefix[2][0] > 100
    assert got[0].tokens[0][0] > 765


def test_bad_bytes_are_reported_on_their_line() -> None:
    src = from_bytes(b'{"messages": [{"role": "user", "content": "a"}]}\n{"messages": "\xff"}\n', "x.jsonl")
    ((chunk, errors),) = [r for r in count_file(src, "chat", ReadOptions(), [GPT], workers=1)]
    assert len(chunk) == 1 and errors == [(2, "not valid UTF-8")]


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30).map(
        lambda ls: [b"\xef\xbb\xbf" + ls[0], *ls[1:]] if ls and ls[0][:1] == b"\x00" else ls  # sometimes a BOM
    ),
    ending=st.sampled_from([b"\n", b"\r\n"]),
    last_newline=st.booleans(),
    span_bytes=st.integers(min_value=1, max_value=64),
)
def test_line_blocks_hold_every_line_once_with_its_number(
    lines: list[bytes], ending: bytes, last_newline: bool, span_bytes: int
) -> None:
    """Workers read the blocks `_blocks` cuts: together they are the file, each block holds whole lines,
    and each knows the number of its first line (the line an error is reported on) and its offset."""
    data = ending.join(lines) + (ending if last_newline and lines else b"")
    blocks = list(_blocks(from_bytes(data), span_bytes, quote=False))
    assert b"".join(b.data for b in blocks) == data
    assert all(data[b.offset : b.offset + len(b.data)] == b.data for b in blocks)
    assert [b.last for b in blocks] == [False] * (len(blocks) - 1) + [True] * bool(blocks)
    numbered = [item for b in blocks for item in _numbered(b.data, b.first_line)]
    expected = data.split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()
    if expected and expected[0].startswith(b"\xef\xbb\xbf"):
        expected[0] = expected[0][3:]  # a UTF-8 byte-order mark is not part of line 1
    assert numbered == list(enumerate(expected, 1))


# --- CSV: blocks cut where the quotes pair up, checked against csv.reader --------------------------------

FIELD = st.text(alphabet=st.sampled_from(list('ab ,"\n\r\té€')), max_size=12)


def reference_records(text: str, delimiter: str) -> list[tuple[int, list[str]]] | int:
    """csv.reader over the whole file, fed line by line as the readers feed it: (first line, fields) of
    each record (the line it starts on names it), or the line csv.reader fails on."""
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    reader = csv.reader([part + "\n" for part in parts], delimiter=delimiter)
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            out.append((start, row))
            start = reader.line_num + 1
    except csv.Error:
        return reader.line_num
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(FIELD, min_size=1, max_size=4), max_size=25),
    terminator=st.sampled_from(["\n", "\r\n"]),
    delimiter=st.sampled_from([",", "\t"]),
    last_newline=st.booleans(),
    span_bytes=st.integers(min_value=1, max_value=48),
)
def test_csv_blocks_end_at_record_boundaries_and_parse_as_csv_reader(
    rows: list[list[str]], terminator: str, delimiter: str, last_newline: bool, span_bytes: int
) -> None:
    """On RFC 4180 CSV (quoted newlines, doubled quotes, CR LF, a missing final newline) every block the
    quote-parity cutter makes ends at a record boundary, and the blocks' records, parsed alone by
    workers, are exactly `csv.reader`'s over the whole file, each with the line it starts on."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=terminator).writerows(rows)
    text = out.getvalue()
    if not last_newline:
        text = text.removesuffix(terminator)
    data = text.encode()
    src = from_bytes(data)
    blocks = list(_blocks(src, span_bytes, quote=True))
    rest = src.read(len(data) + 1)  # after a block marked `tail` (a quote open too long), read on serially
    assert b"".join(b.data for b in blocks) + rest == data
    got: list[tuple[int, list[str]]] | int = []
    try:
        for b in blocks:
            if b.tail:
                src = from_bytes(b.data + rest)
                got.extend(csv_records(src, delimiter, first_line=b.first_line))  # type: ignore[union-attr]
                break
            found = csv_block_records(b.data, b.first_line, delimiter, "x.csv", last=b.last)
            assert found is not None, "an RFC 4180 block always ends at a record boundary"
            records, stop = found
            got.extend(records)  # type: ignore[union-attr]
            if stop is not None:
                raise stop
    except InputError as exc:  # a bare CR the writer left unquoted: csv.reader fails on it too
        got = exc.line or 0
    assert got == reference_records(text, delimiter)


def csv_file_records(src: Input, *, workers: int, span: int, fmt: str = "csv") -> list[tuple[int, str, str]]:
    """(line, id, text) of every request the engine reads from a CSV with columns id,text."""
    options = ReadOptions(text_column="text")
    got: list[tuple[int, str, str]] = []
    with src:
        for chunk, errs in count_file(src, fmt, options, [GPT], workers=workers, span_bytes=span):
            if errs:  # as the estimate does without --skip-bad: the first bad record stops it
                line, message = min(errs)
                raise InputError(message, path=src.name, line=line)
            got.extend(zip(chunk.lines, chunk.ids, [str(t) for t in chunk.tokens[0]], strict=True))
    return got


def serial_records(path: Path) -> list[tuple[int, str, str]] | str:
    """The same from the serial reader (csv.reader over the whole file), or its error."""
    from planner.count.tokens import count_requests

    try:
        _, stream = read_requests(str(path), ReadOptions(text_column="text"))
        requests = list(stream)
    except InputError as exc:
        return str(exc)
    return [(r.line, r.id, str(n)) for r, n in zip(requests, count_requests(requests, GPT), strict=True)]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    body=st.lists(st.text(alphabet=st.sampled_from(list('ab,"\n ')), max_size=10), min_size=1, max_size=20),
    span_bytes=st.integers(min_value=1, max_value=40),
)
def test_csv_with_stray_quotes_reads_as_csv_reader_does(tmp_path: Path, body: list[str], span_bytes: int) -> None:
    """Not RFC 4180: quotes anywhere (`12" pizza`), a quote that never closes. Where a stray quote
    misleads the cutter, the worker notices and the file is read on record by record from that block:
    the requests (or the error and its line) are exactly what the serial reader gives."""
    text = "id,text\n" + "".join(f"{i},{cell}\n" for i, cell in enumerate(body))
    path = tmp_path / "stray.csv"
    path.write_text(text, encoding="utf-8")
    expected = serial_records(path)
    for workers in (1, 2):
        try:
            _, src = open_dataset(str(path), ReadOptions(text_column="text"))
            got: list[tuple[int, str, str]] | str = csv_file_records(src, workers=workers, span=span_bytes)
        except InputError as exc:
            got = str(exc)
        if got == []:
            got = "stray.csv: no requests found" if isinstance(expected, str) else []
        if isinstance(expected, str) and "no requests found" in expected:
            assert got in ([], "stray.csv: no requests found")
        else:
            assert got == expected, (workers, text)


def test_unterminated_quote_is_an_error_naming_its_line(tmp_path: Path) -> None:
    """Row 2 opens a quote that never closes: csv.reader would swallow the rest of the file into one
    field (one request); every reader says where the quote opened instead."""
    path = tmp_path / "u.csv"
    path.write_text('id,text\n1,"hello\n2,world\n3,foo\n' + "".join(f"{i},x\n" for i in range(4, 5000)))
    with pytest.raises(InputError, match=r"u\.csv:2: unterminated quoted field"):
        list(read_requests(str(path), ReadOptions(text_column="text"))[1])
    for workers in (1, 2):
        with pytest.raises(InputError, match=r"u\.csv:2: unterminated quoted field"):
            _, src = open_dataset(str(path), ReadOptions(text_column="text"))
            csv_file_records(src, workers=workers, span=512)


def test_csv_engine_in_every_mode_equals_the_serial_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(counting, "SMALL_BYTES", 0)
    rows = [["id", "text"]] + [[f"t{i}", f'line one {i}\nline "two"\r\n, three' * (i % 4)] for i in range(700)]
    rows.insert(300, ["", ""])  # a blank record is not a request
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path = tmp_path / "m.csv"
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    expected = serial_records(path)
    assert isinstance(expected, list) and len(expected) == 700
    for workers, as_pipe in ((1, False), (2, False), (2, True)):
        src = from_bytes(path.read_bytes(), str(path)) if as_pipe else open_input(str(path))
        src.peek_line()
        assert csv_file_records(src, workers=workers, span=700) == expected, (workers, as_pipe)


# --- small inputs: no pool, the encoding built once and only when needed -------------------------------


def _jsonl_bytes(n: int) -> bytes:
    return "".join(
        json.dumps({"messages": [{"role": "user", "content": f"request {i}: " + "lorem ipsum " * (i % 7)}]}) + "\n"
        for i in range(n)
    ).encode()


@pytest.mark.parametrize("as_pipe", [False, True], ids=["file", "pipe"])
def test_small_inputs_are_counted_without_a_pool_and_large_ones_with_one(
    tmp_path: Path, as_pipe: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below SMALL_BYTES the calling process counts (a pool's start-up would cost more than the second
    core gives); above it, workers do. A pipe is read that far ahead to tell, and nothing is lost."""
    pools: list[int] = []

    class CountedPool(counting._Pool):
        def __init__(self, workers: int, config: counting._Config) -> None:
            pools.append(workers)
            super().__init__(workers, config)

    monkeypatch.setattr(counting, "_Pool", CountedPool)
    monkeypatch.setattr(counting, "SMALL_BYTES", 200_000)
    for n, pooled in ((500, False), (6_000, True)):
        data = _jsonl_bytes(n)
        assert (len(data) >= 200_000) == pooled
        path = tmp_path / f"d{n}.jsonl"
        path.write_bytes(data)
        src = from_bytes(data, str(path)) if as_pipe else open_input(str(path))
        got, errors = run_file(src, "chat", ReadOptions(), [GPT], workers=2, span=20_000)
        assert errors == [] and sum(len(c) for c in got) == n
        _, stream = read_requests(str(path))
        expected = [c for c, _ in count_stream_described(stream, [GPT], workers=1)]
        assert flatten(got, 1)["tokens"] == flatten(expected, 1)["tokens"]
        assert pools == ([2] if pooled else []), (n, pools)
        pools.clear()


def test_the_encoding_is_built_once_and_only_when_a_request_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from planner.count import encodings

    built: list[str] = []
    real_build = encodings._build
    monkeypatch.setattr(encodings, "_cache", {})
    monkeypatch.setattr(encodings, "_counters", {})
    monkeypatch.setattr(encodings, "_build", lambda name: (built.append(name), real_build(name))[1])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(InputError):
        estimate_file(bad)
    assert built == []  # a file that fails on its first line never loads a 200k-entry table
    good = tmp_path / "good.jsonl"
    good.write_bytes(_jsonl_bytes(50))
    estimate_file(good)
    estimate_file(good)
    assert built == ["o200k_base"]


def estimate_file(path: Path) -> None:
    from planner.plan.estimate import estimate

    fixtures = Path(__file__).parent / "fixtures" / "pricing" / "acme" / "2026-01-01.yaml"
    from datetime import date

    estimate(str(path), ["acme-small"], output_tokens=1, prices=[fixtures], as_of=date(2026, 3, 1))


# ---------------------------------------------------------------------------------------------
# The program as users run it: the same estimate on one core and on all, no process left behind

ROOT = Path(__file__).resolve().parents[1]


def chat_lines(path: Path, n: int) -> Path:
    """Chat batch lines with system prompts, names, tool definitions and an image now and then."""
    image = "data:image/png;base64," + base64.b64encode(png(1, 1)).decode()
    tool = {"type": "function", "function": {"name": "lookup", "description": "Find an order",
                                              "parameters": {"type": "object", "properties": {
                                                  "id": {"type": "string", "description": "order id"},
                                                  "kind": {"type": "string", "enum": ["a", "b"]}}}}}
    lines = []
    for i in range(n):
        user: dict[str, object] = {"role": "user", "content": f"ticket {i}: " + "refund shipping " * (i % 23)}
        if i % 7 == 0:
            user["content"] = [{"type": "text", "text": f"see {i}"}, {"type": "image_url", "image_url": {"url": image}}]
        if i % 5 == 0:
            user["name"] = "customer"
        body: dict[str, object] = {"model": "gpt-4o-mini", "max_tokens": 20,
                                   "messages": [{"role": "system", "content": "Classify. " * (i % 4)}, user]}
        if i % 3 == 0:
            body["tools"] = [tool]
        lines.append(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


@pytest.mark.skipif(_cores() < 2, reason="needs two usable cores to compare with one")
def test_estimates_are_identical_on_one_core_and_on_all(tmp_path: Path) -> None:
    """Three models on two encodings, a small file (counted in the process) and one above SMALL_BYTES
    (counted by the workers when the cores allow it): the same JSON on one core as on all of them."""
    for n in (30, 12_000):
        data = chat_lines(tmp_path / f"d{n}.jsonl", n)
        assert (data.stat().st_size > counting.SMALL_BYTES) == (n > 30)
        cmd = [*batchplan(), "estimate", str(data), "-m", "gpt-4o-mini", "-m", "gpt-4", "-m", "claude-haiku-4-5",
               "--output-tokens", "20", "--json", "--as-of", "2026-12-01", "--no-history"]
        runs = [
            subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120, preexec_fn=one_core)
            for one_core in (lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}), None)
        ]
        assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
        one, every = (json.loads(r.stdout) for r in runs)
        assert one == every
        assert every["dataset"]["counted_requests"] == n


REAPER = textwrap.dedent(
    """
    import ctypes, json, os, subprocess, sys, time
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: whatever the tool orphans comes here
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    deadline, orphans = time.monotonic() + 20, set()
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break  # no child left at all
        if pid:
            orphans.add(pid)
        else:
            time.sleep(0.01)
    else:
        orphans.add(-1)  # still running after 20 s
    print(json.dumps({"code": done.returncode, "stderr": done.stderr, "orphans": sorted(orphans)}))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a child subreaper is Linux-only")
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["estimate", "{missing}", "-m", "gpt-4o-mini"], 2),  # fails before counting anything
        (["estimate", "{data}", "-m", "no-such-model-x"], 2),  # fails after the tables are read
        (["validate", "{data}"], 0),
        (["estimate", "{data}", "-m", "gpt-4o-mini", "--json"], 0),  # counted by the workers
        (["report", "{data}", "-m", "gpt-4", "-o", "{report}"], 0),
    ],
    ids=["missing-file", "unknown-model", "validate", "estimate", "report"],
)
def test_no_process_outlives_the_command(tmp_path: Path, args: list[str], code: int) -> None:
    """Whatever the command did, its worker processes ended with it: a child subreaper running the tool
    inherits anything left behind, dead or alive, and finds nothing."""
    data = chat_lines(tmp_path / "d.jsonl", 12_000)
    script = tmp_path / "reaper.py"
    script.write_text(REAPER)
    argv = [a.format(missing=tmp_path / "missing.jsonl", data=data, report=tmp_path / "r.html") for a in args]
    out = subprocess.run([sys.executable, str(script), *batchplan(), *argv], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    got = json.loads(out.stdout)
    assert got["orphans"] == [], got
    assert "Traceback" not in got["stderr"]
    assert got["code"] == code, got["stderr"]
