"""Exact token counting over all cores, streaming, order preserved.

Two engines, both measured with benchmarks/count.py on a 2-core machine (50 MB chat JSONL, ~10M tokens):

* `count_file` (what `estimate` runs on a line-per-request file): the calling process only cuts the
  file into ~512 KB blocks of whole lines; each worker reads its block from the file itself, decodes,
  parses and validates it with `datasets.parse_line`, counts it under every tokenizer and returns one
  columnar `Counted` chunk. Nothing serial is left in the caller: fastest runs were 1.6-2.1x a plain
  json.loads + tiktoken loop (medians of 9 rounds 1.3-2.0x: the host's cores change speed from run to
  run), where two plain loops run at once reach 1.9-2.2x one loop, the most two cores give here.
* `count_chunks` / `count_chunks_multi` / `count_stream` (CSV records, samples, stdin, Python callers):
  the caller parses and builds `Pieces`; workers only encode.

Per request, a worker does fewer instructions than the plain loop (callgrind, 800 requests: 622M vs
639M): token ids come back from tiktoken as one packed buffer instead of a list of Python ints
(`encodings.token_counter`), and texts that repeat across requests (roles, a shared system prompt)
are encoded once per process.
Alternatives measured and rejected: tiktoken's `encode_ordinary_batch(num_threads=2)` (0.7x a plain
loop), per-thread slices (~1.0x end to end: parsing holds the GIL), `ProcessPoolExecutor` (~15 % lost
to its feeder threads), piping the lines themselves to the workers (pickling them cost ~0.1x of the
speed-up), pinning each worker to a core (no gain), and orjson for parsing (~4 % of a worker's time
saved, not worth a dependency whose number and error semantics differ from json's).

Memory stays flat: at most `2 * workers` chunks are in flight, results are yielded in input order as
soon as they are ready, and the repeat cache has fixed bounds (a 50 MB and a 500 MB file: ~40 MB per
worker either way). Inputs smaller than one chunk are counted in-process (no worker start-up).
Workers are forked on Linux (they inherit the loaded encoding), spawned elsewhere.

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
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, BinaryIO, Literal, cast

from planner.datasets import OPENAI_URL_API, ReadOptions, Request, parse_line
from planner.encodings import token_counter
from planner.errors import InputError
from planner.pricing import Tokenizer
from planner.tokens import Count, Pieces, calibrate, count_pieces, count_text, request_pieces

DEFAULT_CHUNK = 1000  # requests per task: small enough that the last tasks finish close together
SPAN_MIN_BYTES = 1 << 20  # below this, reading the lines here and piping them costs nothing worth saving
SPAN_BYTES = 1 << 19  # bytes of whole lines per worker task when workers read the file themselves
Mode = Literal["process", "serial"]


def default_workers() -> int:
    """Usable cores (respecting CPU affinity / container limits where the OS exposes them)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------------------------------------
# Pure per-record functions (safe to ship to Spark/Dask executors)


def request_from_json(obj: dict[str, Any], line: int = 0) -> Request:
    """A parsed JSONL record as a `Request`: OpenAI batch ({custom_id, url, body}), Anthropic batch
    ({custom_id, params}) or a bare chat body ({messages, ...}). Raises ValueError on other shapes."""
    if "custom_id" in obj and isinstance(obj.get("params"), dict):
        return Request(line=line, id=str(obj["custom_id"]), api="anthropic", body=obj["params"])
    if "custom_id" in obj and isinstance(obj.get("body"), dict):
        url = obj.get("url", "/v1/chat/completions")
        api = OPENAI_URL_API.get(url) if isinstance(url, str) else None
        if api is None:
            raise ValueError(f"unsupported url {url!r}")
        return Request(line=line, id=str(obj["custom_id"]), api=api, body=obj["body"], url=url)
    if isinstance(obj.get("messages"), list):
        return Request(line=line, id=str(obj.get("id", f"line-{line}")), api="chat", body=obj)
    raise ValueError("not a chat, OpenAI batch or Anthropic batch record")


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
# Worker side


def _raw_sums(count: Callable[[str], int], texts: Sequence[str], sizes: Sequence[int]) -> list[int]:
    """Encoded token totals of consecutive groups of texts (`sizes[i]` texts for request i)."""
    out: list[int] = []
    it = iter(texts)
    for n in sizes:
        total = 0
        for _ in range(n):
            total += count(next(it))
        out.append(total)
    return out


