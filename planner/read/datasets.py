"""Dataset readers: turn a user's file into a stream of `Request` records, one per API call.

Formats are detected from the extension and the first record, and can be forced with `--format`.
Readers stream (a 500 MB file is never held in memory), read `.gz` transparently, and `-` reads
standard input; every file is opened once through `planner.io.inputs` (pipes and FIFOs work, lines are
bounded). A bad line raises `InputError` naming file and line, unless the caller passes a `SkipLog`,
which records it and moves on.

The parsers are pure, so worker processes use them on their own blocks of the file: `parse_line` for
the line formats, `csv_request` (a record) and `csv_block_records` (a block of records) for CSV/TSV.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.core.errors import InputError, UsageError
from planner.core.request import Request
from planner.io.inputs import Input, describe_size, open_input
from planner.read import columnar as _columnar
from planner.read.options import ReadOptions as ReadOptions
from planner.read.options import SkipLog as SkipLog
from planner.read.records import FORMATS as FORMATS
from planner.read.records import LINE_FORMATS as LINE_FORMATS
from planner.read.records import chat_body, detect_record
from planner.read.records import parse_line as parse_line
from planner.read.records import parse_record as parse_record
from planner.vendors.openai import OPENAI_URL_API as OPENAI_URL_API

TEXT_EXTENSIONS = {".txt": "text", ".csv": "csv", ".tsv": "tsv"}
JSON_EXTENSIONS = {".jsonl", ".json", ".ndjson"}
csv.field_size_limit(2**31 - 1)  # records are bounded by the input's line limit instead (planner.io.inputs)


# ---------------------------------------------------------------------------------------------
# Opening: every file goes through planner.io.inputs (read once, bounded lines, one-line errors)


def _display(path: str) -> str:
    return "<stdin>" if path == "-" else path


class Utf8Lines:
    """Text lines of an input, decoded one line at a time, so that an invalid byte is reported on the
    line it is on (a text wrapper decodes ahead in blocks and would blame an earlier line)."""

    def __init__(self, src: Input) -> None:
        self.src = src
        self._name = src.name

    @property
    def line(self) -> int:
        return self.src.line

    def readline(self) -> str:
        data = self.src.readline()
        if not data:
            return ""
        if self.src.line == 1 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            what = "not UTF-8 text (is it a binary file?)" if self.src.line == 1 else "not valid UTF-8"
            raise InputError(what, path=self._name, line=self.src.line) from None

    def skip(self) -> bool:
        """Pass over one line without decoding it; False at the end of the file."""
        return bool(self.src.readline())

    def __iter__(self) -> Iterator[str]:
        while line := self.readline():
            yield line

    def close(self) -> None:
        self.src.close()

    def __enter__(self) -> Utf8Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_binary(path: str, kind: str = "dataset file") -> Input:
    """Open a user's file (or `-`) once for bounded reading as bytes; `.gz` is decompressed."""
    return open_input(path, kind)


def open_text(path: str) -> Utf8Lines:
    """Open a dataset as UTF-8 lines (BOM stripped), transparently gunzipping `.gz`; `-` is stdin."""
    return Utf8Lines(open_input(path))


def base_suffix(path: str) -> str:
    name = path[:-3] if path.endswith(".gz") else path
    return Path(name).suffix.lower()


def detect_format(path: str, first_line: str) -> str:
    """Pick a reader from the extension, then from the shape of the first record."""
    suffix = base_suffix(path) if path != "-" else ""
    if suffix in TEXT_EXTENSIONS:
        return TEXT_EXTENSIONS[suffix]
    stripped = first_line.strip()
    if suffix in JSON_EXTENSIONS or stripped.startswith("{"):
        try:
            obj = json.loads(stripped) if stripped else None
        except (ValueError, RecursionError):
            return "chat"  # the reader will report the line properly
        return detect_record(obj) if isinstance(obj, dict) else "chat"
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
    fmt, src = open_dataset(path, options)
    return fmt, stream_requests(fmt, src, options, skip)


def detect_file_format(path: str, options: ReadOptions) -> str:
    """The format `read_requests` would read `path` as (checked against the options); the file is closed.
    Reads the start of the file: not for pipes, which `open_dataset` reads once instead."""
    kind = _columnar.kind_of(path)
    if kind is not None:
        is_counts = options.format == "counts" or _counts_columns(_columnar.open_table(path).columns, options)
        return "counts" if is_counts else kind
    fmt, src = open_dataset(path, options)
    src.close()
    return fmt


