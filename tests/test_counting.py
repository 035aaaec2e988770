"""The parallel streaming engine gives exactly the in-process counts, in order; no timing here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _tok import CLAUDE, GPT_4, GPT_4O, req

from planner.core.request import Request
from planner.count.counting import (
    _RepeatCache,
    count_chunks,
    count_chunks_multi,
    count_request,
    count_request_json,
    count_stream,
    default_workers,
    request_from_json,
)
from planner.count.encodings import _make_counter, get_encoding, token_counter
from planner.count.tokens import Pieces, count_requests, count_requests_detailed
from planner.read.datasets import read_requests


def make_requests(n: int) -> list[Request]:
    out = []
    for i in range(n):
        messages = [
            {"role": "system", "content": "You are terse."},  # repeats: served by the repeat cache
            {"role": "user", "content": f"request {i}: " + "lorem ipsum dolor " * (i % 13)},
        ]
        if i % 5 == 0:
            messages[1]["name"] = "alice"
        out.append(Request(line=i + 1, id=f"r{i}", api="chat", body={"messages": messages}))
    return out


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_stream_matches_in_process_counts_in_order(workers: int) -> None:
    requests = make_requests(257)
    expected = count_requests(requests, GPT_4O)
    assert list(count_stream(iter(requests), GPT_4O, workers=workers, chunk_size=16)) == expected


def test_stream_with_calibrated_tokenizer_and_images() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    requests = [
        Request(
            line=i, id=str(i), api="anthropic", body={"messages": [{"role": "user", "content": [image, "hi " * i]}]}
        )
        for i in range(40)
    ]
    chunks = list(count_chunks(requests, CLAUDE, workers=2, chunk_size=7))
    flat = [c for chunk in chunks for c in chunk]
    assert flat == count_requests_detailed(requests, CLAUDE)
    assert all(c.assumed_images == 1 for c in flat)
    assert [len(c) for c in chunks] == [7, 7, 7, 7, 7, 5]


def test_progress_reports_running_totals() -> None:
    seen: list[int] = []
    list(count_stream(make_requests(50), GPT_4O, workers=2, chunk_size=20, on_progress=seen.append))
    assert seen == [20, 40, 50]


def test_small_input_counts_in_process_and_empty_input() -> None:
    assert list(count_stream([], GPT_4O, workers=4)) == []
    requests = make_requests(3)
    assert list(count_stream(requests, GPT_4O, workers=4)) == count_requests(requests, GPT_4O)


def test_stream_is_lazy_and_can_be_abandoned() -> None:
    pulled = 0

    def source() -> Iterator[Request]:
        nonlocal pulled
        for r in make_requests(10_000):
            pulled += 1
            yield r

    stream = count_stream(source(), GPT_4O, workers=2, chunk_size=100)
    first = [next(stream) for _ in range(5)]
    assert first == count_requests(make_requests(5), GPT_4O)
    assert pulled <= 100 * (2 * 2 + 1)  # only a bounded number of chunks read ahead
    stream.close()  # workers are shut down


def test_default_workers_positive() -> None:
    assert default_workers() >= 1


def test_request_from_json_shapes() -> None:
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    assert request_from_json(chat).api == "chat"
    batch = {"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {"input": "hi"}}
    assert request_from_json(batch).api == "embeddings"
    anthropic = {"custom_id": "a", "params": {"messages": [{"role": "user", "content": "hi"}]}}
    assert request_from_json(anthropic).api == "anthropic"
    with pytest.raises(ValueError):
        request_from_json({"custom_id": "a", "url": "/v1/nope", "body": {}})
    with pytest.raises(ValueError):
        request_from_json({"hello": 1})


def test_count_request_json_matches_reader(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "custom_id": f"r{i}",
                "url": "/v1/chat/completions",
                "body": {"messages": [{"role": "user", "content": "x" * i}]},
            }
        )
        for i in range(1, 6)
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n")
    _, requests = read_requests(str(path))
    assert [count_request_json(line, GPT_4O) for line in lines] == count_requests(list(requests), GPT_4O)
    assert count_request(req({"messages": [{"role": "user", "content": "hi"}]}), GPT_4O) == 8


def test_count_request_json_rejects_non_objects() -> None:
    with pytest.raises(ValueError):
        count_request_json("[1, 2]", GPT_4O)
    with pytest.raises(ValueError):
        count_request_json("{not json", GPT_4O)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello, world!",
        "a <|endoftext|> b <|fim_prefix|><|endofprompt|>",  # special-token strings are ordinary text
        "lone surrogate \ud800 here",  # not valid Unicode: tiktoken's wrapper repairs it
        "héllo 世界 🎉 " * 200,
        " " * 1000 + "\n\n\t\r\n",
        "def f(x):\n    return x ** 2  # 12345678901234567890\n",
    ],
)
@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_token_counter_counts_what_encode_ordinary_returns(text: str, encoding: str) -> None:
    expected = len(get_encoding(encoding).encode_ordinary(text))
    assert token_counter(encoding)(text) == expected
    fallback = _make_counter(_NoBuffer(get_encoding(encoding)))  # a tiktoken without the buffer call
    assert fallback(text) == expected


class _NoBuffer:
    """An encoding whose core lacks `encode_to_tiktoken_buffer` (older tiktoken)."""

    def __init__(self, enc: Any) -> None:
        self.encode_ordinary = enc.encode_ordinary
        self._core_bpe = object()


def test_repeat_cache_stays_bounded_and_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """Repeated texts are counted once per process; however many texts pass, the cache's memory stays
    under its bounds, and every request's total is what encoding each of its texts gives."""
    monkeypatch.setattr(_RepeatCache, "MAX_SEEN", 10)
    monkeypatch.setattr(_RepeatCache, "MAX_KNOWN_CHARS", 200)
    cache = _RepeatCache("o200k_base")
    encode = get_encoding("o200k_base").encode_ordinary
    encoded: list[str] = []
    cache.count = lambda text: (encoded.append(text), len(encode(text)))[1]  # type: ignore[method-assign]
    texts_seen = 0
    for i in range(500):
        texts = ["system", f"unique text number {i}", "Classify the ticket. " * 3, f"shared {i % 7}"]
        texts_seen += len(texts)
        assert cache.sums([Pieces(texts=list(texts))]) == [sum(len(encode(t)) for t in texts)]
        assert len(cache.seen) <= 10 and cache.known_chars <= 200
    assert texts_seen - len(encoded) > 900  # the repeated texts were served from the cache, not re-encoded


@pytest.mark.parametrize("workers", [1, 2])
def test_tokenizers_sharing_an_encoding_count_as_each_would_alone(workers: int) -> None:
    """GPT-4o and a Claude model both count with o200k_base: each text is encoded once for both, and
    every request's count is still what that tokenizer alone gives (cl100k beside them, separately)."""
    requests = make_requests(101)
    toks = [GPT_4O, CLAUDE, GPT_4]
    got: list[list[int]] = [[], [], []]
    for _, counts in count_chunks_multi(iter(requests), toks, workers=workers, chunk_size=16):
        for j, per_tok in enumerate(counts):
            got[j].extend(c.tokens for c in per_tok)
    assert got == [count_requests(requests, tok) for tok in toks]
    assert got[0] != got[1] != got[2]  # three different accountings, not one count copied
