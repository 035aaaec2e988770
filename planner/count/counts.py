"""Token counts computed elsewhere (a Spark or Dask job, a warehouse query), priced as if `estimate` had
counted them itself: same costs, turnaround, eligibility and report.

A counts file is a CSV/TSV or Parquet table (a file or a directory of part files) with one row per request:

| column | meaning |
| --- | --- |
| `id` | the request's id (optional; `--id-column` names another) |
| `input_tokens_<label>` | input tokens under one tokenizer rule; `<label>` is `tokenizer_label(tok)` |
| `input_tokens` | input tokens for every model that has no column of its own (tokenizer not checked: stated) |
| `input_tokens_<ctok label>` | Claude input tokens counted by ctok (`ctok_label(tok, version)`: one family under |
|  | one tokenizer rule); optional: without it a Claude model is priced on its table's approximation |
| `uncovered_tokens_<ctok label>` | how many of those ctok could not cover and approximated (0: exact); both empty |
|  | for a record outside ctok's sample (the rest is calibrated on the sampled ones) |
| `approximated_schema_tokens`, `approximated_tool_tokens`, `approximated_file_tokens` | o200k tokens of the |
|  | request's parts no published rule counts (structured-output schemas, hosted tools, files/audio/video), |
|  | already inside its input counts (optional; with them the estimate says which part is approximated) |
| `output_tokens_<label>` / `output_tokens` | real output tokens (optional; used unless `--output-tokens/-ratio`) |
| `max_tokens` | the request's output cap (optional; the default output assumption) |
| `bytes` | the request body's size in bytes (optional; for the per-file byte limits in the turnaround) |
| `error` | why the counting job could not read that record (optional; such rows stop the estimate, or are
  skipped and reported with `--skip-bad`) |

`planner.count.distributed` writes exactly these columns. Labels name the encoding and a digest of the whole rule
(overheads, calibration factor, tool and image rules), so counts made under an older table's rule are
reported as missing instead of silently priced with the new one.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from planner.core.errors import InputError, UsageError
from planner.count.counting import Counted
from planner.count.tokens import FILES, HOSTED_TOOLS, SCHEMAS
from planner.prices.pricing import Tokenizer
from planner.read.datasets import ReadOptions, check_unique_columns, open_text

CHUNK = 1000
#: The columns of the parts counted without a published rule, and the part each names (planner.count.tokens).
APPROXIMATED_COLUMNS = {
    "approximated_schema_tokens": SCHEMAS,
    "approximated_tool_tokens": HOSTED_TOOLS,
    "approximated_file_tokens": FILES,
}
#: No request holds more tokens (or bytes) than this: ten billion, a thousand times the largest context
#: window. A count past it is a broken file, and summed over rows it would overflow the counters.
MAX_COUNT = 10**10
Errors = list[tuple[int, str]]


def tokenizer_label(tok: Tokenizer) -> str:
    """A short stable name for one tokenizer rule: `o200k_base_1a2b3c4d` (encoding + digest of the rule)."""
    digest = hashlib.sha256(tok.model_dump_json().encode()).hexdigest()[:8]
    return f"{tok.encoding}_{digest}"


def input_column(tok: Tokenizer) -> str:
    return f"input_tokens_{tokenizer_label(tok)}"


def ctok_label(tok: Tokenizer, version: str) -> str:
    """`ctok4.8_1a2b3c4d`: Claude counts of ctok's `version` family under this tokenizer rule (whose ctok rule
    sets the framing), so counts made under another rule or family are never taken for these."""
    digest = hashlib.sha256(f"{tok.model_dump_json()}|{version}".encode()).hexdigest()[:8]
    return f"ctok{version}_{digest}"


def ctok_columns(tok: Tokenizer, version: str) -> tuple[str, str]:
    """The (input tokens, uncovered tokens) columns of one ctok family's counts."""
    label = ctok_label(tok, version)
    return f"input_tokens_{label}", f"uncovered_tokens_{label}"


def output_column(tok: Tokenizer) -> str:
    return f"output_tokens_{tokenizer_label(tok)}"


