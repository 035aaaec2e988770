"""The estimate: dataset → tokens → workload → price → eligibility, for each model asked about.

This is the Python API beneath `batchplan estimate`. It returns Pydantic models; it never prints.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from planner.costs import cost_of, split_by_tier
from planner.datasets import ReadOptions, Request, SkipLog, read_requests, sample_requests
from planner.errors import InputError, UsageError
from planner.money import usd
from planner.pricing import PriceBook, PriceSet, ResolvedModel, Tokenizer, load_pricebook
from planner.tokens import band_label, count_requests, count_text
from planner.workload import Scaling, TokenStats, Workload

USD = Annotated[Decimal, PlainSerializer(usd, return_type=str, when_used="json")]
CHUNK = 2000


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class OutputAssumption(Model):
    """Where output-token counts come from; printed with every estimate."""

    mode: Literal["fixed", "max_tokens", "ratio", "column"]
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


class ModelEstimate(Model):
    model: str
    resolved_model: str
    provider: str
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
    token_method: Literal["exact", "approximate"]
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


class Estimate(Model):
    as_of: date
    dataset: DatasetInfo
    output_assumption: OutputAssumption
    scaling: str
    estimates: list[ModelEstimate]
    notes: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------


ProgressFn = Callable[[int], None]


def _output_assumption(output_tokens: int | None, output_ratio: float | None, output_column: str | None) -> (
    OutputAssumption
):
    given = [x is not None for x in (output_tokens, output_ratio, output_column)]
    if sum(given) > 1:
        raise UsageError("use only one of --output-tokens, --output-ratio and --output-column")
    if output_tokens is not None:
        if output_tokens < 0:
            raise UsageError("--output-tokens must be 0 or more")
        return OutputAssumption(
            mode="fixed",
            value=output_tokens,
            description=f"{output_tokens:,} output tokens per request (assumed, --output-tokens)",
        )
    if output_ratio is not None:
        if not (output_ratio >= 0 and math.isfinite(output_ratio)):
            raise UsageError("--output-ratio must be a finite number, 0 or more")
        return OutputAssumption(
            mode="ratio",
            value=output_ratio,
            description=f"output = {output_ratio:g} × each request's input tokens (assumed, --output-ratio)",
        )
    if output_column is not None:
        return OutputAssumption(
            mode="column",
            value=output_column,
            description=f"output tokens counted from the sample's real outputs in column '{output_column}'",
        )
    return OutputAssumption(
        mode="max_tokens",
        description="each request's max_tokens (an upper bound: real outputs are usually shorter)",
    )


def _outputs_for(
    chunk: Sequence[Request], inputs: Sequence[int], assumption: OutputAssumption, tok: Tokenizer, path: str
) -> list[int]:
    if assumption.mode == "fixed":
        return [int(assumption.value or 0)] * len(chunk)
    if assumption.mode == "ratio":
        ratio = float(assumption.value or 0)
        return [math.ceil(i * ratio) for i in inputs]
    if assumption.mode == "column":
        return [count_text(r.output_text or "", tok) for r in chunk]
    out: list[int] = []
    for r in chunk:
        if r.max_tokens is None:
            raise InputError(
                f"request '{r.id}' has no max_tokens, so its output length is unknown; "
                "pass --output-tokens N (or --output-ratio R) to assume one",
                path=path,
                line=r.line,
            )
        out.append(r.max_tokens)
    return out


class _Counts:
    """Per-tokenizer accumulated counts while the dataset streams through once."""

    def __init__(self) -> None:
        self.inputs: array[int] = array("q")
        self.outputs: array[int] = array("q")


def _tokenizer_key(tok: Tokenizer) -> str:
    return tok.model_dump_json()


def count_dataset(
    stream: object,
    tokenizers: dict[str, Tokenizer],
    assumption: OutputAssumption,
    path: str,
    progress: ProgressFn | None = None,
) -> tuple[dict[str, _Counts], list[str]]:
    """Read the stream once in chunks; count each chunk with every distinct tokenizer."""
    counts = {key: _Counts() for key in tokenizers}
    ids: list[str] = []
    chunk: list[Request] = []
    done = 0

    def flush() -> None:
        nonlocal done
        for key, tok in tokenizers.items():
            ins = count_requests(chunk, tok)
            counts[key].inputs.extend(ins)
            counts[key].outputs.extend(_outputs_for(chunk, ins, assumption, tok, path))
        ids.extend(r.id for r in chunk)
        done += len(chunk)
        chunk.clear()
        if progress is not None:
            progress(done)

    for req in stream:  # type: ignore[attr-defined]
        chunk.append(req)
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    return counts, ids


def _over(values: Sequence[int], limit: int | None, ids: Sequence[str]) -> OverLimit:
    if limit is None:
        return OverLimit(count=0, first_ids=[])
    hits = [ids[i] for i, v in enumerate(values) if v > limit]
    return OverLimit(count=len(hits), first_ids=hits[:5])


def _scaled_cost(
    workload: Workload, prices: PriceSet, band: Decimal
) -> tuple[Decimal, tuple[Decimal, Decimal], CostRange]:
    """Job cost at these prices: expected value, 95% interval from sampling, and the tokenizer band."""
    thresholds = prices.thresholds()
    counted = cost_of(split_by_tier(workload.inputs, workload.outputs, thresholds), prices)
    scaling = workload.scaling
    if scaling.is_exact:
        expected = counted
        ci = (counted, counted)
    else:
        factor = Decimal(scaling.job_requests) / Decimal(scaling.sampled)
        expected = counted * factor
        per_request = [
            float(cost_of(split_by_tier([i], [o], thresholds), prices))
            for i, o in zip(workload.inputs, workload.outputs, strict=True)
        ]
        m = Decimal(repr(scaling.margin(per_request)))
        ci = (max(Decimal(0), expected - m), expected + m)
    # The band applies to input tokens only; output tokens are assumed or bounded separately.
    input_share = _input_cost(workload, prices) * (expected / counted if counted else Decimal(0))
    spread = input_share * band
    return expected, ci, CostRange(low=max(Decimal(0), expected - spread), expected=expected, high=expected + spread)


def _input_cost(workload: Workload, prices: PriceSet) -> Decimal:
    zeros = [0] * len(workload.inputs)
    return cost_of(split_by_tier(workload.inputs, zeros, prices.thresholds()), prices) if zeros else Decimal(0)


def _model_reasons(resolved: ResolvedModel, as_of: date) -> list[str]:
    from planner.eligibility import model_reasons

    return model_reasons(resolved, as_of)


def estimate(
    path: str | Path,
    models: Sequence[str],
    *,
    output_tokens: int | None = None,
    output_ratio: float | None = None,
    output_column: str | None = None,
    as_of: date | None = None,
    format: str | None = None,
    text_column: str | None = None,
    system: str | None = None,
    skip_bad: bool = False,
    prices: Sequence[Path] = (),
    rows: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    pricebook: PriceBook | None = None,
    progress: ProgressFn | None = None,
) -> Estimate:
    """Estimate realtime vs batch cost and batch eligibility of a dataset for each model."""
    if not models:
        raise UsageError("name at least one model with --model")
    if rows is not None and rows < 1:
        raise UsageError("--rows must be 1 or more")
    path = str(path)
    book = pricebook or load_pricebook(as_of, user_tables=prices)
    resolved = [book.resolve(m) for m in models]
    assumption = _output_assumption(output_tokens, output_ratio, output_column)
    tokenizers = {_tokenizer_key(r.tokenizer): r.tokenizer for r in resolved}

    skip = SkipLog() if skip_bad else None
    options = ReadOptions(format=format, text_column=text_column, system=system, output_column=output_column)
    if sample is not None:
        fmt, file_rows, stream = sample_requests(path, sample, seed=seed, options=options, skip=skip)
    else:
        fmt, stream = read_requests(path, options, skip)
    counts, ids = count_dataset(stream, tokenizers, assumption, path if path != "-" else "<stdin>", progress)
    counted = len(ids)
    if sample is not None and rows is None:
        # The file is the whole job: a random sample of it, with the finite-population correction.
        scaling = Scaling(job_requests=max(file_rows, counted), sampled=counted, finite_population=True)
    else:
        scaling = Scaling(job_requests=rows or counted, sampled=counted)

    results = [_estimate_one(r, counts[_tokenizer_key(r.tokenizer)], ids, scaling, book.as_of) for r in resolved]
    skipped = skip or SkipLog()
    dataset = DatasetInfo(
        path=path,
        format=fmt,
        requests=scaling.job_requests,
        counted_requests=counted,
        skipped=SkippedLines(
            count=skipped.count,
            first_lines=[line for line, _ in skipped.first],
            first_reasons=[reason for _, reason in skipped.first],
        ),
    )
    notes = [
        "Batch APIs promise completion within a window (usually 24h), not a time: under peak load no vendor "
        "guarantees it, and requests unfinished at expiry are cancelled (completed ones are billed).",
        "Batch is for jobs that can wait: it gives no streaming and no interactive latency.",
    ]
    return Estimate(
        as_of=book.as_of,
        dataset=dataset,
        output_assumption=assumption,
        scaling=scaling.describe(),
        estimates=results,
        notes=notes,
    )


def _estimate_one(
    r: ResolvedModel, counts: _Counts, ids: Sequence[str], scaling: Scaling, as_of: date
) -> ModelEstimate:
    tok = r.tokenizer
    workload = Workload(inputs=counts.inputs, outputs=counts.outputs, scaling=scaling)
    in_total, in_ci = workload.scaled_total(workload.inputs)
    out_total, out_ci = workload.scaled_total(workload.outputs)
    in_stats = TokenStats.of(workload.inputs)
    out_stats = TokenStats.of(workload.outputs)

    rt_cost, rt_ci, rt_range = _scaled_cost(workload, r.model.realtime, tok.band)
    batch_prices, basis = r.table.batch_prices(r.model)
    reasons = _model_reasons(r, as_of)
    over_ctx = _over(
        [i + o for i, o in zip(workload.inputs, workload.outputs, strict=True)], r.model.context_window, ids
    )
    over_out = _over(workload.outputs, r.model.max_output, ids)
    if over_ctx.count:
        reasons.append(
            f"{over_ctx.count:,} request(s) exceed the {r.model.context_window:,}-token context window "
            f"(input + output), e.g. {', '.join(over_ctx.first_ids)}"
        )
    if over_out.count:
        reasons.append(
            f"{over_out.count:,} request(s) ask for more than the {r.model.max_output:,}-token output limit, "
            f"e.g. {', '.join(over_out.first_ids)}"
        )
    if batch_prices is None and basis not in reasons:
        reasons.insert(0, basis)
    b_cost = b_ci = b_range = savings = pct = None
    if batch_prices is not None:
        b_cost, b_ci, b_range = _scaled_cost(workload, batch_prices, tok.band)
        savings = rt_cost - b_cost
        pct = float(savings / rt_cost * 100) if rt_cost else 0.0
    return ModelEstimate(
        model=r.requested,
        resolved_model=r.model.id,
        provider=r.table.provider,
        price_table=r.table.label,
        price_table_verified=r.model.verified,
        price_source=r.model.source,
        requests=scaling.job_requests,
        input_tokens=in_total,
        output_tokens=out_total,
        input_tokens_ci95=in_ci,
        output_tokens_ci95=out_ci,
        input_tokens_per_request=round(in_stats.mean, 2),
        output_tokens_per_request=round(out_stats.mean, 2),
        max_input_tokens=in_stats.max,
        token_method=tok.method,
        token_method_label=band_label(tok),
        token_band=tok.band,
        realtime_cost_usd=rt_cost,
        batch_cost_usd=b_cost,
        savings_usd=savings,
        savings_pct=round(pct, 2) if pct is not None else None,
        realtime_cost_ci95=rt_ci,
        batch_cost_ci95=b_ci,
        realtime_cost_range=rt_range,
        batch_cost_range=b_range,
        batch_price_basis=basis,
        batch_eligible=not reasons,
        reasons=reasons,
        over_context_window=over_ctx,
        over_max_output=over_out,
    )
