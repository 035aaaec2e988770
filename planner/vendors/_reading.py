"""Reading request lines into `Request`s: what every vendor's reader shares with the dataset reader above.

A vendor module reads its own batch line shapes (`LINE_SHAPES`, each a `LineShape`), and both ways in use
that one reading: the dataset reader (`estimate`, `--format NAME`) and `validate` (a vendor's `parse_line`,
which adds the upload rules on top). The dataset reader's generic shapes (chat, ShareGPT, …) check their
records with the same helpers, so a bad record reads the same wherever it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from planner.core.request import Request
from planner.vendors._base import Parsed

MAX_TOKENS_VALUE = 10**15  # a larger max_tokens is no real request (and would overflow 64-bit sums)


class RecordError(ValueError):
    """A record that is JSON but not the shape its format needs (the reader adds file and line)."""


@dataclass(frozen=True)
class LineShape:
    """One batch request line shape, as the dataset reader sees it: its `--format` name, how a record of
    it looks (detection, in registry order), and how it reads into the Request the vendor would receive
    (raising RecordError on the first part it cannot read)."""

    name: str
    looks_like: Callable[[dict[str, Any]], bool]
    read: Callable[[dict[str, Any], int], Request]


def read_checked(
    read: Callable[[dict[str, Any], int], Request],
    obj: dict[str, Any],
    number: int,
    custom_id: str | None,
    model: str | None = None,
    url: str | None = None,
) -> Parsed:
    """`validate`'s result for a line that passed the upload rules: the Request the dataset reader reads
    from it (so both count the same request), or what stops it being read."""
    try:
        return Parsed(read(obj, number), [], custom_id, model, url)
    except RecordError as exc:
        return Parsed(None, [str(exc)], custom_id, model, url)


def describe(value: Any) -> str:
    """A JSON value's kind, as the messages name it."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def optional_str(obj: dict[str, Any], key: str) -> str | None:
    """A string (or integer) field, when it is there."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise RecordError(f"'{key}' must be a string")
    return str(value)


def record_id(obj: dict[str, Any], number: int, *keys: str) -> str:
    """The first of `keys` holding a non-empty string or integer; else the line's own name."""
    for key in keys:
        value = obj.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return str(value)
    return f"line-{number}"


def check_messages(messages: Any, where: str = "messages") -> list[dict[str, Any]]:
    """A chat-style `messages` list: objects with a `role`, content a string or a list of parts."""
    if not isinstance(messages, list):
        raise RecordError(f"'{where}' must be a list, got {describe(messages)}")
    if not messages:
        raise RecordError(f"'{where}' is empty")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise RecordError(f"{where}[{i}] must be an object, got {describe(m)}")
        if not isinstance(m.get("role"), str):
            raise RecordError(f"{where}[{i}] has no 'role' string")
        content = m.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise RecordError(f"{where}[{i}].content must be a string or a list of parts, got {describe(content)}")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, (dict, str)):
                    raise RecordError(f"{where}[{i}].content[{j}] must be an object, got {describe(part)}")
        if "name" in m and not isinstance(m["name"], str):
            raise RecordError(f"{where}[{i}].name must be a string")
    return messages


def max_tokens_field(body: dict[str, Any], *keys: str) -> int | None:
    """The first of `keys` that `body` sets: a non-negative integer of at most MAX_TOKENS_VALUE."""
    for key in keys:
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RecordError(f"'{key}' must be a non-negative integer, got {_short(value)}")
        if value > MAX_TOKENS_VALUE:
            raise RecordError(
                f"'{key}' is {_short(value)}, more than any model can produce (at most {MAX_TOKENS_VALUE:,})"
            )
        return value
    return None


def _short(value: Any) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else json.dumps(value)[:60]
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} digits)"
