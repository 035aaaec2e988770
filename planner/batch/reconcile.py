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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from planner.core.clock import today
from planner.core.errors import InputError, PricingError, UnknownModelError, UsageError
from planner.core.money import ZERO, per_million, usd
from planner.core.request import Request
from planner.prices.pricing import PriceBook, PriceSet, ResolvedModel, earliest_note, earliest_pricing, load_pricebook
from planner.read.datasets import ReadOptions, open_binary, read_requests
from planner.vendors import Vendor, detect_vendor, get_vendor, list_vendors, parse_result
from planner.vendors.results import BatchObject, Result, as_text

#: Failed requests listed by name in the report.
FIRST_FAILURES_KEPT = 5


# ---------------------------------------------------------------------------------------------
# Reading the results


def _json_items(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, object) from a JSONL file, or from a JSON file holding one object, a list or a list page."""
    with open_binary(str(path), "results file") as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (is it a results file?)", path=path) from None
    if not text.strip():
        raise InputError("empty file: no results", path=path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        pass
    else:
        if isinstance(doc, dict) and "\n" not in text.strip():  # a one-line JSONL file
            first_line = text[: len(text) - len(text.lstrip())].count("\n") + 1
            yield f"{path}:{first_line}", doc
            return
        yield from _doc_items(path, doc)
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{number}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON: {exc.msg} (column {exc.colno})", path=path, line=number) from None


def _doc_items(path: Path, doc: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(doc, dict) and isinstance(doc.get("data"), list) and "id" not in doc:
        doc = doc["data"]
    if isinstance(doc, list):
        for i, item in enumerate(doc, 1):
            yield f"{path}: item {i}", item
    else:
        yield str(path), doc


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
            except ValueError as exc:
                file, _, line = where.rpartition(":")
                raise InputError(str(exc), path=file if line.isdigit() else where,
                                 line=int(line) if line.isdigit() else None) from None
            if isinstance(found, BatchObject):
                objects.append(found)
            else:
                results.append(found)
    return results, objects


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


def planned_from_manifest(path: str | Path) -> Planned:
    """The requests of the files a `batchplan prepare` manifest lists (read from beside the manifest)."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a batchplan manifest: {exc}", path=path) from None
    if not isinstance(manifest, dict) or "files" not in manifest or "vendor" not in manifest:
        raise InputError("not a batchplan manifest (no 'files' and 'vendor')", path=path)
    if str(manifest["vendor"]) not in list_vendors():
        raise InputError(f"manifest names an unknown vendor '{manifest['vendor']}'", path=path)
    rules = get_vendor(str(manifest["vendor"]))
    requests: list[Request] = []
    for entry in manifest["files"]:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or "/" in name or "\\" in name:
            raise InputError(f"manifest lists a bad file entry {json.dumps(entry)[:80]}", path=path)
        requests.extend(_vendor_requests(path.parent / name, rules, "batch file"))
    as_of = manifest.get("as_of")
    return Planned(
        requests=requests, source=str(path), model=as_text(manifest.get("model")), vendor=rules.name,
        as_of=date.fromisoformat(as_of) if isinstance(as_of, str) else None,
        output_assumption=manifest.get("output_assumption") if isinstance(manifest.get("output_assumption"), dict)
        else None,
    )


def _vendor_requests(path: Path, rules: Vendor, kind: str) -> list[Request]:
    """Every request of one vendor batch file, in order; a line that is not that vendor's is an error."""
    requests: list[Request] = []
    with open_binary(str(path), kind) as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                raise InputError("malformed JSON", path=path, line=number) from None
            parsed = rules.parse_line(obj, number)
            if parsed.request is None:
                raise InputError("; ".join(parsed.problems), path=path, line=number)
            requests.append(parsed.request)
    return requests


