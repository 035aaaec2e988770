"""Columnar datasets: Parquet files (or a directory of them, as Spark and Dask write), Arrow IPC files and
streams, and Hugging Face `datasets` saved with `save_to_disk`, read through pyarrow (the `parquet` extra).

Rows stream one record batch at a time (a Parquet file row group by row group), so memory holds one batch,
whatever the file's size. A row is a request in one of two ways:

* with `--text-column COL`, the column holds the prompt (exactly as a CSV column would: the same totals);
  `--output-column` and `--id-column` name the sample-output and id columns;
* without it, each row is a record of any JSONL shape (chat `messages`, ShareGPT `conversations`, Alpaca,
  Gemini `contents`, …), detected from the first row, so a dataset's Parquet export reads like its JSONL.

Rows are numbered from 1 in file order; errors name the file and that row number.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.core.errors import InputError, UsageError
from planner.core.request import Request
from planner.read.options import ReadOptions, SkipLog
from planner.read.records import detect_record, parse_record

SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow"}
BATCH_ROWS = 8192


def kind_of(path: str) -> str | None:
    """'parquet', 'arrow' or 'hf-dataset' when `path` is a columnar dataset, else None (no file is opened
    beyond a directory listing)."""
    if path == "-":
        return None
    p = Path(path)
    if p.is_dir():
        if (p / "state.json").is_file() and (p / "dataset_info.json").is_file():
            return "hf-dataset"
        if any(p.glob("*.parquet")):
            return "parquet"
        return None
    return SUFFIXES.get(p.suffix.lower())


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise UsageError(
            "reading Parquet/Arrow needs pyarrow: pip install 'batchplan[parquet]'"
        ) from None
    return pyarrow


@dataclass
class Table:
    """One columnar source: its column names, row count and a stream of record batches."""

    path: str
    kind: str
    files: list[Path]

    def _open(self, file: Path) -> Any:
        pa = _pyarrow()
        try:
            if self.kind == "parquet":
                import pyarrow.parquet as pq

                return pq.ParquetFile(file)
            try:
                return pa.ipc.open_file(file)
            except pa.ArrowInvalid:
                return pa.ipc.open_stream(file)  # what `datasets.save_to_disk` writes
        except FileNotFoundError:
            raise InputError("no such file", path=str(file)) from None
        except (OSError, pa.ArrowException) as exc:
            what = "Parquet" if self.kind == "parquet" else "Arrow IPC"
            raise InputError(f"not a readable {what} file ({exc})", path=str(file)) from None

    @property
    def columns(self) -> list[str]:
        reader = self._open(self.files[0])
        schema = reader.schema_arrow if self.kind == "parquet" else reader.schema
        return list(schema.names)

    @property
    def num_rows(self) -> int:
        """Rows in all files: from Parquet footers, or by streaming the (memory-mapped) Arrow batches."""
        total = 0
        for file in self.files:
            reader = self._open(file)
            if self.kind == "parquet":
                total += reader.metadata.num_rows
            elif hasattr(reader, "num_record_batches"):
                total += sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
            else:
                total += sum(batch.num_rows for batch in reader)
        return total

    def batches(self, columns: list[str] | None = None) -> Iterator[Any]:
        pa = _pyarrow()
        for file in self.files:
            reader = self._open(file)
            try:
                if self.kind == "parquet":
                    yield from reader.iter_batches(batch_size=BATCH_ROWS, columns=columns)
                elif hasattr(reader, "num_record_batches"):
                    for i in range(reader.num_record_batches):
                        batch = reader.get_batch(i)
                        yield batch.select(columns) if columns else batch
                else:
                    for batch in reader:
                        yield batch.select(columns) if columns else batch
            except pa.ArrowException as exc:
                raise InputError(f"cannot read: {exc}", path=str(file)) from None


def open_table(path: str) -> Table:
    """The columnar dataset at `path` (see `kind_of`); raises InputError if it has no data files."""
    kind = kind_of(path)
    if kind is None:
        raise InputError("not a Parquet/Arrow file or dataset directory", path=path)
    p = Path(path)
    if kind == "hf-dataset":
        try:
            state = json.loads((p / "state.json").read_text(encoding="utf-8"))
            files = [p / f["filename"] for f in state["_data_files"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"not a readable Hugging Face dataset directory ({exc})", path=path) from None
        return Table(path, "arrow", files)
    if p.is_dir():
        return Table(path, kind, sorted(p.glob("*.parquet")))
    if not p.exists():
        raise InputError("no such file", path=path)
    return Table(path, kind, [p])


def _drop_nulls(value: Any) -> Any:
    """Arrow structs carry every field of the column's schema; a field a record lacks comes back as None."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _record_format(first: dict[str, Any], options: ReadOptions) -> str:
    if options.format and options.format not in ("parquet",):
        return options.format
    return detect_record(first)


