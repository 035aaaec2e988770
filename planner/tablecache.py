"""A cache of validated price tables, so table commands skip the YAML parse (most of their start-up).

Each table file read is stored once as JSON under the user's cache directory, named by a key that
hashes the file's bytes together with the schema code (planner/pricing.py, planner/matching.py) and
the pydantic version. A changed table, a changed schema or an upgrade therefore never meets a stale
entry: it has another key. An entry is JSON, never pickle, and is validated by the same schema when
loaded, so a corrupted or tampered file cannot run code and cannot smuggle in a table the schema
would refuse; an entry whose recorded key differs from its name is ignored. The directory is used
only when the current user owns it and nobody else can write to it.

`$BATCHPLAN_CACHE_DIR` moves the cache (`off` disables it); by default it is the platform's user
cache directory. Any failure to read or write the cache is silent: the table is parsed as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.pricing import PriceTable, TableHead

_FORMAT = b"batchplan-table-cache/1"
_fingerprint: bytes | None = None


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
    """What a cached table depends on besides its file: the schema's source and pydantic's version."""
    global _fingerprint
    if _fingerprint is None:
        import pydantic

        from planner import matching, pricing

        h = hashlib.sha256(_FORMAT)
        for module in (pricing, matching):
            h.update(Path(module.__file__ or "").read_bytes())
        h.update(pydantic.VERSION.encode())
        _fingerprint = h.digest()
    return _fingerprint


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


def load(cache_key: str) -> PriceTable | None:
    """The validated table stored under `cache_key`, or None (missing, unreadable, stale or refused)."""
    directory = cache_dir()
    if directory is None or not _usable(directory):
        return None
    path = directory / f"{cache_key}.json"
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    from pydantic import ValidationError

    from planner.pricing import CachedTable

    try:
        entry = CachedTable.model_validate_json(raw)
    except (ValidationError, ValueError):
        return None
    return entry.table if entry.key == cache_key else None


def load_head(cache_key: str) -> TableHead | None:
    """The stored head (provider, grammar, priority) of the table under `cache_key`, or None."""
    directory = cache_dir()
    if directory is None or not _usable(directory):
        return None
    try:
        raw = (directory / f"{cache_key}.head.json").read_bytes()
    except OSError:
        return None
    from pydantic import ValidationError

    from planner.pricing import CachedHead

    try:
        entry = CachedHead.model_validate_json(raw)
    except (ValidationError, ValueError):
        return None
    return entry.head if entry.key == cache_key else None


def store(cache_key: str, table: PriceTable) -> None:
    """Write the table and its head under `cache_key` atomically (temp files renamed into place), 0600."""
    directory = cache_dir()
    if directory is None:
        return
    from planner.pricing import CachedTable, TableHead

    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _usable(directory):
            return
        _write(directory, f"{cache_key}.json", CachedTable(key=cache_key, table=table).model_dump_json())
    except OSError:
        return
    store_head(cache_key, TableHead.of(table))


def store_head(cache_key: str, head: TableHead) -> None:
    directory = cache_dir()
    if directory is None:
        return
    from planner.pricing import CachedHead

    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if _usable(directory):
            _write(directory, f"{cache_key}.head.json", CachedHead(key=cache_key, head=head).model_dump_json())
    except OSError:
        return


def _write(directory: Path, name: str, body: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".table-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body.encode("utf-8"))
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
