"""The user's own batch history: import vendor batch objects, learn observed turnaround from them.

Store: an embedded SQLite file at `$BATCHPLAN_HOME/history.sqlite3` (default: the platform's user
data directory, e.g. `~/.local/share/batchplan` on Linux). Import reads the objects the vendors
return, as JSON (one object, a list, or a `{"data": [...]}` list page) or JSONL:

* OpenAI (and Azure OpenAI) batch objects: `{"object": "batch", "id", "status", "created_at",
  "completed_at", "request_counts": {"total", "completed", "failed"}, "model"?, ...}`;
* Anthropic message batches: `{"type": "message_batch", "id", "processing_status", "created_at",
  "ended_at", "request_counts": {"processing", "succeeded", "errored", "canceled", "expired"}}`.

One transaction per file: every good object goes in, bad or foreign ones are reported and skipped,
never half-imported. An id already stored with the same content is not counted twice; a batch stored
while still running is updated by its later state; any other difference is a conflict, reported and not
stored. Several importers may run at once: each waits for the store's write lock (BEGIN IMMEDIATE with
a busy timeout) instead of failing with "database is locked".

The schema is versioned (`PRAGMA user_version`, see MIGRATIONS): a writer brings an older store up to
date, step by step. A reader opens any store read-only and never creates a table (an older store is read
as it is), so that reading history (`history show`, an estimate learning from it) writes nothing and works
on a store it may not write. History is optional to an estimate: its reads (`observed_for`,
`observed_outputs`, `input_calibration`) turn an unusable store (locked, corrupt, tampered, newer) into
None and one note on stderr, never an error. What is learned is bounded: rows past MAX_LEARNED_TOKENS are
left out, outlier batches are named and left out, and `forget` removes one batch.

Objects are checked strictly: timestamps are integers (or ISO date-times for Anthropic) between 2000
and 3000, counts are integers of 0 to 10^15 whose parts add up, and a file is at most
HISTORY_MAX_BYTES (a UTF-8 byte-order mark is allowed).
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    model_validator,
)

from planner.core import notes
from planner.core.errors import BatchplanError, InputError
from planner.core.jsonsafe import loads_bounded
from planner.io.inputs import open_input
from planner.store.config import home, usable_home

T = TypeVar("T")

DB_NAME = "history.sqlite3"
#: Fewest completed batches before observed figures replace the published ones.
MIN_OBSERVATIONS = 3
#: A past batch is "the same size" as a planned file when its request count is within this factor.
SIZE_FACTOR = 4.0
#: Largest file `history import` reads (about 60,000 batch objects): memory stays bounded on any input.
HISTORY_MAX_BYTES = 64 * 1024 * 1024
#: How long a statement waits inside SQLite for another writer (reads, the schema), in seconds.
BUSY_TIMEOUT_S = 30.0
#: How long an import waits, in all, for another one's write lock before giving up, in seconds; it asks
#: in slices of LOCK_SLICE_S so that it can say it is waiting.
LOCK_WAIT_S = 300.0
LOCK_SLICE_S = 0.5
#: Plausible batch times: unix seconds from 2000-01-01 to 3000-01-01 (a 1970 date is a tampered object).
MIN_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(3000, 1, 1, tzinfo=UTC)
MAX_COUNT = 10**15
#: States in which a batch may still change: a later import of it replaces the stored row.
RUNNING = {"validating", "in_progress", "finalizing", "cancelling", "canceling"}

_BATCHES = """
CREATE TABLE IF NOT EXISTS batches (
    provider TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    model TEXT,
    endpoint TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ended_at TEXT,
    hours REAL,
    requests INTEGER NOT NULL,
    succeeded INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    expired INTEGER NOT NULL,
    completed INTEGER NOT NULL,
    source_file TEXT,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (provider, id)
)
"""

_RECONCILED = """
CREATE TABLE IF NOT EXISTS reconciled (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    tokenizer TEXT,
    exact_estimate INTEGER NOT NULL,
    as_of TEXT NOT NULL,
    requests INTEGER NOT NULL,
    succeeded INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    input_estimated INTEGER,
    input_actual INTEGER NOT NULL,
    output_estimated INTEGER,
    output_actual INTEGER NOT NULL,
    cost_estimated TEXT,
    cost_actual TEXT NOT NULL,
    source TEXT,
    imported_at TEXT NOT NULL
)
"""

_RECONCILED_REQUESTS = """
CREATE TABLE IF NOT EXISTS reconciled_requests (
    key TEXT NOT NULL REFERENCES reconciled(key),
    custom_id TEXT NOT NULL,
    succeeded INTEGER NOT NULL,
    input_estimated INTEGER,
    input_actual INTEGER NOT NULL,
    output_actual INTEGER NOT NULL,
    PRIMARY KEY (key, custom_id)
)
"""


def db_path() -> Path:
    return home() / DB_NAME


# ---------------------------------------------------------------------------------------------
# The schema: numbered migrations, recorded in PRAGMA user_version


def _m001_release_0_1_0(conn: sqlite3.Connection) -> None:
    """The tables batchplan 0.1.0 created on every open. IF NOT EXISTS: a store that release wrote has
    some or all of them already, and keeps them (and its rows) unchanged; this step only stamps it."""
    for statement in (_BATCHES, _RECONCILED, _RECONCILED_REQUESTS):
        conn.execute(statement)


#: The store's schema, one step per version: step N takes a store at version N - 1 to version N, in
#: the transaction that stamps it (`PRAGMA user_version = N`). Append steps; never edit a released one,
#: as stores in the field were built by it.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_m001_release_0_1_0,)
SCHEMA_VERSION = len(MIGRATIONS)


def _version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def _migrate(conn: sqlite3.Connection, on_wait: Callable[[], None] | None = None) -> None:
    """Apply the steps this store lacks, each in its own write transaction with its version stamp, so that
    an interrupted upgrade resumes where it stopped and two batchplans upgrading at once apply each step
    once (the second sees the stamp under the lock and skips it)."""
    for number, step in enumerate(MIGRATIONS, 1):
        if _version(conn) >= number:
            continue
        with _transaction(conn, on_wait, refusal="the history store was not upgraded"):
            if _version(conn) < number:
                step(conn)
                conn.execute(f"PRAGMA user_version = {number}")


def _check_file(path: Path) -> bool:
    """Whether the store exists (and is a regular file: a directory there is an error, not "no history")."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise InputError(f"the history store cannot be opened: {exc.strerror or exc}", path=path) from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError("the history store is not a regular file", path=path)
    return True


