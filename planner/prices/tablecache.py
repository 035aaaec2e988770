"""A cache of validated price tables, so table commands skip the YAML parse and the validation.

Each table file read is stored once under the user's cache directory, named by a key that hashes the
file's bytes together with the code that reads it (planner/prices/pricing.py, matching.py, records.py,
validation.py, safeyaml.py and this file) and the pydantic version. A changed table, a changed schema or
an upgrade therefore never meets a stale entry: it has another key.

An entry is what the schema validated, written by this module after a table passed validation: the table
as JSON with only the fields the file set (so a user's table layered over a shipped one merges exactly
as when parsed), under an HMAC-SHA256 of the key and the body. The HMAC's secret is 32 random bytes made
once per cache directory (`secret.key`, 0600). An entry whose HMAC checks was written by batchplan for
this very key, so it is rebuilt without validating again (records made field by field, every value's
type checked against the schema, without importing pydantic); one that does not (corrupt, truncated,
edited, copied from another table, machine or user, or from an older format) is ignored and the YAML is
parsed and validated as if there were no cache. Entries are JSON, never pickle: reading one cannot run
code. The directory is used only when the current user owns it and nobody else can write to it; who can
write as that user can equally edit the shipped tables or the config, so the cache adds no way in.

`$BATCHPLAN_CACHE_DIR` moves the cache (`off` disables it); by default it is the platform's user
cache directory. Any failure to read or write the cache is silent: the table is parsed as before.

The same directory, secret and HMAC hold the parsed ranks of each bundled encoding (`read_blob`,
`write_blob`; planner.count.encodings), keyed by the file's expected sha256 and the Python version.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import stat
import sys
import types
import typing
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from planner.prices.records import Record, assemble

if TYPE_CHECKING:
    from planner.prices.pricing import PriceTable, TableHead
    M = TypeVar("M", bound=Record)

_FORMAT = b"batchplan-table-cache/2"
#: The code a cached table depends on: the schema, its match rules, the YAML loader and this module.
_CODE = ("prices/pricing.py", "prices/matching.py", "prices/records.py", "prices/validation.py", "io/safeyaml.py",
         "prices/tablecache.py")
_SECRET = "secret.key"
_SECRET_BYTES = 32
_fingerprint: bytes | None = None
_secrets: dict[Path, bytes | None] = {}


def cache_dir() -> Path | None:
    """Where compiled tables live, or None when caching is off."""
    env = os.environ.get("BATCHPLAN_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "batchplan" / "tables"


def _schema_fingerprint() -> bytes:
    """What a cached table depends on besides its file: the schema's and the YAML loader's source, this
    module's, and pydantic's version (its version file, read: importing pydantic is what the cache saves)."""
    global _fingerprint
    if _fingerprint is None:
        h = hashlib.sha256(_FORMAT)
        for name in _CODE:  # read, not imported (safeyaml imports yaml, which a cached load never needs)
            h.update((Path(__file__).parents[1] / name).read_bytes())
        h.update(_pydantic_version())
        _fingerprint = h.digest()
    return _fingerprint


def _pydantic_version() -> bytes:
    """pydantic's version file (it pins its pydantic-core exactly), found without importing pydantic."""
    import importlib.util

    spec = importlib.util.find_spec("pydantic")
    if spec is None or spec.origin is None:
        return b""
    try:
        return Path(spec.origin).with_name("version.py").read_bytes()
    except OSError:
        return b""


def key(data: bytes) -> str:
    """The cache key of one table file's bytes under the current schema."""
    return hashlib.sha256(_schema_fingerprint() + data).hexdigest()


def _usable(directory: Path) -> bool:
    """Only a directory this user owns and no one else may write to (POSIX); anything else is ignored."""
    try:
        info = directory.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    return not (hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)))


def _private_file(info: os.stat_result) -> bool:
    if not stat.S_ISREG(info.st_mode):
        return False
    return not (hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o077))


