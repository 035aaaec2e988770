"""Frozen records: the price schema's classes, importable without pydantic.

`batchplan check MODEL` reads a few validated tables from the cache and answers; importing pydantic and
building its model classes took longer than the rest of the answer (~130 ms of ~280 ms). So the schema
is declared once, as plain classes whose annotations and `Field(...)` specs say what pydantic should
check (`ge`, `le`, `pattern`, `strict`, `min_length`, …, `check=` for a field, `@after` /
`@before` for the record). planner.prices.validation turns those declarations into pydantic models when a
table file is actually validated (a cache miss, a user's table, sync), and the result becomes records.

A record answers the part of pydantic's BaseModel interface the code uses (`model_validate`,
`model_construct`, `model_dump`, `model_dump_json`, `model_copy`, `model_fields`, `model_fields_set`),
so code that handled validated models handles records unchanged. Building one with keyword arguments
validates it, as a pydantic model would; `model_construct` (the cache, arithmetic on validated prices)
does not. Records are frozen: equal when their type and fields are, hashed by their fields.
"""

from __future__ import annotations

import json
import sys
import typing
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="Record")

#: the default of a field that has none (required)
MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<required>"})()


class FieldInfo:
    """One field: its default (or factory), the constraints pydantic checks, an optional `check`."""

    __slots__ = ("check", "constraints", "default", "default_factory", "name", "owner")

    def __init__(self, default: Any = MISSING, default_factory: Callable[[], Any] | None = None,
                 check: Callable[[Any], Any] | None = None, constraints: dict[str, Any] | None = None) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.check = check
        self.constraints = constraints or {}
        self.owner: type[Record] | None = None

    def is_required(self) -> bool:
        return self.default is MISSING and self.default_factory is None

    @property
    def annotation(self) -> Any:
        """The field's type, evaluated in its class's module (annotations are strings until asked for)."""
        assert self.owner is not None
        return self.owner.type_hints()[self.name]

    def make_default(self) -> Any:
        factory = self.default_factory
        if factory is None:
            return self.default
        if isinstance(factory, type) and issubclass(factory, Record):
            return factory.model_construct()  # its own defaults are already valid
        return factory()

    def __repr__(self) -> str:
        return f"FieldInfo(default={self.default!r}, constraints={self.constraints!r})"


def Field(
    default: Any = MISSING, *, default_factory: Callable[[], Any] | None = None,
    check: Callable[[Any], Any] | None = None, **constraints: Any,
) -> Any:
    """A field's default and constraints (pydantic.Field's names: gt, ge, le, pattern, strict, …).
    `check(value)` runs after the type's validation and may raise ValueError or return a new value.
    Also usable as `Annotated[...]` metadata, as in pydantic."""
    return FieldInfo(default, default_factory, check, constraints)


class Before:
    """`Annotated[T, Before(fn)]`: fn sees the raw value before it is validated as T (pydantic's
    BeforeValidator)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn


F = TypeVar("F", bound=Callable[..., Any])


def after(fn: F) -> F:
    """Mark a method `(self) -> None` that checks a whole record once its fields are valid."""
    fn.__record_check__ = "after"  # type: ignore[attr-defined]
    return fn


def before(fn: F) -> F:
    """Mark a function `(cls, data) -> data` that rewrites a record's raw input before validation."""
    fn.__record_check__ = "before"  # type: ignore[attr-defined]
    return fn


