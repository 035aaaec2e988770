"""Dollars from per-request token counts. Long-context tiers apply to each request on its own.

Requests are grouped by the tier their own input falls in, so a dataset of many small requests never
pays a long-context rate because its *summed* tokens are large. Within a tier, input tokens split
into uncached, cache reads and cache writes, each at its own rate.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from planner.core.money import ZERO, per_million
from planner.prices.pricing import PriceSet, Rates


@dataclass(frozen=True)
class TierTotals:
    """Summed tokens of the requests billed at one tier (index 0 = base rates)."""

    requests: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0


def split_by_tier(
    inputs: Sequence[int],
    outputs: Sequence[int],
    thresholds: Sequence[int],
    cached: Sequence[int] | None = None,
    written: Sequence[int] | None = None,
) -> list[TierTotals]:
    """Sum tokens per tier; a request is in tier k when its input exceeds thresholds[k-1] (cliff rule).

    `cached` and `written` are the parts of each request's input read from / written to a prompt cache.
    """
    n = len(thresholds) + 1
    reqs, ins, outs, reads, writes = [0] * n, [0] * n, [0] * n, [0] * n, [0] * n
    if not thresholds:
        return [TierTotals(len(inputs), sum(inputs), sum(outputs), sum(cached or ()), sum(written or ()))]
    for idx, (i, o) in enumerate(zip(inputs, outputs, strict=True)):
        k = bisect.bisect_left(thresholds, i)  # number of thresholds strictly below i
        reqs[k] += 1
        ins[k] += i
        outs[k] += o
        if cached is not None:
            reads[k] += cached[idx]
        if written is not None:
            writes[k] += written[idx]
    return [TierTotals(*row) for row in zip(reqs, ins, outs, reads, writes, strict=True)]


def _rate(value: Decimal | None, fallback: Decimal) -> Decimal:
    return fallback if value is None else value


def cost_of(totals: Sequence[TierTotals], prices: PriceSet, cache_prices: PriceSet | None = None) -> Decimal:
    """Exact cost (USD) of tier-split totals. Cache reads are priced from `cache_prices` when given
    (a vendor whose cache discount does not stack with batch bills cached reads at the realtime rate)."""
    rates: list[Rates] = [prices, *prices.tiers]
    cache_rates: list[Rates] = rates if cache_prices is None else [cache_prices, *cache_prices.tiers]
    total = ZERO
    for t, r, c in zip(totals, rates, cache_rates, strict=True):
        uncached = t.input_tokens - t.cached_tokens - t.cache_write_tokens
        total += per_million(uncached, r.input) + per_million(t.output_tokens, r.output)
        if t.cached_tokens:
            total += per_million(t.cached_tokens, _rate(c.cached_input, r.input))
        if t.cache_write_tokens:
            total += per_million(t.cache_write_tokens, _rate(r.cache_write, r.input))
    return total


def request_cost(input_tokens: int, output_tokens: int, prices: PriceSet) -> Decimal:
    """One request's cost, at the tier its own input selects."""
    r = prices.for_request(input_tokens)
    return per_million(input_tokens, r.input) + per_million(output_tokens, r.output)
