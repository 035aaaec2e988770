"""`prepare()`: a dataset written as a vendor's batch input files, split under its limits, plus `manifest.json`.

In steps: choose the target (vendor, model row, endpoint, limits) → read the requests → build each line and
read it back as `estimate()` would count it → split the lines into files under the limits → price each file
and the whole → write the manifest, all in OUTDIR atomically. Each vendor's line format is its own module in
planner/vendors/; nothing here asks which vendor it is.

Every line is counted the way `estimate()` counts it: chat-shaped vendors as the chat body, Anthropic
and Bedrock as a Messages body, Gemini/Vertex as `contents`/`parts` (each turn like a chat message).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.batch.lines import encode_line, template_requests
from planner.batch.manifest import MANIFEST, FileEntry, IdMaker, Limits, Manifest, Totals, UserIds, is_output_name
from planner.batch.manifest import manifest_bytes as _manifest_bytes
from planner.batch.pricing import (
    PROVIDER_VENDOR,
    Priced,
    bare_model,
    batch_eta,
    price_requests,
    resolve_limits,
    resolve_model,
    usd_text,
)
from planner.core import jsonsafe
from planner.core.errors import InputError, UsageError
from planner.core.jsonsafe import NumberError
from planner.core.request import Request
from planner.io.atomic import StagedFile, StagedFiles
from planner.prices.pricing import PriceBook, ResolvedModel, load_pricebook
from planner.read.datasets import SkipLog, read_requests
from planner.vendors import ENDPOINTS, LineOptions, Unconvertible, Vendor, get_vendor, list_vendors
from planner.vendors.openai import embedding_inputs

if TYPE_CHECKING:
    from planner.plan.estimate import OutputAssumption
    from planner.plan.options import PrepareOptions


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
    from planner.plan.options import PrepareOptions

    if options is not None and flat:
        raise UsageError("pass either a PrepareOptions or keyword options, not both")
    o = options if options is not None else PrepareOptions.of(**flat)
    data = str(data)
    staging = StagedFiles(Path(outdir), owned=is_output_name, force=o.force,
                          protect=[p for p in (data, o.template_path) if p is not None and p != "-"])
    staging.check()  # before any work: OUTDIR is a directory (or can be one); no input would be replaced
    target = _target(o, model, pricebook or load_pricebook(o.as_of, user_tables=o.prices))
    skip = SkipLog() if o.skip_bad else None
    src_format, stream = _read(data, o, skip)
    if o.id_column and target.rules.id_field is None:
        raise UsageError(f"{target.rules.name} lines carry no id (results come back in input order); "
                         "drop --id-column")
    source = _Source(data, src_format, skip, o.template is not None)
    try:
        written = _write_files(stream, target, staging, "<stdin>" if data == "-" else data, o.id_column)
        manifest = _manifest(target, written, source)
        with staging.open(MANIFEST) as handle:
            handle.write(_manifest_bytes(manifest))
        staging.commit()
    finally:  # on any exception, Ctrl-C included, every temporary file goes; after a commit there is none
        staging.discard()
    return manifest


# ---------------------------------------------------------------------------------------------
# The target: vendor, model row, line options and limits


@dataclass
class _Target:
    """What the files are written for, decided before any row is read."""

    book: PriceBook
    rules: Vendor
    resolved: ResolvedModel
    line: LineOptions
    limits: Limits
    assumption: OutputAssumption
    tier: str | None
    byte_cap: int | None  # the file's byte limit less the vendor's upload overhead
    line_cap: int | None  # what one line may take
    input_cap: int | None  # embedding inputs per batch (embeddings endpoint only)
    notes: list[str]


def _target(o: PrepareOptions, model: str, book: PriceBook) -> _Target:
    """The vendor's rules for this model, its line options and limits, and what to tell the user about them."""
    from planner.plan.estimate import output_assumption

    rules = get_vendor(o.vendor or _vendor_of(model, book))
    resolved, notes = resolve_model(book, model, rules)
    rules = rules.for_model(resolved.tokenizer.chat_format)  # Claude on Vertex: Claude's lines, not Gemini's
    line_model = bare_model(model, book)
    url = _endpoint(rules, o.endpoint)
    deployment = _deployment(rules, o.deployment, line_model, notes)
    if rules.needs_max_tokens and o.max_tokens is None:
        notes.append(f"{rules.name} requires max_tokens: rows without one fail (pass --max-tokens N)")
    if not rules.model_in_line:
        notes.append(f"{rules.name} lines carry no model: choose '{line_model}' when you create the job")
    notes += rules.notes(LineOptions(vendor=rules, model=line_model))
    limits = _limits(rules, resolved, book, o, notes)
    byte_cap = limits.max_bytes - rules.body_overhead if limits.max_bytes is not None else None
    line_caps = [x for x in (byte_cap, limits.max_line_bytes) if x is not None]
    line = LineOptions(
        vendor=rules, model=line_model, endpoint=url or ENDPOINTS["chat"], deployment=deployment,
        max_tokens=o.max_tokens, temperature=o.temperature, extra_body=dict(o.extra_body or {}),
    )
    return _Target(
        book=book, rules=rules, resolved=resolved, line=line, limits=limits,
        assumption=output_assumption(o.output), tier=o.tier, byte_cap=byte_cap,
        line_cap=min(line_caps) if line_caps else None,
        input_cap=limits.max_embedding_inputs if url == ENDPOINTS["embeddings"] else None, notes=notes,
    )


