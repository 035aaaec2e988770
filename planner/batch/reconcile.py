"""Reconcile a finished batch: what the vendor billed, against what batchplan estimated for the same requests.

Reads what vendors return after a batch (one JSONL line per request, in any order, or batch objects with
`usage`). Each vendor module in planner/vendors/ reads its own result shape (`read_result`: OpenAI/Azure/Groq
output and error files, Anthropic Message Batches results, Gemini API output, Vertex AI predictions, Bedrock
`.jsonl.out`) into one `Result`, so nothing here depends on which vendor ran the batch.

The estimate side is the batch's own input, joined by custom_id / key / recordId: `--manifest` (what
`batchplan prepare` wrote), `--input` (any batch input or dataset batchplan reads), or the request a
Vertex/Bedrock output line carries. Both sides are priced at the batch price table in force on the
batch's date, so the difference is tokens, not prices.
"""

from __future__ import annotations

import hashlib
import json
import math
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from planner.core.clock import today
from planner.core.errors import BatchplanError, InputError, PricingError, UnknownModelError, UsageError
from planner.core.jsonsafe import loads_bounded
from planner.core.money import ZERO, per_million, usd
from planner.core.request import Request
from planner.io.inputs import Input, describe_size, open_input
from planner.prices.pricing import PriceBook, PriceSet, ResolvedModel, earliest_note, earliest_pricing, load_pricebook
from planner.read.columnar import kind_of
from planner.read.datasets import ReadOptions, open_dataset, read_requests
from planner.read.datasets import stream_requests as read_opened  # the stream of a dataset open_dataset opened
from planner.store.history import json_items  # one reading of a JSON value as batch objects, for both
from planner.vendors import Vendor, detect_vendor, get_vendor, list_vendors, parse_result
from planner.vendors.results import BatchObject, Result

#: Failed requests listed by name in the report.
FIRST_FAILURES_KEPT = 5


# ---------------------------------------------------------------------------------------------
# Reading the results


