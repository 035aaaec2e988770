"""Claude input tokens from ctok: real billed usage, the family each model uses, and the fallback.

The real numbers: the five Message Batches results of issue #15 (Anthropic's batch-processing docs
example "Hello, world" / "Hi again, friend" on claude-sonnet-4-5: 10 and 11; "Say hello in
Japanese/French/Spanish." on claude-haiku-4-5: 12 each), and tests/fixtures/real/claude_usage.jsonl: the
requests and billed `usage.input_tokens` of the pydantic/pydantic-ai and simonw/llm-anthropic test
cassettes (repo, path and commit on every line; see tests/fixtures/real/README.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from planner.core.request import Request
from planner.count import claude_tokens
from planner.plan.estimate import estimate
from planner.prices.pricing import load_pricebook

REAL = Path(__file__).parent / "fixtures" / "real"
FIVE = [
    ("claude-sonnet-4-5", "Hello, world", 10),
    ("claude-sonnet-4-5", "Hi again, friend", 11),
    ("claude-haiku-4-5", "Say hello in Japanese.", 12),
    ("claude-haiku-4-5", "Say hello in French.", 12),
    ("claude-haiku-4-5", "Say hello in Spanish.", 12),
]
BOOK_DATE = date(2026, 11, 30)


def need_ctok() -> None:
    """CI installs ctok (.ci/run sets BATCHPLAN_REQUIRE_CTOK): there a missing ctok fails, never skips."""
    if not claude_tokens.available():
        if os.environ.get("BATCHPLAN_REQUIRE_CTOK"):
            pytest.fail("ctok is required here (pip install --ignore-requires-python ctok)")
        pytest.skip("ctok is not installed")


def batch_line(cid: str, model: str, text: str, **params: Any) -> dict[str, Any]:
    return {"custom_id": cid, "params": {"model": model, "max_tokens": 64,
                                         "messages": [{"role": "user", "content": text}], **params}}


def test_the_five_real_claude_messages_count_what_the_api_billed() -> None:
    need_ctok()
    book = load_pricebook(BOOK_DATE)
    for model, text, billed in FIVE:
        r = book.resolve(model)
        req = Request(1, "x", "anthropic", batch_line("x", model, text)["params"])
        counted = claude_tokens.count_requests([req], r.tokenizer, r.model.id)
        assert counted is not None
        assert (counted[0].tokens, counted[0].exact) == (billed, True), (model, text)


def test_estimate_of_the_five_messages_is_exact(write_jsonl: Callable[..., Path]) -> None:
    need_ctok()
    for model, rows in (("claude-sonnet-4-5", FIVE[:2]), ("claude-haiku-4-5", FIVE[2:])):
        path = write_jsonl([batch_line(f"r{i}", m, t) for i, (m, t, _) in enumerate(rows)], f"{model}.jsonl")
        e = estimate(path, [model], output_tokens=0, as_of=BOOK_DATE).estimates[0]
        assert e.input_tokens == sum(n for _, _, n in rows)
        assert e.token_method == "exact" and e.token_band == 0
        assert any("ctok" in a for a in e.assumptions)


def real_usage() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (REAL / "claude_usage.jsonl").read_text(encoding="utf-8").splitlines()]


def test_real_text_requests_count_exactly_what_was_billed() -> None:
    """System prompts, one to three turns, several text blocks: every text-only request of the real
    cassettes, on both measured families, equals its billed input_tokens."""
    need_ctok()
    book = load_pricebook(BOOK_DATE)
    rows = [row for row in real_usage() if "tools" not in row["body"]]
    assert len(rows) >= 15
    families = set()
    turns = set()
    for row in rows:
        r = book.resolve(row["model"], provider="anthropic")
        counter = claude_tokens.counter(r.tokenizer, r.model.id)
        assert counter is not None
        got = counter.count_body(row["body"])
        assert got.exact, (row["path"], got.uncovered)
        assert got.tokens == row["input_tokens"], (row["repo"], row["path"], row["interaction"])
        families.add(counter.version)
        turns.add(len(row["body"]["messages"]))
    assert {"3.0"} <= families and max(turns) >= 3


def test_tool_definitions_are_approximate_and_round_up() -> None:
    """Tool definitions (the table's tool-use system prompt plus each definition's JSON) are not covered by
    ctok: flagged, with the rule's margin, and never below what the API billed on the real requests."""
    need_ctok()
    book = load_pricebook(BOOK_DATE)
    rows = [row for row in real_usage() if "tools" in row["body"]]
    assert len(rows) >= 30
    for row in rows:
        r = book.resolve(row["model"], provider="anthropic")
        counter = claude_tokens.counter(r.tokenizer, r.model.id)
        assert counter is not None
        got = counter.count_body(row["body"])
        assert not got.exact and "tool definitions" in got.uncovered
        assert got.tokens >= row["input_tokens"], (row["path"], got.tokens, row["input_tokens"])


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-3-5-haiku", "3.0"),
        ("claude-sonnet-4-6", "3.0"),
        ("claude-opus-4-6", "3.0"),
        ("claude-haiku-4-5", "3.0"),
        ("claude-opus-4-7", "4.7"),
        ("claude-opus-4-8", "4.8"),
        ("claude-sonnet-5", "4.8"),
        ("claude-fable-5", "4.8"),
        ("claude-opus-5", "4.8"),
        ("bedrock/regional.anthropic.claude-opus-4-7-v1:0", "4.7"),
        ("bedrock/global.anthropic.claude-opus-4-8-v1:0", "4.8"),
        ("bedrock/regional.anthropic.claude-sonnet-4-5-20250929-v1:0", "3.0"),
    ],
)
def test_each_model_counts_with_its_ctok_family(model: str, family: str) -> None:
    r = load_pricebook(BOOK_DATE).resolve(model)
    assert r.tokenizer.exact is not None
    assert r.tokenizer.exact.version_for(r.model.id) == family