def planned_from_input(path: str | Path) -> Planned:
    """The requests of a batch input file of any vendor (or any dataset batchplan reads, ids from its rows)."""
    path = str(path)
    first: Any = None
    with open_binary(path, "input file") as handle:
        for raw in handle:
            if raw.strip():
                try:
                    first = json.loads(raw)
                except ValueError:
                    first = None
                break
    vendor = detect_vendor(first) if isinstance(first, dict) else None
    if vendor in (None, "openai", "anthropic"):  # shapes the dataset reader knows (ids = custom_id)
        _, stream = read_requests(path, ReadOptions())
        requests = list(stream)
        model = next((r.model for r in requests if r.model), None)
        return Planned(requests=requests, source=path, model=model, vendor=vendor)
    rules = get_vendor(vendor)
    requests = _vendor_requests(Path(path), rules, "input file")
    model = next((r.model for r in requests if r.model), None)
    return Planned(requests=requests, source=path, model=model, vendor=rules.name)


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


class InputTokens(_Frozen):
    estimated: int | None
    actual: int
    billed: int
    cached: int
    cache_write: int
    difference_pct: float | None
    token_method: str | None
    per_request: PerRequestError | None


class OutputTokens(_Frozen):
    estimated: int | None
    actual: int
    billed: int
    reasoning: int
    assumption: str | None
    estimated_distribution: Distribution | None
    actual_distribution: Distribution | None


class Costs(_Frozen):
    estimated: str | None
    actual: str
    billed: str
    difference: str | None
    realtime_equivalent: str
    failed_rerun_estimate: str | None


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
    key: str
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
    """The first name that resolves, trying (name, where it came from) in order."""
    tried: list[str] = []
    last: Exception | None = None
    for name, origin in names:
        try:
            return book.resolve(name), name
        except UnknownModelError as exc:
            tried.append(f"'{name}' ({origin})")
            last = exc
    if last is not None:
        raise UsageError(f"cannot price {', '.join(tried)}: {last}; pass --model")
    raise UsageError("the results name no model and no input or manifest gives one; pass --model")


def _assumption(opts: ReconcileOptions, planned: Planned | None) -> tuple[str, Any, str]:
    """(mode, value, description) of the estimate's output tokens."""
    if opts.output_tokens is not None and opts.output_ratio is not None:
        raise UsageError("use only one of --output-tokens and --output-ratio")
    if opts.output_tokens is not None:
        if opts.output_tokens < 0:
            raise UsageError("--output-tokens must be 0 or more")
        return "fixed", opts.output_tokens, f"{opts.output_tokens:,} output tokens per request (--output-tokens)"
    if opts.output_ratio is not None:
        if not opts.output_ratio >= 0 or math.isinf(opts.output_ratio):
            raise UsageError("--output-ratio must be a finite number of 0 or more")
        return "ratio", opts.output_ratio, f"output = {opts.output_ratio:g} × input (--output-ratio)"
    if planned is not None and planned.output_assumption:
        a = planned.output_assumption
        mode = str(a.get("mode", "max_tokens"))
        if mode in ("fixed", "ratio", "max_tokens"):
            return mode, a.get("value"), f"{a.get('description', mode)} (from the manifest)"
    return "max_tokens", None, "each request's max_tokens (an upper bound; pass --output-tokens N to compare a guess)"


def estimate_inputs(r: ResolvedModel, requests: Sequence[Request], source: str) -> tuple[list[int], str, bool]:
    """Per-request input tokens the way `estimate` counts them for this model; (counts, method, exact)."""
    from planner.count.calibration import in_memory_override
    from planner.plan.estimate import OutputAssumption, count_dataset, tokenizer_key

    tok = r.tokenizer
    over = in_memory_override(r, requests) if tok.method != "exact" else None
    if over is not None:  # Claude with ctok: exactly as `estimate` would (exact, or calibrated on a sample)
        return list(over.inputs), over.label, over.method == "exact"
    key = tokenizer_key(tok)
    zero = OutputAssumption(mode="fixed", value=0, description="")
    counts, _ = count_dataset(requests, {key: tok}, zero, source)
    from planner.count.tokens import band_label

    return list(counts[key].inputs), band_label(tok), tok.method == "exact"


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
    report = _report(loaded, pricing, joined, estimate, totals, notes)
    return Outcome(report=report, pairs=_matched(joined.pairs, estimate),
                   tokenizer_key=tokenizer_key(pricing.resolved.tokenizer), exact_estimate=estimate.exact)