def _loads(text: str | bytes) -> Any:
    """JSON as billing data needs it: an integer past 19 digits is read as just past 64 bits (the count
    checks refuse it, no time goes on converting 5,000 digits); nesting too deep is a ValueError."""
    try:
        return loads_bounded(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _json_items(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, object) from a JSONL file (lines split on \n only: U+2028 inside a string is no line end),
    or from a JSON file holding one object, a list or a `{"data": [...]}` list page (on one line or many).
    Read once through the one way in, every line bounded; a multi-line document is held whole only up to
    the line limit."""
    with open_input(str(path), "results file") as src:
        started = False
        for raw in src:
            number = src.line
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                obj = _loads(raw)
            except ValueError as exc:
                if started or not _opens_a_document(raw, exc):
                    raise InputError(_json_problem(exc), path=src.name, line=number) from None
                yield from _document_items(src, raw, number)
                return
            started = True
            yield from json_items(f"{src.name}:{number}", obj)
        if not started:
            raise InputError("empty file: no results", path=src.name)


def _opens_a_document(raw: bytes, exc: ValueError) -> bool:
    """Whether a first line that is no JSON value on its own starts one written over several lines: it opens
    an object or list, and the parser ran out of text at its end (rather than stumbling inside it)."""
    text = raw.strip()
    return (text.startswith((b"{", b"[")) and isinstance(exc, json.JSONDecodeError)
            and exc.pos >= len(raw.decode("utf-8", "replace").rstrip()))


def _json_problem(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON: {exc.msg} (column {exc.colno})"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text (is it a results file?)"
    return f"malformed JSON: {exc}"


def _document_items(src: Input, first: bytes, number: int) -> Iterator[tuple[str, Any]]:
    """A JSON document written over several lines (a pretty-printed batch object or list page), read to its
    end within the line limit."""
    parts = [first]
    size = len(first)
    while chunk := src.read(1 << 20):
        size += len(chunk)
        if size > src.max_line:
            raise InputError(f"line {number} starts a JSON document over {describe_size(src.max_line)}, the limit "
                             "for one document: write the results as JSONL (one object per line)", path=src.name)
        parts.append(chunk)
    try:
        doc = _loads(b"".join(parts))
    except ValueError as exc:
        at = number + exc.lineno - 1 if isinstance(exc, json.JSONDecodeError) else number
        raise InputError(_json_problem(exc), path=src.name, line=at) from None
    yield from json_items(src.name, doc)


def read_results(paths: Sequence[str | Path]) -> tuple[list[Result], list[BatchObject]]:
    """Every result line and batch object of these files. A line that is no vendor's result is an error
    naming its file and line: a reconcile on the wrong file must not quietly report zeros."""
    results: list[Result] = []
    objects: list[BatchObject] = []
    for p in paths:
        path = Path(p)
        for where, obj in _json_items(path):
            try:
                found = parse_result(obj, where)
            except (ValueError, OverflowError) as exc:
                raise _error_at(where, str(exc)) from None
            if isinstance(found, BatchObject):
                objects.append(found)
            else:
                results.append(found)
    return results, objects


def _error_at(where: str, message: str) -> InputError:
    """An InputError at `where` ("file:line", "file:line: item 3", "file: item 3" or "file")."""
    head, sep, item = where.partition(": item ")
    file, _, line = head.rpartition(":")
    if line.isdigit():
        return InputError(f"item {item}: {message}" if sep else message, path=file, line=int(line))
    return InputError(f"item {item}: {message}" if sep else message, path=head)


# ---------------------------------------------------------------------------------------------
# The estimate side: the batch's input requests


@dataclass
class Planned:
    """The requests the batch was built from, keyed by their id, and how they were described."""

    requests: list[Request]
    source: str
    model: str | None = None
    vendor: str | None = None
    as_of: date | None = None
    output_assumption: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


#: The largest manifest read (`batchplan prepare` writes a few KiB per batch file).
MANIFEST_MAX_BYTES = 16 * 1024 * 1024


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest's JSON object, read once and bounded; anything else is an InputError naming it."""
    with open_input(str(path), "manifest") as src:
        raw = src.read(MANIFEST_MAX_BYTES + 1)
    if len(raw) > MANIFEST_MAX_BYTES:
        raise InputError(f"over {describe_size(MANIFEST_MAX_BYTES)}: not a batchplan manifest", path=path)
    try:
        manifest = _loads(raw.removeprefix(b"\xef\xbb\xbf"))
    except ValueError as exc:
        raise InputError(f"not a batchplan manifest: {_json_problem(exc)}", path=path) from None
    if not isinstance(manifest, dict) or "files" not in manifest or "vendor" not in manifest:
        raise InputError("not a batchplan manifest (no 'files' and 'vendor')", path=path)
    return manifest


def _manifest_field(manifest: dict[str, Any], key: str, kind: type, path: Path) -> Any:
    """A manifest field that must have this JSON type when present (None when absent or null)."""
    value = manifest.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise InputError(f"manifest field '{key}' must be a {_TYPE_WORDS[kind]}, not {json.dumps(value)[:40]}",
                         path=path)
    return value


_TYPE_WORDS: dict[type, str] = {str: "string", list: "list", dict: "JSON object"}


def _manifest_files(manifest: dict[str, Any], path: Path) -> list[Path]:
    """The batch files a manifest lists: plain names of regular files beside it (no path, NUL or FIFO)."""
    files = _manifest_field(manifest, "files", list, path)
    out: list[Path] = []
    for entry in files or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        if (not isinstance(name, str) or name in ("", ".", "..") or any(c in name for c in "/\\\x00")
                or len(name) > 255):
            raise InputError(f"manifest lists a bad file entry {json.dumps(entry, ensure_ascii=True)[:80]}",
                             path=path)
        file = path.parent / name
        try:
            regular = stat.S_ISREG(file.stat().st_mode)
        except OSError:
            raise InputError(f"the batch file '{name}' the manifest lists is not beside it", path=path) from None
        if not regular:
            raise InputError(f"the batch file '{name}' the manifest lists is not a regular file", path=path)
        out.append(file)
    if not out:
        raise InputError("the manifest lists no batch files", path=path)
    return out


def planned_from_manifest(path: str | Path) -> Planned:
    """The requests of the files a `batchplan prepare` manifest lists (read from beside the manifest)."""
    path = Path(path)
    manifest = _read_manifest(path)
    vendor = _manifest_field(manifest, "vendor", str, path)
    if vendor not in list_vendors():
        raise InputError(f"manifest names an unknown vendor {json.dumps(vendor)[:60]}", path=path)
    rules = get_vendor(vendor)
    requests: list[Request] = []
    for file in _manifest_files(manifest, path):
        with open_input(str(file), "batch file") as src:
            requests.extend(_vendor_requests(src, rules))
    as_of = _manifest_field(manifest, "as_of", str, path)
    try:
        day = date.fromisoformat(as_of) if as_of is not None else None
    except ValueError:
        raise InputError(f"manifest field 'as_of' is not a date: {json.dumps(as_of)[:40]}", path=path) from None
    return Planned(
        requests=requests, source=str(path), model=_manifest_field(manifest, "model", str, path) or None,
        vendor=rules.name, as_of=day, output_assumption=_manifest_field(manifest, "output_assumption", dict, path),
    )


def _vendor_requests(src: Input, rules: Vendor) -> list[Request]:
    """Every request of one vendor batch file, in order; a line that is not that vendor's is an error."""
    requests: list[Request] = []
    for raw in src:
        number = src.line
        if not raw.strip():
            continue
        try:
            obj = _loads(raw)
        except ValueError as exc:
            raise InputError(_json_problem(exc), path=src.name, line=number) from None
        parsed = rules.parse_line(obj, number)
        if parsed.request is None:
            raise InputError("; ".join(parsed.problems), path=src.name, line=number)
        requests.append(parsed.request)
    return requests


def planned_from_input(path: str | Path) -> Planned:
    """The requests of a batch input file of any vendor (or any dataset batchplan reads, ids from its rows).
    The file is opened and read once: a FIFO, `-` (standard input) or `<(cmd)` works like a file."""
    path = str(path)
    if kind_of(path) is not None:  # Parquet / Arrow: read by path, never a stream
        requests = list(read_requests(path, ReadOptions())[1])
        return Planned(requests=requests, source=path, model=next((r.model for r in requests if r.model), None))
    fmt, src = open_dataset(path, ReadOptions())
    try:
        first = src.peek_line()
        try:
            obj = _loads(first.removeprefix(b"\xef\xbb\xbf")) if first.strip() else None
        except ValueError:
            obj = None
        vendor = detect_vendor(obj) if isinstance(obj, dict) else None
        if vendor in (None, "openai", "anthropic"):  # shapes the dataset reader knows (ids = custom_id)
            requests = list(read_opened(fmt, src, ReadOptions(), None))
        else:
            vendor = get_vendor(vendor).name
            requests = _vendor_requests(src, get_vendor(vendor))
    finally:
        src.close()
    model = next((r.model for r in requests if r.model), None)
    return Planned(requests=requests, source=src.name if path == "-" else path, model=model, vendor=vendor)


# ---------------------------------------------------------------------------------------------
# The report


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Distribution(_Frozen):
    """Per-request values: count, mean and nearest-rank percentiles."""

    requests: int
    mean: float
    p50: float
    p90: float
    p99: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution | None:
        if not values:
            return None
        xs = sorted(values)
        n = len(xs)

        def rank(q: float) -> float:
            return xs[min(n - 1, max(0, math.ceil(q * n) - 1))]

        return cls(requests=n, mean=round(math.fsum(xs) / n, 4), p50=rank(0.5), p90=rank(0.9), p99=rank(0.99),
                   min=xs[0], max=xs[-1])


class PerRequestError(_Frozen):
    """How far the estimate's input tokens were from the billed ones, request by request."""

    requests: int
    exact: int
    undercounted: int
    within_1pct: int
    relative_error: Distribution | None  # (estimated - actual) / actual, per request
    max_abs_tokens: int


class RequestCounts(_Frozen):
    results: int
    matched: int
    succeeded: int
    failed: int
    unmatched_results: int
    missing_results: int
    first_missing: list[str]


def actual_vs_estimate(estimated: int | Decimal | None, actual: int | Decimal) -> float | None:
    """(actual − estimate) / estimate × 100: how far the bill came out from the estimate, the one reading of
    every difference reconcile shows ("actual vs estimate −82%": billed 82% below the estimate). None when
    there is no estimate or it is zero."""
    if estimated is None or not estimated:
        return None
    return round(float((Decimal(actual) - Decimal(estimated)) / Decimal(estimated) * 100), 3)


class InputTokens(_Frozen):
    """`actual` is the compared requests' own prompts; `tool_use_prompt` (Gemini search grounding: what the
    model's tool calls fed back to it) is reported apart, never added into `actual`."""

    estimated: int | None
    actual: int
    billed: int
    cached: int
    cache_write: int
    tool_use_prompt: int
    actual_vs_estimate_pct: float | None
    token_method: str | None
    per_request: PerRequestError | None


class OutputTokens(_Frozen):
    estimated: int | None
    actual: int
    billed: int
    actual_vs_estimate_pct: float | None
    reasoning: int
    assumption: str | None
    estimated_distribution: Distribution | None
    actual_distribution: Distribution | None


class Costs(_Frozen):
    estimated: str | None
    actual: str
    billed: str
    actual_minus_estimate: str | None
    actual_vs_estimate_pct: float | None
    realtime_equivalent: str
    failed_rerun_estimate: str | None
    #: tool fees the results imply but no price table publishes (e.g. "search grounding"), left out of `actual`
    unpriced: list[str]


class TierPricing(_Frozen):
    """One `service_tier` the results report: how many succeeded requests, and the prices they are billed at."""

    tier: str
    requests: int
    priced_as: str
    basis: str


class Failure(_Frozen):
    custom_id: str | None
    type: str
    message: str | None


class Failures(_Frozen):
    count: int
    by_type: dict[str, int]
    billed_usd: str
    first: list[Failure]


class BatchInfo(_Frozen):
    id: str
    provider: str
    status: str
    created_at: datetime | None
    requests: int | None
    usage_input_tokens: int | None
    usage_output_tokens: int | None


class Reconciliation(_Frozen):
    """`batchplan reconcile --json`. Token counts are integers, money decimal strings (USD)."""

    vendor: str
    model: str
    resolved_model: str
    provider: str
    price_table: str
    as_of: date
    as_of_source: str
    batch_price_basis: str
    results: list[str]
    input: str | None
    requests: RequestCounts
    input_tokens: InputTokens
    output_tokens: OutputTokens
    cost_usd: Costs
    failures: Failures
    batch: BatchInfo | None
    service_tiers: list[TierPricing]
    key: str
    #: what may make the report wrong (an input that does not belong to the results, a --model of
    #: another vendor); printed as warnings
    warnings: list[str]
    notes: list[str]


@dataclass
class Matched:
    """One request of the batch with both sides: for learning (history) and per-request checks."""

    custom_id: str
    succeeded: bool
    estimated_input: int | None
    estimated_output: int | None
    actual_input: int
    actual_output: int


@dataclass
class Outcome:
    """The report plus the per-request pairs behind it (what `history.record_reconciliation` stores)."""

    report: Reconciliation
    pairs: list[Matched]
    tokenizer_key: str | None
    exact_estimate: bool
    #: why the comparison is not to be learned from, or None: the input probably does not belong to the results
    #: (errors both ways). A one-way error may be a part of every request the count misses, which is what
    #: calibration learns, so it is warned about but stored.
    questioned: str | None = None


# ---------------------------------------------------------------------------------------------
# Pricing


def _batch_rates(r: ResolvedModel) -> tuple[PriceSet, str, PriceSet | None]:
    """Batch prices, their basis, and the prices cache reads inside a batch are billed at."""
    prices, basis = r.table.batch_prices(r.model)
    if prices is None:
        return r.model.realtime, f"no batch price ({basis}): priced at realtime rates", r.model.realtime
    cache = r.table.cache
    if cache is not None and not cache.stacks_with_batch:
        return prices, basis, r.model.realtime
    if prices.cached_input is None and r.model.realtime.cached_input is not None and r.model.realtime.input:
        ratio = prices.input / r.model.realtime.input
        return prices, basis, prices.model_copy(update={"cached_input": r.model.realtime.cached_input * ratio})
    return prices, basis, None


def _cost(prices: PriceSet, cache_prices: PriceSet | None, res: Result | None, *, input_tokens: int,
          output_tokens: int) -> Decimal:
    """One request's cost at these prices: its tier by its whole input; cache reads and writes at their rates."""
    rates = prices.for_request(input_tokens)
    cached = res.cached_tokens if res else 0
    w5 = res.cache_write_tokens if res else 0
    w1h = res.cache_write_1h_tokens if res else 0
    uncached = max(0, input_tokens - cached - w5 - w1h)
    total = per_million(uncached, rates.input) + per_million(output_tokens, rates.output)
    if cached:
        cache_rates = cache_prices.for_request(input_tokens) if cache_prices else rates
        total += per_million(cached, cache_rates.cached_input if cache_rates.cached_input is not None else rates.input)
    if w5:
        total += per_million(w5, rates.cache_write if rates.cache_write is not None else rates.input)
    if w1h:
        rate = rates.cache_write_1h or rates.cache_write
        total += per_million(w1h, rate if rate is not None else rates.input)
    return total


# ---------------------------------------------------------------------------------------------
# Reconcile


@dataclass(frozen=True)
class ReconcileOptions:
    """What `reconcile()` needs beyond the result files."""

    input: str | Path | None = None
    manifest: str | Path | None = None
    model: str | None = None
    as_of: date | None = None
    prices: tuple[Path, ...] = ()
    output_tokens: int | None = None
    output_ratio: float | None = None


def _key(results: Sequence[Result], objects: Sequence[BatchObject]) -> str:
    """A stable identity of this batch (to store it once however often it is reconciled)."""
    ids = [o.id for o in objects if o.provider == "openai" or o.provider == "anthropic"]
    if ids:
        return "batch:" + ",".join(sorted(set(ids)))
    digest = hashlib.sha256()
    for part in sorted(f"{r.custom_id}\x00{r.identity}\x00{r.input_tokens}\x00{r.output_tokens}" for r in results):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
    return "results:" + digest.hexdigest()[:32]


def _as_of(opts: ReconcileOptions, objects: Sequence[BatchObject], results: Sequence[Result],
           planned: Planned | None) -> tuple[date, str]:
    if opts.as_of is not None:
        return opts.as_of, "--as-of"
    created = [o.created for o in objects if o.created is not None]
    if created:
        return min(created).date(), "the batch object's created_at"
    stamps = [r.created for r in results if r.created is not None]
    if stamps:
        return min(stamps).date(), "the earliest response timestamp in the results"
    if planned is not None and planned.as_of is not None:
        return planned.as_of, "the manifest's as_of (the results carry no date)"
    return today(), "today (nothing in the results dates the batch; pass --as-of)"


def _resolve(book: PriceBook, names: Sequence[tuple[str, str]]) -> tuple[ResolvedModel, str]:
    """The first name that resolves, trying (name, where it came from) in order. `--model` is tried alone:
    a name the user typed that no table knows is an error, never quietly replaced by the results' model."""
    tried: list[str] = []
    last: Exception | None = None
    for name, origin in names:
        try:
            return book.resolve(name), name
        except UnknownModelError as exc:
            if origin == "--model":
                raise UsageError(f"--model '{_clean(name)}' is not a model batchplan knows: {_clean(str(exc), 300)}"
                                 ) from None
            tried.append(f"'{_clean(name)}' ({origin})")
            last = exc
    if last is not None:
        raise UsageError(f"cannot price {', '.join(tried)}: {_clean(str(last), 300)}; pass --model")
    raise UsageError("the results name no model and no input or manifest gives one; pass --model")


def _assumption(opts: ReconcileOptions, planned: Planned | None) -> tuple[str, Any, str]:
    """(mode, value, description) of the estimate's output tokens."""
    if opts.output_tokens is not None and opts.output_ratio is not None:
        raise UsageError("use only one of --output-tokens and --output-ratio")
    if opts.output_tokens is not None:
        if not 0 <= opts.output_tokens <= MAX_ASSUMED_OUTPUT:
            raise UsageError(f"--output-tokens must be from 0 to {MAX_ASSUMED_OUTPUT:,} (tokens per request)")
        return "fixed", opts.output_tokens, f"{opts.output_tokens:,} output tokens per request (--output-tokens)"
    if opts.output_ratio is not None:
        if not 0 <= opts.output_ratio <= MAX_ASSUMED_RATIO:
            raise UsageError(f"--output-ratio must be a number from 0 to {MAX_ASSUMED_RATIO:,}")
        return "ratio", opts.output_ratio, f"output = {opts.output_ratio:g} × input (--output-ratio)"
    if planned is not None and planned.output_assumption:
        return _manifest_assumption(planned.output_assumption, planned.source)
    return "max_tokens", None, "each request's max_tokens (an upper bound; pass --output-tokens N to compare a guess)"


#: The largest output a manifest's assumption may state per request, and the largest output/input ratio.
MAX_ASSUMED_OUTPUT = 10**9
MAX_ASSUMED_RATIO = 1000


def _manifest_assumption(a: dict[str, Any], source: str) -> tuple[str, Any, str]:
    """A manifest's `output_assumption`, checked: fixed is a whole number of tokens, ratio a finite number,
    both within bounds (a manifest is a file the user hands us, not truth)."""
    mode, value, description = a.get("mode", "max_tokens"), a.get("value"), a.get("description")
    if mode not in ("fixed", "ratio", "max_tokens"):
        raise InputError(f"output_assumption.mode must be fixed, ratio or max_tokens, not {json.dumps(mode)[:40]}",
                         path=source)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if mode == "fixed" and not (number and isinstance(value, int) and 0 <= value <= MAX_ASSUMED_OUTPUT):
        raise InputError(f"output_assumption.value must be a whole number of tokens from 0 to {MAX_ASSUMED_OUTPUT:,} "
                         f"for mode fixed, not {json.dumps(value)[:40]}", path=source)
    if mode == "ratio" and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                and math.isfinite(value) and 0 <= value <= MAX_ASSUMED_RATIO):
        raise InputError(f"output_assumption.value must be a number from 0 to {MAX_ASSUMED_RATIO:,} for mode ratio, "
                         f"not {json.dumps(value)[:40]}", path=source)
    text = _clean(description, 200) if isinstance(description, str) and description else str(mode)
    return str(mode), value, f"{text} (from the manifest)"


