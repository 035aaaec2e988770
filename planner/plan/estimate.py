"""The estimate: dataset → tokens → workload → price → eligibility, for each model asked about.

This is the Python API beneath `batchplan estimate`. It returns Pydantic models; it never prints.
"""

from __future__ import annotations

import bisect
import contextlib
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, overload

from planner.core.errors import InputError, PricingError, UsageError
from planner.core.request import Request
from planner.count.calibration import Override
from planner.count.counting import Counted
from planner.count.counts import CountsFile
from planner.count.tokens import band_label, with_approximated
from planner.count.workload import Scaling, TokenStats, Workload, widened
from planner.io.inputs import rereadable
from planner.plan.costs import cost_of, split_by_tier
from planner.plan.eligibility import Eligibility, WorkloadShape, eligibility
from planner.plan.modes import mode_offer, mode_prices, timed, with_fallback
from planner.plan.modes import plan as plan_modes
from planner.plan.options import EstimateOptions, OutputOptions, TimingOptions
from planner.plan.recommend import cannot_run_text, recommend
from planner.plan.results import (
    CacheAssumption,
    CostRange,
    DatasetInfo,
    Estimate,
    ModeEstimate,
    ModelEstimate,
    OutputAssumption,
    OverLimit,
    SkippedLines,
    TokenHistogram,
)
from planner.plan.timing import PayloadMeter, Plan, check_tiers, timing
from planner.prices.lifecycles import lifecycle_note
from planner.prices.pricing import (
    PriceBook,
    PriceSet,
    ResolvedModel,
    Tokenizer,
    earliest_note,
    earliest_pricing,
    load_pricebook,
)
from planner.prices.schema import MODES
from planner.read.datasets import (
    LINE_FORMATS,
    ReadOptions,
    SkipLog,
    detect_file_format,
    open_dataset,
    read_requests,
    sample_requests,
)

CHUNK = 1000

#: The result types live in planner.plan.results (the recommendation reads them too); named here as well,
#: for the callers that import them with the function that fills them.
__all__ = [
    "Estimate", "ModelEstimate", "OutputAssumption", "TokenHistogram", "assumed_images_note", "count_dataset",
    "estimate", "in_memory_counts", "no_image_rule_note", "output_assumption",
]

ProgressFn = Callable[[int], None]


def output_assumption(output: OutputOptions) -> OutputAssumption:
    """The stated assumption behind every output-token count (printed with every estimate)."""
    if output.tokens is not None:
        return OutputAssumption(
            mode="fixed",
            value=output.tokens,
            description=f"{output.tokens:,} output tokens per request (assumed, --output-tokens)",
        )
    if output.ratio is not None:
        return OutputAssumption(
            mode="ratio",
            value=output.ratio,
            description=f"output = {output.ratio:g} × each request's input tokens (assumed, --output-ratio)",
        )
    if output.column is not None:
        return OutputAssumption(
            mode="column",
            value=output.column,
            description=f"output tokens counted from the sample's real outputs in column '{output.column}'",
        )
    return OutputAssumption(
        mode="max_tokens",
        description="each request's max_tokens (an upper bound: real outputs are usually shorter)",
    )


def _outputs_for(chunk: Counted, inputs: Sequence[int], assumption: OutputAssumption, j: int, path: str) -> list[int]:
    """Output tokens of each request under tokenizer j, by the stated assumption."""
    if assumption.mode == "fixed":
        return [int(assumption.value or 0)] * len(chunk)
    if assumption.mode == "history":  # filled in per model after counting (planner.store.history)
        return [0] * len(chunk)
    if assumption.mode == "ratio":
        ratio = float(assumption.value or 0)
        return [math.ceil(i * ratio) for i in inputs]
    if assumption.mode == "column":
        return list(chunk.output_tokens[j]) if chunk.output_tokens else [0] * len(chunk)
    for rid, line, max_tokens in zip(chunk.ids, chunk.lines, chunk.max_tokens, strict=True):
        if max_tokens is None:
            raise InputError(
                f"request '{rid}' has no max_tokens, so its output length is unknown; "
                "pass --output-tokens N (or --output-ratio R) to assume one",
                path=path,
                line=line,
            )
    return [m or 0 for m in chunk.max_tokens]


class TokenCounts:
    """Per-tokenizer accumulated counts while the dataset streams through once."""

    def __init__(self) -> None:
        self.inputs: array[int] = array("q")
        self.outputs: array[int] = array("q")
        self.prefix_tokens = 0
        self.assumed_images = 0
        self.approximated: dict[str, int] = {}  # tokens of parts no published rule counts, by part


def tokenizer_key(tok: Tokenizer) -> str:
    return tok.model_dump_json()