def _check_version(conn: sqlite3.Connection, path: Path) -> int:
    """The store's schema version; one written by a newer batchplan is refused rather than misread."""
    version = _version(conn)
    if version > SCHEMA_VERSION:
        raise InputError(f"the history store was written by a newer batchplan (schema version {version}; this "
                         f"one reads up to {SCHEMA_VERSION}): upgrade batchplan (or pass --no-history)", path=path)
    return version


@contextmanager
def _closed_on_error(conn: sqlite3.Connection, path: Path) -> Iterator[None]:
    """Close the connection when opening fails (a database error is said as the store's)."""
    try:
        yield
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise InputError(f"the history store cannot be opened: {exc}", path=path) from None
        raise


def _open_writer(on_wait: Callable[[], None] | None = None) -> sqlite3.Connection:
    """The store for writing, created (with the data directory) when absent and brought to SCHEMA_VERSION.
    Autocommit: writers take the lock themselves (`_begin`); statements wait up to BUSY_TIMEOUT_S."""
    path = db_path()
    if not _check_file(path):
        usable_home()
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise InputError(f"the history store cannot be opened: {exc}", path=path) from None
    with _closed_on_error(conn, path):
        _check_version(conn, path)
        _migrate(conn, on_wait)
    return conn


def _open_reader(timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection | None:
    """The store for reading, or None when there is none. Always read-only (`mode=ro`): reading writes
    nothing, never creates a table, and works on a read-only file. A store of an older schema is read as it
    is (every version so far has the tables readers ask for; a missing one reads as empty)."""
    path = db_path()
    if not _check_file(path):
        return None
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=timeout,
                               isolation_level=None)
    except sqlite3.Error as exc:
        raise InputError(f"the history store cannot be opened: {exc}", path=path) from None
    with _closed_on_error(conn, path):
        _check_version(conn, path)
    return conn


#: How long a reader that history is optional to (an estimate) waits for a store another program holds
#: locked, in seconds, before going on without history.
OPTIONAL_READ_TIMEOUT_S = 2.0
_optional = False  # set while an estimate reads history (see `optional_history`)
_said: set[str] = set()
_unusable: dict[str, tuple[int, ...]] = {}  # stores an optional read found unusable, as they were then


