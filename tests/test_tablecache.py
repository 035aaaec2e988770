"""The compiled-table cache: the same tables as parsing, never stale, and an entry batchplan did not
write for that very table (edited, corrupt, copied, from another cache) is never used: the YAML is
parsed and validated again."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from planner.prices import pricing, tablecache
from planner.prices.pricing import PriceTable, TableHead, list_versions, load_pricebook, read_head, read_table
from planner.prices.pricing import shipped_pricing_dir as shipped

FIXTURES = Path(__file__).parent / "fixtures" / "pricing"
EVERY_TABLE = [v.path for root in (shipped(), FIXTURES) for vs in list_versions(root).values() for v in vs]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    d = tmp_path / "cache"
    monkeypatch.setenv("BATCHPLAN_CACHE_DIR", str(d))
    tablecache._secrets.clear()  # as a new process would start
    yield d
    tablecache._secrets.clear()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The table files read from YAML (not from the cache) from now on."""
    seen: list[Path] = []
    real = pricing._parse_table

    def spy(path: Path, data: bytes) -> PriceTable:
        seen.append(path)
        return real(path, data)

    monkeypatch.setattr(pricing, "_parse_table", spy)
    return seen


def _parsed(path: Path, monkeypatch: pytest.MonkeyPatch) -> PriceTable:
    with monkeypatch.context() as m:
        m.setenv("BATCHPLAN_CACHE_DIR", "off")
        return read_table(path)


def same(a: Any, b: Any, where: str = "table") -> None:
    """Equal the way a later step could tell: types, nested models, the fields each set, Decimal digits."""
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set, where
        assert a.__pydantic_private__ == b.__pydantic_private__, where
        for name in type(a).model_fields:
            same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, Decimal):
        assert str(a) == str(b), where  # 0.50 stays 0.50
    else:
        assert a == b, where


def _entry(cache: Path, path: Path, kind: str = "table") -> Path:
    return cache / f"{tablecache.key(path.read_bytes())}.{kind}.json"


