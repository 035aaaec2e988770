"""Count a dataset where it lives: a Spark DataFrame (through `mapInPandas`) or a Dask bag/dataframe.

Each function returns one row per request with the columns `estimate` reads as a counts file
(planner.count.counts): `id`, `input_tokens_<label>` for every distinct tokenizer of the models asked about,
`output_tokens_<label>` with `output_column`, `max_tokens`, `bytes` and `error` (the reason a record could
not be read; its counts are 0). Write it anywhere (`df.write.parquet("counts/")`) and price it with
`batchplan estimate counts/ -m MODEL …`: the same costs, turnaround and eligibility as counting the data here.

Records are parsed by the same `datasets.parse_line`/`parse_record` the CLI uses and counted by the same
`tokens` accounting, so the totals equal `estimate`'s on the same file (tested on a local Spark session and a
Dask LocalCluster). Executors need `pip install batchplan` and nothing else: the BPE files ship inside it.
When the driver has ctok, Claude models are also counted by ctok (planner.count.claude_tokens, one pair of columns
per family: planner.count.counts.ctok_columns), so a counts file prices Claude exactly too; the executors then
need ctok as well.

    >>> from planner.count.distributed import tokenizers_for
    >>> sorted(tokenizers_for(["gpt-4o-mini"]))
    ['o200k_base_...']
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from planner.core.errors import BatchplanError, UsageError
from planner.core.request import Request
from planner.count.counts import APPROXIMATED_COLUMNS, ctok_columns, input_column, output_column, tokenizer_label
from planner.count.tokens import approximated_tokens, count_pieces, count_text, request_pieces
from planner.prices.pricing import ResolvedModel, Tokenizer, load_pricebook
from planner.read.datasets import FORMATS, ReadOptions, detect_format, parse_line, parse_record

Row = dict[str, Any]


def tokenizers_for(
    models: Sequence[str], *, as_of: date | None = None, prices: Sequence[Path] = ()
) -> dict[str, Tokenizer]:
    """The distinct tokenizer rules of `models` in the price tables, keyed by their counts-file label."""
    return _tokenizers(_resolved(models, as_of, prices))


def _resolved(models: Sequence[str], as_of: date | None, prices: Sequence[Path]) -> list[ResolvedModel]:
    book = load_pricebook(as_of, user_tables=prices)
    return [book.resolve(model) for model in models]


def _tokenizers(resolved: Sequence[ResolvedModel]) -> dict[str, Tokenizer]:
    out: dict[str, Tokenizer] = {}
    for r in resolved:
        out.setdefault(tokenizer_label(r.tokenizer), r.tokenizer)
    return out


def _claude_families(resolved: Sequence[ResolvedModel]) -> tuple[tuple[Tokenizer, str], ...]:
    """(tokenizer rule, ctok family) of every Claude model that ctok counts exactly, when ctok is installed
    here (the driver); each family's counts become two more columns (planner.count.counts.ctok_columns)."""
    from planner.count import claude_tokens

    out: dict[tuple[str, str], tuple[Tokenizer, str]] = {}
    for r in resolved:
        rule = claude_tokens.rule_for(r.tokenizer)
        if rule is not None:
            version = rule.version_for(r.model.id)
            out.setdefault((r.tokenizer.model_dump_json(), version), (r.tokenizer, version))
    return tuple(out.values())


#: The share of records ctok counts by default. ctok takes ~50x tiktoken's time per token, so counting every
#: record would multiply a job's time; counting a sample lets `estimate` calibrate the rest with a stated band,
#: as it calibrates a large file counted here. `claude_sample=1` counts every record exactly.
CLAUDE_SAMPLE = 0.02


