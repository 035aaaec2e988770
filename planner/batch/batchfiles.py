"""Vendor batch input files: build each vendor's exact JSONL line, split under its limits, validate.

`prepare()` turns a dataset into upload-ready files plus `manifest.json` (per file: requests, bytes,
tokens, realtime and batch cost, ETA; and totals equal to `estimate()` on the prepared lines).
`validate()` checks an existing batch file against a vendor's rules and estimates its valid lines.

Each vendor's line format (write, read back, shape checks, default limits) is its own module in
planner/vendors/, behind one interface; this module holds what is the same for all of them: ids, templates,
splitting under the limits, atomic staging, the manifest, and validation of a whole file.

Every line is counted the way `estimate()` counts it: chat-shaped vendors as the chat body, Anthropic
and Bedrock as a Messages body, Gemini/Vertex as `contents`/`parts` (each turn like a chat message).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from planner.core import jsonsafe
from planner.core.clock import today
from planner.core.errors import BatchplanError, InputError, UnknownModelError, UsageError
from planner.core.jsonsafe import NumberError, number_problem
from planner.core.request import Request
from planner.io.atomic import StagedFile, StagedFiles
from planner.prices.pricing import BatchLimits, PriceBook, PriceTable, ResolvedModel, load_pricebook
from planner.read.datasets import SkipLog, open_binary, open_text, read_requests
from planner.vendors import (
    ENDPOINTS,
    LineOptions,
    Parsed,
    Unconvertible,
    Vendor,
    detect_vendor,
    get_vendor,
    list_vendors,
)
from planner.vendors.openai import embedding_inputs

if TYPE_CHECKING:
    from planner.plan.options import PrepareOptions

__all__ = [
    "ENDPOINTS", "VENDORS", "VENDOR_RULES", "IdMaker", "LineOptions", "Manifest", "Parsed", "Validation", "Vendor",
    "build_line", "detect_vendor", "embedding_inputs", "encode_line", "fill_template", "get_vendor", "parse_line",
    "prepare", "template_requests", "validate", "vendor_rules",
]

VENDORS = tuple(list_vendors())
#: The vendors by name (kept for callers of the pre-registry API; new code asks `planner.vendors.get_vendor`).
VENDOR_RULES: dict[str, Vendor] = {name: get_vendor(name) for name in VENDORS}
vendor_rules = get_vendor
BATCH_FILE = re.compile(r"^batch-\d{4,}\.jsonl$")
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
SAFE_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


LIMIT_FIELDS = ("max_requests", "max_bytes", "max_line_bytes", "min_requests", "max_embedding_inputs")


#: Price-table provider ids that differ from the vendor's name (`google` → `gemini`), from the vendor modules.
PROVIDER_VENDOR = {get_vendor(n).provider: n for n in VENDORS if get_vendor(n).provider != n}


def provider_of(vendor: Vendor) -> str:
    """The price table (provider id) of a vendor's batch API: `gemini` is the `google` table."""
    return vendor.provider


# ---------------------------------------------------------------------------------------------
# Models of the output


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Limits(_Frozen):
    """The per-file limits a split used, and where each came from ('table', 'providers.md', 'option')."""

    max_requests: int | None
    max_bytes: int | None
    max_line_bytes: int | None
    min_requests: int | None
    max_embedding_inputs: int | None = None  # summed over the requests of an embeddings batch
    sources: dict[str, str]


class Eta(_Frozen):
    p50_hours: float | None
    p90_hours: float | None
    worst_hours: float | None
    waves: int | None = None


class FileEntry(_Frozen):
    name: str
    requests: int
    bytes: int
    sha256: str
    first_id: str | None
    last_id: str | None
    input_tokens: int
    output_tokens: int
    realtime_cost_usd: str
    batch_cost_usd: str | None
    eta: Eta | None


class Totals(_Frozen):
    files: int
    requests: int
    bytes: int
    input_tokens: int
    output_tokens: int
    realtime_cost_usd: str
    batch_cost_usd: str | None
    savings_usd: str | None
    eta: Eta | None