def test_families_differ_on_the_same_text() -> None:
    """Opus 4.7 has its own frame: the same message costs more there than on Opus 4.8 or Sonnet 4.5."""
    need_ctok()
    book = load_pricebook(BOOK_DATE)
    req = Request(1, "x", "anthropic", batch_line("x", "m", "Hello, world")["params"])
    counts = {}
    for model in ("claude-sonnet-4-5", "claude-opus-4-7", "claude-opus-4-8"):
        r = book.resolve(model)
        found = claude_tokens.count_requests([req], r.tokenizer, r.model.id)
        assert found is not None
        counts[model] = found[0].tokens
    assert counts["claude-opus-4-7"] > counts["claude-opus-4-8"]
    assert counts["claude-sonnet-4-5"] == 10


def test_repeated_texts_are_tokenized_once() -> None:
    need_ctok()
    r = load_pricebook(BOOK_DATE).resolve("claude-haiku-4-5")
    counter = claude_tokens.ClaudeCounter(r.tokenizer.exact, "3.0", r.tokenizer)  # type: ignore[arg-type]
    calls: list[str] = []
    real = counter._count
    counter._count = lambda text, version: (calls.append(text), real(text, version))[1]  # type: ignore[method-assign]
    system = "You are a careful classifier of support tickets. " * 20
    for i in range(50):
        counter.count_body({"system": system, "messages": [{"role": "user", "content": f"ticket {i % 5}"}]})
    assert calls.count(system) == 1 and len(calls) == 6


def test_without_ctok_the_approximation_rounds_up_and_says_so(
    write_jsonl: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claude_tokens, "available", lambda: False)
    for model, text, billed in FIVE:
        path = write_jsonl([batch_line("r", model, text)], "one.jsonl")
        e = estimate(path, [model], output_tokens=0, as_of=BOOK_DATE).estimates[0]
        assert e.token_method == "approximate"
        assert billed <= e.input_tokens <= billed * 1.4, (text, e.input_tokens)
        assert any("ctok is not installed" in a for a in e.assumptions)
