"""Price tables kept as JSON after their first read, so that a table file's YAML is parsed once.

Parsing the YAML of every table in force costs a lookup such as `check MODEL` more than everything else
it does; pydantic reads the same table from its own JSON several times faster. An entry is a table that
passed validation, dumped with only the fields its file set (so a user's table layered over it merges as
over the parsed one), and it is validated again by the schema (`model_validate_json`) every time it is
read: an entry that does not validate (truncated, corrupt, from another schema) is ignored and the file
is parsed as if there were no cache.

An entry is named by the SHA-256 of the file's bytes, of the source of the code that turns them into a
table (the schema, its match rules, the YAML loader) and of pydantic's version, so a changed table,
schema or upgrade never meets an old entry. (The source, not batchplan's version number: the number
stays the same while the schema changes in a checkout.) The directory is used only when the current
user owns it and nobody else may write in it.

`$BATCHPLAN_CACHE_DIR` moves the cache (`off` turns it off); by default it is the platform's user cache
directory. Failing to read or write the cache is silent: the table is parsed as before.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import stat
import sys
from pathlib import Path

import pydantic

from planner.core.errors import BatchplanError
from planner.io.inputs import read_small
from planner.prices.schema import PriceTable
from planner.store.config import xdg_dir

#: An entry is a table's JSON: a table file is at most 4 MiB of YAML (planner.prices.pricing).
MAX_ENTRY_BYTES = 16 * 1024 * 1024

#: The code a table's entry depends on besides its file, relative to the package.
_CODE = ("prices/schema.py", "prices/matching.py", "io/safeyaml.py")


def cache_dir() -> Path | None:
    """Where the tables' JSON lives, or None when caching is off (or there is no home directory to put
    it in: HOME unset and a uid without a passwd entry). A relative `XDG_CACHE_HOME` is ignored, as the
    XDG spec says."""
    env = os.environ.get("BATCHPLAN_CACHE_DIR")
    if env is not None:
        if env.strip().lower() in ("", "off", "0", "none"):
            return None
        try:
            return Path(env).expanduser()
        except RuntimeError:  # `~` without a home directory: no cache rather than a wrong one
            return None
    try:
        if sys.platform == "win32":
            base: Path | None = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        elif sys.platform == "darwin":
            base = Path.home() / "Library" / "Caches"
        else:
            base = xdg_dir("XDG_CACHE_HOME", ".cache")
    except (RuntimeError, KeyError, OSError):
        base = None
    return base / "batchplan" / "tables" if base is not None else None


@functools.cache
def _schema_key() -> bytes:
    """What an entry depends on besides its file: pydantic's version and the code that reads a table."""
    h = hashlib.sha256(f"pydantic {pydantic.VERSION}\0".encode())
    for name in _CODE:
        h.update((Path(__file__).parents[1] / name).read_bytes())
    return h.digest()


def _entry(directory: Path, data: bytes) -> Path:
    return directory / f"{hashlib.sha256(_schema_key() + data).hexdigest()}.json"


def _usable(directory: Path) -> bool:
    """Only a directory this user owns and no one else may write to (POSIX); anything else is ignored."""
    try:
        info = directory.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    return not (hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)))


def load(data: bytes) -> PriceTable | None:
    """The table stored for a file with these bytes, validated, or None (none stored, unreadable, invalid)."""
    directory = cache_dir()
    if directory is None or not _usable(directory):
        return None
    entry = _entry(directory, data)
    try:  # a regular file, bounded: a FIFO or /dev/zero planted as an entry is neither waited on nor read
        raw = read_small(entry, "table cache entry", limit=MAX_ENTRY_BYTES, regular=True, ours=True)
        return PriceTable.model_validate_json(raw)
    except (BatchplanError, ValueError, RecursionError):  # (pydantic's ValidationError is a ValueError)
        return None


def store(data: bytes, table: PriceTable) -> None:
    """Keep a table just parsed and validated from a file with these bytes; failures are silent."""
    directory = cache_dir()
    if directory is None:
        return
    from planner.io.atomic import write_text

    with contextlib.suppress(OSError, BatchplanError):  # (a cache is no reason to fail)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if _usable(directory):
            write_text(_entry(directory, data), table.model_dump_json(exclude_unset=True), force=True)