def test_every_table_from_the_cache_is_the_parsed_table(
    cache: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in EVERY_TABLE:
        first = read_table(path)  # parsed and stored
        parsed = _parsed(path, monkeypatch)
        parses.clear()
        again = read_table(path)
        head = read_head(path)
        assert parses == [], path  # served from the cache
        same(first, parsed)
        same(again, parsed)
        same(head, TableHead.of(parsed), "head")
    assert len(list(cache.glob("*.head.json"))) == len(EVERY_TABLE)


def test_a_users_table_layers_the_same_over_a_cached_table(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the fields a user's table sets replace the shipped ones, also when both come from the cache
    (an entry holding every field would wipe the shipped cache rules, batch limits and id grammar)."""
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "provider: openai\nname: OpenAI (negotiated)\nversion: 2026-01-01\nverified: 2026-11-01\n"
        "sources: [https://example.com/contract]\nbatch: {supported: true}\n"
        "tokenizers: {mine: {encoding: o200k_base, method: exact}}\n"
        "models:\n- {id: gpt-4o-mini, tokenizer: mine, realtime: {input: '0.10', output: '0.50'},\n"
        "   source: https://example.com/contract, verified: 2026-11-01}\n",
        encoding="utf-8",
    )
    on = date(2026, 12, 1)
    with monkeypatch.context() as m:
        m.setenv("BATCHPLAN_CACHE_DIR", "off")
        fresh = load_pricebook(on, user_tables=[mine]).tables["openai"]
    for _ in range(2):  # cold cache, then warm
        layered = load_pricebook(on, user_tables=[mine]).tables["openai"]
        same(layered, fresh)
        assert layered.cache is not None and layered.batch.limits.max_requests == 50_000
        assert layered.model_match is not None
    runner = CliRunner()
    from planner.cli.main import app

    outputs = {runner.invoke(app, ["check", "gpt-4o", "--prices", str(mine), "--json"]).stdout for _ in range(2)}
    assert len(outputs) == 1 and json.loads(outputs.pop())["batch_supported"] is True


def test_a_changed_table_is_never_served_from_the_cache(cache: Path, tmp_path: Path) -> None:
    root = tmp_path / "pricing"
    shutil.copytree(shipped() / "openai", root / "openai")
    path = sorted((root / "openai").glob("*.yaml"))[-1]
    assert read_table(path).model_match is not None
    text = path.read_text(encoding="utf-8").replace("\n    input: '0.15'\n", "\n    input: '0.16'\n", 1)
    path.write_text(text, encoding="utf-8")
    assert any(m.realtime.input == Decimal("0.16") for m in read_table(path).models)


def _forge(entry: Path, change: Any) -> None:
    header, _, body = entry.read_bytes().partition(b"\n")
    doc = json.loads(body)
    change(doc)
    entry.write_bytes(header + b"\n" + json.dumps(doc).encode())


def test_an_entry_batchplan_did_not_write_for_that_table_is_parsed_again(
    cache: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = list_versions()["anthropic"][-1].path
    other = list_versions()["openai"][-1].path
    truth = _parsed(path, monkeypatch)
    read_table(path)
    read_table(other)
    entry = _entry(cache, path)
    good = entry.read_bytes()

    def edit_price(doc: Any) -> None:
        doc["models"][0]["realtime"]["input"] = "0.01"  # a price the schema accepts

    tampered: dict[str, Any] = {
        "an edited price": lambda: _forge(entry, edit_price),
        "an added field": lambda: _forge(entry, lambda doc: doc.update(notes="cheap")),
        "another table's entry": lambda: shutil.copyfile(_entry(cache, other), entry),
        "a truncated entry": lambda: entry.write_bytes(good[: len(good) // 2]),
        "garbage": lambda: entry.write_bytes(b"\x80garbage"),
        "an empty file": lambda: entry.write_bytes(b""),
        "the first format": lambda: entry.write_bytes(json.dumps({"key": "x", "table": {}}).encode()),
        "a directory": lambda: (entry.unlink(), entry.mkdir()),
    }
    for name, spoil in tampered.items():
        spoil()
        parses.clear()
        same(read_table(path), truth, name)
        assert parses == [path], name  # parsed from the YAML, not taken from the entry
        if entry.is_dir():
            entry.rmdir()
            read_table(path)
        parses.clear()
        same(read_table(path), truth, name)
        assert parses == [], name  # the entry was written anew


def test_another_caches_entries_are_not_trusted(
    cache: Path, tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries copied from another machine, user or cache directory carry another secret's HMAC."""
    path = list_versions()["openai"][-1].path
    truth = _parsed(path, monkeypatch)
    read_table(path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    entry = _entry(cache, path)
    shutil.copyfile(entry, elsewhere / entry.name)
    monkeypatch.setenv("BATCHPLAN_CACHE_DIR", str(elsewhere))
    tablecache._secrets.clear()
    parses.clear()
    same(read_table(path), truth)
    assert parses == [path]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_directory_or_secret_others_can_touch_is_not_used(cache: Path, parses: list[Path]) -> None:
    path = list_versions()["openai"][-1].path
    key = tablecache.key(path.read_bytes())
    read_table(path)
    assert tablecache.load(key) is not None
    cache.chmod(0o777)
    assert tablecache.load(key) is None
    cache.chmod(0o700)
    assert tablecache.load(key) is not None
    secret = cache / "secret.key"
    secret.chmod(0o644)  # readable by others: anyone could forge entries
    tablecache._secrets.clear()
    assert tablecache.load(key) is None
    parses.clear()
    read_table(path)  # parsed, and stored under a new private secret
    assert parses == [path] and secret.stat().st_mode & 0o077 == 0
    assert tablecache.load(key) is not None
    real = cache / "real.key"
    secret.rename(real)
    secret.symlink_to(real)
    tablecache._secrets.clear()
    assert tablecache.load(key) is None


def test_rebuilding_refuses_what_validation_would_not_make() -> None:
    """Even an entry with a good HMAC is rebuilt only into values of each field's type."""
    table = read_table(list_versions()["openai"][-1].path)
    doc = json.loads(table.model_dump_json(exclude_unset=True))
    same(tablecache.rebuild(PriceTable, doc), table)
    model = doc["models"][0]
    bad: list[Any] = [
        {**doc, "priority": "100"},  # a string for an int
        {**doc, "priority": True},  # a bool for an int
        {**doc, "version": 20261117},  # a number for a date
        {**doc, "currency": "EUR"},  # outside a Literal
        {**doc, "unknown": 1},  # a field the schema does not have
        {k: v for k, v in doc.items() if k != "provider"},  # a required field left out
        {**doc, "models": [{**model, "realtime": {**model["realtime"], "input": 0.15}}]},  # a float price
        {**doc, "model_match": {"equals": "x", "regex": "y"}},  # no rule has both
        {**doc, "models": {"0": model}},  # an object for a list
    ]
    for i, wrong in enumerate(bad):
        with pytest.raises(tablecache._Mismatch):
            tablecache.rebuild(PriceTable, wrong)
        assert tablecache._rebuilt(PriceTable, wrong) is None, i


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
