"""One way in for every file a user hands us: opened once, read once, every line bounded.

    from planner.io.inputs import open_input

    with open_input("data.jsonl.gz", kind="dataset file") as src:   # "-" is standard input
        first = src.peek_line()        # look at line 1 without consuming it (format detection)
        for line in src:               # bytes lines, newline kept, each at most src.max_line bytes
            ...                        # src.line is the number of the line just returned
        # or block reads: src.read(1 << 19), then src.readline() to finish the last line

Why every reader goes through here:
- **Read once.** A pipe, a FIFO, `<(cmd)` or standard input can be read only once, so nothing here
  reopens a path: `peek_line` keeps what it read and hands it out again (`unread` does the same for any
  bytes a caller wants to give back). A FIFO waits for its writer as `cat` would, and stays
  interruptible. `src.rereadable` says whether a second pass (`--sample`) is possible at all, and
  `src.path` is set only for a regular, uncompressed file that worker processes may `pread` by offset.
- **Bounded.** No line longer than `src.max_line` bytes is ever held in memory: a longer one is an
  `InputError` naming the file and the line, so `/dev/zero` or a 1 GiB single-line `.gz` fails on line 1
  instead of growing without end. The limit is `max_line_bytes()`: 64 MiB, or the environment variable
  `BATCHPLAN_MAX_LINE_BYTES` (a number of bytes, `K`/`M`/`G` suffixes allowed).
- **One-line errors.** Missing file, directory, permission denied, a symlink loop, standard input
  closed, a corrupt or truncated `.gz`, and a regular file that shrank while it was being read (the
  count would silently be partial): each is an `InputError` (`path:line: message`), never a traceback.

- **Small whole files** (a price table, the config, a cache entry, a manifest) are read with
  `read_small(path, kind, limit=…)`: once, at most `limit` bytes; with `regular=True` a FIFO, a device
  or a socket is refused at once (opened non-blocking, never read), for files that are ours to expect
  regular. `unreadable(exc, path, kind)` is the one OSError-to-one-line mapping every reader uses.
- **Names for descriptors** (`/dev/stdin`, `/dev/fd/N`, `/proc/self/fd/N`) are read as streams even
  when they lead to a regular file: a worker process reopening the name gets another file, or none.
- **What a command reads is remembered** (device and inode, so a symlink or hard link is the same
  file): planner.io.atomic never writes over it, `--force` or not. A command that knows its inputs
  before reading them declares them (`declare_inputs`) so the refusal comes before the work.

`open_input(path, kind)` takes any path (or `-`); `kind` ("dataset file", "price table", "batch
file", ...) only words the errors. `rereadable(path)` tells, without opening it, whether a second pass
over a path is possible at all (code that re-reads a dataset must ask first: a FIFO's open would wait
for a writer that has gone). `Input.text_lines()` decodes UTF-8 line by line, so a bad byte is
reported on the line it is on; `from_bytes(data, name)` reads bytes already in memory the same way.
For code written against `BinaryIO`: `readline(size)` and `read()` behave as there (no limit checked).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Literal

from planner.core.errors import BatchplanError, InputError, UsageError

DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_LINE_ENV = "BATCHPLAN_MAX_LINE_BYTES"
_SUFFIXES = {"": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
             "g": 1024**3, "gb": 1024**3, "gib": 1024**3}

Kind = Literal["file", "gzip", "stdin", "pipe", "fifo", "device"]


def max_line_bytes() -> int:
    """The longest line (or CSV record) any reader accepts: `BATCHPLAN_MAX_LINE_BYTES` or 64 MiB."""
    raw = os.environ.get(MAX_LINE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_LINE_BYTES
    number = raw.rstrip("kKmMgGiIbB")
    unit = raw[len(number):].lower()
    if not number.strip().isdigit() or unit not in _SUFFIXES or len(number) > 15:
        raise UsageError(f"{MAX_LINE_ENV}='{raw}' is not a size; use bytes, e.g. 67108864 or 64M")
    value = int(number) * _SUFFIXES[unit]
    if value < 1024:
        raise UsageError(f"{MAX_LINE_ENV}='{raw}' is too small; use at least 1K")
    return value


def describe_size(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def os_reason(exc: OSError) -> str:
    """Why a file could not be opened or read, in words (no errno number, no Python class name)."""
    code = exc.errno
    if code == errno.ENOENT:
        return "no such file"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop?)"
    if code == errno.EISDIR:
        return "is a directory"
    if code == errno.ENOTDIR:
        return "a part of the path is not a directory"
    if code == errno.ENAMETOOLONG:
        return "the file name is too long"
    if code == errno.ENXIO:
        return "no such device (a FIFO with no writer, or a socket?)"
    return (exc.strerror or str(exc) or type(exc).__name__).lower()


def unreadable(
    exc: OSError, path: str | Path, kind: str | None = None, *, error: type[BatchplanError] = InputError,
) -> BatchplanError:
    """The one-line error for a file that cannot be opened or read: every reader maps its OSError here
    (`raise unreadable(exc, path, "price table") from None`), so the same cause reads the same everywhere.
    `kind` words a missing file and a directory ("no such price table"); `error` is the class raised."""
    if kind and exc.errno == errno.ENOENT:
        return error(f"no such {kind}", path=path)
    if kind and exc.errno == errno.EISDIR:
        return error(f"is a directory, not a {kind}", path=path)
    return error(os_reason(exc), path=path)


def _gzip_message(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, EOFError):
        return "truncated gzip: the compressed data ends before its end-of-stream marker"
    if isinstance(exc, gzip.BadGzipFile) and "Not a gzipped file" in text:
        return "not a gzip file (the name ends in .gz)"
    return f"corrupt gzip data ({text})" if text else "corrupt gzip data"


class Input:
    """A user file opened once for reading bytes (see the module docstring)."""

    def __init__(
        self, raw: BinaryIO, *, name: str, kind: Kind, path: str | None, size: int | None, fd: int | None,
        max_line: int, owns: bool,
    ) -> None:
        self.name = name
        self.kind = kind
        self.path = path  # set only when another process may reopen and pread it (regular, uncompressed)
        self.size = size  # st_size at open (compressed size for .gz); None for streams
        self.max_line = max_line
        self.line = 0  # lines handed out by readline()/iteration so far (block reads do not count lines)
        self.offset = 0  # bytes handed out so far (decompressed)
        self._raw = raw
        self._fd = fd  # the underlying file's descriptor, for the end-of-file consistency check
        self._owns = owns
        self._pending = b""  # bytes given back (peek_line, unread): handed out before the stream's
        self._eof = False

    # --- what a caller may ask ------------------------------------------------------------------

    @property
    def rereadable(self) -> bool:
        """True when opening the path again gives the same bytes (a regular file, compressed or not)."""
        return self.kind in ("file", "gzip")

    def read(self, n: int = -1) -> bytes:
        """Up to `n` bytes (fewer only at the end); b"" at the end of the input. `n < 0` reads to the
        end, as `BinaryIO.read()` does: unbounded, so only for inputs known to be small."""
        if n < 0:
            parts = []
            while chunk := self.read(1 << 20):
                parts.append(chunk)
            return b"".join(parts)
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
            if len(data) < n and not self._pending:
                data += self._read_raw(n - len(data))
        else:
            data = self._read_raw(n)
        self.offset += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        """The next line with its newline (b"" at the end). A line longer than `max_line` is an error.
        With `size` (as `BinaryIO.readline(size)`): at most `size` bytes, no error; the caller checks."""
        if size >= 0:
            data = self.read_through_newline(size)
            self.line += bool(data)
            return data
        data = self.read_through_newline(self.max_line + 1)
        if len(data) > self.max_line and not data.endswith(b"\n"):
            self.too_long(self.line + 1)
        if data:
            self.line += 1
        return data

    def read_through_newline(self, limit: int) -> bytes:
        """Bytes up to and including the next newline, but at most `limit` of them (block readers finish
        their last line with this; `line` is not advanced and the caller checks the length)."""
        if self._pending:
            cut = self._pending.find(b"\n", 0, limit)
            if cut >= 0:
                data, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
            else:
                data, self._pending = self._pending[:limit], self._pending[limit:]
                if len(data) < limit and not self._pending:
                    data += self._readline_raw(limit - len(data))
        else:
            data = self._readline_raw(limit)
        self.offset += len(data)
        return data

    def peek_line(self) -> bytes:
        """Line 1 (bounded like any line), left in place for the next read."""
        if self.offset or self.line:
            raise RuntimeError("peek_line() only looks at the start of an input")
        first = self.readline()
        self.unread(first, lines=1 if first else 0)
        return first

    def unread(self, data: bytes, *, lines: int) -> None:
        """Give back `data` (the last bytes read, holding `lines` line ends) to be read again."""
        self._pending = data + self._pending
        self.offset -= len(data)
        self.line -= lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def text_lines(self) -> Iterator[str]:
        """Lines decoded as UTF-8 (a BOM on line 1 dropped); a bad byte is an error on its own line."""
        for data in self:
            if self.line == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError:
                what = "not UTF-8 text (is it a binary file?)" if self.line == 1 else "not valid UTF-8"
                raise InputError(what, path=self.name, line=self.line) from None

    def too_long(self, line: int) -> None:
        raise InputError(
            f"line is longer than {describe_size(self.max_line)}, the line limit (a runaway or binary input?); "
            f"set {MAX_LINE_ENV} to raise it",
            path=self.name,
            line=line,
        )

    def close(self) -> None:
        if self._owns:
            with contextlib.suppress(OSError, EOFError, zlib.error):
                self._raw.close()

    def __enter__(self) -> Input:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the stream underneath ------------------------------------------------------------------

    def _read_raw(self, n: int) -> bytes:
        if self._eof or n <= 0:
            return b""
        data = self._guarded(lambda: self._raw.read(n))
        if len(data) < n:
            self._at_end()
        return data

    def _readline_raw(self, limit: int) -> bytes:
        if self._eof:
            return b""
        data = self._guarded(lambda: self._raw.readline(limit))
        if not data or (not data.endswith(b"\n") and len(data) < limit):
            self._at_end()
        return data

    def _guarded(self, read: Callable[[], bytes]) -> bytes:
        try:
            data = read()
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            if self.kind == "gzip":
                raise InputError(_gzip_message(exc), path=self.name, line=self.line + 1) from None
            raise InputError(f"cannot read: {exc}", path=self.name, line=self.line + 1) from None
        except OSError as exc:
            raise InputError(f"cannot read: {os_reason(exc)}", path=self.name, line=self.line + 1) from None
        return data

    def _at_end(self) -> None:
        """The stream has ended: a regular file must not have shrunk under us (a partial count)."""
        self._eof = True
        self.check_unchanged()

    def check_unchanged(self, upto: int | None = None) -> None:
        """Raise if the regular file underneath is now shorter than when it was opened (or than `upto`
        bytes already read): it was truncated or rewritten while being read."""
        if self._fd is None or self.size is None:
            return
        try:
            now = os.fstat(self._fd).st_size
            position = os.lseek(self._fd, 0, os.SEEK_CUR) if upto is None else upto
        except OSError:
            return
        if now < self.size or position < self.size:
            raise InputError(
                f"the file changed while it was being read ({self.size:,} bytes when opened, {now:,} now); "
                "nothing was counted from a partial file",
                path=self.name,
            )


def rereadable(path: str) -> bool:
    """Whether `path` can be read a second time and give the same bytes: a regular file (or a directory
    dataset), not `-`, a pipe, `<(cmd)`, a FIFO or a device. Opens nothing (a FIFO's open would wait)."""
    if path == "-":
        return False
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)

