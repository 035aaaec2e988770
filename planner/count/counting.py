"""Exact token counting over all cores, streaming, order preserved: one engine for every input.

How a dataset flows (`count_file`, what `estimate` runs):
* The calling process only cuts the input into blocks of about `SPAN_BYTES` of whole lines, with block
  reads and C-level byte counts (never a Python loop per line). Each block goes to a worker, which
  decodes, parses and validates it (`datasets.parse_line`, or `csv_block_records` + `csv_request`),
  counts it under every tokenizer and sends back one columnar `Counted` chunk. A regular file's blocks
  travel as (offset, length) and workers `pread` them; a pipe's, stdin's or a `.gz`'s travel as bytes.
* CSV/TSV is cut the same way. A newline ends an RFC 4180 record exactly when the number of `"` before
  it (since the last record boundary) is even, so the cutter extends a block until its quote count is
  even. The worker checks the cut: it parses its block with `csv.reader` plus an end marker, and a
  marker swallowed by a field means the cut fell inside a quoted field (possible only with a stray `"`
  in an unquoted field, which `csv.reader` takes literally). Blocks before it are exact; from that block
  on the file is read record by record (`datasets.csv_records`) and the records still counted on all
  cores. The totals equal `csv.reader` over the whole file in every case.
* Inputs smaller than `SMALL_BYTES` are counted in the calling process, with the same code, and no
  pool is started: below it a pool's start-up costs more than the second core gives. The encodings
  load on the first request counted, once per process tree.

Counting several models costs what their distinct (encoding, counting rule) pairs cost, not what the
models cost. A request becomes its pieces once per counting rule (`tokens.request_shape`; tokenizers
that differ only in per-message, per-name and priming overheads share it, and so do all tokenizers of
one chat format for a request without images or tools); each text is encoded once per encoding per
chunk however many rules use it; each model's count is then arithmetic on those numbers
(`fixed + overheads + encoded`, times its calibration factor). Texts repeated across requests (roles,
a shared system prompt) are encoded once per process (`_RepeatCache`, bounded).

A worker does about the work of the plain json.loads (or csv.reader) + encode loop per request: token
ids come back from tiktoken as one packed buffer (`encodings.token_counter`) and a CSV body's size is
measured without serialising it. Tried and rejected after measurement (docs/benchmarks.md): tiktoken's
`encode_ordinary_batch` threads and per-thread slices (parsing holds the GIL), `ProcessPoolExecutor`
(its feeder threads compete with the caller), pickling lists of lines to workers instead of one bytes
block per task, pinning workers to cores, orjson (number and error semantics unlike json's).

Memory stays flat: at most `2 * workers` blocks are in flight, results are yielded in input order as
soon as they are ready, the repeat cache has fixed bounds, tiktoken's Python copy of the ranks is
dropped once its core is built (planner.count.encodings), and no line longer than the input's line
limit is read (planner.io.inputs).

Lifecycle: workers are forked on Linux (they inherit the encodings, loaded once by this process) and
spawned elsewhere. A worker ignores Ctrl-C (the parent decides), dies with its parent (PR_SET_PDEATHSIG
on Linux; EOF on its pipe elsewhere), and holds /dev/null, not the parent's stdin/stdout/stderr, so
`estimate … | cat` ends when the parent does, however it ends. A worker that dies mid-run is one
`WorkerError`, and the pool's other workers are stopped.

For Spark, Dask or Ray, use the pure per-record functions `count_request_json` / `count_request`, which
need nothing but the tokenizer rule (see docs/scale.md).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import select
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Literal, cast

from planner.core.errors import BatchplanError, InputError
from planner.core.request import Request
from planner.count.encodings import token_counter
from planner.count.tokens import (
    Count,
    Pieces,
    approximated_tokens,
    calibrate,
    count_pieces,
    request_pieces,
    request_shape,
    shape_key,
)
from planner.io.inputs import Input
from planner.read.datasets import (
    CsvColumns,
    ReadOptions,
    chat_body_bytes,
    csv_block_records,
    csv_columns,
    csv_records,
    csv_request,
    parse_line,
)
from planner.read.records import detect_record, parse_record

if TYPE_CHECKING:
    from planner.prices.pricing import Tokenizer

_PLAIN = ReadOptions()  # a record read as it stands: no --system, no columns named
DEFAULT_CHUNK = 1000  # requests per task when requests (not file blocks) are counted
SPAN_BYTES = 1 << 19  # bytes of whole lines per worker task: short, so the last tasks end together
SMALL_BYTES = 2 << 20  # inputs below this are counted in-process: there the pool's start-up costs what the second
# core gives (measured: docs/benchmarks.md)
ODD_RUN_BLOCKS = 32  # a CSV block may grow to this many SPAN_BYTES while a quote is open, then records are read
Mode = Literal["process", "serial"]
Errors = list[tuple[int, str]]


class WorkerError(BatchplanError):
    """A counting worker process stopped (killed, out of memory) or failed: the count is incomplete."""


def default_workers() -> int:
    """Usable cores (respecting CPU affinity / container limits where the OS exposes them)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------------------------------------
# Pure per-record functions (safe to ship to Spark/Dask executors)


def request_from_json(obj: dict[str, Any], line: int = 0) -> Request:
    """A decoded JSONL record as a `Request`, read as a dataset file's records are (every vendor's batch
    line, the generic shapes, a bare chat body), so a line shape is read in one place. Raises ValueError
    with the reason on a record that is none of them."""
    try:
        return parse_record(obj, line, detect_record(obj), _PLAIN, "<record>")
    except InputError as exc:
        raise ValueError(exc.message) from None


