"""One record as a `Request`: a JSONL line or a Parquet row, in any record format.

A chat request is read here; ShareGPT, Alpaca, fine-tuning files and bare bodies in `planner.read.shapes`; a
vendor's batch line by that vendor's module (`planner.vendors.line_shapes`), the one place its shape is read, so
that `validate` counts the same request from it. The functions are pure, so worker processes (and Spark/Dask
executors) read their own blocks of a file with them.
"""

from __future__ import annotations

import json
from typing import Any

from planner.core.errors import InputError
from planner.core.request import Request
from planner.read import shapes
from planner.read.options import ReadOptions
from planner.vendors import RecordError, detect_line_shape, line_shapes
from planner.vendors._reading import check_messages, describe, max_tokens_field, optional_str

#: The order `--format` lists the record formats in (the order it has always had); a vendor's line shape
#: not named here is listed after them.
_LISTED = (
    "chat", "openai-batch", "anthropic-batch", *shapes.SHAPES, "gemini-batch", "vertex-batch", "gemini",
    "bedrock-batch",
)
#: Every format read record by record: chat, the shapes and the vendors' batch lines.
RECORD_FORMATS = (
    *(fmt for fmt in _LISTED if fmt in ("chat", *shapes.SHAPES) or fmt in line_shapes()),
    *(fmt for fmt in line_shapes() if fmt not in _LISTED),
)
LINE_FORMATS = (*RECORD_FORMATS, "text")
FORMATS = (*RECORD_FORMATS, "csv", "tsv", "text", "counts")


def detect_record(obj: dict[str, Any]) -> str:
    """The format of one JSON record: a vendor's batch line, another known shape, else a chat request."""
    return detect_line_shape(obj) or shapes.detect(obj) or "chat"


def chat_body(text: str, system: str | None) -> dict[str, Any]:
    """The chat body of one prompt (a text line, a CSV cell), after the `--system` prompt if given."""
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": text})
    return {"messages": messages}


def parse_line(text: str, number: int, fmt: str, options: ReadOptions, name: str) -> Request | None:
    """One line of a line-per-request format as a Request (None for a blank line); a bad line raises
    InputError naming file and line. Pure, so worker processes can parse lines too."""
    if fmt == "text":
        text = text.rstrip("\r\n")
        if not text.strip():
            return None
        return Request(line=number, id=f"line-{number}", api="chat", body=chat_body(text, options.system))
    text = text.strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg} (column {exc.colno})", path=name, line=number) from None
    except RecursionError:
        raise InputError("malformed JSON: nested too deeply", path=name, line=number) from None
    except ValueError as exc:  # e.g. an integer literal past Python's 4,300-digit conversion limit
        raise InputError(f"malformed JSON: {str(exc).split(';')[0]}", path=name, line=number) from None
    return parse_record(obj, number, fmt, options, name)


def parse_record(obj: Any, number: int, fmt: str, options: ReadOptions, name: str) -> Request:
    """One decoded record (a JSONL line, a Parquet row) as a Request; a bad one raises InputError."""
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {describe(obj)}", path=name, line=number)
    try:
        req = _read_record(obj, number, fmt, options)
    except RecordError as exc:
        raise InputError(str(exc), path=name, line=number) from None
    if options.system and req.api == "chat":
        req.body["messages"] = [{"role": "system", "content": options.system}, *req.body["messages"]]
    return req


def _read_record(obj: dict[str, Any], number: int, fmt: str, options: ReadOptions) -> Request:
    answer = None
    if fmt == "chat":
        req = read_chat(obj, number)
    elif fmt in shapes.PARSERS:
        req, answer = shapes.parse(fmt, obj, number)
    else:
        req = line_shapes()[fmt].read(obj, number)
    if options.output_column:
        req.output_text = _output_text(obj, fmt, options.output_column, answer)
    if options.id_column:
        req.id = _id_value(obj.get(options.id_column), options.id_column)
    return req


def _output_text(obj: dict[str, Any], fmt: str, column: str, answer: str | None) -> str:
    """The sample output `--output-column` names: a string field, or the trailing answer of the shape's
    conversation."""
    output = obj.get(column)
    if not isinstance(output, str) and column == shapes.ANSWER_COLUMNS.get(fmt):
        output = answer
        if output is None:
            raise RecordError(f"'{column}' has no trailing assistant turn to count (--output-column)")
    if not isinstance(output, str):
        raise RecordError(f"no '{column}' string field (the --output-column)")
    return output


def _id_value(value: Any, column: str) -> str:
    """The user's own id from `--id-column` (a string or an integer; never empty)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise RecordError(f"no '{column}' id (the --id-column): got {json.dumps(value)}")
    return str(value)


def read_chat(obj: dict[str, Any], number: int) -> Request:
    """A chat completions request (`{"messages": [...], ...}`), its `id` or `custom_id` kept."""
    if "messages" not in obj:
        raise RecordError("no 'messages' field (expected a chat request: {\"messages\": [...]})")
    check_messages(obj["messages"])
    body = {k: v for k, v in obj.items() if k not in ("id", "custom_id")}
    body["messages"] = list(obj["messages"])
    return Request(
        line=number,
        id=optional_str(obj, "id") or optional_str(obj, "custom_id") or f"line-{number}",
        api="chat",
        body=body,
        model=optional_str(obj, "model"),
        max_tokens=max_tokens_field(obj, "max_completion_tokens", "max_tokens"),
    )