class _Ids(Sequence[str]):
    """Every counted request's id, in order, kept compact: one string per chunk instead of one object per
    request (a 215k-request file: ~2 MB instead of ~14 MB). Only the ids of requests over a limit are
    ever looked up."""

    def __init__(self) -> None:
        self._chunks: list[str | list[str]] = []
        self._starts: list[int] = []
        self._n = 0

    def extend(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        joined = "\x00".join(ids)
        # an id holding the separator itself is kept as it is
        self._chunks.append(joined if joined.count("\x00") == len(ids) - 1 else list(ids))
        self._starts.append(self._n)
        self._n += len(ids)

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[str]:
        # one split per chunk: Sequence's default would split a whole chunk for every id
        for chunk in self._chunks:
            yield from chunk if isinstance(chunk, list) else chunk.split("\x00")

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._n))]
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError(index)
        k = bisect.bisect_right(self._starts, index) - 1
        chunk = self._chunks[k]
        offset = index - self._starts[k]
        return chunk[offset] if isinstance(chunk, list) else chunk.split("\x00")[offset]


class _Tally:
    """Accumulates the counted chunks of one pass over the dataset, for every tokenizer at once."""

    def __init__(
        self, tokenizers: dict[str, Tokenizer], assumption: OutputAssumption, path: str, skip: SkipLog | None
    ) -> None:
        self.keys = list(tokenizers)
        self.assumption = assumption
        self.path = path
        self.skip = skip
        self.counts = {key: TokenCounts() for key in self.keys}
        self.ids = _Ids()
        self.prefix: bytes | None = None
        self.prefix_tokens: list[int] = []
        self.shared_prefix = True
        self.meter = PayloadMeter()

    def add(self, chunk: Counted, errors: list[tuple[int, str]]) -> None:
        for line, message in sorted(errors):
            if self.skip is None:
                raise InputError(message, path=self.path, line=line)
            self.skip.add(line, message)
        if not len(chunk):
            return
        for j, key in enumerate(self.keys):
            ins = chunk.tokens[j]
            target = self.counts[key]
            target.inputs.extend(ins)
            target.outputs.extend(_outputs_for(chunk, ins, self.assumption, j, self.path))
            target.assumed_images += chunk.assumed_images[j]
            for what, n in chunk.approximated.items():
                target.approximated[what] = target.approximated.get(what, 0) + n
        if self.shared_prefix:
            if not chunk.prefix_shared or (self.prefix is not None and chunk.prefix != self.prefix):
                self.shared_prefix = False
            elif self.prefix is None:
                self.prefix, self.prefix_tokens = chunk.prefix, chunk.prefix_tokens
        self.meter.add_many(len(chunk), chunk.body_bytes, chunk.max_tokens)
        self.ids.extend(chunk.ids)

    def finish(self) -> tuple[dict[str, TokenCounts], Sequence[str]]:
        if self.shared_prefix and self.prefix is not None:
            for j, key in enumerate(self.keys):
                self.counts[key].prefix_tokens = self.prefix_tokens[j]
        return self.counts, self.ids


def count_dataset(
    stream: Iterable[Request],
    tokenizers: dict[str, Tokenizer],
    assumption: OutputAssumption,
    path: str,
    progress: ProgressFn | None = None,
    workers: int | None = None,
) -> tuple[dict[str, TokenCounts], Sequence[str]]:
    """Count an already-parsed stream once, with every distinct tokenizer, on all cores when large."""
    from planner.count.counting import count_stream_described

    tally = _Tally(tokenizers, assumption, path, None)
    toks = list(tokenizers.values())
    for chunk, errors in count_stream_described(stream, toks, workers=workers, chunk_size=CHUNK, on_progress=progress):
        tally.add(chunk, errors)
    return tally.finish()


def _count_source(
    path: str,
    sample: int | None,
    seed: int,
    options: ReadOptions,
    skip: SkipLog | None,
    tally: _Tally,
    toks: list[Tokenizer],
    progress: ProgressFn | None,
    want_prefix: bool = False,
    counts_file: CountsFile | None = None,
) -> tuple[str, int | None]:
    """One pass over the dataset into `tally`: (format, rows in the file when sampled).

    The dataset is opened once (pipes, FIFOs and stdin included) and parsed and counted in worker
    processes, block by block (planner.count.counting.count_file); a sample is drawn here and counted on all
    cores."""
    from planner.count.counting import count_file, count_stream_described
    from planner.read.columnar import kind_of

    name = path if path != "-" else "<stdin>"
    if counts_file is not None:  # counted elsewhere: the counts arrive as they are
        fmt, file_rows = "counts", None
        for chunk, errors in counts_file.chunks(progress):
            tally.add(chunk, errors)
    elif sample is not None or kind_of(path) is not None:  # a sample, or Parquet/Arrow read by batches
        if sample is not None:
            fmt, file_rows, stream = sample_requests(path, sample, seed=seed, options=options, skip=skip)
        else:
            file_rows = None
            fmt, stream = read_requests(path, options, skip)
        source = count_stream_described(stream, toks, chunk_size=CHUNK, on_progress=progress, want_prefix=want_prefix)
        with contextlib.closing(source):
            for chunk, errors in source:
                tally.add(chunk, errors)
    else:
        file_rows = None
        fmt, src = open_dataset(path, options)
        with src, contextlib.closing(
            count_file(src, fmt, options, toks, on_progress=progress, want_prefix=want_prefix)
        ) as counted:
            for chunk, errors in counted:
                tally.add(chunk, errors)
    if not tally.ids:
        raise InputError("no requests found (the file is empty or every line was skipped)", path=name)
    return fmt, file_rows