def count_request(req: Request, tok: Tokenizer) -> int:
    """Input tokens of one request (no batching, no processes): for use inside map functions."""
    return count_pieces([request_pieces(req, tok)], tok)[0].tokens


def count_request_json(line: str, tok: Tokenizer) -> int:
    """Input tokens of one JSONL line (any format `request_from_json` accepts). Pure and picklable.
    Raises ValueError (json.JSONDecodeError is one) on a line that is not such a record."""
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("a JSONL record must be a JSON object")
    return count_request(request_from_json(obj), tok)


# ---------------------------------------------------------------------------------------------
# Counting inside one process: work per distinct (encoding, counting rule), arithmetic per model


class _RepeatCache:
    """Token counts under one encoding, with texts that repeat across requests (roles, names, a shared
    system prompt) encoded once per process instead of once per request. A text is kept the second time
    it is seen. Memory is bounded whatever the file's size: at most `MAX_SEEN` hashes (under 1 MB) and
    `MAX_KNOWN_CHARS` characters of kept text; either is simply emptied when full."""

    MAX_LEN = 32_768
    MAX_KNOWN_CHARS = 1_000_000
    MAX_SEEN = 10_000  # the texts of the last ~2,500 requests: roles and shared prompts recur far more often

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.count = token_counter(encoding)
        self.known: dict[str, int] = {}
        self.known_chars = 0
        self.seen: set[int] = set()

    def sums(self, pieces: Sequence[Pieces], memo: dict[str, int] | None = None) -> list[int]:
        """Each request's encoded tokens (its texts' counts summed). `memo` (text -> count, for one chunk)
        is read and filled when several counting rules share this encoding and so the same texts."""
        known, seen, count = self.known, self.seen, self.count
        max_len, max_seen = self.MAX_LEN, self.MAX_SEEN
        out: list[int] = []
        append = out.append
        for p in pieces:
            total = 0
            for text in p.texts:
                n = known.get(text)
                if n is None:
                    if memo is not None:
                        n = memo.get(text)
                        if n is not None:
                            total += n
                            continue
                    n = count(text)
                    if memo is not None:
                        memo[text] = n
                    if len(text) <= max_len:
                        h = hash(text)
                        if h in seen:
                            self._keep(text, n)
                        else:
                            if len(seen) >= max_seen:
                                seen.clear()
                            seen.add(h)
                total += n
            append(total)
        return out

    def _keep(self, text: str, n: int) -> None:
        if self.known_chars + len(text) > self.MAX_KNOWN_CHARS:
            self.known.clear()
            self.known_chars = 0
        self.known[text] = n
        self.known_chars += len(text)


class _Counter:
    """Counts requests under several tokenizers at the cost of their distinct counting rules and
    encodings (see the module docstring)."""

    def __init__(self, toks: Sequence[Tokenizer]) -> None:
        self.toks = list(toks)
        shapes: dict[tuple[str, str, str], int] = {}
        self.reps: list[Tokenizer] = []  # one tokenizer per distinct counting rule
        self.shape_of: list[int] = []
        for tok in self.toks:
            key = shape_key(tok)
            if key not in shapes:
                shapes[key] = len(self.reps)
                self.reps.append(tok)
            self.shape_of.append(shapes[key])
        first_of_format: dict[str, int] = {}
        # rules of one chat format give the same pieces for a request without images or tools
        self.base_of = [first_of_format.setdefault(rep.chat_format, s) for s, rep in enumerate(self.reps)]
        self.encodings = list(dict.fromkeys(tok.encoding for tok in self.toks))
        self.enc_of = [self.encodings.index(tok.encoding) for tok in self.toks]
        self.shapes_of_enc = [
            sorted({self.shape_of[j] for j in range(len(self.toks)) if self.enc_of[j] == e})
            for e in range(len(self.encodings))
        ]
        self._caches: list[_RepeatCache] | None = None

    def caches(self) -> list[_RepeatCache]:
        if self._caches is None:  # the encodings load on first use, once per process
            self._caches = [_RepeatCache(enc) for enc in self.encodings]
        return self._caches

    def _shapes(
        self, requests: Sequence[Request]
    ) -> tuple[list[list[Pieces]], list[int], dict[tuple[int, int], list[int]]]:
        """Each counting rule's pieces of the requests (shared where equal), and the encoded tokens of
        each request under each (rule, encoding) pair that some tokenizer needs."""
        caches = self.caches()
        pieces: list[list[Pieces]] = []
        alias: list[int] = []  # the shape whose pieces list this shape's is (the very same objects)
        for s, rep in enumerate(self.reps):
            b = self.base_of[s]
            if b == s:
                pieces.append([request_shape(r, rep) for r in requests])
                alias.append(s)
                continue
            base = pieces[b]
            if any(p.ruled for p in base):
                pieces.append([request_shape(r, rep) if p.ruled else p for p, r in zip(base, requests, strict=True)])
                alias.append(s)
            else:
                pieces.append(base)
                alias.append(alias[b])
        sums: dict[tuple[int, int], list[int]] = {}
        for e, shapes in enumerate(self.shapes_of_enc):
            distinct = sorted({alias[s] for s in shapes})
            memo: dict[str, int] | None = {} if len(distinct) > 1 else None
            for s in distinct:
                sums[(s, e)] = caches[e].sums(pieces[s], memo)
        return pieces, alias, sums

    def _tokens(self, j: int, pieces: Sequence[Pieces], raw: Sequence[int]) -> list[int]:
        """Tokenizer j's count of each request: arithmetic on the shared pieces and encoded tokens."""
        tok = self.toks[j]
        mo, no, rp = tok.message_overhead, tok.name_overhead, tok.reply_priming
        so = mo if tok.system_overhead is None else tok.system_overhead
        ro, ns = tok.request_overhead, tok.no_system_overhead  # a chat template's (0 for the others)
        if tok.factor == 1:
            return [
                p.fixed + mo * p.messages + no * p.names + rp * p.primed + so * p.systems + ro * p.requests
                + ns * p.bare + r + p.exact
                for p, r in zip(pieces, raw, strict=True)
            ]
        return [
            calibrate(
                p.fixed + mo * p.messages + no * p.names + rp * p.primed + so * p.systems + ro * p.requests
                + ns * p.bare + r, tok
            ) + p.exact
            for p, r in zip(pieces, raw, strict=True)
        ]

    def count(self, requests: Sequence[Request]) -> list[list[Count]]:
        """`out[j][i]`: request i under tokenizer j."""
        if not requests:  # nothing to encode: the encodings stay unloaded
            return [[] for _ in self.toks]
        pieces, alias, sums = self._shapes(requests)
        out: list[list[Count]] = []
        for j in range(len(self.toks)):
            s = self.shape_of[j]
            ps = pieces[s]
            tokens = self._tokens(j, ps, sums[(alias[s], self.enc_of[j])])
            out.append([Count(n, p.images, p.assumed_images, p.image_tokens) for n, p in zip(tokens, ps, strict=True)])
        return out

    def columns(self, requests: Sequence[Request]) -> tuple[list[list[int]], list[int]]:
        """`tokens[j][i]` and, per tokenizer, the images billed at an assumed size (no `Count` objects)."""
        if not requests:
            return [[] for _ in self.toks], [0] * len(self.toks)
        pieces, alias, sums = self._shapes(requests)
        tokens: list[list[int]] = []
        assumed: list[int] = []
        for j in range(len(self.toks)):
            s = self.shape_of[j]
            tokens.append(self._tokens(j, pieces[s], sums[(alias[s], self.enc_of[j])]))
            assumed.append(sum(p.assumed_images for p in pieces[s]))
        return tokens, assumed

    def texts(self, texts: Sequence[str]) -> list[list[int]]:
        """Calibrated tokens of bare texts (sample outputs) under each tokenizer, encoded once per encoding."""
        caches = self.caches()
        raw = [[caches[e].count(t) for t in texts] for e in range(len(self.encodings))]
        return [
            raw[self.enc_of[j]] if tok.factor == 1 else [calibrate(n, tok) for n in raw[self.enc_of[j]]]
            for j, tok in enumerate(self.toks)
        ]


