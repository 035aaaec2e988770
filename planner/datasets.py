"""Dataset readers: turn a user's file into a stream of `Request` records, one per API call.

Formats are detected from the extension and the first record, and can be forced with `--format`.
Readers stream (a 500 MB file is never held in memory), read `.gz` transparently, and `-` reads
standard input. A bad line raises `InputError` naming file and line, unless the caller passes a
`SkipLog`, which records it and moves on.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from planner.errors import InputError, UsageError

Api = Literal["chat", "responses", "embeddings", "completions", "anthropic", "gemini"]
#: Record shapes read by planner.shapes (ShareGPT, Alpaca, fine-tuning files, bare bodies, Gemini/Vertex/Bedrock lines).
SHAPE_FORMATS = (
    "sharegpt", "alpaca", "openai-finetune", "embeddings", "responses", "gemini-batch", "vertex-batch", "gemini",
    "bedrock-batch",
)
FORMATS = ("chat", "openai-batch", "anthropic-batch", *SHAPE_FORMATS, "csv", "tsv", "text", "counts")
TEXT_EXTENSIONS = {".txt": "text", ".csv": "csv", ".tsv": "tsv"}
JSON_EXTENSIONS = {".jsonl", ".json", ".ndjson"}
OPENAI_URL_API: dict[str, Api] = {
    "/v1/chat/completions": "chat",
    "/v1/responses": "responses",
    "/v1/embeddings": "embeddings",
    "/v1/completions": "completions",
}
csv.field_size_limit(2**31 - 1)


@dataclass(slots=True)
class Request:
    """One API call as the vendor would receive it: which API, its body, and where it came from."""

    line: int
    id: str
    api: Api
    body: dict[str, Any]
    model: str | None = None
    max_tokens: int | None = None
    url: str | None = None
    output_text: str | None = None


@dataclass
class SkipLog:
    """Bad lines passed over under `--skip-bad`: how many, and the first few with their reason."""

    count: int = 0
    first: list[tuple[int, str]] = field(default_factory=list)
    keep: int = 5

    def add(self, line: int, reason: str) -> None:
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append((line, reason))


@dataclass(frozen=True)
class ReadOptions:
    format: str | None = None
    text_column: str | None = None
    system: str | None = None
    output_column: str | None = None
    id_column: str | None = None


# ---------------------------------------------------------------------------------------------
# Opening


def _display(path: str) -> str:
    return "<stdin>" if path == "-" else path


class Utf8Lines:
    """Text lines of a binary stream, decoded one line at a time, so that an invalid byte is reported on
    the line it is on (a text wrapper decodes ahead in blocks and would blame an earlier line)."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self._raw = raw
        self._name = name
        self.line = 0

    def readline(self) -> str:
        try:
            data = self._raw.readline()
        except (OSError, EOFError) as exc:
            raise InputError(f"cannot read: {exc}", path=self._name, line=self.line + 1) from None
        if not data:
            return ""
        self.line += 1
        if self.line == 1 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            what = "not UTF-8 text (is it a binary file?)" if self.line == 1 else "not valid UTF-8"
            raise InputError(what, path=self._name, line=self.line) from None

    def skip(self) -> bool:
        """Pass over one line without decoding it; False at the end of the file."""
        try:
            data = self._raw.readline()
        except (OSError, EOFError) as exc:
            raise InputError(f"cannot read: {exc}", path=self._name, line=self.line + 1) from None
        if data:
            self.line += 1
        return bool(data)

    def __iter__(self) -> Iterator[str]:
        while line := self.readline():
            yield line

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> Utf8Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_binary(path: str, kind: str = "dataset file") -> BinaryIO:
    """Open a user's file for reading as bytes, with one-line errors; `.gz` is decompressed."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"is a directory, not a {kind}", path=path)
    try:
        raw: BinaryIO = open(p, "rb")  # noqa: SIM115 - handed to the caller to close
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except PermissionError:
        raise InputError("permission denied", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", path=path) from None
    if path.endswith(".gz"):
        raw = io.BufferedReader(gzip.GzipFile(fileobj=raw))  # type: ignore[arg-type]
    return raw


def open_text(path: str) -> Utf8Lines:
    """Open a dataset as UTF-8 lines (BOM stripped), transparently gunzipping `.gz`; `-` is stdin."""
    raw = sys.stdin.buffer if path == "-" else open_binary(path)
    return Utf8Lines(raw, _display(path))


def _base_suffix(path: str) -> str:
    name = path[:-3] if path.endswith(".gz") else path
    return Path(name).suffix.lower()


def detect_format(path: str, first_line: str) -> str:
    """Pick a reader from the extension, then from the shape of the first record."""
    suffix = _base_suffix(path) if path != "-" else ""
    if suffix in TEXT_EXTENSIONS:
        return TEXT_EXTENSIONS[suffix]
    stripped = first_line.strip()
    if suffix in JSON_EXTENSIONS or stripped.startswith("{"):
        try:
            obj = json.loads(stripped) if stripped else None
        except (ValueError, RecursionError):
            return "chat"  # the reader will report the line properly
        if isinstance(obj, dict):
            if "custom_id" in obj and "params" in obj:
                return "anthropic-batch"
            if "custom_id" in obj and "body" in obj:
                return "openai-batch"
            return _shapes.detect(obj) or "chat"
        return "chat"
    return "text"


# ---------------------------------------------------------------------------------------------
# Reading


def read_requests(
    path: str,
    options: ReadOptions | None = None,
    skip: SkipLog | None = None,
) -> tuple[str, Iterator[Request]]:
    """The detected format and a lazy stream of requests. The file closes when the stream ends."""
    options = options or ReadOptions()
    if _columnar.kind_of(path) is not None:  # Parquet / Arrow / a saved Hugging Face dataset
        return _columnar.read_columnar(path, options, skip)
    fmt, handle, first = _open_detected(path, options)
    return fmt, _stream(path, fmt, handle, first, options, skip)


def detect_file_format(path: str, options: ReadOptions) -> str:
    """The format `read_requests` would read `path` as (checked against the options); the file is closed."""
    kind = _columnar.kind_of(path)
    if kind is not None:
        is_counts = options.format == "counts" or _counts_columns(_columnar.open_table(path).columns, options)
        return "counts" if is_counts else kind
    fmt, handle, _ = _open_detected(path, options)
    handle.close()
    return fmt


def _open_detected(path: str, options: ReadOptions) -> tuple[str, Utf8Lines, str]:
    """Open the file, read its first line and settle its format (checked against the options)."""
    if options.format is not None and options.format not in FORMATS:
        raise UsageError(f"unknown --format '{options.format}'; choose one of {', '.join(FORMATS)}")
    handle = open_text(path)
    try:
        first = handle.readline()
    except UnicodeDecodeError:
        handle.close()
        raise InputError("not UTF-8 text (is it a binary file?)", path=_display(path), line=1) from None
    except (OSError, EOFError) as exc:
        handle.close()
        raise InputError(f"cannot read: {exc}", path=_display(path)) from None
    fmt = options.format or detect_format(path, first)
    if fmt in ("csv", "tsv") and not options.text_column and _counts_columns(
        next(csv.reader([first], delimiter="\t" if fmt == "tsv" else ","), []), options
    ):
        fmt = "counts"
    if fmt in ("csv", "tsv") and not options.text_column:
        handle.close()
        raise UsageError(f"{fmt.upper()} input needs --text-column NAME (the column holding each prompt)")
    return fmt, handle, first


def _counts_columns(columns: list[str], options: ReadOptions) -> bool:
    """A table of token counts computed elsewhere (planner.counts): `input_tokens` or `input_tokens_<label>`."""
    return not options.text_column and any(c == "input_tokens" or c.startswith("input_tokens_") for c in columns)


def _stream(
    path: str,
    fmt: str,
    handle: Utf8Lines,
    first: str,
    options: ReadOptions,
    skip: SkipLog | None,
    only_lines: frozenset[int] | None = None,
) -> Iterator[Request]:
    name = _display(path)
    count = 0
    try:
        lines = _lines(handle, first, only_lines)
        if fmt in ("csv", "tsv"):
            records = _csv_requests(name, lines, "\t" if fmt == "tsv" else ",", options, skip)
        elif fmt == "text":
            records = _text_requests(name, lines, options)
        else:
            records = _json_requests(name, lines, fmt, options, skip)
        for req in records:
            count += 1
            yield req
    finally:
        handle.close()
    if count == 0:
        raise InputError("no requests found (the file is empty or every line was skipped)", path=name)


def _lines(handle: Utf8Lines, first: str, only: frozenset[int] | None = None) -> Iterator[tuple[int, str]]:
    """Numbered lines (the reader reports bad UTF-8 on its own line). With `only`, other lines are
    skipped undecoded, so sampling a large file costs little more than reading it."""
    if first == "":
        return
    if only is None or 1 in only:
        yield 1, first
    last = max(only) if only else None
    while last is None or handle.line < last:
        if only is not None and handle.line + 1 not in only:
            if not handle.skip():
                return
            continue
        line = handle.readline()
        if not line:
            return
        yield handle.line, line


def parse_line(text: str, number: int, fmt: str, options: ReadOptions, name: str) -> Request | None:
    """One line of a line-per-request format as a Request (None for a blank line); a bad line raises
    InputError naming file and line. Pure, so worker processes can parse lines too."""
    if fmt == "text":
        text = text.rstrip("\r\n")
        if not text.strip():
            return None
        return Request(line=number, id=f"line-{number}", api="chat", body=_chat_body(text, options.system))
    text = text.strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg} (column {exc.colno})", path=name, line=number) from None
    except RecursionError:
        raise InputError("malformed JSON: nested too deeply", path=name, line=number) from None
    return parse_record(obj, number, fmt, options, name)


def parse_record(obj: Any, number: int, fmt: str, options: ReadOptions, name: str) -> Request:
    """One decoded record (a JSONL line, a Parquet row) as a Request; a bad one raises InputError."""
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {_kind(obj)}", path=name, line=number)
    try:
        answer = None
        if fmt in _shapes.PARSERS:
            req, answer = _shapes.parse(fmt, obj, number)
        else:
            req = _PARSERS[fmt](obj, number)
        if options.output_column:
            output = obj.get(options.output_column)
            if not isinstance(output, str) and options.output_column == _shapes.ANSWER_COLUMNS.get(fmt):
                output = answer
                if output is None:
                    raise _Shape(f"'{options.output_column}' has no trailing assistant turn to count (--output-column)")
            if not isinstance(output, str):
                raise _Shape(f"no '{options.output_column}' string field (the --output-column)")
            req.output_text = output
        if options.id_column:
            req.id = _id_value(obj.get(options.id_column), options.id_column)
    except (_Shape, _shapes.ShapeError) as exc:
        raise InputError(str(exc), path=name, line=number) from None
    if options.system and req.api == "chat":
        req.body["messages"] = [{"role": "system", "content": options.system}, *req.body["messages"]]
    return req


def _json_requests(
    name: str, lines: Iterator[tuple[int, str]], fmt: str, options: ReadOptions, skip: SkipLog | None
) -> Iterator[Request]:
    for number, line in lines:
        try:
            req = parse_line(line, number, fmt, options, name)
        except InputError as exc:
            _fail_or_skip(exc, skip)
            continue
        if req is not None:
            yield req


def _id_value(value: Any, column: str) -> str:
    """The user's own id from `--id-column` (a string or an integer; never empty)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise _Shape(f"no '{column}' id (the --id-column): got {json.dumps(value)}")
    return str(value)


