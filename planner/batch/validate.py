"""`validate()`: every problem of an existing batch file against a vendor's rules, and the estimate of its
valid lines.

In steps: read each line (bytes, UTF-8, JSON) → the vendor (given, or detected from the first line) → the
vendor's shape checks of the line, and the checks across lines (ids, one model, one endpoint) → the model it
is priced as → the file's limits → the model's batch eligibility → the estimate of the valid lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from planner.batch.pricing import price_requests, resolve_limits, resolve_model, usd_text
from planner.core import jsonsafe
from planner.core.errors import BatchplanError, InputError, UsageError
from planner.core.jsonsafe import NumberError
from planner.core.request import Request
from planner.prices.pricing import PriceBook, ResolvedModel, load_pricebook
from planner.read.datasets import open_binary
from planner.vendors import Parsed, Vendor, detect_vendor, get_vendor
from planner.vendors.openai import embedding_inputs

if TYPE_CHECKING:
    from planner.plan.options import OutputOptions


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Problem(_Frozen):
    line: int | None
    message: str


class Validation(_Frozen):
    path: str
    vendor: str
    vendor_detected: bool
    lines: int
    requests: int
    valid_requests: int
    bytes: int
    model: str | None
    problems: list[Problem]
    estimate: dict[str, Any] | None
    notes: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(
    path: str | Path,
    *,
    vendor: str | None = None,
    model: str | None = None,
    output_tokens: int | None = None,
    output_ratio: float | None = None,
    as_of: date | None = None,
    prices: Sequence[Path] = (),
    pricebook: PriceBook | None = None,
    max_problems: int | None = None,
) -> Validation:
    """Every problem of a batch file (with line numbers), then the estimate of its valid lines."""
    from planner.plan.options import OutputOptions

    path = str(path)
    scan = _Scan(get_vendor(vendor) if vendor else None)
    output = OutputOptions.make(tokens=output_tokens, ratio=output_ratio)  # a bad value fails before reading
    if max_problems is not None and max_problems < 1:
        raise UsageError("max_problems must be 1 or more")
    for number, raw in _read_lines(path):
        _check_line(scan, number, raw)
    rules = scan.rules or _no_vendor(scan, path)
    model_name = model or (next(iter(scan.models)) if scan.models else None)
    book = (pricebook or load_pricebook(as_of, user_tables=prices)) if model_name is not None else None
    resolved = _model(scan, rules, model_name, model is not None, book)
    if scan.keyless:
        scan.notes.append(f"{scan.keyless:,} line(s) have no '{rules.id_field}': {rules.name} accepts them, but "
                          f"their results cannot be matched back by {rules.id_field} (add one to each line to "
                          "match them)")
    _limit_problems(scan, rules, book or pricebook or load_pricebook(as_of, user_tables=prices))
    estimate = None
    if resolved is not None and book is not None:
        _eligibility_problems(scan, resolved, book, model_name, model)
        estimate = _estimate(scan, resolved, book, model_name, output, path)
    problems = sorted(scan.problems, key=lambda p: (p.line is None, p.line or 0))
    return Validation(
        path=path, vendor=rules.name, vendor_detected=vendor is None, lines=scan.lines, requests=scan.count,
        valid_requests=len(scan.requests), bytes=scan.bytes, model=model_name,
        problems=problems[:max_problems] if max_problems is not None else problems,
        estimate=estimate, notes=scan.notes,
    )


# ---------------------------------------------------------------------------------------------
# Reading the lines


@dataclass
class _Scan:
    """What reading every line found: the problems so far, and what the checks across lines need."""

    rules: Vendor | None  # given, or detected from the first well-formed line
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)  # the valid lines, to estimate
    ids: dict[str, int] = field(default_factory=dict)  # id → its first line
    models: dict[str, int] = field(default_factory=dict)  # model → its first line
    urls: dict[str, int] = field(default_factory=dict)  # the vendor's endpoint urls used → first line
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (line, bytes), for the line limit
    bytes: int = 0
    count: int = 0  # requests: lines that are not blank
    lines: int = 0
    inputs: int = 0  # embedding inputs summed over the embeddings lines
    keyless: int = 0  # well-formed lines without the (optional) id field

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(line=line, message=message))


def _read_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """Numbered lines, each bounded by the one line limit of every input (planner.io.inputs)."""
    with open_binary(path, "batch file") as handle:
        for line in handle:
            yield handle.line, line


def _check_line(scan: _Scan, number: int, raw: bytes) -> None:
    """One line: its bytes and JSON, the vendor's shape checks, and the checks across lines."""
    scan.lines = number
    scan.bytes += len(raw)
    scan.sizes.append((number, len(raw)))
    obj = _decode(scan, number, raw)
    if obj is None:
        return
    rules = scan.rules or _detect(scan, number, obj)
    if rules is None:
        return
    parsed = rules.parse_line(obj, number)
    scan.problems += [Problem(line=number, message=m) for m in parsed.problems]
    if parsed.custom_id is None and rules.id_field is not None and not parsed.problems:
        scan.keyless += 1
    _check_id(scan, rules, parsed, number)
    _check_model(scan, rules, parsed, number)
    _check_url(scan, rules, parsed, number)
    if parsed.request is not None and not any(p.line == number for p in scan.problems):
        scan.requests.append(parsed.request)
        if parsed.request.api == "embeddings":
            scan.inputs += embedding_inputs(parsed.request.body)