# ---------------------------------------------------------------------------------------------
# What the estimate takes from each chunk


@dataclass(slots=True)
class Counted:
    """A chunk of requests as the estimate needs them, column by column (cheap to send between
    processes): counts under each tokenizer and the few facts the plan uses."""

    lines: list[int]
    ids: list[str]
    max_tokens: list[int | None]
    tokens: list[list[int]]  # tokens[j][i]: input tokens of request i under tokenizer j
    assumed_images: list[int]  # per tokenizer, summed over the chunk
    output_tokens: list[list[int]] | None  # output_tokens[j][i]: real sample outputs (--output-column)
    prefix: bytes | None  # digest of the system prompt every request here starts with
    prefix_shared: bool  # False when a request lacks it or has another one (or nobody asked)
    prefix_tokens: list[int]  # that prompt's tokens under each tokenizer
    body_bytes: int  # summed size of the request bodies (file lines, or compact JSON)
    #: o200k tokens of the parts no published rule counts (structured-output schemas, hosted tools, files)
    approximated: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def leading_prefix(req: Request) -> tuple[str, Request] | None:
    """The request's first system/developer message (or Anthropic system prompt), as a signature and a
    one-message request whose tokens are the cacheable prefix."""
    if req.api == "anthropic":
        system = req.body.get("system")
        if system is None:
            return None
        return json.dumps(system, sort_keys=True), Request(0, "prefix", "anthropic", {"system": system, "messages": []})
    messages = req.body.get("messages")
    if req.api != "chat" or not messages or messages[0].get("role") not in ("system", "developer"):
        return None
    first = messages[0]
    content = first.get("content")
    if isinstance(content, str) and len(first) == 2:  # the usual {"role", "content"}: skip the JSON dump
        signature = f"{first['role']}\x00{content}"
    else:
        signature = json.dumps(first, sort_keys=True)
    return signature, Request(0, "prefix", "chat", {"messages": [first]})