def estimate_inputs(r: ResolvedModel, requests: Sequence[Request], source: str) -> tuple[list[int], str, bool]:
    """Per-request input tokens the way `estimate` counts them for this model; (counts, method, exact)."""
    from planner.count.calibration import in_memory_override
    from planner.count.tokens import band_label, unruled_parts
    from planner.plan.estimate import OutputAssumption, count_dataset, tokenizer_key

    tok = r.tokenizer
    # a part counted without a published rule (a structured-output schema, a hosted tool) is not exact
    ruled = not any(unruled_parts(req) for req in requests)
    over = in_memory_override(r, requests) if tok.method != "exact" else None
    if over is not None:  # Claude with ctok: exactly as `estimate` would (exact, or calibrated on a sample)
        return list(over.inputs), over.label, over.method == "exact" and ruled
    key = tokenizer_key(tok)
    zero = OutputAssumption(mode="fixed", value=0, description="")
    counts, _ = count_dataset(requests, {key: tok}, zero, source)
    return list(counts[key].inputs), band_label(tok), tok.method == "exact" and ruled


def _estimate_outputs(mode: str, value: Any, requests: Sequence[Request], inputs: Sequence[int]) -> list[int | None]:
    if mode == "fixed":
        return [int(value or 0)] * len(requests)
    if mode == "ratio":
        return [math.ceil(i * float(value or 0)) for i in inputs]
    return [req.max_tokens for req in requests]