@dataclass(frozen=True)
class _CacheSplit:
    """Per-request cache reads and writes at one hit rate (the first request writes the prefix)."""

    cached: list[int]
    written: list[int]

    @classmethod
    def of(cls, inputs: Sequence[int], prefix: int, hit_rate: float) -> _CacheSplit:
        n = len(inputs)
        reads = round(prefix * hit_rate)
        cached = [0] + [min(reads, i) for i in inputs[1:]] if n else []
        written = [min(prefix, inputs[0])] + [0] * (n - 1) if n and prefix else [0] * n
        return cls(cached, written)


def _job_cost(
    workload: Workload,
    prices: PriceSet,
    cache_prices: PriceSet | None,
    split: _CacheSplit | None,
    outputs: Sequence[int] | None = None,
) -> tuple[Decimal, tuple[Decimal, Decimal]]:
    """Cost of the job at these prices, scaled from the counted requests, with its 95% interval."""
    thresholds = prices.thresholds()
    outs = workload.outputs if outputs is None else outputs
    cached = split.cached if split else None
    written = split.written if split else None
    counted = cost_of(split_by_tier(workload.inputs, outs, thresholds, cached, written), prices, cache_prices)
    scaling = workload.scaling
    if scaling.is_exact:
        return counted, (counted, counted)
    expected = counted * Decimal(scaling.job_requests) / Decimal(scaling.sampled)
    per_request = [
        float(
            cost_of(
                split_by_tier([i], [o], thresholds, [cached[k]] if cached else None, [written[k]] if written else None),
                prices,
                cache_prices,
            )
        )
        for k, (i, o) in enumerate(zip(workload.inputs, outs, strict=True))
    ]
    m = Decimal(repr(scaling.margin(per_request)))
    return expected, (max(Decimal(0), expected - m), expected + m)


def _costs(
    workload: Workload,
    prices: PriceSet,
    band: Decimal,
    cache: CacheAssumption | None,
    cache_prices: PriceSet | None = None,
) -> tuple[Decimal, tuple[Decimal, Decimal], CostRange]:
    """Expected cost, its sampling interval, and a low/high range: the tokenizer band on input tokens,
    and (when a cached prefix is assumed) every request hitting the cache vs none."""
    split = _CacheSplit.of(workload.inputs, cache.prefix_tokens, cache.hit_rate) if cache and cache.applied else None
    expected, ci = _job_cost(workload, prices, cache_prices, split)
    zeros = [0] * len(workload.inputs)
    input_part, _ = _job_cost(workload, prices, cache_prices, split, zeros)
    spread = input_part * band
    low = high = expected
    if cache and cache.applied:
        low, _ = _job_cost(workload, prices, cache_prices, _CacheSplit.of(workload.inputs, cache.prefix_tokens, 1.0))
        high, _ = _job_cost(workload, prices, cache_prices, None)
    return expected, ci, CostRange(low=max(Decimal(0), low - spread), expected=expected, high=high + spread)


def _cache_assumption(
    r: ResolvedModel, counts: TokenCounts, cache_prefix: str | None, hit_rate: float
) -> CacheAssumption | None:
    if cache_prefix in (None, "none"):
        return None
    if cache_prefix == "auto":
        prefix = counts.prefix_tokens
        found = "the system prompt shared by every request"
    else:
        prefix = int(cache_prefix)
        found = "--cache-prefix"
    rules = r.table.cache
    minimum = r.model.cache_min_tokens or (rules.min_tokens if rules else None)
    stacks = rules.stacks_with_batch if rules else None
    if rules is None or minimum is None:
        why = f"{r.table.name} publishes no prompt-caching rules in this table; no cache discount assumed"
        return CacheAssumption(
            prefix_tokens=prefix, hit_rate=hit_rate, applied=False, stacks_with_batch=None, description=why
        )
    if r.model.realtime.cached_input is None:
        why = f"{r.model.id} has no cached-input price; no cache discount assumed"
        return CacheAssumption(
            prefix_tokens=prefix, hit_rate=hit_rate, applied=False, stacks_with_batch=stacks, description=why
        )
    if prefix < minimum:
        why = (
            f"shared prefix of {prefix:,} tokens ({found}) is below {r.table.name}'s {minimum:,}-token minimum "
            "for caching; no cache discount assumed"
        )
        return CacheAssumption(
            prefix_tokens=prefix, hit_rate=hit_rate, applied=False, stacks_with_batch=stacks, description=why
        )
    stacking = (
        "cache reads also get the batch discount" if stacks else "batch does not discount cache reads (cache rate wins)"
    )
    why = (
        f"{prefix:,}-token prefix ({found}) read from cache by {hit_rate:.0%} of requests after the first, "
        f"which writes it; {stacking}; vendors' cache hits are best-effort"
    )
    return CacheAssumption(
        prefix_tokens=prefix, hit_rate=hit_rate, applied=True, stacks_with_batch=stacks, description=why
    )