def _serve(conn: Connection, make_handler: Callable[[], Callable[[Any], Any]]) -> None:
    """A worker process's loop: answer each task with ("ok", result) or ("error", why); None stops it."""
    gc.disable()  # workers build no reference cycles; collections would only copy forked pages
    try:
        handle = make_handler()
        while (task := conn.recv()) is not None:
            try:
                conn.send(("ok", handle(task)))
            except Exception as exc:  # report, keep serving; the caller raises
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        return
    finally:
        conn.close()
        # Skip the interpreter's exit path (stdio flush): a forked child may have inherited a stdout
        # lock held by a parent thread (e.g. a progress bar refreshing), and would hang on it.
        os._exit(0)


def _worker(conn: Connection, encoding: str) -> None:
    """Encoding worker: receive (texts, sizes), send back per-request sums."""

    def make_handler() -> Callable[[Any], Any]:
        count = token_counter(encoding)
        return lambda task: _raw_sums(count, *task)

    _serve(conn, make_handler)


class _Pool:
    """N worker processes, each on its own pipe. Chunks go round-robin, so reading results round-robin
    returns them in input order; no helper threads compete with the caller for the GIL (the reason this
    is measurably faster than concurrent.futures.ProcessPoolExecutor here)."""

    def __init__(self, workers: int, encoding: str, target: Callable[..., None] | None = None, *args: Any) -> None:
        # fork: workers inherit the loaded encoding and modules, so start-up is instant. Elsewhere spawn.
        ctx: Any = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        self.conns: list[Connection] = []
        self.procs: list[BaseProcess] = []
        run, run_args = (_worker, (encoding,)) if target is None else (target, args)
        for _ in range(workers):
            parent, child = ctx.Pipe(duplex=True)
            proc = ctx.Process(target=run, args=(child, *run_args), daemon=True, name="batchplan-count")
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)
        self.sent = 0
        self.received = 0

    def send(self, *task: Any) -> None:
        self.conns[self.sent % len(self.conns)].send(task)
        self.sent += 1

    def receive_any(self, buffered: dict[int, Any]) -> Any:
        """The next result in input order, reading whichever worker is ready meanwhile (a worker whose
        result waits in a full pipe would otherwise stall until the workers before it finish)."""
        from multiprocessing.connection import wait

        want = self.received
        while want not in buffered:
            n = len(self.conns)
            outstanding = {self.conns[i % n] for i in range(want, self.sent)}
            for ready in wait(list(outstanding)):
                conn = cast(Connection, ready)
                index = self.conns.index(conn)
                # the oldest unanswered task of this worker
                seq = next(i for i in range(want, self.sent) if i % n == index and i not in buffered)
                try:
                    status, payload = conn.recv()
                except EOFError:
                    raise RuntimeError("a token-counting worker process died") from None
                if status != "ok":
                    raise RuntimeError(f"token counting failed in a worker: {payload}")
                buffered[seq] = payload
        self.received += 1
        return buffered.pop(want)

    def receive(self) -> Any:
        conn = self.conns[self.received % len(self.conns)]
        self.received += 1
        try:
            status, payload = conn.recv()
        except EOFError:
            raise RuntimeError("a token-counting worker process died") from None
        if status != "ok":
            raise RuntimeError(f"token counting failed in a worker: {payload}")
        return payload

    def close(self) -> None:
        if self.received < self.sent:  # abandoned mid-stream: the work in flight is not wanted
            for proc in self.procs:
                proc.terminate()
        for conn in self.conns:
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send(None)
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        for conn in self.conns:
            conn.close()


# ---------------------------------------------------------------------------------------------
# Driver