def _read_secret(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not _private_file(os.fstat(handle.fileno())):
            return None
        data = handle.read(_SECRET_BYTES + 1)
    return data if len(data) == _SECRET_BYTES else None


def _secret(directory: Path, *, create: bool) -> bytes | None:
    """The directory's HMAC secret (read once per process); made when storing and there is none."""
    found = _secrets.get(directory)
    if found is not None or (directory in _secrets and not create):
        return found
    found = _read_secret(directory / _SECRET)
    if found is None and create:
        found = _make_secret(directory)
    _secrets[directory] = found
    return found


def _make_secret(directory: Path) -> bytes | None:
    path = directory / _SECRET
    import tempfile  # (only when writing: a warm cache is only read)

    fd, tmp = tempfile.mkstemp(prefix=".secret-", dir=directory)  # 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(_SECRET_BYTES))
        try:
            os.link(tmp, path)  # never replaces the secret another process has just made
        except FileExistsError:
            if _read_secret(path) is None:  # the wrong size, not a file, or open to others: a new one
                os.replace(tmp, path)
        except OSError:  # no hard links here
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return _read_secret(path)


def _mac(secret: bytes, cache_key: str, kind: str, body: bytes) -> str:
    return hmac.new(secret, b"\0".join([_FORMAT, cache_key.encode(), kind.encode(), body]), hashlib.sha256).hexdigest()


def read_blob(cache_key: str, kind: str, suffix: str = "json") -> bytes | None:
    """The bytes stored under (`cache_key`, `kind`) if their HMAC checks, else None (also used for the
    parsed encodings, planner.count.encodings)."""
    directory = cache_dir()
    if directory is None or not _usable(directory):
        return None
    secret = _secret(directory, create=False)
    if secret is None:
        return None
    try:
        raw = (directory / f"{cache_key}.{kind}.{suffix}").read_bytes()
    except OSError:
        return None
    head, _, body = raw.partition(b"\n")
    fmt, _, mac = head.partition(b" ")
    if fmt != _FORMAT or not hmac.compare_digest(mac, _mac(secret, cache_key, kind, body).encode()):
        return None
    return body


def write_blob(cache_key: str, kind: str, body: bytes, suffix: str = "json") -> None:
    """Store `body` under (`cache_key`, `kind`) with its HMAC, atomically, 0600; failures are silent."""
    directory = cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _usable(directory):
            return
        secret = _secret(directory, create=True)
        if secret is None:
            return
        _write(directory, f"{cache_key}.{kind}.{suffix}",
               _FORMAT + b" " + _mac(secret, cache_key, kind, body).encode() + b"\n" + body)
    except OSError:
        return


def _entry(cache_key: str, kind: str) -> Any:
    """The JSON document stored under `cache_key` if its HMAC checks, else None."""
    body = read_blob(cache_key, kind)
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def load(cache_key: str) -> PriceTable | None:
    """The validated table stored under `cache_key`, or None (missing, unreadable, stale or refused)."""
    from planner.prices.pricing import PriceTable

    return _rebuilt(PriceTable, _entry(cache_key, "table"))


def load_head(cache_key: str) -> TableHead | None:
    """The stored head (provider, grammar, priority) of the table under `cache_key`, or None."""
    from planner.prices.pricing import TableHead

    return _rebuilt(TableHead, _entry(cache_key, "head"))


def store(cache_key: str, table: PriceTable) -> None:
    """Write the table and its head under `cache_key` atomically (temp files renamed into place), 0600."""
    from planner.prices.pricing import TableHead

    _store(cache_key, "table", table)
    store_head(cache_key, TableHead.of(table))


def store_head(cache_key: str, head: TableHead) -> None:
    _store(cache_key, "head", head)


def _store(cache_key: str, kind: str, model: Record) -> None:
    write_blob(cache_key, kind, model.model_dump_json(exclude_unset=True).encode())


def _write(directory: Path, name: str, body: bytes) -> None:
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".table-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- rebuilding a model from its own dump, without validating it again ------------------------------


class _Mismatch(Exception):
    """A value that is not what the schema's field holds (never for an entry this module wrote)."""


def _rebuilt(cls: type[M], doc: Any) -> M | None:
    if doc is None:
        return None
    try:
        return rebuild(cls, doc)
    except (_Mismatch, ArithmeticError, ValueError, TypeError, KeyError, RecursionError):
        return None


def rebuild(cls: type[M], doc: Any) -> M:
    """`cls` from `record.model_dump(mode="json", exclude_unset=True)` of a validated `record`, equal to it
    (fields, the fields it set, nested records) without running validation: each value checked to be
    of its field's type. Raises _Mismatch for anything else."""
    if type(doc) is not dict:
        raise _Mismatch(f"{cls.__name__}: not an object")
    layout = _layout(cls)
    converters = layout.converters
    values = layout.defaults.copy()  # every field, in the schema's order; the document's replace them
    for name, raw in doc.items():
        convert = converters.get(name)
        if convert is None:
            raise _Mismatch(f"{cls.__name__}: unknown field {name}")
        values[name] = convert(raw)
    if not layout.required <= doc.keys():
        raise _Mismatch(f"{cls.__name__}: missing {sorted(layout.required - doc.keys())}")
    for name, factory in layout.factories:
        if name not in doc:
            values[name] = factory()
    return assemble(cls, values, doc)


class _Layout:
    """What rebuilding one record class needs, worked out once: each field's converter, the defaults
    (immutable ones as values, mutable ones as factories) and the fields a document must have."""

    __slots__ = ("converters", "defaults", "factories", "required")

    def __init__(self, cls: type[Record]) -> None:
        self.converters: dict[str, Callable[[Any], Any]] = {}
        self.defaults: dict[str, Any] = {}
        self.factories: list[tuple[str, Callable[[], Any]]] = []
        required = set()
        for name, info in cls.model_fields.items():
            self.converters[name] = _converter(info.annotation)
            self.defaults[name] = info.default
            if info.is_required():
                required.add(name)
            elif info.default_factory is not None:
                factory = info.default_factory
                if isinstance(factory, type) and issubclass(factory, Record):  # e.g. BatchLimits
                    self.factories.append((name, functools.partial(rebuild, factory, {})))
                elif factory in (list, dict):
                    self.factories.append((name, factory))
                else:
                    raise TypeError(f"the table cache cannot rebuild the default of {cls.__name__}.{name}")
            elif type(info.default) not in (type(None), bool, int, str, Decimal, tuple):
                raise TypeError(f"the table cache cannot rebuild the default of {cls.__name__}.{name}")
        self.required = frozenset(required)


_LAYOUTS: dict[type, _Layout] = {}
_CONVERTERS: dict[Any, Callable[[Any], Any]] = {}


def _layout(cls: type[Record]) -> _Layout:
    found = _LAYOUTS.get(cls)
    if found is None:
        found = _LAYOUTS[cls] = _Layout(cls)
    return found


def _converter(annotation: Any) -> Callable[[Any], Any]:
    try:
        return _CONVERTERS[annotation]
    except KeyError:
        convert = _CONVERTERS[annotation] = _make_converter(annotation)
        return convert
    except TypeError:  # an unhashable annotation
        return _make_converter(annotation)


def _exactly(kind: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if type(value) is not kind:
            raise _Mismatch(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return convert


_LIST, _DICT, _STR = _exactly(list), _exactly(dict), _exactly(str)


def _make_converter(annotation: Any) -> Callable[[Any], Any]:
    """How the JSON of one field's value becomes the value validation made of it."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _converter(args[0])
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in args if a is not type(None)]
        inner = _converter(options[0]) if len(options) == 1 else _one_of(options)
        if len(options) == len(args):
            return inner
        return lambda value: None if value is None else inner(value)
    if origin is list:
        item = _converter(args[0])
        return lambda value: [item(v) for v in _LIST(value)]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            each = _converter(args[0])
            return lambda value: tuple(each(v) for v in _LIST(value))
        items = [_converter(a) for a in args]

        def convert_tuple(value: Any) -> tuple[Any, ...]:
            if type(value) is not list or len(value) != len(items):
                raise _Mismatch(f"expected a list of {len(items)}")
            return tuple(c(v) for c, v in zip(items, value, strict=True))

        return convert_tuple
    if origin is dict:
        if args[0] is not str:
            raise TypeError(f"the table cache cannot rebuild {annotation!r}")
        item = _converter(args[1])
        return lambda value: {_STR(k): item(v) for k, v in _DICT(value).items()}
    if origin is typing.Literal:

        def convert_literal(value: Any) -> Any:
            if not any(type(value) is type(a) and value == a for a in args):
                raise _Mismatch(f"{value!r} is not one of {args}")
            return value

        return convert_literal
    if isinstance(annotation, type) and issubclass(annotation, Record):
        model = annotation
        return lambda value: rebuild(model, value)
    if annotation is Decimal:
        return lambda value: Decimal(_STR(value))
    if annotation is date:
        return lambda value: date.fromisoformat(_STR(value))
    if annotation in (str, int, bool):
        return _exactly(annotation)
    if annotation is Any:
        return lambda value: value
    raise TypeError(f"the table cache cannot rebuild {annotation!r}")


def _one_of(options: list[Any]) -> Callable[[Any], Any]:
    """A union of records (which forbid extra fields: matching.Rule): the first whose fields the object
    fills, the one left-to-right validation picks."""
    models = []
    for option in options:
        model = option if isinstance(option, type) and issubclass(option, Record) else None
        if model is None:
            raise TypeError(f"the table cache cannot rebuild a union with {option!r}")
        models.append(model)

    def convert(value: Any) -> Any:
        if type(value) is not dict:
            raise _Mismatch("expected an object")
        for model in models:
            layout = _layout(model)
            if value.keys() <= layout.converters.keys() and layout.required <= value.keys():
                return rebuild(model, value)
        raise _Mismatch(f"no model of {options} has the fields {sorted(value)}")

    return convert