def _vendor_of(model: str, book: PriceBook) -> str:
    """The vendor whose format a model's own price table names, when --vendor is not given."""
    provider = book.resolve(model).table.provider
    guess = PROVIDER_VENDOR.get(provider, provider)
    if guess not in list_vendors():
        raise UsageError(f"say which vendor's format to write: --vendor {'|'.join(list_vendors())}")
    return guess


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


def _deployment(rules: Vendor, deployment: str | None, line_model: str, notes: list[str]) -> str | None:
    """Azure's Global-Batch deployment name (the model's name when none is given); no other vendor takes one."""
    if rules.uses_deployment and not deployment:
        notes.append("Azure lines carry your Global-Batch deployment name as body.model; none given "
                     "(--deployment), so the model name is used")
        return line_model
    if deployment and not rules.uses_deployment:
        raise UsageError("--deployment applies to --vendor azure only")
    return deployment


def _limits(rules: Vendor, resolved: ResolvedModel, book: PriceBook, o: PrepareOptions, notes: list[str]) -> Limits:
    """The per-file limits the split keeps under (and a checked --tier for the ETA)."""
    limits = resolve_limits(rules, book.tables.get(rules.provider), max_requests=o.max_requests,
                            max_bytes=o.max_bytes)
    if o.tier is not None:
        from planner.plan.timing import check_tiers

        check_tiers(o.tier, [resolved.table], book.tables)
    if limits.max_requests is None:
        notes.append(f"{rules.name} publishes no request limit per file; files are split by bytes only")
    if limits.max_bytes is None:
        notes.append(f"{rules.name} publishes no file-size limit; files are split by requests only")
    return limits


def _read(data: str, o: PrepareOptions, skip: SkipLog | None) -> tuple[str, Iterator[Request]]:
    """The rows as requests: rendered through --template, or read as any dataset batchplan reads."""
    from planner.read.datasets import ReadOptions

    if o.template is not None:
        return template_requests(data, o.template, format=o.format, system=o.system, skip=skip,
                                 id_column=o.id_column)
    reading = ReadOptions(format=o.format, text_column=o.text_column, system=o.system, id_column=o.id_column)
    return read_requests(data, reading, skip)


# ---------------------------------------------------------------------------------------------
# Lines: built, encoded, read back, checked against the limits


@dataclass
class _Line:
    encoded: bytes
    request: Request  # as `estimate()` counts the line, with the line's id
    custom_id: str
    embedding_inputs: int
    dropped: list[str]