class _RepeatCache:
    """Counts of texts that repeat across requests (roles, names, a shared system prompt), encoded once
    per process instead of once per request. A text is cached the second time it is seen. Memory is
    bounded whatever the file's size: at most `MAX_SEEN` hashes (~4 MB) and `MAX_KNOWN_CHARS` characters
    of cached text; either is simply emptied when full."""

    MAX_LEN = 32_768
    MAX_KNOWN_CHARS = 2_000_000
    MAX_SEEN = 50_000

    def __init__(self, encoding: str) -> None:
        self.count = token_counter(encoding)
        self.known: dict[str, int] = {}
        self.known_chars = 0
        self.seen: set[int] = set()

    def take_known(self, pieces: Pieces) -> None:
        """Move the counts of repeated texts into `pieces.fixed`; leave the rest in `pieces.texts`."""
        rest: list[str] = []
        known, seen = self.known, self.seen
        for text in pieces.texts:
            n = known.get(text)
            if n is None and len(text) <= self.MAX_LEN:
                h = hash(text)
                if h in seen:
                    if self.known_chars + len(text) > self.MAX_KNOWN_CHARS:
                        known.clear()
                        self.known_chars = 0
                    n = known[text] = self.count(text)
                    self.known_chars += len(text)
                else:
                    if len(seen) >= self.MAX_SEEN:
                        seen.clear()
                    seen.add(h)
            if n is None:
                rest.append(text)
            else:
                pieces.fixed += n
        pieces.texts = rest


def _shared_memos(toks: Sequence[Tokenizer]) -> dict[str, dict[str, int]]:
    """An empty text -> tokens memo for each encoding that more than one tokenizer uses."""
    encodings = [tok.encoding for tok in toks]
    return {enc: {} for enc in set(encodings) if encodings.count(enc) > 1}


def _finish(pieces: Sequence[Pieces], raw: Sequence[int], tok: Tokenizer) -> list[Count]:
    return [
        Count(calibrate(p.fixed + r, tok) + p.exact, p.images, p.assumed_images, p.image_tokens)
        for p, r in zip(pieces, raw, strict=True)
    ]


def count_chunks(
    requests: Iterable[Request],
    tok: Tokenizer,
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
    mode: Mode = "process",
) -> Iterator[list[Count]]:
    """Per-chunk lists of `Count`, in input order, for a stream of requests of any length.

    `workers` defaults to the usable cores; 1 (or `mode="serial"`) counts in-process. `on_progress`
    is called with the number of requests finished so far after each chunk. Only `2 * workers` chunks
    are held at a time."""
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