def read_columnar(
    path: str, options: ReadOptions, skip: SkipLog | None = None, only_rows: frozenset[int] | None = None
) -> tuple[str, Iterator[Request]]:
    """The format (`parquet`, `arrow`; `+shape` when rows are records) and a lazy stream of requests."""
    table = open_table(path)
    columns = table.columns
    if options.text_column:
        wanted = [c for c in (options.text_column, options.output_column, options.id_column) if c]
        for col in wanted:
            if col not in columns:
                raise InputError(f"no column '{col}'; columns are: {', '.join(columns)}", path=path)
        if options.id_column is None and "id" in columns:
            wanted.append("id")
        return table.kind, _text_rows(table, options, list(dict.fromkeys(wanted)), skip, only_rows)
    first = next((row for batch in table.batches() for row in batch.slice(0, 1).to_pylist()), None)
    if first is None:
        return table.kind, iter(())
    fmt = _record_format(_drop_nulls(first), options)
    if fmt == "chat" and "messages" not in first:
        raise UsageError(
            f"{path}: rows have no 'messages' (nor another known request shape); name the prompt column with "
            f"--text-column (columns: {', '.join(columns)})"
        )
    return f"{table.kind}+{fmt}", _record_rows(table, fmt, options, skip, only_rows)


def _rows(table: Table, columns: list[str] | None, only: frozenset[int] | None) -> Iterator[tuple[int, dict[str, Any]]]:
    number = 0
    last = max(only) if only else None
    for batch in table.batches(columns):
        if only is not None and not any(number < i <= number + batch.num_rows for i in only):
            number += batch.num_rows  # a batch without a sampled row is never converted to Python
            if last is not None and number >= last:
                return
            continue
        for row in batch.to_pylist():
            number += 1
            if only is None or number in only:
                yield number, row
        if last is not None and number >= last:
            return


def _text_rows(
    table: Table, options: ReadOptions, columns: list[str], skip: SkipLog | None, only: frozenset[int] | None
) -> Iterator[Request]:
    text_col = options.text_column or ""
    id_col = options.id_column or ("id" if "id" in columns else None)
    count = 0
    for number, row in _rows(table, columns, only):
        text = row.get(text_col)
        problem = None
        if not isinstance(text, str):
            problem = f"column '{text_col}' is {'null' if text is None else type(text).__name__}, not text"
        output = row.get(options.output_column) if options.output_column else None
        if options.output_column and not isinstance(output, str):
            problem = f"column '{options.output_column}' (the --output-column) is not text"
        raw_id = row.get(id_col) if id_col else None
        if options.id_column and (raw_id is None or str(raw_id) == ""):
            problem = f"empty '{options.id_column}' id (the --id-column)"
        if problem is not None:
            err = InputError(problem, path=table.path, line=number)
            if skip is None:
                raise err
            skip.add(number, err.message)
            continue
        messages: list[dict[str, Any]] = []
        if options.system:
            messages.append({"role": "system", "content": options.system})
        messages.append({"role": "user", "content": text})
        count += 1
        yield Request(
            line=number,
            id=str(raw_id) if raw_id not in (None, "") else f"row-{number}",
            api="chat",
            body={"messages": messages},
            output_text=output if isinstance(output, str) else None,
        )
    if count == 0 and only is None:
        raise InputError("no requests found (the file is empty or every row was skipped)", path=table.path)


def _record_rows(
    table: Table, fmt: str, options: ReadOptions, skip: SkipLog | None, only: frozenset[int] | None
) -> Iterator[Request]:
    count = 0
    for number, row in _rows(table, None, only):
        try:
            req = parse_record(_drop_nulls(row), number, fmt, options, table.path)
        except InputError as exc:
            if skip is None:
                raise
            skip.add(number, exc.message)
            continue
        count += 1
        yield req
    if count == 0 and only is None:
        raise InputError("no requests found (the file is empty or every row was skipped)", path=table.path)


def sample_columnar(
    path: str, k: int, *, seed: int, options: ReadOptions, skip: SkipLog | None
) -> tuple[str, int, Iterator[Request]]:
    """A seeded uniform sample of `k` rows (row count from the Parquet footers; unsampled batches skipped)."""
    total = open_table(path).num_rows
    chosen = frozenset(random.Random(seed).sample(range(1, total + 1), min(k, total)))
    fmt, stream = read_columnar(path, options, skip, chosen)
    return fmt, total, stream
