"""The row a batch is written and checked against, and its prices: the vendor's limits per file, the model as
the vendor you send to serves it, and requests counted and priced with `estimate()`'s own pieces (same
tokenizer, same output assumption), so a manifest's totals equal `estimate()` on the prepared lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from planner.batch.manifest import Eta, Limits
from planner.core.clock import today
from planner.core.errors import BatchplanError, UnknownModelError, UsageError
from planner.core.request import Request
from planner.prices.pricing import BatchLimits, PriceBook, PriceTable, ResolvedModel
from planner.vendors import Vendor, get_vendor, list_vendors

LIMIT_FIELDS = ("max_requests", "max_bytes", "max_line_bytes", "min_requests", "max_embedding_inputs")

#: Price-table provider ids that differ from the vendor's name (`google` → `gemini`), from the vendor modules.
PROVIDER_VENDOR = {get_vendor(n).provider: n for n in list_vendors() if get_vendor(n).provider != n}


def resolve_limits(
    vendor: Vendor, table: PriceTable | ResolvedModel | None, *, max_requests: int | None = None,
    max_bytes: int | None = None,
) -> Limits:
    """Per-file limits: the price table of the vendor you send to first (never the table a model name
    happened to resolve in), providers.md defaults where it is silent, then the user's smaller
    `--max-requests`/`--max-bytes` (never above the vendor's)."""
    if isinstance(table, ResolvedModel):
        table = table.table
    table_limits = table.batch.limits if table is not None else BatchLimits()
    values: dict[str, int | None] = {}
    sources: dict[str, str] = {}
    for name in LIMIT_FIELDS:
        table_value = getattr(table_limits, name)
        if table_value is not None:
            values[name], sources[name] = table_value, "table"
        elif name in vendor.default_limits:
            values[name], sources[name] = vendor.default_limits[name], "providers.md default"
        else:
            values[name] = None
    for name, wanted in (("max_requests", max_requests), ("max_bytes", max_bytes)):
        if wanted is None:
            continue
        if wanted < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be 1 or more")
        limit = values[name]
        if limit is not None and wanted > limit:
            raise UsageError(f"--{name.replace('_', '-')} {wanted:,} is above {vendor.name}'s limit of {limit:,}")
        values[name], sources[name] = wanted, "option"
    return Limits(sources=sources, **values)


def resolve_model(book: PriceBook, model: str, vendor: Vendor) -> tuple[ResolvedModel, list[str]]:
    """The row of the vendor you send to that serves `model`: its prices, limits and counting rules.

    Raises UsageError (exit 2) when that vendor's table has no row for the model (`prepare --vendor
    anthropic -m gpt-4o-mini`), naming where the model does resolve."""
    provider = vendor.provider
    if provider not in book.tables:  # e.g. only the user's own tables are loaded: price where the name resolves
        resolved = book.resolve(model)
        return resolved, [*resolved.notes, f"priced with the {resolved.table.label} table "
                                           f"({vendor.name} has no price table loaded)"]
    head, sep, rest = model.partition("/")
    pinned = sep and (head in book.tables or head in book.missing)
    try:
        if pinned and head != provider:
            resolved = book.resolve(model)
            if resolved.table.provider != provider:
                raise UnknownModelError(model, [], provider=provider)
        else:
            resolved = book.resolve(rest if pinned else model, provider=provider)
    except UnknownModelError as exc:
        try:
            elsewhere: ResolvedModel | None = book.resolve(model)
        except BatchplanError:
            elsewhere = None
        if elsewhere is None:
            raise exc from None
        other = PROVIDER_VENDOR.get(elsewhere.table.provider, elsewhere.table.provider)
        raise UsageError(
            f"{vendor.name} does not serve model '{model}' (it resolves to {elsewhere.label}: use --vendor {other})"
        ) from None
    notes = list(resolved.notes)
    if resolved.table.provider != provider:
        notes.append(f"priced with the {resolved.table.label} table ({provider}'s table has no row for '{model}')")
    return resolved, notes


def bare_model(model: str, book: PriceBook) -> str:
    """The model as a vendor's line names it: without a `provider/` prefix that names a price table."""
    head, sep, rest = model.partition("/")
    return rest if sep and (head in book.tables or head in book.missing) else model


@dataclass
class Priced:
    """Counts and costs of a group of requests, the way `estimate()` computes them."""

    requests: int
    input_tokens: int
    output_tokens: int
    realtime_cost: Decimal
    batch_cost: Decimal | None
    inputs: list[int]
    outputs: list[int]
    ids: list[str]
    reasons: list[str]
    #: the counted requests' images billed at an assumed size, and the note that says so
    assumed_images: int = 0
    assumed_note: str | None = None


def price_requests(
    requests: Sequence[Request], resolved: ResolvedModel, assumption: Any, as_of: date, path: str
) -> Priced:
    """Count and price requests with estimate()'s own pieces (same tokenizer, same output assumption)."""
    from planner.count.workload import Scaling
    from planner.plan.estimate import (
        assumed_images_note,
        count_dataset,
        estimate_one,
        in_memory_counts,
        tokenizer_key,
    )

    tok = resolved.tokenizer
    key = tokenizer_key(tok)
    counts, ids = count_dataset(requests, {key: tok}, assumption, path)
    mine, over = in_memory_counts(resolved, counts[key], requests, assumption)  # ctok for Claude, as estimate()
    n = len(ids)
    one = estimate_one(resolved, mine, ids, Scaling(job_requests=n, sampled=n), as_of, tokens=over)
    return Priced(
        requests=n,
        input_tokens=one.input_tokens,
        output_tokens=one.output_tokens,
        realtime_cost=one.realtime_cost_usd,
        batch_cost=one.batch_cost_usd,
        inputs=list(mine.inputs),
        outputs=list(mine.outputs),
        ids=list(ids),
        reasons=one.reasons,
        assumed_images=one.assumed_images,
        assumed_note=assumed_images_note(one),
    )


def batch_eta(resolved: ResolvedModel, *, requests: int, input_tokens: int, output_tokens: int, payload_bytes: int,
              tier: str | None, as_of: date | None = None) -> Eta | None:
    """The batch turnaround of this much work (None when the model has no batch API)."""
    from planner.plan.eligibility import eligibility
    from planner.plan.turnaround import estimate_turnaround

    t = estimate_turnaround(
        resolved.table, resolved.model, requests=requests, input_tokens=input_tokens, output_tokens=output_tokens,
        payload_bytes=payload_bytes, tier=tier, verdict=eligibility(resolved, as_of or today()),
    )
    if not t.batch.supported:
        return None
    return Eta(p50_hours=t.batch.p50_hours, p90_hours=t.batch.p90_hours, worst_hours=t.batch.worst_hours,
               waves=t.batch.waves)


def usd_text(value: Decimal | None) -> str | None:
    """A cost as the manifest writes it (a decimal string), None when there is none."""
    from planner.core.money import usd

    return None if value is None else usd(value)