def _batch_cache_prices(r: ResolvedModel, batch: PriceSet, cache: CacheAssumption | None) -> PriceSet | None:
    """Prices for cache reads inside a batch: batch's own cached rate when discounts stack, else realtime's."""
    if not cache or not cache.applied:
        return None
    if not cache.stacks_with_batch:
        return r.model.realtime
    if batch.cached_input is None and r.model.realtime.cached_input is not None and r.model.realtime.input:
        ratio = batch.input / r.model.realtime.input
        return batch.model_copy(update={"cached_input": r.model.realtime.cached_input * ratio})
    return None


def _observed_outputs(
    resolved: Sequence[ResolvedModel], assumption: OutputAssumption, use_history: bool
) -> list[Any] | None:
    """Per model, the output tokens your reconciled batches observed (planner.store.history), when no output
    option was given and history is on; None when not asked."""
    if assumption.mode != "max_tokens" or not use_history:
        return None
    from planner.store.history import observed_outputs

    return [observed_outputs(r.table.provider, r.model.id) for r in resolved]


def _learned(
    r: ResolvedModel, counts: TokenCounts, observed: Any, assumption: OutputAssumption, o: EstimateOptions, path: str,
    fmt: str = "", counts_file: CountsFile | None = None,
) -> tuple[TokenCounts, Override | None, list[str]]:
    """This model's counts after what can replace the table's approximation (`_override`), and output
    tokens observed in your history when no output option was given. Returns (counts, override, notes);
    the notes end with what the table says the user should know of the model (how its batch price was
    come by, audio output tokens), stated with its numbers as `check` states it with the verdict."""
    notes: list[str] = []
    over = _override(r, counts, o, path, fmt, counts_file, notes) if r.tokenizer.method != "exact" else None
    lifecycle = lifecycle_note(r.table.provider, r.model)
    table_note = [n for n in (r.model.notes, lifecycle) if n]
    if over is None and observed is None:
        return counts, None, [*notes, *table_note]
    new = TokenCounts()
    new.inputs = over.inputs if over is not None else counts.inputs
    new.assumed_images, new.approximated = counts.assumed_images, counts.approximated
    new.prefix_tokens = round(counts.prefix_tokens * over.factor) if over is not None else counts.prefix_tokens
    if observed is not None:
        new.outputs = array("q", [round(observed.mean)] * len(new.inputs))
        notes.append(f"output tokens: {observed.describe()}")
    elif over is not None and assumption.mode == "ratio":
        ratio = float(assumption.value or 0)
        new.outputs = array("q", (math.ceil(i * ratio) for i in new.inputs))
    else:
        new.outputs = counts.outputs
    if over is not None:
        notes.insert(0, over.note)
    return new, over, [*notes, *table_note]


def _override(
    r: ResolvedModel, counts: TokenCounts, o: EstimateOptions, path: str, fmt: str, counts_file: CountsFile | None,
    notes: list[str],
) -> Override | None:
    """What replaces the table's approximate counts of a model: ctok (exact, or calibrated on a sample) for
    Claude, ctok's counts in a counts file, else the billed/estimated ratio of your reconciled batches.
    Why none could be used goes into `notes`."""
    import os

    from planner.count import calibration, claude_tokens

    over: Override | None = None
    if claude_tokens.rule_for(r.tokenizer) is not None and fmt != "counts":  # counts: counted elsewhere
        plain = fmt in LINE_FORMATS or fmt in ("csv", "tsv")  # file size ≈ text size (not .gz, Parquet…)
        size = os.path.getsize(path) if plain and os.path.isfile(path) and not path.endswith(".gz") else None
        over = calibration.claude_override(
            r, counts.inputs, path=path, reader=o.reader, sample=o.sampling.sample, seed=o.sampling.seed,
            skip_bad=o.skip_bad, exact_tokens=o.exact_tokens, text_chars=size,
        )
        if over is not None:
            over = _ctok_engine(r, over)
        if over is None and not rereadable(path):
            what = "standard input" if path == "-" else f"{path} (a pipe or FIFO)"
            notes.append(f"{what} cannot be re-read to count with ctok: the table's approximation is used")
    elif r.table.provider == "mistral" and fmt != "counts":
        over, why = calibration.mistral_override(
            r, len(counts.inputs), path=path, reader=o.reader, sample=o.sampling.sample, seed=o.sampling.seed,
            skip_bad=o.skip_bad,
        )
        notes.extend([why] if why else [])
    elif counts_file is not None:  # counted elsewhere: ctok's counts, when the counting job made them
        over, missing = calibration.counts_file_override(r, counts_file, counts.inputs)
        if over is not None:
            over = _ctok_engine(r, over)
        elif missing is not None:
            notes.append(missing)
    elif r.tokenizer.exact is not None and not claude_tokens.available():
        notes.append(claude_tokens.unavailable_note())
    if over is None and o.timing.use_history:
        over = calibration.history_override(r, counts.inputs, tokenizer_key(r.tokenizer))
    return over


