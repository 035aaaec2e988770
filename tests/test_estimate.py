"""The estimate API: costs by hand on round prices, per-request tiers, bands, eligibility, scaling."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from planner.core.errors import InputError, UnknownModelError, UsageError
from planner.count.encodings import get_encoding
from planner.plan.estimate import _Ids, estimate
from planner.prices.pricing import PriceBook


def chat(content: str, max_tokens: int | None = None, id: str | None = None) -> dict[str, object]:
    row: dict[str, object] = {"messages": [{"role": "user", "content": content}]}
    if max_tokens is not None:
        row["max_tokens"] = max_tokens
    if id:
        row["id"] = id
    return row


def tokens(content: str) -> int:
    # cookbook accounting for one user message: 3 per message + role + content + 3 priming
    enc = get_encoding("o200k_base")
    return 3 + len(enc.encode("user")) + len(enc.encode(content)) + 3


def test_costs_match_hand_arithmetic(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    texts = ["alpha beta", "a longer request about shipping delays", "x"]
    path = write_jsonl([chat(t) for t in texts])
    result = estimate(path, ["acme-small"], output_tokens=100, pricebook=book)
    e = result.estimates[0]
    total_in = sum(tokens(t) for t in texts)
    assert e.input_tokens == total_in
    assert e.output_tokens == 300
    # acme-small: $1.00 in / $4.00 out realtime, explicit batch $0.50 / $2.00 per 1M tokens
    assert e.realtime_cost_usd == (Decimal(total_in) * 1 + 300 * 4) / Decimal(10**6)
    assert e.batch_cost_usd == (Decimal(total_in) * Decimal("0.5") + 300 * 2) / Decimal(10**6)
    assert e.savings_usd == e.realtime_cost_usd - e.batch_cost_usd
    assert e.batch_price_basis == "explicit"
    assert e.token_method == "exact" and e.batch_eligible and e.reasons == []
    assert isinstance(e.realtime_cost_usd, Decimal)


def test_long_context_tier_applies_per_request_not_to_sum(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    # acme-long: base $2/$10, tier above 100 input tokens $4/$15. Many small requests whose *sum*
    # is far above 100 must still pay the base rate; only the one long request pays the tier.
    short = chat("hi")
    long_text = "word " * 300
    path = write_jsonl([short] * 50 + [chat(long_text)])
    e = estimate(path, ["acme-long"], output_tokens=10, pricebook=book).estimates[0]
    small_in, big_in = tokens("hi"), tokens(long_text)
    assert big_in > 100 and small_in * 50 > 100
    expected = (Decimal(small_in * 50) * 2 + 500 * 10 + Decimal(big_in) * 4 + 10 * 15) / Decimal(10**6)
    assert e.realtime_cost_usd == expected
    # no explicit batch price: the provider's default multiplier (0.5) applies, and says so
    assert e.batch_cost_usd == expected / 2
    assert e.batch_price_basis == "default multiplier"


def test_unsupported_model_does_not_qualify_with_reason(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    e = estimate(write_jsonl([chat("x")]), ["acme-live"], output_tokens=1, pricebook=book).estimates[0]
    assert not e.batch_eligible
    assert len(e.reasons) == 1 and "realtime-only model" in e.reasons[0]
    assert e.batch_cost_usd is None and e.savings_usd is None


def test_context_window_overflow_lists_ids(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    path = write_jsonl([chat("ok", id="fits"), chat("word " * 2000, id="too-long")])
    e = estimate(path, ["acme-small"], output_tokens=10, pricebook=book).estimates[0]
    assert not e.batch_eligible
    assert e.over_context_window.count == 1 and e.over_context_window.first_ids == ["too-long"]
    assert any("context window" in r for r in e.reasons)


def test_max_tokens_is_the_ceiling_and_over_max_output_is_reported(
    book: PriceBook, write_jsonl: Callable[..., Path]
) -> None:
    path = write_jsonl([chat("a", max_tokens=200), chat("b", max_tokens=500, id="greedy")])
    result = estimate(path, ["acme-small"], pricebook=book)
    e = result.estimates[0]
    assert result.output_assumption.mode == "max_tokens"
    assert "upper bound" in result.output_assumption.description
    assert e.output_tokens == 700
    assert e.over_max_output.first_ids == ["greedy"] and not e.batch_eligible


def test_missing_max_tokens_without_assumption_is_a_clear_error(
    book: PriceBook, write_jsonl: Callable[..., Path]
) -> None:
    path = write_jsonl([chat("a", max_tokens=5), chat("b")])
    with pytest.raises(InputError) as e:
        estimate(path, ["acme-small"], pricebook=book)
    assert str(e.value).startswith(f"{path}:2: ") and "--output-tokens" in str(e.value)


def test_approximate_tokenizer_reports_band(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    path = write_jsonl([chat("some text to count " * 20)])
    exact = estimate(path, ["acme-small"], output_tokens=0, pricebook=book).estimates[0]
    approx = estimate(path, ["claudeco-1"], output_tokens=0, pricebook=book).estimates[0]
    assert approx.token_method == "approximate" and approx.token_method_label == "approximate (±15%)"
    # factor 1.2 over the same o200k count, rounded up
    assert approx.input_tokens == -(-exact.input_tokens * 12 // 10)
    r = approx.realtime_cost_range
    assert r.low < r.expected < r.high
    assert r.high - r.expected == r.expected * Decimal("0.15")


def test_rows_scales_sample_with_interval(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    path = write_jsonl([chat("word " * n) for n in range(1, 41)])
    sample = estimate(path, ["acme-small"], output_tokens=10, pricebook=book).estimates[0]
    scaled = estimate(path, ["acme-small"], output_tokens=10, rows=4000, pricebook=book).estimates[0]
    assert scaled.requests == 4000
    assert scaled.input_tokens == sample.input_tokens * 100
    low, high = scaled.input_tokens_ci95
    assert low < scaled.input_tokens < high
    assert scaled.realtime_cost_usd == sample.realtime_cost_usd * 100
    assert scaled.realtime_cost_ci95[0] < scaled.realtime_cost_usd < scaled.realtime_cost_ci95[1]
    # fixed output length: no uncertainty on output tokens
    assert scaled.output_tokens_ci95 == (40000, 40000)


FIXTURE_PRICING = Path(__file__).parent / "fixtures" / "pricing"


def test_as_of_picks_the_version_in_force(write_jsonl: Callable[..., Path]) -> None:
    from datetime import date

    from planner.prices.pricing import load_pricebook

    path = write_jsonl([chat("x")])
    old = estimate(
        path, ["acme-small"], output_tokens=0, pricebook=load_pricebook(date(2026, 5, 31), root=FIXTURE_PRICING)
    )
    new = estimate(
        path, ["acme-small"], output_tokens=0, pricebook=load_pricebook(date(2026, 6, 1), root=FIXTURE_PRICING)
    )
    assert old.estimates[0].price_table == "acme@2026-01-01"
    assert new.estimates[0].price_table == "acme@2026-06-01"
    assert new.estimates[0].realtime_cost_usd * 2 == old.estimates[0].realtime_cost_usd


def test_unknown_model_suggests_nearest(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    with pytest.raises(UnknownModelError) as e:
        estimate(write_jsonl([chat("x")]), ["acme-smal"], output_tokens=1, pricebook=book)
    assert "acme-small" in e.value.suggestions


def test_alias_and_prefix_resolution(book: PriceBook) -> None:
    assert book.resolve("acme-small-2026-01-01").model.id == "acme-small"
    assert book.resolve("ft:acme-small:org::abc123").model.id == "acme-small"
    assert book.resolve("acme/acme-small").table.provider == "acme"


def test_conflicting_output_options(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    with pytest.raises(UsageError):
        estimate(write_jsonl([chat("x")]), ["acme-small"], output_tokens=1, output_ratio=0.5, pricebook=book)


def test_shared_system_prompt_is_priced_as_cache_reads(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    system = "You are a careful support-ticket classifier. " * 12
    rows = [
        {"messages": [{"role": "system", "content": system}, {"role": "user", "content": f"ticket {i}"}]}
        for i in range(10)
    ]
    path = write_jsonl(rows)
    plain = estimate(path, ["acme-small"], output_tokens=0, pricebook=book).estimates[0]
    cached = estimate(path, ["acme-small"], output_tokens=0, cache_prefix="auto", pricebook=book).estimates[0]
    assert cached.cache is not None and cached.cache.applied
    prefix = cached.cache.prefix_tokens
    enc = get_encoding("o200k_base")
    assert prefix == 3 + len(enc.encode("system")) + len(enc.encode(system))
    # 9 of 10 requests read the prefix at $0.10 instead of $1.00 per 1M tokens; the first writes it
    saved = Decimal(9 * prefix) * (Decimal("1.00") - Decimal("0.10")) / 10**6
    assert plain.realtime_cost_usd - cached.realtime_cost_usd == saved
    # batch: cache reads stack with the batch discount (cached rate derived as 0.10 × 0.5)
    batch_saved = Decimal(9 * prefix) * (Decimal("0.50") - Decimal("0.05")) / 10**6
    assert plain.batch_cost_usd is not None and cached.batch_cost_usd is not None
    assert plain.batch_cost_usd - cached.batch_cost_usd == batch_saved
    # the range spans every request hitting the cache (low) to none (high)
    assert cached.realtime_cost_range.high == plain.realtime_cost_usd


def test_prefix_below_vendor_minimum_gets_no_discount(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    rows = [{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "x"}]}] * 3
    e = estimate(write_jsonl(rows), ["acme-small"], output_tokens=0, cache_prefix="auto", pricebook=book).estimates[0]
    assert e.cache is not None and not e.cache.applied and "below" in e.cache.description


def test_output_column_counts_real_outputs(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    rows = [{"messages": [{"role": "user", "content": "q"}], "answer": "a real answer of some words"}] * 4
    result = estimate(write_jsonl(rows), ["acme-small"], output_column="answer", pricebook=book)
    enc = get_encoding("o200k_base")
    assert result.estimates[0].output_tokens == 4 * len(enc.encode("a real answer of some words"))
    assert result.output_assumption.mode == "column"


def test_output_ratio(book: PriceBook, write_jsonl: Callable[..., Path]) -> None:
    e = estimate(write_jsonl([chat("word " * 50)]), ["acme-small"], output_ratio=0.5, pricebook=book).estimates[0]
    assert e.output_tokens == -(-e.input_tokens // 2)


def test_compact_ids_give_back_every_id_in_order() -> None:
    """The over-limit lists name requests by id; ids are stored a chunk per string, so they must come
    back exactly, across chunks, and even when an id holds the separator."""
    chunks = [["a", "b", "c"], [], ["req-\x00-odd", "d"], [f"id-{i}" for i in range(1000)]]
    ids = _Ids()
    for chunk in chunks:
        ids.extend(chunk)
    flat = [i for chunk in chunks for i in chunk]
    assert len(ids) == len(flat) == 1005
    assert list(ids) == flat
    assert ids[-1] == "id-999" and ids[3] == "req-\x00-odd" and ids[2:5] == flat[2:5]
    with pytest.raises(IndexError):
        ids[1005]


def test_a_models_table_note_is_stated_with_its_estimate(write_jsonl: Callable[..., Path]) -> None:
    """What a table says a user should know of a model (here: that Claude's batch price on Vertex is the
    table's default discount, not a published price) reaches the estimate, not only `check`."""
    from datetime import date

    result = estimate(write_jsonl([chat("Summarise this ticket.")]), ["vertex/claude-sonnet-5-5", "gpt-4o-mini"],
                      output_tokens=10, as_of=date(2026, 12, 2))
    vertex, openai = result.estimates
    assert vertex.batch_eligible and vertex.batch_price_basis == "default multiplier"
    assert vertex.batch_cost_usd == vertex.realtime_cost_usd / 2
    assert any("give no Claude batch price" in a for a in vertex.assumptions)
    assert any(n.startswith("claude-sonnet-5-5: Batch on Vertex:") for n in result.notes)
    assert not any("Batch on Vertex" in a for a in openai.assumptions)