# ---------------------------------------------------------------------------------------------
# reconcile, in steps: load → price the model → join → estimate → totals → notes → report


@dataclass
class _Loaded:
    """The result lines and batch objects, and the requests they are compared with (None: nothing to compare)."""

    paths: list[str]
    lines: list[Result]
    objects: list[BatchObject]
    planned: Planned | None


@dataclass
class _Pricing:
    """The model both sides are priced as, at the batch price table in force on the batch's date."""

    as_of: date
    as_of_source: str
    resolved: ResolvedModel
    model_name: str
    prices: PriceSet
    basis: str
    cache_prices: PriceSet | None
    notes: list[str]
    warnings: list[str] = field(default_factory=list)
    #: the service tiers the results report, each with the prices it is billed at
    tiers: list[TierPricing] = field(default_factory=list)
    tier_rates: dict[str, tuple[PriceSet, PriceSet | None]] = field(default_factory=dict)

    def rates_for(self, res: Result) -> tuple[PriceSet, PriceSet | None]:
        """The prices (and cache-read prices) this result is billed at: its reported tier's, else batch."""
        return self.tier_rates.get(_tier_of(res), (self.prices, self.cache_prices))


@dataclass
class _Joined:
    """Each result with its planned request (None: it matches none), and the planned ids without a result."""

    pairs: list[tuple[Result, Request | None]]
    missing: list[str]

    @property
    def unmatched(self) -> int:
        return sum(1 for _, req in self.pairs if req is None)


@dataclass
class _Estimate:
    """The estimate of the matched requests, by `id()` of the request (the join keeps the objects)."""

    inputs: dict[int, int]
    outputs: dict[int, int | None]
    method: str | None
    exact: bool
    description: str
    notes: list[str]