def in_memory_counts(
    r: ResolvedModel, counts: TokenCounts, requests: Sequence[Request], assumption: OutputAssumption
) -> tuple[TokenCounts, Override | None]:
    """`counts` of requests held in memory (prepare, validate) with ctok's where it counts this model."""
    from planner.count import calibration

    over = calibration.in_memory_override(r, requests) if r.tokenizer.method != "exact" else None
    if over is None or len(over.inputs) != len(counts.inputs):
        return counts, None
    over = _ctok_engine(r, over)
    new = TokenCounts()
    new.inputs, new.assumed_images, new.prefix_tokens = over.inputs, counts.assumed_images, counts.prefix_tokens
    new.approximated = counts.approximated
    if assumption.mode == "ratio":
        ratio = float(assumption.value or 0)
        new.outputs = array("q", (math.ceil(i * ratio) for i in new.inputs))
    else:
        new.outputs = counts.outputs
    return new, over


def estimate(
    path: str | Path,
    models: Sequence[str],
    options: EstimateOptions | None = None,
    *,
    pricebook: PriceBook | None = None,
    progress: ProgressFn | None = None,
    **flat: Any,
) -> Estimate:
    """Estimate realtime vs batch cost, turnaround and batch eligibility of a dataset for each model.

    `options` is one validated `EstimateOptions` (planner.plan.options); the flat keywords the CLI flags are
    named after (`output_tokens=150`, `rows=1_000_000`, `tier="tier-3"`, `deadline="12h"`, …) are
    accepted instead, for scripts. Raises UsageError (bad options), InputError (bad dataset lines, with
    file and line), PricingError/UnknownModelError (tables, model names).

        >>> estimate("examples/tickets.jsonl", ["gpt-4o-mini"], output_tokens=150).estimates[0].batch_eligible
        True
    """
    o = _options(options, flat, models)
    path = str(path)
    book, resolved, early = _resolve_models(models, o, pricebook)
    check_tiers(o.timing.tier, [r.table for r in resolved], book.tables)  # a typo fails before the file is read
    tokenizers = {tokenizer_key(r.tokenizer): r.tokenizer for r in resolved}
    observed = _observed_outputs(resolved, output_assumption(o.output), o.timing.use_history)
    counts_file = _counts_file(path, o, resolved, tokenizers)
    assumption = _stated_assumption(o.output, observed, counts_file)
    skip = SkipLog() if o.skip_bad else None
    tally = _Tally(tokenizers, assumption, path if path != "-" else "<stdin>", skip)
    fmt, file_rows = _count_source(
        path, o.sampling.sample, o.sampling.seed, o.reader, skip, tally, list(tokenizers.values()), progress,
        o.cache.prefix == "auto", counts_file,
    )
    counts, ids = tally.finish()
    scaling = _scaling(len(ids), file_rows, o.sampling.rows)
    learned = [
        _learned(r, counts[tokenizer_key(r.tokenizer)], observed[i] if observed else None, assumption, o, path, fmt,
                 counts_file)
        for i, r in enumerate(resolved)
    ]
    results = [
        _timed(r, estimate_one(r, c, ids, scaling, book.as_of, o.cache.prefix, o.cache.hit_rate, tokens=over,
                                assumptions=notes, timing_options=o.timing), tally.meter, o, book.as_of)
        for r, (c, over, notes) in zip(resolved, learned, strict=True)
    ]
    model_notes = [f"{r.model.id}: {n}" for r, (_, _, notes) in zip(resolved, learned, strict=True) for n in notes]
    deadline = o.timing.deadline.hours if o.timing.deadline is not None else None
    return Estimate(
        as_of=book.as_of,
        dataset=_dataset_info(path, fmt, scaling, skip or SkipLog()),
        output_assumption=assumption,
        scaling=scaling.describe(),
        estimates=results,
        notes=[*early, *model_notes, *_stale(book, resolved), *_job_notes(results, counts_file)],
        recommendation=recommend(results, deadline_hours=deadline, budget=o.timing.budget),
    )


def _options(options: EstimateOptions | None, flat: dict[str, Any], models: Sequence[str]) -> EstimateOptions:
    """The options given as one object or as flat keywords (not both), with at least one model."""
    if options is not None and flat:
        raise UsageError("pass either an EstimateOptions or keyword options, not both")
    o = options if options is not None else EstimateOptions.of(**flat)
    if not models:
        raise UsageError("name at least one model with --model")
    return o