def count_chunks_multi(
    requests: Iterable[Request],
    toks: Sequence[Tokenizer],
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
    mode: Mode = "process",
) -> Iterator[tuple[list[Request], list[list[Count]]]]:
    """Like `count_chunks`, for several tokenizers at once over one pass of the stream.

    Yields each chunk's requests with their counts per tokenizer (`counts[j][i]` is request i under
    `toks[j]`), in input order. One worker pool per distinct encoding; texts repeated across requests
    are encoded once per tokenizer in the calling process, and tokenizers that share an encoding send
    each distinct text of a chunk to the pool once."""
    n_workers = workers if workers is not None else default_workers()
    for tok in toks:
        token_counter(tok.encoding)  # load before forking: workers inherit it
    iterator = iter(requests)
    caches = [_RepeatCache(tok.encoding) for tok in toks]
    done = 0

    def next_chunk() -> tuple[list[Request], list[list[Pieces]]]:
        reqs: list[Request] = []
        pieces: list[list[Pieces]] = [[] for _ in toks]
        for req in iterator:
            reqs.append(req)
            for j, tok in enumerate(toks):
                p = request_pieces(req, tok)
                caches[j].take_known(p)
                pieces[j].append(p)
            if len(reqs) >= chunk_size:
                break
        return reqs, pieces

    def report(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(done)

    reqs, pieces = next_chunk()
    if mode == "serial" or n_workers <= 1 or len(reqs) < chunk_size:
        while reqs:
            memos = _shared_memos(toks)
            counts = [count_pieces(pieces[j], tok, memo=memos.get(tok.encoding)) for j, tok in enumerate(toks)]
            report(len(reqs))
            yield reqs, counts
            reqs, pieces = next_chunk()
        return

    groups: dict[str, list[int]] = {}  # encoding -> the tokenizers (indexes into toks) that use it
    for j, tok in enumerate(toks):
        groups.setdefault(tok.encoding, []).append(j)
    pools = {enc: _Pool(n_workers, enc) for enc in groups}
    Sent = tuple[list[Request], list[list[Pieces]], dict[str, dict[str, int]]]
    pending: deque[Sent] = deque()
    try:
        while reqs or pending:
            while reqs and len(pending) < 2 * n_workers:
                indexes: dict[str, dict[str, int]] = {}
                for enc, js in groups.items():
                    if len(js) == 1:  # the request's texts go as they are; the worker sums them
                        chunk = pieces[js[0]]
                        pools[enc].send([t for p in chunk for t in p.texts], [len(p.texts) for p in chunk])
                        for p in chunk:
                            p.texts = []
                    else:  # tokenizers sharing an encoding: each distinct text goes once, counted alone
                        index = indexes[enc] = {}
                        for j in js:
                            for p in pieces[j]:
                                for t in p.texts:
                                    index.setdefault(t, len(index))
                        pools[enc].send(list(index), [1] * len(index))
                pending.append((reqs, pieces, indexes))
                reqs, pieces = next_chunk()
            done_reqs, done_pieces, done_indexes = pending.popleft()
            per_tok: list[list[Count]] = [[] for _ in toks]
            for enc, js in groups.items():
                raw = pools[enc].receive()  # per-request sums, or per-text counts when texts were indexed
                at = done_indexes.get(enc)
                for j in js:
                    sums = raw if at is None else [sum(raw[at[t]] for t in p.texts) for p in done_pieces[j]]
                    per_tok[j] = _finish(done_pieces[j], sums, toks[j])
            report(len(done_reqs))
            yield done_reqs, per_tok
    finally:
        for pool in pools.values():
            pool.close()


# ---------------------------------------------------------------------------------------------
# The estimate's engine: everything it needs of each request, parsed and counted where it was read


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
        self.toks = toks
        self.want_prefix = want_prefix
        self.prefixes: dict[bytes, list[int]] = {}
        self.repeats = [_RepeatCache(tok.encoding) for tok in toks]

    def count(self, requests: Sequence[Request]) -> list[list[Count]]:
        """Counts of each request under each tokenizer; texts repeated across requests encoded once, and
        texts of one chunk encoded once per encoding however many tokenizers use it."""
        out = []
        memos = _shared_memos(self.toks)
        for tok, cache in zip(self.toks, self.repeats, strict=True):
            pieces = [request_pieces(r, tok) for r in requests]
            for p in pieces:
                cache.take_known(p)
            out.append(count_pieces(pieces, tok, memo=memos.get(tok.encoding)))
        return out

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
        n_toks = len(self.toks)
        prefix: bytes | None = None
        shared = self.want_prefix and bool(requests)
        prefix_tokens = [0] * n_toks
        if shared:
            for req in requests:
                digest, tokens = self.prefix(req)
                if digest is None or (prefix is not None and digest != prefix):
                    shared, prefix = False, None
                    break
                prefix, prefix_tokens = digest, tokens
        outputs = None
        if any(r.output_text is not None for r in requests):
            outputs = [[count_text(r.output_text or "", tok) for r in requests] for tok in self.toks]
        if sizes is None:
            sizes = [len(json.dumps(r.body, ensure_ascii=False).encode()) for r in requests]
        return Counted(
            lines=[r.line for r in requests],
            ids=[r.id for r in requests],
            max_tokens=[r.max_tokens for r in requests],
            tokens=[[c.tokens for c in per_tok] for per_tok in counts],
            assumed_images=[sum(c.assumed_images for c in per_tok) for per_tok in counts],
            output_tokens=outputs,
            prefix=prefix,
            prefix_shared=shared,
            prefix_tokens=prefix_tokens if shared else [0] * n_toks,
            body_bytes=sum(sizes),
        )


Errors = list[tuple[int, str]]


def _parse_chunk(
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


def _describe_chunk(
    items: Sequence[tuple[int, bytes]], fmt: str, options: ReadOptions, name: str, describer: _Describer
) -> tuple[Counted, Errors]:
    requests, sizes, errors = _parse_chunk(items, fmt, options, name)
    return describer.describe(requests, describer.count(requests), sizes), errors


def _parse_worker(
    conn: Connection, toks: Sequence[Tokenizer], fmt: str, options: ReadOptions, name: str, want_prefix: bool
) -> None:
    """Parsing worker for `count_file`: receive a block of lines (or where to read it), send back
    (counted, errors)."""

    def make_handler() -> Callable[[Any], Any]:
        describer = _Describer(toks, want_prefix)
        files: dict[str, int] = {}

        def handle(task: Any) -> tuple[Counted, Errors]:
            if task[0] == "span":  # ("span", path, first line number, offset, length): read it ourselves
                fd = files.get(task[1])
                if fd is None:
                    fd = files[task[1]] = os.open(task[1], os.O_RDONLY)
                items = _span_lines(os.pread(fd, task[4], task[3]), task[2])
            else:  # ("lines", numbered lines)
                items = task[1]
            return _describe_chunk(items, fmt, options, name, describer)

        return handle

    _serve(conn, make_handler)


def _span_lines(data: bytes, first_line: int) -> list[tuple[int, bytes]]:
    """Numbered lines of a block of whole lines read from the file."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if first_line == 1 and lines and lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    return [(first_line + i, line) for i, line in enumerate(lines)]


def _spans(raw: BinaryIO, span_bytes: int) -> Iterator[tuple[int, int, int]]:
    """(first line, offset, length) of consecutive blocks of whole lines, each about `span_bytes` long.

    Cut by size, not by line count, so every task costs a worker about the same time and the last ones
    finish close together; found with block reads and C-level newline counts, never a Python loop per
    line."""
    offset = 0
    first = 1
    while block := raw.read(span_bytes):
        if not block.endswith(b"\n"):
            block += raw.readline()  # finish the last line
        yield first, offset, len(block)
        offset += len(block)
        first += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)


def _numbered_chunks(raw: BinaryIO, chunk_size: int) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for number, line in enumerate(raw, 1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        chunk.append((number, line))
        if len(chunk) >= chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def count_file(
    raw: BinaryIO,
    name: str,
    fmt: str,
    options: ReadOptions,
    toks: Sequence[Tokenizer],
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
    want_prefix: bool = False,
    path: str | None = None,
) -> Iterator[tuple[Counted, Errors]]:
    """Parse and count a line-per-request file (JSONL formats or text) on all cores.

    The calling process only splits the file into blocks of lines; workers decode, parse, validate,
    count under every tokenizer and describe each request, so nothing serial is left to bound the
    speed-up. With `path` (a plain, seekable file) a worker reads its block (`SPAN_BYTES` of whole lines)
    from the file itself and only block offsets cross the pipes. Chunks come back in input order with
    their bad lines."""
    n_workers = workers if workers is not None else default_workers()
    for tok in toks:
        token_counter(tok.encoding)  # load before forking: workers inherit it
    if path is not None and n_workers > 1 and os.path.getsize(path) >= SPAN_MIN_BYTES:
        tasks: Iterator[tuple[Any, ...]] = (
            ("span", path, first, offset, length) for first, offset, length in _spans(raw, SPAN_BYTES)
        )
        yield from _run_pool(n_workers, tasks, (list(toks), fmt, options, name, want_prefix), on_progress)
        return
    chunks = _numbered_chunks(raw, chunk_size)
    first = next(chunks, None)
    if first is None:
        return
    if n_workers <= 1 or len(first) < chunk_size:
        describer = _Describer(toks, want_prefix)
        done = 0
        for chunk in itertools.chain([first], chunks):
            counted, errors = _describe_chunk(chunk, fmt, options, name, describer)
            done += len(counted)
            if on_progress is not None:
                on_progress(done)
            yield counted, errors
        return
    tasks = (("lines", chunk) for chunk in itertools.chain([first], chunks))
    yield from _run_pool(n_workers, tasks, (list(toks), fmt, options, name, want_prefix), on_progress)


def _run_pool(
    n_workers: int,
    tasks: Iterator[tuple[Any, ...]],
    worker_args: tuple[Any, ...],
    on_progress: Callable[[int], None] | None,
) -> Iterator[tuple[Counted, Errors]]:
    """Feed tasks to parsing workers (at most two each in flight) and yield their results in order."""
    pool = _Pool(n_workers, "", _parse_worker, *worker_args)
    buffered: dict[int, Any] = {}
    done = pending = 0
    try:
        task = next(tasks, None)
        while task is not None or pending:
            while task is not None and pending < 2 * n_workers:
                pool.send(*task)
                pending += 1
                task = next(tasks, None)
            counted, errors = pool.receive_any(buffered)
            pending -= 1
            done += len(counted)
            if on_progress is not None:
                on_progress(done)
            yield counted, errors
    finally:
        pool.close()


def count_stream_described(
    requests: Iterable[Request],
    toks: Sequence[Tokenizer],
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
    want_prefix: bool = False,
) -> Iterator[tuple[Counted, Errors]]:
    """The same results for an already-parsed stream (CSV records, a sample): encoding on all cores."""
    describer = _Describer(toks, want_prefix)
    for chunk, counts in count_chunks_multi(
        requests, toks, workers=workers, chunk_size=chunk_size, on_progress=on_progress
    ):
        yield describer.describe(chunk, counts), []
