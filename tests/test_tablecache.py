"""The price-table cache, as a user meets it: the same answers as parsing every file, a changed table
file read again, a user's table validated, and a cache entry that is corrupt or edited never accepted
unvalidated (the YAML is parsed again, or the entry holds a table the schema accepts)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from planner.prices import pricing
from planner.prices.pricing import PriceTable, list_versions, load_pricebook, read_table
from planner.prices.pricing import shipped_pricing_dir as shipped

FIXTURES = Path(__file__).parent / "fixtures" / "pricing"
EVERY_TABLE = [v.path for root in (shipped(), FIXTURES) for vs in list_versions(root).values() for v in vs]
MINE = (
    "provider: openai\nname: OpenAI (negotiated)\nversion: 2026-01-01\nverified: 2026-11-01\n"
    "sources: [https://example.com/contract]\nbatch: {supported: true}\n"
    "tokenizers: {mine: {encoding: o200k_base, method: exact}}\n"
    "models:\n- {id: gpt-4o-mini, tokenizer: mine, realtime: {input: '0.10', output: '0.50'},\n"
    "   source: https://example.com/contract, verified: 2026-11-01}\n"
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    d = tmp_path / "cache"
    monkeypatch.setenv("BATCHPLAN_CACHE_DIR", str(d))
    yield d


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


def test_every_table_from_the_cache_is_the_parsed_table(
    cache: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in EVERY_TABLE:
        first = read_table(path)  # parsed and kept
        parsed = _parsed(path, monkeypatch)
        parses.clear()
        again = read_table(path)
        assert parses == [], path  # from the cache
        same(first, parsed)
        same(again, parsed)
    assert len(list(cache.glob("*.json"))) == len(EVERY_TABLE)


def test_a_users_table_layers_the_same_over_a_cached_table(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the fields a user's table sets replace the shipped ones, also when both come from the cache
    (an entry holding every field would wipe the shipped cache rules, batch limits and id grammar)."""
    mine = tmp_path / "mine.yaml"
    mine.write_text(MINE, encoding="utf-8")
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


def test_a_users_table_is_validated_every_time(cache: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(MINE.replace("input: '0.10'", "input: 0.10"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(pricing.PricingError, match="as a quoted string"):
            read_table(mine)


def test_a_changed_table_is_never_served_from_the_cache(cache: Path, tmp_path: Path) -> None:
    root = tmp_path / "pricing"
    shutil.copytree(shipped() / "openai", root / "openai")
    path = sorted((root / "openai").glob("*.yaml"))[-1]
    assert read_table(path).model_match is not None
    text = path.read_text(encoding="utf-8").replace("\n    input: '0.15'\n", "\n    input: '0.16'\n", 1)
    path.write_text(text, encoding="utf-8")
    assert any(m.realtime.input == Decimal("0.16") for m in read_table(path).models)


def test_a_corrupt_entry_never_changes_an_answer(
    cache: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry that is not a valid table is ignored: the YAML is parsed, and the entry written anew."""
    path = list_versions()["anthropic"][-1].path
    truth = _parsed(path, monkeypatch)
    read_table(path)
    (entry,) = cache.glob("*.json")
    good = entry.read_bytes()

    def edit(change: Any) -> None:
        doc = json.loads(good)
        change(doc)
        entry.write_text(json.dumps(doc), encoding="utf-8")

    spoiled: dict[str, Any] = {
        "a truncated entry": lambda: entry.write_bytes(good[: len(good) // 2]),
        "garbage": lambda: entry.write_bytes(b"\x80garbage"),
        "an empty file": lambda: entry.write_bytes(b""),
        "an added field": lambda: edit(lambda doc: doc.update(unknown="x")),
        "a float price": lambda: edit(lambda doc: doc["models"][0]["realtime"].update(input=0.01)),
        "a negative price": lambda: edit(lambda doc: doc["models"][0]["realtime"].update(input="-1")),
        "a directory": lambda: (entry.unlink(), entry.mkdir()),
    }
    for name, spoil in spoiled.items():
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


@pytest.mark.skipif(not hasattr(__import__("os"), "getuid"), reason="POSIX permissions")
def test_a_cache_others_can_write_to_is_not_used(cache: Path, parses: list[Path]) -> None:
    path = list_versions()["openai"][-1].path
    read_table(path)
    cache.chmod(0o777)
    parses.clear()
    read_table(path)
    assert parses == [path]
    cache.chmod(0o700)


def test_caching_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHPLAN_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_pricebook().resolve("gpt-4o-mini").table.provider == "openai"
    assert list(tmp_path.iterdir()) == []