class _Describer:
    """Turns requests into `Counted`, remembering the token counts of prompts it has seen."""

    def __init__(self, toks: Sequence[Tokenizer], want_prefix: bool = False) -> None:
        self.toks = list(toks)
        self.want_prefix = want_prefix
        self.prefixes: dict[bytes, list[int]] = {}
        self.counter = _Counter(toks)

    def count(self, requests: Sequence[Request]) -> list[list[Count]]:
        return self.counter.count(requests)

    def counted(
        self, requests: list[Request], sizes: list[int] | None, errors: Errors
    ) -> tuple[Counted, Errors]:
        """The chunk counted and described; a request too deeply nested to walk becomes a bad line."""
        try:
            tokens, assumed = self.counter.columns(requests)
        except RecursionError:
            requests, sizes, errors = self._without_too_deep(requests, sizes, errors)
            tokens, assumed = self.counter.columns(requests)
        return self._described(requests, tokens, assumed, sizes), errors

    def _without_too_deep(
        self, requests: list[Request], sizes: list[int] | None, errors: Errors
    ) -> tuple[list[Request], list[int] | None, Errors]:
        keep: list[int] = []
        errors = list(errors)
        for i, req in enumerate(requests):
            try:
                self.counter.count([req])
            except RecursionError:
                errors.append((req.line, "nested too deeply to count"))
            else:
                keep.append(i)
        return [requests[i] for i in keep], [sizes[i] for i in keep] if sizes is not None else None, errors

    def prefix(self, req: Request) -> tuple[bytes | None, list[int]]:
        found = leading_prefix(req)
        if found is None:
            return None, [0] * len(self.toks)
        signature, sample = found
        digest = hashlib.blake2b(signature.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        known = self.prefixes.get(digest)
        if known is None:
            known = [
                max(0, count_pieces([request_pieces(sample, tok)], tok)[0].tokens - tok.reply_priming)
                for tok in self.toks
            ]
            if len(self.prefixes) < 4096:
                self.prefixes[digest] = known
        return digest, known

    def describe(
        self, requests: Sequence[Request], counts: Sequence[Sequence[Count]], sizes: Sequence[int] | None = None
    ) -> Counted:
        """`counts[j][i]`: request i under tokenizer j. `sizes`: each request's line length in the file,
        when it came from one (else its body is measured as compact JSON)."""
        tokens = [[c.tokens for c in per_tok] for per_tok in counts]
        assumed = [sum(c.assumed_images for c in per_tok) for per_tok in counts]
        return self._described(requests, tokens, assumed, sizes)

    def _described(
        self, requests: Sequence[Request], tokens: list[list[int]], assumed: list[int], sizes: Sequence[int] | None
    ) -> Counted:
        n_toks = len(self.toks)
        prefix: bytes | None = None
        shared = self.want_prefix and bool(requests)
        prefix_tokens = [0] * n_toks
        if shared:
            for req in requests:
                digest, known = self.prefix(req)
                if digest is None or (prefix is not None and digest != prefix):
                    shared, prefix = False, None
                    break
                prefix, prefix_tokens = digest, known
        outputs = None
        if any(r.output_text is not None for r in requests):
            outputs = self.counter.texts([r.output_text or "" for r in requests])
        if sizes is None:
            sizes = [len(json.dumps(r.body, ensure_ascii=False).encode("utf-8", "surrogatepass")) for r in requests]
        return Counted(
            lines=[r.line for r in requests],
            ids=[r.id for r in requests],
            max_tokens=[r.max_tokens for r in requests],
            tokens=tokens,
            assumed_images=assumed,
            output_tokens=outputs,
            prefix=prefix,
            prefix_shared=shared,
            prefix_tokens=prefix_tokens if shared else [0] * n_toks,
            body_bytes=sum(sizes),
            approximated=approximated_tokens(requests),
        )


# ---------------------------------------------------------------------------------------------
# Tasks: what a worker (or the calling process, for small inputs) is asked to do


@dataclass(frozen=True)
class _Config:
    """Everything a worker needs, sent once when it starts."""

    toks: list[Tokenizer]
    fmt: str  # a line format, "csv"/"tsv", or "" when the tasks carry ready-made requests
    options: ReadOptions
    name: str
    want_prefix: bool = False
    columns: CsvColumns | None = None


_UNCLEAN = "unclean"  # a CSV block that did not end at a record boundary: read on record by record


@dataclass(slots=True)
class _Stopped:
    """A block's requests up to an error that stops the count (handed on first, then it is raised, so
    the first problem in the file is the one reported)."""

    counted: Counted
    errors: Errors
    message: str
    line: int | None
_TAIL = "tail"  # the block cutter gave up on a quote left open: read on record by record


def _numbered(data: bytes, first_line: int) -> list[tuple[int, bytes]]:
    """Numbered lines of a block of whole lines (a UTF-8 BOM on line 1 dropped)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if first_line == 1 and lines and lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    return [(first_line + i, line) for i, line in enumerate(lines)]


def _parse_lines(
    items: Sequence[tuple[int, bytes]], fmt: str, options: ReadOptions, name: str
) -> tuple[list[Request], list[int], Errors]:
    requests: list[Request] = []
    sizes: list[int] = []
    errors: Errors = []
    for number, raw in items:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.append((number, "not UTF-8 text (is it a binary file?)" if number == 1 else "not valid UTF-8"))
            continue
        try:
            req = parse_line(text, number, fmt, options, name)
        except InputError as exc:
            errors.append((number, exc.message))
            continue
        if req is not None:
            requests.append(req)
            sizes.append(len(raw.rstrip(b"\r\n")))
    return requests, sizes, errors


class _Handler:
    """Does one task: ("span", first line, path, offset, length, last) or ("bytes", first line, data,
    last) for a block of the file; ("rows", [(line, fields)]) for CSV records read by the caller;
    ("requests", requests, describe) for requests parsed by the caller."""

    def __init__(self, config: _Config) -> None:
        self.config = config
        self.describer = _Describer(config.toks, config.want_prefix)
        self.files: dict[str, int] = {}

    def __call__(self, task: tuple[Any, ...]) -> Any:
        kind = task[0]
        c = self.config
        if kind == "requests":
            return self.describer.counted(task[1], None, []) if task[2] else self.describer.count(task[1])
        if kind == "rows":
            return self._rows(task[1])
        first: int = task[1]
        if kind == "span":
            data = self._pread(task[2], task[3], task[4], first)
            last = task[5]
        else:
            data, last = task[2], task[3]
        if c.columns is not None:
            found = csv_block_records(data, first, c.columns.delimiter, c.name, last=last)
            if found is None:
                return _UNCLEAN
            records, stop = found
            counted, errors = self._rows(records)
            if stop is None:
                return counted, errors
            return _Stopped(counted, errors, stop.message, stop.line)
        requests, sizes, errors = _parse_lines(_numbered(data, first), c.fmt, c.options, c.name)
        return self.describer.counted(requests, sizes, errors)

    def _rows(self, records: Sequence[tuple[int, list[str]]]) -> tuple[Counted, Errors]:
        c = self.config
        assert c.columns is not None
        requests: list[Request] = []
        sizes: list[int] = []
        errors: Errors = []
        text_at, system = c.columns.text, c.options.system
        for number, row in records:
            try:
                req = csv_request(row, number, c.columns, c.options, c.name)
            except InputError as exc:
                errors.append((number, exc.message))
                continue
            if req is not None:
                requests.append(req)
                sizes.append(chat_body_bytes(row[text_at], system))
        return self.describer.counted(requests, sizes, errors)

    def _pread(self, path: str, offset: int, length: int, first: int) -> bytes:
        fd = self.files.get(path)
        if fd is None:
            try:
                fd = self.files[path] = os.open(path, os.O_RDONLY)
            except OSError as exc:
                raise InputError(f"cannot reopen: {exc.strerror}", path=self.config.name) from None
        data = os.pread(fd, length, offset)
        if len(data) < length:
            raise InputError(
                "the file changed while it was being read (it is shorter than when it was opened); "
                "nothing was counted from a partial file",
                path=self.config.name,
                line=first,
            )
        return data


# ---------------------------------------------------------------------------------------------
# Where tasks run: in this process, or in a pool of worker processes


Item = tuple[Any, tuple[Any, ...] | None]  # (what the caller gets back, the task; None: stop here, _TAIL)


class _InProcess:
    """Runs tasks right here (small inputs, one core): the same handler as a worker's, no pool."""

    def __init__(self, config: _Config) -> None:
        self.handler = _Handler(config)

    def map(self, items: Iterator[Item], depth: int = 1) -> Iterator[tuple[Any, Any]]:
        for meta, task in items:
            if task is None:
                yield meta, _TAIL
                return
            yield meta, self.handler(task)

    def abandon(self) -> list[Any]:
        return []

    def close(self) -> None:
        return


#: The signals that stop the parent; it blocks them while it forks (see `_Pool`).
_INTERRUPTS = {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)}