@dataclass
class _Totals:
    """Both sides summed: `billed` is every succeeded result, `actual` only those compared with an estimate."""

    succeeded: list[Result]
    failed: list[Result]
    compared: list[tuple[Result, Request]]
    failed_matched: list[Request]
    billed_in: int
    billed_out: int
    actual_in: int
    actual_out: int
    estimated_in: int | None
    estimated_out: int | None
    estimated_outputs: list[int]
    billed_cost: Decimal
    actual_cost: Decimal
    realtime_cost: Decimal
    estimated_cost: Decimal | None
    rerun_cost: Decimal | None
    batch: BatchInfo | None = None
    notes: list[str] = field(default_factory=list)


Pairs = list[tuple[Result, Request | None]]


def reconcile(results: Sequence[str | Path], options: ReconcileOptions | None = None, *,
              pricebook: PriceBook | None = None) -> Outcome:
    """Compare what the vendor billed for a finished batch with batchplan's estimate of the same requests.

    Raises InputError (unreadable results, input or manifest, with file and line), UsageError (conflicting
    options, a model that cannot be priced)."""
    from planner.plan.estimate import tokenizer_key

    opts = options or ReconcileOptions()
    loaded = _load(results, opts)
    pricing = _price_model(loaded, opts, pricebook)
    joined = _join(loaded.lines, loaded.planned)
    estimate = _estimate(joined.pairs, pricing.resolved, opts, loaded.planned)
    totals = _totals(joined.pairs, estimate, pricing)
    _take_batch_object(loaded, totals, pricing)
    notes = [*pricing.notes, *estimate.notes, *totals.notes, *_notes(loaded, joined, totals, estimate, pricing)]
    mismatch = _mismatch(totals.compared, estimate)
    pricing.warnings.extend(mismatch)
    report = _report(loaded, pricing, joined, estimate, totals, notes)
    return Outcome(report=report, pairs=_matched(joined.pairs, estimate),
                   tokenizer_key=tokenizer_key(pricing.resolved.tokenizer), exact_estimate=estimate.exact,
                   questioned=next((w for w in mismatch if "both ways" in w), None))


def _load(results: Sequence[str | Path], opts: ReconcileOptions) -> _Loaded:
    """The result files read, and the planned requests from --manifest, --input or the results themselves."""
    if not results:
        raise UsageError("name at least one results file")
    if opts.input is not None and opts.manifest is not None:
        raise UsageError("use either --input or --manifest, not both")
    if sum(1 for p in [*results, opts.input, opts.manifest] if p is not None and str(p) == "-") > 1:
        raise UsageError("standard input (-) can be read only once; name it once")
    lines, objects = read_results(results)
    planned: Planned | None = None
    if opts.manifest is not None:
        planned = planned_from_manifest(opts.manifest)
    elif opts.input is not None:
        planned = planned_from_input(opts.input)
    embedded = [r.request for r in lines if r.request is not None]
    if planned is None and embedded and len(embedded) == len(lines):
        planned = Planned(requests=[], source="the requests inside the results")
    if not lines and not objects:
        raise InputError("no results in the files given", path=str(results[0]))
    kinds: list[str] = sorted({r.kind for r in lines}) or sorted({o.provider for o in objects})
    if len(kinds) > 1:
        raise UsageError(f"the results mix vendors ({', '.join(kinds)}); reconcile one batch at a time")
    return _Loaded([str(p) for p in results], lines, objects, planned)


def _result_models(loaded: _Loaded) -> list[str]:
    return sorted({r.model for r in loaded.lines if r.model} | {o.model for o in loaded.objects if o.model})


