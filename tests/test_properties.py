"""Property-based checks of the money math and the schema (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.plan.costs import cost_of, split_by_tier
from planner.prices.pricing import PriceSet, PriceTable, Tier

price = st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), places=4, allow_nan=False, allow_infinity=False)
tokens = st.lists(st.integers(min_value=0, max_value=2_000_000), min_size=1, max_size=40)


@st.composite
def price_sets(draw: st.DrawFn) -> PriceSet:
    base_in, base_out = draw(price), draw(price)
    thresholds = sorted(set(draw(st.lists(st.integers(min_value=1, max_value=1_500_000), max_size=3))))
    tiers = [Tier(above_input_tokens=t, input=draw(price), output=draw(price)) for t in thresholds]
    return PriceSet(input=base_in, output=base_out, tiers=tiers)


def total(inputs: list[int], outputs: list[int], prices: PriceSet) -> Decimal:
    return cost_of(split_by_tier(inputs, outputs, prices.thresholds()), prices)


@given(prices=price_sets(), inputs=tokens, extra=st.integers(min_value=0, max_value=10_000))
def test_more_output_tokens_never_cost_less(prices: PriceSet, inputs: list[int], extra: int) -> None:
    outputs = [100] * len(inputs)
    more = [o + extra for o in outputs]
    assert total(inputs, more, prices) >= total(inputs, outputs, prices)


@given(prices=price_sets(), inputs=tokens)
def test_tiered_total_is_the_sum_of_per_request_costs(prices: PriceSet, inputs: list[int]) -> None:
    outputs = [i // 3 for i in inputs]
    per_request = sum(
        (total([i], [o], prices) for i, o in zip(inputs, outputs, strict=True)), start=Decimal(0)
    )
    assert total(inputs, outputs, prices) == per_request


@given(prices=price_sets(), inputs=tokens, cut=st.integers(min_value=0, max_value=40))
def test_splitting_a_job_does_not_change_its_cost(prices: PriceSet, inputs: list[int], cut: int) -> None:
    outputs = [7] * len(inputs)
    k = min(cut, len(inputs))
    whole = total(inputs, outputs, prices)
    assert whole == total(inputs[:k], outputs[:k], prices) + total(inputs[k:], outputs[k:], prices)


@given(prices=price_sets(), inputs=tokens, mult=st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=2))
def test_a_discount_multiplier_never_costs_more(prices: PriceSet, inputs: list[int], mult: Decimal) -> None:
    outputs = [50] * len(inputs)
    assert total(inputs, outputs, prices.scaled(mult)) <= total(inputs, outputs, prices)


@settings(max_examples=30)
@given(prices=price_sets())
def test_price_table_round_trips_through_its_schema(prices: PriceSet) -> None:
    table = PriceTable.model_validate(
        {
            "provider": "prop",
            "name": "Prop",
            "version": "2026-01-01",
            "verified": "2026-01-01",
            "sources": ["https://example.test"],
            "batch": {"supported": True, "default_multiplier": "0.5"},
            "tokenizers": {"t": {"encoding": "o200k_base", "method": "exact"}},
            "models": [
                {
                    "id": "m",
                    "tokenizer": "t",
                    "realtime": prices.model_dump(mode="json"),
                    "source": "https://example.test/m",
                    "verified": "2026-01-01",
                }
            ],
        }
    )
    again = PriceTable.model_validate(table.model_dump(mode="json"))
    assert again == table
    assert again.models[0].realtime == prices


@settings(max_examples=15, deadline=None)
@given(
    texts=st.lists(st.text(min_size=1, max_size=60).filter(lambda t: t.strip() != ""), min_size=1, max_size=25),
    seed=st.integers(min_value=0, max_value=2**16),
    k=st.integers(min_value=1, max_value=30),
)
def test_same_input_and_seed_give_the_same_estimate(texts: list[str], seed: int, k: int) -> None:
    import json
    import tempfile
    from datetime import date
    from pathlib import Path

    from planner.plan.estimate import estimate
    from planner.prices.pricing import load_pricebook

    book = load_pricebook(date(2026, 3, 1), root=Path(__file__).parent / "fixtures" / "pricing")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.jsonl"
        path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": t}]}) + "\n" for t in texts))
        runs = [
            estimate(path, ["acme-small", "claudeco-1"], output_tokens=7, sample=k, seed=seed, pricebook=book)
            for _ in range(2)
        ]
    assert runs[0].model_dump_json() == runs[1].model_dump_json()
    for e in runs[0].estimates:
        assert e.batch_cost_usd is not None and e.batch_cost_usd <= e.realtime_cost_usd