def _die_with_parent(parent_pid: int, keep: int) -> None:
    """A worker's set-up: ignore Ctrl-C (the parent handles it and stops us), die with the parent, and
    hold /dev/null instead of the parent's stdin/stdout/stderr and none of its other descriptors (only
    `keep`, the worker's pipe), so a pipeline reading the parent's output, or a pipe the caller is
    writing, ends when the parent is done with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: killed when the parent dies
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(0)
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
    if sys.platform.startswith("linux"):  # forked: every descriptor of the parent was inherited
        _close_inherited(keep)


def _close_inherited(keep: int) -> None:
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd > 2 and fd != keep:
                with contextlib.suppress(OSError):
                    os.close(fd)


def _serve(conn: Connection, config: _Config, parent_pid: int, held: set[int]) -> None:
    """A worker process's loop: answer each task with ("ok", result), ("input", message, line) for bad
    input, or ("error", why); None (or the parent's end of the pipe closing) stops it."""
    _die_with_parent(parent_pid, conn.fileno())
    if held:  # blocked by the parent while it forked
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
    gc.disable()  # workers build no reference cycles; collections would only copy forked pages
    try:
        try:
            handle: Callable[[tuple[Any, ...]], Any] | None = _Handler(config)
            broken = ""
        except Exception as exc:  # e.g. an encoding that will not load: say so for every task
            handle, broken = None, f"{type(exc).__name__}: {exc}"
        while (task := conn.recv()) is not None:
            if handle is None:
                conn.send(("error", broken))
                continue
            try:
                reply: tuple[Any, ...] = ("ok", handle(task))
            except InputError as exc:
                reply = ("input", exc.message, exc.line)
            except Exception as exc:  # report, keep serving; the caller raises
                reply = ("error", f"{type(exc).__name__}: {exc}")
            conn.send(reply)
    except (EOFError, OSError, KeyboardInterrupt):
        return
    finally:
        # Skip the interpreter's exit path (stdio flush, atexit): a forked child may have inherited a
        # lock held by a parent thread (e.g. a progress bar refreshing), and would hang on it.
        os._exit(0)


class _Pool:
    """N worker processes, each on its own pipe, no helper threads (they would compete with the caller
    for the GIL: the reason this beats concurrent.futures here). Tasks go to the least busy worker,
    results come back in input order; at most `2 * N` tasks are in flight, and a task carrying data is
    sent only to an idle worker, so a large task and a large result never block each other."""

    def __init__(self, workers: int, config: _Config) -> None:
        self.name = config.name
        self.conns: list[Connection] = []
        self.procs: list[_Process] = []
        self.closed = False
        self.broken = False
        self._reset()
        for tok in config.toks:
            token_counter(tok.encoding)  # loaded once, here: forked workers share it
        with contextlib.suppress(ImportError):
            import ctypes  # noqa: F401  (once here, for PR_SET_PDEATHSIG in every worker)
        # Interrupts wait until the workers are started: raised inside fork's own callbacks (logging's
        # lock release), a KeyboardInterrupt would be swallowed ("Exception ignored") and lost.
        held = _INTERRUPTS if hasattr(signal, "pthread_sigmask") else set()
        try:
            if held:
                signal.pthread_sigmask(signal.SIG_BLOCK, held)
            for _ in range(workers):
                parent, child = multiprocessing.Pipe(duplex=True)
                self.conns.append(parent)
                try:
                    self.procs.append(_Process(child, config, held))
                finally:
                    child.close()
            if held:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, held)  # a pending Ctrl-C is raised here
        except BaseException:
            if held:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
            self.broken = True
            self.close()
            raise

    def _reset(self) -> None:
        self.queues: list[deque[int]] = [deque() for _ in self.conns]
        self.metas: dict[int, Any] = {}
        self.results: dict[int, Any] = {}
        self.sent = 0
        self.done = 0
        self.pending: Item | None = None

    def map(self, items: Iterator[Item], depth: int = 1) -> Iterator[tuple[Any, Any]]:
        """(meta, result) for each (meta, task) of `items`, in order; `depth` tasks at most per worker.
        A bad input met while reading ahead is raised after the results before it."""
        self._reset()
        n = len(self.conns)
        exhausted = False
        failure: BaseException | None = None
        while True:
            while not exhausted and failure is None:
                if self.pending is None:
                    try:
                        self.pending = next(items)
                    except StopIteration:
                        exhausted = True
                        break
                    except BatchplanError as exc:
                        failure = exc
                        break
                meta, task = self.pending
                if task is None:  # stop here: handed back in order, nothing after it is sent
                    self.metas[self.sent] = meta
                    self.results[self.sent] = _TAIL
                    self.sent += 1
                    self.pending = None
                    exhausted = True
                    break
                if self.sent - self.done >= 2 * n:
                    break
                w = min(range(n), key=lambda i: len(self.queues[i]))
                if len(self.queues[w]) >= depth:
                    break
                self._send(w, task)
                self.queues[w].append(self.sent)
                self.metas[self.sent] = meta
                self.sent += 1
                self.pending = None
            if self.done in self.results:
                result = self.results.pop(self.done)
                meta = self.metas.pop(self.done)
                self.done += 1
                if isinstance(result, BaseException):
                    raise result
                yield meta, result
                continue
            if self.done == self.sent:
                if failure is not None:
                    raise failure
                if exhausted:
                    return
                continue
            self._collect()

    def abandon(self) -> list[Any]:
        """Stop mid-stream: wait out the tasks in flight (their results are dropped) and return the metas
        of everything not yet handed back, in order, including the item read ahead."""
        while any(self.queues):
            self._collect()
        left = [self.metas[seq] for seq in sorted(self.metas) if seq >= self.done]
        if self.pending is not None:
            left.append(self.pending[0])
        self._reset()
        return left

    def _send(self, w: int, task: tuple[Any, ...]) -> None:
        try:
            self.conns[w].send(task)
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            raise self._died(w) from None

    def _collect(self) -> None:
        """Receive every result that is ready (blocking until at least one is)."""
        from multiprocessing.connection import wait

        busy = [self.conns[i] for i, q in enumerate(self.queues) if q]
        for ready in wait(busy):
            w = self.conns.index(cast(Connection, ready))
            try:
                reply = self.conns[w].recv()
            except (EOFError, OSError):
                raise self._died(w) from None
            seq = self.queues[w].popleft()
            if reply[0] == "ok":
                self.results[seq] = reply[1]
            elif reply[0] == "input":
                self.results[seq] = InputError(reply[1], path=self.name, line=reply[2])
            else:
                self.results[seq] = WorkerError(f"token counting failed in a worker process: {reply[1]}")

    def _died(self, w: int) -> WorkerError:
        self.broken = True
        code = self.procs[w].join(timeout=1)
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
            if -code == getattr(signal, "SIGKILL", 9):
                how += " (out of memory, or killed by hand?)"
        elif code is not None:
            how = f"exited with status {code}"
        else:
            how = "stopped answering"
        return WorkerError(f"a token-counting worker process died mid-run ({how}); no estimate was made")

    def close(self) -> None:
        """Stop the workers: a clean stop asks them to exit, anything else terminates them now. Every
        wait is bounded; a worker that outlives them all is killed."""
        if self.closed:
            return
        self.closed = True
        clean = not self.broken and not any(self.queues)
        for conn, proc in zip(self.conns, self.procs, strict=False):
            if clean:
                with contextlib.suppress(OSError, ValueError):
                    conn.send(None)
            else:
                proc.terminate()
        for proc in self.procs:
            if proc.join(timeout=5 if clean else 1) is None:
                proc.kill()
                proc.join(timeout=5)
        for conn in self.conns:
            conn.close()