class Manifest(_Frozen):
    """manifest.json. Stable: no timestamps, keys in this order; same inputs give the same bytes."""

    manifest_version: int = MANIFEST_VERSION
    vendor: str
    line_format: str
    model: str
    resolved_model: str
    provider: str
    price_table: str
    as_of: date
    endpoint: str | None
    deployment: str | None
    source: dict[str, Any]
    output_assumption: dict[str, Any]
    limits: Limits
    batch_eligible: bool
    reasons: list[str]
    files: list[FileEntry]
    totals: Totals
    notes: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Custom ids


class IdMaker:
    """Stable ids valid everywhere (`^[a-zA-Z0-9_-]{1,64}$`): from the row's id, deduplicated in order."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    @staticmethod
    def sanitize(raw: str, fallback: str) -> str:
        clean = re.sub(r"[^a-zA-Z0-9_-]", "_", raw.strip())
        if not clean.strip("_"):
            clean = fallback
        if len(clean) > 64:
            digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:10]
            clean = f"{clean[:53]}-{digest}"
        return clean

    def make(self, raw: str, line: int) -> str:
        base = self.sanitize(raw, f"row-{line}")
        candidate, n = base, 1
        while candidate in self.used:
            n += 1
            suffix = f"-{n}"
            candidate = base[: 64 - len(suffix)] + suffix
        self.used.add(candidate)
        return candidate


class UserIds:
    """The user's own ids (`--id-column`), kept as they are: each must fit the vendor's id rule and be unique
    (a duplicate names the line of its first use)."""

    def __init__(self) -> None:
        self.first: dict[str, int] = {}

    def take(self, req: Request, rules: Vendor, name: str) -> str:
        rid = req.id
        pattern = rules.id_pattern
        if pattern is not None and not pattern.match(rid):
            raise InputError(f"id {json.dumps(rid)} does not fit {rules.name}'s {rules.id_field} rule "
                             f"{pattern.pattern}", path=name, line=req.line)
        if not rid.strip():
            raise InputError("empty id (the --id-column)", path=name, line=req.line)
        if rid in self.first:
            raise InputError(f"duplicate id {json.dumps(rid)} (first on line {self.first[rid]}); {rules.id_field} "
                             "must be unique in a batch", path=name, line=req.line)
        self.first[rid] = req.line
        return rid


# ---------------------------------------------------------------------------------------------
# Building lines


def build_line(req: Request, custom_id: str, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
    """One vendor line for one request, and the source fields that could not be carried over."""
    return opts.vendor.build_line(req, custom_id, opts)


def encode_line(obj: dict[str, Any]) -> bytes:
    """The exact bytes written: compact UTF-8 JSON and a newline. A NaN or infinite number is a
    NumberError (a ValueError) naming where it is: no vendor's parser accepts one."""
    try:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise NumberError(number_problem(obj) or "a number is not finite") from None
    return (text + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Reading a vendor line back as a Request (what `estimate()` would count), with its problems


def parse_line(obj: Any, number: int, vendor: Vendor) -> Parsed:
    """Shape checks of one line for `vendor`, and the Request to count when it is well formed."""
    return vendor.parse_line(obj, number)


# ---------------------------------------------------------------------------------------------
# Limits and pricing helpers


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
    provider = provider_of(vendor)
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


def _bare_model(model: str, book: PriceBook) -> str:
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
        _estimate_one,
        assumed_images_note,
        count_dataset,
        in_memory_counts,
        tokenizer_key,
    )

    tok = resolved.tokenizer
    key = tokenizer_key(tok)
    counts, ids = count_dataset(requests, {key: tok}, assumption, path)
    mine, over = in_memory_counts(resolved, counts[key], requests, assumption)  # ctok for Claude, as estimate()
    n = len(ids)
    one = _estimate_one(resolved, mine, ids, Scaling(job_requests=n, sampled=n), as_of, tokens=over)
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


