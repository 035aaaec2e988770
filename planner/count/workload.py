"""Per-request token counts → workload statistics, and the scaling of a sample to the full job.

When the counted requests are the whole job, totals are exact sums. When they are a sample of a
larger job (`--rows N`, `--sample K`), totals are N × the sample mean, with a 95% confidence interval
from the sample's standard deviation (normal approximation, with the finite-population correction
when the sample was drawn from a file of known size).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Scaling:
    """How counted requests relate to the job: `job_requests` total, of which `sampled` were counted."""

    job_requests: int
    sampled: int
    finite_population: bool = False

    @property
    def is_exact(self) -> bool:
        return self.sampled >= self.job_requests

    @property
    def factor(self) -> float:
        return self.job_requests / self.sampled if self.sampled else 0.0

    def margin(self, values: Sequence[int] | Sequence[float]) -> float:
        """Half-width of the 95% interval of the job total of a per-request quantity."""
        n = len(values)
        if self.is_exact or n < 2:
            return 0.0
        mean = math.fsum(values) / n
        var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
        fpc = 1.0
        if self.finite_population and self.job_requests > 1:
            fpc = max(0.0, (self.job_requests - n) / (self.job_requests - 1))
        return Z95 * self.job_requests * math.sqrt(var / n * fpc)

    def describe(self) -> str:
        if self.is_exact:
            return f"all {self.job_requests:,} requests counted"
        how = "random sample" if self.finite_population else "sample"
        return (
            f"{how} of {self.sampled:,} requests scaled to {self.job_requests:,} "
            f"(×{self.factor:,.2f}); 95% interval from the sample's spread (normal approximation)"
        )


@dataclass(frozen=True)
class TokenStats:
    """Summary of one per-request token column."""

    total: int
    mean: float
    p50: int
    p95: int
    max: int

    @classmethod
    def of(cls, values: Sequence[int]) -> TokenStats:
        if not values:
            return cls(0, 0.0, 0, 0, 0)
        ordered = sorted(values)
        n = len(ordered)
        return cls(
            total=sum(ordered),
            mean=sum(ordered) / n,
            p50=ordered[(n - 1) // 2],
            p95=ordered[min(n - 1, math.ceil(0.95 * n) - 1)],
            max=ordered[-1],
        )


@dataclass
class Workload:
    """What one model will be asked to process: per-request input and output tokens."""

    inputs: array[int]
    outputs: array[int]
    scaling: Scaling

    @property
    def input_stats(self) -> TokenStats:
        return TokenStats.of(self.inputs)

    @property
    def output_stats(self) -> TokenStats:
        return TokenStats.of(self.outputs)

    def scaled_total(self, values: Sequence[int]) -> tuple[int, tuple[int, int]]:
        """Job total of a per-request column and its 95% interval (equal ends when exact)."""
        counted = sum(values)
        if self.scaling.is_exact:
            return counted, (counted, counted)
        total = counted * self.scaling.factor
        m = self.scaling.margin(values)
        return round(total), (max(0, math.floor(total - m)), math.ceil(total + m))


def widened(total: int, interval: tuple[int, int], band: Decimal) -> tuple[int, int]:
    """A sampling interval widened by a tokenizer's relative band, the way the cost range widens: a
    calibrated or approximate count of all requests is not a point, and its interval says so."""
    if not band:
        return interval
    spread = Decimal(total) * band
    low = Decimal(interval[0]) - spread
    high = Decimal(interval[1]) + spread
    return max(0, math.floor(low)), math.ceil(high)
