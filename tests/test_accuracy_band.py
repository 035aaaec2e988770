"""One band: an estimate's input-token interval carries the tokenizer's band, the same band its cost range
and `token_band` state, so no field claims a point where the count is approximate."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from planner.count.workload import widened
from planner.plan.estimate import estimate
from planner.prices.pricing import PriceBook


def chat(content: str) -> dict[str, object]:
    return {"model": "x", "messages": [{"role": "user", "content": content}]}


def test_an_approximate_count_of_every_request_has_the_bands_width(
    book: PriceBook, write_jsonl: Callable[..., Path]
) -> None:
    path = write_jsonl([chat("some text to count " * n) for n in range(1, 30)])
    e = estimate(path, ["claudeco-1"], output_tokens=0, pricebook=book).estimates[0]
    assert e.token_band == Decimal("0.15")
    low, high = e.input_tokens_ci95
    assert (low, high) == (math.floor(e.input_tokens * 0.85), math.ceil(e.input_tokens * 1.15))
    # the cost range says the same: its half-width is the band on the input cost
    r = e.realtime_cost_range
    assert r.high - r.expected == r.expected * Decimal("0.15")


def test_an_exact_count_stays_a_point_and_a_sample_keeps_its_spread(
    book: PriceBook, write_jsonl: Callable[..., Path]
) -> None:
    path = write_jsonl([chat("word " * n) for n in range(1, 41)])
    exact = estimate(path, ["acme-small"], output_tokens=0, pricebook=book).estimates[0]
    assert exact.input_tokens_ci95 == (exact.input_tokens, exact.input_tokens)
    sampled = estimate(path, ["acme-small"], output_tokens=0, rows=4000, pricebook=book).estimates[0]
    approx = estimate(path, ["claudeco-1"], output_tokens=0, rows=4000, pricebook=book).estimates[0]
    s_high = sampled.input_tokens_ci95[1]
    a_low, a_high = approx.input_tokens_ci95
    # sampling spread plus the band: wider than the spread scaled by the factor alone
    assert a_high - approx.input_tokens > (s_high - sampled.input_tokens) * 1.2
    assert a_low < approx.input_tokens * 0.85 < approx.input_tokens < approx.input_tokens * 1.15 < a_high


def test_widened_adds_the_band_to_both_ends_and_never_goes_below_zero() -> None:
    assert widened(1000, (900, 1100), Decimal("0.1")) == (800, 1200)
    assert widened(1000, (1000, 1000), Decimal(0)) == (1000, 1000)
    assert widened(10, (0, 30), Decimal("0.5")) == (0, 35)


def test_json_output_carries_the_widened_interval(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    from planner.render.tabular import to_json

    path = write_jsonl([chat("some text to count " * 20)])
    result = estimate(path, ["claudeco-1"], output_tokens=0, pricebook=book)
    row = json.loads(to_json(result))["estimates"][0]
    assert int(row["input_tokens_ci95"][0]) < int(row["input_tokens"]) < int(row["input_tokens_ci95"][1])
