"""planner.io.atomic: all-or-nothing writes, no overwrite without force, no temp files left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from planner.core.errors import OutputError, UsageError
from planner.io.atomic import (
    FileExistsRefusal,
    StagedFiles,
    atomic_binary,
    atomic_text,
    check_destination,
    write_bytes,
    write_text,
)


def test_writes_and_refuses_overwrite(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    write_text(dest, "one\n")
    assert dest.read_text() == "one\n"
    with pytest.raises(FileExistsRefusal, match="--force"):
        write_text(dest, "two\n")
    assert dest.read_text() == "one\n"
    write_text(dest, "two\r\n", force=True)
    assert dest.read_bytes() == b"two\r\n"  # no newline translation
    write_bytes(dest, b"\x00\x01", force=True)
    assert dest.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_error_mid_write_leaves_old_file_and_no_temp(tmp_path: Path, exc: type[BaseException]) -> None:
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with pytest.raises(exc), atomic_text(dest, force=True) as fh:
        fh.write("half of the new")
        raise exc()
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_new_file_not_created_on_error(tmp_path: Path) -> None:
    dest = tmp_path / "new.bin"
    with pytest.raises(ValueError), atomic_binary(dest) as fh:
        fh.write(b"x")
        raise ValueError
    assert list(tmp_path.iterdir()) == []


def test_file_appearing_during_write_is_not_clobbered(tmp_path: Path) -> None:
    dest = tmp_path / "race.txt"
    with pytest.raises(FileExistsRefusal), atomic_text(dest) as fh:
        fh.write("mine")
        dest.write_text("theirs")
    assert dest.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["race.txt"]


def test_bad_destinations(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="directory"):
        check_destination(tmp_path)
    with pytest.raises(UsageError, match="does not exist"):
        check_destination(tmp_path / "missing" / "x.html")


def test_permissions_follow_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        dest = write_text(tmp_path / "p.txt", "x")
    finally:
        os.umask(old)
    assert dest.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


# --- sets of files (prepare) and the destinations every writer refuses ---------------------------------


def _owned(name: str) -> bool:
    return name == "manifest.json" or name.startswith("batch-")


def _stage(directory: Path, names: list[str], *, force: bool = False, protect: list[Path] | None = None) -> None:
    with StagedFiles(directory, owned=_owned, force=force, protect=protect or []) as staged:
        staged.check()
        for name in names:
            with staged.open(name) as f:
                f.write(f"new {name}\n".encode())
        staged.commit()


def test_a_set_replaces_the_old_one_and_removes_stale_files(tmp_path: Path) -> None:
    _stage(tmp_path, ["batch-0001.jsonl", "batch-0002.jsonl", "batch-0003.jsonl", "manifest.json"])
    (tmp_path / "mine.txt").write_text("not ours")
    with pytest.raises(FileExistsRefusal, match="--force"):
        _stage(tmp_path, ["batch-0001.jsonl", "manifest.json"])
    _stage(tmp_path, ["batch-0001.jsonl", "manifest.json"], force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch-0001.jsonl", "manifest.json", "mine.txt"]


def test_an_interrupted_commit_never_leaves_an_old_manifest_over_new_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stage(tmp_path, ["batch-0001.jsonl", "batch-0002.jsonl", "manifest.json"])
    real_replace = os.replace
    calls = {"n": 0}

    def interrupted_replace(src: Any, dst: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        _stage(tmp_path, ["batch-0001.jsonl", "batch-0002.jsonl", "manifest.json"], force=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "manifest.json" not in names  # the old one went first: no manifest claims a half-renamed set
    assert not [n for n in names if n.endswith(".tmp")]


def test_cleanup_finishes_through_a_second_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_unlink = os.unlink
    calls = {"n": 0}

    def jumpy_unlink(path: Any, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt  # the user presses Ctrl-C again while we clean up
        real_unlink(path, *args, **kwargs)

    staged = StagedFiles(tmp_path / "out", owned=_owned)
    for name in ("batch-0001.jsonl", "batch-0002.jsonl"):
        staged.open(name).write(b"x")
    monkeypatch.setattr(os, "unlink", jumpy_unlink)
    with pytest.raises(KeyboardInterrupt):
        staged.discard()
    assert not (tmp_path / "out").exists()  # every temporary file, then the directory it made, are gone


def test_a_set_never_replaces_or_removes_a_protected_input(tmp_path: Path) -> None:
    _stage(tmp_path, ["batch-0001.jsonl", "batch-0002.jsonl", "manifest.json"])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for protected in (tmp_path / "batch-0002.jsonl", tmp_path / "batch-0001.jsonl"):
        with pytest.raises(UsageError, match="an input is never deleted"):
            _stage(tmp_path, ["batch-0001.jsonl", "manifest.json"], force=True, protect=[protected])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_failing_write_is_one_output_error_and_leaves_nothing(tmp_path: Path) -> None:
    class Full:
        closed = False

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            self.closed = True

    staged = StagedFiles(tmp_path / "out", owned=_owned)
    f = staged.open("batch-0001.jsonl")
    f._handle = Full()  # type: ignore[assignment]
    with pytest.raises(OutputError, match=r"cannot write .*batch-0001.jsonl: No space left on device; nothing in"):
        f.write(b"x")
    staged.discard()
    assert not (tmp_path / "out").exists()


def test_destinations_that_are_not_regular_files(tmp_path: Path) -> None:
    (tmp_path / "dev").symlink_to("/dev/null")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    for name, fragment in (("dev", "character device"), ("fifo", "a FIFO"), ("loop", "cannot be followed"),
                           ("dangling", "does not exist")):
        with pytest.raises(UsageError, match=fragment):
            check_destination(tmp_path / name, force=True)
    with pytest.raises(FileExistsRefusal, match="symbolic link"):
        check_destination(tmp_path / "dangling")
    assert check_destination(tmp_path / "ok.txt") == tmp_path / "ok.txt"
