"""What an estimate answers, as types: per model (`ModelEstimate`), for the job (`Estimate`), and the
recommendation (`Recommendation`, its `Verdict`s and `Choice`s).

The types alone, apart from the functions that fill them (planner.plan.estimate, planner.plan.recommend),
so that the recommendation can read the estimates and the estimate can hold the recommendation without
either module importing the other; the renderers read them too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from planner.plan.timing import USD, Plan
from planner.plan.turnaround import Turnaround


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class OutputAssumption(Model):
    """Where output-token counts come from; printed with every estimate."""

    mode: Literal["fixed", "max_tokens", "ratio", "column", "history"]
    value: float | int | str | None = None
    description: str


class SkippedLines(Model):
    count: int
    first_lines: list[int]
    first_reasons: list[str]


class DatasetInfo(Model):
    path: str
    format: str
    requests: int
    counted_requests: int
    skipped: SkippedLines


class CostRange(Model):
    """Low / expected / high cost: the tokenizer band on input, and output bounds where known."""

    low: USD
    expected: USD
    high: USD


class OverLimit(Model):
    count: int
    first_ids: list[str]


class CacheAssumption(Model):
    """How much of each request's input is assumed to be read from the vendor's prompt cache."""

    prefix_tokens: int
    hit_rate: float
    applied: bool
    stacks_with_batch: bool | None
    description: str


class TokenHistogram(Model):
    """Input tokens per counted request (the sample, not scaled): `counts[i]` requests had between
    `edges[i]` (inclusive) and `edges[i + 1]` (exclusive) tokens; buckets have equal integer widths."""

    edges: list[int]
    counts: list[int]

    @classmethod
    def of(cls, values: Sequence[int], buckets: int = 12) -> TokenHistogram:
        if not values:
            return cls(edges=[0, 1], counts=[0])
        lo, hi = min(values), max(values)
        width = max(1, math.ceil((hi - lo + 1) / buckets))
        n = max(1, math.ceil((hi - lo + 1) / width))
        counts = [0] * n
        for v in values:
            counts[min(n - 1, (v - lo) // width)] += 1
        return cls(edges=[lo + k * width for k in range(n + 1)], counts=counts)


ModeName = Literal["standard", "flex", "priority", "batch"]


class ModeEstimate(Model):
    """One way of running the whole job on one model (planner.plan.modes fills it): its price, band,
    time and verdict. `hours` is the time a plan judges the mode on: standard and priority from the tier's
    rate limits and the mode's latency; flex the same with its refused requests sent again; batch its
    p90. `cost_usd` is what the plan judges too: for a sheddable mode, with the stated share of refused
    requests falling back to standard (`cost_range.low` is the cost when nothing is refused)."""

    mode: ModeName
    #: the model has a price in this mode on the date
    offered: bool
    #: offered, and nothing about the workload or the options (`--no-sheddable`) stops the job in it
    qualifies: bool
    reasons: list[str] = Field(default_factory=list)
    #: explicit, derived (the vendor's stated discount or premium), default multiplier, or why no price
    price_basis: str
    cost_usd: USD | None = None
    cost_ci95: tuple[USD, USD] | None = None
    cost_range: CostRange | None = None
    hours: float | None = None
    #: what `hours` rests on, in words ("rate limits of tier-1", "p90 of 3 waves", "vendor's latency target")
    hours_basis: str = ""
    #: the time rests on the vendor's stated targets (batch windows, flex latency), not a measurement
    vendor_target: bool = False
    sheddable: bool = False
    #: a sheddable mode's share of requests assumed refused at peak and re-sent at standard (`--flex-refused`)
    refused_share: float | None = None
    #: the vendor's stated target time per request, seconds (its typical and its upper figure), when it states one
    latency_target_s: tuple[float, float] | None = None
    #: the vendor's name of the mode and how a request asks for it (`service_tier: "flex"`)
    label: str | None = None
    request_field: str | None = None
    notes: list[str] = Field(default_factory=list)


class ModelEstimate(Model):
    model: str
    resolved_model: str
    provider: str
    #: the id the vendor's API takes for the model, the name people are shown (ResolvedModel.api_id);
    #: the JSON keeps `resolved_model` (the table row) and leaves this out, as it always has
    api_id: str | None = Field(default=None, exclude=True)
    price_table: str
    price_table_verified: date
    price_source: str
    requests: int
    input_tokens: int
    output_tokens: int
    input_tokens_ci95: tuple[int, int]
    output_tokens_ci95: tuple[int, int]
    input_tokens_per_request: float
    output_tokens_per_request: float
    max_input_tokens: int
    token_method: Literal["exact", "calibrated", "approximate"]
    token_method_label: str
    token_band: Decimal
    realtime_cost_usd: USD
    batch_cost_usd: USD | None
    savings_usd: USD | None
    savings_pct: float | None
    realtime_cost_ci95: tuple[USD, USD]
    batch_cost_ci95: tuple[USD, USD] | None
    realtime_cost_range: CostRange
    batch_cost_range: CostRange | None
    batch_price_basis: str
    batch_eligible: bool
    reasons: list[str]
    over_context_window: OverLimit
    over_max_output: OverLimit
    cache: CacheAssumption | None = None
    turnaround: Turnaround | None = None
    plan: Plan | None = None
    input_tokens_histogram: TokenHistogram | None = None
    #: False when the model cannot run at all on the date (retired, not yet released): no plan then
    runs: bool = True
    #: images in the counted requests whose size cannot be known offline (URLs, file ids, paths), each
    #: billed at `assumed_image_size` (the model's image rule), and stated in the notes
    assumed_images: int = 0
    assumed_image_size: tuple[int, int] | None = None
    #: Why this model cannot run the job at all, batch or realtime (retired, not yet released, requests
    #: over its context window or output limit); empty when it can. Such a model is never recommended.
    cannot_run: list[str] = Field(default_factory=list)
    #: The encoding that counted this model's tokens, and the factor its counts were scaled by (1: exact).
    tokenizer: str = ""
    tokenizer_factor: Decimal = Decimal(1)
    #: what this model's numbers rest on beyond the shared output assumption (ctok, your history)
    assumptions: list[str] = Field(default_factory=list)
    #: every processing mode asked about (`--mode`; by default all four), keyed standard, flex,
    #: priority, batch in that order; a mode the model lacks is present with `offered` false and why
    modes: dict[str, ModeEstimate] = Field(default_factory=dict)


VerdictStatus = Literal["fits", "over_budget", "unknown", "late", "cannot_run"]
OverallStatus = Literal["fits", "nothing_fits", "unknown", "nothing_runs"]


class Choice(Model):
    """One way of running the job on one model, with its cost band and how it stands against the limits.

    `plan`: realtime is the standard mode (the name scripts read); flex and priority are those modes for
    the whole job; split sends `batch_share` as a batch and the rest in `split_with`."""

    plan: Literal["batch", "realtime", "split", "flex", "priority"]
    batch_share: float
    split_with: Literal["standard", "flex", "priority"] | None = None
    cost_usd: USD
    cost_low_usd: USD
    cost_high_usd: USD
    #: Batch (and the batch part of a split) is judged on its p90 time.
    hours: float | None
    meets_deadline: bool | None
    within_budget: bool | None
    late_by_hours: float | None = None
    over_budget_usd: USD | None = None


class Verdict(Model):
    """One model's answer. `status`: fits (meets every limit given; always, when none is given),
    over_budget, unknown (a time needed to judge is unknown), late, cannot_run."""

    model: str
    name: str
    status: VerdictStatus
    choice: Choice | None
    #: Why the model cannot run the job, or why it cannot run it as a batch.
    reasons: list[str]
    batch_eligible: bool
    text: str


class Recommendation(Model):
    """The overall answer: the pick among the models asked about, and every model's verdict.

    `status`: fits (`model`/`choice` meet every limit given), nothing_fits (`model`/`choice` are the
    closest miss), unknown (nothing is known to fit, and some time needed to judge is unknown),
    nothing_runs (no model asked about can run the job; `choice` is null)."""

    status: OverallStatus
    deadline_hours: float | None
    budget_usd: USD | None
    model: str | None
    name: str | None
    choice: Choice | None
    #: Against running the same model all realtime (null when not a saving).
    saving_usd: USD | None
    headline: str
    verdicts: list[Verdict]


class Estimate(Model):
    as_of: date
    dataset: DatasetInfo
    output_assumption: OutputAssumption
    scaling: str
    estimates: list[ModelEstimate]
    notes: list[str] = Field(default_factory=list)
    #: The answer (planner.plan.recommend): every model's verdict and the overall pick.
    recommendation: Recommendation | None = None