@dataclass(frozen=True)
class Counter:
    """What one executor needs: the tokenizers, the ctok families (Claude) and how to read a record. Small
    and picklable; an executor counting a ctok family needs ctok installed (it fails loudly if not). Which
    records ctok counts is decided by a hash of each record's text, so reruns and partitions agree."""

    toks: tuple[Tokenizer, ...]
    read: ReadOptions = field(default_factory=ReadOptions)
    name: str = "<dataset>"
    claude: tuple[tuple[Tokenizer, str], ...] = ()
    claude_sample: float = CLAUDE_SAMPLE

    def __post_init__(self) -> None:
        if not 0 < self.claude_sample <= 1:
            raise UsageError(f"claude_sample must be a share in (0, 1], got {self.claude_sample}")

    def _sampled(self, text: str) -> bool:
        return self.claude_sample >= 1 or zlib.crc32(text.encode("utf-8")) < self.claude_sample * 2**32

    @property
    def columns(self) -> list[str]:
        cols = ["id", *(input_column(t) for t in self.toks)]
        cols += [c for tok, version in self.claude for c in ctok_columns(tok, version)]
        if self.read.output_column:
            cols += [output_column(t) for t in self.toks]
        return [*cols, *APPROXIMATED_COLUMNS, "max_tokens", "bytes", "error"]

    def spark_schema(self) -> str:
        types = {"id": "string", "error": "string"}
        return ", ".join(f"`{c}` {types.get(c, 'long')}" for c in self.columns)

    def _count(self, parsed: Sequence[tuple[Request | None, int, str | None, str]]) -> list[Row]:
        """Rows for (request or None, body bytes, error, text) of each record, every tokenizer counted in one
        batch; the ctok columns of a record outside the ctok sample are empty (None)."""
        reqs = [r for r, _, _, _ in parsed if r is not None]
        per_tok = [[c.tokens for c in count_pieces([request_pieces(r, t) for r in reqs], t)] for t in self.toks]
        sampled = [bool(self.claude) and self._sampled(text) for r, _, _, text in parsed if r is not None]
        chosen = [r for r, keep in zip(reqs, sampled, strict=True) if keep]
        per_family = []
        for tok, version in self.claude:
            found = iter(_claude_counts(chosen, tok, version))
            per_family.append((ctok_columns(tok, version), [next(found) if keep else None for keep in sampled]))
        rows: list[Row] = []
        k = 0
        for req, size, error, _ in parsed:
            row: Row = {"id": None, "max_tokens": None, "bytes": size, "error": error}
            for j, tok in enumerate(self.toks):
                row[input_column(tok)] = per_tok[j][k] if req is not None else 0
                if self.read.output_column:
                    text = req.output_text if req is not None else None
                    row[output_column(tok)] = count_text(text, tok) if text else 0
            for (tokens_col, loose_col), counts in per_family:
                got = counts[k] if req is not None else None
                row[tokens_col] = got.tokens if got is not None else None
                row[loose_col] = got.uncovered_tokens if got is not None else None
            parts = approximated_tokens([req]) if req is not None else {}
            row.update({col: parts.get(part, 0) for col, part in APPROXIMATED_COLUMNS.items()})
            if req is not None:
                own = req.id not in (f"line-{req.line}", f"row-{req.line}")
                row["id"] = req.id if own else None
                row["max_tokens"] = req.max_tokens
                k += 1
            rows.append(row)
        return rows

    def lines(self, lines: Iterable[str], fmt: str | None = None) -> list[Row]:
        """Rows for raw JSONL (or text) lines; blank lines give no row. The format is detected from the first
        line unless `fmt` (or the counter's `read.format`) names it."""
        parsed: list[tuple[Request | None, int, str | None, str]] = []
        fmt = fmt or self.read.format
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            fmt = fmt or detect_format("", line)
            try:
                req = parse_line(line, number, fmt, self.read, self.name)
            except BatchplanError as exc:
                parsed.append((None, 0, exc.message, ""))
                continue
            if req is not None:
                text = line.rstrip("\r\n")
                parsed.append((req, len(text.encode("utf-8")), None, text))
        return self._count(parsed)

    def records(self, records: Iterable[Mapping[str, Any]]) -> list[Row]:
        """Rows for records (dicts): with `read.text_column`, its value is the prompt (as a CSV column);
        without, each record is a JSONL-shaped request (chat, ShareGPT, Alpaca, Gemini, …)."""
        parsed: list[tuple[Request | None, int, str | None, str]] = []
        fmt = self.read.format
        for number, raw in enumerate(records, 1):
            obj = _plain(raw)
            try:
                if self.read.text_column:
                    req = _text_request(obj, number, self.read)
                else:
                    if fmt is None:
                        fmt = detect_format(".jsonl", json.dumps(obj))
                    req = parse_record(obj, number, fmt, self.read, self.name)
            except BatchplanError as exc:
                parsed.append((None, 0, exc.message, ""))
                continue
            body = json.dumps(req.body, ensure_ascii=False)
            parsed.append((req, len(body.encode()), None, body))
        return self._count(parsed)


def _claude_counts(reqs: Sequence[Request], tok: Tokenizer, version: str) -> list[Any]:
    """ctok's count of each request (planner.count.claude_tokens), for one family; ctok must be installed here."""
    from planner.count import claude_tokens

    if not claude_tokens.available():
        raise RuntimeError(f"this worker cannot count Claude exactly: {claude_tokens.unavailable_note()}")
    rule = tok.exact
    assert rule is not None
    return [claude_tokens.family_counter(rule, version, tok).count(r) for r in reqs]