def _eta(resolved: ResolvedModel, *, requests: int, input_tokens: int, output_tokens: int, payload_bytes: int,
         tier: str | None, as_of: date | None = None) -> Eta | None:
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


def _usd(value: Decimal | None) -> str | None:
    from planner.core.money import usd

    return None if value is None else usd(value)


# ---------------------------------------------------------------------------------------------
# Templates


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")


def fill_template(template: str, columns: dict[str, Any], *, path: str, line: int) -> str:
    """`{column}` replaced by the row's value; `{{` and `}}` are literal braces."""

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = m.group(1).strip()
        if name not in columns:
            raise InputError(f"template placeholder {{{name}}} has no column; columns are: "
                             f"{', '.join(columns)}", path=path, line=line)
        value = columns[name]
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    return _PLACEHOLDER.sub(sub, template)


def template_requests(
    path: str, template: str, *, format: str | None, system: str | None, skip: SkipLog | None,
    id_column: str | None = None,
) -> tuple[str, Iterator[Request]]:
    """Rows as column mappings (CSV/TSV header, JSONL object keys, text as `{text}`), each rendered."""
    from planner.read.datasets import TEXT_EXTENSIONS, _base_suffix

    fmt = format or TEXT_EXTENSIONS.get(_base_suffix(path) if path != "-" else "", "jsonl")
    if fmt in ("chat", "openai-batch", "anthropic-batch"):
        fmt = "jsonl"
    name = "<stdin>" if path == "-" else path

    def body(text: str) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": text})
        return {"messages": messages}

    def rows() -> Iterator[Request]:
        with open_text(path) as handle:
            if fmt in ("csv", "tsv"):
                reader = csv.DictReader(handle, delimiter="\t" if fmt == "tsv" else ",")
                for row in reader:
                    number = reader.line_num
                    if not any((v or "").strip() for v in row.values()):
                        continue
                    fields = {k: v for k, v in row.items() if k is not None}
                    rid = str(fields.get(id_column or "id") or f"row-{number}")
                    yield Request(number, rid, "chat", body(fill_template(template, fields, path=name, line=number)))
                return
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                if fmt == "text":
                    cols: dict[str, Any] = {"text": line.rstrip("\r\n")}
                    rid = f"line-{number}"
                else:
                    try:
                        obj = json.loads(line)
                    except ValueError as exc:
                        err = InputError(f"malformed JSON: {exc}", path=name, line=number)
                        if skip is None:
                            raise err from None
                        skip.add(number, err.message)
                        continue
                    if not isinstance(obj, dict):
                        err = InputError("expected a JSON object", path=name, line=number)
                        if skip is None:
                            raise err
                        skip.add(number, err.message)
                        continue
                    cols = obj
                    raw = obj.get(id_column) if id_column else obj.get("id", obj.get("custom_id"))
                    rid = str(raw) if raw is not None else f"line-{number}"
                yield Request(number, rid, "chat", body(fill_template(template, cols, path=name, line=number)))

    return f"{fmt}+template", rows()


# ---------------------------------------------------------------------------------------------
# Atomic output


def _is_output_name(name: str) -> bool:
    """The files `prepare` writes in OUTDIR (and replaces or removes there with --force)."""
    return name == MANIFEST or BATCH_FILE.match(name) is not None


def existing_outputs(outdir: Path) -> list[Path]:
    if not outdir.is_dir():
        return []
    return sorted(p for p in outdir.iterdir() if _is_output_name(p.name))


# ---------------------------------------------------------------------------------------------
# prepare


@dataclass
class _OpenFile:
    name: str
    handle: StagedFile
    digest: Any
    requests: list[Request] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    bytes: int = 0
    embedding_inputs: int = 0


