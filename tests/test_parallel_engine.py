"""The worker-process engine (workers parse and count) gives exactly what the in-process path gives."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.counting import Counted, _span_lines, _spans, count_file, count_stream_described
from planner.datasets import ReadOptions, SkipLog, read_requests
from planner.pricing import ImageRule, Tokenizer

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


def flatten(chunks: list[Counted]) -> dict[str, object]:
    """What the estimate takes from the chunks, independent of how the stream was cut."""
    return {
        "lines": [n for c in chunks for n in c.lines],
        "ids": [i for c in chunks for i in c.ids],
        "max_tokens": [m for c in chunks for m in c.max_tokens],
        "tokens": [[t for c in chunks for t in c.tokens[j]] for j in range(2)],
        "outputs": [[t for c in chunks for t in (c.output_tokens or [[], []])[j]] for j in range(2)],
        "assumed_images": [sum(c.assumed_images[j] for c in chunks) for j in range(2)],
        "prefixes": {(c.prefix, c.prefix_shared, tuple(c.prefix_tokens)) for c in chunks},
    }


@pytest.mark.parametrize(("workers", "spans"), [(1, False), (2, False), (2, True)])
def test_file_engine_equals_stream_engine(
    tmp_path: Path, workers: int, spans: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("planner.counting.SPAN_MIN_BYTES", 0)  # workers read their blocks from the file
    monkeypatch.setattr("planner.counting.SPAN_BYTES", 1500)  # ... in many blocks, lines cut anywhere
    path = dataset(tmp_path / "d.jsonl")
    options = ReadOptions(output_column="answer")
    toks = [GPT, CLAUDE]
    skip = SkipLog()
    _, stream = read_requests(str(path), options, skip)
    expected = [c for c, _ in count_stream_described(stream, toks, workers=2, chunk_size=10, want_prefix=True)]
    got, errors = [], []
    with open(path, "rb") as raw:
        for chunk, errs in count_file(
            raw, str(path), "chat", options, toks, workers=workers, chunk_size=7, want_prefix=True,
            path=str(path) if spans else None,
        ):
            got.append(chunk)
            errors.extend(errs)
    assert flatten(got) == flatten(expected)
    assert sum(len(c) for c in got) == 157
    assert [line for line, _ in errors] == [n for n, _ in skip.first]
    assert len(errors) == skip.count == 4
    assert all("'messages' must be a list" in message for _, message in errors)
    # one shared system prompt recognised in every chunk; the image counted by its rule (765 tokens)
    (prefix,) = flatten(got)["prefixes"]  # type: ignore[misc]
    assert prefix[1] is True and prefix[2][0] > 100
    assert got[0].tokens[0][0] > 765


def test_bad_bytes_are_reported_on_their_line(tmp_path: Path) -> None:
    raw = io.BytesIO(b'{"messages": [{"role": "user", "content": "a"}]}\n{"messages": "\xff"}\n')
    results = list(count_file(raw, "x.jsonl", "chat", ReadOptions(), [GPT], workers=1))
    ((chunk, errors),) = results
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
def test_file_blocks_hold_every_line_once_with_its_number(
    lines: list[bytes], ending: bytes, last_newline: bool, span_bytes: int
) -> None:
    """Workers read the blocks `_spans` finds: together they are the file, each block holds whole lines,
    and each knows the number of its first line (the line an error is reported on)."""
    data = ending.join(lines) + (ending if last_newline and lines else b"")
    spans = list(_spans(io.BytesIO(data), span_bytes))
    assert b"".join(data[offset : offset + length] for _, offset, length in spans) == data
    numbered = [item for first, offset, length in spans for item in _span_lines(data[offset : offset + length], first)]
    expected = data.split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()
    if expected and expected[0].startswith(b"\xef\xbb\xbf"):
        expected[0] = expected[0][3:]  # a UTF-8 byte-order mark is not part of line 1
    assert numbered == list(enumerate(expected, 1))
