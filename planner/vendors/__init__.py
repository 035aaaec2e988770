"""Vendor batch formats, one module per line shape behind one interface (`BatchVendor`).

Each module in `VENDOR_MODULES` exports `VENDORS`, a tuple of vendor objects; the registry merges them and
refuses a name (or alias) given twice, as tiktoken's registry does. `prepare`, `validate` and the dataset
readers ask only this registry, so adding a vendor touches one module (plus its price table). A module's
`LINE_SHAPES` are the batch request lines the dataset reader reads (`--format NAME`), each read by that module
alone: `validate` and `estimate` count the same request from the same line.

    >>> get_vendor("groq").max_tokens_key
    'max_tokens'
    >>> detect_vendor({"custom_id": "a", "params": {}})
    'anthropic'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from re import Pattern
from typing import Any, Protocol

from planner.core.errors import UsageError
from planner.core.request import Request
from planner.vendors._base import ENDPOINTS, LineOptions, Parsed, Unconvertible, Vendor
from planner.vendors._reading import LineShape, RecordError
from planner.vendors.results import BatchObject, Result

__all__ = [
    "ENDPOINTS", "VENDOR_MODULES", "BatchVendor", "LineOptions", "LineShape", "Parsed", "RecordError", "Unconvertible",
    "Vendor", "detect_line_shape", "detect_vendor", "get_vendor", "line_shapes", "list_vendors",
]

#: Registry order is detection order: the first vendor whose `looks_like` accepts a line names it.
VENDOR_MODULES = (
    "planner.vendors.anthropic",
    "planner.vendors.openai",
    "planner.vendors.bedrock",
    "planner.vendors.xai",
    "planner.vendors.gemini",
    "planner.vendors.plain",
)


class BatchVendor(Protocol):
    """The interface prepare and validate rely on (planner.vendors._base.Vendor implements it)."""

    name: str
    format: str
    line_format: str
    id_field: str | None
    id_pattern: Pattern[str] | None
    endpoints: tuple[str, ...]
    model_in_line: bool
    body_overhead: int

    def build_line(self, req: Request, custom_id: str, opts: LineOptions) -> tuple[dict[str, Any], list[str]]: ...
    def parse_line(self, obj: Any, number: int) -> Parsed: ...
    def looks_like(self, obj: dict[str, Any]) -> bool: ...
    def notes(self, opts: LineOptions) -> list[str]: ...


@cache
def _registry() -> tuple[dict[str, Vendor], dict[str, Vendor]]:
    """(vendors by name in registry order, every name and alias → vendor); a duplicate is an error."""
    by_name: dict[str, Vendor] = {}
    lookup: dict[str, Vendor] = {}
    for module_name in VENDOR_MODULES:
        module = importlib.import_module(module_name)
        for vendor in module.VENDORS:
            for key in (vendor.name, *vendor.aliases):
                if key in lookup:
                    raise ValueError(f"vendor name '{key}' is defined twice ({module_name})")
                lookup[key] = vendor
            by_name[vendor.name] = vendor
    return by_name, lookup


def list_vendors() -> list[str]:
    """Every vendor's name, in registry (and detection) order."""
    return list(_registry()[0])


def get_vendor(name: str) -> Vendor:
    """The vendor named `name` (or an alias: `google` is `gemini`). Raises UsageError listing the names."""
    try:
        return _registry()[1][name.lower()]
    except KeyError:
        raise UsageError(f"unknown --vendor '{name}'; choose one of {', '.join(list_vendors())}") from None


def detect_vendor(obj: Any) -> str | None:
    """The vendor a line's shape belongs to, trying vendors in registry order (OpenAI for the shape OpenAI,
    Azure and Groq share; Mistral for the one Mistral and Fireworks share)."""
    if not isinstance(obj, dict):
        return None
    for vendor in _registry()[0].values():
        if vendor.looks_like(obj):
            return vendor.name
    return None


@cache
def line_shapes() -> dict[str, LineShape]:
    """Every vendor module's request line shapes by `--format` name, in registry (and detection) order;
    a name given twice is an error."""
    shapes: dict[str, LineShape] = {}
    for module_name in VENDOR_MODULES:
        for shape in getattr(importlib.import_module(module_name), "LINE_SHAPES", ()):
            if shape.name in shapes:
                raise ValueError(f"line shape '{shape.name}' is defined twice ({module_name})")
            shapes[shape.name] = shape
    return shapes


def detect_line_shape(obj: dict[str, Any]) -> str | None:
    """The name of the first vendor line shape that a record looks like, or None."""
    return next((shape.name for shape in line_shapes().values() if shape.looks_like(obj)), None)
#: A vendor module's `read_result(obj, where)`: its result line (or batch object) read, None for another shape.
ResultReader = Callable[[dict[str, Any], str], Result | BatchObject | None]


@cache
def _result_readers() -> tuple[ResultReader, ...]:
    """The `read_result` of every vendor module that has one, in registry order."""
    modules = (importlib.import_module(name) for name in VENDOR_MODULES)
    return tuple(reader for module in modules if (reader := getattr(module, "read_result", None)) is not None)


def parse_result(obj: Any, where: str) -> Result | BatchObject:
    """One result line (or batch object) of any vendor, read by the vendor module that knows its shape, so a
    new vendor's results touch only its module. ValueError with a one-line reason for anything else."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    for read in _result_readers():
        found = read(obj, where)
        if found is not None:
            return found
    keys = ", ".join(sorted(obj)[:6])
    raise ValueError(f"not a batch result line of a known vendor (keys: {keys})")