def _stated_assumption(
    output: OutputOptions, observed: Sequence[Any] | None, counts_file: CountsFile | None
) -> OutputAssumption:
    """Where the output counts come from, as the estimate states it: the options' assumption, unless no
    output option was given and your history observed every model's outputs, or a counts file carries
    output counts made elsewhere."""
    assumption = output_assumption(output)
    if assumption.mode == "max_tokens" and observed and all(x is not None for x in observed):
        return OutputAssumption(
            mode="history", description="per model, observed in your reconciled batches (see each model's notes)"
        )
    if counts_file is not None and counts_file.outputs and assumption.mode == "max_tokens":
        columns = ", ".join(dict.fromkeys(counts_file.outputs))
        return OutputAssumption(
            mode="column", value=columns, description=f"output tokens counted elsewhere (counts file: {columns})"
        )
    return assumption


def _scaling(counted: int, file_rows: int | None, rows: int | None) -> Scaling:
    """How the counted requests stand for the job: `--rows N`, the whole file a sample was drawn from
    (with the finite-population correction), or the counted requests themselves."""
    if file_rows is not None and rows is None:
        return Scaling(job_requests=max(file_rows, counted), sampled=counted, finite_population=True)
    return Scaling(job_requests=rows or counted, sampled=counted)


def _timed(r: ResolvedModel, e: ModelEstimate, meter: PayloadMeter, o: EstimateOptions, as_of: date) -> ModelEstimate:
    """One model's estimate with its turnaround, each mode's hours, and its plan against the deadline and
    budget across every mode asked about (planner.plan.modes)."""
    t = o.timing
    turnaround = timing(r, requests=e.requests, input_tokens=e.input_tokens, output_tokens=e.output_tokens,
                        meter=meter, options=t, as_of=as_of)
    modes = timed(e.modes, r, turnaround, t.flex_refused)
    plan = None
    if t.deadline is not None or t.budget is not None:
        base = Plan(deadline=t.deadline.at if t.deadline else None,
                    deadline_hours=t.deadline.hours if t.deadline else None, budget_usd=t.budget, choice="none",
                    summary="")
        if e.cannot_run:
            fits = False if t.deadline is not None else None
            plan = base.model_copy(update={"batch_fits": fits, "realtime_fits": fits,
                                           "summary": cannot_run_text(e.cannot_run)})
        else:
            plan = plan_modes(modes, turnaround, deadline_hours=base.deadline_hours, budget=t.budget, base=base)
    return e.model_copy(update={"turnaround": turnaround, "plan": plan, "modes": modes})


def _dataset_info(path: str, fmt: str, scaling: Scaling, skipped: SkipLog) -> DatasetInfo:
    return DatasetInfo(
        path=path,
        format=fmt,
        requests=scaling.job_requests,
        counted_requests=scaling.sampled,
        skipped=SkippedLines(
            count=skipped.count,
            first_lines=[line for line, _ in skipped.first],
            first_reasons=[reason for _, reason in skipped.first],
        ),
    )


def _resolve_models(models: Sequence[str], o: EstimateOptions, given: PriceBook | None
                    ) -> tuple[PriceBook, list[ResolvedModel], list[str]]:
    """The models resolved in the tables in force; for a date before a model's first table, in the earliest
    tables that list every model, with the note saying so (as reconcile prices an old batch)."""
    book = given or load_pricebook(o.as_of, user_tables=o.prices)
    try:
        return book, [book.resolve(m) for m in models], []
    except PricingError:
        if given is not None or not book.missing:
            raise
    later, resolved = earliest_pricing(book.as_of, lambda b: [b.resolve(m) for m in models], user_tables=o.prices)
    labels = list(dict.fromkeys(r.table.label for r in resolved))
    return later, resolved, [earliest_note(book.as_of, labels, "--as-of" if o.as_of else "today")]


def _stale(book: PriceBook, resolved: Sequence[ResolvedModel]) -> list[str]:
    note = book.staleness(resolved)
    return [note] if note is not None else []


def _job_notes(results: Sequence[ModelEstimate], counts_file: CountsFile | None) -> list[str]:
    """What every estimate says about batch itself, and what the counts file and the images assumed."""
    return [
        "Batch APIs promise completion within a window (usually 24h), not a time: under peak load no vendor "
        "guarantees it, and requests unfinished at expiry are cancelled (completed ones are billed).",
        "Batch is for jobs that can wait: it gives no streaming and no interactive latency.",
        *(counts_file.notes if counts_file is not None else []),
        *(note for e in results if (note := assumed_images_note(e)) is not None),
    ]


