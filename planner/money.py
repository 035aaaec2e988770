"""Money is Decimal end to end; this module holds the few rules for turning tokens into dollars."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

PER_MILLION = Decimal(1_000_000)
MICRO = Decimal("0.000001")
ZERO = Decimal(0)


def per_million(tokens: int, usd_per_mtok: Decimal) -> Decimal:
    """Exact cost of `tokens` at a price quoted in USD per 1M tokens."""
    return (Decimal(tokens) * usd_per_mtok) / PER_MILLION


def usd(value: Decimal) -> str:
    """The stable machine form: a decimal string rounded to micro-dollars, no exponent."""
    return format(value.quantize(MICRO, rounding=ROUND_HALF_EVEN), "f")


def usd_display(value: Decimal) -> str:
    """Human form: cents for amounts of a dollar or more, more digits below that."""
    if abs(value) >= 1:
        return f"${value.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,}"
    if value == 0:
        return "$0.00"
    return f"${value.quantize(Decimal('0.0001'), rounding=ROUND_HALF_EVEN)}"