class _Process:
    """One worker process. On Linux it is forked directly (it shares the loaded encodings, and needs
    none of multiprocessing's descriptors, which it closes with all the others) and waited for through
    a pidfd, so every wait has a bound; elsewhere it is a multiprocessing spawn."""

    def __init__(self, conn: Connection, config: _Config, held: set[int]) -> None:
        self.exitcode: int | None = None
        self._mp: BaseProcess | None = None
        self._pidfd: int | None = None
        parent_pid = os.getpid()
        if sys.platform.startswith("linux"):
            pid = os.fork()
            if pid == 0:  # the worker
                try:
                    _serve(conn, config, parent_pid, held)
                finally:
                    os._exit(0)
            self.pid = pid
            with contextlib.suppress(AttributeError, OSError):
                self._pidfd = os.pidfd_open(pid)
        else:
            ctx: Any = multiprocessing.get_context("spawn")
            self._mp = ctx.Process(target=_serve, args=(conn, config, parent_pid, held), daemon=True,
                                   name="batchplan-count")
            self._mp.start()
            self.pid = self._mp.pid or 0

    def join(self, timeout: float) -> int | None:
        """The exit code (negative: killed by that signal), or None if still running after `timeout`."""
        if self.exitcode is not None:
            return self.exitcode
        if self._mp is not None:
            self._mp.join(timeout)
            self.exitcode = self._mp.exitcode
            return self.exitcode
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.exitcode = -1
                break
            if pid:
                self.exitcode = os.waitstatus_to_exitcode(status)
                break
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self._pidfd is not None:
                select.select([self._pidfd], [], [], left)
            else:
                time.sleep(min(left, 0.01))
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        return self.exitcode

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))

    def _signal(self, sig: int) -> None:
        if self.exitcode is not None:
            return
        if self._mp is not None:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                if sig == signal.SIGTERM:
                    self._mp.terminate()
                else:
                    self._mp.kill()
            return
        with contextlib.suppress(OSError):
            os.kill(self.pid, sig)