def _plain(value: Any) -> Any:
    """pandas/numpy/Spark values as plain Python (arrays → lists, rows → dicts, NaN/None → dropped)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if not _missing(v)}
    if hasattr(value, "asDict"):  # pyspark.sql.Row
        return _plain(value.asDict(recursive=True))
    if isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and not isinstance(value, (str, bytes))):
        items = value.tolist() if hasattr(value, "tolist") else value
        return [_plain(v) for v in items] if isinstance(items, list) else items
    return value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _text_request(obj: Mapping[str, Any], number: int, read: ReadOptions) -> Request:
    column = read.text_column or ""
    text = obj.get(column)
    if not isinstance(text, str):
        raise UsageError(f"column '{column}' is {'null' if text is None else type(text).__name__}, not text")
    messages: list[Row] = []
    if read.system:
        messages.append({"role": "system", "content": read.system})
    messages.append({"role": "user", "content": text})
    output = obj.get(read.output_column) if read.output_column else None
    if read.output_column and not isinstance(output, str):
        raise UsageError(f"column '{read.output_column}' (the output column) is not text")
    raw_id = obj.get(read.id_column or "id")
    return Request(
        line=number, id=str(raw_id) if raw_id not in (None, "") else f"row-{number}", api="chat",
        body={"messages": messages}, output_text=output if isinstance(output, str) else None,
    )


def counter(
    models: Sequence[str],
    *,
    text_column: str | None = None,
    output_column: str | None = None,
    id_column: str | None = None,
    system: str | None = None,
    format: str | None = None,
    as_of: date | None = None,
    prices: Sequence[Path] = (),
    claude_sample: float = CLAUDE_SAMPLE,
) -> Counter:
    """A `Counter` for the distinct tokenizers of `models` (resolved here, on the driver); with ctok installed
    here, Claude models are also counted by ctok on `claude_sample` of the records (1: all, exactly)."""
    if format is not None and format not in FORMATS:
        raise UsageError(f"unknown format '{format}'; choose one of {', '.join(FORMATS)}")
    resolved = _resolved(models, as_of, prices)
    read = ReadOptions(
        format=format, text_column=text_column, system=system, output_column=output_column, id_column=id_column
    )
    return Counter(tuple(_tokenizers(resolved).values()), read, claude=_claude_families(resolved),
                   claude_sample=claude_sample)


# ---------------------------------------------------------------------------------------------
# Spark


def count_spark(df: Any, models: Sequence[str] | Counter, *, column: str | None = None, **options: Any) -> Any:
    """Per-request counts of a Spark DataFrame, computed on the executors with `mapInPandas`.

    `df` is either raw lines (`spark.read.text(...)`: its one string column, or `column`) or a table whose
    rows are records; pass `text_column=` for a prompt column. `models` may be a prepared `Counter`.
    Returns a DataFrame with `Counter.columns`."""
    count = models if isinstance(models, Counter) else counter(models, **options)
    names = list(df.columns)
    raw = column or (names[0] if len(names) == 1 and not count.read.text_column else None)
    if raw is not None and raw not in names:
        raise UsageError(f"no column '{raw}' in the DataFrame; columns are: {', '.join(names)}")
    columns = count.columns

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        for pdf in batches:
            rows = count.lines(pdf[raw].tolist()) if raw is not None else count.records(pdf.to_dict("records"))
            out = pd.DataFrame(rows, columns=columns)  # counts as nullable integers: ctok's unsampled rows are null
            yield out.astype({c: "Int64" for c in columns if c not in ("id", "error")})

    return df.mapInPandas(run, schema=count.spark_schema())


# ---------------------------------------------------------------------------------------------
# Dask


def count_dask(collection: Any, models: Sequence[str] | Counter, **options: Any) -> Any:
    """Per-request counts of a Dask bag of lines (`dask.bag.read_text`) or a Dask dataframe of records /
    a `text_column`, computed on the workers. Returns a Dask dataframe with `Counter.columns`."""
    import pandas as pd

    count = models if isinstance(models, Counter) else counter(models, **options)
    columns = count.columns
    meta = pd.DataFrame({c: pd.Series(dtype="object" if c in ("id", "error") else "Int64") for c in columns})

    def frame(rows: list[Row]) -> Any:
        out = pd.DataFrame(rows, columns=columns)
        return out.astype({c: "Int64" for c in columns if c not in ("id", "error")}).astype(
            {"id": "object", "error": "object"}
        )

    if hasattr(collection, "map_partitions") and hasattr(collection, "columns"):  # a dask dataframe
        return collection.map_partitions(lambda pdf: frame(count.records(pdf.to_dict("records"))), meta=meta)
    from dask import dataframe as dd
    from dask.delayed import delayed

    def part(lines: list[str]) -> Any:
        return frame(count.lines(lines))

    return dd.from_delayed([delayed(part)(p) for p in collection.to_delayed()], meta=meta)


def with_format(count: Counter, fmt: str) -> Counter:
    """The same counter reading every record as `fmt` (skipping detection)."""
    return replace(count, read=replace(count.read, format=fmt))