def _file_state(path: str) -> tuple[int, ...]:
    """What tells a changed file (or its journal) from the one found unusable before."""
    parts: list[int] = []
    for name in (path, path + "-journal", path + "-wal"):
        try:
            st = os.stat(name)
        except OSError:
            parts.extend((0, 0, 0))
            continue
        parts.extend((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(parts)


def _say(message: str) -> None:
    if message in _said:
        return
    _said.add(message)
    notes.note(message)


def _degrade(read: Callable[[], T], empty: T) -> T:
    """Read history as an estimate does: optional, so a missing, unreadable, locked, corrupt or newer store
    is `empty` plus one note on stderr, never an error."""
    global _optional
    try:
        where = str(db_path())
    except (BatchplanError, OSError) as exc:  # no home directory to keep a store in: no history
        _say(f"history not used: {exc}")
        return empty
    state = _file_state(where)
    if _unusable.get(where) == state:  # said once; later reads go without it at once, until the file changes
        return empty
    _optional = True
    try:
        return read()
    except (BatchplanError, sqlite3.Error, ValidationError, OSError) as exc:
        reason = exc.message if isinstance(exc, BatchplanError) else str(exc)
        first = reason.splitlines()[0] if reason else "unreadable"
        skip = "" if "--no-history" in first else "; --no-history skips it"
        _unusable[where] = state
        _say(f"history not used: {first} ({where}){skip}")
        return empty
    finally:
        _optional = False


def _reading() -> sqlite3.Connection | None:
    """A reader: it waits briefly for a locked store when history is optional (an estimate)."""
    return _open_reader(OPTIONAL_READ_TIMEOUT_S if _optional else BUSY_TIMEOUT_S)


def _missing_table(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc)


@contextmanager
def _transaction(conn: sqlite3.Connection, on_wait: Callable[[], None] | None = None,
                 refusal: str = "nothing imported") -> Iterator[None]:
    """One write transaction on the store (which is in autocommit, so the transaction is explicit): the
    lock taken by `_begin`, committed when the block ends, rolled back on any error or interruption."""
    _begin(conn, on_wait, refusal)
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _begin(conn: sqlite3.Connection, on_wait: Callable[[], None] | None = None,
           refusal: str = "nothing imported") -> None:
    """Take the store's write lock now (BEGIN IMMEDIATE: a deferred transaction that reads first can be
    refused outright when two writers meet), waiting for other writers up to LOCK_WAIT_S; `on_wait` is
    called once, when the lock is found taken, so that the CLI can say why it pauses."""
    conn.execute(f"PRAGMA busy_timeout = {int(LOCK_SLICE_S * 1000)}")
    start = time.monotonic()
    told = False
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() - start > LOCK_WAIT_S:
                raise InputError(
                    f"{refusal}: the history store stayed locked by another batchplan for "
                    f"{LOCK_WAIT_S:.0f} s; try again", path=db_path()) from None
            if on_wait is not None and not told:
                on_wait()
                told = True
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")


# ---------------------------------------------------------------------------------------------
# Parsing vendor objects


class Observed(BaseModel):
    """Per-batch turnaround measured from the user's own history (planner.plan.turnaround reads it)."""

    model_config = ConfigDict(frozen=True)

    provider: str
    model: str | None
    batches: int = Field(ge=1)
    p50_hours: float
    p90_hours: float
    max_hours: float
    expired: int = 0
    min_requests: int
    max_requests: int
    source: str


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
#: unix seconds, an integer (`true` or `1.5` is not a time), 2000-01-01 to 3000-01-01
Timestamp = Annotated[StrictInt, Field(ge=int(MIN_TIME.timestamp()), lt=int(MAX_TIME.timestamp()))]
Name = Annotated[str, Field(min_length=1, max_length=512)]


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an ISO date-time string")
    return value


def _plausible(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        inside = MIN_TIME <= aware < MAX_TIME
    except OverflowError:  # pragma: no cover - an offset pushing year 1 below datetime.min
        inside = False
    if not inside:
        raise ValueError("must be a date-time from 2000 to 2999")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_plausible)]


class _OpenAICounts(_Loose):
    total: Count
    completed: Count
    failed: Count

    @model_validator(mode="after")
    def _parts_fit(self) -> _OpenAICounts:
        if self.completed + self.failed > self.total:
            raise ValueError(f"completed + failed ({self.completed + self.failed:,}) exceed total ({self.total:,})")
        return self


class _OpenAIBatch(_Loose):
    id: Name
    object: str
    status: str
    created_at: Timestamp
    endpoint: Name | None = None
    model: Name | None = None
    completed_at: Timestamp | None = None
    expired_at: Timestamp | None = None
    failed_at: Timestamp | None = None
    cancelled_at: Timestamp | None = None
    request_counts: _OpenAICounts | None = None


class _AnthropicCounts(_Loose):
    processing: Count
    succeeded: Count
    errored: Count
    canceled: Count
    expired: Count


class _AnthropicBatch(_Loose):
    id: Name
    type: str
    processing_status: str
    created_at: IsoTime
    ended_at: IsoTime | None = None
    request_counts: _AnthropicCounts


OPENAI_STATUSES = {"validating", "failed", "in_progress", "finalizing", "completed", "expired",
                   "cancelling", "cancelled"}
ANTHROPIC_STATUSES = {"in_progress", "canceling", "ended"}


class Record(BaseModel):
    """One past batch, normalised across vendors."""

    model_config = ConfigDict(frozen=True)

    provider: str
    id: str
    kind: str
    model: str | None
    endpoint: str | None
    status: str
    created_at: datetime
    ended_at: datetime | None
    hours: float | None = Field(ge=0, allow_inf_nan=False)
    requests: int = Field(ge=0, le=MAX_COUNT)
    succeeded: int = Field(ge=0, le=MAX_COUNT)
    failed: int = Field(ge=0, le=MAX_COUNT)
    expired: int = Field(ge=0, le=MAX_COUNT)
    completed: bool


def _ts(value: int) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def parse_object(obj: Any, *, provider: str | None = None, model: str | None = None) -> Record:
    """Normalise one vendor batch object; raises ValueError with a one-line reason for bad or foreign ones."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if obj.get("object") == "batch":
        return _openai_record(obj, provider, model)
    if obj.get("type") == "message_batch":
        return _anthropic_record(obj, provider, model)
    kind = obj.get("object") or obj.get("type")
    what = f" (object/type '{kind}')" if kind else ""
    raise ValueError(f"not an OpenAI batch or Anthropic message batch object{what}")


def _openai_record(obj: dict[str, Any], provider: str | None, model: str | None) -> Record:
    try:
        b = _OpenAIBatch.model_validate(obj)
    except ValidationError as exc:
        raise ValueError(f"bad OpenAI batch object: {_first_error(exc)}") from None
    if b.status not in OPENAI_STATUSES:
        raise ValueError(f"bad OpenAI batch object: unknown status '{b.status}'")
    counts = b.request_counts or _OpenAICounts(total=0, completed=0, failed=0)
    created = _ts(b.created_at)
    end_ts = b.completed_at or b.expired_at or b.failed_at or b.cancelled_at
    ended = _ts(end_ts) if end_ts else None
    if ended is not None and ended < created:
        raise ValueError("bad OpenAI batch object: it ends before it was created")
    expired = counts.total - counts.completed - counts.failed if b.status == "expired" else 0
    return Record(
        provider=provider or "openai", id=b.id, kind="openai", model=model or b.model, endpoint=b.endpoint,
        status=b.status, created_at=created, ended_at=ended,
        hours=(ended - created).total_seconds() / 3600 if ended else None,
        requests=counts.total, succeeded=counts.completed, failed=counts.failed, expired=max(expired, 0),
        completed=b.status == "completed" and b.completed_at is not None,
    )


def _anthropic_record(obj: dict[str, Any], provider: str | None, model: str | None) -> Record:
    """An Anthropic message batch; it names no model, so `model` is what the user said it ran on."""
    try:
        a = _AnthropicBatch.model_validate(obj)
    except ValidationError as exc:
        raise ValueError(f"bad Anthropic message batch: {_first_error(exc)}") from None
    if a.processing_status not in ANTHROPIC_STATUSES:
        raise ValueError(f"bad Anthropic message batch: unknown processing_status '{a.processing_status}'")
    c = a.request_counts
    created = a.created_at if a.created_at.tzinfo else a.created_at.replace(tzinfo=UTC)
    ended = a.ended_at
    if ended is not None and ended.tzinfo is None:
        ended = ended.replace(tzinfo=UTC)
    if ended is not None and ended < created:
        raise ValueError("bad Anthropic message batch: it ends before it was created")
    total = c.processing + c.succeeded + c.errored + c.canceled + c.expired
    done = a.processing_status == "ended" and ended is not None and c.expired == 0 and c.canceled == 0
    return Record(
        provider=provider or "anthropic", id=a.id, kind="anthropic", model=model, endpoint=None,
        status="expired" if c.expired else a.processing_status, created_at=created, ended_at=ended,
        hours=(ended - created).total_seconds() / 3600 if ended else None,
        requests=total, succeeded=c.succeeded, failed=c.errored, expired=c.expired, completed=done,
    )


def _read(path: Path) -> str:
    """The file's text (a leading UTF-8 byte-order mark dropped), read once through the one way in (`-`
    is standard input, a FIFO is a stream), at most HISTORY_MAX_BYTES of it."""
    with open_input(str(path), "file of batch objects") as src:
        data = src.read(HISTORY_MAX_BYTES + 1)
    if len(data) > HISTORY_MAX_BYTES:
        raise InputError(f"over {HISTORY_MAX_BYTES // (1024 * 1024)} MiB, batchplan's cap for one history file: "
                         "split it (JSONL can be cut at any line)", path=src.name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start:,})", path=src.name) from None


def _parse(text: str) -> Any:
    try:
        return loads_bounded(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _objects(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, object-or-error) from a JSON or JSONL file; a JSONL line that is not JSON yields an error.
    Lines end at \n only: U+2028, U+2029 or U+0085 inside a JSON string is part of the string."""
    text = _read(path)
    name = "<stdin>" if str(path) == "-" else str(path)
    try:
        doc = _parse(text)
    except ValueError:
        pass
    else:
        yield from json_items(name, doc)
        return
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = _parse(line)
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            yield f"{name}:{number}", ValueError(f"not JSON: {reason}")
            continue
        yield from json_items(f"{name}:{number}", obj)