def _build(req: Request, cid: str, target: _Target, name: str) -> _Line:
    """One row as the vendor's line: its bytes, and the request read back from them (what is counted)."""
    rules = target.rules
    try:
        obj, lost = rules.build_line(req, cid, target.line)
    except Unconvertible as exc:
        raise InputError(f"row '{req.id}': {exc}", path=name, line=req.line) from None
    try:
        encoded = encode_line(obj)
        checked = jsonsafe.loads(encoded)  # integers past 64 bits too
    except NumberError as exc:
        raise InputError(f"row '{req.id}': {exc}; vendors reject such numbers", path=name, line=req.line) from None
    size = len(encoded)
    if target.line_cap is not None and size > target.line_cap:
        raise InputError(
            f"row '{req.id}' makes a {size:,}-byte line, over {rules.name}'s {target.line_cap:,}-byte limit "
            "for one line/file; shorten it or drop the row", path=name, line=req.line)
    parsed = rules.parse_line(checked, req.line)
    if parsed.request is None:
        raise InputError(f"row '{req.id}': {'; '.join(parsed.problems)}", path=name, line=req.line)
    counted = parsed.request
    counted.id = cid
    cap = target.input_cap
    inputs = embedding_inputs(counted.body) if cap is not None and counted.api == "embeddings" else 0
    if cap is not None and inputs > cap:
        raise InputError(f"row '{req.id}' holds {inputs:,} embedding inputs, over {rules.name}'s limit of "
                         f"{cap:,} per batch; split the row", path=name, line=req.line)
    return _Line(encoded, counted, cid, inputs, lost)


# ---------------------------------------------------------------------------------------------
# Files: lines split under the limits, each priced when it is closed


@dataclass
class _OpenFile:
    name: str
    handle: StagedFile
    digest: Any
    requests: list[Request] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    bytes: int = 0
    embedding_inputs: int = 0

    def fits(self, line: _Line, target: _Target) -> bool:
        """Whether one more line stays under every per-file limit."""
        limits = target.limits
        return not (
            (limits.max_requests is not None and len(self.requests) >= limits.max_requests)
            or (target.byte_cap is not None and self.bytes + len(line.encoded) > target.byte_cap)
            or (target.input_cap is not None and self.embedding_inputs + line.embedding_inputs > target.input_cap)
        )

    def write(self, line: _Line) -> None:
        self.handle.write(line.encoded)
        self.digest.update(line.encoded)
        self.bytes += len(line.encoded)
        self.embedding_inputs += line.embedding_inputs
        self.requests.append(line.request)
        self.ids.append(line.custom_id)


@dataclass
class _Source:
    """Where the rows came from, as the manifest's `source` says."""

    path: str
    format: str
    skip: SkipLog | None  # the rows skipped (--skip-bad)
    template: bool


@dataclass
class _Written:
    """The files written, each priced, and what the manifest says about all of them."""

    files: list[FileEntry] = field(default_factory=list)
    priced: list[Priced] = field(default_factory=list)
    dropped: set[str] = field(default_factory=set)


def _write_files(stream: Iterator[Request], target: _Target, staging: StagedFiles, name: str,
                 id_column: str | None) -> _Written:
    """Every row as a line, in files of `batch-NNNN.jsonl` split under the limits."""
    ids = IdMaker()
    own_ids = UserIds() if id_column else None
    written = _Written()
    current: _OpenFile | None = None
    for req in stream:
        cid = own_ids.take(req, target.rules, name) if own_ids is not None else ids.make(req.id, req.line)
        line = _build(req, cid, target, name)
        written.dropped.update(line.dropped)
        if current is not None and not current.fits(line, target):
            _close(current, target, written, name)
            current = None
        if current is None:
            fname = f"batch-{len(written.files) + 1:04d}.jsonl"
            current = _OpenFile(fname, staging.open(fname), hashlib.sha256())
        current.write(line)
    if current is not None:
        _close(current, target, written, name)
    if not written.files:
        raise InputError("no requests found", path=name)
    return written