def _fail_or_skip(exc: InputError, skip: SkipLog | None) -> None:
    if skip is None:
        raise exc
    skip.add(exc.line or 0, exc.message)


class _Shape(Exception):
    """A record that parsed as JSON but is not the shape its format needs."""


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _check_messages(messages: Any, where: str = "messages") -> list[dict[str, Any]]:
    if not isinstance(messages, list):
        raise _Shape(f"'{where}' must be a list, got {_kind(messages)}")
    if not messages:
        raise _Shape(f"'{where}' is empty")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise _Shape(f"{where}[{i}] must be an object, got {_kind(m)}")
        if not isinstance(m.get("role"), str):
            raise _Shape(f"{where}[{i}] has no 'role' string")
        content = m.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise _Shape(f"{where}[{i}].content must be a string or a list of parts, got {_kind(content)}")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, (dict, str)):
                    raise _Shape(f"{where}[{i}].content[{j}] must be an object, got {_kind(part)}")
        if "name" in m and not isinstance(m["name"], str):
            raise _Shape(f"{where}[{i}].name must be a string")
    return messages


def _max_tokens(body: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _Shape(f"'{key}' must be a non-negative integer, got {json.dumps(value)}")
        return value
    return None


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise _Shape(f"'{key}' must be a string")
    return str(value)


def _from_chat(obj: dict[str, Any], number: int) -> Request:
    if "messages" not in obj:
        raise _Shape("no 'messages' field (expected a chat request: {\"messages\": [...]})")
    _check_messages(obj["messages"])
    body = {k: v for k, v in obj.items() if k not in ("id", "custom_id")}
    body["messages"] = list(obj["messages"])
    return Request(
        line=number,
        id=_optional_str(obj, "id") or _optional_str(obj, "custom_id") or f"line-{number}",
        api="chat",
        body=body,
        model=_optional_str(obj, "model"),
        max_tokens=_max_tokens(obj, "max_completion_tokens", "max_tokens"),
    )


def _from_openai_batch(obj: dict[str, Any], number: int) -> Request:
    custom_id = _optional_str(obj, "custom_id")
    if not custom_id:
        raise _Shape("no 'custom_id'")
    body = obj.get("body")
    if not isinstance(body, dict):
        raise _Shape(f"'body' must be an object, got {_kind(body)}")
    url = obj.get("url", "/v1/chat/completions")
    if not isinstance(url, str):
        raise _Shape("'url' must be a string")
    api = OPENAI_URL_API.get(url)
    if api is None:
        raise _Shape(f"unsupported url '{url}'; supported: {', '.join(OPENAI_URL_API)}")
    if api == "chat":
        _check_messages(body.get("messages"), "body.messages")
    elif (api == "responses" and not isinstance(body.get("input"), (str, list))) or (
        api == "embeddings" and not isinstance(body.get("input"), (str, list))
    ):
        raise _Shape("body.input must be a string or a list")
    elif api == "completions" and not isinstance(body.get("prompt"), (str, list)):
        raise _Shape("body.prompt must be a string or a list")
    return Request(
        line=number,
        id=custom_id,
        api=api,
        body=dict(body),
        model=_optional_str(body, "model"),
        max_tokens=_max_tokens(body, "max_completion_tokens", "max_output_tokens", "max_tokens"),
        url=url,
    )


def _from_anthropic_batch(obj: dict[str, Any], number: int) -> Request:
    custom_id = _optional_str(obj, "custom_id")
    if not custom_id:
        raise _Shape("no 'custom_id'")
    params = obj.get("params")
    if not isinstance(params, dict):
        raise _Shape(f"'params' must be an object, got {_kind(params)}")
    _check_messages(params.get("messages"), "params.messages")
    system = params.get("system")
    if system is not None and not isinstance(system, (str, list)):
        raise _Shape("params.system must be a string or a list of blocks")
    return Request(
        line=number,
        id=custom_id,
        api="anthropic",
        body=dict(params),
        model=_optional_str(params, "model"),
        max_tokens=_max_tokens(params, "max_tokens"),
    )


def _chat_body(text: str, system: str | None) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": text})
    return {"messages": messages}


def _text_requests(name: str, lines: Iterator[tuple[int, str]], options: ReadOptions) -> Iterator[Request]:
    for number, line in lines:
        req = parse_line(line, number, "text", options, name)
        if req is not None:
            yield req


def _csv_requests(
    name: str,
    lines: Iterator[tuple[int, str]],
    delimiter: str,
    options: ReadOptions,
    skip: SkipLog | None,
) -> Iterator[Request]:
    # csv needs the raw line stream; line numbers come from the reader (a quoted field may span lines).
    reader = csv.reader((line for _, line in lines), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputError(f"malformed header: {exc}", path=name, line=1) from None
    column = options.text_column or ""
    if column not in header:
        raise InputError(f"no column '{column}'; columns are: {', '.join(header)}", path=name, line=1)
    text_at = header.index(column)
    id_name = options.id_column or "id"
    if options.id_column and id_name not in header:
        columns = ", ".join(header)
        raise InputError(f"no column '{id_name}' (the --id-column); columns are: {columns}", path=name, line=1)
    id_at = header.index(id_name) if id_name in header else None
    out_at = None
    if options.output_column:
        if options.output_column not in header:
            raise InputError(
                f"no column '{options.output_column}'; columns are: {', '.join(header)}", path=name, line=1
            )
        out_at = header.index(options.output_column)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            _fail_or_skip(InputError(f"malformed CSV: {exc}", path=name, line=reader.line_num), skip)
            continue
        number = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            _fail_or_skip(InputError(f"expected {len(header)} columns, found {len(row)}", path=name, line=number), skip)
            continue
        text = row[text_at]
        if options.id_column and id_at is not None and not row[id_at]:
            _fail_or_skip(InputError(f"empty '{id_name}' id (the --id-column)", path=name, line=number), skip)
            continue
        yield Request(
            line=number,
            id=row[id_at] if id_at is not None and row[id_at] else f"row-{number}",
            api="chat",
            body=_chat_body(text, options.system),
            output_text=row[out_at] if out_at is not None else None,
        )


# ---------------------------------------------------------------------------------------------
# Sampling a large file without reading all of it into requests


def count_lines(path: str) -> int:
    """Lines in a file by counting newline bytes in large binary blocks (no decoding, no parsing)."""
    if path == "-":
        raise UsageError("--sample needs a file it can read twice, not standard input")
    p = Path(path)
    if p.is_dir():
        raise InputError("is a directory, not a dataset file", path=path)
    try:
        raw = gzip.open(p, "rb") if path.endswith(".gz") else open(p, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except PermissionError:
        raise InputError("permission denied", path=path) from None
    lines = 0
    last = b"\n"
    try:
        with raw:
            while block := raw.read(1 << 22):
                lines += block.count(b"\n")
                last = block[-1:]
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", path=path) from None
    return lines + (0 if last == b"\n" else 1)


def sample_requests(
    path: str,
    k: int,
    *,
    seed: int = 0,
    options: ReadOptions | None = None,
    skip: SkipLog | None = None,
) -> tuple[str, int, Iterator[Request]]:
    """A seeded uniform sample of `k` rows: (format, rows in the file, the sampled requests).

    Line formats (JSONL, text) pick `k` line numbers after a fast line count and parse only those.
    CSV/TSV records may span lines, so they are reservoir-sampled record by record (still untokenized).
    """
    import random

    if k < 1:
        raise UsageError("--sample must be 1 or more")
    options = options or ReadOptions()
    if path == "-":
        raise UsageError("--sample needs a file it can read twice, not standard input")
    if _columnar.kind_of(path) is not None:
        return _columnar.sample_columnar(path, k, seed=seed, options=options, skip=skip)
    fmt, handle, first = _open_detected(path, options)
    if fmt in ("csv", "tsv"):
        stream = _stream(path, fmt, handle, first, options, skip)
        rng = random.Random(seed)
        reservoir: list[Request] = []
        seen = 0
        for req in stream:
            seen += 1
            if len(reservoir) < k:
                reservoir.append(req)
            else:
                j = rng.randrange(seen)
                if j < k:
                    reservoir[j] = req
        reservoir.sort(key=lambda r: r.line)
        return fmt, seen, iter(reservoir)
    try:
        total = count_lines(path)
    except BaseException:
        handle.close()
        raise
    chosen = frozenset(random.Random(seed).sample(range(1, total + 1), min(k, total)))
    return fmt, total, _stream(path, fmt, handle, first, options, skip, chosen)


_PARSERS = {"chat": _from_chat, "openai-batch": _from_openai_batch, "anthropic-batch": _from_anthropic_batch}
LINE_FORMATS = ("chat", "openai-batch", "anthropic-batch", *SHAPE_FORMATS, "text")

from planner import columnar as _columnar  # noqa: E402  (both build on Request, defined above)
from planner import shapes as _shapes  # noqa: E402
