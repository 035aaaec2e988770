"""`prices sync`: genai-prices → our tables; agreement with genai-prices; never overwrite; diff printed."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import PricingError
from planner.pricing import list_versions, read_table, shipped_pricing_dir
from planner.sync import ARTIFACT_DATE, _standard_index, build_table, load_base, write_version

gp = pytest.importorskip("genai_prices")
runner = CliRunner()
GENAI_ID = {"openai": "openai", "anthropic": "anthropic", "google": "google", "vertex": "google",
            "azure": "openai", "bedrock": "aws", "mistral": "mistral", "groq": "groq", "together": "together",
            "fireworks": "fireworks", "xai": "x-ai", "deepseek": "deepseek"}


def _genai(provider: str) -> object:
    from genai_prices import data

    return next(p for p in data.providers if p.id == GENAI_ID[provider])


def _at(price: object, tokens: int) -> Decimal | None:
    if price is None:
        return None
    if hasattr(price, "tiers"):
        chosen = price.base
        for t in price.tiers:
            if tokens > t.start:
                chosen = t.price
        return Decimal(chosen)
    return Decimal(price)  # type: ignore[arg-type]


def test_our_prices_equal_genai_prices_on_the_same_date() -> None:
    """Realtime and batch input/output equal genai-prices' on each version's date, or a disagreement is recorded.

    Batch is compared where genai-prices has a batch variant recorded against the standard price in force
    that day (its 2026-10-14 stamp is an artifact: see planner.sync)."""
    checked = 0
    for provider, versions in list_versions().items():
        gprov = _genai(provider)
        for v in versions:
            table = read_table(v.path)
            ts = datetime(v.version.year, v.version.month, v.version.day, 12)
            for m in table.models:
                find = gprov.find_model  # type: ignore[attr-defined]
                gm = find(m.id) or next((find(a) for a in m.aliases if find(a)), None)
                if gm is None or m.price_disagreement is not None or m.time_of_day:
                    continue
                std = gm.get_prices(ts)
                batch_applies = any(x.when.get("processing") == "batch" for x in gm.price_variants or ()) and (
                    _standard_index(gm.prices, v.version) >= _standard_index(gm.prices, ARTIFACT_DATE)
                )
                bts = max(ts, datetime(2026, 10, 15, 12)) if batch_applies else ts
                bat = gm.get_prices(bts, {"processing": "batch"})
                ours_batch, basis = table.batch_prices(m)
                for tokens in (1000, *[t + 1 for t in m.realtime.thresholds()]):
                    rates = m.realtime.for_request(tokens)
                    assert rates.input == _at(std.input_mtok, tokens), (table.label, m.id, "input", tokens)
                    if std.output_mtok is not None:
                        assert rates.output == _at(std.output_mtok, tokens), (table.label, m.id, "output", tokens)
                    if batch_applies and basis == "explicit" and ours_batch is not None and bat.input_mtok is not None:
                        b = ours_batch.for_request(tokens)
                        assert b.input == _at(bat.input_mtok, tokens), (table.label, m.id, "batch input", tokens)
                        if bat.output_mtok is not None:
                            assert b.output == _at(bat.output_mtok, tokens), (table.label, m.id, "batch out", tokens)
                checked += 1
    assert checked > 300


def test_every_openai_and_anthropic_batch_model_of_genai_prices_is_priced() -> None:
    from planner.pricing import load_pricebook

    book = load_pricebook(date(2026, 11, 25))
    for provider in ("openai", "anthropic"):
        for gm in _genai(provider).models:  # type: ignore[attr-defined]
            batch = any(x.when.get("processing") == "batch" for x in gm.price_variants or ())
            if batch and gm.id != "claude-mythos-5-2":
                name = gm.id + "x" if gm.id.endswith(("-", ".ft-")) else gm.id  # prefix entries: a name they match
                r = book.resolve(name, provider=provider)
                assert r.table.batch_prices(r.model)[1] == "explicit", gm.id


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(shipped_pricing_dir() / "_base", tmp_path / "_base")
    shutil.copytree(shipped_pricing_dir() / "openai", tmp_path / "openai")
    return tmp_path


def test_sync_prints_diff_and_writes_a_new_version(root: Path) -> None:
    result = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-11-20", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert "openai@2026-11-20 (from openai@2026-11-17)" in result.stdout and "wrote" in result.stdout
    assert read_table(root / "openai" / "2026-11-20.yaml").version == date(2026, 11, 20)


def test_sync_never_overwrites(root: Path) -> None:
    before = (root / "openai" / "2026-10-14.yaml").read_text()
    result = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-10-14", "--root", str(root)])
    assert result.exit_code == 2 and "never overwritten" in result.stderr
    assert (root / "openai" / "2026-10-14.yaml").read_text() == before


def test_sync_refuses_older_than_newest_unless_asked(root: Path) -> None:
    result = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-09-01", "--root", str(root)])
    assert result.exit_code == 2 and "--allow-older" in result.stderr
    ok = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-09-01", "--root", str(root), "--allow-older"])
    assert ok.exit_code == 0, ok.output


def test_sync_carries_reviewed_facts_over(root: Path) -> None:
    path = root / "openai" / "2026-11-17.yaml"
    path.write_text(path.read_text().replace("max_output: 16384", "max_output: 12345", 1))
    prev = read_table(path)
    new = build_table(load_base("openai", root), date(2026, 11, 20), previous=prev, verified=date(2026, 11, 25)).table
    assert next(m for m in new.models if m.id == "gpt-4o").max_output == 12345
    assert new.batch.limits == prev.batch.limits and new.tokenizers == prev.tokenizers


def test_write_version_refuses_existing(root: Path) -> None:
    table = read_table(root / "openai" / "2026-11-17.yaml")
    with pytest.raises(PricingError, match="never overwritten"):
        write_version(table, root)


def test_dry_run_writes_nothing(root: Path) -> None:
    result = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-12-24", "--root", str(root), "--dry-run"])
    assert result.exit_code == 0 and "dry run" in result.stdout
    assert not (root / "openai" / "2026-12-24.yaml").exists()