@dataclass
class CountsFile:
    """Which column feeds each tokenizer, read lazily in chunks of `Counted`."""

    path: str
    toks: list[Tokenizer]
    inputs: list[str]
    outputs: list[str] | None
    id_column: str | None
    columns: list[str]
    notes: list[str] = field(default_factory=list)
    rows: Callable[[], Iterator[tuple[int, dict[str, Any]]]] = field(default=lambda: iter(()), repr=False)

    @property
    def has_bytes(self) -> bool:
        return "bytes" in self.columns

    def chunks(self, on_progress: Callable[[int], None] | None = None) -> Iterator[tuple[Counted, Errors]]:
        done = 0
        batch: list[tuple[int, dict[str, Any]]] = []
        for item in self.rows():
            batch.append(item)
            if len(batch) >= CHUNK:
                yield self._counted(batch)
                done += len(batch)
                batch = []
                if on_progress is not None:
                    on_progress(done)
        if batch:
            yield self._counted(batch)
            if on_progress is not None:
                on_progress(done + len(batch))

    def ctok_counts(self, tok: Tokenizer, version: str) -> tuple[list[int | None], list[int]] | None:
        """Each counted row's ctok input tokens (None for a row outside ctok's sample) and their uncovered
        part, in the rows and order of `chunks`; None when the file has no ctok counts for this family."""
        inputs, uncovered = ctok_columns(tok, version)
        if inputs not in self.columns:
            return None
        tokens: list[int | None] = []
        loose: list[int] = []
        has_loose = uncovered in self.columns
        for number, row in self.rows():
            if row.get("error") not in (None, ""):  # not counted (skipped, or the estimate stopped there)
                continue
            tokens.append(self._int(row, inputs, number, optional=True))
            loose.append((self._int(row, uncovered, number, optional=True) or 0) if has_loose else 0)
        return tokens, loose

    def _int(self, row: dict[str, Any], column: str, number: int, *, optional: bool = False) -> int | None:
        value = row.get(column)
        if value is None or value == "":
            if optional:
                return None
            raise InputError(f"column '{column}' is empty", path=self.path, line=number)
        try:
            n = int(value) if not isinstance(value, float) or value.is_integer() else None
        except (TypeError, ValueError):
            n = None
        shown = repr(value) if len(str(value)) <= 24 else f"{str(value)[:12]}… ({len(str(value)):,} characters)"
        if n is None or isinstance(value, bool) or n < 0:
            raise InputError(f"column '{column}' must be a whole number of tokens, got {shown}", path=self.path,
                             line=number)
        if n > MAX_COUNT:
            raise InputError(f"column '{column}' says {shown}, more than any request can hold (at most "
                             f"{MAX_COUNT:,}); the counts file is wrong", path=self.path, line=number)
        return n

    def _counted(self, batch: Sequence[tuple[int, dict[str, Any]]]) -> tuple[Counted, Errors]:
        n_toks = len(self.toks)
        lines, ids, max_tokens = [], [], []
        tokens: list[list[int]] = [[] for _ in range(n_toks)]
        outputs: list[list[int]] | None = [[] for _ in range(n_toks)] if self.outputs else None
        body_bytes = 0
        approximated: dict[str, int] = {}
        errors: Errors = []
        for number, row in batch:
            error = row.get("error")
            if error not in (None, ""):  # a record the counting job could not read (planner.count.distributed)
                errors.append((number, str(error)))
                continue
            lines.append(number)
            raw_id = row.get(self.id_column) if self.id_column else None
            ids.append(str(raw_id) if raw_id not in (None, "") else f"row-{number}")
            max_tokens.append(self._int(row, "max_tokens", number, optional=True) if "max_tokens" in row else None)
            for j, col in enumerate(self.inputs):
                tokens[j].append(self._int(row, col, number) or 0)
            if outputs is not None and self.outputs:
                for j, col in enumerate(self.outputs):
                    outputs[j].append(self._int(row, col, number) or 0)
            if self.has_bytes:
                body_bytes += self._int(row, "bytes", number, optional=True) or 0
            for col, part in APPROXIMATED_COLUMNS.items():
                if col in row:
                    approximated[part] = approximated.get(part, 0) + (self._int(row, col, number, optional=True) or 0)
        counted = Counted(
            lines=lines, ids=ids, max_tokens=max_tokens, tokens=tokens, assumed_images=[0] * n_toks,
            output_tokens=outputs, prefix=None, prefix_shared=False, prefix_tokens=[0] * n_toks,
            body_bytes=body_bytes, approximated=approximated,
        )
        return counted, errors


