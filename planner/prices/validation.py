"""Validation of records (planner.prices.records) by pydantic, imported only when something is validated.

For each record class a pydantic model is made once, on first use, from the record's own declarations:
the same field names, types (records replaced by their models), defaults and constraints
(`Field(ge=…)` → `pydantic.Field(ge=…)`, `Before(fn)` → `BeforeValidator(fn)`, `check=` →
`AfterValidator`), `extra="forbid"`. The record's `@before` functions run as model validators on the
raw input; its `@after` checks run on the finished record, so they can use the record's methods. The
error a user sees is pydantic's, with the same locations and class names as the record's.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, TypeVar, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic import Field as PydanticField
from pydantic.fields import FieldInfo as PydanticFieldInfo

from planner.prices.records import MISSING, Before, FieldInfo, Record

R = TypeVar("R", bound=Record)

_MODELS: dict[type[Record], type[BaseModel]] = {}
_RECORDS: dict[type[BaseModel], type[Record]] = {}
#: the models by class name, for the forward references between them (matching.AnyOf holds `Rule`s)
_NAMESPACE: dict[str, Any] = {}
_BUILT: set[type[BaseModel]] = set()


def validate(cls: type[R], data: Any) -> R:
    """`data` (a mapping, or a record of `cls`) validated against `cls`'s declarations, as a record.
    Raises pydantic.ValidationError."""
    validated = model_for(cls).model_validate(_unrecord(data))
    record = to_record(validated)
    assert isinstance(record, cls)
    return record


def model_for(cls: type[Record]) -> type[BaseModel]:
    """The pydantic model that validates `cls`, ready to validate (made on first use)."""
    model = _make(cls)
    if model not in _BUILT:
        for other in list(_MODELS.values()):
            other.model_rebuild(_types_namespace=_NAMESPACE)
            _BUILT.add(other)
    return model


def _make(cls: type[Record]) -> type[BaseModel]:
    if cls in _MODELS:
        return _MODELS[cls]  # (None while it is being made: references to it are by name)
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": cls.__name__,
        "__doc__": cls.__doc__,
        "model_config": ConfigDict(extra="forbid", frozen=True, defer_build=True),
    }
    _MODELS[cls] = None  # type: ignore[assignment]
    annotations: dict[str, Any] = {}
    hints = cls.type_hints()
    for name, info in cls.model_fields.items():
        annotations[name] = _translate(hints[name])
        if info.check is not None:
            annotations[name] = Annotated[annotations[name], AfterValidator(info.check)]
        namespace[name] = _field(info)
    namespace["__annotations__"] = annotations
    for i, fn in enumerate(cls._record_checks["before"]):
        check = typing.cast(Any, classmethod(_before_check(cls, fn)))
        namespace[f"_before_{i}"] = model_validator(mode="before")(check)
    for i, fn in enumerate(cls._record_checks["after"]):
        namespace[f"_after_{i}"] = model_validator(mode="after")(_after_check(fn))
    model = typing.cast(type[BaseModel], type(cls.__name__, (BaseModel,), namespace))
    _MODELS[cls] = model
    _RECORDS[model] = cls
    _NAMESPACE[cls.__name__] = model
    return model


def _before_check(cls: type[Record], fn: Any) -> Any:
    def run(_model: type[BaseModel], data: Any) -> Any:
        return fn(cls, data)

    return run


def _after_check(fn: Any) -> Any:
    def run(self: BaseModel) -> BaseModel:
        fn(to_record(self))
        return self

    return run


def _field(info: FieldInfo) -> PydanticFieldInfo:
    kwargs = dict(info.constraints)
    if info.default_factory is not None:
        factory = info.default_factory
        if isinstance(factory, type) and issubclass(factory, Record):
            kwargs["default_factory"] = _make(factory)
        else:
            kwargs["default_factory"] = factory
    elif info.default is not MISSING:
        kwargs["default"] = info.default
    return typing.cast(PydanticFieldInfo, PydanticField(**kwargs))


def _translate(tp: Any) -> Any:
    """A record's field type in pydantic's terms: records become (forward references to) their models."""
    if isinstance(tp, type) and issubclass(tp, Record):
        _make(tp)
        return tp.__name__  # resolved from _NAMESPACE when the models are built
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        return Annotated[(_translate(args[0]), *(_metadata(m) for m in tp.__metadata__))]  # type: ignore[valid-type]
    if origin is Union or origin is types.UnionType:
        return Union[tuple(_forward(_translate(a)) for a in args)]  # noqa: UP007
    if origin in (list, dict, tuple):
        return origin[tuple(a if a is Ellipsis else _forward(_translate(a)) for a in args)]
    return tp


def _forward(tp: Any) -> Any:
    return typing.ForwardRef(tp) if isinstance(tp, str) else tp


def _metadata(item: Any) -> Any:
    if isinstance(item, FieldInfo):
        return PydanticField(**item.constraints)
    if isinstance(item, Before):
        return BeforeValidator(item.fn)
    return item


def to_record(value: Any) -> Any:
    """A validated model (and everything in it) as records; other values as they are."""
    if isinstance(value, BaseModel):
        cls = _RECORDS[type(value)]
        fields = {name: to_record(getattr(value, name)) for name in cls.model_fields}
        return cls.model_construct(_fields_set=value.model_fields_set, **fields)
    return _inside(value, to_record)


def _unrecord(value: Any) -> Any:
    """Records inside input data as the fields they were given (so a record passes validation exactly
    as the mapping it was made from)."""
    if isinstance(value, Record):
        return {name: _unrecord(getattr(value, name)) for name in value.model_fields_set}
    return _inside(value, _unrecord)


def _inside(value: Any, convert: Any) -> Any:
    """`convert` applied to what a list, tuple or dict holds; any other value as it is."""
    if isinstance(value, list):
        return [convert(v) for v in value]
    if isinstance(value, tuple):
        return tuple(convert(v) for v in value)
    if isinstance(value, dict):
        return {k: convert(v) for k, v in value.items()}
    return value


__all__ = ["ValidationError", "model_for", "to_record", "validate"]