def _close(f: _OpenFile, target: _Target, written: _Written, name: str) -> None:
    """A full file: flushed, priced, and listed."""
    f.handle.close()  # flushed and fsynced: a full disk fails here, naming the file
    resolved, as_of = target.resolved, target.book.as_of
    priced = price_requests(f.requests, resolved, target.assumption, as_of, name)
    written.priced.append(priced)
    written.files.append(FileEntry(
        name=f.name, requests=len(f.requests), bytes=f.bytes, sha256=f.digest.hexdigest(),
        first_id=f.ids[0] if f.ids else None, last_id=f.ids[-1] if f.ids else None,
        input_tokens=priced.input_tokens, output_tokens=priced.output_tokens,
        realtime_cost_usd=usd_text(priced.realtime_cost) or "0", batch_cost_usd=usd_text(priced.batch_cost),
        eta=batch_eta(resolved, requests=len(f.requests), input_tokens=priced.input_tokens,
                      output_tokens=priced.output_tokens, payload_bytes=f.bytes, tier=target.tier, as_of=as_of),
    ))


# ---------------------------------------------------------------------------------------------
# The manifest: totals equal to `estimate()` on every line, and the notes


def _manifest(target: _Target, written: _Written, source: _Source) -> Manifest:
    """manifest.json's content: the files, their totals as one `estimate()` of every line, and the notes."""
    from planner.count.workload import Scaling
    from planner.plan.estimate import TokenCounts, estimate_one

    counts = TokenCounts()
    all_ids: list[str] = []
    for priced in written.priced:
        counts.inputs.extend(priced.inputs)
        counts.outputs.extend(priced.outputs)
        all_ids.extend(priced.ids)
    n = len(all_ids)
    resolved, book, rules = target.resolved, target.book, target.rules
    whole = estimate_one(resolved, counts, all_ids, Scaling(job_requests=n, sampled=n), book.as_of)
    total_bytes = sum(f.bytes for f in written.files)
    skip = source.skip
    return Manifest(
        vendor=rules.name, line_format=rules.line_format, model=target.line.model, resolved_model=resolved.model.id,
        provider=resolved.table.provider, price_table=resolved.table.label, as_of=book.as_of,
        endpoint=target.line.endpoint if rules.url_in_line else None, deployment=target.line.deployment,
        source={"path": source.path, "format": source.format, "requests": n,
                "skipped": skip.count if skip is not None else 0, "template": source.template},
        output_assumption=target.assumption.model_dump(mode="json"), limits=target.limits,
        batch_eligible=whole.batch_eligible, reasons=whole.reasons, files=written.files,
        totals=Totals(
            files=len(written.files), requests=n, bytes=total_bytes,
            input_tokens=whole.input_tokens, output_tokens=whole.output_tokens,
            realtime_cost_usd=usd_text(whole.realtime_cost_usd) or "0",
            batch_cost_usd=usd_text(whole.batch_cost_usd), savings_usd=usd_text(whole.savings_usd),
            eta=batch_eta(resolved, requests=n, input_tokens=whole.input_tokens, output_tokens=whole.output_tokens,
                          payload_bytes=total_bytes, tier=target.tier, as_of=book.as_of),
        ),
        notes=[*target.notes, *_notes(target, written, n, skip)],
    )


def _notes(target: _Target, written: _Written, n: int, skip: SkipLog | None) -> list[str]:
    """What the whole batch needs to be told: too few requests, fields left out, images of an assumed size,
    rows skipped."""
    from planner.plan.estimate import no_image_rule_note

    rules, limits, resolved = target.rules, target.limits, target.resolved
    notes: list[str] = []
    if limits.min_requests is not None and n < limits.min_requests:
        notes.append(f"{rules.name} needs at least {limits.min_requests:,} records per job; this has {n:,}")
    if written.dropped:
        notes.append(f"fields not carried over to {rules.name}'s format: {', '.join(sorted(written.dropped))}")
    assumed = sum(p.assumed_images for p in written.priced)
    if assumed and resolved.tokenizer.images is not None:
        w, h = resolved.tokenizer.images.assumed_size
        notes.append(f"{assumed:,} image(s) have a size that cannot be known offline (an http(s) URL, a file "
                     f"id or a path, which batchplan never opens); each is billed as {w}×{h} px (assumed)")
    elif assumed:
        notes.append(no_image_rule_note(resolved.requested, assumed))
    if skip is not None and skip.count:
        notes.append(f"skipped {skip.count:,} bad row(s) (first at line {skip.first[0][0]}: {skip.first[0][1]})")
    return notes
