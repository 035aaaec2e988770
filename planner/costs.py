"""Dollars from per-request token counts. Long-context tiers apply to each request on its own.

Requests are grouped by the tier their own input falls in, so a dataset of many small requests never
pays a long-context rate because its *summed* tokens are large.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from planner.money import ZERO, per_million
from planner.pricing import PriceSet


@dataclass(frozen=True)
class TierTotals:
    """Summed tokens of the requests billed at one tier (index 0 = base rates)."""

    requests: int
    input_tokens: int
    output_tokens: int


def split_by_tier(inputs: Sequence[int], outputs: Sequence[int], thresholds: Sequence[int]) -> list[TierTotals]:
    """Sum tokens per tier; a request is in tier k when its input exceeds thresholds[k-1] (cliff rule)."""
    n = len(thresholds) + 1
    reqs, ins, outs = [0] * n, [0] * n, [0] * n
    if not thresholds:
        return [TierTotals(len(inputs), sum(inputs), sum(outputs))]
    for i, o in zip(inputs, outputs, strict=True):
        k = bisect.bisect_left(thresholds, i)  # number of thresholds strictly below i
        reqs[k] += 1
        ins[k] += i
        outs[k] += o
    return [TierTotals(r, a, b) for r, a, b in zip(reqs, ins, outs, strict=True)]


def cost_of(totals: Sequence[TierTotals], prices: PriceSet) -> Decimal:
    """Exact cost of tier-split totals at a price set (USD)."""
    rates = [prices, *prices.tiers]
    total = ZERO
    for t, r in zip(totals, rates, strict=True):
        total += per_million(t.input_tokens, r.input) + per_million(t.output_tokens, r.output)
    return total


def request_cost(input_tokens: int, output_tokens: int, prices: PriceSet) -> Decimal:
    """One request's cost, at the tier its own input selects."""
    r = prices.for_request(input_tokens)
    return per_million(input_tokens, r.input) + per_million(output_tokens, r.output)
