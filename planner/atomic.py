"""Atomic file writes: readers see the old file or the whole new one, never half of it.

The content goes to a temporary file in the destination's own directory (same filesystem, so the final
`os.replace` is atomic), is flushed and fsynced, then renamed over the destination. On any error, and on
Ctrl-C, the temporary file is removed and the destination is left untouched. An existing destination is
not replaced unless `force=True`.

    with atomic_text("out.jsonl", force=False) as fh:   # or atomic_binary(...) for bytes
        fh.write(...)
    write_text("report.html", html, force=True)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO, TextIO

from planner.errors import UsageError


class FileExistsRefusal(UsageError):
    """The destination exists and the caller did not ask to overwrite it."""


def _refuse(dest: Path) -> FileExistsRefusal:
    return FileExistsRefusal(f"{dest} already exists; pass --force to overwrite it")


def check_destination(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Fail early (before any expensive work) if `path` cannot be written: exists without force, is a
    directory, or its directory is missing."""
    dest = Path(path)
    if dest.is_dir():
        raise UsageError(f"{dest} is a directory; give a file name")
    if dest.exists() and not force:
        raise _refuse(dest)
    if not dest.parent.is_dir():
        raise UsageError(f"directory {dest.parent} does not exist")
    return dest


@contextlib.contextmanager
def _atomic(path: str | os.PathLike[str], force: bool) -> Iterator[tuple[int, str]]:
    dest = check_destination(path, force=force)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        yield fd, tmp
        # Re-check just before the rename: someone may have created the file meanwhile.
        if not force and dest.exists():
            raise _refuse(dest)
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, dest)
    except BaseException:  # including KeyboardInterrupt: never leave the temp file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _finish(fh: IO[str] | IO[bytes]) -> None:
    fh.flush()
    os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_text(path: str | os.PathLike[str], *, force: bool = False, encoding: str = "utf-8") -> Iterator[TextIO]:
    """A text file handle (no newline translation) whose content replaces `path` on a clean exit."""
    with _atomic(path, force) as (fd, _), os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
        yield fh
        _finish(fh)


@contextlib.contextmanager
def atomic_binary(path: str | os.PathLike[str], *, force: bool = False) -> Iterator[BinaryIO]:
    """A binary file handle whose content replaces `path` on a clean exit."""
    with _atomic(path, force) as (fd, _), os.fdopen(fd, "wb") as fh:
        yield fh
        _finish(fh)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike[str], text: str, *, force: bool = False, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically; refuse to replace an existing file unless `force`."""
    with atomic_text(path, force=force, encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, force: bool = False) -> Path:
    """Write `data` to `path` atomically; refuse to replace an existing file unless `force`."""
    with atomic_binary(path, force=force) as fh:
        fh.write(data)
    return Path(path)