def _engine(config: _Config, workers: int, small: bool) -> _InProcess | _Pool:
    """Small inputs and one core count here, the rest in a pool; when no worker can be started (fork
    refused under RLIMIT_NPROC, no descriptors left for a pipe) here too: slower, the same counts."""
    if small or workers <= 1:
        return _InProcess(config)
    try:
        return _Pool(workers, config)
    except OSError:  # (BlockingIOError: EAGAIN from fork) the pool closed what it had started
        return _InProcess(config)


# ---------------------------------------------------------------------------------------------
# Cutting an input into blocks


@dataclass(slots=True)
class _Block:
    first_line: int
    offset: int
    data: bytes
    last: bool
    tail: bool = False

    def task(self, path: str | None) -> tuple[Any, ...] | None:
        if self.tail:
            return None
        if path is not None:
            return ("span", self.first_line, path, self.offset, len(self.data), self.last)
        return ("bytes", self.first_line, self.data, self.last)


def _blocks(src: Input, span: int, quote: bool) -> Generator[_Block, None, None]:
    """Consecutive blocks of whole lines of `src`, each about `span` bytes, each knowing its first line's
    number (for errors) and offset (for pread). With `quote` (CSV), a block ends only where its count of
    `"` is even, so that it ends at a record boundary unless a stray quote misleads it (the worker
    checks); if a quote stays open past `ODD_RUN_BLOCKS` spans, the last block is marked `tail`.

    Cut by size, not by line count, so every task costs a worker about the same time; found with block
    reads and C-level counts, never a Python loop per line. No line longer than the input's line limit
    is ever read whole."""
    cap = src.max_line
    line = src.line + 1
    offset = src.offset
    odd_limit = ODD_RUN_BLOCKS * span
    long_line = re.compile(rb"[^\n]{%d}" % (cap + 1)) if cap < span else None
    data = src.read(span)
    try:
        while data:
            parts = [data]
            size = len(data)
            if not data.endswith(b"\n"):  # finish the last line
                tail_len = size - (data.rfind(b"\n") + 1)
                if tail_len > cap:
                    src.too_long(line + data.count(b"\n"))
                rest = src.read_through_newline(cap - tail_len + 2)
                parts.append(rest)
                size += len(rest)
                if tail_len + len(rest) - rest.endswith(b"\n") > cap:
                    src.too_long(line + data.count(b"\n"))
            tail = False
            if quote and sum(p.count(b'"') for p in parts) & 1:
                odd = True
                while odd:  # a quoted field is open: add lines until the quotes pair up
                    more = src.read_through_newline(cap + 2)
                    if not more:
                        break
                    if len(more) - more.endswith(b"\n") > cap:
                        src.too_long(line + sum(p.count(b"\n") for p in parts))
                    parts.append(more)
                    size += len(more)
                    odd ^= bool(more.count(b'"') & 1)
                    if odd and size > odd_limit:
                        tail = True
                        break
            block = b"".join(parts) if len(parts) > 1 else data
            if long_line is not None and (found := long_line.search(block)):
                src.too_long(line + block.count(b"\n", 0, found.start()))
            if tail:
                data = b""
                yield _Block(line, offset, block, last=False, tail=True)
                return
            data = src.read(span)
            yield _Block(line, offset, block, last=not data)
            line += block.count(b"\n")
            offset += len(block)
    finally:
        if data:  # read ahead but never handed out: give it back (the CSV fallback reads on from here)
            src.unread(data, lines=0)


def _is_small(src: Input) -> bool:
    """Whether the input holds less than `SMALL_BYTES` from here on (a stream is read that far ahead,
    and given back)."""
    if src.kind == "file" and src.size is not None:
        return src.size - src.offset < SMALL_BYTES
    head = src.read(SMALL_BYTES)
    src.unread(head, lines=0)
    return len(head) < SMALL_BYTES


def _batched(items: Iterator[Any], n: int) -> Iterator[list[Any]]:
    """Lists of `n` items; the items read before an input error are handed on before it is raised."""
    chunk: list[Any] = []
    try:
        for item in items:
            chunk.append(item)
            if len(chunk) >= n:
                yield chunk
                chunk = []
    except BatchplanError:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------------------------
# The engine's entry points


def count_file(
    src: Input,
    fmt: str,
    options: ReadOptions,
    toks: Sequence[Tokenizer],
    *,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    want_prefix: bool = False,
    span_bytes: int | None = None,
) -> Generator[tuple[Counted, Errors], None, None]:
    """Parse and count a dataset (a line format, or CSV/TSV) on all cores, reading it once.

    `src` is an open input (planner.io.inputs) positioned at the start; its first line may have been
    peeked. Chunks come back in input order with their bad lines (line, reason); input errors that
    stop the count (a line over the limit, an unterminated quote, a file that shrank) are raised in
    order too. `on_progress` gets the number of requests counted so far."""
    n_workers = workers if workers is not None else default_workers()
    columns = None
    if fmt in ("csv", "tsv"):
        columns = _csv_header(src, fmt, options)
        if columns is None:  # an empty file
            return
    config = _Config(list(toks), fmt, options, src.name, want_prefix, columns)
    engine = _engine(config, n_workers, n_workers <= 1 or _is_small(src))
    progress = _progress(on_progress)
    try:
        rest = yield from _count_blocks(engine, src, span_bytes or SPAN_BYTES, columns, progress)
        if rest:
            assert columns is not None
            yield from _count_records(engine, src, rest, columns.delimiter, progress)
    finally:
        engine.close()