def open_dataset(path: str, options: ReadOptions) -> tuple[str, Input]:
    """Open the dataset once, look at its first line and settle its format (checked against the
    options). The returned input still holds that first line: nothing is read twice."""
    if options.format is not None and options.format not in FORMATS:
        raise UsageError(f"unknown --format '{options.format}'; choose one of {', '.join(FORMATS)}")
    src = open_input(path)
    try:
        first = src.peek_line()
        if first.startswith(b"\xef\xbb\xbf"):
            first = first[3:]
        try:
            text = first.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text (is it a binary file?)", path=src.name, line=1) from None
        fmt = options.format or detect_format(path, text)
        if fmt in ("csv", "tsv") and not options.text_column and _counts_columns(
            next(csv.reader([text], delimiter="\t" if fmt == "tsv" else ","), []), options
        ):
            fmt = "counts"
        if fmt in ("csv", "tsv") and not options.text_column:
            raise UsageError(f"{fmt.upper()} input needs --text-column NAME (the column holding each prompt)")
        if fmt == "text" and options.output_column:
            raise UsageError(
                f"--output-column '{options.output_column}' names a column, but {src.name} is plain text "
                "(one prompt per line, no columns); use a CSV/TSV column or a JSONL field"
            )
    except BaseException:
        src.close()
        raise
    return fmt, src


def _counts_columns(columns: list[str], options: ReadOptions) -> bool:
    """A table of token counts computed elsewhere (planner.count.counts): `input_tokens` or `input_tokens_<label>`."""
    return not options.text_column and any(c == "input_tokens" or c.startswith("input_tokens_") for c in columns)


def stream_requests(
    fmt: str,
    src: Input,
    options: ReadOptions,
    skip: SkipLog | None,
    only_lines: frozenset[int] | None = None,
) -> Iterator[Request]:
    """The requests of an input already opened (open_dataset): one pass, so a pipe is read once."""
    name = src.name
    count = 0
    try:
        if fmt in ("csv", "tsv"):
            records: Iterator[Request] = _csv_requests(src, "\t" if fmt == "tsv" else ",", options, skip)
        else:
            lines = _lines(Utf8Lines(src), only_lines)
            if fmt == "text":
                records = _text_requests(name, lines, options)
            else:
                records = _json_requests(name, lines, fmt, options, skip)
        for req in records:
            count += 1
            yield req
    finally:
        src.close()
    if count == 0:
        raise InputError("no requests found (the file is empty or every line was skipped)", path=name)


def _lines(handle: Utf8Lines, only: frozenset[int] | None = None) -> Iterator[tuple[int, str]]:
    """Numbered lines (the reader reports bad UTF-8 on its own line). With `only`, other lines are
    skipped undecoded, so sampling a large file costs little more than reading it."""
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


def _fail_or_skip(exc: InputError, skip: SkipLog | None) -> None:
    if skip is None:
        raise exc
    skip.add(exc.line or 0, exc.message)


_EMPTY_BODY_BYTES: dict[str | None, int] = {}


