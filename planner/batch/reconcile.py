"""Reconcile a finished batch: what the vendor billed, against what batchplan estimated for the same requests.

Reads what vendors return after a batch (one JSONL line per request, in any order):

* OpenAI / Azure / Groq output and error files: `{custom_id, response: {status_code, body: {usage}}, error}`;
  chat usage `prompt_tokens` (`prompt_tokens_details.cached_tokens`), `completion_tokens`
  (`completion_tokens_details.reasoning_tokens`), Responses usage `input_tokens` / `output_tokens` and their
  `*_details`. Failed requests (an `error`, a non-2xx status) are not billed.
* Anthropic Message Batches results: `{custom_id, result: {type, message: {model, usage}}}`; input is
  `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`. `errored`, `canceled` and
  `expired` results are not billed (batch-processing docs).
* Gemini API batch output `{key, response: {usageMetadata, modelVersion}}` (or `{key, error}`) and Vertex AI
  `predictions.jsonl` `{request, status, response: {usageMetadata}}`: input `promptTokenCount` (its
  `cachedContentTokenCount` part cached), output `candidatesTokenCount + thoughtsTokenCount`. Claude on
  Vertex: `{custom_id, request, status, response}` with `response` a Messages reply (an object, or a JSON
  string as a BigQuery output table holds it), billed as Anthropic's usage; a non-empty `status` is an error.
* Bedrock `.jsonl.out` records `{recordId, modelInput, modelOutput: {usage}}` (or `error`).
* Batch objects with `usage` (OpenAI, created after 2025-09-07): totals only, and the batch's date.

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
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from planner.core.clock import today
from planner.core.errors import InputError, PricingError, UnknownModelError, UsageError
from planner.core.money import ZERO, per_million, usd
from planner.core.request import Request
from planner.prices.pricing import PriceBook, PriceSet, ResolvedModel, load_pricebook
from planner.read.datasets import ReadOptions, open_binary, read_requests

Kind = Literal["openai", "anthropic", "gemini", "vertex", "bedrock"]
#: Failed requests listed by name in the report.
FIRST_FAILURES_KEPT = 5


# ---------------------------------------------------------------------------------------------
# One result line, normalised across vendors


@dataclass(frozen=True, slots=True)
class Result:
    """One request's outcome as the vendor reported it. Token counts are what was billed (0 when failed)."""

    where: str
    kind: Kind
    custom_id: str | None
    succeeded: bool
    failure: str | None = None
    message: str | None = None
    input_tokens: int = 0  # the whole prompt: uncached + cache reads + cache writes
    cached_tokens: int = 0
    cache_write_tokens: int = 0  # 5-minute (default) cache writes
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0  # visible output + reasoning/thinking
    reasoning_tokens: int = 0
    model: str | None = None
    created: datetime | None = None
    request: Request | None = None  # the request the line carries (Vertex, Bedrock)
    identity: str = ""  # the vendor's id for this result (stable across downloads), for idempotent storage