def _csv_header(src: Input, fmt: str, options: ReadOptions) -> CsvColumns | None:
    """The columns a CSV/TSV file's header names (checked against the options); None for an empty file."""
    delimiter = "\t" if fmt == "tsv" else ","
    header_reader = csv_records(src, delimiter)
    header = next(header_reader, None)
    header_reader.close()
    return None if header is None else csv_columns(header[1], delimiter, options, src.name)


def _progress(on_progress: Callable[[int], None] | None) -> Callable[[Counted], None]:
    """Adds up the requests of each chunk handed on and reports the running total."""
    done = 0

    def progress(counted: Counted) -> None:
        nonlocal done
        done += len(counted)
        if on_progress is not None:
            on_progress(done)

    return progress


def _count_blocks(
    engine: _InProcess | _Pool,
    src: Input,
    span: int,
    columns: CsvColumns | None,
    progress: Callable[[Counted], None],
) -> Generator[tuple[Counted, Errors], None, list[_Block] | None]:
    """Counts the input block by block; returns the blocks not counted when a CSV quote misled the block
    cutter (from the first block it could not end: they are then read record by record), else None."""
    path = src.path if isinstance(engine, _Pool) else None  # workers pread a regular file themselves
    keep = columns is not None  # only CSV may need a block's bytes again (read on record by record)
    blocks = _blocks(src, span, quote=columns is not None)
    items = ((b if keep else None, b.task(path)) for b in blocks)
    for block, result in engine.map(items, depth=2 if path else 1):
        if result is _UNCLEAN or result is _TAIL:
            rest: list[_Block] = [block, *engine.abandon()]
            blocks.close()  # gives back what it read ahead
            return rest
        yield from _hand_on(result, progress, src.name)
    return None


def _count_records(
    engine: _InProcess | _Pool,
    src: Input,
    rest: list[_Block],
    delimiter: str,
    progress: Callable[[Counted], None],
) -> Iterator[tuple[Counted, Errors]]:
    """Counts `rest` and everything after it as CSV records read here, in chunks, still on every core."""
    src.unread(b"".join(b.data for b in rest), lines=0)
    records = csv_records(src, delimiter, first_line=rest[0].first_line)
    tasks = ((None, ("rows", chunk)) for chunk in _batched(records, DEFAULT_CHUNK))
    for _, result in engine.map(tasks, depth=1):
        yield from _hand_on(result, progress, src.name)


def _hand_on(
    result: tuple[Counted, Errors] | _Stopped, progress: Callable[[Counted], None], name: str
) -> Iterator[tuple[Counted, Errors]]:
    if isinstance(result, _Stopped):
        progress(result.counted)
        yield result.counted, result.errors
        raise InputError(result.message, path=name, line=result.line)
    progress(result[0])
    yield result


def count_chunks_multi(
    requests: Iterable[Request],
    toks: Sequence[Tokenizer],
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
    mode: Mode = "process",
) -> Iterator[tuple[list[Request], list[list[Count]]]]:
    """Count a stream of requests under several tokenizers in one pass, on all cores.

    Yields each chunk's requests with their counts per tokenizer (`counts[j][i]` is request i under
    `toks[j]`), in input order; the cost follows the tokenizers' distinct encodings and counting rules,
    not their number. `workers` defaults to the usable cores; 1 (or `mode="serial"`, or a stream shorter
    than one chunk) counts in-process. Only `2 * workers` chunks are held at a time."""
    yield from _count_requests(requests, toks, workers, chunk_size, on_progress, mode, False)


def count_chunks(
    requests: Iterable[Request],
    tok: Tokenizer,
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
    mode: Mode = "process",
) -> Iterator[list[Count]]:
    """Per-chunk lists of `Count`, in input order, for a stream of requests of any length (see
    `count_chunks_multi`)."""
    for _, counts in count_chunks_multi(
        requests, [tok], workers=workers, chunk_size=chunk_size, on_progress=on_progress, mode=mode
    ):
        yield counts[0]


def count_stream(
    requests: Iterable[Request],
    tok: Tokenizer,
    *,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> Iterator[int]:
    """Input tokens of each request, in order, counted on all cores; streams (flat memory)."""
    for counts in count_chunks(requests, tok, workers=workers, on_progress=on_progress, chunk_size=chunk_size):
        for c in counts:
            yield c.tokens


def count_stream_described(
    requests: Iterable[Request],
    toks: Sequence[Tokenizer],
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
    want_prefix: bool = False,
) -> Generator[tuple[Counted, Errors], None, None]:
    """`count_file`'s results for an already-parsed stream (a sample, a caller's requests)."""
    for _, result in _count_requests(requests, toks, workers, chunk_size, on_progress, "process", True, want_prefix):
        yield result


def _count_requests(
    requests: Iterable[Request],
    toks: Sequence[Tokenizer],
    workers: int | None,
    chunk_size: int,
    on_progress: Callable[[int], None] | None,
    mode: Mode,
    describe: bool,
    want_prefix: bool = False,
) -> Iterator[tuple[list[Request], Any]]:
    n_workers = workers if workers is not None else default_workers()
    chunks = _batched(iter(requests), chunk_size)
    first = next(chunks, None)
    if first is None:
        return
    config = _Config(list(toks), "", ReadOptions(), "", want_prefix)
    engine = _engine(config, n_workers, mode == "serial" or len(first) < chunk_size)
    done = 0
    try:
        items = ((chunk, ("requests", chunk, describe)) for chunk in itertools.chain([first], chunks))
        for chunk, result in engine.map(items, depth=1):
            done += len(chunk)
            if on_progress is not None:
                on_progress(done)
            yield chunk, result
    finally:
        engine.close()