# --- the files this command reads: the way out (planner.io.atomic) never replaces one -----------------

_READ: dict[tuple[int, int], str] = {}


def remember_input(st: os.stat_result, name: str) -> None:
    """Note a regular file this command reads (by device and inode: a symlink or a hard link to it is the
    same file), so that no output of the same command can replace it, `--force` or not."""
    if stat.S_ISREG(st.st_mode):
        _READ.setdefault((st.st_dev, st.st_ino), name)


def declare_inputs(paths: Iterable[str | os.PathLike[str] | None]) -> None:
    """Note files a command will read before it reads them, so a write can be refused before the work.
    Opens nothing (a FIFO's open would wait); a path that cannot be looked at is skipped."""
    for path in paths:
        if path is None or str(path) == "-":
            continue
        with contextlib.suppress(OSError, ValueError):
            remember_input(os.stat(path), str(path))


def read_by_this_command(path: str | os.PathLike[str]) -> str | None:
    """The name under which this command read (or will read) the file at `path`, else None. The name
    must still lead to that file: an inode freed (the input deleted) and given to a new file is not it."""
    key = identity(path)
    name = _READ.get(key) if key is not None else None
    return name if name is not None and identity(name) == key else None


def identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """The file a path leads to (device, inode), or None when it leads nowhere."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def forget_inputs() -> None:
    """A new command starts (one process may run several: tests, embedding)."""
    _READ.clear()


_DESCRIPTOR_DIRS = ("/dev/fd/", "/proc/")
_DESCRIPTOR_NAMES = ("/dev/stdin", "/dev/stdout", "/dev/stderr")


def names_a_descriptor(path: str) -> bool:
    """Whether `path` (or a symlink on the way to it) is /dev/stdin, /dev/fd/N, /proc/self/fd/N or the
    like: a name for a descriptor this process holds, which another process cannot reopen as the same file."""
    current = os.path.abspath(path)
    for _ in range(40):
        if current in _DESCRIPTOR_NAMES or current.startswith(_DESCRIPTOR_DIRS):
            return True
        try:
            target = os.readlink(current)
        except (OSError, ValueError):
            return False
        current = os.path.normpath(os.path.join(os.path.dirname(current), target))
    return False


def read_small(
    path: str | Path, kind: str, *, limit: int, regular: bool = False,
    error: type[BatchplanError] = InputError, ours: bool = False,
) -> bytes:
    """The whole of a small file (a price table, the config, a cache entry), read once and bounded: more
    than `limit` bytes is an error, not a read without end (`/dev/zero`). With `regular`, anything but a
    regular file is refused without waiting: a FIFO is opened non-blocking and never read. Every failure
    is one line naming the file (`error`, an InputError unless the caller says otherwise). A file of
    the user's is remembered as this command's input (never overwritten by it); one of ours (`ours`: a
    cache entry, which the command may then rewrite) is not."""
    flags = _READ_FLAGS | (getattr(os, "O_NONBLOCK", 0) if regular else 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise unreadable(exc, path, kind, error=error) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise error(f"is a directory, not a {kind}", path=path)
        if regular and not stat.S_ISREG(st.st_mode):
            raise error(f"is {file_type(st.st_mode)}, not a regular file; a {kind} must be one", path=path)
        if not ours:
            remember_input(st, str(path))
        parts: list[bytes] = []
        total = 0
        while total <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - total))):
            parts.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise unreadable(exc, path, kind, error=error) from None
    finally:
        os.close(fd)
    if total > limit:
        raise error(f"over {describe_size(limit)}: not a {kind}", path=path)
    return b"".join(parts)


def file_type(mode: int) -> str:
    """What a non-regular file is, in words (for the one-line refusals of the ways in and out)."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_input(path: str, kind: str = "dataset file", *, max_line: int | None = None) -> Input:
    """Open a user's file (or `-` for standard input) once, for bounded reads; `.gz` is decompressed."""
    limit = max_line if max_line is not None else max_line_bytes()
    if path == "-":
        return _open_stdin(limit)
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        raise unreadable(exc, path) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"is a directory, not a {kind}", path=path)
        raw: BinaryIO = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    remember_input(st, path)
    # A path that names a descriptor (/dev/stdin, /dev/fd/N, /proc/self/fd/N) is read once, as a
    # stream, even when it is a regular file: another process reopening it gets another file, or none.
    regular = stat.S_ISREG(st.st_mode) and not names_a_descriptor(path)
    if path.endswith(".gz"):
        counted = _CountingReader(raw)
        gz = io.BufferedReader(gzip.GzipFile(fileobj=counted, mode="rb"), 1 << 16)  # type: ignore[arg-type,call-overload]
        return _GzipInput(gz, raw, counted, name=path, size=st.st_size if regular else None,
                          fd=fd if regular else None, max_line=limit, regular=regular)
    what: Kind = "file" if regular else "fifo" if stat.S_ISFIFO(st.st_mode) else "device"
    if not regular and (stat.S_ISSOCK(st.st_mode) or stat.S_ISREG(st.st_mode)):
        what = "pipe"
    return Input(raw, name=path, kind=what, path=path if regular else None, size=st.st_size if regular else None,
                 fd=fd if regular else None, max_line=limit, owns=True)