def json_items(where: str, doc: Any) -> Iterator[tuple[str, Any]]:
    """The objects of one JSON value: itself, or the items of a list or a `{"data": [...]}` list page."""
    if isinstance(doc, dict) and isinstance(doc.get("data"), list) and "id" not in doc:
        doc = doc["data"]
    if isinstance(doc, list):
        for i, item in enumerate(doc, 1):
            yield f"{where}: item {i}", item
    else:
        yield where, doc


class Skipped(BaseModel):
    where: str
    reason: str


class Conflict(BaseModel):
    """An object whose id is stored already with other content: kept as stored, reported."""

    where: str
    id: str
    fields: list[str]


class ImportReport(BaseModel):
    file: str
    added: int = 0
    updated: int = 0
    duplicates: int = 0
    conflicts: list[Conflict] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)


#: The stored columns that describe a batch (what a re-import is compared on), in table order.
_CONTENT = ("kind", "model", "endpoint", "status", "created_at", "ended_at", "hours", "requests", "succeeded",
            "failed", "expired", "completed")


def _row(r: Record) -> tuple[Any, ...]:
    return (r.kind, r.model, r.endpoint, r.status, r.created_at.isoformat(),
            r.ended_at.isoformat() if r.ended_at else None, r.hours, r.requests, r.succeeded, r.failed, r.expired,
            int(r.completed))