def prepare(
    data: str | Path,
    model: str,
    outdir: str | Path,
    options: PrepareOptions | None = None,
    *,
    pricebook: PriceBook | None = None,
    **flat: Any,
) -> Manifest:
    """Write DATA as `vendor` batch files under OUTDIR (atomically) and return the manifest written.

    `options` is one validated `PrepareOptions` (planner.plan.options); its flat keyword names (`vendor=`,
    `max_tokens=`, `output_tokens=`, `force=`, …) are accepted instead. Raises UsageError for a bad option
    (before anything is read or written), InputError for a bad row, OutputError when the files cannot be
    written (nothing in OUTDIR is changed then)."""
    from planner.plan.estimate import output_assumption
    from planner.plan.options import PrepareOptions
    from planner.read.datasets import ReadOptions

    if options is not None and flat:
        raise UsageError("pass either a PrepareOptions or keyword options, not both")
    o = options if options is not None else PrepareOptions.of(**flat)
    vendor, endpoint, deployment, system, template = o.vendor, o.endpoint, o.deployment, o.system, o.template
    max_tokens, temperature, extra_body, format, text_column = (
        o.max_tokens, o.temperature, o.extra_body, o.format, o.text_column)
    as_of, prices, tier, max_requests, max_bytes, skip_bad, force, id_column = (
        o.as_of, o.prices, o.tier, o.max_requests, o.max_bytes, o.skip_bad, o.force, o.id_column)
    data = str(data)
    out = Path(outdir)
    staging = StagedFiles(out, owned=_is_output_name, force=force,
                          protect=[p for p in (data, o.template_path) if p is not None and p != "-"])
    staging.check()  # before any work: OUTDIR is a directory (or can be one); no input would be replaced
    book = pricebook or load_pricebook(as_of, user_tables=prices)
    if vendor is None:
        provider = book.resolve(model).table.provider
        guess = PROVIDER_VENDOR.get(provider, provider)
        if guess not in VENDORS:
            raise UsageError(f"say which vendor's format to write: --vendor {'|'.join(VENDORS)}")
        vendor = guess
    rules = get_vendor(vendor)
    resolved, notes = resolve_model(book, model, rules)
    rules = rules.for_model(resolved.tokenizer.chat_format)  # Claude on Vertex: Claude's lines, not Gemini's
    line_model = _bare_model(model, book)
    url = _endpoint(rules, endpoint)
    if rules.uses_deployment and not deployment:
        deployment = line_model
        notes.append("Azure lines carry your Global-Batch deployment name as body.model; none given "
                     "(--deployment), so the model name is used")
    elif deployment and not rules.uses_deployment:
        raise UsageError("--deployment applies to --vendor azure only")
    if rules.needs_max_tokens and max_tokens is None:
        notes.append(f"{rules.name} requires max_tokens: rows without one fail (pass --max-tokens N)")
    if not rules.model_in_line:
        notes.append(f"{rules.name} lines carry no model: choose '{line_model}' when you create the job")
    notes += rules.notes(LineOptions(vendor=rules, model=line_model))
    limits = resolve_limits(rules, book.tables.get(provider_of(rules)), max_requests=max_requests, max_bytes=max_bytes)
    if tier is not None:
        from planner.plan.timing import check_tiers

        check_tiers(tier, [resolved.table], book.tables)
    if limits.max_requests is None:
        notes.append(f"{rules.name} publishes no request limit per file; files are split by bytes only")
    if limits.max_bytes is None:
        notes.append(f"{rules.name} publishes no file-size limit; files are split by requests only")
    assumption = output_assumption(o.output)
    byte_cap = limits.max_bytes
    if byte_cap is not None:
        byte_cap -= rules.body_overhead
    line_cap = min(x for x in (byte_cap, limits.max_line_bytes) if x is not None) if (
        byte_cap is not None or limits.max_line_bytes is not None) else None
    input_cap = limits.max_embedding_inputs if url == ENDPOINTS["embeddings"] else None

    skip = SkipLog() if skip_bad else None
    if template is not None:
        src_format, stream = template_requests(
            data, template, format=format, system=system, skip=skip, id_column=id_column
        )
    else:
        reading = ReadOptions(format=format, text_column=text_column, system=system, id_column=id_column)
        src_format, stream = read_requests(data, reading, skip)
    opts = LineOptions(
        vendor=rules, model=line_model, endpoint=url or ENDPOINTS["chat"], deployment=deployment,
        max_tokens=max_tokens, temperature=temperature, extra_body=dict(extra_body or {}),
    )
    ids = IdMaker()
    own_ids = UserIds() if id_column else None
    if id_column and rules.id_field is None:
        raise UsageError(f"{rules.name} lines carry no id (results come back in input order); drop --id-column")
    name = "<stdin>" if data == "-" else data
    files: list[FileEntry] = []
    all_inputs: list[int] = []
    all_outputs: list[int] = []
    all_ids: list[str] = []
    dropped: set[str] = set()
    current: _OpenFile | None = None
    assumed = [0]  # images billed at an assumed size, over every file

    def close(f: _OpenFile) -> None:
        f.handle.close()  # flushed and fsynced: a full disk fails here, naming the file
        priced = price_requests(f.requests, resolved, assumption, book.as_of, name)
        assumed[0] += priced.assumed_images
        all_inputs.extend(priced.inputs)
        all_outputs.extend(priced.outputs)
        all_ids.extend(priced.ids)
        files.append(FileEntry(
            name=f.name, requests=len(f.requests), bytes=f.bytes, sha256=f.digest.hexdigest(),
            first_id=f.ids[0] if f.ids else None, last_id=f.ids[-1] if f.ids else None,
            input_tokens=priced.input_tokens, output_tokens=priced.output_tokens,
            realtime_cost_usd=_usd(priced.realtime_cost) or "0", batch_cost_usd=_usd(priced.batch_cost),
            eta=_eta(resolved, requests=len(f.requests), input_tokens=priced.input_tokens,
                     output_tokens=priced.output_tokens, payload_bytes=f.bytes, tier=tier, as_of=book.as_of),
        ))

    try:
        for req in stream:
            cid = own_ids.take(req, rules, name) if own_ids is not None else ids.make(req.id, req.line)
            try:
                obj, lost = build_line(req, cid, opts)
            except Unconvertible as exc:
                raise InputError(f"row '{req.id}': {exc}", path=name, line=req.line) from None
            dropped.update(lost)
            try:
                encoded = encode_line(obj)
                checked = jsonsafe.loads(encoded)  # integers past 64 bits too
            except NumberError as exc:
                raise InputError(f"row '{req.id}': {exc}; vendors reject such numbers", path=name,
                                 line=req.line) from None
            size = len(encoded)
            if line_cap is not None and size > line_cap:
                raise InputError(
                    f"row '{req.id}' makes a {size:,}-byte line, over {rules.name}'s {line_cap:,}-byte limit "
                    "for one line/file; shorten it or drop the row", path=name, line=req.line)
            parsed = parse_line(checked, req.line, rules)
            if parsed.request is None:
                raise InputError(f"row '{req.id}': {'; '.join(parsed.problems)}", path=name, line=req.line)
            counted = parsed.request
            counted.id = cid
            inputs = embedding_inputs(counted.body) if input_cap is not None and counted.api == "embeddings" else 0
            if input_cap is not None and inputs > input_cap:
                raise InputError(
                    f"row '{req.id}' holds {inputs:,} embedding inputs, over {rules.name}'s limit of "
                    f"{input_cap:,} per batch; split the row", path=name, line=req.line)
            if current is not None and (
                (limits.max_requests is not None and len(current.requests) >= limits.max_requests)
                or (byte_cap is not None and current.bytes + size > byte_cap)
                or (input_cap is not None and current.embedding_inputs + inputs > input_cap)
            ):
                close(current)
                current = None
            if current is None:
                fname = f"batch-{len(files) + 1:04d}.jsonl"
                current = _OpenFile(fname, staging.open(fname), hashlib.sha256())
            current.handle.write(encoded)
            current.digest.update(encoded)
            current.bytes += size
            current.embedding_inputs += inputs
            current.requests.append(counted)
            current.ids.append(cid)
        if current is not None:
            close(current)
            current = None
        if not files:
            raise InputError("no requests found", path=name)

        from planner.count.workload import Scaling
        from planner.plan.estimate import _Counts, _estimate_one, no_image_rule_note

        counts = _Counts()
        counts.inputs.extend(all_inputs)
        counts.outputs.extend(all_outputs)
        n = len(all_ids)
        whole = _estimate_one(resolved, counts, all_ids, Scaling(job_requests=n, sampled=n), book.as_of)
        total_bytes = sum(f.bytes for f in files)
        if limits.min_requests is not None and n < limits.min_requests:
            notes.append(f"{rules.name} needs at least {limits.min_requests:,} records per job; this has {n:,}")
        if dropped:
            notes.append(f"fields not carried over to {rules.name}'s format: {', '.join(sorted(dropped))}")
        if assumed[0] and resolved.tokenizer.images is not None:
            w, h = resolved.tokenizer.images.assumed_size
            notes.append(f"{assumed[0]:,} image(s) have a size that cannot be known offline (an http(s) URL, a file "
                         f"id or a path, which batchplan never opens); each is billed as {w}×{h} px (assumed)")
        elif assumed[0]:
            notes.append(no_image_rule_note(resolved.requested, assumed[0]))
        if skip is not None and skip.count:
            notes.append(f"skipped {skip.count:,} bad row(s) (first at line {skip.first[0][0]}: {skip.first[0][1]})")
        manifest = Manifest(
            vendor=rules.name,
            line_format=rules.line_format,
            model=line_model,
            resolved_model=resolved.model.id,
            provider=resolved.table.provider,
            price_table=resolved.table.label,
            as_of=book.as_of,
            endpoint=opts.endpoint if rules.url_in_line else None,
            deployment=deployment,
            source={"path": data, "format": src_format, "requests": n,
                    "skipped": skip.count if skip is not None else 0, "template": template is not None},
            output_assumption=assumption.model_dump(mode="json"),
            limits=limits,
            batch_eligible=whole.batch_eligible,
            reasons=whole.reasons,
            files=files,
            totals=Totals(
                files=len(files), requests=n, bytes=total_bytes,
                input_tokens=whole.input_tokens, output_tokens=whole.output_tokens,
                realtime_cost_usd=_usd(whole.realtime_cost_usd) or "0",
                batch_cost_usd=_usd(whole.batch_cost_usd), savings_usd=_usd(whole.savings_usd),
                eta=_eta(resolved, requests=n, input_tokens=whole.input_tokens, output_tokens=whole.output_tokens,
                         payload_bytes=total_bytes, tier=tier, as_of=book.as_of),
            ),
            notes=notes,
        )
        with staging.open(MANIFEST) as handle:
            handle.write((json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n").encode())
        staging.commit()
    finally:  # on any exception, Ctrl-C included, every temporary file goes; after a commit there is none
        staging.discard()
    return manifest


def _endpoint(rules: Vendor, endpoint: str | None) -> str | None:
    """`chat` / `responses` / `embeddings` (or the URL itself), checked against the vendor's endpoints."""
    if endpoint is None:
        return ENDPOINTS["chat"]
    key = endpoint.strip().lower().replace("_", "-")
    aliases = {"chat": "chat", "chat-completions": "chat", "chat.completions": "chat", "responses": "responses",
               "embeddings": "embeddings"}
    url = ENDPOINTS[aliases[key]] if key in aliases else endpoint.strip()
    if url not in rules.endpoints:
        kinds = [k for k, v in ENDPOINTS.items() if v in rules.endpoints]
        raise UsageError(f"{rules.name} batches accept --endpoint {', '.join(kinds)}, not '{endpoint}'")
    return url


# ---------------------------------------------------------------------------------------------
# validate


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


def _read_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """Numbered lines, each bounded by the one line limit of every input (planner.io.inputs)."""
    with open_binary(path, "batch file") as handle:
        for line in handle:
            yield handle.line, line


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
    from planner.plan.eligibility import eligibility
    from planner.plan.estimate import output_assumption
    from planner.plan.options import OutputOptions

    path = str(path)
    rules = get_vendor(vendor) if vendor else None
    output = OutputOptions.make(tokens=output_tokens, ratio=output_ratio)  # a bad value fails before reading
    if max_problems is not None and max_problems < 1:
        raise UsageError("max_problems must be 1 or more")
    problems: list[Problem] = []
    notes: list[str] = []
    requests: list[Request] = []
    seen_ids: dict[str, int] = {}
    models: dict[str, int] = {}
    urls: dict[str, int] = {}
    total_bytes = 0
    count = 0
    lines = 0
    line_cap_checks: list[tuple[int, int]] = []
    inputs = 0  # embedding inputs summed over the embeddings lines
    keyless = 0  # well-formed lines without the (optional) id field

    for number, raw in _read_lines(path):
        lines = number
        total_bytes += len(raw)
        line_cap_checks.append((number, len(raw)))
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            problems.append(Problem(line=1, message="file starts with a UTF-8 byte-order mark; save it without one"))
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(line=number, message="not valid UTF-8"))
            count += 1
            continue
        if not text.strip():
            problems.append(Problem(line=number, message="blank line (every line must be one request)"))
            continue
        count += 1
        try:
            obj = jsonsafe.loads(text)
        except NumberError as exc:
            problems.append(Problem(line=number, message=f"{exc}: vendors' JSON parsers reject it"))
            continue
        except (ValueError, RecursionError) as exc:
            msg = f"{exc.msg} (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            problems.append(Problem(line=number, message=f"malformed JSON: {msg}"))
            continue
        if rules is None:
            guess = detect_vendor(obj)
            if guess is None:
                problems.append(Problem(line=number, message="not a batch line of any known vendor"))
                continue
            rules = get_vendor(guess)
            notes.append(f"vendor detected from line {number}: {guess}"
                         + (" (OpenAI, Azure and Groq share this shape; use --vendor)" if guess == "openai" else ""))
        parsed = parse_line(obj, number, rules)
        problems += [Problem(line=number, message=m) for m in parsed.problems]
        if parsed.custom_id is None and rules.id_field is not None and not parsed.problems:
            keyless += 1
        if parsed.custom_id is not None:
            if parsed.custom_id in seen_ids:
                problems.append(Problem(line=number, message=f"duplicate {rules.id_field} "
                                        f"{json.dumps(parsed.custom_id)} (first on line {seen_ids[parsed.custom_id]})"))
            else:
                seen_ids[parsed.custom_id] = number
        if parsed.model is not None:
            models.setdefault(parsed.model, number)
            if len(models) > 1 and models[parsed.model] == number and rules.one_model_per_file:
                first = next(iter(models))
                problems.append(Problem(line=number, message=f"model '{parsed.model}' differs from '{first}' "
                                        f"(line {models[first]}): {rules.name} needs one model per file"))
        if parsed.url is not None:
            urls.setdefault(parsed.url, number)
            if parsed.url not in rules.endpoints:
                problems.append(Problem(line=number, message=f"url '{parsed.url}' is not a {rules.name} batch endpoint "
                                        f"({', '.join(rules.endpoints)})"))
            elif len(urls) > 1 and urls[parsed.url] == number:
                first_url = next(iter(urls))
                problems.append(Problem(line=number, message=f"url '{parsed.url}' differs from '{first_url}' "
                                        f"(line {urls[first_url]}): every line must use the batch's one endpoint"))
        if parsed.request is not None and not any(p.line == number for p in problems):
            requests.append(parsed.request)
            if parsed.request.api == "embeddings":
                inputs += embedding_inputs(parsed.request.body)

    if rules is None:
        if lines == 0:
            raise InputError("empty file: no requests", path=path)
        rules = get_vendor("openai")

    # Model: the option, else the one in the lines.
    model_name = model or (next(iter(models)) if models else None)
    resolved: ResolvedModel | None = None
    book: PriceBook | None = None
    if model_name is not None:
        book = pricebook or load_pricebook(as_of, user_tables=prices)
        try:
            resolved, more = resolve_model(book, model_name, rules)
            notes += more
        except BatchplanError as exc:
            if model is not None:
                raise  # the model asked for with --model is unknown or not served: exit 2
            problems.append(Problem(line=models.get(model_name), message=f"model '{model_name}': {exc.message}"))
        if resolved is not None and (misfit := _vertex_shape_misfit(rules, resolved, requests, model_name)):
            problems.append(misfit)
    else:
        notes.append(f"{rules.name} lines carry no model: pass --model to check eligibility and estimate")

    if keyless:
        notes.append(f"{keyless:,} line(s) have no '{rules.id_field}': {rules.name} accepts them, but their results "
                     f"cannot be matched back by {rules.id_field} (add one to each line to match them)")
    limits = resolve_limits(rules, (book or pricebook or load_pricebook(as_of, user_tables=prices)).tables.get(
        provider_of(rules)))
    cap = limits.max_line_bytes
    if cap is not None:
        for number, size in line_cap_checks:
            if size > cap:
                problems.append(Problem(line=number, message=f"line is {size:,} bytes, over the {cap:,}-byte limit"))
    byte_cap = limits.max_bytes
    if byte_cap is not None:
        byte_cap -= rules.body_overhead
    if byte_cap is not None and total_bytes > byte_cap:
        problems.append(Problem(line=None, message=f"file is {total_bytes:,} bytes, over {rules.name}'s "
                                f"{byte_cap:,}-byte limit: split it (batchplan prepare does)"))
    if limits.max_requests is not None and count > limits.max_requests:
        problems.append(Problem(line=None, message=f"{count:,} requests, over {rules.name}'s limit of "
                                f"{limits.max_requests:,} per file: split it"))
    if limits.min_requests is not None and count < limits.min_requests:
        problems.append(Problem(line=None, message=f"{count:,} requests; {rules.name} needs at least "
                                f"{limits.min_requests:,} per job"))
    if limits.max_embedding_inputs is not None and inputs > limits.max_embedding_inputs:
        problems.append(Problem(line=None, message=f"{inputs:,} embedding inputs, over {rules.name}'s limit of "
                                f"{limits.max_embedding_inputs:,} per batch: split it (batchplan prepare does)"))
    if resolved is not None and book is not None:
        reasons = list(eligibility(resolved, book.as_of, endpoints=list(urls)).reasons)
        at = models.get(model_name or "") if model is None else None
        problems += [Problem(line=at, message=f"model '{model_name}': {r}") for r in reasons]

    estimate_json: dict[str, Any] | None = None
    if resolved is not None and book is not None and requests:
        try:
            assumption = output_assumption(output)
            priced = price_requests(requests, resolved, assumption, book.as_of, path)
            estimate_json = {
                "model": model_name,
                "resolved_model": resolved.model.id,
                "price_table": resolved.table.label,
                "as_of": book.as_of.isoformat(),
                "output_assumption": assumption.model_dump(mode="json"),
                "requests": priced.requests,
                "input_tokens": priced.input_tokens,
                "output_tokens": priced.output_tokens,
                "realtime_cost_usd": _usd(priced.realtime_cost),
                "batch_cost_usd": _usd(priced.batch_cost),
                "assumed_images": priced.assumed_images,
            }
            if priced.assumed_note is not None:
                notes.append(priced.assumed_note)
        except BatchplanError as exc:
            notes.append(f"no estimate: {exc.message}")
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    if max_problems is not None:
        problems = problems[:max_problems]
    return Validation(
        path=path, vendor=rules.name, vendor_detected=vendor is None, lines=lines, requests=count,
        valid_requests=len(requests), bytes=total_bytes, model=model_name, problems=problems,
        estimate=estimate_json, notes=notes,
    )


def iter_batch_files(outdir: Path) -> Iterable[Path]:
    return sorted(p for p in outdir.iterdir() if BATCH_FILE.match(p.name))
