"""When will it be done? Batch turnaround (files, queue waves, p50/p90/worst) and realtime duration.

Pure functions over the price tables' Pydantic models; nothing here reads files or prints.

Batch: a job is cut into files by the vendor's per-file limits (requests, bytes), and into sequential
*waves* by the tier's queue limit (OpenAI/Gemini/Azure: enqueued input tokens; Anthropic: queued
requests): wave k+1 can only be enqueued once wave k has drained. Each wave takes the vendor's
per-batch turnaround, so the job takes `waves × p50` (typical), `waves × p90`, and at worst
`waves × expiry` (None when the vendor never expires a job, e.g. Azure). The per-wave figures are the
published measurements recorded in the table (with their source), or the user's own history.

Realtime (providers.md §14): minutes ≈ max(requests / RPM, tokens / TPM, input / ITPM, output / OTPM,
requests × latency / concurrency). OpenAI's TPM counts input and output together, and the limiter
reserves each request's `max_tokens`; Anthropic limits input (ITPM) and output (OTPM) separately.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from planner.core.clock import today
from planner.plan.eligibility import Eligibility, eligibility
from planner.prices import pricing
from planner.prices.pricing import ModelEntry, PriceTable, RateLimits, ResolvedModel
from planner.store.history import Observed

#: Seconds one synchronous request takes when the caller gives no `latency_s`: a fixed overhead plus
#: the output at a typical decode speed. Stated in the output whenever it is used.
DEFAULT_LATENCY_BASE_S = 1.0
DEFAULT_DECODE_TOKENS_PER_S = 50.0
#: Bytes of JSONL envelope around each request body (custom_id, method, url) when sizing batch files.
ENVELOPE_BYTES = 90

NO_GUARANTEE = (
    "No vendor guarantees batch turnaround under peak load: the window is a target, and requests "
    "unfinished at expiry are cancelled (completed ones are billed)."
)

RealtimeBound = Literal["rpm", "tpm", "itpm", "otpm", "concurrency", "unknown tier limits"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


def format_hours(hours: float | None) -> str:
    """Hours for people, as every output writes them (planner.core.units.duration): '25 min', '6 h', '5.6 d'."""
    from planner.core.units import duration

    return duration(hours)


class BatchTurnaround(_Model):
    supported: bool
    files: int | None = None
    requests_per_file: int | None = None
    bytes_per_file: int | None = None
    waves: int | None = None
    p50_hours: float | None = None
    p90_hours: float | None = None
    worst_hours: float | None = None
    per_wave_p50_hours: float | None = None
    per_wave_p90_hours: float | None = None
    per_wave_worst_hours: float | None = None
    creation_hours: float | None = None
    bound_by: str
    figures_source: str | None = None
    observed: bool = False
    never_expires: bool = False
    notes: list[str] = Field(default_factory=list)


class RealtimeDuration(_Model):
    hours: float | None
    bound_by: RealtimeBound
    tier: str | None
    minutes_by_limit: dict[str, float] = Field(default_factory=dict)
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    concurrency: int | None = None
    latency_s: float | None = None
    notes: list[str] = Field(default_factory=list)


class Turnaround(_Model):
    tier: str | None
    batch: BatchTurnaround
    realtime: RealtimeDuration
    notes: list[str] = Field(default_factory=list)
    #: the synchronous modes beside standard (flex, priority) under their own limits and latency
    by_mode: dict[str, RealtimeDuration] = Field(default_factory=dict)


def tier_key(name: str) -> str:
    """A tier name as people spell it: `Tier 1`, `tier-1`, `tier1` and a bare `1` are one tier."""
    key = "".join(ch for ch in name.lower() if ch.isalnum())
    return f"tier{key}" if key.isdigit() else key


def tier_names(table: PriceTable) -> list[str]:
    """Every tier a table knows: its own, then any that only some models publish."""
    return list(dict.fromkeys([*table.rate_limits, *(n for m in table.models for n in (m.rate_limits or {}))]))


def match_tier(names: list[str], tier: str) -> str | None:
    """The tier in `names` that `tier` spells (loosely, see `tier_key`), or None."""
    return next((n for n in names if tier_key(n) == tier_key(tier)), None)


def find_tier(table: PriceTable, model: ModelEntry, tier: str | None) -> tuple[str | None, RateLimits | None, str]:
    """The tier asked for (or the table's default), its limits (model override first), and a note.

    Tier names match loosely: "tier-1", "Tier 1" and "tier1" are the same tier.
    """
    names = list(dict.fromkeys([*(model.rate_limits or {}), *table.rate_limits]))
    if tier is None:
        tier = table.default_tier
        if tier is None:
            if not names:
                return None, None, f"{table.name} publishes no rate-limit tiers in this table"
            return None, None, f"no --tier given and {table.name} has no default tier (known: {', '.join(names)})"
    chosen = match_tier(names, tier)
    if chosen is None:
        known = f" (known: {', '.join(names)})" if names else ""
        return tier, None, f"tier '{tier}' is not in {table.name}'s table{known}"
    limits = (model.rate_limits or {}).get(chosen) or table.rate_limits.get(chosen)
    return chosen, limits, ""


def _ceil_div(a: int, b: int) -> int:
    return max(1, math.ceil(a / b)) if a > 0 else 1


def _hours(value: float | Decimal | None) -> float | None:
    return None if value is None else round(float(value), 2)


def default_latency_s(output_tokens_per_request: float) -> float:
    return DEFAULT_LATENCY_BASE_S + output_tokens_per_request / DEFAULT_DECODE_TOKENS_PER_S


def batch_turnaround(
    table: PriceTable,
    model: ModelEntry,
    limits: RateLimits | None,
    tier_note: str,
    *,
    requests: int,
    input_tokens: int,
    payload_bytes: int | None,
    observed: Observed | None = None,
    verdict: Eligibility | None = None,
) -> BatchTurnaround:
    """The batch job's files, queue waves and times (see the module docstring), each note saying what the
    figures assume."""
    verdict = verdict or eligibility(ResolvedModel(table, model, model.id), today())
    if not verdict.batch_offered:
        bound = "no batch API" if not table.batch.supported else "model not batch-eligible"
        return BatchTurnaround(supported=False, bound_by=bound, notes=list(verdict.reasons[:1]) or [verdict.basis])
    notes: list[str] = []
    lim = table.batch.limits
    requests = max(requests, 0)
    files, file_bound = _files(lim, requests, payload_bytes, notes)
    waves, queue_bound = _waves(limits, tier_note, input_tokens, requests, notes)
    bound_by = queue_bound or (file_bound if files > 1 else "none (one file, one wave)")
    if lim.concurrent_batches and files > lim.concurrent_batches * waves:
        waves = math.ceil(files / lim.concurrent_batches)
        bound_by = f"{lim.concurrent_batches} concurrent batches"
    files = max(files, waves)  # every wave is made of whole files
    creation_hours = _creation_hours(limits, lim, files, notes)
    p50, p90, worst, source = _per_wave(table, observed, notes)
    extra = creation_hours or 0.0
    published = table.batch.turnaround
    return BatchTurnaround(
        supported=True,
        files=files,
        requests_per_file=math.ceil(requests / files) if requests else 0,
        bytes_per_file=math.ceil(payload_bytes / files) if payload_bytes is not None else None,
        waves=waves,
        p50_hours=_hours(waves * p50 + extra) if p50 is not None else None,
        p90_hours=_hours(waves * p90 + extra) if p90 is not None else None,
        worst_hours=_hours(waves * worst + extra) if worst is not None else None,
        never_expires=published is not None and published.expiry_hours is None,
        per_wave_p50_hours=_hours(p50),
        per_wave_p90_hours=_hours(p90),
        per_wave_worst_hours=_hours(worst),
        creation_hours=_hours(creation_hours),
        bound_by=bound_by,
        figures_source=source,
        observed=observed is not None,
        notes=notes,
    )


def _files(lim: pricing.BatchLimits, requests: int, payload_bytes: int | None, notes: list[str]) -> tuple[int, str]:
    """How many files the vendor's per-file limits (requests, bytes) cut the job into, and which bound."""
    files_by_requests = _ceil_div(requests, lim.max_requests) if lim.max_requests else 1
    files_by_bytes = 1
    if payload_bytes is not None and lim.max_bytes:
        files_by_bytes = _ceil_div(payload_bytes, lim.max_bytes)
    elif lim.max_bytes:
        notes.append("file size not known: files counted by requests only")
    files = max(files_by_requests, files_by_bytes)
    return files, "file bytes" if files_by_bytes > files_by_requests else "file requests"


def _waves(
    limits: RateLimits | None, tier_note: str, input_tokens: int, requests: int, notes: list[str]
) -> tuple[int, str | None]:
    """How many sequential waves the tier's queue limit makes, and the limit that bounds them (None when
    the job is one wave under known limits: then the files say what bounds it)."""
    if limits is None:
        notes.append(f"queue limit unknown ({tier_note}): waves assume the whole job may be enqueued at once")
        return 1, "unknown tier limits"
    by_tokens = _ceil_div(input_tokens, limits.batch_queue_tokens) if limits.batch_queue_tokens else 1
    by_requests = _ceil_div(requests, limits.batch_queue_requests) if limits.batch_queue_requests else 1
    if limits.batch_queue_tokens is None and limits.batch_queue_requests is None:
        notes.append("this tier publishes no batch queue limit: waves assume the whole job fits")
    waves = max(by_tokens, by_requests)
    if waves == 1:
        return 1, None
    if by_tokens >= by_requests:
        return waves, f"queue: {limits.batch_queue_tokens:,} enqueued input tokens"
    return waves, f"queue: {limits.batch_queue_requests:,} queued requests"


def _creation_hours(
    limits: RateLimits | None, lim: pricing.BatchLimits, files: int, notes: list[str]
) -> float | None:
    """The time it takes to create the batches, when the vendor limits how fast they may be created."""
    creation_hours: float | None = None
    if limits is not None and limits.batch_rpm:
        creation_hours = files / limits.batch_rpm / 60
    if lim.batches_per_hour:
        creation_hours = max(creation_hours or 0.0, (files - 1) / lim.batches_per_hour)
        if files > lim.batches_per_hour:
            notes.append(f"creating {files:,} batches takes {format_hours(files / lim.batches_per_hour)} "
                         f"at {lim.batches_per_hour:,} batches per hour")
    return creation_hours


def _per_wave(
    table: PriceTable, observed: Observed | None, notes: list[str]
) -> tuple[float | None, float | None, float | None, str | None]:
    """One wave's p50, p90 and worst hours, and where they come from: your history, else the table's
    published figures; the worst case is the vendor's expiry."""
    published: pricing.Turnaround | None = table.batch.turnaround
    p50 = p90 = worst = None
    source: str | None = None
    if published is not None:
        worst = float(published.expiry_hours) if published.expiry_hours is not None else None
    if observed is not None:
        p50, p90 = observed.p50_hours, observed.p90_hours
        source = observed.source
    elif published is not None:
        p50, p90 = float(published.p50_hours), float(published.p90_hours)
        source = published.source
    else:
        notes.append(f"{table.name}'s table records no turnaround figures: times unknown")
    if published is not None and published.expiry_hours is None:
        target = format_hours(float(published.completion_window_hours))
        notes.append(f"{table.name} never expires a batch job (target {target}): no worst case can be stated")
    elif published is not None:
        billed = "billed" if table.batch.expired_requests_billed else "not billed"
        notes.append(f"each wave expires after {format_hours(worst)}: unfinished requests are cancelled "
                     f"({billed}); completed ones are billed")
    return p50, p90, worst, source


def realtime_duration(
    table: PriceTable,
    limits: RateLimits | None,
    tier: str | None,
    tier_note: str,
    *,
    requests: int,
    input_tokens: int,
    output_tokens: int,
    reserved_output_tokens: int | None = None,
    concurrency: int | None = None,
    latency_s: float | None = None,
) -> RealtimeDuration:
    """How long the job takes sent realtime: the slowest of the tier's limits and the client's concurrency."""
    notes: list[str] = []
    minutes = _minutes_by_limit(limits, tier_note, requests, input_tokens, output_tokens, reserved_output_tokens,
                                notes)
    used_latency: float | None = None
    if concurrency is not None:
        used_latency = _latency(concurrency, latency_s, requests, output_tokens, notes)
        minutes["concurrency"] = requests * used_latency / concurrency / 60
    if not minutes:
        return RealtimeDuration(hours=None, bound_by="unknown tier limits", tier=tier, notes=notes)
    if limits is not None and not any(k in minutes for k in ("rpm", "tpm", "itpm", "otpm")):
        notes.append(f"no RPM/TPM published for this tier ({table.name})")
    if limits is None:
        notes.append("only --concurrency bounds this figure: the vendor's limits may make it slower")
    bound = cast(RealtimeBound, max(minutes, key=lambda k: minutes[k]))
    total = minutes[bound]
    return RealtimeDuration(
        hours=round(total / 60, 3),
        bound_by=bound,
        tier=tier,
        minutes_by_limit={k: round(v, 2) for k, v in minutes.items()},
        requests_per_minute=round(requests / total, 2) if total else None,
        tokens_per_minute=round((input_tokens + output_tokens) / total, 2) if total else None,
        concurrency=concurrency,
        latency_s=round(used_latency, 3) if used_latency is not None else None,
        notes=notes,
    )


def _minutes_by_limit(
    limits: RateLimits | None, tier_note: str, requests: int, input_tokens: int, output_tokens: int,
    reserved_output_tokens: int | None, notes: list[str],
) -> dict[str, float]:
    """Minutes the job takes under each of the tier's rate limits that is published."""
    if limits is None:
        notes.append(f"rate limits unknown ({tier_note})")
        return {}
    minutes: dict[str, float] = {}
    reserved = output_tokens if reserved_output_tokens is None else max(reserved_output_tokens, output_tokens)
    if limits.rpm:
        minutes["rpm"] = requests / limits.rpm
    if limits.tpm:
        minutes["tpm"] = (input_tokens + reserved) / limits.tpm
        if reserved > output_tokens:
            notes.append("TPM counts input + each request's max_tokens (the limiter reserves it)")
    if limits.itpm:
        minutes["itpm"] = input_tokens / limits.itpm
    if limits.otpm:
        minutes["otpm"] = output_tokens / limits.otpm
    return minutes


def _latency(concurrency: int, latency_s: float | None, requests: int, output_tokens: int, notes: list[str]) -> float:
    """Seconds per synchronous request: the caller's, else the default for the output length (stated)."""
    if concurrency < 1:
        from planner.core.errors import UsageError

        raise UsageError("--concurrency must be 1 or more")
    if latency_s is not None:
        return latency_s
    per_req = output_tokens / requests if requests else 0.0
    used = default_latency_s(per_req)
    notes.append(
        f"per-request latency assumed {used:.1f}s ({DEFAULT_LATENCY_BASE_S:g}s + "
        f"{per_req:,.0f} output tokens at {DEFAULT_DECODE_TOKENS_PER_S:g} tokens/s)"
    )
    return used


def estimate_turnaround(
    table: PriceTable,
    model: ModelEntry,
    *,
    requests: int,
    input_tokens: int,
    output_tokens: int,
    payload_bytes: int | None = None,
    tier: str | None = None,
    concurrency: int | None = None,
    latency_s: float | None = None,
    observed: Observed | None = None,
    reserved_output_tokens: int | None = None,
    verdict: Eligibility | None = None,
) -> Turnaround:
    """Batch ETA and realtime duration of a job on one model. Stable API (also used for batch-file ETAs).

    Arguments (all counts are for the whole job, or for one batch file when sizing a single file):
      table, model: the provider's `PriceTable` and the `ModelEntry` (limits, tiers, turnaround figures).
      requests: number of requests.  input_tokens / output_tokens: their totals (output as assumed).
      payload_bytes: approximate size of the batch JSONL (None: files are counted by requests only).
      tier: the user's usage tier (matched loosely; None = the table's `default_tier`). The model's own
        `rate_limits` override the provider's for that tier. Unknown tiers give unknown limits, stated.
      concurrency: parallel synchronous requests the caller will run (None: no client-side bound).
      latency_s: seconds per synchronous request (None: `default_latency_s(output per request)`).
      observed: per-batch p50/p90 from the user's history; replaces the published figures when given.
      reserved_output_tokens: total `max_tokens` the OpenAI-style limiter reserves against TPM
        (None: the output tokens).
      verdict: the model's `planner.plan.eligibility.eligibility()` on the plan's date (None: today's); a
        model without a batch offer gets `batch.supported` False with the reason.
    Returns a `Turnaround` with `batch` (files, waves, p50/p90/worst hours, bound_by, notes) and
    `realtime` (hours, bound_by: rpm | tpm | itpm | otpm | concurrency | unknown tier limits).
    """
    name, limits, note = find_tier(table, model, tier)
    batch = batch_turnaround(
        table, model, limits, note,
        requests=requests, input_tokens=input_tokens, payload_bytes=payload_bytes, observed=observed,
        verdict=verdict,
    )
    realtime = realtime_duration(
        table, limits, name, note,
        requests=requests, input_tokens=input_tokens, output_tokens=output_tokens,
        reserved_output_tokens=reserved_output_tokens, concurrency=concurrency, latency_s=latency_s,
    )
    notes = [note] if note else []
    if (batch.supported and batch.p50_hours is not None and realtime.hours is not None
            and batch.p50_hours > realtime.hours):
        notes.append(
            f"batch is slower than realtime here: {batch.waves:,} wave(s) × "
            f"{format_hours(batch.per_wave_p50_hours)} = {format_hours(batch.p50_hours)} typical, against "
            f"{format_hours(realtime.hours)} sent realtime"
        )
    return Turnaround(tier=name, batch=batch, realtime=realtime, notes=notes)