def _clean(text: str, limit: int = 80) -> str:
    """A name from the user or the data, safe to print on one line (no control characters), shortened."""
    shown = "".join(c if c.isprintable() else "?" for c in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _model_names(loaded: _Loaded, opts: ReconcileOptions) -> list[tuple[str, str]]:
    """The model names to price as, in order of preference, each with where it came from (`--model`
    alone when given)."""
    if opts.model is not None:
        if not opts.model.strip():
            raise UsageError("--model is empty; name the model the batch ran on")
        return [(opts.model, "--model")]
    names: list[tuple[str, str]] = []
    if loaded.planned is not None and loaded.planned.model:
        names.append((loaded.planned.model, "the input" if opts.manifest is None else "the manifest"))
    # a Vertex row names the model as Vertex serves it ("claude-sonnet-5-5", "gemini-2.5-flash"): priced
    # at Vertex's table, not Anthropic's or the Gemini API's, which the bare name would pick
    on_vertex = bool(loaded.lines) and all(r.kind == "vertex" for r in loaded.lines)
    names.extend((f"vertex/{m}" if on_vertex and "/" not in m else m, "the results") for m in _result_models(loaded))
    return names


def _price_model(loaded: _Loaded, opts: ReconcileOptions, pricebook: PriceBook | None) -> _Pricing:
    """The batch's date, the model it ran on, and the batch prices both sides are priced at."""
    as_of, as_of_source = _as_of(opts, loaded.objects, loaded.lines, loaded.planned)
    book = pricebook or load_pricebook(as_of, user_tables=opts.prices)
    names = _model_names(loaded, opts)
    notes: list[str] = []
    try:
        resolved, model_name = _resolve(book, names)
    except PricingError:
        if pricebook is not None or not book.missing:
            raise
        book, (resolved, model_name) = earliest_pricing(as_of, lambda b: _resolve(b, names), user_tables=opts.prices)
        notes.append(earliest_note(as_of, [resolved.table.label], as_of_source))
    result_models = _result_models(loaded)
    if len(result_models) > 1:
        notes.append(f"the results name several model versions ({', '.join(map(_clean, result_models))}); all are "
                     f"priced as {resolved.model.id}")
    warnings = _vendor_warning(book, loaded, opts, resolved)
    prices, basis, cache_prices = _batch_rates(resolved)
    pricing = _Pricing(as_of, as_of_source, resolved, model_name, prices, basis, cache_prices, notes, warnings)
    _price_tiers(pricing, loaded.lines)
    return pricing


#: The price-table providers whose batches return each result shape, where the shape tells the vendor
#: (the OpenAI shape is shared by OpenAI, Azure, Groq and others, so it tells nothing).
_SHAPE_PROVIDERS = {"anthropic": ("anthropic",), "gemini": ("google",), "vertex": ("vertex",),
                    "bedrock": ("bedrock",)}


#: Providers that serve the same models under the same names (Azure runs OpenAI's; Bedrock and Vertex run
#: Claude; Vertex runs Gemini): a --model of one for results of another is no vendor mix-up.
_SAME_MODELS = ({"openai", "azure"}, {"anthropic", "bedrock", "vertex"}, {"google", "vertex"})


def _vendor_warning(book: PriceBook, loaded: _Loaded, opts: ReconcileOptions, resolved: ResolvedModel) -> list[str]:
    """A warning when `--model` is another vendor's model than the one the results come from."""
    if opts.model is None:
        return []
    theirs: set[str] = set()
    for name in _result_models(loaded):
        for which in (book, None):  # the batch's book, else today's (an old batch's vendor may have no table then)
            try:
                found = (which or load_pricebook(today(), user_tables=opts.prices)).resolve(name)
            except BatchplanError:
                continue
            theirs.add(found.table.provider)
            break
    if not theirs and loaded.lines:
        theirs = set(_SHAPE_PROVIDERS.get(loaded.lines[0].kind, ()))
    ours = resolved.table.provider
    if not theirs or any(ours in group and theirs & group for group in _SAME_MODELS) or ours in theirs:
        return []
    named = f" (they name {', '.join(map(_clean, _result_models(loaded)))})" if _result_models(loaded) else ""
    return [f"--model {_clean(opts.model)} is priced from the {resolved.table.provider} table, but these results "
            f"come from {', '.join(sorted(theirs))}{named}: priced as {resolved.model.id} anyway; is --model right?"]


#: `service_tier` values a batch result reports when it ran as an ordinary batch request, billed at batch
#: prices: OpenAI's "default" and "auto", Anthropic's "batch" and "standard" (and none at all).
BATCH_TIERS = frozenset({"default", "auto", "batch", "standard"})
#: Reported tiers priced at the table's prices of the processing mode of that name, when it gives them.
MODE_TIERS = ("flex", "priority")
NOT_REPORTED = "(not reported)"


def _tier_of(res: Result) -> str:
    tier = _clean((res.service_tier or "").strip().lower(), 40)
    return tier if tier else NOT_REPORTED


def _price_tiers(pricing: _Pricing, lines: Sequence[Result]) -> None:
    """The prices of each `service_tier` the succeeded results report (see BATCH_TIERS, MODE_TIERS): a
    mode's prices where the table gives them, else batch prices with a note that the tier is unpriced."""
    counts: dict[str, int] = {}
    for res in lines:
        if res.succeeded:
            counts[_tier_of(res)] = counts.get(_tier_of(res), 0) + 1
    table = pricing.resolved.table
    for tier, n in sorted(counts.items()):
        if tier in MODE_TIERS:
            prices, basis = table.mode_prices(pricing.resolved.model, tier)
            if prices is not None:
                pricing.tier_rates[tier] = (prices, _cache_rates(pricing.resolved, prices))
                pricing.tiers.append(TierPricing(tier=tier, requests=n, priced_as=tier, basis=basis))
                continue
            why = f"{tier} is unpriced ({basis})"
        elif tier in BATCH_TIERS or tier == NOT_REPORTED:
            said = "no tier reported" if tier == NOT_REPORTED else f"'{tier}' is what a batch request reports"
            pricing.tiers.append(TierPricing(tier=tier, requests=n, priced_as="batch",
                                             basis=f"{said}: batch prices, {pricing.basis}"))
            continue
        else:
            why = f"'{_clean(tier)}' is no tier batchplan knows"
        pricing.tiers.append(TierPricing(tier=tier, requests=n, priced_as="batch", basis=why))
        pricing.notes.append(f"{n:,} request(s) report service_tier '{_clean(tier)}': {why}, so they are priced at "
                             f"batch prices; the bill may differ")


def _cache_rates(r: ResolvedModel, prices: PriceSet) -> PriceSet | None:
    """The cache-read prices of a mode whose row gives none: the standard cache price scaled as its input."""
    if prices.cached_input is None and r.model.realtime.cached_input is not None and r.model.realtime.input:
        ratio = prices.input / r.model.realtime.input
        return prices.model_copy(update={"cached_input": r.model.realtime.cached_input * ratio})
    return None


def _join(lines: Sequence[Result], planned: Planned | None) -> _Joined:
    """Each result with its planned request (by custom_id / key / recordId, else the request the line
    carries), and the ids of planned requests that have no result."""
    by_id: dict[str, Request] = {}
    for planned_req in planned.requests if planned is not None else []:
        if planned_req.id in by_id:
            raise InputError(f"custom id '{_clean(planned_req.id)}' appears twice in the input",
                             path=planned.source if planned else None, line=planned_req.line)
        by_id[planned_req.id] = planned_req
    pairs: Pairs = []
    seen: set[str] = set()
    for res in lines:
        req: Request | None = None
        if res.custom_id is not None and res.custom_id in by_id:
            req = by_id[res.custom_id]
        elif res.request is not None and (res.custom_id is None or not by_id):
            req = res.request  # Vertex, Bedrock: the line carries its request
        if res.custom_id is not None:
            if res.custom_id in seen:
                raise _error_at(res.where, f"custom id '{_clean(res.custom_id)}' has two results")
            seen.add(res.custom_id)
        pairs.append((res, req))
    missing = [req_id for req_id in by_id if req_id not in seen] if seen else []
    return _Joined(pairs, missing)


def _estimate(pairs: Pairs, resolved: ResolvedModel, opts: ReconcileOptions, planned: Planned | None) -> _Estimate:
    """Input and output tokens of each matched request, the way `estimate` counts them for this model."""
    mode, value, description = _assumption(opts, planned)
    estimate = _Estimate({}, {}, None, False, description, [])
    matched = [req for _, req in pairs if req is not None]
    if not matched:
        return estimate
    counts, estimate.method, estimate.exact = estimate_inputs(resolved, matched, planned.source if planned else "")
    outs = _estimate_outputs(mode, value, matched, counts)
    for req, n, o in zip(matched, counts, outs, strict=True):
        estimate.inputs[id(req)] = n
        estimate.outputs[id(req)] = o
    if mode == "max_tokens" and any(o is None for o in outs):
        estimate.notes.append("some requests have no max_tokens: their estimated output is left out "
                              "(pass --output-tokens)")
    return estimate


def _totals(pairs: Pairs, est: _Estimate, pricing: _Pricing) -> _Totals:
    """Tokens and costs of both sides: billed, actual (the compared requests), estimated, and a rerun of the
    failed ones."""
    succeeded = [res for res, _ in pairs if res.succeeded]
    compared = [(res, req) for res, req in pairs if res.succeeded and req is not None]
    failed_matched = [req for res, req in pairs if not res.succeeded and req is not None]
    outs_known = [est.outputs[id(req)] for _, req in compared]
    estimated_out = sum(o for o in outs_known if o is not None) if compared and None not in outs_known else None
    estimated_in = sum(est.inputs[id(req)] for _, req in compared) if compared else None
    known = estimated_in is not None and estimated_out is not None
    return _Totals(
        succeeded=succeeded, failed=[res for res, _ in pairs if not res.succeeded], compared=compared,
        failed_matched=failed_matched,
        billed_in=sum(r.input_tokens for r in succeeded), billed_out=sum(r.output_tokens for r in succeeded),
        actual_in=sum(res.input_tokens for res, _ in compared),
        actual_out=sum(res.output_tokens for res, _ in compared),
        estimated_in=estimated_in, estimated_out=estimated_out,
        estimated_outputs=[o for o in outs_known if o is not None],
        billed_cost=_billed_tiers(pricing, succeeded),
        actual_cost=_billed_tiers(pricing, [res for res, _ in compared]),
        realtime_cost=_billed(pricing.resolved.model.realtime, pricing.resolved.model.realtime, succeeded),
        estimated_cost=_estimated_cost(pricing.prices, est, [req for _, req in compared]) if known else None,
        rerun_cost=_estimated_cost(pricing.prices, est, failed_matched) if failed_matched and all(
            est.outputs.get(id(req)) is not None for req in failed_matched) else None,
    )


def _billed_tiers(pricing: _Pricing, results: Sequence[Result]) -> Decimal:
    """What these results cost, each at the prices of the service tier it reports (batch when none)."""
    total = ZERO
    for r in results:
        prices, cache_prices = pricing.rates_for(r)
        total += _cost(prices, cache_prices, r, input_tokens=r.input_tokens, output_tokens=r.output_tokens)
    return total


def _billed(prices: PriceSet, cache_prices: PriceSet | None, results: Sequence[Result]) -> Decimal:
    """What these results cost at these prices, each with its own tokens, cache reads and writes."""
    return sum((_cost(prices, cache_prices, r, input_tokens=r.input_tokens, output_tokens=r.output_tokens)
                for r in results), ZERO)


def _estimated_cost(prices: PriceSet, est: _Estimate, requests: Sequence[Request]) -> Decimal:
    """What these requests cost at their estimated tokens (no cache: the estimate assumes none)."""
    return sum((_cost(prices, None, None, input_tokens=est.inputs[id(req)], output_tokens=est.outputs[id(req)] or 0)
                for req in requests), ZERO)


def _take_batch_object(loaded: _Loaded, totals: _Totals, pricing: _Pricing) -> None:
    """The first batch object, as the report shows it, into `totals`. Without result lines its usage totals
    are the billed side (with a note); with them, a disagreement is a note."""
    if not loaded.objects:
        return
    obj = loaded.objects[0]
    if len(loaded.objects) > 1:
        totals.notes.append(f"{len(loaded.objects)} batch objects given; the batch is dated by the earliest")
    if not loaded.lines and obj.input_tokens is not None:
        totals.billed_in = obj.input_tokens
        totals.billed_out = obj.output_tokens or 0
        whole = Result(obj.where, "openai", None, True, input_tokens=obj.input_tokens,
                       cached_tokens=obj.cached_tokens or 0, output_tokens=obj.output_tokens or 0)
        totals.billed_cost = _billed(pricing.prices, pricing.cache_prices, [whole])
        totals.notes.append("only the batch object's usage totals are known (no result lines): no per-request "
                            "view, and long-context tiers cannot be applied per request")
    elif loaded.lines and obj.input_tokens is not None and obj.input_tokens != totals.billed_in:
        totals.notes.append(f"the batch object reports {obj.input_tokens:,} input tokens, the result lines "
                            f"{totals.billed_in:,}: are all output and error files given?")
    totals.batch = BatchInfo(id=obj.id, provider=obj.provider, status=obj.status, created_at=obj.created,
                             requests=obj.requests, usage_input_tokens=obj.input_tokens,
                             usage_output_tokens=obj.output_tokens)


def _notes(loaded: _Loaded, joined: _Joined, totals: _Totals, est: _Estimate, pricing: _Pricing) -> list[str]:
    """What the report's numbers leave out: unmatched and missing results, failures, an approximate estimate."""
    notes: list[str] = []
    unmatched = joined.unmatched
    if loaded.planned is None:
        notes.append("no --input or --manifest: actual usage only, nothing to compare it with")
    elif unmatched:
        notes.append(f"{unmatched:,} result(s) match no input request (ids differ?): they are billed but not compared")
    if joined.missing:
        notes.append(f"{len(joined.missing):,} input request(s) have no result: were all output and error files given?")
    if totals.failed:
        vendor_rule = {"anthropic": "errored, canceled and expired requests are not billed (Anthropic)",
                       "openai": "failed requests are not billed; completed ones in an expired batch are",
                       }.get(loaded.lines[0].kind if loaded.lines else "", "failed requests are not billed")
        notes.append(f"{len(totals.failed):,} request(s) failed: {vendor_rule}")
    tool_use = sum(r.tool_use_prompt_tokens for r in totals.succeeded)
    if tool_use:
        notes.append(f"{tool_use:,} tool-use prompt tokens (Gemini toolUsePromptTokenCount: what the model's own "
                     "tools, search grounding or code execution, fed back to it) are reported apart: not in input "
                     "actual, not compared, not in the cost; the grounding fee is unpriced (no price table publishes "
                     "it)")
    if pricing.resolved.tokenizer.method != "exact" and not est.exact and est.method:
        notes.append(f"input estimate is {est.method}: the difference measures the approximation (stored in "
                     "history to calibrate later estimates of this model)")
    return notes


def _report(loaded: _Loaded, pricing: _Pricing, joined: _Joined, est: _Estimate, totals: _Totals,
            notes: list[str]) -> Reconciliation:
    """The report (`reconcile --json`) of the steps' outcome."""
    planned, resolved = loaded.planned, pricing.resolved
    vendor = loaded.lines[0].kind if loaded.lines else loaded.objects[0].provider
    t = totals
    return Reconciliation(
        vendor=planned.vendor if planned and planned.vendor else vendor,
        model=pricing.model_name, resolved_model=resolved.model.id, provider=resolved.table.provider,
        price_table=resolved.table.label, as_of=pricing.as_of, as_of_source=pricing.as_of_source,
        batch_price_basis=pricing.basis, results=loaded.paths,
        input=planned.source if planned else None,
        requests=RequestCounts(results=len(loaded.lines), matched=len(t.compared) + len(t.failed_matched),
                               succeeded=len(t.succeeded), failed=len(t.failed),
                               unmatched_results=joined.unmatched, missing_results=len(joined.missing),
                               first_missing=joined.missing[:5]),
        input_tokens=_input_tokens(t, est),
        output_tokens=_output_tokens(t, est),
        cost_usd=_costs(t, loaded.lines),
        failures=Failures(count=len(t.failed), by_type=_by_type(t.failed), billed_usd="0.000000",
                          first=[Failure(custom_id=r.custom_id, type=r.failure or "error", message=r.message)
                                 for r in t.failed[:FIRST_FAILURES_KEPT]]),
        batch=t.batch, service_tiers=pricing.tiers if any(r.service_tier for r in loaded.lines) else [],
        key=_key(loaded.lines, loaded.objects), warnings=pricing.warnings,
        notes=notes,
    )


def _input_tokens(t: _Totals, est: _Estimate) -> InputTokens:
    return InputTokens(
        estimated=t.estimated_in, actual=t.actual_in if t.compared else t.billed_in, billed=t.billed_in,
        cached=sum(r.cached_tokens for r in t.succeeded),
        cache_write=sum(r.cache_write_tokens + r.cache_write_1h_tokens for r in t.succeeded),
        tool_use_prompt=sum(r.tool_use_prompt_tokens for r in t.succeeded),
        actual_vs_estimate_pct=actual_vs_estimate(t.estimated_in, t.actual_in), token_method=est.method,
        per_request=_per_request_error(t.compared, est))


def _output_tokens(t: _Totals, est: _Estimate) -> OutputTokens:
    return OutputTokens(
        estimated=t.estimated_out, actual=t.actual_out if t.compared else t.billed_out, billed=t.billed_out,
        actual_vs_estimate_pct=actual_vs_estimate(t.estimated_out, t.actual_out),
        reasoning=sum(r.reasoning_tokens for r in t.succeeded), assumption=est.description if t.compared else None,
        estimated_distribution=Distribution.of(t.estimated_outputs),
        actual_distribution=Distribution.of([r.output_tokens for r in t.succeeded]))


def _costs(t: _Totals, lines: Sequence[Result]) -> Costs:
    actual = t.actual_cost if t.compared else t.billed_cost
    grounded = sum(1 for r in t.succeeded if r.tool_use_prompt_tokens)
    return Costs(
        estimated=usd(t.estimated_cost) if t.estimated_cost is not None else None,
        actual=usd(actual), billed=usd(t.billed_cost),
        actual_minus_estimate=usd(actual - t.estimated_cost) if t.estimated_cost is not None else None,
        actual_vs_estimate_pct=actual_vs_estimate(t.estimated_cost, actual) if t.compared else None,
        realtime_equivalent=usd(t.realtime_cost),
        failed_rerun_estimate=usd(t.rerun_cost) if t.rerun_cost is not None else None,
        unpriced=[f"search grounding ({grounded:,} request(s) used tools)"] if grounded else [])


def _per_request_error(compared: Sequence[tuple[Result, Request]], est: _Estimate) -> PerRequestError | None:
    """How far each compared request's estimated input was from its billed input."""
    if not compared:
        return None
    errs = [est.inputs[id(req)] - res.input_tokens for res, req in compared]
    rels = [e / res.input_tokens for e, (res, _) in zip(errs, compared, strict=True) if res.input_tokens]
    return PerRequestError(
        requests=len(compared), exact=sum(1 for e in errs if e == 0), undercounted=sum(1 for e in errs if e < 0),
        within_1pct=sum(1 for x in rels if abs(x) <= 0.01),
        relative_error=Distribution.of([round(x, 6) for x in rels]), max_abs_tokens=max(abs(e) for e in errs),
    )


#: An exactly counted request whose bill differs from its count by more than this share is "off"; when most
#: compared requests are off, or their median is off by more than MISMATCH_MEDIAN, the input is questioned.
#: Rounding and per-request framing move an exact count by a few tokens, never by a quarter.
MISMATCH_SHARE = 0.25
MISMATCH_MEDIAN = 0.20
#: For an approximate or calibrated count, the same questions with wider margins (its band is ±15% at most).
MISMATCH_SHARE_APPROX = 0.60
MISMATCH_MEDIAN_APPROX = 0.50


def _mismatch(compared: Sequence[tuple[Result, Request]], est: _Estimate) -> list[str]:
    """A warning when the estimate and the bills disagree far beyond what counting explains: the input file
    probably is not the one these results came from (same custom_ids, other prompts), or a part of every
    request goes uncounted. Errors both ways point at the first; all one way, at the second. Each request's
    difference reads as everywhere in the report: actual vs estimate."""
    rels = sorted((res.input_tokens - est.inputs[id(req)]) / est.inputs[id(req)]
                  for res, req in compared if est.inputs[id(req)])
    if len(rels) < 2:
        return []
    share, median_limit = (MISMATCH_SHARE, MISMATCH_MEDIAN) if est.exact else (
        MISMATCH_SHARE_APPROX, MISMATCH_MEDIAN_APPROX)
    off = [x for x in rels if abs(x) > share]
    median = rels[len(rels) // 2] if len(rels) % 2 else (rels[len(rels) // 2 - 1] + rels[len(rels) // 2]) / 2
    if len(off) * 2 <= len(rels) and abs(median) <= median_limit:
        return []
    how = (f"{len(off):,} of {len(rels):,} {'exactly counted' if est.exact else 'compared'} requests were billed "
           f"over {share:.0%} away from their estimate (median actual vs estimate {median:+.0%})")
    over, under = sum(1 for x in off if x > 0), sum(1 for x in off if x < 0)
    if over and under:
        return [f"{how}, both ways: the input file probably does not belong to these results (same custom_ids, "
                "other prompts?); the comparison and what history learns from it are not meaningful"]
    return [f"{how}, all {'above' if over or median > 0 else 'below'} it: the input file may not belong to these "
            "results, or a part of every request is not counted; check the input before trusting the comparison"]


def _by_type(failed: Sequence[Result]) -> dict[str, int]:
    by_type: dict[str, int] = {}
    for res in failed:
        by_type[res.failure or "error"] = by_type.get(res.failure or "error", 0) + 1
    return by_type


def _matched(pairs: Pairs, est: _Estimate) -> list[Matched]:
    """Every result with both sides (history learns from these): matched ones first, then the unmatched."""
    return [
        Matched(custom_id=req.id, succeeded=res.succeeded, estimated_input=est.inputs.get(id(req)),
                estimated_output=est.outputs.get(id(req)), actual_input=res.input_tokens,
                actual_output=res.output_tokens)
        for res, req in pairs if req is not None
    ] + [
        Matched(custom_id=res.custom_id or res.where, succeeded=res.succeeded, estimated_input=None,
                estimated_output=None, actual_input=res.input_tokens, actual_output=res.output_tokens)
        for res, req in pairs if req is None
    ]