def chat_body_bytes(text: str, system: str | None) -> int:
    """About `len(json.dumps(chat_body(text, system), ensure_ascii=False).encode())`, the request's size
    in a batch file, for planning how many files a job needs: the empty body's size plus the text's UTF-8
    bytes, without the one backslash JSON adds per quote, backslash or control character (escaping every
    text only to measure it is a real share of a worker's CSV time; JSONL sizes are the lines' own)."""
    base = _EMPTY_BODY_BYTES.get(system)
    if base is None:
        base = _EMPTY_BODY_BYTES[system] = len(json.dumps(chat_body("", system), ensure_ascii=False).encode())
    return base + (len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass")))


def _text_requests(name: str, lines: Iterator[tuple[int, str]], options: ReadOptions) -> Iterator[Request]:
    for number, line in lines:
        req = parse_line(line, number, "text", options, name)
        if req is not None:
            yield req


# ---------------------------------------------------------------------------------------------
# CSV / TSV: records may span lines (quoted newlines), so they are read record by record


@dataclass(frozen=True, slots=True)
class CsvColumns:
    """Where the fields a request needs are, from the header."""

    delimiter: str
    width: int
    text: int
    id: int | None
    output: int | None


# After the last line the readers add this line: parsed alone, the input ended at a record boundary;
# swallowed into a field, a quote never closed.
# It holds lone surrogates, which no text decoded from UTF-8 can contain, so no data can fake it.
_END = "\ud800batchplan-end\ud800"


def check_unique_columns(header: Sequence[str], name: str) -> None:
    """A column name given twice is an error naming it: which of the two a reader took would be a guess
    (csv.DictReader silently keeps the last, an index the first). Unnamed (empty) columns may repeat."""
    seen: set[str] = set()
    twice: list[str] = []
    for column in header:
        if column.strip() and column in seen:
            twice.append(column)
        seen.add(column)
    if twice:
        names = ", ".join(f"'{c}'" for c in dict.fromkeys(twice))
        raise InputError(f"duplicate column name{'s' if len(set(twice)) > 1 else ''} {names} in the header; "
                         "rename one of each", path=name, line=1)


def csv_columns(header: Sequence[str], delimiter: str, options: ReadOptions, name: str) -> CsvColumns:
    check_unique_columns(header, name)
    column = options.text_column or ""
    if column not in header:
        raise InputError(f"no column '{column}'; columns are: {', '.join(header)}", path=name, line=1)
    out_at = None
    if options.output_column:
        if options.output_column not in header:
            raise InputError(
                f"no column '{options.output_column}'; columns are: {', '.join(header)}", path=name, line=1
            )
        out_at = list(header).index(options.output_column)
    id_name = options.id_column or "id"
    if options.id_column and id_name not in header:
        columns = ", ".join(header)
        raise InputError(f"no column '{id_name}' (the --id-column); columns are: {columns}", path=name, line=1)
    return CsvColumns(
        delimiter=delimiter,
        width=len(header),
        text=list(header).index(column),
        id=list(header).index(id_name) if id_name in header else None,
        output=out_at,
    )


def csv_request(
    row: Sequence[str], number: int, columns: CsvColumns, options: ReadOptions, name: str
) -> Request | None:
    """One CSV/TSV record (starting on line `number`) as a Request; None for a blank record; InputError for
    a record with the wrong number of fields. Pure, like `parse_line`."""
    if not row or all(not cell.strip() for cell in row):
        return None
    if len(row) != columns.width:
        raise InputError(f"expected {columns.width} columns, found {len(row)}", path=name, line=number)
    if options.id_column and columns.id is not None and not row[columns.id]:
        raise InputError(f"empty '{options.id_column}' id (the --id-column)", path=name, line=number)
    return Request(
        line=number,
        id=row[columns.id] if columns.id is not None and row[columns.id] else f"row-{number}",
        api="chat",
        body=chat_body(row[columns.text], options.system),
        output_text=row[columns.output] if columns.output is not None else None,
    )


def _unterminated(row: Sequence[str], start: int, name: str) -> InputError:
    """The error for a record whose last field swallowed the end marker: its quote never closed."""
    opened = start + sum(field.count("\n") for field in row[:-1])
    return InputError(
        "unterminated quoted field: a '\"' opens a field here that no later '\"' closes "
        "(it would swallow the rest of the file into one request)",
        path=name,
        line=opened,
    )


def csv_records(
    src: Input, delimiter: str, first_line: int | None = None
) -> Generator[tuple[int, list[str]], None, None]:
    """(first line, fields) of each record from `src` to its end, parsed exactly as `csv.reader` would.
    A record is numbered by the line it starts on (its `row-N` id and its errors), also when a quoted
    field holds newlines, so that the number is the same however the file was cut into blocks.

    Bounded like every read: no record may run past `src.max_line` bytes (an unterminated quote would
    otherwise read the whole file into one field), and a quote still open at the end of the input is an
    error naming the line it opened on, never a silent single request. `first_line` is the number of the
    next line of `src` when reading starts in the middle (default: where `src` stands)."""
    name = src.name
    state = {"line": (first_line - 1) if first_line is not None else src.line, "start": 0, "bytes": 0}
    state["start"] = state["line"] + 1

    def feed() -> Iterator[str]:
        while data := src.readline():
            state["line"] += 1
            state["bytes"] += len(data)
            if state["bytes"] > src.max_line:
                raise InputError(
                    f"a quoted field runs on for more than {describe_size(src.max_line)} (an unterminated quote?)",
                    path=name,
                    line=state["start"],
                )
            if state["line"] == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                what = "not UTF-8 text (is it a binary file?)" if state["line"] == 1 else "not valid UTF-8"
                raise InputError(what, path=name, line=state["line"]) from None
            yield text if text.endswith("\n") else text + "\n"
        yield _END + "\n"

    reader = csv.reader(feed(), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", path=name, line=state["line"]) from None
        if row == [_END]:
            return
        if row and _END in row[-1]:
            raise _unterminated(row, state["start"], name)
        yield state["start"], row
        state["start"] = state["line"] + 1
        state["bytes"] = 0


def csv_block_records(
    data: bytes, first_line: int, delimiter: str, name: str, *, last: bool
) -> tuple[list[tuple[int, list[str]]], InputError | None] | None:
    """The records of a block of whole lines that starts at a record boundary, as `csv.reader` over the
    whole file gives them: (first line, fields) each, with the error that stopped the block early (bad
    UTF-8, malformed CSV, and at the end of the input (`last`) an unterminated quote), if any. None
    when the block does not end at a record boundary (a quote left open at its end: a stray `"`
    misled the block cutter), so that the caller reads on from the block's start record by record."""
    out: list[tuple[int, list[str]]] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = first_line + data.count(b"\n", 0, exc.start)
        what = "not UTF-8 text (is it a binary file?)" if bad == 1 else "not valid UTF-8"
        good = data[: data.rfind(b"\n", 0, exc.start) + 1]  # the lines before the bad one
        if good:
            found = csv_block_records(good, first_line, delimiter, name, last=False)
            if found is None:
                return None
            out, error = found
            if error is not None:
                return out, error
        return out, InputError(what, path=name, line=bad)
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    lines = [part + "\n" for part in parts]
    lines.append(_END + "\n")
    reader = csv.reader(lines, delimiter=delimiter)
    start = first_line
    base = first_line - 1
    while True:
        try:
            row = next(reader)
        except StopIteration:  # the end marker was swallowed by a field that no quote closed
            return None
        except csv.Error as exc:
            return out, InputError(f"malformed CSV: {exc}", path=name, line=base + reader.line_num)
        if row == [_END]:
            return out, None
        if row and _END in row[-1]:
            return (out, _unterminated(row, start, name)) if last else None
        out.append((start, row))
        start = base + reader.line_num + 1


def _csv_requests(src: Input, delimiter: str, options: ReadOptions, skip: SkipLog | None) -> Iterator[Request]:
    name = src.name
    records = csv_records(src, delimiter)
    try:
        _, header = next(records)
    except StopIteration:
        return
    columns = csv_columns(header, delimiter, options, name)
    for number, row in records:
        try:
            req = csv_request(row, number, columns, options, name)
        except InputError as exc:
            _fail_or_skip(exc, skip)
            continue
        if req is not None:
            yield req


# ---------------------------------------------------------------------------------------------
# Sampling a large file without reading all of it into requests


def count_lines(path: str) -> int:
    """Lines in a file by counting newline bytes in large binary blocks (no decoding, no parsing)."""
    lines = 0
    last = b"\n"
    with open_input(path) as src:
        while block := src.read(1 << 22):
            lines += block.count(b"\n")
            last = block[-1:]
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

    Line formats (JSONL, text) in a regular file pick `k` line numbers after a fast line count and parse
    only those. CSV/TSV records may span lines, so they are reservoir-sampled record by record (still
    untokenized), and so are the lines of a pipe or standard input, which can be read only once.
    """
    import random

    if k < 1:
        raise UsageError("--sample must be 1 or more")
    options = options or ReadOptions()
    if _columnar.kind_of(path) is not None:
        return _columnar.sample_columnar(path, k, seed=seed, options=options, skip=skip)
    fmt, src = open_dataset(path, options)
    rng = random.Random(seed)
    if fmt in ("csv", "tsv"):
        reservoir: list[Request] = []
        seen = 0
        for req in stream_requests(fmt, src, options, skip):
            seen += 1
            if len(reservoir) < k:
                reservoir.append(req)
            else:
                j = rng.randrange(seen)
                if j < k:
                    reservoir[j] = req
        reservoir.sort(key=lambda r: r.line)
        return fmt, seen, iter(reservoir)
    if not src.rereadable:
        return _sample_stream(fmt, src, k, rng, options, skip)
    try:
        total = count_lines(path)
    except BaseException:
        src.close()
        raise
    chosen = frozenset(rng.sample(range(1, total + 1), min(k, total)))
    return fmt, total, stream_requests(fmt, src, options, skip, chosen)


def _sample_stream(
    fmt: str, src: Input, k: int, rng: Any, options: ReadOptions, skip: SkipLog | None
) -> tuple[str, int, Iterator[Request]]:
    """One pass over an input that cannot be read twice: a reservoir of `k` raw lines, parsed after."""
    reservoir: list[tuple[int, bytes]] = []
    try:
        while data := src.readline():
            n = src.line
            if len(reservoir) < k:
                reservoir.append((n, data))
            else:
                j = rng.randrange(n)
                if j < k:
                    reservoir[j] = (n, data)
    finally:
        src.close()
    total = src.line
    reservoir.sort()

    def requests() -> Iterator[Request]:
        count = 0
        for number, data in reservoir:
            if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                what = "not UTF-8 text (is it a binary file?)" if number == 1 else "not valid UTF-8"
                raise InputError(what, path=src.name, line=number) from None
            try:
                req = parse_line(text, number, fmt, options, src.name)
            except InputError as exc:
                _fail_or_skip(exc, skip)
                continue
            if req is not None:
                count += 1
                yield req
        if count == 0:
            raise InputError("no requests found (the file is empty or every line was skipped)", path=src.name)

    return fmt, total, requests()