def _decode(scan: _Scan, number: int, raw: bytes) -> Any:
    """The line's JSON value; None (with the problem) when it has none. A blank line is no request."""
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        scan.problem(1, "file starts with a UTF-8 byte-order mark; save it without one")
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        scan.problem(number, "not valid UTF-8")
        scan.count += 1
        return None
    if not text.strip():
        scan.problem(number, "blank line (every line must be one request)")
        return None
    scan.count += 1
    try:
        return jsonsafe.loads(text)
    except NumberError as exc:
        scan.problem(number, f"{exc}: vendors' JSON parsers reject it")
    except (ValueError, RecursionError) as exc:
        msg = f"{exc.msg} (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        scan.problem(number, f"malformed JSON: {msg}")
    return None


def _detect(scan: _Scan, number: int, obj: Any) -> Vendor | None:
    """The vendor whose shape the first JSON line has (no --vendor given)."""
    guess = detect_vendor(obj)
    if guess is None:
        scan.problem(number, "not a batch line of any known vendor")
        return None
    scan.rules = get_vendor(guess)
    scan.notes.append(f"vendor detected from line {number}: {guess}"
                      + (" (OpenAI, Azure and Groq share this shape; use --vendor)" if guess == "openai" else ""))
    return scan.rules


def _check_id(scan: _Scan, rules: Vendor, parsed: Parsed, number: int) -> None:
    """Ids are unique in a batch."""
    cid = parsed.custom_id
    if cid is None:
        return
    if cid in scan.ids:
        scan.problem(number, f"duplicate {rules.id_field} {json.dumps(cid)} (first on line {scan.ids[cid]})")
    else:
        scan.ids[cid] = number


def _check_model(scan: _Scan, rules: Vendor, parsed: Parsed, number: int) -> None:
    """One model per file, where the vendor says so (a problem on the first line naming another)."""
    if parsed.model is None:
        return
    scan.models.setdefault(parsed.model, number)
    if len(scan.models) > 1 and scan.models[parsed.model] == number and rules.one_model_per_file:
        first = next(iter(scan.models))
        scan.problem(number, f"model '{parsed.model}' differs from '{first}' (line {scan.models[first]}): "
                             f"{rules.name} needs one model per file")


def _check_url(scan: _Scan, rules: Vendor, parsed: Parsed, number: int) -> None:
    """Every line uses one of the vendor's batch endpoints, and the same one. A url that is no endpoint
    is that line's problem alone: it is not the one the other lines are compared with, nor checked
    again against the model's endpoints (which would blame the line naming the model)."""
    url = parsed.url
    if url is None:
        return
    if url not in rules.endpoints:  # reported here once; the endpoint checks below see only real ones
        scan.problem(number, f"url '{url}' is not one of {rules.name}'s batch endpoints ({', '.join(rules.endpoints)})")
        return
    scan.urls.setdefault(url, number)
    if len(scan.urls) > 1 and scan.urls[url] == number:
        first_url = next(iter(scan.urls))
        scan.problem(number, f"url '{url}' differs from '{first_url}' (line {scan.urls[first_url]}): every line "
                             "must use the batch's one endpoint")


def _no_vendor(scan: _Scan, path: str) -> Vendor:
    """No line named a vendor: an empty file is an error; otherwise the problems say why, checked as OpenAI's."""
    if scan.lines == 0:
        raise InputError("empty file: no requests", path=path)
    return get_vendor("openai")


# ---------------------------------------------------------------------------------------------
# The file as a whole: its model, limits and eligibility, and the estimate of its valid lines