def _counts_file(
    path: str, o: EstimateOptions, resolved: Sequence[ResolvedModel], tokenizers: dict[str, Tokenizer]
) -> CountsFile | None:
    """The counts file at `path` when it is one (token counts computed elsewhere: planner.count.counts)."""
    if not rereadable(path):  # a pipe or FIFO is read once, later: a counts file must be a file
        if o.reader.format == "counts":
            where = "standard input" if path == "-" else path
            raise UsageError(f"--format counts: a counts file is read more than once, so it must be a file, not "
                             f"{where}; save it to a file first")
        return None
    if detect_file_format(path, o.reader) != "counts":
        return None
    from planner.count.counts import check_options, open_counts

    check_options(path, sample=o.sampling.sample, cache_prefix=o.cache.prefix, output_column=o.output.column)
    first_model: dict[str, str] = {}
    for r in resolved:
        first_model.setdefault(tokenizer_key(r.tokenizer), r.requested)
    return open_counts(path, list(tokenizers.values()), o.reader, [first_model[k] for k in tokenizers])


def assumed_images_note(e: ModelEstimate) -> str | None:
    """The sentence every output carries when some images were billed at an assumed size, or could not be
    billed as images at all (the model's table has no image rule)."""
    if not e.assumed_images:
        return None
    if e.assumed_image_size is None:
        return no_image_rule_note(e.model, e.assumed_images)
    w, h = e.assumed_image_size
    return (f"{e.model}: {e.assumed_images:,} image(s) in the counted requests have a size that cannot be known "
            f"offline (an http(s) URL, a file id or a path, which batchplan never opens); each is billed as "
            f"{w}×{h} px (assumed, the table's image rule)")


def no_image_rule_note(model: str, images: int) -> str:
    return (f"{model}: {images:,} image part(s) in the counted requests, but its table has no image rule: each "
            "is counted as the text of its JSON, not as an image (the model may not take images at all: check "
            "the vendor's docs before sending)")


def _ctok_engine(r: ResolvedModel, over: Override) -> Override:
    """Name the engine on a ctok override (what `tokenizer` reports for the model)."""
    import dataclasses

    rule = r.tokenizer.exact
    return dataclasses.replace(over, engine=f"ctok {rule.version_for(r.model.id)}" if rule else "ctok")


def _factor(tok: Tokenizer, tokens: Override | None) -> Decimal:
    """What the counts are relative to the encoding: the table's factor, times a calibration's; 1 when an
    exact engine (ctok) counted them itself."""
    if tokens is None:
        return tok.factor
    if tokens.method != "calibrated":
        return Decimal(1)
    return (tok.factor * Decimal(repr(tokens.factor))).quantize(Decimal("0.0001"))


def estimate_one(
    r: ResolvedModel,
    counts: TokenCounts,
    ids: Sequence[str],
    scaling: Scaling,
    as_of: date,
    cache_prefix: str | None = None,
    cache_hit_rate: float = 1.0,
    *,
    tokens: Override | None = None,
    assumptions: Sequence[str] = (),
    timing_options: TimingOptions | None = None,
) -> ModelEstimate:
    """One model's estimate from its counts: tokens, costs in every mode asked about, and its verdict on `as_of`."""
    workload = Workload(inputs=counts.inputs, outputs=counts.outputs, scaling=scaling)
    cache = _cache_assumption(r, counts, cache_prefix, cache_hit_rate)
    verdict = eligibility(r, as_of, workload=WorkloadShape(workload.inputs, workload.outputs, ids))
    band = _token_method(r.tokenizer, tokens, counts)[2]
    costs = _cost_fields(r, workload, band, cache, verdict.batch_prices)
    modes = _mode_fields(r, workload, band, cache, verdict, costs, timing_options or TimingOptions())
    fields = _verdict_fields(verdict)
    fields["cannot_run"] += _no_mode_asked(modes) if verdict.runs else []
    return ModelEstimate(
        model=r.requested,
        resolved_model=r.model.id,
        provider=r.table.provider,
        api_id=r.api_id,
        price_table=r.table.label,
        price_table_verified=r.model.verified,
        price_source=r.model.source,
        requests=scaling.job_requests,
        **_token_fields(workload, band),
        **_tokenizer_fields(r.tokenizer, tokens, counts),
        **costs,
        **fields,
        modes=modes,
        cache=cache,
        input_tokens_histogram=TokenHistogram.of(workload.inputs),
        assumptions=list(assumptions),
    )


def _token_fields(workload: Workload, band: Decimal) -> dict[str, Any]:
    """The job's token totals with their 95% intervals (the input one widened by the tokenizer's band),
    and the per-request means (ModelEstimate's fields)."""
    in_total, in_ci = workload.scaled_total(workload.inputs)
    in_ci = widened(in_total, in_ci, band)
    out_total, out_ci = workload.scaled_total(workload.outputs)
    in_stats = TokenStats.of(workload.inputs)
    out_stats = TokenStats.of(workload.outputs)
    return {
        "input_tokens": in_total,
        "output_tokens": out_total,
        "input_tokens_ci95": in_ci,
        "output_tokens_ci95": out_ci,
        "input_tokens_per_request": round(in_stats.mean, 2),
        "output_tokens_per_request": round(out_stats.mean, 2),
        "max_input_tokens": in_stats.max,
    }