def _parsed(path: Path, provider: str | None, model: str | None, report: ImportReport) -> list[tuple[str, Record]]:
    """The file's good objects as (where, record); the bad and foreign ones go to `report.skipped`."""
    parsed: list[tuple[str, Record]] = []
    for where, obj in _objects(path):
        if isinstance(obj, ValueError):
            report.skipped.append(Skipped(where=where, reason=str(obj)))
            continue
        try:
            parsed.append((where, parse_object(obj, provider=provider, model=model)))
        except ValueError as exc:
            report.skipped.append(Skipped(where=where, reason=str(exc)))
    return parsed


def _store(conn: sqlite3.Connection, where: str, r: Record, source: tuple[str, str], report: ImportReport) -> None:
    """Add one record (source: the file and the import time), or count it as a duplicate, or let it replace
    the row of the same batch stored while it ran, or report it as a conflict."""
    new = _row(r)
    cur = conn.execute("INSERT OR IGNORE INTO batches VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (r.provider, r.id, *new, *source))
    if cur.rowcount:
        report.added += 1
        return
    stored = conn.execute(
        f"SELECT {', '.join(_CONTENT)} FROM batches WHERE provider = ? AND id = ?", (r.provider, r.id)
    ).fetchone()
    differ = [name for name, a, b in zip(_CONTENT, stored, new, strict=True) if a != b]
    if not differ:
        report.duplicates += 1
    elif stored[3] in RUNNING and stored[0] == new[0] and stored[4] == new[4]:
        # the same batch, stored while it ran: its later state replaces the row
        conn.execute(
            f"UPDATE batches SET {', '.join(f'{c} = ?' for c in _CONTENT)}, source_file = ?, "
            "imported_at = ? WHERE provider = ? AND id = ?",
            (*new, *source, r.provider, r.id),
        )
        report.updated += 1
    else:
        report.conflicts.append(Conflict(where=where, id=r.id, fields=differ))


def import_file(
    path: str | Path,
    *,
    provider: str | None = None,
    model: str | None = None,
    on_wait: Callable[[], None] | None = None,
) -> ImportReport:
    """Import one file of batch objects in one transaction; bad ones are reported in the report, not stored.
    Another importer holding the store is waited for (`on_wait` is called when that happens)."""
    path = Path(path)
    report = ImportReport(file="<stdin>" if str(path) == "-" else str(path))
    parsed = _parsed(path, provider, model, report)
    conn = _open_writer(on_wait)
    source = (report.file, datetime.now(UTC).isoformat())
    try:
        with _transaction(conn, on_wait):  # all good objects, or (on any database error) none
            for where, r in parsed:
                _store(conn, where, r, source, report)
    except sqlite3.Error as exc:
        raise InputError(f"nothing imported: the history store failed: {exc}", path=db_path()) from None
    finally:
        conn.close()
    return report


# ---------------------------------------------------------------------------------------------
# Reading


def records() -> list[Record]:
    rows = _select(
        "SELECT provider, id, kind, model, endpoint, status, created_at, ended_at, hours, requests, "
        "succeeded, failed, expired, completed FROM batches ORDER BY created_at", ())
    keys = ("provider", "id", "kind", "model", "endpoint", "status", "created_at", "ended_at", "hours",
            "requests", "succeeded", "failed", "expired", "completed")
    out = []
    for row in rows:
        try:
            out.append(Record.model_validate(dict(zip(keys, row, strict=True))))
        except ValidationError as exc:
            name = "/".join(str(part) for part in row[:2])
            raise InputError(
                f"the history store was changed outside batchplan: row '{name}' has {_first_error(exc)}; "
                "delete that row or the file (or pass --no-history)", path=db_path()) from None
    return out


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of a non-empty sample (q in 0..1)."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _model_matches(stored: str | None, names: Sequence[str]) -> bool:
    if stored is None:
        return False
    s = stored.lower()
    return any(s == n.lower() or s.startswith(n.lower() + "-") for n in names)


def _observed(rows: list[Record], provider: str, model: str | None, what: str) -> Observed | None:
    done = [r for r in rows if r.completed and r.hours is not None]
    if len(done) < MIN_OBSERVATIONS:
        return None
    hours = [r.hours for r in done if r.hours is not None]
    sizes = [r.requests for r in done]
    return Observed(
        provider=provider, model=model, batches=len(done),
        p50_hours=round(quantile(hours, 0.5), 3), p90_hours=round(quantile(hours, 0.9), 3),
        max_hours=round(max(hours), 3), expired=sum(1 for r in rows if r.status == "expired"),
        min_requests=min(sizes), max_requests=max(sizes),
        source=f"your history: {len(done)} completed {what} batch(es) of {min(sizes):,}–{max(sizes):,} requests",
    )


def observed_for(provider: str, model_names: Sequence[str], requests_per_file: int | None) -> Observed | None:
    """Observed per-batch p50/p90 for this vendor, model and size, or None when history is too thin (or
    cannot be read: history is optional to an estimate, so that is a note, never an error).

    Tries, in order: same model and size; same model; same vendor and size (only batches whose model
    is unknown, as Anthropic objects carry none). Each needs MIN_OBSERVATIONS completed batches.
    """
    return _degrade(lambda: _observed_for(provider, model_names, requests_per_file), None)


def _observed_for(provider: str, model_names: Sequence[str], requests_per_file: int | None) -> Observed | None:
    rows = [r for r in records() if r.provider == provider]
    if not rows:
        return None

    def sized(rs: list[Record]) -> list[Record]:
        if not requests_per_file:
            return rs
        return [r for r in rs if requests_per_file / SIZE_FACTOR <= r.requests <= requests_per_file * SIZE_FACTOR]

    same_model = [r for r in rows if _model_matches(r.model, model_names)]
    name = model_names[0] if model_names else None
    unknown_model = [r for r in rows if r.model is None]
    for candidates, model, what in (
        (sized(same_model), name, f"{provider}/{name} similar-size"),
        (same_model, name, f"{provider}/{name}"),
        (sized(unknown_model), None, f"{provider} similar-size"),
    ):
        found = _observed(candidates, provider, model, what)
        if found is not None:
            return found
    return None


class Summary(BaseModel):
    provider: str
    model: str | None
    batches: int
    completed: int
    expired: int
    requests: int
    p50_hours: float | None
    p90_hours: float | None
    max_hours: float | None
    first: datetime
    last: datetime


def summary() -> list[Summary]:
    """Per vendor and model: how many batches, how many expired, and the observed turnaround."""
    groups: dict[tuple[str, str | None], list[Record]] = {}
    for r in records():
        groups.setdefault((r.provider, r.model), []).append(r)
    out = []
    for (provider, model), rows in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        hours = [r.hours for r in rows if r.completed and r.hours is not None]
        out.append(Summary(
            provider=provider, model=model, batches=len(rows), completed=len(hours),
            expired=sum(1 for r in rows if r.status == "expired"), requests=sum(r.requests for r in rows),
            p50_hours=round(quantile(hours, 0.5), 3) if hours else None,
            p90_hours=round(quantile(hours, 0.9), 3) if hours else None,
            max_hours=round(max(hours), 3) if hours else None,
            first=min(r.created_at for r in rows), last=max(r.created_at for r in rows),
        ))
    return out


# ---------------------------------------------------------------------------------------------
# Reconciled batches (`batchplan reconcile`): what was billed per request, to learn from


#: Fewest reconciled requests of a model before later estimates use their outputs or input ratio.
MIN_RECONCILED_REQUESTS = 30

class StoredReconciliation(BaseModel):
    """Whether `record_reconciliation` added the batch (False: it was stored before, nothing changed, or it
    was not stored at all: `refused` says why)."""

    key: str
    added: bool
    requests: int
    store: str
    refused: str | None = None


def _insert_reconciliation(conn: sqlite3.Connection, outcome: Any, now: str) -> bool:
    """Insert the batch and its requests; False (nothing inserted) when its key is stored already."""
    report = outcome.report
    cur = conn.execute(
        "INSERT OR IGNORE INTO reconciled VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (report.key, report.provider, report.resolved_model, outcome.tokenizer_key,
         int(outcome.exact_estimate), report.as_of.isoformat(), report.requests.results,
         report.requests.succeeded, report.requests.failed, report.input_tokens.estimated,
         report.input_tokens.actual, report.output_tokens.estimated, report.output_tokens.actual,
         report.cost_usd.estimated, report.cost_usd.actual, ", ".join(report.results), now),
    )
    if not cur.rowcount:
        return False
    conn.executemany(
        "INSERT OR IGNORE INTO reconciled_requests VALUES (?,?,?,?,?,?)",
        [(report.key, p.custom_id, int(p.succeeded), p.estimated_input, p.actual_input, p.actual_output)
         for p in outcome.pairs],
    )
    return True