@typing.dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(Field,))
class Record:
    """Base of the schema's classes. Subclasses declare fields as annotations (see module docstring)."""

    __slots__ = ("__dict__", "_record_set")
    _record_set: frozenset[str]  # the fields given when it was made (pydantic's model_fields_set)
    #: name -> FieldInfo, in declaration order (parents' fields first)
    model_fields: ClassVar[dict[str, FieldInfo]] = {}
    _record_checks: ClassVar[dict[str, list[Callable[..., Any]]]] = {"after": [], "before": []}
    _record_hints: ClassVar[dict[str, Any] | None] = None
    #: attributes outside the fields (a subclass's own `__slots__`, e.g. PriceTable's user label)
    _record_private: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict(cls.model_fields)
        for name, text in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 (no inspect import)
            if name.startswith("_") or "ClassVar" in str(text):
                continue
            value = cls.__dict__.get(name, MISSING)
            info = value if isinstance(value, FieldInfo) else FieldInfo(default=value)
            if isinstance(value, FieldInfo) or value is not MISSING:
                delattr(cls, name)
            info.name, info.owner = name, cls
            fields[name] = info
        cls.model_fields = fields
        cls._record_hints = None
        found: dict[str, Callable[..., Any]] = {}  # by name: a subclass's method replaces its parent's
        for klass in reversed(cls.__mro__):
            for attr_name, attr in vars(klass).items():
                fn = attr.__func__ if isinstance(attr, (classmethod, staticmethod)) else attr
                if getattr(fn, "__record_check__", None):
                    found[attr_name] = fn
        cls._record_checks = {
            kind: [fn for fn in found.values() if getattr(fn, "__record_check__", None) == kind]
            for kind in ("after", "before")
        }
        cls._record_private = tuple(
            n for k in cls.__mro__ if k is not Record for n in k.__dict__.get("__slots__", ()) if n != "__dict__"
        )

    @classmethod
    def type_hints(cls) -> dict[str, Any]:
        """The fields' types, evaluated once (after every module they name has loaded)."""
        hints = cls.__dict__.get("_record_hints")
        if hints is None:
            hints = {}
            for klass in reversed(cls.__mro__):
                if issubclass(klass, Record) and klass is not Record:
                    module = vars(sys.modules[klass.__module__])
                    for name, text in klass.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
                        if name in cls.model_fields:
                            hints[name] = eval(text, module) if isinstance(text, str) else text  # our source
            cls._record_hints = hints
        return hints

    # -- building -------------------------------------------------------------------------------

    def __init__(self, **values: Any) -> None:
        """Validated, as pydantic builds a model from keyword arguments."""
        from planner.prices.validation import validate

        made = validate(type(self), values)
        self.__dict__.update(made.__dict__)
        object.__setattr__(self, "_record_set", made._record_set)

    @classmethod
    def model_validate(cls: type[R], data: Any) -> R:
        from planner.prices.validation import validate

        return validate(cls, data)

    @classmethod
    def model_validate_json(cls: type[R], text: str | bytes) -> R:
        return cls.model_validate(json.loads(text))

    @classmethod
    def model_construct(cls: type[R], _fields_set: Iterable[str] | None = None, **values: Any) -> R:
        """Without validation, from values already valid; fields left out take their defaults."""
        fields = {name: values[name] if name in values else info.make_default()
                  for name, info in cls.model_fields.items()}
        return assemble(cls, fields, values if _fields_set is None else _fields_set)

    def model_copy(self: R, *, update: dict[str, Any] | None = None) -> R:
        """A shallow copy, with `update` applied unvalidated (as pydantic's model_copy)."""
        update = update or {}
        return assemble(type(self), {**self.__dict__, **update}, self._record_set | update.keys(), self._private())

    @property
    def model_fields_set(self) -> set[str]:
        return set(self._record_set)

    # -- dumping --------------------------------------------------------------------------------

    def model_dump(self, *, mode: str = "python", exclude_unset: bool = False, exclude_none: bool = False,
                   exclude_defaults: bool = False, exclude: Iterable[str] = ()) -> dict[str, Any]:
        """Fields as plain data, nested records as dicts; mode 'json' writes Decimal and date as strings."""
        return _dump(self, _Dump(mode == "json", exclude_unset, exclude_none, exclude_defaults), frozenset(exclude))

    def model_dump_json(self, *, exclude_unset: bool = False, exclude_none: bool = False) -> str:
        """Compact JSON, byte for byte what pydantic writes for the same model."""
        doc = self.model_dump(mode="json", exclude_unset=exclude_unset, exclude_none=exclude_none)
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

    # -- value semantics ------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._record_private:
            object.__setattr__(self, name, value)
            return
        raise TypeError(f"{type(self).__name__} is frozen: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise TypeError(f"{type(self).__name__} is frozen: cannot delete {name}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__ and self._private() == other._private()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def _private(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self._record_private if hasattr(self, n)}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({inner})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (assemble, (type(self), dict(self.__dict__), self._record_set, self._private()))


def assemble(cls: type[R], fields: dict[str, Any], fields_set: Iterable[str],
             private: dict[str, Any] | None = None) -> R:
    """A record of `cls` holding `fields` as given (every field, in the schema's order, already valid):
    how construction, copies, pickles and the table cache make records without validating again."""
    self = cls.__new__(cls)
    self.__dict__.update(fields)
    object.__setattr__(self, "_record_set", frozenset(fields_set))
    for name, value in (private or {}).items():
        object.__setattr__(self, name, value)
    return self


class _Dump:
    """How model_dump writes: JSON types or Python ones, and which fields it leaves out (at every depth)."""

    __slots__ = ("as_json", "defaults", "none", "unset")

    def __init__(self, as_json: bool, unset: bool, none: bool, defaults: bool) -> None:
        self.as_json, self.unset, self.none, self.defaults = as_json, unset, none, defaults


def _dump(record: Record, how: _Dump, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fields = record.model_fields
    for name, value in record.__dict__.items():
        if (how.unset and name not in record._record_set) or name in exclude or (how.none and value is None):
            continue
        if how.defaults and not fields[name].is_required() and value == fields[name].make_default():
            continue
        out[name] = _plain(value, how)
    return out


def _plain(value: Any, how: _Dump) -> Any:
    if isinstance(value, Record):
        return _dump(value, how)
    if isinstance(value, list):
        return [_plain(v, how) for v in value]
    if isinstance(value, tuple):
        items = [_plain(v, how) for v in value]
        return items if how.as_json else tuple(items)
    if isinstance(value, dict):
        return {k: _plain(v, how) for k, v in value.items()}
    if how.as_json and isinstance(value, (Decimal, date)):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value