def _pick(columns: Sequence[str], specific: str, generic: str) -> str | None:
    if specific in columns:
        return specific
    return generic if generic in columns else None


def open_counts(path: str, toks: Sequence[Tokenizer], options: ReadOptions, models: Sequence[str] = ()) -> CountsFile:
    """The counts file at `path`, checked against the tokenizers of the models asked about.

    Raises InputError for a missing column (naming the column each model needs) and UsageError for options
    that need the requests themselves."""
    from planner.read import columnar

    rows: Callable[[], Iterator[tuple[int, dict[str, Any]]]]
    if columnar.kind_of(path) is not None:
        table = columnar.open_table(path)
        columns = table.columns

        def rows() -> Iterator[tuple[int, dict[str, Any]]]:
            number = 0
            for batch in table.batches():
                for row in batch.to_pylist():
                    number += 1
                    yield number, row
    else:
        columns, rows = _csv_rows(path)
    inputs: list[str] = []
    notes: list[str] = []
    names = list(models) or [tokenizer_label(t) for t in toks]
    generic_used = False
    for tok, model in zip(toks, names, strict=False):
        col = _pick(columns, input_column(tok), "input_tokens")
        if col is None:
            have = ", ".join(c for c in columns if c.startswith("input_tokens")) or "none"
            raise InputError(
                f"no input-token column for {model}: its tokenizer rule needs '{input_column(tok)}' "
                f"(or a generic 'input_tokens'); the file has {have}. Count again with planner.count.distributed "
                "for this model", path=path)
        generic_used |= col == "input_tokens"
        inputs.append(col)
    if generic_used:
        notes.append("input tokens come from the counts file's 'input_tokens' column, counted elsewhere with a "
                     "tokenizer batchplan cannot check; per-tokenizer columns (planner.count.distributed) are exact")
    else:
        notes.append(f"input tokens were counted elsewhere (counts file: {', '.join(dict.fromkeys(inputs))})")
    outputs: list[str] | None = [_pick(columns, output_column(t), "output_tokens") or "" for t in toks]
    if outputs is not None and not all(outputs):
        outputs = None
    id_column = options.id_column or ("id" if "id" in columns else None)
    if options.id_column and options.id_column not in columns:
        raise InputError(f"no column '{options.id_column}' (the --id-column); columns are: {', '.join(columns)}",
                         path=path)
    if "bytes" not in columns:
        notes.append("the counts file has no 'bytes' column: per-file byte limits are not applied to the turnaround")
    return CountsFile(path, list(toks), inputs, outputs, id_column, list(columns), notes, rows)


def _csv_rows(path: str) -> tuple[list[str], Callable[[], Iterator[tuple[int, dict[str, Any]]]]]:
    delimiter = "\t" if path.removesuffix(".gz").endswith(".tsv") else ","
    with open_text(path) as handle:
        header = next(csv.reader([handle.readline()], delimiter=delimiter), [])
    if not header:
        raise InputError("empty counts file: no header", path=path, line=1)
    check_unique_columns(header, path)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        with open_text(path) as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise InputError(f"expected {len(header)} columns", path=path, line=reader.line_num)
                if any(v.strip() for v in row.values()):
                    yield reader.line_num, row

    return header, rows


def check_options(path: str, *, sample: int | None, cache_prefix: str | None, output_column: str | None) -> None:
    """Options that need the requests themselves, not their counts."""
    if sample is not None:
        raise UsageError(f"{path} is a counts file: it is priced whole; use --rows N to scale it instead of --sample")
    if cache_prefix == "auto":
        raise UsageError(f"{path} is a counts file: --cache-prefix auto needs the requests; pass --cache-prefix N")
    if output_column is not None:
        raise UsageError(
            f"{path} is a counts file: output tokens come from its output_tokens columns, not --output-column"
        )