def record_reconciliation(outcome: Any) -> StoredReconciliation:
    """Store one reconciled batch (a `planner.batch.reconcile.Outcome`) and its per-request usage, in one
    transaction; a batch already stored (same key) is left as it is. A batch whose comparison reconcile
    questions (`outcome.questioned`: its input probably is not the one the results came from) is not stored:
    what later estimates learn must not rest on it."""
    if getattr(outcome, "questioned", None):
        return StoredReconciliation(key=outcome.report.key, added=False, requests=len(outcome.pairs),
                                    store=str(db_path()), refused=outcome.questioned)
    conn = _open_writer()
    try:
        with _transaction(conn, refusal="nothing stored"):
            added = _insert_reconciliation(conn, outcome, datetime.now(UTC).isoformat())
    except sqlite3.DatabaseError as exc:
        raise InputError(f"nothing stored: the history store failed: {exc}", path=db_path()) from None
    finally:
        conn.close()
    return StoredReconciliation(key=outcome.report.key, added=added, requests=len(outcome.pairs),
                                store=str(db_path()))


class Forgotten(BaseModel):
    """What `forget` removed: imported batch objects and reconciled batches (with their requests)."""

    batch: str
    imported: int
    reconciled: int
    requests: int
    store: str


def forget(batch: str) -> Forgotten:
    """Remove one batch from the store: the imported batch object of that id (any provider) and the
    reconciled batch of that key (or of the vendor batch id its key names), in one transaction. Nothing
    found is an InputError; later estimates stop learning from what was removed."""
    if not batch.strip() or len(batch) > 512:
        raise InputError("name the batch to forget: its vendor id (batch_…, msgbatch_…) or the key `batchplan "
                         "reconcile --json` printed")
    if not _check_file(db_path()):
        raise InputError(f"no batch '{batch}' in your history (there is no history store yet)", path=db_path())
    conn = _open_writer()
    try:
        with _transaction(conn, refusal="nothing removed"):
            keys = [k for (k,) in conn.execute("SELECT key FROM reconciled WHERE key = ? OR key = ?",
                                                 (batch, f"batch:{batch}"))]
            requests = sum(conn.execute("DELETE FROM reconciled_requests WHERE key = ?", (k,)).rowcount for k in keys)
            reconciled = sum(conn.execute("DELETE FROM reconciled WHERE key = ?", (k,)).rowcount for k in keys)
            imported = conn.execute("DELETE FROM batches WHERE id = ?", (batch,)).rowcount
    except sqlite3.DatabaseError as exc:
        raise InputError(f"nothing removed: the history store failed: {exc}", path=db_path()) from None
    finally:
        conn.close()
    if not imported and not reconciled:
        raise InputError(f"no batch '{batch}' in your history (`batchplan history show --json` lists them)",
                         path=db_path())
    return Forgotten(batch=batch, imported=imported, reconciled=reconciled, requests=requests, store=str(db_path()))