@dataclass(frozen=True, slots=True)
class BatchObject:
    """A vendor batch object given among the results: its id, date, status and (OpenAI) usage totals."""

    where: str
    provider: str
    id: str
    status: str
    created: datetime | None
    model: str | None
    input_tokens: int | None
    cached_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    requests: int | None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ts(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _openai_usage(usage: dict[str, Any]) -> dict[str, int]:
    """Chat (`prompt_tokens`…), Responses (`input_tokens`…) and embeddings usage, one shape."""
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        inp = _int(usage.get("prompt_tokens"))
        out = _int(usage.get("completion_tokens"))
        cached = _int(_dict(usage.get("prompt_tokens_details")).get("cached_tokens"))
        reasoning = _int(_dict(usage.get("completion_tokens_details")).get("reasoning_tokens"))
    else:
        inp = _int(usage.get("input_tokens"))
        out = _int(usage.get("output_tokens"))
        cached = _int(_dict(usage.get("input_tokens_details")).get("cached_tokens"))
        reasoning = _int(_dict(usage.get("output_tokens_details")).get("reasoning_tokens"))
    return {"input_tokens": inp, "output_tokens": out, "cached_tokens": min(cached, inp), "reasoning_tokens": reasoning}


def _anthropic_usage(usage: dict[str, Any]) -> dict[str, int]:
    uncached = _int(usage.get("input_tokens"))
    reads = _int(usage.get("cache_read_input_tokens"))
    writes = _int(usage.get("cache_creation_input_tokens"))
    split = _dict(usage.get("cache_creation"))
    one_hour = min(_int(split.get("ephemeral_1h_input_tokens")), writes)
    return {
        "input_tokens": uncached + reads + writes,
        "cached_tokens": reads,
        "cache_write_tokens": writes - one_hour,
        "cache_write_1h_tokens": one_hour,
        "output_tokens": _int(usage.get("output_tokens")),
    }


def _gemini_usage(meta: dict[str, Any]) -> dict[str, int]:
    prompt = _int(meta.get("promptTokenCount", meta.get("prompt_token_count")))
    tool_prompt = _int(meta.get("toolUsePromptTokenCount", meta.get("tool_use_prompt_token_count")))
    cached = _int(meta.get("cachedContentTokenCount", meta.get("cached_content_token_count")))
    out = _int(meta.get("candidatesTokenCount", meta.get("candidates_token_count")))
    thoughts = _int(meta.get("thoughtsTokenCount", meta.get("thoughts_token_count")))
    return {
        "input_tokens": prompt + tool_prompt,
        "cached_tokens": min(cached, prompt),
        "output_tokens": out + thoughts,
        "reasoning_tokens": thoughts,
    }


def _bedrock_usage(output: dict[str, Any]) -> dict[str, int]:
    usage = _dict(output.get("usage"))
    if "input_tokens" in usage or "cache_read_input_tokens" in usage:  # Anthropic on Bedrock
        return _anthropic_usage(usage)
    if "inputTokens" in usage:  # Nova / Converse
        inp = _int(usage.get("inputTokens"))
        cached = _int(usage.get("cacheReadInputTokenCount", usage.get("cacheReadInputTokens")))
        return {"input_tokens": inp + cached, "cached_tokens": cached, "output_tokens": _int(usage.get("outputTokens"))}
    return {  # Llama / Mistral on InvokeModel
        "input_tokens": _int(output.get("prompt_token_count")),
        "output_tokens": _int(output.get("generation_token_count")),
    }


def _error_text(error: Any) -> tuple[str, str | None]:
    """(short type, message) of a vendor error object."""
    err = _dict(error)
    inner = _dict(err.get("error"))
    code = err.get("code") if isinstance(err.get("code"), str) else None
    kind = str(inner.get("type") or code or err.get("status") or err.get("errorCode") or err.get("type")
               or err.get("code") or "error")
    message = inner.get("message") or err.get("message") or err.get("errorMessage")
    return kind, str(message) if message is not None else None


def _ok(where: str, kind: Kind, cid: str | None, usage: dict[str, int], *, model: str | None = None,
        created: datetime | None = None, request: Request | None = None, identity: str = "") -> Result:
    """A succeeded result with its billed usage."""
    return Result(
        where, kind, cid, True, input_tokens=usage.get("input_tokens", 0), cached_tokens=usage.get("cached_tokens", 0),
        cache_write_tokens=usage.get("cache_write_tokens", 0),
        cache_write_1h_tokens=usage.get("cache_write_1h_tokens", 0), output_tokens=usage.get("output_tokens", 0),
        reasoning_tokens=usage.get("reasoning_tokens", 0), model=model, created=created, request=request,
        identity=identity,
    )


def parse_result(obj: Any, where: str) -> Result | BatchObject:
    """One result line (or batch object) of any vendor; ValueError with a one-line reason otherwise."""
    from planner.batch.batchfiles import VENDOR_RULES, parse_line

    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if obj.get("object") == "batch" or obj.get("type") == "message_batch":
        return _batch_object(obj, where)
    if "result" in obj and "custom_id" in obj:  # Anthropic
        result = _dict(obj.get("result"))
        kind = result.get("type")
        cid = str(obj["custom_id"])
        if kind == "succeeded":
            message = _dict(result.get("message"))
            usage = _anthropic_usage(_dict(message.get("usage")))
            return _ok(where, "anthropic", cid, usage, model=_str(message.get("model")),
                       identity=str(message.get("id") or cid))
        if kind in ("errored", "canceled", "expired"):
            _, msg = _error_text(result.get("error"))
            return Result(where, "anthropic", cid, False, failure=str(kind), message=msg, identity=cid)
        raise ValueError(f"Anthropic result of unknown type {json.dumps(kind)}")
    if "response" in obj and ("custom_id" in obj or "error" in obj) and "request" not in obj and (
        obj.get("response") is None or "status_code" in _dict(obj.get("response"))
    ):  # OpenAI / Azure / Groq output or error file (never the request: a Vertex row carries that)
        openai_id = _str(obj.get("custom_id"))
        response = _dict(obj.get("response"))
        body = _dict(response.get("body"))
        status = response.get("status_code")
        identity = str(obj.get("id") or response.get("request_id") or openai_id or where)
        if obj.get("error") or not isinstance(status, int) or not 200 <= status < 300:
            kind_text, msg = _error_text(obj.get("error") or body.get("error"))
            if not obj.get("error") and isinstance(status, int):
                kind_text = f"http {status}"
            return Result(where, "openai", openai_id, False, failure=kind_text, message=msg, identity=identity)
        usage = _openai_usage(_dict(body.get("usage")))
        created = _ts(body.get("created", body.get("created_at")))
        return _ok(where, "openai", openai_id, usage, model=_str(body.get("model")), created=created,
                   identity=identity)
    if "key" in obj and ("response" in obj or "error" in obj):  # Gemini API file output
        key = str(obj["key"])
        response = _dict(obj.get("response"))
        if obj.get("error") or not response:
            kind_text, msg = _error_text(obj.get("error"))
            return Result(where, "gemini", key, False, failure=kind_text, message=msg, identity=key)
        meta = _dict(response.get("usageMetadata", response.get("usage_metadata")))
        return _ok(where, "gemini", key, _gemini_usage(meta), model=_str(response.get("modelVersion")),
                   identity=str(response.get("responseId") or key))
    if "request" in obj and ("response" in obj or "status" in obj):  # Vertex AI predictions.jsonl
        claude = "custom_id" in obj or "anthropic_version" in _dict(obj["request"])  # Claude's line shape
        rules = VENDOR_RULES["vertex"].for_model("anthropic") if claude else VENDOR_RULES["vertex"]
        parsed = parse_line({k: v for k, v in obj.items() if k in ("custom_id", "request")}, 0, rules)
        raw = obj.get("response")
        if isinstance(raw, str):  # a BigQuery output table's `response` JSON column, exported
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = None
        response = _dict(raw)
        status = obj.get("status")
        row_id = _str(obj.get("custom_id"))  # Claude lines carry one; Gemini lines do not
        if isinstance(response.get("usage"), dict):  # Claude on Vertex: the response is a Messages reply
            return _ok(where, "vertex", row_id, _anthropic_usage(response["usage"]), model=_str(response.get("model")),
                       request=parsed.request, identity=str(response.get("id") or row_id or where))
        if not response or (row_id is not None and status):
            return Result(where, "vertex", row_id, False, failure="error", message=_str(status) or None,
                          request=parsed.request, identity=row_id or where)
        meta = _dict(response.get("usageMetadata"))
        return _ok(where, "vertex", None, _gemini_usage(meta), model=_str(response.get("modelVersion")),
                   created=_ts(response.get("createTime")), request=parsed.request,
                   identity=str(response.get("responseId") or where))
    if "modelInput" in obj and ("modelOutput" in obj or "error" in obj):  # Bedrock .jsonl.out
        rid = _str(obj.get("recordId"))
        parsed = parse_line({k: v for k, v in obj.items() if k in ("recordId", "modelInput")}, 0,
                            VENDOR_RULES["bedrock"])
        if obj.get("error") or not isinstance(obj.get("modelOutput"), dict):
            kind_text, msg = _error_text(obj.get("error"))
            return Result(where, "bedrock", rid, False, failure=kind_text, message=msg, request=parsed.request,
                          identity=rid or where)
        out = obj["modelOutput"]
        return _ok(where, "bedrock", rid, _bedrock_usage(out), model=_str(out.get("model")), request=parsed.request,
                   identity=str(out.get("id") or rid or where))
    keys = ", ".join(sorted(obj)[:6])
    raise ValueError(f"not a batch result line of a known vendor (keys: {keys})")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _batch_object(obj: dict[str, Any], where: str) -> BatchObject:
    if obj.get("object") == "batch":
        usage = obj.get("usage")
        counts = _dict(obj.get("request_counts"))
        u = _openai_usage(usage) if isinstance(usage, dict) else None
        return BatchObject(
            where, "openai", str(obj.get("id") or where), str(obj.get("status") or ""), _ts(obj.get("created_at")),
            _str(obj.get("model")), u["input_tokens"] if u else None, u["cached_tokens"] if u else None,
            u["output_tokens"] if u else None, u["reasoning_tokens"] if u else None,
            _int(counts.get("total")) if counts else None,
        )
    counts = _dict(obj.get("request_counts"))
    total = sum(_int(v) for v in counts.values()) if counts else None
    return BatchObject(where, "anthropic", str(obj.get("id") or where), str(obj.get("processing_status") or ""),
                       _ts(obj.get("created_at")), None, None, None, None, None, total)


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
    from planner.batch.batchfiles import VENDOR_RULES

    path = Path(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a batchplan manifest: {exc}", path=path) from None
    if not isinstance(manifest, dict) or "files" not in manifest or "vendor" not in manifest:
        raise InputError("not a batchplan manifest (no 'files' and 'vendor')", path=path)
    rules = VENDOR_RULES.get(str(manifest["vendor"]))
    if rules is None:
        raise InputError(f"manifest names an unknown vendor '{manifest['vendor']}'", path=path)
    requests: list[Request] = []
    for entry in manifest["files"]:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or "/" in name or "\\" in name:
            raise InputError(f"manifest lists a bad file entry {json.dumps(entry)[:80]}", path=path)
        requests.extend(_vendor_requests(path.parent / name, rules, "batch file"))
    as_of = manifest.get("as_of")
    return Planned(
        requests=requests, source=str(path), model=_str(manifest.get("model")), vendor=rules.name,
        as_of=date.fromisoformat(as_of) if isinstance(as_of, str) else None,
        output_assumption=manifest.get("output_assumption") if isinstance(manifest.get("output_assumption"), dict)
        else None,
    )


def _vendor_requests(path: Path, rules: Any, kind: str) -> list[Request]:
    """Every request of one vendor batch file, in order; a line that is not that vendor's is an error."""
    from planner.batch.batchfiles import parse_line

    requests: list[Request] = []
    with open_binary(str(path), kind) as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                raise InputError("malformed JSON", path=path, line=number) from None
            parsed = parse_line(obj, number, rules)
            if parsed.request is None:
                raise InputError("; ".join(parsed.problems), path=path, line=number)
            requests.append(parsed.request)
    return requests


def planned_from_input(path: str | Path) -> Planned:
    """The requests of a batch input file of any vendor (or any dataset batchplan reads, ids from its rows)."""
    from planner.batch.batchfiles import VENDOR_RULES, detect_vendor

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
    rules = VENDOR_RULES[vendor]
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


def _resolve(book: PriceBook, names: Sequence[tuple[str, str]], notes: list[str]) -> tuple[ResolvedModel, str]:
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


def _earliest_table(as_of: date, names: Sequence[tuple[str, str]], prices: Sequence[Path]
                    ) -> tuple[PriceBook, ResolvedModel, str]:
    """For a batch older than the shipped tables: the first table version (after `as_of`) that prices it."""
    from planner.prices.pricing import list_versions

    starts = sorted({vs[0].version for vs in list_versions().values() if vs and vs[0].version > as_of})
    for start in starts:
        book = load_pricebook(start, user_tables=prices)
        try:
            resolved, name = _resolve(book, names, [])
        except (PricingError, UsageError):
            continue
        return book, resolved, name
    raise UsageError(f"no price table prices {', '.join(repr(n) for n, _ in names) or 'this batch'}; pass --model")


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


def _estimate_inputs(r: ResolvedModel, requests: Sequence[Request], source: str) -> tuple[list[int], str, bool]:
    """Per-request input tokens the way `estimate` counts them for this model; (counts, method, exact)."""
    from planner.count.calibration import in_memory_override
    from planner.plan.estimate import OutputAssumption, _tokenizer_key, count_dataset

    tok = r.tokenizer
    over = in_memory_override(r, requests) if tok.method != "exact" else None
    if over is not None:  # Claude with ctok: exactly as `estimate` would (exact, or calibrated on a sample)
        return list(over.inputs), over.label, over.method == "exact"
    key = _tokenizer_key(tok)
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


def reconcile(results: Sequence[str | Path], options: ReconcileOptions | None = None, *,
              pricebook: PriceBook | None = None) -> Outcome:
    """Compare what the vendor billed for a finished batch with batchplan's estimate of the same requests.

    Raises InputError (unreadable results, input or manifest, with file and line), UsageError (conflicting
    options, a model that cannot be priced)."""
    opts = options or ReconcileOptions()
    if not results:
        raise UsageError("name at least one results file")
    if opts.input is not None and opts.manifest is not None:
        raise UsageError("use either --input or --manifest, not both")
    lines, objects = read_results(results)
    notes: list[str] = []
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
    as_of, as_of_source = _as_of(opts, objects, lines, planned)
    book = pricebook or load_pricebook(as_of, user_tables=opts.prices)
    names: list[tuple[str, str]] = []
    if opts.model:
        names.append((opts.model, "--model"))
    if planned is not None and planned.model:
        names.append((planned.model, "the input" if opts.manifest is None else "the manifest"))
    result_models = sorted({r.model for r in lines if r.model} | {o.model for o in objects if o.model})
    # a Vertex row names the model as Vertex serves it ("claude-sonnet-5-5", "gemini-2.5-flash"): priced
    # at Vertex's table, not Anthropic's or the Gemini API's, which the bare name would pick
    on_vertex = bool(lines) and all(r.kind == "vertex" for r in lines)
    names.extend((f"vertex/{m}" if on_vertex and "/" not in m else m, "the results") for m in result_models)
    try:
        resolved, model_name = _resolve(book, names, notes)
    except PricingError:
        if pricebook is not None or not book.missing:
            raise
        book, resolved, model_name = _earliest_table(as_of, names, opts.prices)
        notes.append(f"no price table is in force on {as_of} ({as_of_source}); priced with {resolved.table.label}, "
                     "the earliest that lists the model")
    if len(result_models) > 1:
        notes.append(f"the results name several model versions ({', '.join(result_models)}); all are priced as "
                     f"{resolved.model.id}")
    prices, basis, cache_prices = _batch_rates(resolved)

    # --- join results to the planned requests
    by_id: dict[str, Request] = {}
    order: list[Request] = []
    if planned is not None:
        for planned_req in planned.requests:
            if planned_req.id in by_id:
                raise InputError(f"custom id '{planned_req.id}' appears twice in the input", path=planned.source,
                                 line=planned_req.line)
            by_id[planned_req.id] = planned_req
            order.append(planned_req)
    pairs: list[tuple[Result, Request | None]] = []
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
    missing = [req.id for req in order if req.id not in seen] if seen else []

    # --- the estimate of the matched requests
    matched_reqs = [req for _, req in pairs if req is not None]
    est_in: dict[int, int] = {}
    est_out: dict[int, int | None] = {}
    method: str | None = None
    exact_estimate = False
    mode, value, description = _assumption(opts, planned)
    if matched_reqs:
        counts, method, exact_estimate = _estimate_inputs(resolved, matched_reqs, planned.source if planned else "")
        outs = _estimate_outputs(mode, value, matched_reqs, counts)
        for req, n, o in zip(matched_reqs, counts, outs, strict=True):
            est_in[id(req)] = n
            est_out[id(req)] = o
        if mode == "max_tokens" and any(o is None for o in outs):
            notes.append("some requests have no max_tokens: their estimated output is left out (pass --output-tokens)")

    succeeded = [res for res, _ in pairs if res.succeeded]
    failed = [res for res, _ in pairs if not res.succeeded]
    compared = [(res, req) for res, req in pairs if res.succeeded and req is not None]

    billed_in = sum(r.input_tokens for r in succeeded)
    billed_out = sum(r.output_tokens for r in succeeded)
    actual_in = sum(res.input_tokens for res, _ in compared)
    actual_out = sum(res.output_tokens for res, _ in compared)
    estimated_in = sum(est_in[id(req)] for _, req in compared) if compared else None
    outs_known = [est_out[id(req)] for _, req in compared]
    estimated_out = sum(o for o in outs_known if o is not None) if compared and all(
        o is not None for o in outs_known) else None

    billed_cost = sum((_cost(prices, cache_prices, r, input_tokens=r.input_tokens, output_tokens=r.output_tokens)
                       for r in succeeded), ZERO)
    actual_cost = sum((_cost(prices, cache_prices, res, input_tokens=res.input_tokens,
                             output_tokens=res.output_tokens) for res, _ in compared), ZERO)
    realtime = sum((_cost(resolved.model.realtime, resolved.model.realtime, r, input_tokens=r.input_tokens,
                          output_tokens=r.output_tokens) for r in succeeded), ZERO)
    estimated_cost: Decimal | None = None
    if estimated_in is not None and estimated_out is not None:
        estimated_cost = sum((_cost(prices, None, None, input_tokens=est_in[id(req)],
                                    output_tokens=est_out[id(req)] or 0) for _, req in compared), ZERO)
    rerun: Decimal | None = None
    failed_matched = [req for res, req in pairs if not res.succeeded and req is not None]
    if failed_matched and all(est_out.get(id(req)) is not None for req in failed_matched):
        rerun = sum((_cost(prices, None, None, input_tokens=est_in[id(req)], output_tokens=est_out[id(req)] or 0)
                     for req in failed_matched), ZERO)

    per_request: PerRequestError | None = None
    if compared:
        errs = [est_in[id(req)] - res.input_tokens for res, req in compared]
        rels = [e / res.input_tokens for e, (res, _) in zip(errs, compared, strict=True) if res.input_tokens]
        per_request = PerRequestError(
            requests=len(compared), exact=sum(1 for e in errs if e == 0), undercounted=sum(1 for e in errs if e < 0),
            within_1pct=sum(1 for x in rels if abs(x) <= 0.01),
            relative_error=Distribution.of([round(x, 6) for x in rels]), max_abs_tokens=max(abs(e) for e in errs),
        )

    by_type: dict[str, int] = {}
    for res in failed:
        by_type[res.failure or "error"] = by_type.get(res.failure or "error", 0) + 1
    batch_info = None
    if objects:
        obj = objects[0]
        batch_info = BatchInfo(id=obj.id, provider=obj.provider, status=obj.status, created_at=obj.created,
                               requests=obj.requests, usage_input_tokens=obj.input_tokens,
                               usage_output_tokens=obj.output_tokens)
        if len(objects) > 1:
            notes.append(f"{len(objects)} batch objects given; the batch is dated by the earliest")
        if not lines and obj.input_tokens is not None:
            billed_in = obj.input_tokens
            billed_out = obj.output_tokens or 0
            fake = Result(obj.where, "openai", None, True, input_tokens=obj.input_tokens,
                          cached_tokens=obj.cached_tokens or 0, output_tokens=obj.output_tokens or 0)
            billed_cost = _cost(prices, cache_prices, fake, input_tokens=obj.input_tokens,
                                output_tokens=obj.output_tokens or 0)
            notes.append("only the batch object's usage totals are known (no result lines): no per-request view, "
                         "and long-context tiers cannot be applied per request")
        elif lines and obj.input_tokens is not None and obj.input_tokens != billed_in:
            notes.append(f"the batch object reports {obj.input_tokens:,} input tokens, the result lines "
                         f"{billed_in:,}: are all output and error files given?")
    unmatched = sum(1 for _, req in pairs if req is None)
    if planned is None:
        notes.append("no --input or --manifest: actual usage only, nothing to compare it with")
    elif unmatched:
        notes.append(f"{unmatched:,} result(s) match no input request (ids differ?): they are billed but not compared")
    if missing:
        notes.append(f"{len(missing):,} input request(s) have no result: were all output and error files given?")
    if failed:
        vendor_rule = {"anthropic": "errored, canceled and expired requests are not billed (Anthropic)",
                       "openai": "failed requests are not billed; completed ones in an expired batch are",
                       }.get(lines[0].kind if lines else "", "failed requests are not billed")
        notes.append(f"{len(failed):,} request(s) failed: {vendor_rule}")
    if resolved.tokenizer.method != "exact" and not exact_estimate and method:
        notes.append(f"input estimate is {method}: the difference measures the approximation (stored in history "
                     "to calibrate later estimates of this model)")
    vendor = lines[0].kind if lines else objects[0].provider

    report = Reconciliation(
        vendor=planned.vendor if planned and planned.vendor else vendor,
        model=model_name, resolved_model=resolved.model.id, provider=resolved.table.provider,
        price_table=resolved.table.label, as_of=as_of, as_of_source=as_of_source, batch_price_basis=basis,
        results=[str(p) for p in results], input=planned.source if planned else None,
        requests=RequestCounts(results=len(lines), matched=len(compared) + len(failed_matched),
                               succeeded=len(succeeded), failed=len(failed), unmatched_results=unmatched,
                               missing_results=len(missing), first_missing=missing[:5]),
        input_tokens=InputTokens(
            estimated=estimated_in, actual=actual_in if compared else billed_in, billed=billed_in,
            cached=sum(r.cached_tokens for r in succeeded),
            cache_write=sum(r.cache_write_tokens + r.cache_write_1h_tokens for r in succeeded),
            difference_pct=round((estimated_in - actual_in) / actual_in * 100, 3)
            if estimated_in is not None and actual_in else None,
            token_method=method, per_request=per_request),
        output_tokens=OutputTokens(
            estimated=estimated_out, actual=actual_out if compared else billed_out, billed=billed_out,
            reasoning=sum(r.reasoning_tokens for r in succeeded), assumption=description if compared else None,
            estimated_distribution=Distribution.of([o for o in outs_known if o is not None]),
            actual_distribution=Distribution.of([r.output_tokens for r in succeeded])),
        cost_usd=Costs(
            estimated=usd(estimated_cost) if estimated_cost is not None else None,
            actual=usd(actual_cost if compared else billed_cost), billed=usd(billed_cost),
            difference=usd(estimated_cost - actual_cost) if estimated_cost is not None else None,
            realtime_equivalent=usd(realtime), failed_rerun_estimate=usd(rerun) if rerun is not None else None),
        failures=Failures(count=len(failed), by_type=by_type, billed_usd="0.000000",
                          first=[Failure(custom_id=r.custom_id, type=r.failure or "error", message=r.message)
                                 for r in failed[:FIRST_FAILURES_KEPT]]),
        batch=batch_info, key=_key(lines, objects), notes=notes,
    )
    pairs_out = [
        Matched(custom_id=req.id, succeeded=res.succeeded, estimated_input=est_in.get(id(req)),
                estimated_output=est_out.get(id(req)), actual_input=res.input_tokens, actual_output=res.output_tokens)
        for res, req in pairs if req is not None
    ] + [
        Matched(custom_id=res.custom_id or res.where, succeeded=res.succeeded, estimated_input=None,
                estimated_output=None, actual_input=res.input_tokens, actual_output=res.output_tokens)
        for res, req in pairs if req is None
    ]
    from planner.plan.estimate import _tokenizer_key

    return Outcome(report=report, pairs=pairs_out, tokenizer_key=_tokenizer_key(resolved.tokenizer),
                   exact_estimate=exact_estimate)
