"""Money is Decimal end to end; this module holds the few rules for turning tokens into dollars."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

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


def band_pct(expected: Decimal, low: Decimal, high: Decimal) -> int:
    """The widest side of a low–high range around `expected`, in whole percent rounded up (0: no range)."""
    if expected <= 0 or (low == expected == high):
        return 0
    spread = max(expected - low, high - expected, ZERO)
    return int((spread / expected * 100).to_integral_value(rounding=ROUND_CEILING))


def usd_approx(expected: Decimal, low: Decimal | None = None, high: Decimal | None = None) -> str:
    """Human form that carries its band: '$0.65' when exact, '≈$5.22 ±15%' when the cost is a range about it,
    '≈$99.87 (−17% to +0%)' when the range lies mostly on one side (a plan judged on its bad day)."""
    if low is None or high is None:
        return usd_display(expected)
    pct = band_pct(expected, low, high)
    if pct == 0:
        return usd_display(expected)
    below, above = _side_pct(expected - low, expected), _side_pct(high - expected, expected)
    if max(below, above) > 2 * min(below, above) + 1:  # lopsided (flex: nothing refused is the low end)
        return f"≈{usd_display(expected)} (−{below}% to +{above}%)"
    return f"≈{usd_display(expected)} ±{pct}%"


def _side_pct(spread: Decimal, expected: Decimal) -> int:
    return int((max(spread, ZERO) / expected * 100).to_integral_value(rounding=ROUND_CEILING))


def rate_display(value: Decimal | str | None) -> str:
    """A price per 1M tokens for tables: at least two decimals, no trailing zeros past them ('0.10', '0.075')."""
    if value is None:
        return "-"
    d = Decimal(str(value))
    text = format(d.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def rate_usd(value: Decimal | str | None) -> str:
    """A price per 1M tokens in a sentence: '$0.075', '$0.30', '$5.00' (`rate_display` with its dollar sign)."""
    return "-" if value is None else f"${rate_display(value)}"