def _model(scan: _Scan, rules: Vendor, model_name: str | None, asked: bool,
           book: PriceBook | None) -> ResolvedModel | None:
    """The model the file is priced as (--model, else the lines'). One the user asked for that cannot be
    priced is an error (exit 2); one the lines name is a problem of the file."""
    if model_name is None or book is None:
        scan.notes.append(f"{rules.name} lines carry no model: pass --model to check eligibility and estimate")
        return None
    try:
        resolved, more = resolve_model(book, model_name, rules)
    except BatchplanError as exc:
        if asked:
            raise  # the model asked for with --model is unknown or not served: exit 2
        scan.problem(scan.models.get(model_name), f"model '{model_name}': {exc.message}")
        return None
    scan.notes.extend(more)
    if misfit := _vertex_shape_misfit(rules, resolved, scan.requests, model_name):
        scan.problems.append(misfit)
    return resolved


def _vertex_shape_misfit(
    rules: Vendor, resolved: ResolvedModel, requests: Sequence[Request], model_name: str
) -> Problem | None:
    """Vertex takes Gemini lines for Gemini models and Claude lines for Claude models (`for_model`); lines
    of the other shape fail the whole job there, so the first one is a problem."""
    if rules.name != "vertex" or not requests:
        return None
    claude = rules.for_model(resolved.tokenizer.chat_format).line_format == "vertex-claude-batch"
    if not {r.api for r in requests} - {"anthropic" if claude else "gemini"}:
        return None
    want, have = ("Claude", "Gemini") if claude else ("Gemini", "Claude")
    shape = "{custom_id, request: {anthropic_version, messages}}" if claude else "{request: {contents}}"
    return Problem(line=requests[0].line, message=(
        f"{resolved.label} takes {want} lines on Vertex, but these are {have} lines ({shape} expected): "
        f"write them with batchplan prepare --vendor vertex -m {model_name}"))


def _limit_problems(scan: _Scan, rules: Vendor, book: PriceBook) -> None:
    """The vendor's limits on one line, the file's bytes, its requests and its embedding inputs."""
    limits = resolve_limits(rules, book.tables.get(rules.provider))
    cap = limits.max_line_bytes
    if cap is not None:
        for number, size in scan.sizes:
            if size > cap:
                scan.problem(number, f"line is {size:,} bytes, over the {cap:,}-byte limit")
    byte_cap = limits.max_bytes - rules.body_overhead if limits.max_bytes is not None else None
    if byte_cap is not None and scan.bytes > byte_cap:
        scan.problem(None, f"file is {scan.bytes:,} bytes, over {rules.name}'s {byte_cap:,}-byte limit: split it "
                           "(batchplan prepare does)")
    if limits.max_requests is not None and scan.count > limits.max_requests:
        scan.problem(None, f"{scan.count:,} requests, over {rules.name}'s limit of {limits.max_requests:,} per "
                           "file: split it")
    if limits.min_requests is not None and scan.count < limits.min_requests:
        scan.problem(None, f"{scan.count:,} requests; {rules.name} needs at least {limits.min_requests:,} per job")
    if limits.max_embedding_inputs is not None and scan.inputs > limits.max_embedding_inputs:
        scan.problem(None, f"{scan.inputs:,} embedding inputs, over {rules.name}'s limit of "
                           f"{limits.max_embedding_inputs:,} per batch: split it (batchplan prepare does)")


def _eligibility_problems(scan: _Scan, resolved: ResolvedModel, book: PriceBook, model_name: str | None,
                          model: str | None) -> None:
    """Why the model cannot run this batch (at the line naming it, when the model came from the lines)."""
    from planner.plan.eligibility import eligibility

    reasons = list(eligibility(resolved, book.as_of, endpoints=list(scan.urls)).reasons)
    at = scan.models.get(model_name or "") if model is None else None
    scan.problems += [Problem(line=at, message=f"model '{model_name}': {r}") for r in reasons]


def _estimate(scan: _Scan, resolved: ResolvedModel, book: PriceBook, model_name: str | None,
              output: OutputOptions, path: str) -> dict[str, Any] | None:
    """The estimate of the valid lines, as `estimate()` would give it (None, with a note, when it cannot)."""
    from planner.plan.estimate import output_assumption

    if not scan.requests:
        return None
    try:
        assumption = output_assumption(output)
        priced = price_requests(scan.requests, resolved, assumption, book.as_of, path)
    except BatchplanError as exc:
        scan.notes.append(f"no estimate: {exc.message}")
        return None
    if priced.assumed_note is not None:
        scan.notes.append(priced.assumed_note)
    return {
        "model": model_name,
        "resolved_model": resolved.model.id,
        "price_table": resolved.table.label,
        "as_of": book.as_of.isoformat(),
        "output_assumption": assumption.model_dump(mode="json"),
        "requests": priced.requests,
        "input_tokens": priced.input_tokens,
        "output_tokens": priced.output_tokens,
        "realtime_cost_usd": usd_text(priced.realtime_cost),
        "batch_cost_usd": usd_text(priced.batch_cost),
        "assumed_images": priced.assumed_images,
    }