def _load(results: Sequence[str | Path], opts: ReconcileOptions) -> _Loaded:
    """The result files read, and the planned requests from --manifest, --input or the results themselves."""
    if not results:
        raise UsageError("name at least one results file")
    if opts.input is not None and opts.manifest is not None:
        raise UsageError("use either --input or --manifest, not both")
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


def _model_names(loaded: _Loaded, opts: ReconcileOptions) -> list[tuple[str, str]]:
    """The model names to price as, in order of preference, each with where it came from."""
    names: list[tuple[str, str]] = []
    if opts.model:
        names.append((opts.model, "--model"))
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
        notes.append(f"the results name several model versions ({', '.join(result_models)}); all are priced as "
                     f"{resolved.model.id}")
    prices, basis, cache_prices = _batch_rates(resolved)
    return _Pricing(as_of, as_of_source, resolved, model_name, prices, basis, cache_prices, notes)


def _join(lines: Sequence[Result], planned: Planned | None) -> _Joined:
    """Each result with its planned request (by custom_id / key / recordId, else the request the line
    carries), and the ids of planned requests that have no result."""
    by_id: dict[str, Request] = {}
    for planned_req in planned.requests if planned is not None else []:
        if planned_req.id in by_id:
            raise InputError(f"custom id '{planned_req.id}' appears twice in the input",
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
                raise InputError(f"custom id '{res.custom_id}' has two results", path=res.where.rpartition(":")[0])
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
        billed_cost=_billed(pricing.prices, pricing.cache_prices, succeeded),
        actual_cost=_billed(pricing.prices, pricing.cache_prices, [res for res, _ in compared]),
        realtime_cost=_billed(pricing.resolved.model.realtime, pricing.resolved.model.realtime, succeeded),
        estimated_cost=_estimated_cost(pricing.prices, est, [req for _, req in compared]) if known else None,
        rerun_cost=_estimated_cost(pricing.prices, est, failed_matched) if failed_matched and all(
            est.outputs.get(id(req)) is not None for req in failed_matched) else None,
    )


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
        cost_usd=_costs(t),
        failures=Failures(count=len(t.failed), by_type=_by_type(t.failed), billed_usd="0.000000",
                          first=[Failure(custom_id=r.custom_id, type=r.failure or "error", message=r.message)
                                 for r in t.failed[:FIRST_FAILURES_KEPT]]),
        batch=t.batch, key=_key(loaded.lines, loaded.objects), notes=notes,
    )


def _input_tokens(t: _Totals, est: _Estimate) -> InputTokens:
    difference = None
    if t.estimated_in is not None and t.actual_in:
        difference = round((t.estimated_in - t.actual_in) / t.actual_in * 100, 3)
    return InputTokens(
        estimated=t.estimated_in, actual=t.actual_in if t.compared else t.billed_in, billed=t.billed_in,
        cached=sum(r.cached_tokens for r in t.succeeded),
        cache_write=sum(r.cache_write_tokens + r.cache_write_1h_tokens for r in t.succeeded),
        difference_pct=difference, token_method=est.method, per_request=_per_request_error(t.compared, est))


def _output_tokens(t: _Totals, est: _Estimate) -> OutputTokens:
    return OutputTokens(
        estimated=t.estimated_out, actual=t.actual_out if t.compared else t.billed_out, billed=t.billed_out,
        reasoning=sum(r.reasoning_tokens for r in t.succeeded), assumption=est.description if t.compared else None,
        estimated_distribution=Distribution.of(t.estimated_outputs),
        actual_distribution=Distribution.of([r.output_tokens for r in t.succeeded]))


def _costs(t: _Totals) -> Costs:
    return Costs(
        estimated=usd(t.estimated_cost) if t.estimated_cost is not None else None,
        actual=usd(t.actual_cost if t.compared else t.billed_cost), billed=usd(t.billed_cost),
        difference=usd(t.estimated_cost - t.actual_cost) if t.estimated_cost is not None else None,
        realtime_equivalent=usd(t.realtime_cost),
        failed_rerun_estimate=usd(t.rerun_cost) if t.rerun_cost is not None else None)


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
