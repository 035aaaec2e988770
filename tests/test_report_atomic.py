"""planner.atomic: all-or-nothing writes, no overwrite without force, no temp files left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from planner.atomic import FileExistsRefusal, atomic_binary, atomic_text, check_destination, write_bytes, write_text
from planner.errors import UsageError


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
