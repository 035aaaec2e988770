"""The compiled-table cache: same tables as parsing, never stale, never trusted when tampered with."""

from __future__ import annotations

import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from planner import tablecache
from planner.pricing import list_versions, load_pricebook, read_table, shipped_pricing_dir


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("BATCHPLAN_CACHE_DIR", str(d))
    return d


def _parsed(path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as m:
        m.setenv("BATCHPLAN_CACHE_DIR", "off")
        return read_table(path)


def test_a_cached_table_equals_the_parsed_one_for_every_shipped_table(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for versions in list_versions().values():
        for v in versions:
            first = read_table(v.path)  # parses and stores
            again = read_table(v.path)  # from the cache
            assert again == first == _parsed(v.path, monkeypatch)
    assert len(list(cache.glob("*.head.json"))) == sum(len(vs) for vs in list_versions().values())


def test_a_changed_table_is_never_served_from_the_cache(cache: Path, tmp_path: Path) -> None:
    root = tmp_path / "pricing"
    shutil.copytree(shipped_pricing_dir() / "openai", root / "openai")
    path = sorted((root / "openai").glob("*.yaml"))[-1]
    assert read_table(path).model_match is not None
    text = path.read_text(encoding="utf-8").replace("\n    input: '0.15'\n", "\n    input: '0.16'\n", 1)
    path.write_text(text, encoding="utf-8")
    assert any(m.realtime.input == Decimal("0.16") for m in read_table(path).models)


def test_a_tampered_or_corrupt_entry_is_ignored(cache: Path, tmp_path: Path) -> None:
    path = list_versions()["anthropic"][-1].path
    table = read_table(path)
    key = tablecache.key(path.read_bytes())
    entry = cache / f"{key}.json"
    doc = json.loads(entry.read_text())
    doc["table"]["models"][0]["realtime"]["input"] = "-1"  # a value the schema refuses
    entry.write_text(json.dumps(doc))
    assert read_table(path) == table  # re-parsed, not the tampered entry
    doc["key"] = "0" * 64  # an entry copied under another table's name
    doc["table"]["models"][0]["realtime"]["input"] = "99"
    entry.write_text(json.dumps(doc))
    assert read_table(path) == table
    entry.write_bytes(b"\x80garbage")
    assert read_table(path) == table


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_directory_others_can_write_is_not_used(cache: Path) -> None:
    path = list_versions()["openai"][-1].path
    read_table(path)
    cache.chmod(0o777)
    assert tablecache.load(tablecache.key(path.read_bytes())) is None
    cache.chmod(0o700)
    assert tablecache.load(tablecache.key(path.read_bytes())) is not None


def test_caching_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHPLAN_CACHE_DIR", "off")
    assert tablecache.cache_dir() is None
    assert load_pricebook().resolve("gpt-4o-mini").table.provider == "openai"


def test_a_lookup_reads_only_the_table_it_needs(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check MODEL` reads every table's head and one table's rows (issue #14)."""
    load_pricebook()  # warm the cache
    read: list[str] = []
    real = tablecache.load

    def spy(key: str) -> object:
        read.append(key)
        return real(key)

    monkeypatch.setattr(tablecache, "load", spy)
    book = load_pricebook()
    assert book.resolve("claude-haiku-4-5").table.provider == "anthropic"
    assert len(read) == 1