def _token_method(tok: Tokenizer, tokens: Override | None, counts: TokenCounts) -> tuple[Any, str, Decimal]:
    """How the counts were made (method, label, band), widened where parts of the requests (structured-output
    schemas, hosted tools, files) have no published rule."""
    if tokens is not None:
        method, label, band = tokens.method, tokens.label, tokens.band
    else:
        method, label, band = tok.method, band_label(tok), tok.band
    return with_approximated(method, label, band, counts.approximated, sum(counts.inputs))


def _tokenizer_fields(tok: Tokenizer, tokens: Override | None, counts: TokenCounts) -> dict[str, Any]:
    """How the tokens were counted (the table's encoding, or what replaced it) and the images assumed."""
    method, label, band = _token_method(tok, tokens, counts)
    return {
        "token_method": method,
        "token_method_label": label,
        "token_band": band,
        "tokenizer": tokens.engine if tokens is not None and tokens.engine else tok.encoding,
        "tokenizer_factor": _factor(tok, tokens),
        "assumed_images": counts.assumed_images,
        "assumed_image_size": tok.images.assumed_size if tok.images is not None and counts.assumed_images else None,
    }


def _cost_fields(
    r: ResolvedModel, workload: Workload, band: Decimal, cache: CacheAssumption | None, batch_prices: PriceSet | None
) -> dict[str, Any]:
    """Realtime cost, batch cost when there is a batch price, and what batch saves (ModelEstimate's fields)."""
    rt_cost, rt_ci, rt_range = _costs(workload, r.model.realtime, band, cache)
    fields: dict[str, Any] = {
        "realtime_cost_usd": rt_cost, "realtime_cost_ci95": rt_ci, "realtime_cost_range": rt_range,
        "batch_cost_usd": None, "batch_cost_ci95": None, "batch_cost_range": None,
        "savings_usd": None, "savings_pct": None,
    }
    if batch_prices is not None:
        b_cost, b_ci, b_range = _costs(workload, batch_prices, band, cache, _batch_cache_prices(r, batch_prices, cache))
        savings = rt_cost - b_cost
        pct = float(savings / rt_cost * 100) if rt_cost else 0.0
        fields.update(batch_cost_usd=b_cost, batch_cost_ci95=b_ci, batch_cost_range=b_range, savings_usd=savings,
                      savings_pct=round(pct, 2))
    return fields


def _mode_fields(
    r: ResolvedModel, workload: Workload, band: Decimal, cache: CacheAssumption | None, verdict: Eligibility,
    costs: dict[str, Any], t: TimingOptions,
) -> dict[str, ModeEstimate]:
    """Every mode asked about, with its cost: standard and batch are the realtime and batch costs above; flex
    and priority are priced at their own rates (their own cached rates too), flex with its refused share."""
    out: dict[str, ModeEstimate] = {}
    std = (costs["realtime_cost_usd"], costs["realtime_cost_ci95"], costs["realtime_cost_range"])
    for name in t.mode or MODES:
        offer = mode_offer(r, verdict, name, sheddable=t.sheddable)
        if name == "standard":
            cost: tuple[Any, Any, Any] = std
        elif name == "batch":
            cost = (costs["batch_cost_usd"], costs["batch_cost_ci95"], costs["batch_cost_range"])
        else:
            prices = mode_prices(r, name) if offer.offered else None
            cost = _costs(workload, prices, band, cache) if prices is not None else (None, None, None)
        if cost[0] is not None:
            offer = offer.model_copy(update={"cost_usd": cost[0], "cost_ci95": cost[1], "cost_range": cost[2]})
        if offer.sheddable:
            offer = with_fallback(offer, std[0], std[2], std[1], t.flex_refused)
        out[name] = offer
    return out


def _no_mode_asked(modes: dict[str, ModeEstimate]) -> list[str]:
    """Why the job cannot run when no mode asked about (`--mode`) qualifies for it: the first reason of each,
    so that the verdict, the plan and the exit code say so like any other job that cannot run."""
    if any(m.qualifies for m in modes.values()):
        return []
    why = "; ".join(f"{name}: {m.reasons[0] if m.reasons else m.price_basis}" for name, m in modes.items())
    return [f"no mode asked about (--mode {','.join(modes)}) can run it ({why})"]


def _verdict_fields(verdict: Eligibility) -> dict[str, Any]:
    """The model's verdict (planner.plan.eligibility) as ModelEstimate's fields; `cannot_run` is what stops
    the job at all, so the model is never recommended."""
    over_ctx, over_out = verdict.over_context_window, verdict.over_max_output
    return {
        "batch_price_basis": verdict.basis,
        "batch_eligible": verdict.qualifies,
        "runs": verdict.runs,
        "reasons": list(verdict.reasons),
        "over_context_window": OverLimit(count=over_ctx.count, first_ids=list(over_ctx.first_ids)),
        "over_max_output": OverLimit(count=over_out.count, first_ids=list(over_out.first_ids)),
        "cannot_run": list(verdict.blocking),
    }