#: A `.gz` that decompresses to more than this many times its size, past GZIP_RATIO_FLOOR bytes, is refused:
#: blank lines or one repeated character compress about 1000:1, a dataset of identical requests about
#: 300:1, real text 5 to 30:1.
GZIP_MAX_RATIO = 500
GZIP_RATIO_FLOOR = 1024 * 1024


class _CountingReader:
    """The compressed file under a GzipFile, counting the bytes it hands over (a pipe has no `tell`)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.consumed = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.consumed += len(data)
        return data

    def close(self) -> None:
        self.raw.close()

    @property
    def closed(self) -> bool:
        return self.raw.closed


class _GzipInput(Input):
    def __init__(self, gz: BinaryIO, raw: BinaryIO, counted: _CountingReader, *, name: str, size: int | None,
                 fd: int | None, max_line: int, regular: bool) -> None:
        super().__init__(gz, name=name, kind="gzip" if regular else "pipe", path=None, size=size, fd=fd,
                         max_line=max_line, owns=True)
        self._file = raw
        self._counted = counted
        self._out = 0

    def _guarded(self, read: Callable[[], bytes]) -> bytes:
        data = super()._guarded(read)
        self._out += len(data)
        if self._out > GZIP_RATIO_FLOOR and self._out > GZIP_MAX_RATIO * max(self._counted.consumed, 1):
            raise InputError(
                f"decompresses to over {GZIP_MAX_RATIO} times its size ({describe_size(self._out)} from "
                f"{self._counted.consumed:,} bytes so far): blank lines or one repeated byte, not a dataset "
                "(a gzip bomb?)", path=self.name, line=self.line + 1)
        return data

    def close(self) -> None:
        super().close()
        with contextlib.suppress(OSError):
            self._file.close()


def from_bytes(data: bytes, name: str = "<bytes>", *, max_line: int | None = None) -> Input:
    """An input over bytes already in memory (tests, or a caller that has the data), read like a pipe."""
    limit = max_line if max_line is not None else max_line_bytes()
    return Input(io.BufferedReader(io.BytesIO(data)), name=name, kind="pipe", path=None, size=None, fd=None,
                 max_line=limit, owns=True)


def _open_stdin(limit: int) -> Input:
    stream = sys.stdin
    raw = getattr(stream, "buffer", None) if stream is not None else None
    if raw is None:
        raise InputError("standard input is closed (nothing to read)", path="<stdin>")
    try:
        fd: int | None = raw.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        fd = None  # an in-memory stand-in (tests, embedding): read it as a stream
    if fd is not None:
        try:
            os.fstat(fd)
        except OSError:
            raise InputError("standard input is closed (nothing to read)", path="<stdin>") from None
    return Input(raw, name="<stdin>", kind="stdin", path=None, size=None, fd=None, max_line=limit, owns=False)
