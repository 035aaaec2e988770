"""JSON numbers the way the vendors' parsers take them: finite, and integers that fit in 64 bits.

Python's `json` reads `NaN`, `Infinity` and `1e999` (as infinity) and integers of any size, and writes
them back out; the vendors' batch endpoints reject such lines (and converting a 5,000-digit integer is
itself an error in Python). `loads` refuses them with a one-line reason; `number_problem` finds them in a
value already parsed (a dataset row, a `--body` object).

    >>> loads('{"top_p": 0.9}')
    {'top_p': 0.9}
    >>> number_problem({"top_p": float("nan")})
    'top_p: NaN is not a finite number'
"""

from __future__ import annotations

import json
import math
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class NumberError(ValueError):
    """A JSON number no vendor accepts: NaN, an infinity, a float past 1.8e308 or an integer past 64 bits."""


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}…{text[-4:]} ({len(text.lstrip('-'))} digits)"


def _constant(name: str) -> Any:
    raise NumberError(f"{name} is not a finite number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NumberError(f"{_short(text)} is beyond the range of a 64-bit float")
    return value


def _int(text: str) -> int:
    digits = len(text) - (text[:1] == "-")
    if digits > 19 or not INT64_MIN <= (value := int(text)) <= INT64_MAX:
        raise NumberError(f"the integer {_short(text)} does not fit in 64 bits")
    return value


def loads(text: str | bytes | bytearray) -> Any:
    """`json.loads`, refusing NaN, infinities and integers past 64 bits (NumberError, a ValueError)."""
    return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def number_problem(value: Any, where: str = "") -> str | None:
    """The first NaN/infinite float or integer past 64 bits in a parsed JSON value, as `path: reason`
    (None when there is none). Iterative, so a deeply nested value cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        at, item = stack.pop()
        problem = None
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            problem = f"{'NaN' if math.isnan(item) else 'an infinity'} is not a finite number"
        elif isinstance(item, int) and not INT64_MIN <= item <= INT64_MAX:
            shown = _short(str(item)) if item.bit_length() < 14_000 else "of over 4,000 digits"
            problem = f"the integer {shown} does not fit in 64 bits"
        elif isinstance(item, dict):
            stack.extend((_path(at, str(k)), v) for k, v in reversed(item.items()))
        elif isinstance(item, (list, tuple)):
            stack.extend((_path(at, i), v) for i, v in reversed(list(enumerate(item))))
        if problem is not None:
            return f"{at}: {problem}" if at else problem
    return None


def _int_marker(text: str) -> int:
    digits = len(text) - (text[:1] == "-")
    if digits > 19:
        return INT64_MIN - 1 if text[:1] == "-" else INT64_MAX + 1
    return int(text)


def loads_bounded(text: str | bytes | bytearray) -> Any:
    """`json.loads` for objects a schema checks next: an integer of more than 19 digits is read as just
    past the 64-bit range (so a bounded field rejects it, an unused one ignores it, and no time goes on
    converting 5,000 digits); NaN and infinities stay floats for the schema to refuse."""
    return json.loads(text, parse_int=_int_marker)
