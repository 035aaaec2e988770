"""Every file batchplan writes goes through here: atomic, never over the user's things without `--force`,
and a failing disk is one line naming the file, with nothing half-written left behind.

One file (a report, a synced table): the content goes to a temporary file in the destination's own
directory (same filesystem, so the final `os.replace` is atomic), is flushed and fsynced, then renamed
over the destination.

    with atomic_text("out.jsonl", force=False) as fh:   # or atomic_binary(...) for bytes
        fh.write(...)
    write_text("report.html", html, force=True)

A set of files (prepare's batch files and manifest): `StagedFiles` writes each under a temporary name and
renames them into place only once the last is complete, the last one (the manifest) last of all.

Rules every writer here keeps:

* An existing destination is not replaced unless `force`; a symbolic link counts as existing (dangling
  or not), and with `force` it is followed: the file it points to is replaced and the link kept.
* Only regular files are ever replaced: a directory, a device (`/dev/null`), a FIFO or a socket is
  refused, `force` or not. A path where a directory is expected must be a directory.
* A failing write (disk full, quota, read-only file system, I/O error) is an `OutputError` naming the
  file and saying that what was there is unchanged; the temporary files are removed on it and on any
  other exception, Ctrl-C included.
* A file the command reads is never replaced or removed, `--force` or not, under any name (a symlink or
  a hard link to it): those `protect` lists, and every file read through planner.io.inputs.
* Temporary files a killed run left behind (SIGKILL) are removed by the next write into the same
  directory (`DirectoryClaim`).
* Standard output that cannot be written (`> /dev/full`, closed) is one line too (`stdout_error`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO, TextIO

from planner.core.errors import OutputError, UsageError
from planner.io.inputs import file_type, identity, read_by_this_command


class FileExistsRefusal(UsageError):
    """The destination exists and the caller did not ask to overwrite it."""


def _refuse(dest: Path, what: str = "") -> FileExistsRefusal:
    return FileExistsRefusal(f"{dest} already exists{what}; pass --force to overwrite it")


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EBADF:
        return "it is closed"
    return exc.strerror or str(exc) or type(exc).__name__


def refuse_an_input(shown: str | os.PathLike[str], dest: str | os.PathLike[str] | None = None) -> None:
    """Raise if the file at `dest` (default `shown`) is one this command reads, under any name (a symlink
    or a hard link to it counts): an output never replaces an input, `--force` or not."""
    name = read_by_this_command(shown if dest is None else dest)
    if name is None:
        return
    alias = "" if str(name) == str(shown) else f" (the same file as {name})"
    raise UsageError(
        f"{shown} is an input of this command{alias}; writing it would destroy what is being read, "
        "--force or not: write somewhere else"
    )


def _not_a_directory(path: Path) -> UsageError:
    """Which ancestor of `path` is in the way (a file where a directory should be), or that it is missing."""
    for parent in (path, *path.parents):
        if os.path.lexists(parent):
            if not parent.is_dir():
                return UsageError(f"{parent} is not a directory")
            break
    return UsageError(f"directory {path} does not exist")


def check_destination(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """The file to write for `path`, checked before any expensive work: refuses an existing one without
    force, anything but a regular file, and a missing or non-directory parent. A symbolic link is
    followed (with force): the path returned is the file it points to."""
    shown = Path(path)
    dest = shown
    if dest.is_symlink():
        if not force:
            raise _refuse(shown, " (a symbolic link)")
        try:
            dest = Path(os.path.realpath(dest, strict=True))
        except FileNotFoundError:
            dest = Path(os.path.realpath(dest))  # dangling: the file it names is created
        except OSError as exc:
            raise UsageError(f"{shown} is a symbolic link that cannot be followed: {_reason(exc)}") from None
    try:
        st: os.stat_result | None = os.stat(dest)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {_reason(exc)}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{shown} is a directory; give a file name")
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{shown} is {file_type(st.st_mode)}; batchplan only writes regular files")
        refuse_an_input(shown, dest)
        if not force:
            raise _refuse(shown)
    if not dest.parent.is_dir():
        raise _not_a_directory(dest.parent)
    return dest


def _write_error(shown: Path, exc: OSError, existed: bool) -> OutputError:
    left = f"{shown} was left as it was" if existed else "nothing was written"
    return OutputError(f"cannot write {shown}: {_reason(exc)}; {left}")


def _new_temp(directory: Path, name: str, registry: list[Path]) -> int:
    """Create `.NAME.XXXXXXXX.tmp` in `directory`, recorded in `registry` *before* it exists, so that an
    interrupt at any point leaves nothing the cleanup does not know about."""
    for _ in range(100):
        tmp = directory / f".{name}.{os.urandom(4).hex()}.tmp"
        registry.append(tmp)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileExistsError:
            registry.pop()
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(directory))


#: A temporary file of ours that nobody has written to for this long, in a directory another live run
#: is writing in, belongs to a killed run as well (see `DirectoryClaim`).
STALE_AFTER_S = 15 * 60
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.tmp$")


class DirectoryClaim:
    """A shared flock on a directory, held while a run has temporary files there. A run that finds no
    other claim (its exclusive lock is granted) knows that every temporary file of ours in the directory
    was left by a run that was killed (SIGKILL, a power cut: locks die with their process) and removes
    them; with another run live there, only files untouched for STALE_AFTER_S. Where flock is not to be
    had (some network file systems), only the age counts."""

    def __init__(self, directory: Path) -> None:
        self.fd: int | None = None
        self.alone = False
        with contextlib.suppress(OSError, ImportError):
            import fcntl

            self.fd = os.open(directory, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.alone = True
            except OSError:
                pass
            with contextlib.suppress(OSError):  # (a downgrade when alone; a foreign lock is no reason to wait)
                fcntl.flock(self.fd, fcntl.LOCK_SH | fcntl.LOCK_NB)

    def sweep(self, directory: Path, owned: Callable[[str], bool]) -> list[Path]:
        """Remove the stale temporary files (`.NAME.XXXXXXXX.tmp`, NAME one of `owned`); return them."""
        now = time.time()
        removed: list[Path] = []
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return removed
        for entry in entries:
            match = _TEMP_NAME.match(entry.name)
            if match is None or not owned(match.group("name")):
                continue
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) and (self.alone or now - st.st_mtime > STALE_AFTER_S):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
        return removed

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def _run_all(steps: Iterable[Callable[[], object]]) -> None:
    """Run every cleanup step even if one fails or a Ctrl-C arrives meanwhile; re-raise that interrupt."""
    interrupted: BaseException | None = None
    for step in steps:
        while True:
            try:
                step()
            except OSError:
                pass
            except KeyboardInterrupt as exc:
                interrupted = exc
                continue  # the step was cut short: run it again
            break
    if interrupted is not None:
        raise interrupted


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(tmp: Path, dest: Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(tmp, 0o666 & ~_umask())  # temporary files are 0600; give the file normal permissions
    os.replace(tmp, dest)


@contextlib.contextmanager
def _atomic(path: str | os.PathLike[str], force: bool) -> Iterator[tuple[int, Path]]:
    shown = Path(path)
    dest = check_destination(path, force=force)
    existed = os.path.lexists(dest)
    claim = DirectoryClaim(dest.parent)
    claim.sweep(dest.parent, lambda name: name == dest.name)
    temps: list[Path] = []
    try:
        try:
            fd = _new_temp(dest.parent, dest.name, temps)
        except OSError as exc:
            raise _write_error(shown, exc, existed) from None
        yield fd, temps[-1]
        # Re-check just before the rename: someone may have created the file meanwhile, or this command
        # may have read it since the first check (a table the config lists, found only while working).
        if not force and os.path.lexists(dest):
            raise _refuse(shown)
        refuse_an_input(shown, dest)
        _publish(temps[-1], dest)
    except BaseException as exc:  # including KeyboardInterrupt: never leave the temp file behind
        _run_all([tmp.unlink for tmp in temps])
        if isinstance(exc, OSError):
            raise _write_error(shown, exc, existed) from None
        raise
    finally:
        claim.release()


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


# ---------------------------------------------------------------------------------------------
# A set of files in one directory


class StagedFile:
    """One file of a `StagedFiles` set, open for writing under its temporary name."""

    def __init__(self, staging: StagedFiles, name: str, tmp: Path, handle: BinaryIO) -> None:
        self.name = name
        self.tmp = tmp
        self._staging = staging
        self._handle = handle

    def write(self, data: bytes) -> None:
        try:
            self._handle.write(data)
        except OSError as exc:
            raise self._staging.error(self.name, exc) from None

    def close(self) -> None:
        """Flush, fsync and close; a failure is an OutputError naming the file."""
        if self._handle.closed:
            return
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        except OSError as exc:
            self.abandon()
            raise self._staging.error(self.name, exc) from None

    def abandon(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()



class StagedFiles:
    """Files in one directory, each written under a temporary name and renamed into place only when every
    one is complete; on any exception (Ctrl-C included) the temporary files, and a directory this set
    created and left empty, are removed.

    `owned(name)` says which names in the directory belong to such a set (prepare: `batch-NNNN.jsonl` and
    `manifest.json`): they are replaced, or removed once stale, only with `force`. `protect` lists the
    paths the command reads: they are never replaced or removed, `force` or not.

        with StagedFiles(out, owned=is_ours, force=False, protect=[data]) as staged:
            staged.check()                       # before the expensive work
            with staged.open("batch-0001.jsonl") as f:
                f.write(line)
            staged.commit()
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        owned: Callable[[str], bool],
        force: bool = False,
        protect: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.directory = Path(directory)
        self.owned = owned
        self.force = force
        self._protect = [(Path(p), ident) for p in protect if (ident := identity(p)) is not None]
        self._files: list[StagedFile] = []
        self._temps: list[Path] = []
        self._created: list[Path] = []
        self.swept: list[Path] = []  # temporary files of a killed run, removed by `check`
        self._claim: DirectoryClaim | None = None  # held from the first temporary file to the end

    def error(self, name: str, exc: OSError) -> OutputError:
        return OutputError(
            f"cannot write {self.directory / name}: {_reason(exc)}; nothing in {self.directory} was changed"
        )

    def existing(self) -> list[Path]:
        """The owned files the directory holds now."""
        if not self.directory.is_dir():
            return []
        try:
            return sorted(p for p in self.directory.iterdir() if self.owned(p.name))
        except OSError as exc:
            raise OutputError(f"cannot list {self.directory}: {_reason(exc)}") from None

    def _refuse_inputs(self, existing: list[Path]) -> None:
        """An owned name that is a file this command reads (listed in `protect`, or read through
        planner.io.inputs under any name) is never replaced or removed."""
        for path in existing:
            ident = identity(path)
            named = [str(original) for original, protected in self._protect if ident == protected]
            original = named[0] if named else read_by_this_command(path)
            if original is not None:
                alias = "" if Path(original).name == path.name else f" (as {path.name})"
                raise UsageError(
                    f"the input {original} is in {self.directory}{alias}, where writing would replace or "
                    "remove it; an input is never deleted: write to another directory"
                )

    def check(self) -> None:
        """Fail before any work: the directory is one (or can be made), nothing is replaced without force,
        and no input would be replaced or removed."""
        d = self.directory
        if os.path.lexists(d) and not d.is_dir():
            try:
                mode = os.stat(d).st_mode
                what = "a file" if stat.S_ISREG(mode) else file_type(mode)
            except OSError:
                what = "a broken symbolic link"
            raise UsageError(f"{d} is not a directory ({what}); give a directory for the files")
        if not d.exists():
            for parent in d.parents:
                if os.path.lexists(parent):
                    if not parent.is_dir():
                        raise _not_a_directory(parent)
                    break
        if d.is_dir():
            self._claim = self._claim or DirectoryClaim(d)
            self.swept = self._claim.sweep(d, self.owned)
        existing = self.existing()
        self._refuse_inputs(existing)
        if existing and not self.force:
            names = ", ".join(p.name for p in existing[:3]) + (", …" if len(existing) > 3 else "")
            raise FileExistsRefusal(f"{d} already holds {names}; pass --force to replace")

    def _make_directory(self) -> None:
        if self.directory.is_dir():
            return
        missing = []
        for p in (self.directory, *self.directory.parents):
            if os.path.lexists(p):
                break
            missing.append(p)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create directory {self.directory}: {_reason(exc)}") from None
        self._created = missing  # deepest first

    def _claimed(self) -> None:
        if self._claim is None:
            self._claim = DirectoryClaim(self.directory)

    def open(self, name: str) -> StagedFile:
        """A new file of the set, under a temporary name until `commit`."""
        self._make_directory()
        self._claimed()
        try:
            fd = _new_temp(self.directory, name, self._temps)
        except OSError as exc:
            raise self.error(name, exc) from None
        staged = StagedFile(self, name, self._temps[-1], os.fdopen(fd, "wb"))
        self._files.append(staged)
        return staged

    def commit(self) -> None:
        """Rename every file into place, the last one staged last (an old copy of it is removed first, so a
        half-renamed set never carries it); then stale owned files go (with force)."""
        for f in self._files:
            f.close()
        existing = self.existing()
        if existing and not self.force:  # appeared while we worked
            raise FileExistsRefusal(
                f"{self.directory} already holds {', '.join(p.name for p in existing[:3])}; pass --force to replace"
            )
        self._refuse_inputs(existing)
        if not self._files:
            return
        finals = {f.name for f in self._files}
        *body, last = self._files
        d = self.directory
        try:
            if os.path.lexists(d / last.name):
                os.unlink(d / last.name)
            for f in body:
                _publish(f.tmp, d / f.name)
            for stale in existing:
                if stale.name not in finals:
                    stale.unlink()
            _publish(last.tmp, d / last.name)
        except OSError as exc:
            raise OutputError(f"cannot finish writing {d}: {_reason(exc)}") from None
        self._files, self._temps, self._created = [], [], []
        with contextlib.suppress(OSError):
            fd = os.open(d, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def discard(self) -> None:
        """Remove every temporary file (and directories this set created, if empty). A second Ctrl-C
        while this runs does not stop it: the cleanup finishes, then the interrupt goes on."""
        steps: list[Callable[[], object]] = [f.abandon for f in self._files]
        steps += [tmp.unlink for tmp in self._temps] + [made.rmdir for made in self._created]
        self._files, self._temps, self._created = [], [], []
        _run_all(steps)
        if self._claim is not None:
            self._claim.release()
            self._claim = None

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.discard()  # after a commit there is nothing left to discard


# ---------------------------------------------------------------------------------------------
# Standard output


def stdout_error(exc: OSError) -> OutputError:
    """Standard output failed (`> /dev/full`, a closed descriptor): one line, and stdout is pointed at
    /dev/null so the interpreter's own final flush cannot print a second error."""
    silence_stdout()
    return OutputError(f"cannot write to standard output: {_reason(exc)}")


def silence_stdout() -> None:
    """Send whatever is left in stdout's buffers nowhere (after a broken pipe or a full device)."""
    try:
        fileno = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (tests capture it), or already closed
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)


def flush_stdout() -> None:
    """Flush stdout now, so that a full device is reported by us and not by the interpreter at exit."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise stdout_error(exc) from None