class ObservedOutputs(BaseModel):
    """Output tokens per request that your reconciled batches of one model actually produced."""

    provider: str
    model: str
    batches: int
    requests: int
    mean: float
    p50: float
    p90: float
    max: int
    #: reconciled batches left out as outliers (their keys)
    excluded: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        left_out = (f"; left out as outliers: {', '.join(self.excluded)} (`batchplan history forget KEY` removes "
                    "one)") if self.excluded else ""
        return (f"{round(self.mean):,} output tokens per request (observed mean over {self.requests:,} requests of "
                f"{self.batches} reconciled {self.model} batch(es) in your history; p90 {self.p90:,.0f}{left_out}; "
                "--no-history to ignore)")


def _select(sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows of one query on the store opened read-only; none when there is no store (or no such table in an
    old one). A locked, corrupt or unreadable store is an InputError (`_degrade` turns it into a note)."""
    conn = _reading()
    if conn is None:
        return []
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.DatabaseError as exc:
        if _missing_table(exc):
            return []
        locked = "locked" in str(exc) or "busy" in str(exc)
        what = "is locked by another program" if locked else f"cannot be read: {exc}"
        raise InputError(f"the history store {what}", path=db_path()) from None
    finally:
        conn.close()


#: The most output tokens one stored request may claim and still be learned from (rows stored before
#: results were checked may hold more; they are left out, never believed).
MAX_LEARNED_TOKENS = 10**9
#: A reconciled batch whose per-request mean differs from the median of the other batches' means by more
#: than this factor (either way) is an outlier: named, and left out of what is learned.
OUTLIER_FACTOR = 5.0


def _outliers(per_batch: dict[str, list[float]]) -> list[str]:
    """The batches (keys) whose mean is OUTLIER_FACTOR or more away from the median of the others' means.
    Needs three batches or more: with fewer there is no "the others" to stand against."""
    if len(per_batch) < 3:
        return []
    means = {k: sum(v) / len(v) for k, v in per_batch.items() if v}
    out = []
    for key, mean in means.items():
        others = sorted(m for k, m in means.items() if k != key)
        mid = quantile(others, 0.5)
        if mid > 0 and (mean > mid * OUTLIER_FACTOR or mean * OUTLIER_FACTOR < mid):
            out.append(key)
    return sorted(out)


def _by_batch(rows: Sequence[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault(row[0], []).append(row)
    return groups


def observed_outputs(provider: str, model: str) -> ObservedOutputs | None:
    """The observed output distribution of this model's reconciled requests, or None below
    MIN_RECONCILED_REQUESTS (or when history cannot be read: a note, never an error). Requests over
    MAX_LEARNED_TOKENS and outlier batches (`_outliers`) are left out; the outliers are named."""
    return _degrade(lambda: _observed_outputs(provider, model), None)


def _observed_outputs(provider: str, model: str) -> ObservedOutputs | None:
    rows = _select(
        "SELECT r.key, q.output_actual FROM reconciled_requests q JOIN reconciled r ON r.key = q.key "
        "WHERE r.provider = ? AND r.model = ? AND q.succeeded = 1 AND q.output_actual BETWEEN 0 AND ?",
        (provider, model, MAX_LEARNED_TOKENS),
    )
    batches = _by_batch(rows)
    excluded = _outliers({k: [float(o) for _, o in rs] for k, rs in batches.items()})
    rows = [row for row in rows if row[0] not in excluded]
    if len(rows) < MIN_RECONCILED_REQUESTS:
        return None
    outs = [int(o) for _, o in rows]
    return ObservedOutputs(
        provider=provider, model=model, batches=len({k for k, _ in rows}), requests=len(outs),
        mean=sum(outs) / len(outs), p50=quantile(outs, 0.5), p90=quantile(outs, 0.9), max=max(outs),
        excluded=excluded,
    )


class ReconciledSummary(BaseModel):
    """Per vendor and model: the reconciled batches, and what they billed against what was estimated."""

    provider: str
    model: str
    batches: int
    requests: int
    succeeded: int
    input_estimated: int | None  # None when a batch was reconciled without an input file to count
    input_actual: int
    output_actual: int
    cost_estimated_usd: Decimal | None
    cost_actual_usd: Decimal


def reconciled_summary() -> list[ReconciledSummary]:
    """What `batchplan reconcile` stored, per vendor and model (the numbers later estimates learn from)."""
    rows = _select(
        "SELECT provider, model, requests, succeeded, input_estimated, input_actual, output_actual, "
        "cost_estimated, cost_actual FROM reconciled ORDER BY provider, model", ())
    groups: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault((row[0], row[1]), []).append(row)
    out = []
    for (provider, model), rs in groups.items():
        estimated = [r[4] for r in rs]
        costs = [r[7] for r in rs]
        out.append(ReconciledSummary(
            provider=provider, model=model, batches=len(rs), requests=sum(r[2] for r in rs),
            succeeded=sum(r[3] for r in rs),
            input_estimated=None if None in estimated else sum(estimated),
            input_actual=sum(r[5] for r in rs), output_actual=sum(r[6] for r in rs),
            cost_estimated_usd=None if None in costs else sum((Decimal(c) for c in costs), Decimal(0)),
            cost_actual_usd=sum((Decimal(r[8]) for r in rs), Decimal(0)),
        ))
    return out


class ReconciledBatch(BaseModel):
    """One stored reconciled batch: its key (what `history forget` takes) and what it was."""

    key: str
    provider: str
    model: str
    as_of: str
    requests: int
    source: str | None


def reconciled_batches() -> list[ReconciledBatch]:
    """Every stored reconciled batch, oldest first."""
    rows = _select("SELECT key, provider, model, as_of, requests, source FROM reconciled ORDER BY as_of, key", ())
    keys = ("key", "provider", "model", "as_of", "requests", "source")
    return [ReconciledBatch.model_validate(dict(zip(keys, row, strict=True))) for row in rows]


class InputCalibration(BaseModel):
    """Billed / estimated input tokens of this model's reconciled requests, for an approximate tokenizer:
    later estimates multiply their count by `factor`, with `band` its 95% relative half-width (at least 1%:
    a new job is never exactly like the old ones)."""

    provider: str
    model: str
    batches: int
    requests: int
    factor: float
    band: float
    excluded: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        left_out = f"; left out as outliers: {', '.join(self.excluded)}" if self.excluded else ""
        return (f"input tokens × {self.factor:.4f} (±{self.band:.1%}): billed ÷ estimated over {self.requests:,} "
                f"requests of {self.batches} reconciled {self.model} batch(es) in your history{left_out}; "
                "--no-history to ignore")


def input_calibration(provider: str, model: str, tokenizer: str) -> InputCalibration | None:
    """The ratio billed / estimated input over reconciled requests counted with this same (approximate)
    tokenizer definition, or None below MIN_RECONCILED_REQUESTS (or when history cannot be read: a note,
    never an error). Batches whose ratio is an outlier (`_outliers`) are left out and named."""
    return _degrade(lambda: _input_calibration(provider, model, tokenizer), None)


def _input_calibration(provider: str, model: str, tokenizer: str) -> InputCalibration | None:
    rows = _select(
        "SELECT r.key, q.input_estimated, q.input_actual FROM reconciled_requests q JOIN reconciled r "
        "ON r.key = q.key WHERE r.provider = ? AND r.model = ? AND r.tokenizer = ? AND r.exact_estimate = 0 "
        "AND q.succeeded = 1 AND q.input_estimated BETWEEN 1 AND ? AND q.input_actual BETWEEN 0 AND ?",
        (provider, model, tokenizer, MAX_LEARNED_TOKENS, MAX_LEARNED_TOKENS),
    )
    ratios = {k: [sum(float(a) for _, _, a in rs) / sum(float(e) for _, e, _ in rs)]
              for k, rs in _by_batch(rows).items()}
    excluded = _outliers(ratios)
    rows = [row for row in rows if row[0] not in excluded]
    if len(rows) < MIN_RECONCILED_REQUESTS:
        return None
    est = [float(e) for _, e, _ in rows]
    act = [float(a) for _, _, a in rows]
    factor = sum(act) / sum(est)
    n = len(rows)
    resid = [a - factor * e for e, a in zip(est, act, strict=True)]
    mean_est = sum(est) / n
    se = (sum(r * r for r in resid) / (n - 1) / n) ** 0.5 / mean_est
    return InputCalibration(provider=provider, model=model, batches=len({k for k, _, _ in rows}), requests=n,
                            factor=factor, band=min(1.0, max(0.01, 1.96 * se / factor)), excluded=excluded)
