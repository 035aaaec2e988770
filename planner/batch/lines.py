"""The lines `prepare` writes: their exact bytes, and the requests a prompt template makes of a dataset's rows."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from planner.core.errors import InputError
from planner.core.jsonsafe import NumberError, number_problem
from planner.core.request import Request
from planner.read.datasets import SkipLog, open_text
from planner.read.records import chat_body


def encode_line(obj: dict[str, Any]) -> bytes:
    """The exact bytes written: compact UTF-8 JSON and a newline. A NaN or infinite number is a
    NumberError (a ValueError) naming where it is: no vendor's parser accepts one."""
    try:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise NumberError(number_problem(obj) or "a number is not finite") from None
    return (text + "\n").encode("utf-8")

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
    from planner.read.datasets import TEXT_EXTENSIONS, base_suffix

    fmt = format or TEXT_EXTENSIONS.get(base_suffix(path) if path != "-" else "", "jsonl")
    if fmt in ("chat", "openai-batch", "anthropic-batch"):
        fmt = "jsonl"
    name = "<stdin>" if path == "-" else path

    def rows() -> Iterator[Request]:
        with open_text(path) as handle:
            found = _table_rows(handle, fmt, id_column) if fmt in ("csv", "tsv") else _line_rows(
                handle, fmt, id_column, name, skip)
            for number, rid, columns in found:
                text = fill_template(template, columns, path=name, line=number)
                yield Request(number, rid, "chat", chat_body(text, system))

    return f"{fmt}+template", rows()


Row = tuple[int, str, dict[str, Any]]  # (line, id, columns)


def _table_rows(handle: Iterable[str], fmt: str, id_column: str | None) -> Iterator[Row]:
    """CSV/TSV rows by their header's names; blank rows skipped."""
    reader = csv.DictReader(handle, delimiter="\t" if fmt == "tsv" else ",")
    for row in reader:
        number = reader.line_num
        if not any((v or "").strip() for v in row.values()):
            continue
        fields = {k: v for k, v in row.items() if k is not None}
        yield number, str(fields.get(id_column or "id") or f"row-{number}"), fields


def _line_rows(handle: Iterable[str], fmt: str, id_column: str | None, name: str,
               skip: SkipLog | None) -> Iterator[Row]:
    """Text lines as `{text}`, or JSONL objects by their keys; a bad JSONL row fails, or is skipped (--skip-bad)."""
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        if fmt == "text":
            yield number, f"line-{number}", {"text": line.rstrip("\r\n")}
            continue
        obj, problem = _json_object(line)
        if problem is not None:
            err = InputError(problem, path=name, line=number)
            if skip is None:
                raise err
            skip.add(number, err.message)
            continue
        raw = obj.get(id_column) if id_column else obj.get("id", obj.get("custom_id"))
        yield number, str(raw) if raw is not None else f"line-{number}", obj


def _json_object(line: str) -> tuple[dict[str, Any], str | None]:
    """The line's JSON object, or why it is none."""
    try:
        obj = json.loads(line)
    except ValueError as exc:
        return {}, f"malformed JSON: {exc}"
    return (obj, None) if isinstance(obj, dict) else ({}, "expected a JSON object")
